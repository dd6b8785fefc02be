//! Arrays to and from files: NumPy's `.npy` (`np.save` / `np.load`, through the `npyz` crate:
//! f32, f64, i32, u32 and bool, C order) and `.npz` archives (`npz.rs`), safetensors
//! (`tensors.rs`), and arrays written as nested lists (`parse_array`). What the `cranax`
//! command reads its arguments from, and what a program embedding cranax can exchange data
//! with Python (NumPy, JAX, PyTorch) through.

use crate::array::{Array, Data, Element};
use crate::core::error::{Error, Result};
use crate::dtype::{DType, Scalar};
use npyz::WriterBuilder;
use std::path::Path;

mod npz;
mod tensors;
pub use npz::{load_npz, read_npz, save_npz, save_npz_compressed, write_npz};
pub use tensors::{load_safetensors, read_safetensors, save_safetensors, write_safetensors};

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::value_err(format!("{}: {e}", path.display()))
}

/// Read an array from a `.npy` file, keeping its dtype (NumPy's default integer is int64:
/// `astype(DType::I32)` gives JAX's non-x64 type).
///
/// # Errors
/// A file that cannot be read, is not a `.npy` file, or holds a dtype cranax does not have.
pub fn load_npy(path: impl AsRef<Path>) -> Result<Array> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    read_npy(&bytes).map_err(|e| io_err(path, e))
}

