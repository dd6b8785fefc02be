//! Golden strings for the jaxpr printer.
//!
//! Sources. The seed's four jaxprs are copied from `shared/seed/000_79ca6408642c33b4.txt`. Every
//! other string was printed by the real JAX 0.4.13 (`make_jaxpr(f)(...)`, function given in the
//! comment above each test), the last JAX whose printer uses the seed's format throughout:
//! literals print as their value (`1.0`, not JAX >= 0.6.1's `1.0:f32[]`), params are sorted by
//! name, nested jaxprs continue the outer naming, and no sharding params appear. The layout rules
//! (width-80 groups, indent 4 for equations and 2 for `in`, names a..z, ba, bb, ..., `_` for
//! unused outputs) are the ones `docs/JAXPR.md` reads from JAX's `core.pp_jaxpr`.
//! Where cranax has no JAX equivalent (its `gather` is a take along one axis), the string follows
//! those same rules and the comment says so.

use cranax::core::error::or_raise;
use cranax::numpy as jnp;
use cranax::prims::DotGeneral;
use cranax::{grad, jit, lax, make_jaxpr, vmap, Array, DType, Function, ARG0, ARG1};

fn f32s(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    Array::from_vec(vec![1.0f32; n], shape).unwrap()
}

fn product(x: &Array, y: &Array) -> Array {
    x * y
}

fn activate(x: &Array) -> Array {
    jnp::tanh(x)
}

/// Print `make_jaxpr(f)` of a one-argument function.
fn jaxpr1(f: impl Fn(&Array) -> Array, x: Array) -> String {
    make_jaxpr(f).call((x,)).unwrap().to_string()
}

// Seed, "Differentiating wrt x": make_jaxpr(grad(product, argnums=0))(3.0, 4.0).
// The group is 78 characters, so it stays flat on an 80-column line.
#[test]
fn seed_grad_argnums_0() {
    let (x, y) = (Array::from(3.0f32), Array::from(4.0f32));
    let j = make_jaxpr(grad(product).argnums(ARG0))
        .call((x, y))
        .unwrap();
    assert_eq!(
        j.to_string(),
        "{ lambda ; a:f32[] b:f32[]. let _:f32[] = mul a b; c:f32[] = mul 1.0 b in (c,) }"
    );
}

// Seed, "Differentiating wrt y": make_jaxpr(grad(product, argnums=1))(3.0, 4.0).
#[test]
fn seed_grad_argnums_1() {
    let (x, y) = (Array::from(3.0f32), Array::from(4.0f32));
    let j = make_jaxpr(grad(product).argnums(ARG1))
        .call((x, y))
        .unwrap();
    assert_eq!(
        j.to_string(),
        "{ lambda ; a:f32[] b:f32[]. let _:f32[] = mul a b; c:f32[] = mul a 1.0 in (c,) }"
    );
}

// Seed, "Differentiating wrt x, y": make_jaxpr(grad(product, argnums=(0,1)))(3.0, 4.0).
#[test]
fn seed_grad_argnums_0_1() {
    let (x, y) = (Array::from(3.0f32), Array::from(4.0f32));
    let j = make_jaxpr(grad(product).argnums((ARG0, ARG1)))
        .call((x, y))
        .unwrap();
    assert_eq!(
        j.to_string(),
        "{ lambda ; a:f32[] b:f32[]. let
    _:f32[] = mul a b
    c:f32[] = mul a 1.0
    d:f32[] = mul 1.0 b
  in (d, c) }"
    );
}

