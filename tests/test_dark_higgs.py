"""The dark Higgs model (fastsim/models/dark_higgs.py, issue #19 item 1) against independent
numbers: the lepton formula with PDG masses, Winkler's widths as scalar_portal interpolates
them and FORESEE's branching fraction (../shared/reference/bphysics.md 2.2-2.4), the SM Higgs
gluon-width formula, and the B -> K(*) S rates of scalar_portal (physics.md 3a)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from particle import Particle

from fastsim.constants import G_FERMI
from fastsim.models.dark_higgs import DarkHiggs, winkler_width
from fastsim.models.muonphilic_scalar import a_half
from fastsim.models.qcd import alpha_s


def test_lepton_width_and_lifetime_at_0p25_gev() -> None:
    """m_S = 0.25 GeV (below 2 m_pi): Gamma/theta^2 = m_mu^2 m (1 - 4 m_mu^2/m^2)^(3/2) /
    (8 pi v^2) = 2.79e-10 GeV and c tau(theta = 1) = 7.06e-7 m (bphysics.md 2.3-2.4)."""
    s = DarkHiggs(mass=0.25, coupling=1.0)
    m_mu = Particle.from_pdgid(13).mass / 1e3
    v2 = 1 / (math.sqrt(2) * G_FERMI)
    expect = m_mu**2 * 0.25 * (1 - 4 * m_mu**2 / 0.25**2) ** 1.5 / (8 * math.pi * v2)
    assert s.widths[(-13, 13)] == pytest.approx(expect, rel=1e-12)
    assert s.widths[(-13, 13)] == pytest.approx(2.79e-10, rel=0.01)
    assert s.ctau_cm == pytest.approx(7.06e-5, rel=0.01)
    assert DarkHiggs(mass=0.25, coupling=1e-3).ctau_cm == pytest.approx(7.06e-5 * 1e6, rel=0.01)


@pytest.mark.parametrize(
    ("channel", "m", "ref"),
    [("pipi", 0.30, 2.84e-9), ("pipi", 0.50, 2.21e-8), ("pipi", 0.80, 8.23e-8), ("pipi", 1.50, 3.45e-9),
     ("KK", 1.20, 8.86e-8), ("KK", 1.50, 8.40e-8), ("KK", 2.00, 3.49e-8)],
)  # fmt: skip
def test_winkler_widths_as_scalar_portal_interpolates_them(channel: str, m: float, ref: float) -> None:
    """bphysics.md 2.2 (scalar_portal's linear interpolation), away from the f0(980) edge: 1 %."""
    assert winkler_width(channel, m) == pytest.approx(ref, rel=0.01)


def test_pipi_branching_plateau_against_foresee() -> None:
    """BR(S -> pi pi) = 0.890 at 0.508 GeV in FORESEE's DarkHiggs tables [V, bphysics.md 2.3]."""
    s = DarkHiggs(mass=0.508, coupling=1e-3)
    br = s.branching_fraction((211, -211)) + s.branching_fraction((111, 111))
    assert br == pytest.approx(0.890, abs=0.015)
    assert s.branching_fraction((211, -211)) == pytest.approx(2 * s.branching_fraction((111, 111)), rel=1e-12)


def test_total_width_is_continuous_where_perturbative_qcd_takes_over() -> None:
    lo, hi = DarkHiggs(mass=1.9999, coupling=1.0), DarkHiggs(mass=2.0001, coupling=1.0)
    assert lo.width_gev == pytest.approx(hi.width_gev, rel=0.01)
    assert any(len(k) == 4 for k in lo.widths) and (21, 21) in hi.widths and (3, -3) in hi.widths


def test_gluon_width_against_the_higgs_formula() -> None:
    """Gamma(S -> g g) = G_F alpha_s^2 m^3 / (36 sqrt(2) pi^3) |sum_q (3/4) A_1/2|^2 K (the SM
    Higgs form, hep-ph/0503172 eq. 2.44 with its NLO factor): a second route to the model's
    (alpha_s / 4 pi)^2 |sum A|^2 m^3 / (8 pi v^2) K."""
    m = 3.0
    s = DarkHiggs(mass=m, coupling=1.0)
    a_s = float(alpha_s(m))
    amp = sum(0.75 * a_half(m * m / (4 * (Particle.from_pdgid(q).mass / 1e3) ** 2)) for q in (4, 5, 6))
    k = 1 + (95 / 4 - 7 * 4 / 6) * a_s / math.pi
    expect = G_FERMI * a_s**2 * m**3 / (36 * math.sqrt(2) * math.pi**3) * abs(amp) ** 2 * k
    assert s.widths[(21, 21)] == pytest.approx(expect, rel=1e-9)


@pytest.mark.parametrize(
    ("mode", "m", "ref"),
    [("B+ -> K+ S", 0.3, 0.46), ("B+ -> K+ S", 1.0, 0.47), ("B+ -> K+ S", 2.0, 0.49), ("B+ -> K+ S", 4.0, 0.55),
     ("B0 -> K*0 S", 0.5, 0.52), ("B0 -> K*0 S", 2.0, 0.51), ("B0 -> K*0 S", 4.0, 0.24)],
)  # fmt: skip
def test_b_to_k_s_against_scalar_portal(mode: str, m: float, ref: float) -> None:
    """BR / sin^2 theta of scalar_portal (physics.md 3a, m_t = 174 GeV, |V_ts| = 0.0394,
    V_tb = 1.019), rescaled by (xi_bs / xi_bs^ref)^2 to this model's m_t and CKM: 5 %
    (form-factor parametrisations and rounding of the table)."""
    s = DarkHiggs(mass=m, coupling=1.0)
    xi_ref = 3 * math.sqrt(2) * G_FERMI * 174.0**2 * 1.019 * 0.0394 / (16 * math.pi**2)
    assert s.production()[mode] == pytest.approx(ref * (s.xi_bs() / xi_ref) ** 2, rel=0.05)


def test_models_cli_prints_production_and_lifetime() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fastsim", "models", "dark_higgs", "--mass", "1.0", "--coupling", "1e-3", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    info = json.loads(out.stdout)
    text = json.dumps(info)
    assert "B+ -> K+ S" in text and "ctau" in text


def _gun_card(tmp_path, mass: float):
    from fastsim.cards import load_card
    from tests.conftest import CARDS

    path = tmp_path / "c.yaml"
    path.write_text(
        f"include: [{CARDS}/detectors/belle2.yaml, {CARDS}/beams/superkekb_y4s.yaml]\n"
        "run: {seed: 1, events: 400, chunk_size: 400, output: s.h5}\n"
        "dataset: {name: t, luminosity_fb: 1}\n"
        f"models:\n  dark_higgs: {{mass: {mass}, coupling: 1.0e-3}}\n"
        "processes:\n  gun: {generator: particle_gun, pdg: 9900027, p_min: 1.0, p_max: 3.0}\n"
    )
    return load_card(path)


def _s_decays(card):
    """(S rows, their daughters' ids as lists, sum of the daughters' four-momenta - S's)."""
    import numpy as np

    from fastsim.pipeline import _Context, plan_chunks, run_chunk

    batch, _ = run_chunk(_Context(card), plan_chunks(card)[0])
    mc = batch["mc"]
    rows = np.flatnonzero(mc["id"] == 9900027)
    base = mc.offsets[mc.event_index()[rows]]
    d1, d2 = base + mc["daughter1"][rows], base + mc["daughter2"][rows]
    dau = [mc["id"][a : b + 1].tolist() for a, b in zip(d1, d2, strict=True)]
    p4 = np.stack([mc[f] for f in ("px", "py", "pz", "e")], axis=1)
    miss = np.array([p4[a : b + 1].sum(axis=0) for a, b in zip(d1, d2, strict=True)]) - p4[rows]
    final = mc["id"][mc["status"] == 1]
    return batch, rows, dau, miss, final


def test_chain_decays_s_by_the_model_below_and_through_pythia_above_two_gev(tmp_path) -> None:
    """At 1 GeV the card's S decays by the model's table (pi+ pi- 0.581); at 3 GeV its g g and
    s sbar lines (BR 0.96) go to Pythia 8 (meMode 91: shower and hadronisation) and mu mu (0.040)
    stays with the engine: no parton in the record, four-momentum conserved in every S decay."""
    import numpy as np

    batch, rows, dau, miss, final = _s_decays(_gun_card(tmp_path, 1.0))
    assert len(rows) == batch.n_events and not np.isin(np.abs(final), [1, 2, 3, 4, 5, 6, 21]).any()
    pipi = np.array([sorted(d) == [-211, 211] for d in dau])
    assert pipi.mean() == pytest.approx(0.581, abs=0.05)  # 400 events: +-0.025
    batch, rows, dau, miss, final = _s_decays(_gun_card(tmp_path, 3.0))
    assert len(rows) == batch.n_events and not np.isin(np.abs(final), [1, 2, 3, 4, 5, 6, 21]).any()
    np.testing.assert_allclose(miss, 0.0, atol=1e-6)
    mumu = np.array([sorted(d) == [-13, 13] for d in dau])
    hadronic = np.array([len(d) >= 2 and not any(abs(x) in (11, 13, 15) for x in d) for d in dau])
    assert mumu.mean() == pytest.approx(0.040, abs=0.03)
    assert hadronic.mean() == pytest.approx(0.96, abs=0.04)
