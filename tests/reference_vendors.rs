//! The NCP and OTC reference servers over real HTTP: a request signed by an independent client
//! (NCP: signature v2 written out here; OTC: the official SDK signer through
//! `scripts/otc_sign.py`) is accepted and its answer conforms to the committed spec; a wrong
//! signature gets the vendor's auth error; every fault visibly changes some answer.

mod common;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kmsconform::reference::{ncp, otc, RunningServer};
use kmsconform::spec::validate::SchemaSet;
use kmsconform::target::sign::{otc as otc_sign, HttpRequest};
use serde_json::{json, Value};
use sha2::Sha256;
use std::path::PathBuf;

const NCP_TAG: &str = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6";
const OTC_KEY: &str = "0d0466b0-e727-4d9c-b35d-f84bb474a37f";
const UNKNOWN_OTC_KEY: &str = "00000000-0000-4000-8000-000000000000";

#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    body: Value,
}

fn spec(path: &str) -> SchemaSet {
    let doc: Value = serde_json::from_slice(
        &std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap(),
    )
    .unwrap();
    SchemaSet::new(&doc)
}

fn conforms(set: &SchemaSet, model: &str, v: &Value) -> Vec<String> {
    set.errors(&json!({"$ref": format!("#/components/schemas/{model}")}), v)
        .unwrap()
}

async fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Answer {
    let mut rb = reqwest::Client::new()
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    let r = rb.send().await.expect("send");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    assert_eq!(ct.as_deref(), Some("application/json"), "{text}");
    let mut body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    // Random per request: not part of the comparison.
    if let Some(o) = body.as_object_mut() {
        o.remove("request_id");
    }
    Answer { status, body }
}

// ---------------------------------------------------------------------------------------------
// NCP

