"""Particle properties (mass, width, c*tau, charge) by PDG id, vectorised over id arrays.

Data come from scikit-hep ``particle`` (PDG tables; ``particle`` uses MeV, mm and ns,
converted here to GeV and cm), fetched lazily for the ids that are asked about, plus
particles registered by models (new BSM states such as 9900022, or overrides of
existing ones).  Lookups over arrays use a dense id -> position map for ids with
``|id| <= 2**14`` (the common species) and a sorted key array with ``np.searchsorted``
otherwise: the Python-level work is once per *species*, never per particle.

Conventions:
- ``width`` (GeV) and ``ctau`` (cm) are tied by c*tau = hbar*c / Gamma (PDG "Physical
  constants"; hbar*c from :mod:`fastsim.constants`).  When ``particle`` gives a lifetime
  it is used for c*tau (more precise for weakly decaying states), else the width.
- Stable particles (zero width, infinite lifetime): width 0, ctau = inf.
- Particles that ``particle`` lists without any width or lifetime (unmeasured widths of
  short-lived resonances such as D_s*+, B*0, chi_b states, and the K0 / anti-K0 flavour
  states that EvtGen "decays" into K_S0 / K_L0): width 0 and ctau 0, i.e. narrow and prompt.
- A mass missing in ``particle`` is taken as 0 for stable states (neutrinos) and makes
  the particle unknown otherwise.  Unknown ids raise ``KeyError(pdg_id)``.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from fastsim.constants import HBARC_GEV_CM

__all__ = ["ParticleInfo", "ParticleTable", "default_table"]

_MEV = 1e-3  # GeV per MeV
_MM = 0.1  # cm per mm
_TOKENS = itertools.count()
#: ids with |id| <= _DENSE are looked up in a dense position map (int32, 2 * 2**14 + 1 entries)
_DENSE = 2**14


@dataclass(frozen=True)
class ParticleInfo:
    """Properties of one species: mass and width in GeV, ctau in cm, charge in units of e."""

    pdg: int
    name: str
    mass: float
    width: float
    ctau: float
    charge: float


def _width_ctau(width: float | None, ctau: float | None) -> tuple[float, float]:
    """(width GeV, ctau cm) from either; c*tau = hbar*c / Gamma (PDG "Physical constants")."""
    if width is not None and ctau is not None:
        msg = "give either width or ctau, not both"
        raise ValueError(msg)
    if width is not None:
        if width < 0:
            msg = f"width must be >= 0, got {width}"
            raise ValueError(msg)
        return float(width), (HBARC_GEV_CM / width if width > 0 else math.inf)
    if ctau is not None:
        if ctau < 0:
            msg = f"ctau must be >= 0, got {ctau}"
            raise ValueError(msg)
        if ctau == 0:
            return 0.0, 0.0  # prompt; the width is not a meaningful number then
        return (HBARC_GEV_CM / ctau if math.isfinite(ctau) else 0.0), float(ctau)
    return 0.0, math.inf


def _from_particle_package(pdg: int) -> ParticleInfo | None:
    """Look one id up in ``particle`` (MeV, mm, ns -> GeV, cm); None if unknown."""
    from particle import InvalidParticle, Particle, ParticleNotFound

    try:
        p = Particle.from_pdgid(pdg)
    except (ParticleNotFound, InvalidParticle, ValueError, KeyError):
        return None
    lifetime_ns = p.lifetime  # ns (particle computes it from the width when needed)
    width_mev = p.width
    if width_mev is None and lifetime_ns is None:
        width, ctau = 0.0, 0.0  # unmeasured width: narrow and prompt (see module docstring)
    elif lifetime_ns is not None and math.isinf(lifetime_ns):
        width, ctau = 0.0, math.inf
    elif lifetime_ns is not None and p.ctau is not None:
        ctau = float(p.ctau) * _MM
        width = float(width_mev) * _MEV if width_mev else (HBARC_GEV_CM / ctau if ctau > 0 else 0.0)
    else:
        width, ctau = _width_ctau(float(width_mev) * _MEV, None)
    if p.mass is None:
        if not math.isinf(ctau):
            return None  # an unstable state without a mass cannot be used
        mass = 0.0  # neutrinos
    else:
        mass = float(p.mass) * _MEV
    charge = float(p.charge) if p.charge is not None else 0.0
    return ParticleInfo(int(pdg), str(p.name), mass, width, ctau, charge)


@functools.lru_cache(maxsize=4096)
def _cached_lookup(pdg: int) -> ParticleInfo | None:
    return _from_particle_package(pdg)


class ParticleTable:
    """Vectorised particle properties by PDG id, from ``particle`` plus registered particles.

    >>> t = ParticleTable()
    >>> t.mass(np.array([211, -211, 111]))  # GeV
    array([0.13957039, 0.13957039, 0.1349768 ])
    """

    def __init__(self) -> None:
        self._info: dict[int, ParticleInfo] = {}
        self._registered: set[int] = set()
        self._keys = np.empty(0, np.int64)
        self._mass = np.empty(0)
        self._width = np.empty(0)
        self._ctau = np.empty(0)
        self._charge = np.empty(0)
        self._dense = np.empty(0, np.int32)  # built with the key array
        self._dirty = False
        #: pdg -> c*tau values (cm) of an equal-weight mixture of exponentials from which the
        #: decay engine draws proper decay lengths instead of Exp(ctau) (lifetime reweighting)
        self.ctau_mixtures: dict[int, np.ndarray] = {}
        #: pdg -> (model name, parameters) of a particle a card's ``models:`` section added
        self.models: dict[int, tuple[str, dict]] = {}
        #: changes whenever a registration changes values; used by caches of users
        self.version = 0
        self.token = next(_TOKENS)

    # ------------------------------------------------------------------ building
    def register(
        self,
        pdg: int,
        name: str,
        mass: float,
        ctau: float | None = None,
        width: float | None = None,
        charge: float = 0.0,
        antiparticle: bool | None = None,
    ) -> None:
        """Add or override a particle: mass (GeV), either ctau (cm) or width (GeV), charge (e).

        Neither ctau nor width: stable (ctau = inf).  ``ctau = 0``: prompt.  The
        antiparticle ``-pdg`` (charge negated, name + "~") is registered too when
        ``antiparticle`` is true, or by default when the charge is non-zero and ``-pdg``
        has not been registered itself.
        """
        if mass < 0 or not math.isfinite(mass):
            msg = f"mass must be finite and >= 0, got {mass}"
            raise ValueError(msg)
        w, c = _width_ctau(width, ctau)
        pdg = int(pdg)
        self._set(ParticleInfo(pdg, name, float(mass), w, c, float(charge)))
        self._registered.add(pdg)
        if antiparticle is None:
            antiparticle = charge != 0 and -pdg not in self._registered
        if antiparticle and pdg != 0:
            self._set(ParticleInfo(-pdg, name + "~", float(mass), w, c, -float(charge)))
        self.version += 1

    def _set(self, info: ParticleInfo) -> None:
        self._info[info.pdg] = info
        self._dirty = True

    def _rebuild(self) -> None:
        keys = np.array(sorted(self._info), dtype=np.int64)
        infos = [self._info[int(k)] for k in keys]
        self._keys = keys
        self._mass = np.array([i.mass for i in infos], dtype=np.float64)
        self._width = np.array([i.width for i in infos], dtype=np.float64)
        self._ctau = np.array([i.ctau for i in infos], dtype=np.float64)
        self._charge = np.array([i.charge for i in infos], dtype=np.float64)
        small = np.abs(keys) <= _DENSE
        self._dense = np.full(2 * _DENSE + 1, -1, np.int32)
        self._dense[keys[small] + _DENSE] = np.flatnonzero(small)
        self._dirty = False

    def _index(self, ids: np.ndarray, strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``ids`` in the sorted key array and a found-mask; loads missing
        species from ``particle`` (once per species)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self._dirty:
            self._rebuild()
        pos, found = self._search(ids)
        if not np.all(found):
            added = False
            for pdg in np.unique(ids[~found]).tolist():
                info = _cached_lookup(int(pdg))
                if info is not None:
                    self._set(info)
                    added = True
            if added:
                self._rebuild()
                pos, found = self._search(ids)
            if strict and not np.all(found):
                raise KeyError(int(ids[~found].flat[0]))
        return pos, found

    def _search(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(self._keys) == 0:
            return np.zeros(ids.shape, np.int64), np.zeros(ids.shape, bool)
        if ids.size and ids.min() >= -_DENSE and ids.max() <= _DENSE:
            pos = self._dense[ids + _DENSE]
            found = pos >= 0
            return (pos if found.all() else np.maximum(pos, 0)), found
        pos = np.minimum(np.searchsorted(self._keys, ids), len(self._keys) - 1)
        return pos, self._keys[pos] == ids

    # ------------------------------------------------------------------ lookups
    def knows(self, ids: np.ndarray) -> np.ndarray:
        """Boolean array: which ids have properties (registered or in ``particle``)."""
        return self._index(ids, strict=False)[1]

    def mass(self, ids: np.ndarray) -> np.ndarray:
        """Nominal masses (GeV), same shape as ``ids``."""
        idx = self._index(ids)[0]  # may load species: index before reading the array
        return self._mass[idx]

    def width(self, ids: np.ndarray) -> np.ndarray:
        """Total widths (GeV); 0 for stable particles and for unmeasured widths."""
        idx = self._index(ids)[0]  # may load species: index before reading the array
        return self._width[idx]

    def ctau(self, ids: np.ndarray) -> np.ndarray:
        """Proper decay lengths c*tau (cm); inf for stable particles, 0 for prompt ones."""
        idx = self._index(ids)[0]  # may load species: index before reading the array
        return self._ctau[idx]

    def charge(self, ids: np.ndarray) -> np.ndarray:
        """Electric charges in units of e."""
        idx = self._index(ids)[0]  # may load species: index before reading the array
        return self._charge[idx]

    def info(self, pdg: int) -> ParticleInfo:
        """All properties of one species (KeyError if unknown)."""
        self._index(np.array([pdg]))
        return self._info[int(pdg)]

    def name(self, pdg: int) -> str:
        return self.info(pdg).name

    def is_registered(self, pdg: int) -> bool:
        """True for particles added with :meth:`register` (not from ``particle``)."""
        return int(pdg) in self._registered

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_dirty"] = True  # arrays are rebuilt on first use after unpickling
        for k in ("_keys", "_mass", "_width", "_ctau", "_charge"):
            state[k] = np.empty(0, np.int64 if k == "_keys" else np.float64)
        state["_dense"] = np.empty(0, np.int32)
        return state


@functools.lru_cache(maxsize=1)
def default_table() -> ParticleTable:
    """A process-wide table with ``particle``'s data only (do not register into it)."""
    return ParticleTable()
