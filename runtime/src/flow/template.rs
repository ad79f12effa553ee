//! Handlebars templates: relative URIs, request bodies, headers and file names that mention
//! record fields (`{{id}}`, `{{data.x}}`, `{{record.customer.name}}`), the run's context
//! (`{{lastExportDateTime}}`, `{{settings.x}}`) and helpers (`{{timestamp}}`,
//! `{{dateFormat "YYYY-MM-DD" createdAt}}`, `{{encodeURIComponent name}}`, …).
//!
//! A [`Template`] is compiled once and rendered per record or page. Rendering never escapes
//! HTML (templates build URLs, JSON bodies and file names, not web pages) and is not strict: a
//! missing value renders as nothing. A helper's name wins over a field of the same name, as in
//! handlebars.js: reach such a field with `{{this.timestamp}}` or `{{record.timestamp}}`.
//!
//! Helpers besides handlebars' built-ins (`if`, `unless`, `each`, `with`, `lookup`, `raw`,
//! `log`, `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `and`, `or`, `not`, `len` — so a field named
//! `raw` or `log` is read as `{{this.raw}}`):
//!
//! | helper | renders |
//! |---|---|
//! | `{{timestamp}}` / `{{timestamp "YYYY-MM-DD"}}` | now, RFC 3339 UTC with milliseconds, or in the given format |
//! | `{{dateFormat "YYYY-MM-DD" date}}` | a date (RFC 3339 text, `YYYY-MM-DD[ HH:mm:ss]`, or epoch milliseconds) in the given format |
//! | `{{encodeURI x}}` / `{{encodeURIComponent x}}` | `x` percent-encoded as JavaScript's functions of the same name do |
//! | `{{jsonEncode x}}` / `{{json x}}` | `x` as JSON text (`null` when missing) |
//! | `{{uppercase x}}` / `{{lowercase x}}` | `x` in upper / lower case |
//! | `{{add a b}}`, `subtract`, `multiply`, `divide` | arithmetic over numbers or numeric text, left to right; empty when an operand is missing |
//! | `{{default a b "x"}}` | the first argument that is neither missing, null nor empty text |
//!
//! Formats are moment.js-style: `YYYY YY MMMM MMM MM M DD D dddd ddd HH H hh h mm m ss s SSS A a
//! ZZ Z X x`, text in `[brackets]` is written as is, every other character too. Dates are written
//! in UTC; time zones are not supported yet.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, Output, RenderContext, RenderError, RenderErrorReason,
    Renderable, ScopedJson,
};
use serde_json::Value;

/// Why a template could not be compiled or rendered. The message says what is wrong and where
/// (line and column), never the values the template was rendered with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// What went wrong, for people.
    pub message: String,
}

impl TemplateError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A compiled template, cheap to render many times. Thread-safe; share it freely.
#[derive(Debug, Clone)]
pub struct Template {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// No `{{` anywhere: rendering is a copy, the hot path of most relative URIs and names.
    Literal(String),
    Compiled(Box<handlebars::Template>),
}

impl Template {
    /// Compiles `source`; fails with the syntax problem and its position.
    pub fn compile(source: &str) -> Result<Template, TemplateError> {
        if !source.contains("{{") {
            return Ok(Template {
                kind: Kind::Literal(source.to_owned()),
            });
        }
        let compiled =
            handlebars::Template::compile(source).map_err(|e| compile_error(source, e))?;
        Ok(Template {
            kind: Kind::Compiled(Box::new(compiled)),
        })
    }

    /// Whether the template is plain text that renders the same whatever the context (callers
    /// may then skip building a context).
    pub fn is_literal(&self) -> bool {
        matches!(self.kind, Kind::Literal(_))
    }

