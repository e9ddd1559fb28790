"""External samples (issue 8): LHE, LHEH5 and HepMC3 input, HepMC3 / LHEH5 export, bad input.

The samples are written by programs nobody here wrote: Pythia 8 (pythia8mc) generates
e+e- -> tau+ tau- at the card's CM energy; its own LHEF writer (LHEF3FromPythia8) writes
the LHE files, pyhepmc (HepMC3's C++ writer) the HepMC3 file.  Tolerances:
* four-momentum conservation: LHE files carry about 8 significant digits (Pythia's LHEF
  writer), so sum(final) = sum(beams) to 1e-6 GeV per component; HepMC3 (16 digits): 1e-9.
* cross section: exactly the file's (the mean weight is normalised to it), rel. 1e-12.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pyhepmc
import pytest
import pythia8mc

import fastsim.external  # noqa: F401 - registers lhe, lheh5, hepmc
from fastsim.beams import BeamSetup
from fastsim.cards import load_card
from fastsim.constants import C_CM_PER_NS
from fastsim.events import Collection
from fastsim.external.common import ExternalGenerator
from fastsim.external.convert import convert
from fastsim.external.pythia_event import hepmc_from_pythia
from fastsim.generators import GENERATORS
from fastsim.io import FileFormatError, open_events
from fastsim.particles import ParticleTable
from fastsim.setup import build_beams
from tests.conftest import write_card

CARD = """
include: [detectors/belle2.yaml, beams/superkekb_y4s.yaml]
run: {{seed: 3, events: 100000, chunk_size: {chunk}, output: out.h5, workers: 1}}
dataset: {{name: external, luminosity_fb: 1.0}}
decays: {{enabled: {decays}}}
detector: {{enabled: false}}  # this module tests the generator stage (and decays)
processes:
  sample: {{generator: {gen}, files: [{file}]{extra}}}
"""

N_LHE = 300
N_HEPMC = 200


def card_for(
    tmp: Path, gen: str, file: Path, extra: str = "", chunk: int = 128, decays: bool = False
) -> Path:
    body = CARD.format(gen=gen, file=str(file), extra=extra, chunk=chunk, decays=str(decays).lower())
    return write_card(tmp, body, f"card_{gen}_{file.name}.yaml")


@pytest.fixture(scope="session")
def belle2_beams(tmp_path_factory: pytest.TempPathFactory) -> BeamSetup:
    from tests.conftest import SMALL_CARD

    tmp = tmp_path_factory.mktemp("beams")
    return build_beams(load_card(write_card(tmp, SMALL_CARD.format(events=10, chunk=10))))


def _pythia(settings: list[str]):
    py = pythia8mc.Pythia("", False)
    for s in [
        "Beams:idA = 11",
        "Beams:idB = -11",
        "WeakSingleBoson:ffbar2ffbar(s:gmZ) = on",
        "23:onMode = off",
        "23:onIfAny = 15",
        "PDF:lepton = off",
        "Print:quiet = on",
        "Next:numberCount = 0",
        "Random:setSeed = on",
        "Random:seed = 11",
        *settings,
    ]:
        assert py.readString(s), s
    assert py.init()
    return py


def _write_pythia_lhe(path: Path, frame: list[str], n: int) -> float:
    """Hard-process events through Pythia's LHEF writer; returns Pythia's sigma (pb).

    Pythia's Python binding hands the writer a copy of its Info, so the writer cannot
    fill XSECUP at the end: a first run with the same seed gives the final sigma, and its
    Info is given to the writer of a second, identical run (XSECUP = that sigma).
    """
    settings = [*frame, "PartonLevel:all = off", "HadronLevel:all = off"]
    first = _pythia(settings)
    for _ in range(n):
        assert first.next()
    info = first.infoPython()
    py = _pythia(settings)
    writer = pythia8mc.LHEF3FromPythia8(py.process, info, 15, True)
    writer.openLHEF(str(path))
    writer.setInit()
    for _ in range(n):
        assert py.next()
        writer.setEvent()
    writer.closeLHEF(False)
    return info.sigmaGen() * 1e9  # mb -> pb


@pytest.fixture(scope="session")
def lhe_lab(tmp_path_factory: pytest.TempPathFactory, belle2_beams) -> tuple[Path, float]:
    """tau pairs in the frame of collinear 7.004 GeV / E2 beams with the card's sqrt(s)."""
    path = tmp_path_factory.mktemp("lhe") / "tautau_lab.lhe"
    e1 = 7.004
    e2 = belle2_beams.sqrt_s**2 / (4 * e1)
    sigma = _write_pythia_lhe(path, ["Beams:frameType = 2", f"Beams:eA = {e1}", f"Beams:eB = {e2}"], N_LHE)
    return path, sigma


