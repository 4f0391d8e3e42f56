(** * Prop. 3: false as stated (C1), and the corrected statement.

    docs/theory.md#b8 (Prop. 3, Def. 3) and #c1, #c2, #c7.

    Counterexample: Sigma = {a, b}, every prefix continues with a or b with probability 1/4 each and stops with
    probability 1/2. The model is eos-bounded (xi = 1/2) and tight, and a string of length n has probability
    2^-(2n+1); there are 2^n of them. For every alpha in (0, 1/2], each length contributes at least 2^-alpha
    to sum_y p(y)^alpha, so the series diverges: H_alpha = infinity. The same series is the global normalizer
    Z_T of temperature tau = 1/alpha (C7): no globally normalized adaptor exists for tau >= 2.

    Corrected statement: if, for every length n, the strings of length n are at most k^n (k = |Sigma|) and carry
    mass P_n <= (1 - xi)^n (what eos-boundedness gives, [eos_bounded_masses]), then for
    alpha0 = ln k / (ln k + ln (1/(1 - xi))) < alpha < 1 the partial sums of sum_y p(y)^alpha stay below
    1 / (1 - r), r = k^(1-alpha) (1-xi)^alpha < 1: H_alpha < infinity. Hoelder gives each length's bound.
    [prop3_corrected_eos_bounded] states it in one theorem, the masses derived from eos-boundedness. *)

From Coq Require Import Reals Lra Lia List.
Import ListNotations.
From Typicality Require Import Common.
Open Scope R_scope.

(** ** The counterexample *)
Definition count (n : nat) : R := Rpower 2 (INR n).                       (* 2^n strings of length n *)
Definition string_prob (n : nat) : R := Rpower 2 (- (2 * INR n + 1)).     (* (1/4)^n * 1/2 each *)

Lemma Rpower_2_nat m : Rpower 2 (INR m) = 2 ^ m.
Proof. apply Rpower_pow. lra. Qed.

Lemma string_prob_closed n : string_prob n = (/ 4) ^ n * / 2.
Proof.
  unfold string_prob. replace (- (2 * INR n + 1)) with (INR n * (- INR 2) + - INR 1) by (simpl; ring).
  rewrite Rpower_plus, Rpower_nat_mult by lra. rewrite !Rpower_Ropp, !Rpower_2_nat.
  simpl. replace (2 * (2 * 1)) with 4 by ring. replace (2 * 1) with 2 by ring. rewrite pow_inv. reflexivity.
Qed.

Lemma count_closed n : count n = 2 ^ n.
Proof. unfold count. apply Rpower_pow. lra. Qed.

(** Tight: the mass of the strings of length <= N is 1 - (1/2)^(N+1), which tends to 1. *)
Lemma length_mass n : count n * string_prob n = (/ 2) ^ (S n).
Proof.
  rewrite count_closed, string_prob_closed. simpl. rewrite <- Rmult_assoc, <- Rmult_comm.
  replace (/ 4) with (/ 2 * / 2) by field. rewrite Rpow_mult_distr.
  replace (2 ^ n * ((/ 2) ^ n * (/ 2) ^ n)) with ((2 * / 2) ^ n * (/ 2) ^ n)
    by (rewrite Rpow_mult_distr; ring).
  rewrite Rinv_r, pow1 by lra. ring.
Qed.

Theorem counterexample_tight : Un_cv (fun N => sum_f_R0 (fun n => count n * string_prob n) N) 1.
Proof.
  intros eps He.
  assert (Hgeo : forall N, sum_f_R0 (fun n => count n * string_prob n) N = 1 - (/ 2) ^ (S N)).
  { intro N. rewrite (sum_eq _ (fun n => (/ 2) ^ n * / 2)) by (intros; rewrite length_mass; simpl; ring).
    rewrite <- scal_sum, tech3 by lra. simpl. field. }
  destruct (pow_lt_1_zero (/ 2) ltac:(rewrite Rabs_right; lra) eps He) as [N HN].
  exists N. intros n Hn. unfold R_dist. rewrite Hgeo.
  replace (1 - (/ 2) ^ S n - 1) with (- (/ 2) ^ S n) by ring. rewrite Rabs_Ropp. apply HN. lia.
Qed.

(** Each length contributes at least 2^-alpha to the Renyi series when alpha <= 1/2. *)
Definition renyi_term (alpha : R) (n : nat) : R := count n * Rpower (string_prob n) alpha.

Lemma renyi_term_ge alpha n : 0 < alpha <= 1 / 2 -> Rpower 2 (- alpha) <= renyi_term alpha n.
Proof.
  intro Ha. unfold renyi_term, count, string_prob. rewrite Rpower_mult, <- Rpower_plus.
  apply Rle_Rpower; [lra|]. pose proof (pos_INR n). nra.
Qed.

