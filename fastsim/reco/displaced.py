"""Displaced-vertex finder: opposite-charge track pairs, seeded, fitted, selected and vetoed.

Units: GeV, cm, rad.

1. All opposite-charge track pairs of an event (``track1`` the positive one).
2. Seed: intersection of the two transverse circles (:func:`fastsim.reco.helix.circle_seeds`).
3. Two-track vertex fit (:func:`fastsim.reco.vertex_fit.fit_vertices`), momenta at the vertex.
4. Quality: fit converged, chi2 < ``max_chi2``, distance of closest approach of the two
   measured helices near the vertex < ``max_dca``, transverse pointing
   cos(angle(r_xy - ip_xy, p_xy)) > ``min_cos_pointing``, ``min_radius`` < r_xy < ``max_radius``.
   Only pairs passing these are kept in the ``vertices`` collection.
5. Vetoes (bit mask ``veto``): VETO_MATERIAL when |r - r_layer| < window + n_sigma sigma_r for a
   material layer (photon conversions, hadronic interactions); VETO_K0S (pi pi mass in the
   window); VETO_LAMBDA (p pi mass in the window, proton = the higher-momentum track, which
   it is in Lambda decays above ~0.3 GeV: two-body kinematics, PDG "Kinematics" 49.4.2, as
   m_p >> m_pi); VETO_CONVERSION (e e mass and opening angle small).  ``selected`` = passes
   the quality cuts and no veto.

Truth matching: ``mc_index`` is the common MC mother of the two tracks' MC particles (for
conversion pairs, the converted photon), else -1; ``mc_vx..`` the true vertex (the decay
daughters' production point; NaN for conversions, whose point is not in the MC record).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from fastsim.events import STATUS_DECAYED, VETO_CONVERSION, VETO_K0S, VETO_LAMBDA, VETO_MATERIAL, Collection
from fastsim.reco.helix import circle_seeds, phi_at_point, z_at_phi
from fastsim.reco.vertex_fit import FIT_OK, fit_vertices

__all__ = [
    "VERTEX_FIELDS",
    "VETO_CONVERSION",
    "VETO_K0S",
    "VETO_LAMBDA",
    "VETO_MATERIAL",
    "find_displaced",
    "opposite_charge_pairs",
]

_F8 = np.dtype(np.float64)
VERTEX_FIELDS: dict[str, np.dtype] = {
    **{k: _F8 for k in ("x", "y", "z", "cov_xx", "cov_xy", "cov_xz", "cov_yy", "cov_yz", "cov_zz")},
    "chi2": _F8,
    "ndf": np.dtype(np.int16),
    "r": _F8,
    "sigma_r": _F8,
    "dca": _F8,
    "cos_pointing": _F8,
    **{k: _F8 for k in ("px", "py", "pz", "p1x", "p1y", "p1z", "p2x", "p2y", "p2z")},
    "track1": np.dtype(np.int32),
    "track2": np.dtype(np.int32),
    "m_pipi": _F8,
    "m_ppi": _F8,
    "m_ee": _F8,
    "m_mumu": _F8,
    "opening_angle": _F8,
    "veto": np.dtype(np.int8),
    "selected": np.dtype(np.bool_),
    "mc_index": np.dtype(np.int32),
    "mc_pdg": np.dtype(np.int32),
    "mc_vx": _F8,
    "mc_vy": _F8,
    "mc_vz": _F8,
}
UNITS = {k: "cm" for k in ("x", "y", "z", "r", "sigma_r", "dca", "mc_vx", "mc_vy", "mc_vz")} | {
    k: "GeV"
    for k in ("px", "py", "pz", "p1x", "p1y", "p1z", "p2x", "p2y", "p2z", "m_pipi", "m_ppi", "m_ee", "m_mumu")
}


@njit(cache=True, nogil=True)
def _pairs_kernel(offsets: np.ndarray, charge: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_ev = len(offsets) - 1
    counts = np.zeros(n_ev, np.int64)
    for e in range(n_ev):
        npos = 0
        nneg = 0
        for i in range(offsets[e], offsets[e + 1]):
            if charge[i] > 0:
                npos += 1
            elif charge[i] < 0:
                nneg += 1
        counts[e] = npos * nneg
    total = counts.sum()
    i1 = np.empty(total, np.int64)
    i2 = np.empty(total, np.int64)
    k = 0
    for e in range(n_ev):
        for i in range(offsets[e], offsets[e + 1]):
            if charge[i] <= 0:
                continue
            for j in range(offsets[e], offsets[e + 1]):
                if charge[j] < 0:
                    i1[k] = i
                    i2[k] = j
                    k += 1
    return i1, i2, counts


def opposite_charge_pairs(
    offsets: np.ndarray, charge: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global indices (positive, negative) of all opposite-charge pairs and the pairs per event."""
    return _pairs_kernel(np.asarray(offsets, np.int64), np.asarray(charge, np.int64))


