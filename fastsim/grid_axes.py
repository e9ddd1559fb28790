"""Grid axes of a raw card: the ``{values: [...]}``, ``{linspace: [...]}`` and
``{logspace: [...]}`` forms any card value may take (expanded by :mod:`fastsim.grid`).

Kept apart from :mod:`fastsim.grid` so that :mod:`fastsim.cards` can refuse grid cards in
``load_card`` without importing the grid runner.  Imports only schema-level modules.

Units: GeV, cm, ns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fastsim.schema import CardError

__all__ = ["AXIS_KEYS", "find_axes"]

AXIS_KEYS = ("values", "linspace", "logspace")


def _axis_values(node: dict[str, Any], path: tuple, file: str) -> list[Any]:
    ((kind, arg),) = node.items()
    if kind == "values":
        if not isinstance(arg, list) or not arg:
            raise CardError("values: expects a non-empty list", path, file)
        return list(arg)
    if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[2], int) and arg[2] >= 1):
        raise CardError(f"{kind}: expects [start, stop, number of points]", path, file)
    start, stop, num = float(arg[0]), float(arg[1]), arg[2]
    if kind == "logspace":
        if start <= 0 or stop <= 0:
            raise CardError("logspace: start and stop must be > 0", path, file)
        return [float(x) for x in np.geomspace(start, stop, num)]
    return [float(x) for x in np.linspace(start, stop, num)]


def find_axes(raw: Any, origins: dict[tuple, str], path: tuple = ()) -> list[tuple[tuple, list[Any]]]:
    """All grid axes of a raw (merged, unvalidated) card: (key path, values)."""
    axes: list[tuple[tuple, list[Any]]] = []
    if isinstance(raw, dict):
        if len(raw) == 1 and next(iter(raw)) in AXIS_KEYS:
            file = next(
                (origins[path[:n]] for n in range(len(path), -1, -1) if path[:n] in origins), "<card>"
            )
            return [(path, _axis_values(raw, path, file))]
        for k, v in raw.items():
            axes += find_axes(v, origins, (*path, k))
    return axes
