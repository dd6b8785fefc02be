//! Windowed reductions (JAX's `jax/_src/lax/windowed_reductions.py`): `reduce_window_sum`,
//! `reduce_window_max`, `reduce_window_min`, and the two primitives their derivatives use,
//! `select_and_gather_add` (the tangent at each window's chosen element: the JVP of max/min)
//! and `select_and_scatter_add` (its transpose: each window's value added at its chosen
//! element). One geometry ([`Window`]: window dimensions, strides, padding, base and window
//! dilation) and one walk over it ([`Window::walk`], every output element's window positions
//! in row-major order, `None` for padding and dilation holes) serve every eager rule; the
//! backend (`backend/window.rs`) computes the same positions from the same `Window`.
//!
//! XLA's semantics, which JAX's values show: a window's reduction starts from the init value
//! and combines its positions in row-major order, padding contributing nothing; a
//! chooser (`ge` for max, `le` for min) keeps the earlier element on ties, so the first
//! maximum of a window gets its gradient.

use super::cumulative::{Cumulative, CumulativeKind};
use super::{BatchOut, JvpOut, LinArg, Prim, ReduceOp, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind1;
use crate::dtype::{DType, Scalar};
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::{py_tuple, Param};
use crate::lax;

/// The geometry of a windowed operation, with JAX's parameter names (one entry per operand
/// dimension in each).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// The window's size along each dimension.
    pub window_dimensions: Vec<usize>,
    /// How far consecutive windows are apart.
    pub window_strides: Vec<usize>,
    /// `(low, high)` padding of the (base-dilated) operand.
    pub padding: Vec<(usize, usize)>,
    /// Holes between operand elements: `d` places `d - 1` padding values between neighbours.
    pub base_dilation: Vec<usize>,
    /// Holes between window elements.
    pub window_dilation: Vec<usize>,
}

/// `1 + d (n - 1)` (0 for an empty dimension): JAX's `_dilate_shape` of one dimension.
fn dilate(n: usize, d: usize) -> usize {
    if n == 0 {
        0
    } else {
        1 + d * (n - 1)
    }
}

impl Window {
    /// The geometry with unit strides and dilations and no padding.
    pub fn new(window_dimensions: &[usize]) -> Window {
        let n = window_dimensions.len();
        Window {
            window_dimensions: window_dimensions.to_vec(),
            window_strides: vec![1; n],
            padding: vec![(0, 0); n],
            base_dilation: vec![1; n],
            window_dilation: vec![1; n],
        }
    }

    /// The parameters as JAX prints them (the dilations only for the ops that have them).
    fn params(&self, dilations: bool) -> Vec<(&'static str, Param)> {
        let t = |v: &[usize]| Param::Text(py_tuple(v));
        let pads: Vec<String> = self
            .padding
            .iter()
            .map(|(l, h)| format!("({l}, {h})"))
            .collect();
        let mut ps = vec![
            ("padding", Param::Text(py_tuple(&pads))),
            ("window_dimensions", t(&self.window_dimensions)),
            ("window_strides", t(&self.window_strides)),
        ];
        if dilations {
            ps.push(("base_dilation", t(&self.base_dilation)));
            ps.push(("window_dilation", t(&self.window_dilation)));
        }
        ps
    }

    /// The inverse of `params`.
    fn from_printed(p: &PrintedParams, dilations: bool) -> Result<Window> {
        let window_dimensions: Vec<usize> = p.get("window_dimensions")?;
        let ones = vec![1; window_dimensions.len()];
        let (base_dilation, window_dilation) = if dilations {
            (p.get("base_dilation")?, p.get("window_dilation")?)
        } else {
            (ones.clone(), ones)
        };
        Ok(Window {
            window_strides: p.get("window_strides")?,
            padding: p.get("padding")?,
            window_dimensions,
            base_dilation,
            window_dilation,
        })
    }

    /// The operand's shape after base dilation and padding.
    pub fn padded_shape(&self, in_shape: &[usize]) -> Vec<usize> {
        in_shape
            .iter()
            .zip(&self.base_dilation)
            .zip(&self.padding)
            .map(|((&n, &d), &(lo, hi))| dilate(n, d) + lo + hi)
            .collect()
    }

