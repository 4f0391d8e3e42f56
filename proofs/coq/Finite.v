(** * Markov, Chebyshev and the AEP (Eq. 11) for finitely supported distributions.

    docs/theory.md#b3 (Eq. 10-11) and #b6 (Eq. 20). A finitely supported distribution is a list of (probability, value)
    pairs with non-negative probabilities summing to 1. For N i.i.d. draws, [sum_dist d N] is the distribution of
    their *sum*; Eq. 11 is then Chebyshev's inequality for the sum, whose variance is N sigma^2:

      P(|S_N / N - mu| >= eps) <= sigma^2 / (N eps^2).

    With values -ln p_i this is the AEP for the mean surprisal of N strings drawn from a finite-support model. *)

From Coq Require Import Reals Lra List.
Import ListNotations.
Open Scope R_scope.

Definition dist := list (R * R).

Definition total (d : dist) : R := fold_right (fun pv s => fst pv + s) 0 d.
Definition expect (d : dist) (f : R -> R) : R := fold_right (fun pv s => fst pv * f (snd pv) + s) 0 d.
Definition nonneg (d : dist) : Prop := Forall (fun pv => 0 <= fst pv) d.

(** The probability of the event [a <= f x]. *)
Definition prob_ge (d : dist) (f : R -> R) (a : R) : R :=
  expect d (fun x => if Rle_dec a (f x) then 1 else 0).

Lemma expect_plus d f g : expect d (fun x => f x + g x) = expect d f + expect d g.
Proof. induction d as [|[p x] d IH]; simpl; [lra|]. rewrite IH. ring. Qed.

Lemma expect_scale d c f : expect d (fun x => c * f x) = c * expect d f.
Proof. induction d as [|[p x] d IH]; simpl; [ring|]. rewrite IH. ring. Qed.

Lemma expect_const d c : expect d (fun _ => c) = c * total d.
Proof. induction d as [|[p x] d IH]; simpl; [ring|]. rewrite IH. ring. Qed.

Lemma expect_ext d f g : (forall x, f x = g x) -> expect d f = expect d g.
Proof. intro H. induction d as [|[p x] d IH]; simpl; [reflexivity|]. rewrite IH, H. reflexivity. Qed.

