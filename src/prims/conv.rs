//! `conv_general_dilated`: XLA's general convolution (strides, padding, lhs and rhs
//! dilation, feature and batch groups, JAX's dimension numbers). Its computation is one
//! definition, `im2col`: pad and dilate the input, gather one strided slice per kernel tap,
//! and contract the patches with the kernel by `dot_general`. Eager evaluation runs that
//! decomposition; compiled code inlines it (so JIT and the interpreter share every index).

use super::binary::sum_terms;
use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind1;
use crate::dtype::DType;
use crate::ir::parse::{PValue, PrintedParams};
use crate::ir::pretty::{py_tuple, Param};
use crate::ir::ClosedJaxpr;
use crate::lax;
use crate::prims::DotGeneral;

const NAME: &str = "conv_general_dilated";

/// JAX's `ConvDimensionNumbers`: for lhs, rhs and output, the positions of
/// (batch, feature, spatial...) — for rhs (out feature, in feature, spatial...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvDimensionNumbers {
    /// The lhs's batch dimension, feature dimension, then its spatial dimensions.
    pub lhs_spec: Vec<usize>,
    /// The kernel's output feature, input feature, then spatial dimensions.
    pub rhs_spec: Vec<usize>,
    /// The output's batch, feature, then spatial dimensions.
    pub out_spec: Vec<usize>,
}

impl ConvDimensionNumbers {
    /// The default `(0, 1, 2, ...)` for each operand (JAX's `dimension_numbers=None`).
    pub fn iota(ndim: usize) -> ConvDimensionNumbers {
        let iota: Vec<usize> = (0..ndim).collect();
        ConvDimensionNumbers {
            lhs_spec: iota.clone(),
            rhs_spec: iota.clone(),
            out_spec: iota,
        }
    }

    /// JAX's `conv_dimension_numbers` from strings such as `("NHWC", "HWIO", "NHWC")`.
    ///
    /// # Errors
    /// Strings of the wrong length, without exactly one `N`/`C` (`O`/`I`), with duplicate
    /// characters, or with different spatial characters (JAX's messages).
    pub fn from_strings(
        lhs_shape: &[usize],
        rhs_shape: &[usize],
        specs: (&str, &str, &str),
    ) -> Result<ConvDimensionNumbers> {
        if lhs_shape.len() != rhs_shape.len() {
            return Err(Error::type_err(format!(
                "convolution requires lhs and rhs ndim to be equal, got {} and {}.",
                lhs_shape.len(),
                rhs_shape.len()
            )));
        }
        let all = [specs.0, specs.1, specs.2];
        for (i, s) in all.iter().enumerate() {
            if s.chars().count() != lhs_shape.len() {
                return Err(Error::type_err(format!(
                    "convolution dimension_numbers[{i}] must have len equal to the ndim of lhs and rhs, got {} for lhs and rhs shapes {} and {}.",
                    s.chars().count(), py_tuple(lhs_shape), py_tuple(rhs_shape)
                )));
            }
        }
        let pairs = [('N', 'C'), ('O', 'I'), ('N', 'C')];
        let chars: Vec<Vec<char>> = all.iter().map(|s| s.chars().collect()).collect();
        for (i, (a, b)) in pairs.iter().enumerate() {
            let count = |c: char| chars[i].iter().filter(|&&x| x == c).count();
            if count(*a) != 1 || count(*b) != 1 {
                return Err(Error::type_err(format!(
                    "convolution dimension_numbers[{i}] must contain the characters '{a}' and '{b}' exactly once, got {}.",
                    all[i]
                )));
            }
            if (0..chars[i].len()).any(|k| chars[i][..k].contains(&chars[i][k])) {
                return Err(Error::type_err(format!(
                    "convolution dimension_numbers[{i}] cannot have duplicate characters, got {}.",
                    all[i]
                )));
            }
        }
        let spatial = |i: usize| {
            let mut s: Vec<char> = chars[i]
                .iter()
                .copied()
                .filter(|&c| c != pairs[i].0 && c != pairs[i].1)
                .collect();
            s.sort_unstable();
            s
        };
        if spatial(0) != spatial(1) || spatial(1) != spatial(2) {
            return Err(Error::type_err(format!(
                "convolution dimension_numbers elements must each have the same set of spatial characters, got ({:?}, {:?}, {:?}).",
                specs.0, specs.1, specs.2
            )));
        }
        // Spatial dimensions follow the order in which rhs names them.
        let rhs_order: Vec<char> = chars[1]
            .iter()
            .copied()
            .filter(|&c| c != 'O' && c != 'I')
            .collect();
        let perm = |i: usize| {
            let at = |c: char| chars[i].iter().position(|&x| x == c).expect("checked");
            let mut p = vec![at(pairs[i].0), at(pairs[i].1)];
            p.extend(rhs_order.iter().map(|&c| at(c)));
            p
        };
        Ok(ConvDimensionNumbers {
            lhs_spec: perm(0),
            rhs_spec: perm(1),
            out_spec: perm(2),
        })
    }

