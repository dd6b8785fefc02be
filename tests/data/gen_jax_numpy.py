#!/usr/bin/env python3
"""JAX 0.10.2 reference values for cranax's elementwise jnp / lax / jax.scipy.special / jax.nn
functions (issue 13: items 1 and 6), read by tests/numpy_vs_jax.rs.

For each function and dtype (float32 with x64 off, float64 with x64 on; int32/uint32 for the
integer ops) it records the outputs at fixed inputs that include the edge values (NaN, +-inf,
+-0, halfway cases for rounding, domain boundaries, integer overflow), and, for the
differentiable ones, vmap(grad(f)) at interior points (first derivative; for binary functions
with respect to both arguments). Cases:

  {"name", "dtype", "args": [ARR...], "out": ARR | [ARR...], "grad_args": [ARR...],
   "grads": [ARR...]}

where ARR is {"shape", "dtype", "data"}; non-finite floats are written as the strings "nan",
"inf", "-inf" (JSON has no literal for them); -0.0 is written as -0.0.

Run from the repository root: python3 tests/data/gen_jax_numpy.py  (rewrites
tests/data/jax_numpy.json; deterministic).
"""

import json
import math
import os

import numpy as np
import jax

jax.config.update("jax_enable_x64", False)
import jax.numpy as jnp  # noqa: E402
import jax.scipy.special as sp  # noqa: E402
from jax import lax  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_numpy.json")


def enc(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def arr(x):
    a = np.asarray(x)
    return {"shape": list(a.shape), "dtype": str(a.dtype), "data": [enc(v) for v in a.reshape(-1)]}


NAN, INF = float("nan"), float("inf")
EDGES = [NAN, INF, -INF, 0.0, -0.0]
TIES = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -0.49999997, 0.49999997, 1e30, -1e30, 2.0**52 + 1]
GENERIC = [-2.7, -1.3, -0.6, -0.2, 0.3, 0.8, 1.7, 2.9]
UNIT = [-0.93, -0.6, -0.25, -0.05, 0.1, 0.4, 0.7, 0.95]
POS = [0.05, 0.3, 0.9, 1.0, 1.6, 3.2, 7.5, 14.0]
ABOVE1 = [1.05, 1.3, 1.9, 2.5, 4.0, 9.0, 30.0, 1e3]
OPEN01 = [0.02, 0.1, 0.3, 0.45, 0.55, 0.7, 0.9, 0.98]

