"""Final-state radiation (FSR) off charged-lepton pairs: a PHOTOS-style dipole algorithm.

Applied after the hard event is built (``MEProcess.generate``), to each *dipole*: a
same-flavour l- l+ pair from one vertex (the pair of e+e- -> mu mu, the pair recoiling
against X in e+e- -> mu mu X, the daughters of X -> mu mu).  The dipole's total
four-momentum P (mass M) is kept; everything else in the event is untouched.

Emission density (soft-photon eikonal factor with the lepton mass kept, times the
collinear correction).  In the rest frame of P, for a photon of energy w = x M / 2 and
cos(theta) = c relative to the l- direction,

    dN = (alpha / 4 pi^2) (-J^2) w dw dOmega h(x),   J = p1/(p1.k) - p2/(p2.k)   (k = photon),
       = (alpha / 2 pi) (dx / x) W(c) dc (dphi / 2 pi) h(x),
    W(c) = 2 (1 + beta^2) / ((1 - beta c)(1 + beta c))
           - (1 - beta^2) / (1 - beta c)^2 - (1 - beta^2) / (1 + beta c)^2,
    h(x) = (1 + (1 - x)^2) / 2,

beta = (1 - 4 m^2 / M'^2)^(1/2) the lepton velocity after the emission (M'^2 = M^2 (1 - x)),
so that W -> 0 at the kinematic limit.  The eikonal current is the classical soft-photon
formula (Jackson, Classical Electrodynamics, sec. 15.2; Peskin & Schroeder eq. 6.17); the
mass terms give the dead cone (dN/dOmega vanishes along the lepton and peaks at
theta = m/E); h(x) is the Altarelli-Parisi l -> l gamma splitting function, which makes
the hard-collinear region exact at leading log (the PHOTOS single-emission kernel,
E. Barberio, Z. Was, Comput. Phys. Commun. 79 (1994) 291, sec. 3).  Integrated over the
angles,

    dN/dx = (alpha / pi) [(1 + beta^2)/beta ln((1 + beta)/(1 - beta)) - 2] h(x) / x
          ~ (2 alpha / pi) [ln(M^2 / m^2) - 1] h(x) / x    (beta -> 1),

so the probability of a photon with x > x0 is 1 - exp(-N(x0)) with
N(x0) ~ (2 alpha / pi) [ln(M^2/m^2) - 1] [ln(1/x0) - 3/4] for small x0.  alpha = alpha(0).

Algorithm (the exponentiated, multi-photon mode of P. Golonka, Z. Was, Eur. Phys. J. C45
(2006) 97, hep-ph/0506026, realised as a veto algorithm ordered in x):
  1. x is drawn from the crude density A dx/x below the previous x (first: the kinematic
     limit x_max = 1 - 4 m^2/M^2), A = (alpha/pi) (1 + beta0^2) L0 / beta0 with the
     velocity beta0 before the emission (the crude angular density
     G(c) = (1 + beta0^2) [1/(1 - beta0 c) + 1/(1 + beta0 c)] >= W(c), equal-mass pairs);
     below the infrared cutoff x_cut (``fsr_cutoff``, x = 2 E_gamma / M in the dipole rest
     frame; default 1e-3, i.e. 5.3 MeV for a 10.58 GeV pair) the dipole stops radiating;
  2. c from G (one of the two collinear peaks), phi uniform; the point is accepted with
     probability W(c) h(x) / G(c), else step 1 continues from this x (veto algorithm:
     the no-emission probability above x is exp(-N(x)) exactly, Sudakov form factor);
  3. kinematics, as PHOTOS does: the photon k (energy w) is placed in the rest frame of P;
     the pair recoils as a whole: Q = P - k, M'^2 = M^2 (1 - x); the leptons are
     back-to-back in the rest frame of Q along the l- direction they had in the rest frame
     of P, with |p| = (M'^2/4 - m^2)^(1/2), and are boosted with Q.  P is conserved
     exactly (to rounding);
  4. multi-photon mode (default): steps 1-3 repeat for the new pair (x now relative to
     its mass M', the cutoff kept at x_cut M / M'), x ordered; single-photon mode stops
     after the first (hardest) photon.
Unitarity: the probabilities of all outcomes sum to 1 (events below the cutoff keep their
pair unchanged: the virtual and soft corrections cancel the infrared divergence,
Bloch-Nordsieck / KLN), so the event weight and the cross section are unchanged; FSR only
moves events in m(l l) and energy.  Interference between different dipoles (e.g. the
initial-final interference, or the two pairs of e+e- -> 4 mu) is left out.

Record: each photon gets id 22, status 1, mother1 = the lepton it is closest to in angle
(in the dipole rest frame), mother2 = -1, the lepton's production vertex, and is appended
at the end of its event; the lepton keeps status 1 and its daughter1/daughter2 give the
range of its photons.

Random numbers: one 64-bit seed per event from the chunk's generator feeds a SplitMix64
stream inside the kernel (G. Steele, D. Lea, C. Flood, OOPSLA 2014), so the result depends
only on the chunk's rng.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fastsim.constants import ALPHA_EM
from fastsim.events import MC_FIELDS, STATUS_FINAL, Collection, offsets_from_counts
from fastsim.schema import Field

__all__ = ["FSR_PARAMS", "apply_fsr", "emission_density", "pair_dipoles", "radiate_regular"]

PHOTON = 22
CHARGED_LEPTONS = (11, 13, 15)
#: at most this many photons per dipole (a safety bound: the mean is < 1 even at x_cut = 1e-9)
MAX_PHOTONS_PER_DIPOLE = 32

FSR_PARAMS: dict[str, Field] = {
    "fsr": Field(bool, True, "final-state radiation off charged-lepton pairs (PHOTOS-style dipoles, fsr.py)"),
    "fsr_cutoff": Field(
        float,
        1e-3,
        "FSR infrared cutoff: photon energy fraction 2 E_gamma / M in the dipole rest frame",
        min=1e-9,
        max=0.5,
    ),
    "fsr_multiphoton": Field(
        bool, True, "exponentiated multi-photon FSR (false: at most one photon per dipole)"
    ),
}


def emission_density(x: np.ndarray, c: np.ndarray, mass_ratio2: float, alpha: float = ALPHA_EM) -> np.ndarray:
    """The emission density d^2N / (dx dc) (after the phi integration) of one dipole.

    ``mass_ratio2`` = 4 m^2 / M^2 of the pair (before the emission); x = 2 E_gamma / M and
    c = cos(theta) of the photon to the l- in the rest frame of the pair.  The formula of
    the module docstring, for checks and plots (the kernel samples it)."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    r = np.clip(mass_ratio2 / (1.0 - x), 0.0, 1.0)
    b = np.sqrt(1.0 - r)
    t1, t2 = 1.0 - b * c, 1.0 + b * c
    w = 2.0 * (2.0 - r) / (t1 * t2) - r / t1**2 - r / t2**2
    h = 0.5 * (1.0 + (1.0 - x) ** 2)
    return alpha / (2.0 * math.pi) * w * h / x


