//! The writer: compact (and pretty) JSON text, byte-identical to `serde_json`'s.

use crate::scan::{find_special, load_short};
use crate::{Object, Value};

/// Appends `value` as compact JSON text to `out`.
///
/// The output is byte-identical to `serde_json::to_vec` for the same value (keys in the same
/// order, the same number texts): no whitespace; in strings `"` `\` and control characters
/// are escaped (`\b \t \n \f \r`, others as `\u00XX` with lowercase hex) and everything else,
/// including `/` and non-ASCII, is written as is; numbers are written as their text.
///
/// The output size is computed first (exactly, unless strings need escapes) and reserved
/// once — unless `out` already has plenty of room (64 KiB or more).
pub fn to_writer(value: &Value, out: &mut Vec<u8>) {
    if out.capacity() - out.len() < ROOMY {
        out.reserve(estimate(value));
    }
    write_value(value, out);
}

/// When the output vector has this much room left, [`to_writer`] skips the size pass (which
/// costs about a fifth of the writing): a buffer that big is being reused, or is collecting
/// many documents and grows by doubling anyway.
const ROOMY: usize = 1 << 16;

/// Appends `value` as pretty-printed JSON text (two-space indent, `"key": value`) to `out`,
/// byte-identical to `serde_json::to_vec_pretty`.
pub fn to_writer_pretty(value: &Value, out: &mut Vec<u8>) {
    out.reserve(estimate(value) * 2);
    write_pretty(value, out, 0);
}

/// `value` as compact JSON text (see [`to_writer`]).
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(estimate(value));
    write_value(value, &mut out);
    out
}

/// `value` as pretty-printed JSON text (see [`to_writer_pretty`]).
pub fn to_vec_pretty(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    to_writer_pretty(value, &mut out);
    out
}

/// The compact output size assuming no string needs escapes (exact in that case). Scalars
/// are measured inline; only arrays and objects cost a call.
#[inline(always)]
fn estimate(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => n.as_bytes().len(),
        Value::String(s) => s.len() + 2,
        Value::Array(a) => estimate_array(a),
        Value::Object(o) => estimate_object(o),
    }
}

#[inline(never)]
fn estimate_array(array: &[Value]) -> usize {
    1 + array.len().max(1) + array.iter().map(estimate).sum::<usize>()
}

#[inline(never)]
fn estimate_object(object: &Object) -> usize {
    1 + object.len().max(1)
        + object
            .iter()
            .map(|(k, v)| k.len() + 3 + estimate(v))
            .sum::<usize>()
}

/// Writes any value. Scalars are written inline; only arrays and objects cost a call.
#[inline(always)]
fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => extend_short(out, n.as_bytes()),
        Value::String(s) => {
            out.push(b'"');
            write_str_body(s, out);
            out.push(b'"');
        }
        Value::Array(a) => write_array(a, out),
        Value::Object(o) => write_object(o, out),
    }
}

#[inline(never)]
fn write_array(array: &[Value], out: &mut Vec<u8>) {
    let Some((first, rest)) = array.split_first() else {
        out.extend_from_slice(b"[]");
        return;
    };
    out.push(b'[');
    write_value(first, out);
    for element in rest {
        out.push(b',');
        write_value(element, out);
    }
    out.push(b']');
}

#[inline(never)]
fn write_object(object: &Object, out: &mut Vec<u8>) {
    let Some(((key, value), rest)) = object.as_slice().split_first() else {
        out.extend_from_slice(b"{}");
        return;
    };
    out.extend_from_slice(b"{\"");
    write_str_body(key, out);
    out.extend_from_slice(b"\":");
    write_value(value, out);
    for (key, value) in rest {
        out.extend_from_slice(b",\"");
        write_str_body(key, out);
        out.extend_from_slice(b"\":");
        write_value(value, out);
    }
    out.push(b'}');
}

/// Writes a quoted, escaped string.
fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    write_str_body(s, out);
    out.push(b'"');
}

/// Writes the escaped contents of a string (without quotes); runs without escapes are copied
/// in one go.
#[inline]
fn write_str_body(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let special = find_special(bytes, 0);
    if special == bytes.len() {
        extend_short(out, bytes);
        return;
    }
    write_str_escaped(bytes, special, out);
}

