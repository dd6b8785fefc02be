#!/usr/bin/env python3
"""The rest of jax.random for cranax (issue 13, item 9): tests/data/jax_random_more_samplers.json.

cauchy, pareto, weibull_min, gumbel(mode="high"), lognormal, triangular, rayleigh, wald,
geometric, generalized_normal, ball, f, binomial, multivariate_normal (cholesky, eigh, svd), orthogonal,
choice with p (with and without replacement) and from an array along an axis, and the gradient
of gamma samples with respect to the shape parameter (jax.grad through random.gamma, JAX's
random_gamma_grad), for a few seeds and sizes, f32 (x64 off) and f64 (x64 on), each drawn
eagerly, under jax.jit and under jax.vmap over split(key, 3), with
jax_threefry_partitionable=False (the mode cranax implements).

Layout: {"f32"|"f64": {seed: {case: {"call", "eager", "jit": array | "same", "vmap": array}}}},
as gen_jax_random_samplers.py. A case is named <kind>_<size>; each kind's parameters are fixed
(PARAMS below, repeated in tests/random_more.rs).

How to run (from the repository root): python3 tests/data/gen_jax_random_more_samplers.py
Deterministic: running it again rewrites an identical file.
"""

import os
import sys

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_jax_reference import arr, header, set_x64, write  # noqa: E402
from gen_jax_random_samplers import cpu, section  # noqa: E402

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

SEEDS = [0, 42, 31337]
SIZES = [5, 64, 17]
MEAN = [1.0, -2.0, 0.5]
COV = [[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 0.5]]
CHOICE_P = [0.1, 0.0, 0.25, 0.4, 0.05, 0.2]
CHOICE_A = [[1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0], [11.0, 12.0, 13.0, 14.0, 15.0]]
BINOMIAL_N = [0.0, 7.0, 40.0, 1000.0]
BINOMIAL_P = [0.5, 0.9, 0.05, 0.7]
GAMMA_GRAD_A = [0.3, 1.0, 2.5, 10.0, 0.05, 4.0]


