"""Matrix-element weights for EvtGen decay models of DECAY_BELLE2.DEC, beyond phase space.

The decay engine (:mod:`fastsim.decays`) draws flat n-body phase space and accepts each
candidate with probability ``w`` from :func:`model_weight`; ``w = |M|^2 / bound`` with a bound
valid over the whole phase space of the mode (flat phase space times |M|^2 is then exact).
:func:`model_weight` also returns, per daughter, ``rho00``: the longitudinal (helicity 0)
fraction of the daughter's spin density in its helicity frame w.r.t. the parent, used by
the daughter's own decay (VSS, VLL, VSP_PWAVE, ...).  Only the diagonal of the spin density
is propagated (rho_{+1+1} = rho_{-1-1} = (1 - rho00)/2 is assumed); azimuthal correlations
and interference between the decays of the two vectors in P -> V V are neglected.

Helicity axis of a parent: its direction of flight in the rest frame of its mother (the
grandparent), i.e. minus the grandparent's direction in the parent rest frame.  Without a
grandparent (NaN row) the parent's lab direction is used (+z if it is at rest).

Models handled (``SUPPORTED``), with the parameters expected in DEC-file order:

Angular (two-body) models, Jacob-Wick helicity formalism (M. Jacob, G.C. Wick, Ann. Phys. 7
(1959) 404; d^1 functions from PDG RPP "Clebsch-Gordan coefficients, spherical harmonics and
d functions"); the parent density is rho00 (NaN -> unpolarised, rho00 = 1/3):

- ``SVS``  P -> V S: isotropic (w = 1), the vector (daughter 0) gets rho00 = 1.  No params.
- ``VSS``, ``VSS_BMIX``  V -> S S: dN/dcos ~ rho00 cos^2 + (1 - rho00)/2 sin^2.  No params.
  (VSS_BMIX: B0 anti-B0 mixing is not simulated, only the angular part.)
- ``VSP_PWAVE``  V -> S gamma: dN/dcos ~ rho00 sin^2 + (1 - rho00)/2 (1 + cos^2).  No params.
- ``VLL``  V -> l+ l-: as VSP_PWAVE plus the helicity-flip term of weight 4 m_l^2/M^2
  (longitudinal-like), see ``_vll``.  No params.
- ``VVS_PWAVE``  V -> V S: (|A_S|, arg A_S, |A_P|, arg A_P, |A_D|, arg A_D), partial waves
  L = 0, 1, 2 converted to helicity amplitudes; the vector (daughter 0) gets rho00(theta).
- ``SVV_HELAMP``  P -> V1 V2: (|H+|, arg H+, |H0|, arg H0, |H-|, arg H-): isotropic, both
  vector daughters get rho00 = |H0|^2 / (|H+|^2 + |H0|^2 + |H-|^2).
- ``SVV_CP``  (beta, dm, flag, |A+|, arg, |A0|, arg, |A-|, arg): as SVV_HELAMP with the
  amplitudes at params[3:9]; the time-dependent CP asymmetry is not simulated.
- ``SVP_HELAMP``  P -> V gamma: isotropic, the vector (daughter 0) gets rho00 = 0.

Heavy neutral lepton (fastsim's own name): ``HNL_NU_LL``  N -> nu l+ l- with the V-A
four-fermion matrix element (``heavy_neutrino_msq``: Z exchange, plus W exchange when the
neutrino's flavour is the lepton's); the modes of models that declare it
(:meth:`fastsim.models.base.Model.decay_model`).  No params.

Semileptonic P -> X l nu (daughters in any order, found by PDG id; X a pseudoscalar or a
vector, decided by the particle's spin):  |M|^2 from the helicity amplitudes H+, H-, H0, Ht
including the lepton-mass (helicity-flip) terms (J.G. Koerner, G.A. Schuler, Z. Phys. C 46
(1990) 93; H(q^2) in terms of A1, A2, V, A0 as in J.D. Richman, P.R. Burchat, Rev. Mod.
Phys. 67 (1995) 893); the vector X gets rho00(q^2, cos theta_l):

- ``BGL``  B -> D* l nu: (a0, a1, b0, b1, c1, c2) in basf2's EvtBGLFF convention (C.G. Boyd,
  B. Grinstein, R.F. Lebed, PRD 56 (1997) 6895; params of arXiv:2008.09341); R0 = 1.15.
  B -> D l nu: (a+_0..a+_3, a0_0..a0_3), Belle PRD 93 (2016) 032006, arXiv:1510.03657.
- ``HQET3`` (basf2) D*: (hA1(1), rho^2, R0(1), R1(1), R2(1)); D: (V1(1), rho^2, Delta).
  CLN, I. Caprini, L. Lellouch, M. Neubert, Nucl. Phys. B 530 (1998) 153, hep-ph/9712417.
- ``HQET2`` (EvtGen) D*: (rho^2, hA1(1), R1(1), R2(1)[, R0(1)]); D: (rho^2, V1(1)[, Delta]).
  Same CLN forms (not used by DECAY_BELLE2.DEC).
- ``SLPOLE``  vector X: 16 params, (F(0), a, b, power) for A1, A2, V, A0; pseudoscalar X:
  8 params for f+, f0.  F(q^2) = F(0) / (1 + a q^2/M^2 + b (q^2/M^2)^2)^power, M the parent
  mass (EvtGen EvtSLPoleFF convention).  Used for D -> K* / rho / omega l nu.
- ``SLBKPOLE``  pseudoscalar X: (f+(0), alpha, beta, m_pole): f+ = f(0)/((1-x)(1-alpha x)),
  f0 = f(0)/(1 - x/beta), x = q^2/m_pole^2 (D. Becirevic, A.B. Kaidalov, PLB 478 (2000) 417,
  hep-ph/9904490).  Used for D -> K / pi / eta l nu.  (Vector X with SLBKPOLE: flat.)

With an empty (or too short) ``params`` tuple (unparsable DEC line) the semileptonic models
use the DECAY_BELLE2.DEC values as defaults (``_DEFAULTS``: BGL D*/D, HQET3 D*/D, SLPOLE for
D -> K*, SLBKPOLE for D -> K; HQET2 the same numbers in its order); SLPOLE with a pseudoscalar
and no params stays flat.  SVV_HELAMP / SVV_CP default to equal helicity amplitudes,
VVS_PWAVE to a pure S wave.  Whether the meson X is a vector is taken from the ``particle``
package (J = 1).

Left to phase space (w = 1, rho00 NaN): ``PHSP``, ``TSS``, ``STS``, ``TVS_PWAVE``, ``HELAMP``,
``PARTWAVE``, ``ISGW2`` (D_s -> phi/eta l nu, B_s -> D_s(*) l nu, B -> D** ...),
``LLSW`` (B -> D** l nu), ``BCL`` (B -> pi/rho l nu), ``GOITY_ROBERTS``, ``VUB``, the Dalitz
models (``D_DALITZ``, ``ETA_*DALITZ``, ``OMEGA_DALITZ``), ``VVPIPI``, ``PYTHIA``, ``SSD_CP``,
and every other name not in ``SUPPORTED``.

Bounds: angular models use the exact maximum over cos theta (all densities are linear in
cos^2 theta).  Semileptonic models: max over cos theta_l analytically (|M|^2 is quadratic in
cos theta_l), over q^2 on a grid dense near q^2 = m_l^2, and over the meson mass on a grid
(refined around its best point) spanning the masses the engine draws for a broad meson
(Gamma > 1e-4 m0): [m0 - 10 Gamma, m0 + 10 Gamma] cut at M - m_l (mode open) and raised to
the meson's lowest *hadronic* threshold in DECAY_BELLE2.DEC (``_hadronic_threshold``, e.g.
2 m_pi for the rho, m_K + m_pi for the K*); times a margin ``SL_BOUND_MARGIN``.  The bound is
computed once per (model, params, parent, meson, lepton) at the parent's nominal mass (a
parent heavier than nominal could exceed it; B, D, D_s are narrow); per-mode constants are
cached (``_sl_setup``).

Why the hadronic threshold: for a vector meson |H_0|^2 ~ 1/m^2 (longitudinal polarisation
vector), so |M|^2 grows without limit as m -> 0.  The engine's lower mass limit is the
lightest threshold of *any* of the meson's modes, which for the rho0 is e+e- (1 MeV), for
the rho+ pi gamma, for the K* K gamma; a bound covering those masses is ~1e5 (rho0) or ~6x
(rho+) larger than |M|^2 on the resonance, so the accept-reject would (nearly) never accept.
Below the hadronic threshold (a Breit-Wigner tail with constant width: ~7-9 % of the rho and
~3 % of the K* in D -> V l nu as drawn by the engine) the weight is therefore capped,
w = min(|M|^2 / bound, 1), instead of following the unphysical 1/m^2 rise (the cap is hit by
~2 % (rho+), ~4.5 % (rho0), ~0.1 % (K*) of the generated decays, all below the threshold);
at and above the threshold the accept-reject is exact.  Mean weights on flat phase space at
the nominal masses: ~0.15 for D -> rho l nu, ~0.22-0.29 for D -> K* l nu, >= 0.3 otherwise.

Units GeV; arrays float64.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from fastsim import kinematics
from fastsim.disk_cache import cached_float

__all__ = ["HEAVY_NEUTRINO", "SL_BOUND_MARGIN", "SUPPORTED", "heavy_neutrino_msq", "model_weight"]

#: Safety factor on the numerically maximised semileptonic |M|^2.
SL_BOUND_MARGIN: float = 1.05

_ANGULAR = frozenset(
    {"SVS", "VSS", "VSS_BMIX", "VSP_PWAVE", "VLL", "VVS_PWAVE", "SVV_HELAMP", "SVV_CP", "SVP_HELAMP"}
)
_SEMILEPTONIC = frozenset({"BGL", "HQET3", "HQET2", "SLPOLE", "SLBKPOLE"})
#: fastsim's own: a heavy neutral lepton's weak decay N -> nu l+ l- (``_heavy_neutrino``)
HEAVY_NEUTRINO = "HNL_NU_LL"
SUPPORTED: frozenset[str] = _ANGULAR | _SEMILEPTONIC | {HEAVY_NEUTRINO}

_LEPTONS = frozenset({11, 13, 15})
_NEUTRINOS = frozenset({12, 14, 16})
_PHOTON = 22
_BW_WINDOW = 10.0  # same window as fastsim.decays.BW_WINDOW (widths)

# DECAY_BELLE2.DEC values, used when a line's parameters could not be parsed.
_DEFAULTS: dict[tuple[str, bool], tuple[float, ...]] = {
    ("BGL", True): (0.02596, -0.06049, 0.01311, 0.01713, 0.00753, -0.09346),
    ("BGL", False): (0.0126, -0.094, 0.34, -0.1, 0.0115, -0.057, 0.12, 0.4),
    ("HQET3", True): (0.912, 1.205, 1.15, 1.404, 0.854),
    ("HQET3", False): (1.0541, 1.128, 1.0),
    ("HQET2", True): (1.205, 0.912, 1.404, 0.854, 1.15),
    ("HQET2", False): (1.128, 1.0541, 1.0),
    ("SLPOLE", True): (
        1.0,
        -0.558,
        0.0,
        1.0,
        0.85,
        -0.558,
        0.0,
        1.0,
        1.5,
        -0.79,
        0.0,
        1.0,
        0.0,
        -0.558,
        0.0,
        1.0,
    ),
    ("SLBKPOLE", False): (1.0, 0.303, 1.0, 2.112),
}


# ====================================================================== helpers
@functools.cache
def _particles():
    from fastsim.particles import default_table

    return default_table()


def _mass_width(pdg: int) -> tuple[float, float]:
    t = _particles()
    ids = np.array([pdg])
    return float(t.mass(ids)[0]), float(t.width(ids)[0])


@functools.cache
def _is_vector(pdg: int) -> bool:
    """J = 1 meson? (``particle`` package; unknown -> False)."""
    from particle import InvalidParticle, Particle, ParticleNotFound

    try:
        return Particle.from_pdgid(int(pdg)).J == 1
    except (ParticleNotFound, InvalidParticle, ValueError):
        return False


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minkowski product, metric (+, -, -, -), last axis (px, py, pz, E)."""
    return a[..., 3] * b[..., 3] - a[..., 0] * b[..., 0] - a[..., 1] * b[..., 1] - a[..., 2] * b[..., 2]


