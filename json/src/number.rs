//! JSON numbers kept as their text.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorCode};

/// Number texts up to this many bytes are stored inline (no allocation). 22 bytes hold every
/// `i64`/`u64` and typical decimals; the whole [`Number`] is 24 bytes.
const INLINE_CAP: usize = 22;

/// A JSON number, kept as its text.
///
/// The text is exactly what was parsed (validated against the RFC 8259 number grammar) or what
/// a Rust number formatted to, so numbers round-trip unchanged: `1.50` stays `1.50`,
/// `12345678901234567890123` stays exact, `1E+2` stays `1E+2`. Conversions to Rust numbers
/// ([`as_f64`](Self::as_f64), [`as_i64`](Self::as_i64), [`as_u64`](Self::as_u64)) happen on
/// demand. Texts up to 22 bytes are stored inline, longer ones on the heap.
///
/// Like `serde_json`, a number is an *integer* ([`is_i64`](Self::is_i64) /
/// [`is_u64`](Self::is_u64)) when its text is an integer literal (no fraction, no exponent)
/// that fits the type; everything else, including `-0`, is a float ([`is_f64`](Self::is_f64)).
#[derive(Clone)]
pub struct Number {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Heap(Box<str>),
}

impl Number {
    /// Wraps a text already known to match the JSON number grammar.
    #[inline]
    pub(crate) fn from_validated(text: &str) -> Self {
        let bytes = text.as_bytes();
        let repr = if bytes.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..bytes.len()].copy_from_slice(bytes);
            Repr::Inline {
                len: bytes.len() as u8,
                buf,
            }
        } else {
            Repr::Heap(Box::from(text))
        };
        Self { repr }
    }

    /// Wraps `text[start..end]`, already known to match the JSON number grammar. Short
    /// numbers are copied with a fixed-size copy from the input when it has enough bytes left.
    #[inline]
    pub(crate) fn from_validated_in(text: &str, start: usize, end: usize) -> Self {
        let len = end - start;
        if len <= INLINE_CAP
            && let Some(chunk) = text.as_bytes().get(start..start + INLINE_CAP)
        {
            let mut buf = [0u8; INLINE_CAP];
            buf.copy_from_slice(chunk);
            // Only `buf[..len]` is the number; the bytes after it are ignored.
            return Self {
                repr: Repr::Inline {
                    len: len as u8,
                    buf,
                },
            };
        }
        Self::from_validated(&text[start..end])
    }

    /// The number's JSON text, e.g. `"152.37"`, `"-3"` or `"1e-7"`.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.repr {
            // The bytes were copied from a `&str` that only holds ASCII number characters.
            Repr::Inline { len, buf } => std::str::from_utf8(&buf[..*len as usize]).unwrap_or(""),
            Repr::Heap(text) => text,
        }
    }

    /// The number's JSON text as bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.repr {
            Repr::Inline { len, buf } => &buf[..*len as usize],
            Repr::Heap(text) => text.as_bytes(),
        }
    }

    /// Whether the text is an integer literal (no fraction, no exponent) and not `-0`, which
    /// `serde_json` treats as the float `-0.0`.
    fn is_integer_literal(&self) -> bool {
        let bytes = self.as_bytes();
        bytes != b"-0" && !bytes.iter().any(|&b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// The value as an `f64` (rounded to the nearest `f64` when not exactly representable).
    /// `None` only if the magnitude overflows to infinity (e.g. `1e400`).
    pub fn as_f64(&self) -> Option<f64> {
        self.as_str().parse::<f64>().ok().filter(|f| f.is_finite())
    }

    /// The value as an `i64`, if the text is an integer literal (no fraction or exponent)
    /// within `i64`'s range.
    pub fn as_i64(&self) -> Option<i64> {
        if self.is_integer_literal() {
            self.as_str().parse().ok()
        } else {
            None
        }
    }

    /// The value as a `u64`, if the text is a non-negative integer literal (no fraction or
    /// exponent) within `u64`'s range.
    pub fn as_u64(&self) -> Option<u64> {
        if self.is_integer_literal() {
            self.as_str().parse().ok()
        } else {
            None
        }
    }

    /// Whether [`as_i64`](Self::as_i64) returns `Some`.
    pub fn is_i64(&self) -> bool {
        self.as_i64().is_some()
    }

    /// Whether [`as_u64`](Self::as_u64) returns `Some`.
    pub fn is_u64(&self) -> bool {
        self.as_u64().is_some()
    }

    /// Whether the number is not an integer that fits `i64` or `u64` (like `serde_json`: a
    /// fraction, an exponent, `-0`, or an integer too large for 64 bits).
    pub fn is_f64(&self) -> bool {
        !self.is_i64() && !self.is_u64()
    }

    /// The number as an `i128`, if the text is an integer literal that fits.
    fn as_i128(&self) -> Option<i128> {
        let bytes = self.as_bytes();
        if bytes.iter().any(|&b| matches!(b, b'.' | b'e' | b'E')) {
            None
        } else {
            self.as_str().parse().ok()
        }
    }

    /// Formats a finite `f64` as its shortest round-tripping text, in the same layout as
    /// `serde_json` (`3.0`, `152.37`, `0.00001`, `1e-7`, `1.5e+16`). `None` for NaN and
    /// infinities, which JSON cannot represent. (Formatted by zmij, the formatter serde_json
    /// uses.)
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        Some(Self::from_validated(
            zmij::Buffer::new().format_finite(value),
        ))
    }

    /// Formats an integer given as sign and magnitude.
    fn from_integer(negative: bool, magnitude: u128) -> Self {
        let mut buf = [0u8; 40];
        let mut pos = buf.len();
        let mut rest = magnitude;
        loop {
            pos -= 1;
            buf[pos] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if negative {
            pos -= 1;
            buf[pos] = b'-';
        }
        Self::from_validated(std::str::from_utf8(&buf[pos..]).unwrap_or("0"))
    }
}

/// Checks `bytes[start..]` for a JSON number; returns the end of it, or the error and its
/// position (following `serde_json`'s conventions, see the parser).
#[inline]
pub(crate) fn scan_number(bytes: &[u8], start: usize) -> Result<usize, (ErrorCode, usize)> {
    let mut pos = start;
    if bytes.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match bytes.get(pos) {
        Some(b'0') => {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'0'..=b'9')) {
                return Err((ErrorCode::InvalidNumber, pos + 1));
            }
        }
        Some(b'1'..=b'9') => {
            pos += 1;
            while matches!(bytes.get(pos), Some(b'0'..=b'9')) {
                pos += 1;
            }
        }
        Some(_) => return Err((ErrorCode::InvalidNumber, pos + 1)),
        None => return Err((ErrorCode::EofWhileParsingValue, pos)),
    }
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        let digits = pos;
        while matches!(bytes.get(pos), Some(b'0'..=b'9')) {
            pos += 1;
        }
        if pos == digits {
            return Err(if pos < bytes.len() {
                (ErrorCode::InvalidNumber, pos + 1)
            } else {
                (ErrorCode::EofWhileParsingValue, pos)
            });
        }
    }
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        if matches!(bytes.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        match bytes.get(pos) {
            Some(b'0'..=b'9') => pos += 1,
            Some(_) => return Err((ErrorCode::InvalidNumber, pos + 1)),
            None => return Err((ErrorCode::EofWhileParsingValue, pos)),
        }
        while matches!(bytes.get(pos), Some(b'0'..=b'9')) {
            pos += 1;
        }
    }
    Ok(pos)
}

