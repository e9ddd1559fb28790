"""Lazy registries of plugins: generators, models and searches, one line per plugin.

A registry maps a plugin's name to ``"module:attribute"``; the module is imported the first
time the name is looked up (``importlib``), so a plugin module never imports its registry's
package and no import cycle can form through a registry.  Adding a plugin is one new file and
one line in the registry that names it.

An unknown name raises :class:`UnknownPlugin` (a ``KeyError``) with the closest known name.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Registry", "UnknownPlugin"]


class UnknownPlugin(KeyError):
    """A name that is not in a registry; ``str()`` is a one-line reason with a suggestion."""

    def __init__(self, kind: str, name: object, known: list[str]) -> None:
        hint = difflib.get_close_matches(str(name), known, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(sorted(known))})"
        self.reason = f"unknown {kind} {name!r}{extra}"
        super().__init__(self.reason)

    def __str__(self) -> str:
        return self.reason


class Registry(Mapping[str, Any]):
    """Name -> plugin object, imported on first use from its ``"module:attribute"`` entry.

    ``extra`` plugins can be added at run time with :meth:`add` (e.g. a search defined in a
    test or a user's own module); they take the same lookups as the shipped ones.
    """

    def __init__(self, kind: str, entries: Mapping[str, str]) -> None:
        self.kind = kind
        self._entries: dict[str, str] = dict(entries)
        self._loaded: dict[str, Any] = {}

    def add(self, name: str, obj_or_path: Any) -> None:
        """Register ``obj_or_path`` (an object, or a ``"module:attribute"`` string) as ``name``."""
        if isinstance(obj_or_path, str):
            self._entries[name] = obj_or_path
            self._loaded.pop(name, None)
        else:
            self._entries[name] = f"{obj_or_path.__module__}:{getattr(obj_or_path, '__qualname__', name)}"
            self._loaded[name] = obj_or_path

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    def __getitem__(self, name: str) -> Any:
        if not isinstance(name, str) or name not in self._entries:
            raise UnknownPlugin(self.kind, name, list(self._entries))
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._entries:
            raise UnknownPlugin(self.kind, name, list(self._entries))
        module, _, attr = self._entries[name].partition(":")
        obj = getattr(importlib.import_module(module), attr)
        declared = getattr(obj, "name", name)
        if declared != name:
            raise RuntimeError(f"{self.kind} registry: {module}:{attr} is named {declared!r}, not {name!r}")
        self._loaded[name] = obj
        return obj

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def path(self, name: str) -> str:
        """The ``"module:attribute"`` a name points to (without importing it)."""
        if name not in self._entries:
            raise UnknownPlugin(self.kind, name, list(self._entries))
        return self._entries[name]
