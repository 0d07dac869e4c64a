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

/// Where the screenshots are kept.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
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
    pub async fn text_of(&self, css: &str) -> String {
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} appeared: {e}"));
        element.text().await.expect("text")
    }

    /// The value of the field with id `f-<name>` as the browser holds it.
    pub async fn value_of(&self, name: &str) -> String {
        self.client
            .find(Locator::Id(&format!("f-{name}")))
            .await
            .unwrap_or_else(|e| panic!("no field f-{name}: {e}"))
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
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
