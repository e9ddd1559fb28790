"""fastsim ``ee_tautau`` (decays on, pi0 stable) against Pythia 8 in the same test run.

Both programs: 7 GeV e- on 4 GeV e+ head on, no energy spread, ISR, QED FSR off the taus,
gamma + Z exchange, alpha(0) (fastsim ``vacuum_polarization: false``; Pythia
``SigmaProcess:alphaEMorder = 0``), tau-pair mass after ISR > 3.6 GeV; Pythia's settings are
those of :func:`benchmarks.tau_reference.pythia_settings` (hard process
``WeakSingleBoson:ffbar2gmZ``: the 2 -> 2 ``ffbar2ffbar(s:gmZ)`` gets the tau-mass terms of
the angular distribution wrong and is 2.6 % low, see that module).  Observables in the e+e- CM frame,
computed by the same code for both (:mod:`benchmarks.tau_reference`): the channel of each tau
from its final content, x = E_vis / E_beam, m(pi pi0), m(pi+ pi-) of the 3-prong a1, the
correlation of x+ and x- in pi-pi and pi-rho events, and the cross section.

Pythia samples (fixed seeds):

* single-tau observables: ``TauDecays:mode = 3`` (uncorrelated, unpolarised decays with the
  same decay matrix elements), 25k events.  Pythia's correlated mode 1 runs at ~45 events/s
  here (mode 3: ~700/s); the single-tau spectra do not depend on the correlation and the
  tau polarisation at 10.58 GeV is < 1.5e-3, which :func:`test_pythia_mode1_marginals_equal_mode3`
  checks on the mode-1 samples;
* the x+ x- correlations: ``TauDecays:mode = 1`` with both decays forced (``onIfMatch`` /
  ``onPosIfMatch`` / ``onNegIfMatch``): pi- pi+ (1000 events), pi- rho+ and rho- pi+ (600
  each);
* the cross section: 1e5 events with the taus left undecayed.

Known model differences (tolerances below say how they are handled):

* branching fractions: fastsim uses DECAY_BELLE2.DEC (PDG 2020), Pythia its own table; the
  largest difference is tau -> 3 pi nu (DEC 0.08987, Pythia 0.09257);
* rho: fastsim's pi pi form factor is Kuehn-Santamaria rho(773, 145) + rho'(1370, 510),
  beta = -0.145; Pythia's (HMETau2TwoMesonsViaVector) rho(774.6, 149.0) + rho'(1408, 502)
  x 0.167 e^{i pi} + rho''(1700, 235) x 0.050;
* a1 -> 3 pi: fastsim the Kuehn-Santamaria current with the DEC TAUHADNU parameters
  (m_a1 = 1.23, G_a1 = 0.4, rho + rho' with beta = -0.108); Pythia the CLEO model
  (HMETau2ThreePions: a1(1251, 475), rho, rho', f0, f2, sigma in s, p and d waves).

Shapes are compared with the two-sample chi-square of ROOT's Chi2Test "UU"
(:func:`benchmarks.tau_reference.chi2_hist`) and called different below a p-value of
``P_MIN`` = 1e-3; fractions and correlation coefficients must agree within ``N_SIGMA`` = 4
standard deviations (plus, for the fractions, the difference of the two BR tables).  The
measured values quoted in the docstrings are those of these seeds.  All tests here share
module-scoped samples (about 2 minutes on one core, most of it Pythia); they are marked slow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pythia8mc")
pytest.importorskip("awkward")

from benchmarks import tau_reference as tr

pytestmark = pytest.mark.slow

N_FASTSIM = 400_000  # events
N_PYTHIA_MODE3 = 25_000
N_PYTHIA_PIPI = 1000  # mode 1, both taus forced to pi nu
N_PYTHIA_PIRHO = 600  # mode 1, pi- rho+ and (separately) rho- pi+
N_PYTHIA_SIGMA = 100_000  # taus undecayed
FASTSIM_PARAMS = {
    "isr": True,
    "fsr": True,
    "z_exchange": True,
    "spin_correlations": True,
    "vacuum_polarization": False,  # Pythia: alpha(0) in this process, no VP
}
X_BINS = np.linspace(0.0, 1.0, 26)
M_RHO_BINS = np.linspace(0.28, 1.72, 37)  # GeV
M_PIPI_BINS = np.linspace(0.28, 1.56, 33)  # GeV
P_MIN = 1e-3  # chi-square p-value below which two shapes are called different
N_SIGMA = 4.0  # fractions and correlation coefficients: statistical agreement within 4 sigma


# ---------------------------------------------------------------------- samples
@pytest.fixture(scope="module")
def fastsim_sample() -> tr.TauObservables:
    return tr.fastsim_tau_sample(N_FASTSIM, seed=2024, params=FASTSIM_PARAMS)


@pytest.fixture(scope="module")
def pythia_mode3() -> tr.TauObservables:
    return tr.run_pythia(N_PYTHIA_MODE3, tau_mode=3, seed=11).obs


@pytest.fixture(scope="module")
def pythia_pairs() -> dict[str, tr.TauObservables]:
    """Pythia mode 1 samples with forced decays: 'pipi' and 'pirho' (pi- rho+ and rho- pi+)."""
    pipi = tr.run_pythia(N_PYTHIA_PIPI, tau_mode=1, seed=12, tau_minus="pi", tau_plus="pi").obs
    a = tr.run_pythia(N_PYTHIA_PIRHO, tau_mode=1, seed=13, tau_minus="pi", tau_plus="rho").obs
    b = tr.run_pythia(N_PYTHIA_PIRHO, tau_mode=1, seed=14, tau_minus="rho", tau_plus="pi").obs
    return {"pipi": pipi, "pirho": tr.TauObservables.concatenate([a, b])}


# ---------------------------------------------------------------------- channel fractions
def test_classification_is_complete(
    fastsim_sample: tr.TauObservables, pythia_mode3: tr.TauObservables
) -> None:
    """Every event has one decayed tau- and one tau+ and every tau a finite x in (0, 1.05)."""
    for obs in (fastsim_sample, pythia_mode3):
        assert np.all(obs.channel >= 0)
        assert np.all((obs.x > 0) & (obs.x < 1.05))
        rho = obs.channel == tr.CODE["rho"]
        assert np.all(obs.m_vis[rho] > 0.27)


def test_channel_fractions_fastsim_vs_dec(fastsim_sample: tr.TauObservables) -> None:
    """fastsim's channel fractions equal the DECAY_BELLE2.DEC branching fractions (4 sigma;
    measured pulls within 2.5: e 0.17714 against 0.17818, rho 0.25546 against 0.25494 ...)."""
    dec = tr.dec_tau_fractions()
    got = fastsim_sample.fractions()
    for name in tr.CHANNELS:
        f, err = got[name]
        assert abs(f - dec[name]) < N_SIGMA * err, (name, f, dec[name], err)


def test_channel_fractions_pythia_vs_its_table(pythia_mode3: tr.TauObservables) -> None:
    """Pythia's channel fractions equal its own tau- table (the classification check;
    measured pulls within 1.3)."""
    table = tr.pythia_tau_fractions()
    got = pythia_mode3.fractions()
    for name in tr.CHANNELS:
        f, err = got[name]
        assert abs(f - table[name]) < N_SIGMA * err, (name, f, table[name], err)


def test_channel_fractions_fastsim_vs_pythia(
    fastsim_sample: tr.TauObservables, pythia_mode3: tr.TauObservables
) -> None:
    """fastsim against Pythia: agreement within 4 sigma (both samples' errors) plus the
    difference of the two branching-fraction tables (DEC against Pythia's).  Measured: all
    within 1.4 sigma (3-prong a1: 0.08995 against 0.09132)."""
    dec, table = tr.dec_tau_fractions(), tr.pythia_tau_fractions()
    a, b = fastsim_sample.fractions(), pythia_mode3.fractions()
    for name in tr.CHANNELS:
        err = np.hypot(a[name][1], b[name][1])
        tol = N_SIGMA * err + abs(dec[name] - table[name])
        assert abs(a[name][0] - b[name][0]) < tol, (name, a[name][0], b[name][0], tol)


# ---------------------------------------------------------------------- spectra
X_CHANNELS = [
    "e",
    "mu",
    "pi",
    "rho",
    "a1_3prong",
    "a1_1prong",
]


@pytest.mark.parametrize("channel", X_CHANNELS)
def test_visible_energy_fraction(
    channel: str, fastsim_sample: tr.TauObservables, pythia_mode3: tr.TauObservables
) -> None:
    """Shape of x = E_vis / E_beam per channel (25 bins in [0, 1]): chi-square p-value above
    P_MIN.  Measured chi2/ndf: e 22.7/23, mu 18.5/23, pi 22.4/24, rho 30.9/22 (p = 0.10),
    a1_3prong 20.4/19, a1_1prong 21.6/19: the different a1 and rho models do not show in x at
    this statistics."""
    xa, _ = fastsim_sample.select(channel)
    xb, _ = pythia_mode3.select(channel)
    chi2, ndf, p = tr.chi2_hist(xa, xb, X_BINS)
    assert p > P_MIN, (channel, chi2, ndf, p)


def test_rho_lineshape(fastsim_sample: tr.TauObservables, pythia_mode3: tr.TauObservables) -> None:
    """m(pi pi0) of tau -> rho nu: chi-square p-value above P_MIN.  The form factors differ
    (module docstring), but not visibly at 1.3e4 Pythia rho decays: measured chi2 = 27.8 for
    28 degrees of freedom (36 bins of 40 MeV from 0.28 GeV)."""
    _, ma = fastsim_sample.select("rho")
    _, mb = pythia_mode3.select("rho")
    chi2, ndf, p = tr.chi2_hist(ma, mb, M_RHO_BINS)
    assert p > P_MIN, (chi2, ndf, p)


def _pipi_3prong(obs: tr.TauObservables) -> np.ndarray:
    """Both opposite-sign m(pi+ pi-) of every 3-prong a1 decay (GeV)."""
    return obs.m_3pi[obs.channel == tr.CODE["a1_3prong"]][:, :2].ravel()


@pytest.mark.xfail(
    strict=True,
    reason="a1 models differ: fastsim's Kuehn-Santamaria current (DEC TAUHADNU parameters) against "
    "Pythia's CLEO model; measured chi2 = 265 for 24 degrees of freedom: fastsim has 8-14 % more in "
    "the rho peak (0.60-0.84 GeV), 15-35 % less below 0.44 GeV and 25-60 % less above 0.96 GeV",
)
def test_a1_3prong_pipi_projection(
    fastsim_sample: tr.TauObservables, pythia_mode3: tr.TauObservables
) -> None:
    """m(pi+ pi-) of tau -> pi pi pi nu, both opposite-sign pairs: the same chi-square test as
    the other spectra (fails: the models differ; see the reason)."""
    chi2, ndf, p = tr.chi2_hist(_pipi_3prong(fastsim_sample), _pipi_3prong(pythia_mode3), M_PIPI_BINS)
    assert p > P_MIN, (chi2, ndf, p)


def test_a1_3prong_pipi_projection_loose(
    fastsim_sample: tr.TauObservables, pythia_mode3: tr.TauObservables
) -> None:
    """The looser, documented comparison of m(pi+ pi-) in tau -> pi pi pi nu for two different
    a1 models: the mean and the median agree within 10 MeV (measured: 0.698 and 0.696 GeV,
    medians within 5 MeV) and the fraction in the rho band 0.60-0.88 GeV within 15 %
    (measured: fastsim 10 % higher)."""
    a, b = _pipi_3prong(fastsim_sample), _pipi_3prong(pythia_mode3)
    assert abs(np.mean(a) - np.mean(b)) < 0.010, (np.mean(a), np.mean(b))
    assert abs(np.median(a) - np.median(b)) < 0.010, (np.median(a), np.median(b))
    fa = np.mean((a > 0.60) & (a < 0.88))
    fb = np.mean((b > 0.60) & (b < 0.88))
    assert abs(fa / fb - 1) < 0.15, (fa, fb)


# ---------------------------------------------------------------------- spin correlations
@pytest.mark.parametrize(("pair", "first", "second"), [("pipi", "pi", "pi"), ("pirho", "pi", "rho")])
def test_energy_correlation(
    pair: str,
    first: str,
    second: str,
    fastsim_sample: tr.TauObservables,
    pythia_pairs: dict[str, tr.TauObservables],
) -> None:
    """corr(x+, x-) of the two visible products: fastsim and Pythia (mode 1) agree within
    4 sigma, and both are positive (helicity conservation makes the two energies rise
    together; uncorrelated decays give 0).  Measured: pi-pi 0.303 +- 0.013 (fastsim) and
    0.280 +- 0.026 (Pythia); pi-rho 0.157 +- 0.006 and 0.147 +- 0.025."""
    ra, ea = tr.corr_with_error(*fastsim_sample.pairs(first, second))
    rb, eb = tr.corr_with_error(*pythia_pairs[pair].pairs(first, second))
    assert abs(ra - rb) < N_SIGMA * np.hypot(ea, eb), (pair, ra, ea, rb, eb)
    assert ra > N_SIGMA * ea, (pair, ra, ea)
    assert rb > 2 * eb, (pair, rb, eb)


def test_pythia_mode1_marginals_equal_mode3(
    pythia_mode3: tr.TauObservables, pythia_pairs: dict[str, tr.TauObservables]
) -> None:
    """Pythia's single-tau x spectra of pi and rho are the same with correlated decays
    (mode 1) and uncorrelated, unpolarised ones (mode 3): the justification for comparing the
    single-tau observables with the faster mode 3 (measured: pi chi2 = 11.0/9, rho 8.8/8)."""
    for channel, sample in (("pi", pythia_pairs["pipi"]), ("rho", pythia_pairs["pirho"])):
        xa, _ = sample.select(channel)
        xb, _ = pythia_mode3.select(channel)
        chi2, ndf, p = tr.chi2_hist(xa, xb, np.linspace(0.0, 1.0, 11))
        assert p > P_MIN, (channel, chi2, ndf, p)


# ---------------------------------------------------------------------- cross section
def test_cross_section(fastsim_sample: tr.TauObservables) -> None:
    """sigma(e+e- -> tau+ tau-, ISR, m(tau tau) > 3.6 GeV), alpha(0), no VP: within 2 %.
    Measured: fastsim 0.8492 nb, Pythia 0.8406 +- 0.0015 nb, ratio 1.010.  Without ISR the two
    agree to 1e-4 (0.77157 and 0.77162 nb, the analytic Born value with the tau mass); the
    1 % with ISR has the sign and size of the e+e- -> mu mu comparison (1.009,
    docs/physics.md: Pythia's electron PDF is evaluated at Q^2 = s-hat, fastsim's radiator at
    the nominal s)."""
    sigma_py, err_py = tr.pythia_sigma_nb(N_PYTHIA_SIGMA, seed=15)
    ratio = fastsim_sample.sigma_nb / sigma_py
    assert err_py / sigma_py < 0.01
    assert abs(ratio - 1) < 0.02, (fastsim_sample.sigma_nb, sigma_py, err_py, ratio)


# ---------------------------------------------------------------------- the file path
def test_observables_from_a_run_file(tmp_path: Path, fastsim_sample: tr.TauObservables) -> None:
    """``fastsim run`` with ``decays: {stable: [111]}`` writes pi0 as final particles; the
    observables read back from the HDF5 file match the in-memory sample (channel fractions)."""
    from fastsim.cards import load_card
    from fastsim.run import run

    card = tmp_path / "tautau.yaml"
    card.write_text(
        "include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]\n"
        "run: {seed: 3, events: 20000, chunk_size: 10000, output: out.h5, workers: 1}\n"
        "dataset: {name: test, luminosity_fb: 1.0}\n"
        "detector: {enabled: false}\ntrigger: {enabled: false}\nreco: {enabled: false}\n"
        "decays: {stable: [111]}\n"
        "processes:\n  ee_tautau: {generator: ee_tautau}\n"
    )
    run(load_card(card), output=tmp_path / "out.h5", progress=False)
    obs = tr.observables_from_file(tmp_path / "out.h5")
    assert obs.n_events == 20000
    assert np.all(obs.channel >= 0)
    assert obs.sigma_nb > 0
    a, b = obs.fractions(), fastsim_sample.fractions()
    for name in tr.CHANNELS:
        assert abs(a[name][0] - b[name][0]) < N_SIGMA * np.hypot(a[name][1], b[name][1]), name
