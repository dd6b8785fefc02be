#!/usr/bin/env python3
"""JAX 0.10.2 reference values for cranax's jnp / lax reductions, scans and sorting (issue 13:
items 2 and 3), read by tests/reductions_vs_jax.rs.

For each function and dtype (float32 with x64 off, float64 with x64 on; int32/bool where the
function takes them) it records the outputs at fixed inputs that include NaN, +-inf, +-0 and
ties, and, for the differentiable ones, the gradient of sum(f(x) * w) at the gradient inputs
(w fixed, recorded). Cases:

  {"name", "dtype", "args": [ARR...], "outs": [ARR...], "grad_args": [ARR...],
   "grad_w": [ARR...], "grads": [ARR...]}

where ARR is {"shape", "dtype", "data"}; non-finite floats are written as the strings "nan",
"inf", "-inf"; -0.0 as -0.0.

Run from the repository root: python3 tests/data/gen_jax_reductions.py  (rewrites
tests/data/jax_reductions.json; deterministic).
"""

import json
import os
import sys

import numpy as np
import jax

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_jax_numpy import arr  # noqa: E402  (the shared {shape, dtype, data} encoding)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_reductions.json")


NAN, INF = float("nan"), float("inf")
GEN = [[0.3, -1.2, 2.5, 0.7], [1.1, 0.4, -3.0, 1.5], [-0.8, 2.2, 0.9, -0.1]]
# Ties, zeros of both signs, infinities and NaNs.
EDGE = [[1.0, 3.0, 3.0, -2.0], [0.0, -0.0, 0.0, -0.0], [NAN, 2.0, NAN, 5.0],
        [-INF, INF, 1.0, -INF], [2.0, 2.0, 2.0, 2.0]]
# A zero (and a row with two) for the product's derivative.
ZEROS = [[0.3, 0.0, 2.5, 0.7], [0.0, 0.4, 0.0, 1.5], [-0.8, 2.2, 0.9, -0.1]]
# NaNs: a row all NaN, a row without, a row with some.
NANS = [[NAN, NAN, NAN, NAN], [0.5, -1.5, 2.0, 0.25], [NAN, 3.0, -1.0, NAN]]
INTS = [[3, -1, 7, 0], [12, 5, -8, 5], [1, 1, 1, 6]]
BOOLS = [[True, False, True, True], [True, True, True, True], [False, False, False, False]]

W1 = [0.5, 1.5, 2.0, 1.0]
WFULL = [[0.2, 1.0, 0.5, 2.0], [1.0, 1.0, 3.0, 0.5], [0.7, 0.1, 0.4, 1.2]]

# Ties for the running maxima/minima's derivatives (JAX splits them by its scan tree).
TIES = [[1.0, 3.0, 3.0, 2.0], [2.0, 2.0, 2.0, 2.0], [0.5, -1.0, 5.0, 5.0]]
WIDE = [[0.3, -1.2, 2.5, 0.7, 1.1, 0.4, -3.0, 1.5, -0.8, 2.2, 0.9, -0.1, 0.6]]

SORTED = [-INF, -1.0, 0.0, 0.0, 2.0, 2.0, 2.0, 3.5, INF, NAN]
QUERIES = [[2.0, -0.0, 0.0, NAN], [5.0, -INF, INF, -3.0], [2.5, 3.5, -1.0, 1.0]]
UNIQ = [[3.0, 1.0, NAN, 1.0], [-0.0, 0.0, 3.0, NAN], [7.0, -2.0, 1.0, 7.0]]

