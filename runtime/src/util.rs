//! Small helpers shared across modules: resource ids and timestamps.

use rand::Rng;

/// A new resource id: 24 lowercase hex characters, ObjectId-like (4 bytes of seconds since the
/// epoch, then 8 random bytes), so ids sort roughly by creation time.
pub fn new_id() -> String {
    let secs = chrono::Utc::now().timestamp() as u32;
    let random: [u8; 8] = rand::rng().random();
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    bytes[4..].copy_from_slice(&random);
    hex::encode(bytes)
}

/// Whether `s` has the shape of a resource id (24 lowercase hex characters).
pub fn is_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The current time as the API writes it: ISO-8601, UTC, milliseconds, `Z`.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_have_the_api_shape_and_differ() {
        let a = new_id();
        let b = new_id();
        assert!(is_id(&a), "{a}");
        assert_ne!(a, b);
        assert!(!is_id("5f1e3c2b9d8a7f6e5d4c3b2Z"));
        assert!(!is_id("abc"));
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let t = now();
        assert_eq!(t.len(), "2026-11-28T09:53:41.123Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }
}
