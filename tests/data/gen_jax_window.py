#!/usr/bin/env python3
"""JAX 0.10.2 reference values for cranax's windowed reductions and clamp (issue 13 item 8:
lax.reduce_window; lax.clamp), read by tests/window_vs_jax.rs.

Each case is one lax.reduce_window call described by its parameters, so the Rust test builds
the same call from the record:

  {"name", "op": "sum"|"max"|"min", "init": NUM, "window_dimensions", "window_strides",
   "padding": "VALID"|"SAME"|"SAME_LOWER"|[[lo, hi], ...], "base_dilation", "window_dilation",
   "dtype", "x": ARR, "out": ARR,
   "t": ARR, "jvp": ARR,                 (tangent of the output along t; float cases)
   "w": ARR, "grad": ARR}                (gradient of sum(f(x) * w); where JAX defines it)

and each clamp case {"name": "clamp", "dtype", "lo": ARR, "x": ARR, "hi": ARR, "out": ARR,
"w": ARR, "grads": [ARR, ARR, ARR]} (gradients w.r.t. lo, x and hi; lo and hi of x's shape, as
JAX's clamp JVP rejects scalar bounds when differentiated). "jaxprs" holds make_jaxpr texts
(f64, x64 on) of a max pool, its grad, its jvp, a sum pool's grad and clamp. ARR is
{"shape", "dtype", "data"}, non-finite floats as "nan", "inf", "-inf".

float32 with x64 off, float64 with x64 on; int32 value cases. Inputs include ties (the max's
gradient goes to the first maximum of a window), NaN, +-inf.

Run from the repository root: python3 tests/data/gen_jax_window.py  (rewrites
tests/data/jax_window.json; deterministic).
"""

import json
import os
import sys

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_jax_numpy import arr  # noqa: E402  (the shared {shape, dtype, data} encoding)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_window.json")

NAN, INF = float("nan"), float("inf")
X1 = [0.3, -1.2, 2.5, 0.7, 1.1, 0.4, -3.0, 1.5, 0.9]
TIES1 = [1.0, 3.0, 3.0, 2.0, 2.0, 0.0, 5.0, 5.0, 5.0]
EDGE1 = [1.0, NAN, 2.0, -INF, INF, 0.5, -INF, -INF, 3.0]
X2 = [[0.3, -1.2, 2.5, 0.7, 1.1], [0.4, -3.0, 1.5, 0.9, -0.6],
      [2.2, 0.1, -0.8, 1.9, 0.05], [-1.7, 0.6, 1.3, -0.4, 2.8]]
TIES2 = [[1.0, 1.0, 2.0, 2.0, 0.0], [1.0, 0.5, 2.0, -1.0, 0.0],
         [3.0, 3.0, 3.0, 3.0, 1.0], [3.0, 3.0, -2.0, 0.0, 1.0]]
X4 = (np.arange(2 * 4 * 4 * 3) * 0.37 % 2.9 - 1.3).reshape(2, 4, 4, 3).round(3).tolist()