(** Prop. 3 as stated fails: for every alpha in (0, 1/2] the partial sums of sum_y p(y)^alpha are unbounded. *)
Theorem prop3_counterexample alpha : 0 < alpha <= 1 / 2 ->
  forall M, exists N, M < sum_f_R0 (renyi_term alpha) N.
Proof.
  intros Ha M. set (c := Rpower 2 (- alpha)). assert (Hc : 0 < c) by apply Rpower_pos.
  destruct (nat_above (M / c)) as [N HN]. exists N.
  apply Rlt_le_trans with (INR (S N) * c).
  - rewrite S_INR. apply (Rmult_lt_reg_r (/ c)); [apply Rinv_0_lt_compat, Hc|].
    replace ((INR N + 1) * c * / c) with (INR N + 1) by (field; lra). unfold Rdiv in HN. lra.
  - clear HN. induction N as [|N IH].
    + simpl. pose proof (renyi_term_ge alpha 0 Ha). fold c in H. lra.
    + simpl sum_f_R0. pose proof (renyi_term_ge alpha (S N) Ha). fold c in H.
      replace (INR (S (S N)) * c) with (INR (S N) * c + c) by (rewrite (S_INR (S N)); ring). lra.
Qed.

(** C7: the same series is the global normalizer of temperature tau = 1/alpha; it diverges for tau >= 2. *)
Corollary global_temperature_diverges tau : 2 <= tau ->
  forall M, exists N, M < sum_f_R0 (renyi_term (/ tau)) N.
Proof.
  intro Ht. apply prop3_counterexample. split.
  - apply Rinv_0_lt_compat. lra.
  - apply (Rmult_le_reg_l tau); [lra|]. rewrite Rinv_r by lra. lra.
Qed.

(** ** The corrected statement *)

(** Eos-boundedness, aggregated by length: m n is the mass of the prefixes of length n, P n the mass of the
    strings of length n. Each prefix stops with probability >= xi, so xi * m n <= P n <= m n, and the rest
    continues: m (n+1) = m n - P n. Then P n <= m n <= (1 - xi)^n. *)
Lemma eos_bounded_masses (m P : nat -> R) xi :
  0 <= xi <= 1 -> m O = 1 -> (forall n, m (S n) = m n - P n) -> (forall n, xi * m n <= P n <= m n) ->
  forall n, P n <= (1 - xi) ^ n.
Proof.
  intros Hxi H0 HS HP.
  assert (Hm : forall n, 0 <= m n <= (1 - xi) ^ n).
  { induction n as [|n IH]; [rewrite H0; simpl; lra|].
    rewrite HS. specialize (HP n). simpl. split; nra. }
  intro n. specialize (HP n). specialize (Hm n). lra.
Qed.

