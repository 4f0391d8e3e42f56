(** * Eq. 8 (global normalization preserves the transform's scores) and Example 1 (local normalization does not).

    docs/theory.md#b2 (Eq. 6-8), #c7 and #b5 (App. A). For a globally normalized adaptor pi(y) = pit(y) / Z:
    if 0 < Z (and Z is finite: a real number, the sum of the convergent series of scores), then ratios and order
    of scores are preserved and pi sums to 1. The paper assumes only Z < infinity; Z > 0 is needed too (C7), and
    Z = infinity happens (Prop3.v, [global_temperature_diverges]).

    Example 1 with the numbers of docs/theory.md#example1: p(.|eps) = (0.5, 0.45, 0.05), p(.|a) = (0.5, 0.05, 0.45),
    p(.|b) = (0.3, 0.32, 0.38) over (a, b, eos), top-2: p(a) > p(b) but q(a) < q(b). *)

From Coq Require Import Reals Lra.
Open Scope R_scope.

Section Global.
  Variable string : Type.
  Variable score : string -> R.          (** pit_T, the product of the transform along the string *)
  Hypothesis score_nonneg : forall y, 0 <= score y.
  Variable Z : R.                         (** Z_T *)
  Hypothesis Z_pos : 0 < Z.

  Definition pi (y : string) : R := score y / Z.

  Theorem eq8_ratio y y' : score y' <> 0 -> pi y / pi y' = score y / score y'.
  Proof. intro H. unfold pi. field. split; lra. Qed.

  Theorem eq8_order y y' : score y < score y' <-> pi y < pi y'.
  Proof.
    unfold pi. split; intro H.
    - apply Rmult_lt_compat_r; [apply Rinv_0_lt_compat; lra | exact H].
    - apply (Rmult_lt_reg_r (/ Z)); [apply Rinv_0_lt_compat; lra | exact H].
  Qed.

  (** Tightness: if the scores of an enumeration of the strings sum to Z, the pi sum to 1. *)
  Theorem eq8_tight (enum : nat -> string) :
    infinite_sum (fun n => score (enum n)) Z -> infinite_sum (fun n => pi (enum n)) 1.
  Proof.
    unfold infinite_sum, pi. intros H eps Heps.
    destruct (H (eps * Z)) as [N HN]; [nra|]. exists N. intros n Hn. specialize (HN n Hn).
    unfold R_dist in *. unfold Rdiv.
    rewrite <- scal_sum.
    replace (/ Z * sum_f_R0 (fun n0 => score (enum n0)) n - 1)
      with (/ Z * (sum_f_R0 (fun n0 => score (enum n0)) n - Z)) by (field; lra).
    rewrite Rabs_mult, (Rabs_right (/ Z)) by (apply Rle_ge, Rlt_le, Rinv_0_lt_compat; lra).
    apply (Rmult_lt_reg_l Z); [exact Z_pos|]. rewrite <- Rmult_assoc, Rinv_r, Rmult_1_l by lra. lra.
  Qed.
End Global.

(** Example 1. A kept token of top-2 is one at least as probable as the second largest. *)
Definition second_largest (a b c : R) : R := Rmax (Rmin a b) (Rmin (Rmax a b) c).

Theorem example1_reversal :
  let p_a := 0.5 * 0.45 in                             (* p(a) = p(a | eps) p(eos | a) *)
  let p_b := 0.45 * 0.38 in                            (* p(b) = p(b | eps) p(eos | b) *)
  let q_a := (0.5 / (0.5 + 0.45)) * (0.45 / (0.5 + 0.45)) in   (* top-2 keeps {a, b} at eps, {a, eos} after a *)
  let q_b := (0.45 / (0.5 + 0.45)) * (0.38 / (0.32 + 0.38)) in (* ... and {b, eos} after b *)
  p_a > p_b /\ q_a < q_b.
Proof. simpl. split; unfold Rdiv; lra. Qed.

(** The top-2 sets used above: at eps {a, b} (eos 0.05 dropped), after a {a, eos}, after b {b, eos}. *)
Lemma example1_top2_sets :
  second_largest 0.5 0.45 0.05 = 0.45 /\ second_largest 0.5 0.05 0.45 = 0.45 /\
  second_largest 0.3 0.32 0.38 = 0.32.
Proof.
  unfold second_largest. repeat split.
  - rewrite (Rmin_right 0.5 0.45), (Rmax_left 0.5 0.45), (Rmin_right 0.5 0.05), Rmax_left; lra.
  - rewrite (Rmin_right 0.5 0.05), (Rmax_left 0.5 0.05), (Rmin_right 0.5 0.45), Rmax_right; lra.
  - rewrite (Rmin_left 0.3 0.32), (Rmax_right 0.3 0.32), (Rmin_left 0.32 0.38), Rmax_right; lra.
Qed.

(** So the kept sets are: at eps {a, b} (eos, 0.05, is below the second largest), after a {a, eos} (b, 0.05,
    below), after b {b, eos} (a, 0.3, below): exactly the tokens [example1_reversal] uses. *)
Corollary example1_kept :
  0.05 < second_largest 0.5 0.45 0.05 /\ 0.05 < second_largest 0.5 0.05 0.45 /\
  0.3 < second_largest 0.3 0.32 0.38.
Proof. destruct example1_top2_sets as [A [B C]]. rewrite A, B, C. lra. Qed.
