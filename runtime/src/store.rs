//! Durable storage: a small key/value [`Store`] trait with an embedded sled implementation, and
//! [`Db`], the document layer the API uses on top of it (documents keyed by account, type and id,
//! a reverse index of references, state values, accounts).
//!
//! Every write goes through one atomic [`Batch`]; [`Db::flush`] makes acknowledged writes durable.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, corruption detected by the backend).
    #[error("storage backend failed: {0}")]
    Backend(#[from] sled::Error),
    /// A stored value is not the JSON it should be.
    #[error("stored value under {key} is not valid JSON: {source}")]
    Corrupt {
        /// The key whose value failed to parse.
        key: String,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// Result of storage operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The key spaces of the store. Each is its own ordered map of string keys to bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// Resource documents: `{account}/{kind}/{id}`.
    Docs,
    /// Reverse reference index: `{target id}/{account}/{kind}/{id}` → fields that refer.
    Refs,
    /// State values: `{account}/{scope}/{key}`.
    State,
    /// Accounts and their lookup indexes (`account/{id}`, `email/{email}`, `token/{hash}`).
    Accounts,
    /// The job queue across accounts: `queued/{job id}` and `running/{job id}` → `{account,
    /// flow}`. Job ids sort in creation order, so a scan is first come, first served.
    Queue,
}

impl Space {
    fn prefix(self) -> &'static str {
        match self {
            Space::Docs => "d/",
            Space::Refs => "r/",
            Space::State => "s/",
            Space::Accounts => "a/",
            Space::Queue => "q/",
        }
    }
}

/// An atomic group of writes: either all of them are applied or none.
#[derive(Debug, Default)]
pub struct Batch {
    ops: Vec<(Space, String, Option<Vec<u8>>)>,
}

impl Batch {
    /// Set `key` in `space` to `value`.
    pub fn put(&mut self, space: Space, key: impl Into<String>, value: Vec<u8>) {
        self.ops.push((space, key.into(), Some(value)));
    }

    /// Remove `key` from `space`.
    pub fn delete(&mut self, space: Space, key: impl Into<String>) {
        self.ops.push((space, key.into(), None));
    }

    /// Whether the batch has no writes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A key/value store with key spaces, prefix scans and atomic batches.
///
/// sled is the embedded default; the trait is what lets another backend (PostgreSQL) serve a
/// cluster later.
pub trait Store: Send + Sync + 'static {
    /// The value under `key`, if any.
    fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>>;
    /// Every key/value pair whose key starts with `prefix`, in key order.
    fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// Apply every write of `batch` atomically.
    fn write(&self, batch: Batch) -> Result<()>;
    /// Make every applied write durable (survives a crash of the process or machine).
    fn flush(&self) -> Result<()>;
}

/// The embedded store: one sled database in a directory.
pub struct SledStore {
    tree: sled::Db,
}

impl SledStore {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let tree = sled::Config::new()
            .path(dir.join("store"))
            .cache_capacity(128 * 1024 * 1024)
            .open()?;
        Ok(Self { tree })
    }
}

impl Store for SledStore {
    fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>> {
        let full = format!("{}{key}", space.prefix());
        Ok(self.tree.get(full.as_bytes())?.map(|v| v.to_vec()))
    }

    fn scan(&self, space: Space, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let full = format!("{}{prefix}", space.prefix());
        let skip = space.prefix().len();
        self.tree
            .scan_prefix(full.as_bytes())
            .map(|entry| {
                let (k, v) = entry?;
                let key = String::from_utf8_lossy(&k[skip..]).into_owned();
                Ok((key, v.to_vec()))
            })
            .collect()
    }

    fn write(&self, batch: Batch) -> Result<()> {
        let mut sled_batch = sled::Batch::default();
        for (space, key, value) in batch.ops {
            let full = format!("{}{key}", space.prefix());
            match value {
                Some(v) => sled_batch.insert(full.as_bytes(), v),
                None => sled_batch.remove(full.as_bytes()),
            }
        }
        self.tree.apply_batch(sled_batch)?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.tree.flush()?;
        Ok(())
    }
}

/// A reference from one document to another, found in the field `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Path of the referring field, e.g. `pageGenerators[0]._exportId`.
    pub field: String,
    /// Kind (collection name) of the referenced document, e.g. `exports`.
    pub kind: &'static str,
    /// Id of the referenced document.
    pub id: String,
}

/// A document that refers to another one (an entry of the reverse reference index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// Account of the referring document.
    pub account: String,
    /// Kind of the referring document.
    pub kind: String,
    /// Id of the referring document.
    pub id: String,
    /// Fields of the referring document that hold the reference.
    pub fields: Vec<String>,
}

/// The document layer over a [`Store`].
#[derive(Clone)]
pub struct Db {
    kv: Arc<dyn Store>,
    write_lock: Arc<Mutex<()>>,
}