@njit(cache=True, nogil=True)
def _dca_kernel(helix: np.ndarray, i1: np.ndarray, i2: np.ndarray, vtx: np.ndarray, out: np.ndarray) -> None:
    """3-D distance between the points of the two measured helices transversally nearest to
    the fitted vertex (the helix point at direction phi: P = C + (1/omega)(-sin phi, cos phi))."""
    for k in range(len(i1)):
        px = np.empty(2)
        py = np.empty(2)
        pz = np.empty(2)
        for a in range(2):
            t = i1[k] if a == 0 else i2[k]
            d0, phi0, om, z0, tl = helix[t, 0], helix[t, 1], helix[t, 2], helix[t, 3], helix[t, 4]
            phi = phi_at_point(d0, phi0, om, vtx[k, 0], vtx[k, 1])
            rho = d0 + 1.0 / om
            px[a] = rho * math.sin(phi0) - math.sin(phi) / om
            py[a] = -rho * math.cos(phi0) + math.cos(phi) / om
            pz[a] = z_at_phi(phi0, om, z0, tl, phi)
        out[k] = math.sqrt((px[0] - px[1]) ** 2 + (py[0] - py[1]) ** 2 + (pz[0] - pz[1]) ** 2)


def _mass(p1: np.ndarray, p2: np.ndarray, m1: float | np.ndarray, m2: float | np.ndarray) -> np.ndarray:
    """Invariant mass (GeV) of two momenta (n, 3) with masses m1, m2."""
    e = np.sqrt(np.sum(p1**2, axis=1) + m1**2) + np.sqrt(np.sum(p2**2, axis=1) + m2**2)
    p = p1 + p2
    return np.sqrt(np.maximum(e**2 - np.sum(p**2, axis=1), 0.0))


def _in(x: np.ndarray, window: list[float]) -> np.ndarray:
    return (x >= window[0]) & (x <= window[1])


