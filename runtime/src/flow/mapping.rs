//! Import mapping (integrator.io mapping v1), compiled once and applied per record.
//!
//! An import's `mapping` and a page processor's `responseMapping` share one shape:
//! `{"fields":[{extract|hardCodedValue, generate, dataType?, default?}], "lists":[{generate, fields}]}`.
//! [`Mapping::compile`] turns every path into a segment vector and every `dataType` into an enum,
//! so the per-record work ([`Mapping::apply`], [`Mapping::apply_response`]) never parses a string.
//!
//! Choices where integrator.io leaves room, which callers may rely on:
//! - Paths: `a.b`, `a[0]`, `["first name"]`, `['a.b']` (`\` escapes the next character inside
//!   quotes), `a[*].b`. A `generate` must start with a field name and cannot hold `[*]`.
//! - Values: missing → `default` if given, else the field is not generated; `null` or `""` →
//!   `default` if given, else kept. `extract: null` and `default: null` count as absent;
//!   `hardCodedValue: null` hard-codes null when there is no `extract`, and is ignored next to one.
//! - Conversions keep `null` as `null`. A blank (whitespace-only) string becomes `null` for
//!   `number`, `boolean`, `date` and `object`. Dates without an offset are UTC; numbers (and
//!   digit strings) are epoch milliseconds.
//! - `[*]` in a plain field's `extract` gathers the value under every element into one flat array
//!   (a missing value becomes `null` so positions line up); a non-array value counts as one element.
//! - A list makes one element per item of the array before the first `[*]`; a further `[*]` in the
//!   rest of a path gathers per element as above. A missing, null or empty source array generates
//!   no list at all (not even `[]`). A list whose fields have no `[*]` makes a single element; a
//!   list without fields makes none.
//! - Writes: later fields win; writing through a scalar replaces it with an object or array; arrays
//!   grow with `null` holes; a list merges element by element into an array already at `generate`.
//!   [`Mapping::apply_response`] is not atomic: on error, earlier fields are already written.

use std::borrow::Cow;
use std::iter::Peekable;
use std::str::Chars;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// Why a mapping could not be compiled, or a record could not be mapped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// The mapping document is malformed (reported by [`Mapping::compile`]).
    #[error("{field}: {message}")]
    Invalid {
        /// Where, relative to the mapping object, e.g. `fields[2].extract`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A record's value does not convert to the field's `dataType`.
    #[error("{field}: {message}")]
    Conversion {
        /// The mapping entry, e.g. `fields[1]` or `lists[0].fields[2]`.
        field: String,
        /// What could not be converted, and to what.
        message: String,
    },
}

impl MappingError {
    /// The mapping entry (or entry key) the error is about, e.g. `fields[1]` or `fields[2].extract`.
    pub fn field(&self) -> &str {
        match self {
            Self::Invalid { field, .. } | Self::Conversion { field, .. } => field,
        }
    }

    /// A stable machine code for API error bodies: `invalid_mapping` or `mapping_conversion`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid_mapping",
            Self::Conversion { .. } => "mapping_conversion",
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> MappingError {
    MappingError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// One step of a compiled path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A parsed path step, before `[*]` is split out into [`Reader::Each`].
enum Step {
    Seg(Seg),
    Star,
}

/// How an `extract` reads its input.
#[derive(Debug)]
enum Reader {
    /// A plain path: borrows the value, never clones it.
    Path(Vec<Seg>),
    /// `array[*].then`: gathers `then` under every element of the array at `array`.
    Each { array: Vec<Seg>, then: Box<Reader> },
}

impl Reader {
    fn new(steps: Vec<Step>) -> Reader {
        let mut arrays = Vec::new();
        let mut current = Vec::new();
        for step in steps {
            match step {
                Step::Seg(seg) => current.push(seg),
                Step::Star => arrays.push(std::mem::take(&mut current)),
            }
        }
        let mut reader = Reader::Path(current);
        for array in arrays.into_iter().rev() {
            reader = Reader::Each {
                array,
                then: Box::new(reader),
            };
        }
        reader
    }

    fn read<'a>(&self, root: &'a Value) -> Option<Cow<'a, Value>> {
        match self {
            Reader::Path(path) => get(root, path).map(Cow::Borrowed),
            Reader::Each { array, then } => {
                let base = get(root, array).filter(|v| !v.is_null())?;
                let mut out = Vec::new();
                then.gather(base, &mut out);
                Some(Cow::Owned(Value::Array(out)))
            }
        }
    }

    fn gather(&self, base: &Value, out: &mut Vec<Value>) {
        for item in elements(base) {
            match self {
                Reader::Path(path) => out.push(get(item, path).cloned().unwrap_or(Value::Null)),
                Reader::Each { array, then } => {
                    if let Some(inner) = get(item, array) {
                        then.gather(inner, out);
                    }
                }
            }
        }
    }
}

/// The items a `[*]` iterates: an array's elements; any other non-null value is a single item.
fn elements(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        Value::Null => &[],
        other => std::slice::from_ref(other),
    }
}

fn get<'a>(mut cur: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    for seg in path {
        cur = match seg {
            Seg::Key(key) => cur.as_object()?.get(key)?,
            Seg::Index(i) => cur.as_array()?.get(*i)?,
        };
    }
    Some(cur)
}

