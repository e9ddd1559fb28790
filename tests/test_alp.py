"""The axion-like particle: model ``alp`` and generator ``ee_gamma_alp`` (e+e- -> gamma a,
a -> gamma gamma).

Independent checks:
* Gamma(a -> gamma gamma) from the vertex g eps^{mu nu rho sigma} k1_rho k2_sigma contracted
  numerically (Levi-Civita tensor, polarisation sums -g) and the two-body width formula, against
  the model's g^2 m^3 / (64 pi);
* the production |M|^2 against a trace evaluation (Dirac matrices, the electron mass kept);
* sigma(e+e- -> gamma a) of the generator (no ISR, no vacuum polarisation, no beam-energy spread)
  against alpha g^2 / 24 (1 - m^2/s)^3 and the numbers of physics.md section 6a;
* the recoil photon's CM polar angle against 1 + cos^2 theta, the a decay isotropic, m(gamma
  gamma) = m_a, sigma ~ g^2, the ``fastsim models alp`` command line.

Units: GeV, cm; cross sections in nb.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from fastsim import kinematics
from fastsim.beams import BeamSetup, lab_to_cm
from fastsim.constants import ALPHA_EM, GEV2_TO_NB, HBARC_GEV_CM
from fastsim.events import STATUS_DECAYED
from fastsim.generators.ee_gamma_alp import EEGammaALP, me2_gamma_alp_production
from fastsim.models.alp import ALP, sigma_ee_gamma_a_nb
from fastsim.particles import ParticleTable
from tests.conftest import run_cli

ALP_ID = ALP.particle.pdg
METRIC = np.diag([-1.0, -1.0, -1.0, 1.0])  # components ordered (px, py, pz, E)


def _levi_civita() -> np.ndarray:
    """eps^{abcd} in the (px, py, pz, E) component order, eps^{E x y z} = +1."""
    eps = np.zeros((4, 4, 4, 4))
    order = (3, 0, 1, 2)  # (t, x, y, z) -> component index
    for perm in itertools.permutations(range(4)):
        sign = np.linalg.det(np.eye(4)[list(perm)])
        eps[tuple(order[i] for i in perm)] = sign
    return eps


EPS = _levi_civita()


def vertex_tensor(k1: np.ndarray, k2: np.ndarray, g: float) -> np.ndarray:
    """V^{mu nu} = g eps^{mu nu rho sigma} k1_rho k2_sigma (n, 4, 4) (upper indices)."""
    return g * np.einsum("abcd,nc,nd->nab", EPS, k1 @ METRIC, k2 @ METRIC)


def beams_no_spread() -> BeamSetup:
    from fastsim.cards import load_card
    from tests.conftest import CARDS

    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    return BeamSetup.from_card(beam)


def generator(mass: float, coupling: float = 1e-3, **kw: object) -> EEGammaALP:
    cfg = {"mass": mass, "coupling": coupling, "isr": False, "vacuum_polarization": False, **kw}
    return EEGammaALP(cfg, beams_no_spread(), ParticleTable())


def record(batch, n_rows: int = 6) -> dict[str, np.ndarray]:
    """The MC record as (n, n_rows) arrays (no ISR, no FSR: e-, e+, gamma, a, gamma, gamma)."""
    mc = batch["mc"]
    assert np.all(np.diff(mc.offsets) == n_rows)
    return {k: np.asarray(mc[k]).reshape(-1, n_rows) for k in ("id", "status", "px", "py", "pz", "e")}


def p4(rec: dict[str, np.ndarray], j: int) -> np.ndarray:
    return np.stack([rec["px"][:, j], rec["py"][:, j], rec["pz"][:, j], rec["e"][:, j]], axis=1)


# ------------------------------------------------------------------------------ model
@pytest.mark.parametrize(("mass", "g"), [(0.2, 1e-3), (1.0, 1e-3), (7.0, 3e-4)])
def test_width_against_the_vertex_contracted_numerically(mass: float, g: float) -> None:
    # a at rest -> gamma(k1) gamma(k2) along a random axis
    rng = np.random.default_rng(1)
    d = kinematics.isotropic_directions(5, rng) * (mass / 2)
    k1 = np.column_stack([d, np.full(5, mass / 2)])
    k2 = np.column_stack([-d, np.full(5, mass / 2)])
    v = vertex_tensor(k1, k2, g)
    # sum over both photon polarisations with -g each: V^{ab} V^{cd} g_ac g_bd
    m2 = np.einsum("nab,ac,bd,ncd->n", v, METRIC, METRIC, v)
    assert np.allclose(m2, g * g * mass**4 / 2, rtol=1e-12)
    # PDG "Kinematics" 49.4.2: Gamma = S |M|^2 |p*| / (8 pi m^2), S = 1/2 (identical photons)
    width = 0.5 * m2[0] * (mass / 2) / (8 * math.pi * mass**2)
    model = ALP(mass=mass, coupling=g)
    assert model.width_gev == pytest.approx(width, rel=1e-12)
    assert model.branching_fractions() == {"gamma gamma": 1.0}
    assert model.ctau_cm == pytest.approx(HBARC_GEV_CM / width, rel=1e-12)


def test_ctau_and_production_numbers_of_physics_md() -> None:
    # physics.md 6a [V-num]: c*tau = 5e-6 m at m = 0.2 GeV, 4e-8 m at 1 GeV (g = 1e-3 GeV^-1)
    assert ALP(mass=0.2, coupling=1e-3).ctau_cm * 1e-2 == pytest.approx(5e-6, rel=0.01)
    assert ALP(mass=1.0, coupling=1e-3).ctau_cm * 1e-2 == pytest.approx(4e-8, rel=0.01)
    # 0.118 pb for m << sqrt(s) (sqrt(s) = 10.58 GeV), 0.056 pb at 5 GeV (1e-3 nb = 1 pb)
    s = 10.58**2
    assert sigma_ee_gamma_a_nb(s, 1e-3, 1e-3) * 1e3 == pytest.approx(0.118, abs=0.0005)
    assert sigma_ee_gamma_a_nb(s, 5.0, 1e-3) * 1e3 == pytest.approx(0.056, rel=0.015)
    assert sigma_ee_gamma_a_nb(s, 11.0, 1e-3) == 0.0


def test_models_cli() -> None:
    r = run_cli("models", "alp", "--mass", "1", "--coupling", "1e-3", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["model"] == "alp" and info["particle"]["pdg"] == ALP_ID
    assert info["width_gev"] == pytest.approx(1e-6 / (64 * math.pi), rel=1e-9)
    assert info["branching_fractions"] == {"gamma gamma": 1.0}
    assert info["ctau_cm"] == pytest.approx(4e-6, rel=0.01)
    (sigma,) = info["production"].values()
    assert sigma * 1e3 == pytest.approx(0.118 * (1 - 1 / 10.58**2) ** 3, rel=0.01)
    bad = run_cli("models", "alp", "--mass", "1", "--coupling", "-1")
    assert bad.returncode != 0 and "coupling" in bad.stderr


# ------------------------------------------------------------------------------ amplitude
def test_production_me2_against_the_trace() -> None:
    """(1/4) (e/s)^2 L^{mu mu'} H_{mu mu'}: L = Tr[(p2 - m_e) gamma^mu (p1 + m_e) gamma^mu'],
    H from the vertex V^{mu nu}(q, k) and the photon polarisation sum -g_{nu nu'}."""
    g = generator(2.0, coupling=0.3)
    pts = g._points(300, np.random.default_rng(4))
    p, big_m = pts["p_cm"], np.sqrt(pts["s"])
    p1, p2 = g.incoming(big_m)
    k = p[:, 0]
    mine = me2_gamma_alp_production(p, big_m, g.g)
    # Dirac matrices (Dirac basis), gamma^mu in (x, y, z, t) order to match the components
    i2, z2 = np.eye(2), np.zeros((2, 2))
    sig = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
    gam = [np.block([[z2, s], [-s, z2]]).astype(complex) for s in sig]
    gam.append(np.block([[i2, z2], [z2, -i2]]).astype(complex))

    def slash(v: np.ndarray) -> np.ndarray:
        return sum(np.einsum("n,ij->nij", (v @ METRIC)[:, a], gam[a]) for a in range(4))

    one = np.eye(4)
    lt = np.empty((len(k), 4, 4), complex)
    for a in range(4):
        for b in range(4):
            prod = (slash(p2) - g.m_e * one) @ gam[a] @ (slash(p1) + g.m_e * one) @ gam[b]
            lt[:, a, b] = np.trace(prod, axis1=1, axis2=2)
    v = vertex_tensor(p1 + p2, k, g.g)
    h = -np.einsum("nab,bd,ncd->nac", v, METRIC, v)  # H^{a c} = V^{ab} V^{cd} (-g_bd)
    e2 = 4 * math.pi * ALPHA_EM
    ref = 0.25 * e2 / big_m**4 * np.einsum("nab,ac,bd,ncd->n", lt, METRIC, METRIC, h).real
    assert np.allclose(mine, ref, rtol=1e-6)
    # and the CM form e^2 g^2 s/8 (1 - m^2/s)^2 (1 + cos^2 theta)
    c = k[:, 2] / k[:, 3]
    cm = e2 * g.g**2 * big_m**2 / 8 * (1 - g.mx**2 / big_m**2) ** 2 * (1 + c * c)
    assert np.allclose(mine, cm, rtol=1e-10)


# ------------------------------------------------------------------------------ generator
@pytest.mark.parametrize("mass", [0.5, 5.0])
def test_cross_section_against_the_closed_form(mass: float) -> None:
    g = generator(mass)
    _, tally = g.generate(20_000, np.random.default_rng(11))
    sigma, err = tally.sigma_nb, tally.sigma_err_nb
    s = g.beams.sqrt_s**2
    ref = ALPHA_EM * 1e-6 / 24 * (1 - mass**2 / s) ** 3 * GEV2_TO_NB
    assert err / sigma < 0.003
    assert abs(sigma - ref) < 3 * err and abs(sigma / ref - 1) < 0.01, (sigma, err, ref)
    # physics.md 6a: 0.118 pb (m << sqrt(s)), 0.056 pb (m = 5 GeV); rounded to 2 digits
    assert sigma * 1e3 == pytest.approx(0.118 if mass < 1 else 0.056, rel=0.015)


def test_sigma_scales_as_g_squared() -> None:
    sig = [
        generator(1.0, coupling=c).generate(2000, np.random.default_rng(2))[1].sigma_nb for c in (1e-3, 3e-2)
    ]
    assert sig[1] / sig[0] == pytest.approx(900.0, rel=1e-9)


def test_angular_distribution_mass_peak_and_isotropic_decay() -> None:
    g = generator(3.0)
    batch, _ = g.generate(30_000, np.random.default_rng(5))
    rec = record(batch)
    n = len(rec["id"])
    assert np.all(rec["id"][:, 2:] == [22, ALP_ID, 22, 22])
    assert np.all(rec["status"][:, 3] == STATUS_DECAYED)
    her, ler = p4(rec, 0), p4(rec, 1)
    lab = np.stack([p4(rec, j) for j in (2, 3, 4, 5)], axis=1)
    cm = lab_to_cm(lab, her, ler)
    # m(gamma gamma) of the a's photons = m_a, and the a is their sum
    m_gg = kinematics.invariant_mass(lab[:, 2] + lab[:, 3])
    assert np.allclose(m_gg, 3.0, rtol=1e-9, atol=1e-9)
    assert np.allclose(lab[:, 1], lab[:, 2] + lab[:, 3], atol=1e-9)
    # recoil photon: 1 + cos^2 theta; <cos^2> = 2/5 (isotropic: 1/3), var(cos^2) = 9/35 - 4/25
    c = cm[:, 0, 2] / kinematics.momentum(cm[:, 0])
    se = math.sqrt((9 / 35 - 4 / 25) / n)
    assert abs(np.mean(c * c) - 0.4) < 4 * se
    # chi2 of 10 bins against int (1 + c^2) dc / (8/3)
    edges = np.linspace(-1, 1, 11)
    cdf = (edges + edges**3 / 3 + 4 / 3) / (8 / 3)
    expected = n * np.diff(cdf)
    counts, _ = np.histogram(c, edges)
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 33.7, chi2  # chi2(10 dof) p = 2e-4
    # a -> gamma gamma isotropic in the a rest frame: <cos^2> = 1/3 w.r.t. the a direction
    rest = kinematics.boost_to_rest_frame(cm[:, 2], cm[:, 1])
    ca = np.sum(rest[:, :3] * cm[:, 1, :3], axis=1) / (
        kinematics.momentum(rest) * kinematics.momentum(cm[:, 1])
    )
    assert abs(np.mean(ca * ca) - 1 / 3) < 4 * math.sqrt((1 / 5 - 1 / 9) / n)
    # the a decays promptly at this coupling (c tau ~ 1e-7 cm)
    assert g.ctau_cm == pytest.approx(g.model.ctau_cm) and g.ctau_cm < 1e-6


def test_cos_theta_cut_isr_vp_and_the_card_point() -> None:
    g = generator(1.0, cos_theta_max=0.8)
    pts = g._points(5000, np.random.default_rng(6))
    p = pts["p_cm"][pts["w"] > 0]
    assert len(p) > 1000
    assert np.all(np.abs(p[:, :, 2] / kinematics.momentum(p)) < 0.8)
    # ISR on: s_hat stays above m_a^2
    g_isr = generator(9.0, isr=True, vacuum_polarization=True)
    pts = g_isr._points(5000, np.random.default_rng(7))
    hard = kinematics.invariant_mass2(pts["p_cm"].sum(axis=1))
    assert np.all(hard[pts["w"] > 0] > 81.0)
    desc = g_isr.describe()
    assert (desc["signal_model"], desc["x_pdg"], desc["mass_gev"], desc["coupling"]) == (
        "alp",
        ALP_ID,
        9.0,
        1e-3,
    )
    # the point from the card's models: section
    table = ParticleTable()
    table.models[ALP_ID] = ("alp", {"mass": 0.7, "coupling": 2e-3})
    g_card = EEGammaALP({"isr": False}, beams_no_spread(), table)
    assert (g_card.mx, g_card.g) == (0.7, 2e-3)
    with pytest.raises(ValueError, match="alp point"):
        EEGammaALP({"isr": False}, beams_no_spread(), ParticleTable())
