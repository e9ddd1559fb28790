"""Pythia 8 reference samples of e+e- -> tau+ tau- at Belle II and the tau observables of
any event record (Pythia's or fastsim's), computed by the same code for both.

Pythia 8 (pythia8mc 8.317.2) is set up like ``bench_generators._pythia`` (e+e- -> mu mu
with ISR): e- of ``E_HER`` = 7 GeV along +z on e+ of ``E_LER`` = 4 GeV along -z
(``Beams:frameType = 2``, head on, no crossing angle, no energy spread), ``PDF:lepton =
on`` (ISR from the electron PDF plus the QED shower), s-channel gamma*/Z0 with its decays
restricted to taus (``23:onMode = off``, ``23:onIfAny = 15``), ``SigmaProcess:alphaEMorder
= 0`` (alpha_EM fixed at alpha(0) = ``StandardModel:alphaEM0`` = 1/137.036 in the hard
process: no vacuum polarisation; Pythia has none in this process other than the running
alpha_EM of ``alphaEMorder = 1``, which is alpha(s-hat) with a first-order running fixed at
``StandardModel:alphaEMmZ``), tau-pair mass after ISR > ``M_HAT_MIN`` = 3.6 GeV (Pythia's
defaults, ``PhaseSpace:mHatMin`` = 4 GeV and the Z0's ``23:mMin`` = 10 GeV, would cut the
radiative return; 3.6 GeV keeps almost all of it down to 2 m_tau = 3.554 GeV; fastsim gets
``sqrt_shat_min`` = the same value), QED FSR off the taus (Pythia's default timelike
shower), MPI off, hadron level on with the taus decayed by Pythia's ``TauDecays`` and
``111:mayDecay = off``: **pi0 are kept as final particles** (in fastsim: pi0 added to the
decay stage's stable ids).  K_S0 still decay in both programs; the classification below
stops at any neutral kaon, so that does not matter.

The hard process is ``WeakSingleBoson:ffbar2gmZ`` (code 221, f fbar -> gamma*/Z0 as a 2 -> 1
process with the tau pair as the resonance decay), not ``WeakSingleBoson:ffbar2ffbar(s:gmZ)``
(code 224, the same written as 2 -> 2), because the latter is wrong for massive final
fermions: ``Sigma2ffbar2ffbarsgmZ::sigmaKin`` (SigmaEW.cc) evaluates its angular polynomial
at cThe = (t-hat - u-hat)/s-hat = beta cos(theta) instead of cos(theta) (the heavy-fermion
class ``Sigma2ffbar2FFbarsgmZ`` divides by beta).  For taus at 10.583 GeV without ISR, code
224 gives sigma = 0.7518 nb and <cos^2 theta> = 0.3741 +- 0.0009, code 221 0.7716 nb and
0.3896 +- 0.0010, the Born values (tau mass kept, alpha(0)) being 0.7717 nb and 0.3893.
``process="ffbar2ffbar(s:gmZ)"`` selects code 224 for the record.  There is no pT-hat cut in
either: ``PhaseSpace:pTHatMinDiverge`` (1 GeV) applies to 2 -> 2 processes only when a
produced particle is lighter than 1 GeV, and the tau is 1.777 GeV.

``TauDecays:mode`` (Pythia 8.317 ``ParticleDecays.xml``):
  1 (default): "sophisticated decays where external and then internal determination is
    applied": the tau pair's helicity density matrix from the hard process (here
    ``HMETwoFermions2GammaZ2TwoFermions``, gamma + Z with the tau mass) and the decays'
    matrix elements give the full spin correlation;
  3: "sophisticated decays where all taus, regardless of mother, are forced into an
    uncorrelated decay with a polarization set by ``TauDecays:tauPolarization``" (default 0):
    the same decay matrix elements (CLEO a1 current etc.), each tau unpolarised, no
    correlation between the two taus.  Single-tau spectra are the same as with mode 1 up to
    the Z-induced polarisation (< 1.5e-3, ``../shared/reference/tau.md`` sec. 1.5).

Observables (:class:`TauObservables`), in the e+e- CM frame (the rest frame of the two beam
four-momenta, reached by a rotation-free boost), per event and per tau (column 0: tau-,
column 1: tau+):

* ``channel`` -- index into :data:`CHANNELS`, from the tau's final content (see
  :func:`classify_counts`): e, mu, pi, K, rho (pi pi0), a1_3prong (pi pi pi),
  a1_1prong (pi pi0 pi0), other;
* ``x`` = E_vis / E_beam, E_vis the CM energy of everything the tau left except neutrinos,
  E_beam = sqrt(s)/2 (nominal, from the beams of the event);
* ``m_vis`` -- invariant mass of the visible products (GeV): m(pi pi0) for rho, m(3 pi) for
  a1;
* ``m_3pi`` (n, 2, 3) -- for a1_3prong: the two opposite-sign m(pi+ pi-) (ascending) and the
  same-sign m(pi- pi-) (GeV; NaN otherwise).

The tau's "final content" is found top-down: from the decayed tau through its daughter
ranges, passing through intermediate resonances (fastsim's rho-, a1-, K*- with status 2) and
stopping at particles without daughters and at :data:`TERMINAL` ids (pi0, K0, K_S0, K_L0,
eta, omega, eta', phi), which count as one particle each whether they decayed or not.  FSR
photons off the tau are not part of it (Pythia: they hang off an earlier tau copy; fastsim:
they have mother1 = the tau but lie outside its decay-daughter range).

Units: GeV; cross sections in nb.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

E_HER = 7.0  # GeV, e- beam along +z
E_LER = 4.0  # GeV, e+ beam along -z
SQRT_S = 2.0 * np.sqrt(E_HER * E_LER)  # GeV, 10.583 (head on, massless beams)
E_BEAM = SQRT_S / 2.0  # GeV, nominal beam energy in the CM frame
M_HAT_MIN = 3.6  # GeV, minimum tau-pair mass after ISR in both generators

CHANNELS: tuple[str, ...] = ("e", "mu", "pi", "K", "rho", "a1_3prong", "a1_1prong", "other")
CODE: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}

#: ids at which the descent into a tau's decay products stops (each counts as one particle)
TERMINAL: frozenset[int] = frozenset({111, 130, 310, 311, 221, 223, 331, 333})
NEUTRINOS = (12, 14, 16)
_K0 = (130, 310, 311)
_PYTHIA_MATCH = {  # products of the tau- channel (Pythia's onPosIfMatch lists)
    "e": "16 11 -12",
    "mu": "16 13 -14",
    "pi": "16 -211",
    "K": "16 -321",
    "rho": "16 -211 111",
    "a1_3prong": "16 -211 -211 211",
    "a1_1prong": "16 -211 111 111",
}
#: fastsim's tau engine keeps these resonances (status 2): their pi pi (0) content is the
#: channel's; for branching-fraction bookkeeping of DEC lines (:func:`channel_of_products`)
_EXPAND = {-213: (-211, 111), 213: (211, 111)}


# ============================================================== the observables
@dataclass
class TauObservables:
    """Per-event tau observables in the e+e- CM frame (column 0: tau-, column 1: tau+).

    ``channel`` (n, 2) int8 (index into CHANNELS, -1: no decayed tau of that charge),
    ``x`` (n, 2) E_vis / E_beam, ``m_vis`` (n, 2) GeV, ``m_3pi`` (n, 2, 3) GeV,
    ``e_beam`` (n,) GeV; ``sigma_nb`` / ``sigma_err_nb`` the sample's cross section (nb)
    where known (NaN otherwise)."""

    channel: np.ndarray
    x: np.ndarray
    m_vis: np.ndarray
    m_3pi: np.ndarray
    e_beam: np.ndarray
    sigma_nb: float = float("nan")
    sigma_err_nb: float = float("nan")
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return len(self.channel)

    @property
    def m_rho(self) -> np.ndarray:
        """m(pi pi0) (n, 2) in GeV for the rho channel, NaN elsewhere."""
        return np.where(self.channel == CODE["rho"], self.m_vis, np.nan)

    def fractions(self) -> dict[str, tuple[float, float]]:
        """Channel fraction per tau and its binomial error, over both taus of every event."""
        ch = self.channel[self.channel >= 0]
        n = max(len(ch), 1)
        out = {}
        for name, code in CODE.items():
            f = float(np.count_nonzero(ch == code)) / n
            out[name] = (f, float(np.sqrt(max(f * (1 - f), 1.0 / n) / n)))
        return out

    def select(self, channel: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, m_vis) of all taus (either charge) decaying to ``channel``."""
        sel = self.channel == CODE[channel]
        return self.x[sel], self.m_vis[sel]

    def pairs(self, first: str, second: str) -> tuple[np.ndarray, np.ndarray]:
        """(x_a, x_b) of the events with one tau in ``first`` and the other in ``second``
        (x_a the ``first`` one; for ``first == second``: x_a = x(tau-), x_b = x(tau+))."""
        a, b = CODE[first], CODE[second]
        ch = self.channel
        s1 = (ch[:, 0] == a) & (ch[:, 1] == b)
        s2 = (ch[:, 0] == b) & (ch[:, 1] == a) & (a != b)
        xa = np.concatenate([self.x[s1, 0], self.x[s2, 1]])
        xb = np.concatenate([self.x[s1, 1], self.x[s2, 0]])
        return xa, xb

    @staticmethod
    def concatenate(parts: Sequence[TauObservables]) -> TauObservables:
        return TauObservables(
            np.concatenate([p.channel for p in parts]),
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.m_vis for p in parts]),
            np.concatenate([p.m_3pi for p in parts]),
            np.concatenate([p.e_beam for p in parts]),
            parts[0].sigma_nb if parts else float("nan"),
            parts[0].sigma_err_nb if parts else float("nan"),
            dict(parts[0].meta) if parts else {},
        )