/// The place at `path` under `cur`, created (and earlier scalars replaced) as needed.
fn slot<'a>(mut cur: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    for seg in path {
        cur = match seg {
            // The output owns its keys; in a fresh record every key is new, so the clone is needed.
            Seg::Key(key) => object_mut(cur).entry(key.clone()).or_insert(Value::Null),
            Seg::Index(i) => {
                let items = array_mut(cur);
                if items.len() <= *i {
                    items.resize(*i + 1, Value::Null);
                }
                &mut items[*i]
            }
        };
    }
    cur
}

fn object_mut(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("the value was just made an object"),
    }
}

fn array_mut(value: &mut Value) -> &mut Vec<Value> {
    if !value.is_array() {
        *value = Value::Array(Vec::new());
    }
    match value {
        Value::Array(items) => items,
        _ => unreachable!("the value was just made an array"),
    }
}

/// Most segments a path may have: a record nested deeper could not be written out or read
/// back as JSON (serde_json stops at 128 levels).
const MAX_PATH_SEGMENTS: usize = 100;
/// Largest array index a `generate` path may write at: the array is filled with `null` up to
/// it, in every record.
const MAX_GENERATE_INDEX: usize = 9_999;

fn parse_path(text: &str) -> Result<Vec<Step>, String> {
    if text.is_empty() {
        return Err("path is empty".into());
    }
    let mut steps = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        if steps.len() == MAX_PATH_SEGMENTS {
            return Err(format!("path has more than {MAX_PATH_SEGMENTS} segments"));
        }
        match chars.peek().copied() {
            None | Some('.') => return Err(format!("empty segment in path {text:?}")),
            Some(']') => return Err(format!("unexpected ']' in path {text:?}")),
            Some('[') => {
                chars.next();
                steps.push(parse_bracket(&mut chars, text)?);
            }
            Some(_) => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, '.' | '[' | ']') {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                steps.push(Step::Seg(Seg::Key(key)));
            }
        }
        match chars.peek().copied() {
            None => return Ok(steps),
            Some('.') => {
                chars.next();
            }
            Some('[') => {}
            Some(c) => return Err(format!("unexpected '{c}' in path {text:?}")),
        }
    }
}

fn parse_bracket(chars: &mut Peekable<Chars<'_>>, text: &str) -> Result<Step, String> {
    let unclosed = || format!("unclosed '[' in path {text:?}");
    let step = match chars.peek().copied() {
        Some(quote @ ('"' | '\'')) => {
            chars.next();
            let mut key = String::new();
            loop {
                match chars.next() {
                    None => return Err(unclosed()),
                    Some('\\') => key.push(chars.next().ok_or_else(unclosed)?),
                    Some(c) if c == quote => break,
                    Some(c) => key.push(c),
                }
            }
            Step::Seg(Seg::Key(key))
        }
        _ => {
            let mut inner = String::new();
            while let Some(&c) = chars.peek() {
                if c == ']' {
                    break;
                }
                inner.push(c);
                chars.next();
            }
            if inner == "*" {
                Step::Star
            } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                let index = inner
                    .parse()
                    .map_err(|_| format!("index {inner} is too large in path {text:?}"))?;
                Step::Seg(Seg::Index(index))
            } else if chars.peek().is_none() {
                return Err(unclosed());
            } else {
                return Err(format!("index {inner:?} is not a number in path {text:?}"));
            }
        }
    };
    match chars.next() {
        Some(']') => Ok(step),
        None => Err(unclosed()),
        Some(c) => Err(format!("expected ']' but found '{c}' in path {text:?}")),
    }
}

/// What a `dataType` converts to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Number,
    Boolean,
    Date,
    Object,
}

/// A compiled `dataType`: a kind, alone or as an array of that kind (`numberarray`, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
struct DataType {
    kind: Kind,
    array: bool,
}

fn parse_data_type(value: Option<&Value>) -> Result<Option<DataType>, String> {
    let name = match value {
        None | Some(Value::Null) => return Ok(None),
        // Mapping editors save an untouched type as "".
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(_) => return Err("must be a string".into()),
    };
    let (base, array) = match name.strip_suffix("array") {
        Some(base) if !base.is_empty() => (base, true),
        _ => (name.as_str(), false),
    };
    let kind = match base {
        "string" => Kind::String,
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        "date" => Kind::Date,
        "object" => Kind::Object,
        _ => return Err(format!("unknown dataType {name:?}")),
    };
    Ok(Some(DataType { kind, array }))
}

/// Where a field's value comes from.
#[derive(Debug)]
enum Source {
    /// `extract` from the record (or response) root.
    Root(Reader),
    /// `extract` after a list's `[*]`, relative to each element of the list's source array.
    Element(Reader),
    /// `hardCodedValue`.
    Fixed(Value),
}

/// One compiled `fields[]` entry.
#[derive(Debug)]
struct Field {
    /// `fields[1]` / `lists[0].fields[2]`: what conversion errors name.
    label: String,
    /// The `generate` text, quoted in conversion messages.
    name: String,
    generate: Vec<Seg>,
    source: Source,
    data_type: Option<DataType>,
    default: Option<Value>,
}

