//! A guest's result as the runtime hands it on: its JSON text, checked once for the shape the
//! function's kind must return, and parsed into [`Value`]s only by the callers that read it.
//!
//! The check is one pass over the text with serde_json's own parser that builds nothing but a
//! [`Shape`]: the type of the result, and for an object the types of its fields; for arrays
//! their length and whether every entry is an object. That is all the result rules of
//! extensions.md look at, so a page of records is not turned into `Value`s just to be checked
//! (and again by whoever reads it).

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::GuestError;

/// A guest's result: valid JSON of the shape its kind must return.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    json: Vec<u8>,
}

impl Output {
    /// `json` once [`Shape::scan`] and the kind's check accepted it.
    pub(super) fn checked(json: Vec<u8>) -> Self {
        Self { json }
    }

    /// The result's JSON text.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The result as a [`Value`]. The text was read by the same parser, with the same nesting
    /// limit, when it was checked, so this does not fail; should it, the error says so.
    pub fn into_value(self) -> Result<Value, GuestError> {
        crate::util::parse_json(&self.json)
            .map_err(|e| GuestError::InvalidOutput(format!("the result cannot be read back: {e}")))
    }
}

/// What the result checks look at in a JSON value: for an object, the types of its fields
/// ([`Kind`]); for anything else, its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A value that is not an object.
    Value(Kind),
    /// An object: its fields in order, the last one kept when a name repeats.
    Object(Vec<(String, Kind)>),
}

/// The type of a JSON value (the fields of an object inside it are not looked into).
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// An integer that fits `u64`.
    Unsigned,
    /// Any other number.
    Number,
    /// A string.
    String,
    /// An array.
    Array(Entries),
    /// An object.
    Object,
}

/// The entries of an array, as far as the checks look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entries {
    /// How many.
    pub len: usize,
    /// The index of the first entry that is not an object.
    pub first_non_object: Option<usize>,
}

impl Shape {
    /// Read `json` (UTF-8 JSON text) into its shape, or say why it is not JSON.
    pub fn scan(json: &[u8]) -> serde_json::Result<Shape> {
        crate::util::parse_json::<ShapeOf>(json).map(|s| s.0)
    }

    /// The shape of a `Value`.
    pub fn of(value: &Value) -> Shape {
        match value {
            Value::Object(map) => Shape::Object(
                map.iter()
                    .map(|(name, field)| (name.clone(), Kind::of(field)))
                    .collect(),
            ),
            other => Shape::Value(Kind::of(other)),
        }
    }

    /// The type of field `name` (`Kind::Null` when absent or when this is not an object).
    pub fn field(&self, name: &str) -> &Kind {
        match self {
            Shape::Object(fields) => fields
                .iter()
                .find(|(n, _)| n == name)
                .map_or(&Kind::Null, |(_, kind)| kind),
            _ => &Kind::Null,
        }
    }
}

impl Kind {
    fn of(value: &Value) -> Kind {
        match value {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(n) if n.is_u64() => Kind::Unsigned,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(items) => Kind::Array(Entries {
                len: items.len(),
                first_non_object: items.iter().position(|i| !i.is_object()),
            }),
            Value::Object(_) => Kind::Object,
        }
    }
}

/// Deserializes a [`Shape`].
struct ShapeOf(Shape);

impl<'de> serde::Deserialize<'de> for ShapeOf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TypeVisitor { top: true })
            .map(|t| {
                ShapeOf(match t {
                    Typed::Kind(kind) => Shape::Value(kind),
                    Typed::Fields(fields) => Shape::Object(fields),
                })
            })
    }
}

/// What [`TypeVisitor`] found: a kind, or (at the top) an object's fields.
enum Typed {
    Kind(Kind),
    Fields(Vec<(String, Kind)>),
}

/// Reads one value's type; at the top it also reads an object's fields.
struct TypeVisitor {
    top: bool,
}

impl<'de> DeserializeSeed<'de> for TypeVisitor {
    type Value = Kind;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        match deserializer.deserialize_any(self)? {
            Typed::Kind(kind) => Ok(kind),
            Typed::Fields(_) => Ok(Kind::Object),
        }
    }
}

