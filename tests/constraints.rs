//! The reference and the spec agree on every constraint the spec states, and the run tries
//! every one.
//!
//! For each SCP KMS spec version, every operation's query parameters and request body are
//! walked for the constraints they state (pattern, enum, const, minimum/maximum and their
//! exclusive forms, minLength/maxLength, minItems/maxItems). For each, a negative value is
//! derived from the schema alone: the first candidate that the schema node refuses and that
//! the same node without that one keyword accepts, so it breaks exactly that constraint. It is
//! sent (signed) to the embedded reference in an otherwise valid request, which must refuse
//! it with a 4xx the operation declares; the valid request itself must be accepted. The
//! basis does not matter here: where the vendor document is silent another implementation may
//! choose differently (an advisory), but the reference is ours and enforces what our spec
//! states. Finally the generator (`case::invalid_requests`, what `kmsconform run` sends) must
//! produce a case breaking the same keyword at the same place.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use kmsconform::case::{self, GeneratedRequest, ViolationSite};
use kmsconform::reference::{self, Config, RunningServer};
use kmsconform::spec::model::{self, resolve, Operation};
use kmsconform::spec::validate::SchemaSet;
use kmsconform::target::sign::scp::ScpSigner;
use proptest::strategy::ValueTree;
use serde_json::{json, Value};

const KEYWORDS: [&str; 12] = [
    "pattern",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "multipleOf",
];

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Clone, PartialEq)]
enum Site {
    Query(String),
    /// JSON pointer into the request body.
    Body(String),
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Site::Query(n) => write!(f, "query {n}"),
            Site::Body(p) => write!(f, "body {p}"),
        }
    }
}

/// One stated constraint and the value derived to break it.
#[derive(Debug, Clone)]
struct Derived {
    op: String,
    site: Site,
    keyword: String,
    negative: Value,
}

/// Every constraint keyword under `schema` (through `$ref`, anyOf/oneOf/allOf alternatives and
/// object properties), with the instance location it applies to.
fn constraints(
    doc: &Value,
    schema: &Value,
    site: &Site,
    depth: usize,
    out: &mut Vec<(Site, String, Value)>,
) {
    if depth > 8 {
        return;
    }
    let s = resolve(schema, doc);
    let Some(o) = s.as_object() else { return };
    for k in KEYWORDS {
        if o.contains_key(k) {
            out.push((site.clone(), k.to_string(), s.clone()));
        }
    }
    for alts in ["anyOf", "oneOf", "allOf"] {
        for a in o.get(alts).and_then(Value::as_array).into_iter().flatten() {
            constraints(doc, a, site, depth + 1, out);
        }
    }
    if let (Some(props), Site::Body(at)) = (o.get("properties").and_then(Value::as_object), site) {
        for (name, p) in props {
            let child = Site::Body(format!(
                "{at}/{}",
                name.replace('~', "~0").replace('/', "~1")
            ));
            constraints(doc, p, &child, depth + 1, out);
        }
    }
}

/// Candidate values, simplest first: the empty string and short strings of a few characters
/// at the lengths the node's bounds make interesting, integers around its bounds, a string
/// no enum holds.
fn candidates(node: &Value) -> Vec<Value> {
    let num = |k: &str| node.get(k).and_then(Value::as_f64);
    let mut lens: Vec<usize> = vec![0, 1, 2, 3];
    for k in ["minLength", "maxLength"] {
        if let Some(n) = node.get(k).and_then(Value::as_u64) {
            let n = n as usize;
            lens.extend([n.saturating_sub(1), n, n + 1]);
        }
    }
    lens.sort();
    lens.dedup();
    let mut out = Vec::new();
    for n in lens {
        for c in ['a', '0', 'Y', 'N', 'A', '-', ' ', '~'] {
            out.push(json!(c.to_string().repeat(n)));
        }
    }
    out.push(json!("not-a-member"));
    let mut ints: Vec<i64> = vec![0, 1, -1];
    for k in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
        if let Some(n) = num(k) {
            let n = n as i64;
            ints.extend([n - 1, n, n + 1]);
        }
    }
    if let Some(e) = node.get("enum").and_then(Value::as_array) {
        ints.extend(e.iter().filter_map(Value::as_i64).map(|i| i + 1));
    }
    out.extend(ints.into_iter().map(|i| json!(i)));
    out
}

/// A value the node refuses and the node without `keyword` accepts: it breaks that one.
fn negative(set: &SchemaSet, node: &Value, keyword: &str) -> Option<Value> {
    let mut without = node.clone();
    without.as_object_mut()?.remove(keyword);
    candidates(node)
        .into_iter()
        .find(|v| !set.is_valid(node, v) && set.is_valid(&without, v))
}