    /// The window's extent along each dimension after window dilation.
    pub fn dilated_window(&self) -> Vec<usize> {
        let w = self.window_dimensions.iter().zip(&self.window_dilation);
        w.map(|(&n, &d)| dilate(n, d)).collect()
    }

    /// The output shape for an operand of `in_shape`, or JAX's error naming `name`
    /// (`_common_reduce_window_shape_rule`).
    ///
    /// # Errors
    /// Parameters of the wrong lengths, or zero sizes, strides or dilations.
    pub fn out_shape(&self, name: &str, in_shape: &[usize]) -> Result<Vec<usize>> {
        let positive = |what: &str, v: &[usize]| {
            if v.contains(&0) {
                Err(Error::type_err(format!(
                    "{name} {what} must have every element be strictly positive, got {}.",
                    py_tuple(v)
                )))
            } else {
                Ok(())
            }
        };
        positive("window_dimensions", &self.window_dimensions)?;
        positive("window_strides", &self.window_strides)?;
        positive("base_dilation", &self.base_dilation)?;
        positive("window_dilation", &self.window_dilation)?;
        let wd = py_tuple(&self.window_dimensions);
        if in_shape.len() != self.window_dimensions.len() {
            return Err(Error::type_err(format!(
                "{name} got the wrong number of window_dimensions for operand: got operand shape {} with window_dimensions {wd}.",
                shape_str(in_shape)
            )));
        }
        let n = in_shape.len();
        for (what, len) in [
            ("window_strides", self.window_strides.len()),
            ("padding", self.padding.len()),
            ("base_dilation", self.base_dilation.len()),
            ("window_dilation", self.window_dilation.len()),
        ] {
            if len != n {
                return Err(Error::type_err(format!(
                    "{name} got inconsistent {what} and window_dimensions: got {what} of length {len} and window_dimensions {wd}."
                )));
            }
        }
        let padded = self.padded_shape(in_shape);
        let window = self.dilated_window();
        Ok(padded
            .iter()
            .zip(&window)
            .zip(&self.window_strides)
            .map(|((&p, &w), &s)| (p + s).saturating_sub(w) / s)
            .collect())
    }

    /// Every output element's window, in row-major order of both: `f(out, positions)` with
    /// the flat operand index of each window position, `None` where it falls on padding or
    /// a base-dilation hole.
    pub fn walk(
        &self,
        in_shape: &[usize],
        out_shape: &[usize],
        mut f: impl FnMut(usize, &[Option<usize>]),
    ) {
        let n = in_shape.len();
        let in_strides = row_strides(in_shape);
        let offsets = window_offsets(&self.window_dimensions);
        let mut positions = vec![None; offsets.len()];
        let out_size: usize = out_shape.iter().product();
        let mut o = vec![0usize; n];
        for flat in 0..out_size {
            let mut rem = flat;
            for d in (0..n).rev() {
                o[d] = rem % out_shape[d];
                rem /= out_shape[d];
            }
            for (slot, w) in positions.iter_mut().zip(&offsets) {
                *slot = (0..n).try_fold(0usize, |acc, d| {
                    let p = o[d] * self.window_strides[d] + w[d] * self.window_dilation[d];
                    let p = p.checked_sub(self.padding[d].0)?;
                    let b = self.base_dilation[d];
                    (p % b == 0 && p / b < in_shape[d]).then(|| acc + p / b * in_strides[d])
                });
            }
            f(flat, &positions);
        }
    }

    /// The geometry with a trivial (size 1, no padding) dimension inserted at `at`, for a
    /// batch dimension.
    pub fn with_batch_dim(&self, at: usize) -> Window {
        let mut w = self.clone();
        w.window_dimensions.insert(at, 1);
        w.window_strides.insert(at, 1);
        w.padding.insert(at, (0, 0));
        w.base_dilation.insert(at, 1);
        w.window_dilation.insert(at, 1);
        w
    }
}

