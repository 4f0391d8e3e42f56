"""Property testing for language models and sampling adaptors: Hypothesis strategies and the adaptor suite.

* :mod:`typicality.testing.strategies`: random n-gram models (:func:`ngram_specs`, with exact rows), hard and
  ill-conditioned ones, finite-support distributions, large sparse bigrams, and a real model's own next-token
  distributions (:class:`ModelDistributions`);
* :mod:`typicality.testing.adaptors`: :func:`check_adaptor`, every invariant the library holds its own adaptors to,
  for an adaptor of your own, with the strategies it draws from (:func:`next_symbol_distributions`,
  :func:`logits`).

Used by typicality's own test suite and by the claim ledger's *property* evidence. Each module's docstring has a
runnable example.
"""

from typicality.testing.adaptors import (
    INVARIANTS,
    AdaptorCheckError,
    AdaptorReport,
    check_adaptor,
    check_row,
    logits,
    next_symbol_distributions,
)
from typicality.testing.strategies import (
    EOS,
    KINDS,
    SYMBOLS,
    ModelDistributions,
    NGramSpec,
    all_contexts,
    exact_rows,
    finite_support_distributions,
    hard_rows,
    ill_conditioned_specs,
    model_distributions,
    ngram_specs,
    random_sparse_bigram,
    unigram_rows,
)

__all__ = [
    "EOS",
    "INVARIANTS",
    "KINDS",
    "SYMBOLS",
    "AdaptorCheckError",
    "AdaptorReport",
    "ModelDistributions",
    "NGramSpec",
    "all_contexts",
    "check_adaptor",
    "check_row",
    "exact_rows",
    "finite_support_distributions",
    "hard_rows",
    "ill_conditioned_specs",
    "logits",
    "model_distributions",
    "next_symbol_distributions",
    "ngram_specs",
    "random_sparse_bigram",
    "unigram_rows",
]
