"""``audiorestore degrade CLEAN_DIR -o OUT_DIR [--noise-dir DIR] [--snr ... | --snr-range LO HI] ...``.

Makes a paired dataset (``clean/``, ``noisy/``, ``noise/``, ``manifest.jsonl``) with
:func:`audiorestore.simulate.make_dataset`. Options taking one value fix it; two values give a range
drawn per pair.
"""

from __future__ import annotations

import argparse
import sys

from typing import TYPE_CHECKING

from ..errors import ParameterError
from .common import Progress, add_engine_arguments, engine_options

if TYPE_CHECKING:  # the simulator (scipy.signal) is imported when the command runs, not for --help
    from ..simulate.dataset import DegradeConfig

# names for the help text only; the library validates them (tests check that these lists agree)
NOISE_COLORS = ("white", "pink", "brown", "red", "blue", "violet")
LOWPASS_KINDS = ("butter", "cheby1", "cheby2", "ellip", "bessel", "fir", "subsample")
DEFAULT_SNRS = (0.0, 5.0, 10.0, 15.0)

_EXAMPLES = """examples:
  audiorestore degrade speech/ -o pairs/ --noise-dir noise/ --snr 0 5 10 15 --sample-rate 16000
  audiorestore degrade speech/ -o pairs/ --color pink brown --snr-range 0 20 --variants 3 --reverb-rt60 0.3 0.8
  audiorestore degrade speech/ -o sr_pairs/ --lowpass 8000 --filter cheby1 ellip --order 6 10
  audiorestore degrade speech/ -o codec/ --codec mp3:32 opus:12 --hum 50 60 --clip 0.5 0.9
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("degrade", help="make a paired (clean, degraded) dataset with a manifest",
                       description="Degrade a folder of clean audio into paired clean/noisy(/noise) files and a "
                                   "JSONL manifest recording every parameter and seed. Options with one value fix "
                                   "it, two values give a range drawn per pair. Re-running resumes.",
                       epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clean_dir", metavar="CLEAN_DIR", help="folder of clean audio (searched recursively)")
    p.add_argument("-o", "--output", metavar="OUT_DIR", required=True, help="output folder")
    g = p.add_argument_group("additive noise (one source)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--noise-dir", metavar="DIR", help="recorded noise files, cropped or looped at random offsets")
    src.add_argument("--babble-dir", metavar="DIR", help="speech files summed into babble")
    src.add_argument("--color", nargs="+", metavar="COLOR",
                     help=f"synthetic noise colour(s): {', '.join(NOISE_COLORS)}")
    snr = g.add_mutually_exclusive_group()
    snr.add_argument("--snr", nargs="+", type=float, metavar="DB",
                     help=f"SNR grid, one pair per value (default with a noise source: "
                          f"{' '.join(f'{s:g}' for s in DEFAULT_SNRS)})")
    snr.add_argument("--snr-range", nargs=2, type=float, metavar=("LO", "HI"), help="SNR drawn per pair")
    g.add_argument("--variants", type=int, default=1, metavar="N", help="pairs per clean file with --snr-range")
    g.add_argument("--talkers", nargs="+", type=int, default=[3, 7], metavar="N", help="babble talkers (default 3 7)")
    r = p.add_argument_group("room and loop")
    r.add_argument("--reverb-rt60", nargs="+", type=float, metavar="S", help="synthetic reverb RT60 (seconds)")
    r.add_argument("--rir-dir", metavar="DIR",
                   help="recorded room impulse responses to convolve with (instead of synthetic ones)")
    r.add_argument("--reverb-target", choices=["dry", "reverberant", "early"], default="dry",
                   help="clean target with reverb: dry (default), reverberant or early (first 50 ms)")
    r.add_argument("--echo", nargs="+", type=float, metavar="S", help="echo delay (seconds)")
    r.add_argument("--echo-gain", nargs="+", type=float, default=[0.2, 0.6], metavar="G",
                   help="echo gain (default 0.2 0.6)")
    r.add_argument("--feedback", nargs="+", type=float, metavar="GAIN",
                   help="acoustic feedback peak loop gain (>= 1 howls)")
    r.add_argument("--feedback-delay", nargs="+", type=float, default=[0.005, 0.05], metavar="S",
                   help="loop delay, seconds (default 0.005 0.05)")
    e = p.add_argument_group("electronics and coding")
    e.add_argument("--hum", nargs="+", type=float, metavar="HZ", help="mains hum frequency, 50 and/or 60")
    e.add_argument("--hum-snr", nargs="+", type=float, default=[10.0, 40.0], metavar="DB",
                   help="signal-to-hum ratio (default 10 40)")
    e.add_argument("--hiss", nargs="+", type=float, metavar="DB", help="signal-to-hiss ratio")
    e.add_argument("--clip", nargs="+", type=float, metavar="T", help="clipping threshold, fraction of the peak")
    e.add_argument("--quantize", nargs="+", type=int, metavar="BITS", help="bit depth")
    e.add_argument("--mu-law", action="store_true", help="8-bit mu-law companding")
    e.add_argument("--codec", nargs="+", metavar="NAME:KBPS", help="lossy codec(s): mp3:32, opus:12, vorbis:48")
    lp = p.add_argument_group("band-limiting (super-resolution pairs)")
    lp.add_argument("--lowpass", nargs="+", type=int, metavar="RATE",
                    help="simulate recording at this lower sample rate: low-pass below RATE/2 and decimate "
                         "(noisy files are brought back to the full rate unless --keep-low-rate)")
    lp.add_argument("--filter", nargs="+", default=["cheby1"], metavar="KIND",
                    help=f"anti-alias filter(s): {', '.join(LOWPASS_KINDS)} (default cheby1)")
    lp.add_argument("--order", nargs="+", type=int, default=[8], metavar="N", help="filter order (default 8)")
    lp.add_argument("--ripple", type=float, default=0.05, metavar="DB", help="pass-band ripple (default 0.05)")
    lp.add_argument("--no-zero-phase", action="store_true", help="filter forward only (causal, phase shift)")
    lp.add_argument("--keep-low-rate", action="store_true", help="write noisy files at the low rate")
    o = p.add_argument_group("output")
    o.add_argument("--sample-rate", type=int, metavar="HZ", help="resample clean and noise to this rate")
    o.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    o.add_argument("--limit", type=int, metavar="N", help="use only the first N clean files")
    o.add_argument("--format", dest="out_format", metavar="EXT", help="output extension (default: the input's)")
    o.add_argument("--subtype", metavar="NAME", help="soundfile subtype, e.g. PCM_16 (default), PCM_24, FLOAT")
    o.add_argument("--overwrite", action="store_true", help="regenerate every pair, even with other options")
    o.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    add_engine_arguments(p)
    return p


def _one_or_two(name: str, values: list | None) -> list | None:
    if values is not None and len(values) not in (1, 2):
        raise ParameterError(f"{name} takes one value (fixed) or two (a range), got {len(values)}")
    return values


def config_from_args(args: argparse.Namespace) -> DegradeConfig:
    """The :class:`DegradeConfig` the command line describes."""
    from ..simulate.dataset import DegradeConfig

    return DegradeConfig(
        snrs=args.snr, snr_range=args.snr_range, variants=args.variants, colors=list(args.color or []),
        talkers=_one_or_two("--talkers", args.talkers), reverb_rt60_s=_one_or_two("--reverb-rt60", args.reverb_rt60),
        reverb_target=args.reverb_target, echo_delay_s=_one_or_two("--echo", args.echo),
        echo_gain=_one_or_two("--echo-gain", args.echo_gain), feedback_gain=_one_or_two("--feedback", args.feedback),
        feedback_delay_s=_one_or_two("--feedback-delay", args.feedback_delay), hum_hz=args.hum,
        hum_snr_db=_one_or_two("--hum-snr", args.hum_snr), hiss_snr_db=_one_or_two("--hiss", args.hiss),
        clip=_one_or_two("--clip", args.clip), lowpass_rates=args.lowpass, filter_kinds=list(args.filter),
        filter_order=_one_or_two("--order", args.order), ripple_db=args.ripple, zero_phase=not args.no_zero_phase,
        keep_low_rate=args.keep_low_rate, quantize_bits=_one_or_two("--quantize", args.quantize),
        mu_law=args.mu_law, codecs=args.codec, sample_rate=args.sample_rate, seed=args.seed,
        out_format=args.out_format, subtype=args.subtype)


def run(args: argparse.Namespace) -> int:
    from ..simulate.dataset import make_dataset

    config = config_from_args(args)
    bar: dict[str, Progress] = {}

    def progress(done: int, total: int, pair_id: str, status: str) -> None:
        if "p" not in bar:
            bar["p"] = Progress(total, args.quiet)
        bar["p"].update(pair_id, status)

    try:
        manifest = make_dataset(args.clean_dir, args.noise_dir, args.output, config, babble_dir=args.babble_dir,
                                rir_dir=args.rir_dir, limit=args.limit, overwrite=args.overwrite,
                                progress=progress, **engine_options(args))
    finally:
        if bar:
            bar["p"].close()
    if not args.quiet:
        elapsed = bar["p"].elapsed() if bar else 0.0
        print(f"dataset in {args.output}, manifest {manifest} ({elapsed:.1f} s)", file=sys.stderr)
    return 0
