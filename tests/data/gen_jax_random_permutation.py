#!/usr/bin/env python3
"""jax.random.permutation of arrays (along an axis, independent or not),
jax.random.multinomial and jax.random.gumbel(mode="highest") for cranax (issue 13, item 9):
tests/data/jax_random_permutation.json.

For a few seeds and sizes, f32 (x64 off) and f64 (x64 on), each drawn eagerly, under jax.jit
and under jax.vmap over split(key, 3), with jax_threefry_partitionable=False (the mode cranax
implements). Layout as gen_jax_random_samplers.py:
{"f32"|"f64": {seed: {case: {"call", "eager", "jit": array | "same", "vmap": array}}}}.
A case is named <kind>_<size>; each kind's parameters are fixed (below, repeated in
tests/random.rs).

How to run (from the repository root): python3 tests/data/gen_jax_random_permutation.py
Deterministic: running it again rewrites an identical file.
"""

import os
import sys

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_jax_random_samplers import write_sections  # noqa: E402

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

SEEDS = [0, 42, 31337]
SIZES = [5, 17, 64]
P3 = [0.2, 0.3, 0.5]
P5 = [0.1, 0.0, 0.25, 0.4, 0.25]
N_BATCH = [3.0, 0.0, 50.0, 1000.0]
P_BATCH = [[0.5, 0.0, 0.5, 0.0], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.3, 0.7]]


def grid(shape, dtype):
    """Distinct values 0, 1, 2, ... (exact in both dtypes)."""
    return jnp.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)


def cases(dtype, n):
    """(name, call text, function of the key) for size n."""
    r = jax.random
    dt = "float32" if dtype == jnp.float32 else "float64"
    f = lambda v: jnp.asarray(v, dtype)  # noqa: E731
    out = [
        ("permutation_1d", f"permutation(key, arange({n}))",
         lambda k: r.permutation(k, grid((n,), dtype))),
        ("permutation_rows", f"permutation(key, arange({4 * n}).reshape(4, {n}), axis=1)",
         lambda k: r.permutation(k, grid((4, n), dtype), axis=1)),
        ("permutation_axis0", f"permutation(key, arange({3 * n}).reshape({n}, 3))",
         lambda k: r.permutation(k, grid((n, 3), dtype))),
        ("permutation_independent",
         f"permutation(key, arange({4 * n}).reshape(4, {n}), axis=1, independent=True)",
         lambda k: r.permutation(k, grid((4, n), dtype), axis=1, independent=True)),
        ("permutation_independent_axis0",
         f"permutation(key, arange({3 * n}).reshape({n}, 3), axis=-2, independent=True)",
         lambda k: r.permutation(k, grid((n, 3), dtype), axis=-2, independent=True)),
        # 1800 elements: two rounds of sorting.
        ("permutation_two_rounds",
         "permutation(key, arange(1800).reshape(3, 600), axis=1, independent=True)",
         lambda k: r.permutation(k, grid((3, 600), dtype), axis=1, independent=True)),
        ("multinomial", f"multinomial(key, 10.0, {dt}({P3}), shape=({n}, 3), dtype={dt})",
         lambda k: r.multinomial(k, 10.0, f(P3), shape=(n, 3), dtype=dtype)),
        ("multinomial_large", f"multinomial(key, 500.0, {dt}({P5}), shape=({n}, 5), dtype={dt})",
         lambda k: r.multinomial(k, 500.0, f(P5), shape=(n, 5), dtype=dtype)),
        ("multinomial_batch", f"multinomial(key, {dt}({N_BATCH}), {dt}({P_BATCH}), dtype={dt})",
         lambda k: r.multinomial(k, f(N_BATCH), f(P_BATCH), dtype=dtype)),
        ("multinomial_int", f"multinomial(key, 7, {dt}({P3}), dtype=int32)",
         lambda k: r.multinomial(k, 7, f(P3), dtype=jnp.int32)),
        ("gumbel_highest", f"gumbel(key, ({n},), {dt}, mode='highest')",
         lambda k: r.gumbel(k, (n,), dtype, mode="highest")),
        ("gumbel_highest_2d", f"gumbel(key, (3, {n}), {dt}, mode='highest')",
         lambda k: r.gumbel(k, (3, n), dtype, mode="highest")),
    ]
    return [(f"{name}_{n}", call, fn) for name, call, fn in out]


def main():
    write_sections("jax_random_permutation.json", "tests/data/gen_jax_random_permutation.py",
                   cases, SEEDS, SIZES)


if __name__ == "__main__":
    main()
