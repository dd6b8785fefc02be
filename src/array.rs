//! `Array`: the one value type users see. Concrete (an `Arc`'d buffer with a shape and dtype) or,
//! inside a transformation, a tracer standing for a value being traced. NumPy-style `Display`.

use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::Tracer;
use crate::dtype::{DType, Scalar};
use cranax_runtime::pages::Pages;
use half::{bf16, f16};
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
    Bool(Buffer<bool>),
    /// 8-bit signed integers.
    I8(Buffer<i8>),
    /// 16-bit signed integers.
    I16(Buffer<i16>),
    /// 32-bit signed integers.
    I32(Buffer<i32>),
    /// 64-bit signed integers.
    I64(Buffer<i64>),
    /// 8-bit unsigned integers.
    U8(Buffer<u8>),
    /// 16-bit unsigned integers.
    U16(Buffer<u16>),
    /// 32-bit unsigned integers.
    U32(Buffer<u32>),
    /// 64-bit unsigned integers.
    U64(Buffer<u64>),
    /// IEEE half-precision floats.
    F16(Buffer<f16>),
    /// bfloat16 floats.
    BF16(Buffer<bf16>),
    /// 32-bit floats.
    F32(Buffer<f32>),
    /// 64-bit floats.
    F64(Buffer<f64>),
}

/// The elements of one [`Data`] variant, read as a slice: a single element is held inline
/// (a scalar array, what eager code makes most, then costs one allocation, its `Arc`, not
/// two); more are a `Vec`, or, for the large outputs of compiled calls, a pooled mapping
/// (see [`cranax_runtime::pages`]). A `Vec` converts in without a copy
/// (`Data::F32(v.into())`), and collecting an iterator builds one.
pub struct Buffer<T>(Store<T>);

enum Store<T> {
    One(T),
    Heap(Vec<T>),
    /// `len` elements at the start of a mapping (elements are plain data: never dropped).
    Pages(Pages, usize, std::marker::PhantomData<T>),
}

impl<T: Clone> Clone for Buffer<T> {
    /// A copy (of a mapped buffer: into a `Vec`).
    fn clone(&self) -> Buffer<T> {
        Buffer(match &self.0 {
            Store::One(x) => Store::One(x.clone()),
            Store::Heap(v) => Store::Heap(v.clone()),
            Store::Pages(..) => Store::Heap(self.to_vec()),
        })
    }
}

impl<T> Buffer<T> {
    /// A buffer of the one element `x` (no allocation).
    pub fn one(x: T) -> Buffer<T> {
        Buffer(Store::One(x))
    }
}

impl<T: Copy> Buffer<T> {
    /// The elements as a `Vec` (no copy when they are one already).
    pub fn into_vec(self) -> Vec<T> {
        match self.0 {
            Store::One(x) => vec![x],
            Store::Heap(v) => v,
            Store::Pages(..) => self.to_vec(),
        }
    }

    /// Room for `n` elements, none initialised yet: see [`Data::unfilled`]. Room of
    /// [`cranax_runtime::pages::MIN_BYTES`] or more is a mapping from that module's pool
    /// (already faulted in when the JIT prefaulted it), less is a `Vec`.
    fn unfilled(n: usize) -> Buffer<T> {
        let bytes = n.saturating_mul(std::mem::size_of::<T>());
        match Pages::new(bytes) {
            Some(p) => Buffer(Store::Pages(p, 0, std::marker::PhantomData)),
            None => Buffer(Store::Heap(Vec::with_capacity(n))),
        }
    }

    /// The start of the room [`Buffer::unfilled`] made (for one held inline, the element).
    fn spare_ptr(&mut self) -> *mut T {
        match &mut self.0 {
            Store::One(x) => x,
            Store::Heap(v) => v.spare_capacity_mut().as_mut_ptr().cast(),
            Store::Pages(p, _, _) => p.as_mut_ptr().cast(),
        }
    }

    /// Mark [`Buffer::unfilled`] room as holding `n` elements.
    ///
    /// # Safety
    /// As [`Data::assume_filled`].
    unsafe fn assume_filled(&mut self, n: usize) {
        match &mut self.0 {
            Store::One(_) => debug_assert_eq!(n, 1),
            // SAFETY: the caller vouches for the first `n` elements of the capacity.
            Store::Heap(v) => unsafe { v.set_len(n) },
            Store::Pages(p, len, _) => {
                debug_assert!(n * std::mem::size_of::<T>() <= p.len());
                *len = n;
            }
        }
    }
}

