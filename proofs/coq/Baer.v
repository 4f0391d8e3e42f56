(** * Prop. 2: Baer's language model is tight and has infinite entropy.

    docs/theory.md#b7 (App. C, Eq. 23-25). Sigma = {a} and p(a^n) = 1/log2(n+2) - 1/log2(n+3) for n >= 0, i.e.
    p n = ln 2 / ln (n+2) - ln 2 / ln (n+3). Statements checked:
    - every probability is positive;
    - the partial sums telescope: sum_{n<N} p n = 1 - 1/log2(N+2) exactly (base 2 makes the first term 1);
    - hence the model is tight (the partial sums tend to 1);
    - the entropy diverges: -p n ln p n >= (ln 2 / 2) (ln ln (n+4) - ln ln (n+3)), so the partial entropy after N
      terms is at least (ln 2 / 2) (ln ln (N+3) - ln ln 3), which exceeds every bound.
    The per-term bound replaces the convexity argument of docs/theory.md#b7 by two elementary inequalities,
    x / (1+x) <= ln (1+x) <= x and ln y <= y - 1, applied with x = 1/(n+2) and y = ln(n+4)/ln(n+3). *)

From Coq Require Import Reals Lra Lia.
From Typicality Require Import Common.
Open Scope R_scope.

Definition f (x : R) : R := ln 2 / ln x.                 (* 1 / log2 x *)
Definition p (n : nat) : R := f (INR n + 2) - f (INR n + 3).

Fixpoint psum (N : nat) : R := match N with O => 0 | S M => psum M + p M end.

Lemma ln_nat_pos (n : nat) c : 1 < c -> 0 < ln (INR n + c).
Proof. intro Hc. apply ln_pos. pose proof (pos_INR n). lra. Qed.

Theorem baer_positive n : 0 < p n.
Proof.
  unfold p, f. pose proof (ln_nat_pos n 2 ltac:(lra)) as L2. pose proof (ln_nat_pos n 3 ltac:(lra)) as L3.
  assert (Hlt : ln (INR n + 2) < ln (INR n + 3)) by (apply ln_increasing; pose proof (pos_INR n); lra).
  pose proof (ln_pos 2 ltac:(lra)) as Ln2.
  apply Rlt_Rminus. unfold Rdiv. apply Rmult_lt_compat_l; [exact Ln2|]. apply Rinv_lt_contravar; nra.
Qed.

Theorem baer_partial_sums N : psum N = 1 - ln 2 / ln (INR N + 2).
Proof.
  induction N as [|N IH].
  - simpl. unfold Rdiv. replace (0 + 2) with 2 by ring. rewrite Rinv_r by (apply Rgt_not_eq, ln_pos; lra). ring.
  - simpl psum. rewrite IH. unfold p, f. rewrite S_INR. replace (INR N + 1 + 2) with (INR N + 3) by ring. ring.
Qed.

Theorem baer_tight : Un_cv psum 1.
Proof.
  intros eps He. pose proof (ln_pos 2 ltac:(lra)) as Ln2.
  destruct (nat_above (exp (ln 2 / eps))) as [N HN]. exists N. intros n Hn. unfold R_dist.
  rewrite baer_partial_sums. replace (1 - ln 2 / ln (INR n + 2) - 1) with (- (ln 2 / ln (INR n + 2))) by ring.
  pose proof (ln_nat_pos n 2 ltac:(lra)) as L. rewrite Rabs_Ropp, Rabs_right.
  2: { apply Rle_ge, Rlt_le, Rdiv_lt_0_compat; assumption. }
  assert (Hbig : ln 2 / eps < ln (INR n + 2)).
  { rewrite <- (ln_exp (ln 2 / eps)). apply ln_increasing; [apply exp_pos|].
    apply le_INR in Hn. lra. }
  apply (Rmult_lt_reg_r (ln (INR n + 2))); [exact L|]. unfold Rdiv.
  rewrite Rmult_assoc, Rinv_l, Rmult_1_r by lra.
  apply (Rmult_lt_reg_r (/ eps)); [apply Rinv_0_lt_compat, He|].
  replace (eps * ln (INR n + 2) * / eps) with (ln (INR n + 2)) by (field; lra). exact Hbig.
