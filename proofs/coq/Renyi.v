(** * Prop. 4 for finite support: Renyi entropy is non-increasing in the order.

    docs/theory.md#b8 (Prop. 4, Def. 2). For a distribution with finitely many positive probabilities p_i
    (sum p_i = 1), S(t) = sum p_i^t and H_t = ln S(t) / (1 - t) for t <> 1. Statement checked:
    0 < a < b, a <> 1, b <> 1  ->  H_b <= H_a.

    Proof: t |-> ln S(t) is convex (Hoelder), and ln S(1) = 0, so the slope ln S(t) / (t - 1) of the chord
    from 1 is non-decreasing in t (three-chord lemma, three cases by the position of 1); H_t is minus that slope. *)

From Coq Require Import Reals Lra List.
Import ListNotations.
From Typicality Require Import Common.
Open Scope R_scope.

Section Renyi.
  Variable ps : list R.
  Hypothesis ps_nonempty : ps <> [].
  Hypothesis ps_pos : forall p, In p ps -> 0 < p.
  Hypothesis ps_sum : lsum (map (fun p => p) ps) = 1.

  Definition S (t : R) : R := lsum (map (fun p => Rpower p t) ps).
  Definition F (t : R) : R := ln (S t).
  Definition renyi (t : R) : R := F t / (1 - t).

  Lemma S_pos t : 0 < S t.
  Proof. apply lsum_map_pos; [exact ps_nonempty | intros; apply Rpower_pos]. Qed.

  Lemma F_1 : F 1 = 0.
  Proof.
    unfold F, S. rewrite (map_ext_in (fun p => Rpower p 1) (fun p => p)).
    - rewrite ps_sum. apply ln_1.
    - intros p Hp. apply Rpower_1, ps_pos, Hp.
  Qed.

  (** Log-convexity of S, from Hoelder with x_i = p_i^a and y_i = p_i^b. *)
  Lemma F_convex a b l : 0 <= l <= 1 -> F (l * a + (1 - l) * b) <= l * F a + (1 - l) * F b.
  Proof.
    intro Hl. unfold F.
    assert (H : S (l * a + (1 - l) * b) <= Rpower (S a) l * Rpower (S b) (1 - l)).
    { unfold S.
      rewrite (map_ext_in (fun p => Rpower p (l * a + (1 - l) * b))
                 (fun p => Rpower (Rpower p a) l * Rpower (Rpower p b) (1 - l))).
      - apply holder; [exact ps_nonempty | intros; split; apply Rpower_pos | exact Hl].
      - intros p Hp. rewrite !Rpower_mult, <- Rpower_plus. f_equal. ring. }
    apply Rle_trans with (ln (Rpower (S a) l * Rpower (S b) (1 - l))).
    - destruct (Rle_lt_or_eq_dec _ _ H) as [Hlt|Heq]; [left; apply ln_increasing; [apply S_pos|exact Hlt]|].
      rewrite Heq. right. reflexivity.
    - right. rewrite ln_mult by apply Rpower_pos. unfold Rpower. rewrite !ln_exp. ring.
  Qed.

  (** The chord slope from 1 is non-decreasing. *)
  Lemma slope_mono a b : a < b -> a <> 1 -> b <> 1 -> F a / (a - 1) <= F b / (b - 1).
  Proof.
    intros Hab Ha Hb. pose proof F_1 as F1.
    destruct (Rlt_or_le 1 a) as [H1a|Ha1].
    - (* 1 < a < b: a = l * 1 + (1 - l) * b *)
      set (l := (b - a) / (b - 1)).
      assert (Hl : 0 <= l <= 1) by (unfold l; apply frac_in_01; lra).
      pose proof (F_convex 1 b l Hl) as C.
      replace (l * 1 + (1 - l) * b) with a in C by (unfold l; field; lra).
      rewrite F1 in C. replace (1 - l) with ((a - 1) / (b - 1)) in C by (unfold l; field; lra).
      apply (Rmult_le_reg_r (a - 1)); [lra|]. unfold Rdiv at 1. rewrite Rmult_assoc, Rinv_l, Rmult_1_r by lra.
      replace (F b / (b - 1) * (a - 1)) with ((a - 1) / (b - 1) * F b) by (field; lra). lra.
    - destruct (Rlt_or_le b 1) as [Hb1|H1b].
      + (* a < b < 1: b = l * a + (1 - l) * 1 *)
        set (l := (1 - b) / (1 - a)).
        assert (Hl : 0 <= l <= 1) by (unfold l; apply frac_in_01; lra).
        pose proof (F_convex a 1 l Hl) as C.
        replace (l * a + (1 - l) * 1) with b in C by (unfold l; field; lra).
        rewrite F1, Rmult_0_r, Rplus_0_r in C.
        assert (K : F b / (1 - b) <= F a / (1 - a)).
        { apply (Rmult_le_reg_r (1 - b)); [lra|].
          replace (F b / (1 - b) * (1 - b)) with (F b) by (field; lra).
          replace (F a / (1 - a) * (1 - b)) with (l * F a) by (unfold l; field; lra). exact C. }
        replace (F a / (a - 1)) with (- (F a / (1 - a))) by (field; lra).
        replace (F b / (b - 1)) with (- (F b / (1 - b))) by (field; lra). lra.
      + (* a < 1 < b: 1 = l * a + (1 - l) * b *)
        assert (Ha' : a < 1) by lra. assert (Hb' : 1 < b) by lra.
        set (l := (b - 1) / (b - a)).
        assert (Hl : 0 <= l <= 1) by (unfold l; apply frac_in_01; lra).
        pose proof (F_convex a b l Hl) as C.
        replace (l * a + (1 - l) * b) with 1 in C by (unfold l; field; lra).
        rewrite F1 in C.
        replace (1 - l) with ((1 - a) / (b - a)) in C by (unfold l; field; lra).
        unfold l in C.
        assert (K : 0 <= (b - 1) * F a + (1 - a) * F b).
        { apply (Rmult_le_reg_r (/ (b - a))); [apply Rinv_0_lt_compat; lra|].
          rewrite Rmult_0_l. replace (((b - 1) * F a + (1 - a) * F b) * / (b - a))
            with ((b - 1) / (b - a) * F a + (1 - a) / (b - a) * F b) by (field; lra). exact C. }
        apply (Rmult_le_reg_r ((b - 1) * (1 - a))); [nra|].
        replace (F a / (a - 1) * ((b - 1) * (1 - a))) with (- ((b - 1) * F a)) by (field; lra).
        replace (F b / (b - 1) * ((b - 1) * (1 - a))) with ((1 - a) * F b) by (field; lra). lra.
  Qed.

  (** Prop. 4 on finite support. *)
  Theorem renyi_monotone a b : 0 < a -> a < b -> a <> 1 -> b <> 1 -> renyi b <= renyi a.
  Proof.
    intros _ Hab Ha Hb. unfold renyi.
    replace (F b / (1 - b)) with (- (F b / (b - 1))) by (field; lra).
    replace (F a / (1 - a)) with (- (F a / (a - 1))) by (field; lra).
    pose proof (slope_mono a b Hab Ha Hb). lra.
  Qed.
End Renyi.
