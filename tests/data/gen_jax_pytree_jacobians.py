#!/usr/bin/env python3
"""JAX's Jacobians of functions of pytrees, with argnums and has_aux (tests/jacobian_pytrees.rs).

The parameters are a NamedTuple Params(w, b) (a Rust struct with #[derive(Pytree)] on the
other side, fields in the same order), the input a vector, the outputs arrays and tuples; a
dict input stands for a HashMap. Each case records JAX's jacfwd/jacrev/hessian (or jvp/vjp/
linearize with has_aux) results as {shape, dtype, data} records keyed by their place in the
result tree. Values in f64.

Run from the repository root: pip install jax==0.10.2 && python3 tests/data/gen_jax_pytree_jacobians.py
Deterministic: running it again rewrites the identical file.
"""
import json
import os
from typing import NamedTuple

import numpy as np
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402


class Params(NamedTuple):
    w: jnp.ndarray
    b: jnp.ndarray


def rec(x):
    x = np.asarray(x)
    return {"shape": list(x.shape), "dtype": str(x.dtype), "data": [float(v) for v in x.ravel()]}


def flat(tree, prefix=""):
    """{path: record} for every leaf, paths as the Rust test spells them."""
    out = {}
    if isinstance(tree, Params):
        for name in Params._fields:
            out.update(flat(getattr(tree, name), f"{prefix}.{name}"))
    elif isinstance(tree, (tuple, list)):
        for i, t in enumerate(tree):
            out.update(flat(t, f"{prefix}.{i}"))
    elif isinstance(tree, dict):
        for k in sorted(tree):
            out.update(flat(tree[k], f"{prefix}.{k}"))
    else:
        out[prefix or "."] = rec(tree)
    return out


P = Params(w=jnp.linspace(-0.8, 1.1, 6).reshape(2, 3), b=jnp.array([0.1, -0.2, 0.3]))
X = jnp.array([0.7, -1.3])
Y = jnp.array([0.4, 0.9, -0.5])
D = {"a": jnp.array([0.3, -0.6]), "b": jnp.array(1.7)}


def layer(p, x):
    return jnp.tanh(x @ p.w + p.b)


def layer_pair(p, x):
    y = layer(p, x)
    return (y * 2.0, jnp.sum(y**2))


def layer_aux(p, x):
    y = layer(p, x)
    return y, jnp.sum(y)


def scalar2(x, y):
    return jnp.sum(jnp.sin(x) ** 2) * jnp.sum(y**3) + jnp.dot(x, x) * y[0]


def of_dict(d, x):
    return jnp.sin(d["a"] * d["b"]) + x**2


cases = {
    "jacfwd_struct_argnums01": flat(jax.jacfwd(layer, argnums=(0, 1))(P, X)),
    "jacrev_struct_argnums01": flat(jax.jacrev(layer, argnums=(0, 1))(P, X)),
    "jacfwd_struct_argnums10": flat(jax.jacfwd(layer, argnums=(1, 0))(P, X)),
    "jacrev_struct_tuple_out": flat(jax.jacrev(layer_pair)(P, X)),
    "jacfwd_x_tuple_out": flat(jax.jacfwd(layer_pair, argnums=1)(P, X)),
    "jacfwd_has_aux": flat(jax.jacfwd(layer_aux, argnums=1, has_aux=True)(P, X)),
    "jacrev_has_aux": flat(jax.jacrev(layer_aux, argnums=(0,), has_aux=True)(P, X)),
    "hessian_argnums01": flat(jax.hessian(scalar2, argnums=(0, 1))(X, Y)),
    "hessian_has_aux": flat(jax.hessian(lambda x, y: (scalar2(x, y), x * 2.0), has_aux=True)(X, Y)),
    "jacrev_dict": flat(jax.jacrev(of_dict)(D, X)),
    "jacfwd_dict_argnums01": flat(jax.jacfwd(of_dict, argnums=(0, 1))(D, X)),
}

T = Params(w=jnp.full((2, 3), 0.5), b=jnp.array([1.0, -1.0, 2.0]))
TX = jnp.array([0.25, -0.75])
out, tan, aux = jax.jvp(layer_aux, (P, X), (T, TX), has_aux=True)
cases["jvp_has_aux"] = flat((out, tan, aux))
out, pullback, aux = jax.vjp(layer_aux, P, X, has_aux=True)
CT = jnp.array([1.0, -2.0, 0.5])
cases["vjp_has_aux"] = flat((out, pullback(CT), aux))
out, lin, aux = jax.linearize(layer_aux, P, X, has_aux=True)
cases["linearize_has_aux"] = flat((out, lin(T, TX), aux))

inputs = {"P": flat(P), "X": rec(X), "Y": rec(Y), "D": flat(D), "T": flat(T), "TX": rec(TX), "CT": rec(CT)}
path = os.path.join(os.path.dirname(__file__), "jax_pytree_jacobians.json")
with open(path, "w") as f:
    json.dump({"jax_version": jax.__version__, "inputs": inputs, "cases": cases}, f, indent=1, sort_keys=True)
    f.write("\n")
