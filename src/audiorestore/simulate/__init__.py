"""Degradation simulator: reproducible noise, reverberation, feedback, hum/hiss, quantisation,
codecs, clipping and band-limiting, and paired dataset generation with a JSONL manifest.

Two layers (STYLE.md points 3 and 11): pure functions on numpy arrays ``(..., time)``
(:func:`mix_at_snr`, :func:`colored_noise`, :func:`synthetic_rir`, :func:`codec`, ...), and frozen
dataclass stages whose ``sample(rng, num_samples, sample_rate)`` draws JSON-serialisable params and
whose ``apply(x, sample_rate, params)`` uses nothing else, chained by :class:`Chain`.

Example:
    >>> import numpy as np
    >>> from audiorestore.simulate import AddNoise, Chain, Reverb, replay
    >>> chain = Chain((Reverb(rt60_s=(0.3, 0.6)), AddNoise(colors=("pink", "brown"), snr_db=(0, 15))))
    >>> clean = np.sin(np.linspace(0, 2000, 16000))
    >>> noisy, target, params = chain(clean, 16000, seed=7)
    >>> bool(np.array_equal(replay(clean, 16000, params)[0], noisy))
    True
"""

from .base import Degradation, degradation_class, list_degradations
from .chain import Chain, ChainResult, chain_from_params, replay
from .clipping import Clip, clip, clipped_fraction
from .codec import CODECS, Codec, codec, mp3_bitrates, parse_codec
from .dataset import DegradeConfig, build_chain, load_manifest, make_dataset, pair_seed
from .feedback import Feedback, feedback, feedback_path, soft_limit
from .hum import Hiss, Hum, hiss, hum
from .lowpass import LOWPASS_KINDS, LowpassDecimate, lowpass, lowpass_decimate, subsample, upsample
from .noise import (NOISE_COLORS, AddNoise, Babble, babble, colored_noise, fit_noise, measure_snr, mix_at_snr,
                    random_offset)
from .quantize import MuLaw, Quantize, mu_law, mu_law_decode, mu_law_encode, quantize
from .reverb import Echo, Reverb, echo, measure_rt60, reverberate, schroeder_decay, synthetic_rir

__all__ = [
    # pure functions
    "mix_at_snr", "measure_snr", "colored_noise", "babble", "fit_noise", "random_offset",
    "synthetic_rir", "reverberate", "echo", "schroeder_decay", "measure_rt60",
    "feedback", "feedback_path", "soft_limit", "hum", "hiss", "quantize", "mu_law", "mu_law_encode",
    "mu_law_decode", "codec", "parse_codec", "mp3_bitrates", "clip", "clipped_fraction",
    "lowpass", "lowpass_decimate", "subsample", "upsample",
    # stages and chains
    "Degradation", "AddNoise", "Babble", "Reverb", "Echo", "Feedback", "Hum", "Hiss", "Quantize", "MuLaw",
    "Codec", "Clip", "LowpassDecimate", "Chain", "ChainResult", "replay", "chain_from_params",
    "degradation_class", "list_degradations",
    # datasets
    "DegradeConfig", "build_chain", "make_dataset", "load_manifest", "pair_seed",
    # constants
    "NOISE_COLORS", "CODECS", "LOWPASS_KINDS",
]
