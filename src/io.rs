//! Arrays to and from NumPy's `.npy` files (`np.save` / `np.load`), through the `npyz` crate:
//! f32, f64, i32, u32 and bool, C order. What the `cranax` command reads its arguments from,
//! and what a program embedding cranax can exchange data with Python through.

use crate::array::{Array, Data};
use crate::core::error::{Error, Result};
use npyz::WriterBuilder;
use std::path::Path;

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::value_err(format!("{}: {e}", path.display()))
}

/// Read an array from a `.npy` file. NumPy's default integer (int64) is read as int32 when
/// every value fits, as JAX does without x64.
pub fn load_npy(path: impl AsRef<Path>) -> Result<Array> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    read_npy(&bytes).map_err(|e| io_err(path, e))
}

/// Read an array from the bytes of a `.npy` file.
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
    match kind.as_str() {
        "f4" => Array::from_vec(npy.into_vec::<f32>().map_err(bad)?, &shape),
        "f8" => Array::from_vec(npy.into_vec::<f64>().map_err(bad)?, &shape),
        "i4" => Array::from_vec(npy.into_vec::<i32>().map_err(bad)?, &shape),
        "u4" => Array::from_vec(npy.into_vec::<u32>().map_err(bad)?, &shape),
        "b1" => Array::from_vec(npy.into_vec::<bool>().map_err(bad)?, &shape),
        "i8" => {
            let wide = npy.into_vec::<i64>().map_err(bad)?;
            let narrow: Option<Vec<i32>> = wide.iter().map(|&v| i32::try_from(v).ok()).collect();
            let narrow = narrow.ok_or_else(|| {
                Error::value_err("an int64 .npy value does not fit in int32 (cranax has no int64)")
            })?;
            Array::from_vec(narrow, &shape)
        }
        _ => Err(Error::value_err(format!(
            "unsupported .npy dtype {descr}: cranax reads float32, float64, int32, uint32, int64 and bool"
        ))),
    }
}

/// Write an array to a `.npy` file (NumPy reads it with `np.load`).
pub fn save_npy(path: impl AsRef<Path>, x: &Array) -> Result<()> {
    let path = path.as_ref();
    let bytes = write_npy(x)?;
    std::fs::write(path, bytes).map_err(|e| io_err(path, e))
}

/// The bytes of a `.npy` file holding `x`.
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
        Data::I32(v) => write(&mut out, &shape, v),
        Data::U32(v) => write(&mut out, &shape, v),
        Data::Bool(v) => write(&mut out, &shape, v),
    };
    r.map_err(|e| Error::value_err(format!("writing .npy: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

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
