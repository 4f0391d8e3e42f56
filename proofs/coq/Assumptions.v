(** Prints the axioms each main theorem depends on; tests/test_coq.py checks they are only the standard
    library's axioms of the classical reals (and functional extensionality, which they use). *)

From Typicality Require Import Common Finite Adaptors Renyi Prop3 Baer.

Print Assumptions markov.
Print Assumptions chebyshev.
Print Assumptions aep_chebyshev.
Print Assumptions eq8_ratio.
Print Assumptions eq8_order.
Print Assumptions eq8_tight.
Print Assumptions example1_reversal.
Print Assumptions example1_kept.
Print Assumptions renyi_monotone.
Print Assumptions counterexample_tight.
Print Assumptions prop3_counterexample.
Print Assumptions global_temperature_diverges.
Print Assumptions eos_bounded_masses.
Print Assumptions prop3_corrected.
Print Assumptions prop3_corrected_eos_bounded.
Print Assumptions baer_positive.
Print Assumptions baer_partial_sums.
Print Assumptions baer_tight.
Print Assumptions baer_entropy_diverges.
