//! How each kind's options are read from the call's JSON text, and its result written back.
//!
//! Records — the pages that hooks and wrappers handle — never go through serde: the options are
//! parsed once by integrator-json's own parser, the record arrays taken out as [`Value`]s, and
//! only the rest (ids, settings, errors: a few hundred bytes) read into the typed options with
//! serde. Results are written the same way: records by integrator-json's writer, the other
//! fields by serde. The kinds without records use serde for all of it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Value;

/// Options a function can be registered with: read from the call's JSON text.
pub trait Options: Sized {
    #[doc(hidden)]
    fn read(text: &[u8]) -> Result<Self, String>;
}

/// A result a function can return: written as the call's JSON answer.
pub trait Answer {
    #[doc(hidden)]
    fn write(&self, out: &mut Vec<u8>) -> Result<(), String>;
}

/// Options and answers read and written by serde alone.
macro_rules! through_serde {
    (options: $($options:ty),* ; answers: $($answer:ty),* $(;)?) => {
        $(impl $crate::codec::Options for $options {
            fn read(text: &[u8]) -> Result<Self, String> {
                $crate::codec::read_serde(text)
            }
        })*
        $(impl $crate::codec::Answer for $answer {
            fn write(&self, out: &mut Vec<u8>) -> Result<(), String> {
                $crate::codec::write_serde(self, out)
            }
        })*
    };
}
pub(crate) use through_serde;

/// Options whose named fields are arrays of records: read by [`read_with_records`], each
/// record field (JSON name => Rust field) filled from what it took out.
macro_rules! with_records {
    ($($options:ty { $($name:literal => $field:ident),+ $(,)? })*) => {
        $(impl $crate::codec::Options for $options {
            fn read(text: &[u8]) -> Result<Self, String> {
                let (mut options, records): (Self, _) =
                    $crate::codec::read_with_records(text, [$($name),+])?;
                let mut records = records.into_iter();
                $(options.$field = records.next().unwrap_or_default();)+
                Ok(options)
            }
        })*
    };
}
pub(crate) use with_records;

pub(crate) fn read_serde<T: DeserializeOwned>(text: &[u8]) -> Result<T, String> {
    crate::registry::parse_json(text).map_err(|e| e.to_string())
}

pub(crate) fn write_serde<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    serde_json::to_writer(out, value).map_err(|e| e.to_string())
}

/// Read options whose fields `fields` are arrays of records: returns the options without
/// them, and the records of each (an absent or null field has none).
pub(crate) fn read_with_records<T: DeserializeOwned, const N: usize>(
    text: &[u8],
    fields: [&str; N],
) -> Result<(T, [Vec<Value>; N]), String> {
    let mut options = integrator_json::from_slice(text).map_err(|e| e.to_string())?;
    let Some(object) = options.as_object_mut() else {
        return Err("the options must be an object".into());
    };
    let mut records: [Vec<Value>; N] = std::array::from_fn(|_| Vec::new());
    for (field, records) in fields.iter().zip(records.iter_mut()) {
        match object.remove(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => *records = items,
            Some(_) => return Err(format!("'{field}' must be an array of records")),
        }
    }
    let rest: T = read_serde(&options.to_vec())?;
    Ok((rest, records))
}

/// Writes a JSON object field by field.
pub(crate) struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// An object written to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn name(&mut self, name: &str) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A field of records.
    pub(crate) fn records(&mut self, name: &str, records: &[Value]) {
        self.name(name);
        write_records(records, self.out);
    }

    /// A record.
    pub(crate) fn record(&mut self, name: &str, record: &Value) {
        self.name(name);
        integrator_json::to_writer(record, self.out);
    }

    /// Any other field.
    pub(crate) fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), String> {
        self.name(name);
        serde_json::to_writer(&mut *self.out, value).map_err(|e| e.to_string())
    }

    pub(crate) fn finish(self) {
        self.out.push(b'}');
    }
}

/// A JSON array of records.
pub(crate) fn write_records(records: &[Value], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        integrator_json::to_writer(record, out);
    }
    out.push(b']');
}

impl Answer for Value {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), String> {
        integrator_json::to_writer(self, out);
        Ok(())
    }
}

impl Answer for Vec<Value> {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), String> {
        write_records(self, out);
        Ok(())
    }
}

impl Answer for () {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(b"null");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::*;
    use crate::wrapper::{ExportResponse, ImportOptions};
    use crate::{Failure, json};

