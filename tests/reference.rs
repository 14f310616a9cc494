//! Integration tests of the embedded reference server: real HTTP over loopback, signed with
//! `ScpSigner`, server started with `reference::spawn` on port 0.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use base64::Engine as _;
use kmsconform::reference::{self, Config, Fault, RunningServer, Sunset};
use kmsconform::target::sign::scp::ScpSigner;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const VERSIONS: [&str; 4] = ["1.0", "1.1", "1.2", "1.3"];

const KEY_FIELDS: [&str; 21] = [
    "account_id",
    "auto_rotate",
    "created_at",
    "created_by",
    "current_version",
    "delete_at",
    "delete_target_yn",
    "description",
    "id",
    "key_type",
    "modified_at",
    "modified_by",
    "name",
    "next_rotate_at",
    "order_ref",
    "purpose",
    "region",
    "rotate_cycle",
    "secret_ref",
    "state",
    "use_count",
];

enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>),
}

struct Resp {
    status: u16,
    json: Value,
    content_type: String,
    text: String,
}

struct H {
    srv: RunningServer,
    http: reqwest::Client,
    signer: ScpSigner,
}

impl H {
    async fn new(config: Config) -> H {
        let signer = ScpSigner::new(config.credentials.clone());
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let srv = reference::spawn(config, addr).await.expect("spawn");
        H {
            srv,
            http: reqwest::Client::new(),
            signer,
        }
    }

    async fn with_faults(faults: &[Fault]) -> H {
        H::new(Config {
            faults: faults.to_vec(),
            ..Config::default()
        })
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.srv.base_url(), path)
    }

    /// Signed request; `version` None = no Scp-Api-Version header.
    async fn req(&self, version: Option<&str>, method: &str, path: &str, body: Body) -> Resp {
        let now = chrono::Utc::now().timestamp_millis();
        let headers = self.signer.sign_url(method, &self.url(path), now);
        self.send(version, method, path, body, headers).await
    }

    async fn send(
        &self,
        version: Option<&str>,
        method: &str,
        path: &str,
        body: Body,
        headers: Vec<(String, String)>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, self.url(path));
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        if let Some(v) = version {
            rb = rb.header("Scp-Api-Version", format!("kms {v}"));
        }
        rb = match body {
            Body::None => rb,
            Body::Json(v) => rb.json(&v),
            Body::Raw(b) => rb.header("Content-Type", "application/json").body(b),
        };
        let r = rb.send().await.expect("send");
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            json,
            content_type,
            text,
        }
    }

    async fn v13(&self, method: &str, path: &str, body: Value) -> Resp {
        let b = if body.is_null() {
            Body::None
        } else {
            Body::Json(body)
        };
        self.req(Some("1.3"), method, path, b).await
    }

    async fn create(&self, version: &str, name: &str, purpose: &str) -> Value {
        let r = self
            .req(
                Some(version),
                "POST",
                "/v1/kms/transit",
                Body::Json(json!({"name": name, "description": "d", "auto_rotate": "Y",
                    "rotate_cycle": 30, "purpose": purpose})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["key"].clone()
    }
}

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn key_fields(managed_type: bool) -> BTreeSet<String> {
    let mut s = set(&KEY_FIELDS);
    if managed_type {
        s.insert("managed_type".into());
    }
    s
}

fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.content_type, "application/json");
    let e = &r.json["errors"][0];
    assert_eq!(keys_of(&r.json), set(&["errors"]));
    assert_eq!(
        keys_of(e),
        set(&[
            "code",
            "title",
            "detail",
            "status",
            "request_id",
            "global_request_id",
            "links",
            "related_resources",
            "response"
        ])
    );
    assert_eq!(e["code"], code, "{}", r.text);
    assert_eq!(e["title"], code);
    assert_eq!(e["status"], status);
    assert!(e["detail"].as_array().is_some_and(|d| !d.is_empty()));
    let rid = e["request_id"].as_str().unwrap();
    assert!(rid.starts_with("req-") && rid.len() == 36, "{rid}");
    assert!(e["response"].is_null());
}

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