# ---------------------------------------------------------------------------- kernels
@njit(cache=True, nogil=True)
def _uniform(state: np.ndarray) -> float:
    """SplitMix64 step on state[0]; a double in (0, 1)."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def _boost(px: float, py: float, pz: float, e: float, ex: float, ey: float, ez: float, g: float) -> tuple:
    """Boost (px, py, pz, e) by eta = gamma*beta = (ex, ey, ez), gamma = g (PDG "Kinematics" 49.1)."""
    q = ex * px + ey * py + ez * pz
    f = e + q / (g + 1.0)
    return px + ex * f, py + ey * f, pz + ez * f, g * e + q


@njit(cache=True, nogil=True)
def _radiate_dipole(
    p: np.ndarray,
    m: float,
    cutoff: float,
    multi: bool,
    alpha: float,
    state: np.ndarray,
    out_k: np.ndarray,
    out_em: np.ndarray,
) -> int:
    """Radiate photons off one equal-mass dipole p[0] (l-), p[1] (l+) (4-vectors, updated in place).

    Photon four-momenta go to out_k[j], their emitter (0 or 1) to out_em[j]; returns the count."""
    n_ph = 0
    px = p[0, 0] + p[1, 0]
    py = p[0, 1] + p[1, 1]
    pz = p[0, 2] + p[1, 2]
    pe = p[0, 3] + p[1, 3]
    m_big2 = pe * pe - px * px - py * py - pz * pz
    if m_big2 <= 4.0 * m * m:
        return 0
    m0 = math.sqrt(m_big2)
    x_hi = 1.0
    while n_ph < out_k.shape[0]:
        px = p[0, 0] + p[1, 0]
        py = p[0, 1] + p[1, 1]
        pz = p[0, 2] + p[1, 2]
        pe = p[0, 3] + p[1, 3]
        mm = math.sqrt(max(pe * pe - px * px - py * py - pz * pz, 0.0))
        r0 = 4.0 * m * m / (mm * mm)  # 1 - beta0^2
        x_max = 1.0 - r0
        x_cut = cutoff * m0 / mm
        x_hi = min(x_hi, x_max)
        if x_hi <= x_cut:
            break
        b0 = math.sqrt(x_max)
        omb0 = r0 / (1.0 + b0)  # 1 - beta0
        lg0 = math.log((1.0 + b0) / omb0)
        amp = alpha / math.pi * (2.0 - r0) * lg0 / b0  # crude A: (alpha/pi) (1 + b^2) L / b
        x = x_hi
        emitted = False
        omc = 0.0
        emitter = 0
        while True:
            x = x * math.exp(math.log(_uniform(state)) / amp)
            if x <= x_cut:
                break
            # crude angle: t = 1 - beta0 c_e with density 1/t, c_e relative to the chosen emitter
            emitter = 0 if _uniform(state) < 0.5 else 1
            t = omb0 * math.exp(_uniform(state) * lg0)
            omc = (t - omb0) / b0  # 1 - c_e, accurate near the lepton
            omc = min(omc, 2.0)
            r = r0 / (1.0 - x)  # 1 - beta'^2 after the emission
            if r >= 1.0:
                continue
            b = math.sqrt(1.0 - r)
            omb = r / (1.0 + b)
            t1 = omb + b * omc  # 1 - beta' c_e
            t2 = 2.0 - t1  # 1 + beta' c_e
            w = 2.0 * (2.0 - r) / (t1 * t2) - r / (t1 * t1) - r / (t2 * t2)
            g = (2.0 - r0) * (1.0 / t + 1.0 / (2.0 - t))
            h = 0.5 * (1.0 + (1.0 - x) * (1.0 - x))
            if _uniform(state) * g < w * h:
                emitted = True
                break
        if not emitted:
            break
        # ------------------------------------------------ kinematics in the rest frame of P
        g_p = pe / mm
        ex, ey, ez = px / mm, py / mm, pz / mm
        a = _boost(p[0, 0], p[0, 1], p[0, 2], p[0, 3], -ex, -ey, -ez, g_p)
        na = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])
        zx, zy, zz = a[0] / na, a[1] / na, a[2] / na  # l- direction
        # two unit vectors orthogonal to z
        if abs(zx) < 0.6:
            ux, uy, uz = 0.0, zz, -zy
        else:
            ux, uy, uz = -zz, 0.0, zx
        nu = math.sqrt(ux * ux + uy * uy + uz * uz)
        ux, uy, uz = ux / nu, uy / nu, uz / nu
        vx, vy, vz = zy * uz - zz * uy, zz * ux - zx * uz, zx * uy - zy * ux
        c_e = 1.0 - omc
        s_e = math.sqrt(max(omc * (2.0 - omc), 0.0))
        phi = 2.0 * math.pi * _uniform(state)
        sgn = 1.0 if emitter == 0 else -1.0  # the emitter's direction: +z (l-) or -z (l+)
        cz = sgn * c_e
        dx = s_e * math.cos(phi) * ux + s_e * math.sin(phi) * vx + cz * zx
        dy = s_e * math.cos(phi) * uy + s_e * math.sin(phi) * vy + cz * zy
        dz = s_e * math.cos(phi) * uz + s_e * math.sin(phi) * vz + cz * zz
        w_g = 0.5 * x * mm
        # recoiling pair Q = P - k: mass M', velocity -k/(M - w)
        m_new = mm * math.sqrt(1.0 - x)
        q = math.sqrt(max(0.25 * m_new * m_new - m * m, 0.0))
        g_q = (mm - w_g) / m_new
        qx, qy, qz = -w_g * dx / m_new, -w_g * dy / m_new, -w_g * dz / m_new
        for j in range(2):
            s = 1.0 if j == 0 else -1.0
            l1 = _boost(s * q * zx, s * q * zy, s * q * zz, 0.5 * m_new, qx, qy, qz, g_q)
            l2 = _boost(l1[0], l1[1], l1[2], l1[3], ex, ey, ez, g_p)
            p[j, 0], p[j, 1], p[j, 2], p[j, 3] = l2[0], l2[1], l2[2], l2[3]
        k = _boost(w_g * dx, w_g * dy, w_g * dz, w_g, ex, ey, ez, g_p)
        # k = P - l1 - l2 in the lab would also do; the boost keeps k massless
        out_k[n_ph, 0], out_k[n_ph, 1], out_k[n_ph, 2], out_k[n_ph, 3] = k[0], k[1], k[2], k[3]
        # mother: the lepton nearer in angle (rest frame of P)
        out_em[n_ph] = emitter if c_e >= 0.0 else 1 - emitter
        n_ph += 1
        x_hi = x
        if not multi:
            break
    return n_ph


@njit(cache=True, nogil=True)
def _fsr_kernel(
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    e: np.ndarray,
    m: np.ndarray,
    offsets: np.ndarray,
    dipoles: np.ndarray,
    seeds: np.ndarray,
    cutoff: float,
    multi: bool,
    alpha: float,
) -> tuple:
    """FSR over all events of a flat record (px..m, offsets; read only).

    ``dipoles`` (n, nd, 2): local indices (l-, l+), -1 = no dipole.  Returns per-event
    photon counts; per photon (events in order, grouped by emitter within an event) its
    four-momentum (n_ph, 4) and the global index of its emitter; the global indices
    (n_mod,) and new four-momenta (n_mod, 4) of the leptons that radiated."""
    n, nd, _ = dipoles.shape
    cap = max(16, n * nd // 2)
    ks = np.empty((cap, 4))
    mothers = np.empty(cap, np.int64)
    lep = np.empty(2 * cap, np.int64)
    lep_p = np.empty((2 * cap, 4))
    counts = np.zeros(n, np.int64)
    state = np.empty(1, np.uint64)
    pp = np.empty((2, 4))
    buf_k = np.empty((MAX_PHOTONS_PER_DIPOLE, 4))
    buf_em = np.empty(MAX_PHOTONS_PER_DIPOLE, np.int64)
    tot = 0
    n_mod = 0
    for i in range(n):
        state[0] = seeds[i]
        first = tot
        for d in range(nd):
            a, b = dipoles[i, d, 0], dipoles[i, d, 1]
            if a < 0 or b < 0:
                continue
            ia, ib = offsets[i] + a, offsets[i] + b
            pp[0, 0], pp[0, 1], pp[0, 2], pp[0, 3] = px[ia], py[ia], pz[ia], e[ia]
            pp[1, 0], pp[1, 1], pp[1, 2], pp[1, 3] = px[ib], py[ib], pz[ib], e[ib]
            k = _radiate_dipole(pp, 0.5 * (m[ia] + m[ib]), cutoff, multi, alpha, state, buf_k, buf_em)
            if k == 0:
                continue
            if tot + k > cap:  # grow the buffers
                cap = 2 * cap + k
                ks2 = np.empty((cap, 4))
                ks2[:tot] = ks[:tot]
                mo2 = np.empty(cap, np.int64)
                mo2[:tot] = mothers[:tot]
                lep2 = np.empty(2 * cap, np.int64)
                lep2[:n_mod] = lep[:n_mod]
                lp2 = np.empty((2 * cap, 4))
                lp2[:n_mod] = lep_p[:n_mod]
                ks, mothers, lep, lep_p = ks2, mo2, lep2, lp2
            lep[n_mod], lep[n_mod + 1] = ia, ib
            lep_p[n_mod : n_mod + 2] = pp
            n_mod += 2
            for j in range(k):
                ks[tot + j] = buf_k[j]
                mothers[tot + j] = ia if buf_em[j] == 0 else ib
            tot += k
        # group the event's photons by emitter (stable insertion sort): contiguous daughter ranges
        for j in range(first + 1, tot):
            mo = mothers[j]
            k0, k1, k2, k3 = ks[j, 0], ks[j, 1], ks[j, 2], ks[j, 3]
            r = j - 1
            while r >= first and mothers[r] > mo:
                mothers[r + 1] = mothers[r]
                ks[r + 1] = ks[r]
                r -= 1
            mothers[r + 1] = mo
            ks[r + 1, 0], ks[r + 1, 1], ks[r + 1, 2], ks[r + 1, 3] = k0, k1, k2, k3
        counts[i] = tot - first
    return counts, ks[:tot], mothers[:tot], lep[:n_mod], lep_p[:n_mod]


@njit(cache=True, nogil=True)
def _spread(
    src: np.ndarray, old_offsets: np.ndarray, new_offsets: np.ndarray, radiating: np.ndarray, out: np.ndarray
) -> None:
    """Copy the flat items of ``src`` to their places in ``out``, leaving room after each
    event in ``radiating`` (sorted event indices) for its photons."""
    start = 0
    for i in radiating:
        end = old_offsets[i + 1]
        sh = new_offsets[i] - old_offsets[i]
        for j in range(start, end):
            out[j + sh] = src[j]
        start = end
    sh = new_offsets[-1] - old_offsets[-1]
    for j in range(start, len(src)):
        out[j + sh] = src[j]


@njit(cache=True, nogil=True)
def _spread_regular(src: np.ndarray, new_offsets: np.ndarray, out: np.ndarray) -> None:
    """Copy the rows of ``src`` (n, k) (any strides, e.g. broadcast) to the starts of the
    events' ranges in ``out``."""
    n, k = src.shape
    for i in range(n):
        base = new_offsets[i]
        for j in range(k):
            out[base + j] = src[i, j]


