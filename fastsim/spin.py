"""Spin states of produced fermions (taus), handed from a generator to the tau decay engine.

A generator that makes taus may add a collection ``spin`` to its batch, one row per tau
pair (or single tau) of an event:

=========================  ===================================================================
``i1``, ``i2``             local indices, in the event's ``mc`` record, of tau 1 and of its
                           partner (``i2 = -1``: a single tau, only ``P1`` counts)
``p1x p1y p1z``            polarisation vector P1 of tau 1 (|P1| <= 1)
``p2x p2y p2z``            polarisation vector P2 of tau 2
``cxx cxy ... czz``        spin-correlation matrix C_ij (i: tau 1, j: tau 2)
=========================  ===================================================================

**Frame ("lab rest frames").**  Every vector is expressed in the rest frame of its tau
reached from the *lab* by a rotation-free boost, with axes parallel to the lab axes.  The
joint decay density of the pair is then

    dGamma_1 dGamma_2 [1 + P1.h1 + P2.h2 + sum_ij C_ij h1_i h2_j],

with h1, h2 the decays' polarimeter vectors in the same frames (unpolarised decay density
times (1 + h.s) for a tau of spin s); equivalently the two-spin density matrix is
rho = (1 + P1.sigma x 1 + 1 x P2.sigma + C_ij sigma_i x sigma_j) / 4.  The physical spin of
the tau+ is used (not the spin of its v spinor): with photon exchange only, C -> e_i e_j
(spins parallel along the beam) at threshold (``../shared/reference/tau.md`` sec. 1.3, 1.4).

Generators derive (P1, P2, C) from their helicity amplitudes
(:func:`spin_from_helicity_density`): the amplitude of an outgoing fermion (anti-fermion)
in the spin state xi is sum_l (chi_l^dagger xi)^* M(l), with chi_l the two-component
helicity states of :mod:`fastsim.generators.helicity` (the u spinor of P&S eq. 3.50 is
the rotation-free boost of the rest-frame spinor (xi, xi) sqrt(m); for the v spinor,
eta = -i sigma2 xi^* (P&S sec. 3.4) with the toolkit's v(p, l) = -v_PS(chi_l)), so the
conversion needs no convention beyond the toolkit's own.  The hard-frame result is carried
to the lab rest frames by :func:`spin_to_lab` (the Wigner rotation of each tau's rest frame,
computed by transforming the rest-frame axes as four-vectors).  An FSR photon changes a
tau's momentum slightly after the spin state was computed; the state is applied in the
final tau's lab rest frame (the approximation PHOTOS-type FSR makes as well).

Units: GeV.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from fastsim.events import Collection

__all__ = [
    "SPIN_FIELDS",
    "helicity_states",
    "rest_frame_axes",
    "spin_collection",
    "spin_from_helicity_density",
    "spin_to_lab",
]

SPIN_FIELDS: dict[str, np.dtype] = {
    "i1": np.dtype(np.int32),
    "i2": np.dtype(np.int32),
    **{f"p{t}{a}": np.dtype(np.float64) for t in "12" for a in "xyz"},
    **{f"c{a}{b}": np.dtype(np.float64) for a in "xyz" for b in "xyz"},
}


def rest_frame_axes(p4: np.ndarray) -> np.ndarray:
    """Images (n, 3, 4) of the rest-frame axes (0, e_x), (0, e_y), (0, e_z) under the
    rotation-free boost that takes a particle at rest to four-momentum ``p4`` (n, 4),
    (px, py, pz, E): e -> (eta.e, e + eta (eta.e)/(gamma + 1)), gamma = E/m, eta = p/m
    (PDG "Kinematics" sec. 49.1)."""
    p4 = np.asarray(p4, dtype=np.float64)
    m = np.sqrt(np.maximum(p4[:, 3] ** 2 - np.sum(p4[:, :3] ** 2, axis=1), 0.0))
    gam = p4[:, 3] / m
    eta = p4[:, :3] / m[:, None]
    out = np.zeros((len(p4), 3, 4))
    out[:, :, 3] = eta  # time component of axis i: eta_i
    f = (eta / (gam + 1.0)[:, None])[:, :, None] * eta[:, None, :]  # (n, i, j): eta_i eta_j/(g+1)
    out[:, :, :3] = np.eye(3)[None] + f
    return out


def helicity_states(p4: np.ndarray) -> np.ndarray:
    """U (n, 2, 2): columns are the helicity states chi_(-1), chi_(+1) of
    :func:`fastsim.generators.helicity._chi` for momenta ``p4`` (n, 4)."""
    p = np.asarray(p4, dtype=np.float64)[:, :3]
    pp = np.linalg.norm(p, axis=1)
    a = pp + p[:, 2]
    along_minus_z = a <= 1e-14 * pp
    norm = 1.0 / np.sqrt(2.0 * pp * np.where(along_minus_z, 1.0, a))
    U = np.empty((len(p), 2, 2), np.complex128)
    # chi_+ = (a, px + i py) norm ; chi_- = (-px + i py, a) norm
    U[:, 0, 1] = a * norm
    U[:, 1, 1] = (p[:, 0] + 1j * p[:, 1]) * norm
    U[:, 0, 0] = (-p[:, 0] + 1j * p[:, 1]) * norm
    U[:, 1, 0] = a * norm
    # along -z: chi_+ = (0, 1), chi_- = (-1, 0) (the toolkit's limit)
    if np.any(along_minus_z):
        U[along_minus_z] = np.array([[-1, 0], [0, 1]], np.complex128)
    return U


def spin_from_helicity_density(
    rho: np.ndarray, p1: np.ndarray, p2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(P1, P2, C, norm) of a fermion pair from its helicity density matrix.

    ``rho`` (n, 2, 2, 2, 2) complex: rho[a, b, a', b'] = sum over all other helicities of
    M(a, b) M(a', b')^*, with a, b the helicity indices of particle 1 and 2 (index 0: helicity
    -1, index 1: +1, the toolkit's loop order).  ``p1``, ``p2`` (n, 4): their momenta in the
    frame where the amplitudes were evaluated.  Returns P1, P2 (n, 3), C (n, 3, 3) in the
    rest frames reached from that frame by rotation-free boosts (axes of that frame), and
    norm (n,) = sum |M|^2.  Particles and antiparticles are treated alike (module doc): with
    X_i = U^dagger sigma_i U in the helicity basis (U: columns chi_-, chi_+),
    |M(s1, s2)|^2 = (1/4) T(1 + s1.X1, 1 + s2.X2), T(A, B) = sum rho[a, b, a', b'] A[a', a] B[b', b].
    """
    U1 = helicity_states(p1)
    U2 = helicity_states(p2)
    return _spin_kernel(np.ascontiguousarray(rho, np.complex128), U1, U2)