def find_displaced(
    tracks: Collection,
    helix: np.ndarray,
    cov: np.ndarray,
    cfg: dict[str, Any],
    fit_cfg: dict[str, Any],
    bz: float,
    material_radii: np.ndarray,
    ip: np.ndarray,
    masses: dict[str, float],
    mc: Collection | None = None,
) -> Collection:
    """The ``vertices`` collection (fields :data:`VERTEX_FIELDS`) of the displaced-vertex finder.

    ``helix`` (n, 5), ``cov`` (n, 5, 5): the tracks' helices and covariances; ``cfg``: the card's
    ``reco.displaced``; ``fit_cfg``: ``reco.vertex_fit``; ``bz`` (T); ``material_radii`` (cm);
    ``ip`` (3,) cm: the beam-spot centre; ``masses``: GeV for 'e', 'mu', 'pi', 'p'.
    """
    i1, i2, _ = opposite_charge_pairs(tracks.offsets, tracks["charge"])
    n_pairs = len(i1)
    seeds, _gap = circle_seeds(helix, i1, i2)
    members = np.empty(2 * n_pairs, np.int64)
    members[0::2] = i1
    members[1::2] = i2
    fit = fit_vertices(
        helix, cov, members, np.arange(n_pairs + 1) * 2, bz, seeds,
        max_iter=fit_cfg["max_iterations"], tol=fit_cfg["tolerance"],
    )  # fmt: skip
    v = fit.vertex
    p1 = fit.momentum[0::2]
    p2 = fit.momentum[1::2]
    psum = p1 + p2
    dx = v[:, 0] - ip[0]
    dy = v[:, 1] - ip[1]
    r = np.hypot(dx, dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_pt = (dx * psum[:, 0] + dy * psum[:, 1]) / (r * np.hypot(psum[:, 0], psum[:, 1]))
        # sigma_r^2 = (dx, dy) C_xy (dx, dy)^T / r^2 (linear error propagation)
        var_r = (dx**2 * fit.cov[:, 0, 0] + 2 * dx * dy * fit.cov[:, 0, 1] + dy**2 * fit.cov[:, 1, 1]) / r**2
    dca = np.full(n_pairs, np.inf)
    okfit = fit.status == FIT_OK
    if okfit.any():
        idx = np.flatnonzero(okfit)
        tmp = np.empty(len(idx))
        _dca_kernel(helix, i1[idx], i2[idx], np.ascontiguousarray(v[idx]), tmp)
        dca[idx] = tmp
    good = okfit & (fit.chi2 < cfg["max_chi2"]) & (dca < cfg["max_dca"])
    good &= np.nan_to_num(cos_pt, nan=-2.0) > cfg["min_cos_pointing"]
    good &= (r > cfg["min_radius"]) & (r < cfg["max_radius"])
    k = np.flatnonzero(good)
    v, p1, p2, psum, r = v[k], p1[k], p2[k], psum[k], r[k]
    sig_r = np.sqrt(np.maximum(var_r[k], 0.0))
    a1, a2 = i1[k], i2[k]
    m_pi, m_p, m_e, m_mu = masses["pi"], masses["p"], masses["e"], masses["mu"]
    m_pipi = _mass(p1, p2, m_pi, m_pi)
    first_is_p = np.sum(p1**2, axis=1) >= np.sum(p2**2, axis=1)
    m_ppi = np.where(first_is_p, _mass(p1, p2, m_p, m_pi), _mass(p1, p2, m_pi, m_p))
    m_ee = _mass(p1, p2, m_e, m_e)
    m_mumu = _mass(p1, p2, m_mu, m_mu)
    n1 = np.linalg.norm(p1, axis=1)
    n2 = np.linalg.norm(p2, axis=1)
    opening = np.arccos(np.clip(np.sum(p1 * p2, axis=1) / (n1 * n2), -1.0, 1.0))
    veto = np.zeros(len(k), np.int8)
    if len(material_radii):
        near = np.abs(r[:, None] - np.asarray(material_radii)[None, :])
        lim = cfg["material_window"] + cfg["material_n_sigma"] * sig_r
        veto |= np.where(np.any(near < lim[:, None], axis=1), VETO_MATERIAL, 0).astype(np.int8)
    veto |= np.where(_in(m_pipi, cfg["k0s_veto"]), VETO_K0S, 0).astype(np.int8)
    veto |= np.where(_in(m_ppi, cfg["lambda_veto"]), VETO_LAMBDA, 0).astype(np.int8)
    conv = (m_ee < cfg["conversion_max_mass"]) & (opening < cfg["conversion_max_angle"])
    veto |= np.where(conv, VETO_CONVERSION, 0).astype(np.int8)
    ev = tracks.event_index()[a1]
    local1 = a1 - tracks.offsets[ev]
    local2 = a2 - tracks.offsets[ev]
    c = fit.cov[k]
    out = {
        "x": v[:, 0], "y": v[:, 1], "z": v[:, 2],
        "cov_xx": c[:, 0, 0], "cov_xy": c[:, 0, 1], "cov_xz": c[:, 0, 2],
        "cov_yy": c[:, 1, 1], "cov_yz": c[:, 1, 2], "cov_zz": c[:, 2, 2],
        "chi2": fit.chi2[k], "ndf": fit.ndf[k], "r": r, "sigma_r": sig_r, "dca": dca[k],
        "cos_pointing": cos_pt[k],
        "px": psum[:, 0], "py": psum[:, 1], "pz": psum[:, 2],
        "p1x": p1[:, 0], "p1y": p1[:, 1], "p1z": p1[:, 2],
        "p2x": p2[:, 0], "p2y": p2[:, 1], "p2z": p2[:, 2],
        "track1": local1, "track2": local2,
        "m_pipi": m_pipi, "m_ppi": m_ppi, "m_ee": m_ee, "m_mumu": m_mumu,
        "opening_angle": opening, "veto": veto, "selected": veto == 0,
    }  # fmt: skip
    out.update(_truth(tracks, a1, a2, ev, mc))
    counts = np.bincount(ev, minlength=tracks.n_events)
    return Collection.from_counts(
        counts, {name: np.asarray(out[name]).astype(dt) for name, dt in VERTEX_FIELDS.items()}
    )


def _truth(
    tracks: Collection, a1: np.ndarray, a2: np.ndarray, ev: np.ndarray, mc: Collection | None
) -> dict[str, np.ndarray]:
    n = len(a1)
    out = {
        "mc_index": np.full(n, -1, np.int64),
        "mc_pdg": np.zeros(n, np.int64),
        "mc_vx": np.full(n, np.nan),
        "mc_vy": np.full(n, np.nan),
        "mc_vz": np.full(n, np.nan),
    }
    if mc is None or n == 0:
        return out
    m1 = tracks["mc_index"][a1].astype(np.int64)
    m2 = tracks["mc_index"][a2].astype(np.int64)
    o1 = tracks["origin"][a1]
    o2 = tracks["origin"][a2]
    base = mc.offsets[ev]
    # conversion pair: both tracks are conversion products of the same photon
    conv = (o1 == 1) & (o2 == 1) & (m1 == m2) & (m1 >= 0)
    # decay: primary tracks whose MC particles share the mother
    prim = (o1 == 0) & (o2 == 0) & (m1 >= 0) & (m2 >= 0)
    mo1 = np.where(prim, mc["mother1"][base + np.maximum(m1, 0)], -1)
    mo2 = np.where(prim, mc["mother1"][base + np.maximum(m2, 0)], -1)
    dec = prim & (mo1 == mo2) & (mo1 >= 0)
    # a common mother that is a beam particle (prompt pair) is no decay vertex
    dec &= mc["status"][base + np.maximum(mo1, 0)] == STATUS_DECAYED
    idx = np.where(conv, m1, np.where(dec, mo1, -1))
    has = idx >= 0
    out["mc_index"] = idx
    out["mc_pdg"][has] = mc["id"][base[has] + idx[has]]
    g = base[dec] + m1[dec]
    out["mc_vx"][dec] = mc["vx"][g]
    out["mc_vy"][dec] = mc["vy"][g]
    out["mc_vz"][dec] = mc["vz"][g]
    return out