# name: (function, value inputs, gradient inputs or None)
CASES = {
    "prod": (lambda x: jnp.prod(x), [GEN, EDGE, ZEROS], ZEROS),
    "prod_axis0": (lambda x: jnp.prod(x, axis=0), [GEN, EDGE, ZEROS], ZEROS),
    "prod_axis1_keepdims": (lambda x: jnp.prod(x, axis=1, keepdims=True), [GEN, ZEROS], GEN),
    "all": (lambda x: jnp.all(x), [GEN, EDGE, ZEROS], None),
    "all_axis1": (lambda x: jnp.all(x, axis=1), [GEN, EDGE, ZEROS], None),
    "any_axis0": (lambda x: jnp.any(x, axis=0), [GEN, EDGE, ZEROS], None),
    "any_keepdims": (lambda x: jnp.any(x, axis=1, keepdims=True), [EDGE, ZEROS], None),
    "var": (lambda x: jnp.var(x), [GEN, EDGE], GEN),
    "var_axis1": (lambda x: jnp.var(x, axis=1), [GEN, EDGE], GEN),
    "var_ddof1_axis0_keepdims": (lambda x: jnp.var(x, axis=0, ddof=1, keepdims=True), [GEN], GEN),
    "var_ddof4_axis1": (lambda x: jnp.var(x, axis=1, ddof=4), [GEN], None),
    "std": (lambda x: jnp.std(x), [GEN, EDGE], GEN),
    "std_ddof1_axis1": (lambda x: jnp.std(x, axis=1, ddof=1), [GEN], GEN),
    "average": (lambda x: jnp.average(x), [GEN, EDGE], GEN),
    "average_w1_axis1": (lambda x: jnp.average(x, axis=1, weights=np.asarray(W1, x.dtype)), [GEN, EDGE], GEN),
    "average_wfull_axis0": (lambda x: jnp.average(x, axis=0, weights=np.asarray(WFULL, x.dtype)), [GEN], GEN),
    "average_wfull_returned": (lambda x: jnp.average(x, weights=np.asarray(WFULL, x.dtype), returned=True), [GEN], None),
    "average_returned_axis1": (lambda x: jnp.average(x, axis=1, returned=True), [GEN], None),
    "nansum": (lambda x: jnp.nansum(x), [NANS, EDGE], NANS),
    "nansum_axis1": (lambda x: jnp.nansum(x, axis=1), [NANS, EDGE], NANS),
    "nanmean_axis1": (lambda x: jnp.nanmean(x, axis=1), [NANS, EDGE], NANS),
    "nanmean": (lambda x: jnp.nanmean(x), [NANS], NANS),
    "nanmax_axis1": (lambda x: jnp.nanmax(x, axis=1), [NANS, EDGE], None),
    "nanmax_axis0": (lambda x: jnp.nanmax(x, axis=0), [NANS, EDGE], None),
    "nanmin_axis1": (lambda x: jnp.nanmin(x, axis=1), [NANS, EDGE], None),
    "nanprod_axis1": (lambda x: jnp.nanprod(x, axis=1), [NANS, EDGE], NANS),
    "nanvar_axis1": (lambda x: jnp.nanvar(x, axis=1), [NANS, EDGE], None),
    "nanvar_ddof1": (lambda x: jnp.nanvar(x, ddof=1), [NANS], NANS),
    "nanstd_axis1": (lambda x: jnp.nanstd(x, axis=1), [NANS, EDGE], None),
    "nanargmax_axis1": (lambda x: jnp.nanargmax(x, axis=1), [NANS, EDGE], None),
    "nanargmin_axis1": (lambda x: jnp.nanargmin(x, axis=1), [NANS, EDGE], None),
    "nanargmax": (lambda x: jnp.nanargmax(x), [NANS, EDGE], None),
    "argmax_axis1": (lambda x: jnp.argmax(x, axis=1), [GEN, EDGE, NANS], None),
    "argmin_axis1": (lambda x: jnp.argmin(x, axis=1), [GEN, EDGE, NANS], None),
    "argmax_axis0": (lambda x: jnp.argmax(x, axis=0), [EDGE], None),
    "argmin": (lambda x: jnp.argmin(x), [EDGE, NANS], None),
    "count_nonzero": (lambda x: jnp.count_nonzero(x), [GEN, EDGE, ZEROS], None),
    "count_nonzero_axis0": (lambda x: jnp.count_nonzero(x, axis=0), [EDGE, ZEROS], None),
    "ptp_axis1": (lambda x: jnp.ptp(x, axis=1), [GEN, EDGE], GEN),
    "ptp": (lambda x: jnp.ptp(x), [GEN], GEN),
    "cumsum": (lambda x: jnp.cumsum(x), [GEN, EDGE], GEN),
    "cumsum_axis1": (lambda x: jnp.cumsum(x, axis=1), [GEN, EDGE, WIDE], GEN),
    "lax_cumsum_axis0_reverse": (lambda x: lax.cumsum(x, axis=0, reverse=True), [GEN, EDGE], GEN),
    "cumprod_axis0": (lambda x: jnp.cumprod(x, axis=0), [GEN, EDGE, ZEROS], ZEROS),
    "cumprod_axis1": (lambda x: jnp.cumprod(x, axis=1), [ZEROS, WIDE], ZEROS),
    "lax_cumprod_axis1_reverse": (lambda x: lax.cumprod(x, axis=1, reverse=True), [GEN], ZEROS),
    "lax_cummax_axis1": (lambda x: lax.cummax(x, axis=1), [GEN, EDGE, TIES], TIES),
    "lax_cummax_axis1_wide": (lambda x: lax.cummax(x, axis=1), [WIDE], WIDE),
    "lax_cummin_axis0_reverse": (lambda x: lax.cummin(x, axis=0, reverse=True), [GEN, EDGE, TIES], TIES),
    "lax_cummin_axis1": (lambda x: lax.cummin(x, axis=1), [TIES], TIES),
    "lax_cumlogsumexp_axis1": (lambda x: lax.cumlogsumexp(x, axis=1), [GEN, EDGE, WIDE], GEN),
    "lax_cumlogsumexp_axis0_reverse": (lambda x: lax.cumlogsumexp(x, axis=0, reverse=True), [GEN], GEN),
    "cumulative_sum_axis1_initial": (lambda x: jnp.cumulative_sum(x, axis=1, include_initial=True), [GEN], GEN),
    "nancumsum_axis1": (lambda x: jnp.nancumsum(x, axis=1), [NANS, EDGE], NANS),
    "nancumprod_axis1": (lambda x: jnp.nancumprod(x, axis=1), [NANS], NANS),
    "sort_axis1": (lambda x: jnp.sort(x, axis=1), [GEN, EDGE, TIES], GEN),
    "sort": (lambda x: jnp.sort(x, axis=None), [EDGE], GEN),
    "sort_axis0_descending": (lambda x: jnp.sort(x, axis=0, descending=True), [GEN, EDGE], GEN),
    "argsort_axis1": (lambda x: jnp.argsort(x, axis=1), [GEN, EDGE, TIES], None),
    "argsort_axis1_descending": (lambda x: jnp.argsort(x, axis=1, descending=True), [EDGE, TIES], None),
    "argsort": (lambda x: jnp.argsort(x, axis=None), [EDGE], None),
    "lax_sort_key_val_axis1": (lambda x: tuple(lax.sort((x, lax.broadcasted_iota(jnp.int32, x.shape, 1) * 10), dimension=1, num_keys=1)), [EDGE, TIES], None),
    "lax_top_k_2": (lambda x: lax.top_k(x, 2), [GEN, EDGE, TIES], GEN),
    "searchsorted_left": (lambda x: jnp.searchsorted(np.asarray(SORTED, x.dtype), x), [QUERIES], None),
    "searchsorted_right": (lambda x: jnp.searchsorted(np.asarray(SORTED, x.dtype), x, side="right"), [QUERIES], None),
    "unique_size6": (lambda x: jnp.unique(x, size=6), [UNIQ], None),
    "unique_size12_fill": (lambda x: jnp.unique(x, size=12, fill_value=-7.0), [UNIQ], None),
    "unique_size3": (lambda x: jnp.unique(x, size=3), [UNIQ], None),
    "median_axis1": (lambda x: jnp.median(x, axis=1), [GEN, EDGE, TIES], GEN),
    "median": (lambda x: jnp.median(x), [GEN], GEN),
    "median_axis0_keepdims": (lambda x: jnp.median(x, axis=0, keepdims=True), [GEN], GEN),
    "quantile_linear_axis1": (lambda x: jnp.quantile(x, 0.3, axis=1), [GEN, EDGE], GEN),
    "quantile_lower_axis1": (lambda x: jnp.quantile(x, 0.3, axis=1, method="lower"), [GEN], None),
    "quantile_higher_axis1": (lambda x: jnp.quantile(x, 0.3, axis=1, method="higher"), [GEN], None),
    "quantile_midpoint_axis1": (lambda x: jnp.quantile(x, 0.3, axis=1, method="midpoint"), [GEN], None),
    "quantile_nearest_axis1": (lambda x: jnp.quantile(x, 0.3, axis=1, method="nearest"), [GEN], None),
    "quantile_nearest_half": (lambda x: jnp.quantile(x, 0.5, axis=1, method="nearest"), [GEN], None),
    "quantile_linear_all": (lambda x: jnp.quantile(x, 0.85), [GEN], GEN),
    "percentile_75_axis0": (lambda x: jnp.percentile(x, 75.0, axis=0), [GEN, EDGE], GEN),
    "nanmedian_axis1": (lambda x: jnp.nanmedian(x, axis=1), [NANS, EDGE], None),
    "nanquantile_linear_axis1": (lambda x: jnp.nanquantile(x, 0.4, axis=1), [NANS], None),
    "nanpercentile_90": (lambda x: jnp.nanpercentile(x, 90.0), [NANS], None),
}

