//! File formats of file sources and targets (FTP, SFTP and S3 exports and imports): records
//! (`serde_json::Value`s) read from and written to byte streams as CSV, JSON or XML.
//!
//! A [`FileFormat`] is compiled once from an export's or import's `file` block (`file.type` =
//! `csv` | `json` | `xml`, options in `file.csv`, `file.json`, `file.xml`). Its [`RecordReader`]
//! yields one record at a time and its [`RecordWriter`] writes one record at a time; neither
//! holds the whole file.
//!
//! Choices worth knowing:
//! - Files are UTF-8; a leading byte-order mark is skipped.
//! - Reading errors: a malformed record yields an `Err` with its 1-based line and the next
//!   record still comes; a fatal error (I/O, a file that is not JSON at all, XML that is not
//!   well-formed) yields one `Err` with `fatal` set, then the reader ends.
//! - CSV reading uses a small parser of our own rather than the `csv` crate, because the crate
//!   lets an unterminated quote swallow the rest of the file. RFC 4180 quoting (`""` inside
//!   quotes, delimiters and line breaks inside quoted fields); a quote inside an unquoted field is
//!   a plain character and text after a closing quote is kept (`"ab"c` reads `abc`). Blank lines
//!   are skipped. Every row must have as many fields as the header (or, without a header, the
//!   first row): another count is an error for that row. A quoted field may span lines, but when
//!   a row that spans lines ends up with the wrong field count or with text after a closing
//!   quote, or the file (or 16 MiB) ends inside the quotes, the quote is taken as unterminated:
//!   the error names the row's first line and reading starts again on the line after it, so a
//!   stray quote costs one row, not the rest of the file. (A quote that a later quote on another
//!   line happens to close, leaving the right field count, cannot be told from a legitimate
//!   multi-line field.)
//! - CSV values are strings (no type guessing). `trimSpaces` trims spaces and tabs around values
//!   and header names (also before an opening quote). An empty header name becomes `ColumnN`;
//!   a repeated one keeps its last column.
//! - `file.csv.keyColumns`: consecutive rows with equal values in the key columns become one
//!   record that is an array of those rows, as integrator.io passes grouped rows; the CSV and XML
//!   writers write such a record as its rows.
//! - CSV writing: the columns are `file.csv.columns`, else the keys of the first record that has
//!   any: those the import's mapping generates first, in the mapping's order, then the others in
//!   alphabetical order (serde_json keeps object keys sorted here, no `preserve_order`).
//!   Records without fields before the columns are known are skipped. Keys outside the columns
//!   are left out; missing and null values are empty; numbers, booleans, objects and arrays are
//!   written as JSON text. Fields are quoted only when they hold the delimiter, a quote or a
//!   line break (`\r` too), or are the lone empty field of a one-column row (a blank line would
//!   be skipped), unless `wrapWithQuotes`.
//! - XML writing: a record's child elements come in the same order as CSV columns (those the
//!   mapping generates first); nested elements in alphabetical order.
//! - JSON reading streams: a small byte scanner walks to `resourcePath` (object keys; a number
//!   indexes an array) and splits the records array into elements, each parsed on its own by
//!   serde_json. A malformed element is an error with its line and the next element still
//!   comes; a broken structure around the elements (the file ends inside the array, no `,`
//!   between elements) ends reading. Records must be objects (arrays pass too, as grouped rows).
//!   `file.json.format` `json` (the default) also reads newline-delimited JSON: when the file's
//!   first value is an object followed by more values, the rest is read one value per line.
//!   `ndjson` (alias `jsonl`) always reads one value per line; `resourcePath` applies to
//!   documents only.
//! - XML reading streams record by record with quick-xml. `resourcePath` is element names
//!   joined by `/`: with a leading `/` the path starts at the root element, otherwise it matches
//!   the innermost elements (`Order` finds every `Order` that is not inside another record).
//!   Empty, the records are the children of the root element. A child element becomes a field
//!   (repeated children an array), an attribute an `@name` field; an element without attributes
//!   or children becomes its exact text (`""` when empty), numbers included; otherwise its text
//!   goes to `#text`. Names keep their namespace prefix. An unknown entity or a bad attribute
//!   skips that record with an error; XML that is not well-formed ends reading (a streaming
//!   parser cannot find the next record after that).
//! - XML writing: an XML declaration, `<records>` (`rootElement`), one `<record>`
//!   (`recordElement`) per record and line; fields become child elements, arrays repeated
//!   elements, `@name` fields attributes and `#text` the text. Null becomes an empty element
//!   (read back as `""`) and an empty array nothing. A field name that is not an XML name has
//!   its other characters replaced by `_` (and `_` put before a leading digit, `-` or `.`).
//!   `\r` is written as `&#13;` so that it survives XML's line-end normalisation; control
//!   characters XML 1.0 cannot carry are dropped.
//! - JSON writing: one array (`[`, records separated by `,` and a line break, `]`), or one
//!   record per line for `ndjson`.

use std::borrow::Cow;
use std::io::{self, BufRead, BufWriter, Write};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use serde_json::{Map, Value};

use super::AdaptorError;

/// How large a CSV row may grow while inside quotes before the quote is taken as unterminated;
/// it bounds the memory one malformed row can take.
const MAX_QUOTED_ROW: usize = 16 << 20;

/// The UTF-8 byte-order mark some tools put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Output is gathered into blocks of this size before it goes to the writer.
const WRITE_BUFFER: usize = 64 << 10;

/// How deep elements may nest inside an XML record (serde_json's own limit): values are
/// dropped and written recursively, so a hostile file must not nest without end.
const MAX_XML_DEPTH: usize = 128;

/// Why a `file` block is not usable, or a record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// A field of the `file` block is missing or wrong.
    #[error("{field}: {message}")]
    Config {
        /// The field, as a dot path from the export or import (`file.csv.columnDelimiter`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A record cannot be written in this format (e.g. a number as a CSV row).
    #[error("{0}")]
    Record(String),
    /// Writing to the output failed.
    #[error("cannot write the file: {0}")]
    Io(#[from] io::Error),
}

impl FormatError {
    /// The field of the `file` block a configuration error is about.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Config { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<FormatError> for AdaptorError {
    fn from(error: FormatError) -> Self {
        let code = match error {
            FormatError::Config { .. } => "invalid_file_format",
            FormatError::Record(_) => "invalid_record",
            FormatError::Io(_) => "file_io",
        };
        AdaptorError::new(code, error.to_string())
    }
}

/// A record that could not be read, or why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", .line.map(|line| format!("line {line}: ")).unwrap_or_default())]
pub struct RecordError {
    /// The 1-based line where the record starts (or where reading stopped), when known.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
    /// Whether reading ended here (I/O error, a file that cannot be parsed at all); otherwise the
    /// next record follows.
    pub fatal: bool,
}

impl RecordError {
    fn record(line: u64, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
            fatal: false,
        }
    }

    fn fatal(line: Option<u64>, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
            fatal: true,
        }
    }

    fn io(line: Option<u64>, error: &io::Error) -> Self {
        Self::fatal(line, format!("cannot read the file: {error}"))
    }
}

impl From<RecordError> for AdaptorError {
    fn from(error: RecordError) -> Self {
        AdaptorError::new("invalid_file", error.to_string())
    }
}

/// How records are laid out in a file: compiled from an export's or import's `file` block.
#[derive(Debug, Clone)]
pub struct FileFormat {
    kind: Kind,
    /// Fields written first, in this order ([`FileFormat::with_field_order`]).
    field_order: Vec<String>,
}

#[derive(Debug, Clone)]
enum Kind {
    Csv(CsvOptions),
    Json(JsonOptions),
    Xml(XmlOptions),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowDelimiter {
    Lf,
    CrLf,
    Cr,
}

impl RowDelimiter {
    /// The byte that ends a physical line when reading (`\r\n` ends in `\n`).
    fn last_byte(self) -> u8 {
        match self {
            Self::Lf | Self::CrLf => b'\n',
            Self::Cr => b'\r',
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Self::Lf => b"\n",
            Self::CrLf => b"\r\n",
            Self::Cr => b"\r",
        }
    }
}

#[derive(Debug, Clone)]
struct CsvOptions {
    delimiter: u8,
    row_delimiter: RowDelimiter,
    has_header: bool,
    key_columns: Vec<String>,
    trim: bool,
    include_header: bool,
    wrap_with_quotes: bool,
    replace_tab: bool,
    replace_newline: bool,
    columns: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct JsonOptions {
    path: Vec<String>,
    lines: bool,
}

#[derive(Debug, Clone)]
struct XmlOptions {
    path: Vec<String>,
    anchored: bool,
    root: String,
    record: String,
}

impl FileFormat {
    /// From an export's or import's `file` block; errors name the field
    /// (`file.csv.columnDelimiter`).
    pub fn from_block(file: &Value) -> Result<FileFormat, FormatError> {
        if !file.is_object() {
            return Err(config(
                "file",
                "must be an object with a type (csv, json or xml)",
            ));
        }
        let kind = match text(file, "type", "file.type")? {
            None => return Err(config("file.type", "is required (csv, json or xml)")),
            Some(t) if t.eq_ignore_ascii_case("csv") => {
                Kind::Csv(CsvOptions::from_block(block(file, "csv")?)?)
            }
            Some(t) if t.eq_ignore_ascii_case("json") => {
                Kind::Json(JsonOptions::from_block(block(file, "json")?)?)
            }
            Some(t) if t.eq_ignore_ascii_case("xml") => {
                Kind::Xml(XmlOptions::from_block(block(file, "xml")?)?)
            }
            Some(other) => {
                return Err(config(
                    "file.type",
                    format!("'{other}' is not supported (csv, json or xml)"),
                ));
            }
        };
        Ok(FileFormat {
            kind,
            field_order: Vec::new(),
        })
    }

    /// The same format, writing `order`'s fields of a record first, in this order, then its
    /// other keys (sorted): the columns of CSV without `file.csv.columns`, and the child
    /// elements of each XML record. An import passes its mapping's order
    /// ([`crate::flow::mapping::Mapping::generated_order`]).
    pub fn with_field_order(mut self, order: Vec<String>) -> Self {
        self.field_order = order;
        self
    }

    /// A streaming reader of the records in `input`.
    ///
    /// CSV and newline-delimited JSON are read line by line, a JSON document element by element
    /// of its records array (see the module documentation) and XML record element by record
    /// element, so memory stays at about one record.
    pub fn reader<R: BufRead>(&self, input: R) -> RecordReader<R> {
        let inner = match &self.kind {
            Kind::Csv(options) => Inner::Csv(Box::new(CsvReader::new(input, options))),
            Kind::Json(options) => Inner::Json(JsonReader::new(input, options)),
            Kind::Xml(options) => Inner::Xml(Box::new(XmlReader::new(input, options))),
        };
        RecordReader { inner }
    }

    /// A streaming writer of records to `output`.
    pub fn writer<W: Write>(&self, output: W) -> RecordWriter<W> {
        let out = BufWriter::with_capacity(WRITE_BUFFER, output);
        let inner = match &self.kind {
            Kind::Csv(options) => WriterKind::Csv(Box::new(CsvWriter::new(
                out,
                options,
                self.field_order.clone(),
            ))),
            Kind::Json(options) => WriterKind::Json {
                out,
                lines: options.lines,
                written: 0,
            },
            Kind::Xml(options) => WriterKind::Xml {
                out,
                root: options.root.clone(),
                record: options.record.clone(),
                order: self.field_order.clone(),
                started: false,
            },
        };
        RecordWriter { inner }
    }