@pytest.fixture(scope="session")
def lhe_cm(tmp_path_factory: pytest.TempPathFactory, belle2_beams) -> tuple[Path, float]:
    """tau pairs in the CM frame (symmetric beams, as MadGraph writes), gzipped."""
    d = tmp_path_factory.mktemp("lhecm")
    path = d / "tautau_cm.lhe"
    sigma = _write_pythia_lhe(path, ["Beams:frameType = 1", f"Beams:eCM = {belle2_beams.sqrt_s}"], N_LHE)
    gz = d / "tautau_cm.lhe.gz"
    with path.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return gz, sigma


@pytest.fixture(scope="session")
def hepmc_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """Full Pythia events (tau decays with displaced vertices; pi0 left undecayed) as
    HepMC3 through pyhepmc, in MeV and mm to exercise the unit conversion."""
    path = tmp_path_factory.mktemp("hepmc") / "tautau.hepmc3"
    py = _pythia(
        [
            "Beams:frameType = 2",
            "Beams:eA = 7.0",
            "Beams:eB = 4.0",
            "TauDecays:mode = 0",
            "111:mayDecay = off",
        ]
    )
    with pyhepmc.open(path, "w") as out:
        for iev in range(N_HEPMC):
            assert py.next()
            g = hepmc_from_pythia(py.event, iev, mev=True)
            xs = pyhepmc.GenCrossSection()
            info = py.infoPython()
            xs.set_cross_section(info.sigmaGen() * 1e9, info.sigmaErr() * 1e9)
            g.cross_section = xs
            g.weights = [1.0]
            out.write(g)
    return path, py.infoPython().sigmaGen() * 1e9


def _generator(card_path: Path) -> ExternalGenerator:
    card = load_card(card_path)
    (params,) = card["processes"].values()
    table = ParticleTable()
    return GENERATORS[params["generator"]](params, build_beams(card), table)


def _sums(mc: Collection, status: int) -> np.ndarray:
    sel = mc["status"] == status
    ev = mc.event_index()[sel]
    out = np.zeros((mc.n_events, 4))
    for j, k in enumerate(("px", "py", "pz", "e")):
        np.add.at(out[:, j], ev, mc[k][sel])
    return out


def _mass(p4: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(p4[:, 3] ** 2 - np.sum(p4[:, :3] ** 2, axis=1), 0.0))


# ------------------------------------------------------------------------- LHE


@pytest.mark.parametrize("sample", ["lhe_lab", "lhe_cm"])
def test_lhe_sample_in_card_lab_frame(
    sample: str, request: pytest.FixtureRequest, tmp_path: Path, belle2_beams
) -> None:
    """Counts, conservation, cross section and the card's sqrt(s) and boost, for Pythia's
    lab-frame file and for a gzipped symmetric-beam (CM) file."""
    path, sigma_pb = request.getfixturevalue(sample)
    gen = _generator(card_for(tmp_path, "lhe", path))
    assert GENERATORS["lhe"].events_available(gen.config) == N_LHE
    batches = [gen.read_events(a, 100, np.random.default_rng(a))[0] for a in range(0, N_LHE, 100)]
    tallies = [gen.read_events(a, 100, np.random.default_rng(a))[1] for a in range(0, N_LHE, 100)]
    mc = Collection.concatenate([b["mc"] for b in batches])
    assert mc.n_events == N_LHE
    beams = _sums(mc, 4)
    final = _sums(mc, 1)
    np.testing.assert_allclose(final, beams, atol=1e-6)
    # the file's events land at the card's sqrt(s) and with its boost (nominal beams)
    np.testing.assert_allclose(_mass(beams), belle2_beams.sqrt_s, rtol=1e-7)
    np.testing.assert_allclose(
        beams[:, :3] / _mass(beams)[:, None],
        np.broadcast_to(belle2_beams.boost_betagamma, beams[:, :3].shape),
        atol=1e-7,
    )
    # taus are the final state, with the mass written by Pythia
    taus = np.abs(mc["id"]) == 15
    assert np.all(mc["status"][taus] == 1) and taus.sum() == 2 * N_LHE
    np.testing.assert_allclose(mc["m"][taus], 1.77682, rtol=1e-6)
    # cross section: exactly the file's XSECUP (read here by pylhe), independent of the
    # chunking; XSECUP is Pythia's sigma to the 8 digits its writer prints
    import pylhe

    lhef = pylhe.LHEFile.fromfile(path)
    xsecup = sum(p.xSection for p in lhef.init.procInfo)
    lhef.events.close()
    np.testing.assert_allclose(xsecup, sigma_pb, rtol=1e-7)
    total = tallies[0].merge(tallies[1]).merge(tallies[2])
    np.testing.assert_allclose(total.sigma_nb, xsecup * 1e-3, rtol=1e-12)
    # Pythia's sigma for tau pairs at 10.58 GeV (ISR off) is 0.82 nb (shared/reference)
    assert 0.7 < total.sigma_nb < 0.95
    # interaction points from the card's luminous region (sigma_z = 0.0154 cm)
    vz = mc["vz"][mc["status"] == 4]
    assert 0.005 < np.std(vz) < 0.03