def classify_counts(
    n_e: np.ndarray,
    n_mu: np.ndarray,
    n_pic: np.ndarray,
    n_pi0: np.ndarray,
    n_k: np.ndarray,
    n_gamma: np.ndarray,
    n_rest: np.ndarray,
) -> np.ndarray:
    """Channel codes from the final content of each tau: numbers of e, mu, charged pions,
    pi0, kaons (charged and neutral), photons and anything else except neutrinos.
    Leptonic channels allow photons (radiative decays), hadronic ones none."""
    had = n_pic + n_pi0 + n_k + n_rest
    lep = n_e + n_mu
    ch = np.full(len(n_e), CODE["other"], np.int8)
    ch[(n_e == 1) & (n_mu == 0) & (had == 0)] = CODE["e"]
    ch[(n_mu == 1) & (n_e == 0) & (had == 0)] = CODE["mu"]
    clean = (lep == 0) & (n_gamma == 0) & (n_rest == 0)
    ch[clean & (n_k == 1) & (n_pic == 0) & (n_pi0 == 0)] = CODE["K"]
    nok = clean & (n_k == 0)
    ch[nok & (n_pic == 1) & (n_pi0 == 0)] = CODE["pi"]
    ch[nok & (n_pic == 1) & (n_pi0 == 1)] = CODE["rho"]
    ch[nok & (n_pic == 3) & (n_pi0 == 0)] = CODE["a1_3prong"]
    ch[nok & (n_pic == 1) & (n_pi0 == 2)] = CODE["a1_1prong"]
    return ch