    /// Renders the template with `context` as the root (`{{a.b}}` reads `context["a"]["b"]`).
    pub fn render(&self, context: &Value) -> Result<String, TemplateError> {
        match &self.kind {
            Kind::Literal(text) => Ok(text.clone()),
            Kind::Compiled(template) => {
                let context = Context::wraps(context).map_err(render_error)?;
                render_compiled(template, &context)
            }
        }
    }

    /// Like [`Template::render`], taking the context by value: saves a copy of it when the
    /// caller built the context for this one rendering.
    pub fn render_owned(&self, context: Value) -> Result<String, TemplateError> {
        match &self.kind {
            Kind::Literal(text) => Ok(text.clone()),
            Kind::Compiled(template) => render_compiled(template, &Context::from(context)),
        }
    }
}

/// What `{{…}}` escapes in the values it writes (`{{{…}}}` never escapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Nothing: URIs, bodies, headers, file names.
    None,
    /// SQL text literals (SuiteQL queries): `'` becomes `''`, so a value written between
    /// quotes — `WHERE email = '{{record.email}}'` — stays one literal whatever it holds.
    SqlText,
}

impl Template {
    /// Like [`Template::render`], escaping what `{{…}}` writes for where the text goes.
    pub fn render_escaped(&self, context: &Value, escape: Escape) -> Result<String, TemplateError> {
        match (&self.kind, escape) {
            (Kind::Literal(text), _) => Ok(text.clone()),
            (Kind::Compiled(_), Escape::None) => self.render(context),
            (Kind::Compiled(template), Escape::SqlText) => {
                let context = Context::wraps(context).map_err(render_error)?;
                render_with(sql_registry(), template, &context)
            }
        }
    }
}

/// Compiles `source` and renders it once with `context`.
pub fn render(source: &str, context: &Value) -> Result<String, TemplateError> {
    Template::compile(source)?.render(context)
}

fn render_compiled(
    template: &handlebars::Template,
    context: &Context,
) -> Result<String, TemplateError> {
    render_with(registry(), template, context)
}

fn render_with(
    registry: &Handlebars<'static>,
    template: &handlebars::Template,
    context: &Context,
) -> Result<String, TemplateError> {
    let mut render_context = RenderContext::new(None);
    let mut out = StringOut(String::new());
    template
        .render(registry, context, &mut render_context, &mut out)
        .map_err(render_error)?;
    Ok(out.0)
}

/// The registry templates render with: no escaping, not strict, our helpers.
fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| with_helpers(handlebars::no_escape))
}

/// [`registry`], with [`Escape::SqlText`].
fn sql_registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| with_helpers(|text: &str| text.replace('\'', "''")))
}

fn with_helpers(escape: fn(&str) -> String) -> Handlebars<'static> {
    {
        let mut registry = Handlebars::new();
        registry.register_escape_fn(escape);
        registry.set_strict_mode(false);
        let helpers: [(&'static str, HelperFn); 15] = [
            ("timestamp", timestamp),
            ("dateFormat", date_format),
            ("encodeURI", encode_uri),
            ("encodeURIComponent", encode_uri_component),
            ("jsonEncode", json_encode),
            ("json", json_encode),
            ("uppercase", uppercase),
            ("lowercase", lowercase),
            ("add", add),
            ("subtract", subtract),
            ("multiply", multiply),
            ("divide", divide),
            ("default", first_non_empty),
            // Aliases some integrator.io templates use.
            ("toUpperCase", uppercase),
            ("toLowerCase", lowercase),
        ];
        for (name, function) in helpers {
            registry.register_helper(name, Box::new(ValueHelper { name, function }));
        }
        registry
    }
}

/// Collects rendered text; handlebars' own `StringOutput` reserves 8 KiB per rendering, far
/// more than a relative URI needs.
struct StringOut(String);

impl Output for StringOut {
    fn write(&mut self, segment: &str) -> Result<(), std::io::Error> {
        self.0.push_str(segment);
        Ok(())
    }

    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> Result<(), std::io::Error> {
        std::fmt::Write::write_fmt(&mut self.0, args).map_err(std::io::Error::other)
    }
}