/// Row-major strides of `shape`, in elements.
fn row_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// The window's positions (undilated offsets per dimension), row-major.
pub fn window_offsets(window_dimensions: &[usize]) -> Vec<Vec<usize>> {
    let mut all = vec![vec![]];
    for &n in window_dimensions {
        all = all
            .into_iter()
            .flat_map(|p: Vec<usize>| {
                (0..n).map(move |i| {
                    let mut q = p.clone();
                    q.push(i);
                    q
                })
            })
            .collect();
    }
    all
}

/// Which monoid a `reduce_window_*` primitive reduces with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowKind {
    /// `reduce_window_sum`.
    Sum,
    /// `reduce_window_max`.
    Max,
    /// `reduce_window_min`.
    Min,
}

/// The chooser of `select_and_gather_add` / `select_and_scatter_add`: JAX's `select_prim`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectPrim {
    /// `ge`: the maximum (for `reduce_window_max`).
    Ge,
    /// `le`: the minimum (for `reduce_window_min`).
    Le,
}

impl SelectPrim {
    /// Whether `a` is kept over `b` (`a >= b`, `a <= b`; false when either is NaN).
    pub fn keeps(self, a: Scalar, b: Scalar) -> bool {
        let (a, b) = (a.to_f64(), b.to_f64());
        match self {
            SelectPrim::Ge => a >= b,
            SelectPrim::Le => a <= b,
        }
    }

    /// The value padding counts as: the identity of max (`ge`) or min (`le`).
    pub fn identity(self, dtype: DType) -> Scalar {
        match self {
            SelectPrim::Ge => ReduceOp::Max { axes: vec![] }.identity(dtype),
            SelectPrim::Le => ReduceOp::Min { axes: vec![] }.identity(dtype),
        }
    }

    fn name(self) -> &'static str {
        match self {
            SelectPrim::Ge => "ge",
            SelectPrim::Le => "le",
        }
    }

    fn from_name(p: &PrintedParams) -> Result<SelectPrim> {
        let s: String = p.get("select_prim")?;
        match s.as_str() {
            "ge" => Ok(SelectPrim::Ge),
            "le" => Ok(SelectPrim::Le),
            _ => Err(Error::value_err(format!(
                "select_prim must be ge or le, got {s}"
            ))),
        }
    }
}

impl WindowKind {
    /// The scalar step `acc ⊕ v` (integers wrap), the one eager evaluation uses.
    fn combine(self, acc: Scalar, v: Scalar) -> Scalar {
        let kind = match self {
            WindowKind::Sum => CumulativeKind::Sum,
            WindowKind::Max => CumulativeKind::Max,
            WindowKind::Min => CumulativeKind::Min,
        };
        let op = Cumulative {
            kind,
            axis: 0,
            reverse: false,
        };
        op.combine(acc, v)
    }

    /// The init value: the monoid's identity (0, -inf or the lowest integer, +inf or the
    /// highest).
    pub fn identity(self, dtype: DType) -> Scalar {
        match self {
            WindowKind::Sum => Scalar::from_f64(0.0, dtype),
            WindowKind::Max => SelectPrim::Ge.identity(dtype),
            WindowKind::Min => SelectPrim::Le.identity(dtype),
        }
    }
}

/// A windowed primitive with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WindowOp {
    /// `reduce_window_sum`, `reduce_window_max`, `reduce_window_min` of one operand.
    Reduce {
        /// Which monoid.
        kind: WindowKind,
        /// The geometry.
        window: Window,
    },
    /// `select_and_gather_add(tangents, operand)`: per window, the tangent at the element
    /// of `operand` the chooser picks (the first of ties).
    SelectAndGatherAdd {
        /// `ge` or `le`.
        select_prim: SelectPrim,
        /// The geometry.
        window: Window,
    },
    /// `select_and_scatter_add(source, operand)`: each window's `source` value added at the
    /// element of `operand` the chooser picks (no dilations, as in JAX).
    SelectAndScatterAdd {
        /// `ge` or `le`.
        select_prim: SelectPrim,
        /// The geometry (unit dilations).
        window: Window,
    },
}