def channel_of_products(ids: Iterable[int]) -> str:
    """Channel name of one decay's product list (PDG ids; rho+- expanded to pi pi0), with
    the rules of :func:`classify_counts`: for branching-fraction tables (DEC lines, Pythia)."""
    flat: list[int] = []
    for i in ids:
        flat.extend(_EXPAND.get(int(i), (int(i),)))
    a = np.abs(np.array(flat))
    a = a[~np.isin(a, NEUTRINOS)]

    def c(*v: int) -> np.ndarray:
        return np.array([np.count_nonzero(np.isin(a, v))])

    known = (11, 13, 211, 111, 321, *_K0, 22)
    rest = np.array([np.count_nonzero(~np.isin(a, known))])
    return CHANNELS[int(classify_counts(c(11), c(13), c(211), c(111), c(321, *_K0), c(22), rest)[0])]


def expected_fractions(modes: Iterable[tuple[float, Iterable[int]]]) -> dict[str, float]:
    """Channel fractions implied by a list of (branching fraction, products) of the tau-
    (normalised to the sum of the listed fractions)."""
    out = dict.fromkeys(CHANNELS, 0.0)
    total = 0.0
    for br, ids in modes:
        out[channel_of_products(ids)] += br
        total += br
    return {k: v / total for k, v in out.items()}