fn set_pointer(root: &mut Value, ptr: &str, v: Value) {
    let (parent, last) = ptr.rsplit_once('/').expect("a body pointer");
    let last = last.replace("~1", "/").replace("~0", "~");
    let slot = if parent.is_empty() {
        Some(&mut *root)
    } else {
        root.pointer_mut(parent)
    };
    slot.and_then(Value::as_object_mut)
        .expect("the parent is an object of the valid body")
        .insert(last, v);
}

/// The simplest valid request the generator makes (what the run mutates), body included.
fn simplest(op: &Operation, doc: &Value, set: &SchemaSet) -> GeneratedRequest {
    let with_body = Operation {
        body_required: op.body.is_some(),
        ..op.clone()
    };
    let st = case::valid_request_strategy(&with_body, doc);
    let mut t = case::draw(
        &st,
        &mut case::runner(1, &format!("{}/valid", op.operation_id)),
    );
    while t.simplify() {}
    let g = t.current();
    if let (Some(s), Some(b)) = (&op.body, &g.body) {
        assert!(
            set.is_valid(s, b),
            "{}: simplest body {b} is invalid",
            op.operation_id
        );
    }
    g
}

struct Client {
    srv: RunningServer,
    http: reqwest::Client,
    signer: ScpSigner,
    version_header: String,
    names: std::cell::Cell<u32>,
}

impl Client {
    async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.srv.base_url())).unwrap();
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (k, v)));
        }
        let now = chrono::Utc::now().timestamp_millis();
        let headers = self.signer.sign_url(method, url.as_str(), now);
        let mut rb = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .header("Scp-Api-Version", &self.version_header);
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await.expect("send");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A name no key has: the body's `name` must be unique on createKey.
    fn fresh_name(&self) -> String {
        let n = self.names.get() + 1;
        self.names.set(n);
        format!("kcconstraint{n:04}")
    }

    async fn fresh_key(&self, create: &Operation, doc: &Value, set: &SchemaSet) -> String {
        let mut body = simplest(create, doc, set)
            .body
            .expect("createKey has a body");
        body["name"] = json!(self.fresh_name());
        let (status, resp) = self
            .send(&create.method, &create.path, &[], Some(&body))
            .await;
        assert!(
            (200..300).contains(&status),
            "createKey {body}: {status} {resp}"
        );
        resp["key"]["id"].as_str().expect("key.id").to_string()
    }
}

/// A value for the printed list: long runs of one character shortened (`"a"×101`).
fn shown(v: &Value) -> String {
    match v.as_str() {
        Some(s) if s.chars().count() > 12 => {
            let c = s.chars().next().unwrap_or(' ');
            match s.chars().all(|x| x == c) {
                true => format!("\"{c}\"×{}", s.chars().count()),
                false => v.to_string(),
            }
        }
        _ => v.to_string(),
    }
}

