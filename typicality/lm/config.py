"""A study is a TOML file: the models, the prompts, the sampling schemes and the analysis (no torch here).

.. code-block:: toml

    [models]
    aligned = "path/to/folder | hub id | path/to/file.gguf"
    prior = "..."
    reward = "score-model folder or hub id | module:function | path/to/file.py:function"
    # secret_reward_beta = 1.0          # DPO (App. F): reward = β·(log p_aligned(y|x) − log p_prior(y|x)), Eq. 4
    device = "auto"                     # cpu | cuda | cuda:N | mps | auto
    dtype = "auto"                      # auto | float32 | float64 | bfloat16 | float16

    [prompts]
    file = "prompts.txt"                # one prompt per line, or .jsonl with a "prompt" field
    template = "Human: {prompt} Assistant:"
    limit = 1000

    [sampling]
    samples_per_prompt = 2
    max_new_tokens = 256
    seed = 42

    [[schemes]]
    adaptor = "top_k"                   # a name of typicality.adaptors.make, a list of names, or "ancestral"
    params = { k = 30 }                 # a table, or a list of tables for a list of names
    temperatures = [0.5, 1.0]           # or temperature = 0.5

Every key, its type and its default are in :data:`SCHEMA`; an unknown section or key is an error that names it.
Relative paths are resolved against the config file's folder (``--set`` values against the working directory).
Presets (:func:`presets`) are TOML files shipped in ``typicality/lm/presets``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from typicality.adaptors import ADAPTORS, ORDERS, Adaptor, Compose, Temperature, make
from typicality.jsonio import read_text

#: the name of "no adaptor" (pure sampling from the model, at the scheme's temperature)
ANCESTRAL = "ancestral"
#: transformers' default top-k (GenerationConfig.top_k = 50), applied by the official code to every scheme that
#: does not set top_k itself (docs/theory.md#r4); sampled as extra schemes when [ablations] hf_default_top_k = true
HF_DEFAULT_TOP_K = 50
HF_TOP_K_SUFFIX = "+hf_top_k50"

_ANY = object()

#: section -> key -> (type check, default); a default of _REQUIRED must be given
_REQUIRED = object()
SCHEMA: dict[str, dict[str, tuple[Any, Any]]] = {
    "models": {
        "aligned": ("str", _REQUIRED),
        "prior": ("str", _REQUIRED),
        "reward": ("str?", None),
        "secret_reward_beta": ("pos_float?", None),
        "device": ("str", "auto"),
        "dtype": ("str", "auto"),
        "trust_remote_code": ("bool", False),
        "reward_max_length": ("pos_int?", None),
        "reward_kind": ("str", "auto"),
    },
    "prompts": {
        "file": ("str?", None),
        "dataset": ("str?", None),
        "split": ("str", "test"),
        "extract": ("str", "hh_first_human_turn"),
        "template": ("str", "{prompt}"),
        "limit": ("pos_int?", None),
        "max_chars": ("pos_int?", None),
        "shuffle_seed": ("seed32?", None),
    },
    "sampling": {
        "samples_per_prompt": ("pos_int", 2),
        "max_new_tokens": ("pos_int", 256),
        "seed": ("nonneg_int", 42),
        "order": ("str", "hf"),
        "adaptor_dtype": ("str", "float64"),
        "batch_size": ("pos_int", 16),
        "prompts_per_unit": ("pos_int", 64),
        "backend": ("str", "transformers"),
        "token_scores": ("bool", False),
    },
    "scoring": {
        "batch_size": ("pos_int", 16),
        "reward_batch_size": ("pos_int", 8),
    },
    "analysis": {
        "seed": ("nonneg_int", 0),
        "include_capped": ("bool", False),
        "corpus_blocks": ("pos_int", 20),
        "bootstrap_corpora": ("nonneg_int", 0),
        "bootstrap_corpus_size": ("pos_int?", None),
        "cramers_v_lag": ("pos_int", 1),
        "paper_chain_length": ("pos_int", 200_000),
        "ablations": ("str_list?", None),
    },
    "ablations": {
        "hf_default_top_k": ("bool", False),
    },
}
SCHEME_KEYS = {"name", "adaptor", "params", "temperature", "temperatures"}
BACKENDS = ("transformers", "vllm")
ADAPTOR_DTYPES = ("float64", "float32")
PROMPT_EXTRACTORS = ("hh_first_human_turn", "prompt", "text")
#: how a reward model is read: "auto" (a sequence-classification model with one label) or "safe-rlhf-score"
#: (PKU safe-rlhf's LlamaForScore, the paper's ethz-spylab/reward_model: the score at the last token)
REWARD_KINDS = ("auto", "safe-rlhf-score", "vader")


def _type_error(where: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{where} must be {expected}, got {value!r}")


def _check(where: str, kind: str, value: Any) -> Any:
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    if value is None:
        if optional:
            return None
        raise _type_error(where, base.replace("_", " "), value)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if base == "str":
        if not isinstance(value, str) or not value:
            raise _type_error(where, "a non-empty string", value)
        return value
    if base == "bool":
        if not isinstance(value, bool):
            raise _type_error(where, "true or false", value)
        return value
    if base == "int":
        if not is_int:
            raise _type_error(where, "an integer", value)
        return value
    if base == "pos_int":
        if not is_int or value < 1:
            raise _type_error(where, "an integer >= 1", value)
        return value
    if base == "nonneg_int":
        if not is_int or value < 0:
            raise _type_error(where, "an integer >= 0", value)
        return value
    if base == "seed32":  # seeds a legacy numpy RandomState, which takes 0 ≤ seed < 2**32
        if not is_int or not 0 <= value < 2**32:
            raise _type_error(where, "an integer from 0 to 2**32 - 1", value)
        return value
    if base == "pos_float":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise _type_error(where, "a finite number > 0", value)
        return float(value)
    if base == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _type_error(where, "a list of strings", value)
        return tuple(value)
    raise AssertionError(kind)  # pragma: no cover


def _fmt_number(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Scheme:
    """One sampling scheme: adaptor components (empty = ancestral) at a temperature, composed in ``order``.

    ``base`` names the scheme that an ablation variant (transformers' default top-k) was derived from.
    """

    name: str
    components: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]
    temperature: float
    order: str = "hf"
    base: str | None = None

    @property
    def adaptor_name(self) -> str | list[str]:
        if not self.components:
            return ANCESTRAL
        names = [c[0] for c in self.components]
        return names[0] if len(names) == 1 else names

    @property
    def params(self) -> dict[str, Any] | list[dict[str, Any]]:
        ps = [dict(c[1]) for c in self.components]
        if not ps:
            return {}
        return ps[0] if len(ps) == 1 else ps

    def build(self) -> Adaptor:
        """The transform T of this scheme: temperature and components, composed in ``order``."""
        steps: list[Adaptor] = [] if self.temperature == 1.0 else [Temperature(self.temperature)]
        steps += [make(name, **dict(params)) for name, params in self.components]
        if not steps:
            return Temperature(1.0)  # T(p) = p: ancestral sampling
        if len(steps) == 1:
            return steps[0]
        return Compose(*steps, order=self.order)

    def key(self) -> str:
        """Canonical JSON of what determines this scheme's samples (not its name)."""
        return json.dumps({"components": [[n, [list(kv) for kv in p]] for n, p in self.components],
                           "temperature": self.temperature, "order": self.order}, sort_keys=True)

    def to_json_dict(self) -> dict[str, Any]:
        return {"name": self.name, "adaptor": self.adaptor_name, "params": self.params,
                "temperature": self.temperature, "order": self.order, "base": self.base}

    def with_hf_default_top_k(self) -> Scheme:
        """The scheme as the official code samples it: transformers' default top_k = 50 added (docs/theory.md#r4)."""
        comps = (*self.components, ("top_k", (("k", HF_DEFAULT_TOP_K),)))
        return Scheme(self.name + HF_TOP_K_SUFFIX, comps, self.temperature, self.order, base=self.name)


def default_scheme_name(components: Sequence[tuple[str, Sequence[tuple[str, Any]]]], temperature: float) -> str:
    """E.g. ``top_k30@t0.5``, ``top_p0.9+min_p0.05@t1``, ``ancestral@t1``."""
    if not components:
        head = ANCESTRAL
    else:
        head = "+".join(name + ",".join(_fmt_number(v) if isinstance(v, float) else str(v) for _, v in params)
                        for name, params in components)
    return f"{head}@t{_fmt_number(temperature)}"


def _parse_components(where: str, adaptor: Any, params: Any) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    if isinstance(adaptor, str):
        names, plist = [adaptor], [params if params is not None else {}]
        if adaptor == ANCESTRAL:
            if params not in (None, {}):
                raise ValueError(f"{where}: adaptor 'ancestral' takes no params, got {params!r}")
            return ()
    elif isinstance(adaptor, list) and adaptor and all(isinstance(a, str) for a in adaptor):
        names = list(adaptor)
        if not isinstance(params, list) or len(params) != len(names):
            raise ValueError(f"{where}: a list of adaptors {names} needs params as a list of {len(names)} tables, "
                             f"got {params!r}")
        plist = params
    else:
        raise ValueError(f"{where}.adaptor must be a name, a non-empty list of names, or 'ancestral', got {adaptor!r}")
    out = []
    for name, p in zip(names, plist, strict=True):
        if name == ANCESTRAL:
            raise ValueError(f"{where}: 'ancestral' cannot be composed with other adaptors")
        if name == "temperature":
            raise ValueError(f"{where}: give the temperature with 'temperature'/'temperatures', not as an adaptor")
        if name not in ADAPTORS:
            raise ValueError(f"{where}: unknown adaptor {name!r}; choose from {sorted(set(ADAPTORS) - {'temperature'})}"
                             f" or 'ancestral'")
        if not isinstance(p, dict):
            raise ValueError(f"{where}.params for {name!r} must be a table, got {p!r}")
        try:
            make(name, **p)  # validates the parameter's name and value
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None
        out.append((name, tuple(sorted(p.items()))))
    return tuple(out)


def _parse_schemes(raw: Any, order: str) -> tuple[Scheme, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError("the config needs at least one [[schemes]] table")
    schemes: list[Scheme] = []
    for i, entry in enumerate(raw):
        where = f"schemes[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be a table, got {entry!r}")
        unknown = set(entry) - SCHEME_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(SCHEME_KEYS)}")
        if "adaptor" not in entry:
            raise ValueError(f"{where} needs an 'adaptor' (a name of typicality.adaptors.make, or 'ancestral')")
        comps = _parse_components(where, entry["adaptor"], entry.get("params"))
        if "temperature" in entry and "temperatures" in entry:
            raise ValueError(f"{where}: give 'temperature' or 'temperatures', not both")
        temps = entry.get("temperatures", [entry.get("temperature", 1.0)])
        if not isinstance(temps, list) or not temps:
            raise ValueError(f"{where}.temperatures must be a non-empty list of numbers, got {temps!r}")
        for t in temps:
            if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
                raise ValueError(f"{where}: a temperature must be a finite number > 0, got {t!r}")
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not name or len(temps) > 1):
            raise ValueError(f"{where}.name must be a non-empty string and needs a single temperature, got {name!r}")
        for t in temps:
            schemes.append(Scheme(name or default_scheme_name(comps, float(t)), comps, float(t), order))
    seen: dict[str, Scheme] = {}
    for s in schemes:
        if s.name in seen:
            raise ValueError(f"two schemes are named {s.name!r}; give them distinct 'name's")
        if any(o.key() == s.key() for o in seen.values()):
            other = next(o for o in seen.values() if o.key() == s.key())
            raise ValueError(f"schemes {other.name!r} and {s.name!r} are the same adaptor at the same temperature")
        seen[s.name] = s
    return tuple(schemes)