    /// The file extension for names (`csv`, `json`, `xml`; newline-delimited JSON too is
    /// `json`).
    pub fn extension(&self) -> &'static str {
        match self.kind {
            Kind::Csv(_) => "csv",
            Kind::Json(_) => "json",
            Kind::Xml(_) => "xml",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The `file` block.

fn config(field: &str, message: impl Into<String>) -> FormatError {
    FormatError::Config {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

static NULL: Value = Value::Null;

/// The `key` block of `file` (null when absent, so that every option takes its default).
fn block<'a>(file: &'a Value, key: &str) -> Result<&'a Value, FormatError> {
    match file.get(key) {
        None | Some(Value::Null) => Ok(&NULL),
        Some(value @ Value::Object(_)) => Ok(value),
        Some(other) => Err(config(
            &format!("file.{key}"),
            format!("must be an object, not {}", kind_of(other)),
        )),
    }
}

/// `block.key` as text; missing, null and "" are absent.
fn text<'a>(block: &'a Value, key: &str, field: &str) -> Result<Option<&'a str>, FormatError> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(config(
            field,
            format!("must be text, not {}", kind_of(other)),
        )),
    }
}

fn flag(block: &Value, key: &str, field: &str, default: bool) -> Result<bool, FormatError> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(config(
            field,
            format!("must be true or false, not {}", kind_of(other)),
        )),
    }
}

