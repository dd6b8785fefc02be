//! Interop round trips for every dtype (bool, i32, u32, f32, f64): ndarray ↔ Array ↔ nalgebra
//! ↔ faer, serde (JSON), `.npy`, `.npz` and safetensors files, including files NumPy and the
//! safetensors Python package wrote (tests/data/gen_interop_files.py), and bad input (wrong
//! rank, dtype, length, corrupt files) giving `Err`. The features are on in every `cargo test`
//! through cranax's dev-dependency on itself (Cargo.toml).

use cranax::io;
use cranax::{Array, DType, Element};
use nalgebra::{DMatrix, DVector};
use std::path::PathBuf;

/// A 2x3 matrix and a length-4 vector of each dtype, with values that tell positions apart.
fn matrix<T: Element>(f: impl Fn(usize) -> T) -> Array {
    Array::from_vec((0..6).map(f).collect(), &[2, 3]).unwrap()
}

fn samples() -> Vec<Array> {
    vec![
        matrix(|i| i % 3 == 1),
        matrix(|i| i as i32 * 7 - 20),
        matrix(|i| u32::MAX - i as u32 * 3),
        matrix(|i| i as f32 * 0.1 - 0.25),
        matrix(|i| (i as f64).exp() - 3.0),
        Array::from_slice(&[true, false, false, true]),
        Array::from_slice(&[i32::MIN, -1, 0, i32::MAX]),
        Array::from_slice(&[0u32, 1, 2, u32::MAX]),
        Array::from_slice(&[f32::MIN_POSITIVE, -0.0, 1e30, 3.5]),
        Array::from_slice(&[f64::EPSILON, -0.0, 1e300, 5e-324]),
        Array::from_vec(vec![1.5f32; 24], &[2, 3, 4]).unwrap(),
        Array::scalar(-3i32),
    ]
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cranax-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/interop")
        .join(name)
}

/// Calls `$body` with `$t` bound to the element type of `$x`'s dtype.
macro_rules! with_elem {
    ($x:expr, $t:ident => $body:expr) => {
        with_elem!(@ $x, $t, $body, Bool bool, I32 i32, U32 u32, F32 f32, F64 f64)
    };
    (@ $x:expr, $t:ident, $body:expr, $($variant:ident $ty:ty),*) => {
        match $x.dtype() {
            $(DType::$variant => {
                type $t = $ty;
                $body
            })*
            other => unreachable!("the samples have no {other}"),
        }
    };
}

// --- ndarray ---------------------------------------------------------------------------------

fn ndarray_round_trip<T: Element + PartialEq + std::fmt::Debug>(x: &Array) {
    let nd = ndarray::ArrayD::<T>::try_from(x).unwrap();
    assert_eq!(nd.shape(), x.shape());
    assert_eq!(nd.as_slice().unwrap(), x.as_slice::<T>().unwrap());
    assert!(Array::from(nd).same_bits(x));
    // The zero-copy view reads the array's own buffer.
    let view = x.as_ndarray_view::<T>().unwrap();
    assert_eq!(view.as_ptr(), x.as_slice::<T>().unwrap().as_ptr());
    assert!(Array::from(view).same_bits(x));
    // Owned, unshared: the buffer moves out and back in.
    let owned = Array::from_vec(x.to_vec::<T>().unwrap(), x.shape()).unwrap();
    let ptr = owned.as_slice::<T>().unwrap().as_ptr();
    let nd = ndarray::ArrayD::<T>::try_from(owned).unwrap();
    assert_eq!(nd.as_ptr(), ptr);
    let back = Array::from(nd);
    assert_eq!(back.as_slice::<T>().unwrap().as_ptr(), ptr);
    assert!(back.same_bits(x));
}

#[test]
fn ndarray_round_trips_every_dtype_and_shares_buffers() {
    for x in samples() {
        with_elem!(x, T => ndarray_round_trip::<T>(&x));
    }
}

