//! `select_n(which, *cases)`: elementwise choice among cases by a bool or int predicate. All
//! its rules: it is linear in the cases (not in the predicate), and batches as an elementwise
//! op whose cases must keep one shape.

use super::batching::batch_elementwise;
use super::binary::broadcast_shapes;
use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::{data_of_dtype, Array, Data, Element};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use crate::lax;
use smallvec::SmallVec;

/// Cases share a dtype and shape; `which` is bool (two cases) or i32, scalar or of the cases'
/// shape.
///
/// # Errors
/// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
pub fn abstract_eval(avals: &[&Aval]) -> Result<Aval> {
    if avals.len() < 2 {
        return Err(Error::type_err(
            "select_n needs a predicate and at least one case",
        ));
    }
    let (which, cases) = (avals[0], &avals[1..]);
    let dt = cases[0].dtype;
    if let Some(c) = cases.iter().find(|c| c.dtype != dt) {
        return Err(Error::type_err(format!(
            "select_n cases must have the same dtypes, got {} and {}.",
            dt.numpy_name(),
            c.dtype.numpy_name()
        )));
    }
    match which.dtype {
        DType::Bool if cases.len() <= 2 => {}
        DType::I32 => {}
        other => {
            return Err(Error::type_err(format!(
                "select_n predicate must be bool (with at most two cases) or int32, got {} with {} cases",
                other.numpy_name(),
                cases.len()
            )))
        }
    }
    let shape = broadcast_shapes("select_n", avals)?;
    if cases.iter().any(|c| c.shape != shape) {
        let all: Vec<String> = cases.iter().map(|a| shape_str(&a.shape)).collect();
        return Err(Error::type_err(format!(
            "select_n cases must have the same shapes, got {}",
            all.join(", ")
        )));
    }
    Ok(Aval::new(shape, dt).weak(cases.iter().all(|c| c.weak_type)))
}

/// `select_n` on concrete arrays: a typed loop per case dtype (the predicate's checked dtype
/// and shape, as `abstract_eval` gives them).
///
/// # Errors
/// As `abstract_eval`, for concrete operands.
pub fn eval(args: &[Array], out: Aval) -> Result<Array> {
    let cases: SmallVec<[&Data; 4]> = args[1..].iter().map(|a| a.data()).collect::<Result<_>>()?;
    let (n, last) = (out.size(), cases.len() - 1);
    // A predicate of one element picks for every element.
    let at = |len: usize, i: usize| if len == 1 { 0 } else { i };
    let data = match args[0].data()? {
        Data::Bool(w) => choose(&cases, out.dtype, n, |i| usize::from(w[at(w.len(), i)])),
        Data::I32(w) => choose(&cases, out.dtype, n, |i| {
            w[at(w.len(), i)].clamp(0, last as i32) as usize
        }),
        other => {
            return Err(Error::type_err(format!(
                "select_n predicate must be bool or int32, got {}",
                other.dtype().numpy_name()
            )))
        }
    };
    Ok(Array::from_concrete(out, data))
}

/// Element `i` of `cases[pick(i)]` for each `i < n`; every case holds `n` elements of `dtype`.
fn choose(cases: &[&Data], dtype: DType, n: usize, pick: impl Fn(usize) -> usize) -> Data {
    data_of_dtype!(dtype, T => {
        let cases: SmallVec<[&[T]; 4]> = (cases.iter())
            .map(|c| T::slice(c).expect("select_n's cases have the output dtype"))
            .collect();
        (0..n).map(|i| cases[pick(i)][i]).collect()
    })
}

/// `select_n`'s JVP rule.
///
/// # Errors
/// An error of a primitive the rule binds.
pub fn jvp(primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
    let ans = lax::select_n(&primals[0], &primals[1..])?;
    if tangents[1..].iter().all(|t| t.is_none()) {
        return Ok((vec![ans], vec![None]));
    }
    let cases: Vec<Array> = tangents[1..]
        .iter()
        .zip(&primals[1..])
        .map(|(t, p)| t.clone().map(Ok).unwrap_or_else(|| lax::zeros(p.aval())))
        .collect::<Result<_>>()?;
    Ok((vec![ans], vec![Some(lax::select_n(&primals[0], &cases)?)]))
}

/// `select_n`'s transpose rule.
///
/// # Errors
/// A linear operand used non-linearly, or an error of a primitive the rule binds.
pub fn transpose(ct: &Tangent, args: &[LinArg]) -> Result<Vec<Tangent>> {
    if args[0].is_linear() {
        return Err(Error::type_err(
            "transpose of select_n: the predicate cannot be linear",
        ));
    }
    let mut out = vec![None];
    let Some(ct) = ct else {
        out.extend(args[1..].iter().map(|_| None));
        return Ok(out);
    };
    let which = args[0].known()?;
    let zeros = lax::zeros(ct.aval())?;
    for (i, a) in args[1..].iter().enumerate() {
        out.push(if a.is_linear() {
            let mut cases = vec![zeros.clone(); args.len() - 1];
            cases[i] = ct.clone();
            Some(lax::select_n(which, &cases)?)
        } else {
            None
        });
    }
    Ok(out)
}

/// `select_n`'s batching rule.
///
/// # Errors
/// An error of a primitive the rule binds.
pub fn batch(args: &[Array], dims: &[Option<usize>]) -> Result<BatchOut> {
    batch_elementwise(&Prim::SelectN, args, dims, &|i| i == 0)
}