impl Field {
    fn compile(entry: &Value, label: String) -> Result<Field, MappingError> {
        let obj = entry
            .as_object()
            .ok_or_else(|| invalid(&label, "must be an object"))?;
        let (name, generate) = compile_generate(obj, &label)?;
        let extract = match obj.get("extract") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(Reader::new(
                parse_path(text).map_err(|m| invalid(format!("{label}.extract"), m))?,
            )),
            Some(_) => return Err(invalid(format!("{label}.extract"), "must be a string")),
        };
        let hard = obj
            .get("hardCodedValue")
            .filter(|v| extract.is_none() || !v.is_null());
        let source = match (extract, hard) {
            (Some(reader), None) => Source::Root(reader),
            (None, Some(value)) => Source::Fixed(value.clone()),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    &label,
                    "has both extract and hardCodedValue; give exactly one",
                ));
            }
            (None, None) => return Err(invalid(&label, "needs extract or hardCodedValue")),
        };
        let data_type = parse_data_type(obj.get("dataType"))
            .map_err(|m| invalid(format!("{label}.dataType"), m))?;
        let default = obj.get("default").filter(|v| !v.is_null()).cloned();
        Ok(Field {
            label,
            name,
            generate,
            source,
            data_type,
            default,
        })
    }

    /// The value to write, or None when the field is not generated for this record.
    fn value(&self, root: &Value, element: Option<&Value>) -> Result<Option<Value>, MappingError> {
        let found = match &self.source {
            Source::Fixed(value) => Some(Cow::Borrowed(value)),
            Source::Root(reader) => reader.read(root),
            Source::Element(reader) => element.and_then(|e| reader.read(e)),
        };
        let found = match (found, &self.default) {
            (Some(v), Some(default)) if is_blank(&v) => Some(Cow::Borrowed(default)),
            (None, Some(default)) => Some(Cow::Borrowed(default)),
            (found, _) => found,
        };
        let Some(value) = found else { return Ok(None) };
        match self.data_type {
            None => Ok(Some(value.into_owned())),
            Some(data_type) => {
                convert(data_type, value)
                    .map(Some)
                    .map_err(|message| MappingError::Conversion {
                        field: self.label.clone(),
                        message: format!("{message} (generate {:?})", self.name),
                    })
            }
        }
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn compile_generate(
    obj: &Map<String, Value>,
    label: &str,
) -> Result<(String, Vec<Seg>), MappingError> {
    let field = || format!("{label}.generate");
    let text = match obj.get("generate") {
        Some(Value::String(text)) => text,
        None | Some(Value::Null) => return Err(invalid(field(), "is required")),
        Some(_) => return Err(invalid(field(), "must be a string")),
    };
    let mut path = Vec::new();
    for step in parse_path(text).map_err(|m| invalid(field(), m))? {
        match step {
            Step::Seg(Seg::Index(i)) if i > MAX_GENERATE_INDEX => {
                let message =
                    format!("array index {i} is too large (at most {MAX_GENERATE_INDEX})");
                return Err(invalid(field(), message));
            }
            Step::Seg(seg) => path.push(seg),
            Step::Star => return Err(invalid(field(), "[*] is only allowed in extract")),
        }
    }
    if !matches!(path.first(), Some(Seg::Key(_))) {
        return Err(invalid(field(), "must start with a field name"));
    }
    Ok((text.clone(), path))
}

fn entries<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    label: &str,
) -> Result<&'a [Value], MappingError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid(format!("{label}{key}"), "must be an array")),
    }
}

/// One compiled `lists[]` entry.
#[derive(Debug)]
struct List {
    generate: Vec<Seg>,
    /// The array before `[*]` that the list iterates; None when no field has a `[*]`.
    source: Option<Vec<Seg>>,
    fields: Vec<Field>,
}

impl List {
    fn compile(entry: &Value, label: &str) -> Result<List, MappingError> {
        let obj = entry
            .as_object()
            .ok_or_else(|| invalid(label, "must be an object"))?;
        let (_, generate) = compile_generate(obj, label)?;
        let mut source: Option<Vec<Seg>> = None;
        let mut fields = Vec::new();
        for (j, entry) in entries(obj, "fields", &format!("{label}."))?
            .iter()
            .enumerate()
        {
            let mut field = Field::compile(entry, format!("{label}.fields[{j}]"))?;
            field.source = match field.source {
                Source::Root(Reader::Each { array, then }) => {
                    match &source {
                        None => source = Some(array),
                        Some(known) if *known == array => {}
                        Some(_) => {
                            return Err(invalid(
                                format!("{}.extract", field.label),
                                "iterates a different array than the list's other [*] fields",
                            ));
                        }
                    }
                    Source::Element(*then)
                }
                other => other,
            };
            fields.push(field);
        }
        Ok(List {
            generate,
            source,
            fields,
        })
    }

