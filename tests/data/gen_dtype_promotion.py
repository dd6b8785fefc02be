#!/usr/bin/env python3
"""JAX 0.10.2's type-promotion table (issue 13 item 7), read by tests/dtype_promotion.rs.

With jax_enable_x64=True, for every ordered pair of operand types among the 14 real dtypes
(bool, int8..int64, uint8..uint64, float16, bfloat16, float32, float64) and the two weak types
JAX gives Python scalars (weak int32 for an int literal, weak float32 for a float literal as
cranax's defaults are), records jax.dtypes.result_type(a, b, return_weak_type_flag=True).
Also records jnp.promote_types for every pair of strong dtypes. Entries:

  {"a": NAME, "a_weak": bool, "b": NAME, "b_weak": bool, "dtype": NAME, "weak": bool}
  {"promote_types": [NAME, NAME], "dtype": NAME}

NAME is NumPy's dtype name. Run from the repository root:
python3 tests/data/gen_dtype_promotion.py  (rewrites tests/data/jax_dtype_promotion.json;
deterministic).
"""

import json
import os

import jax
from jax._src.lax.lax import _convert_element_type  # weak-typed arrays, as cranax makes

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

NAMES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "float16", "bfloat16", "float32", "float64"]


def operand(name, weak):
    """A 0-d JAX array of dtype `name`, weakly typed if `weak` (as a Python literal becomes)."""
    x = jnp.zeros((), dtype=name)
    if weak:
        x = _convert_element_type(x, weak_type=True)
    return x


def main():
    operands = [(n, False) for n in NAMES] + [("int32", True), ("float32", True)]
    rows = []
    for a, aw in operands:
        for b, bw in operands:
            dt, weak = jax.dtypes.result_type(operand(a, aw), operand(b, bw),
                                              return_weak_type_flag=True)
            rows.append({"a": a, "a_weak": aw, "b": b, "b_weak": bw,
                         "dtype": np.dtype(dt).name, "weak": bool(weak)})
    for a in NAMES:
        for b in NAMES:
            rows.append({"promote_types": [a, b], "dtype": np.dtype(jnp.promote_types(a, b)).name})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_dtype_promotion.json")
    with open(path, "w") as f:
        json.dump({"jax_version": jax.__version__, "x64": True, "cases": rows}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
