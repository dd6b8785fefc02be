#!/usr/bin/env python3
"""Fit the f32 tanh of src/backend/math/tanh_logistic.rs (`Em::tanh_f32`). Usage: python3 tools/fit_tanh.py

Method (all f32, branch-free):
  x is clamped to [-XMAX, XMAX] (tanh(9.1) rounds to 1 in f32, so tanh(+-inf) = +-1),
  t = x^2,  n = x * P(t),  q2 = Q2(t),  with n / q2 ~= s = tanh(x / 2)  (half-angle),
  tanh(x) = 2 s / (1 + s^2) = (4 n q2 / 2... ) = n (2 q2) / (q2^2 + n^2)
          -> q4 = q2 + q2;  num = n * q4;  den = fma(q2, q2, n * n);  result = num / den.
Why the half-angle form: a plain rational x P(t) / Q(t) for tanh itself is limited by the
rounding of P and Q near tanh = 1 (each rounding of p, q or the quotient is up to a full
output ulp there; refitted 13/6 and 15/6 rationals measured 5 ulp with FMA, 6 without).
Through s = tanh(x/2) those errors are damped by d tanh / ds = 2 (1 - s^2) / (1 + s^2)^2,
which vanishes as tanh -> 1. P and Q are both scaled by K = 0.9 (the ratio is unchanged) so
that for small x, p and q sit just below 1 (top of their binade, half the relative rounding
error of values just above 1); that takes the small-|x| maximum from 5 to 3 ulp.

Fit: P (degree NP) / Q (degree NQ) in t with P(0) = Q(0) = 1, minimising the maximum
relative error against 2 tanh(x/2) / x by iteratively reweighted linearised least squares
(Sanathanan-Koerner denominator weights, Lawson minimax weights), in f64. The f32 rounded
coefficients are then checked by simulating the f32 evaluation (with FMA: product exact in
f64, one rounding; without: two roundings) against tanh in f64, in ulps, on every STEP-th
f32 in [0, 9.2] (the function is odd and the evaluation symmetric). Needs numpy.
"""
import numpy as np

XMAX = 9.1
NP, NQ = 5, 2
K = 0.9
STEP = 7


def fit(np_deg=NP, nq_deg=NQ, xmax=XMAX, iters=60):
    u = np.cos(np.linspace(np.pi, 0, 40001)) * 0.5 + 0.5  # denser near the ends
    x = u * xmax
    x[0] = 1e-4
    t = x * x
    g = 2 * np.tanh(x / 2) / x
    scale = xmax * xmax
    s = t / scale  # scaled variable for conditioning
    q_prev = np.ones_like(s)
    w = np.ones_like(s)
    best = None
    for it in range(iters):
        # unknowns p1..pNP, q1..qNQ: sum p_k s^k - g sum q_k s^k = g - 1, relative to g Q_prev.
        cols = [s**k for k in range(1, np_deg + 1)] + [-g * s**k for k in range(1, nq_deg + 1)]
        a = np.stack(cols, axis=1)
        ww = np.sqrt(w) / (g * q_prev)
        sol, *_ = np.linalg.lstsq(a * ww[:, None], (g - 1.0) * ww, rcond=None)
        pc = np.concatenate([[1.0], sol[:np_deg]])
        qc = np.concatenate([[1.0], sol[np_deg:]])
        P = np.polyval(pc[::-1], s)
        Q = np.polyval(qc[::-1], s)
        q_prev = Q
        err = np.abs(P / Q / g - 1.0)
        m = err.max()
        if best is None or m < best[0]:
            best = (m, pc.copy(), qc.copy())
        if it >= 10:  # Lawson: emphasise where the error is large
            w = w * (err / m) ** 0.5
            w /= w.sum()
    m, pc, qc = best
    return m, pc / scale ** np.arange(len(pc)), qc / scale ** np.arange(len(qc))


def madd32(a, b, c, fma):
    if fma:
        # a*b is exact in f64 for f32 a, b; one rounding to f64 then to f32 (double
        # rounding is rare enough for a check; the Rust tests are the real gate).
        return (a.astype(np.float64) * b.astype(np.float64) + c).astype(np.float32)
    return (a * b).astype(np.float32) + c


def horner(c, t, fma):
    p = np.full_like(t, c[-1])
    for k in c[-2::-1]:
        p = madd32(p, t, k, fma)
    return p


def eval32(x, p32, q32, fma):
    """The emitted f32 sequence (`p32` = K P, `q32` = 2 K Q, both f32)."""
    f = np.float32
    x = np.minimum(np.maximum(x, f(-XMAX)), f(XMAX))
    t = x * x
    n = x * horner(p32, t, fma)
    q2 = horner(q32, t, fma)
    q4 = q2 + q2
    num = n * q4
    den = madd32(q2, q2, n * n, fma)
    return num / den


def ulps(a, b):
    ia = a.view(np.int32).astype(np.int64)
    ib = b.view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return np.abs(ia - ib)


if __name__ == "__main__":
    m, pc, qc = fit()
    p32 = np.array(pc * K, dtype=np.float32)
    q32 = np.array(qc * 2 * K, dtype=np.float32)
    print(f"relative error of P/Q vs 2 tanh(x/2)/x: {m:.3e} ({m / 2**-24:.3f} x 2^-24)")
    print("K P, t^0 first:  ", ", ".join(repr(v) for v in p32.tolist()))
    print("2 K Q, t^0 first:", ", ".join(repr(v) for v in q32.tolist()))
    hi = np.float32(9.2).view(np.int32)
    x = np.arange(0, hi, STEP, dtype=np.int32).view(np.float32)
    want = np.tanh(x.astype(np.float64)).astype(np.float32)
    for fma in (True, False):
        u = ulps(eval32(x, p32, q32, fma), want)
        print(f"f32 fma={fma}: max {u.max()} ulp at x={x[u.argmax()]:e}; "
              f"{(u > 2).sum()} of {len(x)} inputs over 2 ulp")
    inf = np.array([np.inf, -np.inf, 0.0, -0.0, 9.1, 30.0], dtype=np.float32)
    print("specials inf, -inf, 0, -0, 9.1, 30:", eval32(inf, p32, q32, True).tolist())