fn names(block: &Value, key: &str, field: &str) -> Result<Option<Vec<String>>, FormatError> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(config(
                    field,
                    format!("must be a list of names, not hold {}", kind_of(other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(config(
            field,
            format!("must be a list of names, not {}", kind_of(other)),
        )),
    }
}

impl CsvOptions {
    fn from_block(csv: &Value) -> Result<Self, FormatError> {
        const DELIMITER: &str = "file.csv.columnDelimiter";
        const ROW: &str = "file.csv.rowDelimiter";
        // A hand-written block may spell a tab or a line break with a backslash.
        let delimiter = match text(csv, "columnDelimiter", DELIMITER)? {
            None => b',',
            Some("\\t") => b'\t',
            Some(d) => match d.as_bytes() {
                [b] if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => *b,
                _ => {
                    return Err(config(
                        DELIMITER,
                        format!(
                            "must be one ASCII character other than a quote or a line break, \
                             not {d:?}"
                        ),
                    ));
                }
            },
        };
        let row_delimiter = match text(csv, "rowDelimiter", ROW)? {
            None | Some("\n" | "\\n") => RowDelimiter::Lf,
            Some("\r\n" | "\\r\\n") => RowDelimiter::CrLf,
            Some("\r" | "\\r") => RowDelimiter::Cr,
            Some(other) => {
                return Err(config(
                    ROW,
                    format!("must be \"\\n\", \"\\r\\n\" or \"\\r\", not {other:?}"),
                ));
            }
        };
        Ok(Self {
            delimiter,
            row_delimiter,
            has_header: flag(csv, "hasHeaderRow", "file.csv.hasHeaderRow", true)?,
            key_columns: names(csv, "keyColumns", "file.csv.keyColumns")?.unwrap_or_default(),
            trim: flag(csv, "trimSpaces", "file.csv.trimSpaces", false)?,
            include_header: flag(csv, "includeHeader", "file.csv.includeHeader", true)?,
            wrap_with_quotes: flag(csv, "wrapWithQuotes", "file.csv.wrapWithQuotes", false)?,
            replace_tab: flag(
                csv,
                "replaceTabWithSpace",
                "file.csv.replaceTabWithSpace",
                false,
            )?,
            replace_newline: flag(
                csv,
                "replaceNewlineWithSpace",
                "file.csv.replaceNewlineWithSpace",
                false,
            )?,
            columns: names(csv, "columns", "file.csv.columns")?.filter(|c| !c.is_empty()),
        })
    }
}

impl JsonOptions {
    fn from_block(json: &Value) -> Result<Self, FormatError> {
        let lines = match text(json, "format", "file.json.format")? {
            None => false,
            Some(f) if f.eq_ignore_ascii_case("json") => false,
            Some(f)
                if ["ndjson", "jsonl", "jsonlines"]
                    .iter()
                    .any(|n| f.eq_ignore_ascii_case(n)) =>
            {
                true
            }
            Some(other) => {
                return Err(config(
                    "file.json.format",
                    format!("'{other}' is not a JSON format (json or ndjson)"),
                ));
            }
        };
        let path = text(json, "resourcePath", "file.json.resourcePath")?
            .unwrap_or_default()
            .split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self { path, lines })
    }
}

impl XmlOptions {
    fn from_block(xml: &Value) -> Result<Self, FormatError> {
        let path = text(xml, "resourcePath", "file.xml.resourcePath")?
            .unwrap_or_default()
            .trim();
        let element = |key: &str, default: &str| -> Result<String, FormatError> {
            let field = format!("file.xml.{key}");
            match text(xml, key, &field)? {
                None => Ok(default.to_owned()),
                Some(name) if is_xml_name(name) => Ok(name.to_owned()),
                Some(name) => Err(config(
                    &field,
                    format!("'{name}' is not an XML element name"),
                )),
            }
        };
        Ok(Self {
            anchored: path.starts_with('/'),
            path: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            root: element("rootElement", "records")?,
            record: element("recordElement", "record")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// A streaming reader of records; see [`FileFormat::reader`].
///
/// Each item is a record or an error: a malformed record's error carries its line and the
/// iteration goes on; a fatal error (`fatal`) is the last item.
pub struct RecordReader<R> {
    inner: Inner<R>,
}

enum Inner<R> {
    Csv(Box<CsvReader<R>>),
    Json(JsonReader<R>),
    Xml(Box<XmlReader<R>>),
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Value, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Csv(reader) => reader.next_record(),
            Inner::Json(reader) => reader.next_record(),
            Inner::Xml(reader) => reader.next_record(),
        }
    }
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// A record must be an object; an array passes too (grouped rows).
fn as_record(value: Value, line: u64) -> Result<Value, RecordError> {
    match value {
        Value::Object(_) | Value::Array(_) => Ok(value),
        other => Err(RecordError::record(
            line,
            format!("a record must be an object, not {}", kind_of(&other)),
        )),
    }
}

// CSV reading -------------------------------------------------------------------------------

/// Where the CSV parser is within a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldState {
    /// At the start of a field.
    Start,
    /// Inside a field that did not start with a quote.
    Unquoted,
    /// Inside quotes.
    Quoted,
    /// Just after a quote inside quotes: the end of the quotes, or the first half of `""`.
    QuoteInQuoted,
}

/// Splits one physical line (without its line break) into fields: the field text goes to
/// `fields` and each field's end offset to `ends`, the last field of the line excepted. `state`
/// carries a quoted field on from the previous line. Returns the state at the end of the line;
/// sets `stray` when a closing quote is followed by more text, which is tolerated on one line
/// but betrays an unterminated quote in a row that spans lines.
fn split_line(
    line: &[u8],
    delimiter: u8,
    trim: bool,
    mut state: FieldState,
    fields: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    stray: &mut bool,
) -> FieldState {
    let mut i = 0;
    while i < line.len() {
        match state {
            FieldState::Start => {
                let b = line[i];
                if b == b'"' {
                    state = FieldState::Quoted;
                    i += 1;
                } else if b == delimiter {
                    ends.push(fields.len());
                    i += 1;
                } else if trim && (b == b' ' || b == b'\t') {
                    // Skipped so that a quote after the blanks still opens a quoted field.
                    i += 1;
                } else {
                    state = FieldState::Unquoted;
                }
            }
            FieldState::Unquoted => match memchr::memchr(delimiter, &line[i..]) {
                Some(n) => {
                    fields.extend_from_slice(&line[i..i + n]);
                    ends.push(fields.len());
                    i += n + 1;
                    state = FieldState::Start;
                }
                None => {
                    fields.extend_from_slice(&line[i..]);
                    i = line.len();
                }
            },
            FieldState::Quoted => match memchr::memchr(b'"', &line[i..]) {
                Some(n) => {
                    fields.extend_from_slice(&line[i..i + n]);
                    i += n + 1;
                    state = FieldState::QuoteInQuoted;
                }
                None => {
                    fields.extend_from_slice(&line[i..]);
                    i = line.len();
                }
            },
            FieldState::QuoteInQuoted => {
                let b = line[i];
                if b == b'"' {
                    fields.push(b'"');
                    state = FieldState::Quoted;
                    i += 1;
                } else if b == delimiter {
                    ends.push(fields.len());
                    state = FieldState::Start;
                    i += 1;
                } else {
                    // Lenient like most readers: text after the closing quote joins the field.
                    *stray = true;
                    state = FieldState::Unquoted;
                }
            }
        }
    }
    state
}

// Scanning eight bytes at a time, as a `u64` word (lowest address in the lowest byte): fields
// are short, and a byte-by-byte loop spends more on its branches than on the bytes.

/// Each byte 1 (times a byte: that byte in each place).
const WORD_ONES: u64 = u64::from_le_bytes([1; 8]);
/// Each byte's low seven bits.
const WORD_LOWS: u64 = u64::from_le_bytes([0x7F; 8]);

/// The high bit of each byte of `word` that equals `b`, and no other bit.
fn bytes_equal(word: u64, b: u8) -> u64 {
    // The bytes equal to `b` are the zero bytes of `x`.
    let x = word ^ (WORD_ONES * u64::from(b));
    // Adding 0x7F to a byte's low seven bits sets its high bit unless they are all zero, and
    // never carries into the next byte; or-ing `x` adds the byte's own high bit. So the high
    // bit is clear exactly in the zero bytes.
    !(((x & WORD_LOWS) + WORD_LOWS) | x | WORD_LOWS)
}

/// `bytes` eight at a time (the rest, fewer, apart): a word per 8 bytes, lowest address lowest.
fn words(bytes: &[u8]) -> (impl Iterator<Item = u64> + '_, &[u8]) {
    let chunks = bytes.chunks_exact(8);
    let rest = chunks.remainder();
    let words = chunks.map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
    (words, rest)
}

/// Finds the delimiters of a line that has no quotes, a word at a time: their offsets go to
/// `ends`. False, with `ends` left unfinished, when the line has a quote after all.
fn split_plain(line: &[u8], delimiter: u8, ends: &mut Vec<usize>) -> bool {
    let (words, rest) = words(line);
    let mut at = 0;
    for word in words {
        if bytes_equal(word, b'"') != 0 {
            return false;
        }
        let mut found = bytes_equal(word, delimiter);
        while found != 0 {
            ends.push(at + found.trailing_zeros() as usize / 8);
            found &= found - 1;
        }
        at += 8;
    }
    for (i, &b) in rest.iter().enumerate() {
        if b == b'"' {
            return false;
        }
        if b == delimiter {
            ends.push(at + i);
        }
    }
    true
}

/// The columns of a CSV file (from its header or first row) and how a row becomes a record.
struct Columns {
    names: Vec<String>,
    /// A record with every name and null values: each row's record is a clone of it with the
    /// values filled in. A B-tree clone copies the keys in order, without the comparisons and
    /// node shifts of inserting them one by one (and a null is cheaper to clone than even an
    /// empty string).
    template: Map<String, Value>,
    /// For each key of `template`, in its (sorted) order, the column its value comes from: the
    /// last column of that name.
    slots: Vec<usize>,
    /// The other columns of a repeated name (checked for valid text all the same).
    shadowed: Vec<usize>,
    /// Every column in the order of their names, a repeated name's last column first: the
    /// order in which an invalid field is looked for.
    order: Vec<usize>,
}

impl Columns {
    fn new(names: Vec<String>) -> Self {
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| names[a].cmp(&names[b]).then(b.cmp(&a)));
        // A repeated name keeps its last column, the first of its name in `order`.
        let mut slots = order.clone();
        slots.dedup_by(|later, kept| names[*later] == names[*kept]);
        let shadowed = order
            .iter()
            .copied()
            .filter(|i| !slots.contains(i))
            .collect();
        let template = slots
            .iter()
            .map(|&i| (names[i].clone(), Value::Null))
            .collect();
        Self {
            names,
            template,
            slots,
            shadowed,
            order,
        }
    }

    /// The row whose field `i` is `text[start..ends[i]]` as a record, where the first field
    /// starts at 0 and the others `gap` bytes after the end of the one before (1 when the
    /// delimiters are still in `text`). `text` is None when the row is not valid UTF-8.
    fn record(
        &self,
        text: Option<&str>,
        ends: &[usize],
        gap: usize,
        trim: bool,
        line: u64,
    ) -> Result<Value, RecordError> {
        let field = |i: usize| {
            let start = if i == 0 { 0 } else { ends[i - 1] + gap };
            let field = text?.get(start..ends[i])?;
            Some(if trim {
                field.trim_matches([' ', '\t'])
            } else {
                field
            })
        };
        let invalid = || {
            // The invalid field named is the one with the greatest name (its first column).
            let i = self
                .order
                .iter()
                .rev()
                .copied()
                .find(|&i| field(i).is_none());
            let i = i.unwrap_or_default();
            RecordError::record(
                line,
                format!("field {} ({}) is not valid UTF-8", i + 1, self.names[i]),
            )
        };
        if self.shadowed.iter().any(|&i| field(i).is_none()) {
            return Err(invalid());
        }
        let mut record = self.template.clone();
        for (value, &i) in record.values_mut().zip(&self.slots) {
            *value = Value::String(field(i).ok_or_else(invalid)?.to_owned());
        }
        Ok(Value::Object(record))
    }
}

struct CsvReader<R> {
    input: R,
    delimiter: u8,
    row_delimiter: RowDelimiter,
    has_header: bool,
    trim: bool,
    key_columns: Vec<String>,
    /// Lines to read again before `input`: those after an unterminated quote's first line.
    replay: Vec<u8>,
    replay_at: usize,
    /// The 1-based number of the next physical line.
    next_line: u64,
    at_start: bool,
    /// Every physical line of the row being read.
    raw: Vec<u8>,
    /// The row's field texts, one after the other, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// The columns, once the header (or the first row) has been read.
    columns: Option<Columns>,
    /// The rows of the group being gathered (with `keyColumns`).
    group: Option<Vec<Value>>,
    done: bool,
}

impl<R: BufRead> CsvReader<R> {
    fn new(input: R, options: &CsvOptions) -> Self {
        Self {
            input,
            delimiter: options.delimiter,
            row_delimiter: options.row_delimiter,
            has_header: options.has_header,
            trim: options.trim,
            key_columns: options.key_columns.clone(),
            replay: Vec::new(),
            replay_at: 0,
            next_line: 1,
            at_start: true,
            raw: Vec::with_capacity(1024),
            fields: Vec::with_capacity(1024),
            ends: Vec::with_capacity(32),
            columns: None,
            group: None,
            done: false,
        }
    }

    fn next_record(&mut self) -> Option<Result<Value, RecordError>> {
        if self.done {
            return None;
        }
        loop {
            let record = match self.plain_record() {
                Some(record) => record,
                None => {
                    let line = match self.next_row() {
                        None => {
                            self.done = true;
                            return self.group.take().map(|rows| Ok(Value::Array(rows)));
                        }
                        Some(Err(error)) => {
                            self.done = error.fatal;
                            return Some(Err(error));
                        }
                        Some(Ok(line)) => line,
                    };
                    if self.columns.is_none() {
                        if let Err(error) = self.take_names(line) {
                            self.done = true;
                            return Some(Err(error));
                        }
                        if self.has_header {
                            continue;
                        }
                    }
                    self.row_value(line)
                }
            };
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    self.done = error.fatal;
                    return Some(Err(error));
                }
            };
            if self.key_columns.is_empty() {
                return Some(Ok(record));
            }
            match &mut self.group {
                Some(rows) if same_keys(&self.key_columns, &rows[0], &record) => rows.push(record),
                group => {
                    if let Some(rows) = group.replace(vec![record]) {
                        return Some(Ok(Value::Array(rows)));
                    }
                }
            }
        }
    }

    /// The next row when it is a plain one, read straight from the input's buffer: a whole line
    /// there, without quotes, with as many fields as the columns and valid UTF-8, as most rows
    /// are. None leaves the row to [`next_row`](Self::next_row), which reads every other row
    /// (and the first one, and lines read again after an unterminated quote) as it always did.
    fn plain_record(&mut self) -> Option<Result<Value, RecordError>> {
        let columns = self.columns.as_ref()?;
        if self.replay_at < self.replay.len() {
            return None;
        }
        let buffer = match self.input.fill_buf() {
            Ok(buffer) => buffer,
            // `next_row` tries again, as it would itself.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return None,
            Err(error) => return Some(Err(RecordError::io(Some(self.next_line), &error))),
        };
        let len = memchr::memchr(self.row_delimiter.last_byte(), buffer)? + 1;
        // Without its line break, as `content_end`.
        let mut end = len - 1;
        if self.row_delimiter != RowDelimiter::Cr && end > 0 && buffer[end - 1] == b'\r' {
            end -= 1;
        }
        let content = &buffer[..end];
        if content.is_empty() {
            return None;
        }
        self.ends.clear();
        if !split_plain(content, self.delimiter, &mut self.ends) {
            return None;
        }
        self.ends.push(end);
        if self.ends.len() != columns.names.len() {
            return None;
        }
        let text = std::str::from_utf8(content).ok()?;
        let record = columns.record(Some(text), &self.ends, 1, self.trim, self.next_line);
        self.input.consume(len);
        self.next_line += 1;
        Some(record)
    }

    /// Column names from the row just read: the header, or `Column0`, `Column1`, …
    fn take_names(&mut self, line: u64) -> Result<(), RecordError> {
        let names: Vec<String> = if self.has_header {
            let mut start = 0;
            self.ends
                .iter()
                .enumerate()
                .map(|(i, &end)| {
                    let bytes = &self.fields[start..end];
                    start = end;
                    let name = String::from_utf8_lossy(bytes);
                    let name = if self.trim {
                        name.trim_matches([' ', '\t'])
                    } else {
                        &name
                    };
                    if name.is_empty() {
                        format!("Column{i}")
                    } else {
                        name.to_owned()
                    }
                })
                .collect()
        } else {
            (0..self.ends.len()).map(|i| format!("Column{i}")).collect()
        };
        if let Some(missing) = self.key_columns.iter().find(|k| !names.contains(k)) {
            return Err(RecordError::fatal(
                Some(line),
                format!("file.csv.keyColumns: the file has no column '{missing}'"),
            ));
        }
        self.columns = Some(Columns::new(names));
        Ok(())
    }

    /// The row in `fields` as a record.
    fn row_value(&self, line: u64) -> Result<Value, RecordError> {
        let Some(columns) = &self.columns else {
            return Ok(Value::Object(Map::new()));
        };
        // One validation for the whole row: every field starts and ends next to an ASCII
        // delimiter or quote, so the fields of valid text are valid text too (`get` checks).
        let text = std::str::from_utf8(&self.fields).ok();
        columns.record(text, &self.ends, 0, self.trim, line)
    }

    /// Appends the next physical line, line break included, to `raw`; false at the end.
    fn read_line(&mut self) -> io::Result<bool> {
        let last = self.row_delimiter.last_byte();
        if self.replay_at < self.replay.len() {
            let rest = &self.replay[self.replay_at..];
            let len = memchr::memchr(last, rest).map_or(rest.len(), |i| i + 1);
            self.raw.extend_from_slice(&rest[..len]);
            self.replay_at += len;
            if self.replay_at == self.replay.len() {
                self.replay.clear();
                self.replay_at = 0;
            }
        } else if self.input.read_until(last, &mut self.raw)? == 0 {
            return Ok(false);
        }
        self.next_line += 1;
        Ok(true)
    }

    /// Where the content of the physical line starting at `from` in `raw` ends (before its line
    /// break).
    fn content_end(&self, from: usize) -> usize {
        let mut end = self.raw.len();
        match self.row_delimiter {
            RowDelimiter::Lf | RowDelimiter::CrLf => {
                if end > from && self.raw[end - 1] == b'\n' {
                    end -= 1;
                    // A `\r\n` file read with `\n` (or the other way round) reads the same.
                    if end > from && self.raw[end - 1] == b'\r' {
                        end -= 1;
                    }
                }
            }
            RowDelimiter::Cr => {
                if end > from && self.raw[end - 1] == b'\r' {
                    end -= 1;
                }
            }
        }
        end
    }

    /// Reads the next row into `fields`/`ends`: its first line, an error, or None at the end.
    fn next_row(&mut self) -> Option<Result<u64, RecordError>> {
        loop {
            self.raw.clear();
            self.fields.clear();
            self.ends.clear();
            let line = self.next_line;
            match self.read_line() {
                Err(error) => return Some(Err(RecordError::io(Some(line), &error))),
                Ok(false) => return None,
                Ok(true) => {}
            }
            if self.at_start {
                self.at_start = false;
                if self.raw.starts_with(BOM) {
                    self.raw.drain(..BOM.len());
                }
            }
            if self.content_end(0) == 0 {
                continue;
            }
            let first_line_end = self.raw.len();
            let mut from = 0;
            let mut lines = 1;
            let mut state = FieldState::Start;
            let mut stray = false;
            let unclosed = loop {
                let end = self.content_end(from);
                state = split_line(
                    &self.raw[from..end],
                    self.delimiter,
                    self.trim,
                    state,
                    &mut self.fields,
                    &mut self.ends,
                    &mut stray,
                );
                if state != FieldState::Quoted {
                    self.ends.push(self.fields.len());
                    break false;
                }
                // The line break belongs to the quoted field.
                self.fields.extend_from_slice(&self.raw[end..]);
                if self.raw.len() > MAX_QUOTED_ROW {
                    break true;
                }
                from = self.raw.len();
                match self.read_line() {
                    Err(error) => {
                        return Some(Err(RecordError::io(Some(self.next_line), &error)));
                    }
                    Ok(false) => break true,
                    Ok(true) => lines += 1,
                }
            };
            let expected = self.columns.as_ref().map(|c| c.names.len());
            let count = self.ends.len();
            if unclosed || (lines > 1 && (stray || expected.is_some_and(|n| n != count))) {
                if lines > 1 {
                    // Read what follows the row's first line again, as rows of their own.
                    let mut replay = self.raw.split_off(first_line_end);
                    replay.extend_from_slice(&self.replay[self.replay_at..]);
                    self.replay = replay;
                    self.replay_at = 0;
                    self.next_line = line + 1;
                }
                return Some(Err(RecordError::record(
                    line,
                    "a quoted field that starts on this line is not closed where the row \
                     should end; the row is skipped and reading goes on with the next line",
                )));
            }
            if let Some(expected) = expected
                && expected != count
            {
                let of = if self.has_header {
                    "the header"
                } else {
                    "the first row"
                };
                return Some(Err(RecordError::record(
                    line,
                    format!("the row has {count} fields, {of} has {expected}"),
                )));
            }
            return Some(Ok(line));
        }
    }
}

fn same_keys(keys: &[String], a: &Value, b: &Value) -> bool {
    keys.iter().all(|key| a.get(key) == b.get(key))
}

// JSON reading ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonMode {
    /// Nothing read yet.
    Start,
    /// Inside the records array, before an element or its closing `]`.
    Elements,
    /// One value per line.
    Lines,
    Done,
}

