"""Schema of the ``reco:`` card section (optional: a card without it gets these defaults).

Units: GeV, cm, rad.  Every default carries its source; tags as in the detector card:
[V] verified in the named public source, [D] derived (method stated), [M] unverified
(memory or secondary sources) -- tune these for an analysis.

References used below:
- BaBar V0 selection (TrkV0Selector), BaBar workbook "V0BtaTrack list" (SLAC BFROOT
  web pages): conversions m_ee < 30 MeV, pair DCA < 0.75 cm, primary pointing > 0.998.
- Belle II, "Search for a long-lived spin-0 mediator in b -> s transitions",
  PRD 108 (2023) L111104, arXiv:2306.02830: displaced-vertex search with K0S, Lambda,
  conversion and material vetoes.
- PDG RPP 2024 for the K0S, Lambda and pi0 masses (read from the particle table, never typed).
"""

from __future__ import annotations

from fastsim.schema import Field, ListOf, Section

__all__ = ["RECO_SCHEMA"]


def _gev(default: float, doc: str) -> Field:
    return Field(float, default, doc, unit="GeV", min=0.0)


def _window(default: list[float], doc: str, unit: str = "GeV") -> ListOf:
    return ListOf(Field(float, min=0.0), default, f"{doc} [{unit}], [low, high]", min_len=2)


RECO_SCHEMA = Section(
    {
        "enabled": Field(bool, True, "run the reconstruction stage"),
        "charged": Section(
            {
                # basf2 standard lists use PID > 0.5 style cuts; fastsim's PID scores are > 0.5
                # exactly when the track passes the card's ID table (fastsim.detector.pid) [D]
                "pid_min": Section(
                    {
                        "e": Field(float, 0.5, "pid_e score cut of the e list", min=0.0, max=1.0),
                        "mu": Field(float, 0.5, "pid_mu score cut of the mu list", min=0.0, max=1.0),
                        "pi": Field(
                            float,
                            0.0,
                            "pid_pi score cut of the pi list (0: all tracks, basf2 pi+:all)",
                            min=0.0,
                            max=1.0,
                        ),
                        "K": Field(float, 0.5, "pid_K score cut of the K list", min=0.0, max=1.0),
                        "p": Field(float, 0.5, "pid_p score cut of the p list", min=0.0, max=1.0),
                    },
                    optional=True,
                ),
                "min_pt": _gev(0.0, "minimum transverse momentum of list tracks"),
            },
            optional=True,
        ),
        "photons": Section(
            {
                # Belle II photon selections for dark-sector searches use region-dependent
                # thresholds, highest backward where beam background is largest
                # (e.g. E > 0.1 / 0.09 / 0.16 GeV fwd / barrel / bwd) [M]
                "min_energy_forward": _gev(0.100, "cluster energy threshold, forward endcap [M]"),
                "min_energy_barrel": _gev(0.090, "cluster energy threshold, barrel [M]"),
                "min_energy_backward": _gev(0.160, "cluster energy threshold, backward endcap [M]"),
            },
            optional=True,
        ),
        "pi0": Section(
            {
                # basf2 standard pi0 lists: gamma gamma mass window around m_pi0 of roughly
                # 105-150 MeV (stdPi0s) [M]; photon threshold lower than the photon list [M]
                "mass_window": _window([0.105, 0.150], "gamma gamma invariant-mass window"),
                "min_photon_energy": _gev(0.030, "photon energy threshold for pi0 daughters [M]"),
            },
            optional=True,
        ),
        "vertex_fit": Section(
            {
                "max_iterations": Field(int, 10, "Newton iterations of the vertex fit", min=1),
                "tolerance": Field(
                    float,
                    1e-4,
                    "convergence: vertex shift below this",
                    unit="cm",
                    min=0.0,
                    min_exclusive=True,
                ),
            },
            optional=True,
        ),
        "displaced": Section(
            {
                "max_chi2": Field(float, 20.0, "vertex-fit chi2 (1 ndf) [M]", min=0.0),
                # BaBar TrkV0Selector: DCA < 0.75 cm [V] (BaBar workbook, V0BtaTrack list) for
                # tracks with silicon hits; CDC-only daughters of vertices beyond ~20 cm have a z
                # resolution of ~1 cm (95% of 1 GeV S -> mu mu at r = 55 cm have DCA < 2.2 cm,
                # docs/reco.md), so the default is looser; the statistical compatibility is the
                # chi2 cut [D]
                "max_dca": Field(
                    float, 3.0, "3-D distance of closest approach of the two tracks", unit="cm", min=0.0
                ),
                # pointing in the transverse plane (the luminous region is a few um there);
                # BaBar uses 0.998 in 3-D [V]; looser here for sub-mm vertices [M]
                "min_cos_pointing": Field(
                    float,
                    0.99,
                    "cosine of the transverse angle between vertex position and momentum",
                    min=-1.0,
                    max=1.0,
                ),
                "min_radius": Field(
                    float,
                    0.05,
                    "transverse distance of the vertex from the beam line [M]",
                    unit="cm",
                    min=0.0,
                ),
                "max_radius": Field(
                    float, 100.0, "transverse distance of the vertex from the beam line", unit="cm", min=0.0
                ),
                # material veto: vertices within window + n_sigma * sigma_r of a material layer
                # (beam pipe, PXD, SVD, CDC inner wall; radii from the detector card, where
                # photons convert, PDG eq. 34.31) [D]
                "material_radii": ListOf(
                    Field(float, min=0.0),
                    [],
                    "material layer radii [cm]; empty: the detector card's beampipe/pxd/svd/wall layers",
                ),
                "material_window": Field(
                    float,
                    0.15,
                    "half-width of the material veto around a layer radius [M]",
                    unit="cm",
                    min=0.0,
                ),
                "material_n_sigma": Field(float, 3.0, "plus this many vertex radius errors", min=0.0),
                # K0S veto: 420-520 MeV in the pi pi hypothesis (issue 6; cf. arXiv:2306.02830)
                "k0s_veto": _window([0.420, 0.520], "pi+ pi- mass window of the K0S veto"),
                # Lambda veto: p pi mass within ~10 MeV of m_Lambda = 1.1157 GeV [M]
                "lambda_veto": _window([1.105, 1.125], "p pi- mass window of the Lambda veto"),
                # conversion veto: m_ee < 30 MeV [V] (BaBar TrkV0Selector) with a small
                # opening angle of the pair [M]
                "conversion_max_mass": _gev(0.030, "e+ e- mass below which a pair is a conversion"),
                "conversion_max_angle": Field(
                    float, 0.05, "opening angle of a conversion pair", unit="rad", min=0.0
                ),
            },
            optional=True,
        ),
        "v0": Section(
            {
                # K0S and Lambda candidate lists from the vertex finder [M] (basf2 stdV0s
                # uses 0.45-0.55 GeV and 1.10-1.13 GeV before the vertex fit)
                "k0s_mass_window": _window([0.450, 0.550], "pi+ pi- mass window of the K0S list"),
                "lambda_mass_window": _window([1.100, 1.130], "p pi mass window of the Lambda list"),
            },
            optional=True,
        ),
    },
    doc="reconstruction: particle lists, vertex fits, displaced vertices, event kinematics",
    optional=True,
)
