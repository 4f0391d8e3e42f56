"""Number systems: one algorithm, run in float64 or in mpmath at any precision.

Every exact measure in :mod:`typicality.measures` is written once, against the small interface of
:class:`Arithmetic`, and runs either in IEEE float64 (numpy/scipy, the default) or in mpmath at ``dps`` decimal
digits (numpy object arrays of ``mpf``; precision is a context, as in ``mpmath.workdps``).

>>> from fractions import Fraction
>>> with arithmetic(30) as num:
...     x = num.array([Fraction(1, 3)])
...     print(num.to_output(num.log(x)[0]))
-1.09861228866810969139524523692
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import flint
import mpmath
import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

Number = float | int | Fraction | Decimal | str

# Above this many states the float64 path switches to sparse matrices (SuperLU solves, ARPACK eigenpairs).
DENSE_LIMIT = 1500


class Arithmetic:
    """Interface of a number system; see :class:`Float64` and :class:`MPMath`."""

    dps: int | None
    #: relative accuracy that a well-conditioned computation reaches in this number system
    eps: float

    def scalar(self, x: Number) -> Any:
        raise NotImplementedError

    def array(self, values: Sequence[Number] | np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def zeros(self, n: int) -> np.ndarray:
        raise NotImplementedError

    def log(self, x: Any) -> Any:
        raise NotImplementedError

    def exp(self, x: Any) -> Any:
        raise NotImplementedError

    def matrix(self, n: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> Any:
        """The n x n matrix with ``values`` summed at (``rows``, ``cols``)."""
        raise NotImplementedError

    def matvec(self, M: Any, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def solve_resolvent(self, M: Any, rhs: np.ndarray) -> np.ndarray:
        """Solve (I - M) x = rhs."""
        raise NotImplementedError

    def perron(self, M: Any) -> tuple[Any, np.ndarray, np.ndarray]:
        """Perron root of a non-negative irreducible M with left and right Perron vectors."""
        raise NotImplementedError

    def to_output(self, x: Any) -> Any:
        """A user-facing number: ``float`` in float64, ``mpmath.mpf`` otherwise."""
        raise NotImplementedError


class SingularSystemError(ValueError):
    """I − M is singular at the working precision: the series Σ Mᵏ is at (or numerically indistinguishable from) the
    edge of convergence, so its value cannot be computed to the accuracy promised."""


def _singular_hint(precision: str, error: object) -> str:
    return (f"the linear system I − M is numerically singular in {precision} ({error}): the weighted automaton is at "
            "the edge of convergence (spectral radius ≈ 1, e.g. p(eos) far below the precision, or a temperature "
            "that makes the normalizer diverge); more digits (dps) may resolve a p(eos) that small, otherwise the "
            "quantity does not exist")


class Float64(Arithmetic):
    dps = None
    eps = float(np.finfo(np.float64).eps)

    def scalar(self, x: Number) -> float:
        return float(x)

    def array(self, values):
        return np.asarray([float(v) for v in values] if not isinstance(values, np.ndarray) else values,
                          dtype=np.float64)

    def zeros(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.float64)

    def log(self, x):
        with np.errstate(divide="ignore"):
            return np.log(x)

    def exp(self, x):
        return np.exp(x)

    def matrix(self, n, rows, cols, values):
        if n > DENSE_LIMIT:
            return scipy.sparse.csr_matrix((values, (rows, cols)), shape=(n, n))
        flat = np.bincount(np.asarray(rows, dtype=np.int64) * n + np.asarray(cols, dtype=np.int64), weights=values,
                           minlength=n * n).astype(np.float64)  # (an empty bincount is int64)
        return flat.reshape(n, n)

    def matvec(self, M, x):
        return np.asarray(M @ x, dtype=np.float64)

    def solve_resolvent(self, M, rhs):
        n = rhs.shape[0]
        if scipy.sparse.issparse(M):
            A = (scipy.sparse.identity(n, format="csc") - M).tocsc()
            with warnings.catch_warnings():
                warnings.simplefilter("error", scipy.sparse.linalg.MatrixRankWarning)
                try:
                    x = np.asarray(scipy.sparse.linalg.spsolve(A, rhs), dtype=np.float64)
                except (RuntimeError, scipy.sparse.linalg.MatrixRankWarning) as e:
                    raise SingularSystemError(_singular_hint("float64", e)) from None
        else:
            try:
                x = np.linalg.solve(np.eye(n) - M, rhs)
            except np.linalg.LinAlgError as e:
                raise SingularSystemError(_singular_hint("float64", e)) from None
        if not np.isfinite(x).all():
            raise SingularSystemError(_singular_hint("float64", "the solution overflowed"))
        return x

    def perron(self, M):
        n = M.shape[0]
        if n > 1:
            right = _power_iteration(M)
            left = _power_iteration(M.T) if right is not None else None
            if right is not None and left is not None:
                return right[0], left[1], right[1]
        return self._perron_eig(M)

    def _perron_eig(self, M):
        if scipy.sparse.issparse(M) and M.shape[0] > 2:
            vals, right = scipy.sparse.linalg.eigs(M, k=1, which="LR")
            _, left = scipy.sparse.linalg.eigs(M.T.tocsr(), k=1, which="LR")
            rho = float(vals[0].real)
            return rho, np.abs(left[:, 0].real), np.abs(right[:, 0].real)
        M = M.toarray() if scipy.sparse.issparse(M) else M
        vals, left, right = scipy.linalg.eig(M, left=True, right=True)
        # The Perron root of a non-negative matrix is real and has the largest real part (and modulus).
        i = int(np.argmax(vals.real))
        rho = float(vals[i].real)
        return rho, np.abs(left[:, i].real), np.abs(right[:, i].real)

    def to_output(self, x):
        return float(x)


def _power_iteration(M: Any, rtol: float = 4e-15, x0: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
    """Perron root and vector of a non-negative irreducible M by power iteration, or None if too slow.

    Each step brackets the root by the Collatz–Wielandt bounds min_i (Mx)_i/x_i ≤ ρ ≤ max_i (Mx)_i/x_i (x > 0),
    and stops when the bracket is within ``rtol``. M itself is tried first (fast for primitive M); then
    M + I, which is primitive whenever M is irreducible, so it converges for periodic M too. ``x0`` (positive)
    is a starting vector, e.g. the Perron vector of a nearby matrix.
    """
    n = M.shape[0]
    start = np.full(n, 1.0 / n) if x0 is None or not np.all(x0 > 0) else x0 / x0.sum()
    for shift, max_iter in ((0.0, 200), (1.0, 3000)):
        x = start
        for _ in range(max_iter):
            y = M @ x + shift * x
            if not np.all(y > 0):
                break
            ratio = y / x
            lo, hi = ratio.min(), ratio.max()
            x = y / y.sum()
            if hi - lo <= rtol * hi:
                return float((lo + hi) / 2 - shift), x
    return None


def _norm(x: np.ndarray) -> float:
    return math.sqrt(float(np.einsum("i,i->", x, x)))


def gmres(matvec: Any, b: np.ndarray, x0: np.ndarray | None = None, *, rtol: float = 1e-11, restart: int = 40,
          max_steps: int = 600, anorm: float = 0.0) -> tuple[np.ndarray, bool]:
    """Restarted GMRES for A x = b (A given by ``matvec``): (x, converged to ‖b − Ax‖ ≤ rtol(‖b‖ + anorm‖x‖)).

    ``anorm`` (an estimate of ‖A‖) makes the test a backward error: when A is nearly singular (a Perron root of T
    at 1 − 10⁻⁶: ‖x‖ ~ 10⁶‖b‖), ‖b − Ax‖ ≤ rtol‖b‖ is below what rounding in Ax allows, and the iteration would
    spend its whole budget.

    Written here rather than taken from scipy because every inner product goes through ``np.einsum`` (no BLAS):
    scipy's GMRES calls BLAS level-1/2 routines whose thread pool, on a machine whose cores are busy, makes a dot
    product of 10⁴ numbers take milliseconds (a 20x slowdown of the whole solve, measured on 2 busy cores).
    Orthogonalization: classical Gram–Schmidt applied twice (as stable as modified Gram–Schmidt, vectorized).
    """
    n = len(b)
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=np.float64)
    bnorm = _norm(b)
    if bnorm == 0.0:
        return np.zeros(n), True
    steps = 0
    while True:
        r = b - matvec(x) if steps or x0 is not None else b.astype(np.float64, copy=True)
        beta = _norm(r)
        goal = rtol * (bnorm + anorm * _norm(x))
        if beta <= goal:
            return x, True
        if steps >= max_steps or not math.isfinite(beta):
            return x, False
        m = min(restart, max_steps - steps)
        V = np.empty((m + 1, n))
        V[0] = r / beta
        H = np.zeros((m + 1, m))
        g = np.zeros(m + 1)
        g[0] = beta
        cs, sn = np.zeros(m), np.zeros(m)
        k = m
        for j in range(m):
            w = matvec(V[j])
            steps += 1
            h = np.einsum("ij,j->i", V[:j + 1], w)
            w = w - np.einsum("ij,i->j", V[:j + 1], h)
            h2 = np.einsum("ij,j->i", V[:j + 1], w)
            w -= np.einsum("ij,i->j", V[:j + 1], h2)
            H[:j + 1, j] = h + h2
            hn = _norm(w)
            H[j + 1, j] = hn
            for i in range(j):  # the rotations so far, then a new one that zeroes H[j + 1, j]
                a, c = H[i, j], H[i + 1, j]
                H[i, j], H[i + 1, j] = cs[i] * a + sn[i] * c, -sn[i] * a + cs[i] * c
            d = math.hypot(H[j, j], hn)
            if d == 0.0 or not math.isfinite(d):
                k = j
                break
            cs[j], sn[j] = H[j, j] / d, hn / d
            H[j, j], H[j + 1, j] = d, 0.0
            g[j + 1], g[j] = -sn[j] * g[j], cs[j] * g[j]
            if abs(g[j + 1]) <= goal or hn == 0.0:
                k = j + 1
                break
            V[j + 1] = w / hn
        if k == 0:
            return x, False
        y = np.zeros(k)
        for i in range(k - 1, -1, -1):  # back substitution in the k x k triangle
            y[i] = (g[i] - float(np.dot(H[i, i + 1:k], y[i + 1:k]))) / H[i, i]
        x = x + np.einsum("ij,i->j", V[:k], y)


class SparseResolventSolver:
    """Approximate solutions of A x = b for one sparse nonsingular M-matrix A = D − O, reused for every right-hand
    side: restarted GMRES (right-preconditioned by the diagonal) with iterative refinement, SuperLU (COLAMD
    ordering) when GMRES does not reach ``rtol``.

    A direct factorization of the transition matrix of an n-gram model fills in (a random bigram with 20
    successors per context and 2,000 contexts: SuperLU takes ~1 s, ~n² fill); the spectrum of I − T is
    clustered near 1 (one outlier, the Perron root of T), which Krylov methods resolve in a few dozen steps.
    No accuracy rests on this class: callers bound the error of what it returns from rigorous residuals.
    ``stats`` counts solves, matrix–vector products and factorizations.
    """

    #: "gmres" (the default), or "splu": factorize at once, as before GMRES (kept for benchmarks' baselines)
    method = "gmres"
    #: SuperLU is tried after a GMRES failure up to this many unknowns (its fill-in grows like n²)
    LU_LIMIT = 5_000

    def __init__(self, A: Any, *, rtol: float = 1e-14, restart: int = 40, max_steps: int = 600,
                 lu_limit: int | None = None) -> None:
        self.A = A.tocsr()
        self.n = A.shape[0]
        d = self.A.diagonal()
        self._dinv = np.where(np.isfinite(d) & (d != 0), 1.0 / np.where(d != 0, d, 1.0), 1.0)
        self.rtol, self.restart, self.max_steps = rtol, restart, max_steps
        self.lu_limit = self.LU_LIMIT if lu_limit is None else lu_limit
        self._abs = abs(self.A)
        # ‖A D⁻¹‖ (the preconditioned operator GMRES sees), bounded by its largest absolute row sum
        self._anorm = float((self._abs @ np.abs(self._dinv)).max()) if self.n else 0.0
        self._lu: Any = None
        self._lu_failed = False
        self.stats = {"solves": 0, "matvecs": 0, "factorizations": 0, "gmres_failures": 0}

    def _gmres(self, b: np.ndarray, x0: np.ndarray | None) -> tuple[np.ndarray, bool]:
        dinv = self._dinv

        def mv(y: np.ndarray) -> np.ndarray:
            self.stats["matvecs"] += 1
            return self.A @ (dinv * y)

        y, ok = gmres(mv, b, None if x0 is None else x0 / dinv, rtol=max(self.rtol, 1e-11),
                      restart=self.restart, max_steps=self.max_steps, anorm=self._anorm)
        x = dinv * y
        return x, ok and bool(np.all(np.isfinite(x)))

    def solve(self, b: np.ndarray) -> np.ndarray:
        """x ≈ A⁻¹ b (NaN where no solver succeeds)."""
        self.stats["solves"] += 1
        b = np.asarray(b, dtype=np.float64)
        if self._lu is None and self.method == "splu":
            self._factor(limit=self.n)
        if self._lu is not None:
            return np.asarray(self._lu.solve(b), dtype=np.float64)
        scale = float(np.max(np.abs(b))) if len(b) else 0.0
        if scale == 0.0 or not math.isfinite(scale):
            return np.zeros(self.n) if scale == 0.0 else np.full(self.n, np.nan)
        with np.errstate(all="ignore"):
            x, ok = self._gmres(b, None)
            for _ in range(4):  # refinement: each pass gains ~11 digits
                if not ok:
                    break
                r = b - self.A @ x
                self.stats["matvecs"] += 1
                size = float(np.max(np.abs(r)))
                if size <= self.rtol * (scale + float(np.max(self._abs @ np.abs(x)))):
                    return x
                dx, ok = self._gmres(r, None)
                x = x + dx
        self.stats["gmres_failures"] += 1
        if self._factor():
            return np.asarray(self._lu.solve(b), dtype=np.float64)
        return x if ok else np.full(self.n, np.nan)

    def _factor(self, limit: int | None = None) -> bool:
        if self._lu is None and not self._lu_failed and self.n <= (self.lu_limit if limit is None else limit):
            try:
                self._lu = scipy.sparse.linalg.splu(self.A.tocsc(), permc_spec="COLAMD")
                self.stats["factorizations"] += 1
            except RuntimeError:
                self._lu_failed = True
        return self._lu is not None


class MPMath(Arithmetic):
    """mpmath at ``dps`` digits; use inside ``with arithmetic(dps)`` so the context precision applies."""

    def __init__(self, dps: int):
        self.dps = dps
        self.eps = float(mpmath.mpf(10) ** (-dps))
        self._log = np.frompyfunc(mpmath.log, 1, 1)
        self._exp = np.frompyfunc(mpmath.exp, 1, 1)

    def scalar(self, x: Number):
        if isinstance(x, Fraction):
            return mpmath.mpf(x.numerator) / x.denominator
        if isinstance(x, Decimal):
            return mpmath.mpf(str(x))
        return mpmath.mpf(x)

    def array(self, values):
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = self.scalar(v)
        return out

    def zeros(self, n: int) -> np.ndarray:
        out = np.empty(n, dtype=object)
        out[...] = mpmath.mpf(0)
        return out

    def log(self, x):
        if isinstance(x, np.ndarray):
            return self._log(x) if x.size else x
        return mpmath.log(x)

    def exp(self, x):
        if isinstance(x, np.ndarray):
            return self._exp(x) if x.size else x
        return mpmath.exp(x)

    def matrix(self, n, rows, cols, values):
        M = np.empty((n, n), dtype=object)
        M[...] = mpmath.mpf(0)
        for r, c, v in zip(rows.tolist(), cols.tolist(), values, strict=True):
            M[r, c] += v
        return M

    def matvec(self, M, x):
        return M.dot(x)

    def solve_resolvent(self, M, rhs):
        n = rhs.shape[0]
        if n == 0:
            return rhs
        A = mpmath.eye(n) - mpmath.matrix(M.tolist())
        try:
            x = mpmath.lu_solve(A, mpmath.matrix(rhs.tolist()))
        except ZeroDivisionError as e:  # mpmath: "matrix is numerically singular"
            raise SingularSystemError(_singular_hint(f"{mpmath.mp.dps} digits", e)) from None
        return np.array([x[i] for i in range(n)], dtype=object)

    def perron(self, M):
        n = M.shape[0]
        if n == 1:
            one = np.array([mpmath.mpf(1)], dtype=object)
            return M[0, 0], one, one
        E, EL, ER = mpmath.eig(mpmath.matrix(M.tolist()), left=True, right=True)
        i = max(range(n), key=lambda k: mpmath.re(E[k]))
        rho = mpmath.re(E[i])
        left = np.array([abs(mpmath.re(EL[i, k])) for k in range(n)], dtype=object)
        right = np.array([abs(mpmath.re(ER[k, i])) for k in range(n)], dtype=object)
        return rho, left, right

    def to_output(self, x):
        return mpmath.mpf(x)


#: the smallest positive normal float64; below it a float64 has fewer than 53 significant bits
FLOAT64_TINY = float(np.finfo(np.float64).tiny)
_LN2 = math.log(2)


def log_fraction(p: Fraction) -> float:
    """log p in float64 for an exact rational 0 < p ≤ 1 of any size, to a few units in the last place.

    ``math.log(float(p))`` is wrong twice over: below float64's range (p = 10⁻⁴⁰⁰) float(p) is 0, and near 1
    (p = 1 − 10⁻¹⁶) float(p) has lost the difference 1 − p that log p consists of. Here p > ½ goes through
    log1p(−(1 − p)) with 1 − p exact, and p below the normal range through p = m·2⁻ᵏ with m in [½, 1) exact.
    The absolute error is at most 4u·|log p| + 2⁻¹⁰⁷⁴ (u = 2⁻⁵³; the second term for 1 − p below float64's range),
    the bound that the float64 error analysis of :mod:`typicality.measures.finite_state` assumes.
    """
    if p > Fraction(1, 2):
        return math.log1p(-float(1 - p))
    f = float(p)
    if f >= FLOAT64_TINY:
        return math.log(f)
    k = p.denominator.bit_length() - p.numerator.bit_length()
    m = p * (Fraction(2) ** k)  # in [½, 2)
    return math.log(float(m)) - k * _LN2


def log_fractions(probs: Sequence[Fraction], floats: np.ndarray) -> np.ndarray:
    """``log_fraction`` of many probabilities; ``floats`` are their float64 values (vectorized where exact)."""
    with np.errstate(divide="ignore"):
        out = np.log(floats)
    special = np.flatnonzero((floats > 0.5) | (floats < FLOAT64_TINY))
    for i in special.tolist():
        out[i] = log_fraction(probs[i])
    return out


def mp_log_fraction(p: Fraction) -> Any:
    """log p at the current mpmath precision for an exact rational 0 < p ≤ 1 (log1p(−(1 − p)) above ½)."""
    if p > Fraction(1, 2):
        q = 1 - p
        return mpmath.log1p(-(mpmath.mpf(q.numerator) / q.denominator))
    return mpmath.log(mpmath.mpf(p.numerator) / p.denominator)


class Arb(Arithmetic):
    """Ball arithmetic (python-flint ``arb``) at ``prec`` bits: every number is an interval that contains the exact
    value of what it stands for, so a result's radius *is* its error bound (certified, not estimated).

    Arrays are numpy object arrays of ``arb``; matrices are ``arb_mat``. Exact inputs (Fractions) enter as balls
    around their rounded value, so nothing is lost below float64's range or near 1. Use inside
    ``with Arb.context(prec) as num`` (flint's precision is a global context, set and restored there).
    """

    def __init__(self, prec: int):
        self.prec = prec
        self.dps = max(1, int(prec * 0.30103))
        self.eps = 2.0 ** -prec

    @staticmethod
    @contextlib.contextmanager
    def context(prec: int) -> Iterator[Arb]:
        with flint.ctx.workprec(prec):
            yield Arb(prec)

    def scalar(self, x: Number | Any) -> Any:
        if isinstance(x, flint.arb):
            return x
        if isinstance(x, Fraction):
            return flint.arb(flint.fmpq(x.numerator, x.denominator))
        if isinstance(x, int):
            return flint.arb(x)
        return self.scalar(as_fraction(x, name="number"))

    def array(self, values):
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = self.scalar(v)
        return out

    def zeros(self, n: int) -> np.ndarray:
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = flint.arb(0)
        return out

    def log(self, x):
        if isinstance(x, np.ndarray):
            return np.array([v.log() for v in x], dtype=object).reshape(x.shape)
        return x.log()

    def exp(self, x):
        if isinstance(x, np.ndarray):
            return np.array([v.exp() for v in x], dtype=object).reshape(x.shape)
        return x.exp()

    def log_fractions(self, probs: Sequence[Fraction]) -> np.ndarray:
        """Balls around log p for exact 0 < p ≤ 1 (log1p(−(1 − p)) above ½, so p near 1 keeps its digits)."""
        out = np.empty(len(probs), dtype=object)
        for i, p in enumerate(probs):
            if p > Fraction(1, 2):
                q = 1 - p
                out[i] = flint.arb(flint.fmpq(-q.numerator, q.denominator)).log1p()
            else:
                out[i] = flint.arb(flint.fmpq(p.numerator, p.denominator)).log()
        return out

    def matrix(self, n, rows, cols, values):
        M = flint.arb_mat(n, n)
        for r, c, v in zip(rows.tolist(), cols.tolist(), values, strict=True):
            M[r, c] += v
        return M

    def matvec(self, M, x):
        y = M * flint.arb_mat(len(x), 1, list(x))
        return np.array([y[i, 0] for i in range(len(x))], dtype=object)

    def solve(self, A: Any, columns: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        """Enclosures of A⁻¹ b for each column b; None where A is not certainly invertible at this precision."""
        n = A.nrows()
        if n == 0:
            return [np.empty(0, dtype=object) for _ in columns]
        B = flint.arb_mat(n, len(columns))
        for k, col in enumerate(columns):
            for i in range(n):
                B[i, k] = col[i]
        try:
            X = A.solve(B)
        except ZeroDivisionError:
            return None
        return [np.array([X[i, k] for i in range(n)], dtype=object) for k in range(len(columns))]

    def to_output(self, x):
        return x


def arb_to_mpf(x: Any) -> Any:
    """The midpoint of an ``arb`` ball as an exact ``mpmath.mpf`` (rounded only by the current mpmath precision)."""
    man, exp = x.mid().man_exp()
    return mpmath.mpf((int(man), int(exp)))


@contextlib.contextmanager
def arithmetic(dps: int | None = None) -> Iterator[Arithmetic]:
    """Float64 when ``dps`` is None, else mpmath with ``dps`` decimal digits for the duration of the block."""
    check_dps(dps)
    if dps is None:
        yield Float64()
        return
    with mpmath.workdps(dps):
        yield MPMath(dps)


#: the most decimal digits of working precision a computation may ask for (beyond it, work grows without bound)
MAX_DPS = 2000
#: the longest decimal string and the largest decimal exponent accepted as an exact number: 1e-99999999 is a
#: 130-byte file whose exact value has 330 million bits, so a bound keeps parsing to milliseconds
MAX_NUMBER_CHARS = 10_000
MAX_DECIMAL_EXPONENT = 10_000


def check_dps(dps: int | None) -> None:
    """Validate a ``dps`` argument without entering a context: an int in [5, :data:`MAX_DPS`]."""
    if dps is None:
        return
    if isinstance(dps, bool) or not isinstance(dps, int):
        raise TypeError(f"dps must be an int or None, got {dps!r}")
    if dps < 5:
        raise ValueError(f"dps must be at least 5, got {dps}")
    if dps > MAX_DPS:
        raise ValueError(f"dps must be at most {MAX_DPS} (digits of working precision), got {dps}")


def _short(text: str, keep: int = 24) -> str:
    """A long number's repr, cut in the middle."""
    return repr(text) if len(text) <= 2 * keep else repr(text[:keep] + "…" + text[-keep:])


def as_fraction(x: Number, *, name: str) -> Fraction:
    """Exact rational value of a probability as written (a float is taken at its exact binary value)."""
    if isinstance(x, bool):
        raise TypeError(f"{name} must be a number, got {x!r}")
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"{name} must be finite, got {x!r}")
        return Fraction(x)
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise ValueError(f"{name} must be finite, got {x!r}")
        if x and abs(x.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise ValueError(f"{name} = {_short(str(x))} has a decimal exponent beyond ±{MAX_DECIMAL_EXPONENT}: "
                             "its exact value would take too long to compute")
        return Fraction(x)
    if isinstance(x, np.floating | np.integer):
        return as_fraction(x.item(), name=name)
    if isinstance(x, str):
        if len(x) > MAX_NUMBER_CHARS:
            raise ValueError(f"{name} = {_short(x)} is a number of {len(x):,} characters (at most "
                             f"{MAX_NUMBER_CHARS:,} are accepted)")
        try:
            return as_fraction(Decimal(x), name=name)
        except ArithmeticError:
            try:
                return Fraction(x)
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"{name} must be a number, got {x!r}") from None
    if isinstance(x, mpmath.mpf):
        if not mpmath.isfinite(x):
            raise ValueError(f"{name} must be finite, got {x!r}")
        m, e = mpmath.mpf(x).man_exp
        return Fraction(int(m)) * (Fraction(2) ** int(e))
    raise TypeError(f"{name} must be a number, got {type(x).__name__} {x!r}")