impl WindowOp {
    /// The name JAX prints.
    pub fn name(&self) -> &'static str {
        match self {
            WindowOp::Reduce { kind, .. } => match kind {
                WindowKind::Sum => "reduce_window_sum",
                WindowKind::Max => "reduce_window_max",
                WindowKind::Min => "reduce_window_min",
            },
            WindowOp::SelectAndGatherAdd { .. } => "select_and_gather_add",
            WindowOp::SelectAndScatterAdd { .. } => "select_and_scatter_add",
        }
    }

    /// How many operands it takes.
    pub fn arity(&self) -> usize {
        match self {
            WindowOp::Reduce { .. } => 1,
            _ => 2,
        }
    }

    /// The geometry.
    pub fn window(&self) -> &Window {
        match self {
            WindowOp::Reduce { window, .. }
            | WindowOp::SelectAndGatherAdd { window, .. }
            | WindowOp::SelectAndScatterAdd { window, .. } => window,
        }
    }

    fn with_window(&self, window: Window) -> WindowOp {
        match self {
            WindowOp::Reduce { kind, .. } => WindowOp::Reduce {
                kind: *kind,
                window,
            },
            WindowOp::SelectAndGatherAdd { select_prim, .. } => WindowOp::SelectAndGatherAdd {
                select_prim: *select_prim,
                window,
            },
            WindowOp::SelectAndScatterAdd { select_prim, .. } => WindowOp::SelectAndScatterAdd {
                select_prim: *select_prim,
                window,
            },
        }
    }

    /// Parameters as JAX prints them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        match self {
            WindowOp::Reduce { window, .. } => window.params(true),
            WindowOp::SelectAndGatherAdd {
                select_prim,
                window,
            } => {
                let mut ps = window.params(true);
                ps.push(("select_prim", Param::Text(select_prim.name().into())));
                ps
            }
            WindowOp::SelectAndScatterAdd {
                select_prim,
                window,
            } => {
                let mut ps = window.params(false);
                ps.push(("select_prim", Param::Text(select_prim.name().into())));
                ps
            }
        }
    }

    /// The inverse of `name` and `params` (`None`: not a windowed primitive).
    ///
    /// # Errors
    /// Missing or malformed parameters.
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<WindowOp>> {
        let reduce = |kind| -> Result<Option<WindowOp>> {
            Ok(Some(WindowOp::Reduce {
                kind,
                window: Window::from_printed(p, true)?,
            }))
        };
        match name {
            "reduce_window_sum" => reduce(WindowKind::Sum),
            "reduce_window_max" => reduce(WindowKind::Max),
            "reduce_window_min" => reduce(WindowKind::Min),
            "select_and_gather_add" => Ok(Some(WindowOp::SelectAndGatherAdd {
                select_prim: SelectPrim::from_name(p)?,
                window: Window::from_printed(p, true)?,
            })),
            "select_and_scatter_add" => Ok(Some(WindowOp::SelectAndScatterAdd {
                select_prim: SelectPrim::from_name(p)?,
                window: Window::from_printed(p, false)?,
            })),
            _ => Ok(None),
        }
    }

    /// The result type, or JAX's error.
    ///
    /// # Errors
    /// A bool operand (cranax reduces numbers only), operands of different types, or
    /// parameters that do not fit the operand.
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let name = self.name();
        let x = avals[avals.len() - 1];
        if avals.iter().any(|a| a.dtype == DType::Bool) {
            return Err(Error::invalid_operands(
                name,
                avals,
                format!("operand to {name} must have a number dtype, got bool"),
            ));
        }
        if avals[0].dtype != x.dtype {
            return Err(Error::invalid_operands(
                name,
                avals,
                format!(
                    "{name} requires arguments to have the same dtypes, got {}, {}.",
                    avals[0].dtype.numpy_name(),
                    x.dtype.numpy_name()
                ),
            ));
        }
        let (rule, window) = match self {
            WindowOp::SelectAndScatterAdd { window, .. } => ("select_and_scatter", window),
            _ => ("reduce_window", self.window()),
        };
        if matches!(self, WindowOp::SelectAndGatherAdd { .. }) && avals[0].shape != x.shape {
            return Err(Error::invalid_operands(
                name,
                avals,
                format!(
                    "{name} tangents and operand shapes must match, got {} and {}.",
                    shape_str(&avals[0].shape),
                    shape_str(&x.shape)
                ),
            ));
        }
        let out = window.out_shape(rule, &x.shape)?;
        if let WindowOp::SelectAndScatterAdd { .. } = self {
            let s = avals[0];
            if s.shape != out {
                return Err(Error::invalid_operands(
                    name,
                    avals,
                    format!(
                        "{name} source must have the windows' shape {} for operand shape {}, got {}.",
                        shape_str(&out),
                        shape_str(&x.shape),
                        shape_str(&s.shape)
                    ),
                ));
            }
            return Ok(Aval::new(x.shape.clone(), x.dtype));
        }
        Ok(Aval::new(out, x.dtype))
    }

    /// The abstract evaluation of `select_and_scatter_add` needs the source's shape to be the
    /// windows': this is that shape for an operand of `in_shape`.
    fn windows_shape(&self, in_shape: &[usize]) -> Result<Vec<usize>> {
        self.window().out_shape(self.name(), in_shape)
    }

    /// Evaluate on concrete arrays (types checked).
    ///
    /// # Errors
    /// A tracer as operand.
    pub fn eval(&self, args: &[Array], out: Aval) -> Result<Array> {
        let x = &args[args.len() - 1];
        let xs = x.data()?;
        let dt = x.dtype();
        let result: Vec<Scalar> = match self {
            WindowOp::Reduce { kind, window } => {
                let init = kind.identity(dt);
                let mut r = vec![init; out.size()];
                window.walk(x.shape(), &out.shape, |o, ps| {
                    r[o] = ps.iter().fold(init, |acc, p| {
                        kind.combine(acc, p.map_or(init, |i| xs.get(i)))
                    });
                });
                r
            }
            WindowOp::SelectAndGatherAdd {
                select_prim,
                window,
            } => {
                let ts = args[0].data()?;
                let (init, zero) = (select_prim.identity(dt), Scalar::from_f64(0.0, dt));
                let mut r = vec![zero; out.size()];
                window.walk(x.shape(), &out.shape, |o, ps| {
                    let mut acc = (init, zero);
                    for p in ps {
                        let e = p.map_or((init, zero), |i| (xs.get(i), ts.get(i)));
                        if !select_prim.keeps(acc.0, e.0) {
                            acc = e;
                        }
                    }
                    r[o] = acc.1;
                });
                r
            }
            WindowOp::SelectAndScatterAdd {
                select_prim,
                window,
            } => {
                let src = args[0].data()?;
                let init = select_prim.identity(dt);
                let mut r = vec![Scalar::from_f64(0.0, dt); out.size()];
                let shape = self.windows_shape(x.shape())?;
                window.walk(x.shape(), &shape, |o, ps| {
                    let value = |p: &Option<usize>| p.map_or(init, |i| xs.get(i));
                    let mut chosen = 0;
                    for (k, p) in ps.iter().enumerate().skip(1) {
                        if !select_prim.keeps(value(&ps[chosen]), value(p)) {
                            chosen = k;
                        }
                    }
                    // A window whose choice is padding adds nothing to the operand.
                    if let Some(i) = ps[chosen] {
                        r[i] = WindowKind::Sum.combine(r[i], src.get(o));
                    }
                });
                r
            }
        };
        Ok(Array::from_concrete(
            out.clone().weak(false),
            Data::from_scalars(out.dtype, result.into_iter()),
        ))
    }

    fn bind(&self, args: &[Array]) -> Result<Array> {
        bind1(Prim::Window(Box::new(self.clone())), args)
    }

    /// JVP rules: `reduce_window_sum` and the two select primitives are linear in their first
    /// operand; `reduce_window_max`/`min` is JAX's `_reduce_window_chooser_jvp_rule`, the
    /// tangent gathered at each window's chosen element.
    ///
    /// # Errors
    /// Errors of the primitives it binds.
    pub fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
        let out = self.bind(primals)?;
        let Some(g) = &tangents[0] else {
            return Ok((vec![out], vec![None]));
        };
        let t = match self {
            WindowOp::Reduce {
                kind: WindowKind::Max | WindowKind::Min,
                window,
            } => {
                let select_prim = if matches!(
                    self,
                    WindowOp::Reduce {
                        kind: WindowKind::Max,
                        ..
                    }
                ) {
                    SelectPrim::Ge
                } else {
                    SelectPrim::Le
                };
                let gather = WindowOp::SelectAndGatherAdd {
                    select_prim,
                    window: window.clone(),
                };
                gather.bind(&[g.clone(), primals[0].clone()])?
            }
            WindowOp::Reduce { .. } => self.bind(std::slice::from_ref(g))?,
            _ => self.bind(&[g.clone(), primals[1].clone()])?,
        };
        Ok((vec![out], vec![Some(t)]))
    }

    /// Transpose rules (JAX's): `reduce_window_sum` by padding the cotangent and summing it
    /// over windows with base dilation = strides; `select_and_gather_add` by
    /// `select_and_scatter_add` (through a base-dilated operand); `select_and_scatter_add`
    /// by `select_and_gather_add`.
    ///
    /// # Errors
    /// A max/min reduction (not linear), a linear operand of the chooser, or window dilation
    /// in the transpose of `select_and_gather_add` (as in JAX).
    pub fn transpose(&self, ct: &Tangent, args: &[LinArg]) -> Result<Vec<Tangent>> {
        let not_linear = || {
            Error::type_err(format!(
                "transpose of {} is not defined: it is not linear",
                self.name()
            ))
        };
        let Some(ct) = ct else {
            return Ok(vec![None; args.len()]);
        };
        match self {
            WindowOp::Reduce {
                kind: WindowKind::Sum,
                window,
            } => {
                let in_shape = args[0].aval().shape.clone();
                Ok(vec![Some(reduce_window_sum_transpose(
                    ct, window, &in_shape,
                )?)])
            }
            WindowOp::Reduce { .. } => Err(not_linear()),
            WindowOp::SelectAndGatherAdd {
                select_prim,
                window,
            } => {
                if args[1].is_linear() {
                    return Err(not_linear());
                }
                if window.window_dilation.iter().any(|&d| d != 1) {
                    return Err(Error::value_err(format!(
                        "VJP not implemented for select_and_gather (MaxPool) with window dilation, got window_dilation={}.",
                        py_tuple(&window.window_dilation)
                    )));
                }
                let operand = args[1].known()?;
                let dilated = window.base_dilation.iter().any(|&d| d != 1);
                let operand = if dilated {
                    let id =
                        lax::scalar_like(operand, select_prim.identity(operand.dtype()).to_f64());
                    let cfg: Vec<_> = window
                        .base_dilation
                        .iter()
                        .map(|&d| (0, 0, d - 1))
                        .collect();
                    lax::pad(operand, &id, &cfg)?
                } else {
                    operand.clone()
                };
                let scatter = WindowOp::SelectAndScatterAdd {
                    select_prim: *select_prim,
                    window: Window {
                        base_dilation: vec![1; window.base_dilation.len()],
                        ..window.clone()
                    },
                };
                let r = scatter.bind(&[ct.clone(), operand])?;
                let r = if dilated {
                    let zeros = vec![0; r.ndim()];
                    lax::slice(&r, &zeros, r.shape(), Some(&window.base_dilation))?
                } else {
                    r
                };
                Ok(vec![Some(r), None])
            }
            WindowOp::SelectAndScatterAdd {
                select_prim,
                window,
            } => {
                if args[1].is_linear() {
                    return Err(not_linear());
                }
                let gather = WindowOp::SelectAndGatherAdd {
                    select_prim: *select_prim,
                    window: window.clone(),
                };
                Ok(vec![
                    Some(gather.bind(&[ct.clone(), args[1].known()?.clone()])?),
                    None,
                ])
            }
        }
    }

    /// Batching: `reduce_window_*` gets a trivial window dimension at the batch dimension
    /// (JAX's `_reduce_window_batch_rule`); the select primitives move both operands' batch
    /// dimensions to the front and add one there.
    ///
    /// # Errors
    /// Errors of the primitives it binds.
    pub fn batch(&self, b: &super::batching::Batching) -> Result<BatchOut> {
        if let WindowOp::Reduce { window, .. } = self {
            let d = b.dims[0].expect("batched operand");
            let op = self.with_window(window.with_batch_dim(d));
            return Ok((vec![op.bind(&b.args[..1])?], vec![Some(d)]));
        }
        let op = self.with_window(self.window().with_batch_dim(0));
        Ok((vec![op.bind(&b.batched_in_front()?)?], vec![Some(0)]))
    }
}

