"""Run cards: YAML loading with includes and overrides, validation, the resolved card.

A run card is YAML (read with a safe loader that also refuses duplicate keys).  Its
``include:`` list names other cards (a detector card, a beam preset) relative to the
including file, or by name among the cards shipped with fastsim.  Included cards are
merged first, in order; the including card then overrides any value.  The merged
mapping is validated against :data:`CARD_SCHEMA` before any work starts; errors name
the file that set the offending value, the key path and the reason.

Units: GeV, cm, ns.
"""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path
from typing import Any

import yaml

from fastsim.schema import REQUIRED, CardError, Field, ListOf, MapOf, Section

__all__ = ["CARD_SCHEMA", "Card", "builtin_cards_dir", "dump_card", "load_card", "validate_card"]

# --------------------------------------------------------------------------- YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CardError(f"cannot read card: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise CardError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CardError(f"{where}malformed YAML: {problem}", file=str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CardError("a card must be a mapping of keys at the top level", file=str(path))
    return data


def builtin_cards_dir() -> Path:
    """The cards shipped with fastsim (``cards/`` in a checkout, ``fastsim/_cards`` installed)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_cards", here.parent / "cards"):
        if candidate.is_dir():
            return candidate
    return here.parent / "cards"


def _resolve_include(name: str, base: Path) -> Path:
    for candidate in (base / name, builtin_cards_dir() / name):
        try:
            if candidate.is_file():
                return candidate
        except (OSError, ValueError):  # a name the file system cannot take (too long, NUL byte)
            continue
    raise FileNotFoundError(name)


# --------------------------------------------------------------------------- merge


def _nearest(origins: dict[tuple, str], path: tuple, default: str) -> str:
    for n in range(len(path), -1, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return default


def _merge_tracked(
    dst: dict[str, Any],
    src: dict[str, Any],
    origins: dict[tuple, str],
    src_origins: dict[tuple, str],
    src_file: str,
    prefix: tuple = (),
) -> None:
    """Deep-merge ``src`` into ``dst``; record in ``origins`` which file set each key path.

    ``src_origins`` says where ``src``'s own values came from (its includes), with
    ``src_file`` as the fallback.
    """
    for key, value in src.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge_tracked(dst[key], value, origins, src_origins, src_file, path)
            continue
        dst[key] = copy.deepcopy(value)
        for p in [p for p in origins if p[: len(path)] == path]:
            del origins[p]
        origins[path] = _nearest(src_origins, path, src_file)
        for p, f in src_origins.items():
            if len(p) > len(path) and p[: len(path)] == path:
                origins[p] = f


def _is_include_axis(entry: Any) -> bool:
    return isinstance(entry, dict) and set(entry) == {"values"}


def _include_list(data: dict[str, Any], path: Path, top: bool) -> list[Any]:
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    ok = isinstance(includes, list) and all(
        isinstance(i, str)
        or (
            _is_include_axis(i)
            and isinstance(i["values"], list)
            and i["values"]
            and all(isinstance(v, str) for v in i["values"])
        )
        for i in includes
    )
    if not ok:
        raise CardError(
            "include must be a file name or a list of file names (a grid card may give one entry "
            "as {values: [file, ...]})",
            ("include",),
            str(path),
        )
    if not top and any(_is_include_axis(i) for i in includes):
        msg = "a grid axis over included cards is allowed only in the run card itself"
        raise CardError(msg, ("include",), str(path))
    return includes


def include_axes(path: str | Path) -> list[tuple[int, list[str]]]:
    """The grid axes over included cards of a run card: ``include: [a.yaml, {values: [b.yaml,
    c.yaml]}]`` runs the grid once with b.yaml and once with c.yaml in that place (one data set
    of a search per value: its beams and luminosity).  Returns (position in the list, file names)."""
    p = Path(path).resolve()
    includes = _include_list(_read_yaml(p), p, top=True)
    return [(i, list(e["values"])) for i, e in enumerate(includes) if _is_include_axis(e)]


def _load_merged(
    path: Path, stack: tuple[Path, ...] = (), include_choice: dict[int, str] | None = None
) -> tuple[dict[str, Any], dict[tuple, str]]:
    """The merged content of a card and its includes, with the file behind each key;
    ``include_choice``: for a grid axis over included cards (:func:`include_axes`), the file
    taken at each axis position."""
    path = path.resolve()
    if path in stack:
        chain = " -> ".join(p.name for p in (*stack, path))
        raise CardError(f"include cycle: {chain}", ("include",), str(stack[-1]))
    data = _read_yaml(path)
    includes = _include_list(data, path, top=not stack)
    merged: dict[str, Any] = {}
    origins: dict[tuple, str] = {}
    for i, entry in enumerate(includes):
        if _is_include_axis(entry):
            if include_choice is None or i not in include_choice:
                raise CardError(
                    f"is a grid axis over included cards ({len(entry['values'])} files): run it with "
                    "`fastsim grid`",
                    ("include", i),
                    str(path),
                )
            name = include_choice[i]
        else:
            name = entry
        try:
            inc = _resolve_include(name, path.parent)
        except FileNotFoundError:
            raise CardError(
                f"included card {name!r} not found (looked beside the card and in {builtin_cards_dir()})",
                ("include", i),
                str(path),
            ) from None
        sub, sub_origins = _load_merged(inc, (*stack, path))
        _merge_tracked(merged, sub, origins, sub_origins, str(inc))
    _merge_tracked(merged, data, origins, {}, str(path))
    return merged, origins


# --------------------------------------------------------------------------- schema


def _beam_spec(doc: str) -> Section:
    return Section(
        {
            "energy": Field(float, doc="nominal beam energy", unit="GeV", min=0.0, min_exclusive=True),
            "energy_spread": Field(float, 0.0, "Gaussian sigma of the beam energy", unit="GeV", min=0.0),
            "angle_x": Field(
                float,
                0.0,
                "direction of the beam: rotation about y away from +z (e-) or from -z (e+), as basf2",
                unit="rad",
                min=-0.5,
                max=0.5,
            ),
        },
        doc=doc,
    )


BEAM_SCHEMA = Section(
    {
        "name": Field(str, doc="preset name"),
        "source": Field(str, "", "where the numbers come from"),
        "her": _beam_spec("high-energy ring (electrons, moving along +z)"),
        "ler": _beam_spec("low-energy ring (positrons, moving along -z)"),
        "spread": Field(bool, True, "sample the beam-energy spread event by event"),
        "luminous_region": Section(
            {
                "x0": Field(float, 0.0, unit="cm"),
                "y0": Field(float, 0.0, unit="cm"),
                "z0": Field(float, 0.0, unit="cm"),
                "sigma_x": Field(float, 0.0, unit="cm", min=0.0),
                "sigma_y": Field(float, 0.0, unit="cm", min=0.0),
                "sigma_z": Field(float, 0.0, unit="cm", min=0.0),
                "corr_xz": Field(float, 0.0, "x-z correlation coefficient", min=-1.0, max=1.0),
                "sigma_t": Field(float, 0.0, unit="ns", min=0.0),
            },
            optional=True,
        ),
    }
)


def _check_run(entry: dict[str, Any], path: tuple, origin: Any) -> None:
    if entry["skim"] and not entry["selection"]:
        p = (*path, "skim")
        raise CardError("a skim needs run.selection (the events it keeps)", p, origin(p))
    for i, name in enumerate(entry["drop"]):
        p = (*path, "drop", i)
        parts = name.split(".")
        if len(parts) > 2 or not all(part.isidentifier() for part in parts):
            raise CardError(f"{name!r} is not COLLECTION or COLLECTION.FIELD", p, origin(p))
        if name in ("events", "events.weight", "events.process_id") or parts[-1] == "offsets":
            raise CardError(f"{name!r} cannot be dropped: every reader needs it", p, origin(p))


def _check_particle(entry: dict[str, Any], path: tuple, origin: Any) -> None:
    if entry["ctau"] is not None and entry["width"] is not None:
        raise CardError("give either ctau or width, not both", path, origin(path))


def _decay_model_problem(value: str) -> str | None:
    from fastsim.decay_models import SUPPORTED

    if value != "PHSP" and value not in SUPPORTED:
        return f"unknown decay model {value!r} (PHSP or one of {sorted(SUPPORTED)})"
    return None


def _model_entry_problem(value: dict[str, Any]) -> str | None:
    from fastsim.models import MODELS

    name = value.get("name")
    if name not in MODELS:
        return f"model name {name!r} is not one of {sorted(MODELS)}"
    if not isinstance(value.get("coupling"), (int, float)) or not isinstance(value.get("mass"), (int, float)):
        return "a model entry needs numeric mass and coupling"
    return None


PARTICLE_SCHEMA = Section(
    {
        "name": Field(str, doc="particle name"),
        "mass": Field(float, unit="GeV", min=0.0),
        "ctau": Field(
            float, None, "proper decay length (inf or omitted: stable)", unit="cm", min=0.0, nullable=True
        ),
        "width": Field(float, None, "total width", unit="GeV", min=0.0, nullable=True),
        "charge": Field(float, 0.0, unit="e"),
        "ctau_mixture": ListOf(
            Field(float, min=0.0, min_exclusive=True, unit="cm"),
            [],
            "draw c*t from an equal-weight mixture of exponentials with these c*tau (lifetime reweighting)",
        ),
        "forced_decays": Field(
            bool,
            False,
            "the decays listed are some of the model's, forced for statistics: the analysis counts "
            "the process's rate times the model's branching fraction of them",
        ),
        "drop_closed_modes": Field(
            bool,
            False,
            "drop decay modes below their threshold at this mass (the others renormalised), e.g. "
            "one list of final states over a mass axis; false: such a mode is an error",
        ),
        "model": Field(
            dict,
            None,
            "the model point this particle belongs to, {name: <model>, mass: .., coupling: ..} "
            "(written by the card's models: section; generators read their signal rate from it)",
            nullable=True,
            check=_model_entry_problem,
        ),
        "decays": ListOf(
            Section(
                {
                    "br": Field(float, doc="branching fraction", min=0.0, max=1.0),
                    "daughters": ListOf(Field(int), min_len=2, doc="PDG ids"),
                    "model": Field(
                        str,
                        "PHSP",
                        "matrix element of the decay (PHSP: phase space; the EvtGen-style models of "
                        "fastsim.decay_models, e.g. HNL_NU_LL)",
                        check=_decay_model_problem,
                    ),
                }
            ),
            default=[],
        ),
    },
    extra_check=_check_particle,
)


def _process_spec(name: str, value: Any, path: tuple, origin: Any) -> Section:
    from fastsim.generators import GENERATORS, process_schema

    gen = value.get("generator", name) if isinstance(value, dict) else name
    if gen not in GENERATORS:
        import difflib

        hint = difflib.get_close_matches(str(gen), list(GENERATORS), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(sorted(GENERATORS))})"
        key = (*path, "generator") if isinstance(value, dict) and "generator" in value else path
        raise CardError(f"unknown generator {gen!r}{extra}", key, origin(key))
    return process_schema(gen)


def _model_spec(name: str, value: Any, path: tuple, origin: Any) -> Section:
    from fastsim.models import get_model
    from fastsim.registry import UnknownPlugin

    try:
        cls = get_model(name)
    except UnknownPlugin as exc:
        raise CardError(str(exc), path, origin(path)) from None
    return Section(dict(cls.parameters), doc=cls.title)


def _expand_models(raw: dict[str, Any], origin: Any) -> None:
    """Each ``models.<name>`` point adds its new particle to ``particles`` (mass, c*tau and decay
    table from the model); keys the card sets under ``particles.<pdg>`` win (e.g. a c*tau axis)."""
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        return
    from fastsim.models import get_model

    particles = raw.setdefault("particles", {})
    if not isinstance(particles, dict):
        return
    for name, params in models.items():
        path = ("models", name)
        spec = _model_spec(name, params, path, origin)
        point = get_model(name)(spec.validate(params, path, origin))
        for key, reason in point.check():
            raise CardError(reason, (*path, key), origin(path))
        pdg = point.particle.pdg
        own = particles.get(pdg) or {}
        if not isinstance(own, dict):
            continue
        entry: dict[str, Any] = {
            "name": point.particle.name,
            "mass": point.mass,
            "charge": point.particle.charge,
            "decays": [
                {"br": br, "daughters": list(ids), "model": point.decay_model(ids)}
                for br, ids in point.decay_table()
            ],
            "model": {"name": name, **point.params},
        }
        if "ctau" not in own and "width" not in own:
            entry["ctau"] = point.ctau_cm
        particles[pdg] = {**entry, **own}
        # further stable states of the model's decays (e.g. a dark-matter fermion and its
        # antiparticle), unless the card sets them itself
        for extra_pdg, extra in point.extra_particles().items():
            particles.setdefault(extra_pdg, {**extra, "decays": []})


def _trigger_spec() -> Section:
    from fastsim.trigger.card import TRIGGER_SCHEMA

    return TRIGGER_SCHEMA


def _reco_spec() -> Section:
    from fastsim.reco.card import RECO_SCHEMA

    return RECO_SCHEMA


def _detector_spec() -> Section:
    from fastsim.detector.card import DETECTOR_SCHEMA

    return DETECTOR_SCHEMA


class _Lazy:
    """Defer building a sub-schema until validation (avoids import cycles)."""

    def __init__(self, build: Any, optional: bool = False) -> None:
        self.build = build
        self.optional = optional

    def validate(self, value: Any, path: tuple, origin: Any) -> Any:
        return self.build().validate(value, path, origin)

    def default_value(self) -> Any:
        return self.build().default_value() if self.optional else REQUIRED


CARD_SCHEMA = Section(
    {
        "run": Section(
            {
                "seed": Field(int, doc="master seed: every random stream derives from it", min=0),
                "events": Field(int, doc="events to generate per process", min=1),
                "chunk_size": Field(int, 100_000, "events per chunk (part of the result)", min=1),
                "output": Field(str, "fastsim.h5", "output HDF5 file (relative to the working directory)"),
                "workers": Field(int, 1, "worker processes", min=1, max=1024),
                "compression": Field(
                    str,
                    "lzf",
                    "HDF5 compression (lzf: on the datasets where it saves >= 20 %; gzip: level 4 + shuffle, all)",
                    choices=("lzf", "gzip", "none"),
                ),
                "selection": Field(
                    str,
                    None,
                    "module:function(batch) -> per-event bool mask, stored as /events/selected and "
                    "summarised per process (e.g. analysis.zprime_4mu:grid_selection)",
                    nullable=True,
                ),
                "skim": Field(
                    bool,
                    False,
                    "write only the events run.selection accepts (a background skim: /meta keeps the "
                    "generated counts and weight sums that normalise it; not for signal samples)",
                ),
                "float32": Field(
                    bool,
                    True,
                    "store the measured quantities as float32 (fastsim.io.FLOAT32_FIELDS, reasons per "
                    "field in docs/file_format.md; read back as float64); false keeps every float64",
                ),
                "drop": ListOf(
                    Field(str),
                    [],
                    "collections (klm) or fields (mc.vt, events.reco_thrust) left out of the file; "
                    "a search that needs one of them cannot read the file",
                ),
            },
            extra_check=_check_run,
        ),
        "dataset": Section(
            {
                "name": Field(str, doc="data set the run stands for"),
                "luminosity_fb": Field(float, doc="integrated luminosity", unit="fb^-1", min=0.0),
                "source": Field(str, "", "where the luminosity comes from"),
            }
        ),
        "beam": BEAM_SCHEMA,
        "detector": _Lazy(_detector_spec),
        "trigger": _Lazy(_trigger_spec, optional=True),
        "reco": _Lazy(_reco_spec, optional=True),
        "processes": MapOf(value_for=_process_spec, default=REQUIRED),
        "particles": MapOf(PARTICLE_SCHEMA, key_type=int, doc="new or overridden particles by PDG id"),
        "models": MapOf(
            value_for=_model_spec,
            doc="model points (fastsim models): each adds its particle, with the model's mass, c*tau and "
            "decay table, to particles (whose own keys win)",
        ),
        "grid": Section(
            {
                "output_dir": Field(str, "grid", "directory of the grid's files (fastsim grid)"),
                "selection": Field(
                    str, "fastsim.selections:two_tracks", "module:function(batch) -> per-event bool mask"
                ),
            },
            optional=True,
        ),
        "decays": Section(
            {
                "enabled": Field(bool, True, "decay unstable generated particles"),
                "dec_file": Field(str, "DECAY_BELLE2.DEC", "EvtGen decay file (decaylanguage's by default)"),
                "stable": ListOf(Field(int), [], "extra PDG ids left undecayed"),
            },
            optional=True,
        ),
    }
)


# --------------------------------------------------------------------------- public API


class Card(dict):
    """A validated, fully resolved card (a dict) plus where it came from."""

    path: str
    origins: dict[tuple, str]

    def text(self) -> str:
        return dump_card(self)

    def digest(self) -> str:
        return hashlib.sha256(self.text().encode()).hexdigest()[:16]


def dump_card(data: dict[str, Any]) -> str:
    """YAML text of a resolved card (stable key order, reloadable)."""

    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [plain(v) for v in x]
        if isinstance(x, float) and math.isinf(x):
            return ".inf"
        return x

    return yaml.safe_dump(plain(dict(data)), sort_keys=False, default_flow_style=None, width=100)


def validate_card(raw: dict[str, Any], origins: dict[tuple, str] | None = None, path: str = "<card>") -> Card:
    """Validate a merged raw card and run the physics checks (thresholds, lifetimes)."""
    origins = origins or {}

    def origin(p: tuple) -> str | None:
        return _nearest(origins, p, path)

    raw = copy.deepcopy(raw)
    _expand_models(raw, origin)
    data = CARD_SCHEMA.validate(raw, (), origin)
    from fastsim.physics_checks import check_card_physics

    check_card_physics(data, origin)
    card = Card(data)
    card.path = path
    card.origins = origins
    return card


def load_card(path: str | Path, overrides: dict[str, Any] | None = None) -> Card:
    """Load, merge (includes, then the card, then ``overrides``) and validate a card."""
    p = Path(path)
    if not p.is_file():
        raise CardError("no such card file", file=str(p))
    raw, origins = _load_merged(p)
    if overrides:
        _merge_tracked(raw, overrides, origins, {}, "command line")
    from fastsim.grid_axes import find_axes

    axes = find_axes(raw, origins)
    if axes:
        path = axes[0][0]
        raise CardError(
            f"is a grid axis ({len(axes)} in this card): run it with `fastsim grid`",
            path,
            _nearest(origins, path, str(p)),
        )
    return validate_card(raw, origins, str(p))
