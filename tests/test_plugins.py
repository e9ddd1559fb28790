"""Models and searches as plugins (issue 14): the model registry and ``fastsim models``, the
card's ``models:`` section, a search added in one file, luminosity projections, published
curves, the long-lived coupling island, and the layering (no import cycles)."""

from __future__ import annotations

import ast
import csv
import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy import optimize

from analysis import SEARCHES
from analysis.cli import analyze
from analysis.interpretation import coupling_band
from analysis.search import MassWindows, Search, Selected
from fastsim.cards import load_card
from fastsim.constants import HBARC_GEV_CM
from fastsim.events import EventBatch
from fastsim.models import MODELS, get_model
from tests.conftest import REPO, run_cli, write_card

M_MU = 0.1056583755  # GeV, PDG 2024


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------ models
def test_models_cli_zprime_point() -> None:
    r = run_cli("models", "zprime", "--mass", "1", "--coupling", "0.001", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert {
        "model",
        "mass_gev",
        "coupling",
        "width_gev",
        "ctau_cm",
        "branching_fractions",
        "production",
    } <= set(info)
    # physics.md section 1 (DarkCast eq. 2.13): Gamma(mu mu) = g^2 m/(12 pi)(1 + 2r) sqrt(1 - 4r),
    # Gamma(nu nu) = g^2 m/(24 pi) per flavour; BR(mu mu) = 1/2 up to the muon-mass factor
    g, m, r = 1e-3, 1.0, (M_MU / 1.0) ** 2
    w_mumu = g * g * m / (12 * math.pi) * (1 + 2 * r) * math.sqrt(1 - 4 * r)
    w_tot = w_mumu + 2 * g * g * m / (24 * math.pi)
    assert info["branching_fractions"]["mu+ mu-"] == pytest.approx(0.5, abs=1e-3)
    assert info["branching_fractions"]["mu+ mu-"] == pytest.approx(w_mumu / w_tot, rel=1e-6)
    nu = info["branching_fractions"]["nu(mu) nu(mu)~"] + info["branching_fractions"]["nu(tau) nu(tau)~"]
    assert nu == pytest.approx(0.5, abs=1e-3)
    assert info["width_gev"] == pytest.approx(5.3e-8, rel=0.01)  # physics.md: 5.3e-8 GeV
    assert info["ctau_cm"] == pytest.approx(HBARC_GEV_CM / w_tot, rel=1e-6)


def test_models_cli_list_and_bad_input() -> None:
    r = run_cli("models")
    assert r.returncode == 0 and "zprime" in r.stdout and "muonphilic_scalar" in r.stdout
    for args, needle in (
        (("models", "zprim", "--mass", "1", "--coupling", "1"), "did you mean 'zprime'"),
        (("models", "zprime", "--mass", "-1", "--coupling", "1"), "mass: must be > 0.0 GeV"),
        (("models", "zprime", "--mass", "1"), "coupling"),
        (("models", "zprime", "--mass", "1", "--coupling", "1", "--set", "foo=2"), "unknown key 'foo'"),
    ):
        r = run_cli(*args)
        assert r.returncode == 2, args
        assert needle in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_scalar_widths_scale_and_two_photon_limit() -> None:
    s = get_model("muonphilic_scalar")
    a = s(mass=1.0, coupling=1.0)
    assert a.widths[(-13, 13)] == pytest.approx(1 / (8 * math.pi) * (1 - 4 * M_MU**2) ** 1.5, rel=1e-6)
    # every width ~ g^2: c*tau ~ g^-2, BRs coupling-independent (physics.md section 0)
    b = a.with_params(coupling=1e-3)
    assert b.ctau_cm == pytest.approx(a.ctau_cm * 1e6, rel=1e-12)
    assert b.ctau_at(1.0) == pytest.approx(a.ctau_cm, rel=1e-12)
    assert b.branching_fractions() == pytest.approx(a.branching_fractions(), rel=1e-12)
    # heavy-fermion limit of the loop: A_1/2 -> 4/3 (hep-ph/0503172)
    from fastsim.models.muonphilic_scalar import a_half

    assert abs(a_half(1e-4)) == pytest.approx(4 / 3, rel=1e-3)
    # below 2 m_mu only gamma gamma is open
    assert set(s(mass=0.15, coupling=1e-3).branching_fractions()) == {"gamma gamma"}


def test_card_models_section_gives_the_decay_engine_the_model(tmp_path: Path) -> None:
    from fastsim.run import run

    body = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {seed: 3, events: 4000, chunk_size: 4000, output: out.h5}
dataset: {name: t, luminosity_fb: 1.0}
detector: {enabled: false}
trigger: {enabled: false}
reco: {enabled: false}
models:
  zprime: {mass: 1.0, coupling: 1.0e-8}
processes:
  gun: {generator: particle_gun, pdg: 9900023, p_min: 1.0, p_max: 1.0}
"""
    card = load_card(write_card(tmp_path, body))
    point = get_model("zprime")(mass=1.0, coupling=1e-8)
    entry = card["particles"][9900023]
    assert entry["ctau"] == pytest.approx(point.ctau_cm, rel=1e-12)
    assert sum(d["br"] for d in entry["decays"]) == pytest.approx(1.0, abs=1e-12)
    out = tmp_path / "out.h5"
    run(card, output=out, workers=1, progress=False)
    from fastsim.io import open_events

    with open_events(out) as f:
        mc = next(f.iter_chunks(10_000))["mc"]
    zp = (mc["id"] == 9900023) & (mc["status"] == 2)
    ct = mc["lifetime"][zp]
    # exponential proper decay lengths with the model's c*tau (4000 decays: 1.6% error)
    assert ct.mean() == pytest.approx(point.ctau_cm, rel=0.07)
    # daughters follow the model's branching fractions: BR(mu mu) = 0.4998 (+- 0.008)
    daughters = mc["id"][(mc["mother1"] >= 0) & (np.abs(mc["id"]) == 13)]
    assert len(daughters) / 2 / zp.sum() == pytest.approx(point.branching_fraction((-13, 13)), abs=0.04)
    # the card's own particle keys win over the model's (a lifetime axis of a grid)
    card2 = load_card(
        write_card(tmp_path, body.replace("models:", "particles: {9900023: {ctau: 5.0}}\nmodels:"), "c2.yaml")
    )
    assert card2["particles"][9900023]["ctau"] == 5.0


def test_card_rejects_unknown_model(tmp_path: Path) -> None:
    from fastsim.schema import CardError

    body = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {seed: 3, events: 10, output: out.h5}
dataset: {name: t, luminosity_fb: 1.0}
models: {zprme: {mass: 1.0, coupling: 1.0}}
processes: {ee_mumu: {}}
"""
    with pytest.raises(CardError, match=r"models\.zprme: unknown model 'zprme' \(did you mean 'zprime'"):
        load_card(write_card(tmp_path, body))


def test_every_registered_model_is_complete() -> None:
    for name in MODELS:
        cls = MODELS[name]
        assert {"mass", "coupling"} <= set(cls.parameters)
        point = cls(mass=1.0, coupling=1e-3)
        assert point.width_gev > 0 and math.isfinite(point.ctau_cm)
        assert sum(point.branching_fractions().values()) == pytest.approx(1.0, abs=1e-12)
        assert cls.title and cls.coupling_label and cls.references


# ------------------------------------------------------------------------------ searches
class ToyDimuon(Search):
    """A second search that lives in this file only: any opposite-charge pair of prompt muon
    candidates, its mass as the observable (two muons per event, the leading pair)."""

    name = "toy_dimuon"
    title = "toy: a prompt mu+ mu- pair"
    channel = "E+ E- --> MU+ MU- X, X --> MU+ MU-"
    models = ("zprime",)
    region: ClassVar[MassWindows] = MassWindows(k=2.0, smooth=3.0, min_mass=2 * M_MU)

    def select(self, batch: EventBatch, signal_ids: tuple[int, ...]) -> Selected:
        tr = batch["tracks"]
        ev = tr.event_index()
        mu = (tr["pid_mu"] > 0.5) & (np.abs(tr["d0"]) < 0.5)
        pos = np.flatnonzero(mu & (tr["charge"] > 0))
        neg = np.flatnonzero(mu & (tr["charge"] < 0))
        first_pos = np.full(batch.n_events, -1)
        first_neg = np.full(batch.n_events, -1)
        first_pos[ev[pos[::-1]]] = pos[::-1]
        first_neg[ev[neg[::-1]]] = neg[::-1]
        events = np.flatnonzero((first_pos >= 0) & (first_neg >= 0))
        i, j = first_pos[events], first_neg[events]
        p = np.stack([tr["px"][i] + tr["px"][j], tr["py"][i] + tr["py"][j], tr["pz"][i] + tr["pz"][j]], -1)
        e = sum(np.sqrt(tr["px"][k] ** 2 + tr["py"][k] ** 2 + tr["pz"][k] ** 2 + M_MU**2) for k in (i, j))
        mass = np.sqrt(np.maximum(e**2 - (p**2).sum(-1), 0.0))
        return Selected(events, mass, np.where(np.isin(events, events), mass, np.nan))


@pytest.fixture
def toy_search():
    SEARCHES.add(ToyDimuon.name, ToyDimuon)
    yield ToyDimuon
    SEARCHES.remove(ToyDimuon.name)


def test_a_search_in_one_file(sample: Path, tmp_path: Path, toy_search: type) -> None:
    r = run_cli("analyze", "--list")
    assert r.returncode == 0 and r.stdout.startswith("zprime_4mu:")
    out = analyze("toy_dimuon", [sample], 178.0, tmp_path / "toy", None)
    rows = _rows(out)
    assert rows and {r["model"] for r in rows} == {"zprime"}  # the scalar is not this search's model
    need = {"model", "mass_gev", "coupling_ul_expected", "xsec_bf_ul_fb_expected", "coupling_ul_expected_m1s",
            "coupling_ul_expected_p2s", "xsec_bf_ul_fb_expected_m2s"}  # fmt: skip
    assert need <= set(rows[0])
    assert all(float(r["coupling_ul_expected"]) > 0 for r in rows)
    assert (tmp_path / "toy" / "hepdata" / "zprime_limits.yaml").is_file()
    summary = json.loads((tmp_path / "toy" / "summary.json").read_text())
    assert summary["analysis"] == "toy_dimuon" and summary["region"]["smooth"] == 3.0


def test_projections_scale_with_luminosity(sample: Path, tmp_path: Path) -> None:
    lumis = [178.0, 1000.0, 10000.0, 50000.0]
    out = analyze("zprime_4mu", [sample], 178.0, tmp_path / "p", None, projections=lumis,
                  projection_syst=[0.1, 0.0, 0.0, 0.0])  # fmt: skip
    base = _rows(out)
    proj = _rows(tmp_path / "p" / "projections.csv")
    assert next(iter(proj[0])) == "lumi_fb" and list(proj[0])[1:] == list(base[0])
    assert (tmp_path / "p" / "projections.png").stat().st_size > 1000
    at = {L: [r for r in proj if float(r["lumi_fb"]) == L] for L in lumis}
    # at the analysis luminosity and systematic, the projection is the analysis itself
    for a, b in zip(at[178.0], base, strict=True):
        assert float(a["coupling_ul_expected"]) == pytest.approx(float(b["coupling_ul_expected"]), rel=1e-12)
    for r1, r2 in zip(at[10000.0], at[50000.0], strict=True):
        b1, b2 = float(r1["background"]), float(r2["background"])
        assert b2 == pytest.approx(5 * b1, rel=1e-9)  # backgrounds scale with L
        assert float(r2["efficiency"]) == float(r1["efficiency"])
        if b1 > 500:  # Gaussian regime without systematics: sigma_UL ~ sqrt(b)/L ~ L^-1/2
            ratio = float(r1["xsec_bf_ul_fb_expected"]) / float(r2["xsec_bf_ul_fb_expected"])
            assert ratio == pytest.approx(math.sqrt(5), rel=0.05)
    with pytest.raises(ValueError, match="projection-syst"):
        analyze(
            "zprime_4mu",
            [sample],
            178.0,
            tmp_path / "q",
            None,
            projections=[1000.0],
            projection_syst=[0.1, 0.2],
        )


def test_compare_curve_and_bad_inputs(sample: Path, tmp_path: Path) -> None:
    curve = tmp_path / "published.csv"
    curve.write_text(
        "mass_gev,coupling,label\n0.5,0.001,Belle II 2024\n2.0,0.002,Belle II 2024\n5.0,0.004,Belle II 2024\n"
    )
    r = run_cli("analyze", "zprime_4mu", str(sample), "--lumi", "178", "-o", str(tmp_path / "c"),
                "--compare", str(curve), "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c" / "limits.png").stat().st_size > 1000
    bad = tmp_path / "bad.csv"
    bad.write_text("m,g\n1,2\n")
    for args, needle in (
        (("--compare", str(bad)), "expected CSV columns mass_gev, coupling"),
        (("--projections", "1000,x"), "--projections expects comma-separated numbers"),
        (("--lumi", "-1"), "luminosity must be > 0"),
    ):
        cmd = ["analyze", "zprime_4mu", str(sample), "--lumi", "178", "-o", str(tmp_path / "d"), *args]
        r = run_cli(*cmd)
        assert r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = run_cli(
        "analyze", "zprime_4mu", str(tmp_path / "missing.h5"), "--lumi", "1", "-o", str(tmp_path / "e")
    )
    assert r.returncode == 2 and "missing.h5" in r.stderr


# ------------------------------------------------------------------------------ long-lived island
def test_long_lived_coupling_island_against_the_analytic_solution() -> None:
    """sigma(g) L eff(c*tau(g)) = N_UL with eff the probability to decay between L1 and L2 at
    beta gamma = 2 (physics.md section 0) and c*tau ~ g^-2: both edges of the excluded band
    against a direct root finding on the analytic curve (the solver sees the efficiency only on
    a c*tau grid, interpolated in log c*tau, as from lifetime reweighting)."""
    model = get_model("muonphilic_scalar")(mass=0.5, coupling=1e-4)
    l1, l2, bg = 1.0, 50.0, 2.0  # cm

    def eff(ctau: np.ndarray) -> np.ndarray:
        return np.exp(-l1 / (bg * ctau)) - np.exp(-l2 / (bg * ctau))

    grid = np.geomspace(0.05, 5000.0, 41)
    sigma1, lumi, n_ul = 1e6, 1000.0, 2.3  # nb at g = 1 (a toy: ~100 events at the peak), fb^-1, events
    lo, hi = coupling_band(n_ul, lumi, sigma1, model, grid, eff(grid))

    def f(log_g: float) -> float:
        g = math.exp(log_g)
        n = sigma1 * g**2 * 1e6 * lumi * float(eff(np.array([model.ctau_at(g)]))[0])
        return math.log(max(n, 1e-300)) - math.log(n_ul)

    g_peak = math.log(1e-4 * math.sqrt(model.ctau_cm / 10.0))  # c*tau ~ 10 cm: inside the island
    assert f(g_peak) > 0
    ref_lo = math.exp(optimize.brentq(f, g_peak - 15, g_peak))
    ref_hi = math.exp(optimize.brentq(f, g_peak, g_peak + 6))
    assert lo == pytest.approx(ref_lo, rel=0.02) and hi == pytest.approx(ref_hi, rel=0.02)
    assert model.ctau_at(hi) < l1 < model.ctau_at(lo)  # too short-lived at the upper edge
    # nothing excluded when the limit is above the best expected yield
    assert all(math.isnan(x) for x in coupling_band(1e12, lumi, sigma1, model, grid, eff(grid)))


# ------------------------------------------------------------------------------ layering
def _module_graph() -> dict[str, set[str]]:
    """Every import of fastsim/ and analysis/ (module level and inside functions) as an edge
    to the project module it names (a ``from pkg import name`` of a submodule names it)."""
    files = {}
    for pkg in ("fastsim", "analysis"):
        for f in (REPO / pkg).rglob("*.py"):
            parts = list(f.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = f

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, f in files.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                deps |= {r for a in node.names if (r := resolve(a.name))}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = mod.split(".") if f.name == "__init__.py" else mod.split(".")[:-1]
                    base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
                for a in node.names:
                    full = f"{base}.{a.name}"
                    r = resolve(full) if full in files else resolve(base)
                    if r:
                        deps.add(r)
        deps.discard(mod)
        graph[mod] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    graph = _module_graph()
    assert len(graph) > 60 and "fastsim.schema" in graph["fastsim.cards"]
    assert "fastsim.physics_checks" in graph["fastsim.cards"]  # imports inside functions count
    assert _cycles(graph) == []
    # the check can fail: a planted cycle is found
    graph["fastsim.schema"] = {*graph["fastsim.schema"], "fastsim.cards"}
    assert any({"fastsim.cards", "fastsim.schema"} <= set(c) for c in _cycles(graph))


def test_plugins_do_not_import_their_registry() -> None:
    graph = _module_graph()
    for registry, plugins in (
        ("fastsim.generators", [p.partition(":")[0] for p in map(_gen_path, _gen_names())]),
        ("fastsim.models", [MODELS.path(n).partition(":")[0] for n in MODELS]),
        ("analysis", [SEARCHES.path(n).partition(":")[0] for n in SEARCHES]),
    ):
        for mod in plugins:
            assert registry not in graph[mod], (mod, registry)


def _gen_names() -> list[str]:
    from fastsim.generators import GENERATORS

    return list(GENERATORS)


def _gen_path(name: str) -> str:
    from fastsim.generators import GENERATORS

    return GENERATORS.path(name)


def test_layering_rules_of_docs_architecture() -> None:
    """The rules of docs/architecture.md: models stand on the foundation only, fastsim does not
    import analysis (but for the command line), analysis does not import the chain."""
    graph = _module_graph()
    foundation = {"fastsim.constants", "fastsim.schema", "fastsim.registry"}
    for mod, deps in graph.items():
        if mod.startswith("fastsim.models"):
            assert all(d in foundation or d.startswith("fastsim.models") for d in deps), (mod, deps)
        if mod.startswith("fastsim") and mod != "fastsim.cli":
            assert not any(d.startswith("analysis") for d in deps), (mod, deps)
        if mod.startswith("analysis"):
            allowed = {
                "fastsim.beams",
                "fastsim.events",
                "fastsim.io",
                "fastsim.decays",
                "fastsim.registry",
                "fastsim.plotting",
            }
            assert all(d.startswith(("analysis", "fastsim.models")) or d in allowed for d in deps), (
                mod,
                deps,
            )


def test_leptophilic_generator_is_the_muonphilic_amplitude_at_g_s_xi_m_mu_over_v() -> None:
    """ee_ll_phil at xi against ee_mumu_scalar at g_S = xi m_mu / v, point by point: the same
    amplitude, cross sections in the ratio of the two models' BR(mu mu) (a second path through
    the model classes' couplings and widths)."""
    from fastsim.beams import BeamSetup
    from fastsim.generators.ee_ll_phil import EELLLeptophilic
    from fastsim.generators.ee_llx import EEMuMuScalar
    from fastsim.models.leptophilic_scalar import VEV_GEV
    from fastsim.particles import ParticleTable
    from tests.conftest import CARDS

    beam = load_card(CARDS / "belle2_run1.yaml")["beam"]
    beam["spread"] = False
    beams = BeamSetup.from_card(beam)
    xi, m = 3.0, 1.5
    phil = EELLLeptophilic({"mass": m, "coupling": xi, "isr": False}, beams, ParticleTable())
    g_s = xi * phil.m_mu / VEV_GEV
    mphil = EEMuMuScalar({"mass": m, "coupling": g_s, "isr": False}, beams, ParticleTable())
    pts = phil._points(500, np.random.default_rng(3))
    p, big_m = pts["p_cm"], np.full(500, beams.sqrt_s)
    r = (phil.me2(p, big_m) * phil.weight_factor()) / (mphil.me2(p, big_m) * mphil.weight_factor())
    ok = np.isfinite(r)
    expect = phil.model.branching_fraction((-13, 13)) / mphil.model.branching_fraction((-13, 13))
    assert ok.sum() > 400 and np.allclose(r[ok], expect, rtol=1e-10)
    assert phil.describe()["signal_model"] == "leptophilic_scalar" and phil.describe()["x_pdg"] == 9900026
    # physics.md section 4: Gamma(e e) = 1.7e-14 GeV at m = 0.1 GeV, xi = 1
    low = get_model("leptophilic_scalar")(mass=0.1, coupling=1.0)
    assert low.widths[(-11, 11)] == pytest.approx(1.7e-14, rel=0.02)
