"""Relativistic kinematics on flat arrays: invariants, boosts, rotations, phase space.

Four-vectors are float64 arrays whose last axis is ``(px, py, pz, E)``: shape ``(n, 4)``
for one vector per event, ``(n, k, 4)`` for ``k`` vectors (e.g. daughters) per event.
Units: GeV (c = 1 in the kinematics; lengths and times are handled by the callers).

Hot loops are numba kernels (``@njit(cache=True, nogil=True)``) over flat arrays; the public
functions are thin typed wrappers that check shapes.  All randomness comes from the
``numpy.random.Generator`` passed in: the kernels take pre-drawn uniforms, so the same
generator state gives bit-identical results.

References (cited again at each formula):
- PDG RPP 2024, review "Kinematics" (sec. 49): Lorentz transformations (49.1), two-body
  decays (49.4.2), three-body (Dalitz plot) and multibody decays (recurrence of dPhi_n).
- F. James, "Monte Carlo phase space", CERN 68-15 (1968): the GENBOD algorithm, as in
  ROOT's ``TGenPhaseSpace``.
- R. Kleiss, W.J. Stirling, S.D. Ellis, Comput. Phys. Commun. 40 (1986) 359: RAMBO,
  used instead of GENBOD for relativistic final states (GENBOD's acceptance with the
  analytic maximum weight falls to 1e-5 for 8 pions from a B; RAMBO's is ~0.1-0.9 there).
- PDG RPP 2024, review "Resonances": relativistic Breit-Wigner.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "boost",
    "boost_to_frame_of",
    "boost_to_rest_frame",
    "genbod_max_weight",
    "invariant_mass",
    "invariant_mass2",
    "isotropic_directions",
    "momentum",
    "n_body_phase_space",
    "n_body_phase_space_weighted",
    "next_multiplicity",
    "rotate",
    "rotation_z_to",
    "sample_breit_wigner",
    "two_body_decay",
    "two_body_momentum",
]

# Cap on the number of candidate events drawn at once by the accept-reject rounds of
# n_body_phase_space (memory bound: candidates * k * 4 doubles).
_MAX_CANDIDATES = 2_000_000


# ====================================================================== invariants
def invariant_mass2(p4: np.ndarray) -> np.ndarray:
    """Invariant mass squared m^2 = E^2 - |p|^2 (GeV^2) over the last axis of ``p4``.

    Computed as (E - |p|)(E + |p|).  Negative for space-like vectors.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    p = momentum(p4)
    return (p4[..., 3] - p) * (p4[..., 3] + p)


def invariant_mass(p4: np.ndarray) -> np.ndarray:
    """Invariant mass sqrt(max(E^2 - |p|^2, 0)) in GeV over the last axis of ``p4``."""
    return np.sqrt(np.maximum(invariant_mass2(p4), 0.0))


def momentum(p4: np.ndarray) -> np.ndarray:
    """Magnitude of the three-momentum |p| (GeV) over the last axis of ``p4``."""
    p4 = np.asarray(p4, dtype=np.float64)
    return np.sqrt(p4[..., 0] ** 2 + p4[..., 1] ** 2 + p4[..., 2] ** 2)