# (name, window_dimensions, window_strides, padding, base_dilation, window_dilation, inputs)
CONFIGS = [
    ("1d_w3", (3,), (1,), "VALID", None, None, [X1, TIES1, EDGE1]),
    ("1d_w2_s2", (2,), (2,), "VALID", None, None, [X1, TIES1]),
    ("1d_w3_s2_same", (3,), (2,), "SAME", None, None, [X1, TIES1, EDGE1]),
    ("1d_w4_same_lower", (4,), (1,), "SAME_LOWER", None, None, [X1]),
    ("1d_w2_pad12", (2,), (1,), [(1, 2)], None, None, [X1, TIES1]),
    ("1d_w2_pad30", (2,), (3,), [(3, 0)], None, None, [X1]),
    ("1d_w2_base2", (2,), (1,), "VALID", (2,), None, [X1, TIES1]),
    ("1d_w2_wdil3", (2,), (1,), "VALID", None, (3,), [X1, TIES1]),
    ("1d_w3_s2_pad21_base2_wdil2", (3,), (2,), [(2, 1)], (2,), (2,), [X1]),
    ("1d_w3_s3_base3_same", (3,), (3,), "SAME", (3,), None, [X1]),
    ("1d_w12_bigger", (12,), (1,), "VALID", None, None, [X1]),
    ("2d_w2x2_s2", (2, 2), (2, 2), "VALID", None, None, [X2, TIES2]),
    ("2d_w3x3_same", (3, 3), (1, 1), "SAME", None, None, [X2, TIES2]),
    ("2d_w2x3_s12_pad", (2, 3), (1, 2), [(1, 0), (0, 2)], None, None, [X2, TIES2]),
    ("2d_w2x2_base21", (2, 2), (1, 1), "VALID", (2, 1), None, [X2]),
    ("2d_w2x2_wdil12", (2, 2), (1, 1), "VALID", None, (1, 2), [X2]),
    ("2d_w3x2_s21_pad_base12_wdil21", (3, 2), (2, 1), [(2, 1), (1, 1)], (1, 2), (2, 1), [X2]),
    ("nhwc_pool2", (1, 2, 2, 1), (1, 2, 2, 1), "VALID", None, None, [X4]),
    ("nhwc_pool3_s2_same", (1, 3, 3, 1), (1, 2, 2, 1), "SAME", None, None, [X4]),
]
OPS = {"sum": (lax.add, 0.0), "max": (lax.max, -INF), "min": (lax.min, INF)}
# Non-identity init values (XLA CPU: every window starts from it once; padding contributes nothing).
INITS = [("sum", 1.5, "1d_w3_s2_same"), ("max", 0.0, "2d_w3x3_same"), ("min", 1.0, "1d_w2_pad12")]


def weights_like(shape, dtype):
    n = int(np.prod(shape))
    return np.asarray([0.5 + 0.25 * (k % 5) - 0.1 * (k % 3) for k in range(n)], dtype).reshape(shape)


def tangent_like(shape, dtype):
    n = int(np.prod(shape))
    return np.asarray([1.0 + k for k in range(n)], dtype).reshape(shape)


def call(op, init, cfg, dtype):
    _, wd, ws, pad, bd, wdl, _ = cfg
    comp, ident = OPS[op]
    init = ident if init is None else init
    if np.issubdtype(dtype, np.integer):
        init = {"sum": 0, "max": np.iinfo(np.int32).min, "min": np.iinfo(np.int32).max}[op]
    init = np.asarray(init, dtype)
    return lambda x: lax.reduce_window(x, init, comp, wd, ws, pad, bd, wdl)


def record(name, op, init, cfg, x, dtype, grads):
    _, wd, ws, pad, bd, wdl, _ = cfg
    f = call(op, init, cfg, dtype)
    y = f(x)
    case = {
        "name": name, "op": op, "init": init, "dtype": str(np.dtype(dtype)),
        "window_dimensions": list(wd), "window_strides": list(ws),
        "padding": pad if isinstance(pad, str) else [list(p) for p in pad],
        "base_dilation": list(bd) if bd else None, "window_dilation": list(wdl) if wdl else None,
        "x": arr(x), "out": arr(y),
    }
    if grads:
        t = tangent_like(x.shape, dtype)
        case["t"] = arr(t)
        case["jvp"] = arr(jax.jvp(f, (x,), (t,))[1])
        # JAX's VJP of max/min pooling has no rule with window dilation, and its generic
        # reduce_window (a non-identity init) none at all.
        if init is None and (op == "sum" or not wdl or all(d == 1 for d in wdl)):
            w = weights_like(y.shape, dtype)
            case["w"] = arr(w)
            case["grad"] = arr(jax.grad(lambda a: jnp.sum(f(a) * w))(x))
    return case