# name: (function, value inputs, grad inputs or None)
UNARY = {
    "floor": (jnp.floor, GENERIC + TIES + EDGES, None),
    "ceil": (jnp.ceil, GENERIC + TIES + EDGES, None),
    "trunc": (jnp.trunc, GENERIC + TIES + EDGES, None),
    "rint": (jnp.rint, GENERIC + TIES + EDGES, None),
    "round": (jnp.round, GENERIC + TIES + EDGES, None),
    "round_decimals_2": (lambda x: jnp.round(x, 2), [1.2345, -2.71828, 0.125, 0.135, 100.005], None),
    "lax_round_away": (lambda x: lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO), GENERIC + TIES + EDGES, None),
    "isnan": (jnp.isnan, GENERIC + EDGES, None),
    "isinf": (jnp.isinf, GENERIC + EDGES, None),
    "isfinite": (jnp.isfinite, GENERIC + EDGES, None),
    "signbit": (jnp.signbit, GENERIC + EDGES, None),
    "nan_to_num": (jnp.nan_to_num, GENERIC + EDGES, None),
    "tan": (jnp.tan, GENERIC + [1.5, -1.5707, 10.0, 100.0] + EDGES, GENERIC),
    "arcsin": (jnp.arcsin, UNIT + [1.0, -1.0, 1.5] + EDGES, UNIT),
    "arccos": (jnp.arccos, UNIT + [1.0, -1.0, 1.5] + EDGES, UNIT),
    "arctan": (jnp.arctan, GENERIC + [1e10, -1e30, 0.4375, 2.4375] + EDGES, GENERIC),
    "sinh": (jnp.sinh, GENERIC + [20.0, -30.0, 80.0, 1e-10] + EDGES, GENERIC),
    "cosh": (jnp.cosh, GENERIC + [20.0, -30.0, 80.0, 1e-10] + EDGES, GENERIC),
    "arcsinh": (jnp.arcsinh, GENERIC + [1e10, -3e20, 1e-10] + EDGES, GENERIC),
    "arccosh": (jnp.arccosh, ABOVE1 + [1.0, 0.5, 1e20, -0.5, -3.0, -1e4] + EDGES, ABOVE1),
    "arctanh": (jnp.arctanh, UNIT + [1.0, -1.0, 1.5, 1e-10] + EDGES, UNIT),
    "log2": (jnp.log2, POS + [8.0, 1024.0] + EDGES, POS),
    "log10": (jnp.log10, POS + [1000.0, 1e-5] + EDGES, POS),
    "exp2": (jnp.exp2, GENERIC + [3.0, -10.0, 100.0, 0.5] + EDGES, GENERIC),
    "cbrt": (jnp.cbrt, GENERIC + [8.0, -27.0, 1e-30, 1e30] + EDGES, GENERIC),
    "square": (jnp.square, GENERIC + EDGES, GENERIC),
    "deg2rad": (jnp.deg2rad, GENERIC + [180.0, -90.0] + EDGES, GENERIC),
    "rad2deg": (jnp.rad2deg, GENERIC + [math.pi] + EDGES, GENERIC),
    "erf": (sp.erf, GENERIC + [4.0, -6.0, 1e-10] + EDGES, GENERIC),
    "erfc": (sp.erfc, GENERIC + [4.0, 9.0, -6.0, 26.0] + EDGES, GENERIC),
    "erfinv": (sp.erfinv, UNIT + [1.0, -1.0] + EDGES, UNIT),
    "gammaln": (sp.gammaln, POS + [-0.5, -2.5, 2.0, 1e5] + EDGES, POS),
    "digamma": (sp.digamma, POS + [-0.5, -2.5, 1.4616321449683622, 2.0] + EDGES, POS),
    "logit": (sp.logit, OPEN01 + [0.0, 1.0] + EDGES, OPEN01),
    "expit": (sp.expit, GENERIC + [-100.0, 50.0] + EDGES, GENERIC),
    "relu": (jax.nn.relu, GENERIC + EDGES, GENERIC + [0.0]),
    "relu6": (jax.nn.relu6, GENERIC + [6.0, 7.5] + EDGES, GENERIC + [0.0, 6.0, 7.0]),
    "gelu_tanh": (lambda x: jax.nn.gelu(x, approximate=True), GENERIC + EDGES, GENERIC),
    "gelu_exact": (lambda x: jax.nn.gelu(x, approximate=False), GENERIC + EDGES, GENERIC),
    "silu": (jax.nn.silu, GENERIC + EDGES, GENERIC),
    "softplus": (jax.nn.softplus, GENERIC + [50.0, -50.0] + EDGES, GENERIC + [50.0, -50.0]),
    "elu": (jax.nn.elu, GENERIC + EDGES, GENERIC),
    "leaky_relu": (jax.nn.leaky_relu, GENERIC + EDGES, GENERIC),
    "sigmoid": (jax.nn.sigmoid, GENERIC + EDGES, GENERIC),
    "log_sigmoid": (jax.nn.log_sigmoid, GENERIC + [-50.0, 50.0] + EDGES, GENERIC),
}

BX = GENERIC + [5.0, -5.0, 7.5, -7.5, 0.0, -0.0, 3.0, 1e-3]
BY = [1.7, -0.6, 0.8, -1.9, 2.4, 0.5, -1.1, 1.3, 2.0, 2.0, -2.0, 2.5, 1.5, 1.5, -3.0, 0.3]
BEDGE_X = [NAN, 1.0, INF, -INF, 1.0, 0.0, -0.0, INF, 5.0, 0.0]
BEDGE_Y = [1.0, NAN, 2.0, 1.0, INF, 0.0, 0.0, INF, 0.0, -0.0]
GX = [-2.5, -1.3, -0.7, 0.4, 0.9, 1.6, 2.2, 3.1]
GY = [1.7, -0.6, 0.8, -1.9, 2.4, 0.5, -1.1, 1.3]