impl<T: Clone> Buffer<T> {
    /// `n` copies of `x` (inline for one).
    pub fn filled(x: T, n: usize) -> Buffer<T> {
        if n == 1 {
            Buffer::one(x)
        } else {
            Buffer(Store::Heap(vec![x; n]))
        }
    }
}

impl<T> std::ops::Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match &self.0 {
            Store::One(x) => std::slice::from_ref(x),
            Store::Heap(v) => v,
            // SAFETY: the mapping is page-aligned (enough for any element type) and its first
            // `len` elements were written (`assume_filled`); it lives as long as `self`.
            Store::Pages(p, len, _) => unsafe {
                std::slice::from_raw_parts(p.as_ptr().cast(), *len)
            },
        }
    }
}

impl<T> std::ops::DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Store::One(x) => std::slice::from_mut(x),
            Store::Heap(v) => v,
            // SAFETY: as in `deref`, with `&mut self` the only access to the mapping.
            Store::Pages(p, len, _) => unsafe {
                std::slice::from_raw_parts_mut(p.as_mut_ptr().cast(), *len)
            },
        }
    }
}

impl<T> From<Vec<T>> for Buffer<T> {
    fn from(v: Vec<T>) -> Buffer<T> {
        Buffer(Store::Heap(v))
    }
}

impl<T: Copy> From<Buffer<T>> for Vec<T> {
    fn from(b: Buffer<T>) -> Vec<T> {
        b.into_vec()
    }
}

impl<T> FromIterator<T> for Buffer<T> {
    /// One element inline, otherwise a `Vec`.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Buffer<T> {
        let mut it = iter.into_iter();
        let Some(first) = it.next() else {
            return Buffer(Store::Heap(Vec::new()));
        };
        let Some(second) = it.next() else {
            return Buffer::one(first);
        };
        let mut v = Vec::with_capacity(it.size_hint().0.saturating_add(2));
        v.push(first);
        v.push(second);
        v.extend(it);
        Buffer(Store::Heap(v))
    }
}

impl<T: Copy> IntoIterator for Buffer<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Buffer<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Buffers are equal when their elements are (however they are held).
impl<T: PartialEq> PartialEq for Buffer<T> {
    fn eq(&self, other: &Buffer<T>) -> bool {
        **self == **other
    }
}

/// As the slice of elements: `[1.0, 2.0]`.
impl<T: fmt::Debug> fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// `$body` with `$v` bound to the vector inside a [`Data`], whatever its element type.
macro_rules! each_data {
    ($d:expr, $v:ident => $body:expr) => {
        match $d {
            Data::Bool($v) => $body,
            Data::I8($v) => $body,
            Data::I16($v) => $body,
            Data::I32($v) => $body,
            Data::I64($v) => $body,
            Data::U8($v) => $body,
            Data::U16($v) => $body,
            Data::U32($v) => $body,
            Data::U64($v) => $body,
            Data::F16($v) => $body,
            Data::BF16($v) => $body,
            Data::F32($v) => $body,
            Data::F64($v) => $body,
        }
    };
}
#[allow(unused_imports)]
pub(crate) use each_data;

/// A [`Data`] of the same variant, its vector made by `$body` from `$v` (the operand's
/// vector, or a bare type marker when `$d` is a `DType`: see [`Data::zeros`]).
macro_rules! map_data {
    ($d:expr, $v:ident => $body:expr) => {
        match $d {
            Data::Bool($v) => Data::Bool($body),
            Data::I8($v) => Data::I8($body),
            Data::I16($v) => Data::I16($body),
            Data::I32($v) => Data::I32($body),
            Data::I64($v) => Data::I64($body),
            Data::U8($v) => Data::U8($body),
            Data::U16($v) => Data::U16($body),
            Data::U32($v) => Data::U32($body),
            Data::U64($v) => Data::U64($body),
            Data::F16($v) => Data::F16($body),
            Data::BF16($v) => Data::BF16($body),
            Data::F32($v) => Data::F32($body),
            Data::F64($v) => Data::F64($body),
        }
    };
}
#[allow(unused_imports)]
pub(crate) use map_data;