    fn write(&self, target: &mut Value, root: &Value) -> Result<(), MappingError> {
        let items: &[Value] = match &self.source {
            Some(path) => get(root, path).map_or(&[], elements),
            None if self.fields.is_empty() => &[],
            // No field iterates: a single element, built from root and hard-coded fields only.
            None => std::slice::from_ref(root),
        };
        if items.is_empty() {
            return Ok(());
        }
        // Root and hard-coded fields are the same for every element: convert them once.
        let shared = self
            .fields
            .iter()
            .map(|f| match f.source {
                Source::Element(_) => Ok(None),
                _ => f.value(root, None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let list = array_mut(slot(target, &self.generate));
        if list.len() < items.len() {
            list.resize(items.len(), Value::Object(Map::new()));
        }
        for (item, element) in items.iter().zip(list.iter_mut()) {
            for (field, shared) in self.fields.iter().zip(&shared) {
                let value = match field.source {
                    Source::Element(_) => field.value(root, Some(item))?,
                    _ => shared.clone(),
                };
                if let Some(value) = value {
                    *slot(element, &field.generate) = value;
                }
            }
        }
        Ok(())
    }
}

/// A compiled mapping: an import's `mapping` (`{"fields":[...],"lists":[...]}`) or a flow page
/// processor's `responseMapping` (same shape).
#[derive(Debug, Default)]
pub struct Mapping {
    fields: Vec<Field>,
    lists: Vec<List>,
}

impl Mapping {
    /// Compile `mapping` (the JSON object; `null` means the empty mapping). Errors name the
    /// offending key relative to the mapping object, e.g. `fields[2].extract`.
    pub fn compile(mapping: &Value) -> Result<Mapping, MappingError> {
        let obj = match mapping {
            Value::Null => return Ok(Mapping::default()),
            Value::Object(obj) => obj,
            _ => return Err(invalid("", "mapping must be an object")),
        };
        let fields = entries(obj, "fields", "")?
            .iter()
            .enumerate()
            .map(|(i, entry)| Field::compile(entry, format!("fields[{i}]")))
            .collect::<Result<_, _>>()?;
        let lists = entries(obj, "lists", "")?
            .iter()
            .enumerate()
            .map(|(i, entry)| List::compile(entry, &format!("lists[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Mapping { fields, lists })
    }

    /// The top-level fields the mapping generates, each once, in the order of its `fields` and
    /// then its `lists`: the order the user laid the mapping out in (records themselves keep
    /// their keys sorted), which a CSV file written without `file.csv.columns` follows.
    pub fn generated_order(&self) -> Vec<String> {
        let paths = self.fields.iter().map(|f| &f.generate);
        let paths = paths.chain(self.lists.iter().map(|l| &l.generate));
        let mut names: Vec<String> = Vec::new();
        for path in paths {
            if let Some(Seg::Key(name)) = path.first()
                && !names.contains(name)
            {
                names.push(name.clone());
            }
        }
        names
    }

    /// Whether there are no fields and no lists (records then pass unchanged through an import).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.lists.is_empty()
    }

    /// Map one record into a new record. An empty mapping returns the record unchanged (a clone).
    pub fn apply(&self, record: &Value) -> Result<Value, MappingError> {
        if self.is_empty() {
            return Ok(record.clone());
        }
        let mut out = Value::Object(Map::new());
        self.write(&mut out, record)?;
        Ok(out)
    }

    /// Response mapping: read from `response` (an import's `{"id","statusCode","_json"}`, or a
    /// lookup's `{"data":[...]}`) with each `extract`, and write into `record` at `generate`.
    /// Keys of `record` that are not generated stay.
    pub fn apply_response(&self, record: &mut Value, response: &Value) -> Result<(), MappingError> {
        self.write(record, response)
    }

    fn write(&self, target: &mut Value, source: &Value) -> Result<(), MappingError> {
        for field in &self.fields {
            if let Some(value) = field.value(source, None)? {
                *slot(target, &field.generate) = value;
            }
        }
        for list in &self.lists {
            list.write(target, source)?;
        }
        Ok(())
    }
}

fn convert(data_type: DataType, value: Cow<'_, Value>) -> Result<Value, String> {
    let kind = data_type.kind;
    if !data_type.array || value.is_null() {
        return convert_one(kind, value);
    }
    match value {
        Cow::Borrowed(Value::Array(items)) => items
            .iter()
            .map(|v| convert_one(kind, Cow::Borrowed(v)))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Cow::Owned(Value::Array(items)) => items
            .into_iter()
            .map(|v| convert_one(kind, Cow::Owned(v)))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => {
            // Text sources (CSV cells, form fields) carry object arrays as JSON text.
            if let (Kind::Object, Value::String(text)) = (kind, other.as_ref())
                && let Ok(parsed @ Value::Array(_)) = serde_json::from_str::<Value>(text)
            {
                return convert(data_type, Cow::Owned(parsed));
            }
            Ok(Value::Array(vec![convert_one(kind, other)?]))
        }
    }
}

const TRUE_WORDS: [&str; 3] = ["true", "yes", "1"];
const FALSE_WORDS: [&str; 3] = ["false", "no", "0"];

fn convert_one(kind: Kind, value: Cow<'_, Value>) -> Result<Value, String> {
    // Debug names are the dataType spellings, and this only runs on the error path.
    let fail = |v: &Value| {
        format!(
            "cannot convert {} to {}",
            describe(v),
            format!("{kind:?}").to_lowercase()
        )
    };
    match (kind, value.as_ref()) {
        (_, Value::Null)
        | (Kind::String, Value::String(_))
        | (Kind::Number, Value::Number(_))
        | (Kind::Boolean, Value::Bool(_))
        | (Kind::Object, Value::Object(_)) => Ok(value.into_owned()),
        // An empty cell means "no value" for every non-text type.
        (_, Value::String(s)) if s.trim().is_empty() => Ok(Value::Null),
        // JSON text is also the plain text of numbers and booleans.
        (Kind::String, other) => Ok(Value::String(other.to_string())),
        (Kind::Number, Value::Bool(b)) => Ok(Value::from(u8::from(*b))),
        (Kind::Number, Value::String(s)) => parse_number(s.trim()).ok_or_else(|| fail(&value)),
        (Kind::Boolean, Value::Number(n)) => Ok(Value::Bool(n.as_f64().is_some_and(|f| f != 0.0))),
        (Kind::Boolean, Value::String(s)) => {
            let word = |words: [&str; 3]| words.iter().any(|w| w.eq_ignore_ascii_case(s.trim()));
            if word(TRUE_WORDS) {
                Ok(Value::Bool(true))
            } else if word(FALSE_WORDS) {
                Ok(Value::Bool(false))
            } else {
                Err(fail(&value))
            }
        }
        (Kind::Date, Value::Number(n)) => {
            let millis = n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64));
            millis
                .and_then(DateTime::from_timestamp_millis)
                .map(format_date)
                .ok_or_else(|| fail(&value))
        }
        (Kind::Date, Value::String(s)) => parse_date(s.trim())
            .map(format_date)
            .ok_or_else(|| fail(&value)),
        (Kind::Object, Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ Value::Object(_)) => Ok(parsed),
            _ => Err(fail(&value)),
        },
        (_, other) => Err(fail(other)),
    }
}

fn parse_number(text: &str) -> Option<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Value::from(u));
    }
    // f64 parsing also accepts "inf" and "NaN", which JSON cannot hold.
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(date) = DateTime::parse_from_str(text, format) {
            return Some(date.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(date) = NaiveDateTime::parse_from_str(text, format) {
            return Some(date.and_utc());
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return day.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().and_then(DateTime::from_timestamp_millis);
    }
    None
}

fn format_date(date: DateTime<Utc>) -> Value {
    Value::String(date.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// The value's text for an error message, cut to 100 characters.
fn describe(value: &Value) -> String {
    let text = match value {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    };
    let mut cut: String = text.chars().take(100).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    if value.is_string() {
        format!("\"{cut}\"")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(mapping: Value, record: Value) -> Value {
        let mapping = Mapping::compile(&mapping).expect("mapping compiles");
        mapping.apply(&record).expect("record maps")
    }

    fn converted(data_type: &str, value: Value) -> Result<Value, MappingError> {
        let field = json!({"extract": "v", "generate": "out", "dataType": data_type});
        let mapping = Mapping::compile(&json!({ "fields": [field] })).expect("mapping compiles");
        mapping
            .apply(&json!({ "v": value }))
            .map(|out| out["out"].clone())
    }

    /// Each `[input, expected]` pair of the JSON `table` converts as listed.
    fn converts(data_type: &str, table: &str) {
        let table: Vec<(Value, Value)> = serde_json::from_str(table).expect("test table is JSON");
        for (input, expected) in table {
            let got = converted(data_type, input.clone());
            assert_eq!(got, Ok(expected), "{data_type} of {input}");
        }
    }

    /// Each value of the JSON `values` fails, and the error names the field and the value.
    fn rejects(data_type: &str, values: &str) {
        let values: Vec<Value> = serde_json::from_str(values).expect("test table is JSON");
        let target = data_type.trim_end_matches("array");
        for input in values {
            let err = converted(data_type, input.clone()).expect_err("conversion fails");
            assert_eq!(err.field(), "fields[0]");
            assert_eq!(err.code(), "mapping_conversion");
            let shown = input
                .as_str()
                .map_or_else(|| input.to_string(), |s| format!("\"{s}\""));
            let message = err.to_string();
            assert!(
                message.contains(&format!("{shown} to {target}")),
                "{message}"
            );
        }
    }

    #[test]
    fn an_empty_mapping_passes_records_unchanged() {
        let record = json!({"a": 1, "b": [true]});
        for mapping in [Value::Null, json!({}), json!({"fields": [], "lists": null})] {
            let mapping = Mapping::compile(&mapping).expect("mapping compiles");
            assert!(mapping.is_empty());
            assert_eq!(mapping.apply(&record), Ok(record.clone()));
        }
    }

    #[test]
    fn paths_too_deep_and_generate_indexes_too_large_are_refused() {
        let deep = vec!["a"; 101].join(".");
        let error = Mapping::compile(&json!({"fields": [{"extract": deep, "generate": "x"}]}))
            .expect_err("101 segments");
        assert_eq!(error.field(), "fields[0].extract");
        assert!(
            error.to_string().contains("more than 100 segments"),
            "{error}"
        );
        let fine = vec!["a"; 100].join(".");
        assert!(Mapping::compile(&json!({"fields": [{"extract": "a", "generate": fine}]})).is_ok());

        let big = json!({"fields": [{"extract": "a", "generate": "b[10000]"}]});
        let error = Mapping::compile(&big).expect_err("index past the cap");
        assert_eq!(error.field(), "fields[0].generate");
        assert!(error.to_string().contains("at most 9999"), "{error}");
        let huge = json!({"fields": [{"extract": "a", "generate": "b[18446744073709551616]"}]});
        assert!(Mapping::compile(&huge).is_err());
        let at_cap = json!({"fields": [{"extract": "a", "generate": "b[9999]"}]});
        let mapped = Mapping::compile(&at_cap)
            .expect("at the cap")
            .apply(&json!({"a": 1}))
            .expect("maps");
        assert_eq!(mapped["b"].as_array().map(Vec::len), Some(10_000));
    }

    #[test]
    fn generated_order_is_the_mappings_own_top_level_order() {
        let m = Mapping::compile(&json!({
            "fields": [
                {"extract": "id", "generate": "orderId"},
                {"extract": "a", "generate": "shipTo.city"},
                {"extract": "b", "generate": "amount"},
                {"extract": "c", "generate": "shipTo.name"},
                {"extract": "d", "generate": "['quoted key']"}
            ],
            "lists": [{"generate": "lines", "fields": [{"extract": "x[*].y", "generate": "y"}]},
                      {"generate": "amount", "fields": []}]
        }))
        .expect("a valid mapping");
        assert_eq!(
            m.generated_order(),
            ["orderId", "shipTo", "amount", "quoted key", "lines"]
        );
        assert!(Mapping::default().generated_order().is_empty());
    }

    #[test]
    fn nested_extract_paths_write_nested_generate_paths() {
        let out = map(
            json!({"fields": [
                {"extract": "customer.address.city", "generate": "shipTo.city"},
                {"extract": "customer.name", "generate": "shipTo.name"},
                {"extract": "id", "generate": "externalId"}
            ]}),
            json!({"id": 7, "customer": {"name": "Ann", "address": {"city": "Oslo"}}}),
        );
        let expected = json!({"externalId": 7, "shipTo": {"city": "Oslo", "name": "Ann"}});
        assert_eq!(out, expected);
    }

    #[test]
    fn quoted_names_with_spaces_and_dots_are_read_literally() {
        let out = map(
            json!({"fields": [
                {"extract": "[\"first name\"]", "generate": "first"},
                {"extract": "['a.b'].c", "generate": "dotted"},
                {"extract": "x[\"it\\\"s\"]", "generate": "escaped"}
            ]}),
            json!({"first name": "Ann", "a.b": {"c": 1}, "a": {"b": {"c": 2}}, "x": {"it\"s": 3}}),
        );
        assert_eq!(out, json!({"first": "Ann", "dotted": 1, "escaped": 3}));
    }

    #[test]
    fn indexes_read_arrays_and_grow_generated_arrays_with_null_holes() {
        let out = map(
            json!({"fields": [
                {"extract": "items[1].sku", "generate": "lines[2].sku"},
                {"extract": "items[0].sku", "generate": "lines[0].sku"},
                {"extract": "items[5].sku", "generate": "missing"},
                {"extract": "matrix[1][0]", "generate": "cell"}
            ]}),
            json!({"items": [{"sku": "A"}, {"sku": "B"}], "matrix": [[1], [2]]}),
        );
        let expected = json!({"lines": [{"sku": "A"}, null, {"sku": "B"}], "cell": 2});
        assert_eq!(out, expected);
    }

    #[test]
    fn hard_coded_values_are_written_as_given() {
        let out = map(
            json!({"fields": [
                {"hardCodedValue": {"k": [1, 2]}, "generate": "obj"},
                {"hardCodedValue": "web", "generate": "channel"},
                {"hardCodedValue": null, "generate": "nothing"}
            ]}),
            json!({}),
        );
        let expected = json!({"obj": {"k": [1, 2]}, "channel": "web", "nothing": null});
        assert_eq!(out, expected);
    }

    #[test]
    fn defaults_replace_missing_null_and_empty_values() {
        let mapping = json!({"fields": [{"extract": "v", "generate": "out", "default": "n/a"}]});
        for record in [json!({}), json!({"v": null}), json!({"v": ""})] {
            assert_eq!(map(mapping.clone(), record), json!({"out": "n/a"}));
        }
        assert_eq!(map(mapping, json!({"v": 0})), json!({"out": 0}));
    }

    #[test]
    fn missing_values_without_a_default_are_not_generated_but_nulls_are() {
        let mapping = json!({"fields": [{"extract": "v", "generate": "out"}]});
        assert_eq!(map(mapping.clone(), json!({})), json!({}));
        assert_eq!(map(mapping, json!({"v": null})), json!({"out": null}));
    }

    #[test]
    fn string_conversion_turns_scalars_and_structures_into_text() {
        converts(
            "string",
            r#"[[12.5, "12.5"], [true, "true"], [{"a": [1]}, "{\"a\":[1]}"], ["", ""], [null, null]]"#,
        );
    }

    #[test]
    fn number_conversion_parses_numeric_text_and_booleans() {
        converts(
            "number",
            r#"[[" 12.5 ", 12.5], ["-3", -3], [false, 0], [true, 1], [4, 4], ["  ", null]]"#,
        );
        converts(
            "Number",
            r#"[["1e3", 1000.0], ["18446744073709551615", 18446744073709551615]]"#,
        );
        rejects("number", r#"["12 dollars", "NaN", "inf", [1], {}]"#);
    }

    #[test]
    fn a_failed_conversion_names_the_field_its_output_and_the_value_cut_to_100_characters() {
        let mapping = json!({"fields": [
            {"extract": "a", "generate": "a"},
            {"extract": "total", "generate": "order.total", "dataType": "number"}
        ]});
        let mapping = Mapping::compile(&mapping).expect("mapping compiles");
        let record = json!({"a": 1, "total": "x".repeat(150)});
        let err = mapping.apply(&record).expect_err("not a number");
        assert_eq!(
            (err.field(), err.code()),
            ("fields[1]", "mapping_conversion")
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("\"{}…\" to number", "x".repeat(100))),
            "{err}"
        );
        assert!(
            message.contains("order.total") && !message.contains(&"x".repeat(101)),
            "{err}"
        );
    }

    #[test]
    fn boolean_conversion_accepts_words_digits_and_numbers() {
        converts(
            "boolean",
            r#"[["TRUE", true], ["yes", true], [" 1 ", true], [2.5, true], [-1, true]]"#,
        );
        converts(
            "boolean",
            r#"[["False", false], ["No", false], ["0", false], [0, false], ["", null]]"#,
        );
        rejects("boolean", r#"["maybe", "2", {"a": 1}]"#);
    }

    #[test]
    fn date_conversion_normalises_to_utc_with_milliseconds() {
        let utc = "2026-01-02T03:04:05.000Z";
        converts(
            "date",
            &format!(
                r#"[["2026-01-02T04:04:05+01:00", "{utc}"], ["2026-01-02T03:04:05Z", "{utc}"],
                ["2026-01-02T03:04:05", "{utc}"], ["2026-01-02 03:04:05", "{utc}"],
                ["2026-01-02T04:04:05+0100", "{utc}"], [1767323045000, "{utc}"], ["1767323045000", "{utc}"],
                ["2026-01-02", "2026-01-02T00:00:00.000Z"],
                ["2026-01-02T03:04:05.123456Z", "2026-01-02T03:04:05.123Z"]]"#
            ),
        );
        rejects("date", r#"["02/01/2026", "2026-13-01", "tomorrow", true]"#);
    }

    #[test]
    fn array_conversions_wrap_scalars_and_convert_each_element() {
        converts(
            "stringarray",
            r#"[[5, ["5"]], [[1, "a", false], ["1", "a", "false"]]]"#,
        );
        converts(
            "numberArray",
            r#"[[["1", 2, null], [1, 2, null]], [null, null]]"#,
        );
        converts(
            "booleanarray",
            r#"[["yes", [true]], [[0, "no"], [false, false]]]"#,
        );
        converts(
            "datearray",
            r#"[["2026-01-02", ["2026-01-02T00:00:00.000Z"]]]"#,
        );
        rejects("numberarray", r#"["two"]"#);
        let err = converted("numberarray", json!(["1", "two"])).expect_err("not numbers");
        assert!(err.to_string().contains("\"two\" to number"), "{err}");
    }

    #[test]
    fn object_conversions_accept_objects_and_json_text() {
        converts(
            "object",
            r#"[[{"a": 1}, {"a": 1}], ["{\"a\":1}", {"a": 1}]]"#,
        );
        rejects("object", r#"["[1]", "{", 3]"#);
        converts(
            "objectarray",
            r#"[[{"a": 1}, [{"a": 1}]], ["[{\"a\":1}]", [{"a": 1}]]]"#,
        );
        converts(
            "objectarray",
            r#"[[[{"a": 1}, "{\"b\":2}"], [{"a": 1}, {"b": 2}]]]"#,
        );
        rejects("objectarray", r#"[2, "x"]"#);
        let err = converted("objectarray", json!([{}, 2])).expect_err("not objects");
        assert!(err.to_string().contains("convert 2 to object"), "{err}");
    }

    #[test]
    fn a_star_in_a_plain_field_gathers_a_flat_array() {
        let out = map(
            json!({"fields": [
                {"extract": "orders[*].lines[*].qty", "generate": "qtys", "dataType": "stringarray"},
                {"extract": "nothing[*].x", "generate": "none"}
            ]}),
            json!({"orders": [{"lines": [{"qty": 1}, {"qty": 2}]}, {"lines": [{"qty": 3}, {}]}]}),
        );
        assert_eq!(out, json!({"qtys": ["1", "2", "3", null]}));
    }

    #[test]
    fn list_fields_with_a_star_make_one_element_per_source_item() {
        let out = map(
            json!({"lists": [{"generate": "lines", "fields": [
                {"extract": "items[*].sku", "generate": "item.sku"},
                {"extract": "items[*].qty", "generate": "quantity", "dataType": "number"},
                {"extract": "items[*].note", "generate": "note", "default": "-"},
                {"extract": "currency", "generate": "currency"},
                {"hardCodedValue": true, "generate": "taxable"}
            ]}]}),
            json!({"currency": "EUR", "items": [{"sku": "A", "qty": "2"}, {"sku": "B", "qty": 1, "note": "gift"}]}),
        );
        let expected = json!({"lines": [
            {"item": {"sku": "A"}, "quantity": 2, "note": "-", "currency": "EUR", "taxable": true},
            {"item": {"sku": "B"}, "quantity": 1, "note": "gift", "currency": "EUR", "taxable": true}
        ]});
        assert_eq!(out, expected);
    }

    #[test]
    fn nested_stars_in_a_list_gather_inner_values_per_element() {
        let out = map(
            json!({"lists": [{"generate": "orders", "fields": [
                {"extract": "orders[*].id", "generate": "id"},
                {"extract": "orders[*].lines[*].qty", "generate": "qtys"}
            ]}]}),
            json!({"orders": [{"id": 1, "lines": [{"qty": 1}, {"qty": 2}]}, {"id": 2, "lines": []}]}),
        );
        assert_eq!(
            out,
            json!({"orders": [{"id": 1, "qtys": [1, 2]}, {"id": 2, "qtys": []}]})
        );
    }

    #[test]
    fn a_list_with_a_missing_or_empty_source_is_not_generated() {
        let mapping = json!({
            "fields": [{"extract": "id", "generate": "id"}],
            "lists": [{"generate": "lines", "fields": [
                {"extract": "items[*].sku", "generate": "sku"},
                {"hardCodedValue": 1, "generate": "one"}
            ]}]
        });
        for record in [
            json!({"id": 1}),
            json!({"id": 1, "items": []}),
            json!({"id": 1, "items": null}),
        ] {
            assert_eq!(map(mapping.clone(), record), json!({"id": 1}));
        }
    }

    #[test]
    fn a_list_without_star_fields_makes_a_single_element() {
        let out = map(
            json!({"lists": [{"generate": "contacts", "fields": [{"extract": "email", "generate": "to"}]}]}),
            json!({"email": "a@b.c"}),
        );
        assert_eq!(out, json!({"contacts": [{"to": "a@b.c"}]}));
    }

    #[test]
    fn a_list_merges_element_by_element_into_an_array_made_by_fields() {
        let out = map(
            json!({
                "fields": [{"extract": "first", "generate": "lines[0].label"}],
                "lists": [{"generate": "lines", "fields": [{"extract": "items[*]", "generate": "value"}]}]
            }),
            json!({"first": "top", "items": [10, 20]}),
        );
        assert_eq!(
            out,
            json!({"lines": [{"label": "top", "value": 10}, {"value": 20}]})
        );
    }

    #[test]
    fn response_mapping_merges_into_the_existing_record() {
        let mapping = Mapping::compile(&json!({"fields": [
            {"extract": "id", "generate": "netsuite.id"},
            {"extract": "_json.status", "generate": "status"},
            {"extract": "_json.missing", "generate": "kept"}
        ]}))
        .expect("mapping compiles");
        let mut record = json!({"name": "Ann", "netsuite": {"type": "customer"}, "kept": 1});
        let response = json!({"id": "42", "statusCode": 200, "_json": {"status": "created"}});
        mapping
            .apply_response(&mut record, &response)
            .expect("response maps");
        let expected = json!({"name": "Ann", "netsuite": {"type": "customer", "id": "42"}, "status": "created", "kept": 1});
        assert_eq!(record, expected);
    }

    #[test]
    fn response_mapping_reads_lookup_results_into_lists() {
        let mapping = Mapping::compile(&json!({
            "fields": [{"extract": "data[0].id", "generate": "firstId"}],
            "lists": [{"generate": "matches", "fields": [{"extract": "data[*].name", "generate": "name"}]}]
        }))
        .expect("mapping compiles");
        let mut record = json!({"sku": "A"});
        let response = json!({"data": [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]});
        mapping
            .apply_response(&mut record, &response)
            .expect("response maps");
        let expected = json!({"sku": "A", "firstId": 1, "matches": [{"name": "x"}, {"name": "y"}]});
        assert_eq!(record, expected);
    }

    #[test]
    fn compile_errors_name_the_mapping_field() {
        // [mapping, field]; a bare entry object stands for the second of two fields.
        let table: Vec<(Value, String)> = serde_json::from_str(
            r#"[[[], ""], [{"fields": {}}, "fields"], [{"lists": "x"}, "lists"], ["x", "fields[1]"],
            [{"extract": "a"}, "fields[1].generate"], [{"extract": "a", "generate": 3}, "fields[1].generate"],
            [{"extract": "a", "generate": "a[*]"}, "fields[1].generate"],
            [{"extract": "a", "generate": "[0]"}, "fields[1].generate"],
            [{"extract": "a", "generate": "a..b"}, "fields[1].generate"],
            [{"extract": "a[0", "generate": "a"}, "fields[1].extract"],
            [{"extract": "a[x]", "generate": "a"}, "fields[1].extract"],
            [{"extract": "[\"a", "generate": "a"}, "fields[1].extract"],
            [{"extract": "a.", "generate": "a"}, "fields[1].extract"],
            [{"extract": "", "generate": "a"}, "fields[1].extract"],
            [{"extract": "a]", "generate": "a"}, "fields[1].extract"],
            [{"extract": "a[0]b", "generate": "a"}, "fields[1].extract"],
            [{"extract": 5, "generate": "a"}, "fields[1].extract"],
            [{"generate": "a"}, "fields[1]"], [{"extract": "a", "hardCodedValue": 1, "generate": "a"}, "fields[1]"],
            [{"extract": "a", "generate": "a", "dataType": "money"}, "fields[1].dataType"],
            [{"lists": [{"fields": []}]}, "lists[0].generate"],
            [{"lists": [{"generate": "l", "fields": 1}]}, "lists[0].fields"],
            [{"lists": [{"generate": "l", "fields": [{"extract": "a[*].x", "generate": "x"},
                {"extract": "b[*].y", "generate": "y"}]}]}, "lists[0].fields[1].extract"]]"#,
        )
        .expect("test table is JSON");
        for (entry, expected) in table {
            let is_field = entry.is_string()
                || entry.get("generate").is_some()
                || entry.get("extract").is_some();
            let mapping = if is_field {
                json!({"fields": [{"extract": "ok", "generate": "ok"}, entry]})
            } else {
                entry
            };
            let err = Mapping::compile(&mapping).expect_err("mapping is rejected");
            assert_eq!(
                (err.field(), err.code()),
                (expected.as_str(), "invalid_mapping"),
                "{mapping}: {err}"
            );
        }
    }

    #[test]
    fn blank_and_null_type_names_mean_no_conversion() {
        let out = map(
            json!({"fields": [
                {"extract": "a", "generate": "a", "dataType": ""},
                {"extract": "b", "hardCodedValue": null, "generate": "b", "dataType": null}
            ]}),
            json!({"a": "1", "b": 2}),
        );
        assert_eq!(out, json!({"a": "1", "b": 2}));
    }
}
