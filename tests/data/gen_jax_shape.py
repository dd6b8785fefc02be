#!/usr/bin/env python3
"""JAX 0.10.2 reference values for cranax's shape and layout jnp functions (issue 13 item 4),
read by tests/numpy_shape.rs.

Each case is a function of fixed float arguments, recorded for float32 (x64 off) and float64
(x64 on):

  {"name", "dtype", "args": [ARR...], "outs": [ARR...],
   "grad": ARR (optional), "vmap_in": ARR, "vmap_out": ARR (optional)}

`outs` are the function's outputs (a list for split/meshgrid). `grad` is
grad(lambda x: sum(f(x, *rest)[0] * w))(args[0]) with w = (arange(size) % 7 - 3) shaped like
the first output (exact in both dtypes). `vmap_in` stacks args[0] and 2*args[0] - 1;
`vmap_out` is vmap(lambda x: f(x, *rest)[0])(vmap_in).

Run from the repository root: python3 tests/data/gen_jax_shape.py  (rewrites
tests/data/jax_shape.json; deterministic).
"""

import json
import math
import os

import numpy as np
import jax

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_shape.json")


def enc(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def arr(x):
    a = np.asarray(x)
    return {"shape": list(a.shape), "dtype": str(a.dtype), "data": [enc(v) for v in a.reshape(-1)]}


def seq(shape, scale=1.0, shift=0.0):
    """Distinct values 0.5 * k - shift, scaled: exact in f32 and f64."""
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64).reshape(shape) * 0.5 - shift) * scale


