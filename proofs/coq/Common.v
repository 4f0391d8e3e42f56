(** * Elementary real inequalities shared by the other files.

    Everything rests on 1 + x <= exp x (from the standard library's [exp_ineq1]): ln y <= y - 1,
    ln (1 + x) >= x / (1 + x), Young's inequality u^l v^(1-l) <= l u + (1-l) v (convexity of exp), and Hoelder's
    inequality for finite lists, sum x_i^l y_i^(1-l) <= (sum x_i)^l (sum y_i)^(1-l). *)

From Coq Require Import Reals Lra Lia List ZArith.
Import ListNotations.
Open Scope R_scope.

Lemma exp_ge_1_plus x : 1 + x <= exp x.
Proof.
  destruct (Req_dec x 0) as [->|H].
  - rewrite exp_0. lra.
  - left. apply exp_ineq1, H.
Qed.

Lemma ln_le_sub_1 y : 0 < y -> ln y <= y - 1.
Proof. intro H. pose proof (exp_ge_1_plus (ln y)) as E. rewrite exp_ln in E by exact H. lra. Qed.

Lemma ln_1_plus_ge x : 0 < x -> x / (1 + x) <= ln (1 + x).
Proof.
  intro H. assert (H1 : 0 < 1 + x) by lra.
  pose proof (ln_le_sub_1 (/ (1 + x)) (Rinv_0_lt_compat _ H1)) as L.
  rewrite ln_Rinv in L by exact H1.
  replace (x / (1 + x)) with (- (/ (1 + x) - 1)) by (field; lra). lra.
Qed.

Lemma ln_1_plus_le x : 0 < x -> ln (1 + x) <= x.
Proof. intro H. pose proof (ln_le_sub_1 (1 + x)). lra. Qed.

(** Convexity of exp: exp (l a + (1-l) b) <= l exp a + (1-l) exp b, from the tangent line at the midpoint. *)
Lemma exp_convex a b l : 0 <= l <= 1 -> exp (l * a + (1 - l) * b) <= l * exp a + (1 - l) * exp b.
Proof.
  intros Hl. set (m := l * a + (1 - l) * b).
  assert (Ea : exp m * (1 + (a - m)) <= exp a).
  { replace (exp a) with (exp m * exp (a - m)) by (rewrite <- exp_plus; f_equal; ring).
    apply Rmult_le_compat_l; [left; apply exp_pos | apply exp_ge_1_plus]. }
  assert (Eb : exp m * (1 + (b - m)) <= exp b).
  { replace (exp b) with (exp m * exp (b - m)) by (rewrite <- exp_plus; f_equal; ring).
    apply Rmult_le_compat_l; [left; apply exp_pos | apply exp_ge_1_plus]. }
  assert (Hm : l * (a - m) + (1 - l) * (b - m) = 0) by (unfold m; ring).
  apply Rle_trans with (l * (exp m * (1 + (a - m))) + (1 - l) * (exp m * (1 + (b - m)))).
  - right. replace (l * (exp m * (1 + (a - m))) + (1 - l) * (exp m * (1 + (b - m))))
      with (exp m * (1 + (l * (a - m) + (1 - l) * (b - m)))) by ring.
    rewrite Hm. ring.
  - apply Rplus_le_compat; apply Rmult_le_compat_l; lra.
Qed.

(** Young's inequality (weighted AM-GM). *)
Lemma young u v l : 0 < u -> 0 < v -> 0 <= l <= 1 -> Rpower u l * Rpower v (1 - l) <= l * u + (1 - l) * v.
Proof.
  intros Hu Hv Hl. unfold Rpower. rewrite <- exp_plus.
  rewrite <- (exp_ln u) at 2 by exact Hu. rewrite <- (exp_ln v) at 2 by exact Hv.
  replace (l * ln u + (1 - l) * ln v) with (l * ln u + (1 - l) * ln v) by ring.
  apply exp_convex, Hl.
Qed.

(** Sums over lists. *)
Definition lsum (xs : list R) : R := fold_right Rplus 0 xs.

Lemma lsum_map_plus {A} (f g : A -> R) (l : list A) :
  lsum (map (fun a => f a + g a) l) = lsum (map f l) + lsum (map g l).
Proof. induction l as [|a l IH]; simpl; [ring|]. rewrite IH. ring. Qed.

Lemma lsum_map_scale {A} (c : R) (f : A -> R) (l : list A) :
  lsum (map (fun a => c * f a) l) = c * lsum (map f l).
Proof. induction l as [|a l IH]; simpl; [ring|]. rewrite IH. ring. Qed.

Lemma lsum_map_scale_r {A} (c : R) (f : A -> R) (l : list A) :
  lsum (map (fun a => f a * c) l) = lsum (map f l) * c.
Proof. induction l as [|a l IH]; simpl; [ring|]. rewrite IH. ring. Qed.

Lemma lsum_map_le {A} (f g : A -> R) (l : list A) :
  (forall a, In a l -> f a <= g a) -> lsum (map f l) <= lsum (map g l).
Proof.
  induction l as [|a l IH]; simpl; intro H; [lra|].
  apply Rplus_le_compat; [apply H; left; reflexivity | apply IH; intros; apply H; right; assumption].
Qed.

Lemma lsum_map_nonneg {A} (f : A -> R) (l : list A) :
  (forall a, In a l -> 0 <= f a) -> 0 <= lsum (map f l).
Proof.
  induction l as [|a l IH]; simpl; intro H; [lra|].
  pose proof (H a (or_introl eq_refl)). pose proof (IH (fun b Hb => H b (or_intror Hb))). lra.
Qed.

Lemma lsum_map_pos {A} (f : A -> R) (l : list A) :
  l <> [] -> (forall a, In a l -> 0 < f a) -> 0 < lsum (map f l).
Proof.
  destruct l as [|a l]; [contradiction|]. intros _ H. simpl.
  pose proof (H a (or_introl eq_refl)).
  pose proof (lsum_map_nonneg f l (fun b Hb => Rlt_le _ _ (H b (or_intror Hb)))). lra.
Qed.

Lemma Rpower_div x y l : 0 < x -> 0 < y -> Rpower (x / y) l = Rpower x l / Rpower y l.
Proof.
  intros Hx Hy. unfold Rpower, Rdiv. rewrite ln_mult, ln_Rinv by (try apply Rinv_0_lt_compat; assumption).
  rewrite <- exp_Ropp, <- exp_plus. f_equal. ring.
Qed.

Lemma Rpower_pos x l : 0 < Rpower x l.
Proof. apply exp_pos. Qed.

(** Hoelder's inequality for finite lists (positive terms). *)
Theorem holder {A} (x y : A -> R) (L : list A) l :
  L <> [] -> (forall a, In a L -> 0 < x a /\ 0 < y a) -> 0 <= l <= 1 ->
  lsum (map (fun a => Rpower (x a) l * Rpower (y a) (1 - l)) L)
    <= Rpower (lsum (map x L)) l * Rpower (lsum (map y L)) (1 - l).
Proof.
  intros HL Hpos Hl.
  set (X := lsum (map x L)). set (Y := lsum (map y L)).
  assert (HX : 0 < X) by (apply lsum_map_pos; [exact HL | intros; apply Hpos; assumption]).
  assert (HY : 0 < Y) by (apply lsum_map_pos; [exact HL | intros; apply Hpos; assumption]).
  set (C := Rpower X l * Rpower Y (1 - l)).
  assert (HC : 0 < C) by (unfold C; apply Rmult_lt_0_compat; apply Rpower_pos).
  apply Rle_trans with (lsum (map (fun a => C * (l * (x a / X) + (1 - l) * (y a / Y))) L)).
  - apply lsum_map_le. intros a Ha. destruct (Hpos a Ha) as [Hxa Hya].
    pose proof (young (x a / X) (y a / Y) l (Rdiv_lt_0_compat _ _ Hxa HX) (Rdiv_lt_0_compat _ _ Hya HY) Hl) as Y'.
    rewrite !Rpower_div in Y' by assumption.
    apply (Rmult_le_compat_l C) in Y'; [|lra].
    replace (C * (Rpower (x a) l / Rpower X l * (Rpower (y a) (1 - l) / Rpower Y (1 - l))))
      with (Rpower (x a) l * Rpower (y a) (1 - l)) in Y'.
    + exact Y'.
    + unfold C. field. split; apply Rgt_not_eq, Rpower_pos.
  - right. rewrite lsum_map_scale, lsum_map_plus, !lsum_map_scale.
    unfold Rdiv. rewrite !lsum_map_scale_r. fold X Y. field. lra.
Qed.

Lemma frac_in_01 x y : 0 <= x -> x <= y -> 0 < y -> 0 <= x / y <= 1.
Proof.
  intros H0 H1 H2. split.
  - apply Rmult_le_pos; [lra | left; apply Rinv_0_lt_compat; lra].
  - apply (Rmult_le_reg_r y); [lra|]. unfold Rdiv. rewrite Rmult_assoc, Rinv_l, Rmult_1_r by lra. lra.
Qed.

Lemma exp_le_exp_of x y : x <= y -> exp x <= exp y.
Proof. intros [H|H]; [left; apply exp_increasing, H | right; rewrite H; reflexivity]. Qed.

Lemma nat_above M : exists n : nat, M < INR n.
Proof.
  destruct (archimed M) as [H _].
  destruct (Z_lt_le_dec 0 (up M)) as [Hpos|Hneg].
  - exists (Z.to_nat (up M)). rewrite INR_IZR_INZ, Z2Nat.id by lia. lra.
  - exists O. simpl. apply IZR_le in Hneg. lra.
Qed.

Lemma Rpower_1_base x : Rpower 1 x = 1.
Proof. unfold Rpower. rewrite ln_1, Rmult_0_r. apply exp_0. Qed.

Lemma Rpower_le_base x y a : 0 < x -> x <= y -> 0 <= a -> Rpower x a <= Rpower y a.
Proof.
  intros Hx Hxy Ha. unfold Rpower. apply exp_le_exp_of. apply Rmult_le_compat_l; [exact Ha|].
  destruct Hxy as [Hlt|Heq]; [left; apply ln_increasing; assumption | right; rewrite Heq; reflexivity].
Qed.

Lemma Rpower_nat_mult x c n : 0 < x -> Rpower x (INR n * c) = Rpower x c ^ n.
Proof.
  intro Hx. induction n as [|n IH].
  - simpl. rewrite Rmult_0_l. apply Rpower_O, Hx.
  - rewrite S_INR, Rmult_plus_distr_r, Rmult_1_l, Rpower_plus, IH. simpl. ring.
Qed.

Lemma ln_le_mono x y : 0 < x -> x <= y -> ln x <= ln y.
Proof. intros Hx [H|H]; [left; apply ln_increasing; assumption | right; rewrite H; reflexivity]. Qed.

Lemma ln_pos x : 1 < x -> 0 < ln x.
Proof. intro H. rewrite <- ln_1. apply ln_increasing; lra. Qed.
