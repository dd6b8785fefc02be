//! `threefry2x32`: the block cipher behind JAX's PRNG, as a primitive on u32 arrays (so it
//! stages, batches and compiles like any elementwise op). Rotations and key schedule from
//! shared/reference/PRNG.md.

use super::{BatchOut, JvpOut, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::dtype::DType;

#[derive(Clone, Debug, PartialEq)]
pub enum RandomOp {
    /// `(k0, k1, x0, x1) -> (y0, y1)`, elementwise over u32 arrays (scalars broadcast).
    Threefry2x32,
}

impl RandomOp {
    pub fn name(&self) -> &'static str {
        match self {
            RandomOp::Threefry2x32 => "threefry2x32",
        }
    }

    pub fn arity(&self) -> Option<usize> {
        Some(4)
    }

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
            Array::from_concrete(out[0].clone(), Data::U32(y0)),
            Array::from_concrete(out[1].clone(), Data::U32(y1)),
        ])
    }

    /// Integer outputs: no tangent.
    pub fn jvp(&self, primals: &[Array], _tangents: &[Tangent]) -> Result<JvpOut> {
        let outs = crate::core::trace::bind(super::Prim::Random(self.clone()), primals)?;
        Ok((outs, vec![None, None]))
    }

    pub fn batch(&self, args: &[Array], dims: &[Option<usize>]) -> Result<BatchOut> {
        super::binary::broadcast_batcher(&super::Prim::Random(self.clone()), args, dims)
    }
}

/// The rotation amounts, alternating per group of four rounds.
pub const ROTATIONS: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];

/// Threefry-2x32 with 20 rounds: `key` and one two-word block in, two words out.
pub fn threefry2x32(key: [u32; 2], block: [u32; 2]) -> (u32, u32) {
    let ks = [key[0], key[1], key[0] ^ key[1] ^ 0x1BD1_1BDA];
    let (mut x0, mut x1) = (block[0].wrapping_add(ks[0]), block[1].wrapping_add(ks[1]));
    for group in 0..5 {
        for &r in &ROTATIONS[group % 2] {
            x0 = x0.wrapping_add(x1);
            x1 = x1.rotate_left(r);
            x1 ^= x0;
        }
        x0 = x0.wrapping_add(ks[(group + 1) % 3]);
        x1 = x1
            .wrapping_add(ks[(group + 2) % 3])
            .wrapping_add(group as u32 + 1);
    }
    (x0, x1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn threefry_known_answers() {
        assert_eq!(
            super::threefry2x32([0, 0], [0, 0]),
            (0x6b20_0159, 0x99ba_4efe)
        );
        assert_eq!(
            super::threefry2x32([0x1319_8a2e, 0x0370_7344], [0x243f_6a88, 0x85a3_08d3]),
            (0xc492_3a9c, 0x483d_f7a0)
        );
    }
}
