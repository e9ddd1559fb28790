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

_PAULI = np.array(
    [[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
    dtype=np.complex128,
)


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
    norm (n,) = sum |M|^2.  Particles and antiparticles are treated alike (module doc).
    """
    X1 = _spin_operators(p1)
    X2 = _spin_operators(p2)

    def contract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.einsum("nabcd,nca,ndb->n", rho, a, b).real

    eye = np.broadcast_to(np.eye(2, dtype=np.complex128), (len(rho), 2, 2))
    norm = contract(eye, eye)
    inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    P1 = np.stack([contract(X1[:, i], eye) for i in range(3)], axis=1) * inv[:, None]
    P2 = np.stack([contract(eye, X2[:, j]) for j in range(3)], axis=1) * inv[:, None]
    C = np.empty((len(rho), 3, 3))
    for i in range(3):
        for j in range(3):
            C[:, i, j] = contract(X1[:, i], X2[:, j]) * inv
    return P1, P2, C, norm


def _spin_operators(p4: np.ndarray) -> np.ndarray:
    """(n, 3, 2, 2): U^dagger sigma_i U in the helicity basis of momenta ``p4``."""
    U = helicity_states(p4)
    return np.einsum("nba,ibc,ncd->niad", U.conj(), _PAULI, U)


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
    W1 = _wigner(p1_frame, to_lab, p1_lab)
    W2 = _wigner(p2_frame, to_lab, p2_lab)
    P1l = np.einsum("nij,ni->nj", W1, P1)
    P2l = np.einsum("nij,ni->nj", W2, P2)
    Cl = np.einsum("nia,nij,njb->nab", W1, C, W2)
    return P1l, P2l, Cl


def _wigner(p_frame: np.ndarray, to_lab: Callable[[np.ndarray], np.ndarray], p_lab: np.ndarray) -> np.ndarray:
    axes_lab = to_lab(rest_frame_axes(p_frame))  # (n, 3, 4)
    # into the lab rest frame of p_lab (rotation-free boost by -eta)
    m = np.sqrt(np.maximum(p_lab[:, 3] ** 2 - np.sum(p_lab[:, :3] ** 2, axis=1), 0.0))
    gam = p_lab[:, 3] / m
    eta = p_lab[:, :3] / m[:, None]
    q = np.einsum("nj,nij->ni", eta, axes_lab[:, :, :3])  # eta . a
    e = axes_lab[:, :, 3]
    # spatial part of the boost by -eta: a + eta (eta.a/(g+1) - e)
    W = axes_lab[:, :, :3] + eta[:, None, :] * (q / (gam + 1.0)[:, None] - e)[:, :, None]
    # re-orthonormalise against rounding (W is a rotation up to ~1e-15)
    u, _, vt = np.linalg.svd(W)
    return u @ vt


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
