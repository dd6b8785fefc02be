#!/usr/bin/env python3
"""jax.random's continuous and derived samplers for cranax (issue 13, item 9):
tests/data/jax_random_samplers.json.

exponential, laplace, logistic, rademacher, maxwell, double_sided_maxwell, gamma (several alpha,
small ones included), loggamma, t, beta, chisquare, dirichlet, poisson (small, large and mixed rates), for a few seeds and sizes, f32 (x64 off) and f64 (x64 on),
each drawn eagerly, under jax.jit and under jax.vmap over split(key, 3), with
jax_threefry_partitionable=False (the mode cranax implements; JAX 0.10's default is True).

Layout: {"f32"|"f64": {seed: {case: {"call", "eager", "jit": array | "same",
"vmap": array}}}}; "vmap" is jax.vmap(f)(jax.random.split(key, 3)). Arrays are
{shape, dtype, data} as in gen_jax_reference.py.

How to run (from the repository root): python3 tests/data/gen_jax_random_samplers.py
Deterministic: running it again rewrites an identical file.
"""

import re
import os
import sys

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_jax_reference import arr, header, set_x64, write  # noqa: E402

import jax.numpy as jnp  # noqa: E402

SEEDS = [0, 7, 42, 2024, 31337]
SIZES = [5, 64, 257, 3, 33]
GAMMA_ALPHAS = [1.0, 2.5, 10.0, 0.3, 0.01]
LOGGAMMA_ALPHAS = [0.001, 0.5, 3.0]
T_DFS = [4.0, 7.5]
BETA_AB = [(0.5, 2.0), (3.0, 0.2)]
CHISQUARE_DFS = [1.0, 5.0]
DIRICHLET_ALPHA = [0.5, 1.0, 3.0]
POISSON_LAMS = [0.5, 4.0, 12.0, 1000.0]
POISSON_MIXED = [0.0, 0.5, 4.0, 12.0, 150.0]


def cases(dtype, n):
    """(name, call text, function of the key) for sample size n."""
    r = jax.random
    dt = "float32" if dtype == jnp.float32 else "float64"
    out = [
        (f"exponential_{n}", f"exponential(key, ({n},), {dt})",
         lambda k: r.exponential(k, (n,), dtype)),
        (f"laplace_{n}", f"laplace(key, ({n},), {dt})",
         lambda k: r.laplace(k, (n,), dtype)),
        (f"logistic_{n}", f"logistic(key, ({n},), {dt})",
         lambda k: r.logistic(k, (n,), dtype)),
        (f"rademacher_{n}", f"rademacher(key, ({n},), {dt})",
         lambda k: r.rademacher(k, (n,), dtype)),
        (f"maxwell_{n}", f"maxwell(key, ({n},), {dt})",
         lambda k: r.maxwell(k, (n,), dtype)),
        (f"double_sided_maxwell_{n}", f"double_sided_maxwell(key, 0.5, 2.0, ({n},), {dt})",
         lambda k: r.double_sided_maxwell(k, 0.5, 2.0, (n,), dtype)),
    ]
    for a in GAMMA_ALPHAS:
        out.append((f"gamma_{n}_{a}", f"gamma(key, {a}, ({n},), {dt})",
                    lambda k, a=a: r.gamma(k, a, (n,), dtype)))
    for a in LOGGAMMA_ALPHAS:
        out.append((f"loggamma_{n}_{a}", f"loggamma(key, {a}, ({n},), {dt})",
                    lambda k, a=a: r.loggamma(k, a, (n,), dtype)))
    for df in T_DFS:
        out.append((f"t_{n}_{df}", f"t(key, {df}, ({n},), {dt})",
                    lambda k, df=df: r.t(k, df, (n,), dtype)))
    for a, b in BETA_AB:
        out.append((f"beta_{n}_{a}_{b}", f"beta(key, {a}, {b}, ({n},), {dt})",
                    lambda k, a=a, b=b: r.beta(k, a, b, (n,), dtype)))
    for df in CHISQUARE_DFS:
        out.append((f"chisquare_{n}_{df}", f"chisquare(key, {df}, ({n},), {dt})",
                    lambda k, df=df: r.chisquare(k, df, (n,), dtype)))
    out.append((f"dirichlet_{n}", f"dirichlet(key, {dt}({DIRICHLET_ALPHA}), ({n},), {dt})",
                lambda k: r.dirichlet(k, jnp.asarray(DIRICHLET_ALPHA, dtype), (n,), dtype)))
    for lam in POISSON_LAMS:
        out.append((f"poisson_{n}_{lam}", f"poisson(key, {lam}, ({n},))",
                    lambda k, lam=lam: r.poisson(k, lam, (n,))))
    out.append((f"poisson_{n}_mixed", f"poisson(key, float32({POISSON_MIXED}), ({n}, 5))",
                lambda k: r.poisson(k, jnp.asarray(POISSON_MIXED, jnp.float32), (n, 5))))
    return out


