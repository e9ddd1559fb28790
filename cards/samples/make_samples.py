"""Make the small external samples the example cards read (`cards/external_lhe.yaml`,
`cards/external_hepmc.yaml`), with Pythia 8 at each card's CM energy.

    python cards/samples/make_samples.py        # writes cards/samples/signal.{lhe,hepmc3}.gz

- ``signal.lhe.gz``: e+e- -> gamma* -> mu+ mu- at SuperKEKB's sqrt(s), symmetric beams, the
  hard process only (a Les Houches event file written from Pythia's process record).
- ``signal.hepmc3.gz``: e+e- -> gamma* -> tau+ tau- at KEKB's sqrt(s) with Pythia's tau
  decays and its K0S / Lambda decays at displaced vertices (HepMC3 ASCII through pyhepmc).

Units: GeV, mm in the files (the readers convert to GeV, cm, ns).  Seeds are fixed: the
output is the same on every run.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_EVENTS = 300


def _sqrt_s(run_card: str) -> float:
    """sqrt(s) (GeV) of the beams of a shipped run card (its beam preset)."""
    from fastsim.beams import BeamSetup
    from fastsim.cards import load_card

    card = load_card(HERE.parent / run_card)
    return float(BeamSetup.from_card(card["beam"]).sqrt_s)


def _pythia(sqrt_s: float, lepton: int, full: bool, seed: int):
    import pythia8mc

    py = pythia8mc.Pythia("", False)
    for s in (
        "Beams:idA = 11",
        "Beams:idB = -11",
        f"Beams:eCM = {sqrt_s:.6f}",
        "PDF:lepton = off",
        "WeakSingleBoson:ffbar2gmZ = on",
        "WeakZ0:gmZmode = 1",  # photon exchange only (the Z is ~1e-3 at 10.6 GeV)
        "23:onMode = off",
        f"23:onIfAny = {lepton}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Print:quiet = on",
        "Next:numberCount = 0",
    ):
        assert py.readString(s), s
    if not full:
        for s in ("PartonLevel:all = off", "HadronLevel:all = off"):
            py.readString(s)
    else:  # K0S, Lambda decayed by Pythia at their displaced vertices (c tau > 1 mm not limited)
        for s in ("PartonLevel:ISR = off", "ParticleDecays:limitTau0 = off"):
            py.readString(s)
    assert py.init()
    return py


def make_lhe(path: Path) -> None:
    """Les Houches event file (Alwall et al., hep-ph/0609017) from Pythia's hard-process
    record: beams e- (+z) and e+ (-z), unit weights (IDWTUP = 3), the cross section in pb."""
    py = _pythia(_sqrt_s("belle2_run1.yaml"), 13, full=False, seed=11)
    events = []
    while len(events) < N_EVENTS:
        if not py.next():
            continue
        proc = py.process
        rows = [proc[i] for i in range(3, proc.size())]  # incoming e-, e+ and what follows
        lines = [f"{len(rows)} 1 1.0 {py.infoPython().QFac():.6e} 7.297353e-03 1.180000e-01"]
        for x in rows:
            status = -1 if x.status() == -21 else (2 if x.status() < 0 else 1)
            m1, m2 = (max(x.mother1() - 2, 0), max(x.mother2() - 2, 0))
            lines.append(
                f"{x.id()} {status} {m1} {m2} 0 0 {x.px():.10e} {x.py():.10e} {x.pz():.10e} "
                f"{x.e():.10e} {x.m():.10e} 0 9"
            )
        events.append("<event>\n" + "\n".join(lines) + "\n</event>")
    e_beam = 0.5 * py.infoPython().eCM()
    sigma_pb = py.infoPython().sigmaGen() * 1e9
    err_pb = py.infoPython().sigmaErr() * 1e9
    text = "\n".join(
        [
            '<LesHouchesEvents version="3.0">',
            "<header>made by cards/samples/make_samples.py with Pythia 8</header>",
            "<init>",
            f"11 -11 {e_beam:.6e} {e_beam:.6e} 0 0 0 0 3 1",
            f"{sigma_pb:.6e} {err_pb:.6e} 1.0 1",
            "</init>",
            *events,
            "</LesHouchesEvents>",
            "",
        ]
    )
    with gzip.GzipFile(path, "wb", mtime=0) as out:
        out.write(text.encode())


def make_hepmc(path: Path) -> None:
    import pyhepmc

    py = _pythia(_sqrt_s("belle.yaml"), 15, full=True, seed=13)
    plain = path.with_suffix("")
    with pyhepmc.open(str(plain), "w") as out:
        n = 0
        while n < N_EVENTS:
            if not py.next():
                continue
            ev = py.event
            rows = range(1, ev.size())  # row 0 is Pythia's "system" line
            p = [ev[i] for i in rows]
            # HEPEVT convention: 1-based, 0 = none; Pythia's rows shifted by the system line
            parents = np.array([[x.mother1(), x.mother2()] for x in p], np.int32)
            children = np.array([[x.daughter1(), x.daughter2()] for x in p], np.int32)
            parents[:, 1] = np.where(parents[:, 1] == 0, parents[:, 0], parents[:, 1])
            children[:, 1] = np.where(children[:, 1] == 0, children[:, 0], children[:, 1])
            genev = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
            genev.from_hepevt(
                event_number=n,
                px=np.array([x.px() for x in p]),
                py=np.array([x.py() for x in p]),
                pz=np.array([x.pz() for x in p]),
                en=np.array([x.e() for x in p]),
                m=np.array([x.m() for x in p]),
                pid=np.array([x.id() for x in p], np.int32),
                status=np.array([x.statusHepMC() for x in p], np.int32),  # 4 beam, 1 final, 2 decayed
                parents=parents,
                children=children,
                vx=np.array([x.xProd() for x in p]),
                vy=np.array([x.yProd() for x in p]),
                vz=np.array([x.zProd() for x in p]),
                vt=np.array([x.tProd() for x in p]),
            )
            genev.cross_section = pyhepmc.GenCrossSection()
            genev.cross_section.set_cross_section(
                py.infoPython().sigmaGen() * 1e9, py.infoPython().sigmaErr() * 1e9
            )
            out.write(genev)
            n += 1
    _gzip(plain, path)


def _gzip(plain: Path, path: Path) -> None:
    with plain.open("rb") as src, gzip.GzipFile(path, "wb", mtime=0) as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()


if __name__ == "__main__":
    make_lhe(HERE / "signal.lhe.gz")
    make_hepmc(HERE / "signal.hepmc3.gz")
    print(f"wrote {HERE / 'signal.lhe.gz'} and {HERE / 'signal.hepmc3.gz'}", file=sys.stderr)