fn parse(key: &str, bytes: &[u8]) -> Result<Value> {
    crate::util::parse_json(bytes).map_err(|source| StoreError::Corrupt {
        key: key.to_owned(),
        source,
    })
}

fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a serde_json::Value always serializes")
}

impl Db {
    /// A document layer over `kv`.
    pub fn new(kv: Arc<dyn Store>) -> Self {
        Self {
            kv,
            write_lock: Arc::new(Mutex::new(())),
        }
    }

    /// Open the embedded sled store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self::new(Arc::new(SledStore::open(dir)?)))
    }

    /// Serialises read-check-write sequences (reference checks, unique emails) so that two
    /// requests cannot both pass a check that only one of them may pass. Hold it while checking
    /// and applying; flush after releasing it so concurrent writers share one sync.
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The raw key/value store.
    pub fn kv(&self) -> &dyn Store {
        &*self.kv
    }

    /// Make applied writes durable.
    pub fn flush(&self) -> Result<()> {
        self.kv.flush()
    }

    /// One document.
    pub fn get(&self, account: &str, kind: &str, id: &str) -> Result<Option<Value>> {
        let key = doc_key(account, kind, id);
        self.kv
            .get(Space::Docs, &key)?
            .map(|bytes| parse(&key, &bytes))
            .transpose()
    }

    /// Every entry of the job queue under `prefix` (`queued/` or `running/`), in key order.
    pub fn queue_scan(&self, prefix: &str) -> Result<Vec<(String, Value)>> {
        self.kv
            .scan(Space::Queue, prefix)?
            .into_iter()
            .map(|(key, bytes)| {
                let value = parse(&key, &bytes)?;
                Ok((key, value))
            })
            .collect()
    }

    /// Every document of `kind` in `account`, in id order (which is creation order).
    pub fn list(&self, account: &str, kind: &str) -> Result<Vec<Value>> {
        self.kv
            .scan(Space::Docs, &format!("{account}/{kind}/"))?
            .into_iter()
            .map(|(key, bytes)| parse(&key, &bytes))
            .collect()
    }

    /// Documents that refer to the document with id `target`.
    pub fn referrers(&self, target: &str) -> Result<Vec<Referrer>> {
        self.kv
            .scan(Space::Refs, &format!("{target}/"))?
            .into_iter()
            .filter_map(|(key, bytes)| {
                let mut parts = key.splitn(4, '/').skip(1);
                let (account, kind, id) = (parts.next()?, parts.next()?, parts.next()?);
                let fields = serde_json::from_slice(&bytes).unwrap_or_default();
                Some(Referrer {
                    account: account.to_owned(),
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                    fields,
                })
            })
            .map(Ok)
            .collect()
    }

    /// Add to `batch` the write of `doc` (which has `_id`) with its outgoing `refs`, replacing
    /// the reference entries of `old_refs` (those of the version being replaced, if any).
    pub fn put_doc(
        batch: &mut Batch,
        account: &str,
        kind: &str,
        id: &str,
        doc: &Value,
        old_refs: &[Reference],
        refs: &[Reference],
    ) {
        for target in ref_targets(old_refs) {
            batch.delete(Space::Refs, ref_key(&target, account, kind, id));
        }
        for (target, fields) in group_refs(refs) {
            let value = serde_json::to_vec(&fields).expect("strings always serialize");
            batch.put(Space::Refs, ref_key(&target, account, kind, id), value);
        }
        batch.put(Space::Docs, doc_key(account, kind, id), to_bytes(doc));
    }

    /// Add to `batch` the removal of a document and of its outgoing references.
    pub fn delete_doc(batch: &mut Batch, account: &str, kind: &str, id: &str, refs: &[Reference]) {
        for target in ref_targets(refs) {
            batch.delete(Space::Refs, ref_key(&target, account, kind, id));
        }
        batch.delete(Space::Docs, doc_key(account, kind, id));
    }

    /// Apply `batch` atomically (not yet flushed).
    pub fn write(&self, batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.kv.write(batch)
    }

    /// A state value. `scope` is `_` for global state or `{kind}:{id}` for a resource's.
    pub fn state_get(&self, account: &str, scope: &str, key: &str) -> Result<Option<Value>> {
        let k = format!("{account}/{scope}/{key}");
        self.kv
            .get(Space::State, &k)?
            .map(|bytes| parse(&k, &bytes))
            .transpose()
    }

    /// The keys of a state scope, in order.
    pub fn state_keys(&self, account: &str, scope: &str) -> Result<Vec<String>> {
        let prefix = format!("{account}/{scope}/");
        Ok(self
            .kv
            .scan(Space::State, &prefix)?
            .into_iter()
            .map(|(k, _)| k[prefix.len()..].to_owned())
            .collect())
    }

    /// Add to `batch` the write of one state value.
    pub fn state_put(batch: &mut Batch, account: &str, scope: &str, key: &str, value: &Value) {
        batch.put(
            Space::State,
            format!("{account}/{scope}/{key}"),
            to_bytes(value),
        );
    }

    /// Add to `batch` the removal of one state value.
    pub fn state_delete(batch: &mut Batch, account: &str, scope: &str, key: &str) {
        batch.delete(Space::State, format!("{account}/{scope}/{key}"));
    }

    /// Add to `batch` the removal of every value of a state scope.
    pub fn state_clear(&self, batch: &mut Batch, account: &str, scope: &str) -> Result<()> {
        for key in self.state_keys(account, scope)? {
            Self::state_delete(batch, account, scope, &key);
        }
        Ok(())
    }

    /// A JSON value of the accounts space.
    pub fn account_get(&self, key: &str) -> Result<Option<Value>> {
        self.kv
            .get(Space::Accounts, key)?
            .map(|bytes| parse(key, &bytes))
            .transpose()
    }

    /// Add to `batch` a JSON value of the accounts space.
    pub fn account_put(batch: &mut Batch, key: &str, value: &Value) {
        batch.put(Space::Accounts, key, to_bytes(value));
    }

    /// Every value of the accounts space under `prefix`.
    pub fn account_scan(&self, prefix: &str) -> Result<Vec<Value>> {
        self.kv
            .scan(Space::Accounts, prefix)?
            .into_iter()
            .map(|(key, bytes)| parse(&key, &bytes))
            .collect()
    }
}

