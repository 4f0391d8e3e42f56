"""The paper's bounds and adaptor invariants estimated on real causal LMs (``typicality lm theory``)."""

from typicality.lm.theory.run import TheoryConfig, analyze_prompt, run_theory

__all__ = ["TheoryConfig", "analyze_prompt", "run_theory"]
