#!/usr/bin/env python3
"""High-precision references for cranax's transcendental functions (tests/math_reference.rs).

For each function (exp, log, log1p, expm1, sin, cos, tanh, logistic, sqrt, rsqrt, erf_inv,
pow; tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, cbrt, exp2, erf, erfc, lgamma,
digamma, atan2) and each dtype (f32, f64) it draws inputs exactly representable in that dtype (a fixed
seed; uniform and log-spaced over the function's domain, the range cranax documents as
accurate, and points near the hard cases: 0, 1, the overflow thresholds, the poles), evaluates
the true function with mpmath at 200 bits, and writes the result as a double-double
(hi = the true value rounded to f64, lo = true - hi rounded to f64), so a test can measure an
f32 or f64 result's error in fractional ulps of its own dtype.

Output: math_reference.json beside this script:
  {"generator": ..., "mpmath": version, "functions": {NAME: {"f32": {"x": [...], ["y": [...],]
   "hi": [...], "lo": [...]}, "f64": {...}}}}
Inputs whose true result is not finite in the dtype are skipped (the special values are tested
elsewhere, in tests/core.rs and the backend's math tests).

Run from the repository root: pip install mpmath && python3 tests/data/gen_mpmath_reference.py
Deterministic: running it again rewrites the identical file.
"""

import json
import math
import os
import random
import struct

import mpmath
from mpmath import mp, mpf

mp.prec = 200
N = 600  # random points per function and dtype, plus the edge points

F32_MAX = struct.unpack("<f", struct.pack("<I", 0x7F7FFFFF))[0]