/// Up to 16 bytes as two little-endian words; the bytes after them in the words are
/// unspecified (for more than 16 bytes, the words hold the first 8 and 8 more).
#[inline(always)]
fn load_words(bytes: &[u8]) -> (u64, u64) {
    match bytes.split_first_chunk::<8>() {
        // 8 to 16 bytes: the first 8, then the last 8 shifted down past the overlap.
        Some((first, _)) => {
            let last = bytes.last_chunk::<8>().copied().unwrap_or_default();
            let shift = 8 * 16usize.saturating_sub(bytes.len()) as u32;
            let high = u64::from_le_bytes(last).checked_shr(shift);
            (u64::from_le_bytes(*first), high.unwrap_or(0))
        }
        None => (load_short(bytes), 0),
    }
}

/// Appends `bytes`. Up to 16 bytes are appended as two words (loaded with at most three
/// loads each) and the excess cut off again, which is cheaper than a variable-length copy.
#[inline(always)]
fn extend_short(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len > 16 {
        out.extend_from_slice(bytes);
        return;
    }
    let (low, high) = load_words(bytes);
    out.extend_from_slice(&low.to_le_bytes());
    if len > 8 {
        out.extend_from_slice(&high.to_le_bytes());
        out.truncate(out.len() - (16 - len));
    } else {
        out.truncate(out.len() - (8 - len));
    }
}

/// Writes `bytes`, whose first byte needing an escape is at `special`.
#[cold]
#[inline(never)]
fn write_str_escaped(bytes: &[u8], mut special: usize, out: &mut Vec<u8>) {
    let mut run = 0;
    loop {
        let Some(&b) = bytes.get(special) else {
            out.extend_from_slice(&bytes[run..]);
            return;
        };
        out.extend_from_slice(&bytes[run..special]);
        write_escape(b, out);
        run = special + 1;
        special = find_special(bytes, run);
    }
}

#[cold]
fn write_escape(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0C => out.extend_from_slice(b"\\f"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xF)],
        ]),
    }
}

fn indent(out: &mut Vec<u8>, level: usize) {
    out.extend(std::iter::repeat_n(b' ', level * 2));
}

fn write_pretty(value: &Value, out: &mut Vec<u8>, level: usize) {
    match value {
        Value::Array(array) if !array.is_empty() => {
            out.push(b'[');
            for (i, element) in array.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
                indent(out, level + 1);
                write_pretty(element, out, level + 1);
            }
            out.push(b'\n');
            indent(out, level);
            out.push(b']');
        }
        Value::Object(object) if !object.is_empty() => {
            out.push(b'{');
            for (i, (key, value)) in object.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
                indent(out, level + 1);
                write_str(key, out);
                out.extend_from_slice(b": ");
                write_pretty(value, out, level + 1);
            }
            out.push(b'\n');
            indent(out, level);
            out.push(b'}');
        }
        _ => write_value(value, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_serde_json() {
        let all: String = (0u8..0x80).map(char::from).chain("é€😀/".chars()).collect();
        let ours = to_vec(&Value::from(all.as_str()));
        let theirs = serde_json::to_vec(&all).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn estimate_is_exact_without_escapes() {
        let v = crate::from_str(r#"{"a":[1,true,false,null,"x",{},[]],"b":{"c":-1.5e3}}"#)
            .unwrap_or_default();
        let out = to_vec(&v);
        assert_eq!(estimate(&v), out.len());
        assert_eq!(estimate(&Value::Array(Vec::new())), 2);
        assert_eq!(estimate(&Value::Object(Object::new())), 2);
    }

    #[test]
    fn pretty_like_serde_json() {
        let text = r#"{"a":[1,{"b":[]},{}],"c":{"d":"e\n"},"f":null}"#;
        let ours = crate::from_str(text).unwrap_or_default();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let theirs = serde_json::to_vec_pretty(&theirs).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&to_vec_pretty(&ours)),
            String::from_utf8_lossy(&theirs)
        );
        assert_eq!(format!("{ours:#}").as_bytes(), &theirs[..]);
    }
}
