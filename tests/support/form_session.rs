//! A plain HTTP session with a citizen web form (no browser): what the form tests and
//! the erasure test post, photos included.

use std::time::Duration;

use super::Gateway;

/// A plain HTTP session with the form: the session cookie, the CSRF token and the
/// idempotency key of the page it last opened.
pub struct FormSession {
    pub client: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
    pub idem: String,
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in the page"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Page {
    /// What a response shows: status, `Location`, headers and body.
    pub async fn of(r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Page {
            status,
            location,
            headers,
            html: r.text().await.unwrap_or_default(),
        }
    }
}

impl FormSession {
    pub async fn open(gw: &Gateway, path: &str) -> FormSession {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let base = gw.url("");
        let r = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("GET form");
        assert_eq!(r.status(), 200);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("oa_sid=") || c.starts_with("__Host-oa_sid="))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let html = r.text().await.expect("body");
        FormSession {
            client,
            base,
            csrf: hidden(&html, "csrf"),
            idem: hidden(&html, "idem"),
            cookie,
        }
    }

    /// POSTs `fields` (url-encoded) with the session's cookie, token and key.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = vec![("csrf", &self.csrf), ("idem", &self.idem)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, Some(&self.cookie)).await
    }

    /// POSTs `fields` and `photos` as `multipart/form-data`, the way a browser sends a
    /// form with files (the body written by hand: reqwest is built without multipart).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        photos: &[&[u8]],
    ) -> Page {
        let boundary = "----photo-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        let all = [("csrf", self.csrf.as_str()), ("idem", self.idem.as_str())];
        for (name, value) in all.iter().chain(fields) {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (i, photo) in photos.iter().enumerate() {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"IMG_{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(photo);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("POST form");
        Page::of(r).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        Page::of(req.send().await.expect("POST form")).await
    }
}