@dataclass(frozen=True)
class StudyConfig:
    """A validated study configuration (see the module docstring for the TOML)."""

    models: dict[str, Any]
    prompts: dict[str, Any]
    sampling: dict[str, Any]
    scoring: dict[str, Any]
    analysis: dict[str, Any]
    ablations: dict[str, Any]
    schemes: tuple[Scheme, ...]
    source: str = "<dict>"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def all_schemes(self) -> tuple[Scheme, ...]:
        """The schemes to sample: the configured ones, plus their transformers-default-top-k variants if asked."""
        extra: list[Scheme] = []
        if self.ablations["hf_default_top_k"]:
            extra = [s.with_hf_default_top_k() for s in self.schemes
                     if not any(name == "top_k" for name, _ in s.components)]
        return (*self.schemes, *extra)

    def to_json_dict(self) -> dict[str, Any]:
        """The resolved config (every default filled in), as written to results.json."""
        return {"models": dict(self.models), "prompts": dict(self.prompts), "sampling": dict(self.sampling),
                "scoring": dict(self.scoring), "analysis": {k: list(v) if isinstance(v, tuple) else v
                                                            for k, v in self.analysis.items()},
                "ablations": dict(self.ablations), "schemes": [s.to_json_dict() for s in self.all_schemes],
                "source": self.source}