@njit(cache=True, nogil=True)
def _spin_ops(U: np.ndarray) -> np.ndarray:
    """(4, 2, 2): the unit matrix and U^dagger sigma_i U (helicity basis)."""
    X = np.zeros((4, 2, 2), np.complex128)
    X[0, 0, 0] = 1.0
    X[0, 1, 1] = 1.0
    sig = np.zeros((3, 2, 2), np.complex128)
    sig[0, 0, 1] = 1.0
    sig[0, 1, 0] = 1.0
    sig[1, 0, 1] = -1j
    sig[1, 1, 0] = 1j
    sig[2, 0, 0] = 1.0
    sig[2, 1, 1] = -1.0
    for i in range(3):
        for a in range(2):
            for d in range(2):
                acc = 0j
                for b in range(2):
                    for c in range(2):
                        acc += U[b, a].conjugate() * sig[i, b, c] * U[c, d]
                X[i + 1, a, d] = acc
    return X


@njit(cache=True, nogil=True)
def _spin_kernel(rho: np.ndarray, U1: np.ndarray, U2: np.ndarray) -> tuple:
    n = rho.shape[0]
    P1 = np.zeros((n, 3))
    P2 = np.zeros((n, 3))
    C = np.zeros((n, 3, 3))
    norm = np.zeros(n)
    T = np.zeros((4, 4))
    for e in range(n):
        X1 = _spin_ops(U1[e])
        X2 = _spin_ops(U2[e])
        for i in range(4):
            for j in range(4):
                acc = 0j
                for a in range(2):
                    for b in range(2):
                        for c in range(2):
                            for d in range(2):
                                acc += rho[e, a, b, c, d] * X1[i, c, a] * X2[j, d, b]
                T[i, j] = acc.real
        norm[e] = T[0, 0]
        if T[0, 0] > 0:
            inv = 1.0 / T[0, 0]
            for i in range(3):
                P1[e, i] = T[i + 1, 0] * inv
                P2[e, i] = T[0, i + 1] * inv
                for j in range(3):
                    C[e, i, j] = T[i + 1, j + 1] * inv
    return P1, P2, C, norm


