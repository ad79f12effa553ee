//! Secrets at rest: ChaCha20-Poly1305 sealing of secret fields, and masking in responses.
//!
//! A secret value is stored as an envelope `{"$secret": "<base64 nonce‖ciphertext>"}` in place of
//! the plain value. Responses replace every envelope with [`MASK`]; a write that sends [`MASK`]
//! back keeps the stored envelope.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng;
use serde_json::{Map, Value};

/// What every response shows in place of a secret.
pub const MASK: &str = "******";

/// The key of a sealed envelope object.
pub const ENVELOPE: &str = "$secret";

/// Name of the key file created in the data directory when no key is configured.
pub const KEY_FILE: &str = "secret.key";

/// Errors opening a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The value is not an envelope of this module.
    #[error("not a sealed secret")]
    NotSealed,
    /// Decryption failed: wrong key or tampered data.
    #[error("sealed secret cannot be opened with this key")]
    Undecryptable,
}

/// Seals and opens secret values with the installation's key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    /// Key of the HMAC signatures the server hands out (paged export states), derived from
    /// the installation key so that it never doubles as the encryption key.
    signing_key: [u8; 32],
}

impl SecretBox {
    /// A box with the given 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        use sha2::Digest;
        let mut derive = sha2::Sha256::new();
        derive.update(b"integrator signing key v1");
        derive.update(key);
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            signing_key: derive.finalize().into(),
        }
    }

    /// HMAC-SHA256 of `data` with the installation's signing key.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.signing_key)
            .expect("HMAC takes a key of any length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Whether `signature` is [`SecretBox::sign`] of `data` (compared in constant time).
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> bool {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&self.signing_key)
            .expect("HMAC takes a key of any length");
        mac.update(data);
        mac.verify_slice(signature).is_ok()
    }

    /// The key from `configured` (64 hex characters or base64 of 32 bytes, from
    /// `INTEGRATOR_SECRET_KEY`) or else from the key file in `data_dir`, created with mode 0600
    /// on first use.
    pub fn load(data_dir: &Path, configured: Option<&str>) -> anyhow::Result<Self> {
        if let Some(text) = configured {
            return Ok(Self::new(
                parse_key(text).context("INTEGRATOR_SECRET_KEY is not a valid key")?,
            ));
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                Ok(Self::new(parse_key(&text).with_context(|| {
                    format!("key file {} is invalid", path.display())
                })?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::rng().random();
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .with_context(|| format!("creating key file {}", path.display()))?;
                file.write_all(hex::encode(key).as_bytes())?;
                file.sync_all()?;
                Ok(Self::new(key))
            }
            Err(e) => Err(e).with_context(|| format!("reading key file {}", path.display())),
        }
    }

    /// Seal `value` into an envelope.
    pub fn seal(&self, value: &Value) -> Value {
        let nonce_bytes: [u8; 12] = rand::rng().random();
        let plain = serde_json::to_vec(value).expect("a serde_json::Value always serializes");
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), plain.as_slice())
            .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut bytes = nonce_bytes.to_vec();
        bytes.extend_from_slice(&sealed);
        let mut envelope = Map::new();
        envelope.insert(ENVELOPE.to_owned(), Value::String(B64.encode(bytes)));
        Value::Object(envelope)
    }

    /// Open an envelope made by [`SecretBox::seal`].
    pub fn open(&self, envelope: &Value) -> Result<Value, SecretError> {
        let text = envelope_text(envelope).ok_or(SecretError::NotSealed)?;
        let bytes = B64.decode(text).map_err(|_| SecretError::Undecryptable)?;
        if bytes.len() < 12 {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| SecretError::Undecryptable)?;
        serde_json::from_slice(&plain).map_err(|_| SecretError::Undecryptable)
    }
}

fn parse_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text)?
    } else {
        B64.decode(text)
            .context("expected 64 hex characters or base64")?
    };
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(key) => Ok(key),
        Err(_) => bail!("expected 32 bytes, got {}", bytes.len()),
    }
}

fn envelope_text(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(ENVELOPE)?.as_str(),
        _ => None,
    }
}

/// Whether `value` is a sealed envelope.
pub fn is_sealed(value: &Value) -> bool {
    envelope_text(value).is_some()
}

/// Replace every sealed envelope inside `doc` with [`MASK`].
pub fn mask(doc: &mut Value) {
    match doc {
        Value::Object(map) => {
            for value in map.values_mut() {
                if is_sealed(value) {
                    *value = Value::String(MASK.to_owned());
                } else {
                    mask(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Path of the first object key inside `doc` that is [`ENVELOPE`]: clients may not send
/// envelopes of their own.
pub fn find_envelope_key(doc: &Value, path: &str) -> Option<String> {
    match doc {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k == ENVELOPE {
                Some(here)
            } else {
                find_envelope_key(v, &here)
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_envelope_key(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sealed_values_round_trip_and_never_contain_the_plain_text() {
        let secret_box = SecretBox::new([7; 32]);
        let sealed = secret_box.seal(&json!("hunter2"));
        assert!(!sealed.to_string().contains("hunter2"));
        assert_eq!(secret_box.open(&sealed).expect("open"), json!("hunter2"));
        let other = SecretBox::new([8; 32]);
        assert!(matches!(
            other.open(&sealed),
            Err(SecretError::Undecryptable)
        ));
    }

    #[test]
    fn mask_replaces_every_envelope() {
        let secret_box = SecretBox::new([1; 32]);
        let mut doc = json!({"a": secret_box.seal(&json!("x")), "b": [{"c": secret_box.seal(&json!({"k": 1}))}], "d": "plain"});
        mask(&mut doc);
        assert_eq!(doc, json!({"a": MASK, "b": [{"c": MASK}], "d": "plain"}));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let first = SecretBox::load(dir.path(), None).expect("create key");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = SecretBox::load(dir.path(), None).expect("reuse key");
        assert_eq!(second.open(&first.seal(&json!(1))).expect("open"), json!(1));
        assert!(SecretBox::load(dir.path(), Some("short")).is_err());
    }

    #[test]
    fn client_envelopes_are_found() {
        assert_eq!(
            find_envelope_key(&json!({"a": [{"$secret": "x"}]}), "").as_deref(),
            Some("a[0].$secret")
        );
        assert_eq!(find_envelope_key(&json!({"a": 1}), ""), None);
    }
}