# ---------------------------------------------------------------------------- record
def _run_kernel(
    p4: tuple, m: np.ndarray, offsets: np.ndarray, dipoles: np.ndarray, rng: np.random.Generator, opts: tuple
) -> tuple:
    n = len(offsets) - 1
    dip = np.asarray(dipoles, dtype=np.int64)
    if dip.ndim == 2:
        dip = np.broadcast_to(dip, (n, *dip.shape))
    dip = np.ascontiguousarray(dip)
    seeds = rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True)
    cutoff, multi, alpha = opts
    return _fsr_kernel(*p4, m, offsets, dip, seeds, float(cutoff), bool(multi), float(alpha))


def _assemble(names: dict, old_offsets: np.ndarray, result: tuple, spread) -> Collection:
    """The record with photons: ``names`` maps field -> dtype, ``spread(name, new_offsets,
    radiating, out)`` copies the old items of a field into ``out``."""
    counts, k, mothers, lep, lep_p = result
    n = len(old_offsets) - 1
    old_counts = np.diff(old_offsets)
    new_offsets = offsets_from_counts(old_counts + counts)
    shift = new_offsets[:-1] - old_offsets[:-1]  # per event: new global index - old one
    ev_ph = np.repeat(np.arange(n, dtype=np.int64), counts)
    first_ph = offsets_from_counts(counts)
    local_ph = old_counts[ev_ph] + np.arange(len(k), dtype=np.int64) - first_ph[ev_ph]
    dest_ph = new_offsets[ev_ph] + local_ph
    dest_mo = mothers + shift[ev_ph]  # the emitters in the new arrays
    photon = {
        "id": PHOTON,
        "status": STATUS_FINAL,
        "mother1": mothers - old_offsets[ev_ph],
        "mother2": -1,
        "daughter1": -1,
        "daughter2": -1,
        "px": k[:, 0],
        "py": k[:, 1],
        "pz": k[:, 2],
        "e": k[:, 3],
    }
    total = int(new_offsets[-1])
    radiating = np.flatnonzero(counts)
    fields = {}
    for name, dtype in names.items():
        out = np.empty(total, dtype=dtype)
        spread(name, new_offsets, radiating, out)
        # photons start at their emitter's vertex (vx, vy, vz, vt) ...
        out[dest_ph] = photon[name] if name in photon else (out[dest_mo] if name[0] == "v" else 0)
        fields[name] = out
    # the radiating leptons: new momenta; the emitters' daughter ranges (photons contiguous)
    dest_lep = lep + shift[np.searchsorted(old_offsets, lep, side="right") - 1]
    for j, name in enumerate(("px", "py", "pz", "e")):
        fields[name][dest_lep] = lep_p[:, j]
    _, first, n_per = np.unique(mothers, return_index=True, return_counts=True)  # mothers sorted
    fields["daughter1"][dest_mo[first]] = local_ph[first]
    fields["daughter2"][dest_mo[first]] = local_ph[first + n_per - 1]
    return Collection(fields, new_offsets)


