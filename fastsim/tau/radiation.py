"""Single-photon (O(alpha)) radiation in tau- decays at rest, PHOTOS-style.

(The same kernel serves every decay of :mod:`fastsim.decays` with charged products, as
PHOTOS does in EvtGen: a parent at rest has no transverse current, so the emission density
F below does not depend on its charge, and ``m_tau`` stands for the parent's mass, one per
decay.)

Applies to a decay already generated at rest in the tau- frame (:mod:`fastsim.tau.engine`,
``_rest_decays``): products p_1..p_k (masses m_i, charges Q_i, summing to P = (0, m_tau)).
At most one photon is added; the products recoil as one system (PHOTOS decay mode).

Sources: E. Barberio, Z. Was, "PHOTOS - a universal Monte Carlo for QED radiative corrections:
version 2.0", Comput. Phys. Commun. 79 (1994) 291 (single-emission kernel, kinematic
construction in the rest frame of the decaying particle, unitarity: the emission probability
above the cutoff is the O(alpha) integral, the rest of the events keep their Born kinematics);
P. Golonka, Z. Was, Eur. Phys. J. C45 (2006) 97, hep-ph/0506026 (PHOTOS 2.15: the eikonal
("soft") factor of all charged legs with masses, interference included; the multi-photon
mode is not used here).  The soft-photon current is the classical one (Jackson, Classical
Electrodynamics, sec. 15.2; Peskin & Schroeder eq. 6.17); the same conventions as
:mod:`fastsim.generators.fsr` (the project's FSR for lepton pairs).  No code was copied.

Emission density
----------------
Photon k = w (1, n) in the tau rest frame.  The eikonal current of the decay, with the tau-
incoming (eta = -1) and the products outgoing (eta = +1),

    J^mu = sum_i Q_i p_i^mu / (p_i.k) - Q_tau P^mu / (P.k),     sum_i Q_i = Q_tau = -1,

gives dN = (alpha / 4 pi^2) (-J.J) w dw dOmega.  Because J.k = 0 (charge conservation) the
polarisation sum may be taken over the two transverse polarisations of the rest frame, and
the tau at rest (P = (0, m)) has no transverse current: in the tau rest frame

    w^2 (-J.J) = F(n) = | sum_i Q_i v_perp_i / (1 - v_i.n) |^2 ,  v_perp = v - (v.n) n,

with v_i the products' velocities (exactly -J.J w^2 of the Feynman-gauge formula, interference
with the tau included; checked in the tests).  F is manifestly >= 0 and vanishes along every
massive charged product (the dead cone, peak at theta ~ m/E).  For one charged product,
the angular integral is the textbook (alpha/pi) [(1/v) ln((1+v)/(1-v)) - 2] dw/w.  A tau
at rest with only neutral products would have F = 0: a charge at rest does not radiate (the
Feynman-gauge -J.J = -1/w^2 < 0 is then no probability: the current is not conserved).

As in PHOTOS the velocities are those *after* the emission, in the rest frame of the
recoiling system (the Born directions, the rescaled momenta below), so the density goes to
zero at the kinematic limit w_max = (m_tau^2 - (sum m_i)^2) / (2 m_tau) (all products at
rest in their system: no transverse current).  The hard-collinear region gets the
Altarelli-Parisi fermion factor h(z) = 1 - z + z^2/2 = (1 + (1 - z)^2)/2 (Barberio-Was sec.
3; fsr.py), z_i = w / E_i the photon's share of the Born energy of the emitter, applied to
each leg with the weight of its own |term|^2 in F (the leg a collinear photon comes from):

    dN = (alpha / 4 pi^2) F(n) H(w, n) (dw / w) dOmega,   H = sum_i a_i h(z_i) / sum_i a_i,
    a_i = Q_i^2 |v_perp_i|^2 / (1 - v_i.n)^2,   w_cut = cutoff * m_tau / 2 < w < w_max.

(For a spin-0 emitter, e.g. pi-, the exact splitting factor is 1 - z instead; the difference
is hard-collinear and suppressed by the pion's dead cone.)

Hard photons: the phase-space Jacobian (optional)
-------------------------------------------------
The kinematic step below maps the Born configuration (n products at mass m_tau) to the
products at M'.  ``phase_space_jacobian=True`` multiplies the density by the exact Jacobian of
that map, J = dPhi_n(M') / dPhi_n(m_tau) = lambda^(3n-5) [sum_i p_i^2 / E_i] / [sum_i p_i^2 /
E'_i] prod_i E_i / E'_i (derived for this module: scale q_i = lambda p_i, J = lambda^2 = 1 - x
for three massless products, p'/M' over p/m_tau for two bodies; tested), i.e. dPhi_{n+1} of
the photon event relative to dPhi_n of its Born event with the Born matrix element kept.
Default False: in the collinear limit the exact factorisation keeps the Born phase space of
(emitter + photon), so the leading collinear log is reproduced without J, and J (= 1 - 2w/m_tau
for tau -> l nu nu) over-suppresses hard collinear photons.  The two settings bracket the
exact O(alpha) rate for tau -> l nu nu gamma (tests: LO of Fael et al. for E_gamma > 10 MeV,
e: +6 % without J, -11 % with J; mu: +8 % / -7 %).

O(alpha) normalisation (one photon at most)
-------------------------------------------
P_emit(Born configuration) = integral of dN above w_cut, exactly (not 1 - exp(-N)): one
trial per decay from a crude density g >= F H J, taken with probability
N_crude = (alpha / 2 pi) ln(w_max / w_cut) sum_i 2 n_c Q_i^2 v_i ln((1+v_i)/(1-v_i)) (Born
velocities v_i, n_c charged products; F <= n_c sum_i a_i, a_i <= 2 v_i^2 / (1 - v_i.n) since
the velocities after the emission are smaller, H <= 1, J <= 1), then accepted with F H J / g.
N_crude must be <= 1 (true for all tau channels with the default cutoff 1e-3; otherwise
ValueError: raise the cutoff).  Events without a photon keep the Born configuration: their
probability 1 - P_emit is the O(alpha) Sudakov (no-emission) factor, which contains the
virtual correction; the decay rate and branching fractions are unchanged (unitarity,
Bloch-Nordsieck / KLN), FSR only moves events in the products' phase space.

Kinematic step (PHOTOS decay mode, Barberio-Was sec. 2)
-------------------------------------------------------
The photon is placed in the tau rest frame; the system of all k products recoils with
Q = P - k, M'^2 = m_tau^2 - 2 m_tau w.  Its internal configuration is kept: in its rest frame
every product keeps its direction and mass, the momenta are scaled by one factor lambda with
sum_i sqrt(m_i^2 + lambda^2 |p_i|^2) = M' (Newton, monotone from lambda = 1); the system is
then boosted with velocity -w n / (m_tau - w).  (w is recomputed from the M' reached, so
sum p_new + k = (0, 0, 0, m_tau) to rounding, and each product keeps its mass.)  Because
the internal directions are kept, the polarimeter vector h of the Born decay and hence the
spin correlations of :mod:`fastsim.tau.engine` are unchanged to O(alpha) (the kinematic
change is O(w / m_tau) for the events with a photon, whose fraction is O(alpha)).

What this misses (compared with the exact O(alpha) matrix element, e.g. Fael, Mercolli,
Passera, JHEP 07 (2015) 153, arXiv:1506.03416): the non-eikonal (non-log) part of hard
non-collinear emission, the change of the weak matrix element and of the phase space with
the recoil (PHOTOS's optional matrix-element weight, Golonka-Was sec. 4), structure-dependent
radiation of hadrons, the virtual-correction shape of the non-radiative events, and
multi-photon emission.

Units: GeV.  Four-vectors (px, py, pz, E).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fastsim.constants import ALPHA_EM

__all__ = ["N_UNIFORMS", "charges_of", "radiate_any", "radiate_decays", "soft_factor"]

#: uniforms used per decay (columns of ``u``): trial, leg, angle, azimuth, energy, accept
N_UNIFORMS = 6

_CHARGED = {11: -1, 13: -1, 15: -1, 211: 1, 321: 1, 213: 1, 323: 1, 20213: 1, 2212: 1, 24: 1}


def charges_of(pdg_ids) -> np.ndarray:
    """Electric charges (units of e) of the given PDG ids (the particles in tau decays: charged
    leptons, pi, K, rho, K*, a1; everything else neutral).  Negative ids: antiparticles."""
    ids = np.asarray(pdg_ids, dtype=np.int64)
    return np.array([np.sign(i) * _CHARGED.get(abs(int(i)), 0) for i in ids.ravel()], np.float64).reshape(
        ids.shape
    )


# ---------------------------------------------------------------------------- kernels
@njit(cache=True, nogil=True)
def _boost(px: float, py: float, pz: float, e: float, ex: float, ey: float, ez: float, g: float) -> tuple:
    """Boost (px, py, pz, e) by eta = gamma*beta = (ex, ey, ez), gamma = g (PDG "Kinematics" 49.1)."""
    q = ex * px + ey * py + ez * pz
    f = e + q / (g + 1.0)
    return px + ex * f, py + ey * f, pz + ez * f, g * e + q


@njit(cache=True, nogil=True)
def _solve_lambda(m2: np.ndarray, pa: np.ndarray, m_new: float, e_new: np.ndarray) -> float:
    """lambda in [0, 1] with sum_i sqrt(m2_i + lambda^2 pa_i^2) = m_new (Newton from 1: the sum
    is convex and increasing in lambda, so the iteration decreases monotonically to the root).
    Fills e_new with the energies; returns lambda."""
    k = m2.shape[0]
    lam = 1.0
    for _ in range(200):
        s = 0.0
        d = 0.0
        for i in range(k):
            e = math.sqrt(m2[i] + lam * lam * pa[i] * pa[i])
            e_new[i] = e
            s += e
            if e > 0.0:
                d += lam * pa[i] * pa[i] / e
        f = s - m_new
        if f <= 1e-15 * m_new or d <= 0.0:
            break
        step = f / d
        lam_next = max(lam - step, 0.0)
        if lam - lam_next <= 1e-16 * lam:
            lam = lam_next
            break
        lam = lam_next
    for i in range(k):
        e_new[i] = math.sqrt(m2[i] + lam * lam * pa[i] * pa[i])
    return lam


@njit(cache=True, nogil=True)
def _radiate_kernel(
    p: np.ndarray,
    q: np.ndarray,
    m_par: np.ndarray,
    u: np.ndarray,
    cut: np.ndarray,
    alpha: float,
    use_jacobian: bool,
) -> tuple:
    """One O(alpha) trial per decay (module doc).  Returns p_new (n, k, 4), photon (n, 4) and
    the crude probability N_crude (n,) (checked <= 1 by the caller)."""
    n, k, _ = p.shape
    out = p.copy()
    ph = np.zeros((n, 4))
    ncrude = np.zeros(n)
    n_over = np.zeros(n, np.int64)
    m2 = np.empty(k)
    pa = np.empty(k)
    en = np.empty(k)
    e_new = np.empty(k)
    d = np.empty((k, 3))
    v = np.empty(k)
    omv = np.empty(k)
    lg = np.empty(k)
    amp = np.empty(k)
    n_c = 0
    for i in range(k):
        if q[i] != 0.0:
            n_c += 1
    if n_c == 0:
        return out, ph, ncrude, n_over
    two_pi = 2.0 * math.pi
    for ev in range(n):
        m_tau = m_par[ev]  # the decaying particle's mass (any parent at rest: module doc)
        w_cut = 0.5 * cut[ev] * m_tau
        msum = 0.0
        for i in range(k):
            x, y, z, e = p[ev, i, 0], p[ev, i, 1], p[ev, i, 2], p[ev, i, 3]
            a2 = x * x + y * y + z * z
            a = math.sqrt(a2)
            m2[i] = max(e * e - a2, 0.0)
            pa[i] = a
            en[i] = e
            msum += math.sqrt(m2[i])
            if a > 0.0:
                d[i, 0], d[i, 1], d[i, 2] = x / a, y / a, z / a
            else:
                d[i, 0], d[i, 1], d[i, 2] = 0.0, 0.0, 1.0
        w_max = 0.5 * (m_tau * m_tau - msum * msum) / m_tau
        if w_max <= w_cut:
            continue
        a_tot = 0.0
        for i in range(k):
            amp[i] = 0.0
            v[i] = 0.0
            omv[i] = 1.0
            lg[i] = 0.0
            if q[i] == 0.0 or pa[i] <= 0.0:
                continue
            v[i] = pa[i] / en[i]
            omv[i] = m2[i] / (en[i] * (en[i] + pa[i]))  # 1 - v, without cancellation
            if omv[i] <= 0.0:  # massless charged product: no collinear regulator
                omv[i] = 1e-300
            lg[i] = math.log((1.0 + v[i]) / omv[i])
            amp[i] = 2.0 * n_c * q[i] * q[i] * v[i] * lg[i]
            a_tot += amp[i]
        if a_tot <= 0.0:
            continue
        lw = math.log(w_max / w_cut)
        nc_ev = alpha / two_pi * a_tot * lw
        ncrude[ev] = nc_ev
        if u[ev, 0] >= nc_ev:
            continue
        # ---- crude point: leg j ~ amp_j, (1 - v_j c) ~ 1/t, phi flat, w ~ dw/w
        r = u[ev, 1] * a_tot
        j = -1
        acc = 0.0
        for i in range(k):
            if amp[i] > 0.0:
                j = i
                acc += amp[i]
                if r < acc:
                    break
        t = omv[j] * math.exp(u[ev, 2] * lg[j])
        omc = min((t - omv[j]) / v[j], 2.0)  # 1 - cos(theta) to product j
        c = 1.0 - omc
        s = math.sqrt(max(omc * (2.0 - omc), 0.0))
        phi = two_pi * u[ev, 3]
        zx, zy, zz = d[j, 0], d[j, 1], d[j, 2]
        if abs(zx) < 0.6:
            ux, uy, uz = 0.0, zz, -zy
        else:
            ux, uy, uz = -zz, 0.0, zx
        nu = math.sqrt(ux * ux + uy * uy + uz * uz)
        ux, uy, uz = ux / nu, uy / nu, uz / nu
        vx, vy, vz = zy * uz - zz * uy, zz * ux - zx * uz, zx * uy - zy * ux
        cp, sp = s * math.cos(phi), s * math.sin(phi)
        nx = cp * ux + sp * vx + c * zx
        ny = cp * uy + sp * vy + c * zy
        nz = cp * uz + sp * vz + c * zz
        nn = math.sqrt(nx * nx + ny * ny + nz * nz)
        nx, ny, nz = nx / nn, ny / nn, nz / nn
        w = w_cut * math.exp(u[ev, 4] * lw)
        # ---- recoil system: lambda and the velocities after the emission
        m_new = math.sqrt(m_tau * m_tau - 2.0 * m_tau * w)
        lam = _solve_lambda(m2, pa, m_new, e_new)
        jx, jy, jz = 0.0, 0.0, 0.0  # sum_i Q_i v_perp_i / (1 - v_i.n)
        sa = 0.0
        sah = 0.0
        g = 0.0
        for i in range(k):
            if q[i] == 0.0 or pa[i] <= 0.0:
                continue
            dx, dy, dz = d[i, 0] - nx, d[i, 1] - ny, d[i, 2] - nz
            omc_i = 0.5 * (dx * dx + dy * dy + dz * dz)  # 1 - d_i.n, stable near 0
            if i == j:
                omc_i = omc
            c_i = 1.0 - omc_i
            g += 2.0 * n_c * q[i] * q[i] * v[i] * v[i] / (omv[i] + v[i] * omc_i)
            if lam <= 0.0:
                continue
            vt = lam * pa[i] / e_new[i]
            omvt = m2[i] / (e_new[i] * (e_new[i] + lam * pa[i]))  # 1 - vt
            den = omvt + vt * omc_i  # 1 - vt c_i
            if den <= 0.0:
                den = 1e-300
            f = q[i] * vt / den
            jx += f * (d[i, 0] - c_i * nx)
            jy += f * (d[i, 1] - c_i * ny)
            jz += f * (d[i, 2] - c_i * nz)
            a_i = f * f * omc_i * (2.0 - omc_i)  # Q^2 vt^2 (1 - c^2) / (1 - vt c)^2
            z = min(w / en[i], 1.0)
            sa += a_i
            sah += a_i * (1.0 - z + 0.5 * z * z)
        big_f = jx * jx + jy * jy + jz * jz
        if sa <= 0.0 or big_f <= 0.0:
            continue
        # phase-space Jacobian of the map (Born at m_tau) -> (products at M') (module doc)
        jac = 1.0
        if use_jacobian:
            s_old = 0.0
            s_new = 0.0
            for i in range(k):
                if pa[i] > 0.0:
                    s_old += pa[i] * pa[i] / en[i]
                    s_new += pa[i] * pa[i] / e_new[i]
                    jac *= en[i] / e_new[i]
            jac *= lam ** (3 * k - 5) * s_old / s_new
        target = big_f * sah / sa * jac
        if target > g:
            n_over[ev] = 1
        if u[ev, 5] * g >= target:
            continue
        # ---- kinematics: products in the recoil rest frame, then boosted with Q = P - k
        msys = 0.0
        for i in range(k):
            msys += e_new[i]
        w = 0.5 * (m_tau * m_tau - msys * msys) / m_tau  # consistent with the M' reached
        gam = (m_tau - w) / msys
        ex, ey, ez = -w * nx / msys, -w * ny / msys, -w * nz / msys
        for i in range(k):
            b = _boost(lam * p[ev, i, 0], lam * p[ev, i, 1], lam * p[ev, i, 2], e_new[i], ex, ey, ez, gam)
            out[ev, i, 0], out[ev, i, 1], out[ev, i, 2], out[ev, i, 3] = b[0], b[1], b[2], b[3]
        ph[ev, 0], ph[ev, 1], ph[ev, 2], ph[ev, 3] = w * nx, w * ny, w * nz, w
    return out, ph, ncrude, n_over


@njit(cache=True, nogil=True)
def _soft_kernel(p: np.ndarray, q: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """F(n) = |sum_i Q_i v_perp_i / (1 - v_i.n)|^2 per event (n, k, 4), directions (n, 3)."""
    n, k, _ = p.shape
    out = np.zeros(n)
    for ev in range(n):
        nx, ny, nz = nvec[ev, 0], nvec[ev, 1], nvec[ev, 2]
        jx, jy, jz = 0.0, 0.0, 0.0
        for i in range(k):
            if q[i] == 0.0:
                continue
            e = p[ev, i, 3]
            vx, vy, vz = p[ev, i, 0] / e, p[ev, i, 1] / e, p[ev, i, 2] / e
            vn = vx * nx + vy * ny + vz * nz
            f = q[i] / (1.0 - vn)
            jx += f * (vx - vn * nx)
            jy += f * (vy - vn * ny)
            jz += f * (vz - vn * nz)
        out[ev] = jx * jx + jy * jy + jz * jz
    return out


# ---------------------------------------------------------------------------- API
def soft_factor(p: np.ndarray, charges: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The eikonal factor F(n) = w^2 (-J.J) of decays at rest (module doc): p (N, k, 4)
    products in the tau- rest frame, charges (k,), n (N, 3) unit photon directions.  The tau at
    rest carries no transverse current, so only the products enter (valid when the charges
    add up to the tau's, -1).  dN = (alpha / 4 pi^2) F dOmega dw / w in the soft limit."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    q = np.ascontiguousarray(charges, dtype=np.float64)
    nv = np.ascontiguousarray(np.broadcast_to(n, (p.shape[0], 3)), dtype=np.float64)
    return _soft_kernel(p, q, nv)


def radiate_decays(
    p: np.ndarray,
    charges: np.ndarray,
    m_tau: float,
    u: np.ndarray,
    cutoff: float = 1e-3,
    alpha: float = ALPHA_EM,
    phase_space_jacobian: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """O(alpha) PHOTOS-style photon emission in tau- decays at rest (module doc).

    p (n, k, 4): decays of a tau- (charge -1) AT REST, the products' four-momenta (px, py, pz,
    E) in GeV, summing to (0, 0, 0, m_tau); charges (k,) the products' electric charges (e.g.
    -1, 0, 0 for mu- nu_mu-bar nu_tau; :func:`charges_of` maps PDG ids); u (n, m) uniforms in
    [0, 1) from the caller's rng, m >= N_UNIFORMS = 6 (columns 0..5: trial, leg, angle, azimuth,
    energy, acceptance; extra columns are ignored), so the result is a deterministic function
    of (p, u).  ``cutoff``: the photon must have E > cutoff * m_tau / 2 in the tau rest frame.
    ``phase_space_jacobian``: multiply the density by the phase-space Jacobian J of the
    kinematic step (module doc; default False).

    Returns (p_new (n, k, 4), photon (n, 4)).  With probability P_emit (the O(alpha) integral
    of the emission density above the cutoff for that configuration) a photon is emitted and
    the products recoil as one system (masses and internal directions kept), so that
    p_new.sum(axis=1) + photon == (0, 0, 0, m_tau) to rounding; rows without emission return
    p unchanged and photon = 0.  tau+ decays (the CP images, charges flipped): pass -charges
    (F is quadratic in the charges, so the same charges work too).  Raises ValueError when the
    one-trial crude probability exceeds 1 (cutoff too small for that channel)."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    q = np.ascontiguousarray(charges, dtype=np.float64).ravel()
    u = np.ascontiguousarray(u, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 4 or q.shape[0] != p.shape[1]:
        msg = f"p must be (n, k, 4) and charges (k,): got {p.shape} and {q.shape}"
        raise ValueError(msg)
    if u.ndim != 2 or u.shape[0] != p.shape[0] or u.shape[1] < N_UNIFORMS:
        msg = f"u must be (n, >= {N_UNIFORMS}) uniforms: got {u.shape} for n = {p.shape[0]}"
        raise ValueError(msg)
    if not 0.0 < cutoff < 1.0:
        msg = f"cutoff must be in (0, 1): {cutoff}"
        raise ValueError(msg)
    m_par = np.ascontiguousarray(np.broadcast_to(np.asarray(m_tau, np.float64), (p.shape[0],)))
    cut = np.full(p.shape[0], float(cutoff))
    out, ph, ncrude, n_over = _radiate_kernel(p, q, m_par, u, cut, float(alpha), bool(phase_space_jacobian))
    if n_over.any():
        msg = f"emission density above its crude bound in {int(n_over.sum())} decays (biased)"
        raise RuntimeError(msg)
    if ncrude.size and ncrude.max() > 1.0:
        msg = (
            f"crude emission probability {ncrude.max():.3f} > 1 at cutoff {cutoff}: "
            "O(alpha) single emission needs a larger cutoff"
        )
        raise ValueError(msg)
    return out, ph


def radiate_any(
    p: np.ndarray,
    charges: np.ndarray,
    masses: np.ndarray,
    u: np.ndarray,
    cutoff: float = 1e-3,
    crude_max: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`radiate_decays` for decays of any particle at rest (``masses`` (n,): the parents'
    masses, GeV), one O(alpha) trial each.  Where the one-trial crude probability at ``cutoff``
    exceeds ``crude_max`` (two energetic light leptons, many charged products: the crude bound
    grows with log(w_max / w_cut)), that decay's cutoff is raised until it does not, i.e. its
    photons start at a higher energy (J/psi -> e e: 3 MeV instead of 1.5 MeV), so single
    emission stays exact above it.  Returns (p_new, photon)."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    q = np.ascontiguousarray(charges, dtype=np.float64).ravel()
    m = np.ascontiguousarray(masses, dtype=np.float64)
    u = np.ascontiguousarray(u, dtype=np.float64)
    cut = np.full(len(m), float(cutoff))
    out, ph, ncrude, n_over = _radiate_kernel(p, q, m, u, cut, ALPHA_EM, False)
    redo = np.flatnonzero(ncrude > crude_max)
    if len(redo):
        msum = np.sqrt(np.maximum(p[redo, :, 3] ** 2 - np.sum(p[redo, :, :3] ** 2, axis=2), 0.0)).sum(axis=1)
        w_max = 0.5 * (m[redo] ** 2 - msum**2) / m[redo]
        log_range = np.log(w_max / (0.5 * cutoff * m[redo]))
        new_log = log_range * crude_max / ncrude[redo]  # N_crude is proportional to the log range
        cut[redo] = 2.0 * w_max * np.exp(-new_log) / m[redo]
        o2, p2, n2, v2 = _radiate_kernel(
            np.ascontiguousarray(p[redo]),
            q,
            np.ascontiguousarray(m[redo]),
            np.ascontiguousarray(u[redo]),
            np.ascontiguousarray(cut[redo]),
            ALPHA_EM,
            False,
        )
        out[redo], ph[redo], ncrude[redo], n_over[redo] = o2, p2, n2, v2
    skip = (ncrude > 1.0) | (n_over > 0)
    if np.any(skip):  # not expected after the adjustment; kept as a guard
        out[skip] = p[skip]
        ph[skip] = 0.0
    return out, ph
