//! The dependency rule of `docs/architecture.md`, checked over the source: no cycle
//! between modules (a channel is a module of its own), and no layer reaching outward
//! (core ← pipeline ← channels ← app). A new `use crate::…` that breaks it fails here
//! with the path that does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of a module: a module may use its own layer and those below.
fn layer(module: &str) -> u8 {
    match module.split("::").next().unwrap_or(module) {
        "pipeline" | "notify" | "consultation" => 1,
        "dialogue" | "http" => 2,
        "channels" => 3,
        "app" | "schemas" | "bench" => 4,
        _ => 0,
    }
}

/// The module a source file belongs to: the first path segment under `src/`, or
/// `channels::<name>` for a channel.
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?;
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    match parts.as_slice() {
        [file] if file == "lib" || file == "main" => None,
        [first, second, ..] if first == "channels" && second != "mod" => {
            Some(format!("channels::{second}"))
        }
        [first, ..] => Some(first.clone()),
        [] => None,
    }
}

/// The module a `crate::a::b` path names, at the same granularity.
fn module_of_path(path: &str) -> String {
    let mut segments = path.split("::");
    let first = segments.next().unwrap_or_default();
    match (first, segments.next()) {
        ("channels", Some(second)) if !second.is_empty() && second != "{" => {
            format!("channels::{second}")
        }
        _ => first.to_owned(),
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::` path in a file, with `use crate::{a, b::c}` groups expanded to their
/// first segments.
fn crate_paths(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (i, _) in source.match_indices("crate::") {
        if i > 0 {
            let before = source.as_bytes()[i - 1];
            if before.is_ascii_alphanumeric() || before == b'_' {
                continue; // `my_crate::`
            }
        }
        let rest = &source[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let item = item.trim();
                if !item.is_empty() {
                    paths.push(item.to_owned());
                }
            }
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        paths.push(rest[..end].to_owned());
    }
    paths
}

/// Modules `lib.rs` declares under `#[cfg(test)]`: unit tests may reach anywhere.
fn test_only_modules() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs readable");
    let lines: Vec<&str> = lib.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].trim() == "#[cfg(test)]")
        .filter_map(|w| {
            let declared = w[1].trim().trim_end_matches(';');
            declared
                .rsplit(' ')
                .next()
                .filter(|_| declared.contains("mod "))
                .map(str::to_owned)
        })
        .collect()
}

/// module → module it uses → one file that does.
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in all {
        let Some(from) = module_of(&file) else {
            continue;
        };
        let source = std::fs::read_to_string(&file).expect("source readable");
        if test_only_modules().contains(&from) {
            continue; // compiled into the unit tests only
        }
        // Unit tests may reach anywhere; comments and docs may name any module.
        let source = source.split("#[cfg(test)]").next().unwrap_or_default();
        let source: String = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for path in crate_paths(&source) {
            let to = module_of_path(&path);
            if to.is_empty() || to == from || to == "channels" {
                continue;
            }
            let shown = file
                .strip_prefix(src())
                .unwrap_or(&file)
                .display()
                .to_string();
            graph
                .entry(from.clone())
                .or_default()
                .entry(to)
                .or_insert(shown);
        }
    }
    graph
}

#[test]
fn no_module_uses_a_module_of_an_outer_layer() {
    let mut problems = Vec::new();
    for (from, uses) in graph() {
        for (to, file) in uses {
            if layer(&to) > layer(&from) {
                problems.push(format!(
                    "{from} (layer {}) uses {to} (layer {}) in {file}",
                    layer(&from),
                    layer(&to)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn there_is_no_cycle_between_modules() {
    let graph = graph();
    // Depth-first search; a back edge is a cycle, reported with its path.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            cycles.push(cycle.join(" → "));
            return;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            visit(next, graph, stack, done, cycles);
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_sees_a_grouped_import_and_a_channel() {
    let paths = crate_paths(
        "use crate::{appeal::Channel, pipeline};\nlet x = crate::channels::telegram::X;",
    );
    assert_eq!(
        paths,
        vec!["appeal::Channel", "pipeline", "channels::telegram::X"]
    );
    assert_eq!(
        module_of_path("channels::telegram::X"),
        "channels::telegram"
    );
    assert_eq!(
        module_of(&src().join("channels/email/imap.rs")).as_deref(),
        Some("channels::email")
    );
    assert_eq!(
        module_of(&src().join("notify/route.rs")).as_deref(),
        Some("notify")
    );
}
