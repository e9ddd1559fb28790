"""Schema of the ``trigger`` card section: the Level-1 emulation and its menu.

Units: GeV, cm, ns; angles in degrees where the key says ``_deg``.  Tags as in
``../shared/reference/detector.md``: [V] verified in the named public source, [D] derived
from [V]/[M] inputs (method stated), [M] unverified (memory or secondary sources).  The
bit definitions follow detector.md section 4 (basf2 ``trg/doc``, Belle II dark-sector
papers' trigger paragraphs); the numerical thresholds of the real menu are not public
(ftd logic files), so every threshold below is [M] unless stated.

``TRIGGER_SCHEMA`` is optional: a card without a ``trigger:`` section gets these defaults.
"""

from __future__ import annotations

from typing import Any

from fastsim.schema import CardError, Field, ListOf, MapOf, Section

__all__ = ["BELLE_LINE_NAMES", "LINE_NAMES", "TRIGGER_SCHEMA", "default_trigger_card"]

#: the lines the emulation computes (``trg_<name>`` per-event fields)
LINE_NAMES = (
    "fff",  # >= 3 2D tracks
    "ffo",  # >= 2 2D tracks with opening angle > open_angle_deg
    "ffb",  # >= 2 2D tracks back to back (> b2b_angle_deg)
    "stt",  # single-track neural trigger: p_nn > stt_p_min, |z_nn| < z_cut
    "y",  # >= 1 neural track with |z_nn| < z_cut in an event with >= 2 2D tracks
    "yy",  # >= 2 neural z tracks with opening angle > open_angle_deg
    "yyy",  # >= 3 neural z tracks
    "hie",  # ECL energy sum > hie_energy, not Bhabha
    "c4",  # >= 4 ECL trigger clusters, not Bhabha
    "single_photon",  # one isolated cluster above the CM-energy threshold, not Bhabha
    "bhabha",  # the Bhabha-veto condition itself (usually prescaled, for calibration)
    "klm_mu",  # >= 1 KLM muon track
    "klm_b2b",  # two back-to-back KLM muon tracks
)


def _frac(default: float, doc: str) -> Field:
    return Field(float, default, doc, min=0.0, max=1.0)


def _pos(default: float, doc: str, unit: str = "") -> Field:
    return Field(float, default, doc, unit=unit, min=0.0, min_exclusive=True)


def _nine(default: list[float], doc: str, unit: str = "") -> ListOf:
    return ListOf(Field(float, unit=unit), default=default, doc=doc, min_len=9)


def _check(section: dict[str, Any], path: tuple, origin: Any) -> None:
    for name in section["belle"]["menu"]:
        if name not in BELLE_LINE_NAMES:
            p = (*path, "belle", "menu", name)
            msg = f"unknown Belle trigger line {name!r}; known: {', '.join(BELLE_LINE_NAMES)}"
            raise CardError(msg, p, origin(p))
    cdc = section["cdc"]
    for key in ("segment_efficiency", "stereo_angle_mrad", "wires"):
        if len(cdc[key]) != 9:
            p = (*path, "cdc", key)
            raise CardError(f"expected 9 entries (one per superlayer), got {len(cdc[key])}", p, origin(p))
    for name in section["menu"]:
        if name not in LINE_NAMES:
            p = (*path, "menu", name)
            raise CardError(f"unknown trigger line {name!r}; known: {', '.join(LINE_NAMES)}", p, origin(p))


#: the Belle GDL lines (fastsim.trigger.belle; kept here so that the schema needs no numba import)
BELLE_LINE_NAMES = ("multi_track", "two_track", "hie", "icn", "mu_pair", "bhabha")

_LINE = Section(
    {
        "prescale": Field(
            int, 1, "keep 1 in N events that pass the line (random, from the trigger stream)", min=1
        ),
        "counts": Field(bool, True, "the line contributes to the `triggered` flag"),
    },
    doc="one menu entry",
    optional=True,
)

# Default menu: every emulated line counts unscaled except the Bhabha bit itself, which in
# Belle II is heavily prescaled (it is the calibration/luminosity bit, not a physics line) [M].
_DEFAULT_MENU = {name: {"prescale": 1, "counts": True} for name in LINE_NAMES}
_DEFAULT_MENU["bhabha"] = {"prescale": 1, "counts": False}

