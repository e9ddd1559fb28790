"""e+e- -> e+e- l+l- (fastsim/generators/ee_eell.py): the amplitude (Ward identities on
realistic two-photon points, an independent Dirac-trace evaluation of the multiperipheral
diagrams, Fermi symmetry for l = e, cached kernel = diagram sum), the cross section against the
equivalent-photon approximation and against the published AAFH value, and a run from a card."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from fastsim.beams import BeamSetup, lab_to_cm
from fastsim.cards import load_card
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.generators.ee_eell import (
    EEEELL,
    TwoPhotonChannel,
    _externals,
    me2_eell,
    me2_eell_direct,
)
from fastsim.generators.helicity import bslash, current, fprop, sdot, slash, tadd, tneg, vprop
from fastsim.generators.helicity import spinor_collinear as _uv
from fastsim.particles import ParticleTable
from tests.conftest import CARDS

CE = -math.sqrt(4 * math.pi * ALPHA_EM)


def _beams(spread: bool = False) -> BeamSetup:
    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = spread
    return BeamSetup.from_card(beam)


def _two_photon_points(gen: EEEELL, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points of the multiperipheral channel (scattered e+- within ~ m_e/E of the beams)."""
    M = np.full(n, gen.beams.sqrt_s)
    ch = TwoPhotonChannel(gen.final_masses, gen.m_e, (0, 1, 2, 3), 0.5, 2, True)
    p = ch.generate(np.random.default_rng(seed).random((n, ch.n_random)), M)
    ok = np.all(np.isfinite(p), axis=(1, 2))
    return np.ascontiguousarray(p[ok]), M[ok]


# ------------------------------------------------------------------ 1. the amplitude
def test_ward_identity_on_two_photon_points() -> None:
    """Replace the photon of one scattered beam line by its momentum q: the two diagrams with
    that photon on another line cancel (Ward identity of an on-shell line), for all 64
    helicities, at points where |t| goes down to 1e-12 GeV^2 and the scattered leptons are
    within 1e-7 rad of the beams (tests the massive, cancellation-free spinors).
    Tolerance: |sum| < 1e-6 of the larger diagram (double precision leaves ~1e-9)."""
    gen = EEEELL({"lepton": "mu"}, _beams(), ParticleTable())
    p, M = _two_photon_points(gen, 40, 1)
    worst = 0.0
    for i in range(len(p)):
        rows, cols, prow, pcol, mrow = _externals(p[i], M[i], gen.m_e, gen.m_l)
        sg = (0, 2, 1)  # scattering pairing: line 0 = e- line, 1 = muon line, 2 = e+ line
        q = [tadd(prow[k], pcol[sg[k]]) for k in range(3)]
        for g in (0, 2):  # the photon replaced by its momentum
            qg = tuple(complex(x) for x in q[g])
            for c in range(3):
                if c == g:
                    continue
                b = 3 - g - c  # the third line supplies the other photon
                for hh in range(64):
                    h = [(hh >> k) & 1 for k in range(6)]
                    eb = vprop(current(rows[2 * b + h[0]], cols[2 * sg[b] + h[1]], CE, CE), q[b], 0.0, 0.0)
                    row, col = rows[2 * c + h[2]], cols[2 * sg[c] + h[3]]
                    t1 = sdot(
                        bslash(row, qg, CE, CE),
                        fprop(tadd(prow[c], q[g]), mrow[c], 0.0, slash(eb, CE, CE, col)),
                    )
                    t2 = sdot(
                        bslash(row, eb, CE, CE),
                        fprop(tneg(tadd(pcol[sg[c]], q[g])), mrow[c], 0.0, slash(qg, CE, CE, col)),
                    )
                    scale = max(abs(t1), abs(t2))
                    if scale > 0:
                        worst = max(worst, abs(t1 + t2) / scale)
    assert worst < 1e-6, worst
    # the points really are in the extreme two-photon region: |t| of the e- line below 1e-8 GeV^2
    e = 0.5 * M
    pb = np.sqrt(e * e - gen.m_e**2)
    t1 = (e - p[:, 0, 3]) ** 2 - p[:, 0, 0] ** 2 - p[:, 0, 1] ** 2 - (pb - p[:, 0, 2]) ** 2
    assert np.min(np.abs(t1)) < 1e-8


