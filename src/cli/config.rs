//! `kmsconform.toml`: defaults for `run`, `replay` and `diff`, read from the current
//! directory or `--config FILE`. Keys are the commands' long flag names (`rate-limit =
//! "10/s"`, `include-operation = ["create*"]`, `header = ["X-A: b"]`, `insecure = true`);
//! each becomes the flag it names, inserted before the flags given, so that clap parses and
//! checks both alike. A flag given on the command line wins: the file's value of that key
//! (and of keys that conflict with it) is not used. Unknown keys and wrong types are input
//! errors naming the key and the file, found before anything starts.

use super::CliError;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The file read when `--config` is not given (in the current directory).
pub const DEFAULT_FILE: &str = "kmsconform.toml";

/// The commands a file applies to. One file serves them all: a key another of them takes
/// is ignored by the one that does not.
const COMMANDS: [&str; 3] = ["run", "replay", "diff"];

/// Keys a file may not hold: the file itself, and secrets (a file is easily committed;
/// credentials come from the environment or a flag).
const REFUSED: [(&str, &str); 4] = [
    ("config", "the file cannot name another file"),
    ("help", "not a setting"),
    (
        "secret-key",
        "keep secrets out of files: use the API's credential environment variable or the flag",
    ),
    (
        "token",
        "keep secrets out of files: use the API's credential environment variable or the flag",
    ),
];

/// The file that applies, when there is one: `--config FILE` (which must exist), else
/// `./kmsconform.toml` when it is a file.
fn file_for(sub: &ArgMatches) -> Option<PathBuf> {
    match sub.try_get_one::<PathBuf>("config") {
        Ok(Some(p)) => Some(p.clone()),
        _ => {
            let p = PathBuf::from(DEFAULT_FILE);
            p.is_file().then_some(p)
        }
    }
}

/// `argv` with the file's settings inserted after the subcommand, for flags not given; the
/// file used (None: no file applies, `argv` is returned as it is). `argv` that does not
/// parse is returned unchanged: clap reports it as usual.
pub fn apply(
    cli: &Command,
    argv: Vec<OsString>,
) -> Result<(Vec<OsString>, Option<PathBuf>), CliError> {
    let Ok(m) = cli.clone().try_get_matches_from(&argv) else {
        return Ok((argv, None));
    };
    let Some((name, sub)) = m.subcommand() else {
        return Ok((argv, None));
    };
    if !COMMANDS.contains(&name) {
        return Ok((argv, None));
    }
    let Some(path) = file_for(sub) else {
        return Ok((argv, None));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::Input(format!(
            "{}: cannot read the config file: {e}",
            path.display()
        ))
    })?;
    let cmd = cli
        .find_subcommand(name)
        .expect("the subcommand just parsed");
    let others: Vec<&Command> = COMMANDS
        .iter()
        .filter(|c| **c != name)
        .filter_map(|c| cli.find_subcommand(c))
        .collect();
    let tokens = tokens(&path, &text, cmd, &others, sub)?;
    let at = argv
        .iter()
        .position(|a| a == name)
        .expect("the subcommand is in argv")
        + 1;
    let mut out = argv[..at].to_vec();
    out.extend(tokens.into_iter().map(OsString::from));
    out.extend(argv[at..].iter().cloned());
    Ok((out, Some(path)))
}

/// The flags the file's settings give `cmd`, each checked by the flag's own parser.
fn tokens(
    path: &Path,
    text: &str,
    cmd: &Command,
    others: &[&Command],
    given: &ArgMatches,
) -> Result<Vec<String>, CliError> {
    let file = path.display();
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        CliError::Input(format!("{file}: not valid TOML: {}", e.message()))
    })?;
    let long = |c: &Command, key: &str| -> Option<Arg> {
        c.get_arguments()
            .find(|a| a.get_long() == Some(key))
            .cloned()
    };
    let mut out = Vec::new();
    for (key, value) in &table {
        let bad = |why: String| CliError::Input(format!("{file}: key '{key}': {why}"));
        if let Some((_, why)) = REFUSED.iter().find(|(k, _)| k == key) {
            return Err(bad(why.to_string()));
        }
        let Some(arg) = long(cmd, key) else {
            if others.iter().any(|c| long(c, key).is_some()) {
                continue; // another command's setting
            }
            let mut known: Vec<&str> = cmd
                .get_arguments()
                .filter_map(Arg::get_long)
                .filter(|l| !REFUSED.iter().any(|(k, _)| k == l))
                .collect();
            known.sort();
            return Err(bad(format!(
                "unknown key (the keys are the long flags of `kmsconform {}`: {})",
                cmd.get_name(),
                known.join(", ")
            )));
        };
        // A flag given wins, and so does one the file's value would conflict with.
        let on_command_line = |a: &Arg| {
            matches!(
                given.value_source(a.get_id().as_str()),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        if on_command_line(&arg)
            || cmd
                .get_arg_conflicts_with(&arg)
                .into_iter()
                .any(on_command_line)
        {
            continue;
        }
        let flag = format!("--{key}");
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Float(f) => Some(f.to_string()),
            _ => None,
        };
        let mut values: Vec<String> = Vec::new();
        match arg.get_action() {
            ArgAction::SetTrue => match value {
                toml::Value::Boolean(true) => out.push(flag.clone()),
                toml::Value::Boolean(false) => {}
                other => {
                    return Err(bad(format!(
                        "expected true or false, found {}",
                        other.type_str()
                    )))
                }
            },
            ArgAction::Append => match value {
                toml::Value::Array(items) => {
                    for item in items {
                        values.push(scalar(item).ok_or_else(|| {
                            bad(format!(
                                "expected an array of strings, found an array holding {}",
                                item.type_str()
                            ))
                        })?);
                    }
                }
                other => values.push(scalar(other).ok_or_else(|| {
                    bad(format!(
                        "expected a string or an array of strings, found {}",
                        other.type_str()
                    ))
                })?),
            },
            ArgAction::Set => values.push(scalar(value).ok_or_else(|| {
                bad(format!(
                    "expected a string or a number, found {}",
                    value.type_str()
                ))
            })?),
            _ => return Err(bad("cannot be set in a file".into())),
        }
        for v in values {
            check_value(&arg, key, &v).map_err(bad)?;
            if key == "header" {
                let (name, _) = super::args::parse_header(&v).map_err(bad)?;
                if crate::target::http::header_is_secret(&name) {
                    return Err(bad(format!(
                        "{name} looks like a credential: keep secrets out of files (pass it with -H from the environment, e.g. -H \"{name}: ${}\")",
                        crate::target::http::env_reference(&name)
                    )));
                }
            }
            // `--flag=value`: a value starting with '-' stays a value.
            out.push(format!("{flag}={v}"));
        }
    }
    Ok(out)
}

