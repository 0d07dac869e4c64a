//! Reading what the gateway says to Prometheus, and running Prometheus's own tools.
//!
//! [`Exposition`] parses the `/metrics` text into sample names and their label names, so
//! a test can check that a dashboard's or an alert's query asks for something the
//! gateway exports. [`required_tool`] finds a command such as `promtool`: missing on a
//! developer's machine the test says so and passes; missing in CI (`CI=true`, as
//! `.ci/run` is run) it fails, because `.ci/run` installs it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

/// The samples of one `/metrics` text: each sample name (`gateway_outbox_depth`,
/// `gateway_forward_latency_seconds_bucket`, …) with the label names it carries.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: BTreeMap<String, BTreeSet<String>>,
    /// Every label value of every sample, with the sample line it is on.
    pub label_values: Vec<(String, String)>,
}

impl Exposition {
    /// Parses the Prometheus text format (0.0.4) the gateway writes. Hand-written: the
    /// format is line-based and the gateway's label values never hold quotes or commas (route patterns may hold braces: the labels end at the last one).
    pub fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (name, labels) = match line.split_once('{') {
                Some((name, rest)) => (name, rest.rsplit_once('}').map_or("", |(l, _)| l)),
                None => (line.split(' ').next().unwrap_or(""), ""),
            };
            let names = out.samples.entry(name.to_owned()).or_default();
            for pair in labels.split(',').filter(|p| !p.is_empty()) {
                if let Some((label, value)) = pair.split_once('=') {
                    names.insert(label.to_owned());
                    out.label_values
                        .push((value.trim_matches('"').to_owned(), line.to_owned()));
                }
            }
        }
        out
    }

    /// Whether a sample of that name is exported.
    pub fn has(&self, name: &str) -> bool {
        self.samples.contains_key(name)
    }

    /// The label names of a sample (empty if it is not exported).
    pub fn labels(&self, name: &str) -> BTreeSet<String> {
        self.samples.get(name).cloned().unwrap_or_default()
    }
}

/// The path of `command` if it runs (`command --version` exits 0). When it does not:
/// `None` on a developer's machine (with a line on stderr), a panic under `CI=true`.
pub fn required_tool(command: &str, install_hint: &str) -> Option<PathBuf> {
    let runs = Command::new(command)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if runs {
        return Some(PathBuf::from(command));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("`{command}` is required in CI and is not installed ({install_hint})");
    }
    eprintln!("SKIPPED: `{command}` is not installed ({install_hint}); CI=true makes this fail");
    None
}

/// Runs `command args…`, panicking with its output unless it exits 0; returns stdout.
pub fn run_ok(command: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(command)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", command.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{stdout}\n{stderr}",
        command.display(),
        out.status
    );
    stdout
}
