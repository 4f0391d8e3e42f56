"""An exact reference for a tiny transformers causal LM: build it, enumerate its strings, compute exact measures.

Estimators that work by sampling (entropy, varentropy, Rényi entropies, eos statistics) are tested against
numbers computed *without* sampling. :func:`tiny_enumerable_lm` writes a real GPT-2 (``GPT2LMHeadModel``, one
layer) and its tokenizer as an ordinary transformers folder, over a vocabulary of four ids::

    0 <s>   (bos, also the pad token)      2 a
    1 </s>  (eos)                          3 b

Its weights are random (seeded) and then changed so that every next-token distribution gives eos a large
probability (about 0.55–0.77) while still depending on the context. Strings are short, so the continuation
distribution p(y | prompt) can be enumerated almost exactly: :func:`enumerate_strings` walks the tree of prefixes
breadth first and prunes a prefix once its probability drops below ``min_prob``; the pruned probability is kept
(``pruned_mass``). :func:`exact_measures` then sums over the enumerated strings.

Everything is float64 and in log space; the model runs in whatever dtype it was loaded in (its logits are turned
into float64 log-probabilities before anything is added up).

>>> path = tiny_enumerable_lm(tmp_path / "lm")                              # doctest: +SKIP
>>> lm = load_causal_lm(path, device="cpu", dtype="float32")               # doctest: +SKIP
>>> enum = enumerate_strings(lm, [0])                                      # doctest: +SKIP
>>> exact_measures(enum, alphas=(0.5, 2.0)).entropy                        # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: the tokens of :func:`tiny_enumerable_lm`, in id order
VOCAB = ("<s>", "</s>", "a", "b")
BOS_ID, EOS_ID, A_ID, B_ID = 0, 1, 2, 3

#: the constant part of the next-token logits of :func:`tiny_enumerable_lm` (eos gets ``eos_boost`` instead); the
#: non-eos tokens are skewed towards ``a`` so that few prefixes carry most of the mass and enumeration is cheap
BASE_LOGITS = {BOS_ID: -5.0, A_ID: 0.0, B_ID: -3.0}


def _tokenizer() -> Any:
    """The four-token word-level tokenizer: whitespace-separated words, ``<s>`` prepended to every text."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({t: i for i, t in enumerate(VOCAB)}, unk_token=None))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B",
                                                           special_tokens=[("<s>", BOS_ID)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<s>",
                                   clean_up_tokenization_spaces=False)


