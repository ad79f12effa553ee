//! Field checks over an open JSON document, collecting every problem at once.
//!
//! Paths are dotted with array indexes: `pageProcessors[1].hooks.postResponseMap._stackId`.

use serde::Serialize;
use serde_json::Value;

use crate::flow::schedule;
use crate::util;

/// One problem with a request, as the API reports it in `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Machine-readable code, e.g. `missing_field`, `invalid_reference`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Path of the field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    /// A problem with `field`.
    pub fn field(code: &str, message: impl Into<String>, field: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A problem not tied to one field.
    pub fn general(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }
}

/// The value at a dotted path.
pub fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut here = doc;
    for segment in path.split('.') {
        let (name, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            here = here.get(name)?;
        }
        for index in indexes.split('[').skip(1) {
            let i: usize = index.strip_suffix(']')?.parse().ok()?;
            here = here.get(i)?;
        }
    }
    Some(here)
}

/// The value at a dotted path, mutably.
pub fn get_mut<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut here = doc;
    for segment in path.split('.') {
        let (name, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            here = here.get_mut(name)?;
        }
        for index in indexes.split('[').skip(1) {
            let i: usize = index.strip_suffix(']')?.parse().ok()?;
            here = here.get_mut(i)?;
        }
    }
    Some(here)
}

