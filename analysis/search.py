"""What a search is: the interface every search module in ``analysis/`` implements.

A search declares

* ``name`` (the ``fastsim analyze NAME`` and the registry key), ``title``, ``reference``
  (the paper it follows) and ``channel`` (the reaction, for HEPData);
* ``models``: the names of the models (:data:`fastsim.models.MODELS`) whose signal points it
  interprets;
* :meth:`Search.select`: the selection, vectorised over one batch of events, returning per
  selected event the candidates' observable values and the truth-matched value;
* ``region``: its signal regions, :class:`MassWindows` (a peak search: windows of +-k sigma(m)
  from a resolution model measured on the signal, scanned in mass), :class:`Categories`
  (disjoint bins, combined in one likelihood) or :class:`Channels` (exclusive channels, each a
  peak search, with limits per channel vs mass and lifetime and a combined coupling limit);
* ``statistics``: default statistical settings (:class:`Statistics`);
* optionally ``mva_features`` and :meth:`Search.features`: per-event features of its
  preselected events for a multivariate classifier (:mod:`analysis.mva`, ``fastsim train``).

Everything else (classifying files into signal points and backgrounds from ``/meta``,
yields, efficiencies with errors, background estimates, limits, the coupling interpretation
through the model, luminosity projections, plots, HEPData, ``summary.json``) is the shared
layer's (:mod:`analysis.samples`, :mod:`analysis.interpretation`, :mod:`analysis.cli`), the
same for every search.  A new search is one file with one :class:`Search` subclass and one
line in :data:`analysis.SEARCHES`.

Units: GeV, cm, ns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from fastsim.events import EventBatch

__all__ = [
    "Categories",
    "Channels",
    "MassWindows",
    "Search",
    "Selected",
    "Statistics",
    "nominal_beams",
    "pdg_mass",
]


@dataclass
class Selected:
    """The selected events of one batch.

    ``index``: event indices in the batch (n,); ``observable``: (n, k) values of the observable
    for the event's k candidates (GeV for a mass; the category index for :class:`Categories`),
    NaN where a candidate fails; ``truth``: (n,) the observable of the candidate built from the
    signal particle's own daughters, NaN when there is none (backgrounds, unmatched events).
    """

    index: np.ndarray
    observable: np.ndarray
    truth: np.ndarray
    #: (n, k) channel index of each candidate (:class:`Channels`; -1: none), or None
    category: np.ndarray | None = None
    #: (n, k) transverse radius (cm) of each candidate's vertex (:class:`Channels`), or None
    radius: np.ndarray | None = None
    #: (n, k) True for a candidate outside the signal box, in the looser box from which the
    #: background is estimated (:class:`Channels` ``sideband_groups``), or None
    sideband: np.ndarray | None = None
    #: (n, k) how many of the candidate's probe tracks pass the identification that the full
    #: selection adds to the loose one (:class:`MassWindows` ``sideband_probes``), or None
    probe_pass: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.observable = np.asarray(self.observable, np.float64)
        if self.observable.ndim == 1:
            self.observable = self.observable[:, None]
        self.index = np.asarray(self.index, np.int64)
        self.truth = np.asarray(self.truth, np.float64)
        if self.category is not None:
            self.category = np.asarray(self.category, np.int64).reshape(self.observable.shape)
        if self.radius is not None:
            self.radius = np.asarray(self.radius, np.float64).reshape(self.observable.shape)
        if self.sideband is not None:
            self.sideband = np.asarray(self.sideband, bool).reshape(self.observable.shape)
        if self.probe_pass is not None:
            self.probe_pass = np.asarray(self.probe_pass, np.int64).reshape(self.observable.shape)


@dataclass(frozen=True)
class MassWindows:
    """A peak search: at mass m the window m -+ k sigma(m), sigma from the signal resolution
    (:class:`analysis.scan.Resolution`), scan points one half-width apart; the background of a
    window from one ``smooth`` times wider (clipped at ``min_mass``), scaled by the width ratio
    (with ``sideband``: counted in the loose selection and scaled by its pass fraction); scan
    windows overlapping a ``vetoes`` interval are skipped."""

    k: float = 2.0
    smooth: float = 5.0
    min_mass: float = 0.0
    vetoes: tuple[tuple[float, float], ...] = ()
    scan: bool = True
    #: background from the search's loose selection (``Selected.sideband`` candidates too) times
    #: the fraction of background events passing the full selection, over all masses (for
    #: simulated backgrounds too small to populate the full selection)
    sideband: bool = False
    #: with ``sideband``: the pass fraction factorised over this many probe tracks per
    #: candidate (``Selected.probe_pass``), r = f^probes with f the fraction of the loose
    #: candidates' probe tracks that pass -- the tracks' identification being independent (as
    #: in a per-track efficiency table), this measures r with probes x the loose events'
    #: statistics; 0: the fraction of loose events passing the full selection
    sideband_probes: int = 0
    #: a long-lived signal whose c*tau falls below the lifetime grid's smallest value has that
    #: value's efficiency (the selection takes prompt decays and the grid starts in the prompt
    #: regime); False: no efficiency below the grid (a displaced-vertex search)
    prompt_below_grid: bool = False
    #: with ``sideband``, > 0: the pass fraction measured around each window, in a range of
    #: this many window half-widths either side (events with a loose candidate there, and with
    #: a passing one), not over all masses -- for a loose selection whose composition changes
    #: with mass (e.g. photon conversions at low m(e e)); 0: over all masses
    local_pass_fraction: float = 0.0
    #: disjoint candidate categories (e.g. the e+e- and mu+mu- channels of one resonance):
    #: each candidate's category is ``Selected.category``; per window each category has its own
    #: efficiency and background, combined in one likelihood (one bin per category,
    #: :func:`analysis.limits.category_limits`); empty: one count per window
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Categories:
    """Disjoint event categories (bins): ``observable[:, 0]`` of a selected event is its category
    index; the limit combines the categories in one likelihood (one bin each, the model of
    ``pyhf.simplemodels.uncorrelated_background``: :func:`analysis.limits.category_limits`)."""

    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Channels:
    """Exclusive channels, each a peak search in its own observable (a mass), with limits per
    channel vs mass and the signal particle's c*tau, model-independent (on the product of
    branching fractions), and the model's coupling from all channels together
    (:mod:`analysis.channel_limits`).  Per candidate the search gives its channel
    (``Selected.category``) and vertex radius (``Selected.radius``); per event the channel of
    the signal particle's true decay (:meth:`Search.truth_category`), so that a sample in which
    the particle decays several ways serves every channel: the efficiency of channel c is
    counted over the events whose true decay is c.

    ``names``: the channels; the window at mass m is m -+ k sigma_c(m, r) with sigma from the
    truth-matched signal of channel c in the vertex-radius bins ``radius_bins`` (cm); the
    background from a window ``smooth`` times wider; ``vetoes``: per channel, mass intervals
    the scan skips; ``thresholds``: per channel, the lowest mass (GeV); ``daughter_br``: per
    channel, (parent, daughters) of a decay whose branching fraction (from the decay table)
    the quoted product includes (e.g. K*0 -> K+ pi-); ``model_final_states``: per channel, the
    model's final-state name (:meth:`fastsim.models.base.Model.branching_fractions`);
    ``production``: per channel, the model's production mode
    (:meth:`fastsim.models.base.Model.production`)."""

    names: tuple[str, ...] = ()
    k: float = 2.0
    smooth: float = 5.0
    radius_bins: tuple[float, ...] = (0.0, 1000.0)
    vetoes: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    daughter_br: dict[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    model_final_states: dict[str, str] = field(default_factory=dict)
    production: dict[str, str] = field(default_factory=dict)
    #: groups of channels whose background in the signal box is the loose box's times the
    #: group's fraction of background candidates in the signal box (``Selected.sideband``);
    #: empty: the signal box's own background
    sideband_groups: tuple[tuple[str, ...], ...] = ()
    #: a second signal region with the vertex beyond this transverse radius (cm; 0: none):
    #: per channel, mass and c*tau the region (every radius, or displaced) with the better
    #: expected limit is quoted, and for the coupling the union of the two regions' islands
    displaced_min_radius: float = 0.0
    #: the coupling (all channels together) is computed at this many masses, evenly spaced over
    #: the simulated range, and at the simulated masses
    n_coupling_masses: int = 120


@dataclass(frozen=True)
class Statistics:
    """Confidence level, method (:data:`analysis.limits.METHODS`) and the relative systematic
    uncertainty of the background estimate."""

    cl: float = 0.90
    method: str = "cls"
    rel_bkg_sys: float = 0.10


class Search:
    """Base class of a search (see the module docstring)."""

    name: ClassVar[str]
    title: ClassVar[str]
    reference: ClassVar[str] = ""
    channel: ClassVar[str] = ""
    observable_label: ClassVar[str] = "$m_X$ [GeV]"
    models: ClassVar[tuple[str, ...]]
    region: ClassVar[MassWindows | Categories | Channels] = MassWindows()
    statistics: ClassVar[Statistics] = Statistics()
    #: PDG ids of the signal particles in fastsim's own samples (external ones add theirs)
    signal_ids: ClassVar[tuple[int, ...]] = ()
    #: names of the per-event features of a multivariate classifier (:mod:`analysis.mva`), in
    #: the column order of :meth:`features`; empty: the search defines none
    mva_features: ClassVar[tuple[str, ...]] = ()

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        """The selection on one batch; ``signal_ids`` are the PDG ids of the signal particle
        (for the truth match)."""
        raise NotImplementedError

    def truth_category(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> np.ndarray | None:
        """Per event the :class:`Channels` index of the signal particle's true decay (-1: none);
        None for searches without channels."""
        return None

    def features(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The classifier features of the events the search considers (its preselection):
        (event indices in the batch (n,), features (n, len(mva_features)) float64, the columns
        in :attr:`mva_features` order, units as the search states them).  ``fastsim train``
        (:func:`analysis.mva.train_search`) calls it batch by batch."""
        raise NotImplementedError(f"search {self.name} defines no classifier features")

    def grid_selection(self, batch: EventBatch) -> np.ndarray:
        """Per-event mask of the selection without a signal-region cut (``grid.selection``)."""
        sel = self.select(batch, self.signal_ids)
        mask = np.zeros(batch.n_events, bool)
        mask[sel.index[np.any(np.isfinite(sel.observable), axis=1)]] = True
        return mask


def pdg_mass(pdg: int) -> float:
    """A particle's mass (GeV) from ``particle`` (PDG), for a search's mass hypotheses."""
    from particle import Particle

    return float(Particle.from_pdgid(pdg).mass) / 1000.0  # MeV -> GeV


def nominal_beams(batch: EventBatch) -> tuple[np.ndarray, np.ndarray]:
    """The e- and e+ beam four-momenta (1, 4) of a batch: the mean of its records' beam particles
    (local items 0, 1), the nominal beams within the energy spread / sqrt(n), for the CM frame
    of a search's candidates (:func:`fastsim.beams.lab_to_cm`)."""
    mc = batch["mc"]
    o = mc.offsets[:-1]
    return tuple(np.array([[mc[f][o + j].mean() for f in ("px", "py", "pz", "e")]]) for j in (0, 1))  # type: ignore[return-value]
