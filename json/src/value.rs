//! The JSON value type and its `serde_json`-like API.

use std::borrow::Cow;
use std::fmt;
use std::ops;
use std::str::FromStr;

use crate::{Error, Number, Object};

/// A JSON value.
///
/// The API mirrors `serde_json::Value`: [`get`](Self::get), [`pointer`](Self::pointer),
/// indexing (`value["key"]`, `value[0]`, returning `Null` when absent and inserting on
/// assignment), the `is_*`/`as_*` accessors, [`take`](Self::take) and the `From` conversions.
/// Objects keep their key order and numbers keep their text (see the [crate] docs).
///
/// `Display` writes compact JSON (`value.to_string()`); the alternate form `{:#}` writes it
/// pretty-printed.
#[derive(Clone, Default, PartialEq)]
// A whole-word tag: values are then built and copied as four aligned words, which the parser
// relies on to store them without stalls (a byte-sized tag made it about 20% slower).
#[repr(u64)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its JSON text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, in key order.
    Object(Object),
}

/// The static `Null` that indexing returns for absent keys and indexes.
static NULL: Value = Value::Null;

impl Value {
    /// The value at `index`: a key (`&str`, `String`) of an object or a position (`usize`) in
    /// an array. `None` if absent or if `self` is of another type.
    ///
    /// ```
    /// let v = integrator_json::from_str(r#"{"a":[10,20]}"#)?;
    /// assert_eq!(v.get("a").and_then(|a| a.get(1)), Some(&20.into()));
    /// assert_eq!(v.get("b"), None);
    /// assert_eq!(v.get(0), None);
    /// # Ok::<(), integrator_json::Error>(())
    /// ```
    pub fn get<I: Index>(&self, index: I) -> Option<&Value> {
        index.index_into(self)
    }

    /// Like [`get`](Self::get), for modification.
    pub fn get_mut<I: Index>(&mut self, index: I) -> Option<&mut Value> {
        index.index_into_mut(self)
    }

    /// Whether the value is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// Whether the value is a `Bool`.
    pub fn is_boolean(&self) -> bool {
        matches!(self, Self::Bool(_))
    }

    /// Whether the value is a `Number`.
    pub fn is_number(&self) -> bool {
        matches!(self, Self::Number(_))
    }

    /// Whether the value is a `String`.
    pub fn is_string(&self) -> bool {
        matches!(self, Self::String(_))
    }

    /// Whether the value is an `Array`.
    pub fn is_array(&self) -> bool {
        matches!(self, Self::Array(_))
    }

    /// Whether the value is an `Object`.
    pub fn is_object(&self) -> bool {
        matches!(self, Self::Object(_))
    }

    /// Whether the value is a number that is an integer literal fitting `i64`.
    pub fn is_i64(&self) -> bool {
        self.as_number().is_some_and(Number::is_i64)
    }

    /// Whether the value is a number that is an integer literal fitting `u64`.
    pub fn is_u64(&self) -> bool {
        self.as_number().is_some_and(Number::is_u64)
    }

    /// Whether the value is a number that is not an integer fitting `i64` or `u64`.
    pub fn is_f64(&self) -> bool {
        self.as_number().is_some_and(Number::is_f64)
    }

    /// `Some(())` if the value is `Null`.
    pub fn as_null(&self) -> Option<()> {
        self.is_null().then_some(())
    }

