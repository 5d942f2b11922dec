"""What start-up imports: a classical `audiorestore denoise`, `--help` and `methods` stay clear of torch,
scipy.signal, the metrics stack and plotting (which modules are imported, not how long it takes; the
times are measured by benchmarks/startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiorestore import catalog
from audiorestore.api import default_denoise_method
from audiorestore.cli.main import SUBCOMMANDS, _command, main
from tests.conftest import speechlike

#: Modules a classical denoise has no use for: none may be imported by it.
HEAVY = ("torch", "scipy.signal", "scipy.stats", "matplotlib", "pesq",
         "pystoi", "audiorestore.metrics", "audiorestore.models", "audiorestore.superres", "audiorestore.bench",
         "audiorestore.train", "audiorestore.simulate")

# Runs the CLI the way `python -m audiorestore.cli.main ARGS` does and writes sys.modules at exit.
_RUN_CLI = """
import atexit, json, runpy, sys
out, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["audiorestore", *args]
runpy.run_module("audiorestore.cli.main", run_name="__main__", alter_sys=True)
"""

# Runs a statement and writes sys.modules.
_RUN_CODE = """
import json, sys
out, code = sys.argv[1], sys.argv[2]
exec(code)
open(out, "w").write(json.dumps(sorted(sys.modules)))
"""


def _modules(tmp_path: Path, script: str, *args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", script, str(out), *args], capture_output=True, text=True,
                          timeout=120)
    assert out.exists(), proc.stderr
    return set(json.loads(out.read_text())), proc


def _imported(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_classical_denoise_imports_no_heavy_module(tmp_path: Path) -> None:
    sr = 16000
    x = speechlike(2 * sr, sr) + 0.02 * np.random.default_rng(0).standard_normal(2 * sr).astype(np.float32)
    src, dst = tmp_path / "noisy.wav", tmp_path / "clean.wav"
    sf.write(str(src), x, sr)
    # the default method while no denoising model ships (log-MMSE); named once a default model does
    classical = catalog.METHODS[default_denoise_method()].startswith("audiorestore.classical.")
    method = [] if classical else ["--method", "logmmse"]
    modules, proc = _modules(tmp_path, _RUN_CLI, "denoise", str(src), "-o", str(dst), "-q", *method)
    assert proc.returncode == 0, proc.stderr
    y, rate = sf.read(str(dst))
    assert rate == sr and y.shape == x.shape and np.std(y) < np.std(x)  # it did denoise
    assert "audiorestore.classical.spectral" in modules  # log-MMSE ran
    assert _imported(modules, HEAVY) == []
    # no other command's module either
    assert _imported(modules, tuple(f"audiorestore.cli.{c}" for c in ("evaluate", "bench", "train", "upsample"))) == []


def test_help_and_methods_import_neither_scipy_nor_torch(tmp_path: Path) -> None:
    modules, proc = _modules(tmp_path, _RUN_CLI, "--help")
    assert proc.returncode == 0 and "denoise" in proc.stdout and "methods" in proc.stdout
    assert _imported(modules, ("scipy", "torch", "matplotlib", "audiorestore.metrics", "audiorestore.data")) == []
    modules, proc = _modules(tmp_path, _RUN_CLI, "methods")
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines()}
    assert listed == set(catalog.METHODS)  # every method, none imported
    assert _imported(modules, ("scipy", "torch", "audiorestore.metrics", "audiorestore.classical")) == []
    assert "wiener " in proc.stdout and "prior='dd'" in proc.stdout  # with parameters and defaults


def test_importing_enhancer_imports_no_method_module(tmp_path: Path) -> None:
    modules, _ = _modules(tmp_path, _RUN_CODE, "import audiorestore.enhancer")
    method_modules = {catalog.split(w)[0] for w in (*catalog.METHODS.values(), *catalog.PEERS.values())}
    assert sorted(method_modules & modules) == []
    assert _imported(modules, ("scipy", "torch", "audiorestore.classical", "audiorestore.models")) == []


def test_one_method_or_family_imports_only_its_module(tmp_path: Path) -> None:
    modules, _ = _modules(tmp_path, _RUN_CODE, "import audiorestore as ar; ar.get_method('sinc')")
    assert "audiorestore.superres.baselines" in modules
    assert _imported(modules, ("torch", "audiorestore.superres.neural", "audiorestore.classical")) == []
    modules, _ = _modules(tmp_path, _RUN_CODE,
                          "from audiorestore.models.registry import get_family; get_family('segan')")
    assert "audiorestore.models.segan" in modules
    assert _imported(modules, ("audiorestore.models.wavenet", "audiorestore.models.neural")) == []


def test_only_the_named_command_is_built_and_bad_commands_list_all(capsys: pytest.CaptureFixture) -> None:
    assert _command(["-v", "methods", "--task", "upsample"]) == "methods"
    assert _command(["--version"]) is None and _command(["denoize", "x"]) is None and _command([]) is None
    assert main(["methods", "--task", "upsample"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert listed == {"audiounet", "auto", "linear", "mugan", "sinc", "spline", "tfilm"}
    with pytest.raises(SystemExit) as exc:
        main(["denoize", "in.wav"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'denoize'" in err and all(f"'{c}'" in err for c in SUBCOMMANDS)