fn compile_error(source: &str, e: handlebars::TemplateError) -> TemplateError {
    let mut reason = e.reason().to_string();
    if let handlebars::TemplateErrorReason::InvalidSyntax(_) = e.reason() {
        let at_end = e.pos().is_some_and(|(line, column)| {
            let last = source.split('\n').count();
            let last_len = source.rsplit('\n').next().map_or(0, |l| l.chars().count());
            line == last && column > last_len
        });
        // The parser's "expected a, b, c, …" lists its grammar's rule names, which say little
        // to someone writing a relative URI.
        reason = if at_end {
            "the template ends inside a `{{…}}` expression or an unclosed `{{#block}}`".into()
        } else if reason.matches(',').count() > 2 {
            "invalid handlebars syntax".into()
        } else {
            reason
        };
    }
    match e.pos() {
        Some((line, column)) => TemplateError::new(format!(
            "invalid template: {reason} (line {line}, column {column})"
        )),
        None => TemplateError::new(format!("invalid template: {reason}")),
    }
}

fn render_error(e: RenderError) -> TemplateError {
    let reason = e.reason().to_string();
    match (e.line_no, e.column_no) {
        (Some(line), Some(column)) => TemplateError::new(format!(
            "cannot render template: {reason} (line {line}, column {column})"
        )),
        _ => TemplateError::new(format!("cannot render template: {reason}")),
    }
}

/// A helper computing a value from its arguments (missing arguments arrive as null), usable both
/// as `{{helper a b}}` and as a subexpression `{{#if (helper a)}}`.
type HelperFn = fn(&[&Value]) -> Result<Value, String>;

struct ValueHelper {
    name: &'static str,
    function: HelperFn,
}

impl HelperDef for ValueHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let params: Vec<&Value> = helper.params().iter().map(|p| p.value()).collect();
        (self.function)(&params)
            .map(ScopedJson::Derived)
            .map_err(|message| RenderErrorReason::Other(format!("{}: {message}", self.name)).into())
    }
}

fn timestamp(params: &[&Value]) -> Result<Value, String> {
    if params.len() > 1 {
        return Err("time zones are not supported yet; give only a format".into());
    }
    let now = Utc::now();
    Ok(Value::String(match params.first().copied() {
        Some(Value::String(format)) if !format.is_empty() => format_date(&now, format),
        Some(Value::Null | Value::String(_)) | None => rfc3339(&now),
        Some(other) => return Err(format!("the format must be text, not {other}")),
    }))
}

fn date_format(params: &[&Value]) -> Result<Value, String> {
    let (format, date) = match params {
        [format, date] => (*format, *date),
        [_] | [] => {
            return Err("expects a format and a date: {{dateFormat \"YYYY-MM-DD\" date}}".into());
        }
        _ => {
            return Err(
                "input formats and time zones are not supported yet; give a format and a date"
                    .into(),
            );
        }
    };
    let Some(date) = parse_date(date)? else {
        return Ok(Value::Null);
    };
    Ok(Value::String(match format {
        Value::String(format) if !format.is_empty() => format_date(&date, format),
        Value::Null | Value::String(_) => rfc3339(&date),
        other => return Err(format!("the format must be text, not {other}")),
    }))
}