/// Read an array from the bytes of a `.npy` file.
///
/// # Errors
/// As [`load_npy`].
pub fn read_npy(bytes: &[u8]) -> Result<Array> {
    let bad = |e: std::io::Error| Error::value_err(format!("not a valid .npy file: {e}"));
    let npy = npyz::NpyFile::new(bytes).map_err(bad)?;
    if npy.order() == npyz::Order::Fortran {
        return Err(Error::value_err(
            "Fortran-ordered .npy files are not supported; save a C-ordered array (np.ascontiguousarray)",
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let descr = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => {
            return Err(Error::value_err(format!(
                "unsupported .npy dtype {}: cranax reads float32, float64, int32, uint32, int64 and bool",
                other.descr()
            )))
        }
    };
    // The type string without its byte-order mark: `f4`, `i8`, `b1`.
    let kind = descr.trim_start_matches(['<', '>', '|', '=']).to_string();
    let dtype = match kind.as_str() {
        "b1" => DType::Bool,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        _ => {
            return Err(Error::value_err(format!(
                "unsupported .npy dtype {descr}: cranax reads bool, int8-int64, uint8-uint64, \
                 float16, float32 and float64"
            )))
        }
    };
    fn read<T: npyz::Deserialize + Element>(
        npy: npyz::NpyFile<&[u8]>,
        shape: &[usize],
        bad: impl Fn(std::io::Error) -> Error,
    ) -> Result<Array> {
        Array::from_vec(npy.into_vec::<T>().map_err(bad)?, shape)
    }
    match dtype {
        DType::Bool => read::<bool>(npy, &shape, bad),
        DType::I8 => read::<i8>(npy, &shape, bad),
        DType::I16 => read::<i16>(npy, &shape, bad),
        DType::I32 => read::<i32>(npy, &shape, bad),
        DType::I64 => read::<i64>(npy, &shape, bad),
        DType::U8 => read::<u8>(npy, &shape, bad),
        DType::U16 => read::<u16>(npy, &shape, bad),
        DType::U32 => read::<u32>(npy, &shape, bad),
        DType::U64 => read::<u64>(npy, &shape, bad),
        DType::F16 => read::<half::f16>(npy, &shape, bad),
        DType::F32 => read::<f32>(npy, &shape, bad),
        DType::F64 => read::<f64>(npy, &shape, bad),
        DType::BF16 => unreachable!("no .npy type string names bfloat16"),
    }
}

/// Write an array to a `.npy` file (NumPy reads it with `np.load`).
///
/// # Errors
/// A file that cannot be written, or a tracer.
pub fn save_npy(path: impl AsRef<Path>, x: &Array) -> Result<()> {
    let path = path.as_ref();
    let bytes = write_npy(x)?;
    std::fs::write(path, bytes).map_err(|e| io_err(path, e))
}

/// The bytes of a `.npy` file holding `x`.
///
/// # Errors
/// A writer that fails, or a tracer.
pub fn write_npy(x: &Array) -> Result<Vec<u8>> {
    let shape: Vec<u64> = x.shape().iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    fn write<T: npyz::AutoSerialize + Copy>(
        out: &mut Vec<u8>,
        shape: &[u64],
        data: &[T],
    ) -> std::io::Result<()> {
        let mut w = npyz::WriteOptions::<T>::new()
            .default_dtype()
            .shape(shape)
            .writer(out)
            .begin_nd()?;
        w.extend(data.iter().copied())?;
        w.finish()
    }
    let r = match x.data()? {
        Data::F32(v) => write(&mut out, &shape, v),
        Data::F64(v) => write(&mut out, &shape, v),
        Data::I8(v) => write(&mut out, &shape, v),
        Data::I16(v) => write(&mut out, &shape, v),
        Data::I32(v) => write(&mut out, &shape, v),
        Data::I64(v) => write(&mut out, &shape, v),
        Data::U8(v) => write(&mut out, &shape, v),
        Data::U16(v) => write(&mut out, &shape, v),
        Data::U32(v) => write(&mut out, &shape, v),
        Data::U64(v) => write(&mut out, &shape, v),
        Data::Bool(v) => write(&mut out, &shape, v),
        // NumPy's float16 is `<f2`; bfloat16 has no .npy type (ml_dtypes writes it as raw
        // `<V2`), so it is written as float32, the widening that keeps every value.
        Data::F16(v) => write(&mut out, &shape, v),
        Data::BF16(v) => {
            let wide: Vec<f32> = v.iter().map(|x| x.to_f32()).collect();
            write(&mut out, &shape, &wide)
        }
    };
    r.map_err(|e| Error::value_err(format!("writing .npy: {e}")))?;
    Ok(out)
}

/// A number, `True`/`False`, or nested lists of them (`[[1, 2], [3, 4]]`, NumPy's `inf`,
/// `nan`), as an array of `dtype`: how the `cranax` command and the file tests write arrays.
///
/// # Errors
/// Text that is not a number, boolean or regular nested list, or values not representable in `dtype`.
pub fn parse_array(s: &str, dtype: DType) -> Result<Array> {
    parse_array_text(s, dtype).map_err(Error::value_err)
}

fn parse_array_text(s: &str, dtype: DType) -> std::result::Result<Array, String> {
    let tokens: Vec<String> = {
        let mut out = Vec::new();
        let mut cur = String::new();
        for c in s.chars() {
            if "[],".contains(c) || c.is_whitespace() {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                if "[],".contains(c) {
                    out.push(c.to_string());
                }
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    };
    let mut pos = 0;
    let mut values = Vec::new();
    let shape = nested(&tokens, &mut pos, &mut values, dtype)?;
    if pos != tokens.len() {
        return Err(format!("unexpected `{}`", tokens[pos]));
    }
    let data = Data::from_scalars(dtype, values.into_iter());
    Ok(Array::from_concrete(
        crate::core::aval::Aval::new(shape, dtype),
        data,
    ))
}

fn nested(
    tokens: &[String],
    pos: &mut usize,
    values: &mut Vec<Scalar>,
    dtype: DType,
) -> std::result::Result<Vec<usize>, String> {
    let tok = tokens.get(*pos).ok_or("unexpected end of the value")?;
    *pos += 1;
    if tok != "[" {
        values.push(scalar(tok, dtype)?);
        return Ok(vec![]);
    }
    let mut inner: Option<Vec<usize>> = None;
    let mut n = 0;
    loop {
        if tokens.get(*pos).map(String::as_str) == Some("]") {
            *pos += 1;
            break;
        }
        let s = nested(tokens, pos, values, dtype)?;
        if inner.as_ref().is_some_and(|i| *i != s) {
            return Err("the nested lists are ragged (rows of different lengths)".into());
        }
        inner = Some(s);
        n += 1;
        match tokens.get(*pos).map(String::as_str) {
            Some(",") => *pos += 1,
            Some("]") => {}
            Some(t) => return Err(format!("expected `,` or `]`, found `{t}`")),
            None => return Err("a `[` is not closed".into()),
        }
    }
    let mut shape = vec![n];
    shape.extend(inner.unwrap_or_default());
    Ok(shape)
}

fn scalar(tok: &str, dtype: DType) -> std::result::Result<Scalar, String> {
    let bad = || format!("`{tok}` is not a {} value", dtype.numpy_name());
    Ok(match dtype {
        DType::Bool => match tok {
            "True" | "true" | "1" => Scalar::Bool(true),
            "False" | "false" | "0" => Scalar::Bool(false),
            _ => return Err(bad()),
        },
        _ => Scalar::parse(tok, dtype).ok_or_else(bad)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_survive_a_npy_round_trip() {
        let xs = [
            Array::from_vec(vec![1.5f32, -2.0, 3.25, 0.0, 1e-8, 7.0], &[2, 3]).unwrap(),
            Array::from_vec(vec![0.1f64, 2.0], &[2]).unwrap(),
            Array::from_vec(vec![-3i32], &[]).unwrap(),
            Array::from_vec(vec![7u32, 0, u32::MAX], &[3, 1]).unwrap(),
            Array::from_vec(vec![true, false], &[2]).unwrap(),
        ];
        for x in xs {
            let back = read_npy(&write_npy(&x).unwrap()).unwrap();
            assert!(back.same_bits(&x), "{x} vs {back}");
        }
        assert_eq!(
            read_npy(&write_npy(&Array::zeros(&[0, 2], DType::F64)).unwrap())
                .unwrap()
                .shape(),
            &[0, 2]
        );
        assert!(read_npy(b"not an npy file").is_err());
    }
}