def test_lhe_parse_matches_pylhe(lhe_lab: tuple[Path, float]) -> None:
    """fastsim's vectorised LHE parse gives pylhe's numbers, particle by particle."""
    import pylhe

    from fastsim.external.lhe import read_lhe_range

    path, _ = lhe_lab
    raw = read_lhe_range(path, 0, N_LHE)
    # (pylhe cannot read the empty <weights></weights> blocks Pythia writes: no attributes)
    ref = [p for ev in pylhe.LHEFile.fromfile(path, with_attributes=False).events for p in ev.particles]
    assert len(ref) == len(raw.fields["id"])
    for k in ("px", "py", "pz", "e", "m"):
        np.testing.assert_array_equal(raw.fields[k], [getattr(p, k) for p in ref])
    np.testing.assert_array_equal(raw.fields["id"], [p.id for p in ref])
    np.testing.assert_array_equal(raw.fields["lifetime"], [p.lifetime * 0.1 for p in ref])


def test_lhe_through_fastsim_run_with_decays(tmp_path: Path, lhe_cm: tuple[Path, float]) -> None:
    """A gzipped LHE sample runs like a native process: taus decayed by fastsim, displaced."""
    from fastsim.run import run

    path, sigma_pb = lhe_cm
    card = load_card(card_for(tmp_path, "lhe", path, chunk=128, decays=True))
    summary = run(card, output=tmp_path / "run.h5", progress=False)
    assert summary.n_events == N_LHE
    with open_events(tmp_path / "run.h5") as f:
        (proc,) = f.meta["processes"]
        np.testing.assert_allclose(proc["sigma_nb"], sigma_pb * 1e-3, rtol=1e-7)
        mc = f.read("mc")
    taus = np.abs(mc["id"]) == 15
    assert np.all(mc["status"][taus] == 2)  # decayed by fastsim's engine
    kids = mc["daughter1"][taus]
    assert np.all(kids >= 0)
    np.testing.assert_allclose(_sums(mc, 1), _sums(mc, 4), atol=2e-6)


# ------------------------------------------------------------------------- HepMC3