def _boost_to_rest(p4: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Four-vectors (n, 4) = (px, py, pz, E) boosted to the rest frame of ``total`` (n, 4)
    (rotation-free)."""
    m = np.sqrt(np.maximum(total[:, 3] ** 2 - np.sum(total[:, :3] ** 2, axis=1), 1e-300))
    b = total[:, :3] / total[:, 3:4]
    g = total[:, 3] / m
    bp = np.sum(b * p4[:, :3], axis=1)
    b2 = np.sum(b * b, axis=1)
    k = np.where(b2 > 0, (g - 1) * bp / np.where(b2 > 0, b2, 1.0), 0.0)
    out = np.empty_like(p4)
    out[:, :3] = p4[:, :3] + (k - g * p4[:, 3])[:, None] * b
    out[:, 3] = g * (p4[:, 3] - bp)
    return out


def _mass(p4: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p4[..., 3] ** 2 - np.sum(p4[..., :3] ** 2, axis=-1), 0.0))


def observables_from_record(
    ids: np.ndarray,
    mother1: np.ndarray,
    daughter1: np.ndarray,
    daughter2: np.ndarray,
    p4: np.ndarray,
    offsets: np.ndarray,
    decayed_tau: np.ndarray,
    beams: tuple[int, int],
) -> TauObservables:
    """Tau observables of a flat event record.

    ``ids``, ``mother1``, ``daughter1``, ``daughter2`` (N,): PDG ids and event-local indices
    (negative: none; ``daughter2 < daughter1`` is read as ``daughter2 = daughter1``),
    ``p4`` (N, 4) (px, py, pz, E) in GeV in any frame, ``offsets`` (n + 1,) the events'
    item ranges, ``decayed_tau`` (N,) bool marks the taus that decayed (one tau- and one tau+
    per event), ``beams`` the local indices of the two beam particles (their sum defines
    the CM frame and sqrt(s))."""
    ids = np.asarray(ids, np.int64)
    offsets = np.asarray(offsets, np.int64)
    n_ev = len(offsets) - 1
    counts = np.diff(offsets)
    ev = np.repeat(np.arange(n_ev), counts)
    base = offsets[:-1][ev]
    g = np.arange(len(ids))
    par = np.where(mother1 >= 0, base + mother1, -1)
    lo = np.where(daughter1 >= 0, base + daughter1, -1)
    hi = np.where(daughter2 >= daughter1, base + daughter2, lo)
    aid = np.abs(ids)
    has_dau = lo >= 0
    terminal = ~has_dau | np.isin(aid, tuple(TERMINAL))
    ps = np.maximum(par, 0)
    in_range = (par >= 0) & (g >= lo[ps]) & (g <= hi[ps]) & (lo[ps] >= 0)
    owner = np.where(decayed_tau, g, -1)
    for _ in range(50):
        passes = (owner >= 0) & (decayed_tau | ~terminal)
        new = (owner < 0) & in_range & passes[ps]
        if not np.any(new):
            break
        owner[new] = owner[ps[new]]
    leaf = np.flatnonzero((owner >= 0) & terminal & ~decayed_tau)

    # rows of the taus: (event, 0 for tau- / 1 for tau+)
    taus = np.flatnonzero(decayed_tau)
    row = np.full(len(ids), -1, np.int64)
    row[taus] = 2 * ev[taus] + (ids[taus] < 0)
    n_rows = 2 * n_ev
    lr = row[owner[leaf]]
    la = aid[leaf]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(lr[mask], minlength=n_rows)

    is_nu = np.isin(la, NEUTRINOS)
    known = (11, 13, 211, 111, 321, *_K0, 22, *NEUTRINOS)
    channel = classify_counts(
        count(la == 11),
        count(la == 13),
        count(la == 211),
        count(la == 111),
        count(np.isin(la, (321, *_K0))),
        # photons radiated in the decay itself (fastsim.tau.radiation: a direct daughter of
        # the tau) do not change the channel; photons from omega, eta ... decays do
        count((la == 22) & (par[leaf] != owner[leaf])),
        count(~np.isin(la, known)),
    )
    present = np.zeros(n_rows, bool)
    present[row[taus]] = True
    channel[~present] = -1

    # CM frame: rest frame of the two beams of each event
    total = p4[offsets[:-1] + beams[0]] + p4[offsets[:-1] + beams[1]]
    e_beam = 0.5 * _mass(total)
    vis = leaf[~is_nu]
    vr = lr[~is_nu]
    e_cm = _boost_to_rest(p4[vis], total[ev[vis]])[:, 3]
    x = np.bincount(vr, weights=e_cm, minlength=n_rows) / np.repeat(e_beam, 2)
    p_vis = np.zeros((n_rows, 4))
    np.add.at(p_vis, vr, p4[vis])
    m_vis = np.where(present & (x > 0), _mass(p_vis), np.nan)
    x = np.where(present, x, np.nan)

    # a1 -> 3 charged pions: two opposite-sign and one same-sign pair mass
    m_3pi = np.full((n_rows, 3), np.nan)
    a1 = channel == CODE["a1_3prong"]
    pions = leaf[(la == 211) & a1[lr]]
    pions = pions[np.argsort(row[owner[pions]], kind="stable")]
    if len(pions):
        trip = pions.reshape(-1, 3)
        r3 = row[owner[trip[:, 0]]]
        q = np.sign(ids[trip])
        odd = np.argmax(q != np.sign(q.sum(axis=1))[:, None], axis=1)
        same = np.array([[1, 2], [0, 2], [0, 1]])[odd]
        pt = p4[trip]
        k = np.arange(len(trip))
        po, s1, s2 = pt[k, odd], pt[k, same[:, 0]], pt[k, same[:, 1]]
        m1, m2 = _mass(po + s1), _mass(po + s2)
        m_3pi[r3, 0] = np.minimum(m1, m2)
        m_3pi[r3, 1] = np.maximum(m1, m2)
        m_3pi[r3, 2] = _mass(s1 + s2)
    return TauObservables(
        channel.reshape(n_ev, 2),
        x.reshape(n_ev, 2),
        m_vis.reshape(n_ev, 2),
        m_3pi.reshape(n_ev, 2, 3),
        e_beam,
    )


# ============================================================== fastsim samples
def observables_from_collection(mc: Any) -> TauObservables:
    """Tau observables of a fastsim ``mc`` Collection (beams: entries 0 and 1; decayed
    taus: status 2)."""
    f = mc.fields
    p4 = np.stack([f["px"], f["py"], f["pz"], f["e"]], axis=1)
    decayed = (np.abs(f["id"]) == 15) & (f["status"] == 2)
    return observables_from_record(
        f["id"], f["mother1"], f["daughter1"], f["daughter2"], p4, mc.offsets, decayed, (0, 1)
    )


def observables_from_file(path: str | Path, chunk: int = 200_000) -> TauObservables:
    """Tau observables of a fastsim HDF5 event file (its ``mc`` collection, read in chunks);
    ``sigma_nb`` is the summed cross section of the file's processes."""
    from fastsim.io import open_events

    parts = []
    with open_events(path) as f:
        for start in range(0, f.n_events, chunk):
            parts.append(observables_from_collection(f.read("mc", start, min(start + chunk, f.n_events))))
        procs = f.meta.get("processes", [])
    obs = TauObservables.concatenate(parts)
    obs.sigma_nb = float(sum(p["sigma_nb"] for p in procs)) if procs else float("nan")
    return obs


def fastsim_beams(spread: bool = False) -> Any:
    """The fastsim BeamSetup matching :func:`pythia_settings`: 7 GeV e- on 4 GeV e+, head on
    (no crossing angle), no energy spread by default (luminous region of SuperKEKB)."""
    from fastsim.beams import BeamSetup
    from fastsim.cards import load_card

    repo = Path(__file__).resolve().parent.parent
    beam = load_card(repo / "cards" / "belle2_run1.yaml")["beam"]
    beam["her"] = {**beam["her"], "energy": E_HER, "angle_x": 0.0}
    beam["ler"] = {**beam["ler"], "energy": E_LER, "angle_x": 0.0}
    beam["spread"] = spread
    return BeamSetup.from_card(beam)


def fastsim_tau_sample(
    n: int,
    seed: int = 1,
    params: dict[str, Any] | None = None,
    pi0_stable: bool = True,
    chunk: int = 100_000,
) -> TauObservables:
    """fastsim ``ee_tautau`` with decays, in memory, as ``fastsim run`` does it per chunk
    (:func:`fastsim.pipeline.run_chunk`: generate, pop the ``spin`` collection, hand it to
    :func:`fastsim.decays.decay_particles` with the DEC table and the detector-stable ids,
    here plus pi0 when ``pi0_stable``).  ``params``: generator parameters on top of
    ``sqrt_shat_min = M_HAT_MIN``.  Beams: :func:`fastsim_beams`.  ``sigma_nb`` set."""
    from fastsim.decays import DEFAULT_STABLE, decay_particles, sm_decay_table
    from fastsim.generators import GENERATORS
    from fastsim.generators.base import XsecTally
    from fastsim.particles import ParticleTable

    particles = ParticleTable()
    gen = GENERATORS["ee_tautau"]({"sqrt_shat_min": M_HAT_MIN, **(params or {})}, fastsim_beams(), particles)
    table = sm_decay_table()
    stable = DEFAULT_STABLE | ({111} if pi0_stable else set())
    tally = XsecTally()
    parts = []
    for i, a in enumerate(range(0, n, chunk)):
        rng = np.random.default_rng([seed, i])
        batch, t = gen.generate(min(chunk, n - a), rng)
        tally = tally.merge(t)
        spin = batch.collections.pop("spin", None)
        mc = decay_particles(batch["mc"], table, rng, particles, frozenset(stable), spin=spin)
        parts.append(observables_from_collection(mc))
    obs = TauObservables.concatenate(parts)
    obs.sigma_nb, obs.sigma_err_nb = float(tally.sigma_nb), float(tally.sigma_err_nb)
    obs.meta = {"generator": "fastsim ee_tautau", "params": {"sqrt_shat_min": M_HAT_MIN, **(params or {})}}
    return obs


# ============================================================== Pythia 8
def pythia_settings(
    tau_mode: int = 1,
    seed: int = 1,
    decays: bool = True,
    pi0_stable: bool = True,
    tau_minus: str | None = None,
    tau_plus: str | None = None,
    extra: Iterable[str] = (),
    process: str = "ffbar2gmZ",
) -> list[str]:
    """Pythia 8 settings of the reference sample (see the module docstring).
    ``process``: the ``WeakSingleBoson`` process, ``ffbar2gmZ`` (221, right for massive
    taus) or ``ffbar2ffbar(s:gmZ)`` (224, see the module docstring).
    ``decays=False``: taus not decayed, hadron level off (for the cross section alone).
    ``tau_minus`` / ``tau_plus``: force that tau's decay into one of the CHANNELS (except
    "other"), via ``onPosIfMatch`` / ``onNegIfMatch`` (the tau- is Pythia's particle 15)."""
    s = [
        "Beams:idA = 11",
        "Beams:idB = -11",
        "Beams:frameType = 2",
        f"Beams:eA = {E_HER}",
        f"Beams:eB = {E_LER}",
        "PDF:lepton = on",
        f"WeakSingleBoson:{process} = on",
        "23:onMode = off",
        "23:onIfAny = 15",
        f"23:mMin = {M_HAT_MIN}",
        f"PhaseSpace:mHatMin = {M_HAT_MIN}",
        "SigmaProcess:alphaEMorder = 0",
        "PartonLevel:MPI = off",
        f"TauDecays:mode = {tau_mode}",
        "Next:numberCount = 0",
        "Print:quiet = on",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
    ]
    if pi0_stable:
        s.append("111:mayDecay = off")
    if not decays:
        s += ["15:mayDecay = off", "HadronLevel:all = off"]
    if tau_minus or tau_plus:
        s.append("15:onMode = off")
        if tau_minus == tau_plus:  # onNegIfMatch after onPosIfMatch would switch the tau- off
            s.append(f"15:onIfMatch = {_PYTHIA_MATCH[tau_minus]}")
        if tau_minus and tau_minus != tau_plus:
            s.append(f"15:onPosIfMatch = {_PYTHIA_MATCH[tau_minus]}")
        if tau_plus and tau_minus != tau_plus:
            s.append(f"15:onNegIfMatch = {_PYTHIA_MATCH[tau_plus]}")
    return [*s, *extra]


def make_pythia(settings: Iterable[str]) -> Any:
    """An initialised ``pythia8mc.Pythia`` with ``settings``."""
    import pythia8mc as pythia8

    py = pythia8.Pythia("", False)
    for line in settings:
        if not py.readString(line):
            msg = f"Pythia refused {line!r}"
            raise ValueError(msg)
    if not py.init():
        msg = "Pythia init failed"
        raise RuntimeError(msg)
    return py


def observables_from_pythia_batch(batch: Any) -> TauObservables:
    """Tau observables of a ``Pythia.nextBatch`` awkward array (Pythia record: entry 0 the
    system, 1 and 2 the beams; a decayed tau has negative status and no tau among its
    daughters, i.e. it is the last copy after FSR)."""
    import awkward as ak

    prt = batch.prt
    counts = ak.to_numpy(ak.num(prt)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])

    def col(x: Any) -> np.ndarray:
        return ak.to_numpy(ak.flatten(x))

    ids = col(prt.id).astype(np.int64)
    status = col(prt.status)
    m1 = col(prt.mother1).astype(np.int64)
    d1 = col(prt.daughter1).astype(np.int64)
    d2 = col(prt.daughter2).astype(np.int64)
    p4 = np.stack([col(prt.p.px), col(prt.p.py), col(prt.p.pz), col(prt.p.e)], axis=1)
    d1 = np.where(d1 > 0, d1, -1)
    d2 = np.where(d2 > 0, d2, d1)
    base = np.repeat(offsets[:-1], counts)
    first_d = ids[np.where(d1 >= 0, base + d1, 0)]
    last_d = ids[np.where(d2 >= 0, base + d2, 0)]
    decayed = (
        (np.abs(ids) == 15) & (status < 0) & (d1 >= 0) & (np.abs(first_d) != 15) & (np.abs(last_d) != 15)
    )
    return observables_from_record(ids, m1, d1, d2, p4, offsets, decayed, (1, 2))