def parse_config(raw: Mapping[str, Any], *, base_dir: str | Path | None = None, source: str = "<dict>") -> StudyConfig:
    """Validate a parsed TOML document; relative paths are resolved against ``base_dir``."""
    if not isinstance(raw, Mapping):
        raise TypeError(f"a config must be a table, got {type(raw).__name__}")
    unknown = set(raw) - set(SCHEMA) - {"schemes"}
    if unknown:
        raise ValueError(f"{source}: unknown section(s) {sorted(unknown)}; allowed: {sorted([*SCHEMA, 'schemes'])}")
    sections: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, Mapping):
            raise ValueError(f"[{section}] must be a table, got {given!r}")
        bad = set(given) - set(keys)
        if bad:
            raise ValueError(f"[{section}]: unknown key(s) {sorted(bad)}; allowed: {sorted(keys)}")
        out = {}
        for key, (kind, default) in keys.items():
            if key in given:
                out[key] = _check(f"{section}.{key}", kind, given[key])
            elif default is _REQUIRED:
                raise ValueError(f"{source}: [{section}] needs '{key}'")
            else:
                out[key] = default
        sections[section] = out
    m, p, s, a = sections["models"], sections["prompts"], sections["sampling"], sections["analysis"]
    if m["reward"] is None and m["secret_reward_beta"] is None:
        raise ValueError("[models] needs a 'reward' (a score model or module:function), or 'secret_reward_beta' "
                         "for the DPO secret reward of Eq. 4")
    if (p["file"] is None) == (p["dataset"] is None):
        raise ValueError("[prompts] needs exactly one of 'file' (a .txt or .jsonl file) and 'dataset' (a datasets id)")
    if p["extract"] not in PROMPT_EXTRACTORS:
        raise ValueError(f"prompts.extract must be one of {PROMPT_EXTRACTORS}, got {p['extract']!r}")
    if "{prompt}" not in p["template"]:
        raise ValueError(f"prompts.template must contain '{{prompt}}', got {p['template']!r}")
    try:
        p["template"].format(prompt="x")
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"prompts.template {p['template']!r} is not a valid format string: {e}") from None
    if m["reward_kind"] not in REWARD_KINDS:
        raise ValueError(f"models.reward_kind must be one of {REWARD_KINDS}, got {m['reward_kind']!r}")
    if s["order"] not in ORDERS:
        raise ValueError(f"sampling.order must be one of {sorted(ORDERS)}, got {s['order']!r}")
    if s["adaptor_dtype"] not in ADAPTOR_DTYPES:
        raise ValueError(f"sampling.adaptor_dtype must be one of {ADAPTOR_DTYPES}, got {s['adaptor_dtype']!r}")
    if s["backend"] not in BACKENDS:
        raise ValueError(f"sampling.backend must be one of {BACKENDS}, got {s['backend']!r}")
    if a["ablations"] is not None:
        from typicality.lm.analysis import ALL_ABLATIONS

        unknown_ab = set(a["ablations"]) - set(ALL_ABLATIONS)
        if unknown_ab:
            raise ValueError(f"analysis.ablations: unknown {sorted(unknown_ab)}; choose from {list(ALL_ABLATIONS)}")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    for section, key in (("models", "aligned"), ("models", "prior"), ("models", "reward"), ("prompts", "file")):
        sections[section][key] = resolve_path(sections[section][key], base)
    schemes = _parse_schemes(raw.get("schemes"), s["order"])
    return StudyConfig(m, p, s, sections["scoring"], a, sections["ablations"], schemes, source, dict(raw))


