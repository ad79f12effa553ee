//! Accounts, API tokens, the authenticated [`Principal`] and the per-token rate limit.
//!
//! Every account has exactly one API token. Only its SHA-256 hash is stored; the token itself is
//! shown once, when the account is created.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use rand::Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::store::{Batch, Db, StoreError};
use crate::util;

/// Size of each token's bucket (api.md: leaky bucket of 100).
pub const RATE_BURST: u32 = 100;
/// Refill rate of each token's bucket, per second (api.md: 30 per second).
pub const RATE_PER_SECOND: u32 = 30;

/// What an authenticated caller may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// An account's API token: everything in the account (`"*"`). The owner account may also
    /// create accounts.
    Account {
        /// Whether this is the installation's owner account.
        owner: bool,
    },
    /// A one-time token of connector code: only the account's resources tagged with this
    /// `_connectorId`.
    Connector {
        /// The connector whose code runs.
        connector: String,
    },
    /// A one-time token of DIY code (hooks, wrappers): may only invoke the account's exports
    /// and imports.
    Diy,
}

impl Scope {
    /// The scope as `GET /v1/tokenInfo` shows it.
    pub fn as_api_str(&self) -> String {
        match self {
            Scope::Account { .. } => "*".to_owned(),
            Scope::Connector { connector } => format!("connector:{connector}"),
            Scope::Diy => "diy".to_owned(),
        }
    }
}

/// Longest life of a one-time token, whatever the call's deadline.
pub const MAX_CALL_TOKEN_LIFE: Duration = Duration::from_secs(15 * 60);

/// A one-time token, valid until it is dropped (when its call returns or fails) or until it
/// expires, whichever comes first.
pub struct CallToken {
    auth: Arc<Auth>,
    hash: [u8; 32],
    token: String,
}

impl CallToken {
    /// The token, for `options.bearerToken`.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for CallToken {
    fn drop(&mut self) {
        self.auth
            .one_time
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.hash);
    }
}

impl std::fmt::Debug for CallToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallToken(******)")
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account the caller acts in.
    pub account: String,
    /// What the caller may do there.
    pub scope: Scope,
    /// Rate-limit bucket key (hash of the token).
    pub bucket: [u8; 32],
}

impl Principal {
    /// Whether this is the owner account's API token.
    pub fn is_owner(&self) -> bool {
        matches!(self.scope, Scope::Account { owner: true })
    }

    /// The connector a connector-scoped token is limited to.
    pub fn connector(&self) -> Option<&str> {
        match &self.scope {
            Scope::Connector { connector } => Some(connector),
            _ => None,
        }
    }

    /// Whether `doc` is visible to this caller: every document of the account for an account
    /// token, only documents tagged with the connector for connector code.
    pub fn sees(&self, doc: &serde_json::Value) -> bool {
        match &self.scope {
            Scope::Connector { connector } => doc["_connectorId"].as_str() == Some(connector),
            _ => true,
        }
    }
}

/// Why a request could not be authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token: send 'Authorization: Bearer <token>'")]
    Missing,
    /// The token is unknown (or revoked).
    #[error("invalid or expired token")]
    Invalid,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Another account has this email.
    #[error("an account with email {0} already exists")]
    DuplicateEmail(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new account and its API token (shown only this once).
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The account's id.
    pub id: String,
    /// The account's email.
    pub email: String,
    /// The account's display name.
    pub name: String,
    /// The account's API token, in plain text.
    pub token: String,
}

/// Outcome of charging one request to a token's bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Allowed; `remaining` requests may follow at once.
    Allowed {
        /// Requests left in the bucket.
        remaining: u32,
    },
    /// Refused; retry after this many seconds (at least 1).
    Limited {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Rate limiting is off (benchmarks only).
    Unlimited,
}

/// Per-token leaky buckets of [`RATE_BURST`] requests refilled at [`RATE_PER_SECOND`].
pub struct RateLimit<C: Clock = DefaultClock> {
    limiter: RateLimiter<[u8; 32], DefaultKeyedStateStore<[u8; 32]>, C, StateInformationMiddleware>,
}