    fn printed(&self) -> String {
        format!(
            "ConvDimensionNumbers(lhs_spec={}, rhs_spec={}, out_spec={})",
            py_tuple(&self.lhs_spec),
            py_tuple(&self.rhs_spec),
            py_tuple(&self.out_spec)
        )
    }

    /// JAX's `_conv_spec_transpose` on each spec: the first two entries swapped.
    fn swap(spec: &[usize]) -> Vec<usize> {
        let mut s = spec.to_vec();
        s.swap(0, 1);
        s
    }
}

/// JAX's string paddings (`lax.padtype_to_pads`) or explicit `(low, high)` pairs: the padding
/// argument of the convolutions and of `lax.reduce_window` alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Padding {
    /// `'SAME'`: output size `ceil(in / stride)`, an odd padding's extra element at the end.
    Same,
    /// `'SAME_LOWER'`: as `Same`, the extra element at the start.
    SameLower,
    /// `'VALID'`: no padding.
    Valid,
    /// `(low, high)` per spatial dimension; negative values crop.
    Explicit(Vec<(i64, i64)>),
}

impl Padding {
    /// JAX's `lax.padtype_to_pads`: explicit pads for input sizes, window sizes and strides.
    pub fn to_pads(&self, input: &[usize], window: &[usize], strides: &[usize]) -> Vec<(i64, i64)> {
        let same = |lower: bool| {
            input
                .iter()
                .zip(window)
                .zip(strides)
                .map(|((&i, &k), &s)| {
                    let s = s.max(1) as i64;
                    let (i, k) = (i as i64, k as i64);
                    let out = (i + s - 1) / s;
                    let pad = ((out - 1) * s + k - i).max(0);
                    if lower {
                        (pad - pad / 2, pad / 2)
                    } else {
                        (pad / 2, pad - pad / 2)
                    }
                })
                .collect()
        };
        match self {
            Padding::Same => same(false),
            Padding::SameLower => same(true),
            Padding::Valid => vec![(0, 0); input.len()],
            Padding::Explicit(p) => p.clone(),
        }
    }
}

/// The parameters of `conv_general_dilated`, as JAX binds them (padding explicit).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvGeneralDilated {
    /// The stride of the window in each spatial dimension.
    pub window_strides: Vec<usize>,
    /// `(low, high)` padding of each spatial dimension (after lhs dilation; may be negative).
    pub padding: Vec<(i64, i64)>,
    /// Dilation of the input (a transposed convolution's stride).
    pub lhs_dilation: Vec<usize>,
    /// Dilation of the kernel (atrous convolution).
    pub rhs_dilation: Vec<usize>,
    /// Which dimensions are batch, feature and spatial.
    pub dimension_numbers: ConvDimensionNumbers,
    /// Groups of input features convolved separately (depthwise: as many as features).
    pub feature_group_count: usize,
    /// Groups of the batch, each convolved with its own slice of output features.
    pub batch_group_count: usize,
    /// The result's dtype, if not the operands'.
    pub preferred_element_type: Option<DType>,
}

/// `x`'s dimension `d` as `[size1, size / size1]` (JAX's `_reshape_axis_out_of`).
fn reshape_axis_out_of(src: usize, size1: usize, x: &Array) -> Result<Array> {
    let mut shape = x.shape().to_vec();
    let size2 = shape[src] / size1;
    shape.splice(src..=src, [size1, size2]);
    lax::reshape(x, &shape)
}

