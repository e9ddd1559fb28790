"""KLM: muon penetration by range, hadron punch-through, K_L detection.

Units: GeV, cm, rad.

Range model: a particle of kinetic energy T at the ECL face first loses the energy needed
before the first KLM layer, fixed by the card's ``muon_threshold_p`` (a muon of that
momentum at normal incidence just reaches the first layer; Belle muon ID, NIM A 491 (2002)
69: 0.6 GeV), scaled by the path length through the material (1/sin(theta) in the barrel,
1/|cos(theta)| in the endcaps).  Each further layer costs ``iron_dedx * iron_thickness`` times
the same path factor; the available energy fluctuates by ``range_straggling``.  Hadrons
also stop where they interact (iron lambda_I = 16.77 cm, PDG atomic and nuclear properties).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["IRON_LAMBDA_I", "KL_PDG", "klm_layers", "klm_region"]

#: nuclear interaction length of iron (cm), PDG atomic and nuclear properties
IRON_LAMBDA_I = 16.77
KL_PDG = 130


def klm_region(klm: dict[str, Any], theta: np.ndarray) -> np.ndarray:
    """0 outside, 1 barrel, 2 endcap."""
    deg = np.degrees(theta)
    lo, hi = klm["theta_deg"]
    blo, bhi = klm["barrel_theta_deg"]
    inside = (deg >= lo) & (deg <= hi)
    barrel = (deg >= blo) & (deg <= bhi)
    return np.where(inside, np.where(barrel, 1, 2), 0).astype(np.int8)


def klm_layers(
    klm: dict[str, Any],
    t_face: np.ndarray,
    theta: np.ndarray,
    mu_mass: float,
    hadron: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Layers reached (0: none) by particles with kinetic energy ``t_face`` at the ECL face,
    ``(muon-like range, with hadronic interactions)``."""
    region = klm_region(klm, theta)
    s = np.abs(np.sin(theta))
    c = np.abs(np.cos(theta))
    path_factor = np.where(region == 1, 1.0 / np.maximum(s, 0.3), 1.0 / np.maximum(c, 0.3))
    t_thr = np.hypot(klm["muon_threshold_p"], mu_mass) - mu_mass
    per_layer = klm["iron_dedx"] * klm["iron_thickness"]
    t_avail = t_face * (1.0 + klm["range_straggling"] * rng.standard_normal(len(t_face)))
    t_after = t_avail - t_thr * path_factor
    n_max = np.where(region == 1, klm["n_barrel_layers"], klm["n_endcap_layers"])
    n = np.where(t_after > 0, 1 + np.floor(t_after / (per_layer * path_factor)), 0)
    n = np.where(region > 0, np.minimum(n, n_max), 0).astype(np.int32)
    plates = rng.exponential(IRON_LAMBDA_I, len(t_face)) / (klm["iron_thickness"] * path_factor)
    n_had = np.where(hadron, np.minimum(n, np.floor(plates).astype(np.int32) + 1), n)
    return n, n_had.astype(np.int32)
