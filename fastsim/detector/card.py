"""Schema of the detector card (``cards/detectors/*.yaml``).

The card holds the geometry and performance numbers of one detector, each with its
source in a comment of the card and in ``docs/detector.md``.  Units: GeV, cm, ns;
angles in degrees where the key says ``_deg``; material in radiation lengths (x/X0).
"""

from __future__ import annotations

from fastsim.schema import Field, ListOf, Section

__all__ = ["DETECTOR_SCHEMA"]


def _positive(doc: str, unit: str = "", default: object = None) -> Field:
    if default is None:
        return Field(float, doc=doc, unit=unit, min=0.0, min_exclusive=True)
    return Field(float, default, doc, unit=unit, min=0.0, min_exclusive=True)


def _fraction(doc: str, default: float = 1.0) -> Field:
    return Field(float, default, doc, min=0.0, max=1.0)


def _check_layers(section: dict, path: tuple, origin: object) -> None:
    from fastsim.schema import CardError

    for i, layer in enumerate(section["layers"]):
        if layer["z_max"] <= layer["z_min"]:
            p = (*path, "layers", i, "z_max")
            raise CardError(f"z_max ({layer['z_max']}) must exceed z_min ({layer['z_min']})", p, origin(p))  # type: ignore[operator]


TRACKER_LAYER = Section(
    {
        "name": Field(str, doc="layer name"),
        "system": Field(str, doc="subdetector", choices=("beampipe", "pxd", "svd", "cdc")),
        "radius": _positive("radius", "cm"),
        "z_min": Field(float, doc="lower end of the active length", unit="cm"),
        "z_max": Field(float, doc="upper end of the active length", unit="cm"),
        "x0": Field(float, 0.0, "material in radiation lengths (x/X0)", min=0.0, max=1.0),
        "hit_efficiency": _fraction("probability to record a hit when crossed", 1.0),
        "sigma_rphi": Field(float, 0.0, "hit resolution in r-phi", unit="cm", min=0.0),
        "sigma_z": Field(float, 0.0, "hit resolution in z (0: no z measurement)", unit="cm", min=0.0),
    }
)

RESOLUTION_FORM = Section(
    {
        "a": Field(float, doc="constant term", min=0.0),
        "b": Field(float, doc="momentum-dependent term", min=0.0),
    }
)

DETECTOR_SCHEMA = Section(
    {
        "name": Field(str, doc="detector name"),
        "source": Field(str, "", "main references"),
        "solenoid": Section(
            {
                "field_t": _positive("axial magnetic field", "T"),
                "inner_radius": _positive("cryostat inner radius", "cm"),
            }
        ),
        "tracker": Section(
            {
                "layers": ListOf(TRACKER_LAYER, min_len=1, doc="material and measurement layers, inside out"),
                "cdc_superlayers": ListOf(Field(str, choices=("A", "U", "V")), [], "CDC superlayer pattern"),
                "theta_min_deg": Field(
                    float, doc="polar acceptance, lower edge", unit="deg", min=0.0, max=180.0
                ),
                "theta_max_deg": Field(
                    float, doc="polar acceptance, upper edge", unit="deg", min=0.0, max=180.0
                ),
                "pt_resolution": Section(
                    {
                        "a": Field(float, doc="sigma_pt/pt = a*pt (+) b/beta: a in 1/GeV", min=0.0),
                        "b": Field(float, doc="multiple-scattering term", min=0.0),
                    }
                ),
                "d0_resolution": RESOLUTION_FORM,
                "z0_resolution": RESOLUTION_FORM,
            },
            extra_check=_check_layers,
        ),
        "ecl": Section(
            {
                "inner_radius": _positive("barrel inner radius", "cm"),
                "forward_theta_deg": ListOf(Field(float, min=0.0, max=180.0), doc="[min, max] polar range"),
                "barrel_theta_deg": ListOf(Field(float, min=0.0, max=180.0), doc="[min, max] polar range"),
                "backward_theta_deg": ListOf(Field(float, min=0.0, max=180.0), doc="[min, max] polar range"),
                "energy_resolution": Section(
                    {
                        "a": Field(float, doc="sigma_E/E = a/E (+) b/E^(1/4) (+) c", min=0.0),
                        "b": Field(float, min=0.0),
                        "c": Field(float, min=0.0),
                    }
                ),
                "cluster_threshold": Field(float, 0.02, "cluster energy threshold", unit="GeV", min=0.0),
            }
        ),
        "klm": Section(
            {
                "n_barrel_layers": Field(int, doc="detector layers in the barrel", min=1),
                "iron_thickness": _positive("iron plate thickness", "cm"),
                "muon_threshold_p": _positive("muon momentum needed to reach the KLM", "GeV"),
            }
        ),
    }
)
