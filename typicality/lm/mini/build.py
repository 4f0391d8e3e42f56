"""The miniature end to end: every model trained (or taken from its stage folder), then the §6.2 study twice.

Stages, each in its own folder under ``root`` (:mod:`.cache`: fingerprinted by its configuration, a ``DONE`` marker
when finished, so an interrupted run resumes and a changed configuration is refused unless ``force``):

``corpus``     the fortunes split into training and held-out texts, and the prompts (first words of held-out texts);
``tokenizer``  a byte-level BPE trained on the training texts;
``prior``      a GPT-2 trained from scratch on the training texts (resumable checkpoints);
``rloo``       the RLHF analogue: the prior fine-tuned by KL-regularized RL (RLOO) towards the VADER reward;
``pairs``      preference pairs sampled from the prior and labelled by VADER (ties dropped);
``dpo``        the prior fine-tuned by DPO on those pairs (App. F), read back through its implicit reward;
``study-rlhf`` ``typicality lm run`` on (prior, rloo model, VADER reward);
``study-dpo``  the same on (prior, dpo model, the secret reward r = β·(log p_dpo − log p_prior));
``study-prior`` the prior's own ancestral samples with the VADER reward: the reference for how far alignment moved
               the reward and the KL;
``heldout``    the held-out fortunes each prompt was cut from, scored by the prior (log p(continuation | prompt)) and
               by VADER: the real text's string-level correlation;
``report``     :mod:`.report`: report.md, report.json and figures answering the issue's questions from all of the
               above.

Two sizes: ``"full"`` (the sizes the issue measured to fit in half an hour on 2 cores, the paper's 31 schemes) and
``"ci"`` (tiny models and a reduced grid, a few minutes: an end-to-end check, not a result).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typicality.jsonio import write_atomic
from typicality.lm.mini.cache import is_done, mark_done, read_done, stage_dir

PAPER_GRID = "paper"  # the schemes of the rlhf-llama2 preset: six adaptors at five temperatures and ancestral (31)

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "seed": 0,
        "threads": 1,
        "corpus": {"held_out": 0.1, "prompt_words": 4, "prompts": 500},
        "tokenizer": {"vocab_size": 2000},
        "prior": {"layers": 2, "dim": 128, "heads": 4, "context": 128, "steps": 1600, "batch_size": 16, "lr": 3e-3},
        "rloo": {"beta": 0.05, "steps": 200, "generations": 4, "max_new_tokens": 96, "lr": 3e-4},
        "pairs": {"n_pairs": 2000, "max_new_tokens": 96},
        "dpo": {"beta": 0.1, "steps": 150, "lr": 1e-4},
        "study": {"samples_per_prompt": 2, "max_new_tokens": 96, "batch_size": 64, "schemes": PAPER_GRID},
    },
    "ci": {
        "seed": 0,
        "threads": 1,
        "corpus": {"held_out": 0.1, "prompt_words": 3, "prompts": 24},
        "tokenizer": {"vocab_size": 300},
        "prior": {"layers": 1, "dim": 32, "heads": 2, "context": 64, "steps": 40, "batch_size": 16, "lr": 3e-3},
        "rloo": {"beta": 0.05, "steps": 3, "generations": 2, "max_new_tokens": 12, "lr": 1e-4},
        "pairs": {"n_pairs": 16, "max_new_tokens": 12},
        "dpo": {"beta": 0.1, "steps": 3, "lr": 1e-4},
        "study": {"samples_per_prompt": 2, "max_new_tokens": 16, "batch_size": 16,
                  "schemes": [{"adaptor": "top_p", "params": {"p": 0.9}, "temperatures": [0.5, 1.0]},
                              {"adaptor": "ancestral", "temperature": 1.0}]},
    },
}


def paper_schemes() -> list[dict[str, Any]]:
    """The paper's adaptor grid (§6.2), as the rlhf-llama2 preset writes it."""
    import tomllib

    from typicality.lm.config import preset_text

    return tomllib.loads(preset_text("rlhf-llama2"))["schemes"]


def sizes(name: str) -> dict[str, Any]:
    """A copy of the named size (``"full"`` or ``"ci"``)."""
    if name not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {name!r}")
    return copy.deepcopy(SIZES[name])