def tiny_enumerable_lm(path: str | Path, *, seed: int = 0, eos_boost: float = 0.8, context_scale: float = 0.06,
                       mixing: float = 8.0) -> str:
    """Write a tiny GPT-2 over ``<s> </s> a b`` whose strings are short, with its tokenizer, into ``path``.

    The model (one layer, width 16, two heads, 64 positions, untied output layer) is initialized with
    ``torch.manual_seed(seed)`` and then changed deterministically:

    * the attention and MLP weights are multiplied by ``mixing``, so that the final hidden state depends on the
      whole prefix, not only on its last token and position;
    * the output layer ``lm_head`` gets standard normal rows W (seeded);
    * the final layer norm gets the weight ``context_scale`` (every coordinate) and a bias b solving W b = c, where
      c is :data:`BASE_LOGITS` with ``eos_boost`` as the eos logit, and m the context part context_scale · W n(x)
      (n(x) the normalized residual stream) averaged over 64 fixed random contexts. The logits are then
      c + context_scale · W n(x) − m: on average c, which gives eos a probability of about
      ``exp(eos_boost) / (exp(eos_boost) + 1.06)`` (0.68 for the default), plus a context-dependent part.

    With the defaults p(eos | prefix) lies in about [0.55, 0.77] over every prefix (checked by the tests), and it
    depends on more than the last token and the position. Setting ``ln_f.weight`` to 0 afterwards makes every
    next-token distribution the same, softmax(c − m): an i.i.d. (unigram) string model.
    The config's bos / eos / pad ids are 0 / 1 / 0 and so are the generation config's. Saved with
    ``save_pretrained`` (safetensors); returns ``str(path)``, which ``typicality.lm.loading.load_causal_lm`` reads.
    """
    import torch
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=len(VOCAB), n_layer=1, n_embd=16, n_head=2, n_positions=64,
                        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=BOS_ID, tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config).eval()
    base = torch.tensor([eos_boost if i == EOS_ID else BASE_LOGITS[i] for i in range(len(VOCAB))],
                        dtype=torch.float64)
    with torch.no_grad():
        block = model.transformer.h[0]
        for module in (block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj):
            module.weight.mul_(mixing)
        # embeddings of unit scale, so that tokens and positions move the normalized hidden state
        model.transformer.wte.weight.normal_(0.0, 1.0)
        model.transformer.wpe.weight.normal_(0.0, 0.3)
        head = torch.randn(len(VOCAB), config.n_embd, dtype=torch.float64)
        model.lm_head.weight.copy_(head)
        model.transformer.ln_f.weight.fill_(context_scale)
        model.transformer.ln_f.bias.zero_()
        # the context part of the logits, averaged over a fixed set of random contexts, is moved into the constant
        # part, so that ``base`` is the average logit vector
        contexts = torch.randint(0, len(VOCAB), (64, 16), generator=torch.Generator().manual_seed(seed))
        contexts[:, 0] = BOS_ID
        mean = model(input_ids=contexts).logits.to(torch.float64).mean(dim=(0, 1))
        # the minimum-norm b with W b = base − mean (W has full row rank 4 < 16): ln_f adds W b to the logits
        model.transformer.ln_f.bias.copy_(torch.linalg.pinv(head) @ (base - mean))
    model.generation_config = GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=BOS_ID)
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(p, safe_serialization=True)
    _tokenizer().save_pretrained(p)
    return str(p)


# --------------------------------------------------------------------------------------------- enumeration


@dataclass(frozen=True)
class Enumeration:
    """The continuation distribution p(y | prompt) of an LM, enumerated string by string.

    Complete strings (each ends with an eos id, which is counted in ``lengths`` and in ``logp``):

    * ``logp``: float64 log p(y | prompt); ``lengths``: int64 token counts; ``tokens``: the token ids, as tuples.

    Enumerated prefixes (every prefix that was expanded, the empty one first), in breadth-first order:

    * ``prefix_logprob``: log p(prefix | prompt);
    * ``prefix_log_eos``: log p(eos | prompt, prefix) (summed over the eos ids if there are several);
    * ``prefix_log_min``: log of the smallest next-token probability after the prefix, over the whole vocabulary;
    * ``prefixes``: the prefixes themselves (token ids after the prompt), as tuples.

    Pruned prefixes (probability below ``min_prob``, or ``max_len`` tokens long): ``pruned_logprob`` holds their
    log-probabilities and ``pruned_mass`` = Σ exp(pruned_logprob), summed exactly (``math.fsum``). Every string
    that was not enumerated extends exactly one pruned prefix, so ``mass + pruned_mass`` = 1 up to the rounding
    of the log-softmax (≈ 1e-15 per step).
    """

    logp: np.ndarray
    lengths: np.ndarray
    tokens: list[tuple[int, ...]]
    pruned_mass: float
    pruned_logprob: np.ndarray
    prefix_log_eos: np.ndarray
    prefix_logprob: np.ndarray
    prefix_log_min: np.ndarray
    prefixes: list[tuple[int, ...]]
    vocab_size: int
    eos_ids: tuple[int, ...]
    min_prob: float
    max_len: int

    @property
    def mass(self) -> float:
        """Σ p(y) over the enumerated strings (exactly rounded)."""
        return math.fsum(np.exp(self.logp).tolist())

    @property
    def pruned_surprisal(self) -> float:
        """Σ p(π) · (−log p(π)) over the pruned prefixes π: the part of the entropy that their own mass carries."""
        lp = self.pruned_logprob[np.isfinite(self.pruned_logprob)]
        return math.fsum((-np.exp(lp) * lp).tolist())


