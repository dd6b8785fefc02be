"""Jaxprs printed by real JAX programs, with JAX's outputs and derivatives at given inputs.

Run from the repository root:  python3 tests/data/gen_jax_jaxprs.py
(it runs itself a second time with JAX_ENABLE_X64=1 for the float64 programs).

Writes tests/data/jax_jaxprs/<name>.jaxpr (what `print(jax.make_jaxpr(f)(*args))` prints) and
tests/data/jax_jaxprs/<name>.json: the arguments, JAX's outputs, and either the gradient of the
(scalar) output with respect to `grad_argnums` (jax.grad) or, for a while_loop, which JAX cannot
differentiate in reverse mode, the output tangents for given input tangents (jax.jvp).
tests/jax_jaxprs.rs parses, runs and differentiates each file with cranax and compares.
"""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_jaxprs")
X64 = os.environ.get("JAX_ENABLE_X64") == "1"


def arr(x):
    x = np.asarray(x)
    if x.dtype == np.bool_:
        data = [bool(v) for v in x.ravel()]
    elif np.issubdtype(x.dtype, np.integer):
        data = [int(v) for v in x.ravel()]
    else:
        data = [float(v) for v in x.ravel()]
    return {"dtype": str(x.dtype), "shape": list(x.shape), "data": data}


def save(name, f, args, grad_argnums=None, tangents=None):
    jaxpr = jax.make_jaxpr(f)(*args)
    text = str(jaxpr)
    outs = f(*args)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    rec = {
        "jax_version": jax.__version__,
        "args": [arr(a) for a in args],
        "outputs": [arr(o) for o in outs],
    }
    if grad_argnums is not None:
        gs = jax.grad(f, argnums=tuple(grad_argnums))(*args)
        rec["grad_argnums"] = list(grad_argnums)
        rec["grads"] = [arr(g) for g in gs]
    if tangents is not None:
        _, touts = jax.jvp(f, tuple(args), tuple(tangents))
        touts = list(touts) if isinstance(touts, (tuple, list)) else [touts]
        rec["tangents"] = [arr(t) for t in tangents]
        rec["output_tangents"] = [arr(t) for t in touts]
    with open(os.path.join(OUT, name + ".jaxpr"), "w") as fh:
        fh.write(f"# Printed by JAX {jax.__version__} (tests/data/gen_jax_jaxprs.py, `{name}`).\n")
        fh.write(text + "\n")
    with open(os.path.join(OUT, name + ".json"), "w") as fh:
        json.dump(rec, fh, indent=1)
        fh.write("\n")


def rng(seed, shape, dtype, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def mlp_loss(w1, b1, w2, b2, x, y):
    h = jnp.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    return jnp.mean((out - y) ** 2)


def mlp_step(w1, b1, w2, b2, x, y):
    g = jax.grad(mlp_loss, argnums=(0, 1, 2, 3))(w1, b1, w2, b2, x, y)
    lr = 0.1
    return tuple(p - lr * gp for p, gp in zip((w1, b1, w2, b2), g))


def mlp_args(dt):
    return [rng(1, (3, 4), dt), rng(2, (4,), dt), rng(3, (4, 2), dt), rng(4, (2,), dt),
            rng(5, (5, 3), dt), rng(6, (5, 2), dt)]


def log_softmax(z):
    # As jax.nn.log_softmax computes it, with the primitives cranax has.
    shifted = z - lax.stop_gradient(jnp.max(z, axis=-1, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=-1, keepdims=True))


def softmax_xent(logits, labels):
    return -jnp.mean(jnp.sum(labels * log_softmax(logits), axis=-1))


def logistic_regression(w, b, x, y):
    p = jax.nn.sigmoid(x @ w + b)
    return -jnp.mean(y * jnp.log(p) + (1.0 - y) * jnp.log1p(-p))


def where_abs_relu(x, s):
    leaky = jnp.where(x > 0, x, 0.1 * x)
    return jnp.sum(leaky * s + jnp.abs(x) + jax.nn.relu(x - 0.5) ** 2)


def scan_rnn(w, h0, xs):
    def step(h, x):
        h = jnp.tanh(w * h + x)
        return h, h * h
    h, ys = lax.scan(step, h0, xs)
    return jnp.sum(ys) + jnp.sum(h)


def newton_sqrt(a):
    # while_loop: Newton's iteration for sqrt(a) until converged (at most 50 steps).
    def cond(c):
        i, x = c
        return (i < 50) & (jnp.max(jnp.abs(x * x - a)) > 1e-6)
    def body(c):
        i, x = c
        return i + 1, 0.5 * (x + a / x)
    _, x = lax.while_loop(cond, body, (jnp.int32(0), a))
    return x


def cond_branches(x, k):
    return lax.cond(jnp.sum(x) > 0, lambda v: jnp.sum(jnp.sin(v) * k),
                    lambda v: jnp.sum(v * v) - k, x)


def main():
    os.makedirs(OUT, exist_ok=True)
    if X64:
        dt = np.float64
        save("mlp_loss_f64", mlp_loss, mlp_args(dt), grad_argnums=[0, 1, 2, 3])
        save("logistic_regression_f64", logistic_regression,
             [rng(7, (3,), dt), np.array(0.25, dt), rng(8, (6, 3), dt),
              (rng(9, (6,), dt) > 0).astype(dt)], grad_argnums=[0, 1])
        return
    dt = np.float32
    save("mlp_loss", mlp_loss, mlp_args(dt), grad_argnums=[0, 1, 2, 3])
    save("mlp_step", mlp_step, mlp_args(dt))
    save("softmax_xent", softmax_xent,
         [rng(10, (4, 5), dt, 2.0), np.eye(5, dtype=dt)[[0, 3, 1, 4]]], grad_argnums=[0])
    save("logistic_regression", logistic_regression,
         [rng(7, (3,), dt), np.array(0.25, dt), rng(8, (6, 3), dt),
          (rng(9, (6,), dt) > 0).astype(dt)], grad_argnums=[0, 1])
    save("where_abs_relu", where_abs_relu,
         [np.array([-1.5, -0.2, 0.3, 0.7, 2.0, -3.0], dt), rng(11, (6,), dt)], grad_argnums=[0, 1])
    save("scan_rnn", scan_rnn, [np.array(0.8, dt), np.array(0.1, dt), rng(12, (7,), dt)],
         grad_argnums=[0, 1, 2])
    save("while_newton_sqrt", newton_sqrt, [np.array([2.0, 9.0, 0.5], dt)],
         tangents=[np.array([1.0, -0.5, 2.0], dt)])
    save("cond_branches", cond_branches, [rng(13, (4,), dt), np.array(1.5, dt)],
         grad_argnums=[0, 1])
    save("cond_branches_neg", cond_branches, [-np.abs(rng(14, (4,), dt)), np.array(1.5, dt)],
         grad_argnums=[0, 1])
    env = dict(os.environ, JAX_ENABLE_X64="1")
    subprocess.run([sys.executable, os.path.abspath(__file__)], check=True, env=env)


if __name__ == "__main__":
    main()