def spin_to_lab(
    P1: np.ndarray,
    P2: np.ndarray,
    C: np.ndarray,
    p1_frame: np.ndarray,
    p2_frame: np.ndarray,
    to_lab: Callable[[np.ndarray], np.ndarray],
    p1_lab: np.ndarray,
    p2_lab: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Carry (P1, P2, C) from rest frames reached from a frame F to the lab rest frames.

    ``p1_frame``, ``p2_frame`` (n, 4): momenta in F; ``to_lab``: the Lorentz transformation
    F -> lab applied to four-vectors (n, k, 4) (the generator's own boosts, linear);
    ``p1_lab``, ``p2_lab``: the lab momenta at which the spin state is used.  Each rest-frame
    axis is boosted into F, transformed to the lab, and boosted back into the lab rest frame:
    the rows of W are the images of the axes (a Wigner rotation), so P -> W^T P and
    C -> W1^T C W2."""
    axes = to_lab(np.concatenate([rest_frame_axes(p1_frame), rest_frame_axes(p2_frame)], axis=1))
    return _to_lab_kernel(
        np.ascontiguousarray(P1, np.float64),
        np.ascontiguousarray(P2, np.float64),
        np.ascontiguousarray(C, np.float64),
        np.ascontiguousarray(axes, np.float64),
        np.ascontiguousarray(p1_lab, np.float64),
        np.ascontiguousarray(p2_lab, np.float64),
    )


@njit(cache=True, nogil=True)
def _wigner_row(ax: np.ndarray, p: np.ndarray, W: np.ndarray) -> None:
    """W[i] = spatial part of lab axis image ax[i] (3, 4) boosted into the rest frame of p
    by -eta: a + eta (eta.a / (gamma + 1) - a_t)."""
    m = np.sqrt(max(p[3] * p[3] - p[0] * p[0] - p[1] * p[1] - p[2] * p[2], 0.0))
    g = p[3] / m
    ex, ey, ez = p[0] / m, p[1] / m, p[2] / m
    for i in range(3):
        q = ex * ax[i, 0] + ey * ax[i, 1] + ez * ax[i, 2]
        f = q / (g + 1.0) - ax[i, 3]
        W[i, 0] = ax[i, 0] + ex * f
        W[i, 1] = ax[i, 1] + ey * f
        W[i, 2] = ax[i, 2] + ez * f


@njit(cache=True, nogil=True)
def _to_lab_kernel(P1, P2, C, axes, p1, p2) -> tuple:
    n = P1.shape[0]
    oP1 = np.zeros((n, 3))
    oP2 = np.zeros((n, 3))
    oC = np.zeros((n, 3, 3))
    W1 = np.empty((3, 3))
    W2 = np.empty((3, 3))
    tmp = np.empty((3, 3))
    for e in range(n):
        _wigner_row(axes[e, 0:3], p1[e], W1)
        _wigner_row(axes[e, 3:6], p2[e], W2)
        for j in range(3):
            a = 0.0
            b = 0.0
            for i in range(3):
                a += W1[i, j] * P1[e, i]
                b += W2[i, j] * P2[e, i]
            oP1[e, j] = a
            oP2[e, j] = b
        # tmp = C W2 ; out = W1^T tmp
        for i in range(3):
            for bb in range(3):
                acc = 0.0
                for j in range(3):
                    acc += C[e, i, j] * W2[j, bb]
                tmp[i, bb] = acc
        for aa in range(3):
            for bb in range(3):
                acc = 0.0
                for i in range(3):
                    acc += W1[i, aa] * tmp[i, bb]
                oC[e, aa, bb] = acc
    return oP1, oP2, oC


def spin_collection(
    i1: np.ndarray | int,
    i2: np.ndarray | int,
    P1: np.ndarray,
    P2: np.ndarray,
    C: np.ndarray,
) -> Collection:
    """A ``spin`` collection with one row per event (one tau pair or single tau each)."""
    n = len(P1)
    fields: dict[str, np.ndarray] = {
        "i1": np.broadcast_to(np.asarray(i1, np.int32), (n,)).copy(),
        "i2": np.broadcast_to(np.asarray(i2, np.int32), (n,)).copy(),
    }
    for t, P in (("1", P1), ("2", P2)):
        for k, a in enumerate("xyz"):
            fields[f"p{t}{a}"] = np.ascontiguousarray(P[:, k], np.float64)
    for i, a in enumerate("xyz"):
        for j, b in enumerate("xyz"):
            fields[f"c{a}{b}"] = np.ascontiguousarray(C[:, i, j], np.float64)
    return Collection(fields, np.arange(n + 1, dtype=np.int64))