def window_cases(dtype):
    out = []
    floats = np.issubdtype(dtype, np.floating)
    by_name = {c[0]: c for c in CONFIGS}
    for cfg in CONFIGS:
        for op in OPS:
            for i, xs in enumerate(cfg[6]):
                edge = any(not np.isfinite(v) for v in np.ravel(xs))
                x = np.asarray(xs, dtype) if floats else None
                if not floats:
                    if edge:
                        continue
                    x = np.round(np.asarray(xs) * 4).astype(dtype)
                out.append(record(cfg[0], op, None, cfg, x, dtype, floats and not edge))
    for op, init, cname in INITS:
        cfg = by_name[cname]
        x = np.asarray(cfg[6][0], dtype)
        if floats:
            out.append(record(cname + "_init", op, init, cfg, x, dtype, True))
    return out


def clamp_cases(dtype):
    x = np.asarray([-2.0, -1.0, -0.5, 0.0, 0.25, 1.0, 1.5, 3.0, NAN, INF, -INF], dtype)
    lo = np.asarray([-1.0] * 11, dtype)
    hi = np.asarray([1.0] * 10 + [0.5], dtype)
    out = []
    for lo_, hi_ in [(lo, hi), (np.asarray(-1.0, dtype), np.asarray(1.0, dtype)),
                     (np.asarray(2.0, dtype), np.asarray(1.0, dtype))]:
        out.append({"name": "clamp", "dtype": str(np.dtype(dtype)), "lo": arr(lo_), "x": arr(x),
                    "hi": arr(hi_), "out": arr(lax.clamp(lo_, x, hi_))})
    # Gradients at distinct points (bounds of x's shape: JAX's JVP needs them so).
    gx = np.asarray([-2.0, -0.5, 0.25, 1.5, 3.0, 0.75], dtype)
    glo = np.asarray([-1.0, -1.0, 0.5, -1.0, 4.0, 1.0], dtype)
    ghi = np.asarray([1.0, 1.0, 1.0, 1.0, 2.0, 0.5], dtype)
    w = weights_like(gx.shape, dtype)
    g = jax.grad(lambda a, b, c: jnp.sum(lax.clamp(a, b, c) * w), argnums=(0, 1, 2))(glo, gx, ghi)
    out.append({"name": "clamp_grad", "dtype": str(np.dtype(dtype)), "lo": arr(glo), "x": arr(gx),
                "hi": arr(ghi), "out": arr(lax.clamp(glo, gx, ghi)), "w": arr(w),
                "grads": [arr(v) for v in g]})
    return out


def jaxprs():
    x = jnp.asarray(X2, jnp.float64)
    pool = lambda a: lax.reduce_window(a, -jnp.inf, lax.max, (2, 2), (1, 2), "SAME")
    spool = lambda a: lax.reduce_window(a, 0.0, lax.add, (2, 3), (2, 1), ((1, 0), (0, 1)), (1, 2))
    return {
        "max_pool": str(jax.make_jaxpr(pool)(x)),
        "max_pool_grad": str(jax.make_jaxpr(jax.grad(lambda a: jnp.sum(pool(a))))(x)),
        "max_pool_jvp": str(jax.make_jaxpr(lambda a: jax.jvp(pool, (a,), (a,)))(x)),
        "min_pool_vmap": str(jax.make_jaxpr(jax.vmap(
            lambda a: lax.reduce_window(a, jnp.inf, lax.min, (2,), (1,), "VALID")))(x)),
        "sum_pool_grad": str(jax.make_jaxpr(jax.grad(lambda a: jnp.sum(spool(a))))(x)),
        "clamp": str(jax.make_jaxpr(lambda a: lax.clamp(0.0, a, 1.0))(x)),
    }


def main():
    cases = []
    jax.config.update("jax_enable_x64", False)
    cases += window_cases(np.float32) + window_cases(np.int32) + clamp_cases(np.float32)
    jax.config.update("jax_enable_x64", True)
    cases += window_cases(np.float64) + clamp_cases(np.float64)
    with open(OUT, "w") as fh:
        json.dump({"jax_version": jax.__version__, "cases": cases, "jaxprs": jaxprs()}, fh, indent=None)
        fh.write("\n")


if __name__ == "__main__":
    main()