def _max_positions(model: Any) -> int | None:
    config = getattr(model, "config", None)
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None


def enumerate_strings(lm: Any, prompt_ids: Sequence[int], *, min_prob: float = 1e-13, max_len: int = 40,
                      batch_size: int = 256) -> Enumeration:
    """Enumerate the continuations y of ``prompt_ids`` under a loaded LM (``typicality.lm.loading.LoadedLM``).

    Breadth first over prefixes, starting from the empty one. A prefix is expanded with one forward pass of
    ``lm.model`` on prompt + prefix (prefixes of one depth share a length, so batches of ``batch_size`` need no
    padding); its next-token log-probabilities are the float64 log-softmax of the last position's logits. Every
    id of the logits (``lm.vocab_size`` of them, bos and pad included) is a symbol; an id in ``lm.eos_token_ids``
    ends the string. A child prefix is pruned, its probability going to ``pruned_mass``, when log p(child) <
    log(``min_prob``) or it has ``max_len`` tokens; so complete strings have at most ``max_len`` tokens, eos
    included. Log-probabilities are accumulated in float64. The forward passes run on one CPU thread (restored
    afterwards): the batches are tiny, and a busy machine makes more threads much slower.

    The pruned mass falls only slowly with ``min_prob`` (roughly as ``min_prob``^0.6 for :func:`tiny_enumerable_lm`,
    whose strings mostly repeat ``a``), hence the default of 1e-13: about 62,000 strings (≈ 1.5 s on a CPU) and a
    pruned mass of about 2e-9 there, against about 2,100 strings and 8e-7 at 1e-9.
    """
    import torch

    prompt = [int(i) for i in prompt_ids]
    if not prompt:
        raise ValueError("prompt_ids is empty: the first token needs a context (BOS)")
    if not 0.0 < min_prob <= 1.0:
        raise ValueError(f"min_prob must be in (0, 1], got {min_prob!r}")
    if max_len < 1 or batch_size < 1:
        raise ValueError(f"max_len and batch_size must be ≥ 1, got {max_len!r} and {batch_size!r}")
    eos_ids = tuple(int(i) for i in lm.eos_token_ids)
    if not eos_ids:
        raise ValueError(f"model {getattr(lm, 'spec', '?')!r} has no eos id: its strings never end")
    limit = _max_positions(lm.model)
    if limit is not None and len(prompt) + max_len - 1 > limit:
        raise ValueError(f"prompt ({len(prompt)} ids) + max_len − 1 = {len(prompt) + max_len - 1} exceeds the "
                         f"model's {limit} positions")
    vocab = int(lm.vocab_size)
    eos = np.array(eos_ids)
    symbols = np.array([i for i in range(vocab) if i not in set(eos_ids)])
    log_min_prob = math.log(min_prob)

    logp: list[np.ndarray] = []
    tokens: list[tuple[int, ...]] = []
    pruned: list[np.ndarray] = []
    prefix_log_eos: list[np.ndarray] = []
    prefix_logprob: list[np.ndarray] = []
    prefix_log_min: list[np.ndarray] = []
    prefixes: list[tuple[int, ...]] = []
    frontier: list[tuple[int, ...]] = [()]
    frontier_logprob = np.zeros(1)
    depth = 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            while frontier:
                next_frontier: list[tuple[int, ...]] = []
                next_logprob: list[np.ndarray] = []
                for start in range(0, len(frontier), batch_size):
                    batch = frontier[start:start + batch_size]
                    lp = frontier_logprob[start:start + batch_size]
                    ids = torch.tensor([prompt + list(p) for p in batch], dtype=torch.long, device=lm.device)
                    mask = torch.ones_like(ids)
                    logits = lm.model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, -1, :]
                    step = torch.log_softmax(logits.to(torch.float64), dim=-1).cpu().numpy()
                    if step.shape[1] != vocab:
                        raise ValueError(f"the logits have {step.shape[1]} columns, lm.vocab_size is {vocab}")
                    children = lp[:, None] + step
                    prefix_logprob.append(lp)
                    prefixes.extend(batch)
                    prefix_log_eos.append(_logsumexp_rows(step[:, eos]))
                    prefix_log_min.append(step.min(axis=1))
                    for e in eos_ids:
                        logp.append(children[:, e])
                        tokens.extend((*p, e) for p in batch)
                    grown = children[:, symbols]
                    keep = grown >= log_min_prob if depth + 1 < max_len else np.zeros_like(grown, dtype=bool)
                    pruned.append(grown[~keep])
                    for row, col in zip(*np.nonzero(keep), strict=True):
                        next_frontier.append((*batch[row], int(symbols[col])))
                    next_logprob.append(grown[keep])
                frontier = next_frontier
                frontier_logprob = np.concatenate(next_logprob) if next_logprob else np.zeros(0)
                depth += 1
    finally:
        torch.set_num_threads(threads)
    all_logp = np.concatenate(logp)
    pruned_logprob = np.concatenate(pruned) if pruned else np.zeros(0)
    return Enumeration(
        logp=all_logp, lengths=np.array([len(t) for t in tokens], dtype=np.int64), tokens=tokens,
        pruned_mass=math.fsum(np.exp(pruned_logprob).tolist()), pruned_logprob=pruned_logprob,
        prefix_log_eos=np.concatenate(prefix_log_eos), prefix_logprob=np.concatenate(prefix_logprob),
        prefix_log_min=np.concatenate(prefix_log_min), prefixes=prefixes, vocab_size=vocab, eos_ids=eos_ids,
        min_prob=float(min_prob), max_len=int(max_len))


