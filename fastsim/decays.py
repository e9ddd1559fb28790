"""Decays of unstable particles in the lab frame, generation by generation.

:class:`DecayTable` holds, per parent PDG id, a list of :class:`DecayMode` (branching
fraction, daughter ids, model name, optional matrix-element weight).  It is read from an
EvtGen ``.DEC`` file with ``decaylanguage`` (:meth:`DecayTable.from_dec_file`;
:func:`sm_decay_table` loads Belle II's ``DECAY_BELLE2.DEC`` shipped with decaylanguage)
and extended by model code with :meth:`DecayTable.add`.

:func:`decay_particles` decays every final-state particle that has a decay table entry
and is not declared detector-stable, appends the daughters to their event, and repeats
on the daughters until nothing decayable is left.

Physics simplifications (deliberate; documented here once):

- **Decay models.**  The kinematics is n-body phase space (:mod:`fastsim.kinematics`) times,
  by accept-reject, the matrix element of the DEC line's model where
  :mod:`fastsim.decay_models` has it (SVS / VSS / VLL / VSP_PWAVE / VVS_PWAVE / SVV_HELAMP /
  SVP_HELAMP helicity structure, semileptonic BGL / HQET3 / SLPOLE / SLBKPOLE with the DEC
  file's form-factor parameters; ``docs/decay_coverage.md`` has the fraction per parent),
  or of the mode's ``me_weight`` hook: ``me_weight(parent_p4 (n, 4), daughters_p4 (n, k, 4))
  -> (n,)`` weights in [0, 1], both in the **lab frame**.  A vector daughter carries its
  helicity state (rho00) and its mother's momentum to its own decay (internal columns, not
  written).  Other models (ISGW2, LLSW, Dalitz models ...) are phase space.
- **Quark-level lines go to Pythia 8** (:mod:`fastsim.hadronization`), as EvtGen hands
  them over in basf2: a DEC line with the ``PYTHIA`` model or with quarks, gluons or
  diquarks among its products is stored in :attr:`DecayTable.pythia_lines` (BF, Pythia
  meMode, daughters); together they form one mode of their parent (model ``PYTHIA``, BF =
  their sum).  A parent that picks it is decayed at rest by Pythia, which chooses among
  those lines by BF, and the hadrons come back (boosted to the lab, decayed further by this
  engine).  Lines with states that neither ``particle`` nor Pythia knows are dropped and the
  remaining branching fractions renormalised per parent (:attr:`DecayTable.dropped`).
- **Partons in the input record** (status 1 quarks, e.g. from ``ee_qqbar`` or a Les
  Houches file): each event's q qbar pair (one colour singlet) is showered and fragmented
  by Pythia 8 with the Belle II tune in the pair's rest frame; the hadrons (status 1,
  mothers: the quark and the antiquark) replace it, the partons keep status 2.
- **Preset decay lengths**: a particle that comes with ``lifetime`` > 0 (proper decay
  length c t, cm) decays at that length, not a new one (``ups4s_bbbar`` sets the B decay
  times of its coherent B0 pairs; a Les Houches VTIMUP is honoured the same way).
- **Aliases** are resolved to the particles they stand for (``K*L`` -> K*0 ...); the
  alias-specific decay blocks are ignored, so an aliased daughter decays with the
  generic decay table of its particle.  B0-anti-B0 mixing is the generator's
  (``ups4s_bbbar``: coherent pairs); single B0 do not oscillate here.
- **Masses of daughters**: particles with Gamma/m > :data:`BW_MIN_REL_WIDTH` get a
  relativistic Breit-Wigner mass (:func:`fastsim.kinematics.sample_breit_wigner`) in
  [max(m0 - W Gamma, lightest own decay threshold), m0 + W Gamma] with
  W = :data:`BW_WINDOW`, further truncated so that the mode is open; the joint mass
  distribution is Breit-Wigner x phase-space volume (accept-reject, exact).  Narrower
  particles get their nominal mass.  Only modes open at the parent's mass are chosen
  (branching fractions renormalised over the open ones); a parent with no open mode is
  left undecayed.
- One-body "decays" (EvtGen's K0 -> K_S0 / K_L0) relabel the particle: the daughter
  takes the parent's four-momentum and mass.
- Particles without a measured width in ``particle`` (D_s*+, B*0, K0, ...) decay
  promptly (ctau = 0); ids that the particle table does not know are treated likewise.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from fastsim import decay_models, kinematics
from fastsim.constants import C_CM_PER_NS
from fastsim.disk_cache import cache_dir
from fastsim.events import MC_FIELDS, STATUS_DECAYED, STATUS_FINAL, Collection, offsets_from_counts
from fastsim.particles import ParticleTable, default_table

__all__ = [
    "BW_MIN_REL_WIDTH",
    "BW_WINDOW",
    "DEFAULT_STABLE",
    "DecayMode",
    "DecayTable",
    "decay_particles",
    "sm_decay_table",
    "without_spin_columns",
]

#: Particles left to the detector simulation (decays in flight): e, mu, pi+-, K+-, K_L0,
#: p, n, photon, neutrinos, and their antiparticles.
DEFAULT_STABLE: frozenset[int] = frozenset(
    {11, -11, 13, -13, 211, -211, 321, -321, 130, 2212, -2212, 2112, -2112, 22, 12, -12, 14, -14, 16, -16}
)
_DEFAULT_STABLE_IDS = np.array(sorted(DEFAULT_STABLE), np.int64)
_SPIN_COLUMNS = ("_pol", "_mpx", "_mpy", "_mpz", "_me")
#: two-body models of a spin-1 parent that give no daughter a helicity state: flat for an
#: unpolarised parent (the sum over its helicities is isotropic)
_FLAT_IF_UNPOLARISED = frozenset({"VSS", "VSS_BMIX", "VSP_PWAVE", "VLL"})
#: Daughters with Gamma / m above this get Breit-Wigner masses; narrower ones are fixed
#: at the nominal mass (omega, phi, K*, rho ... are broad; J/psi, D*+ are narrow).
BW_MIN_REL_WIDTH: float = 1e-4
#: Breit-Wigner mass window, in units of the width, around the nominal mass.
BW_WINDOW: float = 10.0

MeWeight = Callable[[np.ndarray, np.ndarray], np.ndarray]
_MAX_ROUNDS = 10_000
TAU = 15
PHOTON = 22
#: decay photons (FSR) need E > FSR_CUTOFF x m_parent / 2 in the parent rest frame
FSR_CUTOFF = 1e-3
_QUARKS = np.array([1, 2, 3, 4, 5, 6])


@dataclass(frozen=True)
class DecayMode:
    """One decay channel: branching fraction, daughter PDG ids, model name, optional
    matrix-element weight ``me_weight(parent_p4 (n, 4), daughters_p4 (n, k, 4)) -> [0, 1]``
    (lab frame), and the model's parameters from the DEC line (``params``: used by the
    models of :mod:`fastsim.decay_models`)."""

    br: float
    daughters: tuple[int, ...]
    model: str = "PHSP"
    me_weight: MeWeight | None = None
    params: tuple[float, ...] = ()


def _as_mode(m: DecayMode | tuple) -> DecayMode:
    if isinstance(m, DecayMode):
        mode = m
    else:
        br, daughters, *rest = m
        mode = DecayMode(float(br), tuple(int(d) for d in daughters), *rest)
    if mode.br < 0 or not np.isfinite(mode.br):
        msg = f"branching fraction must be finite and >= 0, got {mode.br}"
        raise ValueError(msg)
    if len(mode.daughters) == 0:
        msg = "a decay mode needs at least one daughter"
        raise ValueError(msg)
    return DecayMode(
        mode.br,
        tuple(int(d) for d in mode.daughters),
        str(mode.model),
        mode.me_weight,
        tuple(float(x) for x in mode.params),
    )


@dataclass
class _Compiled:
    """Flat arrays for vectorised mode choice (independent of the particle table)."""

    parents: np.ndarray  # (n_p,) sorted PDG ids
    first: np.ndarray  # (n_p + 1,) mode offsets per parent
    br: np.ndarray  # (n_modes,) normalised per parent
    cum: np.ndarray  # (n_modes,) parent index + cumulative BR (ends at parent index + 1)
    k: np.ndarray  # (n_modes,) multiplicities
    dau: np.ndarray  # (n_modes, kmax) daughter ids, 0-padded
    hooks: dict[int, MeWeight]  # mode index -> me_weight
    models: dict[int, tuple[str, tuple[float, ...], int]]  # mode -> (model, params, parent id)
    dau_tuples: dict[int, tuple[int, ...]]  # mode -> its daughters (modelled modes)


@dataclass
class _Props:
    """Particle-table dependent arrays: species properties and mode thresholds."""

    species: np.ndarray  # sorted ids of all parents and daughters
    m0: np.ndarray
    gamma: np.ndarray
    broad: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    thr: np.ndarray  # (n_modes,) sum of the lowest daughter masses (0 for 1-body)
    parent_ctau: np.ndarray  # (n_p,)
    parent_decays: np.ndarray  # (n_p,) bool: not stable and ctau < inf
    dau_charge: np.ndarray  # (n_modes, kmax) daughters' electric charges (e)


class DecayTable:
    """Decay modes by parent PDG id.  Picklable and compact (see ``__getstate__``)."""

    def __init__(self, modes: Mapping[int, Iterable[DecayMode | tuple]] | None = None) -> None:
        self._modes: dict[int, tuple[DecayMode, ...]] = {}
        #: fraction of the DEC-file branching fraction dropped per parent (see module doc)
        self.dropped: dict[int, float] = {}
        #: quark-level lines handed to Pythia 8: parent -> ((BF, meMode, daughters), ...)
        self.pythia_lines: dict[int, tuple[tuple[float, int, tuple[int, ...]], ...]] = {}
        #: PHOTOS-style radiation in the decays with charged products (a DEC file's ``yesPhotos``)
        self.photos = False
        #: particles of the card (new states) Pythia 8 must be told about to decay their
        #: quark-level lines: pdg -> (charge in e, nominal mass in GeV)
        self.new_particles: dict[int, tuple[float, float]] = {}
        self._compiled: _Compiled | None = None
        self._props_cache: dict[tuple, _Props] = {}
        self._tau_cache: dict[tuple, Any] = {}
        self._hadronizer_cache: dict[tuple, Any] = {}
        for parent, ms in (modes or {}).items():
            self.add(parent, ms)

    # ------------------------------------------------------------------ editing
    def add(self, parent: int, modes: Iterable[DecayMode | tuple]) -> None:
        """Set the modes of ``parent`` (replacing existing ones); branching fractions are
        normalised to sum to 1.  ``modes``: DecayMode or tuples (br, daughters[, model[, me_weight]])."""
        ms = [_as_mode(m) for m in modes]
        ms = [m for m in ms if m.br > 0]
        total = sum(m.br for m in ms)
        if not ms or total <= 0:
            msg = f"no decay mode with a positive branching fraction for {parent}"
            raise ValueError(msg)
        self._modes[int(parent)] = tuple(
            DecayMode(m.br / total, m.daughters, m.model, m.me_weight, m.params) for m in ms
        )
        self._invalidate()

    def remove(self, parent: int) -> None:
        """Forget the modes of ``parent`` (it becomes stable)."""
        self._modes.pop(int(parent), None)
        self.pythia_lines.pop(int(parent), None)
        self._invalidate()

    def _invalidate(self) -> None:
        self._compiled = None
        self._props_cache = {}
        self._tau_cache = {}
        self._hadronizer_cache = {}

    def copy(self) -> DecayTable:
        new = DecayTable()
        new._modes = dict(self._modes)
        new.dropped = dict(self.dropped)
        new.pythia_lines = dict(self.pythia_lines)
        new.photos = self.photos
        new.new_particles = dict(self.new_particles)
        return new

    # ------------------------------------------------------------------ queries
    def modes(self, parent: int) -> tuple[DecayMode, ...]:
        return self._modes.get(int(parent), ())

    @property
    def parents(self) -> list[int]:
        return sorted(self._modes)

    def __contains__(self, parent: object) -> bool:
        return parent in self._modes

    def __len__(self) -> int:
        return len(self._modes)

    def model_coverage(self, parent: int) -> dict[str, float]:
        """How ``parent``'s decays are modelled, as fractions of its (normalised) branching
        fraction: ``matrix_element`` (a model of :mod:`fastsim.decay_models` or a me_weight
        hook), ``pythia`` (quark-level lines), ``phase_space`` (the rest, including one-body
        relabelling), plus ``dropped`` (of the DEC file's total, not renormalised)."""
        out = {"matrix_element": 0.0, "pythia": 0.0, "phase_space": 0.0}
        for m in self.modes(parent):
            if m.daughters == (PYTHIA_MARK,):
                out["pythia"] += m.br
            elif m.me_weight is not None or (len(m.daughters) >= 2 and m.model in decay_models.SUPPORTED):
                out["matrix_element"] += m.br
            else:
                out["phase_space"] += m.br
        out["dropped"] = self.dropped.get(int(parent), 0.0)
        return out

    def branching_fraction(self, parent: int, daughters: Iterable[int]) -> float:
        """Normalised BR of ``parent`` into ``daughters`` (order-insensitive; summed over
        identical modes)."""
        key = sorted(int(d) for d in daughters)
        return float(sum(m.br for m in self.modes(parent) if sorted(m.daughters) == key))

    # ------------------------------------------------------------------ DEC files
    @classmethod
    def from_dec_file(cls, path: str | Path, extra_names: Mapping[str, int] | None = None) -> DecayTable:
        """Parse an EvtGen .DEC file with ``decaylanguage.DecFileParser``.

        Aliases are resolved, charge-conjugate decays (CDecay) included, BRs normalised
        per parent; lines with partons or unknown particles are dropped (module doc).
        ``extra_names`` maps EvtGen names of new particles to PDG ids.  The parse (about
        2 s for DECAY_BELLE2.DEC) is cached per process and file version; a copy is returned.
        """
        p = Path(path).resolve()
        extra = tuple(sorted((extra_names or {}).items()))
        return _load_dec(str(p), p.stat().st_mtime_ns, p.stat().st_size, extra).copy()

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        """Compact state: flat arrays instead of ~10^4 dataclass instances."""
        parents = sorted(self._modes)
        modes = [m for p in parents for m in self._modes[p]]
        names = sorted({m.model for m in modes})
        code = {n: i for i, n in enumerate(names)}
        return {
            "parents": np.array(parents, np.int64),
            "n_modes": np.array([len(self._modes[p]) for p in parents], np.int32),
            "br": np.array([m.br for m in modes], np.float64),
            "k": np.array([len(m.daughters) for m in modes], np.int8),
            "daughters": np.array([d for m in modes for d in m.daughters], np.int64),
            "model_names": names,
            "model": np.array([code[m.model] for m in modes], np.int16),
            "n_params": np.array([len(m.params) for m in modes], np.int16),
            "params": np.array([x for m in modes for x in m.params], np.float64),
            "hooks": {i: m.me_weight for i, m in enumerate(modes) if m.me_weight is not None},
            "dropped": self.dropped,
            "pythia_lines": self.pythia_lines,
            "photos": self.photos,
            "new_particles": self.new_particles,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._modes = {}
        self.dropped = dict(state["dropped"])
        self.pythia_lines = dict(state.get("pythia_lines", {}))
        self.photos = bool(state.get("photos", False))
        self.new_particles = dict(state.get("new_particles", {}))
        self._compiled = None
        self._props_cache = {}
        self._tau_cache = {}
        self._hadronizer_cache = {}
        dstart = np.concatenate([[0], np.cumsum(state["k"].astype(np.int64))])
        n_par = state.get("n_params", np.zeros(len(state["k"]), np.int16)).astype(np.int64)
        pstart = np.concatenate([[0], np.cumsum(n_par)])
        pars = state.get("params", np.zeros(0))
        i = 0
        for parent, nm in zip(state["parents"].tolist(), state["n_modes"].tolist(), strict=True):
            ms = []
            for _ in range(nm):
                ds = tuple(state["daughters"][dstart[i] : dstart[i + 1]].tolist())
                ms.append(
                    DecayMode(
                        float(state["br"][i]),
                        ds,
                        state["model_names"][state["model"][i]],
                        state["hooks"].get(i),
                        tuple(pars[pstart[i] : pstart[i + 1]].tolist()),
                    )
                )
                i += 1
            self._modes[parent] = tuple(ms)

    # ------------------------------------------------------------------ compiled forms
    def _compile(self) -> _Compiled:
        if self._compiled is not None:
            return self._compiled
        parents = np.array(sorted(self._modes), dtype=np.int64)
        nm = np.array([len(self._modes[int(p)]) for p in parents], dtype=np.int64)
        first = offsets_from_counts(nm)
        modes = [m for p in parents.tolist() for m in self._modes[p]]
        br = np.array([m.br for m in modes], dtype=np.float64)
        k = np.array([len(m.daughters) for m in modes], dtype=np.int64)
        kmax = int(k.max()) if len(k) else 1
        dau = np.zeros((len(modes), kmax), dtype=np.int64)
        for i, m in enumerate(modes):  # once per table version, over modes
            dau[i, : len(m.daughters)] = m.daughters
        parent_of_mode = np.repeat(np.arange(len(parents)), nm)
        # cumulative BR per parent, offset by the parent index so one searchsorted serves all
        cum = np.cumsum(br)
        cum -= np.repeat(np.concatenate([[0.0], cum[first[1:-1] - 1]]) if len(parents) else [], nm)
        cum = parent_of_mode + cum
        if len(parents):
            cum[first[1:] - 1] = np.arange(1, len(parents) + 1)  # exact upper ends
        hooks = {i: m.me_weight for i, m in enumerate(modes) if m.me_weight is not None}
        parent_ids = np.repeat(parents, nm)
        models = {
            i: (m.model, m.params, int(parent_ids[i]))
            for i, m in enumerate(modes)
            if m.me_weight is None and len(m.daughters) >= 2 and m.model in decay_models.SUPPORTED
        }
        dau_tuples = {i: modes[i].daughters for i in models}
        self._compiled = _Compiled(parents, first, br, cum, k, dau, hooks, models, dau_tuples)
        return self._compiled

    def tau_decayer(self, particles: ParticleTable) -> Any:
        """The tau decay engine (:class:`fastsim.tau.engine.TauDecayer`) for this table's
        ``tau-`` modes, or None when the table has none."""
        key = (particles.token, particles.version)
        if key not in self._tau_cache:
            from fastsim.tau.engine import TauDecayer

            modes = self.modes(TAU)
            self._tau_cache = {key: TauDecayer(modes, particles) if modes else None}
        return self._tau_cache[key]

    def hadronizer(self, stable: frozenset[int] = DEFAULT_STABLE) -> Any:
        """Pythia 8 (:class:`fastsim.hadronization.Hadronizer`) with this table's quark-level
        lines, its decays off for every parent of the table and every ``stable`` particle."""
        key = (stable,)
        if key not in self._hadronizer_cache:
            from fastsim.hadronization import Hadronizer

            self._hadronizer_cache = {
                key: Hadronizer(
                    set(self._modes) | set(stable), self.pythia_lines, new_particles=self.new_particles
                )
            }
        return self._hadronizer_cache[key]

    def _props(self, particles: ParticleTable, stable: frozenset[int]) -> _Props:
        key = (particles.token, particles.version, stable)
        if key in self._props_cache:
            return self._props_cache[key]
        c = self._compile()
        species = np.unique(np.concatenate([c.parents, c.dau[c.dau != 0]]))
        known = particles.knows(species)
        dau_known = particles.knows(c.dau[c.dau != 0])
        if not np.all(dau_known):
            missing = int(c.dau[c.dau != 0][~dau_known][0])
            raise KeyError(missing)
        m0 = np.zeros(len(species))
        gam = np.zeros(len(species))
        ctau = np.zeros(len(species))  # unknown parents: prompt
        m0[known] = particles.mass(species[known])
        gam[known] = particles.width(species[known])
        ctau[known] = particles.ctau(species[known])
        broad = known & (gam > BW_MIN_REL_WIDTH * m0)
        lo = np.where(broad, np.maximum(m0 - BW_WINDOW * gam, 0.0), m0)
        hi = np.where(broad, m0 + BW_WINDOW * gam, m0)
        # species that decay: in the table, not stable, finite ctau
        sp_parent = np.searchsorted(c.parents, species)
        sp_parent = np.minimum(sp_parent, max(len(c.parents) - 1, 0))
        has_modes = (c.parents[sp_parent] == species) if len(c.parents) else np.zeros(len(species), bool)
        decays = has_modes & ~np.isin(species, np.fromiter(stable, np.int64, len(stable))) & (ctau < np.inf)
        dau_sp = np.searchsorted(species, c.dau)  # positions of daughters in species (pad: junk)
        pad = np.arange(c.dau.shape[1])[None, :] >= c.k[:, None]
        lo_floor = lo.copy()
        # a broad particle's lower mass limit is at least its lightest decay threshold
        # (iterated because daughters may be broad themselves)
        for _ in range(10):
            thr = np.where(pad, 0.0, lo[np.minimum(dau_sp, len(species) - 1)]).sum(axis=1)
            thr[c.k == 1] = 0.0
            min_thr = np.minimum.reduceat(thr, c.first[:-1]) if len(thr) else np.zeros(0)
            new_lo = lo_floor.copy()
            sel = broad & decays
            new_lo[sel] = np.maximum(lo_floor[sel], min_thr[sp_parent[sel]])
            if np.array_equal(new_lo, lo):
                break
            lo = new_lo
        closed = broad & (lo >= hi)  # threshold above the window: use the nominal mass
        lo[closed] = hi[closed] = m0[closed]
        broad &= ~closed
        thr = np.where(pad, 0.0, lo[np.minimum(dau_sp, len(species) - 1)]).sum(axis=1)
        thr[c.k == 1] = 0.0
        pidx = np.searchsorted(species, c.parents)
        charge = np.zeros(len(species))
        charge[known] = particles.charge(species[known])
        dau_charge = np.where(pad | (c.dau == PYTHIA_MARK), 0.0, charge[np.minimum(dau_sp, len(species) - 1)])
        props = _Props(species, m0, gam, broad, lo, hi, thr, ctau[pidx], decays[pidx], dau_charge)
        self._props_cache = {key: props}
        return props


_PARTON_IDS = frozenset(range(1, 9)) | {21} | frozenset(range(81, 101))
#: the daughter id of a parent's ``PYTHIA`` mode (its lines are in ``DecayTable.pythia_lines``)
PYTHIA_MARK = 0


#: version of the parsed-table cache's content (2: quark-level lines for Pythia; 3: model
#: params; 4: the PHOTOS flag)
_CACHE_FORMAT = 4


def _cache_dir() -> Path:
    """Per-user cache of parsed decay tables (:func:`fastsim.disk_cache.cache_dir`)."""
    return cache_dir()


def save_table_npz(table: DecayTable, path: Path | BinaryIO) -> None:
    """Write a decay table as a NumPy ``.npz`` of plain arrays (no pickled objects): the compact
    state of :meth:`DecayTable.__getstate__`, model names and dropped fractions as arrays.
    Matrix-element hooks (Python callables) are not stored; a table with hooks raises."""
    state = table.__getstate__()
    if state["hooks"]:
        raise ValueError("a decay table with matrix-element hooks cannot be stored as plain arrays")
    dropped = sorted(state["dropped"].items())
    with contextlib.nullcontext(path) if hasattr(path, "write") else path.open("wb") as fh:
        np.savez(
            fh,
            parents=state["parents"],
            n_modes=state["n_modes"],
            br=state["br"],
            k=state["k"],
            daughters=state["daughters"],
            model=state["model"],
            model_names=np.array(state["model_names"], dtype=np.str_),
            n_params=state["n_params"],
            params=state["params"],
            dropped_ids=np.array([d for d, _ in dropped], np.int64),
            dropped_fraction=np.array([f for _, f in dropped], np.float64),
            **_pythia_lines_arrays(table.pythia_lines),
            photos=np.array(table.photos),
        )


def load_table_npz(path: Path | BinaryIO) -> DecayTable:
    """Read a table written by :func:`save_table_npz`.  ``allow_pickle=False``: a planted file
    can at worst fail to load (ValueError / KeyError / OSError), never execute code."""
    with np.load(path, allow_pickle=False) as z:
        state = {
            "parents": z["parents"].astype(np.int64),
            "n_modes": z["n_modes"].astype(np.int32),
            "br": z["br"].astype(np.float64),
            "k": z["k"].astype(np.int8),
            "daughters": z["daughters"].astype(np.int64),
            "model": z["model"].astype(np.int16),
            "model_names": [str(x) for x in z["model_names"]],
            "n_params": z["n_params"].astype(np.int16),
            "params": z["params"].astype(np.float64),
            "hooks": {},
            "dropped": dict(zip(z["dropped_ids"].tolist(), z["dropped_fraction"].tolist(), strict=True)),
            "pythia_lines": _pythia_lines_from_arrays(z),
            "photos": bool(z["photos"]),
        }
    n_modes = int(state["n_modes"].sum())
    if (
        not (len(state["br"]) == len(state["k"]) == len(state["model"]) == n_modes)
        or int(state["k"].astype(np.int64).sum()) != len(state["daughters"])
        or (n_modes and int(state["model"].max()) >= len(state["model_names"]))
        or len(state["n_params"]) != n_modes
        or int(state["n_params"].astype(np.int64).sum()) != len(state["params"])
    ):
        raise ValueError(f"{path}: inconsistent decay-table cache")
    table = DecayTable()
    table.__setstate__(state)
    return table


def _pythia_lines_arrays(lines: Mapping[int, tuple]) -> dict[str, np.ndarray]:
    rows = [(p, br, mode, ds) for p in sorted(lines) for br, mode, ds in lines[p]]
    return {
        "py_parent": np.array([r[0] for r in rows], np.int64),
        "py_br": np.array([r[1] for r in rows], np.float64),
        "py_mode": np.array([r[2] for r in rows], np.int64),
        "py_k": np.array([len(r[3]) for r in rows], np.int64),
        "py_daughters": np.array([d for r in rows for d in r[3]], np.int64),
    }


def _pythia_lines_from_arrays(z: Any) -> dict[int, tuple]:
    if "py_parent" not in z:
        raise KeyError("py_parent")  # an older cache: parsed again
    parent, br, mode, k, dau = (
        z[n].tolist() for n in ("py_parent", "py_br", "py_mode", "py_k", "py_daughters")
    )
    if not (len(parent) == len(br) == len(mode) == len(k)) or sum(k) != len(dau):
        raise ValueError("inconsistent quark-level lines in the decay-table cache")
    out: dict[int, list] = {}
    at = 0
    for p, b, m, kk in zip(parent, br, mode, k, strict=True):
        out.setdefault(int(p), []).append((float(b), int(m), tuple(int(d) for d in dau[at : at + kk])))
        at += kk
    return {p: tuple(v) for p, v in out.items()}


@functools.lru_cache(maxsize=8)
def _load_dec(path: str, mtime_ns: int, size: int, extra: tuple[tuple[str, int], ...]) -> DecayTable:
    """The parsed table, from the per-user disk cache when the same file (path, size, mtime),
    names, fastsim, decaylanguage and particle versions were parsed before (parsing takes ~2 s,
    loading the cache ~0.1 s; every worker process of a run or grid benefits).  The cache is a
    NumPy ``.npz`` of plain arrays read with ``allow_pickle=False`` (:func:`load_table_npz`), so
    a file planted in the cache directory cannot execute code; it is written atomically, and an
    unreadable or inconsistent entry is parsed again."""
    import decaylanguage
    import particle

    import fastsim

    key = repr(
        (
            path,
            mtime_ns,
            size,
            extra,
            fastsim.__version__,
            decaylanguage.__version__,
            particle.__version__,
            _CACHE_FORMAT,
        )
    )
    entry = _cache_dir() / f"dec_{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"
    try:
        return load_table_npz(entry)
    except (OSError, ValueError, KeyError, EOFError):
        pass
    table = _parse_dec_cached(path, mtime_ns, extra)
    # the table as the cache gives it back, the order of its mappings included (the parsed
    # one listed Pythia's lines in file order, the cache by parent id, and the hadronisation's
    # set-up follows that order): a run must not depend on whether the cache was warm
    buf = io.BytesIO()
    try:
        save_table_npz(table, buf)
    except ValueError:
        return table  # matrix-element hooks: not storable, parsed every time
    buf.seek(0)
    table = load_table_npz(buf)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.part")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(entry)
    except OSError:
        pass  # a read-only home: parse every time
    return table


def _parse_dec_cached(path: str, mtime_ns: int, extra: tuple[tuple[str, int], ...]) -> DecayTable:
    from decaylanguage import DecFileParser
    from particle.converters import EvtGenName2PDGIDBiMap
    from particle.pdgid import is_diquark

    del mtime_ns  # part of the cache key only
    extra_names = dict(extra)
    parser = DecFileParser(path)
    parser.parse()
    aliases = parser.dict_aliases()
    mothers = parser.list_decay_mother_names()
    known = default_table()

    @functools.cache
    def to_id(name: str) -> int | None:
        name = aliases.get(name, name)
        if name in extra_names:
            return int(extra_names[name])
        try:
            return int(EvtGenName2PDGIDBiMap[name])
        except (KeyError, ValueError, TypeError):
            return None

    @functools.cache
    def usable(pdg: int) -> bool:
        if pdg in extra_names.values():
            return True
        if abs(pdg) in _PARTON_IDS or is_diquark(pdg):
            return False
        return bool(known.knows(np.array([pdg]))[0])

    @functools.cache
    def for_pythia(pdg: int) -> bool:
        """A parton or diquark, a particle fastsim knows, or one only Pythia knows."""
        if abs(pdg) in _PARTON_IDS or is_diquark(pdg) or usable(pdg):
            return True
        return _pythia_knows(pdg)

    table = DecayTable()
    table.photos = bool(parser.global_photos_flag())
    for mother in mothers:
        if mother in aliases:  # alias-specific decay blocks are not used (module doc)
            continue
        parent = to_id(mother)
        if parent is None:
            continue
        lines = parser.build_decay_chains(mother, stable_particles=mothers)[mother]
        total = sum(float(x["bf"]) for x in lines)
        kept = []
        quark_level = []
        for line in lines:
            names = [f if isinstance(f, str) else next(iter(f)) for f in line["fs"]]
            ids = [to_id(n) for n in names]
            bf = float(line["bf"])
            if bf <= 0 or not ids or any(i is None for i in ids):
                continue
            pythia_model = str(line["model"]) == "PYTHIA"
            if all(usable(i) for i in ids):  # type: ignore[arg-type]
                # hadrons and leptons fastsim knows (a PYTHIA line of them, meMode 0, is
                # phase space in Pythia too): this engine's mode
                kept.append(DecayMode(bf, tuple(ids), str(line["model"]), None, _numeric_params(line)))  # type: ignore[arg-type]
            elif all(for_pythia(i) for i in ids):  # type: ignore[arg-type]
                # lines with partons (EvtGen's PYTHIA lines, meMode = the line's code) or with
                # states only Pythia knows (phase space, meMode 0): decayed by Pythia
                params = line.get("model_params") or [0]
                me_mode = int(float(params[0])) if pythia_model and isinstance(params[0], int | float) else 0
                quark_level.append((bf, me_mode, tuple(int(i) for i in ids)))  # type: ignore[arg-type]
        if quark_level and _pythia_knows(parent):
            table.pythia_lines[parent] = tuple(quark_level)
            kept.append(DecayMode(sum(q[0] for q in quark_level), (PYTHIA_MARK,), "PYTHIA"))
        if not kept:
            continue
        table.add(parent, kept)
        if total > 0:
            table.dropped[parent] = max(0.0, 1.0 - sum(m.br for m in kept) / total)
    return table


#: Pythia 8's meMode for a decay to a q qbar or g g pair that showers and hadronises
#: (Pythia 8 manual, "Particle Decays": meMode 91)
ME_MODE_PARTONS = 91


def add_card_particle(
    table: DecayTable, pdg: int, modes: Iterable[tuple], charge: float, mass: float
) -> None:
    """Set a card particle's modes ``(br, daughters[, model])`` on ``table``: the modes with
    quarks or gluons become quark-level lines decayed by Pythia 8 (meMode 91: shower and
    hadronisation of the pair, as EvtGen hands over PYTHIA lines), the rest stay with this
    engine, with their matrix element (``model``: a name of :mod:`fastsim.decay_models`,
    phase space by default)."""
    own: list[DecayMode | tuple] = []
    partonic = []
    for br, daughters, *model in modes:
        ids = tuple(int(i) for i in daughters)
        if any(abs(i) in _PARTON_IDS for i in ids):
            partonic.append((float(br), ME_MODE_PARTONS, ids))
        else:
            own.append(DecayMode(float(br), ids, model[0] if model else "PHSP"))
    table.remove(pdg)
    if partonic:
        table.pythia_lines[int(pdg)] = tuple(partonic)
        table.new_particles[int(pdg)] = (float(charge), float(mass))
        own.append(DecayMode(sum(x[0] for x in partonic), (PYTHIA_MARK,), "PYTHIA"))
    table.add(pdg, own)


def _numeric_params(line: Mapping[str, Any]) -> tuple[float, ...]:
    """The model parameters of a parsed DEC line as floats; () when one is not a number (a
    name decaylanguage did not resolve: the model's documented defaults apply)."""
    params = line.get("model_params") or []
    if not isinstance(params, list | tuple) or not all(isinstance(x, int | float) for x in params):
        return ()
    return tuple(float(x) for x in params)


@functools.cache
def _pythia() -> Any:
    """A Pythia 8 instance for its particle data (kept: its ParticleData lives inside it)."""
    import pythia8mc

    return pythia8mc.Pythia("", False)


def _pythia_knows(pdg: int) -> bool:
    return bool(_pythia().particleData.isParticle(int(pdg)))


def sm_decay_table() -> DecayTable:
    """Belle II's DECAY_BELLE2.DEC as shipped with decaylanguage (parsed once per process)."""
    from decaylanguage.data import basepath

    return DecayTable.from_dec_file(Path(str(basepath)) / "DECAY_BELLE2.DEC")


# ====================================================================== the engine
def decay_particles(
    mc: Collection,
    table: DecayTable,
    rng: np.random.Generator,
    particles: ParticleTable | None = None,
    stable: frozenset[int] | None = None,
    max_generations: int = 20,
    warn_unfinished: bool = True,
    spin: Collection | None = None,
) -> Collection:
    """Decay all decayable final-state particles of ``mc`` (MC_FIELDS record), recursively.

    A status-1 particle decays if ``table`` has modes for it, it is not in ``stable``
    (default :data:`DEFAULT_STABLE`) and its ctau (from ``particles``, default
    :func:`fastsim.particles.default_table`) is finite.  Per generation, vectorised:
    mode by BR (one ``searchsorted`` on a global cumulative array; closed modes redrawn),
    daughter masses (Breit-Wigner where broad), phase space in the parent rest frame
    with the stored mass ``m`` (grouped by multiplicity), boost to the lab.  Proper decay
    distance c*t ~ Exp(ctau) goes to the parent's ``lifetime`` (cm); daughters start at
    vertex + (p/m) c*t and time vt + (E/m) t (ns).  Parents get status 2 and
    daughter1/daughter2; daughters (status 1, mother1 = parent's local index) are
    appended at the end of their event, so existing local indices do not change.
    Fields other than MC_FIELDS are carried over and filled with zeros for daughters.

    Taus are decayed by the tau engine (:mod:`fastsim.tau.engine`: matrix-element channels
    from the table's ``tau-`` modes, CP images for tau+), with the spin state of ``spin``
    (a generator's ``spin`` collection, :mod:`fastsim.spin`) for the taus of the input
    record; taus made by decays decay unpolarised.  (A table whose ``tau-`` modes carry
    ``me_weight`` hooks decays taus with the generic engine and those hooks instead.)

    ``warn_unfinished=False`` silences the warning for decayable particles left after
    ``max_generations`` (for callers that limit the generations on purpose).

    Returns a new Collection (the input is not modified; it is returned as is when
    nothing decays).

    Measured (shared 2-core machine, numba already compiled, min of 5): 1e5 tau+ tau-
    events at 5.29 GeV (2e5 taus -> 1.13e6 particles, 5 generations) in 0.50 s; 1e4
    Upsilon(4S) at rest (3.7e5 particles) in 0.47 s; 1e5 D0 in 1.0 s.
    """
    particles = default_table() if particles is None else particles
    stable = DEFAULT_STABLE if stable is None else frozenset(int(s) for s in stable)
    missing = [f for f in MC_FIELDS if f not in mc.fields]
    if missing:
        msg = f"MC collection lacks fields {missing}"
        raise ValueError(msg)
    comp = table._compile()
    props = table._props(particles, stable)

    n_ev = mc.n_events
    # fast path: nothing to decay (e.g. e+e- -> mu+mu-): no copies at all
    first = np.flatnonzero(mc.fields["status"] == STATUS_FINAL)
    is_parton = np.isin(np.abs(mc.fields["id"][first]), _QUARKS)
    if not np.any(_decayable(mc.fields["id"][first], comp, props)) and not np.any(is_parton):
        return without_spin_columns(mc)
    block0 = {k: v.copy() for k, v in mc.fields.items()}
    # internal columns, dropped when the record is assembled: the helicity state handed
    # from a decay to the daughter's decay (decay_models): 1 + rho00 (0: unpolarised) and
    # the four-momentum of the particle's mother (E = 0: none).  A generator that decays a
    # particle itself may give them for the daughters it makes (e.g. ups4s_bbbar's signal B
    # -> K*0 S: the K*0 has helicity 0).
    for name in _SPIN_COLUMNS:
        if name not in block0:
            block0[name] = np.zeros(mc.n_items)
    blocks: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = [
        (block0, mc.event_index(), mc.local_index())
    ]
    count = mc.counts().astype(np.int64)
    # a table whose tau modes carry their own me_weight hooks keeps them (generic engine)
    own_tau_me = any(m.me_weight is not None for m in table.modes(TAU))
    taus = table.tau_decayer(particles) if TAU in table and not own_tau_me else None
    pythia = (lambda: table.hadronizer(stable)) if table.pythia_lines else None
    starts = [(0, first[~is_parton], spin)]
    if np.any(is_parton):  # q qbar pairs of the input: showered and fragmented first
        hadrons = _hadronize_pairs(blocks[0], first[is_parton], count, n_ev, table, stable, rng)
        blocks.append(hadrons)
        starts.append((1, np.flatnonzero(hadrons[0]["status"] == STATUS_FINAL), None))
    for start, cand, spin_in in starts:
        blocks.append(blocks[start])  # the loop works on the last block
        unfinished = _run_generations(
            blocks,
            cand,
            count,
            n_ev,
            comp,
            props,
            rng,
            particles,
            taus,
            pythia,
            spin_in,
            mc.offsets,
            max_generations,
            table.photos,
        )
        if unfinished and warn_unfinished:
            warnings.warn(
                f"decay_particles stopped after max_generations={max_generations} with decayable particles left",
                RuntimeWarning,
                stacklevel=2,
            )
    blocks = list({id(b[0]): b for b in blocks}.values())  # each block once

    # assemble: every item goes to new_offsets[event] + local index
    offsets = offsets_from_counts(count)
    out = {
        k: np.empty(int(offsets[-1]), dtype=v.dtype) for k, v in mc.fields.items() if k not in _SPIN_COLUMNS
    }
    for fields, ev, loc in blocks:
        pos = offsets[ev] + loc
        for k, arr in out.items():
            arr[pos] = fields[k]
    return Collection(out, offsets)


def without_spin_columns(mc: Collection) -> Collection:
    """``mc`` without the internal helicity columns a generator may have given (they are the
    decay stage's, never written)."""
    if not any(k in mc.fields for k in _SPIN_COLUMNS):
        return mc
    return Collection({k: v for k, v in mc.fields.items() if k not in _SPIN_COLUMNS}, mc.offsets)


def _run_generations(
    blocks: list,
    cand: np.ndarray,
    count: np.ndarray,
    n_ev: int,
    comp: _Compiled,
    props: _Props,
    rng: np.random.Generator,
    particles: ParticleTable,
    taus: Any,
    pythia: Callable[[], Any] | None,
    spin: Collection | None,
    offsets: np.ndarray,
    max_generations: int,
    fsr: bool = False,
) -> bool:
    """Decay ``cand`` (status-1 items of ``blocks[-1]``) and their daughters generation by
    generation, appending a block per generation; True when decayable particles are left."""
    for generation in range(max_generations):
        fields, ev, loc = blocks[-1]
        can = _decayable(fields["id"][cand], comp, props)
        sel = cand[can]
        orphans = cand[~can][_pythia_decays_itself(fields["id"][cand[~can]], pythia, props)]
        if len(sel) == 0 and len(orphans) == 0:
            return False
        is_tau = np.abs(fields["id"][sel]) == TAU
        parts = []
        if taus is not None and np.any(is_tau):
            tau_sel = sel[is_tau]
            sel = sel[~is_tau]
        else:
            tau_sel = sel[:0]
        if len(sel):
            new = _decay_generation(
                fields, ev, loc, sel, count, n_ev, comp, props, rng, particles.ctau_mixtures, pythia, fsr
            )
            if new is not None:
                parts.append(new)
        if len(tau_sel):
            state = _tau_spin_state(spin, offsets, tau_sel) if generation == 0 and spin is not None else {}
            parts.append(taus.decay_block(fields, ev, loc, tau_sel, count, n_ev, rng, **state))
        if len(orphans):  # hadrons the table does not decay (no DEC block): Pythia's own tables
            parts.append(_pythia_own_block(fields, ev, loc, orphans, count, n_ev, pythia(), particles, rng))
        if not parts:
            return False
        new = parts[0] if len(parts) == 1 else _concat_blocks(parts)
        blocks.append(new)
        # resonances made by the tau engine come decayed (status 2)
        cand = np.flatnonzero(new[0]["status"] == STATUS_FINAL)
    fields = blocks[-1][0]
    return bool(np.any(_decayable(fields["id"][cand], comp, props)))


def _pythia_decays_itself(ids: np.ndarray, pythia: Callable[[], Any] | None, props: _Props) -> np.ndarray:
    """Which of ``ids`` (not decayable by the table) Pythia decays with its own table."""
    out = np.zeros(len(ids), bool)
    # leptons, photons and the detector-stable hadrons never: no Pythia needed for them
    maybe = (np.abs(ids) > 100) & ~np.isin(ids, _DEFAULT_STABLE_IDS)
    if pythia is None or not np.any(maybe):
        return out
    had = pythia()
    ids = ids[maybe]
    species = np.unique(ids)
    ok = np.array([had.decays_itself(int(x)) for x in species.tolist()], bool)  # per species
    out[maybe] = ok[np.searchsorted(species, ids)]
    return out


def _pythia_own_block(
    fields: dict[str, np.ndarray],
    ev: np.ndarray,
    loc: np.ndarray,
    sel: np.ndarray,
    count: np.ndarray,
    n_ev: int,
    had: Any,
    particles: ParticleTable,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Decay the items ``sel`` with Pythia's own tables at rest (c t from ``particle``'s
    lifetime where known, else prompt); returns the daughters' block (as _decay_generation)."""
    ids = fields["id"][sel].astype(np.int64)
    M = fields["m"][sel].astype(np.float64)
    P = np.stack([fields[f][sel] for f in ("px", "py", "pz", "e")], axis=1).astype(np.float64)
    known = particles.knows(ids)
    ctau = np.zeros(len(sel))
    ctau[known] = particles.ctau(ids[known])
    ctau = np.where(np.isfinite(ctau), ctau, 0.0)
    ct = rng.standard_exponential(len(sel)) * ctau
    made = had.decay_at_rest(ids, M, rng)
    k = made.counts
    parent_of = np.repeat(np.arange(len(sel)), k)
    p4 = kinematics.boost_to_frame_of(made.p4, P[parent_of], mass=M[parent_of])
    fields["lifetime"][sel] = ct
    x4 = _parent_vertices(fields, sel, P, M, ct)[parent_of]
    return _daughters_block(fields, ev, loc, sel, k, made.id, p4, made.m, x4, count, n_ev, P[parent_of])


def _daughters_block(
    fields: dict[str, np.ndarray],
    ev: np.ndarray,
    loc: np.ndarray,
    sel: np.ndarray,
    k: np.ndarray,
    d_id: np.ndarray,
    d_p4: np.ndarray,
    d_m: np.ndarray,
    d_x4: np.ndarray,
    count: np.ndarray,
    n_ev: int,
    mother_p4: np.ndarray,
    d_pol: np.ndarray | None = None,
    mother2: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The block of the daughters of the items ``sel`` of a block (``k`` each, in order): their
    ids, lab four-momenta, masses and production points (``d_x4``: cm, cm, cm, ns), local
    indices after everything already in their event (``count`` is updated); the parents get
    status 2 and their daughter range.  ``mother_p4`` (per daughter) and ``d_pol`` feed the
    helicity hand-off of :mod:`fastsim.decay_models`; ``mother2`` (per parent) for strings."""
    parent_of_d = np.repeat(np.arange(len(sel)), k)
    dstart = offsets_from_counts(k)
    d_ev = ev[sel][parent_of_d]
    n_new = np.bincount(d_ev, minlength=n_ev)
    first_in_block = offsets_from_counts(n_new)
    order = np.argsort(d_ev, kind="stable")  # daughters of one event are contiguous, in order
    d_loc = np.empty(len(d_ev), np.int64)
    d_loc[order] = count[d_ev[order]] + (np.arange(len(d_ev)) - first_in_block[d_ev[order]])
    count += n_new
    has = k > 0
    last = max(len(d_loc) - 1, 0)
    fields["status"][sel] = STATUS_DECAYED
    fields["daughter1"][sel] = np.where(has, d_loc[np.minimum(dstart[:-1], last)], -1)
    fields["daughter2"][sel] = np.where(has, d_loc[np.clip(dstart[1:] - 1, 0, last)], -1)
    new: dict[str, np.ndarray] = {name: np.zeros(len(d_ev), dtype=arr.dtype) for name, arr in fields.items()}
    new["id"][:] = d_id
    new["status"][:] = STATUS_FINAL
    new["mother1"][:] = loc[sel][parent_of_d]
    new["mother2"][:] = -1 if mother2 is None else mother2[parent_of_d]
    new["daughter1"][:] = -1
    new["daughter2"][:] = -1
    new["px"][:], new["py"][:], new["pz"][:], new["e"][:] = d_p4.T
    new["m"][:] = d_m
    new["vx"][:], new["vy"][:], new["vz"][:], new["vt"][:] = d_x4.T
    if d_pol is not None:
        new["_pol"][:] = d_pol
    for j, name in enumerate(("_mpx", "_mpy", "_mpz", "_me")):
        new[name][:] = mother_p4[:, j]
    return new, d_ev, d_loc


def _parent_vertices(
    fields: dict[str, np.ndarray], sel: np.ndarray, P: np.ndarray, M: np.ndarray, ct: np.ndarray
) -> np.ndarray:
    """Decay points (n, 4: cm, cm, cm, ns) of the items ``sel``: vertex + (p/m) c t, time +
    (E/m) t (exponential decay law in the rest frame, PDG "Kinematics": mean lab decay length
    beta gamma c tau with beta gamma = p/m, t_lab = gamma t = (E/m) t)."""
    scale = np.divide(ct, M, out=np.zeros(len(sel)), where=M > 0)
    x4 = np.stack([fields[f][sel] for f in ("vx", "vy", "vz", "vt")], axis=1).astype(np.float64)
    x4[:, :3] += P[:, :3] * scale[:, None]
    x4[:, 3] += P[:, 3] * scale / C_CM_PER_NS
    return x4


def _hadronize_pairs(
    block: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray],
    sel: np.ndarray,
    count: np.ndarray,
    n_ev: int,
    table: DecayTable,
    stable: frozenset[int],
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Shower and fragment the status-1 quarks ``sel`` of ``block`` (one q and one qbar per
    event: a colour singlet) with Pythia 8 in the pair's rest frame; the partons get status 2,
    the hadrons (a new block, status 1, boosted to the lab, mothers q and qbar) follow them."""
    fields, ev, loc = block
    ids = fields["id"][sel]
    e_of = ev[sel]
    q_rows = sel[ids > 0]
    b_rows = sel[ids < 0]
    if not (
        np.array_equal(np.unique(e_of), e_of[ids > 0])
        and np.array_equal(e_of[ids > 0], e_of[ids < 0])
        and np.all(fields["id"][q_rows] == -fields["id"][b_rows])
    ):
        raise ValueError("parton showers need exactly one quark and its antiquark per event")
    n = len(q_rows)
    P = np.stack(
        [np.stack([fields[f][r] for f in ("px", "py", "pz", "e")], axis=1) for r in (q_rows, b_rows)], axis=1
    )
    tot = P.sum(axis=1)
    M = np.sqrt(np.maximum(tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1), 0.0))
    p_rest = kinematics.boost_to_rest_frame(P, tot, mass=M)
    had = table.hadronizer(stable)
    # the pair's momenta with Pythia's quark masses (same directions, same pair mass)
    m_q = np.array([had.parton_mass(int(abs(q))) for q in range(7)])[np.abs(fields["id"][q_rows])]
    pstar = np.sqrt(np.maximum(0.25 * M * M - m_q * m_q, 0.0))
    unit = p_rest[:, 0, :3] / np.maximum(np.linalg.norm(p_rest[:, 0, :3], axis=1), 1e-300)[:, None]
    p_rest[:, 0, :3] = unit * pstar[:, None]
    p_rest[:, 1, :3] = -unit * pstar[:, None]
    p_rest[:, :, 3] = 0.5 * M[:, None]
    out = had.hadronize_pairs(np.abs(fields["id"][q_rows]), p_rest, rng)
    k = out.counts
    parent_of = np.repeat(np.arange(n), k)
    p4 = kinematics.boost_to_frame_of(out.p4, tot[parent_of], mass=M[parent_of])
    x4 = kinematics.boost_to_frame_of(
        out.x4 * np.array([1.0, 1.0, 1.0, C_CM_PER_NS]), tot[parent_of], mass=M[parent_of]
    )
    x4 = x4 / np.array([1.0, 1.0, 1.0, C_CM_PER_NS])  # back to ns
    base = np.stack([fields[f][q_rows] for f in ("vx", "vy", "vz", "vt")], axis=1)[parent_of]
    fields["status"][b_rows] = STATUS_DECAYED
    new, d_ev, d_loc = _daughters_block(
        fields,
        ev,
        loc,
        q_rows,
        k,
        out.id,
        p4,
        out.m,
        base + x4,
        count,
        n_ev,
        np.zeros((len(out.id), 4)),
        mother2=loc[b_rows],
    )
    fields["daughter1"][b_rows] = fields["daughter1"][q_rows]
    fields["daughter2"][b_rows] = fields["daughter2"][q_rows]
    return new, d_ev, d_loc


def _concat_blocks(parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]) -> tuple:
    """One block from several of the same generation, its items grouped by event (the next
    generation's local indices assume that)."""
    ev = np.concatenate([p[1] for p in parts])
    order = np.argsort(ev, kind="stable")
    fields = {k: np.concatenate([p[0][k] for p in parts])[order] for k in parts[0][0]}
    return fields, ev[order], np.concatenate([p[2] for p in parts])[order]


def _tau_spin_state(spin: Collection, offsets: np.ndarray, tau_sel: np.ndarray) -> dict[str, np.ndarray]:
    """Per tau of ``tau_sel`` (global positions in the input record): its polarisation and, for
    the tau 1 of a pair whose partner decays too, the partner's position in ``tau_sel``, C and
    the partner's polarisation (the keyword arguments of ``TauDecayer.decay_block``)."""
    f = spin.fields
    n = len(tau_sel)
    ev = np.repeat(np.arange(len(spin.offsets) - 1), np.diff(spin.offsets))
    g1 = offsets[ev] + f["i1"]
    has2 = f["i2"] >= 0
    g2 = np.where(has2, offsets[ev] + f["i2"], -1)
    P1 = np.stack([f["p1x"], f["p1y"], f["p1z"]], axis=1)
    P2 = np.stack([f["p2x"], f["p2y"], f["p2z"]], axis=1)
    C = np.stack([f[f"c{a}{b}"] for a in "xyz" for b in "xyz"], axis=1).reshape(-1, 3, 3)
    order = np.argsort(tau_sel)
    srt = tau_sel[order]

    def find(g: np.ndarray) -> np.ndarray:
        i = np.minimum(np.searchsorted(srt, g), max(n - 1, 0))
        return np.where((n > 0) & (srt[i] == g), order[i], -1)

    j1 = find(g1)
    j2 = np.where(has2, find(np.maximum(g2, 0)), -1)
    pol = np.zeros((n, 3))
    partner = np.full(n, -1, np.int64)
    corr = np.zeros((n, 3, 3))
    partner_pol = np.zeros((n, 3))
    ok1 = j1 >= 0
    pol[j1[ok1]] = P1[ok1]
    ok2 = j2 >= 0
    pol[j2[ok2]] = P2[ok2]
    pair = ok1 & ok2
    partner[j1[pair]] = j2[pair]
    corr[j1[pair]] = C[pair]
    partner_pol[j1[pair]] = P2[pair]
    return {"pol": pol, "partner": partner, "corr": corr, "partner_pol": partner_pol}


def _decayable(ids: np.ndarray, comp: _Compiled, props: _Props) -> np.ndarray:
    if len(comp.parents) == 0:
        return np.zeros(len(ids), bool)
    pidx = np.minimum(np.searchsorted(comp.parents, ids), len(comp.parents) - 1)
    return (comp.parents[pidx] == ids) & props.parent_decays[pidx]


def _choose_modes(pidx: np.ndarray, M: np.ndarray, comp: _Compiled, props: _Props, rng: np.random.Generator):
    """Mode index per parent (-1: no open mode).  BR-weighted among the modes open at M."""
    n = len(pidx)
    lo_mode = comp.first[pidx]
    hi_mode = comp.first[pidx + 1] - 1
    mode = np.empty(n, np.int64)
    todo = np.arange(n)
    for _ in range(20):  # rejection of closed modes == BR renormalised over open modes
        x = pidx[todo] + rng.random(len(todo))
        m = np.clip(np.searchsorted(comp.cum, x, side="right"), lo_mode[todo], hi_mode[todo])
        mode[todo] = m
        todo = todo[M[todo] < props.thr[m]]
        if len(todo) == 0:
            return mode
    # few parents near thresholds: explicit choice among the open modes, per species
    for p in np.unique(pidx[todo]).tolist():
        rows = todo[pidx[todo] == p]
        a, b = comp.first[p], comp.first[p + 1]
        w = comp.br[a:b][None, :] * (M[rows][:, None] >= props.thr[a:b][None, :])
        cw = np.cumsum(w, axis=1)
        tot = cw[:, -1]
        u = rng.random(len(rows)) * tot
        choice = a + np.minimum((cw <= u[:, None]).sum(axis=1), b - a - 1)
        mode[rows] = np.where(tot > 0, choice, -1)
    return mode


def _decay_generation(
    fields: dict[str, np.ndarray],
    ev: np.ndarray,
    loc: np.ndarray,
    sel: np.ndarray,
    count: np.ndarray,
    n_ev: int,
    comp: _Compiled,
    props: _Props,
    rng: np.random.Generator,
    mixtures: dict[int, np.ndarray] | None = None,
    pythia: Callable[[], Any] | None = None,
    fsr: bool = False,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None:
    """Decay the items ``sel`` of a block (updated in place); return the daughters' block.

    ``mixtures`` (pdg -> c*tau values): those species draw c*t from an equal-weight
    mixture of exponentials (see :func:`mixture_weights`).  ``pythia``: returns the
    :class:`fastsim.hadronization.Hadronizer` that decays the parents whose mode is their
    ``PYTHIA`` mode."""
    ids = fields["id"][sel].astype(np.int64)
    pidx = np.searchsorted(comp.parents, ids)
    M = fields["m"][sel].astype(np.float64)
    mode = _choose_modes(pidx, M, comp, props, rng)
    ok = mode >= 0
    sel, pidx, M, mode = sel[ok], pidx[ok], M[ok], mode[ok]
    n = len(sel)
    if n == 0:
        return None
    P = np.stack([fields[f][sel] for f in ("px", "py", "pz", "e")], axis=1).astype(np.float64)
    ct = rng.standard_exponential(n) * props.parent_ctau[pidx]  # proper decay distance, cm
    for pdg, comps in (mixtures or {}).items():
        rows = np.flatnonzero(ids[ok] == pdg)
        if len(rows):
            ct[rows] = rng.standard_exponential(len(rows)) * comps[rng.integers(len(comps), size=len(rows))]
    preset = fields["lifetime"][sel] > 0  # decay length fixed upstream (module doc)
    ct[preset] = fields["lifetime"][sel][preset]

    pol = np.where(fields["_pol"][sel] > 0, fields["_pol"][sel] - 1.0, np.nan)
    mother_p4 = np.stack([fields[f][sel] for f in ("_mpx", "_mpy", "_mpz", "_me")], axis=1)
    mother_p4[mother_p4[:, 3] <= 0] = np.nan
    k = comp.k[mode].copy()
    by_pythia = (k == 1) & (comp.dau[mode, 0] == PYTHIA_MARK)
    if np.any(by_pythia):
        if pythia is None:
            raise RuntimeError("a PYTHIA mode without quark-level lines")
        rows_py = np.flatnonzero(by_pythia)
        made = pythia().decay_at_rest(ids[ok][rows_py], M[rows_py], rng)
        k[rows_py] = made.counts
    # kinematics per multiplicity first: a decay photon (FSR) adds a daughter
    groups = []
    k_born = k.copy()  # k grows by the photons below
    for kk in np.unique(k_born[~by_pythia]).tolist():  # loop over multiplicities
        rows = np.flatnonzero((k_born == kk) & ~by_pythia)
        dau = comp.dau[mode[rows], :kk]
        if kk == 1:  # relabelling (K0 -> K_S0): same four-momentum and mass
            groups.append((rows, dau, P[rows][:, None], M[rows][:, None], np.zeros((len(rows), 1)), None))
            continue
        masses, p4, rho = _phase_space_with_masses(
            M[rows], P[rows], mode[rows], dau, comp, props, rng, pol[rows], mother_p4[rows]
        )
        photon = _fsr_in_decays(p4, P[rows], M[rows], props.dau_charge[mode[rows], :kk], rng) if fsr else None
        if photon is not None:
            k[rows] += photon[:, 3] > 0
        groups.append((rows, dau, p4, masses, np.where(np.isfinite(rho), 1.0 + rho, 0.0), photon))
    dstart = offsets_from_counts(k)
    n_d = int(dstart[-1])
    d_id = np.empty(n_d, np.int64)
    d_p4 = np.empty((n_d, 4))
    d_m = np.empty(n_d)
    d_pol = np.zeros(n_d)
    if np.any(by_pythia):  # Pythia's products, at rest -> the lab
        pos = dstart[rows_py].repeat(made.counts) + (
            np.arange(len(made.id)) - np.repeat(made.offsets[:-1], made.counts)
        )
        d_id[pos] = made.id
        parent_of = np.repeat(rows_py, made.counts)
        d_p4[pos] = kinematics.boost_to_frame_of(made.p4, P[parent_of], mass=M[parent_of])
        d_m[pos] = made.m
    for rows, dau, p4, masses, dpol, photon in groups:
        kk = dau.shape[1]
        pos = (dstart[rows][:, None] + np.arange(kk)[None, :]).reshape(-1)
        d_id[pos] = dau.reshape(-1)
        d_p4[pos] = p4.reshape(-1, 4)
        d_m[pos] = masses.reshape(-1)
        d_pol[pos] = dpol.reshape(-1)
        if photon is not None:  # the photon after the decay's own daughters
            g = np.flatnonzero(photon[:, 3] > 0)
            at = dstart[rows[g]] + kk
            d_id[at] = PHOTON
            d_p4[at] = photon[g]
            d_m[at] = 0.0

    fields["lifetime"][sel] = ct
    parent_of_d = np.repeat(np.arange(n), k)
    x4 = _parent_vertices(fields, sel, P, M, ct)[parent_of_d]
    return _daughters_block(
        fields, ev, loc, sel, k, d_id, d_p4, d_m, x4, count, n_ev, P[parent_of_d], d_pol=d_pol
    )


def _phase_space_with_masses(
    M: np.ndarray,
    P: np.ndarray,
    mode: np.ndarray,
    dau: np.ndarray,
    comp: _Compiled,
    props: _Props,
    rng: np.random.Generator,
    pol: np.ndarray | None = None,
    mother_p4: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daughter masses (n, k), lab four-momenta (n, k, 4) and helicity states rho00 (n, k; NaN:
    unpolarised) for n parents with the same multiplicity: masses ~ Breit-Wigner x
    phase-space volume, momenta flat in phase space times the modes' me_weight or their
    model's weight (:mod:`fastsim.decay_models`, with the parents' rho00 ``pol`` and their
    mothers' four-momenta ``mother_p4``), by accept-reject in vectorised rounds."""
    n, kk = dau.shape
    sp = np.searchsorted(props.species, dau)
    lo = props.lo[sp]
    broad = props.broad[sp]
    m0 = props.m0[sp]
    gam = props.gamma[sp]
    # upper limits: window, and room left by the other daughters at their lowest masses
    hi = np.minimum(props.hi[sp], M[:, None] - (lo.sum(axis=1)[:, None] - lo))
    modes_here = np.unique(mode).tolist()
    hooked = [h for h in modes_here if h in comp.hooks]
    if pol is None:
        pol = np.full(n, np.nan)
    # a spin-1 parent without a helicity state decays isotropically whatever the model: the
    # models that would only shape its angle (and give no daughter a state) are skipped
    unpolarised = (
        _rows_by_value(mode)
        if any(comp.models.get(h, ("",))[0] in _FLAT_IF_UNPOLARISED for h in modes_here)
        else {}
    )
    modelled = [
        h
        for h in modes_here
        if h in comp.models
        and not (comp.models[h][0] in _FLAT_IF_UNPOLARISED and np.all(np.isnan(pol[unpolarised[h]])))
    ]
    if mother_p4 is None:
        mother_p4 = np.full((n, 4), np.nan)
    any_broad = bool(broad.any())
    out_m = lo.copy()
    out_p4 = np.empty((n, kk, 4))
    out_rho = np.full((n, kk), np.nan)
    pending = np.arange(n)
    mult = 1
    for _ in range(_MAX_ROUNDS):
        idx = np.repeat(pending, mult)
        lo_i, M_i = lo[idx], M[idx]
        masses = lo_i.copy()
        fits = None
        if any_broad:
            b = broad[idx]
            masses[b] = kinematics.sample_breit_wigner(m0[idx][b], gam[idx][b], lo_i[b], hi[idx][b], rng)
            fits = masses.sum(axis=1) <= M_i
            masses[~fits] = lo_i[~fits]
        p4, a = kinematics.n_body_phase_space_weighted(M_i, masses, rng, m_min=lo_i)
        if fits is not None:
            a[~fits] = 0.0
        rho = np.full((len(idx), kk), np.nan)
        if hooked or modelled:  # the hooks and models see lab-frame momenta
            P_i = P[idx]
            p4 = kinematics.boost_to_frame_of(p4, P_i, mass=M_i)
            rows_of = _rows_by_value(mode[idx])
            for h in hooked:
                r = rows_of.get(h)
                if r is not None:
                    a[r] *= np.clip(np.asarray(comp.hooks[h](P_i[r], p4[r]), dtype=np.float64), 0.0, 1.0)
            if modelled:
                pol_i, mp_i = pol[idx], mother_p4[idx]
            for h in modelled:
                r = rows_of.get(h)
                if r is not None:
                    name, params, parent = comp.models[h]
                    w, rho[r] = decay_models.model_weight(
                        name, params, parent, comp.dau_tuples[h], P_i[r], p4[r], pol_i[r], mp_i[r]
                    )
                    a[r] *= np.clip(np.nan_to_num(w, nan=0.0), 0.0, 1.0)
        acc = rng.random(len(idx)) < a
        acc2 = acc.reshape(len(pending), mult)
        has = acc2.any(axis=1)
        rows = np.flatnonzero(has)
        pick = rows * mult + np.argmax(acc2[rows], axis=1)
        out_m[pending[rows]] = masses[pick]
        out_p4[pending[rows]] = p4[pick]
        out_rho[pending[rows]] = rho[pick]
        pending = pending[~has]
        if len(pending) == 0:
            if not (hooked or modelled):
                out_p4 = kinematics.boost_to_frame_of(out_p4, P, mass=M)
            return out_m, out_p4, out_rho
        mult = kinematics.next_multiplicity(int(acc.sum()), len(acc), len(pending) * kk)
    msg = f"decay kinematics did not converge for modes {np.unique(mode[pending]).tolist()} (me_weight always 0?)"
    raise RuntimeError(msg)


def _fsr_in_decays(
    p4: np.ndarray, P: np.ndarray, M: np.ndarray, charges: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """PHOTOS-style O(alpha) radiation in decays with charged products (EvtGen runs PHOTOS on
    every decay when the DEC file says ``yesPhotos``, as DECAY_BELLE2.DEC does): the kernel of
    :mod:`fastsim.tau.radiation` in each parent's rest frame (its charge does not enter at
    rest), photons above :data:`FSR_CUTOFF` x M / 2, the products recoiling as one system;
    decays with a crude emission probability above 0.7 (many charged products) keep their
    Born kinematics.  ``p4`` (n, k, 4) lab momenta are updated in place where a photon is
    emitted; returns the photons' lab four-momenta (n, 4; zero rows: none), or None."""
    from fastsim.tau.radiation import N_UNIFORMS, radiate_any

    charged = np.flatnonzero(np.any(charges != 0, axis=1))
    if len(charged) == 0:
        return None
    rest = kinematics.boost_to_rest_frame(p4[charged], P[charged], mass=M[charged])
    u = rng.random((len(charged), N_UNIFORMS))
    q = np.rint(charges[charged]).astype(np.int64)
    code = ((q + 2) * (5 ** np.arange(q.shape[1]))[None, :]).sum(axis=1)  # one call per pattern
    new = rest.copy()
    photon_rest = np.zeros((len(charged), 4))
    for rows in _rows_by_value(code).values():
        new[rows], photon_rest[rows] = radiate_any(
            rest[rows], q[rows[0]], M[charged][rows], u[rows], FSR_CUTOFF
        )
    emitted = photon_rest[:, 3] > 0
    out = np.zeros((len(P), 4))
    if np.any(emitted):
        e = charged[emitted]
        p4[e] = kinematics.boost_to_frame_of(new[emitted], P[e], mass=M[e])
        out[e] = kinematics.boost_to_frame_of(photon_rest[emitted], P[e], mass=M[e])
    return out


def _rows_by_value(x: np.ndarray) -> dict[int, np.ndarray]:
    """Positions of each distinct value of ``x`` (one sort instead of a scan per value)."""
    order = np.argsort(x, kind="stable")
    vals, starts = np.unique(x[order], return_index=True)
    ends = np.append(starts[1:], len(x))
    return {int(v): order[a:b] for v, a, b in zip(vals.tolist(), starts.tolist(), ends.tolist(), strict=True)}


def mixture_weights(ct: np.ndarray, ctau: float, mixture: np.ndarray) -> np.ndarray:
    """Weights taking proper decay lengths ``ct`` (cm) drawn from an equal-weight mixture
    of exponentials with c*tau values ``mixture`` to the exponential law with ``ctau``:
    w = f_ctau(ct) / g(ct), f_c(x) = exp(-x/c)/c, g = mean over the mixture (importance
    sampling; for a single component this is (c0/c) exp(-x (1/c - 1/c0))).
    """
    ct = np.asarray(ct, dtype=np.float64)[..., None]
    comps = np.asarray(mixture, dtype=np.float64)
    g = np.mean(np.exp(-ct / comps) / comps, axis=-1)
    return np.exp(-ct[..., 0] / ctau) / ctau / g
