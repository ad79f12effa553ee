//! JSON objects as ordered key/value vectors.

use std::collections::HashMap;
use std::fmt;
use std::iter::FusedIterator;
use std::ops;

use crate::Value;

/// Objects with up to this many entries are checked for duplicate keys by comparing every
/// pair; larger ones use a hash map, so the check stays linear.
const SMALL_OBJECT: usize = 16;

/// A JSON object: key/value pairs in insertion (or input) order.
///
/// Stored as a `Vec<(String, Value)>`; lookups are linear scans, which beats hashing for the
/// few keys a record has. Keys are unique: [`insert`](Self::insert) replaces the value of an
/// existing key in place (keeping its position), and collecting or parsing pairs with
/// duplicate keys keeps the first key's position with the last value.
///
/// Equality ignores order, as JSON object equality does: two objects are equal when they have
/// the same keys with equal values.
#[derive(Clone, Default)]
pub struct Object {
    entries: Vec<(String, Value)>,
}

impl Object {
    /// An empty object.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// An empty object with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Wraps entries whose keys are already unique.
    pub(crate) fn from_unique(entries: Vec<(String, Value)>) -> Self {
        Self { entries }
    }

    /// Wraps entries that may repeat keys: the last value of a key wins, at the position of
    /// the key's first occurrence.
    pub(crate) fn from_entries(mut entries: Vec<(String, Value)>) -> Self {
        dedup_keys(&mut entries);
        Self { entries }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the object has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of entries the object can hold without reallocating.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Removes all entries.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key` for modification, if present.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The stored key and value of `key`, if present.
    pub fn get_key_value(&self, key: &str) -> Option<(&String, &Value)> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(k, v)| (k, v))
    }

    /// Whether the object has `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`. If the key exists, its value is replaced in place (the key keeps
    /// its position) and the old value returned; otherwise the entry is appended.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.position(&key) {
            Some(index) => Some(std::mem::replace(&mut self.entries[index].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// The value of `key`, inserting `Null` at the end first when the key is absent.
    pub(crate) fn get_or_insert_null(&mut self, key: &str) -> &mut Value {
        let index = match self.position(key) {
            Some(index) => index,
            None => {
                self.entries.push((key.to_owned(), Value::Null));
                self.entries.len() - 1
            }
        };
        &mut self.entries[index].1
    }

    /// Removes `key` and returns its value; the other entries keep their order.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key` and returns the stored key and value; the other entries keep their order.
    pub fn remove_entry(&mut self, key: &str) -> Option<(String, Value)> {
        let index = self.position(key)?;
        Some(self.entries.remove(index))
    }

    /// Keeps only the entries for which `keep` returns `true`, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entries in order.
    pub fn as_slice(&self) -> &[(String, Value)] {
        &self.entries
    }

    /// The entries in order, as a vector.
    pub fn into_vec(self) -> Vec<(String, Value)> {
        self.entries
    }

    /// Iterates over `(key, value)` in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    /// Iterates over `(key, mutable value)` in order.
    pub fn iter_mut(&mut self) -> IterMut<'_> {
        IterMut(self.entries.iter_mut())
    }

    /// Iterates over the keys in order.
    pub fn keys(&self) -> Keys<'_> {
        Keys(self.entries.iter())
    }

    /// Iterates over the values in order.
    pub fn values(&self) -> Values<'_> {
        Values(self.entries.iter())
    }

    /// Iterates over the values in order, mutably.
    pub fn values_mut(&mut self) -> ValuesMut<'_> {
        ValuesMut(self.entries.iter_mut())
    }
}

/// A key's length and its first and last bytes: equal keys have equal fingerprints.
#[inline]
fn fingerprint(bytes: &[u8]) -> u64 {
    let edge = |b: Option<&u8>| u64::from(b.copied().unwrap_or(0));
    (bytes.len() as u64) << 16 | edge(bytes.first()) << 8 | edge(bytes.last())
}

