//! The parser: recursive descent directly over the input bytes.

use crate::error::{Error, ErrorCode};
use crate::number::scan_number;
use crate::object::{KeySet, dedup_keys};
use crate::scan::find_special;
use crate::{Number, Object, Value};

/// The deepest nesting of arrays and objects accepted.
const MAX_DEPTH: usize = 128;

/// Parses JSON text into a [`Value`].
///
/// Strict RFC 8259, like `serde_json`: one value with optional surrounding whitespace
/// (space, tab, line feed, carriage return); no comments, trailing commas, `NaN`, leading
/// zeros, lone surrogates or unescaped control characters. Numbers are kept as their text, so
/// values that overflow `f64` (`1e400`) are accepted (`serde_json` rejects them). Nesting
/// deeper than 128 arrays/objects is rejected with "recursion limit exceeded". A repeated
/// object key keeps the position of its first occurrence with the value of its last.
///
/// ```
/// let v = integrator_json::from_str(r#" {"b": 1, "a": [true, null], "b": 2} "#)?;
/// assert_eq!(v.to_string(), r#"{"b":2,"a":[true,null]}"#);
/// let err = integrator_json::from_str(r#"{"a":1 "b":2}"#).unwrap_err();
/// assert_eq!(err.to_string(), "expected `,` or `}` at line 1 column 8");
/// # Ok::<(), integrator_json::Error>(())
/// ```
pub fn from_str(text: &str) -> Result<Value, Error> {
    let mut parser = Parser::new(text);
    match parser.parse_document() {
        Ok(value) => Ok(value),
        Err(Fail) => {
            let (code, index) = parser.failure;
            Err(Error::syntax(code, text.as_bytes(), index))
        }
    }
}

/// Parses JSON bytes into a [`Value`]: checks once that the whole input is UTF-8 (an error
/// "invalid unicode code point" at the first bad byte otherwise), then parses as
/// [`from_str`].
pub fn from_slice(bytes: &[u8]) -> Result<Value, Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => from_str(text),
        Err(e) => Err(Error::syntax(
            ErrorCode::InvalidUnicodeCodePoint,
            bytes,
            e.valid_up_to() + 1,
        )),
    }
}

/// Pushes the value `make` returns onto `stack`, making it only once there is room.
///
/// `stack.push(make())` would build the value first, keep it in a stack slot across the
/// (possible) reallocation, and copy it from there in pieces that do not match how it was
/// stored — a store-forwarding stall on every value. Building it when room is already
/// reserved lets it be stored straight into place.
#[inline(always)]
fn push_with<T>(stack: &mut Vec<T>, make: impl FnOnce() -> T, filler: impl Fn() -> T) {
    let mut make = Some(make);
    stack.resize_with(stack.len() + 1, || match make.take() {
        Some(make) => make(),
        None => filler(),
    });
}

/// A parse failed; the error and its position are in [`Parser::failure`]. Being zero-sized,
/// it keeps `ParseResult<T>` as small as a `T`.
struct Fail;
type ParseResult<T> = Result<T, Fail>;

/// Where a parsed value goes.
#[derive(Clone, Copy)]
enum Sink {
    /// Pushed onto [`Parser::elements`]: an array element (or the whole document).
    Element,
    /// Into the value of the last of [`Parser::members`]: an object member.
    Member,
}