def resolve_path(value: str | None, base: Path) -> str | None:
    """A relative path that exists under ``base`` becomes absolute; anything else (hub ids, module:function
    specs, absolute paths) is kept as written. ``file.py:function`` resolves its file part."""
    if value is None or Path(value).is_absolute():
        return value
    head, sep, tail = value.rpartition(":")
    if sep and head.endswith(".py") and (base / head).exists():
        return f"{(base / head).resolve()}:{tail}"
    if (base / value).exists():
        return str((base / value).resolve())
    return value


def preset_names() -> list[str]:
    """The presets shipped with typicality (``typicality lm presets``)."""
    folder = resources.files("typicality.lm") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    if name not in preset_names():
        raise ValueError(f"unknown preset {name!r}; choose from {preset_names()} (or give a path to a .toml file)")
    return (resources.files("typicality.lm") / "presets" / f"{name}.toml").read_text(encoding="utf-8")


def parse_set(assignments: Iterable[str]) -> list[tuple[str, str, Any]]:
    """``section.key=value`` strings (values in TOML syntax; a bare word is a string) as (section, key, value)."""
    out = []
    for item in assignments:
        if "=" not in item:
            raise ValueError(f"--set needs section.key=value, got {item!r}")
        path, text = item.split("=", 1)
        section, dot, key = path.strip().partition(".")
        if not dot or section not in SCHEMA or key not in SCHEMA[section]:
            if section == "schemes":
                raise ValueError("--set cannot change [[schemes]]; edit the TOML file")
            known = sorted(f"{s}.{k}" for s, ks in SCHEMA.items() for k in ks)
            raise ValueError(f"--set: unknown key {path.strip()!r}; known keys: {', '.join(known)}")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        out.append((section, key, value))
    return out


def load_config(spec: str | Path, *, overrides: Sequence[str] = ()) -> StudyConfig:
    """A config from a TOML file or a preset name, with ``--set``-style overrides applied."""
    spec = str(spec)
    path = Path(spec)
    if spec.endswith(".toml") or path.exists():
        text = read_text(path, "config")
        base, source = path.resolve().parent, str(path)
    else:
        text, base, source = preset_text(spec), None, f"preset:{spec}"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{source} is not valid TOML: {e}") from None
    raw = copy.deepcopy(raw)
    sets = parse_set(overrides)
    for section, key, value in sets:
        raw.setdefault(section, {})[key] = value
    config = parse_config(raw, base_dir=base, source=source)
    if sets and base is not None:
        # --set paths are relative to the working directory, not to the config file
        cwd = Path.cwd()
        for section, key, value in sets:
            if (section, key) in {("models", "aligned"), ("models", "prior"), ("models", "reward"),
                                  ("prompts", "file")} and isinstance(value, str):
                getattr(config, section)[key] = resolve_path(value, cwd)
    return config


def fingerprint(obj: Any) -> str:
    """A short stable hash of JSON-able data (16 hex digits of SHA-256)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