def cases(dtype, n):
    """(name, call text, function of the key) for sample size n."""
    r = jax.random
    dt = "float32" if dtype == jnp.float32 else "float64"
    f = lambda v: jnp.asarray(v, dtype)  # noqa: E731
    m = max(n // 4, 1)
    out = [
        ("cauchy", f"cauchy(key, ({n},), {dt})", lambda k: r.cauchy(k, (n,), dtype)),
        ("pareto", f"pareto(key, 3.0, ({n},), {dt})", lambda k: r.pareto(k, 3.0, (n,), dtype)),
        ("weibull_min", f"weibull_min(key, 2.0, 1.5, ({n},), {dt})",
         lambda k: r.weibull_min(k, 2.0, 1.5, (n,), dtype)),
        ("gumbel_high", f"gumbel(key, ({n},), {dt}, mode='high')",
         lambda k: r.gumbel(k, (n,), dtype, mode="high")),
        ("lognormal", f"lognormal(key, 0.5, ({n},), {dt})",
         lambda k: r.lognormal(k, 0.5, (n,), dtype)),
        ("triangular", f"triangular(key, -1.0, 0.5, 2.0, ({n},), {dt})",
         lambda k: r.triangular(k, -1.0, 0.5, 2.0, (n,), dtype)),
        ("rayleigh", f"rayleigh(key, 2.0, ({n},), {dt})",
         lambda k: r.rayleigh(k, 2.0, (n,), dtype)),
        ("wald", f"wald(key, 1.5, ({n},), {dt})", lambda k: r.wald(k, 1.5, (n,), dtype)),
        ("geometric", f"geometric(key, {dt}(0.3), ({n},))",
         lambda k: r.geometric(k, f(0.3), (n,))),
        ("generalized_normal", f"generalized_normal(key, 1.5, ({n},), {dt})",
         lambda k: r.generalized_normal(k, 1.5, (n,), dtype)),
        ("ball", f"ball(key, 3, 2.0, ({m},), {dt})", lambda k: r.ball(k, 3, 2.0, (m,), dtype)),
        ("ball_p1", f"ball(key, 2, 1.0, ({m},), {dt})", lambda k: r.ball(k, 2, 1.0, (m,), dtype)),
        ("f", f"f(key, 3.0, 5.0, ({n},), {dt})", lambda k: r.f(k, 3.0, 5.0, (n,), dtype)),
        ("binomial_small", f"binomial(key, 5.0, 0.3, ({n},), {dt})",
         lambda k: r.binomial(k, 5.0, 0.3, (n,), dtype)),
        ("binomial_large", f"binomial(key, 100.0, 0.4, ({n},), {dt})",
         lambda k: r.binomial(k, 100.0, 0.4, (n,), dtype)),
        ("binomial_flipped", f"binomial(key, 60.0, 0.8, ({n},), {dt})",
         lambda k: r.binomial(k, 60.0, 0.8, (n,), dtype)),
        ("binomial_mixed", f"binomial(key, {dt}({BINOMIAL_N}), {dt}({BINOMIAL_P}), ({n}, 4), {dt})",
         lambda k: r.binomial(k, f(BINOMIAL_N), f(BINOMIAL_P), (n, 4), dtype)),
    ]
    for method in ["cholesky", "eigh", "svd"]:
        out.append((f"multivariate_normal_{method}",
                    f"multivariate_normal(key, {dt}({MEAN}), {dt}({COV}), ({m},), {dt}, "
                    f"method='{method}')",
                    lambda k, method=method: r.multivariate_normal(
                        k, f(MEAN), f(COV), (m,), dtype, method=method)))
    out += [
        ("orthogonal", f"orthogonal(key, 3, ({m},), {dt})",
         lambda k: r.orthogonal(k, 3, (m,), dtype)),
        ("orthogonal_4", f"orthogonal(key, 4, (), {dt})", lambda k: r.orthogonal(k, 4, (), dtype)),
        ("choice_p", f"choice(key, 6, ({n},), p={dt}({CHOICE_P}))",
         lambda k: r.choice(k, 6, (n,), p=f(CHOICE_P))),
        ("choice_p_noreplace", f"choice(key, 6, (4,), replace=False, p={dt}({CHOICE_P}))",
         lambda k: r.choice(k, 6, (4,), replace=False, p=f(CHOICE_P))),
        ("choice_array", f"choice(key, {dt}({CHOICE_A}), ({n},), axis=1)",
         lambda k: r.choice(k, f(CHOICE_A), (n,), axis=1)),
        ("choice_array_noreplace",
         f"choice(key, {dt}({CHOICE_A}), (2,), replace=False, axis=0)",
         lambda k: r.choice(k, f(CHOICE_A), (2,), replace=False, axis=0)),
        ("gamma_grad", f"grad(lambda a: sum(gamma(key, a)))({dt}({GAMMA_GRAD_A}))",
         lambda k: jax.grad(lambda a: jnp.sum(r.gamma(k, a, dtype=dtype)))(f(GAMMA_GRAD_A))),
        ("loggamma_grad", f"grad(lambda a: sum(loggamma(key, a)))({dt}({GAMMA_GRAD_A}))",
         lambda k: jax.grad(lambda a: jnp.sum(r.loggamma(k, a, dtype=dtype)))(f(GAMMA_GRAD_A))),
    ]
    return [(f"{name}_{n}", call, fn) for name, call, fn in out]


def main():
    set_x64(False)
    f32 = section(jnp.float32, cases, SEEDS, SIZES)
    set_x64(True)
    f64 = section(jnp.float64, cases, SEEDS, SIZES)
    set_x64(False)
    out = header("'f32' computed with jax_enable_x64=False; 'f64' with it True")
    out["generator"] = "tests/data/gen_jax_random_more_samplers.py"
    out["note"] = ("calls are jax.random.<call> with key = jax.random.PRNGKey(seed); "
                   "'jit' is jax.jit(lambda key: <call>)(key), \"same\" when bit-equal to eager; "
                   "'vmap' is jax.vmap(lambda key: <call>)(jax.random.split(key, 3))")
    out["cpu"] = cpu()
    out["f32"] = f32
    out["f64"] = f64
    write("jax_random_more_samplers.json", out)
    for name, sec in (("f32", f32), ("f64", f64)):
        diff = [(s, c) for s, cs in sec.items() for c, v in cs.items() if v["jit"] != "same"]
        print(f"{name}: {sum(len(c) for c in sec.values())} draws, jit != eager in JAX: {diff}")


if __name__ == "__main__":
    main()
