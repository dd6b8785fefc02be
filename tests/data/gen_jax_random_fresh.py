#!/usr/bin/env python3
"""Fresh jax.random reference draws for cranax (issue 17, item 1): tests/data/jax_random_fresh.json.

Every sampler cranax has (bits, split, fold_in, uniform, normal, truncated_normal with
non-dyadic bounds, gumbel, bernoulli, randint, choice with and without replacement,
permutation, categorical) for 20 seeds, in f32 (x64 off) and f64 (x64 on; the float samplers,
bernoulli with an f64 p and categorical with f64 logits), each drawn eagerly and under
jax.jit, with jax_threefry_partitionable=False. Sizes rotate over SIZES (none a multiple of a
vector width but 64) so every sampler sees every size over the seeds.

Layout: {"f32"|"f64": {seed: {case: {"call", "eager": array, "jit": array | "same"}}}} where
"same" means jax.jit gave the same bits as eager. Arrays are {shape, dtype, data} as in
gen_jax_reference.py (f32 widened exactly to f64, shortest round-trip repr).

How to run (from the repository root): python3 tests/data/gen_jax_random_fresh.py
Deterministic: running it again rewrites an identical file.
"""

import os
import sys

import numpy as np
import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_jax_reference import arr, header, set_x64, write  # noqa: E402

import jax.numpy as jnp  # noqa: E402

SEEDS = [5, 99, 2024, 31337, 123456789, 0, 1, 3, 17, 256, 1000, 4242, 65535, 77777,
         271828, 314159, 999999, 2**31 - 1, 2**32 + 7, 1 << 40]
SIZES = [257, 64, 300, 1, 3]
LO, HI = -0.3, 1.7
LOGITS = [0.1, 0.5, -1.0, 2.0, -0.25]


def cases(dtype, n, m):
    """(name, call text, function of the key) for sizes n (floats) and m (integer samplers)."""
    r = jax.random
    dt = "float32" if dtype == jnp.float32 else "float64"
    logits = jnp.asarray(LOGITS, dtype=dtype)
    floats = [
        (f"uniform_{n}", f"uniform(key, ({n},), {dt})",
         lambda k: r.uniform(k, (n,), dtype)),
        (f"uniform_{n}_lo_hi", f"uniform(key, ({n},), {dt}, {LO}, {HI})",
         lambda k: r.uniform(k, (n,), dtype, LO, HI)),
        (f"normal_{n}", f"normal(key, ({n},), {dt})",
         lambda k: r.normal(k, (n,), dtype)),
        (f"truncated_normal_{n}", f"truncated_normal(key, {LO}, {HI}, ({n},), {dt})",
         lambda k: r.truncated_normal(k, LO, HI, (n,), dtype)),
        (f"truncated_normal_{n}_m2_0.6", f"truncated_normal(key, -2.1, 0.6, ({n},), {dt})",
         lambda k: r.truncated_normal(k, -2.1, 0.6, (n,), dtype)),
        (f"gumbel_{n}", f"gumbel(key, ({n},), {dt})",
         lambda k: r.gumbel(k, (n,), dtype)),
        (f"bernoulli_{m}", f"bernoulli(key, {dt}(0.3), ({m},))",
         lambda k: r.bernoulli(k, jnp.asarray(0.3, dtype), (m,))),
        (f"categorical_{m}", f"categorical(key, {dt}({LOGITS}), shape=({m},))",
         lambda k: r.categorical(k, logits, shape=(m,))),
    ]
    if dtype == jnp.float64:
        return floats
    return [
        ("split_3", "split(key, 3)", lambda k: r.split(k, 3)),
        ("fold_in_77", "fold_in(key, 77)", lambda k: r.fold_in(k, 77)),
        (f"bits_{m}", f"bits(key, ({m},))  # uint32", lambda k: r.bits(k, (m,), jnp.uint32)),
        (f"randint_{m}", f"randint(key, ({m},), -5, 1000)",
         lambda k: r.randint(k, (m,), -5, 1000)),
        (f"choice_{m}_replace", f"choice(key, 300, ({m},))",
         lambda k: r.choice(k, 300, (m,))),
        (f"choice_{m}_noreplace", f"choice(key, 300, ({m},), replace=False)",
         lambda k: r.choice(k, 300, (m,), replace=False)),
        (f"permutation_{m}", f"permutation(key, {m})", lambda k: r.permutation(k, m)),
    ] + floats


def section(dtype):
    out = {}
    for i, seed in enumerate(SEEDS):
        key = jax.random.PRNGKey(seed)
        n, m = SIZES[i % len(SIZES)], SIZES[(i + 2) % len(SIZES)]
        sec = {}
        for name, call, f in cases(dtype, n, m):
            eager = arr(f(key))
            jitted = arr(jax.jit(f)(key))
            sec[name] = {"call": call, "eager": eager,
                         "jit": "same" if jitted == eager else jitted}
        out[str(seed)] = sec
    return out


def main():
    set_x64(False)
    f32 = section(jnp.float32)
    set_x64(True)
    f64 = section(jnp.float64)
    set_x64(False)
    out = header("'f32' computed with jax_enable_x64=False; 'f64' with it True")
    out["generator"] = "tests/data/gen_jax_random_fresh.py"
    out["note"] = ("calls are jax.random.<call> with key = jax.random.PRNGKey(seed); "
                   "'jit' is jax.jit(lambda key: <call>)(key), \"same\" when bit-equal to eager")
    out["f32"] = f32
    out["f64"] = f64
    write("jax_random_fresh.json", out)
    for name, sec in (("f32", f32), ("f64", f64)):
        diff = [(s, c) for s, cs in sec.items() for c, v in cs.items() if v["jit"] != "same"]
        print(f"{name}: {sum(len(c) for c in sec.values())} draws, jit != eager in JAX: {diff}")


if __name__ == "__main__":
    main()
