//! HTTP clients as the tests' callers are, beside [`super::Api`]: a browser-less caller
//! that sees a redirect as the answer it is (a `303` and its `Location`) rather than
//! following it.

use std::time::Duration;

/// A client that shows redirects rather than following them, with the tests' 30 s bound
/// on every request.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}