/// Parses `value` with the flag's own parser (and its possible values), alone.
fn check_value(arg: &Arg, key: &str, value: &str) -> Result<(), String> {
    let mut one = Arg::new(arg.get_id().clone())
        .action(ArgAction::Append)
        .allow_hyphen_values(true)
        .value_parser(arg.get_value_parser().clone());
    if let Some(d) = arg.get_value_delimiter() {
        one = one.value_delimiter(d);
    }
    let probe = Command::new("config").no_binary_name(true).arg(one);
    probe
        .try_get_matches_from([value])
        .map(|_| ())
        .map_err(|e| {
            let text = e.to_string();
            // The message and any possible values, up to clap's usage lines.
            let mut said: String = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            said = said.trim_start_matches("error: ").to_string();
            let id = arg.get_id();
            for shown in [
                format!("'[{id}]...'"),
                format!("'<{id}>...'"),
                format!("'<{id}>'"),
            ] {
                said = said.replace(&shown, &format!("--{key}"));
            }
            said
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn with_file(toml: &str, args: &[&str]) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k.toml");
        std::fs::write(&f, toml).unwrap();
        let mut argv: Vec<OsString> = vec!["kmsconform".into()];
        argv.extend(args.iter().map(OsString::from));
        argv.push("--config".into());
        argv.push(f.clone().into());
        let (out, used) = apply(&super::super::Cli::command(), argv).map_err(|e| e.to_string())?;
        assert_eq!(used.as_deref(), Some(f.as_path()));
        Ok(out
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .filter(|a| !a.ends_with("k.toml") && a != "--config")
            .collect())
    }

    #[test]
    fn keys_become_flags_before_the_given_ones() {
        let out = with_file(
            "rate-limit = \"10/s\"\ninclude-operation = [\"create*\", \"list*\"]\ninsecure = true\nretries = 2\nstrict = false\nheader = \"X-A: b\"",
            &["run", "--cases", "3"],
        )
        .unwrap();
        assert_eq!(
            out,
            [
                "kmsconform",
                "run",
                "--header=X-A: b",
                "--include-operation=create*",
                "--include-operation=list*",
                "--insecure",
                "--rate-limit=10/s",
                "--retries=2",
                "--cases",
                "3"
            ]
        );
    }

    #[test]
    fn flags_given_win_and_other_commands_keys_are_ignored() {
        let out = with_file(
            "retries = 2\nquiet = true\nthreshold = 0.5\ninclude-operation = [\"x*\"]",
            &[
                "run",
                "--retries",
                "5",
                "-v",
                "--include-operation",
                "createKey",
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            [
                "kmsconform",
                "run",
                "--retries",
                "5",
                "-v",
                "--include-operation",
                "createKey"
            ]
        );
        // diff has no --include-operation: ignored there, while its own threshold applies.
        let out = with_file("threshold = 0.5\ninclude-operation = [\"x*\"]", &["diff"]).unwrap();
        assert_eq!(out, ["kmsconform", "diff", "--threshold=0.5"]);
    }

    #[test]
    fn unknown_keys_wrong_types_and_bad_values_name_the_key_and_file() {
        for (toml, key, says) in [
            ("no-such-flag = 1", "no-such-flag", "unknown key"),
            ("insecure = \"yes\"", "insecure", "expected true or false"),
            ("retries = true", "retries", "expected a string or a number"),
            ("header = [1.5, {a = 1}]", "header", "array holding"),
            ("header = \"no colon\"", "header", "expected 'Name: value'"),
            ("rate-limit = \"fast\"", "rate-limit", "not a rate"),
            ("retries = -1", "retries", "invalid value"),
            ("color = \"sometimes\"", "color", "invalid value"),
            (
                "max-response-time = 0",
                "max-response-time",
                "invalid value",
            ),
            (
                "secret-key = \"s\"",
                "secret-key",
                "keep secrets out of files",
            ),
            (
                "header = [\"X-Api-Key: k\"]",
                "header",
                "keep secrets out of files",
            ),
            (
                "config = \"other.toml\"",
                "config",
                "cannot name another file",
            ),
        ] {
            let e = with_file(toml, &["run"]).unwrap_err();
            assert!(
                e.contains(&format!("key '{key}'")) && e.contains("k.toml") && e.contains(says),
                "{toml}: {e}"
            );
        }
        let e = with_file("rate-limit = ", &["run"]).unwrap_err();
        assert!(e.contains("k.toml: not valid TOML"), "{e}");
    }
}