/// `$body` evaluated with `$t` the Rust element type of a [`DType`], wrapped in that
/// dtype's [`Data`] variant.
macro_rules! data_of_dtype {
    ($dt:expr, $t:ident => $body:expr) => {
        match $dt {
            DType::Bool => Data::Bool({
                type $t = bool;
                $body
            }),
            DType::I8 => Data::I8({
                type $t = i8;
                $body
            }),
            DType::I16 => Data::I16({
                type $t = i16;
                $body
            }),
            DType::I32 => Data::I32({
                type $t = i32;
                $body
            }),
            DType::I64 => Data::I64({
                type $t = i64;
                $body
            }),
            DType::U8 => Data::U8({
                type $t = u8;
                $body
            }),
            DType::U16 => Data::U16({
                type $t = u16;
                $body
            }),
            DType::U32 => Data::U32({
                type $t = u32;
                $body
            }),
            DType::U64 => Data::U64({
                type $t = u64;
                $body
            }),
            DType::F16 => Data::F16({
                type $t = half::f16;
                $body
            }),
            DType::BF16 => Data::BF16({
                type $t = half::bf16;
                $body
            }),
            DType::F32 => Data::F32({
                type $t = f32;
                $body
            }),
            DType::F64 => Data::F64({
                type $t = f64;
                $body
            }),
        }
    };
}
#[allow(unused_imports)]
pub(crate) use data_of_dtype;

impl Data {
    /// The element type.
    pub fn dtype(&self) -> DType {
        each_data!(self, v => element_dtype(v))
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        each_data!(self, v => v.len())
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
        each_data!(self, v => v[i].scalar())
    }

    /// `n` copies of a scalar.
    pub fn filled(value: Scalar, n: usize) -> Data {
        data_of_dtype!(value.dtype(), T => Buffer::filled(T::from_scalar(value), n))
    }

    /// Gather elements by flat index (used by the shape primitives' eager evaluation).
    pub fn take(&self, idx: impl Iterator<Item = usize>) -> Data {
        map_data!(self, v => idx.map(|i| v[i]).collect())
    }

    /// Build from scalars, each converted to `dtype` (`convert_element_type`'s rules).
    pub fn from_scalars(dtype: DType, it: impl Iterator<Item = Scalar>) -> Data {
        data_of_dtype!(dtype, T => it.map(T::from_scalar).collect())
    }

    /// Raw bytes pointer and length in elements (for handing buffers to compiled code).
    pub fn as_ptr(&self) -> *const u8 {
        each_data!(self, v => v.as_ptr().cast::<u8>())
    }

    /// A pointer to the first element's bytes, for writing.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        each_data!(self, v => v.as_mut_ptr().cast::<u8>())
    }

    /// Room for `n` elements, none of them initialised yet (`len` 0, capacity `n`): for a
    /// buffer that compiled code fills completely before [`Data::assume_filled`].
    pub(crate) fn unfilled(dtype: DType, n: usize) -> Data {
        data_of_dtype!(dtype, T => Buffer::<T>::unfilled(n))
    }

    /// The spare capacity's start (where `unfilled` storage is written).
    pub(crate) fn spare_ptr(&mut self) -> *mut u8 {
        each_data!(self, v => v.spare_ptr().cast::<u8>())
    }

    /// Mark `unfilled` storage as holding `n` elements.
    ///
    /// # Safety
    /// The first `n` elements of the capacity must have been written with valid values
    /// (`bool`s as the bytes 0 or 1), and `n` must not exceed the capacity.
    pub(crate) unsafe fn assume_filled(&mut self, n: usize) {
        // SAFETY: the caller vouches for the first `n` elements.
        unsafe { each_data!(self, v => v.assume_filled(n)) }
    }

    /// Zero-filled storage of `n` elements.
    pub fn zeros(dtype: DType, n: usize) -> Data {
        Data::filled(Scalar::from_i128(0, dtype), n)
    }

    /// Each element's bits, zero-extended (floats by bit pattern, bools 0 or 1).
    pub fn to_bits(&self) -> Vec<u64> {
        each_data!(self, v => v.iter().map(|x| x.scalar().bits()).collect())
    }

    /// The distinct bit patterns of the elements (in order of appearance), if there are at
    /// most `most`. A run of equal elements costs one comparison each.
    pub fn distinct_bits(&self, most: usize) -> Option<Vec<u64>> {
        each_data!(self, v => {
            let mut seen: Vec<u64> = Vec::with_capacity(most);
            let mut last = None;
            for x in v.iter() {
                let b = x.scalar().bits();
                if last == Some(b) {
                    continue;
                }
                last = Some(b);
                if !seen.contains(&b) {
                    if seen.len() == most {
                        return None;
                    }
                    seen.push(b);
                }
            }
            Some(seen)
        })
    }

    /// Elements of `dtype` from their bits (the low `dtype.bits()` of each).
    pub fn from_bits(dtype: DType, bits: impl Iterator<Item = u64>) -> Data {
        data_of_dtype!(dtype, T => bits.map(|b| T::from_scalar(Scalar::from_bits(b, dtype))).collect())
    }
}

