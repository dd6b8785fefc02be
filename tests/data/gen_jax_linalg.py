#!/usr/bin/env python3
"""JAX's values for linear algebra (tests/linalg.rs): jnp.linalg.{solve, inv, det, slogdet,
cholesky}, jax.scipy.linalg.{solve_triangular, cho_factor/cho_solve, lu_factor/lu_solve} and
lax.linalg.lu, with gradients of a fixed linear read-out sum(f(...) * w), in f64 and f32, on
one matrix and under vmap over a batch of matrices.

Run from the repository root: python3 tests/data/gen_jax_linalg.py
Deterministic: running it again rewrites the identical file.
"""
import json
import os

import numpy as np
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jax.scipy.linalg as jsl  # noqa: E402
from jax import lax  # noqa: E402

N, K, B = 5, 2, 3
rng = np.random.RandomState(12)
A = rng.randn(N, N) + N * np.eye(N) * 0.5  # well conditioned, needs pivoting now and then
A[0, 0] = 0.1
S = A @ A.T + N * np.eye(N)  # positive definite
L = np.tril(rng.randn(N, N)) + 3 * np.eye(N)
b = rng.randn(N)
Bm = rng.randn(N, K)
W = rng.randn(N, N)  # read-out weights
w = rng.randn(N)
Wk = rng.randn(N, K)
As = rng.randn(B, N, N) + 3 * np.eye(N)
bs = rng.randn(B, N)


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def ints(a):
    return [int(v) for v in np.asarray(a).ravel()]


def cases(dt):
    c = lambda x: jnp.asarray(x, dtype=dt)  # noqa: E731
    a, s, l, v, m = c(A), c(S), c(L), c(b), c(Bm)
    W_, w_, Wk_ = c(W), c(w), c(Wk)
    out = {}
    out["solve"] = flat(jnp.linalg.solve(a, v))
    g = jax.grad(lambda a, v: jnp.sum(jnp.linalg.solve(a, v) * w_), argnums=(0, 1))(a, v)
    out["solve_grad_a"], out["solve_grad_b"] = flat(g[0]), flat(g[1])
    out["solve_mat"] = flat(jnp.linalg.solve(a, m))
    g = jax.grad(lambda a, m: jnp.sum(jnp.linalg.solve(a, m) * Wk_), argnums=(0, 1))(a, m)
    out["solve_mat_grad_a"], out["solve_mat_grad_b"] = flat(g[0]), flat(g[1])
    out["inv"] = flat(jnp.linalg.inv(a))
    out["inv_grad"] = flat(jax.grad(lambda a: jnp.sum(jnp.linalg.inv(a) * W_))(a))
    out["det"] = flat(jnp.linalg.det(a))
    out["det_grad"] = flat(jax.grad(jnp.linalg.det)(a))
    sign, logdet = jnp.linalg.slogdet(a)
    out["slogdet"] = flat([sign, logdet])
    out["slogdet_grad"] = flat(jax.grad(lambda a: jnp.linalg.slogdet(a)[1])(a))
    out["cholesky"] = flat(jnp.linalg.cholesky(s))
    out["cholesky_grad"] = flat(jax.grad(lambda s: jnp.sum(jnp.linalg.cholesky(s) * W_))(s))
    for trans in (0, 1):
        x = jsl.solve_triangular(l, v, trans=trans, lower=True)
        out[f"solve_triangular_{trans}"] = flat(x)
        g = jax.grad(
            lambda l, v: jnp.sum(jsl.solve_triangular(l, v, trans=trans, lower=True) * w_),
            argnums=(0, 1),
        )(l, v)
        out[f"solve_triangular_{trans}_grad_a"] = flat(g[0])
        out[f"solve_triangular_{trans}_grad_b"] = flat(g[1])
    cf = jsl.cho_factor(s, lower=True)
    out["cho_solve"] = flat(jsl.cho_solve(cf, m))
    lu, piv = jsl.lu_factor(a)
    out["lu_factor_lu"], out["lu_factor_piv"] = flat(lu), ints(piv)
    out["lu_solve_0"] = flat(jsl.lu_solve((lu, piv), m, trans=0))
    out["lu_solve_1"] = flat(jsl.lu_solve((lu, piv), m, trans=1))
    _, _, perm = lax.linalg.lu(a)
    out["lu_perm"] = ints(perm)
    out["lu_grad"] = flat(jax.grad(lambda a: jnp.sum(lax.linalg.lu(a)[0] * W_))(a))
    xs = c(As)
    ys = c(bs)
    out["vmap_solve"] = flat(jax.vmap(jnp.linalg.solve)(xs, ys))
    out["vmap_solve_grad_a"] = flat(
        jax.vmap(jax.grad(lambda a, v: jnp.sum(jnp.linalg.solve(a, v) * w_)))(xs, ys)
    )
    out["vmap_slogdet"] = flat(jax.vmap(lambda a: jnp.linalg.slogdet(a)[1])(xs))
    out["vmap_cholesky"] = flat(jax.vmap(jnp.linalg.cholesky)(xs @ jnp.swapaxes(xs, 1, 2)))
    return out


data = {
    "n": N,
    "k": K,
    "batch": B,
    "inputs": {
        "A": flat(A), "S": flat(S), "L": flat(L), "b": flat(b), "B": flat(Bm),
        "W": flat(W), "w": flat(w), "Wk": flat(Wk), "As": flat(As), "bs": flat(bs),
    },
    "f64": cases(jnp.float64),
    "f32": cases(jnp.float32),
    "jax_version": jax.__version__,
}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "jax_linalg.json"), "w") as f:
    json.dump(data, f, indent=1, sort_keys=True)
    f.write("\n")
