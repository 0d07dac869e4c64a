//! A real HAProxy (Debian's `haproxy`, installed by `.ci/run`) in front of several
//! gateway instances, round robin with no stickiness: consecutive requests land on
//! consecutive instances, as a city deployment's balancer would send them. Like
//! `deploy/haproxy.cfg`, it appends the client's address to `X-Forwarded-For` (`option
//! forwardfor`); the gateways believe it with `GATEWAY_TRUSTED_PROXIES=127.0.0.1`.

use std::fs;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::free_port;

pub struct Haproxy {
    port: u16,
    child: Child,
    _dir: TempDir,
}

/// Whether `haproxy` can be run here; under `CI=true` it must be.
pub fn available() -> bool {
    let found = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found || std::env::var("CI").is_err(),
        "haproxy is not installed (.ci/run installs it)"
    );
    found
}

impl Haproxy {
    /// Starts HAProxy on a free port, balancing over the loopback `backends`.
    pub fn start(backends: &[u16]) -> Haproxy {
        let dir = tempfile::Builder::new()
            .prefix("haproxy-")
            .tempdir()
            .expect("temp dir for haproxy");
        let port = free_port();
        let mut cfg = format!(
            "global\n    maxconn 2000\n\ndefaults\n    mode http\n    option forwardfor\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n\nfrontend gateway\n    bind 127.0.0.1:{port}\n    default_backend gateways\n\nbackend gateways\n    balance roundrobin\n"
        );
        for (i, backend) in backends.iter().enumerate() {
            cfg.push_str(&format!("    server g{} 127.0.0.1:{backend}\n", i + 1));
        }
        let path = dir.path().join("haproxy.cfg");
        fs::write(&path, cfg).expect("write haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "haproxy did not listen on {port} within 15 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Haproxy {
            port,
            child,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