Qed.

(** The per-term lower bound on -p ln p. *)
Lemma entropy_term_ge n : (ln 2 / 2) * (ln (ln (INR n + 4)) - ln (ln (INR n + 3))) <= - (p n * ln (p n)).
Proof.
  set (m := INR n + 3). assert (Hm : 3 <= m) by (unfold m; pose proof (pos_INR n); lra).
  pose proof (ln_pos 2 ltac:(lra)) as Ln2.
  set (L2 := ln (m - 1)). set (L3 := ln m).
  assert (HL2 : 0 < L2) by (apply ln_pos; lra). assert (HL3 : 0 < L3) by (apply ln_pos; lra).
  assert (Hgap : ln 2 <= L2) by (apply ln_le_mono; lra).
  assert (HL3ge1 : 1 <= L3).
  { rewrite <- (ln_exp 1). apply ln_le_mono; [apply exp_pos|]. pose proof exp_le_3. lra. }
  assert (HL2L3 : L2 <= L3) by (apply ln_le_mono; lra).
  assert (Hhalf : L3 <= 2 * L2).
  { unfold L2, L3. replace (2 * ln (m - 1)) with (ln ((m - 1) * (m - 1))) by (rewrite ln_mult; lra).
    apply ln_le_mono; nra. }
  assert (Hp : p n = ln 2 * (L3 - L2) / (L2 * L3)).
  { pose proof (ln_nat_pos n 2 ltac:(lra)). pose proof (ln_nat_pos n 3 ltac:(lra)).
    unfold p, f, L2, L3, m. replace (INR n + 3 - 1) with (INR n + 2) by ring. field. split; lra. }
  assert (HD : L3 - L2 = ln (1 + / (m - 1))).
  { unfold L2, L3. replace (1 + / (m - 1)) with (m * / (m - 1)) by (field; lra).
    rewrite ln_mult, ln_Rinv by (try apply Rinv_0_lt_compat; lra). ring. }
  assert (HDlo : / m <= L3 - L2).
  { rewrite HD. apply Rle_trans with (/ (m - 1) / (1 + / (m - 1))); [right; field; lra|].
    apply ln_1_plus_ge. apply Rinv_0_lt_compat. lra. }
  assert (HDhi : L3 - L2 <= / (m - 1)) by (rewrite HD; apply ln_1_plus_le, Rinv_0_lt_compat; lra).
  pose proof (baer_positive n) as Hpos.
  (* p <= 1/(m-1), so ln (1/p) >= ln (m-1) = L2 *)
  assert (Hpup : p n <= / (m - 1)).
  { rewrite Hp. apply Rle_trans with (ln 2 * / (m - 1) / (L2 * L3)).
    - unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; nra|]. apply Rmult_le_compat_l; lra.
    - apply (Rmult_le_reg_r (L2 * L3)); [nra|]. unfold Rdiv. rewrite Rmult_assoc, Rinv_l, Rmult_1_r by nra.
      rewrite (Rmult_comm (/ (m - 1)) (L2 * L3)).
      apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|]. nra. }
  assert (Hlog : L2 <= - ln (p n)).
  { rewrite <- ln_Rinv by exact Hpos. apply ln_le_mono; [lra|].
    apply (Rmult_le_reg_r (p n)); [exact Hpos|]. rewrite Rinv_l by lra.
    apply (Rmult_le_reg_l (/ (m - 1))); [apply Rinv_0_lt_compat; lra|].
    rewrite <- Rmult_assoc, Rinv_l, Rmult_1_l, Rmult_1_r by lra. exact Hpup. }
  (* p >= ln 2 / (m L3^2) *)
  assert (Hplo : ln 2 / (m * (L3 * L3)) <= p n).
  { rewrite Hp. unfold Rdiv.
    apply Rle_trans with (ln 2 * / m * / (L2 * L3)).
    - replace (ln 2 * / (m * (L3 * L3))) with (ln 2 * / m * / (L3 * L3)) by (field; lra).
      apply Rmult_le_compat_l; [apply Rmult_le_pos; [lra | left; apply Rinv_0_lt_compat; lra]|].
      apply Rinv_le_contravar; nra.
    - apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; nra|]. apply Rmult_le_compat_l; lra. }
  (* ln ln (m+1) - ln ln m <= 1 / (m L3) *)
  assert (Hll : ln (ln (m + 1)) - ln (ln m) <= / (m * L3)).
  { assert (Hm1 : 0 < ln (m + 1)) by (apply ln_pos; lra).
    replace (ln (ln (m + 1)) - ln (ln m)) with (ln (ln (m + 1) / ln m)).
    2: { unfold Rdiv. rewrite ln_mult, ln_Rinv by (try apply Rinv_0_lt_compat; fold L3; lra). fold L3. ring. }
    apply Rle_trans with (ln (m + 1) / ln m - 1); [apply ln_le_sub_1, Rdiv_lt_0_compat; fold L3; lra|].
    fold L3. apply Rle_trans with ((ln (m + 1) - L3) / L3); [right; field; lra|].
    assert (Hstep : ln (m + 1) - L3 <= / m).
    { unfold L3. replace (ln (m + 1) - ln m) with (ln (1 + / m)).
      - apply ln_1_plus_le, Rinv_0_lt_compat. lra.
      - replace (1 + / m) with ((m + 1) * / m) by (field; lra).
        rewrite ln_mult, ln_Rinv by (try apply Rinv_0_lt_compat; lra). ring. }
    rewrite Rinv_mult. unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra | exact Hstep]. }
  replace (INR n + 4) with (m + 1) by (unfold m; ring). fold m.
  apply Rle_trans with ((ln 2 / 2) * / (m * L3)); [apply Rmult_le_compat_l; [lra | fold L3 in Hll; exact Hll]|].
  apply Rle_trans with (ln 2 / (m * (L3 * L3)) * L2).
  - apply Rle_trans with (ln 2 / (m * (L3 * L3)) * (L3 / 2)).
    + right. field. split; lra.
    + apply Rmult_le_compat_l; [apply Rlt_le, Rdiv_lt_0_compat; nra | lra].
  - apply Rle_trans with (p n * L2); [apply Rmult_le_compat_r; lra|].
    replace (- (p n * ln (p n))) with (p n * - ln (p n)) by ring. apply Rmult_le_compat_l; lra.
