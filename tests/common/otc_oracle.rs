//! The official OTC SDK signer as a child process (`scripts/otc_sign.py` in the venv that
//! `scripts/otc-sdk.sh` installs). A missing venv is a test failure, never a skip.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn python() -> PathBuf {
    let tools = std::env::var_os("KMSCONFORM_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/kmsconform")
        });
    tools.join("otc-sdk/bin/python")
}

impl Oracle {
    pub fn start() -> Oracle {
        let py = python();
        assert!(
            py.exists(),
            "the OTC SDK oracle is not installed: {} is missing. Run scripts/otc-sdk.sh \
             (it installs huaweicloudsdkcore from PyPI into that venv); this test never skips.",
            py.display()
        );
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/otc_sign.py");
        let mut child = Command::new(&py)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} {}: {e}", py.display(), script.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Oracle {
            child,
            stdin,
            stdout,
        }
    }

    /// One request (the JSON of scripts/otc_sign.py) -> the SDK's answer.
    pub fn sign(&mut self, req: &Value) -> Value {
        writeln!(self.stdin, "{req}").expect("write to the oracle");
        self.stdin.flush().expect("flush the oracle's stdin");
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read the oracle");
        assert!(n > 0, "the oracle exited (see its stderr above)");
        let v: Value = serde_json::from_str(&line).expect("the oracle prints JSON");
        if let Some(e) = v.get("error") {
            panic!("the SDK could not sign {req}: {e}");
        }
        v
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