    /// The boolean, if the value is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string, if the value is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if the value is a `Number`.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Self::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as an `f64`, if the value is a `Number` that does not overflow `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().and_then(Number::as_f64)
    }

    /// The number as an `i64`, if the value is an integer literal that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as a `u64`, if the value is a non-negative integer literal that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The elements, if the value is an `Array`.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements for modification, if the value is an `Array`.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object, if the value is an `Object`.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The object for modification, if the value is an `Object`.
    pub fn as_object_mut(&mut self) -> Option<&mut Object> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Takes the value out, leaving `Null` in its place.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// Looks up a value by JSON Pointer (RFC 6901), e.g. `"/lines/0/sku"`. The empty pointer
    /// is the value itself; `~1` stands for `/` and `~0` for `~` in a token; array indexes are
    /// decimal without leading zeros. `None` if the pointer does not start with `/` (and is
    /// not empty) or does not lead to a value.
    ///
    /// ```
    /// let v = integrator_json::from_str(r#"{"a/b":[{"c":1}]}"#)?;
    /// assert_eq!(v.pointer("/a~1b/0/c"), Some(&1.into()));
    /// assert_eq!(v.pointer("/a~1b/01/c"), None);
    /// # Ok::<(), integrator_json::Error>(())
    /// ```
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        let tokens = pointer.strip_prefix('/')?;
        tokens
            .split('/')
            .map(unescape_token)
            .try_fold(self, |target, token| match target {
                Self::Object(object) => object.get(&token),
                Self::Array(array) => parse_array_index(&token).and_then(|i| array.get(i)),
                _ => None,
            })
    }

    /// Like [`pointer`](Self::pointer), for modification.
    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        let tokens = pointer.strip_prefix('/')?;
        tokens
            .split('/')
            .map(unescape_token)
            .try_fold(self, |target, token| match target {
                Self::Object(object) => object.get_mut(&token),
                Self::Array(array) => parse_array_index(&token).and_then(move |i| array.get_mut(i)),
                _ => None,
            })
    }

    /// The value as compact JSON bytes (same as [`to_vec`](crate::to_vec)).
    pub fn to_vec(&self) -> Vec<u8> {
        crate::to_vec(self)
    }

    /// The value as pretty-printed JSON bytes (same as [`to_vec_pretty`](crate::to_vec_pretty)).
    pub fn to_vec_pretty(&self) -> Vec<u8> {
        crate::to_vec_pretty(self)
    }

    /// The type's name as `serde_json` words it in messages.
    fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Number(_) => "number",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
        }
    }
}

/// Decodes `~1` to `/` and `~0` to `~` in a JSON Pointer token.
fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// An RFC 6901 array index: decimal digits without a sign or leading zeros.
fn parse_array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

mod private {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for str {}
    impl Sealed for String {}
    impl<T: ?Sized + Sealed> Sealed for &T {}
}

/// Something that can index into a [`Value`]: a key (`&str`, `String`) of an object or a
/// position (`usize`) in an array. Used by [`Value::get`], [`Value::get_mut`] and the `[]`
/// operators. This trait is sealed; it mirrors `serde_json::value::Index`.
pub trait Index: private::Sealed {
    /// The indexed value, if present.
    #[doc(hidden)]
    fn index_into<'v>(&self, value: &'v Value) -> Option<&'v Value>;

    /// The indexed value for modification, if present.
    #[doc(hidden)]
    fn index_into_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value>;

    /// The indexed value for assignment: keys are inserted into objects (and `Null` becomes
    /// an object); panics where `serde_json` panics.
    #[doc(hidden)]
    fn index_or_insert<'v>(&self, value: &'v mut Value) -> &'v mut Value;
}

impl Index for usize {
    fn index_into<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match value {
            Value::Array(array) => array.get(*self),
            _ => None,
        }
    }

    fn index_into_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        match value {
            Value::Array(array) => array.get_mut(*self),
            _ => None,
        }
    }

    fn index_or_insert<'v>(&self, value: &'v mut Value) -> &'v mut Value {
        match value {
            Value::Array(array) => {
                let len = array.len();
                array.get_mut(*self).unwrap_or_else(|| {
                    panic!("cannot access index {self} of JSON array of length {len}")
                })
            }
            _ => panic!("cannot access index {} of JSON {}", self, value.type_name()),
        }
    }
}

impl Index for str {
    fn index_into<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match value {
            Value::Object(object) => object.get(self),
            _ => None,
        }
    }

    fn index_into_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        match value {
            Value::Object(object) => object.get_mut(self),
            _ => None,
        }
    }

    fn index_or_insert<'v>(&self, value: &'v mut Value) -> &'v mut Value {
        if value.is_null() {
            *value = Value::Object(Object::new());
        }
        match value {
            Value::Object(object) => object.get_or_insert_null(self),
            _ => panic!("cannot access key {:?} in JSON {}", self, value.type_name()),
        }
    }
}

