//! `serde` support and conversions from and to `serde_json`.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::object::dedup_keys;
use crate::{Error, Number, Object, Value};

/// Converts any `Serialize` value into a [`Value`].
///
/// This is the convenient path, not the fast one: it goes through `serde_json::to_value` and
/// converts the result (so object keys come out in `serde_json`'s order, sorted unless its
/// `preserve_order` feature is on). For speed, build [`Value`]s directly or parse text.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    Ok(Value::from(serde_json::to_value(value)?))
}

/// Converts a [`Value`] into any `Deserialize` type.
///
/// This is the convenient path, not the fast one: the value is converted to a
/// `serde_json::Value` and handed to `serde_json::from_value`.
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    Ok(serde_json::from_value(serde_json::Value::from(value))?)
}

impl Serialize for Number {
    /// Integer literals that fit are serialized as `u64`/`i64`; anything else as the `f64`
    /// it converts to (infinity if it overflows, which `serde_json` writes as `null`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(u) = self.as_u64() {
            serializer.serialize_u64(u)
        } else if let Some(i) = self.as_i64() {
            serializer.serialize_i64(i)
        } else {
            serializer.serialize_f64(self.as_f64().unwrap_or(f64::INFINITY))
        }
    }
}

impl Serialize for Object {
    /// A map with the entries in order.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Number(n) => n.serialize(serializer),
            Self::String(s) => serializer.serialize_str(s),
            Self::Array(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for element in a {
                    seq.serialize_element(element)?;
                }
                seq.end()
            }
            Self::Object(o) => o.serialize(serializer),
        }
    }
}

/// Builds [`Value`]s from any self-describing format.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(element) = seq.next_element()? {
            elements.push(element);
        }
        Ok(Value::Array(elements))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        ObjectVisitor.visit_map(map).map(Value::Object)
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Any JSON-like value; integers become their decimal text, floats their shortest text
    /// (non-finite floats become `Null`), maps become objects in their order (a repeated key:
    /// last value, first position).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Builds [`Object`]s from maps.
struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        let mut entries: Vec<(String, Value)> =
            Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        dedup_keys(&mut entries);
        Ok(Object::from_unique(entries))
    }
}

impl<'de> Deserialize<'de> for Object {
    /// A map (a repeated key: last value, first position).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Builds [`Number`]s from numbers.
struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON number")
    }

    fn visit_i64<E>(self, v: i64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Number::from_f64(v).ok_or_else(|| E::custom("JSON numbers must be finite"))
    }
}

impl<'de> Deserialize<'de> for Number {
    /// A finite number.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

impl From<serde_json::Value> for Value {
    /// Converts recursively; numbers keep `serde_json`'s text for them, objects its key order.
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(b),
            serde_json::Value::Number(n) => Self::Number(Number::from(n)),
            serde_json::Value::String(s) => Self::String(s),
            serde_json::Value::Array(a) => Self::Array(a.into_iter().map(Self::from).collect()),
            serde_json::Value::Object(o) => Self::Object(Object::from(o)),
        }
    }
}

impl From<serde_json::Number> for Number {
    /// `serde_json`'s text for the number.
    fn from(number: serde_json::Number) -> Self {
        let text = number.to_string();
        text.parse().unwrap_or_else(|_| {
            // Only possible with serde_json's `arbitrary_precision` feature.
            number
                .as_f64()
                .and_then(Number::from_f64)
                .unwrap_or_else(|| Number::from(0u8))
        })
    }
}

impl From<Value> for serde_json::Value {
    /// Converts recursively. Integer literals that fit become `u64`/`i64` numbers; other
    /// numbers (fractions, exponents, `-0`, big integers) become the nearest `f64` — correctly
    /// rounded by the standard library, where `serde_json`'s own parser (without its
    /// `float_roundtrip` feature) is occasionally one unit in the last place off. A number
    /// overflowing `f64` (`1e400`, which `serde_json` rejects) becomes `Null`.
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            Value::Number(n) => {
                let number = if let Some(u) = n.as_u64() {
                    Some(serde_json::Number::from(u))
                } else if let Some(i) = n.as_i64() {
                    Some(serde_json::Number::from(i))
                } else {
                    n.as_f64().and_then(serde_json::Number::from_f64)
                };
                number.map_or(Self::Null, Self::Number)
            }
            Value::String(s) => Self::String(s),
            Value::Array(a) => Self::Array(a.into_iter().map(Self::from).collect()),
            Value::Object(o) => Self::Object(serde_json::Map::from(o)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Line {
        sku: String,
        qty: u32,
        price: f64,
    }

    #[test]
    fn to_and_from_value() -> Result<(), Error> {
        let line = Line {
            sku: "A-1".into(),
            qty: 3,
            price: 152.37,
        };
        let value = to_value(&line)?;
        assert_eq!(value.to_string(), r#"{"price":152.37,"qty":3,"sku":"A-1"}"#);
        let back: Line = from_value(value)?;
        assert_eq!(back, line);
        let err = from_value::<Line>(Value::from("x"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid type: string \"x\", expected struct Line")
        );
        Ok(())
    }

    #[test]
    fn serialize_through_serde_json() -> Result<(), Error> {
        let text = r#"{"z":1,"a":[-2,1.5,18446744073709551615,-0,1e400,"s",null,true],"m":{}}"#;
        let value = crate::from_str(text)?;
        let out = serde_json::to_string(&value)?;
        // serde_json writes maps as it receives them: in our order.
        assert_eq!(
            out,
            r#"{"z":1,"a":[-2,1.5,18446744073709551615,-0.0,null,"s",null,true],"m":{}}"#
        );
        let back: Value = serde_json::from_str(&text.replace("1e400", "1e40"))?;
        assert_eq!(
            back.to_string(),
            r#"{"z":1,"a":[-2,1.5,18446744073709551615,-0.0,1e+40,"s",null,true],"m":{}}"#
        );
        let object: Object = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#)?;
        assert_eq!(Value::from(object).to_string(), r#"{"b":3,"a":2}"#);
        let number: Number = serde_json::from_str("12.5")?;
        assert_eq!(number.as_str(), "12.5");
        assert!(serde_json::from_str::<Number>("\"1\"").is_err());
        Ok(())
    }

    #[test]
    fn serde_json_conversions() -> Result<(), Error> {
        let text = r#"{"b":[1,-1,0.5,12345678901234567890123,1e400],"a":{"x":"y"}}"#;
        let ours = crate::from_str(text)?;
        let theirs = serde_json::Value::from(ours.clone());
        assert_eq!(
            theirs,
            serde_json::json!({"a": {"x": "y"}, "b": [1, -1, 0.5, 1.2345678901234568e22, null]})
        );
        let round = Value::from(theirs);
        assert_eq!(
            round.to_string(),
            r#"{"a":{"x":"y"},"b":[1,-1,0.5,1.2345678901234568e+22,null]}"#
        );
        let map = serde_json::Map::from_iter([("k".to_owned(), serde_json::json!(1))]);
        assert_eq!(Object::from(map)["k"], 1);
        Ok(())
    }
}
