//! The error type.

use std::fmt;

/// What went wrong while parsing; the messages are `serde_json`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    EofWhileParsingList,
    EofWhileParsingObject,
    EofWhileParsingString,
    EofWhileParsingValue,
    ExpectedColon,
    ExpectedListCommaOrEnd,
    ExpectedObjectCommaOrEnd,
    ExpectedSomeIdent,
    ExpectedSomeValue,
    InvalidEscape,
    InvalidNumber,
    InvalidUnicodeCodePoint,
    ControlCharacterWhileParsingString,
    KeyMustBeAString,
    LoneLeadingSurrogateInHexEscape,
    TrailingComma,
    TrailingCharacters,
    UnexpectedEndOfHexEscape,
    RecursionLimitExceeded,
}

impl ErrorCode {
    fn message(self) -> &'static str {
        match self {
            Self::EofWhileParsingList => "EOF while parsing a list",
            Self::EofWhileParsingObject => "EOF while parsing an object",
            Self::EofWhileParsingString => "EOF while parsing a string",
            Self::EofWhileParsingValue => "EOF while parsing a value",
            Self::ExpectedColon => "expected `:`",
            Self::ExpectedListCommaOrEnd => "expected `,` or `]`",
            Self::ExpectedObjectCommaOrEnd => "expected `,` or `}`",
            Self::ExpectedSomeIdent => "expected ident",
            Self::ExpectedSomeValue => "expected value",
            Self::InvalidEscape => "invalid escape",
            Self::InvalidNumber => "invalid number",
            Self::InvalidUnicodeCodePoint => "invalid unicode code point",
            Self::ControlCharacterWhileParsingString => {
                "control character (\\u0000-\\u001F) found while parsing a string"
            }
            Self::KeyMustBeAString => "key must be a string",
            Self::LoneLeadingSurrogateInHexEscape => "lone leading surrogate in hex escape",
            Self::TrailingComma => "trailing comma",
            Self::TrailingCharacters => "trailing characters",
            Self::UnexpectedEndOfHexEscape => "unexpected end of hex escape",
            Self::RecursionLimitExceeded => "recursion limit exceeded",
        }
    }

    fn is_eof(self) -> bool {
        matches!(
            self,
            Self::EofWhileParsingList
                | Self::EofWhileParsingObject
                | Self::EofWhileParsingString
                | Self::EofWhileParsingValue
        )
    }
}

/// An error from parsing JSON text, or from converting with [`to_value`](crate::to_value) /
/// [`from_value`](crate::from_value).
///
/// Displays like `serde_json`'s errors: the message followed by ` at line L column C` when the
/// error has a position in the input, e.g. `expected `,` or `}` at line 1 column 17`. Lines
/// and columns count from 1; the column counts bytes, and is the position of the offending
/// byte (or of the end of input).
pub struct Error {
    inner: Box<ErrorImpl>,
}

struct ErrorImpl {
    message: Message,
    line: usize,
    column: usize,
}

enum Message {
    Code(ErrorCode),
    Custom(Box<str>),
}

impl Error {
    /// A syntax error at byte position `index` of `text` (the column counts the bytes of the
    /// line up to and including `index - 1`, like `serde_json`).
    #[cold]
    pub(crate) fn syntax(code: ErrorCode, text: &[u8], index: usize) -> Self {
        let index = index.min(text.len());
        let before = &text[..index];
        let start_of_line = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = 1 + before[..start_of_line]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Self {
            inner: Box::new(ErrorImpl {
                message: Message::Code(code),
                line,
                column: index - start_of_line,
            }),
        }
    }

    /// An error without a position.
    #[cold]
    pub(crate) fn custom(message: impl fmt::Display) -> Self {
        Self {
            inner: Box::new(ErrorImpl {
                message: Message::Custom(message.to_string().into_boxed_str()),
                line: 0,
                column: 0,
            }),
        }
    }

    /// The line (counting from 1) of the error, or 0 when it has no position in an input.
    pub fn line(&self) -> usize {
        self.inner.line
    }

    /// The column (counting bytes from 1) of the error, or 0 when it has no position in an
    /// input. A column of 0 with a line of 1 means "before the first byte" (empty input).
    pub fn column(&self) -> usize {
        self.inner.column
    }

    /// Whether the input ended too early (it may be the truncated start of a valid document).
    pub fn is_eof(&self) -> bool {
        matches!(self.inner.message, Message::Code(code) if code.is_eof())
    }

    fn message(&self) -> &str {
        match &self.inner.message {
            Message::Code(code) => code.message(),
            Message::Custom(message) => message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inner.line == 0 {
            f.write_str(self.message())
        } else {
            write!(
                f,
                "{} at line {} column {}",
                self.message(),
                self.inner.line,
                self.inner.column
            )
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Error({:?}, line: {}, column: {})",
            self.message(),
            self.inner.line,
            self.inner.column
        )
    }
}

impl std::error::Error for Error {}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::custom(msg)
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::custom(msg)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self::custom(error)
    }
}
