#!/usr/bin/env python3
"""JAX's values for structured control flow (tests/control_flow_vs_jax.rs).

For each case: the inputs (fixed pseudo-random values) and JAX's outputs of a function built
around while_loop, fori_loop, scan, cond, switch or map, eagerly and under vmap, grad, jvp and
jacfwd. The Rust test builds the same functions with cranax's lax and compares; each function
below says how it is written there. f64 (jax_enable_x64) except the f32 workload case.

Run from the repository root: pip install jax && python3 tests/data/gen_jax_control_flow.py
Deterministic: running it again rewrites the identical file.
"""
import json
import os

import numpy as np
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def ints(a):
    return [int(v) for v in np.asarray(a).ravel()]


def arr(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "dtype": str(a.dtype), "data": flat(a)}


def values(shape, seed, lo=-1.5, hi=1.5):
    return np.random.RandomState(seed).uniform(lo, hi, size=shape)


# --- while_loop: Newton's square root with a per-element trip count -----------------------


def newton_sqrt(a, tol):
    """(x, i): x = (x + a/x)/2 from x = a while |x*x - a| > tol*a and i < 100 (i an int32)."""

    def cond(c):
        x, i = c
        return (jnp.abs(x * x - a) > tol * a) & (i < 100)

    def body(c):
        x, i = c
        return 0.5 * (x + a / x), i + 1

    return lax.while_loop(cond, body, (a, jnp.int32(0)))


# --- fori_loop: the workload's RK4 of y' = -k y + sin t (h = 0.01, t = i h) ----------------


def rk4(y0, k, steps):
    def f(t, y):
        return -k * y + jnp.sin(t)

    def step(i, y):
        t, h = i * 0.01, 0.01
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    return jnp.sum(lax.fori_loop(0, steps, step, y0))


# --- scan: the workload's RNN -----------------------------------------------------------


def rnn_loss(W, U, xs):
    def step(h, x):
        h = jnp.tanh(W @ h + U @ x)
        return h, jnp.sum(h)

    h, ys = lax.scan(step, jnp.zeros(W.shape[0]), xs)
    return jnp.sum(h) + jnp.mean(ys)


# --- scan with a vector carry and two stacked outputs, for jacfwd -------------------------


def scan_stacked(x):
    """x: (8,) -> xs = x.reshape(4, 2); carry c (2,) from [1, -0.5];
    step: c' = sin(c) * x + 0.5 c, ys = (c' * c', cos(c) - x);
    out = concatenate([c_final, ys0.ravel(), ys1.ravel()]) of shape (18,)."""

    def step(c, x):
        c2 = jnp.sin(c) * x + 0.5 * c
        return c2, (c2 * c2, jnp.cos(c) - x)

    c, (y0, y1) = lax.scan(step, jnp.array([1.0, -0.5]), x.reshape(4, 2))
    return jnp.concatenate([c, y0.ravel(), y1.ravel()])


# --- cond under vmap(grad) ----------------------------------------------------------------


def cond_fn(x):
    """x > 0.25: sin(x) * x**2 * 1.5; else cos(x) - 1.5 x (1.5 a constant both close over)."""
    c = jnp.float64(1.5)
    return lax.cond(x > 0.25, lambda x: jnp.sin(x) * x**2 * c, lambda x: jnp.cos(x) - c * x, x)


# --- switch -------------------------------------------------------------------------------

BRANCHES = [lambda x: x * 2.0, lambda x: jnp.sin(x), lambda x: x**3 - 1.0]


def switch_fn(i, x):
    return lax.switch(i, BRANCHES, x)


# --- eager values of each primitive -------------------------------------------------------


def while_pytree(x, v):
    """carry (x, v, n): while x < 100: (x * 1.5 + 1, v * 0.9 + x, n + 1); n an int32."""

    def cond(c):
        return c[0] < 100.0

    def body(c):
        x, v, n = c
        return x * 1.5 + 1.0, v * 0.9 + x, n + 1

    return lax.while_loop(cond, body, (x, v, jnp.int32(0)))


def scan_two(c, xa, xb, reverse):
    """carry (c (3,), s ()), xs (xa (5, 3), xb (5,)):
    c' = 0.9 c + xa * xb, s' = s + sum(xa); ys = (c + xa, s * xb)."""

    def step(carry, x):
        c, s = carry
        a, b = x
        return (0.9 * c + a * b, s + jnp.sum(a)), (c + a, s * b)

    return lax.scan(step, (c, jnp.float64(0.25)), (xa, xb), reverse=reverse)


def cond_pytree(p, x, y):
    """cond(p, (x, y) -> (x * y, sin(y)), (x, y) -> (x - y, cos(x) * 2))."""
    return lax.cond(p, lambda o: (o[0] * o[1], jnp.sin(o[1])),
                    lambda o: (o[0] - o[1], jnp.cos(o[0]) * 2.0), (x, y))


def map_fn(xs):
    """map(x -> sum(sin(x) * x), xs (4, 3))."""
    return lax.map(lambda x: jnp.sum(jnp.sin(x) * x), xs)


def fori_traced(lo, hi, x):
    """jit over the bounds, so they are traced (a while loop): x = x * 0.5 + sin(i) for i in lo..hi."""
    return jax.jit(lambda lo, hi, x: lax.fori_loop(lo, hi, lambda i, x: x * 0.5 + jnp.sin(i * 1.0), x))(lo, hi, x)