/// What a scanned value looks like from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Unknown,
    /// An object or array: ends at the matching bracket.
    Nested,
    /// A string: ends at its closing quote.
    Text,
    /// A number, `true`, `false` or `null`: ends before the next delimiter.
    Bare,
}

/// Reads JSON with a byte scanner that only finds where values start and end (strings and
/// bracket depth); serde_json parses each record's bytes.
struct JsonReader<R> {
    input: R,
    path: Vec<String>,
    lines_only: bool,
    mode: JsonMode,
    /// The 1-based line of the next unread byte.
    line: u64,
    buf: Vec<u8>,
    /// An error to report after the record just returned.
    pending: Option<RecordError>,
}

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl<R: BufRead> JsonReader<R> {
    fn new(input: R, options: &JsonOptions) -> Self {
        Self {
            input,
            path: options.path.clone(),
            lines_only: options.lines,
            mode: JsonMode::Start,
            line: 1,
            buf: Vec::new(),
            pending: None,
        }
    }

    fn next_record(&mut self) -> Option<Result<Value, RecordError>> {
        if let Some(error) = self.pending.take() {
            self.mode = JsonMode::Done;
            return Some(Err(error));
        }
        let item = match self.mode {
            JsonMode::Done => return None,
            JsonMode::Start => self.start(),
            JsonMode::Elements => self.next_element(),
            JsonMode::Lines => self.next_line(),
        };
        if let Some(Err(error)) = &item
            && error.fatal
        {
            self.mode = JsonMode::Done;
        }
        item
    }

    fn fill(&mut self) -> Result<&[u8], RecordError> {
        loop {
            match self.input.fill_buf() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RecordError::io(Some(self.line), &e)),
                Ok(_) => break,
            }
        }
        self.input
            .fill_buf()
            .map_err(|e| RecordError::io(Some(self.line), &e))
    }

    /// The next byte that is not whitespace, left unread; None at the end of the input.
    fn peek(&mut self) -> Result<Option<u8>, RecordError> {
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let skip = buf.iter().position(|&b| !is_json_space(b));
            let n = skip.unwrap_or(buf.len());
            let next = skip.map(|i| buf[i]);
            let newlines = count_lines(&buf[..n]);
            self.input.consume(n);
            self.line += newlines;
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Consumes the byte `peek` returned (never a line break).
    fn bump(&mut self) {
        self.input.consume(1);
    }

    fn broken(&self, what: &str) -> RecordError {
        RecordError::fatal(Some(self.line), format!("the JSON is broken here: {what}"))
    }

    /// Consumes the value that starts at the next byte, copying it to `out` when given.
    fn scan(&mut self, mut out: Option<&mut Vec<u8>>) -> Result<(), RecordError> {
        let start = self.line;
        let mut shape = Shape::Unknown;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = self.fill()?;
            if buf.is_empty() {
                if shape == Shape::Bare {
                    return Ok(());
                }
                return Err(RecordError::fatal(
                    Some(start),
                    "the file ends inside the JSON value that starts on this line",
                ));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match shape {
                    Shape::Unknown => match b {
                        b'{' | b'[' => {
                            shape = Shape::Nested;
                            depth = 1;
                        }
                        b'"' => {
                            shape = Shape::Text;
                            in_string = true;
                        }
                        _ => {
                            shape = Shape::Bare;
                            if matches!(b, b',' | b']' | b'}' | b':') || is_json_space(b) {
                                end = Some(i);
                                break;
                            }
                        }
                    },
                    Shape::Nested => match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    },
                    Shape::Bare => {
                        if matches!(b, b',' | b']' | b'}' | b':') || is_json_space(b) {
                            end = Some(i);
                            break;
                        }
                    }
                    // A string value ends when its quote closes, above.
                    Shape::Text => {}
                }
            }
            let n = end.unwrap_or(buf.len());
            let newlines = count_lines(&buf[..n]);
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(&buf[..n]);
            }
            self.input.consume(n);
            self.line += newlines;
            if end.is_some() {
                return Ok(());
            }
        }
    }

    /// Parses the value in `buf`, which starts on `line`, as a record.
    fn parse(&self, line: u64) -> Result<Value, RecordError> {
        match crate::util::parse_json::<Value>(&self.buf) {
            Ok(value) => as_record(value, line),
            Err(e) => Err(RecordError::record(
                line + (e.line() as u64).saturating_sub(1),
                format!("not valid JSON: {e}"),
            )),
        }
    }

    /// Walks from the document's start to the value at `path`; false when it is not there.
    fn descend(&mut self, path: &[String]) -> Result<bool, RecordError> {
        'segments: for segment in path {
            match self.peek()? {
                Some(b'{') => {
                    self.bump();
                    loop {
                        match self.peek()? {
                            Some(b'"') => {}
                            Some(b'}') => return Ok(false),
                            _ => return Err(self.broken("expected a key")),
                        }
                        let mut key = Vec::new();
                        self.scan(Some(&mut key))?;
                        let key: String = serde_json::from_slice(&key)
                            .map_err(|e| self.broken(&format!("a bad key ({e})")))?;
                        if self.peek()? != Some(b':') {
                            return Err(self.broken("expected ':' after a key"));
                        }
                        self.bump();
                        if self.peek()?.is_none() {
                            return Err(self.broken("the file ends after a key"));
                        }
                        if key == *segment {
                            continue 'segments;
                        }
                        self.scan(None)?;
                        match self.peek()? {
                            Some(b',') => self.bump(),
                            Some(b'}') => return Ok(false),
                            _ => return Err(self.broken("expected ',' or '}'")),
                        }
                    }
                }
                Some(b'[') => {
                    let Ok(index) = segment.parse::<usize>() else {
                        return Ok(false);
                    };
                    self.bump();
                    for _ in 0..index {
                        match self.peek()? {
                            Some(b']') => return Ok(false),
                            Some(_) => self.scan(None)?,
                            None => return Err(self.broken("the file ends inside an array")),
                        }
                        match self.peek()? {
                            Some(b',') => self.bump(),
                            Some(b']') => return Ok(false),
                            _ => return Err(self.broken("expected ',' or ']'")),
                        }
                    }
                    match self.peek()? {
                        Some(b']') => return Ok(false),
                        Some(_) => {}
                        None => return Err(self.broken("the file ends inside an array")),
                    }
                }
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    fn start(&mut self) -> Option<Result<Value, RecordError>> {
        match self.fill() {
            Ok(buf) if buf.starts_with(BOM) => self.input.consume(BOM.len()),
            Ok(_) => {}
            Err(error) => return Some(Err(error)),
        }
        if self.lines_only {
            self.mode = JsonMode::Lines;
            return self.next_line();
        }
        let path = std::mem::take(&mut self.path);
        let result = self.start_document(&path);
        self.path = path;
        result
    }

    fn start_document(&mut self, path: &[String]) -> Option<Result<Value, RecordError>> {
        if !path.is_empty() {
            let joined = path.join(".");
            match self.descend(path) {
                Err(error) => return Some(Err(error)),
                Ok(false) => {
                    return Some(Err(RecordError::fatal(
                        None,
                        format!("the file has nothing at resourcePath '{joined}'"),
                    )));
                }
                Ok(true) => {}
            }
            return match self.peek() {
                Err(error) => Some(Err(error)),
                Ok(Some(b'[')) => {
                    self.bump();
                    self.mode = JsonMode::Elements;
                    self.next_element()
                }
                Ok(Some(b'{')) => {
                    self.mode = JsonMode::Done;
                    Some(self.one_value(true))
                }
                Ok(Some(b'n')) => {
                    self.mode = JsonMode::Done;
                    None
                }
                Ok(_) => Some(Err(RecordError::fatal(
                    Some(self.line),
                    format!("resourcePath '{joined}' leads to no records (an array or an object)"),
                ))),
            };
        }
        match self.peek() {
            Err(error) => Some(Err(error)),
            Ok(None) => {
                self.mode = JsonMode::Done;
                None
            }
            Ok(Some(b'[')) => {
                self.bump();
                self.mode = JsonMode::Elements;
                self.next_element()
            }
            Ok(Some(b'{')) => {
                let record = self.one_value(false);
                // More values after the first: newline-delimited JSON.
                match self.peek() {
                    Err(error) => self.pending = Some(error),
                    Ok(None) => self.mode = JsonMode::Done,
                    Ok(Some(_)) => self.mode = JsonMode::Lines,
                }
                Some(match record {
                    Err(mut error) if self.mode == JsonMode::Done => {
                        error.fatal = true;
                        Err(error)
                    }
                    other => other,
                })
            }
            Ok(Some(b)) => Some(Err(RecordError::fatal(
                Some(self.line),
                format!(
                    "the file is not JSON records: it starts with '{}'",
                    char::from(b).escape_default()
                ),
            ))),
        }
    }

    /// The value at the next byte as one record.
    fn one_value(&mut self, fatal: bool) -> Result<Value, RecordError> {
        let line = self.line;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let scanned = self.scan(Some(&mut buf));
        self.buf = buf;
        scanned?;
        self.parse(line).map_err(|mut error| {
            error.fatal = fatal;
            error
        })
    }

    fn next_element(&mut self) -> Option<Result<Value, RecordError>> {
        match self.peek() {
            Err(error) => return Some(Err(error)),
            Ok(None) => return Some(Err(self.broken("the file ends inside the records array"))),
            Ok(Some(b']')) => {
                self.bump();
                self.mode = JsonMode::Done;
                return None;
            }
            Ok(Some(_)) => {}
        }
        let record = self.one_value(false);
        if let Err(error) = &record
            && error.fatal
        {
            return Some(record);
        }
        match self.peek() {
            Err(error) => self.pending = Some(error),
            Ok(Some(b',')) => self.bump(),
            Ok(Some(b']')) => {
                self.bump();
                self.mode = JsonMode::Done;
            }
            Ok(None) => self.pending = Some(self.broken("the file ends inside the records array")),
            Ok(Some(_)) => self.pending = Some(self.broken("expected ',' or ']' after a record")),
        }
        Some(record)
    }

    fn next_line(&mut self) -> Option<Result<Value, RecordError>> {
        loop {
            self.buf.clear();
            let line = self.line;
            match self.input.read_until(b'\n', &mut self.buf) {
                Err(error) => return Some(Err(RecordError::io(Some(line), &error))),
                Ok(0) => {
                    self.mode = JsonMode::Done;
                    return None;
                }
                Ok(_) => self.line += 1,
            }
            // Without its line break, so that serde_json's line for an early end is this one.
            let end = self.buf.iter().rposition(|&b| !is_json_space(b));
            let Some(end) = end else {
                continue;
            };
            self.buf.truncate(end + 1);
            return Some(self.parse(line));
        }
    }
}

// XML reading -------------------------------------------------------------------------------

/// Counts the lines of what quick-xml consumes, for error lines.
struct LineCounter<R> {
    inner: R,
    /// The 1-based line of the next unread byte.
    line: u64,
}

impl<R: BufRead> io::Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.line += count_lines(&out[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // The bytes being consumed are still in the buffer, so this `fill_buf` does no I/O.
        if let Ok(buf) = self.inner.fill_buf() {
            self.line += count_lines(&buf[..amount.min(buf.len())]);
        }
        self.inner.consume(amount);
    }
}

/// An element of the record being built.
struct Frame {
    name: String,
    fields: Map<String, Value>,
    text: String,
    has_children: bool,
}

impl Frame {
    fn into_value(self) -> Value {
        if !self.has_children && self.fields.is_empty() {
            return Value::String(self.text);
        }
        let mut fields = self.fields;
        // Text between child elements is usually indentation; a leaf's text stays exact.
        let text = if self.has_children {
            self.text.trim()
        } else {
            self.text.as_str()
        };
        if !text.trim().is_empty() {
            fields.insert("#text".to_owned(), Value::String(text.to_owned()));
        }
        Value::Object(fields)
    }
}

/// Adds a field; a repeated name turns the field into an array.
fn add_field(fields: &mut Map<String, Value>, name: String, value: Value) {
    match fields.get_mut(&name) {
        None => {
            fields.insert(name, value);
        }
        // Element values are text or objects, so an array here comes from an earlier repeat.
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

/// The records being found and built from XML events.
struct XmlTree {
    path: Vec<String>,
    anchored: bool,
    /// The open elements outside a record.
    open: Vec<String>,
    /// The open elements of the record being built (empty outside a record).
    frames: Vec<Frame>,
    record_line: u64,
    /// Why the record being built will be skipped.
    error: Option<String>,
    /// Open elements below [`MAX_XML_DEPTH`] inside the record, which are skipped.
    too_deep: usize,
}

impl XmlTree {
    /// Whether an element called `name` that opens now is a record.
    fn is_record(&self, name: &str) -> bool {
        let Some((last, parents)) = self.path.split_last() else {
            return self.open.len() == 1;
        };
        if name != last {
            return false;
        }
        if self.anchored {
            self.open == parents
        } else {
            self.open.len() >= parents.len() && self.open.ends_with(parents)
        }
    }

    fn start(&mut self, element: &BytesStart<'_>, line: u64) -> bool {
        let name = element.name().as_ref().to_owned();
        if self.frames.is_empty() {
            if !self.is_record(&name) {
                self.open.push(name);
                return false;
            }
            self.record_line = line;
            self.error = None;
        }
        if self.frames.len() >= MAX_XML_DEPTH || self.too_deep > 0 {
            self.too_deep += 1;
            self.error
                .get_or_insert(format!("elements nest deeper than {MAX_XML_DEPTH} levels"));
            return true;
        }
        let mut frame = Frame {
            name,
            fields: Map::new(),
            text: String::new(),
            has_children: false,
        };
        for attribute in element.attributes() {
            let value = attribute.map_err(|e| e.to_string()).and_then(|a| {
                let value = a
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| e.to_string())?;
                Ok((format!("@{}", a.key.as_ref()), value.into_owned()))
            });
            match value {
                Ok((key, value)) => {
                    frame.fields.insert(key, Value::String(value));
                }
                Err(e) => {
                    self.error
                        .get_or_insert(format!("a bad attribute in <{}>: {e}", frame.name));
                }
            }
        }
        self.frames.push(frame);
        true
    }

    /// Closes the innermost open element; a finished record when that was one.
    fn end(&mut self) -> Option<Result<Value, RecordError>> {
        if self.too_deep > 0 {
            self.too_deep -= 1;
            return None;
        }
        let Some(frame) = self.frames.pop() else {
            self.open.pop();
            return None;
        };
        let name = frame.name.clone();
        let value = frame.into_value();
        if let Some(parent) = self.frames.last_mut() {
            parent.has_children = true;
            add_field(&mut parent.fields, name, value);
            return None;
        }
        if let Some(error) = self.error.take() {
            return Some(Err(RecordError::record(self.record_line, error)));
        }
        Some(Ok(match value {
            Value::String(text) if text.is_empty() => Value::Object(Map::new()),
            Value::String(text) => {
                let mut fields = Map::new();
                fields.insert("#text".to_owned(), Value::String(text));
                Value::Object(fields)
            }
            other => other,
        }))
    }

    fn text(&mut self, text: &str) {
        if let Some(frame) = self.frames.last_mut() {
            frame.text.push_str(text);
        }
    }

    fn reference(&mut self, reference: &BytesRef<'_>) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        match reference.resolve_char_ref() {
            Ok(Some(c)) => frame.text.push(c),
            Ok(None) => match quick_xml::escape::resolve_predefined_entity(reference) {
                Some(text) => frame.text.push_str(text),
                None => {
                    self.error
                        .get_or_insert(format!("unknown entity &{};", &**reference));
                }
            },
            Err(e) => {
                self.error
                    .get_or_insert(format!("a bad character reference: {e}"));
            }
        }
    }
}

struct XmlReader<R> {
    reader: quick_xml::Reader<LineCounter<R>>,
    buf: Vec<u8>,
    tree: XmlTree,
    done: bool,
}

impl<R: BufRead> XmlReader<R> {
    fn new(input: R, options: &XmlOptions) -> Self {
        Self {
            reader: quick_xml::Reader::from_reader(LineCounter {
                inner: input,
                line: 1,
            }),
            buf: Vec::new(),
            tree: XmlTree {
                path: options.path.clone(),
                anchored: options.anchored,
                open: Vec::new(),
                frames: Vec::new(),
                record_line: 0,
                error: None,
                too_deep: 0,
            },
            done: false,
        }
    }

    fn next_record(&mut self) -> Option<Result<Value, RecordError>> {
        while !self.done {
            self.buf.clear();
            let line = self.reader.get_ref().line;
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(e) => {
                    self.done = true;
                    let line = self.reader.get_ref().line;
                    return Some(Err(RecordError::fatal(
                        Some(line),
                        format!("the XML is not well-formed: {e}"),
                    )));
                }
            };
            match event {
                Event::Start(element) => {
                    self.tree.start(&element, line);
                }
                Event::Empty(element) => {
                    let opened = self.tree.start(&element, line);
                    if opened && let Some(record) = self.tree.end() {
                        return Some(record);
                    }
                }
                Event::End(_) => {
                    if let Some(record) = self.tree.end() {
                        return Some(record);
                    }
                }
                Event::Text(text) => self.tree.text(&text.xml10_content()),
                Event::CData(data) => self.tree.text(&data.xml10_content()),
                Event::GeneralRef(reference) => self.tree.reference(&reference),
                Event::Eof => {
                    self.done = true;
                    let open = self.tree.frames.last().map(|f| f.name.as_str()).or(self
                        .tree
                        .open
                        .last()
                        .map(String::as_str));
                    if let Some(name) = open {
                        return Some(Err(RecordError::fatal(
                            Some(self.reader.get_ref().line),
                            format!("the file ends inside <{name}>"),
                        )));
                    }
                }
                // The declaration, comments, processing instructions, the doctype.
                _ => {}
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// A streaming writer of records; see [`FileFormat::writer`].
///
/// Records may be written in several calls (a file that gathers many pages); [`finish`]
/// closes the document and hands the output back.
///
/// [`finish`]: RecordWriter::finish
pub struct RecordWriter<W: Write> {
    inner: WriterKind<W>,
}

enum WriterKind<W: Write> {
    Csv(Box<CsvWriter<W>>),
    Json {
        out: BufWriter<W>,
        lines: bool,
        written: u64,
    },
    Xml {
        out: BufWriter<W>,
        root: String,
        record: String,
        /// A record's child elements that come first, in this order.
        order: Vec<String>,
        started: bool,
    },
}

impl<W: Write> RecordWriter<W> {
    /// Writes one record. A CSV or XML record that is an array (grouped rows) is written as its
    /// rows.
    pub fn write(&mut self, record: &Value) -> Result<(), FormatError> {
        match &mut self.inner {
            WriterKind::Csv(writer) => writer.write(record),
            WriterKind::Json {
                out,
                lines,
                written,
            } => {
                if *lines {
                    serde_json::to_writer(&mut *out, record).map_err(io::Error::from)?;
                    out.write_all(b"\n")?;
                } else {
                    out.write_all(if *written == 0 { b"[\n" } else { b",\n" })?;
                    serde_json::to_writer(&mut *out, record).map_err(io::Error::from)?;
                }
                *written += 1;
                Ok(())
            }
            WriterKind::Xml {
                out,
                root,
                record: element,
                order,
                started,
            } => {
                if !*started {
                    *started = true;
                    write!(
                        out,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root}>\n"
                    )?;
                }
                let rows = match record {
                    Value::Array(rows) => rows.as_slice(),
                    one => std::slice::from_ref(one),
                };
                for row in rows {
                    if !row.is_object() {
                        return Err(FormatError::Record(format!(
                            "an XML record must be an object, not {}",
                            kind_of(row)
                        )));
                    }
                    write_element(out, element, row, order)?;
                    out.write_all(b"\n")?;
                }
                Ok(())
            }
        }
    }

    /// Closes the document (`]`, `</records>`), flushes and hands the output back.
    pub fn finish(self) -> Result<W, FormatError> {
        let out = match self.inner {
            WriterKind::Csv(writer) => writer.finish()?,
            WriterKind::Json {
                mut out,
                lines,
                written,
            } => {
                if !lines {
                    out.write_all(if written == 0 { b"[]\n" } else { b"\n]\n" })?;
                }
                out
            }
            WriterKind::Xml {
                mut out,
                root,
                started,
                ..
            } => {
                if !started {
                    write!(
                        out,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root}>\n"
                    )?;
                }
                writeln!(out, "</{root}>")?;
                out
            }
        };
        out.into_inner()
            .map_err(|e| FormatError::Io(e.into_error()))
    }
}

// CSV writing -------------------------------------------------------------------------------

struct CsvWriter<W: Write> {
    out: BufWriter<W>,
    delimiter: u8,
    row_delimiter: &'static [u8],
    include_header: bool,
    quote_all: bool,
    replace_tab: bool,
    replace_newline: bool,
    columns: Option<Vec<String>>,
    /// Fields that come first when the columns are taken from a record.
    first_columns: Vec<String>,
    header_written: bool,
    /// Whether rows have one column.
    lone: bool,
    /// Which bytes make a field need quotes.
    special: [bool; 256],
    /// Non-text values as JSON text.
    scratch: Vec<u8>,
    /// The keys of the last row written through `positions`, in their (sorted) order.
    layout: Vec<String>,
    /// For each column, where its value is among the values of a row with the keys `layout`.
    positions: Vec<Option<usize>>,
}

/// How many values of a row are gathered on the stack (a wider row's go to the heap).
const INLINE_FIELDS: usize = 32;

impl<W: Write> CsvWriter<W> {
    fn new(out: BufWriter<W>, options: &CsvOptions, first_columns: Vec<String>) -> Self {
        let mut special = [false; 256];
        for b in [options.delimiter, b'"', b'\r', b'\n'] {
            special[usize::from(b)] = true;
        }
        Self {
            out,
            delimiter: options.delimiter,
            row_delimiter: options.row_delimiter.bytes(),
            include_header: options.include_header,
            quote_all: options.wrap_with_quotes,
            replace_tab: options.replace_tab,
            replace_newline: options.replace_newline,
            columns: options.columns.clone(),
            first_columns,
            header_written: false,
            lone: false,
            special,
            scratch: Vec::with_capacity(64),
            layout: Vec::new(),
            positions: Vec::new(),
        }
    }

    fn write(&mut self, record: &Value) -> Result<(), FormatError> {
        match record {
            Value::Object(row) => self.write_row(row),
            Value::Array(rows) => rows.iter().try_for_each(|row| match row {
                Value::Object(row) => self.write_row(row),
                other => Err(not_a_row(other)),
            }),
            other => Err(not_a_row(other)),
        }
    }

    fn write_row(&mut self, row: &Map<String, Value>) -> Result<(), FormatError> {
        if self.columns.is_none() {
            if row.is_empty() {
                // Nothing to take the columns from yet, and nothing to write.
                return Ok(());
            }
            let first = self.first_columns.iter().filter(|c| row.contains_key(*c));
            let rest = row.keys().filter(|k| !self.first_columns.contains(k));
            self.columns = Some(first.chain(rest).cloned().collect());
        }
        let Some(columns) = self.columns.take() else {
            return Ok(());
        };
        let written = self.write_columns(&columns, row);
        self.columns = Some(columns);
        written
    }

    fn write_columns(
        &mut self,
        columns: &[String],
        row: &Map<String, Value>,
    ) -> Result<(), FormatError> {
        self.lone = columns.len() == 1;
        if !self.header_written {
            self.header_written = true;
            if self.include_header {
                for (i, column) in columns.iter().enumerate() {
                    self.field(i == 0, column.as_bytes())?;
                }
                self.end_row()?;
            }
        }
        // Rows usually all have the same keys: where each column's value is among them is
        // worked out once, and a row then costs a walk over its keys and values instead of a
        // B-tree lookup (several key comparisons) per column.
        let mut inline = [&NULL; INLINE_FIELDS];
        let mut spilled = Vec::new();
        let values = if row.len() <= INLINE_FIELDS {
            &mut inline[..]
        } else {
            spilled.resize(row.len(), &NULL);
            &mut spilled[..]
        };
        let mut same = row.len() == self.layout.len();
        for ((slot, (key, value)), kept) in values.iter_mut().zip(row).zip(&self.layout) {
            *slot = value;
            same = same && key == kept;
        }
        if !same {
            for (slot, value) in values.iter_mut().zip(row.values()) {
                *slot = value;
            }
            self.lay_out(columns, row);
        }
        let positions = std::mem::take(&mut self.positions);
        let written = positions
            .iter()
            .enumerate()
            .try_for_each(|(i, at)| self.value(i == 0, at.map(|at| values[at])));
        self.positions = positions;
        written?;
        Ok(self.end_row()?)
    }

    /// Takes the keys of `row` as the layout of the rows to come.
    fn lay_out(&mut self, columns: &[String], row: &Map<String, Value>) {
        self.layout.truncate(row.len());
        for (i, key) in row.keys().enumerate() {
            match self.layout.get_mut(i) {
                // The strings are reused: a file whose rows alternate between key sets does
                // not allocate for every row.
                Some(kept) => {
                    kept.clear();
                    kept.push_str(key);
                }
                None => self.layout.push(key.clone()),
            }
        }
        // Sorted for the search (they already are, unless serde_json keeps insertion order).
        let mut sorted: Vec<(&str, usize)> = self
            .layout
            .iter()
            .enumerate()
            .map(|(i, key)| (key.as_str(), i))
            .collect();
        sorted.sort_unstable();
        self.positions.clear();
        self.positions.extend(columns.iter().map(|column| {
            let found = sorted.binary_search_by(|&(key, _)| key.cmp(column));
            found.ok().map(|at| sorted[at].1)
        }));
    }

    fn value(&mut self, first: bool, value: Option<&Value>) -> Result<(), FormatError> {
        match value {
            None | Some(Value::Null) => self.field(first, b"")?,
            Some(Value::String(s)) if !self.replace_tab && !self.replace_newline => {
                self.field(first, s.as_bytes())?;
            }
            Some(Value::String(s)) => {
                let text = clean(s, self.replace_tab, self.replace_newline);
                self.field(first, text.as_bytes())?;
            }
            Some(other) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                serde_json::to_writer(&mut scratch, other).map_err(io::Error::from)?;
                let written = self.field(first, &scratch);
                self.scratch = scratch;
                written?;
            }
        }
        Ok(())
    }

    fn field(&mut self, first: bool, bytes: &[u8]) -> io::Result<()> {
        if !first {
            self.out.write_all(&[self.delimiter])?;
        }
        // One empty field alone would make a blank line, which readers skip: it gets quotes.
        let quote = self.quote_all || (self.lone && bytes.is_empty()) || self.special_in(bytes);
        if !quote {
            return self.out.write_all(bytes);
        }
        self.out.write_all(b"\"")?;
        let mut rest = bytes;
        while let Some(i) = memchr::memchr(b'"', rest) {
            self.out.write_all(&rest[..=i])?;
            self.out.write_all(b"\"")?;
            rest = &rest[i + 1..];
        }
        self.out.write_all(rest)?;
        self.out.write_all(b"\"")
    }

    /// Whether `bytes` holds a byte that makes a field need quotes (a word at a time).
    fn special_in(&self, bytes: &[u8]) -> bool {
        let (mut words, rest) = words(bytes);
        words.any(|word| {
            bytes_equal(word, self.delimiter)
                | bytes_equal(word, b'"')
                | bytes_equal(word, b'\r')
                | bytes_equal(word, b'\n')
                != 0
        }) || rest.iter().any(|&b| self.special[usize::from(b)])
    }

    fn end_row(&mut self) -> io::Result<()> {
        self.out.write_all(self.row_delimiter)
    }

    fn finish(mut self) -> Result<BufWriter<W>, FormatError> {
        if !self.header_written
            && self.include_header
            && let Some(columns) = self.columns.take()
        {
            self.lone = columns.len() == 1;
            for (i, column) in columns.iter().enumerate() {
                self.field(i == 0, column.as_bytes())?;
            }
            self.end_row()?;
        }
        Ok(self.out)
    }
}

fn not_a_row(value: &Value) -> FormatError {
    FormatError::Record(format!(
        "a CSV row must be an object, not {}",
        kind_of(value)
    ))
}

/// `text` with tabs and/or line breaks replaced by spaces, as asked.
fn clean(text: &str, tabs: bool, newlines: bool) -> Cow<'_, str> {
    let needs = text
        .bytes()
        .any(|b| (tabs && b == b'\t') || (newlines && (b == b'\n' || b == b'\r')));
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' if tabs => out.push(' '),
            '\r' if newlines => {
                // `\r\n` is one line break, so one space.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' if newlines => out.push(' '),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

// XML writing -------------------------------------------------------------------------------

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_alphanumeric() || matches!(c, '-' | '.')
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// `name` made a valid XML element name.
fn xml_name(name: &str) -> Cow<'_, str> {
    if is_xml_name(name) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 1);
    if !name.chars().next().is_some_and(is_name_start) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| if is_name_char(c) { c } else { '_' }));
    Cow::Owned(out)
}

