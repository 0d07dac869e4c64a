//! Helpers of the agent-console tests: accounts made with the real `appeal-gateway
//! agents` command (in the test's Redis, as every instance shares them), calls announced as the telephony system does, and a plain-HTTP
//! login that keeps the cookies by hand.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use super::form_session::Page;
use super::{CRM_TOKEN, Gateway, PREFIX, RedisServer, gateway_bin};

/// A password long enough for the account rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// Runs `appeal-gateway agents <args>` against `redis_url` with `data_dir` as its
/// `GATEWAY_DATA_DIR`: its exit status, stdout and stderr.
pub fn agents_cmd_in(data_dir: &Path, redis_url: &str, args: &[&str]) -> (bool, String, String) {
    agents_cmd_with(data_dir, redis_url, PREFIX, args)
}

/// [`agents_cmd_in`] with another `GATEWAY_STREAM_PREFIX` (a cluster's needs a hash tag).
pub fn agents_cmd_with(
    data_dir: &Path,
    redis_url: &str,
    prefix: &str,
    args: &[&str],
) -> (bool, String, String) {
    let out = Command::new(gateway_bin())
        .arg("agents")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GATEWAY_DATA_DIR", data_dir)
        .env("REDIS_URL", redis_url)
        .env("GATEWAY_STREAM_PREFIX", prefix)
        .env("GATEWAY_AGENT_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run appeal-gateway agents");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `appeal-gateway agents <args>` on the test's Redis; returns its stdout, panics
/// on failure.
pub fn agents_cmd(redis: &RedisServer, args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("data dir of the command");
    let (ok, out, err) = agents_cmd_in(dir.path(), &redis.url(), args);
    assert!(ok, "agents {args:?} failed: {err}");
    out
}

/// Adds an agent; returns the API token when `--token` was asked.
pub fn add_agent(redis: &RedisServer, id: &str, role: &str, token: bool) -> Option<String> {
    let mut args = vec!["add", id, "--role", role];
    if token {
        args.push("--token");
    }
    let out = agents_cmd(redis, &args);
    out.lines()
        .find_map(|l| l.strip_prefix("api token (shown once): "))
        .map(str::to_owned)
}

/// The telephony system announces a call.
pub async fn announce_call(gw: &Gateway, caller: &str, agent_id: Option<&str>) -> u16 {
    let mut body = json!({"caller": caller});
    if let Some(id) = agent_id {
        body["agent_id"] = json!(id);
    }
    reqwest::Client::new()
        .post(gw.url("/api/v1/calls/incoming"))
        .bearer_auth(CRM_TOKEN)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("announce call")
        .status()
        .as_u16()
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    html[start..].split('"').next().map(str::to_owned)
}

/// One `Set-Cookie` header whose cookie is `name`.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| {
            // `__Host-oa_sid` where the cookie is Secure (issue 34).
            c.starts_with(&format!("{name}=")) || c.starts_with(&format!("__Host-{name}="))
        })
        .map(str::to_owned)
}

/// A login over plain HTTP: the answer's status, its `oa_agent` Set-Cookie and body.
pub async fn http_login(gw: &Gateway, id: &str, password: &str) -> (u16, Option<String>, String) {
    http_login_at(&gw.url(""), id, password).await
}

/// [`http_login`] at `base` (`http://host:port`: a gateway or a balancer in front).
pub async fn http_login_at(base: &str, id: &str, password: &str) -> (u16, Option<String>, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client
        .get(format!("{base}/agent/login?lang=ru"))
        .send()
        .await
        .expect("login page");
    let sid = set_cookie(&page, "oa_sid")
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("csrf session cookie");
    let html = page.text().await.expect("body");
    let csrf = hidden(&html, "csrf").expect("csrf token");
    let resp = client
        .post(format!("{base}/agent/login?lang=ru"))
        .header("Cookie", sid)
        .form(&[
            ("csrf", csrf.as_str()),
            ("agent_id", id),
            ("password", password),
        ])
        .send()
        .await
        .expect("login");
    let status = resp.status().as_u16();
    let cookie = set_cookie(&resp, "oa_agent");
    (status, cookie, resp.text().await.unwrap_or_default())
}

/// An agent's console over plain HTTP (no browser): the agent's session cookie and a
/// client that shows redirects rather than following them.
pub struct Console {
    base: String,
    cookie: String,
    client: reqwest::Client,
}

impl Console {
    /// Logs `id` in with [`PASSWORD`] on `gw`.
    pub async fn log_in(gw: &Gateway, id: &str) -> Console {
        let (status, cookie, body) = http_login(gw, id, PASSWORD).await;
        assert_eq!(status, 303, "login of {id}: {body}");
        let cookie = cookie
            .and_then(|c| c.split(';').next().map(str::to_owned))
            .expect("a session cookie");
        Console {
            base: gw.url(""),
            cookie,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    /// `GET path` (e.g. `/agent/?lang=kk`, or a `Location` the console gave).
    pub async fn get(&self, path: &str) -> Page {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .expect("console GET");
        Page::of(resp).await
    }

    /// Posts `page`'s form as the agent would fill it: its hidden fields (CSRF token,
    /// idempotency key, desk, …) with `fields`, to `action` (a path).
    pub async fn post(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> = Vec::new();
        for name in ["csrf", "idem", "desk", "consultation"] {
            if let Some(value) = hidden(&page.html, name) {
                form.push((name.to_owned(), value));
            }
        }
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let resp = self
            .client
            .post(format!("{}{action}", self.base))
            .header("Cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .expect("console POST");
        Page::of(resp).await
    }
}

/// A walk-in appeal as an agent enters it for a citizen who phoned from `phone`.
pub fn walk_in_appeal(phone: &str) -> serde_json::Value {
    json!({
        "consent": true,
        "phone": phone,
        "first_name": "Нурлан",
        "category": "utilities",
        "attributes": {"missing": "water"},
        "address": "ул. Толе би, 100",
        "text": "Нет горячей воды третий день.",
    })
}

/// `POST /api/v1/agent/appeals` at `url` with the agent's API `token`: a
/// [`walk_in_appeal`] from `phone`, through `http` (a balancer's tests keep their own
/// client).
pub async fn enter_appeal(
    http: &reqwest::Client,
    url: String,
    token: &str,
    phone: &str,
) -> reqwest::Response {
    http.post(url)
        .bearer_auth(token)
        .json(&walk_in_appeal(phone))
        .send()
        .await
        .expect("agent appeal")
}
