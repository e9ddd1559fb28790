"""The heavy neutral lepton mixing with nu_tau (fastsim/models/hnl_tau.py) against independent
numbers.

- c*tau, partial widths and branching fractions at |U_tau|^2 = 1: the table of
  ../shared/reference/hnl_photon.md section 1.5 (FORESEE HNLCalc's formulas and constants, a
  Majorana N; computed there with mpmath for the electron), to 3 %;
- BR(tau -> pi N) / |U|^2: the "correct" row of hnl_photon.md section 0 item 1 (the bracket of
  HNLCalc's string fixed), to 2 %; at m_N -> 0 the four production channels against the PDG
  branching fractions of tau -> pi nu, K nu, pi pi0 nu, K*(892) nu, to 5 %;
- Gamma(N -> nu_tau l- l+) of a Dirac N from integrating the spin-averaged |M|^2 over the Dalitz
  plot with scipy (written here, not in the model), to 1 %, after checking the integration and
  the normalisation on muon decay (G_F^2 m^5 / (192 pi^3));
- L(x), f1, f2 for the electron against the printed (cancelling) form in 50-digit decimals;
- ``fastsim models hnl_tau ... --json`` (and ``--dirac``) against the model.

Units: GeV, cm, ns (c*tau in the table in m).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from fastsim.constants import G_FERMI, SIN2_THETA_W
from fastsim.models import get_model, model_for_pdg
from fastsim.models.hnl_tau import three_body_f1, three_body_f2
from fastsim.schema import CardError
from tests.conftest import run_cli, write_card

HNL = get_model("hnl_tau")
M_MU = 0.1056583755  # GeV, PDG 2024
M_E = 0.51099895e-3  # GeV, PDG 2024

#: hnl_photon.md section 1.5 at |U|^2 = 1: c*tau (m) Majorana and Dirac, BR(nu mu mu),
#: BR(nu e e), BR(3 nu); 1.0 GeV is the exclusive hadronic sum, 1.5 GeV the inclusive q qbar
TABLE = {
    0.5: {"ctau_maj": 2.98e-2, "ctau_dirac": 5.96e-2, "mumu": 0.0113, "ee": 0.0271, "nu3": 0.216},
    1.0: {"ctau_maj": 1.61e-3, "ctau_dirac": 3.21e-3, "mumu": 0.0377, "ee": 0.0468, "nu3": 0.372},
    1.5: {"ctau_maj": 1.96e-4, "ctau_dirac": 3.92e-4, "mumu": 0.0393, "ee": 0.0433, "nu3": 0.345},
}
#: hnl_photon.md section 0 item 1, BR(tau -> pi N) / |U|^2 with the correct formula
BR_TAU_PI_N = {0.3: 0.0975, 0.5: 0.0828, 0.7: 0.0637, 1.0: 0.0332, 1.2: 0.0163, 1.4: 0.00508, 1.5: 0.00192}
#: PDG 2024 tau branching fractions (tau- -> pi- nu, K- nu, pi- pi0 nu, K*(892)- nu)
PDG_TAU = {"pi-": 0.1082, "K-": 0.00696, "rho-": 0.2549, "K*-": 0.0120}


def _br(point, pick: Callable[[tuple[int, ...]], bool]) -> float:
    """Sum of the branching fractions of the final states ``pick`` selects."""
    return sum(w for fs, w in point.widths.items() if pick(fs)) / point.width_gev


def _is_nu_ll(lepton: int) -> Callable[[tuple[int, ...]], bool]:
    return lambda fs: len(fs) == 3 and abs(fs[0]) == 16 and fs[1:] == (lepton, -lepton)


def _is_three_nu(fs: tuple[int, ...]) -> bool:
    return len(fs) == 3 and all(abs(i) in (12, 14, 16) for i in fs)


# ------------------------------------------------------------------------------ lifetime, BRs
@pytest.mark.parametrize("mass", sorted(TABLE))
def test_ctau_against_hnlcalc_table(mass: float) -> None:
    """c*tau at |U|^2 = 1 (hnl_photon.md 1.5; 3 %), the Dirac N twice as long-lived."""
    maj, dirac = HNL(mass=mass, coupling=1.0), HNL(mass=mass, coupling=1.0, dirac=True)
    assert maj.ctau_cm / 100 == pytest.approx(TABLE[mass]["ctau_maj"], rel=0.03)
    assert dirac.ctau_cm / 100 == pytest.approx(TABLE[mass]["ctau_dirac"], rel=0.03)
    assert dirac.ctau_cm == pytest.approx(2 * maj.ctau_cm, rel=1e-12)
    # every width ~ |U|^2 (width_power = 1): c*tau ~ 1 / |U|^2
    small = HNL(mass=mass, coupling=1e-4)
    assert small.ctau_cm == pytest.approx(maj.ctau_cm * 1e4, rel=1e-12)
    assert maj.ctau_at(1e-4) == pytest.approx(small.ctau_cm, rel=1e-12)


@pytest.mark.parametrize("mass", sorted(TABLE))
def test_branching_fractions_against_hnlcalc_table(mass: float) -> None:
    """BR(nu mu mu), BR(nu e e), BR(3 nu) (hnl_photon.md 1.5; 3 % or 0.002 absolute), the same
    for a Dirac and a Majorana N."""
    want = TABLE[mass]
    for point in (HNL(mass=mass, coupling=1.0), HNL(mass=mass, coupling=1e-3, dirac=True)):
        assert _br(point, _is_nu_ll(13)) == pytest.approx(want["mumu"], rel=0.03, abs=0.002)
        assert _br(point, _is_nu_ll(11)) == pytest.approx(want["ee"], rel=0.03, abs=0.002)
        assert _br(point, _is_three_nu) == pytest.approx(want["nu3"], rel=0.03, abs=0.002)
        assert sum(point.branching_fractions().values()) == pytest.approx(1.0, abs=1e-12)


def test_partial_widths_against_hnlcalc_table() -> None:
    """Majorana partial widths / |U|^2 listed in hnl_photon.md 1.5 (3 digits: 1 %)."""
    for mass, nu_mumu, nu_pi0 in (
        (0.5, 7.46e-17, 4.94e-15),
        (1.0, 4.63e-15, 4.43e-14),
        (1.5, 3.96e-14, None),
    ):
        point = HNL(mass=mass, coupling=1.0)
        w = point.widths
        assert w[(16, 13, -13)] + w[(-16, 13, -13)] == pytest.approx(nu_mumu, rel=0.01)
        if nu_pi0 is not None:
            assert w[(16, 111)] + w[(-16, 111)] == pytest.approx(nu_pi0, rel=0.01)
    three_nu = sum(v for fs, v in HNL(mass=1.0, coupling=1.0).widths.items() if _is_three_nu(fs))
    assert three_nu == pytest.approx(4.57e-14, rel=0.01)
    assert three_nu == pytest.approx(G_FERMI**2 / (96 * math.pi**3), rel=1e-12)


def test_majorana_lists_both_neutrino_charges_and_the_dirac_one() -> None:
    """Majorana: every channel with nu_tau and with nubar_tau, half the width each, 2x the
    Dirac width; quark-level channels (above 1 GeV) as (q, qbar, nu_tau)."""
    for mass in (0.5, 1.5):
        maj, dirac = HNL(mass=mass, coupling=1e-3), HNL(mass=mass, coupling=1e-3, dirac=True)
        assert maj.width_gev == pytest.approx(2 * dirac.width_gev, rel=1e-12)
        for fs, w in dirac.widths.items():
            i = fs.index(16)
            image = (*fs[:i], -16, *fs[i + 1 :])
            assert maj.widths[fs] == maj.widths[image] == w
        assert len(maj.widths) == 2 * len(dirac.widths)
    quarks = [fs for fs in HNL(mass=1.5, coupling=1.0, dirac=True).widths if abs(fs[0]) <= 3]
    assert sorted(quarks) == [(1, -1, 16), (2, -2, 16), (3, -3, 16)]
    assert not [fs for fs in HNL(mass=1.0, coupling=1.0).widths if abs(fs[0]) <= 3]  # exclusive
    # the decay engine's matrix element for nu l+ l- (fastsim.decay_models)
    from fastsim.decay_models import SUPPORTED

    point = HNL(mass=1.0, coupling=1.0)
    assert point.decay_model((-16, 13, -13)) == "HNL_NU_LL"
    assert "HNL_NU_LL" in SUPPORTED
    assert point.decay_model((16, 111)) == "PHSP"
    assert model_for_pdg(-9900018) == "hnl_tau"


# ------------------------------------------------------------------------------ production
@pytest.mark.parametrize("mass", sorted(BR_TAU_PI_N))
def test_tau_to_pi_n_against_the_corrected_formula(mass: float) -> None:
    """BR(tau- -> pi- N) / |U|^2 (hnl_photon.md section 0, "correct" row; 2 %), linear in
    |U|^2 and the same for a Dirac N."""
    br = HNL(mass=mass, coupling=1e-3).production()["tau- -> pi- N"] / 1e-3
    assert br == pytest.approx(BR_TAU_PI_N[mass], rel=0.02)
    dirac = HNL(mass=mass, coupling=1.0, dirac=True).production()["tau- -> pi- N"]
    assert dirac == pytest.approx(br, rel=1e-12)


def test_production_at_vanishing_mass_is_the_sm_tau_decays() -> None:
    """m_N -> 0, |U|^2 = 1: tau -> h N is tau -> h nu_tau: PDG BRs to 5 % (no radiative or
    finite-width corrections in the model); channels close at m_tau - m_h."""
    prod = HNL(mass=1e-4, coupling=1.0).production()
    for h, want in PDG_TAU.items():
        assert prod[f"tau- -> {h} N"] == pytest.approx(want, rel=0.05), h
    high = HNL(mass=1.2, coupling=1.0).production()
    assert high["tau- -> rho- N"] == high["tau- -> K*- N"] == 0.0
    assert high["tau- -> pi- N"] > 0 and high["tau- -> K- N"] > 0


def test_check_refuses_masses_without_production() -> None:
    """m_N >= m_tau - m_pi: no tau -> pi N (and N -> tau X would open): refused."""
    assert HNL(mass=1.6, coupling=1e-3).check() == []
    (key, reason), *_ = HNL(mass=1.64, coupling=1e-3).check()
    assert key == "mass" and "m_tau - m_pi" in reason
    with pytest.raises(CardError, match="m_tau - m_pi"):
        HNL.from_card({"mass": 1.7, "coupling": 1e-3})
    with pytest.raises(CardError, match="must be > 0"):
        HNL(mass=0.0, coupling=1e-3)
    with pytest.raises(CardError, match="must be <= 1"):
        HNL(mass=1.0, coupling=1.5)


# ------------------------------------------------------------------------------ three-body width
def _dalitz_width(m: float, m_l: float, g_l: float, g_r: float) -> float:
    """Gamma(N -> nu l- l+) / (G_F^2 |U|^2) (GeV^5) of a Dirac N of mass ``m`` (GeV):
    1/(2m) int |M|^2 dPhi_3, dPhi_3 = ds12 ds23 / (128 pi^3 m^2), with 1 = nu (massless),
    2 = l-, 3 = l+ and |M|^2 / (64 G_F^2 |U|^2) = g_L^2 (pN.p3)(p1.p2) + g_R^2 (pN.p2)(p1.p3)
    + g_L g_R m_l^2 (pN.p1) (the task's matrix element, normalised as in muon decay)."""
    m1, m2, m3 = 0.0, m_l, m_l

    def msq(s23: float, s12: float) -> float:
        s13 = m * m + m1 * m1 + m2 * m2 + m3 * m3 - s12 - s23
        pn_p1 = (m * m + m1 * m1 - s23) / 2
        pn_p2 = (m * m + m2 * m2 - s13) / 2
        pn_p3 = (m * m + m3 * m3 - s12) / 2
        p1_p2 = (s12 - m1 * m1 - m2 * m2) / 2
        p1_p3 = (s13 - m1 * m1 - m3 * m3) / 2
        return 64 * (g_l * g_l * pn_p3 * p1_p2 + g_r * g_r * pn_p2 * p1_p3 + g_l * g_r * m_l * m_l * pn_p1)

    def s23_range(s12: float) -> tuple[float, float]:
        # PDG "Kinematics" (Dalitz plot limits): energies of 2 and 3 in the (12) rest frame
        root = math.sqrt(max(s12, 1e-300))
        e2 = (s12 - m1 * m1 + m2 * m2) / (2 * root)
        e3 = (m * m - s12 - m3 * m3) / (2 * root)
        q2 = math.sqrt(max(e2 * e2 - m2 * m2, 0.0))
        q3 = math.sqrt(max(e3 * e3 - m3 * m3, 0.0))
        return (e2 + e3) ** 2 - (q2 + q3) ** 2, (e2 + e3) ** 2 - (q2 - q3) ** 2

    integral, err = integrate.dblquad(
        msq,
        (m1 + m2) ** 2,
        (m - m3) ** 2,
        lambda s: s23_range(s)[0],
        lambda s: s23_range(s)[1],
        epsabs=0.0,
        epsrel=1e-9,
    )
    assert err <= 1e-6 * abs(integral)
    return integral / (2 * m) / (128 * math.pi**3 * m * m)


def test_dalitz_integration_reproduces_muon_decay() -> None:
    """g_L = 1, g_R = 0, massless: the muon-decay width G_F^2 m^5 / (192 pi^3) (1e-6)."""
    for m in (0.5, 1.5):
        assert _dalitz_width(m, 0.0, 1.0, 0.0) == pytest.approx(m**5 / (192 * math.pi**3), rel=1e-6)
    # the interference term alone, small-mass limit: 8 x^2 of the same (BBGR's f2 -> 8 x^2)
    m, ml = 10.0, 1e-3
    assert _dalitz_width(m, ml, 1.0, 1.0) - _dalitz_width(m, ml, 1.0, 0.0) - _dalitz_width(
        m, ml, 0.0, 1.0
    ) == pytest.approx(8 * (ml / m) ** 2 * m**5 / (192 * math.pi**3), rel=1e-4)


@pytest.mark.parametrize("mass", [0.5, 1.0, 1.5])
def test_nu_ll_width_against_dalitz_integration(mass: float) -> None:
    """The model's Dirac Gamma(N -> nu_tau l- l+) (16, l, -l) at |U|^2 = 1 against the
    numerical integration of |M|^2 (Z exchange: g_L = -1/2 + s_W^2, g_R = s_W^2), 1 %."""
    g_l, g_r = -0.5 + SIN2_THETA_W, SIN2_THETA_W
    point = HNL(mass=mass, coupling=1.0, dirac=True)
    for lepton, m_l in ((13, M_MU), (11, M_E)):
        want = G_FERMI**2 * _dalitz_width(mass, m_l, g_l, g_r)
        assert point.widths[(16, lepton, -lepton)] == pytest.approx(want, rel=0.01), lepton


def test_three_body_functions_against_high_precision_printed_form() -> None:
    """f1, f2 with L(x) in the printed form (1 - 3x^2 - (1 - x^2) sqrt(1 - 4x^2) cancels to
    O(x^6)) evaluated in 50-digit decimals, for the electron and the muon (1e-9)."""

    def printed(x: float) -> tuple[float, float]:
        with localcontext() as ctx:
            ctx.prec = 50
            x = Decimal(x)
            x2 = x * x
            r = (1 - 4 * x2).sqrt()
            big_l = ((1 - 3 * x2 - (1 - x2) * r) / (x2 * (1 + r))).ln()
            f1 = (1 - 14 * x2 - 2 * x2**2 - 12 * x2**3) * r + 12 * x2**2 * (x2**2 - 1) * big_l
            f2 = 4 * (x2 * (2 + 10 * x2 - 12 * x2**2) * r + 6 * x2**2 * (1 - 2 * x2 + 2 * x2**2) * big_l)
            return float(f1), float(f2)

    for x in (M_E / 1.5, M_E / 0.3, 1e-5, M_MU / 1.0, M_MU / 0.25, 0.45):
        f1, f2 = printed(x)
        assert three_body_f1(x) == pytest.approx(f1, rel=1e-9), x
        assert three_body_f2(x) == pytest.approx(f2, rel=1e-9), x
    assert three_body_f1(0.5) == three_body_f2(0.5) == 0.0


# ------------------------------------------------------------------------------ command line, card
def test_models_cli_json_and_dirac_flag() -> None:
    """``fastsim models hnl_tau --mass 1.0 --coupling 1e-3 --json``: c*tau of the model (1.61 m,
    hnl_photon.md 1.5); ``--dirac`` (and ``--set dirac=true``) doubles it."""
    base = ("models", "hnl_tau", "--mass", "1.0", "--coupling", "1e-3", "--json")
    infos = []
    for extra in ((), ("--dirac",), ("--set", "dirac=true")):
        r = run_cli(*base, *extra)
        assert r.returncode == 0, r.stderr
        infos.append(json.loads(r.stdout))
    maj, dirac, dirac_set = infos
    assert maj["ctau_cm"] == pytest.approx(HNL(mass=1.0, coupling=1e-3).ctau_cm, rel=1e-12)
    assert maj["ctau_cm"] / 100 == pytest.approx(1.61, rel=0.03)
    assert dirac["parameters"]["dirac"] is True and maj["parameters"]["dirac"] is False
    assert dirac["ctau_cm"] == pytest.approx(2 * maj["ctau_cm"], rel=1e-12)
    assert dirac_set["ctau_cm"] == dirac["ctau_cm"]
    assert maj["production"]["tau- -> pi- N"] == pytest.approx(0.0332e-3, rel=0.02)
    assert maj["particle"] == {"pdg": 9900018, "name": "N", "spin": 0.5}
    bad = run_cli("models", "hnl_tau", "--mass", "1.0", "--coupling", "1e-3", "--diracc")
    assert bad.returncode == 2 and "unknown key 'diracc'" in bad.stderr


_CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 5, events: {events}, chunk_size: {events}, output: out.h5}}
dataset: {{name: t, luminosity_fb: 1.0}}
detector: {{enabled: false}}
trigger: {{enabled: false}}
reco: {{enabled: false}}
models:
  hnl_tau: {{mass: {mass}, coupling: 1.0e-3}}