BINARY = {
    "remainder": (jnp.remainder, None),
    "fmod": (jnp.fmod, None),
    "floor_divide": (jnp.floor_divide, None),
    "copysign": (jnp.copysign, None),
    "arctan2": (jnp.arctan2, (GX, GY)),
    "hypot": (jnp.hypot, (GX, GY)),
    "logaddexp": (jnp.logaddexp, (GX + [-INF, 3.0], GY + [1.0, -INF])),
    "heaviside": (jnp.heaviside, None),
    "xlogy": (sp.xlogy, (GX + [0.0], [abs(v) for v in GY] + [2.0])),
    "xlog1py": (sp.xlog1py, (GX + [0.0], [abs(v) for v in GY] + [2.0])),
    "nextafter": (jnp.nextafter, None),
    "rem_grad": (lax.rem, ([5.3, -5.3, 2.2, -7.1, 0.4, 3.3, -1.7, 9.9], [2.0, 2.0, -0.7, 3.1, 1.5, -1.2, 0.4, 4.0])),
}


def unary_cases(dtype):
    out = []
    for name, (f, xs, gxs) in UNARY.items():
        x = np.asarray(xs, dtype=dtype)
        case = {"name": name, "dtype": dtype, "args": [arr(x)], "out": arr(f(x))}
        if gxs is not None:
            g = jax.vmap(jax.grad(f))(np.asarray(gxs, dtype=dtype))
            case["grad_args"] = [arr(np.asarray(gxs, dtype=dtype))]
            case["grads"] = [arr(g)]
        out.append(case)
    return out


def binary_cases(dtype):
    out = []
    for name, (f, grad_pts) in BINARY.items():
        x = np.asarray(BX + BEDGE_X, dtype=dtype)
        y = np.asarray(BY + BEDGE_Y, dtype=dtype)
        if name == "rem_grad":
            x = np.asarray(grad_pts[0], dtype=dtype)
            y = np.asarray(grad_pts[1], dtype=dtype)
        case = {"name": name, "dtype": dtype, "args": [arr(x), arr(y)], "out": arr(f(x, y))}
        if grad_pts is not None:
            gx = np.asarray(grad_pts[0], dtype=dtype)
            gy = np.asarray(grad_pts[1], dtype=dtype)
            dx, dy = jax.vmap(jax.grad(f, argnums=(0, 1)))(gx, gy)
            case["grad_args"] = [arr(gx), arr(gy)]
            case["grads"] = [arr(dx), arr(dy)]
        out.append(case)
    # polygamma(n, x) for n = 0..3, and its x-derivative.
    n = np.asarray([0, 1, 1, 2, 3, 1, 2, 0], dtype=dtype)
    x = np.asarray([1.5, 0.5, 2.0, 3.3, 0.7, 10.0, 1.0, 25.0], dtype=dtype)
    dx = jax.vmap(jax.grad(lax.polygamma, argnums=1))(n, x)
    out.append({"name": "polygamma", "dtype": dtype, "args": [arr(n), arr(x)],
                "out": arr(lax.polygamma(n, x)), "grad_args": [arr(n), arr(x)],
                "grads": [arr(np.zeros_like(n)), arr(dx)]})
    return out


def axis_cases(dtype):
    x = np.asarray([[0.3, -1.2, 2.5, 0.0], [10.0, 10.0, -3.0, 1.5], [-INF, 0.5, 0.5, -INF]],
                   dtype=dtype)
    xg = np.asarray([[0.3, -1.2, 2.5, 0.1], [1.0, 1.3, -3.0, 1.5]], dtype=dtype)
    w = np.asarray([[0.7, -0.2, 1.1, 0.4], [0.3, 0.9, -1.5, 2.0]], dtype=dtype)
    fs = {
        "softmax": lambda a: jax.nn.softmax(a, axis=-1),
        "softmax_axis0": lambda a: jax.nn.softmax(a, axis=0),
        "log_softmax": lambda a: jax.nn.log_softmax(a, axis=-1),
        "logsumexp": lambda a: sp.logsumexp(a, axis=-1),
        "logsumexp_all": lambda a: sp.logsumexp(a),
        "logsumexp_keepdims": lambda a: sp.logsumexp(a, axis=0, keepdims=True),
        "standardize": lambda a: jax.nn.standardize(a, axis=-1),
    }
    out = []
    for name, f in fs.items():
        xs = x if name != "standardize" else xg
        g = jax.grad(lambda a: jnp.sum(f(a) * w[: a.shape[0]] if f(a).shape == a.shape
                                       else f(a) * 0.7))(xg)
        out.append({"name": name, "dtype": dtype, "args": [arr(xs)], "out": arr(f(xs)),
                    "grad_args": [arr(xg)], "grads": [arr(g)]})
    return out