/// Parser state. Errors are recorded with an index following `serde_json`'s conventions:
/// errors about a byte that was consumed point at it (`pos` after consuming), errors about a
/// byte that was only looked at use `pos + 1` ([`Parser::peek_error`]), so both count from 1.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    /// The elements of the arrays being parsed: each array owns the top of the stack from
    /// where it started, and moves it out (one exactly sized allocation, one copy) when it
    /// ends. Shared by all nesting levels.
    elements: Vec<Value>,
    /// The members of the objects being parsed, stacked the same way. A member is pushed
    /// with a `Null` value when its key is read; its value is then stored in place.
    members: Vec<(String, Value)>,
    /// The error and the index it is reported at, once a parse function returned [`Fail`].
    failure: (ErrorCode, usize),
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            // Small to start with: parsing a small document should not cost much memory
            // (in a bump arena, nothing is given back until the call ends).
            elements: Vec::with_capacity(16),
            members: Vec::with_capacity(16),
            failure: (ErrorCode::EofWhileParsingValue, 0),
        }
    }

    fn parse_document(&mut self) -> ParseResult<Value> {
        let first = self.skip_whitespace();
        self.parse_value(first, Sink::Element)?;
        if self.skip_whitespace().is_some() {
            return Err(self.peek_error(ErrorCode::TrailingCharacters));
        }
        Ok(self.elements.pop().unwrap_or_default())
    }

    /// Stores the value `make` returns where `sink` says.
    #[inline(always)]
    fn put(&mut self, sink: Sink, make: impl FnOnce() -> Value) {
        match sink {
            Sink::Element => push_with(&mut self.elements, make, Value::default),
            Sink::Member => {
                if let Some((_, slot)) = self.members.last_mut() {
                    // The slot holds the `Null` pushed with the key: nothing to drop.
                    std::mem::forget(std::mem::replace(slot, make()));
                }
            }
        }
    }

    /// Records an error reported at byte index `index`.
    #[cold]
    fn fail_at(&mut self, code: ErrorCode, index: usize) -> Fail {
        self.failure = (code, index);
        Fail
    }

    /// An error about the byte at `pos`, which was looked at but not consumed.
    #[cold]
    fn peek_error(&mut self, code: ErrorCode) -> Fail {
        self.fail_at(code, (self.pos + 1).min(self.bytes.len()))
    }

    /// An error about the bytes consumed so far.
    #[cold]
    fn error(&mut self, code: ErrorCode) -> Fail {
        self.fail_at(code, self.pos)
    }

    /// Skips whitespace and returns the next byte (not consumed).
    #[inline(always)]
    fn skip_whitespace(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if b > b' ' || !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Parses the value starting with `first`, the (not consumed) byte at `pos`, into `sink`.
    /// Each kind of value is stored by its own (not inlined) function: merged into one store,
    /// the values would all go through one stack slot, which costs more than the call.
    fn parse_value(&mut self, first: Option<u8>, sink: Sink) -> ParseResult<()> {
        match first {
            Some(b'"') => self.parse_string_value(sink),
            Some(b'-' | b'0'..=b'9') => self.parse_number(sink),
            Some(b'{') => self.parse_object(sink),
            Some(b'[') => self.parse_array(sink),
            Some(b't') => self.parse_literal(b"true", Value::Bool(true), sink),
            Some(b'f') => self.parse_literal(b"false", Value::Bool(false), sink),
            Some(b'n') => self.parse_literal(b"null", Value::Null, sink),
            Some(_) => Err(self.peek_error(ErrorCode::ExpectedSomeValue)),
            None => Err(self.peek_error(ErrorCode::EofWhileParsingValue)),
        }
    }

    #[inline(never)]
    fn parse_literal(&mut self, word: &[u8], value: Value, sink: Sink) -> ParseResult<()> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            self.put(sink, || value);
            return Ok(());
        }
        // Report like serde_json, which compares byte by byte.
        self.pos += 1;
        for &expected in &word[1..] {
            match self.bytes.get(self.pos) {
                None => return Err(self.error(ErrorCode::EofWhileParsingValue)),
                Some(&b) => {
                    self.pos += 1;
                    if b != expected {
                        return Err(self.error(ErrorCode::ExpectedSomeIdent));
                    }
                }
            }
        }
        self.put(sink, || value);
        Ok(())
    }

    #[inline(never)]
    fn parse_number(&mut self, sink: Sink) -> ParseResult<()> {
        let start = self.pos;
        match scan_number(self.bytes, start) {
            Ok(end) => {
                self.pos = end;
                let text = self.text;
                self.put(sink, || {
                    Value::Number(Number::from_validated_in(text, start, end))
                });
                Ok(())
            }
            Err((code, index)) => Err(self.fail_at(code, index)),
        }
    }

    /// Parses a string value at its opening quote into `sink`.
    #[inline(never)]
    fn parse_string_value(&mut self, sink: Sink) -> ParseResult<()> {
        self.pos += 1;
        let s = self.parse_string()?;
        self.put(sink, || Value::String(s));
        Ok(())
    }

    /// Parses an object key whose opening quote was consumed, and adds it to `keys`.
    #[inline(always)]
    fn parse_key(&mut self, keys: &mut KeySet) -> ParseResult<String> {
        let start = self.pos;
        let end = find_special(self.bytes, start);
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            // The key's bytes are the input's (read from there: they are in cache, and not
            // just written).
            keys.insert(&self.bytes[start..end]);
            return Ok(String::from(&self.text[start..end]));
        }
        let key = self.parse_string_escaped(start, end)?;
        keys.insert(key.as_bytes());
        Ok(key)
    }

    /// Parses a string whose opening quote was consumed.
    #[inline(always)]
    fn parse_string(&mut self) -> ParseResult<String> {
        let start = self.pos;
        let end = find_special(self.bytes, start);
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            // `start` follows a `"` and `end` is at one: both are char boundaries.
            return Ok(String::from(&self.text[start..end]));
        }
        self.parse_string_escaped(start, end)
    }

    /// Continues a string at `end`, the first byte after `start` that is not plain text
    /// (a backslash, a control character, or the end of input).
    #[cold]
    #[inline(never)]
    fn parse_string_escaped(&mut self, start: usize, mut end: usize) -> ParseResult<String> {
        let mut out = String::with_capacity(end - start + 16);
        let mut run = start;
        loop {
            match self.bytes.get(end) {
                Some(b'"') => {
                    out.push_str(&self.text[run..end]);
                    self.pos = end + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..end]);
                    self.pos = end + 1;
                    self.parse_escape(&mut out)?;
                    run = self.pos;
                }
                Some(_) => {
                    self.pos = end + 1;
                    return Err(self.error(ErrorCode::ControlCharacterWhileParsingString));
                }
                None => {
                    self.pos = self.bytes.len();
                    return Err(self.error(ErrorCode::EofWhileParsingString));
                }
            }
            end = find_special(self.bytes, self.pos);
        }
    }

    /// Decodes the escape after a backslash (consumed) into `out`.
    fn parse_escape(&mut self, out: &mut String) -> ParseResult<()> {
        let Some(&b) = self.bytes.get(self.pos) else {
            return Err(self.error(ErrorCode::EofWhileParsingString));
        };
        self.pos += 1;
        let decoded = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.parse_unicode_escape()?,
            _ => return Err(self.error(ErrorCode::InvalidEscape)),
        };
        out.push(decoded);
        Ok(())
    }

    /// Decodes `XXXX` after `\u` (consumed), and the low surrogate escape that must follow a
    /// high surrogate.
    fn parse_unicode_escape(&mut self) -> ParseResult<char> {
        let first = self.parse_hex4()?;
        if (0xDC00..=0xDFFF).contains(&first) {
            return Err(self.error(ErrorCode::LoneLeadingSurrogateInHexEscape));
        }
        if !(0xD800..=0xDBFF).contains(&first) {
            return match char::from_u32(first) {
                Some(c) => Ok(c),
                None => Err(self.error(ErrorCode::InvalidUnicodeCodePoint)),
            };
        }
        for expected in [b'\\', b'u'] {
            match self.bytes.get(self.pos) {
                Some(&b) if b == expected => self.pos += 1,
                Some(_) => {
                    self.pos += 1;
                    return Err(self.error(ErrorCode::UnexpectedEndOfHexEscape));
                }
                None => return Err(self.error(ErrorCode::EofWhileParsingString)),
            }
        }
        let second = self.parse_hex4()?;
        if !(0xDC00..=0xDFFF).contains(&second) {
            return Err(self.error(ErrorCode::LoneLeadingSurrogateInHexEscape));
        }
        let code = 0x1_0000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => Err(self.error(ErrorCode::InvalidUnicodeCodePoint)),
        }
    }

    fn parse_hex4(&mut self) -> ParseResult<u32> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            self.pos = self.bytes.len();
            return Err(self.error(ErrorCode::EofWhileParsingString));
        };
        self.pos += 4;
        let mut n = 0;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.error(ErrorCode::InvalidEscape)),
            };
            n = (n << 4) | u32::from(v);
        }
        Ok(n)
    }

    fn enter(&mut self) -> ParseResult<()> {
        if self.depth == MAX_DEPTH {
            return Err(self.peek_error(ErrorCode::RecursionLimitExceeded));
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    /// Parses an array at its `[` (not consumed) into `sink`.
    fn parse_array(&mut self, sink: Sink) -> ParseResult<()> {
        self.enter()?;
        let mut next = self.skip_whitespace();
        match next {
            Some(b']') => {
                self.pos += 1;
                self.depth -= 1;
                self.put(sink, || Value::Array(Vec::new()));
                return Ok(());
            }
            None => return Err(self.peek_error(ErrorCode::EofWhileParsingList)),
            _ => {}
        }
        let base = self.elements.len();
        loop {
            if next == Some(b']') {
                return Err(self.peek_error(ErrorCode::TrailingComma));
            }
            self.parse_value(next, Sink::Element)?;
            match self.skip_whitespace() {
                Some(b',') => {
                    self.pos += 1;
                    next = self.skip_whitespace();
                }
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(self.peek_error(ErrorCode::ExpectedListCommaOrEnd)),
                None => return Err(self.peek_error(ErrorCode::EofWhileParsingList)),
            }
        }
        self.depth -= 1;
        // One exactly sized allocation, filled with one copy.
        let elements = self.elements.split_off(base);
        self.put(sink, || Value::Array(elements));
        Ok(())
    }

    /// Parses an object at its `{` (not consumed) into `sink`.
    fn parse_object(&mut self, sink: Sink) -> ParseResult<()> {
        self.enter()?;
        let mut next = self.skip_whitespace();
        match next {
            Some(b'}') => {
                self.pos += 1;
                self.depth -= 1;
                self.put(sink, || Value::Object(Object::new()));
                return Ok(());
            }
            None => return Err(self.peek_error(ErrorCode::EofWhileParsingObject)),
            _ => {}
        }
        let base = self.members.len();
        let mut keys = KeySet::new();
        loop {
            match next {
                Some(b'"') => self.pos += 1,
                Some(b'}') => return Err(self.peek_error(ErrorCode::TrailingComma)),
                Some(_) => return Err(self.peek_error(ErrorCode::KeyMustBeAString)),
                None => return Err(self.peek_error(ErrorCode::EofWhileParsingValue)),
            }
            let key = self.parse_key(&mut keys)?;
            push_with(&mut self.members, || (key, Value::Null), Default::default);
            match self.skip_whitespace() {
                Some(b':') => self.pos += 1,
                Some(_) => return Err(self.peek_error(ErrorCode::ExpectedColon)),
                None => return Err(self.peek_error(ErrorCode::EofWhileParsingObject)),
            }
            let first = self.skip_whitespace();
            self.parse_value(first, Sink::Member)?;
            match self.skip_whitespace() {
                Some(b',') => {
                    self.pos += 1;
                    next = self.skip_whitespace();
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(self.peek_error(ErrorCode::ExpectedObjectCommaOrEnd)),
                None => return Err(self.peek_error(ErrorCode::EofWhileParsingObject)),
            }
        }
        self.depth -= 1;
        // One exactly sized allocation, filled with one copy.
        let mut members = self.members.split_off(base);
        if keys.may_have_duplicates() {
            dedup_keys(&mut members);
        }
        self.put(sink, || Value::Object(Object::from_unique(members)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match from_str(text) {
            Ok(v) => format!("OK {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn values() {
        let text = r#" { "a" : [ 1 , -2.5e+3 , true , false , null , "x\"y" , { } , [ ] ] } "#;
        let v = from_str(text);
        assert_eq!(
            v.map(|v| v.to_string()).ok().as_deref(),
            Some(r#"{"a":[1,-2.5e+3,true,false,null,"x\"y",{},[]]}"#)
        );
        assert_eq!(err("\t\r\n 1 \t\r\n"), "OK 1");
    }

    #[test]
    fn escapes() {
        let v = from_str(r#""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00 é😀""#);
        assert_eq!(
            v.ok().as_ref().and_then(Value::as_str),
            Some("\"\\/\u{8}\u{c}\n\r\t\u{41}é€😀 é😀")
        );
    }

    #[test]
    fn rejections() {
        let cases = [
            ("[1,]", "trailing comma at line 1 column 4"),
            ("{\"a\":1,}", "trailing comma at line 1 column 8"),
            ("01", "invalid number at line 1 column 2"),
            ("1.", "EOF while parsing a value at line 1 column 2"),
            (".5", "expected value at line 1 column 1"),
            ("-", "EOF while parsing a value at line 1 column 1"),
            ("1e", "EOF while parsing a value at line 1 column 2"),
            ("+1", "expected value at line 1 column 1"),
            ("NaN", "expected value at line 1 column 1"),
            ("[1 2]", "expected `,` or `]` at line 1 column 4"),
            (
                "{\"a\":1 \"b\":2}",
                "expected `,` or `}` at line 1 column 8",
            ),
            ("\"abcdefg", "EOF while parsing a string at line 1 column 8"),
            (
                "\"a\u{1}\"",
                "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 3",
            ),
            ("1 2", "trailing characters at line 1 column 3"),
            ("// c\n1", "expected value at line 1 column 1"),
            (
                "\"\\ud800\"",
                "unexpected end of hex escape at line 1 column 8",
            ),
            (
                "\"\\udc00\"",
                "lone leading surrogate in hex escape at line 1 column 7",
            ),
            ("", "EOF while parsing a value at line 1 column 0"),
        ];
        for (text, expected) in cases {
            assert_eq!(err(text), expected, "{text:?}");
        }
        assert_eq!(
            from_slice(b"[\"a\xff\"]")
                .map_err(|e| e.to_string())
                .err()
                .as_deref(),
            Some("invalid unicode code point at line 1 column 4")
        );
        assert_eq!(
            from_slice(b"[\"\xc3\xa9\"]")
                .ok()
                .map(|v| v.to_string())
                .as_deref(),
            Some("[\"é\"]")
        );
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(from_str(&nested(128)).is_ok());
        assert_eq!(
            err(&nested(129)),
            "recursion limit exceeded at line 1 column 129"
        );
        let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert!(from_str(&objects(128)).is_ok());
        assert!(err(&objects(129)).starts_with("recursion limit exceeded"));
        assert!(err(&nested(100_000)).starts_with("recursion limit exceeded"));
        assert!(err(&"[{\"a\":".repeat(100_000)).starts_with("recursion limit exceeded"));
    }

    #[test]
    fn duplicate_keys() {
        let v = from_str(r#"{"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]},"b":4}"#);
        assert_eq!(
            v.map(|v| v.to_string()).ok().as_deref(),
            Some(r#"{"a":3,"b":4,"c":{"x":[2]}}"#)
        );
        let mut text = String::from("{");
        for i in 0..10_000 {
            text.push_str(&format!("\"k{i}\":{i},"));
        }
        for i in (0..10_000).rev().step_by(7) {
            text.push_str(&format!("\"k{i}\":\"last{i}\","));
        }
        text.push_str("\"end\":true}");
        let v = from_str(&text).ok().unwrap_or_default();
        let object = v.as_object().cloned().unwrap_or_default();
        assert_eq!(object.len(), 10_001);
        for (i, (k, value)) in object.iter().take(10_000).enumerate() {
            assert_eq!(*k, format!("k{i}"));
            if (9_999 - i) % 7 == 0 {
                assert_eq!(*value, format!("last{i}"));
            } else {
                assert_eq!(value.as_u64(), Some(i as u64));
            }
        }
    }
}