_BELLE_MENU = {name: {"prescale": 1, "counts": True} for name in BELLE_LINE_NAMES}
_BELLE_MENU["bhabha"] = {"prescale": 100, "counts": False}  # prescaled by 100 [V BelleNIM]

# Belle's Level-1 trigger (fastsim/trigger/belle.py).  Sources: the Belle detector paper,
# A. Abashian et al., NIM A 479 (2002) 117, trigger chapter [BelleNIM]; B.G. Cheon et al., NIM
# A 494 (2002) 548 (ECL trigger).  [V] read there; [D] derived; [M] unconfirmed.
_BELLE = Section(
    {
        # six axial superlayers feed the track-segment finder (TSF cells 64 ... 288) [V BelleNIM];
        # short = the inner three, full = all six [M] (the NIM's list did not survive in the copy read)
        # a TSF cell fires on a majority of its layers [M]: >= 3 of 5 layers with the detector
        # card's 0.96 hit efficiency gives 0.9994 [D]
        "segment_efficiency": _frac(0.999, "track-segment efficiency per axial superlayer [D]"),
        "short_superlayers": Field(int, 3, "inner axial superlayers a short track needs [M]", min=1),
        "full_superlayers": Field(int, 6, "axial superlayers a full track needs [M]", min=1),
        # "The efficiency drops at pT = 0.2 and 0.3 GeV/c for the short and full tracks" [V BelleNIM]
        "short_pt_min": _pos(0.2, "short-track pT threshold [V]", "GeV"),
        "full_pt_min": _pos(0.3, "full-track pT threshold [V]", "GeV"),
        # TOF/TSC at r = 120 cm covering 34-120 deg [V BelleNIM]: z = r / tan(theta) [D]; 64 trigger
        # segments (one TSC + four TOF counters each) [V]; event timing needs >= 2 hits [V]
        "tof_radius": _pos(120.0, "TOF (TSC) radius", "cm"),
        "tof_z_min": Field(float, -69.3, "TOF backward end (theta 120 deg) [D]", unit="cm"),
        "tof_z_max": Field(float, 177.9, "TOF forward end (theta 34 deg) [D]", unit="cm"),
        "tof_efficiency": _frac(0.98, "TSC hit efficiency per charged track (~MIP discriminator) [M]"),
        "tof_segments": Field(int, 64, "TSC trigger segments in phi [V]", min=1),
        "tof_min_hits": Field(int, 2, "TSC hits for the timing of the track lines [V]", min=1),
        # photons convert in the ACC + TOF material before the TSC: 0.15 X0 in the Belle detector
        # card (TOF_ACC) -> 1 - exp(-7/9 * 0.15) = 0.11 [D]; above ~50 MeV [M]
        "tof_photon_conversion": _frac(0.11, "probability that a photon fires a TSC [D]"),
        "tof_photon_e_min": _pos(0.05, "photon energy for a TSC hit [M]", "GeV"),
        # ECL: total energy > 0.5 (LoE), 1.0 (HiE) GeV; isolated clusters (4x4-crystal cells
        # above ~100 MeV) > 3 [V Cheon / BelleNIM]
        "hie_energy": _pos(1.0, "HiE: ECL energy sum [V]", "GeV"),
        "loe_energy": _pos(0.5, "LoE: ECL energy sum [V]", "GeV"),
        "icn_threshold": _pos(0.1, "isolated-cluster threshold [V]", "GeV"),
        "icn_clusters": Field(int, 4, "ICN clusters of the icn line [V]", min=1),
        "two_track_open_deg": _pos(135.0, "two_track: opening angle of two full tracks [M]", "deg"),
        # Bhabha: back-to-back clusters; Belle's theta-pair logic has ~4.0 (fwd) / 2.5 (bwd) GeV lab
        # thresholds [V basf2 TrgEclBhabha "Belle type"]; here in the CM as Belle II's lines [D]
        "bhabha_e_min": _pos(2.5, "Bhabha: cluster E* [D]", "GeV"),
        "bhabha_e_sum": _pos(7.0, "Bhabha: E* sum of the pair [D]", "GeV"),
        "bhabha_dtheta_deg": _pos(20.0, "Bhabha: |theta1* + theta2* - 180| window [M]", "deg"),
        "bhabha_dphi_deg": _pos(20.0, "Bhabha: ||phi1* - phi2*| - 180| window [M]", "deg"),
        # KLM: barrel trigger superlayers 02, 03, 10, 11, two of four in a sector [V BelleNIM]:
        # a muon reaching layer 03 (four layers) fires 02 and 03 [D]
        "klm_min_layers": Field(int, 4, "KLM layers of a muon trigger track [D]", min=1),
        # "Except for this geometrical effect, the trigger efficiency is kept about 98% in
        # average" (mu-pair samples, per muon) [V BelleNIM, KLM trigger section]
        "klm_efficiency": _frac(0.98, "per-track KLM trigger efficiency [V]"),
        "menu": MapOf(_LINE, default=_BELLE_MENU, doc="Belle GDL lines: prescale and whether it counts"),
    },
    doc="Belle's Level-1 trigger (emulation: belle)",
    optional=True,
)