def int_cases():
    out = []
    i32 = np.int32
    a = np.asarray([7, -7, 7, -7, 0, 5, -1, 2**31 - 1, -2**31, -2**31, 123456, 3], dtype=i32)
    b = np.asarray([2, 2, -2, -2, 3, 0, 0, 1, -1, 0, 7, -4], dtype=i32)
    s = np.asarray([0, 1, 4, 31, 32, 33, 40, 1, 3, 31, 7, 2], dtype=i32)
    ua = a.astype(np.uint32)
    us = s.astype(np.uint32)
    ub = np.abs(b).astype(np.uint32)
    fs2 = {
        "remainder": (jnp.remainder, a, b), "fmod": (jnp.fmod, a, b),
        "floor_divide": (jnp.floor_divide, a, b),
        "bitwise_and": (jnp.bitwise_and, a, b), "bitwise_or": (jnp.bitwise_or, a, b),
        "bitwise_xor": (jnp.bitwise_xor, a, b),
        "left_shift": (jnp.left_shift, a, s), "right_shift": (jnp.right_shift, a, s),
        "shift_right_arithmetic": (lax.shift_right_arithmetic, a, s),
        "remainder_u32": (jnp.remainder, ua, ub), "floor_divide_u32": (jnp.floor_divide, ua, ub),
        "right_shift_u32": (jnp.right_shift, ua, us),
        "shift_right_arithmetic_u32": (lax.shift_right_arithmetic, ua, us),
    }
    for name, (f, x, y) in fs2.items():
        out.append({"name": name, "dtype": str(x.dtype), "args": [arr(x), arr(y)],
                    "out": arr(f(x, y))})
    fs1 = {
        "bitwise_not": (jnp.bitwise_not, a), "population_count": (lax.population_count, a),
        "clz": (lax.clz, a), "abs": (jnp.abs, a), "negative": (jnp.negative, a),
        "square": (jnp.square, a), "sign": (jnp.sign, a),
        "population_count_u32": (lax.population_count, ua), "clz_u32": (lax.clz, ua),
        "floor": (jnp.floor, a), "isnan": (jnp.isnan, a), "isfinite": (jnp.isfinite, a),
        "signbit": (jnp.signbit, a), "rint": (jnp.rint, a),
    }
    for name, (f, x) in fs1.items():
        out.append({"name": name, "dtype": str(x.dtype), "args": [arr(x)], "out": arr(f(x))})
    bools = np.asarray([True, False, True, False])
    bools2 = np.asarray([True, True, False, False])
    out.append({"name": "bitwise_and", "dtype": "bool", "args": [arr(bools), arr(bools2)],
                "out": arr(jnp.bitwise_and(bools, bools2))})
    out.append({"name": "bitwise_not", "dtype": "bool", "args": [arr(bools)],
                "out": arr(jnp.bitwise_not(bools))})
    return out


def one_hot_cases():
    labels = np.asarray([0, 2, 5, -1, 1], dtype=np.int32)
    return [{"name": "one_hot", "dtype": "int32", "args": [arr(labels)],
             "out": arr(jax.nn.one_hot(labels, 3))}]


def main():
    cases = []
    jax.config.update("jax_enable_x64", False)
    cases += unary_cases("float32") + binary_cases("float32") + axis_cases("float32")
    cases += int_cases() + one_hot_cases()
    jax.config.update("jax_enable_x64", True)
    cases += unary_cases("float64") + binary_cases("float64") + axis_cases("float64")
    doc = {"generator": "tests/data/gen_jax_numpy.py", "jax": jax.__version__, "cases": cases}
    with open(OUT, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")


if __name__ == "__main__":
    main()