def section(dtype, make_cases=cases, seeds=SEEDS, sizes=SIZES):
    """Each seed's cases (of size sizes[i]) eagerly, under jax.jit and under jax.vmap."""
    out = {}
    for i, seed in enumerate(seeds):
        key = jax.random.PRNGKey(seed)
        n = sizes[i % len(sizes)]
        sec = {}
        for name, call, f in make_cases(dtype, n):
            eager = arr(f(key))
            jitted = arr(jax.jit(f)(key))
            vmapped = arr(jax.vmap(f)(jax.random.split(key, 3)))
            sec[name] = {"call": call, "eager": eager,
                         "jit": "same" if jitted == eager else jitted, "vmap": vmapped}
        out[str(seed)] = sec
    return out


def cpu():
    """The CPU this ran on: XLA's f32 rsqrt (gamma's `c`) is the CPU's own estimate refined by
    Newton steps, and estimates differ between vendors (and with AVX-512), so the draws of the
    gamma family are bit-exact only on a CPU like this one (tests/random.rs)."""
    info = open("/proc/cpuinfo").read()
    vendor = re.search(r"^vendor_id\s*:\s*(\S+)", info, re.M).group(1)
    flags = re.search(r"^flags\s*:(.*)$", info, re.M).group(1).split()
    return {"vendor_id": vendor, "avx512f": "avx512f" in flags}


def write_sections(filename, generator, make_cases=cases, seeds=SEEDS, sizes=SIZES):
    """Write tests/data/<filename>: the f32 section (x64 off) and the f64 one (x64 on) of
    `section`, with the header, the note on the three modes and the CPU."""
    set_x64(False)
    f32 = section(jnp.float32, make_cases, seeds, sizes)
    set_x64(True)
    f64 = section(jnp.float64, make_cases, seeds, sizes)
    set_x64(False)
    out = header("'f32' computed with jax_enable_x64=False; 'f64' with it True")
    out["generator"] = generator
    out["note"] = ("calls are jax.random.<call> with key = jax.random.PRNGKey(seed); "
                   "'jit' is jax.jit(lambda key: <call>)(key), \"same\" when bit-equal to eager; "
                   "'vmap' is jax.vmap(lambda key: <call>)(jax.random.split(key, 3))")
    out["cpu"] = cpu()
    out["f32"] = f32
    out["f64"] = f64
    write(filename, out)
    for name, sec in (("f32", f32), ("f64", f64)):
        diff = [(s, c) for s, cs in sec.items() for c, v in cs.items() if v["jit"] != "same"]
        print(f"{name}: {sum(len(c) for c in sec.values())} draws, jit != eager in JAX: {diff}")


def main():
    write_sections("jax_random_samplers.json", "tests/data/gen_jax_random_samplers.py")


if __name__ == "__main__":
    main()