impl FromStr for Number {
    type Err = Error;

    /// Parses a JSON number text (exactly the RFC 8259 grammar: no surrounding whitespace, no
    /// `+`, no leading zeros, digits required around `.` and after `e`).
    fn from_str(text: &str) -> Result<Self, Error> {
        let bytes = text.as_bytes();
        match scan_number(bytes, 0) {
            Ok(end) if end == bytes.len() => Ok(Self::from_validated(text)),
            Ok(end) => Err(Error::syntax(ErrorCode::InvalidNumber, bytes, end + 1)),
            Err((code, at)) => Err(Error::syntax(code, bytes, at)),
        }
    }
}

impl PartialEq for Number {
    /// Numbers are equal when their texts are equal, when both are integer literals with the
    /// same value (`-0` and `0` included), or otherwise when both convert to the same `f64`
    /// (so `1.5` equals `1.50` and `15e-1`).
    fn eq(&self, other: &Self) -> bool {
        if self.as_bytes() == other.as_bytes() {
            return true;
        }
        match (self.as_i128(), other.as_i128()) {
            (Some(a), Some(b)) => a == b,
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
        }
    }
}

impl fmt::Display for Number {
    /// Writes the number's JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Number {
    /// `Number(152.37)`, like `serde_json`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({})", self.as_str())
    }
}

macro_rules! from_unsigned {
    ($($ty:ty)*) => {$(
        impl From<$ty> for Number {
            #[doc = concat!("The decimal text of a `", stringify!($ty), "`.")]
            fn from(value: $ty) -> Self {
                Self::from_integer(false, value as u128)
            }
        }
    )*};
}

macro_rules! from_signed {
    ($($ty:ty)*) => {$(
        impl From<$ty> for Number {
            #[doc = concat!("The decimal text of an `", stringify!($ty), "`.")]
            fn from(value: $ty) -> Self {
                Self::from_integer(value < 0, value.unsigned_abs() as u128)
            }
        }
    )*};
}