fn query_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_refuses_every_constraint_the_spec_states_and_the_run_tries_each() {
    let registry: Value =
        serde_json::from_slice(&std::fs::read(root().join("specs/scp-kms/versions.json")).unwrap())
            .unwrap();
    let mut derived_total = 0;
    let mut per_keyword: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines = Vec::new();
    let config = Config::default();
    let signer = ScpSigner::new(config.credentials.clone());
    let srv = reference::spawn(config, "127.0.0.1:0".parse::<SocketAddr>().unwrap())
        .await
        .expect("spawn the reference");
    let mut client = Client {
        srv,
        http: reqwest::Client::new(),
        signer,
        version_header: String::new(),
        names: std::cell::Cell::new(0),
    };
    let mut disagreements = Vec::new();
    for entry in registry["versions"].as_array().unwrap() {
        let version = entry["version"].as_str().unwrap();
        let doc: Value = serde_json::from_slice(
            &std::fs::read(
                root()
                    .join("specs/scp-kms")
                    .join(entry["spec"].as_str().unwrap()),
            )
            .unwrap(),
        )
        .unwrap();
        let set = SchemaSet::new(&doc);
        // The version header's one value, as the spec states it.
        client.version_header = doc
            .pointer("/components/parameters/ApiVersion/schema/enum/0")
            .and_then(Value::as_str)
            .expect("the version header's value")
            .to_string();
        let ops = model::operations(&doc).unwrap();
        let create = ops
            .iter()
            .find(|o| o.operation_id == "createKey")
            .expect("createKey");
        for op in &ops {
            let mut found = Vec::new();
            for p in op.params.iter().filter(|p| p.location == "query") {
                constraints(&doc, &p.schema, &Site::Query(p.name.clone()), 0, &mut found);
            }
            if let Some(b) = &op.body {
                constraints(&doc, b, &Site::Body(String::new()), 0, &mut found);
            }
            if found.is_empty() {
                continue;
            }
            let base = simplest(op, &doc, &set);
            let generated = case::invalid_requests(op, &doc, &base, &set);
            // The key the path names: a fresh user key, or (managed-key operations) one of
            // the managed keys the account holds, as suites/scp-kms/generation.json binds it.
            let key_id = if !op.path.contains("{key_id}") {
                None
            } else if let Some(list) = ops.iter().find(|l| {
                l.method == "GET"
                    && op.path.starts_with(&format!("{}/", l.path))
                    && l.path.contains("managed")
            }) {
                let (status, resp) = client.send("GET", &list.path, &[], None).await;
                assert_eq!(status, 200, "{}: {resp}", list.operation_id);
                Some(
                    resp["keys"][0]["id"]
                        .as_str()
                        .expect("a managed key")
                        .to_string(),
                )
            } else {
                Some(client.fresh_key(create, &doc, &set).await)
            };
            let path = match &key_id {
                Some(id) => op.path.replace("{key_id}", id),
                None => op.path.clone(),
            };
            let fresh_body = |c: &Client| {
                base.body.clone().map(|mut b| {
                    if op.operation_id == "createKey" {
                        b["name"] = json!(c.fresh_name());
                    }
                    b
                })
            };
            for (site, keyword, node) in found {
                let negative = negative(&set, &node, &keyword).unwrap_or_else(|| {
                    panic!(
                        "{version} {} {site}: no value breaks only {keyword} of {node}",
                        op.operation_id
                    )
                });
                let d = Derived {
                    op: op.operation_id.clone(),
                    site,
                    keyword,
                    negative,
                };
                // The request: the simplest valid one with this one value broken.
                let (query, body) = match &d.site {
                    Site::Query(name) => {
                        let schema = &op.params.iter().find(|p| &p.name == name).unwrap().schema;
                        assert!(
                            !set.is_valid(schema, &d.negative),
                            "{d:?}: the parameter's schema accepts it"
                        );
                        (
                            vec![(name.clone(), query_text(&d.negative))],
                            fresh_body(&client),
                        )
                    }
                    Site::Body(ptr) => {
                        let mut b = fresh_body(&client).expect("a body");
                        set_pointer(&mut b, ptr, d.negative.clone());
                        assert!(
                            !set.is_valid(op.body.as_ref().unwrap(), &b),
                            "{d:?}: the body schema accepts {b}"
                        );
                        (Vec::new(), Some(b))
                    }
                };
                let (status, resp) = client.send(&op.method, &path, &query, body.as_ref()).await;
                let declared = op.responses.contains_key(&status) && (400..500).contains(&status);
                let line = format!(
                    "{version} {} {} {} {} -> {status}",
                    d.op,
                    d.site,
                    d.keyword,
                    shown(&d.negative)
                );
                if !declared {
                    disagreements.push(format!(
                        "{line} (want a declared 4xx: {:?}) {resp}",
                        op.documented_statuses()
                    ));
                }
                // The run sends a case breaking the same keyword at the same place.
                let tried = generated.iter().any(|g| match (&g.violation, &d.site) {
                    (Some(ViolationSite::Query { name, keyword }), Site::Query(n)) => {
                        name == n && keyword == &d.keyword
                    }
                    (Some(ViolationSite::Body { pointer, keyword }), Site::Body(p)) => {
                        pointer == p && keyword == &d.keyword
                    }
                    _ => false,
                });
                if !tried {
                    disagreements.push(format!(
                        "{version} {} {} {}: the generator makes no case breaking it (it makes: {:?})",
                        d.op,
                        d.site,
                        d.keyword,
                        generated.iter().map(|g| &g.label).collect::<Vec<_>>()
                    ));
                }
                *per_keyword.entry(d.keyword.clone()).or_default() += 1;
                derived_total += 1;
                lines.push(line);
            }
            // The request without the broken value is accepted: the refusals were the
            // constraints', not the request's.
            let (status, resp) = client
                .send(&op.method, &path, &[], fresh_body(&client).as_ref())
                .await;
            assert!(
                (200..300).contains(&status),
                "{version} {}: the valid base request got {status} {resp}",
                op.operation_id
            );
        }
    }
    println!("{derived_total} negative constraints derived from the specs ({per_keyword:?}):");
    for l in &lines {
        println!("  {l}");
    }
    assert!(derived_total > 0, "no constraint found");
    for k in [
        "pattern",
        "enum",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
    ] {
        assert!(
            per_keyword.contains_key(k),
            "no {k} constraint found: {per_keyword:?}"
        );
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    client.srv.shutdown().await;
}