def to_f32(v):
    """Round a Python float (f64) to the nearest f32, returned as a Python float."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def rep(dtype, v):
    return to_f32(v) if dtype == "f32" else v


def uniform(rng, lo, hi):
    return rng.uniform(lo, hi)


def log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def signed_log_uniform(rng, lo, hi):
    return log_uniform(rng, lo, hi) * rng.choice((-1.0, 1.0))


def erf_inv(x):
    return mpmath.erfinv(x)


def log_abs_gamma(x):
    """log |Gamma(x)| (JAX's lgamma); None at the poles."""
    if x <= 0 and x == mpmath.floor(x):
        return None
    return mpmath.log(abs(mpmath.gamma(x))) if x < 0 else mpmath.loggamma(x)


# name: (true function of mpf args, arity, {dtype: [(sampler, lo, hi), ...]}, edge points)
def domains():
    tiny32, tiny64 = 2.0**-126, 2.0**-1022
    return {
        "exp": (mpmath.exp, 1,
                {"f32": [(uniform, -103.0, 88.7), (signed_log_uniform, 1e-8, 10.0)],
                 "f64": [(uniform, -745.0, 709.7), (signed_log_uniform, 1e-18, 10.0)]},
                [0.0, -0.0, 1.0, -1.0, 88.72, -87.3, -103.0, 1e-30, 709.78, -708.0, -745.0]),
        "log": (mpmath.log, 1,
                {"f32": [(log_uniform, 1e-45, 3e38), (uniform, 0.5, 2.0)],
                 "f64": [(log_uniform, 5e-324, 1e308), (uniform, 0.5, 2.0)]},
                [1.0, 2.0, 0.5, 1.0 + 2.0**-23, 1.0 - 2.0**-24, tiny32, tiny64, F32_MAX]),
        "log1p": (mpmath.log1p, 1,
                  {"f32": [(uniform, -0.999, 10.0), (signed_log_uniform, 1e-30, 1.0),
                           (log_uniform, 1.0, 3e38)],
                   "f64": [(uniform, -0.999, 10.0), (signed_log_uniform, 1e-300, 1.0),
                           (log_uniform, 1.0, 1e308)]},
                  [0.0, -0.0, -0.5, 1e-30, -0.9999999, 1.0, 2.0**-24]),
        "expm1": (mpmath.expm1, 1,
                  {"f32": [(uniform, -90.0, 88.7), (signed_log_uniform, 1e-30, 1.0)],
                   "f64": [(uniform, -745.0, 709.7), (signed_log_uniform, 1e-300, 1.0)]},
                  [0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 88.7, 709.7]),
        "sin": (mpmath.sin, 1,
                {"f32": [(uniform, -10.0, 10.0), (signed_log_uniform, 1e-20, 1e5)],
                 "f64": [(uniform, -10.0, 10.0), (signed_log_uniform, 1e-200, 1e13)]},
                [0.0, -0.0, 1e-30, math.pi, math.pi / 2, 3 * math.pi / 2, 1e5, 22.0, 355.0]),
        "cos": (mpmath.cos, 1,
                {"f32": [(uniform, -10.0, 10.0), (signed_log_uniform, 1e-20, 1e5)],
                 "f64": [(uniform, -10.0, 10.0), (signed_log_uniform, 1e-200, 1e13)]},
                [0.0, -0.0, 1e-30, math.pi, math.pi / 2, 3 * math.pi / 2, 1e5, 22.0, 355.0]),
        "tanh": (mpmath.tanh, 1,
                 {"f32": [(uniform, -12.0, 12.0), (signed_log_uniform, 1e-30, 100.0)],
                  "f64": [(uniform, -25.0, 25.0), (signed_log_uniform, 1e-300, 100.0)]},
                 [0.0, -0.0, 0.5493, 0.55, 0.625, 1e-30, 9.0, 20.0]),
        "logistic": (lambda x: 1 / (1 + mpmath.exp(-x)), 1,
                     {"f32": [(uniform, -103.0, 30.0), (signed_log_uniform, 1e-30, 100.0)],
                      "f64": [(uniform, -740.0, 40.0), (signed_log_uniform, 1e-300, 100.0)]},
                     [0.0, -0.0, 1.0, -1.0, 20.0, -20.0, -88.0, -100.0]),
        "sqrt": (mpmath.sqrt, 1,
                 {"f32": [(log_uniform, 1e-45, 3e38)], "f64": [(log_uniform, 5e-324, 1e308)]},
                 [0.0, 1.0, 2.0, 4.0, tiny32, tiny64, F32_MAX]),
        "rsqrt": (lambda x: 1 / mpmath.sqrt(x), 1,
                  {"f32": [(log_uniform, 1e-37, 3e38)], "f64": [(log_uniform, 1e-307, 1e308)]},
                  [1.0, 2.0, 4.0, 0.25, tiny32, tiny64, F32_MAX]),
        "erf_inv": (erf_inv, 1,
                    {"f32": [(uniform, -0.9, 0.9), (signed_log_uniform, 1e-30, 0.9),
                             (uniform, -0.99999, 0.99999)],
                     "f64": [(uniform, -0.9, 0.9), (signed_log_uniform, 1e-300, 0.9),
                             (uniform, -0.9999999999, 0.9999999999)]},
                    [0.0, -0.0, 0.5, -0.5, 0.9, -0.9, 1e-30, 0.999]),
        "pow": (lambda x, y: mpmath.power(x, y), 2,
                {"f32": [(log_uniform, 1e-3, 1e3), (uniform, -12.0, 12.0)],
                 "f64": [(log_uniform, 1e-6, 1e6), (uniform, -40.0, 40.0)]},
                [(2.0, 0.5), (10.0, -3.0), (-2.0, 3.0), (-2.0, -2.0), (0.5, 10.0), (1.5, 100.0),
                 (7.0, 1.0 / 3.0), (1.0000001, 1e6), (3.0, 0.0)]),
        "tan": (mpmath.tan, 1,
                {"f32": [(uniform, -10.0, 10.0), (signed_log_uniform, 1e-20, 1e5)],
                 "f64": [(uniform, -10.0, 10.0), (signed_log_uniform, 1e-200, 1e13)]},
                [0.0, -0.0, 1e-30, 1.5707963, -1.57, 0.785398, 1e5, 22.0, 355.0]),
        "asin": (mpmath.asin, 1,
                 {"f32": [(uniform, -1.0, 1.0), (signed_log_uniform, 1e-30, 1.0)],
                  "f64": [(uniform, -1.0, 1.0), (signed_log_uniform, 1e-300, 1.0)]},
                 [0.0, -0.0, 1.0, -1.0, 0.5, 0.99999, -0.9999999, 1e-30]),
        "acos": (mpmath.acos, 1,
                 {"f32": [(uniform, -1.0, 1.0), (signed_log_uniform, 1e-30, 1.0)],
                  "f64": [(uniform, -1.0, 1.0), (signed_log_uniform, 1e-300, 1.0)]},
                 [0.0, -0.0, 1.0, -1.0, 0.5, 0.99999, -0.9999999, 1e-30]),
        "atan": (mpmath.atan, 1,
                 {"f32": [(uniform, -4.0, 4.0), (signed_log_uniform, 1e-30, 1e30)],
                  "f64": [(uniform, -4.0, 4.0), (signed_log_uniform, 1e-300, 1e300)]},
                 [0.0, -0.0, 1.0, -1.0, 0.4375, 0.6875, 1.1875, 2.4375, 1e30, 1e-30]),
        "sinh": (mpmath.sinh, 1,
                 {"f32": [(uniform, -89.0, 89.0), (signed_log_uniform, 1e-30, 89.0)],
                  "f64": [(uniform, -710.0, 710.0), (signed_log_uniform, 1e-300, 710.0)]},
                 [0.0, -0.0, 1e-30, 0.5, 1.0, 21.9, 22.0, 22.1, 88.7, 710.4]),
        "cosh": (mpmath.cosh, 1,
                 {"f32": [(uniform, -89.0, 89.0), (signed_log_uniform, 1e-30, 89.0)],
                  "f64": [(uniform, -710.0, 710.0), (signed_log_uniform, 1e-300, 710.0)]},
                 [0.0, -0.0, 1e-30, 0.34, 0.35, 1.0, 21.9, 22.0, 22.1, 88.7, 710.4]),
        "asinh": (mpmath.asinh, 1,
                  {"f32": [(uniform, -4.0, 4.0), (signed_log_uniform, 1e-30, 3e38)],
                   "f64": [(uniform, -4.0, 4.0), (signed_log_uniform, 1e-300, 1e308)]},
                  [0.0, -0.0, 1e-30, 2.0, 2.0000002, 2.0**28, 3e38, 1.7e308]),
        "acosh": (mpmath.acosh, 1,
                  {"f32": [(uniform, 1.0, 4.0), (log_uniform, 1.0, 3e38)],
                   "f64": [(uniform, 1.0, 4.0), (log_uniform, 1.0, 1e308)]},
                  [1.0, 1.0000001, 2.0, 2.0000002, 2.0**28, 3e38, 1.7e308]),
        "atanh": (mpmath.atanh, 1,
                  {"f32": [(uniform, -1.0, 1.0), (signed_log_uniform, 1e-30, 1.0)],
                   "f64": [(uniform, -1.0, 1.0), (signed_log_uniform, 1e-300, 1.0)]},
                  [0.0, -0.0, 1e-30, 0.5, -0.4999999, 0.9999999, -0.99999994]),
        "cbrt": (lambda x: mpmath.sign(x) * mpmath.cbrt(abs(x)), 1,
                 {"f32": [(signed_log_uniform, 1e-45, 3e38), (uniform, -8.0, 8.0)],
                  "f64": [(signed_log_uniform, 5e-324, 1e308), (uniform, -8.0, 8.0)]},
                 [0.0, -0.0, 1.0, -8.0, 27.0, tiny32, tiny64, 1e-40, 5e-324, F32_MAX]),
        "exp2": (lambda x: mpmath.power(2, x), 1,
                 {"f32": [(uniform, -149.0, 127.9), (signed_log_uniform, 1e-8, 10.0)],
                  "f64": [(uniform, -1074.0, 1023.9), (signed_log_uniform, 1e-18, 10.0)]},
                 [0.0, -0.0, 1.0, 3.0, -10.0, 0.5, 127.5, -149.0, 1023.5, -1074.0, -1022.5]),
        "erf": (mpmath.erf, 1,
                {"f32": [(uniform, -4.0, 4.0), (signed_log_uniform, 1e-30, 10.0)],
                 "f64": [(uniform, -6.0, 6.0), (signed_log_uniform, 1e-300, 10.0)]},
                [0.0, -0.0, 0.84375, 1.25, 2.857, 6.0, 1e-30]),
        "erfc": (mpmath.erfc, 1,
                 {"f32": [(uniform, -4.0, 10.0), (signed_log_uniform, 1e-30, 10.0)],
                  "f64": [(uniform, -6.0, 27.0), (signed_log_uniform, 1e-300, 27.0)]},
                 [0.0, -0.0, 0.84375, 1.25, 2.857, 6.0, 9.0, 26.5]),
        "lgamma": (log_abs_gamma, 1,
                   {"f32": [(uniform, 0.0, 10.0), (log_uniform, 1e-30, 1e36), (uniform, -10.0, 0.0)],
                    "f64": [(uniform, 0.0, 10.0), (log_uniform, 1e-300, 1e300),
                            (uniform, -10.0, 0.0)]},
                   [1.0, 2.0, 0.5, 1e-30, 3.0, 10.0, 1.5, 2.5]),
        "digamma": (mpmath.digamma, 1,
                    {"f32": [(uniform, 0.0, 10.0), (log_uniform, 1e-30, 1e30)],
                     "f64": [(uniform, 0.0, 10.0), (log_uniform, 1e-300, 1e300)]},
                    [1.0, 2.0, 0.5, 1e-30, 1.4616321449683622, 1.46, 1.47, 1.2, 1.72, 10.0]),
        "atan2": (lambda y, x: mpmath.atan2(y, x), 2,
                  {"f32": [(lambda r, lo, hi: r.uniform(lo, hi), -10.0, 10.0),
                           (lambda r, lo, hi: r.uniform(lo, hi), -10.0, 10.0)],
                   "f64": [(lambda r, lo, hi: r.uniform(lo, hi), -10.0, 10.0),
                           (lambda r, lo, hi: r.uniform(lo, hi), -10.0, 10.0)]},
                  [(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (0.5, 1e-30), (1e-30, -2.0),
                   (3.0, -1e-10), (-1e-30, -1.0), (1e30, 1e-30)]),
    }


def true_value(f, args):
    try:
        return f(*[mpf(a) for a in args])
    except ZeroDivisionError:  # a pole (rsqrt of a zero): a special value, tested elsewhere
        return None


def finite_in(dtype, v):
    """True when mpf v is a real finite number in the dtype (not overflowing it)."""
    if not isinstance(v, mpf) or mpmath.isnan(v) or mpmath.isinf(v):
        return False
    limit = F32_MAX if dtype == "f32" else 1.7976931348623157e308
    return abs(v) <= limit


def section(name, f, arity, samplers, edges, dtype, rng):
    points = []
    for e in edges:
        args = e if arity == 2 else (e,)
        if dtype == "f32" and any(abs(a) > F32_MAX for a in args):
            continue  # an f64-only edge point
        points.append(tuple(rep(dtype, a) for a in args))
    if arity == 1:
        for i in range(N):
            sampler, lo, hi = samplers[i % len(samplers)]
            points.append((rep(dtype, sampler(rng, lo, hi)),))
    else:
        (sx, xlo, xhi), (sy, ylo, yhi) = samplers
        for _ in range(N):
            points.append((rep(dtype, sx(rng, xlo, xhi)), rep(dtype, sy(rng, ylo, yhi))))
    out = {"x": [], "hi": [], "lo": []}
    if arity == 2:
        out["y"] = []
    for args in points:
        v = true_value(f, args)
        if not finite_in(dtype, v):
            continue
        hi = float(v)
        lo = float(v - mpf(hi))
        out["x"].append(args[0])
        if arity == 2:
            out["y"].append(args[1])
        out["hi"].append(hi)
        out["lo"].append(lo)
    return out


def main():
    rng = random.Random(20261202)
    functions = {}
    for name, (f, arity, samplers, edges) in domains().items():
        functions[name] = {
            dtype: section(name, f, arity, samplers[dtype], edges, dtype, rng)
            for dtype in ("f32", "f64")
        }
    doc = {
        "generator": "tests/data/gen_mpmath_reference.py",
        "mpmath": mpmath.__version__,
        "precision_bits": mp.prec,
        "functions": functions,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "math_reference.json")
    with open(path, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")


if __name__ == "__main__":
    main()