TRIGGER_SCHEMA = Section(
    {
        "enabled": Field(bool, True, "run the Level-1 trigger emulation after the detector stage"),
        "emulation": Field(
            str, "belle2", "which experiment's Level-1 trigger: belle2 or belle", choices=("belle2", "belle")
        ),
        "belle": _BELLE,
        "store_segments": Field(bool, False, "also write the CDC track segments (`trg_segments`)"),
        "cdc": Section(
            {
                # Priority-layer crossings inside the layer's real z extent (detector card).
                # Segment (TS) finding: a TS needs the priority-layer hit and >= 4 of its 5 layers;
                # with the 0.96 single-hit efficiency of the detector card:
                # 0.96 * (0.96^4 + 4 * 0.96^3 * 0.04) = 0.951 [D from the detector card's [M] 0.96].
                "segment_efficiency": _nine([0.951] * 9, "TS-finding efficiency per superlayer"),
                # Sense wires per layer in each superlayer: 160, 160, 192, ..., 384 [M] (Belle II TDR
                # arXiv:1011.0352, CDC chapter; basf2 cdc/data/CDC.xml nWires).
                "wires": ListOf(
                    Field(int, min=1),
                    default=[160, 160, 192, 224, 256, 288, 320, 352, 384],
                    doc="wires per layer of each superlayer",
                ),
                # Stereo angles (mid values of the per-superlayer ranges) [M] Belle II TDR CDC table:
                # U1 45.4-45.8, V3 -55.3..-64.3, U5 63.1-70.0, V7 -68.5..-74.0 mrad.
                "stereo_angle_mrad": _nine(
                    [0.0, 45.6, 0.0, -59.8, 0.0, 66.5, 0.0, -71.2, 0.0], "stereo angle", "mrad"
                ),
                # Drift velocity of He-C2H6 50:50 at the CDC field ~ 4 cm/us [M] (CDC chapter, TDR).
                "drift_velocity": _pos(0.004, "drift velocity", "cm/ns"),
                # Trigger drift-time resolution incl. the L1 event-time uncertainty [M] (TDC 1 ns
                # bins; the event time from the fastest priority hit jitters by a few ns).
                "drift_time_sigma": Field(float, 5.0, "drift-time smearing", unit="ns", min=0.0),
                # Left/right lookup table of the TS finder: resolved correctly / wrongly, the rest
                # unknown (wire position used) [M].
                "lr_correct": _frac(0.85, "fraction of segments with the correct left/right"),
                "lr_wrong": _frac(0.05, "fraction with the wrong left/right"),
            },
            doc="CDC track-segment emulation",
            optional=True,
        ),
        "finder2d": Section(
            {
                # Hough finder: a track needs TS in >= 4 of the 5 axial superlayers on one circle
                # through the IP [M] (Belle II 2D finder, arXiv:1410.1395 and trg/cdc docs).
                "min_axial_segments": Field(int, 4, "axial TS on the track's circle", min=1, max=5),
                # One Hough phi bin is 360/160 = 2.25 deg [M]; a TS counts if it is within two bins
                # of the fitted circle through the origin.
                "phi_tolerance_deg": _pos(4.5, "TS-to-circle tolerance", "deg"),
                # The Hough plane covers pT > 0.3 GeV [M] (34 curvature bins up to 1/0.3 GeV^-1).
                "min_pt": _pos(0.3, "lowest 2D-track pT", "GeV"),
                "open_angle_deg": _pos(90.0, "ffo / yy opening angle in phi [M] detector.md 4.3", "deg"),
                "b2b_angle_deg": _pos(150.0, "ffb back-to-back opening angle in phi [M]", "deg"),
            },
            doc="2D track finder and counting lines",
            optional=True,
        ),
        "neuro": Section(
            {
                "weights": Field(str, "default", "weights file in fastsim/trigger/data (stem) or a path"),
                # Stereo TS needed for a neural track: the 5 expert networks cover 4 stereo TS or
                # one missing [V detector.md 4.4, NNZ2014], so >= 3 of 4.
                "min_stereo_segments": Field(int, 3, "stereo TS needed", min=0, max=4),
                # Deployed z cut 15 cm [M] (detector.md 4.4; early running used 20 cm).
                "z_cut": _pos(15.0, "|z_nn| cut of the neural lines", "cm"),
                # Single-track trigger: p > 0.7 GeV [V] detector.md 4.4 (STT).
                "stt_p_min": _pos(0.7, "STT momentum threshold", "GeV"),
            },
            doc="neural z-vertex trigger",
            optional=True,
        ),
        "ecl": Section(
            {
                # ECL trigger clusters: reconstructed clusters above 100 MeV [M] (trigger cells
                # are summed over 4x4 crystals with a ~100 MeV cluster threshold).
                "cluster_threshold": _pos(0.1, "trigger-cluster threshold (lab)", "GeV"),
                "hie_energy": _pos(1.0, "hie: total ECL energy [M] detector.md 4.3", "GeV"),
                "c4_clusters": Field(int, 4, "c4: clusters needed [V detector.md 4.2: clst > 3]", min=1),
                # Single photon: E* > 1 GeV in the barrel, > 2 GeV in the endcaps [M] detector.md 4.3.
                "sp_energy_barrel": _pos(1.0, "single-photon E* threshold, barrel", "GeV"),
                "sp_energy_endcap": _pos(2.0, "single-photon E* threshold, endcaps", "GeV"),
                "sp_other_max": _pos(0.3, "isolation: no other cluster above this (lab)", "GeV"),
                # Bhabha veto (3D): two clusters back to back in the CM, each E* > 3 GeV and
                # sum > 8 GeV, within 20 deg of back-to-back in theta* sum and phi* [M].
                "bhabha_e_min": _pos(3.0, "Bhabha-veto cluster E*", "GeV"),
                "bhabha_e_sum": _pos(8.0, "Bhabha-veto E* sum of the pair", "GeV"),
                "bhabha_dtheta_deg": _pos(20.0, "|theta1* + theta2* - 180| window", "deg"),
                "bhabha_dphi_deg": _pos(20.0, "||phi1* - phi2*| - 180| window", "deg"),
            },
            doc="ECL lines",
            optional=True,
        ),
        "klm": Section(
            {
                # A KLM trigger track: hits in >= 7 layers of one sector [M]; gives ~90% for
                # muons above ~1 GeV in the barrel with the detector card's range model
                # (detector.md 4.3 [M]: KLM bits ~90% above ~1 GeV).
                "min_layers": Field(int, 7, "layers for a KLM trigger track", min=1),
                "efficiency": _frac(0.95, "per-track KLM trigger efficiency [M]"),
                "b2b_angle_deg": _pos(150.0, "back-to-back opening angle in phi [M]", "deg"),
            },
            doc="KLM lines",
            optional=True,
        ),
        "menu": MapOf(_LINE, default=_DEFAULT_MENU, doc="lines of the menu: prescale and whether it counts"),
    },
    doc="Level-1 trigger emulation (Belle II, or Belle with emulation: belle): docs/trigger.md",
    optional=True,
    extra_check=_check,
)


def default_trigger_card() -> dict[str, Any]:
    """The validated defaults (the ``trigger`` section of a card without one)."""
    return TRIGGER_SCHEMA.validate({}, ("trigger",), lambda _p: None)
