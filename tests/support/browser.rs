//! A real headless Chromium for the web-form tests: Debian's `chromium` driven through
//! `chromedriver` (started here on a free port) by `fantoccini`. Each [`Browser`] has
//! its own chromedriver, its own fresh profile directory and is killed on drop.
//! Screenshots go to `target/screenshots/` so a reviewer can look at the pages.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;

use super::free_port;

/// WebDriver's key codes.
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const SPACE: &str = " ";
pub const ARROW_DOWN: &str = "\u{E015}";

/// Where the screenshots are kept.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_port: u16,
    _profile: TempDir,
}

/// axe-core's script, installed from npm under `target/axe` (by `.ci/run`, or here on
/// first use when missing).
fn axe_source() -> String {
    static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe");
        let script = dir.join("node_modules/axe-core/axe.min.js");
        if !script.exists() {
            std::fs::create_dir_all(&dir).expect("target/axe");
            let status = Command::new("npm")
                .args(["install", "--prefix"])
                .arg(&dir)
                .args(["--no-audit", "--no-fund", "--silent", "axe-core@4.10.3"])
                .status()
                .unwrap_or_else(|e| {
                    panic!("npm is needed for axe-core (apt-get install npm): {e}")
                });
            assert!(status.success(), "npm install axe-core failed");
        }
        std::fs::read_to_string(&script).expect("axe.min.js")
    })
    .clone()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose window is `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {chromedriver} (apt-get install chromium-driver): {e}")
            });
        let profile = tempfile::Builder::new()
            .prefix("chromium-")
            .tempdir()
            .expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let client = loop {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            match builder.capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) => {
                    if start.elapsed() > Duration::from_secs(60) {
                        panic!("chromedriver on {url} gave no session within 60 s: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        // The viewport, not only the window, must be this wide (a phone's 360 px).
        let _ = client.set_window_size(width, height).await;
        Browser {
            client,
            driver,
            driver_port: port,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Types `text` into the field with id `f-<name>`.
    pub async fn fill(&self, name: &str, text: &str) {
        self.client
            .find(Locator::Id(&format!("f-{name}")))
            .await
            .unwrap_or_else(|e| panic!("no field f-{name}: {e}"))
            .send_keys(text)
            .await
            .expect("type");
    }

    /// Empties the field with id `f-<name>`.
    pub async fn clear(&self, name: &str) {
        self.client
            .find(Locator::Id(&format!("f-{name}")))
            .await
            .unwrap_or_else(|e| panic!("no field f-{name}: {e}"))
            .clear()
            .await
            .expect("clear");
    }

    /// Clicks the element found by a CSS selector.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Picks the option with `value` in the select with id `f-<name>`.
    pub async fn select(&self, name: &str, value: &str) {
        self.click(&format!("#f-{name} option[value='{value}']"))
            .await;
    }

    /// Waits for an element (the next page after a submit) and returns its text.
    /// After a submit from a page that has the same element, the element found may be
    /// the old page's, gone by the time its text is read: then it is looked up again.
    pub async fn text_of(&self, css: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            let element = self
                .client
                .wait()
                .at_most(Duration::from_secs(30))
                .for_element(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("no {css} appeared: {e}"));
            match element.text().await {
                Ok(text) => return text,
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("the text of {css} could not be read: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The value of the field with id `f-<name>` as the browser holds it. Right after a
    /// submit the field found may be the old page's, gone by the time its value is
    /// read: then it is looked up again (as [`Browser::text_of`] does).
    pub async fn value_of(&self, name: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            let field = self
                .client
                .wait()
                .at_most(Duration::from_secs(30))
                .for_element(Locator::Id(&format!("f-{name}")))
                .await
                .unwrap_or_else(|e| panic!("no field f-{name}: {e}"));
            match field.prop("value").await {
                Ok(value) => return value.unwrap_or_default(),
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    panic!("the value of f-{name} could not be read: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    /// Saves a PNG screenshot as `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The page's width as laid out and the viewport's: equal when nothing overflows.
    pub async fn widths(&self) -> (u64, u64) {
        let v = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .expect("script");
        (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
    }

    /// Runs axe-core (WCAG 2.x A and AA rules and best practices) on the page as it is
    /// and returns its violations, one line each: rule, impact, the elements at fault.
    pub async fn axe_violations(&self) -> Vec<String> {
        let loaded = self
            .client
            .execute("return typeof window.axe;", vec![])
            .await
            .expect("script");
        if loaded.as_str() != Some("object") {
            self.client
                .execute(&axe_source(), vec![])
                .await
                .expect("inject axe-core");
        }
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' +
                        v.nodes.map(n => n.target.join(' ')).join(', '))))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe.run");
        result
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("axe gave {result}")])
    }

    /// Presses keys (WebDriver key codes: [`TAB`], [`ENTER`], …) on whatever has focus,
    /// as a keyboard does.
    pub async fn press(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("focused element")
            .send_keys(keys)
            .await
            .expect("keys");
    }

    /// The id of the focused element (`""` when it has none, `"BODY"` for the body).
    pub async fn focused(&self) -> String {
        let v = self
            .client
            .execute(
                "const e = document.activeElement; return e === document.body ? 'BODY' : (e ? e.id : '');",
                vec![],
            )
            .await
            .expect("script");
        v.as_str().unwrap_or_default().to_owned()
    }

    /// An attribute of the element with id `id`.
    pub async fn attr(&self, id: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no element #{id}: {e}"))
            .attr(name)
            .await
            .expect("attribute")
    }

    /// The document's title.
    pub async fn title(&self) -> String {
        self.client.title().await.expect("title")
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver (geolocation,
    /// permissions: what WebDriver has no command for).
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/goog/cdp/execute",
            self.driver_port
        );
        let r = reqwest::Client::new()
            .post(url)
            .json(&json!({"cmd": cmd, "params": params}))
            .send()
            .await
            .expect("chromedriver");
        assert!(
            r.status().is_success(),
            "{cmd}: {}",
            r.text().await.unwrap_or_default()
        );
    }

    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
