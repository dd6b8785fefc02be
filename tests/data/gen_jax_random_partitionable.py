#!/usr/bin/env python3
"""JAX 0.10.2's random draws with its default jax_threefry_partitionable=True (x64 on), read by
tests/random_partitionable.rs: `bits` in every unsigned width, `split`, `fold_in`, `uniform`
and `normal` (f32, f64, f16), `randint`, `permutation` and `bernoulli` (of an f32 `p`: a
Python float would be f64 with x64), as their bits.
Entries: {"fn": NAME, "seed": S, "shape": [..], "dtype": NAME, "out": [BITS]}.
Run from the repository root: python3 tests/data/gen_jax_random_partitionable.py.
"""

import json
import os

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_threefry_partitionable", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import random  # noqa: E402


def bits(a):
    a = np.asarray(a)
    if a.dtype == bool:
        return [int(v) for v in a.astype(np.uint8).ravel()]
    unsigned = np.dtype("uint%d" % (a.dtype.itemsize * 8))
    return [int(v) for v in a.view(unsigned).ravel()]


def main():
    rows = []
    for seed in [0, 1234]:
        key = random.PRNGKey(seed)
        rows.append({"fn": "split", "seed": seed, "shape": [3], "dtype": "uint32",
                     "out": bits(random.split(key, 3))})
        rows.append({"fn": "fold_in", "seed": seed, "shape": [], "dtype": "uint32",
                     "out": bits(random.fold_in(key, 7))})
        for shape in [(), (7,), (3, 5)]:
            for name in ["uint8", "uint16", "uint32", "uint64"]:
                rows.append({"fn": "bits", "seed": seed, "shape": list(shape), "dtype": name,
                             "out": bits(random.bits(key, shape, np.dtype(name)))})
            for name in ["float16", "float32", "float64"]:
                rows.append({"fn": "uniform", "seed": seed, "shape": list(shape), "dtype": name,
                             "out": bits(random.uniform(key, shape, np.dtype(name)))})
                rows.append({"fn": "normal", "seed": seed, "shape": list(shape), "dtype": name,
                             "out": bits(random.normal(key, shape, np.dtype(name)))})
            rows.append({"fn": "randint", "seed": seed, "shape": list(shape), "dtype": "int32",
                         "out": bits(random.randint(key, shape, -5, 100, jnp.int32))})
            rows.append({"fn": "bernoulli", "seed": seed, "shape": list(shape), "dtype": "bool",
                         "out": bits(random.bernoulli(key, jnp.float32(0.3), shape))})
        rows.append({"fn": "permutation", "seed": seed, "shape": [10], "dtype": "int32",
                     "out": bits(random.permutation(key, jnp.arange(10, dtype=jnp.int32)))})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "jax_random_partitionable.json")
    with open(path, "w") as f:
        json.dump({"jax_version": jax.__version__, "x64": True, "threefry_partitionable": True,
                   "cases": rows}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