fn rfc3339(date: &DateTime<Utc>) -> String {
    date.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A date given as RFC 3339 text, a date (and time) without offset taken as UTC, or epoch
/// milliseconds (number or numeric text). `None` for a missing or empty value.
fn parse_date(value: &Value) -> Result<Option<DateTime<Utc>>, String> {
    let from_millis = |ms: f64| {
        DateTime::from_timestamp_millis(ms as i64)
            .ok_or_else(|| format!("{ms} milliseconds since the epoch is out of range"))
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(ms), _) => from_millis(ms as f64).map(Some),
            (None, Some(ms)) => from_millis(ms).map(Some),
            _ => Err(format!("{n} is not a date")),
        },
        Value::String(text) => {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            if let Ok(date) = DateTime::parse_from_rfc3339(text) {
                return Ok(Some(date.with_timezone(&Utc)));
            }
            if let Ok(ms) = text.parse::<f64>() {
                return from_millis(ms).map(Some);
            }
            for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
                if let Ok(date) = NaiveDateTime::parse_from_str(text, format) {
                    return Ok(Some(date.and_utc()));
                }
            }
            if let Some(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
            {
                return Ok(Some(date.and_utc()));
            }
            Err(format!(
                "{value} is not a date (RFC 3339 text or milliseconds since the epoch)"
            ))
        }
        other => Err(format!("{other} is not a date")),
    }
}

/// Tokens longest first, so that `YYYY` is not read as `YY` twice.
const DATE_TOKENS: [&str; 25] = [
    "YYYY", "MMMM", "dddd", "SSS", "MMM", "ddd", "YY", "MM", "DD", "HH", "hh", "mm", "ss", "ZZ",
    "M", "D", "H", "h", "m", "s", "A", "a", "Z", "X", "x",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Formats `date` with a moment.js-style format.
fn format_date(date: &DateTime<Utc>, format: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(format.len() + 16);
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        if c == '['
            && let Some(end) = rest.find(']')
        {
            out.push_str(&rest[1..end]);
            rest = &rest[end + 1..];
            continue;
        }
        let Some(token) = DATE_TOKENS.iter().find(|t| rest.starts_with(**t)) else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        rest = &rest[token.len()..];
        let month = date.month0() as usize;
        let weekday = date.weekday().num_days_from_monday() as usize;
        let (pm, hour12) = date.hour12();
        // Writing to a String cannot fail.
        let _ = match *token {
            "YYYY" => write!(out, "{:04}", date.year()),
            "YY" => write!(out, "{:02}", date.year().rem_euclid(100)),
            "MMMM" => write!(out, "{}", MONTHS[month]),
            "MMM" => write!(out, "{}", &MONTHS[month][..3]),
            "MM" => write!(out, "{:02}", date.month()),
            "M" => write!(out, "{}", date.month()),
            "DD" => write!(out, "{:02}", date.day()),
            "D" => write!(out, "{}", date.day()),
            "dddd" => write!(out, "{}", WEEKDAYS[weekday]),
            "ddd" => write!(out, "{}", &WEEKDAYS[weekday][..3]),
            "HH" => write!(out, "{:02}", date.hour()),
            "H" => write!(out, "{}", date.hour()),
            "hh" => write!(out, "{hour12:02}"),
            "h" => write!(out, "{hour12}"),
            "mm" => write!(out, "{:02}", date.minute()),
            "m" => write!(out, "{}", date.minute()),
            "ss" => write!(out, "{:02}", date.second()),
            "s" => write!(out, "{}", date.second()),
            "SSS" => write!(out, "{:03}", date.timestamp_subsec_millis().min(999)),
            "A" => write!(out, "{}", if pm { "PM" } else { "AM" }),
            "a" => write!(out, "{}", if pm { "pm" } else { "am" }),
            // Dates are written in UTC.
            "ZZ" => write!(out, "+0000"),
            "Z" => write!(out, "+00:00"),
            "X" => write!(out, "{}", date.timestamp()),
            _ => write!(out, "{}", date.timestamp_millis()),
        };
    }
    out
}

/// Characters JavaScript's `encodeURIComponent` leaves as they are (besides ASCII letters and
/// digits).
const COMPONENT_UNRESERVED: &[u8] = b"-_.!~*'()";
/// Characters `encodeURI` leaves as they are: the component set plus URI delimiters.
const URI_UNRESERVED: &[u8] = b"-_.!~*'();,/?:@&=+$#";

