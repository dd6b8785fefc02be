"""jnp.convolve / jnp.correlate reference values from JAX (tests/convolve.rs reads the JSON).

Inputs: a[i] = sin(0.37 i + 0.3), v[i] = sin(0.37 i + 1.1), in float64 (x64 on); for each case
the outputs and the gradients of sum(out * w), w[i] = cos(0.5 i), w.r.t. a and v.
Run: python3 tests/data/gen_jax_convolve.py > tests/data/jax_convolve.json
"""
import json
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np


def seq(n, seed):
    return np.sin(0.37 * np.arange(n) + seed)


cases = []
for op in ["convolve", "correlate"]:
    for na, nv in [(6, 3), (5, 4), (3, 5), (1, 1), (7, 2)]:
        for mode in ["full", "same", "valid"]:
            a, v = seq(na, 0.3), seq(nv, 1.1)
            f = getattr(jnp, op)
            out = f(a, v, mode=mode)
            w = np.cos(0.5 * np.arange(out.shape[0]))
            ga, gv = jax.grad(lambda a, v: jnp.sum(f(a, v, mode=mode) * w), argnums=(0, 1))(a, v)
            cases.append({"op": op, "na": na, "nv": nv, "mode": mode,
                          "out": np.asarray(out).tolist(), "grad_a": np.asarray(ga).tolist(),
                          "grad_v": np.asarray(gv).tolist()})
int_out = jnp.convolve(jnp.array([1, 2, 3]), jnp.array([0, 1]), mode="full")
print(json.dumps({"jax_version": jax.__version__, "cases": cases,
                  "int_convolve": {"dtype": str(int_out.dtype), "out": np.asarray(int_out).tolist()}}))