def apply_fsr(
    mc: Collection,
    dipoles: np.ndarray,
    rng: np.random.Generator,
    cutoff: float = 1e-3,
    multiphoton: bool = True,
    alpha: float = ALPHA_EM,
) -> Collection:
    """Final-state radiation off the lepton pairs ``dipoles`` of the MC record ``mc``.

    ``dipoles``: (n_events, n_dipoles, 2) or (n_dipoles, 2) local indices of the (l-, l+)
    pairs (same flavour, equal masses), -1 for none.  ``cutoff``: infrared cutoff on
    x = 2 E_gamma / M in the dipole rest frame.  Returns a new collection (the input is not
    modified; returned as is when nothing radiates): the leptons' momenta replaced, the
    photons appended to their events (see the module docstring for the record
    conventions).  Draws one integer per event from ``rng``.  Units: GeV, cm, ns."""
    f = mc.fields
    p4 = (f["px"], f["py"], f["pz"], f["e"])
    result = _run_kernel(p4, f["m"], mc.offsets, dipoles, rng, (cutoff, multiphoton, alpha))
    if len(result[1]) == 0:
        return mc

    def spread(name: str, new_offsets: np.ndarray, radiating: np.ndarray, out: np.ndarray) -> None:
        _spread(f[name], mc.offsets, new_offsets, radiating, out)

    return _assemble({k: v.dtype for k, v in f.items()}, mc.offsets, result, spread)