def _logsumexp_rows(x: np.ndarray) -> np.ndarray:
    """log Σ_j exp(x[i, j]) for each row i, in float64."""
    top = x.max(axis=1)
    safe = np.where(np.isfinite(top), top, 0.0)
    return safe + np.log(np.exp(x - safe[:, None]).sum(axis=1))


def logsumexp(x: np.ndarray) -> float:
    """log Σ exp(x) in float64, the sum exactly rounded (``math.fsum``); −inf for an empty or all −inf x."""
    x = np.asarray(x, dtype=np.float64)
    top = float(x.max()) if x.size else -math.inf
    if not math.isfinite(top):
        return top
    return top + math.log(math.fsum(np.exp(x - top).tolist()))


# --------------------------------------------------------------------------------------------- exact measures


@dataclass(frozen=True)
class ExactMeasures:
    """Measures of the enumerated strings (see :func:`exact_measures`); all float64, in nats.

    ``renyi`` maps each α to H_α. ``entropy_error_bound`` and ``renyi_error_bound`` bound how far the true
    values (over all strings) can be from these; a bound is ``inf`` where none is known.
    """

    entropy: float
    varentropy: float
    renyi: dict[float, float]
    mass: float
    pruned_mass: float
    entropy_error_bound: float
    renyi_error_bound: dict[float, float] = field(default_factory=dict)


