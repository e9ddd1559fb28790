"""Kinematic fit of an exclusive final state to the beams' four-momentum (4C fit).

The measured momenta alpha_0 (3 per particle, cartesian, lab) with covariance V are moved to the
alpha that minimises chi^2 = (alpha - alpha_0)^T V^-1 (alpha - alpha_0) subject to the four
constraints H(alpha) = sum_i p_i - P_beams = 0 (E_i = sqrt(|p_i|^2 + m_i^2)), by Lagrange
multipliers with the constraints linearised about the current estimate and iterated
(P. Avery, "Applied fitting theory VI: formulas for kinematic fitting", CBX 98-37 (1998);
the method of BaBar's and Belle II's TreeFitter-free 4C fits):

    D = dH/dalpha (4 x 3n),  d = H(alpha_A) + D (alpha_0 - alpha_A),
    lambda = (D V D^T)^-1 d,  alpha = alpha_0 - V D^T lambda,  chi^2 = lambda^T (D V D^T) lambda.

Covariances: tracks from their helix covariance, (phi0, omega, tanl) -> (px, py, pz) with
p_T = a / |omega| (a = p_T |omega| from the track itself); photons from (E, theta, phi) with
sigma_E/E = a/E (+) b/E^(1/4) (+) c and an angular resolution sigma_pos / (sqrt(E) R) for a
shower position resolution sigma_pos at the face, distance R -- the ECL model of
fastsim/detector/ecl.py.  Vectorised over events (numpy, a handful of iterations).

Units: GeV, cm.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_to_beams", "photon_covariance", "track_covariance"]


def track_covariance(p3: np.ndarray, omega: np.ndarray, cov_helix: np.ndarray) -> np.ndarray:
    """(n, 3, 3) covariance of (px, py, pz) (GeV^2) of tracks with momenta ``p3`` (n, 3),
    curvature ``omega`` (n,; 1/cm) and the covariance of (phi0, omega, tanl) ``cov_helix``
    (n, 3, 3): p = p_T (cos phi0, sin phi0, tanl), p_T proportional to 1/|omega|."""
    px, py, pz = p3[:, 0], p3[:, 1], p3[:, 2]
    pt = np.hypot(px, py)
    inv_om = 1.0 / np.where(omega == 0, 1e-12, omega)
    j = np.zeros((len(p3), 3, 3))
    j[:, 0, 0], j[:, 0, 1] = -py, -px * inv_om  # d px / d (phi0, omega)
    j[:, 1, 0], j[:, 1, 1] = px, -py * inv_om
    j[:, 2, 1], j[:, 2, 2] = -pz * inv_om, pt  # d pz / d (omega, tanl)
    return j @ cov_helix @ np.transpose(j, (0, 2, 1))


def photon_covariance(
    p3: np.ndarray, distance: np.ndarray, res_abc: tuple[float, float, float], pos_res: float
) -> np.ndarray:
    """(n, 3, 3) covariance of (px, py, pz) (GeV^2) of photons with momenta ``p3`` (n, 3) whose
    showers are ``distance`` (n,; cm) from the vertex: energy resolution sigma_E/E = a/E (+)
    b/E^(1/4) (+) c (``res_abc``) and position resolution ``pos_res`` / sqrt(E) (cm) on the face,
    i.e. an angular resolution pos_res / (sqrt(E) R) in both directions transverse to p."""
    e = np.linalg.norm(p3, axis=1)
    a, b, c = res_abc
    ee = np.maximum(e, 1e-6)
    sig_e = ee * np.sqrt((a / ee) ** 2 + (b / ee**0.25) ** 2 + c**2)
    sig_ang = pos_res / (np.sqrt(ee) * np.maximum(distance, 1.0))
    u = p3 / ee[:, None]
    # along u: sigma_E^2; transverse: (E sigma_angle)^2
    trans = (ee * sig_ang) ** 2
    eye = np.eye(3)[None]
    uu = u[:, :, None] * u[:, None, :]
    return (sig_e**2)[:, None, None] * uu + trans[:, None, None] * (eye - uu)


def fit_to_beams(
    p3: np.ndarray,
    cov: np.ndarray,
    masses: np.ndarray,
    p_beams: np.ndarray,
    iterations: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """4C fit of n-particle final states to the beams.  ``p3`` (n_ev, k, 3) measured momenta
    (GeV), ``cov`` (n_ev, k, 3, 3) their covariances, ``masses`` (k,) or (n_ev, k) (GeV),
    ``p_beams`` (n_ev, 4) or (1, 4) the beams' total (px, py, pz, E).  Returns the fitted
    momenta (n_ev, k, 3) and chi^2 (n_ev,) (4 degrees of freedom)."""
    n, k, _ = p3.shape
    m2 = np.broadcast_to(np.asarray(masses, np.float64) ** 2, (n, k))
    a0 = p3.reshape(n, 3 * k)
    v = np.zeros((n, 3 * k, 3 * k))
    for i in range(k):
        v[:, 3 * i : 3 * i + 3, 3 * i : 3 * i + 3] = cov[:, i]
    target = np.broadcast_to(np.asarray(p_beams, np.float64), (n, 4))
    alpha = a0.copy()
    chi2 = np.zeros(n)
    for _ in range(iterations):
        p = alpha.reshape(n, k, 3)
        e = np.sqrt(np.sum(p * p, axis=2) + m2)
        h = np.concatenate([p.sum(axis=1), e.sum(axis=1)[:, None]], axis=1) - target  # (n, 4)
        d = np.zeros((n, 4, 3 * k))
        for i in range(k):
            d[:, 0:3, 3 * i : 3 * i + 3] = np.eye(3)
            d[:, 3, 3 * i : 3 * i + 3] = p[:, i] / e[:, i : i + 1]
        r = h + np.einsum("nij,nj->ni", d, a0 - alpha)
        vd = d @ v @ np.transpose(d, (0, 2, 1))  # (n, 4, 4)
        lam = np.linalg.solve(vd, r[:, :, None])[:, :, 0]
        alpha = a0 - np.einsum("nij,njk,nk->ni", v, np.transpose(d, (0, 2, 1)), lam)
        chi2 = np.einsum("ni,nij,nj->n", lam, vd, lam)
    return alpha.reshape(n, k, 3), chi2