/// Tells cheaply that the keys of a small object are distinct: the keys' fingerprints are
/// hashed into a 1024-bit set; when no two collide the keys are distinct (the usual case,
/// settled without comparing any two keys).
pub(crate) struct KeySet {
    seen: [u64; 16],
    count: usize,
    collision: bool,
}

impl KeySet {
    pub(crate) fn new() -> Self {
        Self {
            seen: [0; 16],
            count: 0,
            collision: false,
        }
    }

    /// Adds a key, given as its (unescaped) bytes.
    #[inline]
    pub(crate) fn insert(&mut self, key: &[u8]) {
        self.insert_print(fingerprint(key));
    }

    #[inline]
    fn insert_print(&mut self, print: u64) {
        let hash = (print.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
        let (word, bit) = (hash >> 6, hash & 63);
        self.collision |= self.seen[word] >> bit & 1 == 1;
        self.seen[word] |= 1 << bit;
        self.count += 1;
    }

    /// `false` if the keys added are certainly distinct; `true` if [`dedup_keys`] must look.
    #[inline]
    pub(crate) fn may_have_duplicates(&self) -> bool {
        self.collision || self.count > SMALL_OBJECT
    }
}

/// Makes the keys of `entries` unique: the last value of a repeated key replaces the value at
/// the key's first position and the later occurrences are dropped. Linear for any size: small
/// objects compare all pairs, large ones use a hash map.
pub(crate) fn dedup_keys(entries: &mut Vec<(String, Value)>) {
    let n = entries.len();
    if n < 2 {
        return;
    }
    let first_of: Vec<usize> = if n <= SMALL_OBJECT {
        let mut prints = [0u64; SMALL_OBJECT];
        let mut set = KeySet::new();
        for (print, (key, _)) in prints.iter_mut().zip(entries.iter()) {
            *print = fingerprint(key.as_bytes());
            set.insert_print(*print);
        }
        if !set.may_have_duplicates() {
            return;
        }
        let has_duplicate =
            (1..n).any(|i| (0..i).any(|j| prints[i] == prints[j] && entries[i].0 == entries[j].0));
        if !has_duplicate {
            return;
        }
        (0..n)
            .map(|i| {
                entries[..i]
                    .iter()
                    .position(|(k, _)| *k == entries[i].0)
                    .unwrap_or(i)
            })
            .collect()
    } else {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(n);
        let first_of: Vec<usize> = entries
            .iter()
            .enumerate()
            .map(|(i, (k, _))| *seen.entry(k.as_str()).or_insert(i))
            .collect();
        if seen.len() == n {
            return;
        }
        first_of
    };
    for (i, &first) in first_of.iter().enumerate() {
        if first != i {
            let value = std::mem::take(&mut entries[i].1);
            entries[first].1 = value;
        }
    }
    let mut index = 0;
    entries.retain(|_| {
        let keep = first_of[index] == index;
        index += 1;
        keep
    });
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        // Fast path: same keys in the same order.
        let same_order = self
            .entries
            .iter()
            .zip(&other.entries)
            .all(|((ka, _), (kb, _))| ka == kb);
        if same_order {
            return self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((_, va), (_, vb))| va == vb);
        }
        if self.len() <= SMALL_OBJECT {
            return self.iter().all(|(k, v)| other.get(k) == Some(v));
        }
        let theirs: HashMap<&str, &Value> =
            other.entries.iter().map(|(k, v)| (k.as_str(), v)).collect();
        self.iter()
            .all(|(k, v)| theirs.get(k.as_str()).is_some_and(|w| *w == v))
    }
}

impl fmt::Debug for Object {
    /// `{"key": value, ...}` in order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl ops::Index<&str> for Object {
    type Output = Value;

    /// The value of `key`, or a static `Null` when absent.
    fn index(&self, key: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl ops::IndexMut<&str> for Object {
    /// The value of `key`, inserting `Null` at the end first when absent (so
    /// `object["key"] = value` works like [`Object::insert`]).
    fn index_mut(&mut self, key: &str) -> &mut Value {
        self.get_or_insert_null(key)
    }
}

impl FromIterator<(String, Value)> for Object {
    /// Collects pairs in order; for a repeated key the last value wins at the first position.
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Self::from_entries(iter.into_iter().collect())
    }
}

impl Extend<(String, Value)> for Object {
    /// Inserts every pair as [`Object::insert`] would (existing keys keep their position).
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        let before = self.entries.len();
        self.entries.extend(iter);
        if self.entries.len() > before {
            dedup_keys(&mut self.entries);
        }
    }
}

