//! Cross-target comparison with noise cancellation (after Twitter's Diffy): the baseline is
//! exercised twice with the same cases; per operation and JSON path, a difference between
//! candidate and baseline counts only where it is more frequent than the disagreement of
//! the baseline with itself. No field list needed: ids, timestamps and ciphertexts are noise
//! because the baseline disagrees with itself there.

use super::{align_key, render_exchange, unified};
use crate::run::record::Exchange;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetDiff {
    pub operation: String,
    /// Generalised location (`keys[].id`), or `$status`, or `$case` for a missing exchange.
    pub location: String,
    /// Exchanges compared at this path.
    pub compared: usize,
    /// Baseline vs baseline disagreements.
    pub noise: usize,
    /// Candidate vs baseline disagreements.
    pub differing: usize,
    pub example_case: String,
    pub example_diff: String,
}

/// Per (operation, location): compared, noisy, differing, and the first (case, diff) shown.
type PathStats = (usize, usize, usize, Option<(String, String)>);

/// Leaf values by pointer, plus `$status`.
fn leaves(e: &Exchange) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert("$status".to_string(), serde_json::json!(e.status));
    fn go(v: &Value, at: String, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                o.iter().for_each(|(k, x)| go(x, format!("{at}/{k}"), out))
            }
            Value::Array(a) if !a.is_empty() => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| go(x, format!("{at}/{i}"), out)),
            other => {
                out.insert(at, other.clone());
            }
        }
    }
    if let Some(b) = &e.body {
        go(b, String::new(), &mut out);
    }
    out
}

/// Differences of `candidate` from `baseline` that exceed the baseline's own noise by more
/// than `threshold` (a rate in 0..=1).
pub fn compare(
    baseline: &[Exchange],
    baseline_again: &[Exchange],
    candidate: &[Exchange],
    threshold: f64,
) -> Vec<TargetDiff> {
    let index = |t: &[Exchange]| -> BTreeMap<String, Exchange> {
        t.iter().map(|e| (align_key(e), e.clone())).collect()
    };
    let (b1, b2, c) = (index(baseline), index(baseline_again), index(candidate));
    let mut stats: BTreeMap<(String, String), PathStats> = BTreeMap::new();
    for (key, x) in &b1 {
        let Some(y) = b2.get(key) else { continue };
        let entry_key = |loc: String| (x.operation.clone(), loc);
        let Some(z) = c.get(key) else {
            let e = stats.entry(entry_key("$case".into())).or_default();
            e.0 += 1;
            e.2 += 1;
            e.3.get_or_insert_with(|| {
                (
                    key.clone(),
                    format!("the candidate has no exchange for {key}"),
                )
            });
            continue;
        };
        let (lx, ly, lz) = (leaves(x), leaves(y), leaves(z));
        let paths: BTreeSet<&String> = lx.keys().chain(ly.keys()).chain(lz.keys()).collect();
        let mut per_loc: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        for p in paths {
            let loc = if p == "$status" {
                p.clone()
            } else {
                super::location(p)
            };
            let noisy = lx.get(p) != ly.get(p);
            let differs = lx.get(p) != lz.get(p);
            let e = per_loc.entry(loc).or_default();
            e.0 |= noisy;
            e.1 |= differs;
        }
        for (loc, (noisy, differs)) in per_loc {
            let e = stats.entry(entry_key(loc)).or_default();
            e.0 += 1;
            e.1 += noisy as usize;
            e.2 += differs as usize;
            if differs && !noisy && e.3.is_none() {
                e.3 = Some((
                    key.clone(),
                    unified(
                        &render_exchange(x),
                        &render_exchange(z),
                        "baseline",
                        "candidate",
                    ),
                ));
            }
        }
    }
    stats
        .into_iter()
        .filter(|(_, (n, noise, diff, _))| {
            *n > 0 && (*diff as f64 - *noise as f64) / *n as f64 > threshold
        })
        .map(
            |((operation, location), (compared, noise, differing, ex))| {
                let (example_case, example_diff) = ex.unwrap_or_default();
                TargetDiff {
                    operation,
                    location,
                    compared,
                    noise,
                    differing,
                    example_case,
                    example_diff,
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ex(case: &str, body: Value) -> Exchange {
        Exchange {
            version: "1.3".into(),
            case: format!("1.3/{case}"),
            label: "l".into(),
            operation: "showKey".into(),
            status: Some(200),
            body: Some(body),
        }
    }

    #[test]
    fn noise_cancels_and_real_differences_remain() {
        let b1 = vec![
            ex("a", json!({"key": {"id": "1", "v": 1}})),
            ex("b", json!({"key": {"id": "2", "v": 1}})),
        ];
        let b2 = vec![
            ex("a", json!({"key": {"id": "3", "v": 1}})),
            ex("b", json!({"key": {"id": "4", "v": 1}})),
        ];
        let same = vec![
            ex("a", json!({"key": {"id": "5", "v": 1}})),
            ex("b", json!({"key": {"id": "6", "v": 1}})),
        ];
        assert!(compare(&b1, &b2, &same, 0.0).is_empty());
        let bad = vec![
            ex("a", json!({"key": {"id": "5", "v": "1"}})),
            ex("b", json!({"key": {"id": "6", "v": "1"}})),
        ];
        let d = compare(&b1, &b2, &bad, 0.0);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].location, "key.v");
        assert_eq!((d[0].compared, d[0].noise, d[0].differing), (2, 0, 2));
        assert!(
            compare(&b1, &b2, &bad, 0.99).len() == 1 && compare(&b1, &b2, &bad, 1.0).is_empty()
        );
    }
}
