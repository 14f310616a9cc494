//! In-memory key store.
//!
//! Concurrency: the id -> key map sits behind one `RwLock` (held only for lookups, inserts and
//! removals), and each key has its own `Mutex` that serialises every read-modify-write on that
//! key (rotate, use_count, description, ...), so two updates of the same key never interleave
//! and there are no lost updates; different keys proceed in parallel. Crypto runs outside the
//! lock (on a blocking thread, or in the OpenBao engine) on a snapshot of the key's versions
//! taken under it; its result is recorded under the lock again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};

use super::crypto::Purpose;
use super::engine::{KeyEngine, Versions};

/// The caller, derived from its access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub user_id: String,
    pub user_name: String,
}

/// The default access key documented in `docs/reference.md`; its user name is fixed.
pub const DEFAULT_ACCESS_KEY: &str = "KMSCONFORM-ACCESS-KEY";

fn hex32(domain: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    hex::encode(h.finalize())[..32].to_string()
}

impl Principal {
    /// Stable ids derived from the access key: account = sha256(ak) prefix, user = sha256 of a
    /// separate domain, so the raw access key is never echoed.
    pub fn from_access_key(access_key: &str) -> Principal {
        let account_id = hex::encode(Sha256::digest(access_key.as_bytes()))[..32].to_string();
        let user_id = hex32("user", access_key);
        let user_name = if access_key == DEFAULT_ACCESS_KEY {
            "kmsconform-user".to_string()
        } else {
            format!("user-{}", &hex32("user-name", access_key)[..8])
        };
        Principal {
            account_id,
            user_id,
            user_name,
        }
    }

    /// Owner of the pre-seeded managed keys.
    pub fn scp_system() -> Principal {
        Principal {
            account_id: String::new(),
            user_id: hex32("user", "scp-system"),
            user_name: "scp-system".to_string(),
        }
    }
}

/// Lifecycle states used by the server (a subset of the documented enum).
pub const STATE_ACTIVE: &str = "Active";
pub const STATE_STOP: &str = "Stop";
pub const STATE_TO_BE_TERMINATED: &str = "To_Be_Terminated";

/// Mutable part of a key; guarded by [`KeyRecord::state`].
pub struct KeyState {
    pub account_id: String,
    pub created_by: String,
    pub modified_by: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub description: String,
    pub auto_rotate: String,
    pub rotate_cycle: i64,
    pub key_type: String,
    pub order_ref: String,
    pub secret_ref: String,
    pub region: String,
    pub state: String,
    pub delete_at: Option<NaiveDate>,
    pub delete_target_yn: String,
    pub use_count: u64,
    /// The key's versions: local material, or the engine's latest version number.
    pub versions: Versions,
    /// (user_id, user_name): creator first, then data-plane users in order of first use.
    pub users: Vec<(String, String)>,
    /// Accepted and kept, but no documented response model carries tags.
    #[allow(dead_code)]
    pub tags: Vec<(String, String)>,
    /// Timestamps keep milliseconds (the `fractional-timestamps` variant).
    pub millis: bool,
}

impl KeyState {
    pub fn current_version(&self) -> u32 {
        self.versions.current()
    }
    pub fn next_rotate_at(&self) -> Option<NaiveDate> {
        // A cycle of 0 (only accepted under the `rotate-cycle-wide` variant) means no
        // automatic rotation.
        if self.auto_rotate == "Y" && self.rotate_cycle > 0 {
            self.created_at
                .date_naive()
                .checked_add_days(chrono::Days::new(self.rotate_cycle.max(0) as u64))
        } else {
            None
        }
    }
    pub fn touch(&mut self, by: &Principal) {
        self.modified_at = clock(self.millis);
        self.modified_by = by.user_id.clone();
    }
    /// Records a successful data-plane use.
    pub fn record_use(&mut self, by: &Principal) {
        self.use_count += 1;
        if !self.users.iter().any(|(id, _)| *id == by.user_id) {
            self.users.push((by.user_id.clone(), by.user_name.clone()));
        }
    }
}