# Integer and bool inputs (no gradients).
INT_CASES = {
    "prod_axis0": [INTS, BOOLS],
    "all_axis1": [INTS, BOOLS],
    "any_axis0": [INTS, BOOLS],
    "count_nonzero": [INTS, BOOLS],
    "var_axis1": [INTS],
    "argmax_axis1": [INTS],
    "argmin_axis1": [INTS],
    "ptp_axis1": [INTS],
    "reduce_xor_axis0": [INTS, BOOLS],
    "reduce_and_axis1": [INTS],
    "reduce_or_axis1": [INTS],
    "cumsum_axis1": [INTS, BOOLS],
    "cumprod_axis0": [INTS, BOOLS],
    "lax_cummax_axis1": [INTS],
    "lax_cummin_axis0_reverse": [INTS],
    "sort_axis1": [INTS, BOOLS],
    "argsort_axis1": [INTS, BOOLS],
    "lax_top_k_2": [INTS],
    "median_axis1": [INTS],
}
EXTRA = {
    "reduce_xor_axis0": lambda x: lax.reduce_xor(x, (0,)),
    "reduce_and_axis1": lambda x: lax.reduce_and(x, (1,)),
    "reduce_or_axis1": lambda x: lax.reduce_or(x, (1,)),
}


def weights_like(y):
    n = int(np.prod(np.shape(y)))
    return np.asarray([0.5 + 0.25 * (k % 5) - 0.1 * (k % 3) for k in range(n)]).reshape(np.shape(y))


