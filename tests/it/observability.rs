//! What an operator installs beside the gateway — the Grafana dashboard
//! (`deploy/grafana/appeal-gateway.json`) and the Prometheus alert rules
//! (`deploy/prometheus/alerts.yml`) — checked against a running gateway: every query
//! asks for metrics and labels the gateway really exports (read from its live
//! `/metrics`), the dashboard has the shape of Grafana's JSON model, every expression
//! parses (`promtool check rules`), the alerts pass their unit tests (`promtool test
//! rules`), and each alert has its runbook in `docs/operations.md`.
//!
//! `promtool` comes with Debian's `prometheus` package; `.ci/run` installs it, and under
//! `CI=true` a missing `promtool` fails these tests instead of skipping them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::prometheus::{Exposition, required_tool, run_ok};
use crate::support::*;
use regex::Regex;
use serde_json::{Value, json};

const DASHBOARD: &str = "deploy/grafana/appeal-gateway.json";
const ALERTS: &str = "deploy/prometheus/alerts.yml";
const ALERT_TESTS: &str = "deploy/prometheus/alerts.test.yml";
const SCRAPE_CONFIG: &str = "deploy/prometheus/prometheus.yml";
const RUNBOOK: &str = "docs/operations.md";
const PROMTOOL_HINT: &str = "apt-get install prometheus";

/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A gateway that has seen an accepted appeal, a refused one and a subject request, and
/// its `/metrics` after that: what Prometheus would scrape.
async fn live_metrics() -> Exposition {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();
    api.post_appeal(CRM_TOKEN, &valid_appeal(), None)
        .await
        .expect_status(202);
    let mut no_consent = valid_appeal();
    no_consent.as_object_mut().unwrap().remove("consent");
    api.post_appeal(CRM_TOKEN, &no_consent, None)
        .await
        .expect_status(422);
    api.post_subject_request(&json!({
        "kind": "access",
        "channel": "api",
        "subject": {"phone": "+7 701 555 01 23"}
    }))
    .await
    .expect_status(202);
    api.wait_drained().await;
    Exposition::parse(&api.metrics().await)
}

/// Grafana's variables, replaced by what Grafana would put in their place.
fn expand_variables(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__range", "1d")
        .replace("$__interval", "1m")
        .replace("$instance", ".*")
}

/// What a PromQL expression asks for: the gateway metrics it names, the labels it
/// matches on each, and the labels it groups by. Regular expressions over the text, not
/// a PromQL parser (there is no maintained one in Rust); `promtool` checks the syntax.
struct Query {
    metrics: BTreeSet<String>,
    /// (metric, label) for every matcher in a selector's braces.
    matchers: Vec<(String, String)>,
    /// Labels in `by (…)` and `without (…)`.
    grouping: BTreeSet<String>,
}

