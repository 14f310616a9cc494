//! A bounded concurrency test against a running KMS server (normally the embedded one on
//! loopback). Clients hammer shared keys with a mix of data-plane calls, rotations and
//! description updates; afterwards the shared key's counters must account for every success.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};

use crate::target::sign::scp::ScpSigner;
use crate::target::sign::{Credentials, Signer};

/// Outcome of [`load_test`].
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// HTTP requests sent by the clients (setup and final checks excluded).
    pub requests: u64,
    /// Responses with a 5xx status.
    pub status_5xx: u64,
    /// Updates that the final state does not account for (rotations + data-plane uses).
    pub lost_updates: u64,
    /// Encrypt/decrypt round trips whose plaintext came back different.
    pub roundtrip_failures: u64,
    /// Responses with a non-2xx, non-5xx status (or transport errors).
    pub unexpected_status: u64,
    pub elapsed: Duration,
}

struct Client {
    http: reqwest::Client,
    base: String,
    signer: ScpSigner,
}

impl Client {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{}", self.base, path);
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut rb = self.http.request(m, &url);
        let now = chrono::Utc::now().timestamp_millis();
        let input = crate::target::sign::HttpRequest {
            method,
            url: &url,
            headers: &[],
            body: b"",
        };
        for (k, v) in self.signer.sign(&input, now) {
            rb = rb.header(k, v);
        }
        rb = rb.header("Scp-Api-Version", "kms 1.3");
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        match rb.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let v = r.json::<Value>().await.unwrap_or(Value::Null);
                (status, v)
            }
            Err(_) => (0, Value::Null),
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    s5xx: AtomicU64,
    unexpected: AtomicU64,
    roundtrip_failures: AtomicU64,
    rotates_ok: AtomicU64,
    uses_ok: AtomicU64,
}

impl Counters {
    fn note(&self, status: u16) -> bool {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.s5xx.fetch_add(1, Ordering::Relaxed);
        } else if !(200..300).contains(&status) {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
        }
        (200..300).contains(&status)
    }
}

/// Runs `clients` concurrent clients, each sending about `requests_per_client` requests, against
/// `base_url`; stops by itself. Fails only if setup or the final read-back fails.
pub async fn load_test(
    base_url: &str,
    creds: &Credentials,
    clients: usize,
    requests_per_client: usize,
) -> anyhow::Result<LoadReport> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let client = Arc::new(Client {
        http,
        base: base_url.trim_end_matches('/').to_string(),
        signer: ScpSigner::new(creds.clone()),
    });
    let name = format!("load{}", hex::encode(rand::random::<[u8; 6]>()));
    let (st, created) = client
        .call(
            "POST",
            "/v1/kms/transit",
            Some(json!({"name": name, "description": "load test shared key",
                "auto_rotate": "N", "rotate_cycle": 30, "purpose": "aes256-gcm96"})),
        )
        .await;
    if st != 201 {
        return Err(anyhow!("load test setup: createKey answered {st}"));
    }
    let key_id = created["key"]["id"]
        .as_str()
        .context("load test setup: createKey response has no key.id")?
        .to_string();
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let client = Arc::clone(&client);
        let counters = Arc::clone(&counters);
        let key_id = key_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = 0usize;
            let mut i = c; // stagger the mix across clients
            while sent < requests_per_client {
                match i % 4 {
                    0 => {
                        let pt = format!("client {c} message {i}");
                        let b64 = base64::engine::general_purpose::STANDARD.encode(&pt);
                        let (s, v) = client
                            .call(
                                "POST",
                                &format!("/v1/kms/openapi/encrypt/{key_id}"),
                                Some(json!({"plaintext": b64})),
                            )
                            .await;
                        sent += 1;
                        if counters.note(s) {
                            counters.uses_ok.fetch_add(1, Ordering::Relaxed);
                            let ct = v["ciphertext"].as_str().unwrap_or_default().to_string();
                            let (s2, v2) = client
                                .call(
                                    "POST",
                                    &format!("/v1/kms/openapi/decrypt/{key_id}"),
                                    Some(json!({"ciphertext": ct})),
                                )
                                .await;
                            sent += 1;
                            if counters.note(s2) {
                                counters.uses_ok.fetch_add(1, Ordering::Relaxed);
                            }
                            if v2["plaintext"].as_str() != Some(b64.as_str()) {
                                counters.roundtrip_failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    1 => {
                        let (s, _) = client
                            .call("POST", &format!("/v1/kms/transit/{key_id}/rotate"), None)
                            .await;
                        sent += 1;
                        if counters.note(s) {
                            counters.rotates_ok.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    2 => {
                        let d = format!("client {c} step {i}");
                        let (s, v) = client
                            .call(
                                "PUT",
                                &format!("/v1/kms/transit/{key_id}/description"),
                                Some(json!({"description": d})),
                            )
                            .await;
                        sent += 1;
                        if counters.note(s) && v["key"]["description"].as_str() != Some(&d) {
                            counters.roundtrip_failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ => {
                        let (s, _) = client
                            .call("GET", &format!("/v1/kms/transit/{key_id}"), None)
                            .await;
                        sent += 1;
                        counters.note(s);
                    }
                }
                i += 1;
            }
        }));
    }
    for t in tasks {
        t.await.context("load test client task failed")?;
    }
    let elapsed = started.elapsed();
    let (st, shown) = client
        .call("GET", &format!("/v1/kms/transit/{key_id}"), None)
        .await;
    if st != 200 {
        return Err(anyhow!("load test read-back: showKey answered {st}"));
    }
    let version = shown["key"]["current_version"].as_u64().unwrap_or(0);
    let use_count = shown["key"]["use_count"].as_u64().unwrap_or(0);
    let rotates = counters.rotates_ok.load(Ordering::Relaxed);
    let uses = counters.uses_ok.load(Ordering::Relaxed);
    let lost = (1 + rotates).abs_diff(version) + uses.abs_diff(use_count);
    // Best-effort cleanup; the report does not depend on it.
    let _ = client
        .call(
            "DELETE",
            &format!("/v1/kms/transit/{key_id}?is_directly=true"),
            None,
        )
        .await;
    Ok(LoadReport {
        requests: counters.requests.load(Ordering::Relaxed),
        status_5xx: counters.s5xx.load(Ordering::Relaxed),
        lost_updates: lost,
        roundtrip_failures: counters.roundtrip_failures.load(Ordering::Relaxed),
        unexpected_status: counters.unexpected.load(Ordering::Relaxed),
        elapsed,
    })
}