fn percent_encode(text: &str, keep: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
    out
}

/// The text a value renders as: strings as they are, null as nothing, the rest as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn one<'a>(params: &[&'a Value]) -> Result<&'a Value, String> {
    match params {
        [value] => Ok(value),
        _ => Err(format!("expects one argument, got {}", params.len())),
    }
}

fn encode_uri(params: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(percent_encode(
        &text(one(params)?),
        URI_UNRESERVED,
    )))
}

fn encode_uri_component(params: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(percent_encode(
        &text(one(params)?),
        COMPONENT_UNRESERVED,
    )))
}

fn json_encode(params: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(one(params)?.to_string()))
}

fn uppercase(params: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(text(one(params)?).to_uppercase()))
}

fn lowercase(params: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(text(one(params)?).to_lowercase()))
}

fn first_non_empty(params: &[&Value]) -> Result<Value, String> {
    Ok(params
        .iter()
        .find(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
        .map(|v| (*v).clone())
        .unwrap_or(Value::Null))
}

/// An operand of an arithmetic helper.
#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn float(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// The number in `value`; `None` when it is missing (null or empty text).
fn number(value: &Value) -> Result<Option<Number>, String> {
    let parsed = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Number::Int)
            .or(n.as_f64().map(Number::Float)),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .map(Number::Int)
                .ok()
                .or(s.parse::<f64>().ok().map(Number::Float))
        }
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| format!("{value} is not a number"))
}

#[derive(Clone, Copy)]
enum Operation {
    Add,
    Subtract,
    Multiply,
    Divide,
}

fn arithmetic(params: &[&Value], operation: Operation) -> Result<Value, String> {
    if params.len() < 2 {
        return Err(format!(
            "expects at least two numbers, got {}",
            params.len()
        ));
    }
    let mut result: Option<Number> = None;
    for param in params {
        // A missing operand makes the result missing, as a missing field renders empty.
        let Some(operand) = number(param)? else {
            return Ok(Value::Null);
        };
        result = Some(match result {
            None => operand,
            Some(left) => apply(left, operand, operation)?,
        });
    }
    match result {
        Some(Number::Int(i)) => Ok(Value::from(i)),
        Some(Number::Float(f)) => float_value(f),
        None => Ok(Value::Null),
    }
}

fn apply(left: Number, right: Number, operation: Operation) -> Result<Number, String> {
    if let (Number::Int(a), Number::Int(b)) = (left, right) {
        let exact = match operation {
            Operation::Add => a.checked_add(b),
            Operation::Subtract => a.checked_sub(b),
            Operation::Multiply => a.checked_mul(b),
            Operation::Divide if b != 0 && a % b == 0 => a.checked_div(b),
            Operation::Divide => None,
        };
        if let Some(exact) = exact {
            return Ok(Number::Int(exact));
        }
    }
    let (a, b) = (left.float(), right.float());
    Ok(Number::Float(match operation {
        Operation::Add => a + b,
        Operation::Subtract => a - b,
        Operation::Multiply => a * b,
        Operation::Divide if b == 0.0 => return Err("division by zero".into()),
        Operation::Divide => a / b,
    }))
}

fn float_value(f: f64) -> Result<Value, String> {
    // Whole results print as integers (`3`, not `3.0`), as JavaScript prints them.
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::from(f as i64));
    }
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| "the result is not a finite number".to_string())
}

fn add(params: &[&Value]) -> Result<Value, String> {
    arithmetic(params, Operation::Add)
}

fn subtract(params: &[&Value]) -> Result<Value, String> {
    arithmetic(params, Operation::Subtract)
}

fn multiply(params: &[&Value]) -> Result<Value, String> {
    arithmetic(params, Operation::Multiply)
}