/// JAX's `_conv_general_vjp_lhs_padding`: the `(low, high)` padding (possibly negative) of a
/// cotangent of `out_shape` that a window sum with base dilation = `strides` maps back onto
/// an operand of `in_shape`.
pub fn conv_general_vjp_lhs_padding(
    window: &Window,
    in_shape: &[usize],
    out_shape: &[usize],
) -> Vec<(i64, i64)> {
    let lhs = in_shape
        .iter()
        .zip(&window.base_dilation)
        .map(|(&n, &d)| dilate(n, d));
    let rhs = window.dilated_window();
    let out = out_shape
        .iter()
        .zip(&window.window_strides)
        .map(|(&n, &s)| dilate(n, s));
    lhs.zip(rhs)
        .zip(out)
        .zip(&window.padding)
        .map(|(((l, r), o), &(lo, _))| {
            let before = r as i64 - lo as i64 - 1;
            (before, l as i64 + r as i64 - 1 - o as i64 - before)
        })
        .collect()
}

/// `lax.pad` with possibly negative low/high padding (a negative amount crops).
fn pad_signed(x: &Array, value: &Array, config: &[(i64, i64, usize)]) -> Result<Array> {
    let grow: Vec<_> = config
        .iter()
        .map(|&(lo, hi, int)| (lo.max(0) as usize, hi.max(0) as usize, int))
        .collect();
    let padded = lax::pad(x, value, &grow)?;
    if config.iter().all(|&(lo, hi, _)| lo >= 0 && hi >= 0) {
        return Ok(padded);
    }
    let start: Vec<usize> = config
        .iter()
        .map(|&(lo, _, _)| (-lo).max(0) as usize)
        .collect();
    let limit: Vec<usize> = config
        .iter()
        .zip(padded.shape())
        .map(|(&(_, hi, _), &n)| n.saturating_sub((-hi).max(0) as usize))
        .collect();
    let limit: Vec<usize> = limit.iter().zip(&start).map(|(&l, &s)| l.max(s)).collect();
    lax::slice(&padded, &start, &limit, None)
}

