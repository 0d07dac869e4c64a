//! The gateway over HTTP, as an integrator calls it: [`Api`] and its [`Reply`].

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

/// An answer of the gateway.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON; panics (showing the body) if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "body of a {} answer is not JSON ({e}): {}",
                self.status, self.text
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// Asserts that this is a problem document (`application/problem+json`) with `status`
    /// and an error with `code` (and, when given, `field`); returns that error.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, field: Option<&str>, code: &str) -> Value {
        self.expect_status(status);
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/problem+json"),
            "a {status} must be application/problem+json, got content-type {ct:?}: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], json!(status), "problem `status`: {body}");
        let title = body["title"].as_str().unwrap_or_default();
        assert!(
            !title.is_empty() && !title.contains(code),
            "the problem's title should be a human sentence, got {title:?}: {body}"
        );
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("problem without an `errors` array: {body}"));
        let found = errors
            .iter()
            .find(|e| e["code"] == code && field.is_none_or(|f| e["field"] == f))
            .cloned();
        let error = found.unwrap_or_else(|| {
            panic!("no error with code {code:?} and field {field:?} in the problem: {body}")
        });
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty() && !m.contains(code)),
            "every error carries a human message: {body}"
        );
        error
    }
}

/// A cheap, clonable HTTP client for one run of the gateway.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    /// Where this gateway serves `/metrics`.
    pub metrics_url: String,
}

/// The `Content-Type` of every API request unless a test says otherwise.
pub const JSON: &str = "application/json";

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A POST with full control; transport errors are returned, not panicked on.
    pub async fn try_post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let mut req = self.client.post(self.url(path)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| format!("{e:?}"))?;
        Ok(Reply {
            status,
            headers,
            text,
        })
    }

    /// POST `/api/v1/appeals`; transport errors are returned.
    pub async fn try_post_appeal(
        &self,
        token: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Reply, String> {
        let mut headers = Vec::new();
        if let Some(k) = idempotency_key {
            headers.push(("Idempotency-Key", k));
        }
        self.try_post(
            "/api/v1/appeals",
            Some(token),
            Some(JSON),
            serde_json::to_vec(body).unwrap(),
            &headers,
        )
        .await
    }

    /// POST `/api/v1/appeals`; panics on a transport error.
    pub async fn post_appeal(
        &self,
        token: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Reply {
        self.try_post_appeal(token, body, idempotency_key)
            .await
            .unwrap_or_else(|e| panic!("POST /api/v1/appeals failed: {e}"))
    }

    /// POST `/api/v1/appeals` with the `crm` token and an `Accept-Language`.
    pub async fn post_appeal_lang(&self, body: &Value, lang: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = lang.map(|l| ("Accept-Language", l)).into_iter().collect();
        self.try_post(
            "/api/v1/appeals",
            Some(CRM_TOKEN),
            Some(JSON),
            serde_json::to_vec(body).unwrap(),
            &headers,
        )
        .await
        .unwrap_or_else(|e| panic!("POST /api/v1/appeals failed: {e}"))
    }

    /// POST `/api/v1/subject-requests` with the `crm` token; panics on a transport error.
    /// A body that does not say how the person was identified gets `verified_by: egov`,
    /// as the DPO's system sends it (the refusals without it are tested on their own).
    pub async fn post_subject_request(&self, body: &Value) -> Reply {
        let mut body = body.clone();
        if let Some(object) = body.as_object_mut() {
            object
                .entry("verified_by")
                .or_insert_with(|| Value::from("egov"));
        }
        self.try_post(
            "/api/v1/subject-requests",
            Some(CRM_TOKEN),
            Some(JSON),
            serde_json::to_vec(&body).unwrap(),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("POST /api/v1/subject-requests failed: {e}"))
    }

    /// GET `path`; panics on a transport error.
    pub async fn get(&self, path: &str) -> Reply {
        let resp = self
            .client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        }
    }

    /// `GET /readyz`, parsed: (HTTP status, body).
    pub async fn readyz(&self) -> (u16, Value) {
        let r = self.get("/readyz").await;
        let body = r.json();
        (r.status, body)
    }

    /// Waits until `/readyz` says ready with an empty outbox: everything accepted so far
    /// is in Redis.
    pub async fn wait_drained_within(&self, timeout: Duration) {
        wait_until("/readyz 200 with outbox_depth 0", timeout, || async {
            let r = self
                .client
                .get(self.url("/readyz"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            let body: Value = r.json().await.map_err(|e| e.to_string())?;
            if status == 200 && body["status"] == "ready" && body["outbox_depth"] == 0 {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        })
        .await
    }

    pub async fn wait_drained(&self) {
        self.wait_drained_within(WAIT).await
    }

    /// The `/metrics` text, from the metrics listener (`GATEWAY_METRICS_BIND`).
    pub async fn metrics(&self) -> String {
        self.metrics_reply().await.expect_status(200).text.clone()
    }

    /// The answer of `GET /metrics` on the metrics listener.
    pub async fn metrics_reply(&self) -> Reply {
        let response = self
            .client
            .get(&self.metrics_url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {} failed: {e}", self.metrics_url));
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }
}