impl<'de> Visitor<'de> for TypeVisitor {
    type Value = Typed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Typed, E> {
        Ok(Typed::Kind(Kind::Null))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Typed, E> {
        Ok(Typed::Kind(Kind::Bool))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Typed, E> {
        Ok(Typed::Kind(Kind::Unsigned))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Typed, E> {
        Ok(Typed::Kind(Kind::Number))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Typed, E> {
        Ok(Typed::Kind(Kind::Number))
    }

    fn visit_str<E>(self, _: &str) -> Result<Typed, E> {
        Ok(Typed::Kind(Kind::String))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Typed, A::Error> {
        let mut entries = Entries {
            len: 0,
            first_non_object: None,
        };
        while let Some(is_object) = seq.next_element_seed(IsObject)? {
            if !is_object && entries.first_non_object.is_none() {
                entries.first_non_object = Some(entries.len);
            }
            entries.len += 1;
        }
        Ok(Typed::Kind(Kind::Array(entries)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Typed, A::Error> {
        if !self.top {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Typed::Kind(Kind::Object));
        }
        let mut fields: Vec<(String, Kind)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let kind = map.next_value_seed(TypeVisitor { top: false })?;
            match fields.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => *existing = kind,
                None => fields.push((name, kind)),
            }
        }
        Ok(Typed::Fields(fields))
    }
}

/// Reads one value, telling whether it is an object.
struct IsObject;

impl<'de> DeserializeSeed<'de> for IsObject {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer
            .deserialize_any(TypeVisitor { top: false })
            .map(|t| matches!(t, Typed::Kind(Kind::Object) | Typed::Fields(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_shape_read_from_text_is_the_shape_of_the_parsed_value() {
        for value in [
            json!(null),
            json!(true),
            json!(7),
            json!(-7),
            json!(1.5),
            json!("text"),
            json!([]),
            json!([{}, {"a": [1, {"b": 2}]}, 3, {}]),
            json!({"data": [{"id": 1}, 2], "errors": [], "abort": false, "n": 3, "x": {"y": [1]}}),
            json!({"a": 1, "b": null, "c": -1, "d": "s", "e": {"deep": {"deeper": [[]]}}}),
        ] {
            let text = serde_json::to_vec(&value).expect("serializes");
            assert_eq!(
                Shape::scan(&text).expect("scans"),
                Shape::of(&value),
                "{value}"
            );
        }
    }

    #[test]
    fn a_repeated_field_keeps_its_last_value_like_a_parsed_value() {
        let text = br#"{"data": 1, "abort": true, "data": [{}]}"#;
        let value: Value = serde_json::from_slice(text).expect("parses");
        let shape = Shape::scan(text).expect("scans");
        for field in ["data", "abort"] {
            assert_eq!(shape.field(field), Shape::of(&value).field(field));
        }
        assert_eq!(
            shape.field("data"),
            &Kind::Array(Entries {
                len: 1,
                first_non_object: None
            })
        );
    }

    #[test]
    fn what_serde_json_refuses_the_scan_refuses_with_the_same_message() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for bad in [
            &b"{\"data\": [1, 2,]}"[..],
            b"{\"data\": [1 2]}",
            b"[\"\x01\"]",
            b"{\"a\": tru}",
            b"[] x",
            b"\xff",
            deep.as_bytes(),
        ] {
            let theirs = crate::util::parse_json::<Value>(bad).expect_err("malformed");
            let ours = Shape::scan(bad).expect_err("malformed");
            assert_eq!(ours.to_string(), theirs.to_string());
        }
    }

    #[test]
    fn an_output_turns_into_the_value_of_its_text() {
        let value = json!({"data": [{"id": 1, "name": "ü\n"}], "abort": false});
        let output = Output::checked(serde_json::to_vec(&value).expect("serializes"));
        assert_eq!(output.clone().into_value(), Ok(value.clone()));
        assert_eq!(output.json(), serde_json::to_vec(&value).expect("again"));
    }
}