def test_hepmc_sample(tmp_path: Path, hepmc_file: tuple[Path, float]) -> None:
    """Counts, conservation, units (MeV/mm -> GeV/cm), displaced tau vertices kept,
    status codes and the cross section (last GenCrossSection)."""
    path, sigma_pb = hepmc_file
    gen = _generator(card_for(tmp_path, "hepmc", path, extra=", frame: keep, sqrt_s_tolerance: 0.01"))
    batch, tally = gen.read_events(0, N_HEPMC, np.random.default_rng(1))
    mc = batch["mc"]
    assert mc.n_events == N_HEPMC
    beams, final = _sums(mc, 4), _sums(mc, 1)
    np.testing.assert_allclose(beams[:, 3], 11.0, rtol=1e-12)  # 7 + 4 GeV, from MeV
    np.testing.assert_allclose(final, beams, atol=1e-9)
    # GenCrossSection is written with 9 significant digits by HepMC3's ASCII writer
    np.testing.assert_allclose(tally.sigma_nb, sigma_pb * 1e-3, rtol=1e-8)
    # tau decay vertices: the taus' daughters start at a displaced vertex whose distance is
    # c*t*beta*gamma; with frame 'keep' the positions are the file's, in cm
    taus = np.flatnonzero(np.abs(mc["id"]) == 15)
    decayed = taus[mc["status"][taus] == 2]
    assert len(decayed) >= N_HEPMC
    d1 = mc["daughter1"][decayed] + np.repeat(mc.offsets[:-1], mc.counts())[decayed]
    flight = np.sqrt(mc["vx"][d1] ** 2 + mc["vy"][d1] ** 2 + mc["vz"][d1] ** 2)
    p = np.sqrt(mc["px"][decayed] ** 2 + mc["py"][decayed] ** 2 + mc["pz"][decayed] ** 2)
    proper = flight * mc["m"][decayed] / p
    np.testing.assert_allclose(proper, mc["lifetime"][decayed], rtol=1e-6)
    # mean proper decay length = tau c*tau = 87.03 um (PDG) within the statistical error
    assert abs(proper.mean() - 0.008703) < 4 * 0.008703 / np.sqrt(len(proper))
    # undecayed pi0 left for fastsim's decay engine
    pi0 = mc["id"] == 111
    assert pi0.sum() > 0 and np.all(mc["status"][pi0] == 1)


def test_hepmc_boosted_to_card_lab(tmp_path: Path, hepmc_file: tuple[Path, float], belle2_beams) -> None:
    """Pythia's collinear 7 / 4 GeV frame -> SuperKEKB lab: sqrt(s) kept, card's boost."""
    path, _ = hepmc_file
    gen = _generator(card_for(tmp_path, "hepmc", path, extra=", sqrt_s_tolerance: 0.01"))
    mc = gen.read_events(0, 50, np.random.default_rng(2))[0]["mc"]
    beams = _sums(mc, 4)
    np.testing.assert_allclose(_mass(beams), np.sqrt(4 * 7.0 * 4.0), rtol=1e-6)
    np.testing.assert_allclose(
        beams[:, :3] / _mass(beams)[:, None],
        np.broadcast_to(belle2_beams.boost_betagamma, beams[:, :3].shape),
        atol=1e-6,
    )
    np.testing.assert_allclose(_sums(mc, 1), beams, atol=1e-9)


def test_roundtrip_fastsim_hepmc3_fastsim(tmp_path: Path) -> None:
    """fastsim HDF5 -> HepMC3 -> fastsim gives the same generator-level particles."""
    from fastsim.run import run
    from tests.conftest import SMALL_CARD

    card = load_card(write_card(tmp_path, SMALL_CARD.format(events=400, chunk=200)))
    run(card, output=tmp_path / "a.h5", progress=False)
    convert(tmp_path / "a.h5", tmp_path / "a.hepmc3", None)
    assert not (tmp_path / "a.hepmc3.part").exists()
    convert(tmp_path / "a.hepmc3", tmp_path / "b.h5", None)
    with open_events(tmp_path / "a.h5") as fa, open_events(tmp_path / "b.h5") as fb:
        a, b = fa.read("mc"), fb.read("mc")
        # the cross section travels as HepMC3's GenCrossSection: 9 significant digits
        np.testing.assert_allclose(
            fb.meta["processes"][0]["sigma_nb"], fa.meta["processes"][0]["sigma_nb"], rtol=1e-8
        )
    np.testing.assert_array_equal(a.offsets, b.offsets)
    for k in a.fields:
        if k == "vt":  # stored as c*t in cm: ns -> cm -> ns may move the last bit
            np.testing.assert_allclose(b[k], a[k], rtol=4e-16, atol=0)
        else:
            np.testing.assert_array_equal(b[k], a[k], err_msg=k)


