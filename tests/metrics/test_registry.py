"""The metric registry and compute()."""

from __future__ import annotations

import numpy as np
import pytest

from audiorestore.errors import ParameterError
from audiorestore.metrics import registry
from audiorestore.metrics.basic import si_sdr, snr

from .conftest import add_noise


def test_registry_entries_have_the_contract():
    names = registry.list_metrics()
    for required in ("snr", "segsnr", "si_sdr", "lsd", "lsd_hf", "pesq_nb", "pesq_wb", "stoi", "estoi",
                     "csig", "cbak", "covl", "llr", "wss", "is_dist", "cep_dist"):
        assert required in names
    assert registry.get_metric("snr").higher_is_better and not registry.get_metric("snr").needs_extra
    assert not registry.get_metric("lsd").higher_is_better
    assert registry.get_metric("pesq_wb").needs_extra and registry.get_metric("stoi").extra_module == "pystoi"


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ParameterError, match="unknown metric 'pesq'.*pesq_wb"):
        registry.parse_metrics("snr,pesq")


def test_parse_metrics_dedups_and_expands():
    assert registry.parse_metrics("snr, si_sdr,snr") == ["snr", "si_sdr"]
    assert registry.parse_metrics(["lsd"]) == ["lsd"]


def test_compute_core_metrics_in_order(speech):
    y = add_noise(speech, 10.0)
    out = registry.compute(speech, y, 16000, ["si_sdr", "snr", "lsd_hf"], cutoff_hz=4000)
    assert list(out) == ["si_sdr", "snr", "lsd_hf"]
    assert out["snr"] == pytest.approx(snr(speech, y, 16000)) == pytest.approx(10.0)
    assert out["si_sdr"] == si_sdr(speech, y, 16000)


def test_every_registered_function_has_the_signature(speech):
    y = add_noise(speech, 10.0)
    for name in registry.list_metrics(available_only=True):
        value = registry.get_metric(name).function(speech, y, 16000)
        assert isinstance(value, float) and np.isfinite(value), name


def test_compute_shares_the_composite_and_pesq(speech):
    pytest.importorskip("pesq")
    from audiorestore.metrics.composite import composite

    y = add_noise(speech, 5.0)
    out = registry.compute(speech, y, 16000, "covl,pesq_wb,csig,cbak")
    ref = composite(speech, y, 16000)
    assert (out["csig"], out["cbak"], out["covl"]) == pytest.approx((ref.csig, ref.cbak, ref.covl))
    assert out["pesq_wb"] == pytest.approx(ref.pesq, abs=1e-6)
    assert list(out) == ["covl", "pesq_wb", "csig", "cbak"]


def test_compute_all_turns_a_metric_failure_into_nan(speech):
    pytest.importorskip("pesq")
    from audiorestore.errors import AudioInputError

    silent = np.zeros_like(speech)
    scores, failures = registry.compute_all(speech, silent, 16000, "snr,pesq_wb,csig")
    assert scores["snr"] == pytest.approx(0.0)  # error = reference: 0 dB
    assert np.isnan(scores["pesq_wb"]) and np.isnan(scores["csig"])
    assert "silent estimate" in failures["pesq_wb"] and "silent estimate" in failures["csig"]
    with pytest.raises(AudioInputError, match="pesq_wb: PESQ is undefined for a silent estimate"):
        registry.compute(speech, silent, 16000, "snr,pesq_wb")


def test_missing_extra_is_named(monkeypatch):
    from audiorestore.errors import MissingExtraError

    def fake_require(module, extra, what):
        raise MissingExtraError(module, extra, what)

    monkeypatch.setattr(registry, "require", fake_require)
    with pytest.raises(MissingExtraError, match=r"audiorestore\[metrics\]"):
        registry.parse_metrics("snr,pesq_wb")
    monkeypatch.setattr(registry.Metric, "is_available", lambda self: self.extra_module is None)
    assert registry.default_metrics() == ["snr", "segsnr", "si_sdr", "lsd"]