impl RateLimit {
    /// Buckets on the real clock.
    pub fn new() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> RateLimit<C> {
    /// Buckets on `clock` (tests use a fake clock to assert behaviour without timing).
    pub fn with_clock(clock: C) -> Self {
        let quota = Quota::per_second(NonZeroU32::new(RATE_PER_SECOND).expect("non-zero rate"))
            .allow_burst(NonZeroU32::new(RATE_BURST).expect("non-zero burst"));
        Self {
            limiter: RateLimiter::dashmap_with_clock(quota, clock)
                .with_middleware::<StateInformationMiddleware>(),
        }
    }

    /// Charge one request to `bucket`.
    pub fn charge(&self, bucket: &[u8; 32]) -> RateDecision {
        match self.limiter.check_key(bucket) {
            Ok(snapshot) => RateDecision::Allowed {
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                RateDecision::Limited {
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
        }
    }

    /// Forget buckets that are full again, so memory does not grow with idle tokens.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

/// Authentication and rate limiting.
pub struct Auth {
    db: Db,
    /// Verified account tokens by hash: tokens never change, so a hit needs no store read.
    cache: RwLock<HashMap<[u8; 32], Principal>>,
    /// Live one-time tokens by hash, with their expiry.
    one_time: RwLock<HashMap<[u8; 32], (Principal, Instant)>>,
    limiter: Option<RateLimit>,
}

fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

impl Auth {
    /// Authentication over `db`; `rate_limit: false` turns the limit off.
    pub fn new(db: Db, rate_limit: bool) -> Self {
        Self {
            db,
            cache: RwLock::new(HashMap::new()),
            one_time: RwLock::new(HashMap::new()),
            limiter: rate_limit.then(RateLimit::new),
        }
    }

    /// The principal for an `Authorization` header value.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let hash = hash_token(token);
        if let Some(p) = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
        {
            return Ok(p.clone());
        }
        if let Some((p, expires)) = self
            .one_time
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
        {
            return if Instant::now() < *expires {
                Ok(p.clone())
            } else {
                Err(AuthError::Invalid)
            };
        }
        let index = self
            .db
            .account_get(&format!("token/{}", hex::encode(hash)))?
            .ok_or(AuthError::Invalid)?;
        let id = index["_id"].as_str().ok_or(AuthError::Invalid)?;
        let account = self
            .db
            .account_get(&format!("account/{id}"))?
            .ok_or(AuthError::Invalid)?;
        let principal = Principal {
            account: id.to_owned(),
            scope: Scope::Account {
                owner: account["owner"].as_bool().unwrap_or(false),
            },
            bucket: hash,
        };
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash, principal.clone());
        Ok(principal)
    }

    /// Mint a one-time token acting in `account` with `scope`, valid for at most `life` (never
    /// more than [`MAX_CALL_TOKEN_LIFE`]) and revoked when the returned guard is dropped.
    pub fn mint_call_token(
        self: &Arc<Self>,
        account: &str,
        scope: Scope,
        life: Duration,
    ) -> CallToken {
        let token = new_token();
        let hash = hash_token(&token);
        let principal = Principal {
            account: account.to_owned(),
            scope,
            bucket: hash,
        };
        let expires = Instant::now() + life.min(MAX_CALL_TOKEN_LIFE);
        let mut live = self.one_time.write().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, (_, e)| *e > Instant::now());
        live.insert(hash, (principal, expires));
        CallToken {
            auth: self.clone(),
            hash,
            token,
        }
    }

    /// Charge one request to `bucket` (always allowed when rate limiting is off).
    pub fn charge(&self, bucket: &[u8; 32]) -> RateDecision {
        match &self.limiter {
            Some(limiter) => limiter.charge(bucket),
            None => RateDecision::Unlimited,
        }
    }

    /// Forget idle buckets (called periodically).
    pub fn forget_idle_buckets(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.forget_idle();
        }
    }

    /// The account document (without its token hash).
    pub fn account(&self, id: &str) -> Result<Option<Value>, StoreError> {
        Ok(self
            .db
            .account_get(&format!("account/{id}"))?
            .map(public_account))
    }

    /// Whether any account exists yet.
    pub fn has_accounts(&self) -> Result<bool, StoreError> {
        Ok(!self
            .db
            .kv()
            .scan(crate::store::Space::Accounts, "account/")?
            .is_empty())
    }

