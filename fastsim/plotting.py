"""Plot conventions: axis names with units from the card schema and the model registry, log
scales where a quantity spans decades, the mplhep style, PNG and PDF.

``axis_label("particles.9900025.ctau", card)`` -> ``("$c\\tau_{S}$ [cm]", True)``: the symbol
of the quantity, the particle's name from the card, the model registry or ``particle``, the
unit from the schema, and whether the axis wants a log scale.

Units: GeV, cm, ns (as the schemas say).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["axis_label", "publication_style", "save_figure", "styled", "wants_log"]

#: card leaf -> (symbol, unit) for particle properties
_PARTICLE_KEYS = {"mass": ("m", "GeV"), "ctau": (r"c\tau", "cm"), "width": (r"\Gamma", "GeV")}


def wants_log(values: Sequence[float] | np.ndarray) -> bool:
    """A log axis when all values are positive and span more than two decades."""
    v = np.asarray([float(x) for x in values], np.float64)
    v = v[np.isfinite(v)]
    return bool(len(v) > 1 and np.all(v > 0) and v.max() / v.min() > 100.0)


def _particle_name(pdg: int, card: dict[str, Any] | None) -> str:
    if card and pdg in (card.get("particles") or {}):
        return str(card["particles"][pdg].get("name") or pdg)
    from fastsim.models import MODELS, model_for_pdg

    name = model_for_pdg(pdg)
    if name is not None:
        return str(MODELS[name].particle.name)
    try:
        from particle import Particle

        return str(Particle.from_pdgid(pdg).name)
    except (RuntimeError, LookupError, ValueError):  # not a PDG particle (ParticleNotFound, InvalidParticle)
        return str(pdg)


def _tex_name(name: str) -> str:
    """``phi_L`` -> ``\\phi_L``, ``Z'`` -> ``Z'``: a particle name as mathtext."""
    base = re.sub(r"^(phi|chi|eta|pi|rho|omega|gamma|tau|mu|nu)", r"\\\1", name)
    return base.replace("~", r"^{*}")


def axis_label(
    key: str, card: dict[str, Any] | None = None, values: Sequence[float] | None = None
) -> tuple[str, bool]:
    """The axis title of a grid column (a card key path) and whether it wants a log scale."""
    parts = key.split(".")
    log = wants_log(values) if values is not None else False
    if len(parts) == 3 and parts[0] == "particles" and parts[2] in _PARTICLE_KEYS:
        sym, unit = _PARTICLE_KEYS[parts[2]]
        name = _tex_name(_particle_name(int(parts[1]), card))
        return f"${sym}_{{{name}}}$ [{unit}]", log or parts[2] == "ctau"
    if len(parts) == 3 and parts[0] == "models":
        from fastsim.models import get_model

        cls = get_model(parts[1])
        if parts[2] == "coupling":
            return f"{cls.title.split(' (')[0]}: {cls.coupling_label}", True
        if parts[2] == "mass":
            return f"$m_{{{_tex_name(cls.particle.name)}}}$ [GeV]", log
    if len(parts) == 3 and parts[0] == "processes":
        gen = ((card or {}).get("processes") or {}).get(parts[1], {}).get("generator")
        model = None
        if gen:
            from fastsim.generators import GENERATORS

            model = getattr(GENERATORS[gen], "model_class", None)
        if parts[2] == "mass":
            name = _tex_name(model.particle.name) if model else "X"
            return f"$m_{{{name}}}$ [GeV]", log
        if parts[2] == "coupling":
            return (model.coupling_label if model else "coupling"), True
    return key, log


@contextlib.contextmanager
def publication_style() -> Iterator[None]:
    """matplotlib with the mplhep ROOT style (Agg backend; no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    with plt.style.context(mplhep.style.ROOT):
        yield


def styled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run a plotting function inside :func:`publication_style`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with publication_style():
            return fn(*args, **kwargs)

    return wrapper


def save_figure(fig: Any, output: Path) -> list[Path]:
    """Save ``fig`` as ``output`` (.png) and beside it as .pdf; closes the figure."""
    import matplotlib.pyplot as plt

    out = []
    for ext in (".png", ".pdf"):
        p = Path(output).with_suffix(ext)
        fig.savefig(p, dpi=130)
        out.append(p)
    plt.close(fig)
    return out
