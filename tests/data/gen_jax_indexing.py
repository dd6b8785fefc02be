"""JAX 0.10.2's values for cranax's indexing tests (tests/indexing.rs): NumPy-style indexing,
`.at[...]` updates, take / take_along_axis / put_along_axis, in f32 and f64, with the gradient
of sum(sin(f(x))) and a few printed jaxprs. Run: python3 tests/data/gen_jax_indexing.py
(writes tests/data/jax_indexing.json)."""
import json
import jax
import jax.numpy as jnp
import numpy as np

# The printed jaxprs with JAX defaults (x64 off); the values with x64 on for float64.
x = jnp.zeros((3, 4), "float32")
i = jnp.zeros((2,), "int32")
JAXPRS = {
    "getitem_array": str(jax.make_jaxpr(lambda x, i: x[i])(x, i)),
    "getitem_columns": str(jax.make_jaxpr(lambda x, i: x[:, i])(x, i)),
    "basic_slice_step": str(jax.make_jaxpr(lambda x: x[1:, ::2])(x)),
    "int_scalar": str(jax.make_jaxpr(lambda x: x[1])(x)),
    "at_add": str(jax.make_jaxpr(lambda x, i: x.at[i].add(1.0))(x, i)),
    "at_set_columns": str(jax.make_jaxpr(lambda x, i: x.at[:, i].set(2.0))(x, i)),
    "grad_getitem": str(jax.make_jaxpr(jax.grad(lambda x, i: x[i].sum()))(x, i)),
}

jax.config.update("jax_enable_x64", True)

MASK = np.array([[True, False, True, False], [False, False, True, True], [True, False, False, False]])
I = np.array([0, 2, -1], np.int32)

CASES = {
    "basic_slice_step": lambda x: x[1:, ::2],
    "negative_step": lambda x: x[::-1, 1],
    "newaxis_ellipsis": lambda x: x[None, ..., 1],
    "int_scalar": lambda x: x[-1],
    "int_array": lambda x: x[I],
    "two_arrays": lambda x: x[np.array([0, 2]), np.array([1, -1])],
    "slice_then_array": lambda x: x[:, np.array([3, 0])],
    "int_and_array": lambda x: x[1, np.array([3, 0, 3])],
    "bool_mask": lambda x: x[MASK],
    "neg_step_range": lambda x: x[2:0:-1, 3:0:-2],
    "at_set": lambda x: x.at[np.array([0, 2])].set(7.0),
    "at_add_dup": lambda x: x.at[np.array([1, 1, -1])].add(jnp.arange(12.0, dtype=x.dtype).reshape(3, 4)),
    "at_add_oob": lambda x: x.at[np.array([1, 5]), 2].add(10.0),
    "at_mul": lambda x: x.at[np.array([0, 2]), 1:3].multiply(3.0),
    "at_min": lambda x: x.at[:, np.array([0, 0])].min(jnp.array([[1.5, -2.0]] * 3, x.dtype)),
    "at_max": lambda x: x.at[1].max(2.5),
    "at_get_fill": lambda x: x.at[np.array([0, 7])].get(mode="fill", fill_value=-3.0),
    "at_set_slice_step": lambda x: x.at[::2, 1::2].set(-1.0),
    "take_fill": lambda x: jnp.take(x, np.array([1, -1, 9]), axis=1),
    "take_clip": lambda x: jnp.take(x, np.array([1, -1, 9]), axis=1, mode="clip"),
    "take_wrap": lambda x: jnp.take(x, np.array([1, -1, 9]), axis=1, mode="wrap"),
    "take_along_axis": lambda x: jnp.take_along_axis(x, np.array([[0, 3], [1, -1], [2, 2]]), axis=1),
    "put_along_axis": lambda x: jnp.put_along_axis(x, np.array([[0], [3], [1]]), jnp.array([[9.0], [8.0], [7.0]], x.dtype), axis=1, inplace=False),
}

# Differentiable where JAX defines a gradient (scatter-min/max and .at[].set included).
NO_GRAD = {"bool_mask"}


def listify(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": [None if np.isnan(v) else float(v) for v in a.ravel()]}


out = {"jaxprs": JAXPRS}
for dt in ["float32", "float64"]:
    x = (jnp.arange(12, dtype=dt).reshape(3, 4) * 0.5 - 2.0) * jnp.array([1, -1, 1, -1], dt)
    res = {}
    for name, f in CASES.items():
        row = {"value": listify(f(x)), "jit": listify(jax.jit(f)(x))}
        if name not in NO_GRAD:
            row["grad"] = listify(jax.grad(lambda x: jnp.sum(jnp.sin(f(x))))(x))
        res[name] = row
    out[dt] = {"x": listify(x), "cases": res}

# vmap rows: per-example indices.
xs = jnp.arange(24.0, dtype="float32").reshape(2, 3, 4)
ids = np.array([[2, 0], [1, -1]], np.int32)
out["vmap"] = {
    "xs": listify(xs),
    "ids": ids.tolist(),
    "getitem": listify(jax.vmap(lambda x, i: x[i])(xs, ids)),
    "at_add": listify(jax.vmap(lambda x, i: x.at[i].add(1.0))(xs, ids)),
    "take_along": listify(jax.vmap(lambda x, i: jnp.take_along_axis(x, i[None, :], axis=1))(xs, ids)),
}

with open(__file__.replace("gen_jax_indexing.py", "jax_indexing.json"), "w") as f:
    json.dump(out, f, indent=1)
