"""The test suite's strategies are the library's (typicality.testing); re-exported under the old names."""

from typicality.testing import EOS, NGramSpec, exact_rows, ngram_specs, unigram_rows

Spec = NGramSpec

__all__ = ["EOS", "Spec", "exact_rows", "ngram_specs", "unigram_rows"]
