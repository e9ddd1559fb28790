"""Schema of the detector card (``cards/detectors/*.yaml``).

The card holds the geometry and performance numbers of one detector, each with its
source in a comment of the card and in ``docs/detector.md``.  Units: GeV, cm, ns;
angles in degrees where the key says ``_deg``; material in radiation lengths (x/X0).
"""

from __future__ import annotations

from typing import Any

from fastsim.schema import CardError, Field, ListOf, MapOf, Section

__all__ = ["DETECTOR_SCHEMA", "PID_HYPOTHESES", "PID_SPECIES"]

#: particle species of the PID tables (true species and hypotheses)
PID_SPECIES = ("e", "mu", "pi", "K", "p")
#: identification hypotheses (one per-track output each)
PID_HYPOTHESES = PID_SPECIES


def _positive(doc: str, unit: str = "", default: object = None) -> Field:
    if default is None:
        return Field(float, doc=doc, unit=unit, min=0.0, min_exclusive=True)
    return Field(float, default, doc, unit=unit, min=0.0, min_exclusive=True)


def _fraction(doc: str, default: float = 1.0) -> Field:
    return Field(float, default, doc, min=0.0, max=1.0)


def _numbers(doc: str, unit: str = "", min_len: int = 1) -> ListOf:
    return ListOf(Field(float, unit=unit), doc=doc, min_len=min_len)


def _fail(reason: str, path: tuple, origin: Any) -> CardError:
    return CardError(reason, path, origin(path))


def _check_tracker(section: dict, path: tuple, origin: Any) -> None:
    for i, layer in enumerate(section["layers"]):
        if layer["z_max"] <= layer["z_min"]:
            p = (*path, "layers", i, "z_max")
            raise _fail(f"z_max ({layer['z_max']}) must exceed z_min ({layer['z_min']})", p, origin)
    radii = [layer["radius"] for layer in section["layers"]]
    if radii != sorted(radii):
        raise _fail("layers must be ordered by increasing radius", (*path, "layers"), origin)
    cdc = section["cdc"]
    n = len(cdc["radius"])
    for key in ("z_min", "z_max"):
        if len(cdc[key]) != n:
            raise _fail(f"{key} has {len(cdc[key])} entries, radius has {n}", (*path, "cdc", key), origin)
    if sum(cdc["layers_per_superlayer"]) != n:
        p = (*path, "cdc", "layers_per_superlayer")
        raise _fail(f"sums to {sum(cdc['layers_per_superlayer'])}, expected {n} layers", p, origin)
    if len(cdc["layers_per_superlayer"]) != len(cdc["superlayers"]):
        raise _fail(
            "one layer count per superlayer expected", (*path, "cdc", "layers_per_superlayer"), origin
        )
    if cdc["radius"] != sorted(cdc["radius"]):
        raise _fail("CDC radii must increase", (*path, "cdc", "radius"), origin)


def _check_pid(section: dict, path: tuple, origin: Any) -> None:
    n_p = len(section["p_bins"]) - 1
    n_t = len(section["theta_bins_deg"]) - 1
    for hyp, table in section["tables"].items():
        if hyp not in PID_HYPOTHESES:
            raise _fail(
                f"unknown hypothesis {hyp!r}, expected one of {PID_HYPOTHESES}",
                (*path, "tables", hyp),
                origin,
            )
        for true, rows in table.items():
            p = (*path, "tables", hyp, true)
            if true not in PID_SPECIES:
                raise _fail(f"unknown species {true!r}, expected one of {PID_SPECIES}", p, origin)
            if len(rows) != n_p or any(len(r) != n_t for r in rows):
                raise _fail(f"expected {n_p} rows (p bins) of {n_t} values (theta bins)", p, origin)


TRACKER_LAYER = Section(
    {
        "name": Field(str, doc="layer name"),
        "system": Field(str, doc="subdetector", choices=("beampipe", "pxd", "svd", "wall")),
        "radius": _positive("radius", "cm"),
        "z_min": Field(float, doc="lower end of the active length", unit="cm"),
        "z_max": Field(float, doc="upper end of the active length", unit="cm"),
        "x0": Field(float, 0.0, "material in radiation lengths (x/X0) at normal incidence", min=0.0, max=1.0),
        "dedx_x0": Field(float, 0.0363, "mean MIP energy loss per radiation length", unit="GeV", min=0.0),
        "hit_efficiency": _fraction("probability to record a hit when crossed (0: material only)", 0.0),
        "sigma_rphi": Field(float, 0.0, "hit resolution in r-phi", unit="cm", min=0.0),
        "sigma_z": Field(float, 0.0, "hit resolution in z (0: no z measurement)", unit="cm", min=0.0),
    }
)

RESOLUTION_FORM = Section(
    {
        "a": Field(float, doc="constant term", min=0.0),
        "b": Field(float, doc="multiple-scattering term (x p beta)", min=0.0),
    }
)

CDC = Section(
    {
        "superlayers": ListOf(
            Field(str, choices=("A", "U", "V")), doc="superlayer stereo pattern, inside out"
        ),
        "layers_per_superlayer": ListOf(Field(int, min=1), doc="sense-wire layers in each superlayer"),
        "radius": _numbers("sense-wire layer radii, inside out", "cm"),
        "z_min": _numbers("backward end of each layer", "cm"),
        "z_max": _numbers("forward end of each layer", "cm"),
        "hit_efficiency": _fraction("single-hit efficiency", 0.96),
        "sigma_rphi": _positive("drift-distance resolution", "cm", 0.012),
        "x0_per_layer": Field(float, 1.0e-4, "gas and wires per layer (x/X0)", min=0.0),
        "dedx_x0": Field(
            float, 0.0, "mean MIP energy loss per radiation length of the gas", unit="GeV", min=0.0
        ),
    }
)

