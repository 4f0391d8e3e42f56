"""Benchmark: the whole real-model study, ``typicality.lm.run_study`` against the straightforward way of doing it.

Both produce the same table (token ids, log p_aligned, log q_T, log p_prior conditioned and unconditioned, reward)
from the same tiny models (randomly initialized Llama, built from a config) and run the same analysis on it:

* **ours**: ``run_study`` end to end (checks, loading, sampling with every score recorded on the way, prior and
  reward scoring, merge, analysis, report);
* **baseline**: per scheme, transformers ``generate`` (do_sample with transformers' own warpers, its default
  top_k = 50 switched off), then a separate teacher-forced pass of the aligned model per batch for log p and
  log q (the warpers applied to every position's logits), then the same prior and reward scoring and analysis.

Printed: wall time of each, the ratio baseline / ours (target ≥ 2), and the aligned model's forward calls and token
positions (ours needs no second pass: the target is half the passes). Both are measured in the same process, one
after the other, with the same torch thread count.

Run: python experiments/benchmarks/bench_study.py [--prompts 64] [--samples 2] [--max-new-tokens 64]
     [--hidden 64] [--layers 2] [--threads N] [--device cpu|cuda] [--batch-size 16]
On a GPU, a few hundred million parameters: --device cuda --hidden 1024 --layers 24 --heads 16 --prompts 256
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

SCHEMES = [  # (adaptor, params, temperature): 6 schemes, every kind of adaptor
    ("ancestral", {}, 1.0), ("top_k", {"k": 30}, 0.75), ("top_p", {"p": 0.9}, 1.0), ("typical", {"p": 0.9}, 1.0),
    ("eta", {"eps": 0.0009}, 1.25), ("min_p", {"p": 0.1}, 0.5),
]
HF_KWARGS = {"top_k": "top_k", "top_p": "top_p", "typical": "typical_p", "eta": "eta_cutoff", "min_p": "min_p"}
REWARD = "def score(prompts, continuations):\n    return [len(set(c)) / (1.0 + len(c)) for c in continuations]\n"


class PassCounter:
    """Counts forward calls and token positions of a model (a forward pre-hook)."""

    def __init__(self, model) -> None:
        self.calls = 0
        self.positions = 0
        model.register_forward_pre_hook(self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.calls += 1
        self.positions += int(ids.numel())


def make_workspace(root: Path, args) -> Path:
    from typicality.lm.tiny import save_tiny, tiny_causal_lm, tiny_tokenizer

    tok = tiny_tokenizer()
    kw = {"hidden": args.hidden, "layers": args.layers, "heads": args.heads}
    save_tiny(root / "aligned", tiny_causal_lm(tok, eos_logit=args.eos_logit, logit_scale=2.0, seed=1, **kw), tok)
    save_tiny(root / "prior", tiny_causal_lm(tok, eos_logit=args.eos_logit, logit_scale=2.0, seed=2, **kw), tok)
    (root / "reward.py").write_text(REWARD)
    topics = ["bread", "the sky", "France", "a joke", "homework", "the fox", "April", "families"]
    (root / "prompts.txt").write_text("\n".join(f"Question {i}: tell me about {topics[i % len(topics)]}."
                                                for i in range(args.prompts)) + "\n")
    def scheme_toml(adaptor: str, params: dict, t: float) -> str:
        table = f"params = {{ {', '.join(f'{k} = {v}' for k, v in params.items())} }}\n" if params else ""
        return f'[[schemes]]\nadaptor = "{adaptor}"\n{table}temperature = {t}\n'

    schemes = "\n".join(scheme_toml(*s) for s in SCHEMES)
    cfg = root / "study.toml"
    cfg.write_text(f"""