#[test]
fn ndarray_fixed_dimensions_and_layouts() {
    let x = matrix(|i| i as f64);
    let a2 = ndarray::Array2::<f64>::try_from(&x).unwrap();
    assert_eq!(a2[[1, 0]], 3.0);
    assert_eq!(a2[[0, 2]], 2.0);
    // A transposed (Fortran-order) ndarray copies in logical order.
    let xt = Array::from(a2.clone().reversed_axes());
    assert_eq!(xt.shape(), &[3, 2]);
    assert_eq!(xt.to_vec::<f64>().unwrap(), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    // A strided view (every other column) copies only what it sees.
    let cols = Array::from(a2.slice(ndarray::s![.., ..;2]));
    assert_eq!(cols.to_vec::<f64>().unwrap(), [0.0, 2.0, 3.0, 5.0]);
    // Owned arrays sliced in place keep their whole vector: only the elements they show.
    let mut tail = ndarray::Array2::from_shape_vec((3, 3), (0..9).collect()).unwrap();
    tail.slice_collapse(ndarray::s![1.., ..]);
    assert_eq!(
        Array::from(tail).to_vec::<i32>().unwrap(),
        [3, 4, 5, 6, 7, 8]
    );
    let mut head = ndarray::Array2::from_shape_vec((3, 3), (0..9).collect()).unwrap();
    head.slice_collapse(ndarray::s![..1, ..]);
    assert_eq!(Array::from(head).to_vec::<i32>().unwrap(), [0, 1, 2]);
    let mut none = ndarray::Array2::from_shape_vec((3, 3), (0..9).collect()).unwrap();
    none.slice_collapse(ndarray::s![3.., ..]);
    assert_eq!(Array::from(none).shape(), &[0, 3]);
    let a1 = ndarray::Array1::<i32>::try_from(Array::from_slice(&[4i32, 5])).unwrap();
    assert_eq!(a1.to_vec(), [4, 5]);
    let a0 = ndarray::Array0::<u32>::try_from(Array::scalar(9u32)).unwrap();
    assert_eq!(a0.into_scalar(), 9);
    let a3 = ndarray::Array3::<f32>::zeros((2, 0, 4));
    assert_eq!(Array::from(a3).shape(), &[2, 0, 4]);
}

#[test]
fn ndarray_bad_rank_or_dtype_is_an_err() {
    let x = matrix(|i| i as f32);
    let e = ndarray::Array1::<f32>::try_from(&x)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cannot convert an array of type f32[2,3] to an ndarray array: it has 2 dimensions \
         (shape (2, 3)), the target type has 1"
    );
    let e = ndarray::ArrayD::<f64>::try_from(x.clone())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cannot convert an array of type f32[2,3] to an ndarray array: its dtype is float32, \
         not float64"
    );
    assert!(x.as_ndarray_view::<i32>().is_err());
    // The failed conversion consumed nothing it should not: x is still whole.
    assert_eq!(x.to_vec::<f32>().unwrap().len(), 6);
}

// --- nalgebra --------------------------------------------------------------------------------

fn nalgebra_round_trip<T: Element + nalgebra::Scalar>(x: &Array) {
    let s = x.as_slice::<T>().unwrap().to_vec();
    match *x.shape() {
        [r, c] => {
            let m = DMatrix::<T>::try_from(x).unwrap();
            let v = x.as_nalgebra_view::<T>().unwrap();
            for i in 0..r {
                for j in 0..c {
                    // Element (i, j) is the row-major element i * c + j in both.
                    assert_eq!(m[(i, j)], s[i * c + j]);
                    assert_eq!(v[(i, j)], s[i * c + j]);
                }
            }
            assert!(Array::from(&m).same_bits(x));
            assert!(Array::from(m).same_bits(x));
        }
        [_] => {
            let owned = Array::from_slice(&s);
            let ptr = owned.as_slice::<T>().unwrap().as_ptr();
            let v = DVector::<T>::try_from(owned).unwrap();
            assert_eq!(v.as_slice().as_ptr(), ptr, "an unshared vector moves");
            assert!(Array::from(&v).same_bits(x));
            let back = Array::from(v);
            assert_eq!(back.as_slice::<T>().unwrap().as_ptr(), ptr);
            assert!(back.same_bits(x));
            assert!(DMatrix::<T>::try_from(x).is_err());
        }
        _ => {
            assert!(DMatrix::<T>::try_from(x).is_err());
            assert!(DVector::<T>::try_from(x).is_err());
            assert!(x.as_nalgebra_view::<T>().is_err());
        }
    }
}