@dataclass
class PythiaRun:
    """A Pythia sample: observables, cross section (nb), events and generation time (s)."""

    obs: TauObservables
    sigma_nb: float
    sigma_err_nb: float
    n_events: int
    seconds: float


def run_pythia(
    n: int,
    tau_mode: int = 1,
    seed: int = 1,
    tau_minus: str | None = None,
    tau_plus: str | None = None,
    batch: int = 1000,
    extra: Iterable[str] = (),
) -> PythiaRun:
    """``n`` Pythia 8 events of e+e- -> tau+ tau- (:func:`pythia_settings`) and their tau
    observables.  ``seconds`` is the time of ``nextBatch`` alone (generation, hadron level
    and tau decays, plus Pythia's own conversion to awkward arrays)."""
    py = make_pythia(pythia_settings(tau_mode, seed, tau_minus=tau_minus, tau_plus=tau_plus, extra=extra))
    parts = []
    seconds = 0.0
    done = 0
    while done < n:
        k = min(batch, n - done)
        t0 = time.perf_counter()
        b = py.nextBatch(k)
        seconds += time.perf_counter() - t0
        parts.append(observables_from_pythia_batch(b))
        done += k
    info = py.infoPython()
    obs = TauObservables.concatenate(parts)
    obs.sigma_nb, obs.sigma_err_nb = info.sigmaGen() * 1e6, info.sigmaErr() * 1e6  # mb -> nb
    obs.meta = {"generator": "Pythia 8", "tau_mode": tau_mode, "tau_minus": tau_minus, "tau_plus": tau_plus}
    return PythiaRun(obs, obs.sigma_nb, obs.sigma_err_nb, n, seconds)