[models]
aligned = "aligned"
prior = "prior"
reward = "reward.py:score"
device = "{args.device}"
dtype = "float32"
[prompts]
file = "prompts.txt"
template = "Human: {{prompt}} Assistant:"
[sampling]
samples_per_prompt = {args.samples}
max_new_tokens = {args.max_new_tokens}
batch_size = {args.batch_size}
prompts_per_unit = {args.prompts}
[scoring]
batch_size = {args.batch_size}
{schemes}""")
    return cfg


def run_ours(cfg: Path, out: Path) -> tuple[float, object, PassCounter]:
    from typicality.lm import loading
    from typicality.lm.config import load_config
    from typicality.lm.study import run_study

    counters = []
    original = loading.load_causal_lm

    def counted(spec, **kw):
        lm = original(spec, **kw)
        if spec.endswith("aligned"):
            counters.append(PassCounter(lm.model))
        return lm

    loading.load_causal_lm = counted
    try:
        t0 = time.perf_counter()
        run = run_study(load_config(cfg), out)
        return time.perf_counter() - t0, run, counters[0]
    finally:
        loading.load_causal_lm = original


def run_baseline(cfg: Path, out: Path, args) -> tuple[float, PassCounter]:
    """The straightforward pipeline: generate per scheme, then a teacher-forced pass for log p and log q."""
    import pandas as pd
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList
    from transformers.generation import logits_process as lp

    from typicality.lm.analysis import AnalysisOptions, analyze
    from typicality.lm.config import load_config
    from typicality.lm.report import write_figure, write_report

    t0 = time.perf_counter()
    config = load_config(cfg)
    root = cfg.parent
    dev = torch.device(args.device)
    tok = AutoTokenizer.from_pretrained(root / "aligned")
    aligned = AutoModelForCausalLM.from_pretrained(root / "aligned", dtype=torch.float32).to(dev).eval()
    prior = AutoModelForCausalLM.from_pretrained(root / "prior", dtype=torch.float32).to(dev).eval()
    counter = PassCounter(aligned)
    namespace: dict = {}
    exec((root / "reward.py").read_text(), namespace)
    reward = namespace["score"]
    prompts = [f"Human: {p} Assistant:" for p in (root / "prompts.txt").read_text().splitlines() if p]
    eos, pad = tok.eos_token_id, tok.pad_token_id

    def warpers(adaptor, params, t):
        out = [lp.TemperatureLogitsWarper(float(t))] if t != 1.0 else []
        maker = {"top_k": lambda v: lp.TopKLogitsWarper(v["k"]), "top_p": lambda v: lp.TopPLogitsWarper(v["p"]),
                 "typical": lambda v: lp.TypicalLogitsWarper(v["p"]), "min_p": lambda v: lp.MinPLogitsWarper(v["p"]),
                 "eta": lambda v: lp.EtaLogitsWarper(v["eps"], device=dev)}
        return out + ([maker[adaptor](params)] if adaptor in maker else [])

    def teacher_forced(model, contexts, continuations):
        """Σ log p over each continuation (right padding), one forward per batch; and the rows for log q."""
        seqs = [c + y for c, y in zip(contexts, continuations, strict=True)]
        L = max(map(len, seqs))
        ids = torch.full((len(seqs), L), pad)
        mask = torch.zeros((len(seqs), L), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        with torch.no_grad():
            logits = model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits.float()
        rows = [logits[i, len(c) - 1:len(c) - 1 + len(y)] for i, (c, y) in enumerate(zip(contexts, continuations,
                                                                                         strict=True))]
        return rows

    def gather(rows, ys, clamp=False):
        out = []
        for r, y in zip(rows, ys, strict=True):
            lp = torch.log_softmax(r.double(), -1)[torch.arange(len(y)), torch.tensor(y)]
            out.append(float(lp.clamp(min=-25.0).sum() if clamp else lp.sum()))
        return out

    records = []
    tok.padding_side = "left"
    for s in config.schemes:
        adaptor, params, t = s.adaptor_name, s.params, s.temperature
        hf = {"do_sample": True, "temperature": t, "top_k": 0}
        if adaptor in HF_KWARGS:
            hf[HF_KWARGS[adaptor]] = params[next(iter(params))]
        work = [(i, j) for i in range(len(prompts)) for j in range(args.samples)]
        for b in range(0, len(work), args.batch_size):
            batch = work[b:b + args.batch_size]
            enc = tok([prompts[i] for i, _ in batch], return_tensors="pt", padding=True).to(dev)
            with torch.no_grad():
                gen = aligned.generate(**enc, max_new_tokens=args.max_new_tokens, pad_token_id=pad,
                                       eos_token_id=eos, **hf)
            conts = []
            for row in gen[:, enc["input_ids"].shape[1]:].tolist():
                y = row[:row.index(eos) + 1] if eos in row else [v for v in row if v != pad]
                conts.append(y)
            ctx = [tok(prompts[i])["input_ids"] for i, _ in batch]
            rows = teacher_forced(aligned, ctx, conts)  # the second pass of the aligned model
            logp = gather(rows, conts)
            chain = LogitsProcessorList(warpers(adaptor, params, t))
            dummy = torch.zeros((1, 1), dtype=torch.long, device=dev)
            # clamped at 25 nats per token as the official code does: a token generate() sampled can fall outside the
            # kept set of the teacher-forced logits (cached and full passes round differently near a boundary)
            logq = gather([chain(dummy.expand(len(r), 1), r) for r in rows], conts, clamp=True)
            prior_rows = teacher_forced(prior, ctx, conts)
            uncond_rows = teacher_forced(prior, [[tok.bos_token_id]] * len(conts), conts)
            lp_prior, lp_uncond = gather(prior_rows, conts), gather(uncond_rows, conts)
            texts = [tok.decode(y[:-1] if y and y[-1] == eos else y, skip_special_tokens=True) for y in conts]
            rewards = reward([prompts[i] for i, _ in batch], texts)
            for k, ((i, j), y) in enumerate(zip(batch, conts, strict=True)):
                records.append({"scheme": s.name, "prompt_index": i, "sample_index": j, "token_ids": y,
                                "n_tokens": len(y), "eos": bool(y and y[-1] == eos), "logp_aligned": logp[k],
                                "logq": logq[k], "log_pi_tilde": logq[k], "logp_prior": lp_prior[k],
                                "logp_prior_unconditioned": lp_uncond[k], "reward": rewards[k],
                                "text": texts[k]})
    samples = pd.DataFrame(records)
    options = AnalysisOptions(ablations=("accept_all", "official_target"))
    analysis = analyze(samples, [s.to_json_dict() for s in config.schemes], options)
    out.mkdir(parents=True, exist_ok=True)
    samples.to_parquet(out / "samples.parquet")
    write_figure(analysis, samples, out / "figure.png")
    write_report(analysis, {}, out / "report.md")
    return time.perf_counter() - t0, counter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--eos-logit", type=float, default=1.5,
                    help="the tiny models' mean eos logit: 1.5 gives lengths of median ~45 tokens with ~15%% capped at "
                         "128, a spread like a chat model's")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = make_workspace(root, args)
        n_params = sum(p.numel() for p in __import__("transformers").AutoModelForCausalLM
                       .from_pretrained(root / "aligned").parameters())
        print(f"{len(SCHEMES)} schemes × {args.prompts} prompts × {args.samples} samples, max_new_tokens "
              f"{args.max_new_tokens}, batch {args.batch_size}; model {n_params / 1e6:.2f} M parameters on "
              f"{args.device}, torch threads {torch.get_num_threads()}")
        t_base, base_counter = run_baseline(cfg, root / "baseline", args)
        t_ours, run, ours_counter = run_ours(cfg, root / "ours")
        import pandas as pd

        samples = pd.read_parquet(root / "ours" / "samples.parquet")
        tokens = int(samples["n_tokens"].sum())
        lengths = samples["n_tokens"].to_numpy()
        print(f"string lengths: median {int(np.median(lengths))}, 90th percentile {int(np.percentile(lengths, 90))}, "
              f"{(~samples['eos']).mean():.0%} capped at {args.max_new_tokens}")
        print(f"{'':10s} {'wall s':>8s} {'aligned forward calls':>22s} {'aligned token positions':>24s}")
        print(f"{'baseline':10s} {t_base:8.2f} {base_counter.calls:22d} {base_counter.positions:24d}")
        print(f"{'ours':10s} {t_ours:8.2f} {ours_counter.calls:22d} {ours_counter.positions:24d}")
        print(f"speed-up baseline/ours: {t_base / t_ours:.2f}x (target >= 2); aligned token positions "
              f"ours/baseline: {ours_counter.positions / base_counter.positions:.2f} (target <= 0.5)")
        sample_s = run.stage_seconds["sample"]
        print(f"ours: stages {', '.join(f'{k} {v:.2f} s' for k, v in run.stage_seconds.items())}; "
              f"{tokens} sampled tokens, {tokens / sample_s:,.0f} tokens/s in the sample stage")


if __name__ == "__main__":
    main()
