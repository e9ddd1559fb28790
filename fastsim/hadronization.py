"""Pythia 8 as fastsim's parton shower, string fragmentation and quark-level decays.

One service, two uses, as Belle II's chain has them (``../shared/reference/bphysics.md``
sec. 3.3-3.4):

- :meth:`Hadronizer.hadronize_pairs`: a q qbar pair from fastsim's own generator (``ee_qqbar``:
  ISR, beam spread, crossing angle done by fastsim), given in its rest frame, is showered
  (QCD + QED final-state radiation) and fragmented with the Belle II tune
  (:data:`BELLE2_TUNE`, basf2 ``pythia_belle2.dat``).  basf2's Fragmentation module appends
  the partons with ``ProcessLevel:all = off`` and calls ``forceTimeShower``; here the pairs
  reach Pythia through a Les Houches interface (:class:`_Feed`, e+e- -> gamma*/Z -> q qbar
  at the pair's mass, incoming beams without PDFs and ISR off), which lets
  ``Pythia.nextBatch`` return a whole chunk at once as arrays (reading a Pythia event
  particle by particle from Python costs more than generating it).
- :meth:`Hadronizer.decay_at_rest`: the quark-level (``PYTHIA``) lines of an EvtGen DEC
  file, handed over as EvtGen does (EvtPythiaEngine): every such line of a parent becomes a
  Pythia channel ``<id>:addChannel = 1 <BF> <meMode> <daughters>`` (meMode = the line's
  code, a Pythia 8 code for DECAY_BELLE2.DEC, no conversion as basf2 since release-06), the
  parent is put at rest and Pythia picks one of them by its BF, decays it, showers
  (meMode 91) and fragments the partons.

In both uses Pythia's own decays are switched off for every particle fastsim's decay table
covers and for the particles fastsim's detector takes as stable (``no_decay``): those come
back as final particles and fastsim's decay engine decays them with the DEC file's
branching fractions, as basf2 leaves them to EvtGen.  Hadrons the DEC file does not cover
are decayed by Pythia with its own tables.

Reproducibility: Pythia's random generator is re-seeded (``Random:seed`` via
``Rndm.init``) from the caller's numpy generator before each batch, so a chunk's output
depends only on its own stream.  Failed events (Pythia's ``next`` returning false: rare)
are redone with a fresh seed; a batch that keeps failing raises ``RuntimeError``.

Units: GeV for momenta and masses (Pythia's units); Pythia's production vertices (mm, mm/c)
are returned in cm and ns.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fastsim.constants import C_CM_PER_NS

__all__ = ["BELLE2_TUNE", "PARTON_IDS", "HadronBlock", "Hadronizer"]

#: basf2 ``data/generators/modules/fragmentation/pythia_belle2.dat`` (bphysics.md sec. 3.4):
#: string flavour and z parameters, stop mass, multiplicities of quark-level decays
#: (also EvtGen's EvtPythiaEngine defaults), FSR in decays and QED radiation off quarks.
BELLE2_TUNE: tuple[str, ...] = (
    "StringFlav:etaSup = 0.27",
    "StringFlav:etaPrimeSup = 0.12",
    "StringFragmentation:stopMass = 0.3",
    "StringZ:aLund = 0.32",
    "StringZ:bLund = 0.62",
    "StringZ:usePetersonC = off",
    "StringZ:usePetersonB = off",
    "StringZ:usePetersonH = off",
    "StringZ:rFactC = 1.0",
    "ParticleDecays:multIncrease = 4.5",
    "ParticleDecays:multIncreaseWeak = 2.0",
    "ParticleDecays:FSRinDecays = on",
    "TimeShower:QEDshowerByQ = on",
)

#: quarks, gluon, diquarks and Pythia's special codes: never a final particle
PARTON_IDS = frozenset(range(1, 9)) | {21} | frozenset(range(81, 101))

_MM_TO_CM = 0.1
_BEAM_E = 10.0  # GeV per Les Houches beam: above half of any parent mass handed over
_MAX_RETRIES = 20


@dataclass
class HadronBlock:
    """Final particles of n events, flat: ``offsets`` (n + 1,), and per particle ``id``,
    ``p4`` (m, 4) GeV in the frame the partons were given in, ``m`` GeV, ``x4`` (m, 4)
    production vertex (cm, cm, cm, ns) relative to the hard vertex, same frame."""

    offsets: np.ndarray
    id: np.ndarray
    p4: np.ndarray
    m: np.ndarray
    x4: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def _import_pythia():
    import pythia8mc

    return pythia8mc


@functools.cache
def _feed_class() -> type:
    """The Les Houches feed class (defined on first use: it subclasses a pythia8mc type)."""
    py8 = _import_pythia()

    class _Feed(py8.LHAup):
        """Serves the next batch of events to Pythia from arrays: either q qbar pairs in their
        rest frame (``pairs``) or single particles at rest (``rest``)."""

        def __init__(self) -> None:
            super().__init__(3)
            self.kind = "pairs"
            self.i = 0
            self.rows: list[list[float]] = []

        def load(self, kind: str, arrays: dict[str, np.ndarray]) -> None:
            """The next batch: per event one list of Python numbers (converted once, in bulk)."""
            self.kind = kind
            self.i = 0
            if kind == "pairs":
                p = arrays["p"]
                M = p[:, 0, 3] + p[:, 1, 3]
                cols = [arrays["q"].astype(np.float64), M, arrays["m_q"], *p[:, 0].T, *p[:, 1, :3].T]
            else:
                cols = [arrays["ids"].astype(np.float64), arrays["mass"]]
            self.rows = np.column_stack(cols).tolist()

        def setInit(self) -> bool:
            self.setBeamA(11, _BEAM_E)
            self.setBeamB(-11, _BEAM_E)
            self.setStrategy(3)
            self.addProcess(1, 1.0, 0.0, 1.0)
            return True

        def setEvent(self, id_proc: int = 0) -> bool:
            row = self.rows[self.i]
            self.i += 1
            M = row[1]
            e = 0.5 * M
            self.setProcess(1, 1.0, M, 1.0 / 137.036, 0.2)
            self.addParticle(11, -1, 0, 0, 0, 0, 0.0, 0.0, e, e, 0.0, 0.0, 9.0)
            self.addParticle(-11, -1, 0, 0, 0, 0, 0.0, 0.0, -e, e, 0.0, 0.0, 9.0)
            if self.kind == "pairs":
                q = int(row[0])
                _, _, m, px, py, pz, eq, bx, by, bz = row
                self.addParticle(23, 2, 1, 2, 0, 0, 0.0, 0.0, 0.0, M, M, 0.0, 9.0)
                self.addParticle(q, 1, 3, 3, 101, 0, px, py, pz, eq, m, 0.0, 9.0)
                self.addParticle(-q, 1, 3, 3, 0, 101, bx, by, bz, M - eq, m, 0.0, 9.0)
            else:
                self.addParticle(int(row[0]), 1, 1, 2, 0, 0, 0.0, 0.0, 0.0, M, M, 0.0, 9.0)
            return True

    return _Feed


class Hadronizer:
    """A Pythia 8 instance set up for fastsim (see the module docstring).

    ``no_decay``: ids (and their antiparticles) Pythia must leave undecayed;
    ``channels``: parent id -> its quark-level lines (BF, meMode, daughter ids), the
    channels :meth:`decay_at_rest` decays those parents with (antiparticles by charge
    conjugation, as Pythia does); ``settings``: Pythia settings on top of
    :data:`BELLE2_TUNE`.
    """

    def __init__(
        self,
        no_decay: Iterable[int] = (),
        channels: Mapping[int, Sequence[tuple[float, int, tuple[int, ...]]]] | None = None,
        settings: Sequence[str] = (),
        new_particles: Mapping[int, tuple[float, float]] | None = None,
    ) -> None:
        py8 = _import_pythia()
        self._py8 = py8
        self.pythia = py8.Pythia("", False)
        base = [
            "Beams:frameType = 5",
            "PDF:lepton = off",
            "PartonLevel:ISR = off",
            "PartonLevel:MPI = off",
            "Check:event = off",
            "Print:quiet = on",
            "Print:errors = off",
            "Next:numberCount = 0",
            "Random:setSeed = on",
        ]
        for s in (*base, *BELLE2_TUNE, *settings):
            if not self.pythia.readString(s):
                raise ValueError(f"Pythia 8 rejected the setting {s!r}")
        pd = self.pythia.particleData
        for pid, (charge, mass) in (new_particles or {}).items():
            # a new state for Pythia's particle data: spin type 1 (its decays at rest are
            # isotropic whatever the spin), charge type 3 x charge, colour singlet, the card's mass
            s = f"{abs(int(pid))}:new = fastsim_{abs(int(pid))} void 1 {round(3 * charge)} 0 {mass:.9g} 0 {mass:.9g} {mass:.9g} 0"
            if not pd.isParticle(abs(int(pid))) and not self.pythia.readString(s):
                raise ValueError(f"Pythia 8 rejected the particle {s!r}")
        self.channels = {int(k): tuple(v) for k, v in (channels or {}).items()}
        for pid in self.channels:
            if not pd.isParticle(abs(pid)):
                raise ValueError(f"Pythia 8 does not know particle {pid}")
        for pid, lines in self.channels.items():
            for j, (br, me_mode, daughters) in enumerate(lines):
                verb = "oneChannel" if j == 0 else "addChannel"
                ds = " ".join(str(int(d)) for d in daughters)
                s = f"{abs(pid)}:{verb} = 1 {float(br):.10g} {int(me_mode)} {ds}"
                if pid < 0:  # only an antiparticle block: give Pythia the conjugate channel
                    ds = " ".join(str(-int(d) if pd.hasAnti(abs(int(d))) else int(d)) for d in daughters)
                    s = f"{abs(pid)}:{verb} = 1 {float(br):.10g} {int(me_mode)} {ds}"
                if not self.pythia.readString(s):
                    raise ValueError(f"Pythia 8 rejected the channel {s!r}")
        self.no_decay = sorted({abs(int(i)) for i in no_decay} | {abs(p) for p in self.channels})
        self._no_decay_set = set(self.no_decay)
        self._decaying: set[int] = set()
        for pid in self.no_decay:
            if pd.isParticle(pid):
                pd.mayDecay(pid, False)
        self.feed = _feed_class()()
        self.pythia.setLHAupPtr(self.feed)
        if not self.pythia.init():
            raise RuntimeError("Pythia 8 initialisation failed")

    def parton_mass(self, q: int) -> float:
        """Pythia's (constituent) mass of quark ``q`` (GeV): what its shower expects."""
        return float(self.pythia.particleData.m0(abs(int(q))))

    def knows(self, pid: int) -> bool:
        return bool(self.pythia.particleData.isParticle(abs(int(pid))))

    @functools.cache  # noqa: B019  (one instance per decay table and process)
    def decays_itself(self, pid: int) -> bool:
        """A particle fastsim's table has no modes for (not in ``no_decay``) that Pythia decays
        with its own table: :meth:`decay_at_rest` takes it too (e.g. Omega_c0, which
        DECAY_BELLE2.DEC does not decay)."""
        a = abs(int(pid))
        pd = self.pythia.particleData
        return (
            a not in self.no_decay
            and bool(pd.isParticle(a))
            and pd.particleDataEntryPtr(a).sizeChannels() > 0
        )

    # ------------------------------------------------------------------ the two uses
    def hadronize_pairs(self, q: np.ndarray, p: np.ndarray, rng: np.random.Generator) -> HadronBlock:
        """Shower and fragment n pairs q (id ``q`` > 0, ``p[:, 0]``) and qbar (``p[:, 1]``),
        four-momenta (n, 2, 4) in the pair's rest frame with the masses of
        :meth:`parton_mass`.  Returns the final particles in the same frame."""
        self._allow_decays(())
        q = np.asarray(q, np.int64)
        m_q = np.array([self.parton_mass(x) for x in range(9)])[np.abs(q)]
        return self._run("pairs", {"q": q, "p": np.asarray(p, np.float64), "m_q": m_q}, len(q), rng)

    def decay_at_rest(self, ids: np.ndarray, mass: np.ndarray, rng: np.random.Generator) -> HadronBlock:
        """Decay n particles ``ids`` of masses ``mass`` (GeV) at rest through their quark-level
        channels; every id must be a parent of ``channels`` (or its antiparticle)."""
        ids = np.asarray(ids, np.int64)
        mass = np.asarray(mass, np.float64)
        species = sorted({abs(int(i)) for i in np.unique(ids)})
        known = {abs(p) for p in self.channels}
        unknown = [s for s in species if s not in known and not self.decays_itself(s)]
        if unknown:
            raise ValueError(f"no quark-level channels for {unknown}")
        # one species at a time: a fragment that is itself a parent with quark-level lines
        # (a Lambda_c from a B) must come back undecayed, for fastsim's decay table
        order = np.argsort(np.abs(ids), kind="stable")
        blocks, rows = [], []
        for s in species:
            r = order[np.abs(ids[order]) == s]
            self._allow_decays((s,))
            blocks.append(self._run("rest", {"ids": ids[r], "mass": mass[r]}, len(r), rng))
            rows.append(r)
        self._allow_decays(())
        return _reorder(blocks, rows, len(ids))

    # ------------------------------------------------------------------ internals
    def _allow_decays(self, species: Iterable[int]) -> None:
        """Let Pythia decay ``species`` (and, as at set-up, what it decays with its own
        tables); the species of an earlier call go back to their set-up state: not decayed
        if fastsim's table covers them (``no_decay``), decayed by Pythia otherwise -- so that
        a call never changes what later calls do (results independent of a process's history)."""
        want = set(species)
        pd = self.pythia.particleData
        for s in self._decaying - want:
            pd.mayDecay(s, s not in self._no_decay_set)
        for s in want - self._decaying:
            pd.mayDecay(s, True)
        self._decaying = want

    def _run(self, kind: str, arrays: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> HadronBlock:
        todo = np.arange(n)
        parts: list[HadronBlock] = []
        rows: list[np.ndarray] = []
        for _ in range(_MAX_RETRIES):
            if len(todo) == 0:
                break
            self.feed.load(kind, {k: v[todo] for k, v in arrays.items()})
            self.pythia.rndm.init(int(rng.integers(1, 900_000_000)))
            batch = self.pythia.nextBatch(len(todo), "none")
            block, ok = _block_from_batch(batch, len(todo))
            parts.append(_select(block, ok))
            rows.append(todo[ok])
            todo = todo[~ok]
        if len(todo):
            raise RuntimeError(f"Pythia 8 failed {len(todo)} of {n} events {_MAX_RETRIES} times")
        return _reorder(parts, rows, n)


def _block_from_batch(batch: object, n: int) -> tuple[HadronBlock, np.ndarray]:
    """Final particles of a ``nextBatch`` result as a flat block, and which events are whole
    (no parton left, as many events as asked)."""
    import awkward as ak

    if len(batch) != n:  # type: ignore[arg-type]
        raise RuntimeError(f"Pythia 8 returned {len(batch)} events for {n}")  # type: ignore[arg-type]
    if "prt" not in ak.fields(batch):  # every event failed
        z = np.zeros(0)
        return HadronBlock(
            np.zeros(n + 1, np.int64), z.astype(np.int64), z.reshape(0, 4), z, z.reshape(0, 4)
        ), np.zeros(n, bool)
    prt = batch["prt"]  # type: ignore[index]
    failed = np.asarray(ak.is_none(prt, axis=0))  # errorMode "none": a failed event is None
    fin = ak.fill_none(prt[prt.status > 0], [], axis=0)
    counts = np.asarray(ak.fill_none(ak.num(fin, axis=1), 0), np.int64)
    pid = np.asarray(ak.flatten(fin.id), np.int64)
    p4 = np.stack([np.asarray(ak.flatten(fin.p[c]), np.float64) for c in ("px", "py", "pz", "e")], axis=1)
    # production vertices: missing (None) where Pythia set none (fragmentation at the origin)
    x4 = np.stack(
        [
            np.asarray(ak.fill_none(ak.flatten(fin.vProd[c]), 0.0), np.float64)
            for c in ("px", "py", "pz", "e")
        ],
        axis=1,
    )
    x4 *= _MM_TO_CM
    x4[:, 3] /= C_CM_PER_NS  # Pythia's t in mm/c -> ns
    m = np.asarray(ak.flatten(fin.m), np.float64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    ev = np.repeat(np.arange(n), counts)
    a = np.abs(pid)
    diquark = (a > 1000) & (a < 10000) & ((a // 10) % 10 == 0)  # PDG numbering: 2101, 3303 ...
    bad = np.zeros(n, bool)
    bad[ev[np.isin(a, list(PARTON_IDS)) | diquark]] = True  # fragmentation did not finish
    bad |= (counts == 0) | failed
    return HadronBlock(offsets, pid, p4, m, x4), ~bad


def _select(block: HadronBlock, keep: np.ndarray) -> HadronBlock:
    counts = block.counts
    ev = np.repeat(np.arange(len(counts)), counts)
    sel = keep[ev]
    c = counts[keep]
    return HadronBlock(
        np.concatenate([[0], np.cumsum(c)]), block.id[sel], block.p4[sel], block.m[sel], block.x4[sel]
    )


def _reorder(blocks: list[HadronBlock], rows: list[np.ndarray], n: int) -> HadronBlock:
    """Blocks for the event numbers ``rows`` (one array per block) -> one block in event order."""
    if len(blocks) == 1 and np.array_equal(rows[0], np.arange(n)):
        return blocks[0]
    event = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    counts_in = np.concatenate([b.counts for b in blocks]) if blocks else np.zeros(0, np.int64)
    counts = np.zeros(n, np.int64)
    counts[event] = counts_in
    offsets = np.concatenate([[0], np.cumsum(counts)])
    # position of every particle: its event's new offset + rank within the event
    ev_of = np.repeat(event, counts_in)
    start_in = np.repeat(np.concatenate([[0], np.cumsum(counts_in)])[:-1], counts_in)
    rank = np.arange(len(ev_of)) - start_in
    pos = offsets[ev_of] + rank
    out = HadronBlock(
        offsets,
        np.empty(len(pos), np.int64),
        np.empty((len(pos), 4)),
        np.empty(len(pos)),
        np.empty((len(pos), 4)),
    )
    out.id[pos] = np.concatenate([b.id for b in blocks])
    out.p4[pos] = np.concatenate([b.p4 for b in blocks])
    out.m[pos] = np.concatenate([b.m for b in blocks])
    out.x4[pos] = np.concatenate([b.x4 for b in blocks])
    return out
