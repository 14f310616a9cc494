//! The variant catalogue of the embedded reference server: each variant flips one decision the
//! vendor document leaves open. Every test shows the flipped behaviour over real HTTP next to the
//! default server's, so it fails if the variant does nothing (or leaks into the default).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use base64::Engine as _;
use kmsconform::reference::{self, Config, Fault, RunningServer, Variant};
use kmsconform::target::sign::scp::ScpSigner;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const UNKNOWN_ID: &str = "00000000000000000000000000000000";

struct Resp {
    status: u16,
    json: Value,
    text: String,
}

struct H {
    srv: RunningServer,
    http: reqwest::Client,
    signer: ScpSigner,
}

impl H {
    async fn new(variants: &[Variant], faults: &[Fault]) -> H {
        let config = Config {
            variants: variants.to_vec(),
            faults: faults.to_vec(),
            ..Config::default()
        };
        let signer = ScpSigner::new(config.credentials.clone());
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let srv = reference::spawn(config, addr).await.expect("spawn");
        H {
            srv,
            http: reqwest::Client::new(),
            signer,
        }
    }

    /// The default server and one with `v` switched on.
    async fn pair(v: Variant) -> (H, H) {
        (H::new(&[], &[]).await, H::new(&[v], &[]).await)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.srv.base_url(), path)
    }

    /// Signed kms 1.3 request (`version` None: no Scp-Api-Version header); a null body is none.
    async fn call(&self, version: Option<&str>, method: &str, path: &str, body: Value) -> Resp {
        let now = chrono::Utc::now().timestamp_millis();
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, self.url(path));
        for (k, v) in self.signer.sign_url(method, &self.url(path), now) {
            rb = rb.header(k, v);
        }
        if let Some(v) = version {
            rb = rb.header("Scp-Api-Version", v);
        }
        if !body.is_null() {
            rb = rb.json(&body);
        }
        let r = rb.send().await.expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, json, text }
    }

    async fn v13(&self, method: &str, path: &str, body: Value) -> Resp {
        self.call(Some("kms 1.3"), method, path, body).await
    }

    async fn create_with(&self, name: &str, purpose: &str, cycle: i64) -> Resp {
        self.v13(
            "POST",
            "/v1/kms/transit",
            json!({"name": name, "description": "d", "auto_rotate": "Y",
                "rotate_cycle": cycle, "purpose": purpose}),
        )
        .await
    }

    async fn create(&self, name: &str, purpose: &str) -> Value {
        let r = self.create_with(name, purpose, 30).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["key"].clone()
    }

    /// Names of the listed keys, in the order listed.
    async fn list_names(&self, query: &str) -> Vec<String> {
        let r = self
            .v13("GET", &format!("/v1/kms/transit?{query}"), Value::Null)
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        r.json["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_string())
            .collect()
    }
}

fn error_of(r: &Resp) -> &Value {
    let keys: BTreeSet<&str> = r.json["errors"][0]
        .as_object()
        .unwrap_or_else(|| panic!("no error envelope: {}", r.text))
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "code",
        "title",
        "detail",
        "status",
        "request_id",
        "global_request_id",
        "links",
        "related_resources",
        "response",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, expected, "{}", r.text);
    assert_eq!(r.json["errors"][0]["status"], r.status);
    &r.json["errors"][0]
}

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

