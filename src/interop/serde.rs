//! `serde` support (feature `serde`): an [`Array`] is the struct `{shape, dtype, data}` (`dtype`
//! by its NumPy name, `data` the row-major elements of that type, so every value round-trips
//! exactly), a [`DType`] its NumPy name. Deserializing checks that the data's length is the
//! shape's size; `dtype` must come before `data` (as serializing writes them).

use crate::array::{Array, Data};
use crate::dtype::{DType, Scalar};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

impl Serialize for DType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.numpy_name())
    }
}

impl<'de> Deserialize<'de> for DType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DType, D::Error> {
        let name = String::deserialize(d)?;
        crate::ir::parse::dtype_named(&name).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown dtype `{name}`: cranax has bool, int8-int64, uint8-uint64, float16, \
                 bfloat16, float32 and float64"
            ))
        })
    }
}

impl Serialize for Array {
    /// # Errors
    /// A tracer has no data to write (the serializer's error).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let data = self.data().map_err(serde::ser::Error::custom)?;
        let mut st = s.serialize_struct("Array", 3)?;
        st.serialize_field("shape", self.shape())?;
        st.serialize_field("dtype", &self.dtype())?;
        match data {
            Data::Bool(v) => st.serialize_field("data", &**v)?,
            Data::I8(v) => st.serialize_field("data", &**v)?,
            Data::I16(v) => st.serialize_field("data", &**v)?,
            Data::I32(v) => st.serialize_field("data", &**v)?,
            Data::I64(v) => st.serialize_field("data", &**v)?,
            Data::U8(v) => st.serialize_field("data", &**v)?,
            Data::U16(v) => st.serialize_field("data", &**v)?,
            Data::U32(v) => st.serialize_field("data", &**v)?,
            Data::U64(v) => st.serialize_field("data", &**v)?,
            // The 16-bit floats as their (exact) f32 values, read back by rounding.
            Data::F16(v) => st.serialize_field("data", &widened(v, half::f16::to_f32))?,
            Data::BF16(v) => st.serialize_field("data", &widened(v, half::bf16::to_f32))?,
            Data::F32(v) => st.serialize_field("data", &**v)?,
            Data::F64(v) => st.serialize_field("data", &**v)?,
        }
        st.end()
    }
}

fn widened<T: Copy>(v: &[T], f: fn(T) -> f32) -> Vec<f32> {
    v.iter().map(|&x| f(x)).collect()
}

/// Reads `data` as a vector of the dtype read before it.
struct DataOf(DType);

impl<'de> DeserializeSeed<'de> for DataOf {
    type Value = Data;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        let narrowed = |v: Vec<f32>| Data::from_scalars(self.0, v.into_iter().map(Scalar::F32));
        Ok(match self.0 {
            DType::Bool => Data::Bool(Vec::deserialize(d)?.into()),
            DType::I8 => Data::I8(Vec::deserialize(d)?.into()),
            DType::I16 => Data::I16(Vec::deserialize(d)?.into()),
            DType::I32 => Data::I32(Vec::deserialize(d)?.into()),
            DType::I64 => Data::I64(Vec::deserialize(d)?.into()),
            DType::U8 => Data::U8(Vec::deserialize(d)?.into()),
            DType::U16 => Data::U16(Vec::deserialize(d)?.into()),
            DType::U32 => Data::U32(Vec::deserialize(d)?.into()),
            DType::U64 => Data::U64(Vec::deserialize(d)?.into()),
            DType::F16 | DType::BF16 => narrowed(Vec::deserialize(d)?),
            DType::F32 => Data::F32(Vec::deserialize(d)?.into()),
            DType::F64 => Data::F64(Vec::deserialize(d)?.into()),
        })
    }
}

const FIELDS: &[&str] = &["shape", "dtype", "data"];

struct ArrayVisitor;

fn build<E: de::Error>(shape: Vec<usize>, data: Data) -> Result<Array, E> {
    let n = data.len();
    let aval = crate::core::aval::Aval::new(shape, data.dtype());
    if aval.size() != n {
        return Err(E::custom(format!(
            "cannot make an array of shape {} from {n} elements",
            crate::core::error::shape_str(&aval.shape)
        )));
    }
    Ok(Array::from_concrete(aval, data))
}

impl<'de> Visitor<'de> for ArrayVisitor {
    type Value = Array;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array {shape, dtype, data}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Array, A::Error> {
        let shape: Vec<usize> = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let dtype: DType = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let data = seq
            .next_element_seed(DataOf(dtype))?
            .ok_or_else(|| de::Error::invalid_length(2, &self))?;
        build(shape, data)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Array, A::Error> {
        let (mut shape, mut dtype, mut data) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "shape" => shape = Some(map.next_value::<Vec<usize>>()?),
                "dtype" => dtype = Some(map.next_value::<DType>()?),
                "data" => {
                    let dt = dtype.ok_or_else(|| {
                        de::Error::custom("an array's `dtype` must come before its `data`")
                    })?;
                    data = Some(map.next_value_seed(DataOf(dt))?);
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let shape = shape.ok_or_else(|| de::Error::missing_field("shape"))?;
        let data = data.ok_or_else(|| de::Error::missing_field("data"))?;
        build(shape, data)
    }
}

impl<'de> Deserialize<'de> for Array {
    /// # Errors
    /// An unknown dtype, elements not of that dtype, or a data length that is not the shape's
    /// size.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Array, D::Error> {
        d.deserialize_struct("Array", FIELDS, ArrayVisitor)
    }
}
