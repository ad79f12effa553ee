//! Fast, order-preserving JSON documents.
//!
//! `integrator-json` is a small JSON document type for the records that Integrator extension
//! functions parse, modify and write back. Extension functions are compiled to
//! `wasm32-wasip2` and run with a bump-arena allocator, so the design favours few, exactly
//! sized allocations and little work per byte:
//!
//! * **Objects keep their order.** An [`Object`] is a `Vec<(String, Value)>` in input (or
//!   insertion) order, so a record written back has its keys where they were. Lookups are
//!   linear scans, which is faster than hashing or a tree for the handful of keys a record has.
//! * **Numbers keep their text.** A [`Number`] stores the JSON number text exactly as it
//!   appeared (validated against the RFC 8259 grammar): parsing does no float conversion,
//!   writing does no float formatting, and big or very precise numbers round-trip unchanged.
//!   Texts of up to 22 bytes live inline, so a typical number allocates nothing. Numeric
//!   accessors ([`Number::as_f64`], [`Number::as_i64`], ...) convert on demand.
//! * **Strings are scanned a word at a time.** Both the parser and the writer look for the
//!   bytes that matter (`"`, `\`, control characters) eight bytes at a time (SWAR on a `u64`)
//!   and copy escape-free runs in one go; a string without escapes becomes its `String` with a
//!   single exactly sized allocation.
//! * **A direct recursive-descent parser.** No tokenizer pass and no serde machinery on the
//!   fast path. Array elements and object members are built in place on two scratch stacks
//!   shared by the whole parse, and moved into exactly sized vectors (one allocation, one
//!   copy) when their array or object ends, so no vector is grown by reallocation (which in a
//!   bump arena would leave every outgrown buffer behind). Duplicate keys are ruled out by a
//!   cheap fingerprint set while parsing; only suspects are compared.
//! * **A writer that reserves once.** [`to_writer`] computes the output size in a quick pass,
//!   reserves it, and appends with `extend_from_slice`; short strings and numbers are
//!   appended as whole words.
//!
//! Parsing is strict RFC 8259 and mirrors `serde_json`: the same inputs are rejected, with the
//! same messages and positions (`"expected `,` or `}` at line 1 column 17"`). Differences are
//! deliberate and few: numbers whose value overflows `f64` (`1e400`) are accepted and kept as
//! text (`serde_json` rejects them), nesting is limited to 128 levels (`serde_json` allows 127),
//! and duplicate object keys keep the position of their first occurrence with the value of the
//! last (as JavaScript's `JSON.parse` does). Output of [`to_writer`] is byte-identical to
//! `serde_json::to_vec` for the same keys in the same order and the same number texts.
//!
//! The [`Value`] API mirrors `serde_json::Value` (`get`, `pointer`, indexing with `v["key"]`
//! and `v[0]`, `as_str`, `take`, the `From` conversions, ...) so code can be ported by
//! changing the import. [`Value`] implements `serde::Serialize`/`Deserialize` and converts to
//! and from `serde_json::Value`; [`to_value`] and [`from_value`] bridge to your own types
//! through `serde_json` (convenient, not the fast path). The [`json!`] macro builds values
//! with `serde_json::json!`'s syntax.
//!
//! ```
//! let mut order = integrator_json::from_str(r#"{"id":7,"total":152.37,"lines":[{"qty":3}]}"#)?;
//! order["status"] = "shipped".into();
//! assert_eq!(order["lines"][0]["qty"].as_u64(), Some(3));
//! assert_eq!(order["total"].as_number().map(|n| n.as_str()), Some("152.37"));
//! assert_eq!(
//!     order.to_string(),
//!     r#"{"id":7,"total":152.37,"lines":[{"qty":3}],"status":"shipped"}"#
//! );
//! # Ok::<(), integrator_json::Error>(())
//! ```

mod error;
mod macros;
mod number;
mod object;
mod parse;
mod scan;
mod serde_impls;
mod value;
mod write;

pub use error::Error;
pub use number::Number;
pub use object::{IntoIter, Iter, IterMut, Keys, Object, Values, ValuesMut};
pub use parse::{from_slice, from_str};
pub use serde_impls::{from_value, to_value};
pub use value::{Index, Value};
pub use write::{to_vec, to_vec_pretty, to_writer, to_writer_pretty};

/// Support for the [`json!`] macro; not public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}
