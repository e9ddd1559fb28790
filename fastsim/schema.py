"""A small declarative schema for YAML cards: types, ranges, choices, defaults, docs.

A schema is a tree of :class:`Section` (fixed keys), :class:`MapOf` (free keys, one
value schema), :class:`ListOf` and leaf :class:`Field` objects.  ``validate`` walks a
plain dict (from YAML), fills defaults, and raises :class:`CardError` naming the key
path, the file the value came from, and the reason; unknown keys get a "did you mean".
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REQUIRED", "CardError", "Field", "ListOf", "MapOf", "Section", "keypath"]


class CardError(Exception):
    """A problem with a card: carries the file, the key path and the reason."""

    def __init__(self, reason: str, path: tuple[Any, ...] = (), file: str | None = None) -> None:
        self.reason = reason
        self.path = tuple(path)
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<card>"
        key = keypath(self.path)
        return f"{where}: {key}: {self.reason}" if key else f"{where}: {self.reason}"


def keypath(path: tuple[Any, ...]) -> str:
    """``('processes', 'zp', 'mass')`` -> ``processes.zp.mass``; list indices as ``[i]``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# Origin lookup: given a key path, the file that set it (see cards.merge_tracked).
OriginFn = Callable[[tuple[Any, ...]], str | None]


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list"}
    if isinstance(t, tuple):
        return " or ".join(names.get(x, x.__name__) for x in t)
    return names.get(t, t.__name__)


@dataclass
class Field:
    """A leaf value.  ``type`` float accepts ints; ``min``/``max`` are inclusive unless
    ``min_exclusive``/``max_exclusive``; ``check`` may return an error string."""

    type: type | tuple[type, ...]
    default: Any = REQUIRED
    doc: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None

    def validate(self, value: Any, path: tuple[Any, ...], origin: OriginFn) -> Any:
        def fail(reason: str) -> CardError:
            return CardError(reason, path, origin(path))

        if value is None:
            if self.nullable:
                return None
            raise fail("a value is required (got null)")
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if bool not in types and isinstance(value, bool):
            raise fail(f"expected {_type_name(self.type)}, got {value!r}")
        if not isinstance(value, types):
            raise fail(f"expected {_type_name(self.type)}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise fail(f"expected a finite number, got {value!r}")
        if self.choices is not None and value not in self.choices:
            hint = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise fail(f"{value!r} is not one of {list(self.choices)}{extra}")
        unit = f" {self.unit}" if self.unit else ""
        if self.min is not None and (value < self.min or (self.min_exclusive and value == self.min)):
            op = ">" if self.min_exclusive else ">="
            raise fail(f"must be {op} {self.min}{unit}, got {value}")
        if self.max is not None and (value > self.max or (self.max_exclusive and value == self.max)):
            op = "<" if self.max_exclusive else "<="
            raise fail(f"must be {op} {self.max}{unit}, got {value}")
        if self.check is not None:
            msg = self.check(value)
            if msg:
                raise fail(msg)
        return value

    def default_value(self) -> Any:
        return self.default


@dataclass
class ListOf:
    """A list whose items follow one schema."""

    item: Any
    default: Any = REQUIRED
    doc: str = ""
    min_len: int = 0

    def validate(self, value: Any, path: tuple[Any, ...], origin: OriginFn) -> Any:
        if not isinstance(value, list):
            raise CardError(f"expected a list, got {value!r}", path, origin(path))
        if len(value) < self.min_len:
            raise CardError(f"needs at least {self.min_len} entries", path, origin(path))
        return [self.item.validate(v, (*path, i), origin) for i, v in enumerate(value)]

    def default_value(self) -> Any:
        return self.default


@dataclass
class Section:
    """A mapping with a fixed set of keys."""

    fields: dict[str, Any]
    doc: str = ""
    optional: bool = False  # a missing section is filled from defaults
    extra_check: Callable[[dict[str, Any], tuple[Any, ...], OriginFn], None] | None = None

    def validate(self, value: Any, path: tuple[Any, ...], origin: OriginFn) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise CardError(f"expected a mapping of keys, got {value!r}", path, origin(path))
        out: dict[str, Any] = {}
        for key in value:
            if key not in self.fields:
                hint = difflib.get_close_matches(str(key), list(self.fields), n=1)
                extra = (
                    f" (did you mean {hint[0]!r}?)" if hint else f" (known keys: {', '.join(self.fields)})"
                )
                raise CardError(f"unknown key {key!r}{extra}", (*path, key), origin((*path, key)))
        for key, spec in self.fields.items():
            if key in value:
                out[key] = spec.validate(value[key], (*path, key), origin)
            else:
                default = spec.default_value()
                if default is REQUIRED:
                    raise CardError("missing required key", (*path, key), origin(path))
                out[key] = default
        if self.extra_check is not None:
            self.extra_check(out, path, origin)
        return out

    def default_value(self) -> Any:
        if not self.optional:
            return REQUIRED
        return self.validate({}, (), lambda _p: None)


@dataclass
class MapOf:
    """A mapping with free keys (e.g. process names), values of one schema.

    ``value_for`` may choose the value schema from the entry itself (e.g. a process's
    ``generator`` key).
    """

    value: Any = None
    value_for: Callable[[str, Any, tuple[Any, ...], OriginFn], Any] | None = None
    default: Any = field(default_factory=dict)
    doc: str = ""
    key_type: type = str

    def validate(self, value: Any, path: tuple[Any, ...], origin: OriginFn) -> dict[Any, Any]:
        if not isinstance(value, Mapping):
            raise CardError(f"expected a mapping, got {value!r}", path, origin(path))
        out = {}
        for k, v in value.items():
            if not isinstance(k, self.key_type):
                raise CardError(f"key {k!r} must be {_type_name(self.key_type)}", (*path, k), origin(path))
            spec = self.value_for(k, v, (*path, k), origin) if self.value_for else self.value
            out[k] = spec.validate(v, (*path, k), origin)
        return out

    def default_value(self) -> Any:
        return self.default