/// Whether XML 1.0 can carry `c` at all.
fn is_xml_char(c: char) -> bool {
    !matches!(
        c,
        '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}'
    )
}

/// Writes `text` escaped for element content and attribute values.
fn write_escaped(out: &mut impl Write, text: &str) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let escaped = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&apos;",
            // Written as a reference, `\r` survives the reader's line-end normalisation.
            '\r' => "&#13;",
            c if !is_xml_char(c) => "",
            _ => continue,
        };
        out.write_all(&text.as_bytes()[start..i])?;
        out.write_all(escaped.as_bytes())?;
        start = i + c.len_utf8();
    }
    out.write_all(&text.as_bytes()[start..])
}

fn write_scalar(out: &mut impl Write, value: &Value) -> io::Result<()> {
    match value {
        Value::String(s) => write_escaped(out, s),
        Value::Null => Ok(()),
        other => write!(out, "{other}"),
    }
}

/// Writes `value` as the element `name` (an array as repeated elements), an object's child
/// elements named in `order` first, in that order.
fn write_element(
    out: &mut impl Write,
    name: &str,
    value: &Value,
    order: &[String],
) -> io::Result<()> {
    let tag = xml_name(name);
    match value {
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| write_element(out, name, item, order)),
        Value::Null => write!(out, "<{tag}/>"),
        Value::Object(fields) => {
            write!(out, "<{tag}")?;
            let mut has_content = false;
            for (key, value) in fields {
                match key.strip_prefix('@') {
                    Some(attribute) if !value.is_object() && !value.is_array() => {
                        write!(out, " {}=\"", xml_name(attribute))?;
                        write_scalar(out, value)?;
                        out.write_all(b"\"")?;
                    }
                    _ => has_content = true,
                }
            }
            if !has_content {
                return out.write_all(b"/>");
            }
            out.write_all(b">")?;
            let first = order.iter().filter_map(|k| fields.get_key_value(k));
            let rest = fields.iter().filter(|(k, _)| !order.contains(k));
            for (key, value) in first.chain(rest) {
                if key == "#text" {
                    write_scalar(out, value)?;
                } else if key.starts_with('@') && !value.is_object() && !value.is_array() {
                    // Written as an attribute above.
                } else {
                    write_element(out, key, value, &[])?;
                }
            }
            write!(out, "</{tag}>")
        }
        scalar => {
            write!(out, "<{tag}>")?;
            write_scalar(out, scalar)?;
            write!(out, "</{tag}>")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn format(file: Value) -> FileFormat {
        FileFormat::from_block(&file).expect("a valid file block")
    }

    fn read_all(format: &FileFormat, input: &str) -> Vec<Result<Value, RecordError>> {
        format.reader(input.as_bytes()).collect()
    }

    fn records(format: &FileFormat, input: &str) -> Vec<Value> {
        read_all(format, input)
            .into_iter()
            .map(|r| r.expect("a record"))
            .collect()
    }

    fn write(format: &FileFormat, records: &[Value]) -> String {
        let mut writer = format.writer(Vec::new());
        for record in records {
            writer.write(record).expect("written");
        }
        String::from_utf8(writer.finish().expect("finished")).expect("UTF-8")
    }

    fn csv(options: Value) -> FileFormat {
        format(json!({"type": "csv", "csv": options}))
    }

    // CSV reading ----------------------------------------------------------------------------

    #[test]
    fn csv_with_a_header_names_fields_after_it() {
        let f = csv(json!({}));
        assert_eq!(
            records(&f, "id,name\n1,Ann\n2,Bob\n"),
            vec![
                json!({"id": "1", "name": "Ann"}),
                json!({"id": "2", "name": "Bob"})
            ]
        );
    }

    #[test]
    fn a_repeated_csv_header_name_keeps_its_last_column() {
        let f = csv(json!({}));
        assert_eq!(
            records(&f, "a,b,a\n1,2,3\n"),
            vec![json!({"a": "3", "b": "2"})]
        );
    }

    #[test]
    fn csv_without_a_header_names_columns_by_position() {
        let f = csv(json!({"hasHeaderRow": false}));
        assert_eq!(
            records(&f, "1,Ann\n2,Bob"),
            vec![
                json!({"Column0": "1", "Column1": "Ann"}),
                json!({"Column0": "2", "Column1": "Bob"})
            ]
        );
    }

    #[test]
    fn csv_reads_custom_delimiters_and_crlf_rows() {
        let f = csv(json!({"columnDelimiter": "|", "rowDelimiter": "\r\n"}));
        assert_eq!(
            records(&f, "a|b\r\n1|x,y\r\n"),
            vec![json!({"a": "1", "b": "x,y"})]
        );
        let tabs = csv(json!({"columnDelimiter": "\t"}));
        assert_eq!(
            records(&tabs, "a\tb\n1\t2\n"),
            vec![json!({"a": "1", "b": "2"})]
        );
    }

    #[test]
    fn csv_quoted_fields_hold_delimiters_quotes_and_line_breaks() {
        let f = csv(json!({}));
        let input = "a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\n4,5,6\n";
        assert_eq!(
            records(&f, input),
            vec![
                json!({"a": "x,y", "b": "say \"hi\"", "c": "two\nlines"}),
                json!({"a": "4", "b": "5", "c": "6"})
            ]
        );
    }

    #[test]
    fn csv_skips_a_byte_order_mark_and_blank_lines_and_trims_when_asked() {
        let f = csv(json!({"trimSpaces": true}));
        assert_eq!(
            records(&f, "\u{feff} a , b \n\n  1 ,  \"2, 3\" \n"),
            vec![json!({"a": "1", "b": "2, 3"})]
        );
    }

    #[test]
    fn a_csv_row_with_the_wrong_field_count_is_an_error_and_the_next_rows_still_come() {
        let f = csv(json!({}));
        let results = read_all(&f, "a,b\n1,2\n3\n4,5,6\n7,8\n");
        assert_eq!(results[0], Ok(json!({"a": "1", "b": "2"})));
        let error = results[1].clone().expect_err("a short row");
        assert_eq!((error.line, error.fatal), (Some(3), false));
        assert!(
            error.message.contains("1 fields, the header has 2"),
            "{error}"
        );
        assert_eq!(results[2].clone().expect_err("a long row").line, Some(4));
        assert_eq!(results[3], Ok(json!({"a": "7", "b": "8"})));
        assert_eq!(results.len(), 4);
    }

    #[test]
    fn an_unterminated_quote_costs_its_row_and_reading_goes_on_with_the_next_line() {
        let f = csv(json!({}));
        let results = read_all(&f, "a,b\n1,\"open\n2,x\n3,\"ok\"\n");
        let error = results[0].clone().expect_err("the unterminated row");
        assert_eq!((error.line, error.fatal), (Some(2), false));
        assert!(error.message.contains("not closed"), "{error}");
        assert_eq!(results[1], Ok(json!({"a": "2", "b": "x"})));
        assert_eq!(results[2], Ok(json!({"a": "3", "b": "ok"})));
        assert_eq!(results.len(), 3);

        // At the end of the file as well, and the line numbers stay right after a replay.
        let results = read_all(&f, "a,b\n1,2\n3,\"x\n4,5\n6,\"y\n");
        let lines: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().map_err(|e| e.line))
            .collect();
        assert_eq!(
            lines,
            vec![
                Ok(&json!({"a": "1", "b": "2"})),
                Err(Some(3)),
                Ok(&json!({"a": "4", "b": "5"})),
                Err(Some(5)),
            ]
        );
    }

    #[test]
    fn csv_key_columns_group_consecutive_rows() {
        let f = csv(json!({"keyColumns": ["order"]}));
        let got = records(&f, "order,sku\n1,a\n1,b\n2,c\n1,d\n");
        assert_eq!(
            got,
            vec![
                json!([{"order": "1", "sku": "a"}, {"order": "1", "sku": "b"}]),
                json!([{"order": "2", "sku": "c"}]),
                json!([{"order": "1", "sku": "d"}]),
            ]
        );
        let missing = read_all(&csv(json!({"keyColumns": ["nope"]})), "a\n1\n");
        let error = missing[0].clone().expect_err("no such column");
        assert!(error.fatal && error.message.contains("'nope'"), "{error}");
        assert_eq!(missing.len(), 1);
    }

    // CSV writing ----------------------------------------------------------------------------

    #[test]
    fn csv_writes_a_header_from_the_first_record_and_quotes_only_where_needed() {
        let f = csv(json!({}));
        let out = write(
            &f,
            &[
                json!({"a": "x,y", "b": "say \"hi\"", "c": 3, "d": {"n": [1]}}),
                json!({"a": "two\nlines", "b": null, "e": "dropped"}),
            ],
        );
        assert_eq!(
            out,
            "a,b,c,d\n\"x,y\",\"say \"\"hi\"\"\",3,\"{\"\"n\"\":[1]}\"\n\"two\nlines\",,,\n"
        );
    }

    #[test]
    fn csv_writing_honours_include_header_wrap_with_quotes_and_replacements() {
        let f = csv(json!({
            "includeHeader": false,
            "wrapWithQuotes": true,
            "replaceTabWithSpace": true,
            "replaceNewlineWithSpace": true,
            "columnDelimiter": ";",
            "rowDelimiter": "\r\n",
            "columns": ["b", "a"],
        }));
        let out = write(&f, &[json!({"a": "t\tab", "b": "l1\r\nl2\nl3"})]);
        assert_eq!(out, "\"l1 l2 l3\";\"t ab\"\r\n");

        let header_only = csv(json!({"columns": ["x", "y"]}));
        assert_eq!(write(&header_only, &[]), "x,y\n");
    }

    #[test]
    fn csv_round_trips_through_write_and_read() {
        let f = csv(json!({}));
        let rows = vec![
            json!({"a": "plain", "b": "comma, inside", "c": "quote \" inside"}),
            json!({"a": "line\nbreak", "b": "cr\r", "c": ""}),
            json!({"a": " spaced ", "b": "ünïcode", "c": "\"\""}),
        ];
        let text = write(&f, &rows);
        assert_eq!(records(&f, &text), rows);

        let single = vec![json!({"only": ""}), json!({"only": "x"})];
        assert_eq!(records(&f, &write(&f, &single)), single);
        let bare = csv(json!({"includeHeader": false, "hasHeaderRow": false}));
        let single = vec![json!({"Column0": ""}), json!({"Column0": "x"})];
        assert_eq!(write(&bare, &single), "\"\"\nx\n");
        assert_eq!(records(&bare, &write(&bare, &single)), single);
    }

    #[test]
    fn csv_writes_grouped_records_as_their_rows() {
        let f = csv(json!({}));
        let out = write(&f, &[json!([{"k": "1", "v": "a"}, {"k": "1", "v": "b"}])]);
        assert_eq!(out, "k,v\n1,a\n1,b\n");
        let mut writer = f.writer(Vec::new());
        let error = writer.write(&json!(5)).expect_err("a number is no row");
        assert!(matches!(error, FormatError::Record(_)), "{error}");
    }

    #[test]
    fn csv_writing_follows_the_columns_whatever_keys_each_row_has() {
        let f = csv(json!({"columns": ["b", "a", "c"]}));
        let out = write(
            &f,
            &[
                json!({"a": "1", "b": "2", "c": "3"}),
                json!({"a": "4", "b": "5", "c": "6"}),
                json!({"a": "7", "c": "8", "z": "x"}),
                json!({"a": "9", "b": "10", "c": "11"}),
                json!({}),
                json!({"c": "12"}),
                json!({"a": "13", "b": "14", "c": "15"}),
            ],
        );
        assert_eq!(
            out,
            "b,a,c\n2,1,3\n5,4,6\n,7,8\n10,9,11\n,,\n,,12\n14,13,15\n"
        );

        // Rows wider than the values gathered on the stack.
        let columns: Vec<String> = (0..40).rev().map(|i| format!("k{i:02}")).collect();
        let row: Map<String, Value> = (0..40)
            .map(|i| (format!("k{i:02}"), json!(i.to_string())))
            .collect();
        let f = csv(json!({"columns": columns}));
        let out = write(&f, &[Value::Object(row.clone()), Value::Object(row)]);
        let values: Vec<String> = (0..40).rev().map(|i| i.to_string()).collect();
        let line = values.join(",");
        assert_eq!(out, format!("{}\n{line}\n{line}\n", columns.join(",")));
    }

    #[test]
    fn csv_writing_takes_the_given_order_first_and_then_the_other_keys_sorted() {
        let f = csv(json!({})).with_field_order(vec!["total".into(), "id".into(), "gone".into()]);
        let rows = [
            json!({"id": "1", "extra": "e", "total": "9", "alpha": "a"}),
            json!({"id": "2", "total": "8"}),
        ];
        assert_eq!(write(&f, &rows), "total,id,alpha,extra\n9,1,a,e\n8,2,,\n");
        // Given columns win over the order.
        let given = csv(json!({"columns": ["id"]})).with_field_order(vec!["total".into()]);
        assert_eq!(write(&given, &rows), "id\n1\n2\n");
    }

    #[test]
    fn csv_writing_quotes_a_field_wherever_its_special_byte_is() {
        let f = csv(json!({"columnDelimiter": ";", "columns": ["a", "b"], "includeHeader": false}));
        for len in 1..20 {
            for at in 0..len {
                for special in [";", "\"", "\r", "\n"] {
                    let mut text = "x".repeat(len - 1);
                    text.insert_str(at, special);
                    let out = write(&f, &[json!({"a": text, "b": "y"})]);
                    let quoted = text.replace('"', "\"\"");
                    assert_eq!(out, format!("\"{quoted}\";y\n"), "{text:?}");
                }
                let plain = "x".repeat(len);
                assert_eq!(
                    write(&f, &[json!({"a": plain, "b": "y"})]),
                    format!("{plain};y\n")
                );
            }
        }
    }

    #[test]
    fn word_scans_find_exactly_the_bytes_they_look_for() {
        for b in 0..=255u8 {
            assert_eq!(
                bytes_equal(u64::from_le_bytes([b; 8]), b),
                0x8080_8080_8080_8080
            );
            for c in 0..=255u8 {
                for at in 0..8 {
                    let mut word = [b ^ 0x80; 8];
                    word[at] = c;
                    let expected = if c == b { 0x80 << (8 * at) } else { 0 };
                    assert_eq!(bytes_equal(u64::from_le_bytes(word), b), expected);
                }
            }
        }
        for len in 0..24 {
            for at in 0..len {
                let mut line = vec![b'x'; len];
                line[at] = b',';
                let mut ends = Vec::new();
                assert!(split_plain(&line, b',', &mut ends));
                assert_eq!(ends, vec![at]);
                line[at] = b'"';
                assert!(!split_plain(&line, b',', &mut Vec::new()));
            }
        }
    }

    #[test]
    fn plain_rows_taken_straight_from_the_buffer_read_as_every_other_row() {
        // Through a one-byte buffer no line is ever whole in the buffer: every row then goes
        // through the general parser.
        let cases: &[(Value, &[u8])] = &[
            (json!({}), b"id,name\n1,Ann\n2,Bob\n"),
            (json!({}), b"a,b\n1,2\n3,4"),
            (json!({}), b"\xEF\xBB\xBFa,b\n1,2\n"),
            (json!({}), b"a,b\r\n1,2\r\n\r\n3,4\r\n"),
            (
                json!({"rowDelimiter": "\r\n"}),
                b"a,b\r\n1,2\r\n3,4\n5,6\r\n",
            ),
            (json!({"rowDelimiter": "\r"}), b"a,b\r1,2\r3,\n4\r5,6"),
            (json!({}), b"a,b\n1\n1,2,3\n4,5\n,\n"),
            (json!({}), b"a,b\n\"x,y\",2\n3,4\n5,\"multi\nline\"\n6,7\n"),
            (json!({}), b"a,b\n1,\"open\n2,x\n3,\"ok\"\n4,5\n"),
            (json!({}), b"a,b\n\n1,2\n\n\n3,4\n"),
            (json!({"trimSpaces": true}), b" a , b \n 1 ,\t2\t\n  ,  \n"),
            (
                json!({"trimSpaces": true, "columnDelimiter": "\t"}),
                b"a\tb\n 1 \t 2 \n",
            ),
            (json!({}), b"a,b\n\xFF,1\n2,3\n\xC3,\xA9\n\xC3\xA9,4\n"),
            (json!({}), b"a,b,a\n1,2,3\n\xFF,2,3\n1,\xFF,3\n"),
            (json!({"hasHeaderRow": false}), b"1,2\n3,4\n5\n"),
            (json!({"keyColumns": ["k"]}), b"k,v\n1,a\n1,b\n2,c\n"),
            (json!({"columnDelimiter": "|"}), b"a|b\n1,2|3\n"),
        ];
        for (options, input) in cases {
            let f = csv(options.clone());
            let plain: Vec<_> = f.reader(*input).collect();
            let general: Vec<_> = f.reader(io::BufReader::with_capacity(1, *input)).collect();
            assert_eq!(plain, general, "{}", String::from_utf8_lossy(input));
        }
        // And plain rows do take the short way.
        let options = CsvOptions::from_block(&NULL).expect("the default options");
        let mut reader = CsvReader::new(&b"a,b\n1,2\n3,4\n"[..], &options);
        assert_eq!(reader.next_record(), Some(Ok(json!({"a": "1", "b": "2"}))));
        assert_eq!(reader.plain_record(), Some(Ok(json!({"a": "3", "b": "4"}))));
    }

    // JSON -----------------------------------------------------------------------------------

    fn json_format(options: Value) -> FileFormat {
        format(json!({"type": "json", "json": options}))
    }

    #[test]
    fn a_json_array_document_streams_its_elements() {
        let f = json_format(json!({}));
        assert_eq!(
            records(&f, " [ {\"a\": \"[}\\\"\"}, {\"b\": [1, {\"c\": 2}]} ] "),
            vec![json!({"a": "[}\""}), json!({"b": [1, {"c": 2}]})]
        );
        assert!(records(&f, "[]").is_empty());
        assert!(records(&f, "").is_empty());
    }

    #[test]
    fn a_bad_json_element_is_an_error_with_its_line_and_the_next_ones_still_come() {
        let f = json_format(json!({}));
        let results = read_all(&f, "[\n{\"a\": 1},\n{\"a\": tru},\n3,\n{\"a\": 4}\n]");
        assert_eq!(results[0], Ok(json!({"a": 1})));
        assert_eq!(results[1].clone().expect_err("bad").line, Some(3));
        assert_eq!(results[2].clone().expect_err("not an object").line, Some(4));
        assert_eq!(results[3], Ok(json!({"a": 4})));
        assert_eq!(results.len(), 4);
    }

    #[test]
    fn json_resource_path_leads_to_the_records() {
        let f = json_format(json!({"resourcePath": "data.items"}));
        let input = r#"{"meta": {"skip": [1, "]"]},
            "data": {"count": 2, "items": [{"a": 1}, {"a": 2}]}, "after": 1}"#;
        assert_eq!(records(&f, input), vec![json!({"a": 1}), json!({"a": 2})]);

        let indexed = json_format(json!({"resourcePath": "pages.1"}));
        assert_eq!(
            records(&indexed, r#"{"pages": [[{"a": 1}], [{"a": 2}]]}"#),
            vec![json!({"a": 2})]
        );

        let missing = read_all(&f, r#"{"data": {"other": []}}"#);
        assert_eq!(missing.len(), 1);
        let error = missing[0].clone().expect_err("nothing there");
        assert!(
            error.fatal && error.message.contains("data.items"),
            "{error}"
        );
    }

    #[test]
    fn a_single_json_object_is_one_record() {
        let f = json_format(json!({}));
        assert_eq!(
            records(&f, "{\"a\": {\"b\": 1}}\n"),
            vec![json!({"a": {"b": 1}})]
        );
        let at_path = json_format(json!({"resourcePath": "order"}));
        assert_eq!(
            records(&at_path, r#"{"order": {"id": 7}}"#),
            vec![json!({"id": 7})]
        );
    }

    #[test]
    fn ndjson_with_a_bad_line_in_the_middle_goes_on_after_it() {
        let input = "{\"a\": 1}\n{\"a\": \n\n{\"a\": 3}\n";
        for f in [
            json_format(json!({"format": "ndjson"})),
            json_format(json!({})),
        ] {
            let results = read_all(&f, input);
            assert_eq!(results[0], Ok(json!({"a": 1})));
            let error = results[1].clone().expect_err("bad line");
            assert_eq!((error.line, error.fatal), (Some(2), false));
            assert_eq!(results[2], Ok(json!({"a": 3})));
            assert_eq!(results.len(), 3);
        }
    }

    #[test]
    fn json_that_cannot_be_parsed_at_all_is_one_fatal_error() {
        let f = json_format(json!({}));
        for input in [
            "name,id\n1,2\n",
            "{\"a\": 1,}",
            "[{\"a\": 1} {\"b\": 2}]",
            "[{\"a\": 1},",
        ] {
            let results = read_all(&f, input);
            let error = results
                .last()
                .cloned()
                .expect("an item")
                .expect_err("fatal");
            assert!(error.fatal, "{input}: {error}");
            assert!(results.len() <= 2, "{input}");
        }
    }

    #[test]
    fn json_writes_a_streamed_array_or_lines() {
        let f = json_format(json!({}));
        let rows = [json!({"a": 1}), json!({"b": "x"})];
        let out = write(&f, &rows);
        assert_eq!(out, "[\n{\"a\":1},\n{\"b\":\"x\"}\n]\n");
        assert_eq!(records(&f, &out), rows);
        assert_eq!(write(&f, &[]), "[]\n");

        let lines = json_format(json!({"format": "ndjson"}));
        let out = write(&lines, &rows);
        assert_eq!(out, "{\"a\":1}\n{\"b\":\"x\"}\n");
        assert_eq!(records(&lines, &out), rows);
    }

    // XML ------------------------------------------------------------------------------------

    fn xml_format(options: Value) -> FileFormat {
        format(json!({"type": "xml", "xml": options}))
    }

    #[test]
    fn xml_records_have_attributes_repeated_children_and_text() {
        let f = xml_format(json!({"resourcePath": "Orders/Order"}));
        let input = r#"<?xml version="1.0"?>
<!-- orders -->
<Orders>
  <Meta><Order>not a record</Order></Meta>
  <Order id="1">
    <Line sku="a">2</Line>
    <Line sku="b">3</Line>
    <Note>Fish &amp; chips &#x263A; <![CDATA[<raw>]]></Note>
    <Empty/>
    <Total>10.50</Total>
  </Order>
  <Order id="2"/>
</Orders>"#;
        assert_eq!(
            records(&f, input),
            vec![
                json!({
                    "@id": "1",
                    "Line": [{"@sku": "a", "#text": "2"}, {"@sku": "b", "#text": "3"}],
                    "Note": "Fish & chips \u{263A} <raw>",
                    "Empty": "",
                    "Total": "10.50",
                }),
                json!({"@id": "2"}),
            ]
        );
        // Without a leading `/`, the path matches wherever it ends.
        let anywhere = xml_format(json!({"resourcePath": "Order"}));
        assert_eq!(records(&anywhere, input).len(), 3);
        let anchored = xml_format(json!({"resourcePath": "/Orders/Order"}));
        assert_eq!(records(&anchored, input).len(), 2);
    }

    #[test]
    fn xml_without_a_resource_path_reads_the_children_of_the_root() {
        let f = xml_format(json!({}));
        assert_eq!(
            records(&f, "<r><a><x>1</x></a><b><x>2</x><x>3</x></b></r>"),
            vec![json!({"x": "1"}), json!({"x": ["2", "3"]})]
        );
    }

    #[test]
    fn a_bad_xml_record_is_skipped_with_its_line_and_broken_xml_is_fatal() {
        let f = xml_format(json!({}));
        let results = read_all(&f, "<r>\n<a>1</a>\n<a>&nope;</a>\n<a>3</a>\n</r>");
        assert_eq!(results[0], Ok(json!({"#text": "1"})));
        let error = results[1].clone().expect_err("unknown entity");
        assert_eq!((error.line, error.fatal), (Some(3), false));
        assert_eq!(results[2], Ok(json!({"#text": "3"})));
        assert_eq!(results.len(), 3);

        let results = read_all(&f, "<r>\n<a><x>1</x></a>\n<a><x>2</y></a>\n<a/></r>");
        assert_eq!(results.len(), 2);
        let error = results[1].clone().expect_err("mismatched tag");
        assert_eq!((error.line, error.fatal), (Some(3), true));

        let truncated = read_all(&f, "<r><a><x>1</x></a><a><x>2");
        let error = truncated
            .last()
            .cloned()
            .expect("items")
            .expect_err("truncated");
        assert!(error.fatal, "{error}");
    }

    #[test]
    fn xml_nested_too_deep_skips_the_record_and_reading_goes_on() {
        let f = xml_format(json!({}));
        let deep = "<x>".repeat(500) + &"</x>".repeat(500);
        let input = format!("<r><a>{deep}</a>\n<a><b>2</b></a></r>");
        let results = read_all(&f, &input);
        let error = results[0].clone().expect_err("too deep");
        assert!(!error.fatal && error.message.contains("deeper"), "{error}");
        assert_eq!(results[1], Ok(json!({"b": "2"})));
        assert_eq!(results.len(), 2);
    }

    #[test]
    fn xml_round_trips_through_write_and_read_with_escaping() {
        let f = xml_format(json!({"rootElement": "Orders", "recordElement": "Order"}));
        let rows = vec![
            json!({
                "@id": "7 & <8>",
                "name": "Fish & \"chips\" <b>'",
                "lines": [{"sku": "a", "qty": "1"}, {"sku": "b", "qty": "2"}],
                "note": "cr\r\nlf\n tab\t",
                "price": {"@currency": "EUR", "#text": "9.5"},
            }),
            json!({"empty": "", "nested": {"deep": {"x": "1"}}}),
        ];
        let out = write(&f, &rows);
        let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Orders>\n\
                    <Order id=\"7 &amp; &lt;8&gt;\">";
        assert!(out.starts_with(head), "{out}");
        assert!(out.ends_with("</Orders>\n"), "{out}");
        let back = records(&xml_format(json!({"resourcePath": "Orders/Order"})), &out);
        assert_eq!(back, rows);
    }

    #[test]
    fn xml_writing_fixes_names_and_writes_scalars_as_text() {
        let f = xml_format(json!({}));
        let out = write(
            &f,
            &[json!({"Order Id": 5, "1st": true, "gone": [], "nil": null})],
        );
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<records>\n\
             <record><_1st>true</_1st><Order_Id>5</Order_Id><nil/></record>\n</records>\n"
        );
    }

    #[test]
    fn xml_writing_puts_the_given_fields_first_at_the_record_level() {
        let f = xml_format(json!({})).with_field_order(vec!["zeta".into(), "alpha".into()]);
        let out = write(
            &f,
            &[json!({"alpha": 1, "beta": {"y": 1, "x": 2}, "zeta": 3, "@id": "r1"})],
        );
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<records>\n\
             <record id=\"r1\"><zeta>3</zeta><alpha>1</alpha><beta><x>2</x><y>1</y></beta></record>\n\
             </records>\n"
        );
    }

    // Configuration --------------------------------------------------------------------------

    #[test]
    fn configuration_errors_name_the_field() {
        let cases = [
            (json!("csv"), "file"),
            (json!({}), "file.type"),
            (json!({"type": "xlsx"}), "file.type"),
            (
                json!({"type": "csv", "csv": {"columnDelimiter": ",,"}}),
                "file.csv.columnDelimiter",
            ),
            (
                json!({"type": "csv", "csv": {"rowDelimiter": ";"}}),
                "file.csv.rowDelimiter",
            ),
            (
                json!({"type": "csv", "csv": {"hasHeaderRow": "yes"}}),
                "file.csv.hasHeaderRow",
            ),
            (
                json!({"type": "csv", "csv": {"keyColumns": [1]}}),
                "file.csv.keyColumns",
            ),
            (
                json!({"type": "csv", "csv": {"columns": "a,b"}}),
                "file.csv.columns",
            ),
            (json!({"type": "csv", "csv": []}), "file.csv"),
            (
                json!({"type": "json", "json": {"format": "yaml"}}),
                "file.json.format",
            ),
            (
                json!({"type": "json", "json": {"resourcePath": 3}}),
                "file.json.resourcePath",
            ),
            (
                json!({"type": "xml", "xml": {"rootElement": "a b"}}),
                "file.xml.rootElement",
            ),
            (
                json!({"type": "xml", "xml": {"recordElement": "1x"}}),
                "file.xml.recordElement",
            ),
        ];
        for (file, field) in cases {
            let error = FileFormat::from_block(&file).expect_err("invalid");
            assert_eq!(error.field(), Some(field), "{file}: {error}");
            assert!(error.to_string().starts_with(field), "{error}");
        }
        assert_eq!(format(json!({"type": "CSV"})).extension(), "csv");
        assert_eq!(format(json!({"type": "json"})).extension(), "json");
        assert_eq!(format(json!({"type": "xml"})).extension(), "xml");
    }
}