def as_tuple(y):
    return tuple(y) if isinstance(y, (tuple, list)) else (y,)


def outs(y):
    # With x64 on, JAX's indices and counts are int64; cranax has no 64-bit integers and gives
    # int32 (the values are the same).
    ys = as_tuple(y)
    return [arr(np.asarray(v).astype(np.int32) if np.asarray(v).dtype == np.int64 else v) for v in ys]


def float_cases(dtype):
    out = []
    for name, (f, xss, gx) in CASES.items():
        for i, xs in enumerate(xss):
            x = np.asarray(xs, dtype=dtype)
            case = {"name": name, "dtype": dtype, "args": [arr(x)], "outs": outs(f(x))}
            if gx is not None and i == 0:
                g = np.asarray(gx, dtype=dtype)
                # The loss weighs the float outputs (integer ones, indices, have no tangent).
                ys = [y for y in as_tuple(f(g)) if jnp.issubdtype(y.dtype, jnp.floating)]
                ws = [weights_like(y).astype(dtype) for y in ys]
                loss = lambda a: sum(jnp.sum(y * w) for y, w in zip(
                    [y for y in as_tuple(f(a)) if jnp.issubdtype(y.dtype, jnp.floating)], ws))
                case["grad_args"] = [arr(g)]
                case["grad_w"] = [arr(w) for w in ws]
                case["grads"] = [arr(jax.grad(loss)(g))]
            out.append(case)
    return out


def int_cases():
    out = []
    for name, xss in INT_CASES.items():
        f = EXTRA.get(name) or CASES[name][0]
        for xs in xss:
            x = np.asarray(xs, dtype=np.int32 if isinstance(xs[0][0], int) and not isinstance(xs[0][0], bool) else np.bool_)
            out.append({"name": name, "dtype": str(x.dtype), "args": [arr(x)], "outs": outs(f(x))})
    return out


def main():
    cases = []
    jax.config.update("jax_enable_x64", False)
    cases += float_cases("float32")
    cases += int_cases()
    jax.config.update("jax_enable_x64", True)
    cases += float_cases("float64")
    with open(OUT, "w") as fh:
        json.dump({"jax_version": jax.__version__, "cases": cases}, fh, indent=None)
        fh.write("\n")


if __name__ == "__main__":
    main()