def pythia_sigma_nb(
    n: int, seed: int = 1, extra: Iterable[str] = (), process: str = "ffbar2gmZ"
) -> tuple[float, float]:
    """sigma(e+e- -> tau+ tau-) (nb) and its error from ``n`` Pythia events with ISR (taus not
    decayed, hadron level off: the cross section does not depend on them)."""
    py = make_pythia(pythia_settings(seed=seed, decays=False, extra=extra, process=process))
    for _ in range(n):
        py.next()
    info = py.infoPython()
    return info.sigmaGen() * 1e6, info.sigmaErr() * 1e6


def pythia_events_per_s(n: int, tau_mode: int = 1, seed: int = 1, warmup: int = 50) -> float:
    """Events per second of Pythia 8 ``next()`` on one core (:func:`pythia_settings`; hard
    process with ISR, FSR, hadron level with the tau decays; no analysis, no conversion)."""
    py = make_pythia(pythia_settings(tau_mode, seed))
    for _ in range(warmup):
        py.next()
    t0 = time.perf_counter()
    for _ in range(n):
        py.next()
    return n / (time.perf_counter() - t0)


def pythia_tau_fractions() -> dict[str, float]:
    """Channel fractions of Pythia's tau- decay table (ParticleData bRatio)."""
    import pythia8mc as pythia8

    py = pythia8.Pythia("", False)
    entry = py.particleData.particleDataEntryPtr(15)
    modes = []
    for i in range(entry.sizeChannels()):
        c = entry.channel(i)
        modes.append((c.bRatio(), [c.product(k) for k in range(c.multiplicity())]))
    return expected_fractions(modes)