Qed.

Fixpoint entropy_partial (N : nat) : R :=
  match N with O => 0 | S M => entropy_partial M - p M * ln (p M) end.

Lemma entropy_partial_ge N : (ln 2 / 2) * (ln (ln (INR N + 3)) - ln (ln 3)) <= entropy_partial N.
Proof.
  induction N as [|N IH].
  - simpl. replace (0 + 3) with 3 by ring. lra.
  - simpl entropy_partial. pose proof (entropy_term_ge N) as T. rewrite S_INR.
    replace (INR N + 1 + 3) with (INR N + 4) by ring. lra.
Qed.

(** Prop. 2: the entropy of Baer's model is infinite: its partial sums exceed every bound. *)
Theorem baer_entropy_diverges : forall B, exists N, B < entropy_partial N.
Proof.
  intro B. pose proof (ln_pos 2 ltac:(lra)) as Ln2.
  set (target := 2 * B / ln 2 + ln (ln 3)).
  destruct (nat_above (exp (exp target))) as [N HN]. exists N.
  apply Rlt_le_trans with ((ln 2 / 2) * (ln (ln (INR N + 3)) - ln (ln 3))); [|apply entropy_partial_ge].
  assert (H : target < ln (ln (INR N + 3))).
  { rewrite <- (ln_exp target). apply ln_increasing; [apply exp_pos|].
    rewrite <- (ln_exp (exp target)). apply ln_increasing; [apply exp_pos|]. lra. }
  unfold target in H. apply (Rmult_lt_reg_l (2 / ln 2)); [apply Rdiv_lt_0_compat; lra|].
  replace (2 / ln 2 * B) with (2 * B / ln 2) by (field; lra).
  replace (2 / ln 2 * (ln 2 / 2 * (ln (ln (INR N + 3)) - ln (ln 3)))) with (ln (ln (INR N + 3)) - ln (ln 3))
    by (field; lra). lra.
Qed.