def exact_measures(enum: Enumeration, alphas: Sequence[float] = ()) -> ExactMeasures:
    """Entropy, varentropy and Rényi entropies of the enumerated strings of ``enum``.

    Over the complete strings y of the enumeration (not renormalized):

    * ``mass`` = Σ p(y);
    * ``entropy`` H = −Σ p(y) log p(y);
    * ``varentropy`` σ² = Σ p(y) (log p(y) + H)²;
    * ``renyi[α]`` H_α = log(Σ p(y)^α) / (1 − α), with a log-sum-exp; α = 1 gives H, α = inf gives
      −max log p(y), α = 0 gives the log of the number of strings.

    **What pruning costs.** The strings that were not enumerated carry exactly ``pruned_mass`` = 1 − ``mass``
    (up to rounding), and each of them extends one pruned prefix π, with p(π) < ``min_prob`` unless π was pruned
    for its length. So:

    * Σ p is short by ``pruned_mass`` exactly;
    * H is too small by −Σ_missing p log p ∈ [0, ``entropy_error_bound``], where the bound is
      Σ_π p(π)(−log p(π)) + ``pruned_mass`` · log|V| / ξ: a continuation of π has entropy at most
      E[its length] · log|V| ≤ log|V| / ξ when p(eos | prefix) ≥ ξ. ξ is the smallest p(eos | prefix) seen over
      the *enumerated* prefixes, so the bound assumes the unseen ones are no smaller (true by construction for
      :func:`tiny_enumerable_lm`, whose eos probability is bounded away from 0 everywhere);
    * for α > 1, Σ p^α is too small by at most Σ_π p(π)^α (a string extending π has p(y) ≤ p(π)), which bounds
      |ΔH_α| by log(1 + Σ_π p(π)^α / Σ p^α) / (α − 1) (``renyi_error_bound[α]``); for α < 1 the enumerated
      H_α is only a lower bound: the missing strings weigh much more than their mass (Σ p^α may even diverge),
      and no bound is given (inf). On :func:`tiny_enumerable_lm`, H_0.5 still moves by 0.07 nats between
      ``min_prob`` 1e-9 and 1e-13;
    * σ² has no bound here; its error is of the order of ``pruned_mass`` · (log p(π) + H)², a few 1e-6 at the
      defaults.

    With the defaults of :func:`enumerate_strings` on :func:`tiny_enumerable_lm` the pruned mass is about 2e-9
    (the tests assert < 1e-8), so Σ p is exact to 1e-8, H to 1e-7 (``entropy_error_bound`` ≈ 7e-8), H_α for
    α > 1 to far better than 1e-8, and σ² to about 1e-5.
    """
    logp = np.asarray(enum.logp, dtype=np.float64)
    p = np.exp(logp)
    mass = math.fsum(p.tolist())
    entropy = -math.fsum((p * logp).tolist())
    varentropy = math.fsum((p * (logp + entropy) ** 2).tolist())
    xi = math.exp(float(enum.prefix_log_eos.min()))
    pruned_mass = float(enum.pruned_mass)
    entropy_bound = enum.pruned_surprisal + (pruned_mass * math.log(enum.vocab_size) / xi if pruned_mass else 0.0)
    renyi: dict[float, float] = {}
    bounds: dict[float, float] = {}
    for alpha in alphas:
        a = float(alpha)
        if not a >= 0.0:
            raise ValueError(f"Rényi order α must be ≥ 0 (or inf), got {alpha!r}")
        if a == 1.0:
            renyi[alpha], bounds[alpha] = entropy, entropy_bound
        elif a == math.inf:
            top = float(logp.max())
            renyi[alpha] = -top
            missing_top = float(enum.pruned_logprob.max()) if enum.pruned_logprob.size else -math.inf
            bounds[alpha] = max(0.0, missing_top - top)
        elif a == 0.0:
            renyi[alpha] = math.log(logp.size)
            bounds[alpha] = math.inf if pruned_mass else 0.0
        else:
            log_sum = logsumexp(a * logp)
            renyi[alpha] = log_sum / (1.0 - a)
            if a > 1.0:
                log_missing = logsumexp(a * enum.pruned_logprob)
                bounds[alpha] = math.log1p(math.exp(log_missing - log_sum)) / (a - 1.0)
            else:
                bounds[alpha] = math.inf if pruned_mass else 0.0
    return ExactMeasures(entropy=entropy, varentropy=varentropy, renyi=renyi, mass=mass, pruned_mass=pruned_mass,
                         entropy_error_bound=entropy_bound, renyi_error_bound=bounds)
