"""Helicity toolkit: Born cross section and angular shape from the amplitudes, Ward
identity, Lorentz invariance, spinor algebra."""

from __future__ import annotations

import numpy as np

from fastsim import kinematics
from fastsim.constants import ALPHA_EM, GEV2_TO_NB
from fastsim.generators.ee_mumu import born_sigma_nb, me2_mumu
from fastsim.generators.ee_mumugamma import me2_mumugamma_frame, ward_ratio_mumugamma
from fastsim.generators.electroweak import ew_couplings
from fastsim.generators.helicity import spinor_array

M_MU = 0.1056583755  # PDG 2024, GeV (independent of the table lookup)
M_E = 0.51099895e-3
SQRT_S = 10.58
E = np.sqrt(4 * np.pi * ALPHA_EM)


def _mumu_final(cos_t: np.ndarray, phi: np.ndarray, sqrt_s: float = SQRT_S) -> np.ndarray:
    p = np.sqrt(sqrt_s**2 / 4 - M_MU**2)
    s = np.sqrt(1 - cos_t**2)
    out = np.zeros((len(cos_t), 2, 4))
    out[:, 0, :3] = p * np.stack([s * np.cos(phi), s * np.sin(phi), cos_t], axis=1)
    out[:, 1, :3] = -out[:, 0, :3]
    out[:, :, 3] = sqrt_s / 2
    return out


def test_spinors_solve_dirac_equation() -> None:
    # (pslash - m) u = 0 and (pslash + m) v = 0 in the chiral representation
    rng = np.random.default_rng(1)
    d = kinematics.isotropic_directions(50, rng) * rng.uniform(0.01, 5, (50, 1))
    p = np.concatenate([d, np.sqrt(np.sum(d * d, axis=1) + M_MU**2)[:, None]], axis=1)
    s1 = np.array([[0, 1], [1, 0]])
    s2 = np.array([[0, -1j], [1j, 0]])
    s3 = np.array([[1, 0], [0, -1]])
    for lam in (-1, 1):
        for anti, sign in ((False, -1), (True, 1)):
            sp = spinor_array(p, lam, anti)
            for i in range(len(p)):
                ps = p[i, 0] * s1 + p[i, 1] * s2 + p[i, 2] * s3
                slash = np.block(
                    [
                        [np.zeros((2, 2)), p[i, 3] * np.eye(2) - ps],
                        [p[i, 3] * np.eye(2) + ps, np.zeros((2, 2))],
                    ]
                )
                r = (slash + sign * M_MU * np.eye(4)) @ sp[i]
                assert np.max(np.abs(r)) < 1e-12 * p[i, 3] * 10
            # normalisation ubar u = 2m, vbar v = -2m
            ubu = np.sum(np.conj(sp[:, [2, 3, 0, 1]]) * sp, axis=1).real
            assert np.allclose(ubu, -sign * 2 * M_MU, rtol=1e-9)


def test_born_sigma_from_amplitudes_quadrature() -> None:
    # integrate the toolkit's |M|^2 (pure QED) with Gauss-Legendre: must equal
    # (4 pi alpha^2 / 3s) beta (3 - beta^2)/2 to 0.1 % (here to 1e-9)
    x, wq = np.polynomial.legendre.leggauss(16)
    p = _mumu_final(x, np.zeros_like(x))
    ew = ew_couplings()
    m2 = me2_mumu(p, np.full(len(x), SQRT_S), M_E, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, False)
    s = SQRT_S**2
    beta = np.sqrt(1 - 4 * M_MU**2 / s)
    lam = np.sqrt((s - 4 * M_E**2) * s)
    # dPhi_2 = beta/(8 pi) dcos/2 ;  sigma = |M|^2 dPhi_2 / (2 lambda^1/2)
    sigma = np.sum(wq * m2) / 2 * beta / (8 * np.pi) / (2 * lam) * GEV2_TO_NB
    expected = 4 * np.pi * ALPHA_EM**2 / (3 * s) * beta * (3 - beta**2) / 2 * GEV2_TO_NB
    assert abs(sigma / expected - 1) < 1e-3
    assert abs(sigma / expected - 1) < 1e-6  # m_e effects are O(m_e^2/s) ~ 1e-8
    assert abs(born_sigma_nb(s, M_MU) / expected - 1) < 1e-12


