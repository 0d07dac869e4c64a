//! The gateway process: its settings ([`GatewayOptions`]), a run to its exit
//! ([`run_to_exit`]), and a [`Gateway`] on free ports, killed on drop.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;

/// How to start a [`Gateway`]: the environment and the command-line arguments.
/// `GATEWAY_BIND` and `GATEWAY_DATA_DIR` are set by the gateway helper itself unless the
/// options name them.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    pub env: BTreeMap<String, String>,
    pub args: Vec<String>,
}

impl GatewayOptions {
    /// The environment every test starts from.
    pub fn new(redis_url: &str) -> Self {
        let env = [
            ("REDIS_URL", redis_url),
            ("GATEWAY_STREAM_PREFIX", PREFIX),
            ("GATEWAY_SUBJECT_KEY_SECRET", SUBJECT_KEY_SECRET),
            // The CRM is the city's own system: it also files subject requests for the
            // data-protection officer and announces calls (issue 34's scopes).
            (
                "GATEWAY_API_TOKENS",
                &format!("crm:{CRM_TOKEN}:scopes=subject_requests+calls,portal:{PORTAL_TOKEN}"),
            ),
            // The test deployment's MTA, whose DMARC verdicts prove a mail's sender
            // (`tests/fixtures/email/marker_*.eml` carry one).
            ("GATEWAY_MAIL_TRUSTED_AUTHSERV", MTA_AUTHSERV),
            ("GATEWAY_LOG", "debug"),
            ("GATEWAY_LOG_FORMAT", "json"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        GatewayOptions {
            env,
            args: vec!["serve".into()],
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self
    }
}

/// Path of the binary under test.
pub fn gateway_bin() -> &'static str {
    env!("CARGO_BIN_EXE_appeal-gateway")
}

/// Runs the binary to its end (for `--help` and refused configurations): returns the
/// exit status, stdout and stderr. Panics if it is still running after `timeout` (a
/// gateway that started serving despite a wrong configuration).
pub fn run_to_exit(opts: &GatewayOptions, timeout: Duration) -> (ExitStatus, String, String) {
    let work = tempfile::Builder::new()
        .prefix("gw-run-")
        .tempdir()
        .unwrap();
    let out_path = work.path().join("stdout");
    let err_path = work.path().join("stderr");
    let mut cmd = Command::new(gateway_bin());
    cmd.args(&opts.args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Any free port for `/metrics`: tests run side by side, and a run that serves
        // must not find the default port taken by another.
        .env("GATEWAY_METRICS_BIND", "127.0.0.1:0")
        .envs(&opts.env)
        .current_dir(work.path())
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("spawn appeal-gateway");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "appeal-gateway {:?} with {:?} was still running after {timeout:?}; stderr:\n{}",
                opts.args,
                opts.env,
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        fs::read_to_string(&out_path).unwrap_or_default(),
        fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

/// A running `appeal-gateway serve`. Its stderr (the log) and stdout go to files that
/// survive restarts; its data directory survives [`Gateway::kill9`] and
/// [`Gateway::restart`]. Killed on drop.
pub struct Gateway {
    opts: GatewayOptions,
    work: TempDir,
    data_dir: PathBuf,
    child: Option<Child>,
    port: u16,
    /// `GATEWAY_METRICS_BIND`'s port: `/metrics` is not on the service's port.
    metrics_port: u16,
}

impl Gateway {
    /// Starts a gateway with the default options against `redis`, and waits for
    /// `/healthz`.
    pub async fn start(redis: &RedisServer) -> Gateway {
        Self::start_with(GatewayOptions::new(&redis.url())).await
    }

    /// Starts a gateway with `opts`, and waits for `/healthz`.
    pub async fn start_with(opts: GatewayOptions) -> Gateway {
        let work = tempfile::Builder::new().prefix("gw-").tempdir().unwrap();
        let data_dir = match opts.env.get("GATEWAY_DATA_DIR") {
            Some(d) => PathBuf::from(d),
            None => work.path().join("data"),
        };
        fs::create_dir_all(&data_dir).unwrap();
        let mut gw = Gateway {
            opts,
            work,
            data_dir,
            child: None,
            port: 0,
            metrics_port: 0,
        };
        gw.spawn();
        gw.wait_healthy().await;
        gw
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "gateway already running");
        self.port = match self.opts.env.get("GATEWAY_BIND") {
            Some(bind) => bind.rsplit(':').next().unwrap().parse().unwrap(),
            None => free_port(),
        };
        self.metrics_port = match self.opts.env.get("GATEWAY_METRICS_BIND") {
            Some(bind) => bind.rsplit(':').next().unwrap().parse().unwrap(),
            None => free_port(),
        };
        let append = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.work.path().join(name))
                .unwrap()
        };
        let mut cmd = Command::new(gateway_bin());
        cmd.args(&self.opts.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GATEWAY_BIND", format!("127.0.0.1:{}", self.port))
            .env("GATEWAY_DATA_DIR", &self.data_dir)
            .env(
                "GATEWAY_METRICS_BIND",
                format!("127.0.0.1:{}", self.metrics_port),
            )
            .envs(&self.opts.env)
            .current_dir(self.work.path())
            .stdin(Stdio::null())
            .stdout(append("stdout.log"))
            .stderr(append("stderr.log"));
        self.child = Some(cmd.spawn().expect("spawn appeal-gateway"));
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let start = Instant::now();
        let in_use = "Address already in use";
        let clashes_before = self.logs().matches(in_use).count();
        let mut respawns = 0;
        loop {
            let url = self.url("/healthz");
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                // A port picked by `free_port` can be taken by another test's process
                // between the pick and the gateway's bind; pick again, a few times, unless
                // the test pinned its ports.
                let pinned = self.opts.env.contains_key("GATEWAY_BIND")
                    || self.opts.env.contains_key("GATEWAY_METRICS_BIND");
                let clashes = self.logs().matches(in_use).count() - clashes_before;
                if !pinned && respawns < 3 && clashes > respawns {
                    respawns += 1;
                    self.spawn();
                    continue;
                }
                panic!(
                    "appeal-gateway exited with {status} before serving /healthz; stderr:\n{}",
                    self.logs()
                );
            }
            if start.elapsed() > WAIT {
                panic!(
                    "appeal-gateway did not answer 200 on {url} within {WAIT:?}; stderr:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process with SIGKILL (no chance to flush or say goodbye) and waits.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("gateway is not running");
        signal(&child, "KILL");
        wait_exit(
            &mut child,
            Duration::from_secs(10),
            "appeal-gateway after SIGKILL",
        );
    }

    /// Stops the process with SIGTERM and waits.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("gateway is not running");
        signal(&child, "TERM");
        wait_exit(
            &mut child,
            Duration::from_secs(20),
            "appeal-gateway after SIGTERM",
        )
    }

    /// Starts the process again with the same options and data directory, on a new free
    /// port (unless `GATEWAY_BIND` was given), and waits for `/healthz`.
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_healthy().await;
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Everything the process (all its runs) wrote to stderr: the log.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.work.path().join("stderr.log")).unwrap_or_default()
    }

    /// Everything the process (all its runs) wrote to stdout.
    pub fn stdout(&self) -> String {
        fs::read_to_string(self.work.path().join("stdout.log")).unwrap_or_default()
    }

    /// An HTTP client bound to this run of the gateway (take a new one after a restart).
    pub fn api(&self) -> Api {
        Api {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: format!("http://127.0.0.1:{}", self.port),
            metrics_url: self.metrics_url(),
        }
    }

    /// `/metrics`, on its own listen address (`GATEWAY_METRICS_BIND`).
    pub fn metrics_url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.metrics_port)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