    /// The id of the account with `email`, if any.
    pub fn account_id_by_email(&self, email: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .account_get(&format!("email/{}", email.to_lowercase()))?
            .and_then(|v| v["_id"].as_str().map(str::to_owned)))
    }

    /// Create an account with a fresh API token, durably.
    pub fn create_account(
        &self,
        email: &str,
        name: &str,
        owner: bool,
    ) -> Result<NewAccount, AccountError> {
        let token = new_token();
        let id = util::new_id();
        let email_key = format!("email/{}", email.to_lowercase());
        {
            let _guard = self.db.lock();
            if self.db.account_get(&email_key)?.is_some() {
                return Err(AccountError::DuplicateEmail(email.to_owned()));
            }
            let mut batch = Batch::default();
            let record = json!({
                "_id": id, "email": email, "name": name, "owner": owner,
                "createdAt": util::now(),
            });
            Db::account_put(&mut batch, &format!("account/{id}"), &record);
            Db::account_put(&mut batch, &email_key, &json!({ "_id": id }));
            Db::account_put(
                &mut batch,
                &format!("token/{}", hex::encode(hash_token(&token))),
                &json!({ "_id": id }),
            );
            self.db.write(batch)?;
        }
        self.db.flush()?;
        Ok(NewAccount {
            id,
            email: email.to_owned(),
            name: name.to_owned(),
            token,
        })
    }
}

fn public_account(mut record: Value) -> Value {
    if let Some(map) = record.as_object_mut() {
        map.remove("owner");
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(rate_limit: bool) -> (tempfile::TempDir, Auth) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path()).expect("store");
        (dir, Auth::new(db, rate_limit))
    }

    #[test]
    fn tokens_authenticate_their_account_and_are_stored_only_hashed() {
        let (dir, auth) = auth(false);
        let account = auth
            .create_account("a@example.com", "A", true)
            .expect("create");
        let p = auth
            .authenticate(Some(&format!("Bearer {}", account.token)))
            .expect("authenticate");
        assert_eq!(p.account, account.id);
        assert!(p.is_owner());
        assert!(matches!(
            auth.authenticate(Some("Bearer nope")),
            Err(AuthError::Invalid)
        ));
        assert!(matches!(auth.authenticate(None), Err(AuthError::Missing)));
        drop(auth);
        let mut found = false;
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).expect("read store file");
            found |= bytes
                .windows(account.token.len())
                .any(|w| w == account.token.as_bytes());
        }
        assert!(!found, "the plain token must not be stored");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn one_time_tokens_work_until_dropped_or_expired() {
        let (_dir, auth) = auth(false);
        let auth = Arc::new(auth);
        let call = auth.mint_call_token("acct", Scope::Diy, Duration::from_secs(60));
        let header = format!("Bearer {}", call.token());
        let p = auth
            .authenticate(Some(&header))
            .expect("valid during the call");
        assert_eq!(p.scope, Scope::Diy);
        assert_eq!(p.account, "acct");
        drop(call);
        assert!(matches!(
            auth.authenticate(Some(&header)),
            Err(AuthError::Invalid)
        ));
        let expired = auth.mint_call_token("acct", Scope::Diy, Duration::ZERO);
        let header = format!("Bearer {}", expired.token());
        assert!(matches!(
            auth.authenticate(Some(&header)),
            Err(AuthError::Invalid)
        ));
    }

    #[test]
    fn duplicate_emails_are_refused_case_insensitively() {
        let (_dir, auth) = auth(false);
        auth.create_account("a@example.com", "A", false)
            .expect("create");
        assert!(matches!(
            auth.create_account("A@Example.com", "B", false),
            Err(AccountError::DuplicateEmail(_))
        ));
    }

    #[test]
    fn bucket_allows_exactly_the_burst_then_refills_thirty_per_second() {
        use governor::clock::FakeRelativeClock;
        use std::time::Duration;
        let clock = FakeRelativeClock::default();
        let limit = RateLimit::with_clock(clock.clone());
        let bucket = [3u8; 32];
        for i in 0..RATE_BURST {
            match limit.charge(&bucket) {
                RateDecision::Allowed { remaining } => assert_eq!(remaining, RATE_BURST - 1 - i),
                other => panic!("request {i} refused: {other:?}"),
            }
        }
        assert_eq!(
            limit.charge(&bucket),
            RateDecision::Limited { retry_after: 1 }
        );
        assert!(matches!(
            limit.charge(&[4u8; 32]),
            RateDecision::Allowed { .. }
        ));
        clock.advance(Duration::from_secs(1));
        let refilled = (0..200)
            .take_while(|_| matches!(limit.charge(&bucket), RateDecision::Allowed { .. }))
            .count();
        assert_eq!(refilled, RATE_PER_SECOND as usize);
    }
}
