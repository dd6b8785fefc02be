#!/usr/bin/env python3
"""JAX 0.10.2's random draws in the dtypes beyond f32 (issue 13 item 7), read by
tests/random_dtypes.rs: `random.bits` for uint8/16/32/64 and `uniform` and `normal` for float16,
bfloat16, float32 and float64, with x64 on and jax_threefry_partitionable=False (the mode cranax
implements). Values are stored as their bits (unsigned integers). Entries:
  {"fn": "bits"|"uniform"|"normal", "seed": S, "shape": [..], "dtype": NAME,
   "minval": F, "maxval": F (uniform only), "out": [BITS]}
Run from the repository root: python3 tests/data/gen_jax_random_dtypes.py (deterministic).
"""

import json
import os

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_threefry_partitionable", False)

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
from jax import random  # noqa: E402


def np_dtype(name):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def bits(a):
    a = np.asarray(a)
    unsigned = np.dtype("uint%d" % (a.dtype.itemsize * 8))
    return [int(v) for v in a.view(unsigned).ravel()]


def main():
    rows = []
    for seed in [0, 1234]:
        key = random.PRNGKey(seed)
        for shape in [(7,), (3, 5), (64,)]:
            for name in ["uint8", "uint16", "uint32", "uint64"]:
                rows.append({"fn": "bits", "seed": seed, "shape": list(shape), "dtype": name,
                             "out": bits(random.bits(key, shape, np_dtype(name)))})
            for name in ["float16", "bfloat16", "float32", "float64"]:
                for lo, hi in [(0.0, 1.0), (-2.0, 3.0)]:
                    out = random.uniform(key, shape, np_dtype(name), lo, hi)
                    rows.append({"fn": "uniform", "seed": seed, "shape": list(shape),
                                 "dtype": name, "minval": lo, "maxval": hi, "out": bits(out)})
                rows.append({"fn": "normal", "seed": seed, "shape": list(shape), "dtype": name,
                             "out": bits(random.normal(key, shape, np_dtype(name)))})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_random_dtypes.json")
    with open(path, "w") as f:
        json.dump({"jax_version": jax.__version__, "x64": True, "threefry_partitionable": False,
                   "cases": rows}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