def _gammas() -> np.ndarray:
    """Dirac matrices gamma^mu (4, 4, 4), chiral representation (Peskin & Schroeder 3.25)."""
    s = [np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
    z = np.zeros((2, 2))
    out = [np.block([[z, s[0]], [s[0], z]])]
    out += [np.block([[z, s[k]], [-s[k], z]]) for k in (1, 2, 3)]
    return np.array(out, dtype=complex)


def _trace_multiperipheral(p: np.ndarray, M: float, m_e: float, m_l: float) -> float:
    """Spin-averaged |M|^2 of the two multiperipheral diagrams from Dirac traces (no spinors):
    e^8 / (q1^2 q2^2)^2 * 1/4 * L1^{mu a} L2^{nu b} H_{mu nu a b} with
    L1 = Tr[(p1/ + m) g^mu (k1/ + m) g^a], L2 = Tr[(k2/ - m) g^nu (p2/ - m) g^b],
    H = Tr[(p3/ + m) G_{mu nu} (p4/ - m) Gbar_{a b}], G = g_mu S(p3 - q1) g_nu + g_nu S(p3 - q2) g_mu."""
    g = _gammas()
    eta = np.array([1.0, -1.0, -1.0, -1.0])
    one = np.eye(4)

    def sl(v: np.ndarray) -> np.ndarray:  # v (E, px, py, pz) -> v_mu gamma^mu
        return np.einsum("m,mab->ab", v * eta, g)

    def four(row: np.ndarray) -> np.ndarray:
        return np.array([row[3], row[0], row[1], row[2]])

    e = 0.5 * M
    pb = math.sqrt(e * e - m_e**2)
    k1, k2 = np.array([e, 0, 0, pb]), np.array([e, 0, 0, -pb])
    p1, p2, p3, p4 = (four(p[j]) for j in range(4))
    q1, q2 = k1 - p1, k2 - p2

    def msq(v: np.ndarray) -> float:
        return float(np.sum(eta * v * v))

    L1 = np.einsum("ab,mbc,cd,nda->mn", sl(p1) + m_e * one, g, sl(k1) + m_e * one, g)
    L2 = np.einsum("ab,mbc,cd,nda->mn", sl(k2) - m_e * one, g, sl(p2) - m_e * one, g)
    s1 = (sl(p3 - q1) + m_l * one) / (msq(p3 - q1) - m_l**2)
    s2 = (sl(p3 - q2) + m_l * one) / (msq(p3 - q2) - m_l**2)
    G = np.einsum("mab,bc,ncd->mnad", g, s1, g) + np.einsum("nab,bc,mcd->mnad", g, s2, g)
    g0 = g[0]
    Gbar = np.einsum("ab,mnbc,cd->mnad", g0, np.conj(np.transpose(G, (0, 1, 3, 2))), g0)
    H = np.einsum("ab,mnbc,cd,rsda->mnrs", sl(p3) + m_l * one, G, sl(p4) - m_l * one, Gbar)
    # lower the indices of H (its gammas carry upper indices)
    H = (
        H
        * eta[:, None, None, None]
        * eta[None, :, None, None]
        * eta[None, None, :, None]
        * eta[None, None, None, :]
    )
    tot = np.einsum("mr,ns,mnrs->", L1, L2, H)
    return float(tot.real) * CE**8 / (msq(q1) * msq(q2)) ** 2 / 4


def test_multiperipheral_amplitude_equals_dirac_traces() -> None:
    """The helicity-amplitude |M|^2 of the multiperipheral set (scattering pairing, muon line
    central) equals an independent trace evaluation with explicit Dirac matrices, masses
    everywhere.  Points with |t1|, |t2| > 1e-4 GeV^2 (the traces lose ~E^2/|t| digits).
    Tolerance 1e-7 relative."""
    gen = EEEELL({"lepton": "mu"}, _beams(), ParticleTable())
    p, M = _two_photon_points(gen, 4000, 2)
    e = 0.5 * M
    t1 = -((e - p[:, 0, 3]) ** 2 - p[:, 0, 0] ** 2 - p[:, 0, 1] ** 2 - (e - p[:, 0, 2]) ** 2)
    t2 = -((e - p[:, 1, 3]) ** 2 - p[:, 1, 0] ** 2 - p[:, 1, 1] ** 2 - (-e - p[:, 1, 2]) ** 2)
    sel = np.flatnonzero((np.abs(t1) > 1e-4) & (np.abs(t2) > 1e-4))[:8]
    assert len(sel) >= 4
    hel = me2_eell_direct(p[sel], M[sel], gen.m_e, gen.m_l, CE, gen._perms, gen._signs, 0, 1, -1)
    tr = np.array([_trace_multiperipheral(p[i], M[i], gen.m_e, gen.m_l) for i in sel])
    assert np.all(tr > 0)
    assert np.allclose(hel, tr, rtol=1e-7, atol=0), hel / tr - 1


def test_fast_kernel_equals_diagram_sum_and_fermi_symmetry() -> None:
    """Cached kernel = direct diagram sum (1e-8); for l = e |M|^2 is symmetric under the
    exchange of the two e- and of the two e+ (1e-8), as Fermi statistics requires."""
    for lep in ("mu", "e"):
        gen = EEEELL({"lepton": lep, "min_tracks": 0}, _beams(), ParticleTable())
        pts = gen._points(3000, np.random.default_rng(3))
        p = np.ascontiguousarray(pts["p_cm"][pts["w"] > 0][:150])
        M = np.full(len(p), gen.beams.sqrt_s)
        a = me2_eell(p, M, gen.m_e, gen.m_l, CE, gen._perms, gen._signs)
        b = me2_eell_direct(p, M, gen.m_e, gen.m_l, CE, gen._perms, gen._signs, -1, -1, -1)
        assert np.all(b > 0) and np.allclose(a, b, rtol=1e-8, atol=0)
        if lep == "e":
            for perm in ([2, 1, 0, 3], [0, 3, 2, 1], [2, 3, 0, 1]):
                c = me2_eell(
                    np.ascontiguousarray(p[:, perm]), M, gen.m_e, gen.m_l, CE, gen._perms, gen._signs
                )
                assert np.allclose(c, a, rtol=1e-8, atol=0)


def test_stable_spinors_agree_with_helicity_module() -> None:
    """``helicity.spinor_collinear`` equals helicity.uspinor/vspinor away from the beam axis
    (same conventions)."""
    from fastsim.generators.helicity import uspinor, vspinor

    rng = np.random.default_rng(4)
    for _ in range(20):
        m = 0.1056583755
        v = rng.normal(size=3)
        e = math.sqrt(float(v @ v) + m * m)
        for lam in (-1, 1):
            assert np.allclose(_uv((e, *v), m, lam, False), uspinor(e, *v, lam), atol=1e-12)
            assert np.allclose(_uv((e, *v), m, lam, True), vspinor(e, *v, lam), atol=1e-12)


# ------------------------------------------------------------------ 2. the cross section
def _sigma(cfg: dict, n: int, seed: int) -> tuple[float, float]:
    gen = EEEELL({"isr": False, **cfg}, _beams(), ParticleTable())
    rng = np.random.default_rng(seed)
    w = np.concatenate([gen._points(50_000, rng)["w"] for _ in range(n // 50_000)])
    return float(w.mean()), float(w.std() / math.sqrt(len(w)))


def _epa_sigma(w_min: float, theta_max_deg: float, m_l: float) -> float:
    """Equivalent-photon cross section (nb) of e+e- -> e+e- gamma gamma -> e+e- l+l-.

    Photon spectrum with the non-logarithmic term (Budnev et al., Phys. Rep. 15 (1975) 181;
    as written by Frixione, Mangano, Nason, Ridolfi, hep-ph/9310350 eq. 4):
    f(x) = alpha/(pi x) [(1 - x + x^2/2) ln(Q2max/Q2min) - (1 - x)(1 - Q2min/Q2max)],
    Q2min = m_e^2 x^2/(1 - x), Q2max = Q2min + 2 E^2 (1 - x)(1 - cos theta_max) (anti-tag).
    Breit-Wheeler gamma gamma -> l+ l- (Breit & Wheeler, Phys. Rev. 46 (1934) 1087; Budnev
    eq. 5.?): sigma = 4 pi alpha^2/W^2 [(1 + r - r^2/2) ln((1+b)/(1-b)) - b (1 + r)], r = 4m^2/W^2."""
    beams = _beams()
    s = beams.sqrt_s**2
    e = beams.sqrt_s / 2
    m_e = 0.51099895e-3  # PDG 2024, GeV
    a = ALPHA_EM
    c = 1 - math.cos(math.radians(theta_max_deg))

    def f(x: float) -> float:
        q2min = m_e**2 * x * x / (1 - x)
        q2max = q2min + 2 * e * e * (1 - x) * c
        return (
            a
            / (math.pi * x)
            * ((1 - x + x * x / 2) * math.log(q2max / q2min) - (1 - x) * (1 - q2min / q2max))
        )

    def sgg(w2: float) -> float:
        r = 4 * m_l**2 / w2
        b = math.sqrt(1 - r)
        return 4 * math.pi * a * a / w2 * ((1 + r - r * r / 2) * math.log((1 + b) / (1 - b)) - b * (1 + r))

    lo = w_min**2 / s

    def inner(l1: float) -> float:
        x1 = math.exp(l1)
        return integrate.quad(
            lambda l2: x1 * math.exp(l2) * f(x1) * f(math.exp(l2)) * sgg(x1 * math.exp(l2) * s),
            math.log(lo / x1),
            0.0,
            limit=200,
        )[0]

    return integrate.quad(inner, math.log(lo), 0.0, limit=200)[0] * GEV2_TO_NB


def test_cross_section_agrees_with_equivalent_photon_approximation() -> None:
    """e+e- -> e+e- mu+mu-, W > 1 GeV, both scattered e+- within 1 deg of their beams (CM;
    Q^2 < 0.0085 GeV^2 << W^2, where the EPA with transverse photons holds), no other cut:
    the full 12-diagram tree-level cross section equals the EPA within 3 % (measured: 2.190 +-
    0.009 nb vs 2.205 nb, -0.7 %; the statistical error is 0.4 %)."""
    sig, err = _sigma({"lepton": "mu", "w_min": 1.0, "beam_theta_max_deg": 1.0, "min_tracks": 0}, 200_000, 5)
    epa = _epa_sigma(1.0, 1.0, 0.1056583755)
    assert err < 0.01 * sig
    assert abs(sig / epa - 1) < 0.03, (sig, err, epa)


def test_cross_section_agrees_with_aafh() -> None:
    """Untagged e+e- -> e+e- mu+mu- with W(mu mu) > 0.5 GeV and no other cut at sqrt(s) =
    10.58 GeV: 18.9 nb from AAFH (Berends, Daverveldt, Kleiss, Comput. Phys. Commun. 40 (1986)
    285), the value quoted for Belle II in the Belle II Physics Book (Kou et al.,
    arXiv:1808.10567, table of the main physics processes at the Upsilon(4S); the basf2
    default AAFH cut minmass = 0.5 GeV is in generators/scripts/generators.py).  The table
    could not be re-read from the reference library, so the number is as quoted by the
    physics brief; measured here 18.79 +- 0.04 nb (-0.6 %).  Tolerance 3 % (AAFH's own
    precision and its choice of diagrams)."""
    sig, err = _sigma({"lepton": "mu", "w_min": 0.5, "min_tracks": 0}, 300_000, 6)
    assert err < 0.005 * sig
    assert abs(sig / 18.9 - 1) < 0.03, (sig, err)


# ------------------------------------------------------------------ 3. a run from a card
def test_run_from_card_respects_cuts(tmp_path) -> None:
    """2000 unweighted events of each lepton flavour through the card machinery: the pair
    leptons satisfy the default acceptance (W > 0.5 GeV, lab 17-150 deg, pT > 0.1 GeV; edges
    within 0.2 deg / 1 %, the cut using the nominal beams) and
    the scattered e+- are at small angles (> 85 % within 5 deg of their beam in the CM frame,
    median < 0.5 deg);
    the cross section and its error are reported."""
    from fastsim.io import open_events
    from fastsim.run import run

    card = tmp_path / "c.yaml"
    card.write_text(
        f"""
include: [{CARDS}/detectors/belle2.yaml, {CARDS}/beams/superkekb_y4s.yaml]
run: {{seed: 3, events: 2000, chunk_size: 1000, output: out.h5, workers: 1}}
dataset: {{name: t, luminosity_fb: 1.0}}
decays: {{enabled: false}}
processes:
  eemumu: {{generator: ee_eell}}
  eeee: {{generator: ee_eell, lepton: e}}
"""
    )
    summary = run(load_card(card), output=tmp_path / "o.h5", progress=False)
    procs = {p["name"]: p for p in summary.processes}
    for name in ("eemumu", "eeee"):
        # default cuts: 4.61 +- 0.02 nb (mu), 4.89 +- 0.03 nb (e) from 3e5 weighted points
        assert 3.5 < procs[name]["sigma_nb"] < 6.0
        assert 0 < procs[name]["sigma_err_nb"] < 0.05 * procs[name]["sigma_nb"]
    with open_events(summary.output) as f:
        batch = f.read_events()
    mc = batch["mc"]
    pid = batch.events["process_id"]
    k = 6  # two beams, then e-, e+ (beam-like), l-, l+
    assert np.all(np.diff(mc.offsets) == k)
    p4 = np.stack([mc["px"], mc["py"], mc["pz"], mc["e"]], axis=1).reshape(-1, k, 4)
    ids = mc["id"].reshape(-1, k)
    for proc_id in np.unique(pid):
        sel = pid == proc_id
        lid = 13 if np.all(ids[sel, 4] == 13) else 11
        assert np.all(ids[sel, 2:] == [11, -11, lid, -lid])
        pair = p4[sel, 4:]
        pt = np.hypot(pair[..., 0], pair[..., 1])
        th = np.degrees(np.arctan2(pt, pair[..., 2]))
        # the cut is applied with the nominal beams, the record has the energy spread: the
        # edges move by O(1e-3) relative
        assert np.all(pt > 0.1 * 0.99) and np.all((th > 17 - 0.2) & (th < 150 + 0.2))
        tot = pair.sum(axis=1)
        w = np.sqrt(tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1))
        assert np.all(w > 0.5 * 0.999)
        cm = lab_to_cm(p4[sel, 2:4], p4[sel, 0], p4[sel, 1])
        cos_em = cm[:, 0, 2] / np.linalg.norm(cm[:, 0, :3], axis=1)
        cos_ep = -cm[:, 1, 2] / np.linalg.norm(cm[:, 1, :3], axis=1)
        theta = np.degrees(np.arccos(np.clip(np.concatenate([cos_em, cos_ep]), -1, 1)))
        # measured: 95 % (mu) / 94 % (e) within 5 deg, medians 0.06 / 0.07 deg
        assert np.mean(theta < 5) > 0.85 and np.median(theta) < 0.5, (np.mean(theta < 5), np.median(theta))


@pytest.mark.parametrize("lepton", ["mu", "e"])
def test_card_checks(lepton: str) -> None:
    """A w_min above the kinematic limit and an empty polar-angle window are reported."""
    gen = EEEELL({"lepton": lepton, "w_min": 10.6}, _beams(), ParticleTable())
    assert [k for k, _ in gen.check()] == ["w_min"]
    gen = EEEELL({"lepton": lepton, "theta_min_deg": 160.0}, _beams(), ParticleTable())
    assert [k for k, _ in gen.check()] == ["theta_min_deg"]
    assert EEEELL({"lepton": lepton}, _beams(), ParticleTable()).check() == []
