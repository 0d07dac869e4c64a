//! The deployment files: `docker-compose.yml` (three gateways, HAProxy, a Redis primary,
//! a replica, three sentinels) passes `docker-compose config`, and HAProxy's
//! configuration passes `haproxy -c` and checks instances with `/healthz` — a Redis
//! outage must not take every instance out of the pool while each can still spool.
//! The commands run when installed (`.ci/run` installs them); the file checks always.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn installed(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn the_compose_file_is_valid_and_has_every_part() {
    if !installed("docker-compose") {
        eprintln!("docker-compose is not installed: skipped (.ci/run installs it)");
        return;
    }
    let run = |args: &[&str]| {
        Command::new("docker-compose")
            .args(args)
            .current_dir(root())
            .env("GATEWAY_SUBJECT_KEY_SECRET", "a-secret-only-for-this-check")
            .output()
            .expect("run docker-compose")
    };
    let quiet = run(&["config", "-q"]);
    assert!(
        quiet.status.success(),
        "docker-compose config -q: {}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let services = run(&["config", "--services"]);
    let services = String::from_utf8_lossy(&services.stdout);
    let mut names: Vec<&str> = services.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "gateway-1",
            "gateway-2",
            "gateway-3",
            "haproxy",
            "redis-primary",
            "redis-replica-1",
            "redis-replica-2",
            "sentinel-1",
            "sentinel-2",
            "sentinel-3"
        ]
    );
    let full = run(&["config"]);
    let full = String::from_utf8_lossy(&full.stdout);
    assert_eq!(
        full.matches("REDIS_URL: redis+sentinel://sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/oa-primary")
            .count(),
        3,
        "every gateway finds Redis through the sentinels"
    );
    assert_eq!(
        full.matches("GATEWAY_REDIS_MIN_REPLICAS: '1'").count(),
        3,
        "{full}"
    );
    // Issue 34: `/metrics` on its own port inside the network, and Open311 posting
    // closed unless integrators are named.
    assert_eq!(
        full.matches("GATEWAY_METRICS_BIND: 0.0.0.0:9464").count(),
        3,
        "{full}"
    );
    assert_eq!(
        full.matches("GATEWAY_OPEN311_INTEGRATORS:").count(),
        3,
        "{full}"
    );
}

#[test]
fn haproxy_checks_liveness_not_readiness() {
    let cfg = std::fs::read_to_string(root().join("deploy/haproxy.cfg")).expect("haproxy.cfg");
    let checks: Vec<&str> = cfg
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("option httpchk"))
        .collect();
    assert_eq!(checks, ["option httpchk GET /healthz"]);
    assert!(cfg.contains("balance roundrobin"));
    for n in 1..=3 {
        assert!(cfg.contains(&format!("server gateway-{n} gateway-{n}:8080")));
    }
    if !installed("haproxy") {
        eprintln!("haproxy is not installed: `haproxy -c` skipped (.ci/run installs it)");
        return;
    }
    // The gateways' names resolve only inside the compose network: a warning, not an error.
    let out = Command::new("haproxy")
        .args(["-c", "-f"])
        .arg(root().join("deploy/haproxy.cfg"))
        .output()
        .expect("run haproxy");
    assert!(
        out.status.success(),
        "haproxy -c: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
