//! Resources the run created, so that whatever a case did not delete is deleted at the end
//! (also after Ctrl-C), and what could not be deleted is reported. Which answers create a
//! resource and how one is removed come from the profile's `cleanup`.

use super::suite::Step;
use crate::target::http::{Request, Response};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The profile's cleanup rule, with its steps parsed.
#[derive(Clone)]
pub struct CleanupRule {
    /// operationId → pointer to the created id in its 2xx answer.
    pub created_by: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

impl CleanupRule {
    pub fn parse(c: &crate::spec::profile::Cleanup) -> Result<Self, String> {
        let steps = c
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                serde_json::from_value::<Step>(s.clone())
                    .map_err(|e| format!("profile.json: cleanup step {}: {e}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if steps.is_empty() || steps.iter().any(|s| s.call.is_none()) {
            return Err("profile.json: cleanup needs at least one step, each with a call".into());
        }
        Ok(Self {
            created_by: c.created_by.clone(),
            steps,
        })
    }

    /// The step that removes the resource: the last one.
    fn removal(&self) -> &Step {
        self.steps.last().expect("parse refuses empty cleanups")
    }
}

/// A resource the target still holds at the end of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Leftover {
    pub version: String,
    pub id: String,
    /// The case that created it.
    pub case: String,
    pub reason: String,
}

#[derive(Default)]
pub struct Ledger {
    rule: Option<CleanupRule>,
    /// (version, id, case) in creation order.
    created: Mutex<Vec<(String, String, String)>>,
    removed: Mutex<BTreeSet<String>>,
}

impl Ledger {
    pub fn new(rule: Option<CleanupRule>) -> Self {
        Self {
            rule,
            ..Default::default()
        }
    }

    pub fn rule(&self) -> Option<&CleanupRule> {
        self.rule.as_ref()
    }

    /// Note what an answered request created or removed.
    pub fn observe(
        &self,
        version: &str,
        operation: &str,
        case: &str,
        req: &Request,
        resp: &Response,
    ) {
        let Some(rule) = &self.rule else { return };
        if !(200..300).contains(&resp.status) {
            return;
        }
        if let Some(ptr) = rule.created_by.get(operation) {
            if let Some(id) = resp
                .json
                .as_ref()
                .and_then(|j| j.pointer(ptr))
                .and_then(id_text)
            {
                self.created.lock().push((version.into(), id, case.into()));
            }
        }
        let removal = rule.removal();
        if removal.call.as_deref() == Some(operation) {
            let wants_query = removal.query.iter().all(|(k, v)| {
                let v = crate::run::template::text(v);
                req.query
                    .iter()
                    .any(|(qk, qv)| qk == k && (v.contains("{{") || *qv == v))
            });
            if wants_query {
                let created = self.created.lock();
                let mut removed = self.removed.lock();
                for (_, id, _) in created.iter() {
                    let enc = crate::target::http::encode(id);
                    if req.path.split('/').any(|seg| seg == enc) {
                        removed.insert(id.clone());
                    }
                }
            }
        }
    }

    /// Created and not (yet) removed, per version, in creation order.
    pub fn outstanding(&self) -> Vec<(String, String, String)> {
        let removed = self.removed.lock();
        self.created
            .lock()
            .iter()
            .filter(|(_, id, _)| !removed.contains(id))
            .cloned()
            .collect()
    }

    pub fn mark_removed(&self, id: &str) {
        self.removed.lock().insert(id.to_string());
    }

    pub fn created_count(&self) -> usize {
        self.created.lock().len()
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