def test_lheh5_export_read_by_pylhe_and_fastsim(tmp_path: Path, lhe_cm: tuple[Path, float]) -> None:
    """LHE -> fastsim -> LHEH5 (our writer) -> pylhe reads it; fastsim reads it back."""
    import pylhe

    path, sigma_pb = lhe_cm
    card = card_for(tmp_path, "lhe", path)
    convert(path, tmp_path / "c.h5", card)
    convert(tmp_path / "c.h5", tmp_path / "c.lheh5", None)
    lhef = pylhe.LHEFile.fromfile(tmp_path / "c.lheh5")
    assert lhef.init.initInfo.beamA == 11
    np.testing.assert_allclose(lhef.init.procInfo[0].xSection, sigma_pb, rtol=1e-7)
    events = list(lhef.events)
    assert len(events) == N_LHE
    with open_events(tmp_path / "c.h5") as f:
        mc = f.read("mc")
    np.testing.assert_array_equal([p.px for ev in events for p in ev.particles], mc["px"])
    convert(tmp_path / "c.lheh5", tmp_path / "d.h5", card)
    with open_events(tmp_path / "d.h5") as f:
        back = f.read("mc")
        np.testing.assert_allclose(f.meta["processes"][0]["sigma_nb"], sigma_pb * 1e-3, rtol=1e-7)
    # the file's frame is now the card's lab: no second boost
    for k in ("id", "status", "mother1", "px", "py", "pz", "e"):
        np.testing.assert_allclose(back[k], mc[k], rtol=1e-13, atol=1e-13, err_msg=k)


# ------------------------------------------------------------------------- bad input


def _assert_error(path: Path, *needles: str, card: Path | None = None) -> None:
    out = path.with_name(path.name + ".h5")
    with pytest.raises(FileFormatError) as err:
        convert(path, out, card)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    for needle in needles:
        assert needle in msg, msg
    assert not out.exists() and not out.with_name(out.name + ".part").exists()


def test_truncated_lhe(tmp_path: Path, lhe_lab: tuple[Path, float]) -> None:
    text = lhe_lab[0].read_bytes()
    cut = text.index(b"<event>", len(text) // 2) + 40
    bad = tmp_path / "cut.lhe"
    bad.write_bytes(text[:cut])
    _assert_error(bad, "truncated", "event", "line")
    badgz = tmp_path / "cut.lhe.gz"
    badgz.write_bytes(gzip.compress(text)[:-2000])
    _assert_error(badgz, "truncated")


def test_malformed_lhe_particle_line(tmp_path: Path, lhe_lab: tuple[Path, float]) -> None:
    lines = lhe_lab[0].read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("<event>")]
    j = starts[7] + 3  # a particle line of event 7
    lines[j] = lines[j].replace(" 0 0 ", " 0 x ", 1)
    bad = tmp_path / "bad.lhe"
    bad.write_text("".join(lines))
    _assert_error(bad, "event 7", f"line {j + 1}", "malformed")


def test_wrong_particle_count_and_status(tmp_path: Path, lhe_lab: tuple[Path, float]) -> None:
    lines = lhe_lab[0].read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("<event>")]
    bad_status = list(lines)
    j = starts[3] + 4
    parts = bad_status[j].split()
    parts[1] = "7"
    bad_status[j] = " ".join(parts) + "\n"
    p = tmp_path / "status.lhe"
    p.write_text("".join(bad_status))
    _assert_error(p, "event 3", "ISTUP = 7", f"line {j + 1}")


def test_unknown_pdg_id_rule(tmp_path: Path, lhe_lab: tuple[Path, float]) -> None:
    text = lhe_lab[0].read_text()
    starts = [i for i, line in enumerate(text.splitlines()) if line.startswith("<event>")]
    lines = text.splitlines(keepends=True)
    j = starts[5] + 5  # the tau line of event 5
    lines[j] = lines[j].replace("      15 ", " 9000001 ", 1).replace("     -15 ", " 9000001 ", 1)
    bad = tmp_path / "unknown.lhe"
    bad.write_text("".join(lines))
    assert "9000001" in lines[j]
    _assert_error(bad, "event 5", "unknown PDG id 9000001")
    # the documented alternative: kept as an invisible stable neutral
    gen = _generator(card_for(tmp_path, "lhe", bad, extra=", unknown_ids: invisible"))
    mc = gen.read_events(0, N_LHE, np.random.default_rng(0))[0]["mc"]
    assert np.sum(mc["id"] == 9000001) == 1
    assert gen.particles.charge(np.array([9000001]))[0] == 0.0
    assert np.isinf(gen.particles.ctau(np.array([9000001]))[0])


