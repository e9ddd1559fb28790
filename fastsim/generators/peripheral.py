"""Phase-space helpers for particles scattered at small angles (the peripheral channels of
ee_eell and ee_eegamma): the momentum-transfer range of a scattered beam lepton and angles to
the beam axis without cancellation, and a transverse basis.

Units: GeV.
"""

from __future__ import annotations

import numpy as np

__all__ = ["one_minus_cos", "orthonormal_basis", "t_range"]


def t_range(e: np.ndarray, pb: np.ndarray, e1: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
    """|t| range of a beam lepton (energy e, momentum pb) scattered to energy e1 (mass m):
    |t|_min = 2 m^2 (e - e1)^2 / (e e1 - m^2 + p p1) (the identity
    (e e1 - m^2)^2 - p^2 p1^2 = m^2 (e - e1)^2, no cancellation), |t|_max = 2 (e e1 + p p1 - m^2)."""
    p1 = np.sqrt(np.maximum((e1 - m) * (e1 + m), 0.0))
    tmin = 2 * m * m * (e - e1) ** 2 / (e * e1 - m * m + pb * p1)
    tmax = 2 * (e * e1 + pb * p1 - m * m)
    return np.maximum(tmin, 1e-300), tmax


def one_minus_cos(v: np.ndarray, sign: float) -> np.ndarray:
    """1 - cos(theta) of three-vectors v (n, 3) w.r.t. sign * z, without cancellation."""
    pt2 = v[:, 0] ** 2 + v[:, 1] ** 2
    pz = sign * v[:, 2]
    pp = np.sqrt(pt2 + pz * pz)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pz > 0, pt2 / (pp * (pp + pz)), 1.0 - pz / pp)


def orthonormal_basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (n, 3) orthogonal to the unit vectors n and to each other."""
    ref = np.zeros_like(n)
    use_x = np.abs(n[:, 0]) < 0.9
    ref[use_x, 0] = 1.0
    ref[~use_x, 1] = 1.0
    e1 = np.cross(n, ref)
    e1 /= np.linalg.norm(e1, axis=1)[:, None]
    return e1, np.cross(n, e1)