/// One key: immutable identity plus locked mutable state.
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    /// Creation sequence number: the deterministic tie-breaker for sorting.
    pub seq: u64,
    /// Pre-seeded SCP-managed key (only visible under /v1/managed-kms).
    pub managed: bool,
    pub purpose: Purpose,
    /// Where the key's material lives (fixed at creation).
    pub engine: KeyEngine,
    pub state: Mutex<KeyState>,
}

/// Parameters of a new key.
pub struct NewKey {
    pub name: String,
    pub description: String,
    pub auto_rotate: String,
    pub rotate_cycle: i64,
    pub purpose: Purpose,
    pub key_type: String,
    pub tags: Vec<(String, String)>,
    pub managed: bool,
    pub region: String,
}

#[derive(Default)]
pub struct Store {
    keys: RwLock<HashMap<String, Arc<KeyRecord>>>,
    seq: AtomicU64,
    /// Timestamps keep milliseconds instead of whole seconds.
    millis: bool,
}

/// Current time truncated to whole seconds (the documented timestamp precision).
pub fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp(n.timestamp(), 0).unwrap_or(n)
}

/// Current time truncated to milliseconds (`millis`) or whole seconds.
pub fn clock(millis: bool) -> DateTime<Utc> {
    if !millis {
        return now();
    }
    let n = Utc::now();
    DateTime::from_timestamp_millis(n.timestamp_millis()).unwrap_or(n)
}

impl Store {
    /// An empty store; `millis` keeps timestamps to the millisecond.
    pub fn new(millis: bool) -> Store {
        Store {
            millis,
            ..Store::default()
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<KeyRecord>> {
        self.keys.read().get(id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<KeyRecord>> {
        self.keys.read().values().cloned().collect()
    }

    /// Is `name` taken by a user key still present (including keys scheduled for deletion)?
    pub fn name_taken(&self, name: &str) -> bool {
        self.keys
            .read()
            .values()
            .any(|k| !k.managed && k.name == name)
    }

    /// A fresh key id: 32 random lowercase hex digits.
    pub fn new_id() -> String {
        hex::encode(rand::random::<[u8; 16]>())
    }

    /// Inserts a key under `id` with its engine and first version (made before, outside the
    /// map lock); the duplicate check and the insert happen under one write lock so two
    /// concurrent creates cannot both win.
    pub fn create(
        &self,
        id: String,
        new: NewKey,
        (engine, versions): (KeyEngine, Versions),
        by: &Principal,
        allow_duplicate: bool,
    ) -> Result<Arc<KeyRecord>, String> {
        let now = clock(self.millis);
        let mut map = self.keys.write();
        if !new.managed
            && !allow_duplicate
            && map.values().any(|k| !k.managed && k.name == new.name)
        {
            return Err(format!("key name '{}' already exists", new.name));
        }
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let rec = Arc::new(KeyRecord {
            id: id.clone(),
            name: new.name,
            seq,
            managed: new.managed,
            purpose: new.purpose,
            engine,
            state: Mutex::new(KeyState {
                account_id: by.account_id.clone(),
                created_by: by.user_id.clone(),
                modified_by: by.user_id.clone(),
                created_at: now,
                modified_at: now,
                description: new.description,
                auto_rotate: new.auto_rotate,
                rotate_cycle: new.rotate_cycle,
                key_type: new.key_type,
                order_ref: uuid_v4(),
                secret_ref: uuid_v4(),
                region: new.region,
                state: STATE_ACTIVE.to_string(),
                delete_at: None,
                delete_target_yn: "N".to_string(),
                use_count: 0,
                versions,
                users: vec![(by.user_id.clone(), by.user_name.clone())],
                tags: new.tags,
                millis: self.millis,
            }),
        });
        map.insert(id, Arc::clone(&rec));
        Ok(rec)
    }

    pub fn remove(&self, id: &str) -> Option<Arc<KeyRecord>> {
        self.keys.write().remove(id)
    }
}

/// Random RFC 4122 version-4 UUID string.
pub fn uuid_v4() -> String {
    let mut b = rand::random::<[u8; 16]>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
