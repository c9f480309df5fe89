//! [`probe`]: what a type's `Deserialize` shows of its shape without any data — the field names
//! of a struct, or that it is no object at all — so that application claims that would collide
//! are refused when the sessions are built, before any token exists.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeOwned, Visitor};

/// The shape of `T` as far as its type shows it.
pub(super) fn probe<T: DeserializeOwned>() -> Result<T, Shape> {
    T::deserialize(Probe)
}

/// What [`Probe`] learned of a type: the one thing it stops at.
#[derive(Debug)]
pub(super) enum Shape {
    /// A struct with these fields.
    Fields(&'static [&'static str]),
    /// Not an object at all: a string, a number, …
    Other(&'static str),
    /// An object whose keys only a value shows (a map, a flattened struct), or a type that
    /// decides its shape at run time.
    Unknown,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Shape {}

impl de::Error for Shape {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self::Unknown
    }
}

/// A deserializer with no data: it asks a type for its shape and stops there, looking through
/// `Option`, newtypes and `#[serde(transparent)]` wrappers.
struct Probe;

macro_rules! stop_at {
    ($shape:expr => $($method:ident),*) => {
        $(fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Shape> {
            Err($shape)
        })*
    };
}

impl<'de> Deserializer<'de> for Probe {
    type Error = Shape;

    stop_at!(Shape::Other("a boolean") => deserialize_bool);
    stop_at!(Shape::Other("a number") => deserialize_i8, deserialize_i16, deserialize_i32,
        deserialize_i64, deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32,
        deserialize_u64, deserialize_u128, deserialize_f32, deserialize_f64);
    stop_at!(Shape::Other("a string") => deserialize_char, deserialize_str, deserialize_string);
    stop_at!(Shape::Other("bytes") => deserialize_bytes, deserialize_byte_buf);
    stop_at!(Shape::Other("an array") => deserialize_seq);
    stop_at!(Shape::Unknown => deserialize_any, deserialize_map, deserialize_identifier,
        deserialize_ignored_any);

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Shape> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Shape> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Shape> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Shape> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Shape> {
        Err(Shape::Other("an array"))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Shape> {
        Err(Shape::Other("an array"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Shape> {
        Err(Shape::Fields(fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Shape> {
        // A unit variant serialises as a string, the others as an object: only a value tells.
        Err(Shape::Unknown)
    }
}