#[test]
fn catalogue_names_round_trip() {
    assert!(Variant::all().len() >= 8);
    for v in Variant::all() {
        assert_eq!(v.name().parse::<Variant>().ok(), Some(*v));
        assert_eq!(v.to_string(), v.name());
        assert!(!v.description().is_empty());
    }
    let all = Variant::parse_list(&["all".to_string()]).unwrap();
    assert_eq!(all, Variant::all());
    let err = "no-such-variant"
        .parse::<Variant>()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-variant") && err.contains("shuffled-ties"),
        "{err}"
    );
    assert!(Variant::parse_list(&["all".into(), "bogus".into()]).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_cycle_wide_accepts_zero_and_ten_years() {
    let (def, var) = H::pair(Variant::RotateCycleWide).await;
    for (cycle, default_status, variant_status) in [
        (0, 400, 201),
        (3650, 400, 201),
        (731, 400, 201),
        (3651, 400, 400),
        (-1, 400, 400),
    ] {
        let name = format!("rc{}", i64::abs(cycle));
        let d = def.create_with(&name, "aes256-gcm96", cycle).await;
        assert_eq!(
            d.status, default_status,
            "default, cycle {cycle}: {}",
            d.text
        );
        let v = var.create_with(&name, "aes256-gcm96", cycle).await;
        assert_eq!(
            v.status, variant_status,
            "variant, cycle {cycle}: {}",
            v.text
        );
    }
    // 0 = no automatic rotation: next_rotate_at is null although auto_rotate is Y.
    let k = var.create_with("zero", "aes256-gcm96", 0).await.json["key"].clone();
    assert_eq!(k["rotate_cycle"], 0);
    assert_eq!(k["auto_rotate"], "Y");
    assert!(k["next_rotate_at"].is_null(), "{k}");

    let dk = def.create("rot", "aes256-gcm96").await;
    let vk = var.create("rot", "aes256-gcm96").await;
    for (cycle, default_status, variant_status) in
        [(0, 400, 200), (3650, 400, 200), (3651, 400, 400)]
    {
        let body = json!({"auto_rotate": "Y", "rotate_cycle": cycle});
        let d = def
            .v13(
                "PUT",
                &format!("/v1/kms/transit/{}/rotate-info", dk["id"].as_str().unwrap()),
                body.clone(),
            )
            .await;
        assert_eq!(d.status, default_status, "{}", d.text);
        let v = var
            .v13(
                "PUT",
                &format!("/v1/kms/transit/{}/rotate-info", vk["id"].as_str().unwrap()),
                body,
            )
            .await;
        assert_eq!(v.status, variant_status, "{}", v.text);
        if v.status == 200 {
            assert_eq!(v.json["key"]["rotate_cycle"], cycle);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_lenient_bounds_and_sort_grammar() {
    let (def, var) = H::pair(Variant::ListLenient).await;
    for h in [&def, &var] {
        for n in ["llb", "lla", "llc"] {
            h.create(n, "aes256-gcm96").await;
        }
    }
    // (query, default status, variant status)
    let cases = [
        ("size=0", 400, 200),
        ("size=1000", 400, 200),
        ("size=1001", 400, 400),
        ("size=abc", 400, 400),
        ("sort=name", 400, 200),
        ("sort=name:DESC", 400, 200),
        ("sort=bogus:asc", 400, 200),
        ("sort=name:sideways", 400, 200),
        ("page=-1", 400, 200),
        ("page=99999999999999999999999", 400, 200),
        ("page=x", 400, 400),
    ];
    for (q, d_status, v_status) in cases {
        let d = def
            .v13("GET", &format!("/v1/kms/transit?name=ll&{q}"), Value::Null)
            .await;
        assert_eq!(d.status, d_status, "default {q}: {}", d.text);
        let v = var
            .v13("GET", &format!("/v1/kms/transit?name=ll&{q}"), Value::Null)
            .await;
        assert_eq!(v.status, v_status, "variant {q}: {}", v.text);
    }
    let v = var.v13("GET", "/v1/kms/transit?size=0", Value::Null).await;
    assert_eq!(v.json["size"], 20, "size 0 means the default: {}", v.text);
    assert_eq!(
        var.list_names("name=ll&sort=name").await,
        ["lla", "llb", "llc"]
    );
    assert_eq!(
        var.list_names("name=ll&sort=name:DESC").await,
        ["llc", "llb", "lla"]
    );
    assert_eq!(
        var.list_names("name=ll&sort=name:Asc").await,
        ["lla", "llb", "llc"]
    );
    // An unknown field drops the sort clause: creation order, echoed as the default.
    let v = var
        .v13(
            "GET",
            "/v1/kms/transit?name=ll&sort=bogus:desc",
            Value::Null,
        )
        .await;
    assert_eq!(v.json["sort"], json!(["created_at:asc"]));
    assert_eq!(
        var.list_names("name=ll&sort=bogus:desc").await,
        ["llb", "lla", "llc"]
    );
    // Out-of-range pages are empty pages, echoed, with the total count.
    let v = var
        .v13("GET", "/v1/kms/transit?name=ll&page=-1", Value::Null)
        .await;
    assert_eq!(v.json["keys"], json!([]));
    assert_eq!(v.json["count"], 3);
    assert_eq!(v.json["page"], -1);
    // The managed-key list follows the same rules.
    let d = def
        .v13("GET", "/v1/managed-kms/transit?size=0", Value::Null)
        .await;
    assert_eq!(d.status, 400, "{}", d.text);
    let v = var
        .v13(
            "GET",
            "/v1/managed-kms/transit?size=0&sort=name",
            Value::Null,
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(v.json["keys"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_encrypt_round_trips_and_rewraps_but_hmac_and_datakey_stay_refused() {
    let (def, var) = H::pair(Variant::RsaEncrypt).await;
    let pt = b64(b"the quick brown fox");
    let dk = def.create("rsakey", "rsa-2048").await;
    let d = def
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{}", dk["id"].as_str().unwrap()),
            json!({"plaintext": pt}),
        )
        .await;
    assert_eq!(d.status, 400, "the default server refuses: {}", d.text);

    let k = var.create("rsakey", "rsa-2048").await;
    let id = k["id"].as_str().unwrap();
    let e = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": pt}),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    assert_eq!(e.json["key_version"], 1);
    let ct = e.json["ciphertext"].as_str().unwrap().to_string();
    let blob = B64
        .decode(ct.strip_prefix("vault:v1:").expect("vault:v1: prefix"))
        .unwrap();
    assert_eq!(blob.len(), 256, "RSA-2048 OAEP ciphertext");
    let p = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/decrypt/{id}"),
            json!({"ciphertext": ct}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.json["plaintext"], pt);

    let r = var
        .v13("POST", &format!("/v1/kms/transit/{id}/rotate"), Value::Null)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let w = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/rewrap/{id}"),
            json!({"ciphertext": ct}),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.json["key_version"], 2);
    let ct2 = w.json["ciphertext"].as_str().unwrap();
    assert!(ct2.starts_with("vault:v2:"), "{ct2}");
    for c in [ct.as_str(), ct2] {
        let p = var
            .v13(
                "POST",
                &format!("/v1/kms/openapi/decrypt/{id}"),
                json!({"ciphertext": c}),
            )
            .await;
        assert_eq!(p.json["plaintext"], pt, "{}", p.text);
    }
    // Too long for OAEP, tampered: 400. Signing still works.
    let long = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": b64(&[1u8; 191])}),
        )
        .await;
    assert_eq!(long.status, 400, "{}", long.text);
    let mut bad = blob.clone();
    bad[0] ^= 1;
    let t = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/decrypt/{id}"),
            json!({"ciphertext": format!("vault:v1:{}", b64(&bad))}),
        )
        .await;
    assert_eq!(t.status, 400, "{}", t.text);
    let s = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/sign/{id}"),
            json!({"input": b64(b"m")}),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    // Observed live: an rsa-2048 key refuses hmac and datakey.
    let h = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/hmac/{id}"),
            json!({"input": b64(b"m")}),
        )
        .await;
    assert_eq!(h.status, 400, "{}", h.text);
    let dkey = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/datakey/{id}"),
            json!({"key_type": "plaintext"}),
        )
        .await;
    assert_eq!(dkey.status, 400, "{}", dkey.text);
    // ecdsa-p256 still does not encrypt.
    let ec = var.create("eckey", "ecdsa-p256").await;
    let e = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{}", ec["id"].as_str().unwrap()),
            json!({"plaintext": pt}),
        )
        .await;
    assert_eq!(e.status, 400, "{}", e.text);
}

/// Every data-plane operation with a valid body for `id`.
fn data_plane_calls(id: &str) -> Vec<(String, Value)> {
    let ct = json!({"ciphertext": "vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
    vec![
        (
            format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": "YQ=="}),
        ),
        (format!("/v1/kms/openapi/decrypt/{id}"), ct.clone()),
        (format!("/v1/kms/openapi/rewrap/{id}"), ct),
        (
            format!("/v1/kms/openapi/datakey/{id}"),
            json!({"key_type": "wrapped"}),
        ),
        (
            format!("/v1/kms/openapi/sign/{id}"),
            json!({"input": "YQ=="}),
        ),
        (
            format!("/v1/kms/openapi/verify/{id}"),
            json!({"input": "YQ==", "signature": "vault:v1:YQ=="}),
        ),
        (
            format!("/v1/kms/openapi/hmac/{id}"),
            json!({"input": "YQ=="}),
        ),
        (
            format!("/v1/kms/openapi/hmac/verify/{id}"),
            json!({"input": "YQ==", "hmac": "vault:v1:YQ=="}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_403_on_the_data_plane() {
    let (def, var) = H::pair(Variant::UnknownKey403).await;
    let deleted = var.create("gone", "aes256-gcm96").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = var
        .v13(
            "DELETE",
            &format!("/v1/kms/transit/{deleted}?is_directly=true"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    for (path, body) in data_plane_calls(UNKNOWN_ID) {
        let d = def.v13("POST", &path, body.clone()).await;
        assert_eq!(d.status, 400, "default {path}: {}", d.text);
        let v = var.v13("POST", &path, body).await;
        assert_eq!(v.status, 403, "variant {path}: {}", v.text);
        assert_eq!(error_of(&v)["code"], "Forbidden");
    }
    for (path, body) in data_plane_calls(&deleted) {
        let v = var.v13("POST", &path, body).await;
        assert_eq!(v.status, 403, "deleted key {path}: {}", v.text);
    }
    // The control plane keeps its 404, and a bad body is still 400 first.
    let s = var
        .v13("GET", &format!("/v1/kms/transit/{UNKNOWN_ID}"), Value::Null)
        .await;
    assert_eq!(s.status, 404);
    let b = var
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{UNKNOWN_ID}"),
            json!({}),
        )
        .await;
    assert_eq!(b.status, 400, "{}", b.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alt_error_codes_keep_statuses_and_envelope() {
    let (def, var) = H::pair(Variant::AltErrorCodes).await;
    let k = var.create("stopme", "aes256-gcm96").await;
    let id = k["id"].as_str().unwrap();
    var.v13(
        "PUT",
        &format!("/v1/kms/transit/{id}/state"),
        json!({"state": "Stop"}),
    )
    .await;
    let dk = def.create("stopme", "aes256-gcm96").await;
    let did = dk["id"].as_str().unwrap();
    def.v13(
        "PUT",
        &format!("/v1/kms/transit/{did}/state"),
        json!({"state": "Stop"}),
    )
    .await;

    let cases: [(u16, &str, &str, &str); 5] = [
        (
            400,
            "ValidationError",
            "InvalidParameter",
            "Invalid parameter",
        ),
        (
            401,
            "Unauthorized",
            "AuthenticationFailed",
            "Authentication failed",
        ),
        (403, "Forbidden", "AccessDenied", "Access denied"),
        (404, "ResourceNotFound", "KeyNotFound", "Key not found"),
        (
            406,
            "NoSuchVersion",
            "UnsupportedVersion",
            "Unsupported version",
        ),
    ];
    for (status, default_code, alt_code, alt_title) in cases {
        for (h, key, code, title) in [
            (&def, did, default_code, default_code),
            (&var, id, alt_code, alt_title),
        ] {
            let r = match status {
                400 => h.v13("POST", "/v1/kms/transit", json!({})).await,
                401 => {
                    let resp = h
                        .http
                        .get(h.url("/v1/kms/transit"))
                        .header("Scp-Api-Version", "kms 1.3")
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status().as_u16();
                    let text = resp.text().await.unwrap();
                    Resp {
                        status,
                        json: serde_json::from_str(&text).unwrap(),
                        text,
                    }
                }
                403 => {
                    h.v13(
                        "POST",
                        &format!("/v1/kms/openapi/encrypt/{key}"),
                        json!({"plaintext": "YQ=="}),
                    )
                    .await
                }
                404 => {
                    h.v13("GET", &format!("/v1/kms/transit/{UNKNOWN_ID}"), Value::Null)
                        .await
                }
                _ => {
                    h.call(Some("kms 9.9"), "GET", "/v1/kms/transit", Value::Null)
                        .await
                }
            };
            assert_eq!(r.status, status, "{}", r.text);
            let e = error_of(&r);
            assert_eq!(e["code"], code, "{}", r.text);
            assert_eq!(e["title"], title, "{}", r.text);
            assert!(e["detail"].as_array().is_some_and(|d| !d.is_empty()));
        }
    }
}

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.bytes()
            .all(|b| b == b'-' || (b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        && parts[2].starts_with('4')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uuid_request_ids() {
    let (def, var) = H::pair(Variant::UuidRequestIds).await;
    let d = def
        .v13("GET", &format!("/v1/kms/transit/{UNKNOWN_ID}"), Value::Null)
        .await;
    let e = error_of(&d);
    for f in ["request_id", "global_request_id"] {
        let id = e[f].as_str().unwrap();
        assert!(id.starts_with("req-") && id.len() == 36, "{id}");
        assert!(!is_uuid_v4(id));
    }
    let v = var
        .v13("GET", &format!("/v1/kms/transit/{UNKNOWN_ID}"), Value::Null)
        .await;
    let e = error_of(&v);
    for f in ["request_id", "global_request_id"] {
        let id = e[f].as_str().unwrap();
        assert!(is_uuid_v4(id), "{id}");
    }
    assert_ne!(e["request_id"], e["global_request_id"]);
}

/// Creates keys named `{prefix}{i}` until at least `n` of them share one created_at second;
/// returns the name filter that lists exactly those keys' batch.
async fn tied_batch(h: &H, prefix: &str, n: usize) -> String {
    for attempt in 0..5 {
        let filter = format!("{prefix}{attempt}x");
        let mut seconds = Vec::new();
        for i in 0..n {
            let k = h.create(&format!("{filter}{i}"), "aes256-gcm96").await;
            seconds.push(k["created_at"].as_str().unwrap().to_string());
        }
        if seconds.iter().all(|s| *s == seconds[0]) {
            return filter;
        }
    }
    panic!("could not create {n} keys within one second in 5 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_ties_change_order_between_calls() {
    let (def, var) = H::pair(Variant::ShuffledTies).await;
    let n = 6;
    let q = |f: &str| format!("name={f}&sort=created_at:asc&size=100");

    let df = tied_batch(&def, "tie", n).await;
    let first = def.list_names(&q(&df)).await;
    assert_eq!(first.len(), n);
    for _ in 0..20 {
        assert_eq!(
            def.list_names(&q(&df)).await,
            first,
            "the default breaks ties"
        );
    }

    let vf = tied_batch(&var, "tie", n).await;
    let first = var.list_names(&q(&vf)).await;
    let mut differed = false;
    for _ in 0..200 {
        let next = var.list_names(&q(&vf)).await;
        assert_eq!(
            next.iter().collect::<BTreeSet<_>>(),
            first.iter().collect::<BTreeSet<_>>(),
            "same keys, maybe another order"
        );
        if next != first {
            differed = true;
            break;
        }
    }
    assert!(
        differed,
        "200 listings of {n} tied keys all came back in one order"
    );
    // A name sort has no ties: stable.
    let by_name = var.list_names(&format!("name={vf}&sort=name:asc")).await;
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, sorted);
    // Paging slices each call's own order: pages have the right sizes and count is the total.
    let r = var
        .v13(
            "GET",
            &format!("/v1/kms/transit?name={vf}&sort=created_at:desc&size=4&page=1"),
            Value::Null,
        )
        .await;
    assert_eq!(r.json["keys"].as_array().unwrap().len(), n - 4);
    assert_eq!(r.json["count"], n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_last_wins() {
    let (def, var) = H::pair(Variant::QueryLastWins).await;
    for h in [&def, &var] {
        for n in ["qla", "qlb", "qlc"] {
            h.create(n, "aes256-gcm96").await;
        }
    }
    let q = "name=zzz&name=ql&size=1&size=2&sort=name:asc&sort=name:desc";
    let d = def
        .v13("GET", &format!("/v1/kms/transit?{q}"), Value::Null)
        .await;
    assert_eq!(
        d.json["keys"].as_array().unwrap().len(),
        0,
        "default: first name wins: {}",
        d.text
    );
    assert_eq!(d.json["size"], 1);
    assert_eq!(var.list_names(q).await, ["qlc", "qlb"]);

    let d = def
        .v13(
            "GET",
            "/v1/kms/transit/duplicate?name=qla&name=free",
            Value::Null,
        )
        .await;
    assert_eq!(d.json["isDuplicateName"], true);
    let v = var
        .v13(
            "GET",
            "/v1/kms/transit/duplicate?name=qla&name=free",
            Value::Null,
        )
        .await;
    assert_eq!(v.json["isDuplicateName"], false);

    // is_directly=false&is_directly=true: the default schedules, the variant deletes at once.
    for (h, after) in [(&def, 200), (&var, 404)] {
        let k = h.create("qldel", "aes256-gcm96").await;
        let id = k["id"].as_str().unwrap();
        let r = h
            .v13(
                "DELETE",
                &format!("/v1/kms/transit/{id}?is_directly=false&is_directly=true"),
                Value::Null,
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
        let s = h
            .v13("GET", &format!("/v1/kms/transit/{id}"), Value::Null)
            .await;
        assert_eq!(s.status, after, "{}", s.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detail_string() {
    let (def, var) = H::pair(Variant::DetailString).await;
    let d = def
        .v13("POST", "/v1/kms/transit", json!({"name": "abc"}))
        .await;
    assert!(error_of(&d)["detail"].is_array(), "{}", d.text);
    let v = var
        .v13("POST", "/v1/kms/transit", json!({"name": "abc"}))
        .await;
    assert_eq!(v.status, 400);
    let detail = error_of(&v)["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", v.text));
    assert!(detail.contains("description"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fractional_timestamps() {
    let (def, var) = H::pair(Variant::FractionalTimestamps).await;
    let whole = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").is_ok();
    let millis = |s: &str| {
        s.len() == 24 && chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok()
    };
    let dk = def.create("tsk", "aes256-gcm96").await;
    let vk = var.create("tsk", "aes256-gcm96").await;
    for f in ["created_at", "modified_at", "next_rotate_at"] {
        assert!(whole(dk[f].as_str().unwrap()), "default {f}: {}", dk[f]);
        let s = vk[f].as_str().unwrap();
        assert!(millis(s) && !whole(s), "variant {f}: {s}");
        assert!(chrono::DateTime::parse_from_rfc3339(s).is_ok(), "{s}");
    }
    assert!(vk["next_rotate_at"]
        .as_str()
        .unwrap()
        .ends_with("T00:00:00.000Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_echo_null_when_no_sort_was_given() {
    let (def, var) = H::pair(Variant::SortEchoNull).await;
    for path in ["/v1/kms/transit", "/v1/managed-kms/transit"] {
        let d = def.v13("GET", path, Value::Null).await;
        assert_eq!(d.json["sort"], json!(["created_at:asc"]), "{}", d.text);
        let v = var.v13("GET", path, Value::Null).await;
        assert_eq!(v.status, 200);
        assert!(v.json.as_object().unwrap().contains_key("sort"));
        assert!(v.json["sort"].is_null(), "{}", v.text);
        let v = var
            .v13("GET", &format!("{path}?sort=name:desc"), Value::Null)
            .await;
        assert_eq!(v.json["sort"], json!(["name:desc"]), "{}", v.text);
    }
}

/// All variants at once, with faults: they combine, and nothing becomes a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_variants_combine_with_faults() {
    let h = H::new(
        Variant::all(),
        &[Fault::SortIgnored, Fault::CreateReturns200],
    )
    .await;
    let r = h.create_with("combo", "rsa-2048", 0).await;
    assert_eq!(
        r.status, 200,
        "create-returns-200 still applies: {}",
        r.text
    );
    let id = r.json["key"]["id"].as_str().unwrap().to_string();
    assert!(r.json["key"]["created_at"].as_str().unwrap().ends_with('Z'));
    let e = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": "YQ=="}),
        )
        .await;
    assert_eq!(e.status, 200, "{}", e.text);
    let l = h
        .v13("GET", "/v1/kms/transit?size=0&size=5", Value::Null)
        .await;
    assert_eq!(l.status, 200, "{}", l.text);
    assert_eq!(l.json["size"], 5);
    assert!(l.json["sort"].is_null());
    let u = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/hmac/{UNKNOWN_ID}"),
            json!({"input": "YQ=="}),
        )
        .await;
    assert_eq!(u.status, 403);
    let e = error_of(&u);
    assert_eq!(e["code"], "AccessDenied");
    assert!(e["detail"].is_string());
    assert!(is_uuid_v4(e["request_id"].as_str().unwrap()));
    for (path, body) in data_plane_calls(&id) {
        let r = h.v13("POST", &path, body).await;
        assert!(r.status < 500, "{path}: {}", r.text);
    }
}