// Seed, In [38]: make_jaxpr(vmap(grad(activate)))(x) with x of shape (5,).
#[test]
fn seed_vmap_grad_tanh() {
    let j = make_jaxpr(vmap(grad(activate)))
        .call((f32s(&[5]),))
        .unwrap();
    assert_eq!(
        j.to_string(),
        "{ lambda ; a:f32[5]. let
    b:f32[5] = tanh a
    c:f32[5] = sub 1.0 b
    d:f32[5] = mul 1.0 c
    e:f32[5] = mul d b
    f:f32[5] = add_any d e
  in (f,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x, y: x * y)(1.0, 2.0). The issue's example of the flat form.
#[test]
fn flat_form() {
    let j = make_jaxpr(product)
        .call((Array::from(1.0f32), Array::from(2.0f32)))
        .unwrap();
    assert_eq!(
        j.to_string(),
        "{ lambda ; a:f32[] b:f32[]. let c:f32[] = mul a b in (c,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x, y: (x * y, x + y, x - y))(1.0, 2.0). Three outputs, too long
// for one line: one equation per line at indent 4, `in` at indent 2.
#[test]
fn broken_form_with_several_outputs() {
    let f = |x: &Array, y: &Array| (x * y, x + y, x - y);
    let j = make_jaxpr(f)
        .call((Array::from(1.0f32), Array::from(2.0f32)))
        .unwrap();
    assert_eq!(
        j.to_string(),
        "{ lambda ; a:f32[] b:f32[]. let
    c:f32[] = mul a b
    d:f32[] = add a b
    e:f32[] = sub a b
  in (c, d, e) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: jnp.sum(x ** 2))(jnp.ones(3)). Params `integer_pow[y=2]`
// and `reduce_sum[axes=(0,)]`.
#[test]
fn integer_pow_and_reduce_sum_params() {
    let got = jaxpr1(|x| x.pow(2).sum(), f32s(&[3]));
    assert_eq!(
        got,
        "{ lambda ; a:f32[3]. let
    b:f32[3] = integer_pow[y=2] a
    c:f32[] = reduce_sum[axes=(0,)] b
  in (c,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: jnp.broadcast_to(x, (3,)))(1.0).
#[test]
fn broadcast_in_dim_params() {
    let got = jaxpr1(|x| jnp::broadcast_to(x, &[3]), Array::from(1.0f32));
    assert_eq!(
        got,
        "{ lambda ; a:f32[]. let
    b:f32[3] = broadcast_in_dim[broadcast_dimensions=() shape=(3,)] a
  in (b,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: x.astype(jnp.float32))(np.int32(1)).
#[test]
fn convert_element_type_params() {
    let got = jaxpr1(|x| x.astype(DType::F32), Array::from(1i32));
    assert_eq!(
        got,
        "{ lambda ; a:i32[]. let
    b:f32[] = convert_element_type[new_dtype=float32 weak_type=False] a
  in (b,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: (jnp.sin(x), x * 2.0)[1])(1.0). The unused `sin` output
// prints `_` and takes no letter.
#[test]
fn dropped_output() {
    let got = jaxpr1(
        |x| {
            let _unused = jnp::sin(x);
            x * 2.0
        },
        Array::from(1.0f32),
    );
    assert_eq!(
        got,
        "{ lambda ; a:f32[]. let _:f32[] = sin a; b:f32[] = mul a 2.0 in (b,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: lax.add(x, 2))(np.array([1, 2, 3], np.int32)): an int literal.
#[test]
fn int_literal() {
    let got = jaxpr1(
        |x| or_raise(lax::add(x, &Array::from(2i32))),
        Array::from_slice(&[1i32, 2, 3]),
    );
    assert_eq!(got, "{ lambda ; a:i32[3]. let b:i32[3] = add a 2 in (b,) }");
}

// JAX 0.4.13: make_jaxpr(lambda b: lax.bitwise_and(b, True))(np.array([True, False])).
#[test]
fn bool_literal() {
    let got = jaxpr1(
        |b| or_raise(lax::and(b, &Array::from(true))),
        Array::from_slice(&[true, false]),
    );
    assert_eq!(
        got,
        "{ lambda ; a:bool[2]. let b:bool[2] = and a True in (b,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: jnp.exp(x) / 1e-5)(1.0): Python's repr of a small float.
#[test]
fn small_float_literal() {
    let got = jaxpr1(|x| jnp::exp(x) / 1e-5f32, Array::from(1.0f32));
    assert_eq!(
        got,
        "{ lambda ; a:f32[]. let b:f32[] = exp a; c:f32[] = div b 1e-05 in (c,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: lax.select(x > 0, x, -x))(np.ones(3, np.float32)).
#[test]
fn comparison_and_select_n() {
    let got = jaxpr1(|x| jnp::where_(jnp::greater(x, 0.0f32), x, -x), f32s(&[3]));
    assert_eq!(
        got,
        "{ lambda ; a:f32[3]. let
    b:bool[3] = gt a 0.0
    c:f32[3] = neg a
    d:f32[3] = select_n b c a
  in (d,) }"
    );
}

// JAX 0.4.13: make_jaxpr(many)(1.0) with `for i in range(30): x = jnp.sin(x)`. After z come
// ba, bb, ... (bijective base 26: there is no `aa`).
#[test]
fn more_than_26_variables() {
    let got = jaxpr1(
        |x| {
            let mut y = x.clone();
            for _ in 0..30 {
                y = jnp::sin(&y);
            }
            y
        },
        Array::from(1.0f32),
    );
    let mut want = String::from("{ lambda ; a:f32[]. let\n");
    let names = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z", "ba", "bb", "bc", "bd", "be",
    ];
    for w in names.windows(2) {
        want.push_str(&format!("    {}:f32[] = sin {}\n", w[1], w[0]));
    }
    want.push_str("  in (be,) }");
    assert_eq!(got, want);
    assert!(got.contains("    ba:f32[] = sin z\n    bb:f32[] = sin ba\n"));
}

// JAX 0.4.13: make_jaxpr(lambda x: lax.broadcast_in_dim(x, (9,2,3,4,5,6,7,8), (1,2,3,4,5,6,7)))
// (np.ones((2,3,4,5,6,7,8), np.float32)). The param group does not fit: one param per line at
// the equation's indent + 2, `]` back at the equation's indent, then the operands.
#[test]
fn param_group_that_breaks() {
    let x = f32s(&[2, 3, 4, 5, 6, 7, 8]);
    let got = jaxpr1(
        |x| {
            or_raise(lax::broadcast_in_dim(
                x,
                &[9, 2, 3, 4, 5, 6, 7, 8],
                &[1, 2, 3, 4, 5, 6, 7],
            ))
        },
        x,
    );
    assert_eq!(
        got,
        "{ lambda ; a:f32[2,3,4,5,6,7,8]. let
    b:f32[9,2,3,4,5,6,7,8] = broadcast_in_dim[
      broadcast_dimensions=(1, 2, 3, 4, 5, 6, 7)
      shape=(9, 2, 3, 4, 5, 6, 7, 8)
    ] a
  in (b,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: lax.reduce_sum_p.bind(x, axes=(0, 1, 2, 3, 4, 5, 6)))
// (np.ones((2,3,4,5,6,7,8), np.float32)): the equation breaks out of the jaxpr's line, its own
// param group still fits.
#[test]
fn long_equation_with_flat_params() {
    let got = jaxpr1(
        |x| or_raise(lax::reduce_sum(x, &[0, 1, 2, 3, 4, 5, 6])),
        f32s(&[2, 3, 4, 5, 6, 7, 8]),
    );
    assert_eq!(
        got,
        "{ lambda ; a:f32[2,3,4,5,6,7,8]. let
    b:f32[] = reduce_sum[axes=(0, 1, 2, 3, 4, 5, 6)] a
  in (b,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: lax.dot_general(x, x, (((1,), (0,)), ((), ()))))
// (np.ones((3, 3), np.float32)). JAX's dot_general printer drops `precision` and
// `preferred_element_type` when they are None and prints the dimension numbers as lists.
#[test]
fn dot_general_params() {
    let got = jaxpr1(
        |x| or_raise(lax::dot_general(x, x, DotGeneral::contract(1, 0))),
        f32s(&[3, 3]),
    );
    assert_eq!(
        got,
        "{ lambda ; a:f32[3,3]. let
    b:f32[3,3] = dot_general[dimension_numbers=(([1], [0]), ([], []))] a a
  in (b,) }"
    );
}

// JAX 0.4.13: the same with preferred_element_type=np.float32: the param group breaks.
#[test]
fn dot_general_preferred_element_type() {
    let dims = DotGeneral {
        preferred_element_type: Some(DType::F32),
        ..DotGeneral::contract(1, 0)
    };
    let got = jaxpr1(
        move |x| or_raise(lax::dot_general(x, x, dims.clone())),
        f32s(&[3, 3]),
    );
    assert_eq!(
        got,
        "{ lambda ; a:f32[3,3]. let
    b:f32[3,3] = dot_general[
      dimension_numbers=(([1], [0]), ([], []))
      preferred_element_type=float32
    ] a a
  in (b,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: x * c)(jnp.ones(3)) with c = jnp.arange(3.0) closed over: a
// non-scalar constant becomes a constvar, printed before the `;`.
#[test]
fn constvars() {
    let c = Array::from_slice(&[0.0f32, 1.0, 2.0]);
    let got = jaxpr1(move |x| x * &c, f32s(&[3]));
    assert_eq!(
        got,
        "{ lambda a:f32[3]; b:f32[3]. let c:f32[3] = mul b a in (c,) }"
    );
}

fn g(x: &Array) -> Array {
    jnp::sin(x) * 2.0
}

// JAX 0.4.13: with `@jax.jit def g(x): return jnp.sin(x) * 2.0`,
// make_jaxpr(lambda x: g(x) + 1.0)(1.0). The nested jaxpr is the `jaxpr` param of `pjit`
// (params sorted: `jaxpr` before `name`), its names continue the outer ones, and it is
// indented as a nested group (equations at 10, `in` at 8).
#[test]
fn jit_inside_make_jaxpr() {
    let got = jaxpr1(
        |x| or_raise(jit(g).call((x.clone(),))) + 1.0,
        Array::from(1.0f32),
    );
    assert_eq!(
        got,
        "{ lambda ; a:f32[]. let
    b:f32[] = pjit[
      jaxpr={ lambda ; c:f32[]. let
          d:f32[] = sin c
          e:f32[] = mul d 2.0
        in (e,) }
      name=g
    ] a
    f:f32[] = add b 1.0
  in (f,) }"
    );
}

// JAX 0.4.13: more params, each as JAX prints them:
// lax.slice(x, (1,), (3,)); lax.transpose(x, (1, 0)); lax.reshape(x, (6,)); lax.squeeze(x, (0,));
// lax.concatenate([x, x], 0); lax.argmax(x, 0, np.int32); lax.reduce_max_p.bind(x, axes=(0,));
// lax.dynamic_slice(x, (1,), (2,)); lax.bitcast_convert_type(x, np.uint32);
// lax.shift_right_logical(x, np.uint32(3)); lax.pad(x, 0.0, [(1, 2, 0), (0, 0, 1)]).
#[test]
fn shape_op_params() {
    type Case = (Box<dyn Fn(&Array) -> Array>, Array, &'static str);
    let cases: Vec<Case> = vec![
        (
            Box::new(|x| or_raise(lax::slice(x, &[1], &[3], None))),
            f32s(&[5]),
            "{ lambda ; a:f32[5]. let
    b:f32[2] = slice[limit_indices=(3,) start_indices=(1,) strides=None] a
  in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::transpose(x, &[1, 0]))),
            f32s(&[2, 3]),
            "{ lambda ; a:f32[2,3]. let
    b:f32[3,2] = transpose[permutation=(1, 0)] a
  in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::reshape(x, &[6]))),
            f32s(&[2, 3]),
            "{ lambda ; a:f32[2,3]. let
    b:f32[6] = reshape[dimensions=None new_sizes=(6,)] a
  in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::squeeze(x, &[0]))),
            f32s(&[1, 3]),
            "{ lambda ; a:f32[1,3]. let b:f32[3] = squeeze[dimensions=(0,)] a in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::concatenate(&[x.clone(), x.clone()], 0))),
            f32s(&[1, 3]),
            "{ lambda ; a:f32[1,3]. let b:f32[2,3] = concatenate[dimension=0] a a in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::argmax(x, 0, DType::I32))),
            f32s(&[3]),
            "{ lambda ; a:f32[3]. let
    b:i32[] = argmax[axes=(0,) index_dtype=int32] a
  in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::reduce_max(x, &[0]))),
            f32s(&[3]),
            "{ lambda ; a:f32[3]. let b:f32[] = reduce_max[axes=(0,)] a in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::dynamic_slice(x, &[Array::from(1i32)], &[2]))),
            f32s(&[3]),
            "{ lambda ; a:f32[3]. let
    b:f32[2] = dynamic_slice[slice_sizes=(2,)] a 1
  in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::bitcast_convert_type(x, DType::U32))),
            f32s(&[3]),
            "{ lambda ; a:f32[3]. let
    b:u32[3] = bitcast_convert_type[new_dtype=uint32] a
  in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::shift_right_logical(x, &Array::from(3u32)))),
            Array::from_slice(&[1u32, 2, 3]),
            "{ lambda ; a:u32[3]. let b:u32[3] = shift_right_logical a 3 in (b,) }",
        ),
        (
            Box::new(|x| or_raise(lax::pad(x, &Array::from(0.0f32), &[(1, 2, 0), (0, 0, 1)]))),
            f32s(&[2, 3]),
            "{ lambda ; a:f32[2,3]. let
    b:f32[5,5] = pad[padding_config=((1, 2, 0), (0, 0, 1))] a 0.0
  in (b,) }",
        ),
    ];
    for (f, x, want) in cases {
        assert_eq!(jaxpr1(f, x), want);
    }
}

// JAX 0.4.13: make_jaxpr(lambda x: x + lax.iota(np.int32, 4))(np.ones(4, np.int32)). An
// equation without operands keeps the space before its (empty) operand list: JAX's pp_eqn
// always emits `" " + operands`.
#[test]
fn iota_without_operands() {
    let got = jaxpr1(
        |x| or_raise(lax::add(x, &or_raise(lax::iota(DType::I32, &[4], 0)))),
        Array::from_slice(&[1i32, 1, 1, 1]),
    );
    assert_eq!(
        got,
        "{ lambda ; a:i32[4]. let
    b:i32[4] = iota[dimension=0 dtype=int32 shape=(4,)] 
    c:i32[4] = add a b
  in (c,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: x)(np.ones(3, np.float32)). No equations: JAX's skeleton
// still emits the (empty) equation block after `let`, so two spaces precede `in`.
#[test]
fn no_equations() {
    let got = jaxpr1(|x| x.clone(), f32s(&[3]));
    assert_eq!(got, "{ lambda ; a:f32[3]. let  in (a,) }");
}

// `gather` prints as JAX 0.10 prints it (dimension numbers, mode, fill_value, slice sizes).
// A known index is normalised before staging, as JAX normalises a static Python index, so
// `x.at(-1)` gathers at the constant 2, and `jnp::take` of known in-range indices needs no
// index arithmetic (JAX's `jnp.take`: `FILL_OR_DROP` with `fill_value=nan`).
#[test]
fn gather_follows_the_same_rules() {
    let gather = |mode: &str, fill: &str| {
        format!(
            "gather[\n      dimension_numbers=GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,), operand_batching_dims=(), start_indices_batching_dims=())\n      fill_value={fill}\n      indices_are_sorted=False\n      mode=GatherScatterMode.{mode}\n      slice_sizes=(1,)\n      unique_indices=False\n    ]"
        )
    };
    assert_eq!(
        jaxpr1(|x| x.at(-1), f32s(&[3])),
        format!(
            "{{ lambda ; a:f32[3]. let\n    b:i32[1] = broadcast_in_dim[broadcast_dimensions=() shape=(1,)] 2\n    c:f32[] = {} a b\n  in (c,) }}",
            gather("CLIP", "None")
        )
    );
    // JAX 0.10's `jnp.take(x, i)` body (inside its `jit[name=_take]`), in the 0.4.13 printing.
    assert_eq!(
        jaxpr1(
            |x| jnp::take(x, Array::from_slice(&[0i32, -1]), 0),
            f32s(&[3])
        ),
        format!(
            "{{ lambda a:i32[2]; b:f32[3]. let\n    c:bool[2] = lt a 0\n    d:i32[2] = add a 3\n    e:i32[2] = select_n c a d\n    f:i32[2,1] = broadcast_in_dim[broadcast_dimensions=(0,) shape=(2, 1)] e\n    g:f32[2] = {} b f\n  in (g,) }}",
            gather("FILL_OR_DROP", "nan")
        )
    );
}

// JAX 0.4.13, with xs = [np.ones((100, 200), np.float32)] * 9:
// make_jaxpr(lambda *a: a[0])(*xs) and make_jaxpr(lambda *a: lax.concatenate(a, 0))(*xs).
// Each separator of a binder list is a break in a group of its own, so a long list fills the
// line (overrunning 80 columns by the last name) and continues at indent 4. With no equations
// the broken form keeps an empty equation line.
#[test]
fn long_binder_lists_fill_the_line() {
    let xs: Vec<Array> = (0..9).map(|_| f32s(&[100, 200])).collect();
    let first = make_jaxpr(|xs: &Vec<Array>| xs[0].clone())
        .call((xs.clone(),))
        .unwrap();
    assert_eq!(
        first.to_string(),
        "{ lambda ; a:f32[100,200] b:f32[100,200] c:f32[100,200] d:f32[100,200] e:f32[100,200]
    f:f32[100,200] g:f32[100,200] h:f32[100,200] i:f32[100,200]. let
    
  in (a,) }"
    );
    let cat = make_jaxpr(|xs: &Vec<Array>| or_raise(lax::concatenate(xs, 0)))
        .call((xs,))
        .unwrap();
    assert_eq!(
        cat.to_string(),
        "{ lambda ; a:f32[100,200] b:f32[100,200] c:f32[100,200] d:f32[100,200] e:f32[100,200]
    f:f32[100,200] g:f32[100,200] h:f32[100,200] i:f32[100,200]. let
    j:f32[900,200] = concatenate[dimension=0] a b c d e f g h i
  in (j,) }"
    );
}

// JAX 0.4.13: make_jaxpr(lambda x: tuple(jnp.sin(x) for _ in range(12)))(np.ones((100, 200)))
// and make_jaxpr(lambda x: [x] * 9)(...): output lists, and a jaxpr that is flat because all of
// it, ` }` included, fits in 80 columns.
#[test]
fn output_lists() {
    let x = f32s(&[100, 200]);
    let sins = make_jaxpr(|x: &Array| (0..12).map(|_| jnp::sin(x)).collect::<Vec<_>>())
        .call((x.clone(),))
        .unwrap();
    let mut want = String::from("{ lambda ; a:f32[100,200]. let\n");
    for n in "bcdefghijklm".chars() {
        want.push_str(&format!("    {n}:f32[100,200] = sin a\n"));
    }
    want.push_str("  in (b, c, d, e, f, g, h, i, j, k, l, m) }");
    assert_eq!(sins.to_string(), want);
    let same = make_jaxpr(|x: &Array| vec![x.clone(); 9])
        .call((x,))
        .unwrap();
    assert_eq!(
        same.to_string(),
        "{ lambda ; a:f32[100,200]. let  in (a, a, a, a, a, a, a, a, a) }"
    );
}

// The fit rule counts the closing ` }`: a jaxpr of exactly 80 characters stays flat (the seed's
// argnums=0 line), one of 81 breaks (JAX 0.4.13 prints the `transpose` jaxpr in
// `shape_op_params`, 81 characters when flat, broken).
#[test]
fn fit_rule_counts_the_closing_brace() {
    let (x, y) = (Array::from(3.0f32), Array::from(4.0f32));
    let flat = make_jaxpr(grad(product)).call((x, y)).unwrap().to_string();
    assert_eq!(flat.len(), 80);
    assert!(!flat.contains('\n'));
    let broken = jaxpr1(|x| or_raise(lax::transpose(x, &[1, 0])), f32s(&[2, 3]));
    assert!(broken.contains('\n'));
    assert_eq!(broken.replace("\n    ", " ").replace("\n  ", " ").len(), 81);
}

// ---------------------------------------------------------------------------------------------
// Control flow. Each golden printed by JAX 0.4.13 from the Python function in the comment
// (`lax` as `jax.lax`, inputs f32 unless noted).

/// Shorthand for the control-flow goldens: `or_raise` on a lax control-flow result.
fn cf<T>(r: cranax::Result<T>) -> T {
    or_raise(r)
}

// def f(x, y):
//   return lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * y), (0, x))
// make_jaxpr(f)(1.0, 2.0)
#[test]
fn while_loop_with_a_closed_over_value() {
    let f = |x: &Array, y: &Array| {
        cf(lax::while_loop(
            |c: &(Array, Array)| or_raise(lax::lt(&c.0, &Array::scalar(10i32))),
            |c: &(Array, Array)| (or_raise(lax::add(&c.0, &Array::scalar(1i32))), &c.1 * y),
            (Array::scalar(0i32), x.clone()),
        ))
    };
    let got = make_jaxpr(f)
        .call((Array::from(1.0f32), Array::from(2.0f32)))
        .unwrap()
        .to_string();
    let want = "{ lambda ; a:f32[] b:f32[]. let
    c:i32[] d:f32[] = while[
      body_jaxpr={ lambda ; e:f32[] f:i32[] g:f32[]. let
          h:i32[] = add f 1
          i:f32[] = mul g e
        in (h, i) }
      body_nconsts=1
      cond_jaxpr={ lambda ; j:i32[] k:f32[]. let l:bool[] = lt j 10 in (l,) }
      cond_nconsts=0
    ] b 0 a
  in (c, d) }";
    assert_eq!(got, want);
}

// make_jaxpr(lambda c, xs: lax.scan(lambda c, x: (c * x + 1.0, jnp.sin(c)), c, xs))(
//     np.float32(1.0), jnp.ones(5, jnp.float32))
#[test]
fn scan_with_stacked_outputs() {
    let f = |c: &Array, xs: &Array| {
        cf(lax::scan(
            |c: &Array, x: &Array| (c * x + 1.0f32, jnp::sin(c)),
            c.clone(),
            xs.clone(),
        ))
    };
    let got = make_jaxpr(f)
        .call((Array::from(1.0f32), f32s(&[5])))
        .unwrap()
        .to_string();
    let want = "{ lambda ; a:f32[] b:f32[5]. let
    c:f32[] d:f32[5] = scan[
      jaxpr={ lambda ; e:f32[] f:f32[]. let
          g:f32[] = mul e f
          h:f32[] = add g 1.0
          i:f32[] = sin e
        in (h, i) }
      length=5
      linear=(False, False)
      num_carry=1
      num_consts=0
      reverse=False
      unroll=1
    ] a b
  in (c, d) }";
    assert_eq!(got, want);
}

// make_jaxpr(lambda p, x: lax.cond(p, lambda x: x + 1, lambda x: x * 2, x))(True, 1.0)
#[test]
fn cond_lists_the_false_branch_first() {
    let f = |p: &Array, x: &Array| {
        cf(lax::cond(
            p,
            |x: &Array| x + 1.0f32,
            |x: &Array| x * 2.0f32,
            x,
        ))
    };
    let got = make_jaxpr(f)
        .call((Array::scalar(true), Array::from(1.0f32)))
        .unwrap()
        .to_string();
    let want = "{ lambda ; a:bool[] b:f32[]. let
    c:i32[] = convert_element_type[new_dtype=int32 weak_type=False] a
    d:f32[] = cond[
      branches=(
        { lambda ; e:f32[]. let f:f32[] = mul e 2.0 in (f,) }
        { lambda ; g:f32[]. let h:f32[] = add g 1.0 in (h,) }
      )
      linear=(False,)
    ] c b
  in (d,) }";
    assert_eq!(got, want);
}

// make_jaxpr(lambda x: lax.fori_loop(0, 10, lambda i, c: c * 2.0, x))(1.0): a scan.
// make_jaxpr(lambda x, n: lax.fori_loop(0, n, lambda i, c: c * 2.0, x))(1.0, 3): a while.
#[test]
fn fori_loop_is_a_scan_or_a_while() {
    let concrete = |x: &Array| {
        cf(lax::fori_loop(
            0,
            10,
            |_: &Array, c: &Array| c * 2.0f32,
            x.clone(),
        ))
    };
    let want = "{ lambda ; a:f32[]. let
    _:i32[] b:f32[] = scan[
      jaxpr={ lambda ; c:i32[] d:f32[]. let
          e:i32[] = add c 1
          f:f32[] = mul d 2.0
        in (e, f) }
      length=10
      linear=(False, False)
      num_carry=2
      num_consts=0
      reverse=False
      unroll=1
    ] 0 a
  in (b,) }";
    assert_eq!(jaxpr1(concrete, Array::from(1.0f32)), want);
    let traced = |x: &Array, n: &Array| {
        cf(lax::fori_loop(
            0,
            n,
            |_: &Array, c: &Array| c * 2.0f32,
            x.clone(),
        ))
    };
    let got = make_jaxpr(traced)
        .call((Array::from(1.0f32), Array::scalar(3i32)))
        .unwrap()
        .to_string();
    let want = "{ lambda ; a:f32[] b:i32[]. let
    _:i32[] _:i32[] c:f32[] = while[
      body_jaxpr={ lambda ; d:i32[] e:i32[] f:f32[]. let
          g:i32[] = add d 1
          h:f32[] = mul f 2.0
        in (g, e, h) }
      body_nconsts=0
      cond_jaxpr={ lambda ; i:i32[] j:i32[] k:f32[]. let
          l:bool[] = lt i j
        in (l,) }
      cond_nconsts=0
    ] 0 b a
  in (c,) }";
    assert_eq!(got, want);
}

// make_jaxpr(lambda x: lax.map(jnp.sin, x))(jnp.ones(3))
#[test]
fn map_is_a_scan_without_carry() {
    let f = |x: &Array| cf(lax::map(|x: &Array| jnp::sin(x), x.clone()));
    let want = "{ lambda ; a:f32[3]. let
    b:f32[3] = scan[
      jaxpr={ lambda ; c:f32[]. let d:f32[] = sin c in (d,) }
      length=3
      linear=(False,)
      num_carry=0
      num_consts=0
      reverse=False
      unroll=1
    ] a
  in (b,) }";
    assert_eq!(jaxpr1(f, f32s(&[3])), want);
}

// JAX 0.10.2 (same text in 0.4.13): make_jaxpr(lambda x, y: x * y)(2.0, jnp.float32(3)): the
// weakly typed operand is converted before `mul` even though the dtypes already agree; two
// weak operands (2.0, 3.0) or two strong ones are multiplied as they are.
#[test]
fn weak_operand_of_a_strong_product_is_converted() {
    let weak = || Array::weak_scalar(2.0, DType::F32);
    let strong = || Array::from(3.0f32);
    let text = |x: Array, y: Array| make_jaxpr(product).call((x, y)).unwrap().to_string();
    assert_eq!(
        text(weak(), strong()),
        "{ lambda ; a:f32[] b:f32[]. let
    c:f32[] = convert_element_type[new_dtype=float32 weak_type=False] a
    d:f32[] = mul c b
  in (d,) }"
    );
    let plain = "{ lambda ; a:f32[] b:f32[]. let c:f32[] = mul a b in (c,) }";
    assert_eq!(text(weak(), weak()), plain);
    assert_eq!(text(strong(), strong()), plain);
}