/// Checks of one document; each method checks one field and records what is wrong with it.
pub struct Check<'a> {
    doc: &'a Value,
    problems: Vec<Problem>,
    kept: &'a [String],
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Check<'a> {
    /// Checks of `doc`.
    pub fn new(doc: &'a Value) -> Self {
        Self::keeping(doc, &[])
    }

    /// Checks of `doc` that pass over the fields in `kept`: secrets sent back as `"******"`,
    /// which keep a stored value that was checked when it was written.
    pub fn keeping(doc: &'a Value, kept: &'a [String]) -> Self {
        Self {
            doc,
            problems: Vec::new(),
            kept,
        }
    }

    /// The problems found.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Record a problem.
    pub fn problem(&mut self, code: &str, message: impl Into<String>, field: &str) {
        self.problems.push(Problem::field(code, message, field));
    }

    /// Whether `path` is present (and not null).
    pub fn has(&self, path: &str) -> bool {
        !matches!(get(self.doc, path), None | Some(Value::Null))
    }

    /// The value at `path`, recording `missing_field` when it is required and absent. Null counts
    /// as absent.
    fn present(&mut self, path: &str, required: bool) -> Option<&'a Value> {
        if self.kept.iter().any(|k| k == path) {
            return None;
        }
        match get(self.doc, path) {
            None | Some(Value::Null) => {
                if required {
                    self.problem("missing_field", format!("{path} is required"), path);
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    fn wrong_type(&mut self, path: &str, expected: &str, got: &Value) {
        let message = format!("{path} must be {expected}, not {}", type_name(got));
        self.problem("invalid_type", message, path);
    }

    /// A string field.
    pub fn string(&mut self, path: &str, required: bool) -> Option<&'a str> {
        let v = self.present(path, required)?;
        match v.as_str() {
            Some(s) if required && s.trim().is_empty() => {
                self.problem("missing_field", format!("{path} must not be empty"), path);
                None
            }
            Some(s) => Some(s),
            None => {
                self.wrong_type(path, "a string", v);
                None
            }
        }
    }

    /// A string that must be one of `options`.
    pub fn one_of(&mut self, path: &str, options: &[&str], required: bool) -> Option<&'a str> {
        let s = self.string(path, required)?;
        if options.contains(&s) {
            Some(s)
        } else {
            let message = format!(
                "{path} '{s}' is not valid; valid values: {}",
                options.join(", ")
            );
            self.problem("invalid_value", message, path);
            None
        }
    }

    /// An object field; true when present and an object.
    pub fn object(&mut self, path: &str, required: bool) -> bool {
        match self.present(path, required) {
            Some(Value::Object(_)) => true,
            Some(v) => {
                self.wrong_type(path, "an object", v);
                false
            }
            None => false,
        }
    }

    /// An array field; its length when present and an array.
    pub fn array(&mut self, path: &str, required: bool) -> Option<usize> {
        match self.present(path, required)? {
            Value::Array(items) => Some(items.len()),
            v => {
                self.wrong_type(path, "an array", v);
                None
            }
        }
    }

    /// An array of strings.
    pub fn string_array(&mut self, path: &str) {
        if let Some(n) = self.array(path, false) {
            for i in 0..n {
                self.string(&format!("{path}[{i}]"), false);
            }
        }
    }

    /// An integer within `min..=max`.
    pub fn integer(&mut self, path: &str, min: i64, max: i64, required: bool) {
        let Some(v) = self.present(path, required) else {
            return;
        };
        match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => {}
            Some(n) => {
                let message = format!("{path} must be between {min} and {max}, not {n}");
                self.problem("invalid_value", message, path);
            }
            None => self.wrong_type(path, "an integer", v),
        }
    }

    /// A boolean.
    pub fn boolean(&mut self, path: &str) {
        if let Some(v) = self.present(path, false)
            && !v.is_boolean()
        {
            self.wrong_type(path, "a boolean", v);
        }
    }

    /// An absolute http(s) URL.
    pub fn url(&mut self, path: &str, required: bool) {
        if let Some(s) = self.string(path, required) {
            let rest = s
                .strip_prefix("https://")
                .or_else(|| s.strip_prefix("http://"));
            if rest.is_none_or(|host| host.is_empty() || host.starts_with('/')) {
                let message = format!("{path} must be an absolute http:// or https:// URL");
                self.problem("invalid_value", message, path);
            }
        }
    }

    /// A resource id (24 lowercase hex characters). Whether it exists is checked by the API.
    pub fn id(&mut self, path: &str, required: bool) {
        if let Some(s) = self.string(path, required)
            && !util::is_id(s)
        {
            let message = format!("{path} '{s}' is not a valid id (24 hex characters)");
            self.problem("invalid_reference", message, path);
        }
    }

    /// An ISO-8601 date-time.
    pub fn datetime(&mut self, path: &str, required: bool) {
        if let Some(s) = self.string(path, required)
            && chrono::DateTime::parse_from_rfc3339(s).is_err()
        {
            let message =
                format!("{path} must be an ISO-8601 date-time such as 2026-01-31T00:00:00.000Z");
            self.problem("invalid_value", message, path);
        }
    }

    /// `_integrationId` and `_connectorId`, which most resources may carry.
    pub fn common_tags(&mut self) {
        self.id("_integrationId", false);
        self.id("_connectorId", false);
    }

    /// An array of `{name, value}` string pairs (HTTP headers).
    pub fn name_values(&mut self, path: &str) {
        if let Some(n) = self.array(path, false) {
            for i in 0..n {
                let at = format!("{path}[{i}]");
                if self.object(&at, true) {
                    self.string(&format!("{at}.name"), true);
                    self.string(&format!("{at}.value"), false);
                }
            }
        }
    }

    /// `hooks` of a resource: each named hook is `{_stackId, function, configuration}`.
    pub fn hooks(&mut self, names: &[&str]) {
        self.hooks_at("hooks", names);
    }

    /// Hooks under `at`.
    pub fn hooks_at(&mut self, at: &str, names: &[&str]) {
        if !self.object(at, false) {
            return;
        }
        for name in names {
            let hook = format!("{at}.{name}");
            if self.object(&hook, false) {
                self.id(&format!("{hook}._stackId"), true);
                self.string(&format!("{hook}.function"), true);
            }
        }
    }

    /// A mapping: `fields` [{extract | hardCodedValue, generate, dataType, default}] and `lists`
    /// [{generate, fields}].
    pub fn mapping(&mut self, at: &str) {
        if !self.object(at, false) {
            return;
        }
        self.mapping_fields(&format!("{at}.fields"));
        if let Some(n) = self.array(&format!("{at}.lists"), false) {
            for i in 0..n {
                let list = format!("{at}.lists[{i}]");
                if self.object(&list, true) {
                    self.string(&format!("{list}.generate"), true);
                    self.mapping_fields(&format!("{list}.fields"));
                }
            }
        }
    }

    fn mapping_fields(&mut self, path: &str) {
        const DATA_TYPES: &[&str] = &[
            "string",
            "number",
            "boolean",
            "date",
            "stringarray",
            "numberarray",
            "booleanarray",
            "object",
            "objectarray",
        ];
        if let Some(n) = self.array(path, false) {
            for i in 0..n {
                let field = format!("{path}[{i}]");
                if self.object(&field, true) {
                    self.string(&format!("{field}.generate"), true);
                    self.string(&format!("{field}.extract"), false);
                    self.one_of(&format!("{field}.dataType"), DATA_TYPES, false);
                }
            }
        }
    }

    /// A flow's cron schedule (six fields, seconds first, `?` allowed; see
    /// [`crate::flow::schedule`]), in the time zone at `timezone_path` when that is a known one.
    /// An unknown zone is reported by [`Check::timezone`], not here.
    pub fn schedule(&mut self, path: &str, timezone_path: &str) {
        let Some(expression) = self.string(path, false) else {
            return;
        };
        let zone = get(self.doc, timezone_path)
            .and_then(Value::as_str)
            .filter(|name| schedule::parse_timezone(name).is_ok());
        if let Err(e) = schedule::Schedule::parse(expression, zone) {
            self.problem("invalid_value", e.to_string(), path);
        }
    }

    /// An IANA time zone name such as `America/New_York`.
    pub fn timezone(&mut self, path: &str) {
        if let Some(name) = self.string(path, false)
            && let Err(e) = schedule::parse_timezone(name)
        {
            self.problem("invalid_value", e.to_string(), path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let doc = json!({"a": {"b": [{"c": 1}, {"c": [5, 6]}]}});
        assert_eq!(get(&doc, "a.b[1].c[1]"), Some(&json!(6)));
        assert_eq!(get(&doc, "a.b[2].c"), None);
        assert_eq!(get(&doc, "a.x"), None);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let doc = json!({"name": 3, "type": "nope", "pageSize": 0, "hooks": {"preSavePage": {"function": 1}}});
        let mut c = Check::new(&doc);
        c.string("name", true);
        c.one_of("type", &["a", "b"], true);
        c.integer("pageSize", 1, 10, false);
        c.hooks(&["preSavePage"]);
        c.string("missing", true);
        let fields: Vec<_> = c
            .into_problems()
            .into_iter()
            .map(|p| (p.code, p.field.unwrap_or_default()))
            .collect();
        let expected = [
            ("invalid_type", "name"),
            ("invalid_value", "type"),
            ("invalid_value", "pageSize"),
            ("missing_field", "hooks.preSavePage._stackId"),
            ("invalid_type", "hooks.preSavePage.function"),
            ("missing_field", "missing"),
        ];
        assert_eq!(
            fields,
            expected.map(|(c, f)| (c.to_owned(), f.to_owned())).to_vec()
        );
    }

    fn schedule_problems(doc: Value) -> Vec<(String, String, String)> {
        let mut c = Check::new(&doc);
        c.schedule("schedule", "timezone");
        c.timezone("timezone");
        c.into_problems()
            .into_iter()
            .map(|p| (p.code, p.field.unwrap_or_default(), p.message))
            .collect()
    }

    #[test]
    fn a_schedule_and_its_timezone_are_checked_together() {
        for doc in [
            json!({"schedule": "? 0 2 ? * MON-FRI", "timezone": "America/New_York"}),
            json!({"schedule": "0 */15 * * * *"}),
            json!({"timezone": "Europe/Paris"}),
            json!({}),
        ] {
            assert!(schedule_problems(doc.clone()).is_empty(), "{doc}");
        }
    }

    #[test]
    fn schedule_and_timezone_problems_name_their_field() {
        let problem = |code: &str, field: &str, message: &str| {
            (code.to_owned(), field.to_owned(), message.to_owned())
        };
        assert_eq!(
            schedule_problems(json!({"schedule": "0 2 * * *"})),
            [problem(
                "invalid_value",
                "schedule",
                "schedule must have six fields, seconds first (e.g. '? 0 2 ? * *'), not 5"
            )]
        );
        assert_eq!(
            schedule_problems(json!({"schedule": "*/10 * * * * *", "timezone": "Mars/Base"})),
            [
                problem(
                    "invalid_value",
                    "schedule",
                    "a flow may run at most once a minute: the seconds field must be a single value (0-59 or ?), not '*/10'"
                ),
                problem(
                    "invalid_value",
                    "timezone",
                    "unknown time zone 'Mars/Base' (use an IANA name such as 'America/New_York')"
                ),
            ]
        );
        // A valid schedule with an unknown zone is one problem, with the zone.
        let problems =
            schedule_problems(json!({"schedule": "0 0 2 * * *", "timezone": "Mars/Base"}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].1, "timezone");
        let problems = schedule_problems(json!({"schedule": 5, "timezone": true}));
        let codes: Vec<_> = problems
            .iter()
            .map(|(c, f, _)| (c.as_str(), f.as_str()))
            .collect();
        assert_eq!(
            codes,
            [("invalid_type", "schedule"), ("invalid_type", "timezone")]
        );
    }
}
