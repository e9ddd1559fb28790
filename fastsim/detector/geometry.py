"""Detector geometry as flat arrays, built from a validated detector card.

Units: cm, GeV, T.  All cylindrical layers (beam pipe, PXD, SVD, walls, the CDC sense-wire
layers) are merged into one radius-ordered table that the numba kernels walk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "KIND_CDC",
    "KIND_MATERIAL",
    "KIND_PXD",
    "KIND_SVD",
    "Geometry",
]

KIND_MATERIAL = 0  # beam pipe, walls: material only
KIND_PXD = 1
KIND_SVD = 2
KIND_CDC = 3

#: curvature constant: 1/rho [1/cm] = KAPPA * B [T] / pT [GeV]  (c = 0.299792458 m/ns:
#: rho[m] = pT[GeV] / (0.299792458 B[T]); PDG "Passage of particles", eq. 34.x / Lorentz force)
KAPPA = 0.299792458e-2


@dataclass
class Geometry:
    """Radius-ordered layers and the outer detectors' numbers of one detector card."""

    name: str
    bz: float  # T
    radius: np.ndarray  # cm, per layer
    z_min: np.ndarray
    z_max: np.ndarray
    x0: np.ndarray  # x/X0 at normal incidence
    dedx_x0: np.ndarray  # GeV per X0 (mean MIP loss)
    efficiency: np.ndarray
    sigma_rphi: np.ndarray  # cm
    kind: np.ndarray  # KIND_*
    superlayer: np.ndarray  # CDC superlayer index, -1 otherwise
    svd_index: np.ndarray  # 0.. for SVD layers, -1 otherwise
    pxd_index: np.ndarray
    sl_axial: np.ndarray  # bool per superlayer
    n_superlayers: int
    ecl_radius: float
    ecl_z_fwd: float
    ecl_z_bwd: float
    theta_min: float  # rad, tracking acceptance
    theta_max: float
    card: dict[str, Any]

    def __post_init__(self) -> None:
        self.cdc_blocks()

    def cdc_blocks(self) -> None:
        """Runs of consecutive CDC layers of one superlayer (no material between them), for
        the propagation kernel: ``blk_end[L]`` is one past the run's last layer at the run's
        first layer L (-1 elsewhere); ``blk_zlo/blk_zhi`` the z interval inside every layer of
        the run (largest z_min, smallest z_max), ``blk_zlo_min/blk_zhi_max`` the interval
        covering all of them."""
        n = self.n_layers
        self.blk_end = np.full(n, -1, np.int64)
        self.blk_zlo = np.zeros(n)
        self.blk_zhi = np.zeros(n)
        self.blk_zlo_min = np.zeros(n)
        self.blk_zhi_max = np.zeros(n)
        i = 0
        while i < n:
            if self.kind[i] != KIND_CDC:
                i += 1
                continue
            j = i
            while (
                j < n
                and self.kind[j] == KIND_CDC
                and self.superlayer[j] == self.superlayer[i]
                and self.efficiency[j] == self.efficiency[i]
            ):
                j += 1
            self.blk_end[i] = j
            self.blk_zlo[i] = self.z_min[i:j].max()
            self.blk_zhi[i] = self.z_max[i:j].min()
            self.blk_zlo_min[i] = self.z_min[i:j].min()
            self.blk_zhi_max[i] = self.z_max[i:j].max()
            i = j

    @property
    def n_layers(self) -> int:
        return len(self.radius)

    @property
    def first_cdc(self) -> int:
        return int(np.flatnonzero(self.kind == KIND_CDC)[0])

    @classmethod
    def from_card(cls, det: dict[str, Any]) -> Geometry:
        """Build from the validated ``detector`` section of a card."""
        trk = det["tracker"]
        rows = []
        n_pxd = n_svd = 0
        for layer in trk["layers"]:
            kind = {"beampipe": KIND_MATERIAL, "wall": KIND_MATERIAL, "pxd": KIND_PXD, "svd": KIND_SVD}[
                layer["system"]
            ]
            pxd_i = svd_i = -1
            if kind == KIND_PXD:
                pxd_i, n_pxd = n_pxd, n_pxd + 1
            if kind == KIND_SVD:
                svd_i, n_svd = n_svd, n_svd + 1
            eff = layer["hit_efficiency"] if kind in (KIND_PXD, KIND_SVD) else 0.0
            rows.append(
                (
                    layer["radius"],
                    layer["z_min"],
                    layer["z_max"],
                    layer["x0"],
                    layer["dedx_x0"],
                    eff,
                    layer["sigma_rphi"],
                    kind,
                    -1,
                    svd_i,
                    pxd_i,
                )
            )
        cdc = trk["cdc"]
        sl_of_layer = np.repeat(np.arange(len(cdc["superlayers"])), cdc["layers_per_superlayer"])
        for i, r in enumerate(cdc["radius"]):
            rows.append(
                (
                    r,
                    cdc["z_min"][i],
                    cdc["z_max"][i],
                    cdc["x0_per_layer"],
                    cdc["dedx_x0"],
                    cdc["hit_efficiency"],
                    cdc["sigma_rphi"],
                    KIND_CDC,
                    int(sl_of_layer[i]),
                    -1,
                    -1,
                )
            )
        rows.sort(key=lambda t: t[0])
        cols = list(zip(*rows, strict=True))
        f = lambda i: np.ascontiguousarray(cols[i], dtype=np.float64)
        g = lambda i: np.ascontiguousarray(cols[i], dtype=np.int64)
        ecl = det["ecl"]
        return cls(
            name=det["name"],
            bz=float(det["solenoid"]["field_t"]),
            radius=f(0),
            z_min=f(1),
            z_max=f(2),
            x0=f(3),
            dedx_x0=f(4),
            efficiency=f(5),
            sigma_rphi=f(6),
            kind=g(7),
            superlayer=g(8),
            svd_index=g(9),
            pxd_index=g(10),
            sl_axial=np.array([s == "A" for s in cdc["superlayers"]]),
            n_superlayers=len(cdc["superlayers"]),
            ecl_radius=float(ecl["inner_radius"]),
            ecl_z_fwd=float(ecl["forward_z"]),
            ecl_z_bwd=float(ecl["backward_z"]),
            theta_min=math.radians(trk["theta_min_deg"]),
            theta_max=math.radians(trk["theta_max_deg"]),
            card=det,
        )