def test_born_angular_shape_from_amplitudes() -> None:
    # |M|^2(cos) proportional to 1 + cos^2 + (1 - beta^2) sin^2 (P&S problem 5.2), phi-independent
    rng = np.random.default_rng(2)
    c = rng.uniform(-1, 1, 200)
    phi = rng.uniform(0, 2 * np.pi, 200)
    ew = ew_couplings()
    m2 = me2_mumu(
        _mumu_final(c, phi), np.full(200, SQRT_S), M_E, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, False
    )
    b2 = 1 - 4 * M_MU**2 / SQRT_S**2
    shape = 1 + c**2 + (1 - b2) * (1 - c**2)
    # absolute normalisation: |M|^2 = e^4 shape (massless e)
    assert np.allclose(m2, E**4 * shape, rtol=1e-7)
    # with the Z: forward-backward asymmetry, negative and of order -3/2 * ... ~ -1 %
    x, wq = np.polynomial.legendre.leggauss(16)
    mz2 = me2_mumu(
        _mumu_final(x, 0 * x), np.full(16, SQRT_S), M_E, ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz, True
    )
    afb = np.sum(wq * mz2 * np.sign(x)) / np.sum(wq * mz2)
    assert -0.015 < afb < -0.003, afb


def _mumugamma_points(n: int, rng: np.random.Generator) -> np.ndarray:
    masses = np.array([M_MU, M_MU, 0.0])
    p, _ = kinematics.n_body_phase_space_weighted(np.full(n, SQRT_S), masses, rng)
    return p


def test_ward_identity_mumugamma() -> None:
    rng = np.random.default_rng(3)
    p = _mumugamma_points(300, rng)
    ew = ew_couplings()
    r = ward_ratio_mumugamma(
        np.ascontiguousarray(p),
        np.full(len(p), SQRT_S),
        M_E,
        M_MU,
        (ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz),
        True,
    )
    assert np.max(r) < 1e-10, np.max(r)


def test_lorentz_invariance_cm_vs_lab() -> None:
    from fastsim.beams import BeamSetup, cm_to_lab
    from fastsim.cards import load_card
    from tests.conftest import CARDS

    beams = BeamSetup.from_card(load_card(CARDS / "belle2_run1.yaml")["beam"])
    rng = np.random.default_rng(4)
    n = 200
    her, ler = beams.sample(n, rng)
    sqrt_s = kinematics.invariant_mass(her + ler)
    p, _ = kinematics.n_body_phase_space_weighted(sqrt_s, np.array([M_MU, M_MU, 0.0]), rng)
    kin_cm = np.zeros((n, 2, 4))
    pz = np.sqrt(sqrt_s**2 / 4 - M_E**2)
    kin_cm[:, 0, 2], kin_cm[:, 1, 2] = pz, -pz
    kin_cm[:, :, 3] = sqrt_s[:, None] / 2
    ew = ew_couplings()
    args = (M_E, M_MU, (ew.c_gamma, ew.z_l, ew.z_r, ew.mz, ew.wz), True)
    m_cm = me2_mumugamma_frame(kin_cm, np.ascontiguousarray(p), *args)
    lab = cm_to_lab(np.concatenate([kin_cm, p], axis=1), her, ler)
    m_lab = me2_mumugamma_frame(np.ascontiguousarray(lab[:, :2]), np.ascontiguousarray(lab[:, 2:]), *args)
    assert np.allclose(lab[:, 0], her, rtol=0, atol=1e-9)  # the frames agree
    rel = np.abs(m_lab / m_cm - 1)
    assert np.max(rel) < 1e-8, np.max(rel)