fn doc_key(account: &str, kind: &str, id: &str) -> String {
    format!("{account}/{kind}/{id}")
}

fn ref_key(target: &str, account: &str, kind: &str, id: &str) -> String {
    format!("{target}/{account}/{kind}/{id}")
}

fn ref_targets(refs: &[Reference]) -> Vec<String> {
    let mut targets: Vec<String> = refs.iter().map(|r| r.id.clone()).collect();
    targets.sort();
    targets.dedup();
    targets
}

fn group_refs(refs: &[Reference]) -> Vec<(String, Vec<String>)> {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for r in refs {
        match grouped.iter_mut().find(|(t, _)| *t == r.id) {
            Some((_, fields)) => fields.push(r.field.clone()),
            None => grouped.push((r.id.clone(), vec![r.field.clone()])),
        }
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path()).expect("open store");
        (dir, db)
    }

    #[test]
    fn documents_are_isolated_by_account_and_kind() {
        let (_dir, db) = db();
        let mut batch = Batch::default();
        Db::put_doc(
            &mut batch,
            "a",
            "exports",
            "1",
            &json!({"_id": "1"}),
            &[],
            &[],
        );
        Db::put_doc(
            &mut batch,
            "b",
            "exports",
            "2",
            &json!({"_id": "2"}),
            &[],
            &[],
        );
        db.write(batch).expect("write");
        assert!(db.get("a", "exports", "1").expect("get").is_some());
        assert!(db.get("b", "exports", "1").expect("get").is_none());
        assert_eq!(db.list("a", "exports").expect("list").len(), 1);
        assert_eq!(db.list("a", "imports").expect("list").len(), 0);
    }

    #[test]
    fn reference_index_follows_replacements_and_deletes() {
        let (_dir, db) = db();
        let r = |field: &str, id: &str| Reference {
            field: field.into(),
            kind: "exports",
            id: id.into(),
        };
        let old = vec![r("_exportId", "e1"), r("pageGenerators[0]._exportId", "e1")];
        let mut batch = Batch::default();
        Db::put_doc(&mut batch, "a", "flows", "f", &json!({}), &[], &old);
        db.write(batch).expect("write");
        let refs = db.referrers("e1").expect("referrers");
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].fields.len(), 2);

        let new = vec![r("_exportId", "e2")];
        let mut batch = Batch::default();
        Db::put_doc(&mut batch, "a", "flows", "f", &json!({}), &old, &new);
        db.write(batch).expect("write");
        assert!(db.referrers("e1").expect("referrers").is_empty());
        assert_eq!(db.referrers("e2").expect("referrers")[0].id, "f");

        let mut batch = Batch::default();
        Db::delete_doc(&mut batch, "a", "flows", "f", &new);
        db.write(batch).expect("write");
        assert!(db.referrers("e2").expect("referrers").is_empty());
    }

    #[test]
    fn state_keys_are_scoped() {
        let (_dir, db) = db();
        let mut batch = Batch::default();
        Db::state_put(&mut batch, "a", "_", "k/with/slash", &json!(1));
        Db::state_put(&mut batch, "a", "exports:1", "k", &json!(2));
        db.write(batch).expect("write");
        assert_eq!(db.state_keys("a", "_").expect("keys"), vec!["k/with/slash"]);
        assert_eq!(
            db.state_get("a", "exports:1", "k").expect("get"),
            Some(json!(2))
        );
    }
}