def cases(jnp):
    A23 = seq((2, 3))
    A34 = seq((3, 4), shift=2.0)
    A234 = seq((2, 3, 4), shift=5.0)
    V5 = seq((5,), shift=1.0)
    V3 = seq((3,), shift=0.5)
    W3 = seq((3,), scale=-1.0, shift=-1.0)
    A44 = seq((4, 4), shift=3.0)
    A3x3 = seq((2, 3), shift=1.0)
    return [
        # group 1
        ("flip", lambda x: jnp.flip(x), [A234], True),
        ("flip_axis1", lambda x: jnp.flip(x, axis=1), [A234], True),
        ("flip_axes_0_m1", lambda x: jnp.flip(x, axis=(0, -1)), [A234], True),
        ("fliplr", jnp.fliplr, [A34], True),
        ("flipud", jnp.flipud, [A34], True),
        ("swapaxes", lambda x: jnp.swapaxes(x, 0, 2), [A234], True),
        ("moveaxis", lambda x: jnp.moveaxis(x, 0, -1), [A234], True),
        ("moveaxis_multi", lambda x: jnp.moveaxis(x, (0, 1), (2, 0)), [A234], True),
        ("ravel", jnp.ravel, [A234], True),
        ("atleast_1d", jnp.atleast_1d, [np.float64(2.5)], False),
        ("atleast_2d", jnp.atleast_2d, [V5], True),
        ("atleast_3d_1", jnp.atleast_3d, [V5], True),
        ("atleast_3d_2", jnp.atleast_3d, [A23], True),
        ("roll", lambda x: jnp.roll(x, 2), [A34], True),
        ("roll_axis0", lambda x: jnp.roll(x, -1, axis=0), [A34], True),
        ("roll_axes", lambda x: jnp.roll(x, (1, 5), axis=(0, 1)), [A34], True),
        ("roll_big", lambda x: jnp.roll(x, 7, axis=-1), [A34], True),
        ("tile", lambda x: jnp.tile(x, (2, 1, 2)), [A23], True),
        ("tile_short", lambda x: jnp.tile(x, 3), [A23], True),
        ("repeat", lambda x: jnp.repeat(x, 2), [A23], True),
        ("repeat_axis1", lambda x: jnp.repeat(x, 3, axis=1), [A23], True),
        ("repeat_per", lambda x: jnp.repeat(x, np.array([1, 0, 2]), axis=1, total_repeat_length=3), [A23], True),
        ("split3", lambda x: jnp.split(x, 3, axis=1), [seq((2, 6))], True),
        ("split_idx", lambda x: jnp.split(x, [1, 4, 4], axis=1), [seq((2, 6))], True),
        ("array_split", lambda x: jnp.array_split(x, 4, axis=1), [seq((2, 6))], True),
        ("tril", lambda x: jnp.tril(x), [A34], True),
        ("tril_k1", lambda x: jnp.tril(x, 1), [A234], True),
        ("triu", lambda x: jnp.triu(x), [A34], True),
        ("triu_km1", lambda x: jnp.triu(x, -1), [A34], True),
        ("diagonal", lambda x: jnp.diagonal(x), [A34], True),
        ("diagonal_off1", lambda x: jnp.diagonal(x, 1), [A34], True),
        ("diagonal_offm2", lambda x: jnp.diagonal(x, -2), [A34], True),
        ("diagonal_axes", lambda x: jnp.diagonal(x, 1, 2, 0), [A234], True),
        ("diag_vec", lambda x: jnp.diag(x), [V3], True),
        ("diag_vec_k1", lambda x: jnp.diag(x, 1), [V3], True),
        ("diag_vec_km2", lambda x: jnp.diag(x, -2), [V3], True),
        ("diag_mat", lambda x: jnp.diag(x, -1), [A34], True),
        ("trace", lambda x: jnp.trace(x), [A34], True),
        ("trace_off", lambda x: jnp.trace(x, 1, 0, 2), [A234], True),
        ("meshgrid_xy", lambda x, y: jnp.meshgrid(x, y), [V5, V3], False),
        ("meshgrid_ij", lambda x, y: jnp.meshgrid(x, y, indexing="ij"), [V5, V3], False),
        ("hstack", lambda x, y: jnp.hstack([x, y]), [A23, A3x3], True),
        ("hstack_1d", lambda x, y: jnp.hstack([x, y]), [V5, V3], True),
        ("vstack", lambda x, y: jnp.vstack([x, y]), [V3, A3x3], True),
        ("column_stack", lambda x, y: jnp.column_stack([x, y]), [V3, seq((3, 2))], True),
        # group 2
        ("pad_constant", lambda x: jnp.pad(x, ((1, 2), (0, 1))), [A23], True),
        ("pad_constant_values", lambda x: jnp.pad(x, ((1, 0), (2, 1)), constant_values=((-1, -2), (-3, -4))), [A23], True),
        ("pad_edge", lambda x: jnp.pad(x, ((2, 1), (1, 3)), mode="edge"), [A23], True),
        ("pad_reflect", lambda x: jnp.pad(x, ((1, 1), (2, 3)), mode="reflect"), [A34], True),
        ("pad_reflect_long", lambda x: jnp.pad(x, 7, mode="reflect"), [V3], True),
        ("pad_symmetric", lambda x: jnp.pad(x, ((2, 1), (3, 2)), mode="symmetric"), [A23], True),
        ("pad_symmetric_long", lambda x: jnp.pad(x, (5, 7), mode="symmetric"), [V3], True),
        ("pad_wrap", lambda x: jnp.pad(x, ((1, 2), (4, 5)), mode="wrap"), [A23], True),
        ("tensordot", lambda x, y: jnp.tensordot(x, y), [A234, seq((3, 4, 2))], True),
        ("tensordot_1", lambda x, y: jnp.tensordot(x, y, 1), [A234, A44], True),
        ("tensordot_pairs", lambda x, y: jnp.tensordot(x, y, ((0, 2), (1, 0))), [A234, seq((4, 2, 5))], True),
        ("inner", jnp.inner, [A23, seq((4, 3))], True),
        ("inner_vec", jnp.inner, [V3, W3], False),
        ("vdot", jnp.vdot, [A23, A3x3], False),
        ("kron", jnp.kron, [A23, seq((2, 2), shift=1.0)], True),
        ("cross", jnp.cross, [V3, W3], True),
        ("cross_axis", lambda x, y: jnp.cross(x, y, axisa=0, axisb=1, axisc=0), [seq((3, 2)), seq((2, 3), shift=1.0)], True),
        ("rot90", lambda x: jnp.rot90(x), [A34], True),
        ("rot90_k2", lambda x: jnp.rot90(x, 2), [A34], True),
        ("rot90_k3_axes", lambda x: jnp.rot90(x, -1, axes=(2, 0)), [A234], True),
        # group 3
        ("einsum_matmul", lambda x, y: jnp.einsum("ij,jk->ik", x, y), [A23, A34], True),
        ("einsum_implicit", lambda x, y: jnp.einsum("ij,jk", x, y), [A23, A34], True),
        ("einsum_trace", lambda x: jnp.einsum("ii", x), [A44], False),
        ("einsum_diag", lambda x: jnp.einsum("ii->i", x), [A44], True),
        ("einsum_transpose", lambda x: jnp.einsum("ijk->kij", x), [A234], True),
        ("einsum_sum", lambda x: jnp.einsum("ijk->j", x), [A234], True),
        ("einsum_outer", lambda x, y: jnp.einsum("i,j->ij", x, y), [V5, V3], True),
        ("einsum_batch", lambda x, y: jnp.einsum("bij,bjk->bik", x, y), [A234, seq((2, 4, 3))], True),
        ("einsum_three", lambda x, y, z: jnp.einsum("ij,jk,kl->il", x, y, z), [A23, A34, seq((4, 2))], True),
        ("einsum_four", lambda w, x, y, z: jnp.einsum("ab,bc,cd,d->a", w, x, y, z), [A23, A34, A44, seq((4,))], True),
        ("einsum_ellipsis", lambda x, y: jnp.einsum("...ij,...jk->...ik", x, y), [A234, seq((2, 4, 3))], True),
        # dstack, append, insert, delete
        ("dstack", lambda x, y: jnp.dstack([x, y]), [A23, A3x3], True),
        ("dstack_1d", lambda x, y: jnp.dstack([x, y]), [V3, W3], True),
        ("dstack_3d", lambda x, y: jnp.dstack([x, y]), [A234, seq((2, 3, 1))], True),
        ("append", lambda x, y: jnp.append(x, y), [A23, V3], True),
        ("append_axis0", lambda x, y: jnp.append(x, y, axis=0), [A23, A3x3], True),
        ("append_axis_m1", lambda x, y: jnp.append(x, y, axis=-1), [A23, seq((2, 1))], True),
        ("insert_scalar", lambda x: jnp.insert(x, 2, 9.5), [A23], True),
        ("insert_scalar_axis1", lambda x, v: jnp.insert(x, 1, v, axis=1), [A23, seq((2,), shift=3.0)], True),
        ("insert_scalar_end", lambda x, v: jnp.insert(x, 3, v, axis=1), [A23, V3[:2]], True),
        ("insert_scalar_row", lambda x, v: jnp.insert(x, -1, v, axis=0), [A23, V3], True),
        ("insert_array", lambda x, v: jnp.insert(x, np.array([0, 2, 2, -1]), v, axis=1), [A23, seq((4,), shift=9.0)], True),
        ("insert_array_one", lambda x, v: jnp.insert(x, np.array([1]), v, axis=0), [A23, V3], True),
        ("insert_array_clipped", lambda x: jnp.insert(x, np.array([-10, 10]), 0.5, axis=0), [A23], True),
        ("insert_array_flat", lambda x: jnp.insert(x, np.array([5, 0, 3]), 4.25), [A23], True),
        ("insert_slice", lambda x: jnp.insert(x, slice(None, None, 2), 7.0), [A23], True),
        ("insert_slice_axis1", lambda x, v: jnp.insert(x, slice(1, 3), v, axis=1), [A23, seq((2,), shift=4.0)], True),
        ("insert_values_grad", lambda v, x: jnp.insert(x, np.array([0, 3]), v, axis=1), [seq((2, 2), shift=2.0), A23], True),
        ("delete_int", lambda x: jnp.delete(x, 4), [A23], True),
        ("delete_int_axis1", lambda x: jnp.delete(x, -1, axis=1), [A34], True),
        ("delete_slice", lambda x: jnp.delete(x, slice(None, None, 2), axis=1), [A34], True),
        ("delete_slice_flat", lambda x: jnp.delete(x, slice(1, 5)), [A34], True),
        ("delete_slice_neg", lambda x: jnp.delete(x, slice(None, None, -3), axis=0), [seq((5, 2))], True),
        ("delete_array", lambda x: jnp.delete(x, np.array([0, 2, 0, -1]), axis=1), [A34], True),
        ("delete_mask", lambda x: jnp.delete(x, np.array([True, False, True]), axis=0), [A34], True),
        ("delete_all", lambda x: jnp.delete(x, slice(None), axis=0), [A34], True),
    ]