from_unsigned!(u8 u16 u32 u64 usize);
from_signed!(i8 i16 i32 i64 isize);

impl From<u128> for Number {
    /// The decimal text of a `u128`.
    fn from(value: u128) -> Self {
        Self::from_integer(false, value)
    }
}

impl From<i128> for Number {
    /// The decimal text of an `i128`.
    fn from(value: i128) -> Self {
        Self::from_integer(value < 0, value.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Number {
        match text.parse() {
            Ok(n) => n,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn size() {
        assert_eq!(std::mem::size_of::<Number>(), 24);
    }

    #[test]
    fn accessors() {
        let n = num("3");
        assert_eq!(
            (n.as_i64(), n.as_u64(), n.as_f64()),
            (Some(3), Some(3), Some(3.0))
        );
        assert!(n.is_i64() && n.is_u64() && !n.is_f64());
        let n = num("-3");
        assert_eq!(
            (n.as_i64(), n.as_u64(), n.as_f64()),
            (Some(-3), None, Some(-3.0))
        );
        assert!(n.is_i64() && !n.is_u64() && !n.is_f64());
        let n = num("152.37");
        assert_eq!(
            (n.as_i64(), n.as_u64(), n.as_f64()),
            (None, None, Some(152.37))
        );
        assert!(n.is_f64());
        let n = num("18446744073709551615");
        assert_eq!((n.as_i64(), n.as_u64()), (None, Some(u64::MAX)));
        assert!(!n.is_i64() && n.is_u64() && !n.is_f64());
        let n = num("-9223372036854775808");
        assert_eq!(n.as_i64(), Some(i64::MIN));
        let n = num("12345678901234567890123");
        assert_eq!((n.as_i64(), n.as_u64()), (None, None));
        assert_eq!(n.as_f64(), Some(1.2345678901234568e22));
        assert!(n.is_f64());
        assert_eq!(n.as_str(), "12345678901234567890123");
        let n = num("1e400");
        assert_eq!(n.as_f64(), None);
        assert!(n.is_f64());
        let n = num("-0");
        assert_eq!((n.as_i64(), n.as_u64()), (None, None));
        assert!(n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()));
        assert!(n.is_f64());
        let n = num("1E+2");
        assert_eq!(
            (n.as_i64(), n.as_f64(), n.as_str()),
            (None, Some(100.0), "1E+2")
        );
        let long = "-1234567890.12345678901234567890e-5";
        assert_eq!(num(long).as_str(), long);
        assert_eq!(num(long).to_string(), long);
        assert_eq!(format!("{:?}", num("1.5")), "Number(1.5)");
    }

    #[test]
    fn from_integers() {
        assert_eq!(Number::from(0u8).as_str(), "0");
        assert_eq!(Number::from(-7i32).as_str(), "-7");
        assert_eq!(Number::from(i64::MIN).as_str(), "-9223372036854775808");
        assert_eq!(Number::from(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(Number::from(i128::MIN).as_str(), i128::MIN.to_string());
        assert_eq!(Number::from(usize::MAX).as_u64(), Some(usize::MAX as u64));
    }

    #[test]
    fn from_f64() {
        let cases = [
            (3.0, "3.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (152.37, "152.37"),
            (1e-7, "1e-7"),
            (1e-5, "0.00001"),
            (1.5e10, "15000000000.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (value, text) in cases {
            assert_eq!(
                Number::from_f64(value).map(|n| n.to_string()).as_deref(),
                Some(text)
            );
        }
        assert!(Number::from_f64(f64::NAN).is_none());
        assert!(Number::from_f64(f64::INFINITY).is_none());
        assert!(Number::from_f64(f64::NEG_INFINITY).is_none());
    }

    #[test]
    fn grammar() {
        for ok in [
            "0", "-0", "1", "-1", "10", "1.5", "0.5", "1e5", "1E5", "1e+5", "1e-5", "-0.0e-0",
        ] {
            assert_eq!(num(ok).as_str(), ok);
        }
        for bad in [
            "", "-", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1.e3", " 1", "1 ", "0x1", "NaN",
            "1.5.3",
        ] {
            assert!(bad.parse::<Number>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn equality() {
        assert_eq!(num("1.5"), num("1.50"));
        assert_eq!(num("1.5"), num("15e-1"));
        assert_eq!(num("0"), num("-0"));
        assert_eq!(num("1"), num("1.0"));
        assert_ne!(num("9007199254740993"), num("9007199254740992"));
        assert_ne!(num("1"), num("2"));
        assert_eq!(num("1e400"), num("1e400"));
        assert_ne!(num("1e400"), num("2e400"));
    }
}