def test_sqrt_s_mismatch_refused(tmp_path: Path, hepmc_file: tuple[Path, float]) -> None:
    """Pythia's 7 x 4 GeV file (sqrt(s) = 10.583) against the card's 10.579 with a tight tolerance."""
    path, _ = hepmc_file
    with pytest.raises(FileFormatError, match=r"event 0: CM energy 10\.583.*sqrt_s_tolerance"):
        _generator(card_for(tmp_path, "hepmc", path, extra=", sqrt_s_tolerance: 0.00001")).read_events(
            0, 10, np.random.default_rng(0)
        )


def test_bad_hepmc(tmp_path: Path, hepmc_file: tuple[Path, float]) -> None:
    text = hepmc_file[0].read_text()
    lines = text.splitlines(keepends=True)
    # truncated: no footer
    cut = tmp_path / "cut.hepmc3"
    cut.write_text("".join(lines[: len(lines) // 2]))
    _assert_error(cut, "truncated", "END_EVENT_LISTING")
    # an event missing a particle line
    ev_lines = [i for i, line in enumerate(lines) if line.startswith("E ")]
    k = next(i for i in range(ev_lines[4], ev_lines[5]) if lines[i].startswith("P "))
    miss = tmp_path / "missing.hepmc3"
    miss.write_text("".join(lines[:k] + lines[k + 1 :]))
    _assert_error(miss, "event 4", f"line {ev_lines[4] + 1}")


def test_cm_time_units_in_hepmc(tmp_path: Path, hepmc_file: tuple[Path, float]) -> None:
    """vt (ns) = c*t (mm) / 10 / c(cm/ns): compare with the file's own numbers."""
    path, _ = hepmc_file
    with pyhepmc.open(path) as f:
        evt = f.read()
    d = pyhepmc.GenEventData()
    evt.write_data(d)
    t_mm = np.array(d.vertices["t"])
    gen = _generator(card_for(tmp_path, "hepmc", path, extra=", frame: keep, sqrt_s_tolerance: 0.01"))
    mc = gen.read_events(0, 1, np.random.default_rng(0))[0]["mc"]
    expected = np.unique(np.round(t_mm[t_mm != 0] * 0.1 / C_CM_PER_NS, 15))
    got = np.unique(np.round(mc["vt"][mc["vt"] != 0], 15))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_signal_keys_need_pdg_and_coupling(tmp_path: Path, lhe_lab: tuple[Path, float]) -> None:
    from fastsim.schema import CardError

    card = card_for(tmp_path, "lhe", lhe_lab[0], extra=", signal: {model: zprime, pdg: 15}")
    with pytest.raises(CardError) as err:
        load_card(card)
    msg = str(err.value)
    assert "processes.sample.signal.coupling" in msg and "required" in msg and "\n" not in msg
    # the model must be one of fastsim's (fastsim models)
    with pytest.raises(CardError, match=r"signal\.model: unknown model 'zprim' \(did you mean 'zprime'"):
        load_card(
            card_for(tmp_path, "lhe", lhe_lab[0], extra=", signal: {model: zprim, pdg: 15, coupling: 1.0}")
        )
    # complete keys: the mass defaults to the particle table's (tau, from `particle`)
    gen = _generator(
        card_for(tmp_path, "lhe", lhe_lab[0], extra=", signal: {model: zprime, pdg: 15, coupling: 1.0}")
    )
    d = gen.describe()
    assert d["signal_model"] == "zprime" and d["x_pdg"] == 15
    assert d["mass_gev"] == pytest.approx(1.77686, abs=2e-4)


# ------------------------------------------------ other writers, compression, widths, HepMC2


def test_compressed_hepmc3_reads_like_plain(tmp_path: Path, hepmc_file: tuple[Path, float]) -> None:
    import lzma

    path, _ = hepmc_file
    ref = _generator(card_for(tmp_path, "hepmc", path, extra=", frame: keep"))
    a = ref.read_events(0, N_HEPMC, np.random.default_rng(0))[0]["mc"]
    for suffix, opener in ((".gz", gzip.open), (".xz", lzma.open)):
        packed = tmp_path / (path.name + suffix)
        with path.open("rb") as src, opener(packed, "wb") as dst:
            shutil.copyfileobj(src, dst)
        gen = _generator(card_for(tmp_path, "hepmc", packed, extra=", frame: keep"))
        assert gen.samples[0].n_events == N_HEPMC
        b = gen.read_events(0, N_HEPMC, np.random.default_rng(0))[0]["mc"]
        for k in a.fields:
            np.testing.assert_array_equal(b[k], a[k], err_msg=f"{suffix} {k}")


def test_lheh5_written_by_pylhe(tmp_path: Path, lhe_lab: tuple[Path, float]) -> None:
    """pylhe converts Pythia's LHE file to LHEH5; fastsim reads it like the LHE file."""
    import pylhe

    path, sigma_pb = lhe_lab
    lhef = pylhe.LHEFile.fromfile(path, with_attributes=False)  # Pythia's empty <weights/>
    lhef.events = list(lhef.events)
    h5 = tmp_path / "tautau.lheh5"
    lhef.tofile(h5)
    a_gen = _generator(card_for(tmp_path, "lhe", path))
    b_gen = _generator(card_for(tmp_path, "lheh5", h5))
    a, ta = a_gen.read_events(0, N_LHE, np.random.default_rng(4))
    b, tb = b_gen.read_events(0, N_LHE, np.random.default_rng(4))
    assert tb.sigma_nb == pytest.approx(ta.sigma_nb, rel=1e-12)
    assert tb.sigma_nb == pytest.approx(sigma_pb * 1e-3, rel=1e-6)
    for k in ("id", "status", "mother1", "mother2", "px", "py", "pz", "e", "m"):
        np.testing.assert_allclose(b["mc"][k], a["mc"][k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_slha_width_sets_lifetime_of_card_particle(tmp_path: Path, lhe_lab: tuple[Path, float]) -> None:
    """A card particle without ctau/width takes the width of the file's SLHA DECAY line."""
    from fastsim.setup import build_particle_table

    text = lhe_lab[0].read_text()
    i = text.index("</header>")  # MadGraph puts its param_card in the header's <slha> block
    width = 3.0e-16  # GeV
    bad = tmp_path / "with_slha.lhe"
    bad.write_text(text[:i] + f"<slha>\nDECAY  9000005  {width:.6e}\n</slha>\n" + text[i:])
    body = CARD.format(gen="lhe", file=str(bad), extra="", chunk=128, decays="false")
    card = load_card(
        write_card(tmp_path, body + "particles: {9000005: {name: phi, mass: 1.0}}\n", "slha.yaml")
    )
    table = build_particle_table(card)
    (params,) = card["processes"].values()
    assert np.isinf(table.ctau(np.array([9000005]))[0])
    GENERATORS["lhe"](params, build_beams(card), table)
    hbar_c_cm = 1.973269804e-14  # GeV cm (PDG)
    assert table.ctau(np.array([9000005]))[0] == pytest.approx(hbar_c_cm / width, rel=1e-9)


def test_hepmc2_weights_and_units(tmp_path: Path) -> None:
    """HepMC2 (IO_GenEvent, written by pyhepmc's HepMC2 writer) in MeV: per-event weights
    from the E line, momenta converted to GeV."""
    from pyhepmc.io import WriterAsciiHepMC2

    path = tmp_path / "h2.hepmc"
    w_in = [2.5, 3.5, 4.5, 1.5]
    writer = WriterAsciiHepMC2(str(path))
    for i, w in enumerate(w_in):
        g = pyhepmc.GenEvent(pyhepmc.Units.MEV, pyhepmc.Units.MM)
        g.from_hepevt(
            i, np.array([0.0, 0.0, 1e3]), np.array([0.0, 0.0, 1e3]), np.array([7e3, -4e3, 3e3]),
            np.array([7e3, 4e3, np.sqrt(11e6)]), np.array([0.511, 0.511, 1e3]),
            np.array([11, -11, 22], np.int32), np.array([4, 4, 1], np.int32),
            parents=np.array([[0, 0], [0, 0], [1, 2]]),
        )  # fmt: skip
        g.weights = [w, 7.0]
        writer.write_event(g)
    writer.close()
    gen = _generator(card_for(tmp_path, "hepmc", path, extra=", frame: keep, cross_section_pb: 2.0"))
    batch, tally = gen.read_events(0, len(w_in), np.random.default_rng(0))
    np.testing.assert_allclose(batch.events["weight"], np.array(w_in) / np.mean(w_in), rtol=1e-15)
    assert tally.sigma_nb == pytest.approx(2.0e-3, rel=1e-12)
    mc = batch["mc"]
    np.testing.assert_allclose(mc["pz"][mc["id"] == 22], 3.0, rtol=1e-15)