FINDER = Section(
    {
        "segment_min_hits": Field(int, 3, "CDC hits in one superlayer that make a segment", min=1),
        "cdc_min_segments": Field(int, 3, "segments needed for a CDC track", min=1),
        "cdc_min_axial_segments": Field(int, 2, "axial segments needed for a CDC track", min=0),
        "vxd_min_layers": Field(int, 3, "SVD layers with a hit for a VXD-standalone track", min=1),
        "vxd_min_pt": Field(float, 0.05, "VXD-standalone finder pT threshold", unit="GeV", min=0.0),
        "min_pt": Field(float, 0.03, "no track below this pT", unit="GeV", min=0.0),
    },
    doc="hit-pattern rule deciding whether a charged particle is found",
)

TRACKER = Section(
    {
        "layers": ListOf(TRACKER_LAYER, min_len=1, doc="material and silicon layers, inside out"),
        "cdc": CDC,
        "finder": FINDER,
        "theta_min_deg": Field(float, doc="polar acceptance, lower edge", unit="deg", min=0.0, max=180.0),
        "theta_max_deg": Field(float, doc="polar acceptance, upper edge", unit="deg", min=0.0, max=180.0),
        "pt_resolution": Section(
            {
                "a": Field(float, doc="sigma_pt/pt = a*pt (+) b/beta: a in 1/GeV", min=0.0),
                "b": Field(float, doc="multiple-scattering term", min=0.0),
            }
        ),
        "d0_resolution": RESOLUTION_FORM,
        "z0_resolution": RESOLUTION_FORM,
        "phi0_resolution": RESOLUTION_FORM,
        "tanl_resolution": RESOLUTION_FORM,
    },
    extra_check=_check_tracker,
)

ECL = Section(
    {
        "inner_radius": _positive("barrel inner radius", "cm"),
        "forward_z": _positive("forward endcap front face z", "cm"),
        "backward_z": Field(float, doc="backward endcap front face z (negative)", unit="cm", max=0.0),
        "forward_theta_deg": _numbers("[min, max] polar range", "deg", 2),
        "barrel_theta_deg": _numbers("[min, max] polar range", "deg", 2),
        "backward_theta_deg": _numbers("[min, max] polar range", "deg", 2),
        "energy_resolution": Section(
            {
                "a": Field(float, doc="sigma_E/E = a/E (+) b/E^(1/4) (+) c", min=0.0),
                "b": Field(float, min=0.0),
                "c": Field(float, min=0.0),
            }
        ),
        "position_resolution": _positive("sigma at the crystal face = value/sqrt(E/GeV)", "cm"),
        "time_resolution": Section(
            {
                "a": Field(float, doc="sigma_t = a/E (+) b: a in ns*GeV", min=0.0),
                "b": Field(float, doc="constant term", unit="ns", min=0.0),
            }
        ),
        "crystal_size": _positive("crystal front face width (merging distance)", "cm"),
        "crystal_length": _positive("crystal length", "cm"),
        "mip_dedx": _positive("MIP energy loss in the crystals", "GeV/cm"),
        "interaction_length": _positive("nuclear interaction length of the crystals", "cm"),
        "cluster_threshold": Field(float, 0.02, "cluster energy threshold", unit="GeV", min=0.0),
    }
)

KLM = Section(
    {
        "n_barrel_layers": Field(int, doc="detector layers in the barrel", min=1),
        "n_endcap_layers": Field(int, doc="detector layers in each endcap", min=1),
        "iron_thickness": _positive("iron plate thickness", "cm"),
        "iron_dedx": _positive("mean muon energy loss in iron", "GeV/cm"),
        "barrel_theta_deg": _numbers("[min, max] polar range of the barrel", "deg", 2),
        "theta_deg": _numbers("[min, max] polar range of the whole KLM", "deg", 2),
        "muon_threshold_p": _positive(
            "muon momentum needed to reach the first KLM layer at normal incidence", "GeV"
        ),
        "range_straggling": Field(float, 0.05, "relative spread of the muon range", min=0.0),
        "min_layers_muon": Field(int, 2, "layers a muon candidate must reach", min=1),
        "kl_efficiency": _fraction("K_L detection efficiency (KLM cluster)", 0.8),
        "kl_angular_resolution": Field(float, 0.03, "K_L cluster angular resolution", unit="rad", min=0.0),
    }
)

PID = Section(
    {
        "p_bins": _numbers("momentum bin edges of the tables", "GeV", 2),
        "theta_bins_deg": _numbers("polar-angle bin edges of the tables", "deg", 2),
        "tables": MapOf(
            MapOf(ListOf(ListOf(Field(float, min=0.0, max=1.0)))),
            doc="hypothesis -> true species -> [p bin][theta bin] probability to pass the ID (missing: 0)",
        ),
    },
    extra_check=_check_pid,
)

DETECTOR_SCHEMA = Section(
    {
        "name": Field(str, doc="detector name"),
        "source": Field(str, "", "main references"),
        "enabled": Field(bool, True, "run the detector stage"),
        "solenoid": Section(
            {
                "field_t": _positive("axial magnetic field", "T"),
                "inner_radius": _positive("cryostat inner radius", "cm"),
            }
        ),
        "tracker": TRACKER,
        "ecl": ECL,
        "klm": KLM,
        "pid": PID,
    }
)