    /// Records of every JSON type, with escapes, non-ASCII text and numbers serde would
    /// re-format (`1.50`, `1E+2`, a big integer).
    fn records() -> Value {
        let text = r#"[
            {"id": 1, "name": "Ada \"the\" Countess\n", "price": 1.50, "tags": ["a", "ü", "😀"],
             "nested": {"deep": [null, true, false, -0, 1E+2, 12345678901234567890123]}},
            "not an object", 7, null, [], {}
        ]"#;
        integrator_json::from_str(text).expect("valid")
    }

    fn options_text(fields: &[&str]) -> Vec<u8> {
        let mut options = json!({
            "bearerToken": "t",
            "_integrationId": "i1",
            "_flowId": "f1",
            "pageIndex": 3,
            "errors": [{"code": "c", "message": "m"}],
            "settings": {"region": "eu"},
            "testMode": true,
        });
        for field in fields {
            options[*field] = records();
        }
        options.to_vec()
    }

    /// The fast path reads what serde reads.
    fn reads_like_serde<T>(fields: &[&str])
    where
        T: Options + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let text = options_text(fields);
        let fast = T::read(&text).expect("fast path");
        let serde: T = read_serde(&text).expect("serde path");
        assert_eq!(fast, serde);
    }

    /// The fast path writes what serde writes.
    fn writes_like_serde<T: Answer + Serialize>(answer: &T) {
        let mut fast = Vec::new();
        answer.write(&mut fast).expect("fast path");
        let fast: serde_json::Value = serde_json::from_slice(&fast).expect("valid JSON");
        let serde = serde_json::to_value(answer).expect("serde path");
        assert_eq!(fast, serde);
    }

    #[test]
    fn options_with_records_read_as_serde_reads_them() {
        reads_like_serde::<PreSavePageOptions>(&["data"]);
        reads_like_serde::<PreMapOptions>(&["data"]);
        reads_like_serde::<PostMapOptions>(&["preMapData", "postMapData"]);
        reads_like_serde::<PostSubmitOptions>(&["preMapData", "postMapData"]);
        reads_like_serde::<PostResponseMapOptions>(&["postResponseMapData", "responseData"]);
        reads_like_serde::<ImportOptions>(&["preMapData", "postMapData"]);
        // Absent record fields are empty.
        reads_like_serde::<PostMapOptions>(&[]);
        let read = PreSavePageOptions::read(&options_text(&["data"])).expect("reads");
        assert_eq!(read.data.len(), 6);
        assert_eq!(
            read.data[0]["price"].as_number().map(|n| n.as_str()),
            Some("1.50")
        );
        assert_eq!(read.page_index, 3);
        assert_eq!(read.common.settings["region"], "eu");
    }

    #[test]
    fn results_with_records_write_as_serde_writes_them() {
        let Value::Array(data) = records() else {
            unreachable!("records() is an array")
        };
        let failure = Failure::new("bad", "a \"bad\" record");
        writes_like_serde(&PreSavePageResponse {
            data: data.clone(),
            errors: vec![failure.clone()],
            abort: true,
            new_errors_and_retry_data: vec![json!({"error": failure, "data": data[0]})],
        });
        writes_like_serde(&PreSavePageResponse::default());
        writes_like_serde(&vec![
            RecordResult::keep(data[0].clone()),
            RecordResult::ignore(),
            RecordResult::fail(Failure::new("x", "y")),
            RecordResult {
                data: Some(data[1].clone()),
                errors: Some(vec![Failure::new("w", "logged")]),
            },
        ]);
        writes_like_serde(&data);
        writes_like_serde(&data[0]);
        writes_like_serde(&ExportResponse {
            data: data.clone(),
            errors: Vec::new(),
            last_page: false,
            state: json!({"page": 2}),
            connection_offline: false,
        });
        writes_like_serde(&ExportResponse {
            errors: vec![failure],
            ..Default::default()
        });
        writes_like_serde(&());
    }

    #[test]
    fn options_of_the_wrong_shape_are_refused_naming_the_field() {
        let err =
            PreSavePageOptions::read(br#"{"data": {"not": "an array"}}"#).expect_err("object");
        assert_eq!(err, "'data' must be an array of records");
        let err = PostMapOptions::read(br#"{"postMapData": "x"}"#).expect_err("string");
        assert_eq!(err, "'postMapData' must be an array of records");
        let err = PreMapOptions::read(b"[1]").expect_err("array");
        assert_eq!(err, "the options must be an object");
        let err = PreMapOptions::read(br#"{"data": [1,]}"#).expect_err("malformed");
        assert!(err.contains("line 1 column"), "{err}");
        let err =
            PreSavePageOptions::read(br#"{"data": [], "pageIndex": "x"}"#).expect_err("typed");
        assert!(
            err.contains("pageIndex") || err.contains("invalid type"),
            "{err}"
        );
        // Null record fields are empty, as absent ones.
        let read = PreMapOptions::read(br#"{"data": null}"#).expect("null");
        assert!(read.data.is_empty());
    }
}