def record(jnp, dtype):
    out = []
    for name, f, args, vmappable in cases(jnp):
        xs = [jnp.asarray(np.asarray(a, dtype=dtype)) for a in args]
        outs = f(*xs)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        case = {"name": name, "dtype": dtype, "args": [arr(x) for x in xs], "outs": [arr(o) for o in outs]}
        first = outs[0]
        rest = xs[1:]

        def f0(x):
            r = f(x, *rest)
            return r[0] if isinstance(r, (list, tuple)) else r

        if first.size > 0 and np.ndim(args[0]) > 0:
            w = jnp.asarray((np.arange(first.size) % 7 - 3).reshape(first.shape), dtype=dtype)
            g = jax.grad(lambda x: jnp.sum(f0(x) * w))(xs[0])
            case["grad"] = arr(g)
        if vmappable:
            vin = jnp.stack([xs[0], 2 * xs[0] - 1])
            case["vmap_in"] = arr(vin)
            case["vmap_out"] = arr(jax.vmap(f0)(vin))
        out.append(case)
    return out


def main():
    jax.config.update("jax_enable_x64", False)
    import jax.numpy as jnp

    all_cases = record(jnp, "float32")
    jax.config.update("jax_enable_x64", True)
    all_cases += record(jnp, "float64")
    with open(OUT, "w") as fh:
        json.dump({"jax_version": jax.__version__, "cases": all_cases}, fh, indent=0)
        fh.write("\n")


if __name__ == "__main__":
    main()