def _kallen(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Kaellen function lambda(a, b, c) = a^2 + b^2 + c^2 - 2ab - 2ac - 2bc (PDG Kinematics 49.4)."""
    return a * a + b * b + c * c - 2.0 * (a * b + a * c + b * c)


def _cos_helicity(parent_p4: np.ndarray, daughter_p4: np.ndarray, grandparent_p4: np.ndarray) -> np.ndarray:
    """cos of the daughter's angle in the parent rest frame w.r.t. the parent's helicity axis
    (= minus the grandparent's direction there; parent lab direction if no grandparent)."""
    n = len(parent_p4)
    mass = np.sqrt(np.maximum(_dot(parent_p4, parent_p4), 1e-300))
    d = kinematics.boost_to_rest_frame(daughter_p4, parent_p4, mass=mass)[:, :3]
    axis = parent_p4[:, :3].copy()
    gp = np.asarray(grandparent_p4, dtype=np.float64)
    has_gp = np.all(np.isfinite(gp), axis=1)
    if np.any(has_gp):
        g = kinematics.boost_to_rest_frame(gp[has_gp], parent_p4[has_gp], mass=mass[has_gp])
        axis[has_gp] = -g[:, :3]
    norm = np.linalg.norm(axis, axis=1)
    at_rest = ~(norm > 0.0)
    axis[at_rest] = (0.0, 0.0, 1.0)
    norm[at_rest] = 1.0
    dn = np.linalg.norm(d, axis=1)
    dn[~(dn > 0.0)] = 1.0
    c = np.einsum("ij,ij->i", d, axis) / (norm * dn)
    return np.clip(c, -1.0, 1.0) if n else c


def _spin1_to_vector_scalar(
    c: np.ndarray, rho00: np.ndarray, h0sq: float | np.ndarray, h1sq: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Spin-1 parent with helicity density diag((1-rho00)/2, rho00, (1-rho00)/2) decaying to a
    daughter of helicity mu (0 or +-1) and a spinless / opposite partner.

    dN/dcos = sum_lambda rho_ll sum_mu |H_mu|^2 |d^1_{lambda mu}(theta)|^2 (Jacob-Wick), with
    |d^1_00|^2 = c^2, |d^1_{+-1,0}|^2 = s^2/2, |d^1_{11}|^2 + |d^1_{1,-1}|^2 = (1 + c^2)/2:
      long  = rho00 c^2 + (1 - rho00)/2 s^2             (coefficient of h0sq = |H_0|^2)
      trans = rho00 s^2 + (1 - rho00)/2 (1 + c^2)       (of h1sq = (|H_+|^2 + |H_-|^2)/2)
    Returns (w = f / max_c f, daughter rho00 = h0sq long / f).  f is linear in c^2, so its
    maximum is at c^2 = 0 or 1 (exact bound)."""
    r = np.where(np.isfinite(rho00), rho00, 1.0 / 3.0)
    c2 = c * c
    s2 = 1.0 - c2
    long = r * c2 + 0.5 * (1.0 - r) * s2
    trans = r * s2 + 0.5 * (1.0 - r) * (1.0 + c2)
    f = h0sq * long + h1sq * trans
    f_c0 = h0sq * 0.5 * (1.0 - r) + h1sq * 0.5 * (1.0 + r)  # c^2 = 0
    f_c1 = h0sq * r + h1sq * (1.0 - r)  # c^2 = 1
    fmax = np.maximum(f_c0, f_c1)
    w = np.divide(f, fmax, out=np.ones_like(f), where=fmax > 0.0)
    rho_d = np.divide(h0sq * long, f, out=np.full_like(f, np.nan), where=f > 0.0)
    return np.clip(w, 0.0, 1.0), rho_d


def _amp(params: tuple[float, ...], i: int, default: float = 1.0) -> complex:
    """Complex amplitude from (|A|, arg A) at params[i], params[i + 1]."""
    if len(params) < i + 2:
        return complex(default)
    return params[i] * complex(math.cos(params[i + 1]), math.sin(params[i + 1]))


def _svv_rho00(h: tuple[complex, complex, complex]) -> float:
    s = sum(abs(x) ** 2 for x in h)
    return abs(h[1]) ** 2 / s if s > 0 else float("nan")


def _vvs_helicities(params: tuple[float, ...]) -> tuple[float, float]:
    """(|H_0|^2, (|H_+|^2 + |H_-|^2)/2) of 1 -> 1 + 0 from partial waves L = 0, 1, 2:
    H_lambda = sum_L sqrt((2L+1)/3) <L 0; 1 lambda | 1 lambda> a_L (S.U. Chung, "Spin
    formalisms", CERN 71-8 (1971); CG coefficients from the PDG RPP table): <1 0;1 +-1|1 +-1> = -+1/sqrt2,
    <1 0;1 0|1 0> = 0, <2 0;1 0|1 0> = -sqrt(2/5), <2 0;1 +-1|1 +-1> = sqrt(1/10)."""
    a_s = _amp(params, 0, 1.0) if params else 1.0 + 0j
    a_p = _amp(params, 2, 0.0) if params else 0j
    a_d = _amp(params, 4, 0.0) if params else 0j
    h0 = (a_s - math.sqrt(2.0) * a_d) / math.sqrt(3.0)
    hp = (a_s + a_d / math.sqrt(2.0)) / math.sqrt(3.0) - a_p / math.sqrt(2.0)
    hm = (a_s + a_d / math.sqrt(2.0)) / math.sqrt(3.0) + a_p / math.sqrt(2.0)
    return abs(h0) ** 2, 0.5 * (abs(hp) ** 2 + abs(hm) ** 2)


# ====================================================================== form factors
# Each returns, for arrays q2, M (parent mass), m (meson mass): (A1, A2, V, A0) for vector
# mesons or (f+, f0) for pseudoscalars, in the BSW / Richman-Burchat convention.


def _w_z(q2, M, m):
    """Recoil w = v.v' = (M^2 + m^2 - q^2)/(2 M m) and the conformal variable
    z = (sqrt(w+1) - sqrt 2)/(sqrt(w+1) + sqrt 2) (CLN hep-ph/9712417)."""
    w = (M * M + m * m - q2) / (2.0 * M * m)
    sw = np.sqrt(np.maximum(w + 1.0, 0.0))
    z = (sw - math.sqrt(2.0)) / (sw + math.sqrt(2.0))
    return w, z


def _hqet_to_vector(ha1, r0, r1, r2, w, M, m):
    """A1, A2, V, A0 from h_A1 and the ratios R0, R1, R2 (CLN hep-ph/9712417;
    R0 as in Fajfer, Kamenik, Nisandzic, PRD 85 (2012) 094025):
    A1 = r* (w+1)/2 hA1, A2 = R2 hA1 / r*, V = R1 hA1 / r*, A0 = R0 hA1 / r*,
    r* = 2 sqrt(M m)/(M + m)."""
    rstar = 2.0 * np.sqrt(M * m) / (M + m)
    return 0.5 * rstar * (w + 1.0) * ha1, r2 * ha1 / rstar, r1 * ha1 / rstar, r0 * ha1 / rstar


def _cln_ha1(z, rho2):
    """h_A1(w)/h_A1(1), CLN hep-ph/9712417."""
    return 1.0 - 8.0 * rho2 * z + (53.0 * rho2 - 15.0) * z * z - (231.0 * rho2 - 91.0) * z**3


def _cln_v1(z, rho2):
    """V1(w)/V1(1), CLN hep-ph/9712417."""
    return 1.0 - 8.0 * rho2 * z + (51.0 * rho2 - 10.0) * z * z - (252.0 * rho2 - 84.0) * z**3


def _cln_ratios(w, r0_1, r1_1, r2_1):
    """R1(w), R2(w) (CLN hep-ph/9712417) and R0(w) (Fajfer et al. arXiv:1203.2654)."""
    x = w - 1.0
    return (
        r0_1 - 0.11 * x + 0.01 * x * x,
        r1_1 - 0.12 * x + 0.05 * x * x,
        r2_1 + 0.11 * x - 0.06 * x * x,
    )


def _scalar_from_v1_s1(v1, s1, w, M, m):
    """f+ = (1+r)/(2 sqrt r) V1, f0 = sqrt(r) (1+w)/(1+r) S1, r = m/M (CLN hep-ph/9712417
    Tanaka, Watanabe, PRD 82 (2010) 034027, arXiv:1005.4306)."""
    r = m / M
    return (1.0 + r) / (2.0 * np.sqrt(r)) * v1, np.sqrt(r) * (1.0 + w) / (1.0 + r) * s1


def _s1_over_v1(w, delta):
    """S1/V1 = 1 + Delta (-0.019 + 0.041 (w-1) - 0.015 (w-1)^2) (Tanaka-Watanabe arXiv:1005.4306)."""
    x = w - 1.0
    return 1.0 + delta * (-0.019 + 0.041 * x - 0.015 * x * x)


def _ff_hqet3(p, vector, q2, M, m):
    w, z = _w_z(q2, M, m)
    if vector:  # basf2 EvtHQET3: (hA1(1), rho2, R0(1), R1(1), R2(1))
        ha1_1, rho2, r0_1, r1_1, r2_1 = p[:5]
        r0, r1, r2 = _cln_ratios(w, r0_1, r1_1, r2_1)
        return _hqet_to_vector(ha1_1 * _cln_ha1(z, rho2), r0, r1, r2, w, M, m)
    v1_1, rho2, delta = p[:3]  # (V1(1), rho2, Delta)
    v1 = v1_1 * _cln_v1(z, rho2)
    return _scalar_from_v1_s1(v1, v1 * _s1_over_v1(w, delta), w, M, m)


def _ff_hqet2(p, vector, q2, M, m):
    w, z = _w_z(q2, M, m)
    if vector:  # EvtGen EvtHQET2: (rho2, hA1(1), R1(1), R2(1)[, R0(1)]); A0 = 0 without R0
        rho2, ha1_1, r1_1, r2_1 = p[:4]
        r0, r1, r2 = _cln_ratios(w, p[4] if len(p) > 4 else 0.0, r1_1, r2_1)
        if len(p) <= 4:
            r0 = np.zeros_like(w)
        return _hqet_to_vector(ha1_1 * _cln_ha1(z, rho2), r0, r1, r2, w, M, m)
    rho2, v1_1 = p[:2]  # (rho2, V1(1)[, Delta]); f0 = 0 without Delta (EvtGen convention)
    v1 = v1_1 * _cln_v1(z, rho2)
    s1 = v1 * _s1_over_v1(w, p[2]) if len(p) > 2 else np.zeros_like(v1)
    return _scalar_from_v1_s1(v1, s1, w, M, m)


# BGL constants of basf2's EvtBGLFF (the DEC-file coefficients are defined with these):
# susceptibilities chi^T (GeV^-2), n_I = 2.6 and the B_c resonance masses (GeV) of the Blaschke
# factors, cf. C.G. Boyd, B. Grinstein, R.F. Lebed, PRD 56 (1997) 6895 and D. Bigi, P. Gambino,
# S. Schacht, PLB 769 (2017) 441, arXiv:1703.06124.
_BGL_CHI_G = 5.28e-4
_BGL_CHI_F = 3.07e-4
_BGL_NI = 2.6
_BGL_POLES_VECTOR = (6.337, 6.899, 7.012, 7.280)  # 1- : for g
_BGL_POLES_AXIAL = (6.730, 6.736, 7.135, 7.142)  # 1+ : for f and F1


def _blaschke_factors(z, M, m, poles):
    """(z - z_p)/(1 - z z_p) per pole p (leading axis), z_p = (sqrt(t+ - m_p^2) - sqrt(t+ - t-)) /
    (sqrt(t+ - m_p^2) + sqrt(t+ - t-)), t+- = (M +- m)^2; their product over a set of poles is
    the Blaschke factor P(z) (BGL PRD 56 (1997) 6895)."""
    tp = np.asarray((M + m) ** 2, dtype=np.float64)
    b = np.sqrt(tp - (M - m) ** 2)
    mp2 = np.square(np.asarray(poles, dtype=np.float64)).reshape((-1,) + (1,) * max(tp.ndim, np.ndim(z)))
    a = np.sqrt(np.maximum(tp - mp2, 0.0))
    zp = (a - b) / (a + b)
    return (z - zp) / (1.0 - z * zp)


def _bgl_outer(z, M, m):
    """Outer functions phi_g, phi_f, phi_F1 (Bigi-Gambino-Schacht arXiv:1703.06124)."""
    r = m / M
    den = (1.0 + r) * (1.0 - z) + 2.0 * np.sqrt(r) * (1.0 + z)
    k = 3.0 * math.pi
    phi_g = np.sqrt(256.0 * _BGL_NI / (k * _BGL_CHI_G)) * r * r * (1.0 + z) ** 2 / np.sqrt(1.0 - z) / den**4
    phi_f = np.sqrt(16.0 * _BGL_NI / (k * _BGL_CHI_F)) * r * (1.0 + z) * (1.0 - z) ** 1.5 / den**4 / (M * M)
    phi_f1 = np.sqrt(8.0 * _BGL_NI / (k * _BGL_CHI_F)) * r * (1.0 + z) * (1.0 - z) ** 2.5 / den**5 / M**3
    return phi_g, phi_f, phi_f1


def _ff_bgl(p, vector, q2, M, m):
    w, z = _w_z(q2, M, m)
    if vector:  # (a0, a1, b0, b1, c1, c2); c0 from F1(w=1) = (M - m) f(w=1)
        a0, a1, b0, b1, c1, c2 = p[:6]
        phi_g, phi_f, phi_f1 = _bgl_outer(z, M, m)
        # c0 = (M - m) b0 phi_F1(0) / phi_f(0) (P_f cancels at z = 0: same 1+ poles), with
        # phi_F1(0) / phi_f(0) = 1 / (sqrt2 M den(0)), den(0) = (1 + sqrt r)^2, r = m/M
        c0 = (M - m) * b0 / (math.sqrt(2.0) * M * (1.0 + np.sqrt(m / M)) ** 2)
        fac = _blaschke_factors(z, M, m, _BGL_POLES_VECTOR + _BGL_POLES_AXIAL)
        nv = len(_BGL_POLES_VECTOR)
        pg = np.prod(fac[:nv], axis=0)
        pf = np.prod(fac[nv:], axis=0)
        g = (a0 + a1 * z) / (pg * phi_g)
        f = (b0 + b1 * z) / (pf * phi_f)
        f1 = (c0 + c1 * z + c2 * z * z) / (pf * phi_f1)
        # HQET-like ratios (e.g. Belle PRD 100 (2019) 052007, arXiv:1809.03290)
        ha1 = f / (np.sqrt(M * m) * (1.0 + w))
        r1 = (w + 1.0) * M * m * g / f
        wm1 = np.maximum(w - 1.0, 1e-7)  # R2 is 0/0 at w = 1 (c0 constraint): take the limit
        r2 = (w - m / M) / wm1 - f1 / (M * wm1 * f)
        return _hqet_to_vector(ha1, 1.15, r1, r2, w, M, m)  # R0 = 1.15 (basf2 EvtBGLFF)
    # B -> D: f_{+,0} = sum_n a_n z^n / phi_{+,0}(z), Blaschke factor 1 (Belle arXiv:1510.03657;
    # outer-function constants and the common factor 4r/(1+r)^2 as in basf2's EvtBGLFF, with
    # which the DEC coefficients satisfy f+(0) = f0(0) to 1 %).
    r = m / M
    den = (1.0 + r) * (1.0 - z) + 2.0 * np.sqrt(r) * (1.0 + z)
    phi_p = 1.1213 * (1.0 + z) ** 2 * np.sqrt(1.0 - z) / den**5
    phi_0 = 0.5299 * (1.0 + z) * (1.0 - z) ** 1.5 / den**4
    g_sub = 4.0 * r / (1.0 + r) ** 2
    zz = np.stack([np.ones_like(z), z, z * z, z**3])
    fp = g_sub * np.tensordot(np.asarray(p[:4]), zz, axes=1) / phi_p
    f0 = g_sub * np.tensordot(np.asarray(p[4:8]), zz, axes=1) / phi_0
    return fp, f0


def _ff_slpole(p, vector, q2, M, m):
    """F = F(0) / (1 + a t + b t^2)^pow, t = q^2/M^2 (EvtGen SLPOLE model, EvtSLPoleFF)."""
    t = q2 / (M * M)
    out = []
    for i in range(4 if vector else 2):
        f0, a, b, power = p[4 * i : 4 * i + 4]
        den = 1.0 + a * t + b * t * t if b else 1.0 + a * t
        out.append(f0 / (den if power == 1.0 else den**power))
    return tuple(out)


def _ff_slbkpole(p, vector, q2, M, m):
    """Becirevic-Kaidalov hep-ph/9904490: f+ = f(0)/((1-x)(1-alpha x)), f0 = f(0)/(1 - x/beta)."""
    f_0, alpha, beta, mpole = p[:4]
    x = q2 / (mpole * mpole)
    return f_0 / ((1.0 - x) * (1.0 - alpha * x)), f_0 / (1.0 - x / beta)


_FF = {"BGL": _ff_bgl, "HQET3": _ff_hqet3, "HQET2": _ff_hqet2, "SLPOLE": _ff_slpole, "SLBKPOLE": _ff_slbkpole}
_NPAR = {
    ("BGL", True): 6,
    ("BGL", False): 8,
    ("HQET3", True): 5,
    ("HQET3", False): 3,
    ("HQET2", True): 4,
    ("HQET2", False): 2,
    ("SLPOLE", True): 16,
    ("SLPOLE", False): 8,
    ("SLBKPOLE", False): 4,
}


# ====================================================================== semileptonic |M|^2
def _helicity_amplitudes(ff, vector, q2, M, m):
    """(H+, H-, H0, Ht) (real) from the form factors.

    Vector (Richman-Burchat RMP 67 (1995) 893; Ht: Koerner-Schuler 1990):
      H+- = (M+m) A1 -+ 2 M K V/(M+m),
      H0  = [(M^2 - m^2 - q^2)(M+m) A1 - 4 M^2 K^2 A2/(M+m)] / (2 m sqrt q^2),
      Ht  = 2 M K A0 / sqrt q^2;
    pseudoscalar: H0 = 2 M K f+ / sqrt q^2, Ht = (M^2 - m^2) f0 / sqrt q^2,
    with K the meson momentum in the parent rest frame."""
    sq = np.sqrt(q2)
    kk = np.sqrt(np.maximum(_kallen(M * M, m * m, q2), 0.0)) / (2.0 * M)
    if vector:
        a1, a2, v, a0 = ff
        hp = (M + m) * a1 - 2.0 * M * kk * v / (M + m)
        hm = (M + m) * a1 + 2.0 * M * kk * v / (M + m)
        h0 = ((M * M - m * m - q2) * (M + m) * a1 - 4.0 * M * M * kk * kk * a2 / (M + m)) / (2.0 * m * sq)
        ht = 2.0 * M * kk * a0 / sq
        return hp, hm, h0, ht
    fp, f0 = ff
    z = np.zeros_like(q2)
    return z, z, 2.0 * M * kk * fp / sq, (M * M - m * m) * f0 / sq


def _sl_msq(hp, hm, h0, ht, q2, ml2, c):
    """Spin-summed |M|^2 (up to a constant) and the meson's longitudinal part, for
    c = cos theta_l, theta_l the charged lepton's angle in the W rest frame w.r.t. the W
    direction in the parent frame (same form for l- and its charge conjugate):

      |M|^2 ~ (q^2 - m_l^2) [T + L],
      T = (1-c)^2 H+^2 + (1+c)^2 H-^2 + (m_l^2/q^2) s^2 (H+^2 + H-^2),
      L = 2 s^2 H0^2 + 2 (m_l^2/q^2) (H0 c - Ht)^2,

    from dGamma/dq^2 dcos ~ K q^2 (1 - m_l^2/q^2)^2 [T + L] (Koerner-Schuler Z. Phys. C 46
    (1990) 93; Ivanov, Koerner, Tran arXiv:1508.02678) divided by the flat 3-body
    phase-space density ~ K (1 - m_l^2/q^2).  Sign of the H0-Ht interference checked against
    the covariant trace for P -> P l nu (tests)."""
    r = ml2 / q2
    s2 = 1.0 - c * c
    t = (1.0 - c) ** 2 * hp * hp + (1.0 + c) ** 2 * hm * hm + r * s2 * (hp * hp + hm * hm)
    lo = 2.0 * s2 * h0 * h0 + 2.0 * r * (h0 * c - ht) ** 2
    return (q2 - ml2) * (t + lo), (q2 - ml2) * lo


def _sl_eval(model, p, vector, q2, M, m, ml2, c):
    ff = _FF[model](p, vector, q2, M, m)
    hp, hm, h0, ht = _helicity_amplitudes(ff, vector, q2, M, m)
    return _sl_msq(hp, hm, h0, ht, q2, ml2, c)


#: the strong two- and three-body decays of the vector mesons of semileptonic D and B decays
#: (PDG): their lowest mass sum is the meson's hadronic threshold
_STRONG_DECAYS: dict[int, tuple[tuple[int, ...], ...]] = {
    113: ((211, 211),),
    213: ((211, 111),),
    223: ((211, 211, 111),),
    333: ((321, 321), (130, 310)),
    313: ((321, 211), (311, 111)),
    323: ((311, 211), (321, 111)),
}


@functools.cache
def _hadronic_threshold(meson_id: int) -> float:
    """Lowest mass sum of the meson's strong decays (:data:`_STRONG_DECAYS`, masses from
    ``particle``); 0 for a meson not listed (the engine's window is used as it is)."""
    alternatives = _STRONG_DECAYS.get(abs(int(meson_id)))
    if not alternatives:
        return 0.0
    return min(sum(_mass_width(d)[0] for d in ds) for ds in alternatives)


def _meson_window(meson_id: int, M: float, ml: float) -> tuple[float, float]:
    """Meson masses covered by the semileptonic bound (see module doc): the engine's window
    [m0 - 10 Gamma, m0 + 10 Gamma] for a broad meson (Gamma > 1e-4 m0, as
    ``fastsim.decays.BW_MIN_REL_WIDTH``), raised to the hadronic threshold and cut at
    M - m_l (mode open); (m0, m0) for a narrow one."""
    m0, gam = _mass_width(abs(meson_id))
    if not gam > 1e-4 * m0:
        return m0, m0
    hi = min(m0 + _BW_WINDOW * gam, M - ml - 1e-6)
    lo = max(m0 - _BW_WINDOW * gam, _hadronic_threshold(abs(meson_id)), 1e-3)
    if lo >= hi:  # closed at the nominal parent mass: the engine uses the nominal mass
        return min(m0, hi), min(m0, hi)
    return lo, hi


def _sl_max_at(model, p, vector, M, m, ml) -> float:
    """max over q^2 and cos theta_l of |M|^2 at meson mass m."""
    q2lo, q2hi = ml * ml, (M - m) ** 2
    span = q2hi - q2lo
    if not span > 0.0:
        return 0.0
    # geometric steps resolve the helicity-flip peak at q^2 - m_l^2 ~ m_l^2; linear steps the bulk
    geo = q2lo + span * np.geomspace(1e-9, 1.0, 400)
    q2 = np.unique(np.concatenate([geo, np.linspace(q2lo, q2hi, 801)[1:]]))
    q2 = q2[q2 > max(q2lo, 1e-12)]
    Mv = np.full_like(q2, M)
    mv = np.full_like(q2, m)
    b = [_sl_eval(model, p, vector, q2, Mv, mv, ml * ml, np.full_like(q2, cc))[0] for cc in (-1.0, 0.0, 1.0)]
    # |M|^2 = a c^2 + bb c + d: maximum over [-1, 1] at an end or at the vertex
    a = 0.5 * (b[2] + b[0]) - b[1]
    bb = 0.5 * (b[2] - b[0])
    cv = np.clip(np.divide(-bb, 2.0 * a, out=np.zeros_like(a), where=a < 0.0), -1.0, 1.0)
    vert = a * cv * cv + bb * cv + b[1]
    return float(np.nanmax(np.maximum(np.maximum(b[0], b[2]), vert)))


@functools.lru_cache(maxsize=256)
def _sl_bound(
    model: str, p: tuple[float, ...], vector: bool, parent_id: int, meson_id: int, ml: float
) -> float:
    """max |M|^2 over phase space and the meson mass window x SL_BOUND_MARGIN (module doc),
    through the per-user cache (:mod:`fastsim.disk_cache`: every worker would rescan)."""
    key = (model, p, vector, parent_id, meson_id, ml, _mass_width(abs(parent_id)), _mass_width(abs(meson_id)))
    return cached_float(
        "sl_bound", repr(key), lambda: _sl_bound_scan(model, p, vector, parent_id, meson_id, ml)
    )


def _sl_bound_scan(
    model: str, p: tuple[float, ...], vector: bool, parent_id: int, meson_id: int, ml: float
) -> float:
    """The scan behind :func:`_sl_bound`."""
    M, _ = _mass_width(abs(parent_id))
    m_lo, m_hi = _meson_window(meson_id, M, ml)
    masses = np.linspace(m_lo, m_hi, 41) if m_hi > m_lo else np.array([m_lo])
    vals = [_sl_max_at(model, p, vector, M, m, ml) for m in masses]
    i = int(np.argmax(vals))
    best = vals[i]
    if len(masses) > 1:  # refine around the best grid mass (the maximum may be interior)
        fine = np.linspace(masses[max(i - 1, 0)], masses[min(i + 1, len(masses) - 1)], 21)
        best = max(best, *(_sl_max_at(model, p, vector, M, m, ml) for m in fine))
    return best * SL_BOUND_MARGIN


@functools.lru_cache(maxsize=1024)
def _sl_setup(model: str, params: tuple[float, ...], parent_id: int, daughter_ids: tuple[int, ...]):
    """Per-mode constants of :func:`_semileptonic`: (i_lepton, i_nu, i_meson, vector, params,
    m_l, bound), or None for a mode left flat."""
    ia = [i for i, d in enumerate(daughter_ids) if abs(d) in _LEPTONS]
    inu = [i for i, d in enumerate(daughter_ids) if abs(d) in _NEUTRINOS]
    imes = [i for i, d in enumerate(daughter_ids) if abs(d) not in _LEPTONS | _NEUTRINOS]
    if len(daughter_ids) != 3 or len(ia) != 1 or len(inu) != 1 or len(imes) != 1:
        return None
    il, iv, im = ia[0], inu[0], imes[0]
    meson_id = daughter_ids[im]
    vector = _is_vector(meson_id)
    if (model, vector) not in _NPAR:
        return None  # e.g. SLBKPOLE with a vector meson: flat
    p = params
    if len(p) < _NPAR[model, vector]:
        if (model, vector) not in _DEFAULTS:
            return None  # no parameters and no DEC-file default: flat
        p = _DEFAULTS[model, vector]
    ml, _ = _mass_width(abs(daughter_ids[il]))
    bound = _sl_bound(model, p, vector, int(parent_id), int(meson_id), ml)
    if not bound > 0.0:
        return None  # closed at the nominal parent mass: flat
    return il, iv, im, vector, p, ml, bound


def _semileptonic(model, params, parent_id, daughter_ids, parent_p4, daughters_p4):
    n, k = daughters_p4.shape[:2]
    setup = _sl_setup(model, params, int(parent_id), daughter_ids)
    if setup is None:
        return np.ones(n), np.full((n, k), np.nan)
    il, iv, im, vector, p, ml, bound = setup
    rho = np.full((n, k), np.nan)
    pl, pnu, pm = daughters_p4[:, il], daughters_p4[:, iv], daughters_p4[:, im]
    M = np.sqrt(np.maximum(_dot(parent_p4, parent_p4), 0.0))
    m = np.sqrt(np.maximum(_dot(pm, pm), 0.0))
    q = pl + pnu
    q2 = np.maximum(_dot(q, q), ml * ml * (1.0 + 1e-12) + 1e-300)
    sq = np.sqrt(q2)
    # cos theta_l from invariants: in the W frame p_m.p_l = E_m E_l + |p_m| |p_l| cos theta_l
    # (the meson flies opposite to the W direction there)
    e_m = _dot(pm, q) / sq
    p_m = np.sqrt(np.maximum(e_m * e_m - m * m, 0.0))
    e_l = (q2 + ml * ml) / (2.0 * sq)
    p_l = (q2 - ml * ml) / (2.0 * sq)
    den = p_m * p_l
    c = np.divide(_dot(pm, pl) - e_m * e_l, den, out=np.zeros_like(den), where=den > 0.0)
    c = np.clip(c, -1.0, 1.0)
    msq, lon = _sl_eval(model, p, vector, q2, M, m, ml * ml, c)
    w = msq / bound
    w[~(w >= 0.0)] = 0.0  # NaN or negative
    np.minimum(w, 1.0, out=w)
    if vector:
        rho[:, im] = np.divide(lon, msq, out=np.full(n, np.nan), where=msq > 0.0)
    return w, rho


# ====================================================================== angular models
def _vll(c, rho00, eps):
    """V -> l+ l-: per lepton helicity, non-flip amplitudes (helicity +-1 along the lepton
    axis) ~ 1, flip (helicity 0) ~ 2 m_l/M; so h1sq = 1, h0sq = 4 m_l^2/M^2 in
    :func:`_spin1_to_vector_scalar` (for a transverse V: (1 + c^2) + eps (1 - c^2), cf.
    e+e- -> mu+mu- with the muon mass, Peskin & Schroeder sec. 5.1)."""
    r = np.where(np.isfinite(rho00), rho00, 1.0 / 3.0)
    c2 = c * c
    s2 = 1.0 - c2
    long = r * c2 + 0.5 * (1.0 - r) * s2
    trans = r * s2 + 0.5 * (1.0 - r) * (1.0 + c2)
    f = eps * long + trans
    fmax = np.maximum(eps * 0.5 * (1.0 - r) + 0.5 * (1.0 + r), eps * r + (1.0 - r))
    return np.clip(f / fmax, 0.0, 1.0)


def _angular(model, params, daughter_ids, parent_p4, daughters_p4, parent_rho00, grandparent_p4):
    n, k = daughters_p4.shape[:2]
    w = np.ones(n)
    rho = np.full((n, k), np.nan)
    if k != 2:
        return w, rho
    vec0 = daughter_ids[0] != _PHOTON
    vec1 = daughter_ids[1] != _PHOTON
    if model == "SVS":
        rho[:, 0] = 1.0
        return w, rho
    if model == "SVP_HELAMP":
        if vec0:
            rho[:, 0] = 0.0
        return w, rho
    if model in ("SVV_HELAMP", "SVV_CP"):
        off = 3 if model == "SVV_CP" else 0
        h = (_amp(params, off), _amp(params, off + 2), _amp(params, off + 4))
        r00 = _svv_rho00(h)
        if vec0:
            rho[:, 0] = r00
        if vec1:
            rho[:, 1] = r00
        return w, rho
    rho00 = np.asarray(parent_rho00, dtype=np.float64)
    if model in ("VSS", "VSS_BMIX") and not np.any(np.isfinite(rho00)):
        return w, rho
    c = _cos_helicity(parent_p4, daughters_p4[:, 0], grandparent_p4)
    if model in ("VSS", "VSS_BMIX"):
        w, _ = _spin1_to_vector_scalar(c, rho00, 1.0, 0.0)
    elif model == "VSP_PWAVE":
        w, _ = _spin1_to_vector_scalar(c, rho00, 0.0, 1.0)
    elif model == "VLL":
        M2 = _dot(parent_p4, parent_p4)
        ml2 = _dot(daughters_p4[:, 0], daughters_p4[:, 0])
        eps = np.clip(np.divide(4.0 * ml2, M2, out=np.zeros_like(M2), where=M2 > 0.0), 0.0, 1.0)
        w = _vll(c, rho00, eps)
    elif model == "VVS_PWAVE":
        h0sq, h1sq = _vvs_helicities(params)
        w, rd = _spin1_to_vector_scalar(c, rho00, h0sq, h1sq)
        rho[:, 0] = rd
    return w, rho


# ====================================================================== heavy neutrino
def heavy_neutrino_msq(
    daughter_ids: tuple[int, ...], parent_p4: np.ndarray, daughters_p4: np.ndarray
) -> tuple[np.ndarray, float]:
    """N -> nu l- l+ (daughters in any order): the spin-averaged |M|^2 / (64 G_F^2 |U|^2) and
    its bound over the phase space (GeV^4).

    The four-fermion amplitude (G_F / sqrt2) U [nu-bar g^a (1 - g5) N] [l-bar g_a (g_L (1 - g5) +
    g_R (1 + g5)) l] with g_L = -1/2 + sin^2 theta_W, g_R = sin^2 theta_W (Z exchange; when the
    neutrino's flavour is the lepton's, W exchange adds 1 to g_L after a Fierz rearrangement),
    squared as in muon decay (where it gives 64 G_F^2 (p.k)(p'.k') and G_F^2 m^5 / (192 pi^3)):
      g_L^2 (p_N.p_lbar)(p_nu.p_l) + g_R^2 (p_N.p_l)(p_nu.p_lbar) + g_L g_R m_l^2 (p_N.p_nu),
    l = the charged lepton of the neutrino's lepton-number sign (l- for nu, l+ for nubar: the
    CP image), lbar the other (Bondarenko et al., arXiv:1805.08567, sec. 3.2 and app. A; the
    crossing of nu e -> nu e, 't Hooft PLB 37 (1971) 195).  Dirac N decays to nu, its
    antiparticle to nubar; a Majorana N to both (its decay table lists both)."""
    from fastsim.constants import SIN2_THETA_W

    ids = np.asarray(daughter_ids)
    nu = int(np.flatnonzero(np.isin(np.abs(ids), list(_NEUTRINOS)))[0])
    lep = np.flatnonzero(np.isin(np.abs(ids), list(_LEPTONS)))
    neg = int(lep[ids[lep] > 0][0])  # l- (PDG ids: positive for negative leptons)
    pos = int(lep[ids[lep] < 0][0])
    l_same, l_other = (neg, pos) if ids[nu] > 0 else (pos, neg)
    g_l = -0.5 + SIN2_THETA_W + (1.0 if abs(int(ids[nu])) - 1 == abs(int(ids[neg])) else 0.0)
    g_r = SIN2_THETA_W
    m_l2 = float(_dot(daughters_p4[:, neg], daughters_p4[:, neg]).mean())
    p_n, p_nu = parent_p4, daughters_p4[:, nu]
    p_l, p_lbar = daughters_p4[:, l_same], daughters_p4[:, l_other]
    msq = (
        g_l * g_l * _dot(p_n, p_lbar) * _dot(p_nu, p_l)
        + g_r * g_r * _dot(p_n, p_l) * _dot(p_nu, p_lbar)
        + g_l * g_r * m_l2 * _dot(p_n, p_nu)
    )
    m_n2 = float(np.max(_dot(p_n, p_n)))
    m_n, m_l = math.sqrt(m_n2), math.sqrt(max(m_l2, 0.0))
    # in the N rest frame (p_N.p_i) = m_N E_i <= m_N^2 / 2 and (p_nu.p_l) = (m_nu,l^2 - m_l^2) / 2
    # <= (m_N^2 - 2 m_N m_l) / 2; g_L g_R < 0 for Z exchange alone (the interference then only
    # lowers |M|^2), (p_N.p_nu) <= m_N^2 / 2
    dots = m_n2 / 2 * (m_n2 - 2 * m_n * m_l) / 2
    bound = (g_l * g_l + g_r * g_r) * dots + max(g_l * g_r, 0.0) * m_l2 * m_n2 / 2
    return msq, bound


def _heavy_neutrino(
    daughter_ids: tuple[int, ...], parent_p4: np.ndarray, daughters_p4: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n, k = daughters_p4.shape[:2]
    ids = np.abs(np.asarray(daughter_ids))
    if k != 3 or np.isin(ids, list(_NEUTRINOS)).sum() != 1 or np.isin(ids, list(_LEPTONS)).sum() != 2:
        return np.ones(n), np.full((n, k), np.nan)  # not nu l+ l-: phase space
    msq, bound = heavy_neutrino_msq(daughter_ids, parent_p4, daughters_p4)
    return np.clip(msq / bound, 0.0, 1.0), np.full((n, k), np.nan)


# ====================================================================== entry point
def model_weight(
    model: str,
    params: tuple[float, ...],
    parent_id: int,
    daughter_ids: tuple[int, ...],
    parent_p4: np.ndarray,
    daughters_p4: np.ndarray,
    parent_rho00: np.ndarray,
    grandparent_p4: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Accept-reject weights on flat phase space and the daughters' helicity rho00.

    ``parent_p4`` (n, 4), ``daughters_p4`` (n, k, 4), ``grandparent_p4`` (n, 4) lab frame
    (px, py, pz, E); ``parent_rho00`` (n,) (NaN: unpolarised / not a vector).  Returns
    ``w`` (n,) in [0, 1] and ``rho00`` (n, k), NaN for daughters that are not vectors or are
    unpolarised.  Models not in :data:`SUPPORTED` get w = 1 and NaN (phase space).
    """
    parent_p4 = np.asarray(parent_p4, dtype=np.float64)
    daughters_p4 = np.asarray(daughters_p4, dtype=np.float64)
    n, k = daughters_p4.shape[:2]
    daughter_ids = tuple(int(d) for d in daughter_ids)
    params = tuple(float(x) for x in params)
    if n == 0:
        return np.ones(0), np.full((0, k), np.nan)
    if model in _SEMILEPTONIC:
        return _semileptonic(model, params, parent_id, daughter_ids, parent_p4, daughters_p4)
    if model == HEAVY_NEUTRINO:
        return _heavy_neutrino(daughter_ids, parent_p4, daughters_p4)
    if model in _ANGULAR:
        rho00 = np.broadcast_to(np.asarray(parent_rho00, dtype=np.float64), (n,))
        gp = np.broadcast_to(np.asarray(grandparent_p4, dtype=np.float64), (n, 4))
        return _angular(model, params, daughter_ids, parent_p4, daughters_p4, rho00, gp)
    return np.ones(n), np.full((n, k), np.nan)