#[test]
fn nalgebra_round_trips_every_dtype_column_major() {
    for x in samples() {
        with_elem!(x, T => nalgebra_round_trip::<T>(&x));
    }
    let e = DMatrix::<f64>::try_from(&Array::from_slice(&[1.0f64]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "a nalgebra DMatrix needs a 2-D array, got shape (1,) (f64[1])"
    );
    assert!(DMatrix::<f32>::try_from(&matrix(|i| i as f64)).is_err());
    assert!(DVector::<i32>::try_from(Array::from_slice(&[1u32])).is_err());
}

// --- faer ------------------------------------------------------------------------------------

fn faer_round_trip<T: Element + PartialEq + std::fmt::Debug>(x: &Array) {
    let s = x.as_slice::<T>().unwrap();
    match *x.shape() {
        [r, c] => {
            let m = faer::Mat::<T>::try_from(x).unwrap();
            let v = x.as_faer_view::<T>().unwrap();
            assert_eq!((m.nrows(), m.ncols()), (r, c));
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(m[(i, j)], s[i * c + j]);
                    assert_eq!(v[(i, j)], s[i * c + j]);
                }
            }
            assert!(Array::from(&m).same_bits(x));
            assert!(Array::from(v).same_bits(x));
            assert!(Array::from(m).same_bits(x));
        }
        _ => {
            assert!(faer::Mat::<T>::try_from(x).is_err());
            assert!(x.as_faer_view::<T>().is_err());
        }
    }
}

#[test]
fn faer_round_trips_every_dtype() {
    for x in samples() {
        with_elem!(x, T => faer_round_trip::<T>(&x));
    }
    let e = faer::Mat::<f32>::try_from(&matrix(|i| i as i32))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "as_slice: the array has dtype i32, not f32");
}

#[test]
fn ndarray_to_nalgebra_to_faer_and_back() {
    let nd = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| (i * 10 + j) as f64 - 0.5);
    let x = Array::from(nd.clone());
    let na = DMatrix::<f64>::try_from(&x).unwrap();
    let y = Array::from(na);
    let fa = faer::Mat::<f64>::try_from(&y).unwrap();
    let z = Array::from(fa);
    let back = ndarray::Array2::<f64>::try_from(z).unwrap();
    assert_eq!(back, nd);
}

// --- serde -----------------------------------------------------------------------------------