impl Index for String {
    fn index_into<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.as_str().index_into(value)
    }

    fn index_into_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        self.as_str().index_into_mut(value)
    }

    fn index_or_insert<'v>(&self, value: &'v mut Value) -> &'v mut Value {
        self.as_str().index_or_insert(value)
    }
}

impl<T: ?Sized + Index> Index for &T {
    fn index_into<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        (**self).index_into(value)
    }

    fn index_into_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        (**self).index_into_mut(value)
    }

    fn index_or_insert<'v>(&self, value: &'v mut Value) -> &'v mut Value {
        (**self).index_or_insert(value)
    }
}

impl<I: Index> ops::Index<I> for Value {
    type Output = Value;

    /// `value["key"]` or `value[0]`: the indexed value, or a static `Null` when absent or when
    /// `self` is of another type (like `serde_json`).
    fn index(&self, index: I) -> &Value {
        index.index_into(self).unwrap_or(&NULL)
    }
}

impl<I: Index> ops::IndexMut<I> for Value {
    /// `value["key"] = ...` or `value[0] = ...`, like `serde_json`: with a key, `Null` first
    /// becomes an empty object and an absent key is inserted (as `Null`, at the end); with a
    /// position, the element must exist.
    ///
    /// # Panics
    ///
    /// With a key, if the value is neither `Null` nor an object; with a position, if the value
    /// is not an array or the position is out of range.
    fn index_mut(&mut self, index: I) -> &mut Value {
        index.index_or_insert(self)
    }
}

impl fmt::Debug for Value {
    /// Like `serde_json`: `Null`, `Bool(true)`, `Number(1.5)`, `String("x")`, `Array [..]`,
    /// `Object {..}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Bool(b) => write!(f, "Bool({b})"),
            Self::Number(n) => fmt::Debug::fmt(n, f),
            Self::String(s) => write!(f, "String({s:?})"),
            Self::Array(a) => {
                f.write_str("Array ")?;
                fmt::Debug::fmt(a, f)
            }
            Self::Object(o) => {
                f.write_str("Object ")?;
                fmt::Debug::fmt(o, f)
            }
        }
    }
}

impl fmt::Display for Value {
    /// Compact JSON text; with `{:#}`, pretty-printed JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = if f.alternate() {
            crate::to_vec_pretty(self)
        } else {
            crate::to_vec(self)
        };
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Value {
    type Err = Error;

    /// Parses JSON text, like [`from_str`](crate::from_str).
    fn from_str(text: &str) -> Result<Self, Error> {
        crate::from_str(text)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Self::String(value.clone())
    }
}

impl From<Cow<'_, str>> for Value {
    fn from(value: Cow<'_, str>) -> Self {
        Self::String(value.into_owned())
    }
}

impl From<char> for Value {
    fn from(value: char) -> Self {
        Self::String(value.to_string())
    }
}

impl From<Number> for Value {
    fn from(value: Number) -> Self {
        Self::Number(value)
    }
}

impl From<Object> for Value {
    fn from(value: Object) -> Self {
        Self::Object(value)
    }
}

impl From<f64> for Value {
    /// A number, or `Null` for NaN and infinities (like `serde_json`).
    fn from(value: f64) -> Self {
        Number::from_f64(value).map_or(Self::Null, Self::Number)
    }
}

impl From<f32> for Value {
    /// The `f64` conversion of the value (like `serde_json`), or `Null` for NaN and infinities.
    fn from(value: f32) -> Self {
        Self::from(f64::from(value))
    }
}