/// `x`'s dimension `src` merged into dimension `dst` (numbered without `src`), as the major
/// part (JAX's `_reshape_axis_into`).
fn reshape_axis_into(src: usize, dst: usize, x: &Array) -> Result<Array> {
    let mut perm: Vec<usize> = (0..x.ndim()).filter(|&i| i != src).collect();
    perm.insert(dst, src);
    let xt = lax::transpose(x, &perm)?;
    let mut shape: Vec<usize> = x.shape().to_vec();
    let s = shape.remove(src);
    shape[dst] *= s;
    lax::reshape(&xt, &shape)
}

fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

fn dilate(d: usize, r: usize) -> usize {
    if d == 0 {
        0
    } else {
        1 + r * (d - 1)
    }
}

impl ConvGeneralDilated {
    /// As JAX prints them: every parameter, `out_sharding` and `precision` always `None`.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let t = |s: String| Param::Text(s);
        let pads: Vec<String> = self
            .padding
            .iter()
            .map(|(l, h)| format!("({l}, {h})"))
            .collect();
        vec![
            ("batch_group_count", t(self.batch_group_count.to_string())),
            ("dimension_numbers", t(self.dimension_numbers.printed())),
            (
                "feature_group_count",
                t(self.feature_group_count.to_string()),
            ),
            ("lhs_dilation", t(py_tuple(&self.lhs_dilation))),
            ("out_sharding", t("None".into())),
            ("padding", t(py_tuple(&pads))),
            ("precision", t("None".into())),
            (
                "preferred_element_type",
                t(self
                    .preferred_element_type
                    .map_or("None".into(), |d| d.numpy_name().to_string())),
            ),
            ("rhs_dilation", t(py_tuple(&self.rhs_dilation))),
            ("window_strides", t(py_tuple(&self.window_strides))),
        ]
    }

    /// The inverse of `params`.
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(p: &PrintedParams) -> Result<ConvGeneralDilated> {
        let bad = || Error::value_err(format!("{NAME}: cannot read dimension_numbers"));
        let dn = match p.raw("dimension_numbers") {
            Some(PValue::Call(_, args)) if args.len() == 3 => {
                let spec = |v: &PValue| -> Result<Vec<usize>> {
                    // Keyword arguments read as `lhs_spec=(...)`: take the tuple part.
                    let text = v.to_string();
                    let inner = text.split('=').next_back().ok_or_else(bad)?;
                    inner
                        .trim_matches(|c: char| c == '(' || c == ')' || c == ' ')
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| s.parse().map_err(|_| bad()))
                        .collect()
                };
                ConvDimensionNumbers {
                    lhs_spec: spec(&args[0])?,
                    rhs_spec: spec(&args[1])?,
                    out_spec: spec(&args[2])?,
                }
            }
            _ => return Err(bad()),
        };
        let pads: Vec<(i32, i32)> = p.get("padding")?;
        Ok(ConvGeneralDilated {
            window_strides: p.get("window_strides")?,
            padding: pads
                .into_iter()
                .map(|(l, h)| (l.into(), h.into()))
                .collect(),
            lhs_dilation: p.get("lhs_dilation")?,
            rhs_dilation: p.get("rhs_dilation")?,
            dimension_numbers: dn,
            feature_group_count: p.get("feature_group_count")?,
            batch_group_count: p.get("batch_group_count")?,
            preferred_element_type: p.get_or("preferred_element_type", None)?,
        })
    }

    /// JAX's shape and dtype rules, with their messages.
    ///
    /// # Errors
    /// Operands the primitive does not accept (the message names the primitive, shapes and dtypes).
    pub fn abstract_eval(&self, x: &Aval, y: &Aval) -> Result<Aval> {
        let bad = |msg: String| {
            Err(Error::invalid_operands(
                NAME,
                &[x, y],
                format!("{msg} (lhs {x}, rhs {y})"),
            ))
        };
        if x.dtype != y.dtype {
            return bad(format!(
                "{NAME} requires arguments to have the same dtypes, got {}, {}.",
                x.dtype.numpy_name(),
                y.dtype.numpy_name()
            ));
        }
        if x.dtype == DType::Bool {
            return bad(format!("{NAME} does not accept dtype bool."));
        }
        if x.ndim() != y.ndim() {
            return bad(format!(
                "{NAME} lhs and rhs must have the same number of dimensions, but got {} and {}.",
                py_tuple(&x.shape),
                py_tuple(&y.shape)
            ));
        }
        let nd = x.ndim();
        let dn = &self.dimension_numbers;
        let is_perm = |s: &[usize]| s.len() == nd && (0..nd).all(|i| s.contains(&i));
        if nd < 2 || !is_perm(&dn.lhs_spec) || !is_perm(&dn.rhs_spec) || !is_perm(&dn.out_spec) {
            return bad(format!(
                "{NAME} dimension_numbers {} must be permutations of the {nd} dimensions of lhs {} and rhs {}.",
                dn.printed(), shape_str(&x.shape), shape_str(&y.shape)
            ));
        }
        let (fg, bg) = (self.feature_group_count, self.batch_group_count);
        if fg == 0 {
            return bad(format!(
                "{NAME} feature_group_count must be a positive integer, got {fg}."
            ));
        }
        let lhs_features = x.shape[dn.lhs_spec[1]];
        let rhs_in = y.shape[dn.rhs_spec[1]];
        let rhs_out = y.shape[dn.rhs_spec[0]];
        if !lhs_features.is_multiple_of(fg) {
            return bad(format!("{NAME} feature_group_count must divide lhs feature dimension size, but {fg} does not divide {lhs_features}."));
        }
        if lhs_features / fg != rhs_in {
            return bad(format!("{NAME} lhs feature dimension size divided by feature_group_count must equal the rhs input feature dimension size, but {lhs_features} // {fg} != {rhs_in}."));
        }
        if !rhs_out.is_multiple_of(fg) {
            return bad(format!("{NAME} rhs output feature dimension size must be a multiple of feature_group_count, but {rhs_out} is not a multiple of {fg}."));
        }
        if bg == 0 {
            return bad(format!(
                "{NAME} batch_group_count must be a positive integer, got {bg}."
            ));
        }
        let lhs_batch = x.shape[dn.lhs_spec[0]];
        if bg > 1 && !lhs_batch.is_multiple_of(bg) {
            return bad(format!("{NAME} batch_group_count must divide lhs batch dimension size, but {bg} does not divide {lhs_batch}."));
        }
        if !rhs_out.is_multiple_of(bg) {
            return bad(format!("{NAME} rhs output feature dimension size must be a multiple of batch_group_count, but {rhs_out} is not a multiple of {bg}."));
        }
        if bg > 1 && fg > 1 {
            return bad(format!("At most one of batch_group_count and feature_group_count may be > 1, got batch_group_count={bg} and feature_group_count={fg}"));
        }
        let ns = nd - 2;
        if self.window_strides.len() != ns {
            return bad(format!("{NAME} window and window_strides must have the same number of dimensions, but got {ns} and {}", self.window_strides.len()));
        }
        if self.lhs_dilation.len() != ns || self.rhs_dilation.len() != ns {
            return bad(format!(
                "{NAME} lhs_dilation {} and rhs_dilation {} must have {ns} entries",
                py_tuple(&self.lhs_dilation),
                py_tuple(&self.rhs_dilation)
            ));
        }
        if self.padding.len() != ns {
            return bad(format!(
                "Wrong number of explicit pads for convolution: expected {ns}, got {}.",
                self.padding.len()
            ));
        }
        if [&self.window_strides, &self.lhs_dilation, &self.rhs_dilation]
            .iter()
            .any(|v| v.contains(&0))
        {
            return bad(format!(
                "{NAME} window_strides {}, lhs_dilation {} and rhs_dilation {} must be positive",
                py_tuple(&self.window_strides),
                py_tuple(&self.lhs_dilation),
                py_tuple(&self.rhs_dilation)
            ));
        }
        let mut out = vec![0usize; nd];
        out[dn.out_spec[0]] = lhs_batch / bg;
        out[dn.out_spec[1]] = rhs_out;
        for i in 0..ns {
            let lhs_d = dilate(x.shape[dn.lhs_spec[i + 2]], self.lhs_dilation[i]) as i64;
            let (lo, hi) = self.padding[i];
            let padded = lhs_d + lo + hi;
            if padded < 0 {
                let pads: Vec<String> = self
                    .padding
                    .iter()
                    .map(|(l, h)| format!("({l}, {h})"))
                    .collect();
                let spatial: Vec<usize> = dn.lhs_spec[2..].iter().map(|&d| x.shape[d]).collect();
                return bad(format!("Negative padding is larger than the size of the corresponding dimension: got padding={} for lhs_shape[2:]={}", py_tuple(&pads), py_tuple(&spatial)));
            }
            let k = dilate(y.shape[dn.rhs_spec[i + 2]], self.rhs_dilation[i]) as i64;
            let s = self.window_strides[i] as i64;
            out[dn.out_spec[i + 2]] = if padded < k {
                0
            } else {
                ((padded - k) / s + 1) as usize
            };
        }
        let dtype = self.preferred_element_type.unwrap_or(x.dtype);
        Ok(Aval::new(out, dtype))
    }

    /// The convolution as lax operations (im2col + `dot_general`): the one definition that
    /// eager evaluation and compiled code share.
    ///
    /// # Errors
    /// An error of a primitive it binds.
    pub fn im2col(&self, lhs: &Array, rhs: &Array) -> Result<Array> {
        let out_aval = self.abstract_eval(lhs.aval(), rhs.aval())?;
        let dn = &self.dimension_numbers;
        let ns = lhs.ndim() - 2;
        let x = lax::transpose(lhs, &dn.lhs_spec)?; // [N, C, spatial...]
        let w = lax::transpose(rhs, &dn.rhs_spec)?; // [O, I, window...]
        let out_canon: Vec<usize> = dn.out_spec.iter().map(|&d| out_aval.shape[d]).collect();
        let window: Vec<usize> = w.shape()[2..].to_vec();
        let taps: usize = window.iter().product();
        let positions: usize = out_canon[2..].iter().product();
        let result = if taps == 0 || positions == 0 || x.shape()[1] == 0 {
            lax::zeros(&Aval::new(out_canon.clone(), lhs.dtype()))?
        } else {
            // Dilate and pad (the positive part), then crop (the negative part).
            let zero = lax::scalar_like(&x, 0.0);
            let mut config = vec![(0, 0, 0); 2];
            config.extend((0..ns).map(|i| {
                let (lo, hi) = self.padding[i];
                (
                    lo.max(0) as usize,
                    hi.max(0) as usize,
                    self.lhs_dilation[i] - 1,
                )
            }));
            let xp = lax::pad(&x, &zero, &config)?;
            let start: Vec<usize> = [0, 0]
                .into_iter()
                .chain((0..ns).map(|i| (-self.padding[i].0).max(0) as usize))
                .collect();
            let limit: Vec<usize> = (0..xp.ndim())
                .map(|d| {
                    xp.shape()[d]
                        - if d < 2 {
                            0
                        } else {
                            (-self.padding[d - 2].1).max(0) as usize
                        }
                })
                .collect();
            let xp = lax::slice(&xp, &start, &limit, None)?;
            // One strided slice per kernel tap: [N, C, 1, positions] each.
            let (n, c) = (x.shape()[0], x.shape()[1]);
            let mut patches = Vec::with_capacity(taps);
            let mut tap = vec![0usize; ns];
            for _ in 0..taps {
                let mut st = vec![0, 0];
                let mut lim = vec![n, c];
                for i in 0..ns {
                    let s0 = tap[i] * self.rhs_dilation[i];
                    st.push(s0);
                    lim.push(s0 + (out_canon[i + 2] - 1) * self.window_strides[i] + 1);
                }
                let strides: Vec<usize> = [1, 1]
                    .into_iter()
                    .chain(self.window_strides.iter().copied())
                    .collect();
                let p = lax::slice(&xp, &st, &lim, Some(&strides))?;
                patches.push(lax::reshape(&p, &[n, c, 1, positions])?);
                for i in (0..ns).rev() {
                    tap[i] += 1;
                    if tap[i] < window[i] {
                        break;
                    }
                    tap[i] = 0;
                }
            }
            let cols = lax::concatenate(&patches, 2)?; // [N, C, taps, P]
            let (bg, fg) = (self.batch_group_count, self.feature_group_count);
            let o = w.shape()[0];
            let cols = lax::reshape(&cols, &[bg, n / bg, fg, c / fg, taps, positions])?;
            let w = lax::reshape(&w, &[bg, fg, o / (bg * fg), c / fg, taps])?;
            let dims = DotGeneral::new(&[3, 4], &[3, 4], &[0, 2], &[0, 1]);
            let r = lax::dot_general(&cols, &w, dims)?; // [B, G, N/B, P, O/(BG)]
            let r = lax::transpose(&r, &[2, 0, 1, 4, 3])?;
            lax::reshape(&r, &out_canon)?
        };
        let result = lax::transpose(&result, &inverse(&dn.out_spec))?;
        if result.dtype() != out_aval.dtype {
            lax::convert_element_type(&result, out_aval.dtype)
        } else {
            Ok(result)
        }
    }

    /// `im2col` traced to a jaxpr for operands of these types (what compiled code inlines).
    ///
    /// # Errors
    /// An error of a primitive it binds.
    pub fn im2col_jaxpr(&self, lhs: &Aval, rhs: &Aval) -> Result<ClosedJaxpr> {
        let f = |a: &[Array]| Ok(vec![self.im2col(&a[0], &a[1])?]);
        crate::transform::stage::trace_to_jaxpr(&f, &[lhs.clone(), rhs.clone()])
    }

    /// Evaluate on concrete arrays (the `im2col` jaxpr, interpreted).
    ///
    /// # Errors
    /// As `abstract_eval`.
    pub fn eval(&self, x: &Array, y: &Array) -> Result<Array> {
        let cj = self.im2col_jaxpr(x.aval(), y.aval())?;
        let mut outs = crate::ir::eval::eval_jaxpr(&cj.jaxpr, &cj.consts, &[x.clone(), y.clone()])?;
        Ok(outs.remove(0))
    }

    fn bind(&self, x: &Array, y: &Array) -> Result<Array> {
        bind1(Prim::Conv(Box::new(self.clone())), &[x.clone(), y.clone()])
    }

    /// Bilinear: `conv(lhs_dot, rhs) + conv(lhs, rhs_dot)`.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(&self, x: &Array, y: &Array, xd: &Tangent, yd: &Tangent) -> Result<JvpOut> {
        let ans = self.bind(x, y)?;
        let t = sum_terms([
            xd.as_ref().map(|t| self.bind(t, y)).transpose()?,
            yd.as_ref().map(|t| self.bind(x, t)).transpose()?,
        ])?;
        Ok((vec![ans], vec![t]))
    }

    /// JAX's `_conv_general_dilated_transpose_lhs` and `_rhs`.
    ///
    /// # Errors
    /// A linear operand used non-linearly, or an error of a primitive the rule binds.
    pub fn transpose(&self, ct: &Tangent, x: &LinArg, y: &LinArg) -> Result<Vec<Tangent>> {
        let Some(g) = ct else {
            return Ok(vec![None, None]);
        };
        match (x, y) {
            (LinArg::Linear(xa), LinArg::Known(w)) => {
                Ok(vec![Some(self.transpose_lhs(g, xa, w)?), None])
            }
            (LinArg::Known(xv), LinArg::Linear(wa)) => {
                Ok(vec![None, Some(self.transpose_rhs(g, xv, wa)?)])
            }
            _ => Err(Error::type_err(format!(
                "transpose of {NAME}: exactly one operand must be linear"
            ))),
        }
    }

    /// Per spatial dimension `i`: the dilated sizes of the input, the window and the output
    /// (dilated by the strides), as the transpose rules' paddings need them.
    fn dilated<'a>(
        &'a self,
        lhs: &'a [usize],
        rhs: &'a [usize],
        out: &'a [usize],
    ) -> impl Iterator<Item = (usize, i64, i64, i64)> + 'a {
        let dn = &self.dimension_numbers;
        let size = |spec: &[usize], shape: &[usize], i: usize, r: usize| {
            dilate(shape[spec[i + 2]], r) as i64
        };
        (0..self.window_strides.len()).map(move |i| {
            (
                i,
                size(&dn.lhs_spec, lhs, i, self.lhs_dilation[i]),
                size(&dn.rhs_spec, rhs, i, self.rhs_dilation[i]),
                size(&dn.out_spec, out, i, self.window_strides[i]),
            )
        })
    }

    fn transpose_lhs(&self, g: &Array, lhs: &Aval, rhs: &Array) -> Result<Array> {
        let dn = &self.dimension_numbers;
        let (fg, bg) = (self.feature_group_count, self.batch_group_count);
        let mut rhs = rhs.clone();
        let mut groups = fg;
        if fg > 1 || bg > 1 {
            let k = fg.max(bg);
            rhs = reshape_axis_out_of(dn.rhs_spec[0], k, &rhs)?;
            rhs = reshape_axis_into(dn.rhs_spec[0], dn.rhs_spec[1], &rhs)?;
            groups = k;
        }
        let padding = self
            .dilated(&lhs.shape, rhs.shape(), g.shape())
            .map(|(i, ld, rd, od)| {
                let before = rd - self.padding[i].0 - 1;
                (before, ld + rd - 1 - od - before)
            })
            .collect();
        let rev = lax::rev(&rhs, &dn.rhs_spec[2..])?;
        let t = ConvGeneralDilated {
            window_strides: self.lhs_dilation.clone(),
            padding,
            lhs_dilation: self.window_strides.clone(),
            rhs_dilation: self.rhs_dilation.clone(),
            dimension_numbers: ConvDimensionNumbers {
                lhs_spec: dn.out_spec.clone(),
                rhs_spec: ConvDimensionNumbers::swap(&dn.rhs_spec),
                out_spec: dn.lhs_spec.clone(),
            },
            feature_group_count: groups,
            batch_group_count: 1,
            preferred_element_type: self.preferred_element_type,
        };
        let mut out = t.bind(g, &rev)?;
        if out.dtype() != lhs.dtype {
            out = lax::convert_element_type(&out, lhs.dtype)?;
        }
        if bg > 1 {
            out = reshape_axis_out_of(dn.lhs_spec[1], bg, &out)?;
            out = reshape_axis_into(dn.lhs_spec[1], dn.lhs_spec[0], &out)?;
        }
        Ok(out)
    }

    fn transpose_rhs(&self, g: &Array, lhs: &Array, rhs: &Aval) -> Result<Array> {
        if g.aval().size() == 0 {
            return lax::zeros(rhs);
        }
        let dn = &self.dimension_numbers;
        let (fg, bg) = if self.batch_group_count > 1 {
            (self.batch_group_count, 1)
        } else {
            (1, self.feature_group_count)
        };
        let padding = self
            .dilated(lhs.shape(), &rhs.shape, g.shape())
            .map(|(i, ld, rd, od)| {
                let lo = self.padding[i].0;
                (lo, (od - ld) + (rd - lo - 1))
            })
            .collect();
        let t = ConvGeneralDilated {
            window_strides: self.rhs_dilation.clone(),
            padding,
            lhs_dilation: self.lhs_dilation.clone(),
            rhs_dilation: self.window_strides.clone(),
            dimension_numbers: ConvDimensionNumbers {
                lhs_spec: ConvDimensionNumbers::swap(&dn.lhs_spec),
                rhs_spec: ConvDimensionNumbers::swap(&dn.out_spec),
                out_spec: ConvDimensionNumbers::swap(&dn.rhs_spec),
            },
            feature_group_count: fg,
            batch_group_count: bg,
            preferred_element_type: self.preferred_element_type,
        };
        let out = t.bind(lhs, g)?;
        if out.dtype() != rhs.dtype {
            lax::convert_element_type(&out, rhs.dtype)
        } else {
            Ok(out)
        }
    }

    /// Batching: JAX folds the batch axis into the lhs batch dimension (lhs batched, no batch
    /// groups) or the kernel's output features (rhs batched, no groups); other cases apply the
    /// convolution per example.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(
        &self,
        x: &Array,
        y: &Array,
        dx: Option<usize>,
        dy: Option<usize>,
        size: usize,
    ) -> Result<BatchOut> {
        let dn = &self.dimension_numbers;
        match (dx, dy) {
            (Some(bx), None) if self.batch_group_count == 1 => {
                let xf = reshape_axis_into(bx, dn.lhs_spec[0], x)?;
                let out = self.bind(&xf, y)?;
                let out = reshape_axis_out_of(dn.out_spec[0], size, &out)?;
                Ok((vec![out], vec![Some(dn.out_spec[0])]))
            }
            (None, Some(by)) if self.batch_group_count == 1 && self.feature_group_count == 1 => {
                let yf = reshape_axis_into(by, dn.rhs_spec[0], y)?;
                let out = self.bind(x, &yf)?;
                let out = reshape_axis_out_of(dn.out_spec[1], size, &out)?;
                Ok((vec![out], vec![Some(dn.out_spec[1])]))
            }
            _ => super::batching::batch_by_loop(
                &Prim::Conv(Box::new(self.clone())),
                &[x.clone(), y.clone()],
                &[dx, dy],
                size,
            ),
        }
    }
}