#[test]
fn serde_json_round_trips_every_dtype() {
    for x in samples() {
        let json = serde_json::to_string(&x).unwrap();
        let back: Array = serde_json::from_str(&json).unwrap();
        assert!(back.same_bits(&x), "{json}");
    }
    let x = Array::from_vec(vec![1u32, 2], &[2, 1]).unwrap();
    assert_eq!(
        serde_json::to_string(&x).unwrap(),
        r#"{"shape":[2,1],"dtype":"uint32","data":[1,2]}"#
    );
    assert_eq!(serde_json::to_string(&DType::F32).unwrap(), r#""float32""#);
}

#[test]
fn serde_bad_input_is_an_err() {
    let bad = |s: &str| serde_json::from_str::<Array>(s).unwrap_err().to_string();
    assert!(bad(r#"{"shape":[3],"dtype":"float32","data":[1.0,2.0]}"#)
        .starts_with("cannot make an array of shape (3,) from 2 elements"));
    assert!(bad(r#"{"shape":[1],"dtype":"complex64","data":[1.0]}"#)
        .starts_with("unknown dtype `complex64`"));
    assert!(bad(r#"{"shape":[1],"dtype":"int32","data":[1.5]}"#).contains("invalid type"));
    assert!(bad(r#"{"shape":[1],"dtype":"bool","data":[1]}"#).contains("invalid type"));
    assert!(bad(r#"{"shape":[1],"data":[1],"dtype":"int32"}"#).contains("must come before"));
    assert!(bad(r#"{"shape":[1],"dtype":"int32"}"#).contains("missing field `data`"));
    // A tracer has nothing to write.
    let f = |x: &Array| {
        assert!(serde_json::to_string(x).is_err());
        x.clone()
    };
    cranax::make_jaxpr(f)
        .call((Array::scalar(1.0f32),))
        .unwrap();
}

// --- files -----------------------------------------------------------------------------------

#[test]
fn npy_files_round_trip_every_dtype() {
    for (k, x) in samples().iter().enumerate() {
        let path = scratch(&format!("x{k}.npy"));
        io::save_npy(&path, x).unwrap();
        assert!(io::load_npy(&path).unwrap().same_bits(x));
    }
    assert!(io::load_npy(scratch("missing.npy")).is_err());
}

fn named(xs: &[Array]) -> Vec<(String, &Array)> {
    xs.iter()
        .enumerate()
        .map(|(k, x)| (format!("a{k:02}"), x))
        .collect()
}

#[test]
fn npz_files_round_trip_every_dtype() {
    let xs = samples();
    let names = named(&xs);
    let refs: Vec<(&str, &Array)> = names.iter().map(|(n, x)| (n.as_str(), *x)).collect();
    for compressed in [false, true] {
        let path = scratch(&format!("all{compressed}.npz"));
        if compressed {
            io::save_npz_compressed(&path, &refs).unwrap();
        } else {
            io::save_npz(&path, &refs).unwrap();
        }
        let back = io::load_npz(&path).unwrap();
        assert_eq!(back.len(), xs.len());
        for ((n, x), (m, y)) in refs.iter().zip(&back) {
            assert_eq!(n, m);
            assert!(x.same_bits(y), "{n}: {x} vs {y}");
        }
    }
    let x = Array::scalar(1.0f32);
    let e = io::write_npz(&[("a", &x), ("a", &x)], false).unwrap_err();
    assert_eq!(e.to_string(), "save_npz: two arrays are named `a`");
    assert!(io::read_npz(b"PK\x03\x04 not really a zip").is_err());
    // A corrupted member fails the zip's checksum.
    let mut npz = io::write_npz(&[("a", &x)], false).unwrap();
    let at = npz.windows(6).position(|w| w == b"\x93NUMPY").unwrap();
    npz[at + 1] = b'X';
    assert!(io::read_npz(&npz).is_err());
    // A well-formed zip whose member is not an .npy file.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("a.npy", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, b"plain text").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let e = io::read_npz(&bytes).unwrap_err().to_string();
    assert!(e.starts_with("a.npy: not a valid .npy file"), "{e}");
}

#[test]
fn safetensors_round_trip_every_dtype() {
    let xs = samples();
    let names = named(&xs);
    let refs: Vec<(&str, &Array)> = names.iter().map(|(n, x)| (n.as_str(), *x)).collect();
    let path = scratch("all.safetensors");
    io::save_safetensors(&path, &refs).unwrap();
    let back = io::load_safetensors(&path).unwrap();
    assert_eq!(back.len(), xs.len());
    for ((n, x), (m, y)) in refs.iter().zip(&back) {
        assert_eq!(n, m);
        assert!(x.same_bits(y), "{n}: {x} vs {y}");
    }
    assert!(io::read_safetensors(b"\x08\0\0\0\0\0\0\0{}").is_err());
    // A dtype cranax does not have, written by the safetensors crate itself.
    let fp8 = [0u8; 2];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F8_E5M2, vec![2], &fp8).unwrap();
    let bytes = safetensors::serialize([("h", view)], None).unwrap();
    assert_eq!(
        io::read_safetensors(&bytes).unwrap_err().to_string(),
        "safetensors tensor `h` has dtype F8_E5M2 of shape (2,): cranax reads BOOL, I8-I64, \
         U8-U64, F16, BF16, F32 and F64"
    );
    // A BOOL byte that is neither 0 nor 1.
    let two = [2u8];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::BOOL, vec![1], &two).unwrap();
    let bytes = safetensors::serialize([("b", view)], None).unwrap();
    assert!(io::read_safetensors(&bytes).is_err());
}

/// The arrays of tests/data/interop/arrays.json, as the generating script wrote them.
fn python_arrays() -> Vec<(String, Array)> {
    let text = std::fs::read_to_string(data_file("arrays.json")).unwrap();
    let json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    json.into_iter()
        .map(|(name, v)| {
            let shape: Vec<usize> = serde_json::from_value(v["shape"].clone()).unwrap();
            let bits = v["bits"].as_array().unwrap();
            let x = match v["dtype"].as_str().unwrap() {
                "bool" => {
                    Array::from_vec(bits.iter().map(|b| b.as_bool().unwrap()).collect(), &shape)
                }
                "int32" => Array::from_vec(
                    bits.iter().map(|b| b.as_i64().unwrap() as i32).collect(),
                    &shape,
                ),
                "uint32" => Array::from_vec(
                    bits.iter().map(|b| b.as_u64().unwrap() as u32).collect(),
                    &shape,
                ),
                "float32" => Array::from_vec(
                    bits.iter()
                        .map(|b| f32::from_bits(b.as_u64().unwrap() as u32))
                        .collect(),
                    &shape,
                ),
                "float64" => Array::from_vec(
                    bits.iter()
                        .map(|b| f64::from_bits(b.as_str().unwrap().parse().unwrap()))
                        .collect(),
                    &shape,
                ),
                d => panic!("dtype {d}"),
            };
            (name, x.unwrap())
        })
        .collect()
}

#[test]
fn files_numpy_and_python_safetensors_wrote_read_back_exactly() {
    let mut want = python_arrays();
    assert_eq!(want.len(), 7);
    for file in ["numpy.npz", "numpy_compressed.npz", "python.safetensors"] {
        let mut got = if file.ends_with(".npz") {
            io::load_npz(data_file(file)).unwrap()
        } else {
            io::load_safetensors(data_file(file)).unwrap()
        };
        got.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got.len(), want.len(), "{file}");
        for ((n, x), (m, y)) in want.iter().zip(&got) {
            assert_eq!(n, m, "{file}");
            assert!(x.same_bits(y), "{file}: {n}: {x} vs {y}");
        }
    }
}

/// One array of each dtype beyond the 32-bit ones, with its extremes.
fn wide_and_narrow_samples() -> Vec<Array> {
    use cranax::half::{bf16, f16};
    vec![
        Array::from_slice(&[i8::MIN, -1, 0, i8::MAX]),
        Array::from_slice(&[i16::MIN, -1, 0, i16::MAX]),
        Array::from_slice(&[i64::MIN, -1, 1 << 53 | 1, i64::MAX]),
        Array::from_slice(&[0u8, 1, 128, u8::MAX]),
        Array::from_slice(&[0u16, 1, 1 << 15, u16::MAX]),
        Array::from_slice(&[0u64, 1, 1 << 63, u64::MAX]),
        Array::from_slice(&[
            f16::MIN_POSITIVE_SUBNORMAL,
            f16::NEG_ZERO,
            f16::MAX,
            f16::from_f32(-2.5),
        ]),
        Array::from_slice(&[
            bf16::MIN_POSITIVE,
            bf16::NEG_ZERO,
            bf16::MAX,
            bf16::from_f32(0.1),
        ]),
    ]
}

#[test]
fn files_and_serde_round_trip_the_8_16_and_64_bit_dtypes() {
    let xs = wide_and_narrow_samples();
    let names = named(&xs);
    let refs: Vec<(&str, &Array)> = names.iter().map(|(n, x)| (n.as_str(), *x)).collect();
    let path = scratch("wide.safetensors");
    io::save_safetensors(&path, &refs).unwrap();
    for ((_, x), (_, y)) in refs.iter().zip(&io::load_safetensors(&path).unwrap()) {
        assert!(x.same_bits(y), "safetensors: {x} vs {y}");
    }
    for x in &xs {
        let json = serde_json::to_string(x).unwrap();
        let back: Array = serde_json::from_str(&json).unwrap();
        assert!(back.same_bits(x), "serde: {x} vs {back} ({json})");
        let back = io::read_npy(&io::write_npy(x).unwrap()).unwrap();
        if x.dtype() == DType::BF16 {
            // .npy has no bfloat16 type: it is written as the float32 values it widens to.
            assert_eq!(back.dtype(), DType::F32);
            assert!(back.astype(DType::BF16).same_bits(x));
        } else {
            assert!(back.same_bits(x), "npy: {x} vs {back}");
        }
    }
    assert_eq!(
        serde_json::to_string(&xs[5]).unwrap(),
        r#"{"shape":[4],"dtype":"uint64","data":[0,1,9223372036854775808,18446744073709551615]}"#
    );
}
