//! Text and Markdown renderings of `spec diff` / `spec drift` findings (JSON is serde's).

use crate::spec::changes::Level;
use crate::spec::diff::{count, Finding};

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Breaking => "breaking",
    }
}

fn summary(findings: &[Finding]) -> String {
    format!(
        "{} breaking, {} warning, {} info",
        count(findings, Level::Breaking),
        count(findings, Level::Warning),
        count(findings, Level::Info)
    )
}

fn subject(f: &Finding) -> String {
    let c = &f.change;
    let mut s = c.operation.clone();
    if let Some(st) = &c.status {
        s.push_str(&format!(" [{st}]"));
    }
    if let Some(l) = &c.location {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(l);
    }
    s
}

pub fn text(findings: &[Finding], title: &str) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{:<8} {:<38} {:<9} {}: {}\n",
            level_name(f.change.level),
            f.change.id,
            f.scope,
            subject(f),
            f.change.text
        ));
    }
    out.push_str(&format!("{} in {title}\n", summary(findings)));
    out
}

pub fn markdown(findings: &[Finding], title: &str) -> String {
    let mut out = format!("## {title}\n\n{}\n\n", summary(findings));
    if findings.is_empty() {
        return out;
    }
    out.push_str("| Level | Rule | Version | Where | Change |\n|---|---|---|---|---|\n");
    let cell = |s: &str| s.replace('|', "\\|");
    for f in findings {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            level_name(f.change.level),
            f.change.id,
            cell(&f.scope),
            cell(&subject(f)),
            cell(&f.change.text)
        ));
    }
    out
}
