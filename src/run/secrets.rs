//! Secrets the harness handles, and their removal from everything it stores. Two layers:
//! structural redaction (fields the profile declares secret, secret headers, by name and
//! JSON pointer) and scrubbing (any occurrence of a secret value the harness sent or
//! received — a signature, a token, a plaintext, a data key — inside any stored text, which
//! is how reflected secrets are caught).

use aho_corasick::AhoCorasick;
use parking_lot::Mutex;
use serde_json::Value;

pub const REDACTED: &str = "<redacted>";

/// Shorter values are not scrubbed as substrings (they would mangle ordinary text); fields
/// declared secret are still redacted whatever their length.
pub const MIN_SCRUB_LEN: usize = 8;

/// Secret values seen during a run.
#[derive(Default)]
pub struct SecretStore {
    /// Long-lived secrets: credentials, and secret field values sent or received.
    values: Mutex<Vec<String>>,
    /// Every secret header value sent (signatures, tokens), for the final pass.
    sent: Mutex<Vec<String>>,
}

impl SecretStore {
    pub fn new(credentials: Vec<String>) -> Self {
        let s = Self::default();
        for c in credentials {
            s.add(c);
        }
        s
    }

    pub fn add(&self, v: String) {
        if v.len() >= MIN_SCRUB_LEN {
            let mut l = self.values.lock();
            if !l.contains(&v) {
                l.push(v);
            }
        }
    }

    pub fn add_sent(&self, vs: &[String]) {
        let mut l = self.sent.lock();
        l.extend(vs.iter().filter(|v| v.len() >= MIN_SCRUB_LEN).cloned());
    }

    /// Collect the values of secret fields anywhere in `v`.
    pub fn collect_fields(&self, v: &Value, fields: &[String]) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    match x {
                        Value::String(s) if fields.iter().any(|f| f == k) => self.add(s.clone()),
                        _ => self.collect_fields(x, fields),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.collect_fields(x, fields)),
            _ => {}
        }
    }

    /// Scrub one exchange's values: the long-lived secrets plus `extra` (what this request
    /// carried). Cheap enough per finding: a handful of strings against a short list.
    pub fn scrub_value(&self, v: &mut Value, extra: &[String]) {
        let values = self.values.lock();
        let all: Vec<&str> = values
            .iter()
            .map(String::as_str)
            .chain(
                extra
                    .iter()
                    .map(String::as_str)
                    .filter(|s| s.len() >= MIN_SCRUB_LEN),
            )
            .collect();
        scrub_with(v, &|s: &str| {
            let mut out = s.to_string();
            for secret in &all {
                if out.contains(secret) {
                    out = out.replace(secret, REDACTED);
                }
            }
            out
        });
    }

    /// The final pass over an output: every secret ever seen or sent, in one automaton.
    pub fn final_scrubber(&self) -> Scrubber {
        let mut pats: Vec<String> = self.values.lock().clone();
        pats.extend(self.sent.lock().iter().cloned());
        pats.sort();
        pats.dedup();
        // Longest first so a secret containing another is replaced whole.
        pats.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Scrubber {
            ac: (!pats.is_empty()).then(|| {
                AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(&pats)
                    .expect("literal patterns build")
            }),
            n: pats.len(),
        }
    }
}

/// Replaces every known secret in a text.
pub struct Scrubber {
    ac: Option<AhoCorasick>,
    n: usize,
}

impl Scrubber {
    pub fn scrub(&self, text: &str) -> String {
        match &self.ac {
            None => text.to_string(),
            Some(ac) => ac.replace_all(text, &vec![REDACTED; self.n]),
        }
    }
}

fn scrub_with(v: &mut Value, f: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = f(s),
        Value::Array(a) => a.iter_mut().for_each(|x| scrub_with(x, f)),
        Value::Object(o) => {
            for (_, x) in o.iter_mut() {
                scrub_with(x, f);
            }
        }
        _ => {}
    }
}

/// Replace the values of secret fields (any depth) with [`REDACTED`].
pub fn redact_fields(v: &Value, fields: &[String]) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let red = if fields.iter().any(|s| s == k) && !x.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_fields(x, fields)
                    };
                    (k.clone(), red)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| redact_fields(x, fields)).collect()),
        other => other.clone(),
    }
}

/// True when the last segment of a JSON pointer names a secret field.
pub fn pointer_is_secret(pointer: &str, fields: &[String]) -> bool {
    let last = pointer.rsplit('/').next().unwrap_or("");
    let last = last.replace("~1", "/").replace("~0", "~");
    fields.contains(&last)
}

/// Header names whose values are credentials whatever the scheme (extra headers).
pub use crate::target::http::header_is_secret;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_redacted_at_any_depth_and_values_scrubbed_anywhere() {
        let fields = vec!["plaintext".to_string()];
        let v = json!({"a": {"plaintext": "c2VjcmV0LWRhdGE="}, "b": [{"plaintext": null}]});
        assert_eq!(
            redact_fields(&v, &fields),
            json!({"a": {"plaintext": REDACTED}, "b": [{"plaintext": null}]})
        );
        let store = SecretStore::new(vec!["CANARY-SECRET-1234".into()]);
        store.collect_fields(&v, &fields);
        let mut echoed = json!({"echo": "sig=SIGNATURE-VALUE-XYZ plaintext c2VjcmV0LWRhdGE= key CANARY-SECRET-1234"});
        store.scrub_value(&mut echoed, &["SIGNATURE-VALUE-XYZ".into()]);
        assert_eq!(
            echoed,
            json!({"echo": format!("sig={REDACTED} plaintext {REDACTED} key {REDACTED}")})
        );
        store.add_sent(&["SIGNATURE-VALUE-XYZ".into()]);
        let s = store.final_scrubber();
        assert_eq!(
            s.scrub("x SIGNATURE-VALUE-XYZ y"),
            format!("x {REDACTED} y")
        );
        assert!(pointer_is_secret("/data/plaintext", &fields));
        assert!(!pointer_is_secret("/data/ciphertext", &fields));
        assert!(header_is_secret("X-Vault-Token") && !header_is_secret("Scp-Api-Version"));
        for secret in [
            "Set-Cookie",
            "X-Auth-Key",
            "X-Db-Password",
            "X-Session-Id",
            "X-Credential",
        ] {
            assert!(header_is_secret(secret), "{secret}");
        }
        for public in [
            "Scp-Accesskey",
            ":authority",
            "Content-Type",
            "Proxy-Authenticate",
        ] {
            assert!(!header_is_secret(public), "{public}");
        }
    }

    #[test]
    fn short_values_are_not_scrubbed_as_substrings() {
        let store = SecretStore::new(vec!["abc".into()]);
        let mut v = json!("abcdef");
        store.scrub_value(&mut v, &[]);
        assert_eq!(v, json!("abcdef"));
    }
}
