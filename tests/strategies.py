"""The test suite's strategies are the library's (typicality.testing); re-exported under the old names."""

from typicality.testing import EOS, NGramSpec, exact_rows, hard_rows, ill_conditioned_specs, ngram_specs, unigram_rows

Spec = NGramSpec

__all__ = ["EOS", "Spec", "exact_rows", "hard_rows", "ill_conditioned_specs", "ngram_specs", "unigram_rows"]
