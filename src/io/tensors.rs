//! Hugging Face's safetensors files, through the `safetensors` crate (its header parsing and
//! validation): every cranax dtype (`BOOL`, `I8`..`I64`, `U8`..`U64`, `F16`, `BF16`, `F32`, `F64`), little-endian, as
//! `safetensors.numpy.save_file` / `load_file` and PyTorch's loaders read and write them.

use super::io_err;
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::path::Path;

fn st_err(e: impl std::fmt::Display) -> Error {
    Error::value_err(format!("not a valid safetensors file: {e}"))
}

fn to_st(d: DType) -> Dtype {
    match d {
        DType::Bool => Dtype::BOOL,
        DType::I8 => Dtype::I8,
        DType::I16 => Dtype::I16,
        DType::I32 => Dtype::I32,
        DType::I64 => Dtype::I64,
        DType::U8 => Dtype::U8,
        DType::U16 => Dtype::U16,
        DType::U32 => Dtype::U32,
        DType::U64 => Dtype::U64,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    }
}

/// Elements of `dtype` from little-endian bytes (whose length the crate has checked).
fn from_le_bytes(dtype: DType, b: &[u8]) -> Result<Data> {
    if dtype == DType::Bool {
        if let Some(x) = b.iter().find(|&&x| x > 1) {
            return Err(st_err(format!(
                "a BOOL element is the byte {x}, not 0 or 1"
            )));
        }
    }
    Ok(Data::from_le_bytes(dtype, b))
}

/// Read every tensor of a safetensors file, sorted by name.
///
/// # Errors
/// If the file cannot be read, its header is invalid (the `safetensors` crate's checks), or a
/// tensor has a dtype cranax does not have (complex or 8-bit floats: named in the message).
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Vec<(String, Array)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    read_safetensors(&bytes).map_err(|e| io_err(path, e))
}

/// Read the tensors from the bytes of a safetensors file (as [`load_safetensors`]).
///
/// # Errors
/// As [`load_safetensors`].
pub fn read_safetensors(bytes: &[u8]) -> Result<Vec<(String, Array)>> {
    let st = SafeTensors::deserialize(bytes).map_err(st_err)?;
    let mut out = Vec::with_capacity(st.len());
    for (name, view) in st.tensors() {
        let found = view.dtype();
        let Some(dtype) = DType::ALL.into_iter().find(|&d| to_st(d) == found) else {
            return Err(Error::value_err(format!(
                "safetensors tensor `{name}` has dtype {found:?} of shape {}: cranax reads BOOL, \
                 I8-I64, U8-U64, F16, BF16, F32 and F64",
                shape_str(view.shape())
            )));
        };
        let data = from_le_bytes(dtype, view.data())?;
        out.push((
            name,
            Array::from_concrete(Aval::new(view.shape(), dtype), data),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Write arrays to a safetensors file (`safetensors.numpy.load_file` reads it back).
///
/// # Errors
/// Two arrays of one name, a tracer, or a file that cannot be written.
pub fn save_safetensors(path: impl AsRef<Path>, arrays: &[(&str, &Array)]) -> Result<()> {
    let path = path.as_ref();
    let bytes = write_safetensors(arrays)?;
    std::fs::write(path, bytes).map_err(|e| io_err(path, e))
}

/// The bytes of a safetensors file holding `arrays`.
///
/// # Errors
/// Two arrays of one name, or a tracer.
pub fn write_safetensors(arrays: &[(&str, &Array)]) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(arrays.len());
    for (i, (name, x)) in arrays.iter().enumerate() {
        if arrays[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::value_err(format!(
                "save_safetensors: two arrays are named `{name}`"
            )));
        }
        bytes.push(x.data()?.to_le_bytes());
    }
    let views = arrays
        .iter()
        .zip(&bytes)
        .map(|((name, x), b)| {
            let view = TensorView::new(to_st(x.dtype()), x.shape().to_vec(), b).map_err(st_err)?;
            Ok((name.to_string(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(st_err)
}