def _stage(root: Path, name: str, config: dict, force: bool, log: Callable[[str], None],
           run: Callable[[Path], dict]) -> tuple[Path, dict]:
    """Run one stage into its folder unless it is done; returns (folder, its recorded info)."""
    path = stage_dir(root, name, config, force=force)
    if is_done(path):
        log(f"{name}: done earlier ({path})")
        return path, read_done(path)
    log(f"{name}: running")
    t0 = time.perf_counter()
    info = dict(run(path))
    info["stage_seconds"] = time.perf_counter() - t0
    mark_done(path, info)
    log(f"{name}: finished in {info['stage_seconds']:.1f} s")
    return path, info


def build_models(root: str | Path, size: dict[str, Any], *, force: bool = False,
                 log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train (or reuse) every model of the miniature under ``root``; returns the stage folders and their info.

    Each stage's fingerprint covers its own settings and those of the stages it depends on, so a change anywhere
    upstream is refused (or, with ``force``, rebuilt) rather than mixed with stale models.
    """
    from typicality.lm.mini import align, corpus, prior, reward, tokenizer

    root = Path(root)
    say = log or (lambda msg: None)
    seed, threads = size["seed"], size["threads"]
    out: dict[str, Any] = {"folders": {}, "info": {}, "configs": {}}

    def record(name: str, got: tuple[Path, dict]) -> Path:
        out["folders"][name], out["info"][name] = str(got[0]), got[1]
        return got[0]

    c_cfg = {"seed": seed, **size["corpus"]}

    def run_corpus(path: Path) -> dict:
        texts = corpus.load_fortunes()
        train, held = corpus.split_corpus(texts, c_cfg["held_out"], seed)
        prompts = corpus.make_prompts(held, c_cfg["prompt_words"], c_cfg["prompts"])
        for name, lines in (("train.json", train), ("held_out.json", held), ("prompts.json", prompts)):
            write_atomic(path / name, json.dumps(lines, ensure_ascii=False))
        write_atomic(path / "prompts.txt", "".join(p + "\n" for p in prompts))
        return {"texts": len(texts), "train": len(train), "held_out": len(held), "prompts": len(prompts)}

    corpus_dir = record("corpus", _stage(root, "corpus", c_cfg, force, say, run_corpus))
    train = json.loads((corpus_dir / "train.json").read_text(encoding="utf-8"))
    held = json.loads((corpus_dir / "held_out.json").read_text(encoding="utf-8"))
    prompts = json.loads((corpus_dir / "prompts.json").read_text(encoding="utf-8"))

    t_cfg = {"corpus": c_cfg, **size["tokenizer"]}
    tok_dir = record("tokenizer", _stage(root, "tokenizer", t_cfg, force, say, lambda path: (
        tokenizer.train_tokenizer(train, t_cfg["vocab_size"], path), {"vocab_size": t_cfg["vocab_size"]})[1]))

    check_lengths(tok_dir, prompts, size)
    p_cfg = {"tokenizer": t_cfg, "seed": seed, **size["prior"]}

    def run_prior(path: Path) -> dict:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(tok_dir))
        settings = {k: v for k, v in size["prior"].items()}
        return prior.train_prior(train, held, tok, path, seed=seed, threads=threads, log=say, **settings)

    prior_dir = record("prior", _stage(root, "prior", p_cfg, force, say, run_prior))

    r_cfg = {"prior": p_cfg, "seed": seed, **size["rloo"]}
    record("rloo", _stage(root, "rloo", r_cfg, force, say, lambda path: align.train_rloo(
        prior_dir, prompts, reward.vader_reward, path, seed=seed, threads=threads, with_prompt=True,
        **size["rloo"])))

    pairs_cfg = {"prior": p_cfg, "seed": seed, **size["pairs"]}

    def run_pairs(path: Path) -> dict:
        pairs = align.make_preference_pairs(prior_dir, prompts, reward.vader_reward, seed=seed,
                                            with_prompt=True, **size["pairs"])
        write_atomic(path / "pairs.json", json.dumps(pairs, ensure_ascii=False))
        return {"pairs": len(pairs)}

    pairs_dir = record("pairs", _stage(root, "pairs", pairs_cfg, force, say, run_pairs))
    pairs = json.loads((pairs_dir / "pairs.json").read_text(encoding="utf-8"))

    d_cfg = {"pairs": pairs_cfg, "seed": seed, **size["dpo"]}
    out["configs"] = {"corpus": c_cfg, "tokenizer": t_cfg, "prior": p_cfg, "rloo": r_cfg, "pairs": pairs_cfg,
                      "dpo": d_cfg}
    record("dpo", _stage(root, "dpo", d_cfg, force, say, lambda path: align.train_dpo(
        prior_dir, pairs, path, seed=seed, threads=threads, **size["dpo"])))
    return out


def check_lengths(tokenizer_dir: str | Path, prompts: list[str], size: dict[str, Any]) -> None:
    """The prior's GPT-2 has ``context`` positions: the longest prompt (as the study and the trainers tokenize it)
    plus each stage's ``max_new_tokens`` must fit, or generation would index past the position table."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    longest = max((len(tok(p)["input_ids"]) for p in prompts), default=0)
    context = size["prior"]["context"]
    for stage in ("rloo", "pairs", "study"):
        new = size[stage]["max_new_tokens"]
        if longest + new > context:
            raise ValueError(f"{stage}.max_new_tokens = {new} plus the longest prompt ({longest} tokens) exceeds the "
                             f"prior's context of {context} positions; lower max_new_tokens or corpus.prompt_words, "
                             "or raise prior.context")


def study_configs(root: str | Path, built: dict[str, Any], size: dict[str, Any]) -> dict[str, Any]:
    """The study configurations over the built models: ``"rlhf"`` and ``"dpo"`` (the paper's grid), and ``"prior"``
    (the prior's own ancestral samples scored by VADER, the reference for the alignment's effect)."""
    from typicality.lm.config import parse_config

    folders, st = built["folders"], size["study"]
    common = {
        "prompts": {"file": str(Path(folders["corpus"]) / "prompts.txt")},
        "sampling": {"samples_per_prompt": st["samples_per_prompt"], "max_new_tokens": st["max_new_tokens"],
                     "seed": size["seed"], "batch_size": st["batch_size"]},
        "schemes": paper_schemes() if st["schemes"] == PAPER_GRID else st["schemes"],
    }
    rlhf = {"models": {"aligned": folders["rloo"], "prior": folders["prior"], "reward": "vader",
                       "reward_kind": "vader", "device": "cpu", "dtype": "float32"}, **common}
    dpo = {"models": {"aligned": folders["dpo"], "prior": folders["prior"],
                      "secret_reward_beta": size["dpo"]["beta"], "device": "cpu", "dtype": "float32"}, **common}
    ref = {"models": {"aligned": folders["prior"], "prior": folders["prior"], "reward": "vader",
                      "reward_kind": "vader", "device": "cpu", "dtype": "float32"},
           **common, "schemes": [{"adaptor": "ancestral", "temperature": 1.0}]}
    return {"rlhf": parse_config(rlhf, base_dir=root, source="mini (rlhf)"),
            "dpo": parse_config(dpo, base_dir=root, source="mini (dpo)"),
            "prior": parse_config(ref, base_dir=root, source="mini (prior reference)")}


def run_mini(root: str | Path, size: str | dict[str, Any] = "full", *, force: bool = False,
             progress: Any = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build the models, run the studies and write the report under ``root``; writes ``root/mini.json`` (stage
    times, training metrics, the studies' results) and ``root/report/`` (:mod:`.report`), and returns the former."""
    from typicality.lm.mini import report
    from typicality.lm.study import run_study

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    chosen = sizes(size) if isinstance(size, str) else copy.deepcopy(size)
    t0 = time.perf_counter()
    built = build_models(root, chosen, force=force, log=log)
    results: dict[str, Any] = {"size": size if isinstance(size, str) else "custom", "sizes": chosen,
                               "training": built["info"], "studies": {}, "study_seconds": {},
                               "study_units_reused": {}}
    for name, config in study_configs(root, built, chosen).items():
        t1 = time.perf_counter()
        run = run_study(config, root / f"study-{name}", force=force, progress=progress, log=log)
        results["studies"][name] = run.results
        results["study_seconds"][name] = {"total": time.perf_counter() - t1, **run.stage_seconds}
        results["study_units_reused"][name] = dict(run.units_reused)
    h_cfg = {"prior": built["configs"]["prior"], "max_new_tokens": chosen["study"]["max_new_tokens"]}
    _, results["heldout"] = _stage(root, "heldout", h_cfg, force, log or (lambda msg: None),
                                   lambda path: report.score_held_out(built["folders"], chosen, path))
    results["seconds"] = time.perf_counter() - t0
    write_atomic(root / "mini.json", json.dumps(results, indent=2, default=str) + "\n")
    t2 = time.perf_counter()
    report.write_report(root, root / "report")
    if log:
        log(f"report: written to {root / 'report'} in {time.perf_counter() - t2:.1f} s")
    return results