/// Signature v2 written out independently of src/target/sign/ncp.rs (protocols.md §3).
fn ncp_client_headers(
    method: &str,
    uri: &str,
    ts: i64,
    ak: &str,
    sk: &str,
) -> Vec<(String, String)> {
    let msg = format!("{method} {uri}\n{ts}\n{ak}");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(msg.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    vec![
        ("x-ncp-apigw-timestamp".into(), ts.to_string()),
        ("x-ncp-iam-access-key".into(), ak.into()),
        ("x-ncp-apigw-signature-v2".into(), sig),
    ]
}

#[test]
fn the_independent_client_agrees_with_the_protocols_vector() {
    let h = ncp_client_headers(
        "GET",
        "/kms/v1/keys/a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6",
        1593848345548,
        "TESTACCESSKEY",
        "TESTSECRETKEY",
    );
    assert_eq!(h[2].1, "DtLymqaiSzAjFGr/G7OGnftd/T++xRGqRGaGBaa3Tos=");
}

async fn ncp_get(srv: &RunningServer, tag: &str, sk: &str, ts_offset_ms: i64) -> Answer {
    let uri = format!("{}/keys/{tag}", ncp::BASE_PATH);
    let ts = chrono::Utc::now().timestamp_millis() + ts_offset_ms;
    let h = ncp_client_headers("GET", &uri, ts, ncp::DEFAULT_ACCESS_KEY, sk);
    send("GET", &format!("{}{uri}", srv.base_url()), &h, None).await
}

async fn ncp_probes(faults: &[ncp::NcpFault]) -> Vec<Answer> {
    let cfg = ncp::Config {
        faults: faults.to_vec(),
        ..Default::default()
    };
    let srv = ncp::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sk = ncp::DEFAULT_SECRET_KEY;
    vec![
        ncp_get(&srv, NCP_TAG, sk, 0).await,
        ncp_get(
            &srv,
            "z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9e8d7c6b5a4",
            sk,
            0,
        )
        .await,
        ncp_get(&srv, "nosuchkey", sk, 0).await,
        ncp_get(&srv, NCP_TAG, "wrong-secret", 0).await,
        ncp_get(&srv, NCP_TAG, sk, -6 * 60 * 1000).await,
    ]
}

#[tokio::test]
async fn ncp_accepts_an_independent_signature_and_answers_per_the_spec() {
    let set = spec("specs/ncp-kms/v1.json");
    let a = ncp_probes(&[]).await;
    assert_eq!(a[0].status, 200);
    assert_eq!(a[0].body["code"], "SUCCESS");
    assert_eq!(a[0].body["data"]["keyTag"], NCP_TAG);
    assert!(conforms(&set, "GetKeyResponse", &a[0].body).is_empty());
    assert!(a[0].body["data"].get("destroyDate").is_none());
    // The key scheduled for deletion carries destroyDate.
    assert_eq!(a[1].status, 200);
    assert!(a[1].body["data"]["destroyDate"].is_i64());
    assert!(conforms(&set, "GetKeyResponse", &a[1].body).is_empty());
    // Unknown key: 404 in the gateway's shape.
    assert_eq!(a[2].status, 404);
    assert_eq!(a[2].body["error"]["errorCode"], "300");
    assert!(conforms(&set, "NcpGatewayError", &a[2].body).is_empty());
    // Wrong signature and stale timestamp: 401 Authentication Failed.
    for bad in &a[3..] {
        assert_eq!(bad.status, 401, "{bad:?}");
        assert_eq!(bad.body["error"]["errorCode"], "200");
        assert_eq!(bad.body["error"]["message"], "Authentication Failed");
        assert!(conforms(&set, "NcpGatewayError", &bad.body).is_empty());
    }
    assert!(a[4].body["error"]["details"]
        .as_str()
        .unwrap()
        .contains("clock skew"));
}

#[tokio::test]
async fn ncp_configured_credentials_replace_the_defaults() {
    let cfg = ncp::Config {
        credentials: kmsconform::target::sign::Credentials {
            access_key: "MYAK".into(),
            secret_key: "MYSK".into(),
            account_id: String::new(),
        },
        ..Default::default()
    };
    let srv = ncp::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let uri = format!("{}/keys/{NCP_TAG}", ncp::BASE_PATH);
    let ts = chrono::Utc::now().timestamp_millis();
    let url = format!("{}{uri}", srv.base_url());
    let ok = send(
        "GET",
        &url,
        &ncp_client_headers("GET", &uri, ts, "MYAK", "MYSK"),
        None,
    )
    .await;
    assert_eq!(ok.status, 200);
    let old = ncp_client_headers(
        "GET",
        &uri,
        ts,
        ncp::DEFAULT_ACCESS_KEY,
        ncp::DEFAULT_SECRET_KEY,
    );
    assert_eq!(send("GET", &url, &old, None).await.status, 401);
}

#[tokio::test]
async fn every_ncp_fault_changes_an_answer() {
    let set = spec("specs/ncp-kms/v1.json");
    let clean = ncp_probes(&[]).await;
    for f in ncp::NcpFault::all() {
        let faulty = ncp_probes(&[*f]).await;
        assert_ne!(faulty, clean, "fault {f} changes nothing");
        // A fault is a departure from the spec or the protocol, never a new conforming answer.
        let departs = faulty.iter().zip(&clean).any(|(x, c)| {
            let model = match x.status {
                200 => "GetKeyResponse",
                _ => "NcpGatewayError",
            };
            // registerDate counts milliseconds (the page: 밀리초).
            let ms = x.body["data"]["registerDate"]
                .as_i64()
                .is_none_or(|t| t >= 100_000_000_000);
            x.status != c.status
                || !conforms(&set, model, &x.body).is_empty()
                || (x.status == 200 && !ms)
        });
        assert!(departs, "fault {f}: {faulty:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// OTC

fn describe_url(srv: &RunningServer, project: &str) -> String {
    format!("{}/v1.0/{project}/kms/describe-key", srv.base_url())
}

/// A describe-key request signed by the official SDK; `(headers incl. Content-Type, url)`.
fn sdk_signed(
    url: &str,
    body: &[u8],
    sk: &str,
    date: chrono::DateTime<chrono::Utc>,
) -> (Vec<(String, String)>, String) {
    let answer = common::otc_oracle::Oracle::start().sign(&json!({
        "method": "POST",
        "url": url,
        "headers": [["Content-Type", "application/json"]],
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "ak": otc::DEFAULT_ACCESS_KEY,
        "sk": sk,
        "sdk_date": date.format("%Y%m%dT%H%M%SZ").to_string(),
    }));
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    for p in answer["headers"].as_array().unwrap() {
        headers.push((p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()));
    }
    // The SDK sends its own request target (canonical query); the host part is ours.
    let (scheme_host, _) = url.split_at(url.find("/v1.0").unwrap());
    (
        headers,
        format!("{scheme_host}{}", answer["uri"].as_str().unwrap()),
    )
}

#[tokio::test]
async fn otc_accepts_the_official_sdk_signature_and_answers_per_the_spec() {
    let set = spec("specs/otc-kms/v1.0.json");
    let srv = otc::spawn(otc::Config::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = describe_url(&srv, otc::DEFAULT_PROJECT_ID);
    let body = json!({"key_id": OTC_KEY, "sequence": "919c82d4-8046-4722-9094-35c3c6524cff"})
        .to_string()
        .into_bytes();
    let now = chrono::Utc::now();
    let (h, wire) = sdk_signed(&url, &body, otc::DEFAULT_SECRET_KEY, now);
    let a = send("POST", &wire, &h, Some(body.clone())).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body["key_info"]["key_id"], OTC_KEY);
    assert!(
        conforms(&set, "DescribeKeyResponse", &a.body).is_empty(),
        "{:?}",
        conforms(&set, "DescribeKeyResponse", &a.body)
    );

    // The same request signed with a wrong secret: the gateway's 401.
    let (h, wire) = sdk_signed(&url, &body, "wrong-secret", now);
    let a = send("POST", &wire, &h, Some(body.clone())).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["error_code"], "APIGW.0301");
    assert!(a.body["error_msg"]
        .as_str()
        .unwrap()
        .contains("verify aksk signature fail"));
    assert!(conforms(&set, "ApigError", &a.body).is_empty());

    // A valid SDK signature over another body does not cover this one.
    let (h, wire) = sdk_signed(&url, &body, otc::DEFAULT_SECRET_KEY, now);
    let other = json!({"key_id": UNKNOWN_OTC_KEY}).to_string().into_bytes();
    assert_eq!(send("POST", &wire, &h, Some(other)).await.status, 401);

    // Older than the 15-minute window.
    let (h, wire) = sdk_signed(
        &url,
        &body,
        otc::DEFAULT_SECRET_KEY,
        now - chrono::Duration::minutes(16),
    );
    let a = send("POST", &wire, &h, Some(body)).await;
    assert_eq!(a.status, 401);
    assert!(a.body["error_msg"].as_str().unwrap().contains("clock skew"));
}

/// A request signed by src/target/sign/otc.rs (held to the SDK by tests/otc_signer_oracle.rs).
async fn otc_post(srv: &RunningServer, body: &[u8], sk: &str, offset_secs: i64) -> Answer {
    let url = describe_url(srv, otc::DEFAULT_PROJECT_ID);
    let base = vec![("Content-Type".to_string(), "application/json".to_string())];
    let creds = kmsconform::target::sign::Credentials {
        access_key: otc::DEFAULT_ACCESS_KEY.into(),
        secret_key: sk.into(),
        account_id: String::new(),
    };
    let mut h = base.clone();
    h.extend(
        otc_sign::sign(
            &HttpRequest {
                method: "POST",
                url: &url,
                headers: &base,
                body,
            },
            &creds,
            chrono::Utc::now().timestamp_millis() + offset_secs * 1000,
        )
        .unwrap(),
    );
    send("POST", &url, &h, Some(body.to_vec())).await
}

async fn otc_probes(faults: &[otc::OtcFault]) -> Vec<Answer> {
    let cfg = otc::Config {
        faults: faults.to_vec(),
        ..Default::default()
    };
    let srv = otc::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sk = otc::DEFAULT_SECRET_KEY;
    let body = |id: &str| json!({"key_id": id}).to_string().into_bytes();
    vec![
        otc_post(&srv, &body(OTC_KEY), sk, 0).await,
        otc_post(&srv, &body("7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b"), sk, 0).await,
        otc_post(&srv, &body(UNKNOWN_OTC_KEY), sk, 0).await,
        otc_post(&srv, b"{\"key_id\": ", sk, 0).await,
        otc_post(&srv, &body("not-a-key-id"), sk, 0).await,
        otc_post(&srv, &body(OTC_KEY), "wrong-secret", 0).await,
        otc_post(&srv, &body(OTC_KEY), sk, -16 * 60).await,
    ]
}

#[tokio::test]
async fn otc_answers_per_the_spec() {
    let set = spec("specs/otc-kms/v1.0.json");
    let a = otc_probes(&[]).await;
    assert_eq!(a[0].status, 200);
    assert!(conforms(&set, "DescribeKeyResponse", &a[0].body).is_empty());
    assert_eq!(a[0].body["key_info"]["scheduled_deletion_date"], "");
    assert_eq!(a[1].status, 200);
    assert_eq!(a[1].body["key_info"]["key_state"], "4");
    assert!(conforms(&set, "DescribeKeyResponse", &a[1].body).is_empty());
    assert_eq!(a[2].status, 404);
    assert_eq!(a[3].status, 400);
    assert_eq!(a[4].status, 400);
    for e in &a[2..5] {
        assert!(
            conforms(&set, "DescribeKeyError", &e.body).is_empty(),
            "{e:?}"
        );
    }
    for e in &a[5..] {
        assert_eq!(e.status, 401);
        assert!(conforms(&set, "ApigError", &e.body).is_empty(), "{e:?}");
    }
}

#[tokio::test]
async fn every_otc_fault_changes_an_answer() {
    let set = spec("specs/otc-kms/v1.0.json");
    let clean = otc_probes(&[]).await;
    for f in otc::OtcFault::all() {
        let faulty = otc_probes(&[*f]).await;
        assert_ne!(faulty, clean, "fault {f} changes nothing");
        let departs = faulty.iter().zip(&clean).any(|(x, c)| {
            let model = match x.status {
                200 => "DescribeKeyResponse",
                401 => "ApigError",
                _ => "DescribeKeyError",
            };
            // creation_date counts milliseconds (the decision against the page's "seconds").
            let ms = x.body["key_info"]["creation_date"]
                .as_str()
                .is_none_or(|t| t.len() == 13);
            x.status != c.status
                || !conforms(&set, model, &x.body).is_empty()
                || (x.status == 200 && !ms)
        });
        assert!(departs, "fault {f}: {faulty:?}");
    }
}