/// JAX's `_reduce_window_sum_transpose_rule`: the cotangent padded (interior `stride - 1`),
/// then summed over the same windows with base dilation as strides.
fn reduce_window_sum_transpose(ct: &Array, window: &Window, in_shape: &[usize]) -> Result<Array> {
    let pads = conv_general_vjp_lhs_padding(window, in_shape, ct.shape());
    let config: Vec<_> = pads
        .iter()
        .zip(&window.window_strides)
        .map(|(&(lo, hi), &s)| (lo, hi, s - 1))
        .collect();
    let padded = pad_signed(ct, &lax::scalar_like(ct, 0.0), &config)?;
    let n = in_shape.len();
    let op = WindowOp::Reduce {
        kind: WindowKind::Sum,
        window: Window {
            window_dimensions: window.window_dimensions.clone(),
            window_strides: window.base_dilation.clone(),
            padding: vec![(0, 0); n],
            base_dilation: vec![1; n],
            window_dilation: window.window_dilation.clone(),
        },
    };
    let r = op.bind(&[padded])?;
    if r.shape() != in_shape {
        return Err(Error::type_err(format!(
            "transpose of reduce_window_sum: got shape {}, expected {}",
            shape_str(r.shape()),
            shape_str(in_shape)
        )));
    }
    Ok(r)
}