processes:
  gun: {{generator: particle_gun, pdg: 9900018, p_min: 1.0, p_max: 1.0}}
"""


def _run_gun(tmp_path: Path, mass: float, events: int) -> tuple[dict, np.ndarray]:
    from fastsim.cards import load_card
    from fastsim.io import open_events
    from fastsim.run import run

    card = load_card(write_card(tmp_path, _CARD.format(mass=mass, events=events)))
    run(card, output=tmp_path / "out.h5", workers=1, progress=False)
    with open_events(tmp_path / "out.h5") as f:
        mc = next(f.iter_chunks(10 * events))["mc"]
    return card["particles"][9900018], mc


def test_card_model_point_decays_in_the_engine(tmp_path: Path) -> None:
    """m_N = 0.5 GeV (exclusive channels): the card's models section gives the engine the
    model's c*tau and decay table (nu l l with HNL_NU_LL); every N decays, ~75 % to nu pi0."""
    entry, mc = _run_gun(tmp_path, 0.5, 2000)
    point = HNL(mass=0.5, coupling=1e-3)
    assert entry["ctau"] == pytest.approx(point.ctau_cm, rel=1e-12)
    models = {tuple(d["daughters"]): d["model"] for d in entry["decays"]}
    assert models[(16, 13, -13)] == models[(-16, 11, -11)] == "HNL_NU_LL"
    n = np.flatnonzero(mc["id"] == 9900018)
    assert len(n) == 2000 and np.all(mc["status"][n] == 2)
    pi0_from_n = np.isin(mc["mother1"][mc["id"] == 111], n).sum()
    want = point.branching_fraction((16, 111)) + point.branching_fraction((-16, 111))
    assert pi0_from_n / len(n) == pytest.approx(want, abs=0.04)  # 2000 decays: +-0.01


def test_card_model_point_with_quark_lines_decays_in_the_engine(tmp_path: Path) -> None:
    """m_N = 1.5 GeV (inclusive nu q qbar through Pythia 8): every N decays."""
    _, mc = _run_gun(tmp_path, 1.5, 300)
    n = np.flatnonzero(mc["id"] == 9900018)
    assert len(n) == 300 and np.all(mc["status"][n] == 2)
    assert np.isin(np.abs(mc["id"]), [211, 111]).any()
