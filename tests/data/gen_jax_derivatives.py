#!/usr/bin/env python3
"""JAX's JVP and VJP values for the non-elementwise primitives (tests/derivatives_vs_jax.rs).

For each case: a function of one f64 array built around one primitive (reductions, layout,
indexing, dot_general, select_n), an input x, a tangent t and an output cotangent ct (fixed
pseudo-random values), and JAX's f(x), jvp(f)(x, t) and vjp(f)(x)(ct). The Rust test builds
the same functions from cranax's lax and compares in f64.

Run from the repository root: pip install jax && python3 tests/data/gen_jax_derivatives.py
Deterministic: running it again rewrites the identical file.
"""
import json
import os

import numpy as np
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402


def dot(lc, rc, lb=(), rb=()):
    return ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))


W = np.linspace(-1.0, 1.5, 12).reshape(3, 4)  # a fixed operand for binary cases

# name: (shape of x, f)
CASES = {
    "reduce_sum_axis0": ((3, 4), lambda x: jnp.sum(x, axis=0)),
    "reduce_sum_all": ((3, 4), lambda x: jnp.sum(x)),
    "reduce_max_axis1": ((3, 4), lambda x: jnp.max(x, axis=1)),
    "reduce_min_axis0": ((3, 4), lambda x: jnp.min(x, axis=0)),
    "broadcast_in_dim": ((3,), lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1,)) * W),
    "reshape": ((3, 4), lambda x: lax.reshape(x, (2, 6)) * jnp.arange(12.0).reshape(2, 6)),
    "transpose": ((3, 4), lambda x: lax.transpose(x, (1, 0)) * W.T),
    "squeeze": ((1, 4), lambda x: lax.squeeze(x, (0,)) ** 2),
    "expand_dims": ((4,), lambda x: lax.expand_dims(x, (0,)) * W[:1]),
    "slice_strided": ((3, 4), lambda x: lax.slice(x, (0, 1), (3, 4), (2, 2)) ** 2),
    "pad_interior": ((3,), lambda x: lax.pad(x ** 2, 0.5, ((1, 2, 1),))),
    "concatenate": ((3, 4), lambda x: lax.concatenate([x, x ** 2], 0)),
    "dynamic_slice": ((3, 4), lambda x: lax.dynamic_slice(x ** 2, (1, 1), (2, 2))),
    "dynamic_update_slice": ((3, 4), lambda x: lax.dynamic_update_slice(x, (x[:2, :2] ** 3), (1, 2))),
    "gather_rows": ((3, 4), lambda x: jnp.take(x ** 2, jnp.array([2, 0, 2]), axis=0)),
    "gather_cols": ((3, 4), lambda x: jnp.take(x * W, jnp.array([3, 1]), axis=1)),
    "scatter_add_rows": ((3, 4), lambda x: x.at[jnp.array([1, 1, 0])].add(x[:3] ** 2)),
    "dot_matmul": ((3, 4), lambda x: lax.dot_general(x, W.T, dot([1], [0]))),
    "dot_self": ((3, 4), lambda x: lax.dot_general(x, x, dot([0], [0]))),
    "dot_batched": ((2, 3, 4), lambda x: lax.dot_general(x, x ** 2, dot([2], [2], [0], [0]))),
    "select_n": ((3, 4), lambda x: lax.select(x > 0.1, x ** 2, jnp.sin(x))),
}


def values(shape, seed):
    rng = np.random.RandomState(seed)
    return rng.uniform(-1.5, 1.5, size=shape)


def main():
    out = {"jax": jax.__version__, "cases": {}}
    for k, (name, (shape, f)) in enumerate(CASES.items()):
        x = values(shape, 10 + k)
        t = values(shape, 100 + k)
        y, f_vjp = jax.vjp(f, jnp.asarray(x))
        ct = values(y.shape, 1000 + k)
        _, tout = jax.jvp(f, (jnp.asarray(x),), (jnp.asarray(t),))
        (g,) = f_vjp(jnp.asarray(ct))
        flat = lambda a: [float(v) for v in np.asarray(a).ravel()]
        out["cases"][name] = {
            "x_shape": list(shape), "x": flat(x), "t": flat(t),
            "y_shape": list(y.shape), "y": flat(y), "ct": flat(ct),
            "jvp": flat(tout), "vjp": flat(g),
        }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_derivatives.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=0)
        fh.write("\n")


if __name__ == "__main__":
    main()
