//! `Array`: the one value type users see. Concrete (an `Arc`'d buffer with a shape and dtype) or,
//! inside a transformation, a tracer standing for a value being traced. NumPy-style `Display`.

use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::Tracer;
use crate::dtype::{DType, Scalar};
use std::fmt;
use std::sync::Arc;

/// An n-dimensional array. Cloning is cheap (reference counted); arrays are immutable.
#[derive(Clone)]
pub struct Array {
    pub(crate) repr: Repr,
}

#[derive(Clone)]
pub(crate) enum Repr {
    Concrete(Arc<Concrete>),
    Tracer(Arc<Tracer>),
}

/// A concrete array: row-major (C order) contiguous data.
pub(crate) struct Concrete {
    pub aval: Aval,
    pub data: Data,
}

/// Typed storage. `bool` is one byte, 0 or 1, as compiled code reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Booleans.
    Bool(Vec<bool>),
    /// 32-bit signed integers.
    I32(Vec<i32>),
    /// 32-bit unsigned integers.
    U32(Vec<u32>),
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 64-bit floats.
    F64(Vec<f64>),
}

impl Data {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Data::Bool(_) => DType::Bool,
            Data::I32(_) => DType::I32,
            Data::U32(_) => DType::U32,
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::Bool(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::U32(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` (flat, row-major) as a scalar.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn get(&self, i: usize) -> Scalar {
        match self {
            Data::Bool(v) => Scalar::Bool(v[i]),
            Data::I32(v) => Scalar::I32(v[i]),
            Data::U32(v) => Scalar::U32(v[i]),
            Data::F32(v) => Scalar::F32(v[i]),
            Data::F64(v) => Scalar::F64(v[i]),
        }
    }

    /// `n` copies of a scalar.
    pub fn filled(value: Scalar, n: usize) -> Data {
        match value {
            Scalar::Bool(x) => Data::Bool(vec![x; n]),
            Scalar::I32(x) => Data::I32(vec![x; n]),
            Scalar::U32(x) => Data::U32(vec![x; n]),
            Scalar::F32(x) => Data::F32(vec![x; n]),
            Scalar::F64(x) => Data::F64(vec![x; n]),
        }
    }

    /// Gather elements by flat index (used by the shape primitives' eager evaluation).
    pub fn take(&self, idx: impl Iterator<Item = usize>) -> Data {
        match self {
            Data::Bool(v) => Data::Bool(idx.map(|i| v[i]).collect()),
            Data::I32(v) => Data::I32(idx.map(|i| v[i]).collect()),
            Data::U32(v) => Data::U32(idx.map(|i| v[i]).collect()),
            Data::F32(v) => Data::F32(idx.map(|i| v[i]).collect()),
            Data::F64(v) => Data::F64(idx.map(|i| v[i]).collect()),
        }
    }

    /// Build from scalars that must all have `dtype`.
    pub fn from_scalars(dtype: DType, it: impl Iterator<Item = Scalar>) -> Data {
        match dtype {
            DType::Bool => Data::Bool(it.map(|s| s.to_f64() != 0.0).collect()),
            DType::I32 => Data::I32(
                it.map(|s| {
                    if let Scalar::I32(v) = s {
                        v
                    } else {
                        s.to_f64() as i32
                    }
                })
                .collect(),
            ),
            DType::U32 => Data::U32(
                it.map(|s| {
                    if let Scalar::U32(v) = s {
                        v
                    } else {
                        s.to_f64() as u32
                    }
                })
                .collect(),
            ),
            DType::F32 => Data::F32(
                it.map(|s| {
                    if let Scalar::F32(v) = s {
                        v
                    } else {
                        s.to_f64() as f32
                    }
                })
                .collect(),
            ),
            DType::F64 => Data::F64(it.map(|s| s.to_f64()).collect()),
        }
    }

    /// Raw bytes pointer and length in elements (for handing buffers to compiled code).
    pub fn as_ptr(&self) -> *const u8 {
        match self {
            Data::Bool(v) => v.as_ptr() as *const u8,
            Data::I32(v) => v.as_ptr() as *const u8,
            Data::U32(v) => v.as_ptr() as *const u8,
            Data::F32(v) => v.as_ptr() as *const u8,
            Data::F64(v) => v.as_ptr() as *const u8,
        }
    }

    /// A pointer to the first element's bytes, for writing.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        match self {
            Data::Bool(v) => v.as_mut_ptr() as *mut u8,
            Data::I32(v) => v.as_mut_ptr() as *mut u8,
            Data::U32(v) => v.as_mut_ptr() as *mut u8,
            Data::F32(v) => v.as_mut_ptr() as *mut u8,
            Data::F64(v) => v.as_mut_ptr() as *mut u8,
        }
    }

    /// Room for `n` elements, none of them initialised yet (`len` 0, capacity `n`): for a
    /// buffer that compiled code fills completely before [`Data::assume_filled`].
    pub(crate) fn unfilled(dtype: DType, n: usize) -> Data {
        match dtype {
            DType::Bool => Data::Bool(Vec::with_capacity(n)),
            DType::I32 => Data::I32(Vec::with_capacity(n)),
            DType::U32 => Data::U32(Vec::with_capacity(n)),
            DType::F32 => Data::F32(Vec::with_capacity(n)),
            DType::F64 => Data::F64(Vec::with_capacity(n)),
        }
    }

    /// The spare capacity's start (where `unfilled` storage is written).
    pub(crate) fn spare_ptr(&mut self) -> *mut u8 {
        match self {
            Data::Bool(v) => v.spare_capacity_mut().as_mut_ptr() as *mut u8,
            Data::I32(v) => v.spare_capacity_mut().as_mut_ptr() as *mut u8,
            Data::U32(v) => v.spare_capacity_mut().as_mut_ptr() as *mut u8,
            Data::F32(v) => v.spare_capacity_mut().as_mut_ptr() as *mut u8,
            Data::F64(v) => v.spare_capacity_mut().as_mut_ptr() as *mut u8,
        }
    }

    /// Mark `unfilled` storage as holding `n` elements.
    ///
    /// # Safety
    /// The first `n` elements of the capacity must have been written with valid values
    /// (`bool`s as the bytes 0 or 1), and `n` must not exceed the capacity.
    pub(crate) unsafe fn assume_filled(&mut self, n: usize) {
        // SAFETY: the caller vouches for the first `n` elements.
        unsafe {
            match self {
                Data::Bool(v) => v.set_len(n),
                Data::I32(v) => v.set_len(n),
                Data::U32(v) => v.set_len(n),
                Data::F32(v) => v.set_len(n),
                Data::F64(v) => v.set_len(n),
            }
        }
    }

    /// Zero-filled storage of `n` elements.
    pub fn zeros(dtype: DType, n: usize) -> Data {
        match dtype {
            DType::Bool => Data::Bool(vec![false; n]),
            DType::I32 => Data::I32(vec![0; n]),
            DType::U32 => Data::U32(vec![0; n]),
            DType::F32 => Data::F32(vec![0.0; n]),
            DType::F64 => Data::F64(vec![0.0; n]),
        }
    }
}

/// Rust element types that arrays hold.
pub trait Element: Copy + Send + Sync + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Wrap a vector of elements as array data.
    fn into_data(v: Vec<Self>) -> Data;
    /// The elements, if `d` holds this type.
    fn slice(d: &Data) -> Option<&[Self]>;
    /// The value as a [`Scalar`].
    fn scalar(self) -> Scalar;
    /// The vector inside `d` if it holds `Self`s (no copy), else `d` back.
    fn from_data(d: Data) -> std::result::Result<Vec<Self>, Data>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn into_data(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
            fn slice(d: &Data) -> Option<&[Self]> {
                match d {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn scalar(self) -> Scalar {
                Scalar::$variant(self)
            }
            fn from_data(d: Data) -> std::result::Result<Vec<Self>, Data> {
                match d {
                    Data::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
        }
        impl From<$t> for Array {
            fn from(v: $t) -> Array {
                Array::scalar(v)
            }
        }
    };
}
element!(bool, Bool);
element!(i32, I32);
element!(u32, U32);
element!(f32, F32);
element!(f64, F64);

impl Array {
    pub(crate) fn from_concrete(aval: Aval, data: Data) -> Array {
        debug_assert_eq!(aval.size(), data.len());
        debug_assert_eq!(aval.dtype, data.dtype());
        Array {
            repr: Repr::Concrete(Arc::new(Concrete { aval, data })),
        }
    }

    /// An array of type `aval` whose elements are not written yet, and where to write them:
    /// for compiled code to fill before [`Array::assume_filled`].
    pub(crate) fn unfilled(aval: &Aval) -> (Array, *mut u8) {
        let mut c = Arc::new(Concrete {
            aval: aval.clone(),
            data: Data::unfilled(aval.dtype, aval.size()),
        });
        let ptr = Arc::get_mut(&mut c).expect("just made").data.spare_ptr();
        let a = Array {
            repr: Repr::Concrete(c),
        };
        (a, ptr)
    }

    /// Mark an [`Array::unfilled`] array as holding its elements.
    ///
    /// # Safety
    /// Every element must have been written through the pointer `unfilled` gave, with valid
    /// values (`bool`s as the bytes 0 or 1), and the array not cloned since.
    pub(crate) unsafe fn assume_filled(&mut self) {
        let Repr::Concrete(c) = &mut self.repr else {
            unreachable!("unfilled arrays are concrete")
        };
        let c = Arc::get_mut(c).expect("unfilled arrays are not shared");
        let n = c.aval.size();
        // SAFETY: the caller vouches for the first `n` elements, the capacity `unfilled` made.
        unsafe { c.data.assume_filled(n) };
    }

    pub(crate) fn from_tracer(t: Tracer) -> Array {
        Array {
            repr: Repr::Tracer(Arc::new(t)),
        }
    }

    /// An array from data and a shape; errors if the sizes disagree.
    ///
    /// # Errors
    /// A shape whose element count is not `data.len()`.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Array> {
        let size: usize = shape.iter().product();
        if size != data.len() {
            return Err(Error::value_err(format!(
                "cannot make an array of shape {} from {} elements",
                shape_str(shape),
                data.len()
            )));
        }
        Ok(Array::from_concrete(
            Aval::new(shape, T::DTYPE),
            T::into_data(data),
        ))
    }

    /// A 1-D array from a slice.
    pub fn from_slice<T: Element>(data: &[T]) -> Array {
        Array::from_concrete(
            Aval::new([data.len()], T::DTYPE),
            T::into_data(data.to_vec()),
        )
    }

    /// A 0-d array.
    pub fn scalar<T: Element>(v: T) -> Array {
        Array::from_concrete(Aval::scalar(T::DTYPE), T::into_data(vec![v]))
    }

    /// A 0-d array of a dtype from a `Scalar`.
    pub fn from_scalar(v: Scalar) -> Array {
        Array::from_concrete(Aval::scalar(v.dtype()), Data::filled(v, 1))
    }

    /// A weakly typed 0-d float (what a Rust float literal in `x * 2.0` becomes): it takes the
    /// dtype of the array it meets.
    pub fn weak_scalar(v: f64, dtype: DType) -> Array {
        let value = Scalar::from_f64(v, dtype);
        Array::from_concrete(Aval::scalar(dtype).weak(true), Data::filled(value, 1))
    }

    /// An array of `shape` filled with `value` (as `jnp.full`).
    pub fn full(shape: &[usize], value: Scalar) -> Array {
        let aval = Aval::new(shape, value.dtype());
        let n = aval.size();
        Array::from_concrete(aval, Data::filled(value, n))
    }

    /// An array of zeros.
    pub fn zeros(shape: &[usize], dtype: DType) -> Array {
        Array::full(shape, Scalar::from_f64(0.0, dtype))
    }

    /// An array of ones.
    pub fn ones(shape: &[usize], dtype: DType) -> Array {
        Array::full(shape, Scalar::from_f64(1.0, dtype))
    }

    /// `[start, start+step, ...)` below `stop`, as `jnp.arange`.
    ///
    /// # Errors
    /// A zero `step`, or a size too large to allocate.
    pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Result<Array> {
        if step == 0.0 || !step.is_finite() {
            return Err(Error::value_err(format!(
                "arange got step {step}; it must be finite and non-zero"
            )));
        }
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        let data = Data::from_scalars(dtype, (0..n).map(|i| Scalar::F64(start + i as f64 * step)));
        Ok(Array::from_concrete(Aval::new([n], dtype), data))
    }

    /// `num` evenly spaced values from `start` to `stop` inclusive, as `jnp.linspace`.
    pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Array {
        let step = if num > 1 {
            (stop - start) / (num - 1) as f64
        } else {
            0.0
        };
        let vals = (0..num).map(|i| {
            if i + 1 == num && num > 1 {
                stop
            } else {
                start + i as f64 * step
            }
        });
        let data = Data::from_scalars(dtype, vals.map(Scalar::F64));
        Array::from_concrete(Aval::new([num], dtype), data)
    }

    /// The `n x n` identity matrix.
    pub fn eye(n: usize, dtype: DType) -> Array {
        let vals = (0..n * n).map(|i| Scalar::F64(if i / n == i % n { 1.0 } else { 0.0 }));
        Array::from_concrete(Aval::new([n, n], dtype), Data::from_scalars(dtype, vals))
    }

    /// Shape, dtype and weak type: known for tracers too.
    pub fn aval(&self) -> &Aval {
        match &self.repr {
            Repr::Concrete(c) => &c.aval,
            Repr::Tracer(t) => &t.aval,
        }
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.aval().shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.aval().dtype
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.aval().ndim()
    }

    /// The number of elements.
    pub fn size(&self) -> usize {
        self.aval().size()
    }

    /// Whether the type is weak (it came from a Rust literal, as JAX's Python scalars).
    pub fn is_weak(&self) -> bool {
        self.aval().weak_type
    }

    /// True for a concrete array, false for a tracer.
    pub fn is_concrete(&self) -> bool {
        matches!(self.repr, Repr::Concrete(_))
    }

    pub(crate) fn concrete(&self) -> Option<&Concrete> {
        match &self.repr {
            Repr::Concrete(c) => Some(c),
            Repr::Tracer(_) => None,
        }
    }

    pub(crate) fn tracer(&self) -> Option<&Tracer> {
        match &self.repr {
            Repr::Tracer(t) => Some(t),
            Repr::Concrete(_) => None,
        }
    }

    /// The storage of a concrete array (an error for a tracer).
    /// Same type and the same bits in every element (NaNs with equal payloads are the same);
    /// false for tracers.
    pub fn same_bits(&self, other: &Array) -> bool {
        fn same<T, B: PartialEq>(a: &[T], b: &[T], bits: impl Fn(&T) -> B) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(x) == bits(y))
        }
        let values = match (self.data(), other.data()) {
            (Ok(Data::Bool(a)), Ok(Data::Bool(b))) => a == b,
            (Ok(Data::I32(a)), Ok(Data::I32(b))) => a == b,
            (Ok(Data::U32(a)), Ok(Data::U32(b))) => a == b,
            (Ok(Data::F32(a)), Ok(Data::F32(b))) => same(a, b, |x| x.to_bits()),
            (Ok(Data::F64(a)), Ok(Data::F64(b))) => same(a, b, |x| x.to_bits()),
            _ => false,
        };
        values && self.aval() == other.aval()
    }

    /// The elements.
    ///
    /// # Errors
    /// A tracer (an array inside a transformation has no data).
    pub fn data(&self) -> Result<&Data> {
        match &self.repr {
            Repr::Concrete(c) => Ok(&c.data),
            Repr::Tracer(t) => Err(Error::Concretization(format!(
                "the data of a traced array {} was requested",
                t.aval
            ))),
        }
    }

    /// The elements as a slice of `T` (the dtype must be `T`'s).
    ///
    /// # Errors
    /// A tracer (no data), or an array whose dtype is not `T`'s.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        let data = self.data()?;
        T::slice(data).ok_or_else(|| {
            Error::type_err(format!(
                "as_slice: the array has dtype {}, not {}",
                data.dtype(),
                T::DTYPE
            ))
        })
    }

    /// The elements as a `Vec<T>`.
    ///
    /// # Errors
    /// A tracer (no data), or an array whose dtype is not `T`'s.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.as_slice::<T>().map(|s| s.to_vec())
    }

    /// The elements widened to f64 (any dtype).
    ///
    /// # Errors
    /// A tracer (no data).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        let data = self.data()?;
        Ok((0..data.len()).map(|i| data.get(i).to_f64()).collect())
    }

    /// The single element of a size-1 array.
    ///
    /// # Errors
    /// A tracer, an array of more than one element, or a dtype that is not `T`'s.
    pub fn item<T: Element>(&self) -> Result<T> {
        let s = self.as_slice::<T>()?;
        if s.len() != 1 {
            return Err(Error::type_err(format!(
                "item: only size-1 arrays can be read as a scalar, got shape {}",
                shape_str(self.shape())
            )));
        }
        Ok(s[0])
    }

    /// The single element as a `Scalar`.
    ///
    /// # Errors
    /// A tracer, or an array of more than one element.
    pub fn to_scalar(&self) -> Result<Scalar> {
        let data = self.data()?;
        if data.len() != 1 {
            return Err(Error::type_err(format!(
                "to_scalar: only size-1 arrays can be read as a scalar, got shape {}",
                shape_str(self.shape())
            )));
        }
        Ok(data.get(0))
    }
}

/// `f` of the arrays' types (on the stack for up to four arrays, the arity of nearly every
/// primitive: binding one allocates no list of types).
pub(crate) fn with_avals<R>(args: &[Array], f: impl FnOnce(&[&Aval]) -> R) -> R {
    let avals: smallvec::SmallVec<[&Aval; 4]> = args.iter().map(Array::aval).collect();
    f(&avals)
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Concrete(c) => write!(f, "Array({self}, dtype={})", c.aval.dtype.numpy_name()),
            Repr::Tracer(t) => write!(f, "Traced<{}>", t.aval),
        }
    }
}

impl fmt::Display for Array {
    /// As NumPy prints the same values (`print(x)` in the seed): `3.0`,
    /// `[0.482287   0.45585027 0.99329686 0.09532695 0.8153717 ]`, one row per line in 2-D.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Concrete(c) => {
                f.write_str(&crate::array_format::format_array(&c.aval.shape, &c.data))
            }
            Repr::Tracer(t) => write!(f, "Traced<{}>", t.aval),
        }
    }
}