impl From<Vec<(String, Value)>> for Object {
    /// Wraps pairs in order; for a repeated key the last value wins at the first position.
    fn from(entries: Vec<(String, Value)>) -> Self {
        Self::from_entries(entries)
    }
}

impl From<Object> for Vec<(String, Value)> {
    fn from(object: Object) -> Self {
        object.entries
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for Object {
    /// Converts every value; keys come in the map's iteration order.
    fn from(map: serde_json::Map<String, serde_json::Value>) -> Self {
        let mut entries = Vec::with_capacity(map.len());
        entries.extend(map.into_iter().map(|(k, v)| (k, Value::from(v))));
        Self::from_unique(entries)
    }
}

impl From<Object> for serde_json::Map<String, serde_json::Value> {
    fn from(object: Object) -> Self {
        object
            .entries
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::from(v)))
            .collect()
    }
}

/// An iterator over an [`Object`]'s `(key, value)` pairs, from [`Object::iter`].
#[derive(Clone, Debug)]
pub struct Iter<'a>(std::slice::Iter<'a, (String, Value)>);

/// An iterator over an [`Object`]'s `(key, mutable value)` pairs, from [`Object::iter_mut`].
#[derive(Debug)]
pub struct IterMut<'a>(std::slice::IterMut<'a, (String, Value)>);

/// An iterator over an [`Object`]'s keys, from [`Object::keys`].
#[derive(Clone, Debug)]
pub struct Keys<'a>(std::slice::Iter<'a, (String, Value)>);

/// An iterator over an [`Object`]'s values, from [`Object::values`].
#[derive(Clone, Debug)]
pub struct Values<'a>(std::slice::Iter<'a, (String, Value)>);

/// An iterator over an [`Object`]'s values, mutably, from [`Object::values_mut`].
#[derive(Debug)]
pub struct ValuesMut<'a>(std::slice::IterMut<'a, (String, Value)>);

/// An owning iterator over an [`Object`]'s `(key, value)` pairs.
#[derive(Debug)]
pub struct IntoIter(std::vec::IntoIter<(String, Value)>);

macro_rules! iterator {
    ($name:ident $(<$lt:lifetime>)?, $item:ty, |$entry:pat_param| $map:expr) => {
        impl $(<$lt>)? Iterator for $name $(<$lt>)? {
            type Item = $item;

            #[inline]
            fn next(&mut self) -> Option<Self::Item> {
                self.0.next().map(|$entry| $map)
            }

            #[inline]
            fn size_hint(&self) -> (usize, Option<usize>) {
                self.0.size_hint()
            }
        }

        impl $(<$lt>)? DoubleEndedIterator for $name $(<$lt>)? {
            #[inline]
            fn next_back(&mut self) -> Option<Self::Item> {
                self.0.next_back().map(|$entry| $map)
            }
        }

        impl $(<$lt>)? ExactSizeIterator for $name $(<$lt>)? {}
        impl $(<$lt>)? FusedIterator for $name $(<$lt>)? {}
    };
}