Lemma expect_mono d f g : nonneg d -> (forall x, f x <= g x) -> expect d f <= expect d g.
Proof.
  intros Hd H. induction d as [|[p x] d IH]; simpl; [lra|].
  inversion Hd as [|? ? Hp Hd']; subst. simpl in Hp.
  specialize (IH Hd'). specialize (H x). apply Rplus_le_compat; [apply Rmult_le_compat_l|]; assumption.
Qed.

(** Markov's inequality: for f >= 0 and a > 0, P(f >= a) <= E[f] / a. *)
Theorem markov d f a : nonneg d -> (forall x, 0 <= f x) -> 0 < a -> prob_ge d f a <= expect d f / a.
Proof.
  intros Hd Hf Ha. unfold prob_ge.
  assert (H : expect d (fun x => if Rle_dec a (f x) then 1 else 0) <= expect d (fun x => / a * f x)).
  { apply expect_mono; [exact Hd|]. intro x. destruct (Rle_dec a (f x)) as [Hle|Hnle].
    - apply (Rmult_le_reg_l a); [exact Ha|]. rewrite <- Rmult_assoc, Rinv_r by lra. lra.
    - specialize (Hf x). apply Rmult_le_pos; [apply Rlt_le, Rinv_0_lt_compat|]; assumption. }
  rewrite expect_scale in H. unfold Rdiv. lra.
Qed.

Definition mean d := expect d (fun x => x).
Definition variance d := expect d (fun x => (x - mean d) ^ 2).

Lemma sq_ge_of_abs_ge y eps : 0 < eps -> eps <= Rabs y -> eps ^ 2 <= y ^ 2.
Proof.
  intros He H. rewrite <- (pow2_abs y). apply pow_incr. split; lra.
Qed.

(** Chebyshev's inequality: P(|X - mu| >= eps) <= Var X / eps^2. *)
Theorem chebyshev d eps : nonneg d -> 0 < eps ->
  expect d (fun x => if Rle_dec eps (Rabs (x - mean d)) then 1 else 0) <= variance d / eps ^ 2.
Proof.
  intros Hd He.
  apply Rle_trans with (prob_ge d (fun x => (x - mean d) ^ 2) (eps ^ 2)).
  - unfold prob_ge. apply expect_mono; [exact Hd|]. intro x.
    destruct (Rle_dec eps (Rabs (x - mean d))) as [H1|H1];
      destruct (Rle_dec (eps ^ 2) ((x - mean d) ^ 2)) as [H2|H2]; try lra.
    exfalso. exact (H2 (sq_ge_of_abs_ge _ _ He H1)).
  - apply markov; [exact Hd| |apply pow_lt, He]. intro x. apply pow2_ge_0.
Qed.

(** The distribution of the sum of n i.i.d. draws from d. *)
Definition step (e : dist) (pv : R * R) : dist := map (fun qs => (fst pv * fst qs, snd pv + snd qs)) e.

Fixpoint sum_dist (d : dist) (n : nat) : dist :=
  match n with
  | O => [(1, 0)]
  | S m => flat_map (step (sum_dist d m)) d
  end.

Lemma expect_app a b f : expect (a ++ b) f = expect a f + expect b f.
Proof. induction a as [|[p x] a IH]; simpl; [ring|]. rewrite IH. ring. Qed.

Lemma expect_step e p x f : expect (step e (p, x)) f = p * expect e (fun s => f (x + s)).
Proof. unfold step. induction e as [|[q s] e IH]; simpl in *; [ring|]. rewrite IH. ring. Qed.

(** One more draw: an outer expectation over d of an inner one over the sum of the others. *)
Lemma expect_flat_map d e f :
  expect (flat_map (step e) d) f = expect d (fun x => expect e (fun s => f (x + s))).
Proof.
  induction d as [|[p x] d IH]; simpl; [reflexivity|].
  rewrite expect_app, expect_step, IH. reflexivity.
Qed.

Lemma expect_sum_dist_S d n f :
  expect (sum_dist d (S n)) f = expect d (fun x => expect (sum_dist d n) (fun s => f (x + s))).
Proof. apply expect_flat_map. Qed.

Lemma nonneg_flat_map d e : nonneg d -> nonneg e -> nonneg (flat_map (step e) d).
Proof.
  intros Hd He. induction d as [|[p x] d IH]; simpl; [constructor|].
  inversion Hd as [|? ? Hp Hd']; subst. simpl in Hp.
  apply Forall_app. split; [|exact (IH Hd')].
  unfold step. apply Forall_map. eapply Forall_impl; [|exact He]. intros [q s] Hq. simpl in *. nra.
Qed.

Lemma nonneg_sum_dist d n : nonneg d -> nonneg (sum_dist d n).
Proof.
  intro Hd. induction n as [|n IH]; simpl.
  - constructor; [simpl; lra | constructor].
  - apply nonneg_flat_map; assumption.
Qed.

Lemma total_as_expect d : total d = expect d (fun _ => 1).
Proof. induction d as [|[p x] d IH]; simpl; [reflexivity|]. rewrite IH. ring. Qed.

Lemma total_sum_dist d n : total d = 1 -> total (sum_dist d n) = 1.
Proof.
  intro Ht. induction n as [|n IH]; simpl; [ring|].
  rewrite total_as_expect, expect_flat_map.
  rewrite (expect_ext d _ (fun _ => 1)); [rewrite <- total_as_expect; exact Ht|].
  intro x. rewrite <- total_as_expect. exact IH.
Qed.

Lemma mean_sum_dist d n : total d = 1 ->
  expect (sum_dist d n) (fun s => s) = INR n * mean d.
Proof.
  intro Ht. induction n as [|n IH]; simpl; [ring|].
  rewrite expect_flat_map.
  rewrite (expect_ext d _ (fun x => x * 1 + INR n * mean d)).
  - rewrite expect_plus, expect_const, Ht. unfold mean.
    rewrite (expect_ext d (fun x => x * 1) (fun x => x)) by (intro; ring).
    destruct n; simpl; ring.
  - intro x. rewrite expect_plus, expect_const, total_sum_dist, IH by exact Ht. ring.
Qed.

(** The variance of the sum of n i.i.d. draws is n times the variance of one draw. *)
Lemma variance_sum_dist d n : total d = 1 ->
  expect (sum_dist d n) (fun s => (s - INR n * mean d) ^ 2) = INR n * variance d.
Proof.
  intro Ht. induction n as [|n IH].
  - simpl. ring.
  - rewrite expect_sum_dist_S.
    assert (Hmean : expect (sum_dist d n) (fun s => s - INR n * mean d) = 0).
    { rewrite (expect_ext _ _ (fun s => s + (- (INR n * mean d)))) by (intro; ring).
      rewrite expect_plus, expect_const, total_sum_dist, mean_sum_dist by exact Ht. ring. }
    rewrite (expect_ext d _ (fun x => (x - mean d) ^ 2 + INR n * variance d)).
    + rewrite expect_plus, expect_const, Ht, S_INR. unfold variance. ring.
    + intro x.
      rewrite (expect_ext _ _ (fun s => ((x - mean d) ^ 2) * 1 + ((2 * (x - mean d)) * (s - INR n * mean d)
                                          + (s - INR n * mean d) ^ 2))).
      * rewrite !expect_plus, !expect_scale, expect_const, total_sum_dist, Hmean, IH by exact Ht. ring.
      * intro s. rewrite S_INR. ring.
Qed.

(** Eq. 11 for finite support: for N >= 1 i.i.d. draws and eps > 0,
    P(|S_N / N - mu| >= eps) <= sigma^2 / (N eps^2). *)
Theorem aep_chebyshev d n eps : nonneg d -> total d = 1 -> (0 < n)%nat -> 0 < eps ->
  expect (sum_dist d n) (fun s => if Rle_dec eps (Rabs (s / INR n - mean d)) then 1 else 0)
    <= variance d / (INR n * eps ^ 2).
Proof.
  intros Hd Ht Hn He.
  assert (HN : 0 < INR n) by (apply lt_0_INR; exact Hn).
  apply Rle_trans with (prob_ge (sum_dist d n) (fun s => (s - INR n * mean d) ^ 2) ((INR n * eps) ^ 2)).
  - unfold prob_ge. apply expect_mono; [apply nonneg_sum_dist, Hd|]. intro s.
    destruct (Rle_dec eps (Rabs (s / INR n - mean d))) as [H1|H1];
      destruct (Rle_dec ((INR n * eps) ^ 2) ((s - INR n * mean d) ^ 2)) as [H2|H2]; try lra.
    exfalso. apply H2. apply sq_ge_of_abs_ge; [nra|].
    replace (s - INR n * mean d) with (INR n * (s / INR n - mean d)) by (field; lra).
    rewrite Rabs_mult, (Rabs_right (INR n)) by lra. nra.
  - apply Rle_trans with (expect (sum_dist d n) (fun s => (s - INR n * mean d) ^ 2) / (INR n * eps) ^ 2).
    + apply markov; [apply nonneg_sum_dist, Hd| intro; apply pow2_ge_0 | apply pow_lt; nra].
    + rewrite variance_sum_dist by exact Ht. right. field. lra.
Qed.