impl Data {
    /// The elements' little-endian bytes (bool: one byte, 0 or 1), as files and compiled code
    /// hold them.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let width = self.dtype().size_bytes();
        self.to_bits()
            .into_iter()
            .flat_map(|b| b.to_le_bytes().into_iter().take(width))
            .collect()
    }

    /// Elements of `dtype` from little-endian bytes (a whole number of elements; a trailing
    /// partial element is ignored). Bools are bytes read as `!= 0`.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Data {
        let width = dtype.size_bytes();
        Data::from_bits(
            dtype,
            bytes.chunks_exact(width).map(|c| {
                let mut w = [0u8; 8];
                w[..width].copy_from_slice(c);
                u64::from_le_bytes(w)
            }),
        )
    }
}

fn element_dtype<T: Element>(_: &[T]) -> DType {
    T::DTYPE
}

/// Rust element types that arrays hold.
pub trait Element: Copy + Send + Sync + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Wrap elements (a `Vec` or a [`Buffer`]) as array data.
    fn into_data(v: impl Into<Buffer<Self>>) -> Data;
    /// The elements, if `d` holds this type.
    fn slice(d: &Data) -> Option<&[Self]>;
    /// The value as a [`Scalar`].
    fn scalar(self) -> Scalar;
    /// The vector inside `d` if it holds `Self`s (no copy), else `d` back.
    fn from_data(d: Data) -> std::result::Result<Vec<Self>, Data>;
    /// A scalar of any dtype converted to this type (`convert_element_type`'s rules).
    fn from_scalar(s: Scalar) -> Self;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn into_data(v: impl Into<Buffer<Self>>) -> Data {
                Data::$variant(v.into())
            }
            fn slice(d: &Data) -> Option<&[Self]> {
                match d {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            #[inline]
            fn scalar(self) -> Scalar {
                Scalar::$variant(self)
            }
            fn from_data(d: Data) -> std::result::Result<Vec<Self>, Data> {
                match d {
                    Data::$variant(v) => Ok(v.into_vec()),
                    other => Err(other),
                }
            }
            #[inline]
            fn from_scalar(s: Scalar) -> Self {
                match s.convert(DType::$variant) {
                    Scalar::$variant(v) => v,
                    _ => unreachable!("convert gives a scalar of the dtype asked for"),
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
element!(i8, I8);
element!(i16, I16);
element!(i32, I32);
element!(i64, I64);
element!(u8, U8);
element!(u16, U16);
element!(u32, U32);
element!(u64, U64);
element!(f16, F16);
element!(bf16, BF16);
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

    /// An array holding `data` (any dtype) with `shape`; errors if the sizes disagree.
    ///
    /// # Errors
    /// A shape whose element count is not `data.len()`.
    pub fn from_data(data: Data, shape: &[usize]) -> Result<Array> {
        let size: usize = shape.iter().product();
        if size != data.len() {
            return Err(Error::type_err(format!(
                "cannot make an array of shape {} from {} elements",
                shape_str(shape),
                data.len()
            )));
        }
        Ok(Array::from_concrete(Aval::new(shape, data.dtype()), data))
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
        Array::from_concrete(Aval::scalar(T::DTYPE), T::into_data(Buffer::one(v)))
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
        // Zeros, then a one every n + 1 elements (the diagonal: r * n + r).
        let data = data_of_dtype!(dtype, T => {
            let mut v = Buffer::filled(T::from_scalar(Scalar::F64(0.0)), n * n);
            v.iter_mut()
                .step_by(n + 1)
                .for_each(|d| *d = T::from_scalar(Scalar::F64(1.0)));
            v
        });
        Array::from_concrete(Aval::new([n, n], dtype), data)
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
        let values = match (self.data(), other.data()) {
            (Ok(a), Ok(b)) => a.dtype() == b.dtype() && a.to_bits() == b.to_bits(),
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

/// `f` of the arrays' types, on the stack: binding a primitive allocates no list of types
/// (one or two operands, nearly every primitive's, as a plain array: building even a small
/// vector of them cost as much as the primitive's type rule).
pub(crate) fn with_avals<R>(args: &[Array], f: impl FnOnce(&[&Aval]) -> R) -> R {
    match args {
        [x] => f(&[x.aval()]),
        [x, y] => f(&[x.aval(), y.aval()]),
        _ => {
            let avals: smallvec::SmallVec<[&Aval; 4]> = args.iter().map(Array::aval).collect();
            f(&avals)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_bits_in_order_of_appearance_up_to_most() {
        let d = Data::F32(vec![0.0f32, 0.0, 1.0, 0.0, -0.0, 1.0].into());
        assert_eq!(d.distinct_bits(2), None, "0.0, 1.0 and -0.0 are three");
        let d = Data::F32(vec![0.0f32, 0.0, 1.0, 0.0, 1.0].into());
        let bits = vec![0u64, 1.0f32.to_bits() as u64];
        assert_eq!(d.distinct_bits(2), Some(bits));
        assert_eq!(d.distinct_bits(1), None);
        let d = Data::I32(vec![7, 7, 7].into());
        assert_eq!(d.distinct_bits(1), Some(vec![7]));
    }

    #[test]
    fn buffers_compare_by_elements_however_held() {
        // A scalar's element is inline, a `Vec` converted in stays a `Vec`: the same data.
        let inline = Array::scalar(2.0f32);
        let heap = Data::F32(vec![2.0f32].into());
        assert_eq!(inline.data().unwrap(), &heap);
        assert_ne!(inline.data().unwrap(), &Data::F32(vec![3.0f32].into()));
        assert_eq!(format!("{heap:?}"), "F32([2.0])");
        // Collecting builds either form, by length.
        let one: Buffer<i32> = std::iter::once(7).collect();
        let three: Buffer<i32> = (0..3).collect();
        assert_eq!((&*one, &*three), (&[7][..], &[0, 1, 2][..]));
        assert_eq!(three.into_vec(), vec![0, 1, 2]);
        assert!((0..0).collect::<Buffer<i32>>().is_empty());
    }

    #[test]
    fn large_compiled_outputs_are_mapped_pooled_and_copied_out_whole() {
        use crate::api::Function;
        // 3 MiB of f32 (over `pages::MIN_BYTES`), from a compiled call: a mapped buffer.
        let n = 3 << 18;
        let x = Array::from_vec((0..n).map(|i| i as f32).collect(), &[n]).unwrap();
        let f = crate::jit(|x: &Array| x * 2.0);
        let y = f.call((x.clone(),)).unwrap();
        let Data::F32(Buffer(Store::Pages(..))) = y.data().unwrap() else {
            panic!("a 3 MiB output is a mapped buffer");
        };
        let want: Vec<f32> = (0..n).map(|i| 2.0 * i as f32).collect();
        assert_eq!(y.as_slice::<f32>().unwrap(), &want[..]);
        // A clone and `into_vec` copy every element out.
        assert_eq!(y.clone().as_slice::<f32>().unwrap(), &want[..]);
        let at = y.as_slice::<f32>().unwrap().as_ptr();
        assert_eq!(y.data().unwrap().clone(), Data::F32(want.clone().into()));
        assert_eq!(y.into_vec::<f32>().unwrap(), want);
        // Dropped (by `into_vec`), the mapping went back to the pool: the next call reuses it.
        let again = f.call((x,)).unwrap();
        assert_eq!(again.as_slice::<f32>().unwrap().as_ptr(), at);
        assert_eq!(again.as_slice::<f32>().unwrap(), &want[..]);
    }
}