iterator!(Iter<'a>, (&'a String, &'a Value), |(k, v)| (k, v));
iterator!(IterMut<'a>, (&'a String, &'a mut Value), |(k, v)| (&*k, v));
iterator!(Keys<'a>, &'a String, |(k, _)| k);
iterator!(Values<'a>, &'a Value, |(_, v)| v);
iterator!(ValuesMut<'a>, &'a mut Value, |(_, v)| v);
iterator!(IntoIter, (String, Value), |entry| entry);

impl IntoIterator for Object {
    type Item = (String, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter(self.entries.into_iter())
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a String, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Object {
    type Item = (&'a String, &'a mut Value);
    type IntoIter = IterMut<'a>;

    fn into_iter(self) -> IterMut<'a> {
        self.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, i64)]) -> Object {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), Value::from(v)))
            .collect()
    }

    fn keys(o: &Object) -> Vec<&str> {
        o.keys().map(String::as_str).collect()
    }

    #[test]
    fn insert_remove_keep_order() {
        let mut o = Object::new();
        assert!(o.is_empty());
        assert_eq!(o.insert("b", 1.into()), None);
        assert_eq!(o.insert("a", 2.into()), None);
        assert_eq!(o.insert("c", 3.into()), None);
        assert_eq!(o.insert("b", 4.into()), Some(1.into()));
        assert_eq!(keys(&o), ["b", "a", "c"]);
        assert_eq!(o["b"], 4);
        assert_eq!(o["missing"], Value::Null);
        assert!(o.contains_key("a") && !o.contains_key("z"));
        assert_eq!(o.remove("a"), Some(2.into()));
        assert_eq!(o.remove("a"), None);
        assert_eq!(keys(&o), ["b", "c"]);
        o["d"] = true.into();
        o["b"] = 5.into();
        assert_eq!(keys(&o), ["b", "c", "d"]);
        assert_eq!(o.len(), 3);
        if let Some(v) = o.get_mut("c") {
            *v = "x".into();
        }
        for v in o.values_mut() {
            if v.is_boolean() {
                *v = Value::Null;
            }
        }
        for (k, v) in &mut o {
            if k == "b" {
                *v = 6.into();
            }
        }
        assert_eq!(
            o.values().cloned().collect::<Vec<_>>(),
            vec![Value::from(6), "x".into(), Value::Null]
        );
        o.retain(|k, _| k != "c");
        assert_eq!(keys(&o), ["b", "d"]);
        let owned: Vec<(String, Value)> = o.clone().into_iter().collect();
        assert_eq!(owned.len(), 2);
        assert_eq!(
            o.iter().rev().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["d", "b"]
        );
    }

    #[test]
    fn duplicates_last_wins_at_first_position() {
        let o = obj(&[("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("a", 6)]);
        assert_eq!(keys(&o), ["a", "b", "c"]);
        assert_eq!(
            (o["a"].as_i64(), o["b"].as_i64(), o["c"].as_i64()),
            (Some(6), Some(5), Some(4))
        );

        let mut pairs: Vec<(String, Value)> = (0..10_000)
            .map(|i| (format!("k{i}"), Value::from(i)))
            .collect();
        pairs.extend(
            (0..10_000)
                .step_by(3)
                .map(|i| (format!("k{i}"), Value::from(-i))),
        );
        let o = Object::from(pairs);
        assert_eq!(o.len(), 10_000);
        for (i, (k, v)) in o.iter().enumerate() {
            assert_eq!(*k, format!("k{i}"));
            let expected = if i % 3 == 0 { -(i as i64) } else { i as i64 };
            assert_eq!(v.as_i64(), Some(expected));
        }

        let mut o = obj(&[("x", 1), ("y", 2)]);
        o.extend([
            ("y".to_owned(), Value::from(3)),
            ("z".to_owned(), Value::from(4)),
        ]);
        assert_eq!(keys(&o), ["x", "y", "z"]);
        assert_eq!(o["y"], 3);
    }

    #[test]
    fn equality_ignores_order() {
        assert_eq!(obj(&[("a", 1), ("b", 2)]), obj(&[("b", 2), ("a", 1)]));
        assert_ne!(obj(&[("a", 1), ("b", 2)]), obj(&[("b", 2), ("a", 2)]));
        assert_ne!(obj(&[("a", 1)]), obj(&[("a", 1), ("b", 2)]));
        let big: Vec<(String, Value)> = (0..100)
            .map(|i| (format!("k{i}"), Value::from(i)))
            .collect();
        let mut reversed = big.clone();
        reversed.reverse();
        assert_eq!(Object::from(big.clone()), Object::from(reversed.clone()));
        reversed[5].1 = Value::Null;
        assert_ne!(Object::from(big), Object::from(reversed));
    }
}