impl Query {
    fn of(expr: &str) -> Query {
        let selector = Regex::new(r"\b(gateway_[a-z0-9_]+|up)\b(\{([^}]*)\})?").unwrap();
        let matcher = Regex::new(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)").unwrap();
        let grouping = Regex::new(r"\b(?:by|without)\s*\(([^)]*)\)").unwrap();
        let mut q = Query {
            metrics: BTreeSet::new(),
            matchers: Vec::new(),
            grouping: BTreeSet::new(),
        };
        for c in selector.captures_iter(expr) {
            let name = c[1].to_owned();
            if let Some(braces) = c.get(3) {
                for m in matcher.captures_iter(braces.as_str()) {
                    q.matchers.push((name.clone(), m[1].to_owned()));
                }
            }
            q.metrics.insert(name);
        }
        for c in grouping.captures_iter(expr) {
            q.grouping.extend(
                c[1].split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        q
    }

    /// Every problem of the query against what the gateway exports.
    fn problems(&self, exported: &Exposition) -> Vec<String> {
        let mut problems = Vec::new();
        let mut available: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
        for metric in self.metrics.iter().filter(|m| m.as_str() != "up") {
            if exported.has(metric) {
                available.extend(exported.labels(metric));
            } else {
                problems.push(format!("metric {metric} is not exported"));
            }
        }
        for (metric, label) in &self.matchers {
            let known = metric == "up"
                || TARGET_LABELS.contains(&label.as_str())
                || exported.labels(metric).contains(label);
            if !known {
                problems.push(format!("{metric} has no label {label}"));
            }
        }
        for label in &self.grouping {
            if !available.contains(label) {
                problems.push(format!(
                    "grouping by {label}, which none of its metrics has"
                ));
            }
        }
        problems
    }
}

/// A rule file with one recording rule per expression, for `promtool check rules`: the
/// way to have Prometheus's own parser read the dashboard's queries.
fn recording_rules(exprs: &[(String, String)]) -> String {
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (record, expr) in exprs {
        // A JSON string is a valid YAML double-quoted scalar.
        let quoted = serde_json::to_string(expr).unwrap();
        yaml.push_str(&format!(
            "      - record: {record}\n        expr: {quoted}\n"
        ));
    }
    yaml
}

/// Whether two panels' rectangles on Grafana's 24-column grid overlap.
fn overlap(a: &Value, b: &Value) -> bool {
    let r = |p: &Value, k: &str| p["gridPos"][k].as_i64().unwrap_or(0);
    r(a, "x") < r(b, "x") + r(b, "w")
        && r(b, "x") < r(a, "x") + r(a, "w")
        && r(a, "y") < r(b, "y") + r(b, "h")
        && r(b, "y") < r(a, "y") + r(a, "h")
}

/// The structure Grafana's dashboard JSON model requires of the file (schema 39,
/// Grafana 10/11), every problem listed.
fn dashboard_shape_problems(d: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    check(
        d["title"].as_str().is_some_and(|t| !t.is_empty()),
        "title".into(),
    );
    check(
        d["uid"].as_str().is_some_and(|u| {
            !u.is_empty()
                && u.len() <= 40
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }),
        "uid: 1 to 40 characters of [A-Za-z0-9_-]".into(),
    );
    check(
        d["id"].is_null(),
        "id must be null so that an import creates the dashboard".into(),
    );
    check(
        d["schemaVersion"].as_i64().is_some_and(|v| v >= 36),
        "schemaVersion (36 or later)".into(),
    );
    check(
        d["time"]["from"].is_string() && d["time"]["to"].is_string(),
        "time.from/to".into(),
    );
    let variables: Vec<&Value> = d["templating"]["list"]
        .as_array()
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    let names: BTreeSet<&str> = variables
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    check(
        variables.iter().any(|v| {
            v["name"] == "datasource" && v["type"] == "datasource" && v["query"] == "prometheus"
        }),
        "a `datasource` variable of Prometheus data sources".into(),
    );
    check(names.contains("instance"), "an `instance` variable".into());

    let Some(panels) = d["panels"].as_array().filter(|p| !p.is_empty()) else {
        problems.push("panels: a non-empty array".into());
        return problems;
    };
    let known_types = [
        "row",
        "timeseries",
        "stat",
        "table",
        "state-timeline",
        "gauge",
        "bargauge",
    ];
    let variable = Regex::new(r"\$([a-z_]+)").unwrap();
    let mut ids = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().unwrap_or("?");
        let mut check = |ok: bool, what: &str| {
            if !ok {
                problems.push(format!("panel {title:?}: {what}"));
            }
        };
        check(
            p["id"].as_u64().is_some_and(|id| ids.insert(id)),
            "a unique numeric id",
        );
        check(!title.is_empty() && title != "?", "a title");
        check(
            p["type"].as_str().is_some_and(|t| known_types.contains(&t)),
            "a core panel type",
        );
        let g = &p["gridPos"];
        let int = |k: &str| g[k].as_i64();
        check(
            matches!((int("x"), int("y"), int("w"), int("h")),
                (Some(x), Some(y), Some(w), Some(h)) if x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= 24),
            "gridPos {x, y, w, h} inside the 24 columns",
        );
        if p["type"] == "row" {
            check(
                p["panels"].is_array() && p["collapsed"] == false,
                "an open row",
            );
            continue;
        }
        check(
            p["datasource"] == json!({"type": "prometheus", "uid": "${datasource}"}),
            "the dashboard's Prometheus data source",
        );
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        check(!targets.is_empty(), "at least one query");
        let mut ref_ids = BTreeSet::new();
        for t in &targets {
            check(
                t["refId"]
                    .as_str()
                    .is_some_and(|r| ref_ids.insert(r.to_owned())),
                "unique refIds",
            );
            check(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                "a PromQL expr",
            );
            for var in variable.captures_iter(t["expr"].as_str().unwrap_or("")) {
                let var = &var[1];
                check(
                    var.starts_with("__") || names.contains(var),
                    &format!("${var} is not a dashboard variable"),
                );
            }
        }
    }
    for (i, a) in panels.iter().enumerate() {
        for b in &panels[i + 1..] {
            if overlap(a, b) {
                problems.push(format!("panels {} and {} overlap", a["title"], b["title"]));
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_what_the_gateway_exports_in_grafanas_model() {
    let dashboard: Value =
        serde_json::from_str(&read(DASHBOARD)).expect("the dashboard is one JSON document");
    let problems = dashboard_shape_problems(&dashboard);
    assert!(problems.is_empty(), "{DASHBOARD}:\n{}", problems.join("\n"));

    let exported = live_metrics().await;
    let mut problems = Vec::new();
    let mut exprs = Vec::new();
    let mut named = BTreeSet::new();
    let legend_label = Regex::new(r"\{\{\s*([a-zA-Z_]+)\s*\}\}").unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = expand_variables(target["expr"].as_str().unwrap());
            let query = Query::of(&expr);
            for p in query.problems(&exported) {
                problems.push(format!("{}: {p}: {expr}", panel["title"]));
            }
            // A legend names only labels the query keeps.
            let legend = target["legendFormat"].as_str().unwrap_or("");
            for c in legend_label.captures_iter(legend) {
                if !query.grouping.contains(&c[1]) {
                    problems.push(format!(
                        "{}: legend {{{{{}}}}} is not kept by the query",
                        panel["title"], &c[1]
                    ));
                }
            }
            named.extend(query.metrics);
            exprs.push((
                format!(
                    "dashboard:panel_{}_{}",
                    panel["id"],
                    target["refId"].as_str().unwrap()
                ),
                expr,
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{DASHBOARD} against the live /metrics:\n{}",
        problems.join("\n")
    );

    // What the issue asks the dashboard to show.
    for wanted in [
        "gateway_appeals_accepted_total",
        "gateway_appeals_refused_total",
        "gateway_outbox_depth",
        "gateway_outbox_oldest_age_seconds",
        "gateway_forward_latency_seconds_bucket",
        "gateway_replies_total",
        "gateway_replies_dead_lettered_total",
        "gateway_webhook_duplicates_total",
        "gateway_ready",
    ] {
        assert!(
            named.contains(wanted),
            "the dashboard has no panel on {wanted}"
        );
    }

    if let Some(promtool) = required_tool("promtool", PROMTOOL_HINT) {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("dashboard-queries.yml");
        std::fs::write(&rules, recording_rules(&exprs)).unwrap();
        run_ok(&promtool, &["check", "rules", rules.to_str().unwrap()]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alert_rules_pass_promtool_and_each_has_a_runbook() {
    let rules = read(ALERTS);
    let alerts: Vec<String> = Regex::new(r"(?m)^\s*- alert:\s*([A-Za-z0-9_]+)\s*$")
        .unwrap()
        .captures_iter(&rules)
        .map(|c| c[1].to_owned())
        .collect();
    for wanted in [
        "GatewayOutboxNotDraining",
        "GatewayRedisUnreachable",
        "GatewayDeadLettersRising",
        "GatewayNotifierFallingBehind",
        "GatewayNoAppealsForAnHour",
        "GatewayInstanceNotReady",
    ] {
        assert!(
            alerts.iter().any(|a| a == wanted),
            "{ALERTS} has no alert {wanted}"
        );
    }

    // Every alert's runbook: a section of docs/operations.md named after it, linked from
    // the rule.
    let runbook = read(RUNBOOK);
    for alert in &alerts {
        assert!(
            runbook
                .lines()
                .any(|l| l.starts_with('#') && l.contains(alert.as_str())),
            "{RUNBOOK} has no section on {alert}"
        );
        let link = format!(
            "runbook_url: \"docs/operations.md#{}\"",
            alert.to_lowercase()
        );
        assert!(
            rules.contains(&link),
            "{alert} does not link its runbook ({link})"
        );
    }

    // The rules name metrics and labels the gateway exports (the unit tests below feed
    // them series by hand, so they alone would not notice a renamed metric).
    let exported = live_metrics().await;
    let problems = Query::of(&rules).problems(&exported);
    assert!(
        problems.is_empty(),
        "{ALERTS} against the live /metrics:\n{}",
        problems.join("\n")
    );

    if let Some(promtool) = required_tool("promtool", PROMTOOL_HINT) {
        let checked = run_ok(
            &promtool,
            &["check", "rules", repo(ALERTS).to_str().unwrap()],
        );
        assert!(
            checked.contains(&format!("{} rules found", alerts.len())),
            "promtool found another number of rules than {}:\n{checked}",
            alerts.len()
        );
        let tested = run_ok(
            &promtool,
            &["test", "rules", repo(ALERT_TESTS).to_str().unwrap()],
        );
        assert!(tested.contains("SUCCESS"), "promtool test rules:\n{tested}");
        run_ok(
            &promtool,
            &["check", "config", repo(SCRAPE_CONFIG).to_str().unwrap()],
        );
    }
}
