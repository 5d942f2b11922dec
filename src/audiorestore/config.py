"""Typed dataclass configs: to/from dicts, TOML/YAML files, dotted ``key=value`` overrides.

A config file is just a serialised dataclass instance (STYLE.md point 8). Unknown keys are errors.

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Opt:
    ...     lr: float = 1e-3
    >>> @dataclass
    ... class Cfg:
    ...     name: str = "x"
    ...     optim: Opt = field(default_factory=Opt)
    >>> apply_overrides(Cfg(), ["optim.lr=0.01"]).optim.lr
    0.01
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from .errors import ParameterError

T = TypeVar("T")


def field_doc(f: dataclasses.Field) -> str:
    return str(f.metadata.get("doc", "")) if f.metadata else ""


def _resolve_type(cls: type, name: str) -> Any:
    if get_origin(cls) is dict:  # an entry of a dict-valued field (e.g. loss weights) has the value type
        args = get_args(cls)
        return args[1] if len(args) == 2 else Any
    try:
        return get_type_hints(cls)[name]
    except Exception:
        if not dataclasses.is_dataclass(cls):
            return Any
        f = next(f for f in dataclasses.fields(cls) if f.name == name)
        # A string annotation that cannot be resolved (a class defined in a function or a doctest):
        # a nested config section is still recognised from its default.
        if isinstance(f.type, str) and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
            if dataclasses.is_dataclass(default):
                return type(default)
        return f.type


def coerce_value(value: Any, tp: Any, key: str = "") -> Any:
    """Convert ``value`` (often a string from the command line) to type ``tp``."""
    if isinstance(tp, str):  # unresolved annotation under `from __future__ import annotations`
        tp = {"int": int, "float": float, "str": str, "bool": bool}.get(tp.split("|")[0].strip(), Any)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if isinstance(value, str) and value.lower() in ("none", "null", ""):
            return None
        if value is None:
            return None
        last: Exception | None = None
        for a in args:
            try:
                return coerce_value(value, a, key)
            except (ParameterError, ValueError, TypeError) as exc:
                last = exc
        raise ParameterError(f"{key}: cannot use {value!r} ({last})")
    if origin is typing.Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ParameterError(f"{key} must be one of {', '.join(map(str, allowed))}, got {value!r}")
        return value
    if origin in (list, tuple):
        (inner, *_) = get_args(tp) or (Any,)
        if isinstance(value, str):
            value = [v for v in value.strip("[]()").split(",") if v.strip()]
        items = [coerce_value(v.strip() if isinstance(v, str) else v, inner, key) for v in value]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise ParameterError(f"{key} must be true or false, got {value!r}")
    if tp in (int, float):
        try:
            v = float(value) if tp is float else int(float(value)) if float(value).is_integer() else None
        except (TypeError, ValueError):
            v = None
        if v is None:
            raise ParameterError(f"{key} must be {'a number' if tp is float else 'an integer'}, got {value!r}")
        return v
    if tp is str:
        return str(value)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value)
    return value


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build a dataclass (nested ones too) from a dict; unknown keys raise ParameterError."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = set(data) - set(fields)
    if unknown:
        raise ParameterError(f"{cls.__name__}: unknown keys {sorted(unknown)} (known: {sorted(fields)})")
    kwargs = {}
    for k, v in data.items():
        tp = _resolve_type(cls, k)
        if dataclasses.is_dataclass(tp) and isinstance(v, dict):
            kwargs[k] = from_dict(tp, v)  # type: ignore[arg-type]
        elif dataclasses.is_dataclass(tp) and isinstance(tp, type) and v is not None and not isinstance(v, tp):
            raise ParameterError(f"{k} is a section ({tp.__name__}), not a value; set its keys as {k}.<key>=...")
        else:
            kwargs[k] = coerce_value(v, tp, k) if v is not None else None
    return cls(**kwargs)


def apply_overrides(obj: T, overrides: list[str]) -> T:
    """Return a copy of dataclass ``obj`` with dotted ``key=value`` overrides applied."""
    d = to_dict(obj)
    for item in overrides:
        if "=" not in item:
            raise ParameterError(f"override '{item}' is not of the form key=value")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node: Any = d
        cls: Any = type(obj)
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node:
                raise ParameterError(f"unknown config key '{key}'")
            node = node[p]
            cls = _resolve_type(cls, p)
        last = parts[-1]
        if not isinstance(node, dict) or last not in node:
            raise ParameterError(f"unknown config key '{key}'")
        node[last] = coerce_value(value, _resolve_type(cls, last), key)
    return from_dict(type(obj), d)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    # JSON string escapes are valid TOML, but not \\u-escaped surrogate pairs: keep non-ASCII as UTF-8
    return json.dumps(str(v), ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


def dumps_toml(d: dict[str, Any], prefix: str = "") -> str:
    """Minimal TOML writer for nested dicts of scalars and lists (None values are omitted)."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict) and v is not None]
    for k, v in d.items():
        if isinstance(v, dict):
            name = f"{prefix}{_toml_key(k)}"
            body = dumps_toml(v, name + ".")
            lines.append(f"\n[{name}]\n{body}" if body.strip() else f"\n[{name}]")
    return "\n".join(lines).strip() + "\n"


def _strip_none(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    return d


def save(obj: Any, path: str | Path) -> Path:
    """Save a dataclass as TOML (.toml), YAML (.yaml/.yml) or JSON (.json), atomically."""
    import os

    from .io import temp_path

    p = Path(path)
    d = to_dict(obj)
    if p.suffix == ".toml":
        text = dumps_toml(d)
    elif p.suffix in (".yaml", ".yml"):
        from .errors import require

        text = require("yaml", "yaml", "YAML configs").safe_dump(d, sort_keys=False)
    else:
        text = json.dumps(d, indent=2)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(p)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return p


def _read_dict(p: Path) -> dict[str, Any]:
    if not p.exists():
        raise ParameterError("config file not found", str(p))
    if p.suffix == ".toml":
        import tomllib

        with open(p, "rb") as f:
            return tomllib.load(f)
    if p.suffix in (".yaml", ".yml"):
        from .errors import require

        return require("yaml", "yaml", "YAML configs").safe_load(p.read_text(encoding="utf-8")) or {}
    return json.loads(p.read_text(encoding="utf-8"))


def merge_dicts(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` laid over it: tables merge key by key, any other value replaces.

    Example:
        >>> merge_dicts({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]})
        {'a': {'x': 1, 'y': 3}, 'b': [2]}
    """
    out = dict(base)
    for k, v in update.items():
        out[k] = merge_dicts(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_dict(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a dict. A top-level ``base = "OTHER.toml"`` (relative to this file) extends that
    file: its tables are merged key by key with this file's, which wins (:func:`merge_dicts`)."""
    p = Path(path)
    d = _read_dict(p)
    base = d.pop("base", None)
    if base is None:
        return d
    if not isinstance(base, str):
        raise ParameterError(f"'base' must be a file name, got {base!r}", str(p))
    if p.resolve() in _chain:
        raise ParameterError("config files extend each other in a loop", str(p))
    return merge_dicts(load_dict(p.parent / base, _chain + (p.resolve(),)), d)


def load(cls: type[T], path: str | Path, overrides: list[str] | None = None) -> T:
    """Load a dataclass config from a file, then apply overrides."""
    return apply_overrides(from_dict(cls, load_dict(path)), overrides or [])
