"""Errors that reach users. Each carries a one-line message; the CLI prints it without a traceback."""

from __future__ import annotations


class AudioRestoreError(Exception):
    """Base class for every error audiorestore raises on purpose (bad input, bad parameters)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(message)

    def __str__(self) -> str:  # one line, naming the file when there is one
        msg = " ".join(str(self.args[0]).split())
        return f"{self.path}: {msg}" if self.path else msg


class AudioInputError(AudioRestoreError):
    """A file or array that cannot be used as audio input (missing, corrupt, empty, silent, NaN...)."""


class ParameterError(AudioRestoreError):
    """A method, model or command was given a parameter it does not accept."""


class MissingExtraError(AudioRestoreError):
    """An optional dependency is needed; the message names the pip extra that installs it."""

    def __init__(self, module: str, extra: str, what: str) -> None:
        super().__init__(f"{what} needs the '{module}' package: pip install 'audiorestore[{extra}]'")


def require(module: str, extra: str, what: str):
    """Import an optional dependency lazily, or raise MissingExtraError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module, extra, what) from exc
