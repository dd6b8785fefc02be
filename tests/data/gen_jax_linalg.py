#!/usr/bin/env python3
"""JAX's values for linear algebra (tests/linalg.rs, tests/linalg_decomp.rs): jnp.linalg.{solve,
inv, det, slogdet, cholesky, qr, eigh, eigvalsh, svd, norm, lstsq, pinv, matrix_power},
jax.scipy.linalg.{solve_triangular, cho_factor/cho_solve, lu_factor/lu_solve} and
lax.linalg.{lu, qr}, with gradients of a fixed linear read-out sum(f(...) * w), in f64 and f32,
on one matrix and under vmap over a batch of matrices.

Eigenvectors and singular vectors are only defined up to sign (LAPACK's choice is not faer's),
so they are recorded sign-normalised (each column's largest-magnitude entry made positive; a
singular pair flipped together), and their gradients only through sign-invariant read-outs
(squares of the entries).

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
# Decompositions: a tall and a wide matrix, a symmetric one with a well-separated spectrum.
M = 7
T = rng.randn(M, N)
Wt = rng.randn(M, N)  # read-out weights shaped like T
Wm = rng.randn(M, M)
Sym = A + A.T
Ts = rng.randn(B, M, N)
Sb = rng.randn(B, N, N)
Sb = Sb + np.swapaxes(Sb, 1, 2)
# Rank 2 (tall): lstsq and pinv cut off its zero singular values.
Low = rng.randn(M, 2) @ rng.randn(2, N)
bm = rng.randn(M)
Bm2 = rng.randn(M, K)
X3 = rng.randn(2, 3, 4)


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
    out.update(decomposition_cases(c))
    return out


def signfix(u, *others):
    """Flip each column of u so its largest-magnitude entry is positive; flip the matching
    rows of each of `others` (vt) with it."""
    idx = jnp.argmax(jnp.abs(u), axis=-2)
    sign = jnp.sign(jnp.take_along_axis(u, idx[..., None, :], axis=-2))
    return (u * sign,) + tuple(o * jnp.swapaxes(sign, -1, -2) for o in others)


def sq_readout(x, w):
    return jnp.sum(x * x * w)


def decomposition_cases(c):
    a, t, sym, low = c(A), c(T), c(Sym), c(Low)
    wide = t.T
    W_, Wt_, Wm_ = c(W), c(Wt), c(Wm)
    out = {}
    # qr: LAPACK's Householder signs are faer's, so q and r compare directly.
    for name, x in (("sq", a), ("tall", t), ("wide", wide)):
        for mode in ("reduced", "complete"):
            q, r = jnp.linalg.qr(x, mode=mode)
            out[f"qr_{name}_{mode}_q"], out[f"qr_{name}_{mode}_r"] = flat(q), flat(r)
    out["qr_r_only"] = flat(jnp.linalg.qr(t, mode="r"))
    q, r, p = lax.linalg.qr(t, pivoting=True, full_matrices=False)
    out["qr_piv_q"], out["qr_piv_r"], out["qr_piv_p"] = flat(q), flat(r), ints(p)
    for name, x, full in (("sq", a, False), ("tall", t, False), ("wide", wide, False),
                          ("tall_full", t, True)):
        def f(x, full=full):
            q, r = lax.linalg.qr(x, full_matrices=full)
            return jnp.sum(q * Wm_[: q.shape[0], : q.shape[1]]) + jnp.sum(
                r * Wm_[: r.shape[0], : r.shape[1]])
        out[f"qr_grad_{name}"] = flat(jax.grad(f)(x))
    # eigh
    ew, ev = jnp.linalg.eigh(sym)
    out["eigh_w"], out["eigh_v"] = flat(ew), flat(signfix(ev)[0])
    out["eigvalsh"] = flat(jnp.linalg.eigvalsh(sym))
    wts = c(np.arange(1.0, N + 1))
    out["eigh_w_grad"] = flat(jax.grad(lambda s: jnp.sum(jnp.linalg.eigvalsh(s) * wts))(sym))
    out["eigh_v_grad"] = flat(jax.grad(lambda s: sq_readout(jnp.linalg.eigh(s)[1], W_))(sym))
    ew, _ = jnp.linalg.eigh(sym, UPLO="U", symmetrize_input=False)
    out["eigh_upper_w"] = flat(ew)
    # svd
    for name, x in (("sq", a), ("tall", t), ("wide", wide)):
        u, s_, vt = jnp.linalg.svd(x, full_matrices=False)
        u, vt = signfix(u, vt)
        out[f"svd_{name}_s"], out[f"svd_{name}_u"], out[f"svd_{name}_vt"] = (
            flat(s_), flat(u), flat(vt))
        out[f"svd_{name}_s_grad"] = flat(
            jax.grad(lambda x: jnp.sum(jnp.linalg.svd(x, compute_uv=False) * wts))(x))

        def uv(x):
            u, _, vt = jnp.linalg.svd(x, full_matrices=False)
            return (sq_readout(u, Wm_[: u.shape[0], : u.shape[1]])
                    + sq_readout(vt, Wm_[: vt.shape[0], : vt.shape[1]]))
        out[f"svd_{name}_uv_grad"] = flat(jax.grad(uv)(x))
    u, s_, vt = jnp.linalg.svd(t, full_matrices=True)
    u, vt = signfix(u[:, :N], vt)
    out["svd_tall_full_s"], out["svd_tall_full_u_cols"] = flat(s_), flat(u)
    # norm: vector ords, matrix ords, axes, keepdims, and gradients
    vec = c(b)
    for o in (None, 1, 2, np.inf, -np.inf, 0, 3, 0.5, -1):
        out[f"norm_vec_{o}"] = flat(jnp.linalg.norm(vec, ord=o))
    for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        out[f"norm_mat_{o}"] = flat(jnp.linalg.norm(t, ord=o))
    x3 = c(X3)
    out["norm_all"] = flat(jnp.linalg.norm(x3))
    out["norm_axis1"] = flat(jnp.linalg.norm(x3, axis=1))
    out["norm_axis1_inf_keep"] = flat(jnp.linalg.norm(x3, ord=np.inf, axis=-2, keepdims=True))
    out["norm_axes_20_1"] = flat(jnp.linalg.norm(x3, ord=1, axis=(2, 0)))
    out["norm_axes_02_nuc_keep"] = flat(jnp.linalg.norm(x3, ord="nuc", axis=(0, 2),
                                                        keepdims=True))
    out["norm_axes_12_inf"] = flat(jnp.linalg.norm(x3, ord=np.inf, axis=(1, 2)))
    for o in ("fro", "nuc", 2):
        out[f"norm_grad_{o}"] = flat(jax.grad(lambda x, o=o: jnp.linalg.norm(x, ord=o))(t))
    out["norm_grad_vec3"] = flat(jax.grad(lambda v: jnp.linalg.norm(v, ord=3))(vec))
    # lstsq (full rank and rank 2; 1-D and 2-D right-hand sides), pinv, matrix_power
    vb, mb = c(bm), c(Bm2)
    for name, x in (("full", t), ("low", low)):
        for bname, rhs in (("vec", vb), ("mat", mb)):
            xs_, resid, rank, sv = jnp.linalg.lstsq(x, rhs)
            out[f"lstsq_{name}_{bname}_x"] = flat(xs_)
            out[f"lstsq_{name}_{bname}_resid"] = flat(resid)
            out[f"lstsq_{name}_{bname}_rank"] = ints(rank)
            out[f"lstsq_{name}_{bname}_s"] = flat(sv)
    out["lstsq_rcond"] = flat(jnp.linalg.lstsq(t, vb, rcond=0.5)[0])
    out["lstsq_rcond_rank"] = ints(jnp.linalg.lstsq(t, vb, rcond=0.5)[2])
    w_ = c(w)
    out["lstsq_grad"] = flat(jax.grad(lambda x: jnp.sum(jnp.linalg.lstsq(x, vb)[0] * w_))(t))
    out["pinv_tall"] = flat(jnp.linalg.pinv(t))
    out["pinv_low"] = flat(jnp.linalg.pinv(low))
    out["pinv_wide"] = flat(jnp.linalg.pinv(wide))
    out["pinv_rtol"] = flat(jnp.linalg.pinv(t, rtol=0.5))
    out["pinv_grad"] = flat(jax.grad(lambda x: jnp.sum(jnp.linalg.pinv(x) * Wt_.T))(t))
    for k in (0, 1, 2, 3, 5, -1, -3):
        out[f"matrix_power_{k}"] = flat(jnp.linalg.matrix_power(a * 0.5, k))
    out["matrix_power_grad"] = flat(
        jax.grad(lambda x: jnp.sum(jnp.linalg.matrix_power(x, 5) * W_))(a * 0.5))
    # solve with broadcast batch dimensions
    ab = c(As)
    out["solve_bcast_vec"] = flat(jnp.linalg.solve(ab, vec))
    out["solve_bcast_a2"] = flat(jnp.linalg.solve(a, c(Ts)[:, :N, :]))
    out["solve_bcast_both"] = flat(jnp.linalg.solve(ab[None], c(Ts)[:2, None, :N, :K]))
    # vmap over a batch of matrices
    tb, sb = c(Ts), c(Sb)
    out["vmap_eigvalsh"] = flat(jax.vmap(jnp.linalg.eigvalsh)(sb))
    out["vmap_eigvalsh_grad"] = flat(jax.vmap(jax.grad(
        lambda s: jnp.sum(jnp.linalg.eigvalsh(s) * wts)))(sb))
    out["vmap_svd_s"] = flat(jax.vmap(lambda x: jnp.linalg.svd(x, compute_uv=False))(tb))
    out["vmap_qr_r"] = flat(jax.vmap(lambda x: jnp.linalg.qr(x)[1])(tb))
    out["vmap_norm_nuc"] = flat(jax.vmap(lambda x: jnp.linalg.norm(x, ord="nuc"))(tb))
    out["vmap_lstsq"] = flat(jax.vmap(lambda x: jnp.linalg.lstsq(x, vb)[0])(tb))
    out["vmap_pinv"] = flat(jax.vmap(jnp.linalg.pinv)(tb))
    return out


data = {
    "n": N,
    "k": K,
    "batch": B,
    "inputs": {
        "A": flat(A), "S": flat(S), "L": flat(L), "b": flat(b), "B": flat(Bm),
        "W": flat(W), "w": flat(w), "Wk": flat(Wk), "As": flat(As), "bs": flat(bs),
        "T": flat(T), "Wt": flat(Wt), "Wm": flat(Wm), "Sym": flat(Sym), "Ts": flat(Ts),
        "Sb": flat(Sb), "Low": flat(Low), "bm": flat(bm), "Bm2": flat(Bm2), "X3": flat(X3),
    },
    "m": M,
    "f64": cases(jnp.float64),
    "f32": cases(jnp.float32),
    "jax_version": jax.__version__,
}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "jax_linalg.json"), "w") as f:
    json.dump(data, f, indent=1, sort_keys=True)
    f.write("\n")