fn divide(params: &[&Value]) -> Result<Value, String> {
    arithmetic(params, Operation::Divide)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(source: &str, context: &Value) -> String {
        render(source, context).expect("renders")
    }

    #[test]
    fn record_fields_and_context_values_render() {
        let context = json!({
            "id": 42,
            "data": {"x": "ex", "items": [{"sku": "A-1"}]},
            "record": {"customer": {"name": "Ada"}},
            "lastExportDateTime": "2024-05-01T10:00:00.000Z",
            "ok": true,
        });
        assert_eq!(r("/items/{{id}}", &context), "/items/42");
        assert_eq!(r("{{data.x}}", &context), "ex");
        assert_eq!(r("{{data.items.[0].sku}}", &context), "A-1");
        assert_eq!(r("{{record.customer.name}}", &context), "Ada");
        assert_eq!(
            r("?since={{lastExportDateTime}}", &context),
            "?since=2024-05-01T10:00:00.000Z"
        );
        assert_eq!(r("{{ok}}", &context), "true");
    }

    #[test]
    fn missing_values_render_empty() {
        let context = json!({"data": {}});
        assert_eq!(r("a{{nothing}}b{{data.x.y}}c", &context), "abc");
        assert_eq!(r("{{uppercase nothing}}|{{add nothing 1}}", &context), "|");
    }

    #[test]
    fn text_is_never_html_escaped() {
        let context = json!({"q": "a<b>&\"c\"'"});
        assert_eq!(r("{{q}}", &context), "a<b>&\"c\"'");
        assert_eq!(r("{{{q}}}", &context), "a<b>&\"c\"'");
    }

    #[test]
    fn sql_text_escaping_doubles_quotes_in_double_braces_only() {
        let template = Template::compile(
            "SELECT id FROM customer WHERE email = '{{email}}' AND x = {{{literal}}} AND y = '{{lowercase name}}'",
        )
        .expect("compiles");
        let context =
            json!({"email": "o'hara@example.com' OR 1=1 --", "literal": "'1'", "name": "D'Arcy"});
        assert_eq!(
            template
                .render_escaped(&context, Escape::SqlText)
                .expect("renders"),
            "SELECT id FROM customer WHERE email = 'o''hara@example.com'' OR 1=1 --' AND x = '1' AND y = 'd''arcy'"
        );
        // Everywhere else nothing is escaped.
        assert_eq!(
            template
                .render_escaped(&context, Escape::None)
                .expect("renders"),
            template.render(&context).expect("renders")
        );
    }

    #[test]
    fn fields_named_like_helpers_are_read_through_this() {
        let context = json!({"raw": "r", "log": "l", "timestamp": "t"});
        assert_eq!(
            r("{{this.raw}}{{this.log}}{{this.timestamp}}", &context),
            "rlt"
        );
    }

    #[test]
    fn text_without_braces_renders_as_written() {
        let template = Template::compile("/v1/items?x=1").expect("compiles");
        assert!(template.is_literal());
        assert_eq!(
            template.render(&json!({})).expect("renders"),
            "/v1/items?x=1"
        );
        assert!(!Template::compile("{{x}}").expect("compiles").is_literal());
    }

    #[test]
    fn a_compiled_template_renders_many_contexts() {
        let template = Template::compile("/items/{{id}}").expect("compiles");
        assert_eq!(
            template.render(&json!({"id": 1})).expect("renders"),
            "/items/1"
        );
        assert_eq!(
            template.render_owned(json!({"id": "b"})).expect("renders"),
            "/items/b"
        );
    }

    #[test]
    fn a_broken_template_fails_to_compile_with_the_position() {
        let error = Template::compile("/items/{{#if x}}open").expect_err("unclosed block");
        assert!(error.message.starts_with("invalid template:"), "{error}");
        assert!(error.message.contains("unclosed `{{#block}}`"), "{error}");
        let error = Template::compile("line one\n{{id").expect_err("unclosed braces");
        assert!(error.message.contains("line 2"), "{error}");
        let error = Template::compile("{{#if x}}a{{/each}}").expect_err("mismatched block");
        assert!(error.message.contains("\"if\" was opened"), "{error}");
        let error = Template::compile("{{a (b}} tail").expect_err("unclosed subexpression");
        assert!(error.message.contains("column"), "{error}");
        assert!(!error.message.contains('\n'), "one line: {error}");
    }

    #[test]
    fn a_failing_helper_names_itself() {
        let error = render("{{divide 1 0}}", &json!({})).expect_err("division by zero");
        assert!(
            error.message.contains("divide: division by zero"),
            "{error}"
        );
        let error = render("{{add a 1}}", &json!({"a": {"b": 1}})).expect_err("not a number");
        assert!(error.message.contains("is not a number"), "{error}");
    }

    #[test]
    fn built_in_helpers_work() {
        let context = json!({"n": 3, "tags": ["a", "b"], "kind": "x", "m": {"k": "v"}, "key": "k"});
        assert_eq!(
            r("{{#if (gt n 2)}}big{{else}}small{{/if}}", &context),
            "big"
        );
        assert_eq!(r("{{#each tags}}{{this}};{{/each}}", &context), "a;b;");
        assert_eq!(r("{{#if (eq kind \"x\")}}yes{{/if}}", &context), "yes");
        assert_eq!(r("{{lookup m key}}", &context), "v");
        assert_eq!(r("{{len tags}}", &context), "2");
        assert_eq!(
            r(
                "{{#with m}}{{k}}{{/with}}{{#if (and (ne n 1) (not false))}}!{{/if}}",
                &context
            ),
            "v!"
        );
    }

    #[test]
    fn timestamp_without_a_format_is_now_in_rfc3339_utc_with_milliseconds() {
        let before = Utc::now();
        let text = r("{{timestamp}}", &json!({}));
        let after = Utc::now();
        assert_eq!(text.len(), "2026-11-28T09:53:41.123Z".len(), "{text}");
        assert!(text.ends_with('Z'), "{text}");
        let parsed = DateTime::parse_from_rfc3339(&text).expect("RFC 3339");
        let parsed = parsed.with_timezone(&Utc);
        assert!(parsed >= before - chrono::Duration::milliseconds(1) && parsed <= after);
    }

    #[test]
    fn timestamp_with_a_format_formats_now() {
        let text = r("file-{{timestamp \"YYYY-MM-DD\"}}.csv", &json!({}));
        let today = Utc::now().format("file-%Y-%m-%d.csv").to_string();
        let yesterday = (Utc::now() - chrono::Duration::seconds(5))
            .format("file-%Y-%m-%d.csv")
            .to_string();
        assert!(text == today || text == yesterday, "{text}");
        let error = render("{{timestamp \"YYYY\" \"Europe/Paris\"}}", &json!({}))
            .expect_err("zones are not supported");
        assert!(error.message.contains("time zones"), "{error}");
    }

    #[test]
    fn date_format_writes_moment_tokens() {
        let context = json!({
            "d": "2024-03-05T14:07:09.045+02:00",
            "ms": 1_709_647_629_045_i64,
            "text_ms": "1709647629045",
            "day": "2024-12-31",
        });
        let format =
            |f: &str, field: &str| r(&format!("{{{{dateFormat \"{f}\" {field}}}}}"), &context);
        // 14:07:09 at +02:00 is 12:07:09 UTC.
        assert_eq!(
            format("YYYY-MM-DD HH:mm:ss.SSS Z", "d"),
            "2024-03-05 12:07:09.045 +00:00"
        );
        assert_eq!(format("YY M D H h hh A a", "d"), "24 3 5 12 12 12 PM pm");
        assert_eq!(format("[Year] YYYY [at] HH[h]", "d"), "Year 2024 at 12h");
        assert_eq!(
            format("MMMM MMM dddd ddd ZZ", "d"),
            "March Mar Tuesday Tue +0000"
        );
        assert_eq!(format("X", "d"), "1709640429");
        assert_eq!(format("x", "d"), "1709640429045");
        // Epoch milliseconds, as a number or as text.
        assert_eq!(format("YYYY-MM-DDTHH:mm:ss", "ms"), "2024-03-05T14:07:09");
        assert_eq!(
            format("YYYY-MM-DDTHH:mm:ss", "text_ms"),
            "2024-03-05T14:07:09"
        );
        assert_eq!(format("DD/MM/YYYY hh:mm A", "day"), "31/12/2024 12:00 AM");
    }

    #[test]
    fn date_format_of_a_missing_date_is_empty_and_of_a_non_date_fails() {
        assert_eq!(r("[{{dateFormat \"YYYY\" nothing}}]", &json!({})), "[]");
        let error =
            render("{{dateFormat \"YYYY\" d}}", &json!({"d": "soon"})).expect_err("not a date");
        assert!(error.message.contains("dateFormat"), "{error}");
        assert!(error.message.contains("is not a date"), "{error}");
    }

    #[test]
    fn encode_uri_helpers_follow_javascript() {
        let context = json!({"q": "a b&c=d/é?#!*'()~", "n": 5});
        assert_eq!(
            r("{{encodeURIComponent q}}", &context),
            "a%20b%26c%3Dd%2F%C3%A9%3F%23!*'()~"
        );
        assert_eq!(r("{{encodeURI q}}", &context), "a%20b&c=d/%C3%A9?#!*'()~");
        assert_eq!(r("{{encodeURIComponent n}}", &context), "5");
        assert_eq!(r("[{{encodeURIComponent nothing}}]", &context), "[]");
    }

    #[test]
    fn json_encode_embeds_values_as_json() {
        let context = json!({"data": {"name": "A \"quoted\" <name>", "n": [1, 2]}, "s": "x"});
        let body = r("{\"record\": {{{jsonEncode data}}}}", &context);
        let parsed: Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["record"], context["data"]);
        assert_eq!(
            r("{{jsonEncode data}}", &context),
            r("{{{json data}}}", &context)
        );
        assert_eq!(r("{{json s}}", &context), "\"x\"");
        assert_eq!(r("{{json nothing}}", &context), "null");
    }

    #[test]
    fn uppercase_and_lowercase_change_case() {
        let context = json!({"s": "MiXeD é"});
        assert_eq!(r("{{uppercase s}}", &context), "MIXED É");
        assert_eq!(r("{{lowercase s}}", &context), "mixed é");
    }

    #[test]
    fn arithmetic_helpers_compute_over_numbers_and_numeric_text() {
        let context = json!({"a": 7, "b": "2", "c": 0.5});
        assert_eq!(r("{{add a b}}", &context), "9");
        assert_eq!(r("{{add a b 1}}", &context), "10");
        assert_eq!(r("{{subtract a b}}", &context), "5");
        assert_eq!(r("{{multiply a c}}", &context), "3.5");
        assert_eq!(r("{{multiply b c}}", &context), "1");
        assert_eq!(r("{{divide a b}}", &context), "3.5");
        assert_eq!(r("{{divide 6 b}}", &context), "3");
        assert_eq!(r("{{add 0.1 0.2}}", &context), "0.30000000000000004");
        assert_eq!(r("{{#if (gt (add a 1) 7)}}more{{/if}}", &context), "more");
    }

    #[test]
    fn default_picks_the_first_non_empty_value() {
        let context = json!({"empty": "", "zero": 0, "name": "n"});
        assert_eq!(r("{{default nothing \"x\"}}", &context), "x");
        assert_eq!(r("{{default empty nothing name \"x\"}}", &context), "n");
        assert_eq!(r("{{default zero \"x\"}}", &context), "0");
        assert_eq!(r("[{{default nothing empty}}]", &context), "[]");
    }
}
