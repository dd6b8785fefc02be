//! `threefry2x32`: the block cipher behind JAX's PRNG, as a primitive on u32 arrays (so it
//! stages, batches and compiles like any elementwise op). The cipher itself (key schedule,
//! rotations, the scalar version evaluated here) is defined in `defs::threefry`.

use super::{BatchOut, JvpOut, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::defs::threefry::threefry2x32;
use crate::dtype::DType;

#[derive(Clone, Debug, PartialEq)]
/// The random-bits primitives.
pub enum RandomOp {
    /// `(k0, k1, x0, x1) -> (y0, y1)`, elementwise over u32 arrays (scalars broadcast).
    Threefry2x32,
}

impl RandomOp {
    /// The primitive's name as jaxprs print it.
    pub fn name(&self) -> &'static str {
        match self {
            RandomOp::Threefry2x32 => "threefry2x32",
        }
    }

    /// The number of operands.
    pub fn arity(&self) -> Option<usize> {
        Some(4)
    }

    /// The output types.
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Vec<Aval>> {
        if let Some(a) = avals.iter().find(|a| a.dtype != DType::U32) {
            return Err(Error::type_err(format!(
                "threefry2x32 takes uint32 operands, got {a}"
            )));
        }
        let shape = super::binary::broadcast_shapes("threefry2x32", avals)?;
        Ok(vec![
            Aval::new(shape.clone(), DType::U32),
            Aval::new(shape, DType::U32),
        ])
    }

    /// Evaluate on concrete arrays.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, args: &[Array]) -> Result<Vec<Array>> {
        let avals: Vec<&Aval> = args.iter().map(|a| a.aval()).collect();
        let out = self.abstract_eval(&avals)?;
        let n = out[0].size();
        let vals: Vec<&[u32]> = args
            .iter()
            .map(|a| a.as_slice::<u32>())
            .collect::<Result<_>>()?;
        let at = |v: &[u32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
        let (mut y0, mut y1) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let (a, b) = threefry2x32(
                [at(vals[0], i), at(vals[1], i)],
                [at(vals[2], i), at(vals[3], i)],
            );
            y0.push(a);
            y1.push(b);
        }
        Ok(vec![
            Array::from_concrete(out[0].clone(), Data::U32(y0.into())),
            Array::from_concrete(out[1].clone(), Data::U32(y1.into())),
        ])
    }

    /// Integer outputs: no tangent.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(&self, primals: &[Array], _tangents: &[Tangent]) -> Result<JvpOut> {
        let outs = crate::core::trace::bind(super::Prim::Random(self.clone()), primals)?;
        Ok((outs, vec![None, None]))
    }

    /// The batching rule.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(&self, args: &[Array], dims: &[Option<usize>]) -> Result<BatchOut> {
        super::batching::broadcast_batcher(&super::Prim::Random(self.clone()), args, dims)
    }
}