fn is_hex32(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

fn is_rfc3339_secs(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_on_every_version_has_documented_shape() {
    let h = H::new(Config::default()).await;
    for (i, v) in VERSIONS.into_iter().enumerate() {
        let managed = v == "1.2" || v == "1.3";
        let name = format!("shape{i}");
        // createKey
        let key = h.create(v, &name, "aes256-gcm96").await;
        assert_eq!(keys_of(&key), key_fields(managed), "createKey {v}");
        if managed {
            assert_eq!(key["managed_type"], "user");
        }
        assert!(is_hex32(&key["id"]) && is_hex32(&key["account_id"]));
        assert!(is_hex32(&key["created_by"]) && is_hex32(&key["modified_by"]));
        assert!(is_rfc3339_secs(&key["created_at"]) && is_rfc3339_secs(&key["modified_at"]));
        assert_eq!(key["state"], "Active");
        assert_eq!(key["current_version"], 1);
        assert_eq!(key["use_count"], 0);
        assert_eq!(key["delete_target_yn"], "N");
        assert!(key["delete_at"].is_null());
        assert_eq!(key["key_type"], "advanced");
        assert_eq!(key["region"], "kr-west1");
        let created = chrono::NaiveDateTime::parse_from_str(
            key["created_at"].as_str().unwrap(),
            "%Y-%m-%dT%H:%M:%SZ",
        )
        .unwrap();
        let expect_next = format!(
            "{}T00:00:00Z",
            (created.date() + chrono::Days::new(30)).format("%Y-%m-%d")
        );
        assert_eq!(key["next_rotate_at"], expect_next.as_str());
        let id = key["id"].as_str().unwrap().to_string();
        let ver = Some(v);

        // showKey
        let r = h
            .req(ver, "GET", &format!("/v1/kms/transit/{id}"), Body::None)
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(keys_of(&r.json), set(&["key"]));
        assert_eq!(keys_of(&r.json["key"]), key_fields(managed), "showKey {v}");

        // listKeys
        let r = h.req(ver, "GET", "/v1/kms/transit", Body::None).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            keys_of(&r.json),
            set(&["count", "keys", "page", "size", "sort"])
        );
        for k in r.json["keys"].as_array().unwrap() {
            assert_eq!(keys_of(k), key_fields(managed), "listKeys {v}");
        }
        assert_eq!(r.json["sort"], json!(["created_at:asc"]));

        // checkDuplicateName
        let r = h
            .req(
                ver,
                "GET",
                &format!("/v1/kms/transit/duplicate?name={name}"),
                Body::None,
            )
            .await;
        assert_eq!(
            (r.status, r.json.clone()),
            (200, json!({"isDuplicateName": true}))
        );
        let r = h
            .req(
                ver,
                "GET",
                "/v1/kms/transit/duplicate?name=neverused",
                Body::None,
            )
            .await;
        assert_eq!(r.json, json!({"isDuplicateName": false}));

        // The KeyShowResponse operations: Key model (no managed_type) on every version.
        let r = h
            .req(
                ver,
                "PUT",
                &format!("/v1/kms/transit/{id}/rotate-info"),
                Body::Json(json!({"auto_rotate": "N", "rotate_cycle": null})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(keys_of(&r.json["key"]), key_fields(false));
        assert_eq!(r.json["key"]["auto_rotate"], "N");
        assert!(r.json["key"]["next_rotate_at"].is_null());
        assert_eq!(r.json["key"]["rotate_cycle"], 30);

        let r = h
            .req(
                ver,
                "PUT",
                &format!("/v1/kms/transit/{id}/state"),
                Body::Json(json!({"state": "Stop"})),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(keys_of(&r.json["key"]), key_fields(false));
        assert_eq!(r.json["key"]["state"], "Stop");
        let r = h
            .req(
                ver,
                "PUT",
                &format!("/v1/kms/transit/{id}/state"),
                Body::Json(json!({"state": "Active"})),
            )
            .await;
        assert_eq!(r.json["key"]["state"], "Active");

        let r = h
            .req(
                ver,
                "PUT",
                &format!("/v1/kms/transit/{id}/description"),
                Body::Json(json!({"description": "new text"})),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(keys_of(&r.json["key"]), key_fields(false));
        assert_eq!(r.json["key"]["description"], "new text");

        let r = h
            .req(
                ver,
                "POST",
                &format!("/v1/kms/transit/{id}/rotate"),
                Body::None,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(keys_of(&r.json["key"]), key_fields(false));
        assert_eq!(r.json["key"]["current_version"], 2);

        // Data plane shapes.
        let r = h
            .req(
                ver,
                "POST",
                &format!("/v1/kms/openapi/encrypt/{id}"),
                Body::Json(json!({"plaintext": b64(b"hi")})),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(keys_of(&r.json), set(&["ciphertext", "key_version"]));
        assert_eq!(r.json["key_version"], 2);
        let ct = r.json["ciphertext"].as_str().unwrap().to_string();
        assert!(ct.starts_with("vault:v2:"));
        let r = h
            .req(
                ver,
                "POST",
                &format!("/v1/kms/openapi/decrypt/{id}"),
                Body::Json(json!({"ciphertext": ct})),
            )
            .await;
        assert_eq!(r.json, json!({"plaintext": b64(b"hi")}));
        let r = h
            .req(
                ver,
                "POST",
                &format!("/v1/kms/openapi/rewrap/{id}"),
                Body::Json(json!({"ciphertext": ct})),
            )
            .await;
        assert_eq!(keys_of(&r.json), set(&["ciphertext", "key_version"]));
        let r = h
            .req(
                ver,
                "POST",
                &format!("/v1/kms/openapi/datakey/{id}"),
                Body::Json(json!({"key_type": "wrapped"})),
            )
            .await;
        assert_eq!(
            keys_of(&r.json),
            set(&["ciphertext", "key_version", "plaintext"])
        );
        assert!(r.json["plaintext"].is_null());

        // listUsers: creator plus data-plane users (the same principal here).
        let r = h
            .req(
                ver,
                "GET",
                &format!("/v1/kms/transit/{id}/users"),
                Body::None,
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(keys_of(&r.json), set(&["user"]));
        let users = r.json["user"].as_array().unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(keys_of(&users[0]), set(&["user_id", "user_name"]));
        assert_eq!(users[0]["user_name"], "kmsconform-user");
        assert_eq!(users[0]["user_id"], key["created_by"]);

        // use_count counts the 4 successful data-plane calls.
        let r = h
            .req(ver, "GET", &format!("/v1/kms/transit/{id}"), Body::None)
            .await;
        assert_eq!(r.json["key"]["use_count"], 4);

        // Managed keys: only on 1.2+.
        let r = h
            .req(ver, "GET", "/v1/managed-kms/transit", Body::None)
            .await;
        if managed {
            assert_eq!(r.status, 200);
            assert_eq!(r.json["count"], 3);
            let mk = &r.json["keys"][0];
            assert_eq!(keys_of(mk), key_fields(true));
            assert_eq!(mk["managed_type"], "scp");
            let mid = mk["id"].as_str().unwrap().to_string();
            let r = h
                .req(
                    ver,
                    "GET",
                    &format!("/v1/managed-kms/transit/{mid}"),
                    Body::None,
                )
                .await;
            assert_eq!(r.status, 200);
            assert_eq!(keys_of(&r.json["key"]), key_fields(true));
            let r = h
                .req(
                    ver,
                    "PUT",
                    &format!("/v1/managed-kms/transit/{mid}/description"),
                    Body::Json(json!({"description": format!("managed {v}")})),
                )
                .await;
            assert_eq!(r.status, 200);
            assert_eq!(
                r.json["key"]["description"],
                format!("managed {v}").as_str()
            );
            assert_eq!(r.json["key"]["managed_type"], "scp");
            // A user key is not a managed key and vice versa.
            let r = h
                .req(
                    ver,
                    "GET",
                    &format!("/v1/managed-kms/transit/{id}"),
                    Body::None,
                )
                .await;
            assert_error(&r, 404, "ResourceNotFound");
            let r = h
                .req(ver, "GET", &format!("/v1/kms/transit/{mid}"), Body::None)
                .await;
            assert_error(&r, 404, "ResourceNotFound");
        } else {
            assert_error(&r, 404, "ResourceNotFound");
            let r = h
                .req(ver, "GET", "/v1/managed-kms/transit/0123", Body::None)
                .await;
            assert_error(&r, 404, "ResourceNotFound");
            let r = h
                .req(
                    ver,
                    "PUT",
                    "/v1/managed-kms/transit/0123/description",
                    Body::Json(json!({"description": "x"})),
                )
                .await;
            assert_error(&r, 404, "ResourceNotFound");
        }

        // deleteKey
        let r = h
            .req(
                ver,
                "DELETE",
                &format!("/v1/kms/transit/{id}?is_directly=True"),
                Body::None,
            )
            .await;
        assert_eq!(r.status, 204);
        assert!(r.text.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypto_round_trips_for_every_purpose() {
    let h = H::new(Config::default()).await;
    // Symmetric purposes.
    for (i, purpose) in ["aes256-gcm96", "aria"].into_iter().enumerate() {
        let id = h.create("1.3", &format!("sym{i}"), purpose).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut cts = Vec::new();
        for pt in [b"".as_slice(), b"the quick brown fox".as_slice()] {
            let r = h
                .v13(
                    "POST",
                    &format!("/v1/kms/openapi/encrypt/{id}"),
                    json!({"plaintext": b64(pt)}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            let ct = r.json["ciphertext"].as_str().unwrap().to_string();
            let r = h
                .v13(
                    "POST",
                    &format!("/v1/kms/openapi/decrypt/{id}"),
                    json!({"ciphertext": ct}),
                )
                .await;
            assert_eq!(r.json["plaintext"], b64(pt).as_str(), "{purpose}");
            cts.push(ct);
        }
        // Tampered ciphertext -> 400.
        let mut raw = B64
            .decode(cts[1].strip_prefix("vault:v1:").unwrap())
            .unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/decrypt/{id}"),
                json!({"ciphertext": format!("vault:v1:{}", b64(&raw))}),
            )
            .await;
        assert_error(&r, 400, "ValidationError");
        // Rotate, rewrap, decrypt.
        let r = h
            .v13("POST", &format!("/v1/kms/transit/{id}/rotate"), Value::Null)
            .await;
        assert_eq!(r.json["key"]["current_version"], 2);
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/rewrap/{id}"),
                json!({"ciphertext": cts[1]}),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["key_version"], 2);
        let rewrapped = r.json["ciphertext"].as_str().unwrap().to_string();
        assert!(rewrapped.starts_with("vault:v2:"));
        assert_ne!(rewrapped, cts[1]);
        for ct in [&rewrapped, &cts[1]] {
            let r = h
                .v13(
                    "POST",
                    &format!("/v1/kms/openapi/decrypt/{id}"),
                    json!({"ciphertext": ct}),
                )
                .await;
            assert_eq!(r.json["plaintext"], b64(b"the quick brown fox").as_str());
        }
        // A version that does not exist yet.
        let forged = rewrapped.replacen("vault:v2:", "vault:v3:", 1);
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/decrypt/{id}"),
                json!({"ciphertext": forged}),
            )
            .await;
        assert_error(&r, 400, "ValidationError");
        // Datakeys.
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/datakey/{id}"),
                json!({"key_type": "plaintext"}),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["key_version"], 2);
        let dk = r.json["plaintext"].as_str().unwrap().to_string();
        assert_eq!(B64.decode(&dk).unwrap().len(), 32);
        let r2 = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/decrypt/{id}"),
                json!({"ciphertext": r.json["ciphertext"]}),
            )
            .await;
        assert_eq!(r2.json["plaintext"], dk.as_str());
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/datakey/{id}"),
                json!({"key_type": "wrapped"}),
            )
            .await;
        assert!(r.json["plaintext"].is_null());
        let r2 = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/decrypt/{id}"),
                json!({"ciphertext": r.json["ciphertext"]}),
            )
            .await;
        assert_eq!(
            B64.decode(r2.json["plaintext"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        // Wrong purpose.
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/sign/{id}"),
                json!({"input": b64(b"x")}),
            )
            .await;
        assert_error(&r, 400, "ValidationError");
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/datakey/{id}"),
                json!({"key_type": "other"}),
            )
            .await;
        assert_error(&r, 400, "ValidationError");
    }

    // Asymmetric purposes.
    for (i, purpose) in ["ecdsa-p256", "rsa-2048"].into_iter().enumerate() {
        let id = h.create("1.3", &format!("asym{i}"), purpose).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let input = b64(b"message to sign");
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/sign/{id}"),
                json!({"input": input}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(keys_of(&r.json), set(&["key_version", "signature"]));
        let sig1 = r.json["signature"].as_str().unwrap().to_string();
        assert!(sig1.starts_with("vault:v1:"));
        let verify = |inp: String, sig: String| {
            let h = &h;
            let id = id.clone();
            async move {
                h.v13(
                    "POST",
                    &format!("/v1/kms/openapi/verify/{id}"),
                    json!({"input": inp, "signature": sig}),
                )
                .await
            }
        };
        let r = verify(input.clone(), sig1.clone()).await;
        assert_eq!(r.json, json!({"valid": true}), "{purpose}");
        let r = verify(b64(b"message to sigN"), sig1.clone()).await;
        assert_eq!(
            (r.status, r.json.clone()),
            (200, json!({"valid": false})),
            "{purpose}"
        );
        let mut raw = B64.decode(sig1.strip_prefix("vault:v1:").unwrap()).unwrap();
        let mid = raw.len() / 2;
        raw[mid] ^= 0x55;
        let r = verify(input.clone(), format!("vault:v1:{}", b64(&raw))).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"valid": false})));
        for bad in ["nope", "vault:v1:***", "vault:v9:AAAA", "vault:x1:AAAA"] {
            let r = verify(input.clone(), bad.to_string()).await;
            assert_error(&r, 400, "ValidationError");
        }
        let r = h
            .v13("POST", &format!("/v1/kms/transit/{id}/rotate"), Value::Null)
            .await;
        assert_eq!(r.json["key"]["current_version"], 2);
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/sign/{id}"),
                json!({"input": input}),
            )
            .await;
        let sig2 = r.json["signature"].as_str().unwrap().to_string();
        assert!(sig2.starts_with("vault:v2:"));
        assert_eq!(verify(input.clone(), sig2).await.json["valid"], true);
        assert_eq!(verify(input.clone(), sig1).await.json["valid"], true);
        // Wrong purpose.
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/encrypt/{id}"),
                json!({"plaintext": input}),
            )
            .await;
        assert_error(&r, 400, "ValidationError");
        let r = h
            .v13(
                "POST",
                &format!("/v1/kms/openapi/datakey/{id}"),
                json!({"key_type": "plaintext"}),
            )
            .await;
        assert_error(&r, 400, "ValidationError");
    }

    // HMAC.
    let id = h.create("1.3", "mac1", "hmac").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let input = b64(b"authenticate me");
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/hmac/{id}"),
            json!({"input": input}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(keys_of(&r.json), set(&["hmac"]));
    let mac = r.json["hmac"].as_str().unwrap().to_string();
    assert!(mac.starts_with("vault:v1:"));
    let hv = |inp: String, mac: String| {
        let h = &h;
        let id = id.clone();
        async move {
            h.v13(
                "POST",
                &format!("/v1/kms/openapi/hmac/verify/{id}"),
                json!({"input": inp, "hmac": mac}),
            )
            .await
        }
    };
    assert_eq!(
        hv(input.clone(), mac.clone()).await.json,
        json!({"valid": true})
    );
    assert_eq!(
        hv(b64(b"authenticate mE"), mac.clone()).await.json,
        json!({"valid": false})
    );
    let mut raw = B64.decode(mac.strip_prefix("vault:v1:").unwrap()).unwrap();
    raw[0] ^= 1;
    assert_eq!(
        hv(input.clone(), format!("vault:v1:{}", b64(&raw)))
            .await
            .json,
        json!({"valid": false})
    );
    assert_error(
        &hv(input.clone(), "vault:v2:AAAA".into()).await,
        400,
        "ValidationError",
    );
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": input}),
        )
        .await;
    assert_error(&r, 400, "ValidationError");

    // Managed keys work on the data plane by id.
    let r = h
        .v13("GET", "/v1/managed-kms/transit?size=1", Value::Null)
        .await;
    let mid = r.json["keys"][0]["id"].as_str().unwrap().to_string();
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{mid}"),
            json!({"plaintext": b64(b"m")}),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures_are_401() {
    let h = H::new(Config::default()).await;
    let path = "/v1/kms/transit";
    let now = chrono::Utc::now().timestamp_millis();
    let good = h.signer.sign_url("GET", &h.url(path), now);
    // Baseline: the good headers work.
    let r = h
        .send(Some("1.3"), "GET", path, Body::None, good.clone())
        .await;
    assert_eq!(r.status, 200);
    // No headers at all.
    let r = h.send(Some("1.3"), "GET", path, Body::None, vec![]).await;
    assert_error(&r, 401, "Unauthorized");
    // Each required header missing.
    for drop in [
        "Scp-Accesskey",
        "Scp-Signature",
        "Scp-Timestamp",
        "Scp-ClientType",
    ] {
        let hs: Vec<_> = good.iter().filter(|(k, _)| k != drop).cloned().collect();
        let r = h.send(Some("1.3"), "GET", path, Body::None, hs).await;
        assert_error(&r, 401, "Unauthorized");
    }
    let signature = good
        .iter()
        .find(|(k, _)| k == "Scp-Signature")
        .unwrap()
        .1
        .clone();
    // Wrong signature: signed for another path.
    let other = h
        .signer
        .sign_url("GET", &h.url("/v1/kms/transit?size=1"), now);
    let r = h.send(Some("1.3"), "GET", path, Body::None, other).await;
    assert_error(&r, 401, "Unauthorized");
    // Wrong method.
    let r = h
        .send(Some("1.3"), "POST", path, Body::None, good.clone())
        .await;
    assert_error(&r, 401, "Unauthorized");
    // Wrong secret.
    let bad_signer = ScpSigner::new(kmsconform::target::sign::Credentials {
        secret_key: "not-the-secret".into(),
        ..Config::default().credentials
    });
    let r = h
        .send(
            Some("1.3"),
            "GET",
            path,
            Body::None,
            bad_signer.sign_url("GET", &h.url(path), now),
        )
        .await;
    assert_error(&r, 401, "Unauthorized");
    // Unknown access key.
    let stranger = ScpSigner::new(kmsconform::target::sign::Credentials {
        access_key: "SOMEONE-ELSE".into(),
        ..Config::default().credentials
    });
    let r = h
        .send(
            Some("1.3"),
            "GET",
            path,
            Body::None,
            stranger.sign_url("GET", &h.url(path), now),
        )
        .await;
    assert_error(&r, 401, "Unauthorized");
    // Stale and future timestamps (outside the 300 s skew).
    for ts in [now - 301_000, now + 301_000] {
        let hs = h.signer.sign_url("GET", &h.url(path), ts);
        let r = h.send(Some("1.3"), "GET", path, Body::None, hs).await;
        assert_error(&r, 401, "Unauthorized");
    }
    // Timestamp in seconds (10 digits) is refused even if correctly signed.
    let secs = (now / 1000).to_string();
    let sig = kmsconform::target::sign::scp::scp_signature(
        reference::DEFAULT_SECRET_KEY,
        "GET",
        &h.url(path),
        &secs,
        reference::DEFAULT_ACCESS_KEY,
        "",
    );
    let hs = vec![
        (
            "Scp-Accesskey".to_string(),
            reference::DEFAULT_ACCESS_KEY.to_string(),
        ),
        ("Scp-Signature".to_string(), sig.clone()),
        ("Scp-Timestamp".to_string(), secs),
        ("Scp-ClientType".to_string(), "Openapi".to_string()),
    ];
    let r = h.send(Some("1.3"), "GET", path, Body::None, hs).await;
    assert_error(&r, 401, "Unauthorized");
    assert!(!r.text.contains(&sig) && !r.text.contains(&signature));
    assert!(!r.text.contains(reference::DEFAULT_SECRET_KEY));
    // Data plane also requires auth (401 is documented there).
    let r = h
        .send(
            Some("1.3"),
            "POST",
            "/v1/kms/openapi/encrypt/abc",
            Body::None,
            vec![],
        )
        .await;
    assert_error(&r, 401, "Unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_negotiation_and_sunset() {
    let h = H::new(Config::default()).await;
    for bad in ["1.4", "2.0", "", "1.3.0"] {
        let r = h.req(Some(bad), "GET", "/v1/kms/transit", Body::None).await;
        assert_error(&r, 406, "NoSuchVersion");
    }
    // Unknown version wins over auth: checked first.
    let r = h
        .send(Some("9.9"), "GET", "/v1/kms/transit", Body::None, vec![])
        .await;
    assert_error(&r, 406, "NoSuchVersion");
    // Missing header -> 1.3 (KeyV1Dot2 with managed_type).
    let key = {
        let r = h
            .req(
                None,
                "POST",
                "/v1/kms/transit",
                Body::Json(
                    json!({"name": "nover", "description": "", "auto_rotate": "N",
                    "rotate_cycle": 1, "purpose": "hmac"}),
                ),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["key"].clone()
    };
    assert_eq!(key["managed_type"], "user");
    assert!(key["next_rotate_at"].is_null());
    // Whitespace around the value is tolerated.
    let now = chrono::Utc::now().timestamp_millis();
    let mut hs = h.signer.sign_url("GET", &h.url("/v1/kms/transit"), now);
    hs.push(("Scp-Api-Version".into(), "  kms 1.1 ".into()));
    let r = h.send(None, "GET", "/v1/kms/transit", Body::None, hs).await;
    assert_eq!(r.status, 200);
    assert!(r.json["keys"][0].get("managed_type").is_none());

    let sunset = H::new(Config {
        sunset: Some(Sunset {
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            not_before: vec![
                (
                    "1.0".into(),
                    chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
                ),
                (
                    "1.1".into(),
                    chrono::NaiveDate::from_ymd_opt(2026, 8, 31).unwrap(),
                ),
                (
                    "1.2".into(),
                    chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                ),
            ],
        }),
        ..Config::default()
    })
    .await;
    for (v, ok) in [("1.0", false), ("1.1", true), ("1.2", false), ("1.3", true)] {
        let r = sunset
            .req(Some(v), "GET", "/v1/kms/transit", Body::None)
            .await;
        if ok {
            assert_eq!(r.status, 200, "{v}");
        } else {
            assert_error(&r, 406, "NoSuchVersion");
            assert!(r.text.contains("Not Before"), "{}", r.text);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_sort_and_filter() {
    let h = H::new(Config::default()).await;
    let names = [
        "pgcharlie",
        "pgalpha",
        "pgecho",
        "pgbravo",
        "pgdelta",
        "otherkey",
    ];
    let mut ids = Vec::new();
    for n in names {
        ids.push(
            h.create("1.3", n, "aes256-gcm96").await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let hr = &h;
    let list = move |q: &'static str| async move {
        hr.v13("GET", &format!("/v1/kms/transit{q}"), Value::Null)
            .await
    };
    let names_of = |r: &Resp| -> Vec<String> {
        r.json["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_string())
            .collect()
    };
    // Default: created_at:asc with ties by creation order = insertion order; managed excluded.
    let r = list("").await;
    assert_eq!(r.json["count"], 6);
    assert_eq!(names_of(&r), names);
    assert_eq!(
        (r.json["page"].clone(), r.json["size"].clone()),
        (json!(0), json!(20))
    );
    let r = list("?size=2&page=0").await;
    assert_eq!(r.json["count"], 6);
    assert_eq!(names_of(&r), ["pgcharlie", "pgalpha"]);
    let r = list("?size=4&page=1").await;
    assert_eq!(r.json["count"], 6);
    assert_eq!(names_of(&r), ["pgdelta", "otherkey"]);
    let r = list("?size=4&page=7").await;
    assert_eq!(r.json["count"], 6);
    assert!(names_of(&r).is_empty());
    let r = list("?sort=name:asc&name=pg").await;
    assert_eq!(r.json["count"], 5);
    assert_eq!(
        names_of(&r),
        ["pgalpha", "pgbravo", "pgcharlie", "pgdelta", "pgecho"]
    );
    assert_eq!(r.json["sort"], json!(["name:asc"]));
    let r = list("?sort=name:desc&size=2&page=1&name=pg").await;
    assert_eq!(names_of(&r), ["pgcharlie", "pgbravo"]);
    let r = list("?sort=created_at:desc&size=2").await;
    assert_eq!(names_of(&r), ["otherkey", "pgdelta"]);
    // modified_at: touching a key moves it last (ties by creation).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    h.v13(
        "PUT",
        &format!("/v1/kms/transit/{}/description", ids[0]),
        json!({"description": "touched"}),
    )
    .await;
    let r = list("?sort=modified_at:asc").await;
    assert_eq!(names_of(&r).last().unwrap(), "pgcharlie");
    // Bad values -> 400.
    for q in [
        "?size=0",
        "?size=101",
        "?size=abc",
        "?size=-1",
        "?page=-1",
        "?page=x",
        "?size=1.5",
        "?sort=name",
        "?sort=id:asc",
        "?sort=name:up",
        "?page=99999999999999999999",
        // An empty value is a value, not an absent parameter: "" is no integer, and the
        // spec's sort pattern refuses it.
        "?size=",
        "?page=",
        "?sort=",
    ] {
        let r = list(q).await;
        assert_error(&r, 400, "ValidationError");
    }
    // Managed listing has its own count and paging.
    let r = h
        .v13(
            "GET",
            "/v1/managed-kms/transit?size=2&sort=name:asc",
            Value::Null,
        )
        .await;
    assert_eq!(r.json["count"], 3);
    assert_eq!(names_of(&r), ["scp-bs-default", "scp-db-default"]);
    let r = h
        .v13("GET", "/v1/managed-kms/transit?size=zero", Value::Null)
        .await;
    assert_error(&r, 400, "ValidationError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_stop_schedule_and_direct_delete() {
    let h = H::new(Config::default()).await;
    let id = h.create("1.3", "life1", "aes256-gcm96").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let enc = |id: String| {
        let h = &h;
        async move {
            h.v13(
                "POST",
                &format!("/v1/kms/openapi/encrypt/{id}"),
                json!({"plaintext": "AA=="}),
            )
            .await
        }
    };
    // Stop blocks the data plane with 403; Active restores it.
    h.v13(
        "PUT",
        &format!("/v1/kms/transit/{id}/state"),
        json!({"state": "Stop"}),
    )
    .await;
    assert_error(&enc(id.clone()).await, 403, "Forbidden");
    let r = h
        .v13(
            "PUT",
            &format!("/v1/kms/transit/{id}/state"),
            json!({"state": "Paused"}),
        )
        .await;
    assert_error(&r, 400, "ValidationError");
    h.v13(
        "PUT",
        &format!("/v1/kms/transit/{id}/state"),
        json!({"state": "Active"}),
    )
    .await;
    assert_eq!(enc(id.clone()).await.status, 200);
    // Scheduled delete.
    let r = h
        .v13("DELETE", &format!("/v1/kms/transit/{id}"), Value::Null)
        .await;
    assert_eq!(r.status, 204);
    let r = h
        .v13("GET", &format!("/v1/kms/transit/{id}"), Value::Null)
        .await;
    assert_eq!(r.json["key"]["state"], "To_Be_Terminated");
    assert_eq!(r.json["key"]["delete_target_yn"], "Y");
    let expect = format!(
        "{}T00:00:00Z",
        (chrono::Utc::now().date_naive() + chrono::Days::new(7)).format("%Y-%m-%d")
    );
    assert_eq!(r.json["key"]["delete_at"], expect.as_str());
    let r = h
        .v13("GET", "/v1/kms/transit?name=life1", Value::Null)
        .await;
    assert_eq!(r.json["count"], 1);
    assert_error(&enc(id.clone()).await, 403, "Forbidden");
    let r = h
        .v13("POST", &format!("/v1/kms/transit/{id}/rotate"), Value::Null)
        .await;
    assert_error(&r, 403, "Forbidden");
    let r = h
        .v13(
            "PUT",
            &format!("/v1/kms/transit/{id}/state"),
            json!({"state": "Active"}),
        )
        .await;
    assert_error(&r, 403, "Forbidden");
    let r = h
        .v13("DELETE", &format!("/v1/kms/transit/{id}"), Value::Null)
        .await;
    assert_error(&r, 403, "Forbidden");
    // The name stays taken while the key is listed.
    let r = h
        .v13("GET", "/v1/kms/transit/duplicate?name=life1", Value::Null)
        .await;
    assert_eq!(r.json["isDuplicateName"], true);
    // Direct delete.
    let r = h
        .v13(
            "DELETE",
            &format!("/v1/kms/transit/{id}?is_directly=maybe"),
            Value::Null,
        )
        .await;
    assert_error(&r, 400, "ValidationError");
    let r = h
        .v13(
            "DELETE",
            &format!("/v1/kms/transit/{id}?is_directly="),
            Value::Null,
        )
        .await;
    assert_error(&r, 400, "ValidationError");
    let r = h
        .v13(
            "DELETE",
            &format!("/v1/kms/transit/{id}?is_directly=true"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 204);
    for (m, p) in [
        ("GET", format!("/v1/kms/transit/{id}")),
        ("POST", format!("/v1/kms/transit/{id}/rotate")),
        ("GET", format!("/v1/kms/transit/{id}/users")),
        ("DELETE", format!("/v1/kms/transit/{id}")),
    ] {
        assert_error(&h.v13(m, &p, Value::Null).await, 404, "ResourceNotFound");
    }
    for (p, b) in [
        (
            "rotate-info",
            json!({"auto_rotate": "Y", "rotate_cycle": 5}),
        ),
        ("state", json!({"state": "Active"})),
        ("description", json!({"description": "x"})),
    ] {
        let r = h.v13("PUT", &format!("/v1/kms/transit/{id}/{p}"), b).await;
        assert_error(&r, 404, "ResourceNotFound");
    }
    // Data plane: never 404; an unknown key is a 400.
    assert_error(&enc(id.clone()).await, 400, "ValidationError");
    let r = h
        .v13("GET", "/v1/kms/transit?name=life1", Value::Null)
        .await;
    assert_eq!(r.json["count"], 0);
    let r = h
        .v13("GET", "/v1/kms/transit/duplicate?name=life1", Value::Null)
        .await;
    assert_eq!(r.json["isDuplicateName"], false);
    // The name is free again.
    h.create("1.3", "life1", "aes256-gcm96").await;
    // Duplicate name -> 400.
    let r = h
        .v13(
            "POST",
            "/v1/kms/transit",
            json!({"name": "life1", "description": "", "auto_rotate": "N", "rotate_cycle": 7, "purpose": "aria"}),
        )
        .await;
    assert_error(&r, 400, "ValidationError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_is_400_never_5xx() {
    let h = H::new(Config::default()).await;
    let id = h.create("1.3", "robust1", "aes256-gcm96").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let good = json!({"name": "robust2", "description": "d", "auto_rotate": "Y", "rotate_cycle": 7, "purpose": "aes256-gcm96"});
    let mut create_bad = vec![];
    for (field, val) in [
        ("name", json!("UPPER")),
        ("name", json!("ab")),
        ("name", json!("a".repeat(64))),
        ("name", json!("has-dash")),
        ("name", json!(5)),
        ("description", json!("x".repeat(101))),
        ("description", json!(null)),
        ("auto_rotate", json!("y")),
        ("rotate_cycle", json!("7")),
        ("rotate_cycle", json!(0)),
        ("rotate_cycle", json!(731)),
        ("rotate_cycle", json!(7.5)),
        ("purpose", json!("aes-256")),
        ("key_type", json!("premium")),
        ("tags", json!([{"key": "k"}])),
        ("tags", json!("k=v")),
    ] {
        let mut b = good.clone();
        b[field] = val;
        create_bad.push(b);
    }
    for field in [
        "name",
        "description",
        "auto_rotate",
        "rotate_cycle",
        "purpose",
    ] {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(field);
        create_bad.push(b);
    }
    for b in create_bad {
        let r = h.v13("POST", "/v1/kms/transit", b.clone()).await;
        assert_error(&r, 400, "ValidationError");
    }
    // Extra fields are ignored; tags and key_type accepted.
    let mut b = good.clone();
    b["unknown_field"] = json!({"x": 1});
    b["tags"] = json!([{"key": "team", "value": "kms"}]);
    b["key_type"] = json!("basic");
    let r = h.v13("POST", "/v1/kms/transit", b).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["key"]["key_type"], "basic");
    // Description of exactly 100 characters is accepted, 101 refused.
    let r = h
        .v13(
            "PUT",
            &format!("/v1/kms/transit/{id}/description"),
            json!({"description": "é".repeat(100)}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .v13(
            "PUT",
            &format!("/v1/kms/transit/{id}/description"),
            json!({"description": "é".repeat(101)}),
        )
        .await;
    assert_error(&r, 400, "ValidationError");
    // Raw malformed bodies on every body-taking operation.
    let paths = [
        ("POST", "/v1/kms/transit".to_string()),
        ("PUT", format!("/v1/kms/transit/{id}/rotate-info")),
        ("PUT", format!("/v1/kms/transit/{id}/state")),
        ("PUT", format!("/v1/kms/transit/{id}/description")),
        ("POST", format!("/v1/kms/openapi/encrypt/{id}")),
        ("POST", format!("/v1/kms/openapi/decrypt/{id}")),
        ("POST", format!("/v1/kms/openapi/rewrap/{id}")),
        ("POST", format!("/v1/kms/openapi/datakey/{id}")),
        ("POST", format!("/v1/kms/openapi/sign/{id}")),
        ("POST", format!("/v1/kms/openapi/verify/{id}")),
        ("POST", format!("/v1/kms/openapi/hmac/{id}")),
        ("POST", format!("/v1/kms/openapi/hmac/verify/{id}")),
    ];
    let raws: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"\"str\"".to_vec(),
        b"{\"plaintext\": 1, \"ciphertext\": [], \"input\": {}, \"key_type\": true}".to_vec(),
        b"{\"plaintext\": \"not base64!\", \"input\": \"%%%\", \"ciphertext\": \"vault:v1:%%\"}"
            .to_vec(),
        vec![0xff, 0xfe, 0x00],
    ];
    for (m, p) in &paths {
        for raw in &raws {
            let r = h.req(Some("1.3"), m, p, Body::Raw(raw.clone())).await;
            assert_error(&r, 400, "ValidationError");
        }
    }
    // Huge body (> 1 MiB).
    let huge = format!("{{\"plaintext\": \"{}\"}}", "A".repeat(1_200_000));
    let r = h
        .req(
            Some("1.3"),
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            Body::Raw(huge.into_bytes()),
        )
        .await;
    assert_error(&r, 400, "ValidationError");
    // Unknown routes and wrong methods: 404, never 405.
    for (m, p) in [
        ("GET", "/"),
        ("GET", "/v1/kms"),
        ("GET", "/v1/kms/transit/"),
        ("PATCH", "/v1/kms/transit"),
        ("GET", "/v1/kms/openapi/encrypt/abc"),
        ("POST", "/v1/kms/openapi/frobnicate/abc"),
        ("PUT", "/v1/kms/transit/abc/rotate"),
    ] {
        let r = h.req(Some("1.3"), m, p, Body::None).await;
        assert_error(&r, 404, "ResourceNotFound");
    }
    // Random bodies never cause a 5xx (a seeded, shrinking-free fuzz over all body operations).
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let fields = [
        "plaintext",
        "ciphertext",
        "input",
        "signature",
        "hmac",
        "key_type",
        "state",
        "description",
        "auto_rotate",
        "rotate_cycle",
        "name",
        "purpose",
        "tags",
    ];
    for i in 0..240 {
        let (m, p) = &paths[i % paths.len()];
        let body: Vec<u8> = if rng.gen_bool(0.3) {
            (0..rng.gen_range(0..64)).map(|_| rng.gen::<u8>()).collect()
        } else {
            let mut o = serde_json::Map::new();
            for _ in 0..rng.gen_range(0..4) {
                let f = fields[rng.gen_range(0..fields.len())];
                let v = match rng.gen_range(0..8) {
                    0 => json!(null),
                    1 => json!(rng.gen::<i64>()),
                    2 => json!(rng.gen::<f64>()),
                    3 => json!(b64(&rng.gen::<[u8; 8]>())),
                    4 => json!(format!(
                        "vault:v{}:{}",
                        rng.gen_range(0..4),
                        b64(&(0..40).map(|_| rng.gen::<u8>()).collect::<Vec<u8>>())
                    )),
                    5 => json!([1, "a"]),
                    6 => json!({"k": "v"}),
                    _ => json!("x".repeat(rng.gen_range(0..120))),
                };
                o.insert(f.to_string(), v);
            }
            serde_json::to_vec(&o).unwrap()
        };
        let r = h.req(Some("1.3"), m, p, Body::Raw(body)).await;
        assert!(r.status < 500, "{m} {p} -> {} {}", r.status, r.text);
        assert!(
            matches!(r.status, 200 | 201 | 400 | 403 | 404),
            "{m} {p} -> {} {}",
            r.status,
            r.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_test_has_no_5xx_and_no_lost_updates() {
    let cfg = Config::default();
    let creds = cfg.credentials.clone();
    let srv = reference::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let report = reference::load_test(&srv.base_url(), &creds, 64, 6)
        .await
        .unwrap();
    assert!(report.requests >= 64 * 6, "{report:?}");
    assert_eq!(report.status_5xx, 0, "{report:?}");
    assert_eq!(report.lost_updates, 0, "{report:?}");
    assert_eq!(report.roundtrip_failures, 0, "{report:?}");
    assert_eq!(report.unexpected_status, 0, "{report:?}");
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_test_detects_lost_updates_under_fault() {
    // rotate-no-bump makes successful rotations vanish: the load test must notice.
    let cfg = Config {
        faults: vec![Fault::RotateNoBump],
        ..Config::default()
    };
    let creds = cfg.credentials.clone();
    let srv = reference::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let report = reference::load_test(&srv.base_url(), &creds, 8, 4)
        .await
        .unwrap();
    assert!(report.lost_updates > 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_really_deviate() {
    let create_body = json!({"name": "faulty", "description": "d", "auto_rotate": "N", "rotate_cycle": 7, "purpose": "aes256-gcm96"});

    let h = H::with_faults(&[
        Fault::CreateReturns200,
        Fault::DropRequiredField,
        Fault::WrongFieldType,
        Fault::ExtraUndocumentedField,
    ])
    .await;
    let r = h.v13("POST", "/v1/kms/transit", create_body.clone()).await;
    assert_eq!(r.status, 200);
    assert!(r.json["key"].get("use_count").is_none());
    assert_eq!(r.json["key"]["current_version"], "1");
    assert!(r.json["key"].get("internal_state").is_some());

    let h = H::with_faults(&[Fault::TextContentType, Fault::ErrorEnvelopeMissing]).await;
    let r = h.v13("GET", "/v1/kms/transit", Value::Null).await;
    assert!(r.content_type.starts_with("text/plain"));
    let r = h
        .v13("GET", "/v1/kms/transit/doesnotexist", Value::Null)
        .await;
    assert_eq!(r.status, 404);
    assert!(r.json.get("errors").is_none() && r.json.get("message").is_some());

    let h = H::with_faults(&[Fault::DecryptCorrupts, Fault::CiphertextStaleVersion]).await;
    let id = h
        .v13("POST", "/v1/kms/transit", create_body.clone())
        .await
        .json["key"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    h.v13("POST", &format!("/v1/kms/transit/{id}/rotate"), Value::Null)
        .await;
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": b64(b"abc")}),
        )
        .await;
    assert_eq!(r.json["key_version"], 2);
    let ct = r.json["ciphertext"].as_str().unwrap().to_string();
    assert!(ct.starts_with("vault:v1:"));
    // Labelled v1 but encrypted with v2: decrypting it fails authentication.
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/decrypt/{id}"),
            json!({"ciphertext": ct}),
        )
        .await;
    assert_eq!(r.status, 400);

    let h = H::with_faults(&[Fault::RewrapKeepsVersion]).await;
    let id = h.create("1.3", "rw1", "aes256-gcm96").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": b64(b"abc")}),
        )
        .await;
    let ct = r.json["ciphertext"].as_str().unwrap().to_string();
    h.v13("POST", &format!("/v1/kms/transit/{id}/rotate"), Value::Null)
        .await;
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/rewrap/{id}"),
            json!({"ciphertext": ct}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["ciphertext"], ct.as_str());
    assert!(ct.starts_with("vault:v1:"));

    let h = H::with_faults(&[Fault::DecryptCorrupts]).await;
    let id = h
        .v13("POST", "/v1/kms/transit", create_body.clone())
        .await
        .json["key"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": b64(b"abc")}),
        )
        .await;
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/decrypt/{id}"),
            json!({"ciphertext": r.json["ciphertext"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_ne!(r.json["plaintext"], b64(b"abc").as_str());

    let h = H::with_faults(&[Fault::VerifyAlwaysValid, Fault::HmacVerifyAlwaysValid]).await;
    let e = h.create("1.3", "ec1", "ecdsa-p256").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/sign/{e}"),
            json!({"input": b64(b"a")}),
        )
        .await;
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/verify/{e}"),
            json!({"input": b64(b"b"), "signature": s.json["signature"]}),
        )
        .await;
    assert_eq!(r.json["valid"], true);
    let m = h.create("1.3", "mac1", "hmac").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/hmac/verify/{m}"),
            json!({"input": b64(b"b"), "hmac": "vault:v1:AAAA"}),
        )
        .await;
    assert_eq!(r.json["valid"], true);

    let h = H::with_faults(&[Fault::DatakeyWrappedLeaksPlaintext, Fault::DatakeyMismatch]).await;
    let id = h.create("1.3", "dk1", "aria").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/datakey/{id}"),
            json!({"key_type": "wrapped"}),
        )
        .await;
    assert!(r.json["plaintext"].is_string());
    let d = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/decrypt/{id}"),
            json!({"ciphertext": r.json["ciphertext"]}),
        )
        .await;
    assert_ne!(d.json["plaintext"], r.json["plaintext"]);

    let h = H::with_faults(&[
        Fault::AuthIgnored,
        Fault::UnknownVersionServed,
        Fault::ManagedKmsBelow12,
        Fault::ManagedTypeLeak,
    ])
    .await;
    let r = h
        .send(Some("7.7"), "GET", "/v1/kms/transit", Body::None, vec![])
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .send(
            Some("1.0"),
            "GET",
            "/v1/managed-kms/transit",
            Body::None,
            vec![],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .send(
            Some("1.0"),
            "POST",
            "/v1/kms/transit",
            Body::Json(create_body.clone()),
            vec![],
        )
        .await;
    assert_eq!(r.json["key"]["managed_type"], "user");

    let h = H::with_faults(&[
        Fault::WrongErrorStatus,
        Fault::ServerErrorOnLongDescription,
        Fault::AcceptInvalidName,
        Fault::DuplicateNameAllowed,
    ])
    .await;
    let r = h.v13("GET", "/v1/kms/transit/nope", Value::Null).await;
    assert_error(&r, 400, "ValidationError");
    let mut b = create_body.clone();
    b["description"] = json!("x".repeat(101));
    assert_eq!(h.v13("POST", "/v1/kms/transit", b).await.status, 500);
    let mut b = create_body.clone();
    b["name"] = json!("Bad_Name");
    assert_eq!(
        h.v13("POST", "/v1/kms/transit", b.clone()).await.status,
        201
    );
    assert_eq!(h.v13("POST", "/v1/kms/transit", b).await.status, 201);

    let h = H::with_faults(&[
        Fault::DescriptionNotPersisted,
        Fault::RotateNoBump,
        Fault::StoppedKeyUsable,
        Fault::DeleteNotEffective,
    ])
    .await;
    let id = h.create("1.3", "keep1", "aes256-gcm96").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = h
        .v13(
            "PUT",
            &format!("/v1/kms/transit/{id}/description"),
            json!({"description": "new"}),
        )
        .await;
    assert_eq!(r.json["key"]["description"], "new");
    let r = h
        .v13("GET", &format!("/v1/kms/transit/{id}"), Value::Null)
        .await;
    assert_eq!(r.json["key"]["description"], "d");
    let r = h
        .v13("POST", &format!("/v1/kms/transit/{id}/rotate"), Value::Null)
        .await;
    assert_eq!(r.json["key"]["current_version"], 1);
    h.v13(
        "PUT",
        &format!("/v1/kms/transit/{id}/state"),
        json!({"state": "Stop"}),
    )
    .await;
    let r = h
        .v13(
            "POST",
            &format!("/v1/kms/openapi/encrypt/{id}"),
            json!({"plaintext": "AA=="}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .v13(
            "DELETE",
            &format!("/v1/kms/transit/{id}?is_directly=true"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        h.v13("GET", &format!("/v1/kms/transit/{id}"), Value::Null)
            .await
            .status,
        200
    );

    let h = H::with_faults(&[Fault::CountIsPageLength, Fault::SortIgnored]).await;
    for n in ["bbb", "aaa", "ccc"] {
        h.create("1.3", n, "hmac").await;
    }
    let r = h
        .v13("GET", "/v1/kms/transit?size=2&sort=name:asc", Value::Null)
        .await;
    assert_eq!(r.json["count"], 2);
    assert_eq!(r.json["keys"][0]["name"], "bbb");
    let h = H::with_faults(&[Fault::SizeIgnored]).await;
    for n in ["bbb", "aaa", "ccc"] {
        h.create("1.3", n, "hmac").await;
    }
    let r = h.v13("GET", "/v1/kms/transit?size=1", Value::Null).await;
    assert_eq!(r.json["keys"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_works_without_sockets_and_shutdown_stops_server() {
    use tower::ServiceExt;
    let app = reference::router(Config::default());
    let resp = app
        .oneshot(
            axum::http::Request::builder()
                .uri("/v1/kms/transit")
                .header("host", "localhost")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let h = H::new(Config::default()).await;
    let url = h.srv.base_url();
    h.srv.shutdown().await;
    assert!(reqwest::get(format!("{url}/v1/kms/transit")).await.is_err());
}

#[test]
fn fault_catalogue_is_complete() {
    assert!(
        Fault::all().len() >= 15,
        "the issue asks for at least 15 faults"
    );
    for f in Fault::all() {
        assert_eq!(f.name().parse::<Fault>().unwrap(), *f);
    }
}

/// Measurement only (run with `--ignored --nocapture`): a larger load test, printing throughput.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn load_test_measure() {
    let cfg = Config::default();
    let creds = cfg.credentials.clone();
    let srv = reference::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let report = reference::load_test(&srv.base_url(), &creds, 64, 50)
        .await
        .unwrap();
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.status_5xx + report.lost_updates, 0);
}