def two_body_momentum(M: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Daughter momentum (GeV) in the rest frame of a mass ``M`` decaying to ``m1 m2``.

    p = lambda^(1/2)(M^2, m1^2, m2^2) / (2M) with the Kallen function written as
    (M^2 - (m1+m2)^2)(M^2 - (m1-m2)^2) (PDG "Kinematics", sec. 49.4.2).  Vectorised over
    broadcastable arrays.  **Returns 0 below threshold** (M < m1 + m2), and at threshold.
    """
    M = np.asarray(M, dtype=np.float64)
    m1 = np.asarray(m1, dtype=np.float64)
    m2 = np.asarray(m2, dtype=np.float64)
    lam = (M * M - (m1 + m2) ** 2) * (M * M - (m1 - m2) ** 2)
    open_ = (m1 + m2 <= M) & (M > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.sqrt(np.maximum(lam, 0.0)) / (2.0 * M)
    return np.where(open_, p, 0.0)


@njit(cache=True, nogil=True)
def _pdk(a: float, b: float, c: float) -> float:
    # two-body momentum of a -> b c, 0 below threshold (PDG "Kinematics" 49.4.2)
    if a <= 0.0 or a < b + c:
        return 0.0
    lam = (a * a - (b + c) * (b + c)) * (a * a - (b - c) * (b - c))
    if lam <= 0.0:
        return 0.0
    return math.sqrt(lam) / (2.0 * a)


# ====================================================================== boosts
@njit(cache=True, nogil=True)
def _boost_kernel(p4: np.ndarray, gam: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Boost p4 (n, k, 4) by the boost with gamma (n,) and eta = gamma*beta (n, 3).

    A vector at rest acquires velocity beta.  PDG "Kinematics" sec. 49.1 with beta -> -beta
    (active boost), written with eta = gamma*beta so that no 1 - beta^2 cancellation occurs:
        E' = gamma E + eta.p,   p' = p + eta [E + (eta.p)/(gamma + 1)].
    """
    n, k, _ = p4.shape
    out = np.empty_like(p4)
    for i in range(n):
        g = gam[i]
        ex, ey, ez = eta[i, 0], eta[i, 1], eta[i, 2]
        for j in range(k):
            px, py, pz, e = p4[i, j, 0], p4[i, j, 1], p4[i, j, 2], p4[i, j, 3]
            ep = ex * px + ey * py + ez * pz
            f = e + ep / (g + 1.0)
            out[i, j, 0] = px + ex * f
            out[i, j, 1] = py + ey * f
            out[i, j, 2] = pz + ez * f
            out[i, j, 3] = g * e + ep
    return out


def _as_nk4(p4: np.ndarray) -> tuple[np.ndarray, bool]:
    p4 = np.asarray(p4, dtype=np.float64)
    if p4.ndim == 2 and p4.shape[1] == 4:
        return np.ascontiguousarray(p4[:, None, :]), True
    if p4.ndim == 3 and p4.shape[2] == 4:
        return np.ascontiguousarray(p4), False
    msg = f"four-vectors must have shape (n, 4) or (n, k, 4), got {p4.shape}"
    raise ValueError(msg)


def _apply_boost(p4: np.ndarray, gam: np.ndarray, eta: np.ndarray) -> np.ndarray:
    arr, squeeze = _as_nk4(p4)
    n = arr.shape[0]
    gam = np.ascontiguousarray(np.broadcast_to(np.asarray(gam, np.float64), (n,)))
    eta = np.ascontiguousarray(np.broadcast_to(np.asarray(eta, np.float64), (n, 3)))
    out = _boost_kernel(arr, gam, eta)
    return out[:, 0, :] if squeeze else out


def boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost four-vectors (n, 4) or (n, k, 4) by the velocity ``beta`` (n, 3) or (3,).

    Active boost: a vector at rest comes out moving with velocity ``beta`` (units of c),
    exact for any direction (PDG "Kinematics" sec. 49.1, general Lorentz boost).
    ``|beta| < 1`` is required.
    """
    beta = np.asarray(beta, dtype=np.float64)
    b2 = np.sum(beta * beta, axis=-1)
    if np.any(b2 >= 1.0):
        msg = "boost velocity must satisfy |beta| < 1"
        raise ValueError(msg)
    gam = 1.0 / np.sqrt(1.0 - b2)
    return _apply_boost(p4, gam, beta * gam[..., None])


def _frame_gamma_eta(p4_frame: np.ndarray, mass: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    p4_frame = np.asarray(p4_frame, dtype=np.float64)
    if p4_frame.ndim != 2 or p4_frame.shape[1] != 4:
        msg = f"frame four-momenta must have shape (n, 4), got {p4_frame.shape}"
        raise ValueError(msg)
    n = len(p4_frame)
    m = invariant_mass(p4_frame) if mass is None else np.broadcast_to(np.asarray(mass, np.float64), (n,))
    if np.any(~(m > 0.0)):
        msg = "cannot boost into the frame of a massless or space-like four-vector"
        raise ValueError(msg)
    return p4_frame[:, 3] / m, p4_frame[:, :3] / m[:, None]


def boost_to_frame_of(
    p4_rest: np.ndarray, p4_parent: np.ndarray, mass: np.ndarray | None = None
) -> np.ndarray:
    """Vectors given in the rest frame of a parent -> frame where the parent has ``p4_parent``.

    ``p4_rest`` (n, k, 4) or (n, 4); ``p4_parent`` (n, 4).  gamma = E/m and gamma*beta = p/m
    of the parent; ``mass`` (n,) overrides m = sqrt(E^2 - p^2) (pass the generated mass so
    that a rest-frame total (0, 0, 0, mass) maps exactly onto ``p4_parent``).
    """
    gam, eta = _frame_gamma_eta(p4_parent, mass)
    return _apply_boost(p4_rest, gam, eta)


def boost_to_rest_frame(p4: np.ndarray, p4_frame: np.ndarray, mass: np.ndarray | None = None) -> np.ndarray:
    """Vectors ``p4`` (n, k, 4) or (n, 4) -> rest frame of ``p4_frame`` (n, 4).

    The inverse of :func:`boost_to_frame_of` (boost by -beta of the frame).
    """
    gam, eta = _frame_gamma_eta(p4_frame, mass)
    return _apply_boost(p4, gam, -eta)


# ====================================================================== rotations
def rotate(p4: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Rotate the spatial part of four-vectors: p -> R p, E unchanged.

    ``p4`` (n, 4) or (n, k, 4); ``R`` (3, 3) for all events or (n, 3, 3) per event.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    out = np.empty_like(p4)
    if R.ndim == 2:
        out[..., :3] = p4[..., :3] @ R.T
    elif p4.ndim == 2:
        out[:, :3] = np.einsum("nij,nj->ni", R, p4[:, :3])
    else:
        out[..., :3] = np.einsum("nij,nkj->nki", R, p4[..., :3])
    out[..., 3] = p4[..., 3]
    return out


def rotation_z_to(direction: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) taking the +z axis to the given directions (n, 3).

    R = Rz(phi) Ry(theta) with (theta, phi) the polar angles of the (normalised) direction;
    its third column is the direction.  Well defined for direction = +z (identity) and
    -z (rotation by pi about y).
    """
    d = np.atleast_2d(np.asarray(direction, dtype=np.float64))
    rho = np.hypot(d[:, 0], d[:, 1])
    theta = np.arctan2(rho, d[:, 2])
    phi = np.arctan2(d[:, 1], d[:, 0])
    ct, st, cp, sp = np.cos(theta), np.sin(theta), np.cos(phi), np.sin(phi)
    R = np.empty((len(d), 3, 3))
    R[:, 0, 0] = cp * ct
    R[:, 0, 1] = -sp
    R[:, 0, 2] = cp * st
    R[:, 1, 0] = sp * ct
    R[:, 1, 1] = cp
    R[:, 1, 2] = sp * st
    R[:, 2, 0] = -st
    R[:, 2, 1] = 0.0
    R[:, 2, 2] = ct
    return R


def isotropic_directions(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors (n, 3) uniform on the sphere (cos theta uniform in [-1, 1), phi in [0, 2 pi))."""
    u = rng.random((n, 2))
    c = 2.0 * u[:, 0] - 1.0
    s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
    phi = 2.0 * np.pi * u[:, 1]
    return np.stack([s * np.cos(phi), s * np.sin(phi), c], axis=1)


# ====================================================================== two-body
def two_body_decay(M: np.ndarray, m1: np.ndarray, m2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Isotropic two-body decays M -> m1 m2 in the parent rest frame: (n, 2, 4) in GeV.

    ``M`` (n,), ``m1``, ``m2`` scalars or (n,).  Daughter momentum from
    :func:`two_body_momentum` (PDG "Kinematics" 49.4.2); requires M >= m1 + m2.
    """
    M = np.atleast_1d(np.asarray(M, dtype=np.float64))
    n = len(M)
    m1 = np.broadcast_to(np.asarray(m1, dtype=np.float64), (n,))
    m2 = np.broadcast_to(np.asarray(m2, dtype=np.float64), (n,))
    if np.any(m1 + m2 > M):
        msg = "two_body_decay below threshold"
        raise ValueError(msg)
    p = two_body_momentum(M, m1, m2)
    d = isotropic_directions(n, rng) * p[:, None]
    out = np.empty((n, 2, 4))
    out[:, 0, :3] = d
    out[:, 1, :3] = -d
    out[:, 0, 3] = np.sqrt(p * p + m1 * m1)
    out[:, 1, 3] = np.sqrt(p * p + m2 * m2)
    return out


# ====================================================================== n-body (GENBOD)
@njit(cache=True, nogil=True)
def _genbod_kernel(M: np.ndarray, masses: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One GENBOD draw per event (F. James, CERN 68-15; ROOT TGenPhaseSpace).

    M (n,), masses (n, k), u (n, 3k - 4) uniforms in [0, 1): the first k - 2 give the
    intermediate invariant masses, the rest two per step (cos theta, phi).
    Returns the four-momenta (n, k, 4) in the parent rest frame and the weight
    w = prod_i p*_i, where p*_i is the two-body momentum of step i.  Phase space
    dPhi_k = prod dPhi_2 dM_i^2 (PDG "Kinematics", multibody decays: recurrence) reduces, with
    dPhi_2 ~ p*/M_i dOmega, to prod_i p*_i dM_i dOmega_i: the M_i are drawn uniformly
    (ordered) and w carries the rest.
    """
    n, k = masses.shape
    out = np.zeros((n, k, 4))
    w = np.empty(n)
    r = np.empty(max(k - 2, 1))
    mi = np.empty(k)
    pd = np.empty(k)
    for ev in range(n):
        summ = 0.0
        for j in range(k):
            summ += masses[ev, j]
        T = M[ev] - summ
        # sorted uniforms -> ordered intermediate masses M_1 < ... < M_{k-2}
        for j in range(k - 2):
            x = u[ev, j]
            pos = j
            while pos > 0 and r[pos - 1] > x:
                r[pos] = r[pos - 1]
                pos -= 1
            r[pos] = x
        acc = masses[ev, 0]
        mi[0] = acc
        for j in range(1, k - 1):
            acc += masses[ev, j]
            mi[j] = acc + r[j - 1] * T
        mi[k - 1] = M[ev]
        wt = 1.0
        for j in range(1, k):
            pd[j] = _pdk(mi[j], mi[j - 1], masses[ev, j])
            wt *= pd[j]
        w[ev] = wt
        # step 1: particles 0 and 1 back to back in the rest frame of mi[1]
        base = k - 2
        c = 2.0 * u[ev, base] - 1.0
        s = math.sqrt(max(1.0 - c * c, 0.0))
        phi = 2.0 * math.pi * u[ev, base + 1]
        nx, ny, nz = s * math.cos(phi), s * math.sin(phi), c
        p = pd[1]
        out[ev, 0, 0] = p * nx
        out[ev, 0, 1] = p * ny
        out[ev, 0, 2] = p * nz
        out[ev, 0, 3] = math.sqrt(p * p + masses[ev, 0] ** 2)
        out[ev, 1, 0] = -p * nx
        out[ev, 1, 1] = -p * ny
        out[ev, 1, 2] = -p * nz
        out[ev, 1, 3] = math.sqrt(p * p + masses[ev, 1] ** 2)
        # steps j = 2..k-1: the subsystem {0..j-1} (mass mi[j-1]) and particle j back to
        # back in the rest frame of mi[j], along an isotropic direction
        for j in range(2, k):
            c = 2.0 * u[ev, base + 2 * (j - 1)] - 1.0
            s = math.sqrt(max(1.0 - c * c, 0.0))
            phi = 2.0 * math.pi * u[ev, base + 2 * (j - 1) + 1]
            nx, ny, nz = s * math.cos(phi), s * math.sin(phi), c
            p = pd[j]
            # boost of the subsystem: eta = gamma*beta = p / m_sub along n (PDG 49.1)
            ex, ey, ez = p / mi[j - 1] * nx, p / mi[j - 1] * ny, p / mi[j - 1] * nz
            g = math.sqrt(1.0 + (p / mi[j - 1]) ** 2)
            for q in range(j):
                px, py, pz, e = out[ev, q, 0], out[ev, q, 1], out[ev, q, 2], out[ev, q, 3]
                ep = ex * px + ey * py + ez * pz
                f = e + ep / (g + 1.0)
                out[ev, q, 0] = px + ex * f
                out[ev, q, 1] = py + ey * f
                out[ev, q, 2] = pz + ez * f
                out[ev, q, 3] = g * e + ep
            out[ev, j, 0] = -p * nx
            out[ev, j, 1] = -p * ny
            out[ev, j, 2] = -p * nz
            out[ev, j, 3] = math.sqrt(p * p + masses[ev, j] ** 2)
    return out, w


@njit(cache=True, nogil=True)
def _genbod_wmax_kernel(M: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Analytic upper bound of the GENBOD weight: the smaller of two bounds.

    (a) F. James, CERN 68-15 (as TGenPhaseSpace::SetDecay): each factor p*(M_i; M_{i-1}, m_i)
        is bounded with M_i at its largest value A_i = T + sum_{j<=i} m_j and M_{i-1} at its
        smallest, sum_{j<i} m_j.
    (b) Writing the Kallen function as p*^2 = D_i (a+b+c)(a-b+c)(a+b-c) / (4a^2) with the
        kinetic gap D_i = M_i - M_{i-1} - m_i (PDG "Kinematics" 49.4.2), the second factor is
        <= a/2 <= A_i/2, and sum_i D_i = T, so by the AM-GM inequality
        prod p*_i <= (T/(k-1))^((k-1)/2) prod_i sqrt(A_i/2).
    (a) is tight for k = 2; (b) is far tighter for many bodies (by up to (k-1)^((k-1)/2)).
    Both decrease with every daughter mass.
    """
    n, k = masses.shape
    out = np.empty(n)
    for ev in range(n):
        summ = 0.0
        for j in range(k):
            summ += masses[ev, j]
        T = M[ev] - summ
        emmax = T + masses[ev, 0]
        emmin = 0.0
        wt = 1.0
        wt_b = 1.0
        for j in range(1, k):
            emmin += masses[ev, j - 1]
            emmax += masses[ev, j]
            wt *= _pdk(emmax, emmin, masses[ev, j])
            wt_b *= math.sqrt(0.5 * emmax)
        wt_b *= (T / (k - 1)) ** (0.5 * (k - 1))
        out[ev] = min(wt, wt_b)
    return out


@njit(cache=True, nogil=True)
def _rambo_kernel(M: np.ndarray, masses: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One RAMBO draw per event (R. Kleiss, W.J. Stirling, S.D. Ellis, Comput. Phys. Commun.
    40 (1986) 359): massless momenta with exactly flat phase space, rescaled to the
    daughter masses.  M (n,), masses (n, k), u (n, 4k) uniforms in [0, 1).

    Returns the momenta (n, k, 4) in the parent rest frame and the massive weight
    w = xi^(2k-3) prod(|p_i|/E_i) M / sum(|p_i|^2/E_i) (ibid., massive case), xi = sum|p_i|/M.
    The massless phase-space volume depends on M only, so w is proportional to the
    massive phase-space density; w <= (sum|p_i|/M)^(2k-4) <= 1 (each |p|/E <= 1), so 1 is
    an analytic maximum weight that holds for every set of masses.
    """
    n, k = masses.shape
    out = np.empty((n, k, 4))
    w = np.empty(n)
    q = np.empty((k, 4))
    for ev in range(n):
        # massless momenta with energy density q0 exp(-q0), isotropic (ibid.)
        qx = qy = qz = qe = 0.0
        for i in range(k):
            c = 2.0 * u[ev, 4 * i] - 1.0
            s = math.sqrt(max(1.0 - c * c, 0.0))
            phi = 2.0 * math.pi * u[ev, 4 * i + 1]
            e = -math.log((1.0 - u[ev, 4 * i + 2]) * (1.0 - u[ev, 4 * i + 3]))
            q[i, 0] = e * s * math.cos(phi)
            q[i, 1] = e * s * math.sin(phi)
            q[i, 2] = e * c
            q[i, 3] = e
            qx += q[i, 0]
            qy += q[i, 1]
            qz += q[i, 2]
            qe += e
        # conformal transformation to total momentum (0, 0, 0, M) (ibid.)
        mq = math.sqrt(max(qe * qe - qx * qx - qy * qy - qz * qz, 1e-300))
        bx, by, bz = -qx / mq, -qy / mq, -qz / mq
        g = qe / mq
        a = 1.0 / (1.0 + g)
        x = M[ev] / mq
        for i in range(k):
            bq = bx * q[i, 0] + by * q[i, 1] + bz * q[i, 2]
            out[ev, i, 0] = x * (q[i, 0] + bx * q[i, 3] + a * bq * bx)
            out[ev, i, 1] = x * (q[i, 1] + by * q[i, 3] + a * bq * by)
            out[ev, i, 2] = x * (q[i, 2] + bz * q[i, 3] + a * bq * bz)
            out[ev, i, 3] = x * (g * q[i, 3] + bq)
        # massive rescaling: solve sum_i sqrt(m_i^2 + xi^2 E_i^2) = M by Newton (ibid.)
        summ = 0.0
        for i in range(k):
            summ += masses[ev, i]
        xi = math.sqrt(max(1.0 - (summ / M[ev]) ** 2, 0.0))
        for _ in range(100):
            f = -M[ev]
            df = 0.0
            for i in range(k):
                e0 = out[ev, i, 3]
                ei = math.sqrt(masses[ev, i] ** 2 + xi * xi * e0 * e0)
                f += ei
                df += xi * e0 * e0 / ei if ei > 0.0 else 0.0
            if df <= 0.0:
                break
            step = f / df
            xi -= step
            if abs(step) <= 4e-16 * xi or abs(f) <= 1e-15 * M[ev]:
                break
        sum_p = 0.0
        prod = 1.0
        sum_p2e = 0.0
        for i in range(k):
            pabs = xi * out[ev, i, 3]
            ei = math.sqrt(masses[ev, i] ** 2 + pabs * pabs)
            out[ev, i, 0] *= xi
            out[ev, i, 1] *= xi
            out[ev, i, 2] *= xi
            out[ev, i, 3] = ei
            sum_p += pabs
            prod *= pabs / ei if ei > 0.0 else 1.0
            sum_p2e += pabs * pabs / ei if ei > 0.0 else 0.0
        if sum_p2e > 0.0:
            w[ev] = (sum_p / M[ev]) ** (2 * k - 3) * prod * M[ev] / sum_p2e
        else:
            w[ev] = 0.0
    return out, w


# Phase-space method per event: RAMBO when the kinetic fraction T/M of the lightest
# allowed masses exceeds this (and k >= 3), GENBOD otherwise.  Both are exact; the choice
# only affects the acceptance (measured: the crossing of the two is near 0.5 for 3 to 10
# bodies, where each has 1e-2 or better up to 8 bodies).
RAMBO_KINETIC_FRACTION = 0.5


def _prepare_masses(M: np.ndarray, masses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    M = np.ascontiguousarray(np.atleast_1d(np.asarray(M, dtype=np.float64)))
    masses = np.asarray(masses, dtype=np.float64)
    n = len(M)
    if masses.ndim == 1:
        masses = np.broadcast_to(masses, (n, len(masses)))
    if masses.ndim != 2 or masses.shape[0] != n:
        msg = f"masses must have shape (k,) or (n, k) with n = {n}, got {masses.shape}"
        raise ValueError(msg)
    if masses.shape[1] < 2:
        msg = "phase space needs at least two daughters"
        raise ValueError(msg)
    masses = np.ascontiguousarray(masses)
    if np.any(masses.sum(axis=1) > M):
        msg = "phase space requested below threshold (M < sum of daughter masses)"
        raise ValueError(msg)
    return M, masses


def genbod_max_weight(M: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Analytic upper bound (n,) of the GENBOD weight prod p*_i (GeV^(k-1)).

    ``M`` (n,), ``masses`` (k,) or (n, k).  The smaller of James' bound (CERN 68-15, as in
    TGenPhaseSpace) and an AM-GM bound that is much tighter for many bodies (see
    ``_genbod_wmax_kernel``).  Decreasing in every daughter mass, so the bound at the
    lowest allowed masses also bounds heavier ones.
    """
    M, masses = _prepare_masses(M, masses)
    return _genbod_wmax_kernel(M, masses)


def n_body_phase_space_weighted(
    M: np.ndarray, masses: np.ndarray, rng: np.random.Generator, m_min: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One phase-space candidate per event and its acceptance probability.

    Returns four-momenta (n, k, 4) in the parent rest frame (GeV, isotropic orientation)
    and ``a`` (n,) in [0, 1]: accepting each candidate with probability ``a`` leaves flat
    (Lorentz-invariant) k-body phase space.  ``M`` (n,); ``masses`` (k,) or (n, k).

    ``m_min`` (same shape as ``masses``, <= masses): lower limits of the daughter masses.
    ``a`` is then normalised by a bound valid for *all* masses >= m_min, so that the
    acceptance is proportional to the phase-space volume Phi_k(M; masses): masses drawn
    from any density f(m) and then accepted follow f(m) Phi_k(M; m) (used for
    Breit-Wigner daughters).  Default: m_min = masses.

    Method per event, chosen from (M, m_min) only:
    - GENBOD (F. James, CERN 68-15): a = w (T/T_min)^(k-2) / wmax(M; m_min), with w the
      GENBOD weight, T = M - sum(masses), T_min = M - sum(m_min); the factor T^(k-2) is the
      volume of the ordered intermediate masses (times (k-2)!), so that
      E[a] ~ Phi_k(M; masses).
    - massive RAMBO (Kleiss, Stirling, Ellis, CPC 40 (1986) 359) when k >= 3 and
      T_min/M > RAMBO_KINETIC_FRACTION: a = its massive weight, <= 1 and relative to the
      massless volume, which does not depend on the masses.
    """
    M, masses = _prepare_masses(M, masses)
    n, k = masses.shape
    if m_min is None:
        lo = masses
    else:
        lo = np.ascontiguousarray(np.broadcast_to(np.asarray(m_min, dtype=np.float64), masses.shape))
        if np.any(lo > masses):
            msg = "m_min must not exceed masses"
            raise ValueError(msg)
    t_lo = M - lo.sum(axis=1)
    use_rambo = (k >= 3) & (t_lo > RAMBO_KINETIC_FRACTION * M)
    p4 = np.empty((n, k, 4))
    acc = np.empty(n)
    g = np.flatnonzero(~use_rambo)
    if len(g):
        u = rng.random((len(g), 3 * k - 4))
        p4[g], w = _genbod_kernel(M[g], masses[g], u)
        bound = _genbod_wmax_kernel(M[g], lo[g])
        if k > 2:
            t = M[g] - masses[g].sum(axis=1)
            ratio = np.divide(t, t_lo[g], out=np.zeros_like(t), where=t_lo[g] > 0.0)
            w = w * ratio ** (k - 2)
        acc[g] = np.divide(w, bound, out=np.ones_like(w), where=bound > 0.0)
    r = np.flatnonzero(use_rambo)
    if len(r):
        u = rng.random((len(r), 4 * k))
        p4[r], acc[r] = _rambo_kernel(M[r], masses[r], u)
    return p4, np.minimum(acc, 1.0)


def n_body_phase_space(M: np.ndarray, masses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unweighted flat (Lorentz-invariant) n-body phase space, n >= 2: (n, k, 4) in GeV.

    Raubold-Lynch / GENBOD (F. James, CERN 68-15; ROOT TGenPhaseSpace) with an analytic
    maximum weight (:func:`genbod_max_weight`), or massive RAMBO for relativistic final
    states (see :func:`n_body_phase_space_weighted`), unweighted by accept-reject in
    vectorised rounds: each round draws candidates for the pending events only (several
    per event when the acceptance is low) and keeps the first accepted one.  ``M`` (n,);
    ``masses`` (k,) common to all events or (n, k) per event.  Momenta in the parent rest
    frame, isotropic overall orientation.
    """
    M, masses = _prepare_masses(M, masses)
    n, k = masses.shape
    out = np.empty((n, k, 4))
    if k == 2:  # constant weight: no rejection
        out[:] = _genbod_kernel(M, masses, rng.random((n, 2)))[0]
        return out
    pending = np.arange(n)
    mult = 1
    while len(pending):
        idx = np.repeat(pending, mult)
        p4, a = n_body_phase_space_weighted(M[idx], masses[idx], rng)
        acc = rng.random(len(idx)) < a
        acc2 = acc.reshape(len(pending), mult)
        has = acc2.any(axis=1)
        rows = np.flatnonzero(has)
        out[pending[rows]] = p4[rows * mult + np.argmax(acc2[rows], axis=1)]
        pending = pending[~has]
        mult = next_multiplicity(int(acc.sum()), len(acc), len(pending) * k)
    return out


def next_multiplicity(n_accepted: int, n_candidates: int, pending_size: int) -> int:
    """Candidates per pending event for the next accept-reject round: about 2 / acceptance,
    with the acceptance estimated as (n_accepted + 0.5) / (n_candidates + 1) (so that a
    round without any acceptance grows the multiplicity geometrically instead of jumping
    to the cap), capped so that a round holds at most ~2e6 candidate daughters
    (``pending_size`` = pending events x daughters)."""
    eff = (n_accepted + 0.5) / (n_candidates + 1.0)
    want = int(np.ceil(2.0 / eff))
    return int(max(1, min(want, _MAX_CANDIDATES // max(pending_size, 1))))


# ====================================================================== Breit-Wigner
def sample_breit_wigner(
    m0: np.ndarray | float,
    gamma: np.ndarray | float,
    m_min: np.ndarray | float,
    m_max: np.ndarray | float,
    rng: np.random.Generator,
    size: int | tuple[int, ...] | None = None,
) -> np.ndarray:
    """Masses (GeV) from a relativistic Breit-Wigner with constant width, truncated to [m_min, m_max].

    Density in s = m^2:  f(s) ~ 1 / ((s - m0^2)^2 + m0^2 Gamma^2)  (PDG "Resonances",
    relativistic Breit-Wigner with fixed width), i.e. 2m f(m^2) in m.  Sampled exactly by
    the inverse CDF: F(s) ~ arctan((s - m0^2) / (m0 Gamma)), so
    s = m0^2 + m0 Gamma tan(theta) with theta uniform between the arctan of the limits.
    Parameters broadcast against each other and ``size``; where ``gamma == 0`` the result
    is ``m0`` (no random number is consumed differently: one uniform per entry always).
    ``m_max`` may be ``inf``.
    """
    m0 = np.asarray(m0, dtype=np.float64)
    gamma = np.asarray(gamma, dtype=np.float64)
    m_min = np.asarray(m_min, dtype=np.float64)
    m_max = np.asarray(m_max, dtype=np.float64)
    shape = np.broadcast_shapes(m0.shape, gamma.shape, m_min.shape, m_max.shape)
    if size is not None:
        shape = np.broadcast_shapes(shape, (size,) if isinstance(size, int) else tuple(size))
    m0, gamma, m_min, m_max = (np.broadcast_to(a, shape) for a in (m0, gamma, m_min, m_max))
    u = rng.random(shape)
    mg = m0 * gamma
    broad = mg > 0.0
    safe = np.where(broad, mg, 1.0)
    m02 = m0 * m0
    lo = np.arctan((np.maximum(m_min, 0.0) ** 2 - m02) / safe)
    hi = np.arctan((m_max * m_max - m02) / safe)
    s = m02 + safe * np.tan(lo + u * (hi - lo))
    m = np.clip(np.sqrt(np.maximum(s, 0.0)), m_min, m_max)
    return np.where(broad, m, m0)
