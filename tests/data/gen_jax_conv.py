"""JAX 0.10.2 reference values for lax.conv_general_dilated (tests/conv.rs reads the JSON).

Each case: operand shapes, conv parameters, and in f32 and f64 the result and the gradients of
sum(out * cot) w.r.t. lhs and rhs. Inputs are deterministic: x[i] = sin(0.37 i + seed), so the
Rust test rebuilds them from the shape and seed. Also the printed jaxpr of two convs.

Run: python3 tests/data/gen_jax_conv.py  (writes tests/data/jax_conv.json)
"""
import json, os
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax import lax

def inp(shape, seed, dt):
    n = int(np.prod(shape))
    return jnp.asarray(np.sin(0.37 * np.arange(n) + seed).reshape(shape), dtype=dt)

CASES = [
    # name, lhs shape, rhs shape, kwargs
    ("1d_valid", (2, 3, 7), (4, 3, 3), dict(window_strides=(1,), padding="VALID")),
    ("1d_same_stride2", (1, 2, 9), (3, 2, 4), dict(window_strides=(2,), padding="SAME")),
    ("1d_same_lower", (1, 2, 8), (2, 2, 4), dict(window_strides=(3,), padding="SAME_LOWER")),
    ("2d_nchw", (2, 3, 6, 5), (4, 3, 3, 2), dict(window_strides=(1, 1), padding="SAME")),
    ("2d_nhwc", (2, 6, 5, 3), (3, 2, 3, 4), dict(window_strides=(2, 1), padding="VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"))),
    ("2d_explicit_neg", (1, 2, 7, 6), (3, 2, 2, 3), dict(window_strides=(1, 2),
        padding=((2, -1), (1, 0)))),
    ("2d_lhs_dil", (1, 2, 4, 5), (2, 2, 3, 3), dict(window_strides=(1, 1),
        padding=((2, 2), (1, 2)), lhs_dilation=(2, 3))),
    ("2d_rhs_dil", (2, 2, 8, 7), (3, 2, 2, 3), dict(window_strides=(1, 2),
        padding="SAME", rhs_dilation=(3, 2))),
    ("2d_depthwise", (2, 4, 5, 5), (8, 1, 3, 3), dict(window_strides=(1, 1),
        padding="SAME", feature_group_count=4)),
    ("2d_groups2", (1, 4, 6, 5), (6, 2, 2, 2), dict(window_strides=(2, 2),
        padding="VALID", feature_group_count=2)),
    ("2d_batch_groups", (4, 3, 5, 5), (4, 3, 2, 2), dict(window_strides=(1, 1),
        padding="VALID", batch_group_count=2)),
    ("3d_mixed", (1, 2, 4, 5, 3), (2, 2, 2, 2, 2), dict(window_strides=(1, 2, 1),
        padding=((1, 0), (0, 1), (1, 1)), rhs_dilation=(1, 1, 2),
        dimension_numbers=("NCDHW", "OIDHW", "NDHWC"))),
]

def run(lhs_shape, rhs_shape, kw, dt):
    x, w = inp(lhs_shape, 0.1, dt), inp(rhs_shape, 0.7, dt)
    f = lambda x, w: lax.conv_general_dilated(x, w, **kw)
    out = f(x, w)
    cot = inp(out.shape, 1.3, dt)
    gx, gw = jax.grad(lambda x, w: jnp.sum(f(x, w) * cot), argnums=(0, 1))(x, w)
    flat = lambda a: np.asarray(a, dtype=np.float64).ravel().tolist()
    return dict(out_shape=list(out.shape), out=flat(out), grad_lhs=flat(gx), grad_rhs=flat(gw))

cases = []
for name, ls, rs, kw in CASES:
    entry = dict(name=name, lhs=list(ls), rhs=list(rs),
                 kwargs={k: (v if isinstance(v, str) else json.loads(json.dumps(v)))
                         for k, v in kw.items()})
    for dt, key in ((jnp.float32, "f32"), (jnp.float64, "f64")):
        entry[key] = run(ls, rs, kw, dt)
    cases.append(entry)

jaxprs = {
    "nchw_same_dil": str(jax.make_jaxpr(lambda x, w: lax.conv_general_dilated(
        x, w, (1, 1), "SAME", rhs_dilation=(2, 1)))(
        jnp.ones((1, 2, 5, 5), jnp.float32), jnp.ones((3, 2, 2, 2), jnp.float32))),
    "nhwc_explicit": str(jax.make_jaxpr(lambda x, w: lax.conv_general_dilated(
        x, w, (1, 1), [(1, -1), (0, 0)], dimension_numbers=("NHWC", "HWIO", "NHWC")))(
        jnp.ones((1, 5, 5, 2), jnp.float32), jnp.ones((2, 2, 2, 3), jnp.float32))),
}

out = dict(jax_version=jax.__version__, cases=cases, jaxprs=jaxprs)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_conv.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path, len(cases), "cases")
