#!/usr/bin/env python3
"""JAX 0.10.2's results for every dtype (issue 13 item 7), read by tests/dtypes_vs_jax.rs.

With jax_enable_x64=True (so int64/uint64/float64 are real), for each of the 13 real dtypes
(bool, int8..int64, uint8..uint64, float16, bfloat16, float32, float64) and a fixed set of edge
values, records on the CPU:
  - lax unary ops, lax binary ops (x against the values rotated by 3), each where JAX accepts
    the dtype;
  - convert_element_type from every dtype to every dtype;
  - reductions (sum, max, min, prod, argmax, argmin) over the values and over the finite normal
    ones, and cumsum over the latter.
Every value is stored as its bits, an unsigned integer (int8 -1 is 255, float16 1.0 is 15360),
so the test compares bit for bit. Entries:
  {"op": NAME, "dtype": IN, "x": [BITS], "y": [BITS] (binary only), "out_dtype": OUT,
   "out": [BITS]}
  {"convert": [IN, OUT], "x": [BITS], "out": [BITS]}
Run from the repository root: python3 tests/data/gen_jax_dtypes.py (deterministic).
"""

import json
import os

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

NAMES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "float16", "bfloat16", "float32", "float64"]

FLOAT_VALUES = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, 3.7, -3.7, 1e-3, 0.1, 100.0, 65504.0,
                65520.0, 1e5, 2.0 ** 31, 3e9, -3e9, 1e20, float("inf"), float("-inf"),
                float("nan"), 6e-8, 1e-40, 3.4028234663852886e38, 1e-300]


def np_dtype(name):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def values(name):
    dt = np_dtype(name)
    if name == "bool":
        return np.array([False, True, True, False, True], dtype=bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        bits = dt.itemsize * 8
        vals = [0, 1, 2, 7, 100, info.max, info.max - 1, bits - 1, bits, bits + 1, 3]
        if dt.kind == "i":
            vals += [-1, -2, -7, info.min, info.min + 1, -bits]
        else:
            vals += [1 << (bits - 1), (1 << (bits - 1)) - 1]
        return np.array([v for v in vals if info.min <= v <= info.max], dtype=dt)
    with np.errstate(over="ignore"):
        vals = np.array(FLOAT_VALUES, dtype=np.float64).astype(dt)
    if dt.itemsize == 2:
        vals = np.concatenate([vals, np.array([6e-5, 6.1e-5, 3e-7, 5.96e-8], dtype=dt)])
    return vals


def bits(a):
    a = np.asarray(a)
    if a.dtype == bool:
        return [int(v) for v in a.astype(np.uint8).ravel()]
    unsigned = np.dtype("uint%d" % (a.dtype.itemsize * 8))
    return [int(v) for v in a.view(unsigned).ravel()]


UNARY = {
    "neg": lax.neg, "abs": lax.abs, "sign": lax.sign, "square": lax.square,
    "exp": lax.exp, "log": lax.log, "sin": lax.sin, "tanh": lax.tanh, "sqrt": lax.sqrt,
    "floor": lax.floor, "round": lambda x: lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN),
    "is_finite": lax.is_finite, "not": lax.bitwise_not, "population_count": lax.population_count,
    "clz": lax.clz, "integer_pow3": lambda x: lax.integer_pow(x, 3),
    "logistic": lax.logistic, "expm1": lax.expm1,
}
BINARY = {
    "add": lax.add, "sub": lax.sub, "mul": lax.mul, "div": lax.div, "rem": lax.rem,
    "max": lax.max, "min": lax.min, "pow": lax.pow, "atan2": lax.atan2,
    "and": lax.bitwise_and, "or": lax.bitwise_or, "xor": lax.bitwise_xor,
    "shift_left": lax.shift_left, "shift_right_logical": lax.shift_right_logical,
    "shift_right_arithmetic": lax.shift_right_arithmetic, "eq": lax.eq, "lt": lax.lt,
    "ge": lax.ge, "nextafter": lax.nextafter,
}
REDUCE = {
    "reduce_sum": lambda x: lax.reduce_sum_p.bind(x, axes=(0,), out_sharding=None),
    "reduce_max": lambda x: lax.reduce_max_p.bind(x, axes=(0,), out_sharding=None),
    "reduce_min": lambda x: lax.reduce_min_p.bind(x, axes=(0,), out_sharding=None),
    "reduce_prod": lambda x: lax.reduce_prod_p.bind(x, axes=(0,), out_sharding=None),
    "argmax": lambda x: lax.argmax(x, 0, jnp.int32),
    "argmin": lambda x: lax.argmin(x, 0, jnp.int32),
    "cumsum": lambda x: lax.cumsum(x, 0),
}


def run(f, *args):
    try:
        return np.asarray(jax.jit(f)(*args))
    except (TypeError, ValueError):
        return None


def main():
    rows = []
    for name in NAMES:
        x = jnp.asarray(values(name))
        y = jnp.roll(x, 3)
        for op, f in UNARY.items():
            out = run(f, x)
            if out is not None:
                rows.append({"op": op, "dtype": name, "x": bits(x), "out_dtype": np_name(out),
                             "out": bits(out)})
        for op, f in BINARY.items():
            out = run(f, x, y)
            if out is not None:
                rows.append({"op": op, "dtype": name, "x": bits(x), "y": bits(y),
                             "out_dtype": np_name(out), "out": bits(out)})
        if name == "bool" or np_dtype(name).kind in "iu":
            finite = x
        else:
            # Finite and, where XLA flushes subnormals (all but float16), normal or zero.
            tiny = 0.0 if name == "float16" else float(jnp.finfo(np_dtype(name)).tiny)
            finite = x[jnp.isfinite(x) & ((x == 0) | (jnp.abs(x) >= tiny))]
        for op, f in REDUCE.items():
            for xs in ([x, finite] if op != "cumsum" else [finite]):
                out = run(f, xs)
                if out is not None:
                    rows.append({"op": op, "dtype": name, "x": bits(xs),
                                 "out_dtype": np_name(out), "out": bits(out)})
        for to in NAMES:
            out = run(lambda v: lax.convert_element_type(v, np_dtype(to)), x)
            rows.append({"convert": [name, to], "x": bits(x), "out": bits(out)})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_dtypes.json")
    with open(path, "w") as f:
        json.dump({"jax_version": jax.__version__, "x64": True, "cases": rows}, f, indent=0)
        f.write("\n")


def np_name(a):
    return "bfloat16" if a.dtype == np.dtype(ml_dtypes.bfloat16) else a.dtype.name


if __name__ == "__main__":
    main()