Section Corrected.
  Variable k : nat.                      (** |Sigma| *)
  Hypothesis k_ge_2 : (2 <= k)%nat.
  Variable xi : R.                       (** the eos bound *)
  Hypothesis xi_range : 0 < xi < 1.
  Variable strings : nat -> list R.      (** the probabilities of the strings of each length *)
  Hypothesis strings_pos : forall n p, In p (strings n) -> 0 < p.
  Hypothesis strings_count : forall n, INR (length (strings n)) <= INR k ^ n.
  Hypothesis strings_mass : forall n, lsum (map (fun p => p) (strings n)) <= (1 - xi) ^ n.

  Definition alpha0 : R := ln (INR k) / (ln (INR k) - ln (1 - xi)).
  Definition ratio (alpha : R) : R := Rpower (INR k) (1 - alpha) * Rpower (1 - xi) alpha.
  Definition length_sum (alpha : R) (n : nat) : R := lsum (map (fun p => Rpower p alpha) (strings n)).

  Lemma lnk_pos : 0 < ln (INR k).
  Proof. rewrite <- ln_1. apply ln_increasing; [lra|]. apply lt_1_INR. lia. Qed.

  Lemma ln1xi_neg : ln (1 - xi) < 0.
  Proof. rewrite <- ln_1. apply ln_increasing; lra. Qed.

  (** The threshold is exactly where the geometric ratio crosses 1. *)
  Lemma ratio_lt_1 alpha : alpha0 < alpha -> ratio alpha < 1.
  Proof.
    intro Ha. pose proof lnk_pos. pose proof ln1xi_neg.
    unfold ratio, Rpower. rewrite <- exp_plus. apply Rlt_le_trans with (exp 0); [|rewrite exp_0; lra].
    apply exp_increasing.
    unfold alpha0 in Ha. apply (Rmult_lt_compat_r (ln (INR k) - ln (1 - xi))) in Ha; [|lra].
    unfold Rdiv in Ha. rewrite Rmult_assoc, Rinv_l, Rmult_1_r in Ha by lra. nra.
  Qed.

  (** Hoelder for each length: sum_{|y|=n} p^alpha <= (#strings)^(1-alpha) P_n^alpha <= ratio^n. *)
  Lemma length_sum_le alpha n : 0 < alpha < 1 -> length_sum alpha n <= ratio alpha ^ n.
  Proof.
    intro Ha. unfold length_sum.
    destruct (strings n) as [|p0 rest] eqn:E.
    - simpl. apply pow_le. left. apply Rmult_lt_0_compat; apply Rpower_pos.
    - set (L := p0 :: rest).
      assert (HL : L <> []) by discriminate.
      assert (Hpos : forall p, In p L -> 0 < p) by (intros p Hp; apply (strings_pos n); rewrite E; exact Hp).
      pose proof (holder (fun p => p) (fun _ => 1) L alpha HL (fun p Hp => conj (Hpos p Hp) Rlt_0_1)
                         (conj (Rlt_le _ _ (proj1 Ha)) (Rlt_le _ _ (proj2 Ha)))) as H.
      rewrite (map_ext (fun a => Rpower a alpha * Rpower 1 (1 - alpha)) (fun p => Rpower p alpha)) in H
        by (intro; rewrite Rpower_1_base; ring).
      assert (Hcount : lsum (map (fun _ => 1) L) = INR (length L)).
      { clear. induction L as [|a L IH]; simpl; [reflexivity|]. rewrite IH. destruct (length L); simpl; ring. }
      rewrite Hcount in H.
      assert (HP : 0 < lsum (map (fun p => p) L)) by (apply lsum_map_pos; assumption).
      apply Rle_trans with (1 := H).
      unfold ratio. rewrite Rpow_mult_distr. rewrite Rmult_comm.
      apply Rmult_le_compat; try (left; apply Rpower_pos).
      + rewrite <- Rpower_nat_mult by (apply lt_0_INR; lia).
        apply Rle_trans with (Rpower (INR k ^ n) (1 - alpha)).
        * apply Rpower_le_base; [apply lt_0_INR; simpl; lia | | lra].
          specialize (strings_count n). rewrite E in strings_count. exact strings_count.
        * right. rewrite <- (Rpower_pow n (INR k)) by (apply lt_0_INR; lia). rewrite Rpower_mult. f_equal; ring.
      + rewrite <- Rpower_nat_mult by lra.
        apply Rle_trans with (Rpower ((1 - xi) ^ n) alpha).
        * apply Rpower_le_base; [exact HP | | lra]. specialize (strings_mass n). rewrite E in strings_mass.
          exact strings_mass.
        * right. rewrite <- (Rpower_pow n (1 - xi)) by lra. rewrite Rpower_mult. f_equal; ring.
  Qed.

  (** The corrected Prop. 3: the Renyi series has bounded partial sums above the threshold. *)
  Theorem prop3_corrected alpha : alpha0 < alpha < 1 ->
    forall N, sum_f_R0 (length_sum alpha) N <= / (1 - ratio alpha).
  Proof.
    intros Ha N. pose proof (ratio_lt_1 alpha (proj1 Ha)) as Hr.
    assert (Hr0 : 0 < ratio alpha) by (apply Rmult_lt_0_compat; apply Rpower_pos).
    assert (Ha0 : 0 < alpha).
    { pose proof lnk_pos. pose proof ln1xi_neg. assert (0 < alpha0) by (apply Rdiv_lt_0_compat; lra). lra. }
    apply Rle_trans with (sum_f_R0 (fun n => ratio alpha ^ n) N).
    - apply sum_Rle. intros n _. apply length_sum_le. lra.
    - rewrite tech3 by lra. apply (Rmult_le_reg_r (1 - ratio alpha)); [lra|].
      unfold Rdiv. rewrite Rmult_assoc, !Rinv_l by lra. pose proof (pow_lt (ratio alpha) (S N) Hr0). lra.
  Qed.
End Corrected.

(** The corrected Prop. 3 in one statement about eos-bounded models: the per-length masses come from the
    eos-boundedness condition aggregated by length (each prefix of length n stops with probability >= xi), not
    from a separate premise. *)
Theorem prop3_corrected_eos_bounded k xi (strings : nat -> list R) (m : nat -> R) alpha :
  (2 <= k)%nat -> 0 < xi < 1 ->
  (forall n p, In p (strings n) -> 0 < p) ->
  (forall n, INR (length (strings n)) <= INR k ^ n) ->
  m O = 1 ->
  (forall n, m (S n) = m n - lsum (map (fun p => p) (strings n))) ->
  (forall n, xi * m n <= lsum (map (fun p => p) (strings n)) <= m n) ->
  alpha0 k xi < alpha < 1 ->
  forall N, sum_f_R0 (length_sum strings alpha) N <= / (1 - ratio k xi alpha).
Proof.
  intros Hk Hxi Hpos Hcount H0 HS HP Ha.
  apply prop3_corrected; try assumption.
  apply (eos_bounded_masses m (fun n => lsum (map (fun p => p) (strings n))) xi); try assumption; lra.
Qed.