def main():
    out = {"jax": jax.__version__, "cases": {}}
    cases = out["cases"]

    # while_loop Newton sqrt under vmap: values and per-element iteration counts, f64.
    a = np.array([0.01, 0.5, 1.0, 2.0, 10.0, 123.456, 1e4, 7e7])
    x, n = jax.vmap(lambda a: newton_sqrt(a, 1e-12))(a)
    t = values(a.shape, 1)
    _, tx = jax.jvp(lambda a: jax.vmap(lambda a: newton_sqrt(a, 1e-12)[0])(a), (a,), (t,))
    _, tx0 = jax.jvp(lambda a: newton_sqrt(a, 1e-12)[0], (a[5],), (t[5],))
    cases["newton_sqrt_vmap"] = {"a": flat(a), "x": flat(x), "iters": ints(n), "t": flat(t),
                                 "jvp": flat(tx), "jvp_scalar_a": float(a[5]),
                                 "jvp_scalar_t": float(t[5]), "jvp_scalar": float(tx0)}

    # The workload's f32 Newton (tol 1e-5): its inputs' kind, values and counts.
    a32 = (np.abs(np.random.RandomState(2).normal(size=16)) * 100 + 0.01).astype(np.float32)
    x32, n32 = jax.vmap(lambda a: newton_sqrt(a, 1e-5))(jnp.asarray(a32))
    assert x32.dtype == np.float32
    cases["newton_sqrt_vmap_f32"] = {"a": flat(a32), "x": flat(x32), "iters": ints(n32)}

    # fori_loop RK4: value and grad wrt (y0, k); 50 steps, n = 8.
    y0 = values((8,), 3)
    k = 0.7
    f = lambda y0, k: rk4(y0, k, 50)
    val, (gy0, gk) = jax.value_and_grad(f, argnums=(0, 1))(y0, k)
    cases["rk4_grad"] = {"y0": flat(y0), "k": k, "steps": 50, "value": float(val),
                         "grad_y0": flat(gy0), "grad_k": float(gk)}

    # scan RNN: value and grad wrt (W, U); T = 20, h = 8, x = 4.
    W = values((8, 8), 4, -0.4, 0.4)
    U = values((8, 4), 5, -0.4, 0.4)
    xs = values((20, 4), 6)
    val, (gW, gU) = jax.value_and_grad(rnn_loss, argnums=(0, 1))(W, U, xs)
    cases["rnn_grad"] = {"W": arr(W), "U": arr(U), "xs": arr(xs), "value": float(val),
                         "grad_W": arr(gW), "grad_U": arr(gU)}

    # scan with stacked outputs under jacfwd.
    x8 = values((8,), 7)
    cases["scan_jacfwd"] = {"x": flat(x8), "value": flat(scan_stacked(x8)),
                            "jac": arr(jax.jacfwd(scan_stacked)(x8))}

    # vmap(grad(f)) with f using cond: both branches taken across the batch.
    xc = np.array([-1.2, -0.3, 0.0, 0.2, 0.26, 0.5, 1.1, 2.0])
    cases["cond_vmap_grad"] = {"x": flat(xc), "value": flat(jax.vmap(cond_fn)(xc)),
                               "grad": flat(jax.vmap(jax.grad(cond_fn))(xc))}

    # switch under vmap with out-of-range indices (clamped).
    idx = np.array([-3, -1, 0, 1, 2, 3, 7, 100], dtype=np.int32)
    xsw = values((8,), 8)
    cases["switch_vmap"] = {"index": ints(idx), "x": flat(xsw),
                            "value": flat(jax.vmap(switch_fn)(jnp.asarray(idx), xsw)),
                            "value_x_unbatched": flat(jax.vmap(switch_fn, in_axes=(0, None))(
                                jnp.asarray(idx), xsw[0]))}

    # Eager values.
    xw, vw, nw = while_pytree(np.float64(0.3), values((3,), 9))
    cases["while_pytree"] = {"x0": 0.3, "v0": flat(values((3,), 9)), "x": float(xw),
                             "v": flat(vw), "n": int(nw)}
    c0, xa, xb = values((3,), 10), values((5, 3), 11), values((5,), 12)
    for name, rev in [("scan_two", False), ("scan_two_reverse", True)]:
        (c, s), (ya, yb) = scan_two(c0, xa, xb, rev)
        cases[name] = {"c0": flat(c0), "xa": arr(xa), "xb": flat(xb), "c": flat(c),
                       "s": float(s), "ya": arr(ya), "yb": flat(yb)}
    xq, yq = values((3,), 13), values((3,), 14)
    cases["cond_pytree"] = {"x": flat(xq), "y": flat(yq),
                            "true": [flat(v) for v in cond_pytree(True, xq, yq)],
                            "false": [flat(v) for v in cond_pytree(False, xq, yq)]}
    xs5 = values((3,), 15)
    cases["switch_eager"] = {"x": flat(xs5), "index": [-2, 0, 1, 2, 5],
                             "value": [flat(switch_fn(jnp.int32(i), xs5)) for i in [-2, 0, 1, 2, 5]]}
    xm = values((4, 3), 16)
    cases["map"] = {"xs": arr(xm), "value": flat(map_fn(xm))}
    xf = values((2,), 17)
    cases["fori_traced"] = {"x": flat(xf), "bounds": [[2, 7], [3, 3], [5, 1], [-2, 4]],
                            "value": [flat(fori_traced(jnp.int32(lo), jnp.int32(hi), xf))
                                      for lo, hi in [[2, 7], [3, 3], [5, 1], [-2, 4]]]}

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_control_flow.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=0)
        fh.write("\n")


if __name__ == "__main__":
    main()