impl From<()> for Value {
    /// `Null`.
    fn from((): ()) -> Self {
        Self::Null
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    /// An array of the converted elements.
    fn from(value: Vec<T>) -> Self {
        Self::Array(value.into_iter().map(Into::into).collect())
    }
}

impl<T: Clone + Into<Value>> From<&[T]> for Value {
    /// An array of the converted (cloned) elements.
    fn from(value: &[T]) -> Self {
        Self::Array(value.iter().cloned().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// The converted value, or `Null` for `None`.
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Into::into)
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    /// An array of the converted elements.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self::Array(iter.into_iter().map(Into::into).collect())
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Value {
    /// An object of the pairs in order (a repeated key: last value, first position).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::Object(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

macro_rules! from_integer {
    ($($ty:ty)*) => {$(
        impl From<$ty> for Value {
            fn from(value: $ty) -> Self {
                Self::Number(Number::from(value))
            }
        }
    )*};
}

from_integer!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<String> for Value {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

impl PartialEq<Value> for str {
    fn eq(&self, other: &Value) -> bool {
        other == self
    }
}

impl PartialEq<Value> for &str {
    fn eq(&self, other: &Value) -> bool {
        other == *self
    }
}

impl PartialEq<Value> for String {
    fn eq(&self, other: &Value) -> bool {
        other == self
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

impl PartialEq<Value> for bool {
    fn eq(&self, other: &Value) -> bool {
        other == self
    }
}

macro_rules! partial_eq_number {
    ($($ty:ty => $conv:ident as $wide:ty,)*) => {$(
        impl PartialEq<$ty> for Value {
            fn eq(&self, other: &$ty) -> bool {
                self.$conv() == Some(<$wide>::from(*other))
            }
        }

        impl PartialEq<Value> for $ty {
            fn eq(&self, other: &Value) -> bool {
                other == self
            }
        }
    )*};
}

partial_eq_number! {
    i8 => as_i64 as i64,
    i16 => as_i64 as i64,
    i32 => as_i64 as i64,
    i64 => as_i64 as i64,
    u8 => as_u64 as u64,
    u16 => as_u64 as u64,
    u32 => as_u64 as u64,
    u64 => as_u64 as u64,
    f32 => as_f64 as f64,
    f64 => as_f64 as f64,
}

impl PartialEq<isize> for Value {
    fn eq(&self, other: &isize) -> bool {
        self.as_i64() == i64::try_from(*other).ok()
    }
}

impl PartialEq<usize> for Value {
    fn eq(&self, other: &usize) -> bool {
        self.as_u64() == u64::try_from(*other).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        match crate::from_str(text) {
            Ok(v) => v,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn size_of_value() {
        assert!(std::mem::size_of::<Value>() <= 32);
        assert!(std::mem::size_of::<Result<Value, Error>>() <= 32);
    }

    #[test]
    fn index_and_get() {
        let v = parse(r#"{"a":{"b":[1,"two",null]},"c":true}"#);
        assert_eq!(v["a"]["b"][0], 1);
        assert_eq!(v["a"]["b"][1], "two");
        assert_eq!(v["a"]["b"][9], Value::Null);
        assert_eq!(v["zz"]["yy"][3], Value::Null);
        assert_eq!(v["c"][0], Value::Null);
        assert_eq!(v[0], Value::Null);
        assert_eq!(v["c"], true);
        assert_eq!(
            v.get("a").and_then(|a| a.get("b")).and_then(|b| b.get(1)),
            Some(&"two".into())
        );
        assert_eq!(v.get(String::from("c")), Some(&Value::Bool(true)));
        assert_eq!(v.get("missing"), None);
        assert_eq!(v["a"].get(0), None);
        let key = String::from("c");
        assert_eq!(v[&key], true);
    }

    #[test]
    fn index_mut() {
        let mut v = Value::Null;
        v["a"]["b"] = 1.into();
        v["a"]["c"] = "x".into();
        v["list"] = vec![1, 2, 3].into();
        v["list"][1] = Value::Null;
        v["a"]["b"] = 2.into();
        assert_eq!(v.to_string(), r#"{"a":{"b":2,"c":"x"},"list":[1,null,3]}"#);
        if let Some(x) = v.get_mut("a").and_then(|a| a.get_mut("c")) {
            *x = false.into();
        }
        assert_eq!(v["a"]["c"], false);
    }

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        match std::panic::catch_unwind(f) {
            Ok(()) => String::from("no panic"),
            Err(payload) => payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default(),
        }
    }

    #[test]
    fn index_mut_panics_like_serde_json() {
        type Case = Box<dyn FnOnce() + std::panic::UnwindSafe>;
        let cases: [(Case, &str); 4] = [
            (
                Box::new(|| {
                    let mut v = Value::from(vec![1, 2]);
                    v[2] = Value::Null;
                }),
                "cannot access index 2 of JSON array of length 2",
            ),
            (
                Box::new(|| {
                    let mut v = Value::from("s");
                    v[0] = Value::Null;
                }),
                "cannot access index 0 of JSON string",
            ),
            (
                Box::new(|| {
                    let mut v = Value::from(1);
                    v["k"] = Value::Null;
                }),
                "cannot access key \"k\" in JSON number",
            ),
            (
                Box::new(|| {
                    let mut v = Value::Array(Vec::new());
                    v["k"] = Value::Null;
                }),
                "cannot access key \"k\" in JSON array",
            ),
        ];
        for (f, expected) in cases {
            assert_eq!(panic_message(f), expected);
        }
        // serde_json panics with the same messages.
        let theirs = panic_message(|| {
            let mut v = serde_json::json!([1, 2]);
            v[2] = serde_json::Value::Null;
        });
        assert_eq!(theirs, "cannot access index 2 of JSON array of length 2");
        let theirs = panic_message(|| {
            let mut v = serde_json::json!(1);
            v["k"] = serde_json::Value::Null;
        });
        assert_eq!(theirs, "cannot access key \"k\" in JSON number");
    }

    #[test]
    fn pointer() {
        let mut v = parse(r#"{"a":[{"b":1},{"c/d":2,"e~f":3}],"":4," ":5,"x":{"":6}}"#);
        assert_eq!(v.pointer(""), Some(&v.clone()));
        assert_eq!(v.pointer("/a/0/b"), Some(&1.into()));
        assert_eq!(v.pointer("/a/1/c~1d"), Some(&2.into()));
        assert_eq!(v.pointer("/a/1/e~0f"), Some(&3.into()));
        assert_eq!(v.pointer("/"), Some(&4.into()));
        assert_eq!(v.pointer("/ "), Some(&5.into()));
        assert_eq!(v.pointer("/x/"), Some(&6.into()));
        assert_eq!(v.pointer("/a/01"), None);
        assert_eq!(v.pointer("/a/+1"), None);
        assert_eq!(v.pointer("/a/2"), None);
        assert_eq!(v.pointer("/a/-"), None);
        assert_eq!(v.pointer("a"), None);
        assert_eq!(v.pointer("/a/0/b/c"), None);
        if let Some(b) = v.pointer_mut("/a/0/b") {
            *b = "changed".into();
        }
        assert_eq!(v["a"][0]["b"], "changed");
        assert!(v.pointer_mut("/nope").is_none());
        // Same answers as serde_json.
        let theirs = serde_json::Value::from(v.clone());
        for p in [
            "",
            "/a/0/b",
            "/a/1/c~1d",
            "/a/1/e~0f",
            "/",
            "/ ",
            "/x/",
            "/a/01",
            "/a/+1",
            "/a/2",
            "a",
        ] {
            assert_eq!(
                v.pointer(p).cloned().map(serde_json::Value::from),
                theirs.pointer(p).cloned(),
                "{p}"
            );
        }
    }

    #[test]
    fn accessors_and_take() {
        let mut v = parse(r#"{"n":null,"b":false,"i":-5,"u":5,"f":1.5,"s":"x","a":[],"o":{}}"#);
        assert!(v["n"].is_null() && v["n"].as_null().is_some());
        assert_eq!(v["b"].as_bool(), Some(false));
        assert!(v["b"].is_boolean());
        assert_eq!(
            (v["i"].as_i64(), v["i"].as_u64(), v["i"].as_f64()),
            (Some(-5), None, Some(-5.0))
        );
        assert!(v["i"].is_i64() && !v["i"].is_u64() && !v["i"].is_f64());
        assert!(v["u"].is_i64() && v["u"].is_u64());
        assert!(v["f"].is_f64() && v["f"].is_number());
        assert_eq!(v["s"].as_str(), Some("x"));
        assert!(v["s"].is_string() && v["a"].is_array() && v["o"].is_object());
        assert_eq!(v["a"].as_array().map(Vec::len), Some(0));
        assert_eq!(v["o"].as_object().map(Object::len), Some(0));
        if let Some(a) = v["a"].as_array_mut() {
            a.push(1.into());
        }
        if let Some(o) = v["o"].as_object_mut() {
            o.insert("k", 2.into());
        }
        assert_eq!(v["s"].as_bool(), None);
        assert_eq!(v["s"].as_number(), None);
        let s = v["s"].take();
        assert_eq!(s, "x");
        assert!(v["s"].is_null());
        assert_eq!(
            v.to_string(),
            r#"{"n":null,"b":false,"i":-5,"u":5,"f":1.5,"s":null,"a":[1],"o":{"k":2}}"#
        );
        assert_eq!(Value::default(), Value::Null);
    }

    #[test]
    fn from_conversions() {
        assert_eq!(Value::from(true), Value::Bool(true));
        assert_eq!(Value::from("s"), "s");
        assert_eq!(Value::from(String::from("s")), "s");
        assert_eq!(Value::from(Cow::Borrowed("s")), "s");
        assert_eq!(Value::from(-3i8).to_string(), "-3");
        assert_eq!(Value::from(300u16).to_string(), "300");
        assert_eq!(Value::from(7usize).to_string(), "7");
        assert_eq!(Value::from(-7isize).to_string(), "-7");
        assert_eq!(Value::from(1.5f64).to_string(), "1.5");
        assert_eq!(Value::from(3.0f64).to_string(), "3.0");
        assert_eq!(Value::from(0.5f32).to_string(), "0.5");
        assert_eq!(Value::from(f64::NAN), Value::Null);
        assert_eq!(Value::from(f32::INFINITY), Value::Null);
        assert_eq!(Value::from(()), Value::Null);
        assert_eq!(Value::from(None::<i32>), Value::Null);
        assert_eq!(Value::from(Some(2)), 2);
        assert_eq!(Value::from(vec!["a", "b"]).to_string(), r#"["a","b"]"#);
        assert_eq!(Value::from(&[1, 2][..]).to_string(), "[1,2]");
        let v: Value = (1..=3).collect();
        assert_eq!(v.to_string(), "[1,2,3]");
        let v: Value = [("b", 1), ("a", 2), ("b", 3)].into_iter().collect();
        assert_eq!(v.to_string(), r#"{"b":3,"a":2}"#);
        assert_eq!(Value::from(Object::new()).to_string(), "{}");
        assert_eq!(Value::from(Number::from(5u8)), 5);
        // Same texts as serde_json's conversions.
        for f in [0.1f32, 1.0e-7, 3.0, 16777216.0] {
            assert_eq!(
                Value::from(f).to_string(),
                serde_json::Value::from(f).to_string()
            );
        }
    }

    #[test]
    fn comparisons() {
        let v = parse(r#"[1,-1,1.5,"s",true]"#);
        assert!(v[0] == 1 && v[0] == 1u8 && v[0] == 1i64 && v[0] == 1u64 && v[0] == 1.0);
        assert!(v[0] == 1usize && v[1] == -1isize);
        assert!(v[1] == -1 && v[1] != 1u64);
        assert!(v[2] == 1.5 && v[2] == 1.5f32 && v[2] != 1);
        let s = String::from("s");
        assert!(v[3] == "s" && v[3] == *"s" && v[3] == s);
        assert!("s" == v[3] && s == v[3] && 1 == v[0] && true == v[4]);
        assert!(v[4] == true && v[4] != false && v[3] != true);
        assert_eq!(parse(r#"{"a":1,"b":[2.0]}"#), parse(r#"{"b":[2],"a":1.0}"#));
        assert_ne!(parse("[1,2]"), parse("[2,1]"));
    }

    #[test]
    fn debug_like_serde_json() {
        let text = r#"{"a":[null,true,1.5,"x"],"b":{}}"#;
        let v = parse(text);
        let theirs: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(format!("{v:?}"), format!("{theirs:?}"));
        assert_eq!(format!("{v:#?}"), format!("{theirs:#?}"));
    }
}