def radiate_regular(
    fields: dict[str, np.ndarray],
    dipoles: np.ndarray,
    rng: np.random.Generator,
    cutoff: float = 1e-3,
    multiphoton: bool = True,
    alpha: float = ALPHA_EM,
) -> Collection:
    """:func:`apply_fsr` on a record given as (n_events, k) arrays per MC field (views and
    broadcasts allowed), building the final flat record in one copy (the generators' path:
    the same result as ``apply_fsr(Collection.from_regular(fields), ...)``)."""
    n, k = fields["px"].shape
    offsets = np.arange(n + 1, dtype=np.int64) * k
    p4 = tuple(fields[c].reshape(-1) for c in ("px", "py", "pz", "e"))
    result = _run_kernel(p4, fields["m"].reshape(-1), offsets, dipoles, rng, (cutoff, multiphoton, alpha))
    if len(result[1]) == 0:
        return Collection.from_regular(
            {name: np.asarray(fields[name], dtype=dt) for name, dt in MC_FIELDS.items()}
        )

    def spread(name: str, new_offsets: np.ndarray, radiating: np.ndarray, out: np.ndarray) -> None:
        _spread_regular(fields[name], new_offsets, out)

    return _assemble(MC_FIELDS, offsets, result, spread)


def pair_dipoles(ids: np.ndarray, mothers: np.ndarray, p4: np.ndarray) -> np.ndarray:
    """Dipoles of a regular record: (n, nd, 2) local indices of the l- l+ pairs.

    ``ids`` (k,) PDG ids, ``mothers`` (k,) mother1 of each entry, ``p4`` (n, k, 4).  Charged
    leptons (status-1 entries passed in by the caller) with the same mother and flavour
    are paired: one l- with one l+ directly; two of each (e+e- -> 4 mu) per event into the
    pairing with the smaller product of the pair masses (the low-mass pairs come from the
    virtual photons of the dominant diagrams)."""
    n = p4.shape[0]
    pairs: list[np.ndarray] = []
    ids = np.asarray(ids)
    mothers = np.asarray(mothers)
    for mo in np.unique(mothers):
        for fl in CHARGED_LEPTONS:
            neg = np.flatnonzero((mothers == mo) & (ids == fl))
            pos = np.flatnonzero((mothers == mo) & (ids == -fl))
            if len(neg) == 1 and len(pos) == 1:
                pairs.append(np.broadcast_to([neg[0], pos[0]], (n, 2)))
            elif len(neg) == 2 and len(pos) == 2:

                def mass(a: int, b: int) -> np.ndarray:
                    s = p4[:, a] + p4[:, b]
                    return np.sqrt(np.maximum(s[:, 3] ** 2 - np.sum(s[:, :3] ** 2, axis=1), 0.0))

                (a0, a1), (b0, b1) = neg, pos
                swap = mass(a0, b1) * mass(a1, b0) < mass(a0, b0) * mass(a1, b1)
                pairs.append(np.stack([np.full(n, a0), np.where(swap, b1, b0)], axis=1))
                pairs.append(np.stack([np.full(n, a1), np.where(swap, b0, b1)], axis=1))
            elif len(neg) or len(pos):
                msg = f"no FSR dipole rule for {len(neg)} l- and {len(pos)} l+ (|id| {fl}) from one vertex"
                raise ValueError(msg)
    if not pairs:
        return np.full((n, 0, 2), -1, np.int64)
    return np.stack(pairs, axis=1).astype(np.int64)
