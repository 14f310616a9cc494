//! `--include-operation` / `--exclude-operation`: globs over operationIds (`*` any run of
//! characters, `?` one character) choosing the operations whose cases a run sends.

use super::suite::{Step, Suite};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationFilter {
    /// Empty: every operation.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl OperationFilter {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the cases of `operation` are sent.
    pub fn allows(&self, operation: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| glob_match(g, operation)))
            && !self.exclude.iter().any(|g| glob_match(g, operation))
    }

    /// Every glob must match an operation of the selected versions: a typo would otherwise
    /// silently select nothing (or exclude nothing).
    pub fn validate<'a>(
        &self,
        operations: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), String> {
        let ops: BTreeSet<&str> = operations.into_iter().collect();
        for (flag, globs) in [
            ("--include-operation", &self.include),
            ("--exclude-operation", &self.exclude),
        ] {
            for g in globs {
                if !ops.iter().any(|o| glob_match(g, o)) {
                    return Err(format!(
                        "{flag} '{g}' matches no operation of the selected versions (have: {})",
                        ops.iter().copied().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    /// The first operation `suite` calls that the filter leaves out: the suite is not run
    /// (its steps depend on each other, so part of it proves nothing).
    pub fn blocks(&self, suite: &Suite) -> Option<String> {
        suite_operations(suite)
            .into_iter()
            .find(|op| !self.allows(op))
    }

    /// Why a suite is not run, for the coverage.
    pub fn reason(&self, suite: &Suite, operation: &str) -> String {
        let flag = if self.exclude.iter().any(|g| glob_match(g, operation)) {
            "--exclude-operation"
        } else {
            "--include-operation"
        };
        format!(
            "suite {} calls {operation}, which {flag} leaves out",
            suite.name
        )
    }
}

/// The operationIds a suite's steps call (directly, paging, or in a repeat group).
pub fn suite_operations(suite: &Suite) -> BTreeSet<String> {
    fn walk(steps: &[Step], out: &mut BTreeSet<String>) {
        for st in steps {
            out.extend(st.call.iter().cloned());
            if let Some(p) = &st.paginate {
                out.insert(p.call.clone());
            }
            if let Some(r) = &st.repeat {
                walk(&r.steps, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&suite.steps, &mut out);
    out
}

/// `*` matches any run of characters (also none), `?` exactly one; everything else itself.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // Iterative matching with backtracking to the last `*`.
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some((gi, ti));
            gi += 1;
        } else if let Some((sg, st)) = star {
            gi = sg + 1;
            ti = st + 1;
            star = Some((sg, st + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_shells() {
        assert!(glob_match("createKey", "createKey"));
        assert!(!glob_match("createKey", "createKeys"));
        assert!(glob_match("*Key", "createKey"));
        assert!(glob_match("*Key*", "showKeyVersion"));
        assert!(glob_match("list*", "listKeys"));
        assert!(glob_match("?howKey", "showKey"));
        assert!(!glob_match("?howKey", "hshowKey"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn include_then_exclude() {
        let f = OperationFilter {
            include: vec!["*Key".into()],
            exclude: vec!["delete*".into()],
        };
        assert!(f.allows("createKey") && f.allows("showKey"));
        assert!(!f.allows("deleteKey") && !f.allows("listKeys"));
        assert!(OperationFilter::default().allows("anything"));
        assert!(f.validate(["createKey", "deleteKey"]).is_ok());
        let e = f.validate(["listKeys"]).unwrap_err();
        assert!(e.contains("--include-operation '*Key'"), "{e}");
    }
}