def dec_tau_fractions() -> dict[str, float]:
    """Channel fractions of the tau- modes of fastsim's decay table (DECAY_BELLE2.DEC)."""
    from fastsim.decays import sm_decay_table

    return expected_fractions((m.br, m.daughters) for m in sm_decay_table().modes(15))


# ============================================================== comparisons
def chi2_hist(
    a: np.ndarray, b: np.ndarray, bins: np.ndarray, min_expected: float = 5.0
) -> tuple[float, int, float]:
    """Two-sample shape chi-square of unweighted samples ``a`` and ``b`` in ``bins``
    (ROOT's TH1::Chi2Test "UU": chi2 = sum (n_b A_i - n_a B_i)^2 / (n_a n_b (A_i + B_i)), the
    normalisations free), over the bins where the smaller sample expects at least
    ``min_expected`` entries from the pooled shape.  Returns (chi2, ndf = bins used - 1,
    p-value)."""
    from scipy import stats

    ha, _ = np.histogram(a, bins)
    hb, _ = np.histogram(b, bins)
    na, nb = float(ha.sum()), float(hb.sum())
    tot = ha + hb
    use = tot * min(na, nb) / (na + nb) >= min_expected
    ha, hb, tot = ha[use], hb[use], tot[use]
    na, nb = float(ha.sum()), float(hb.sum())
    chi2 = float(np.sum((nb * ha - na * hb) ** 2 / tot) / (na * nb))
    ndf = int(np.count_nonzero(use)) - 1
    return chi2, ndf, float(stats.chi2.sf(chi2, ndf))


def corr_with_error(xa: np.ndarray, xb: np.ndarray, n_boot: int = 300, seed: int = 0) -> tuple[float, float]:
    """Pearson correlation coefficient of paired samples and its statistical error (the
    spread of ``n_boot`` bootstrap resamples; x is not Gaussian, so not (1 - r^2)/sqrt(n))."""
    xa, xb = np.asarray(xa), np.asarray(xb)
    r = float(np.corrcoef(xa, xb)[0, 1])
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(xa), (n_boot, len(xa)))
    a, b = xa[k], xb[k]
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    rb = np.sum(a * b, axis=1) / np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))
    return r, float(np.std(rb, ddof=1))
