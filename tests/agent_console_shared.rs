//! Two gateway instances on one Redis behave as one agent console: a session opened on
//! one is good on the other, a call announced through one shows on the other's console,
//! the duplicates hint sees what was entered through the other, a logout through one
//! refuses the cookie on both, and with Redis away an agent already logged in stays so.

mod support;

use std::time::Duration;

use serde_json::json;
use support::agent::*;
use support::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// The console page with a session cookie: its status and body.
async fn console(gw: &Gateway, session: &str) -> (u16, String) {
    let resp = client()
        .get(gw.url("/agent/?lang=ru"))
        .header("Cookie", session)
        .send()
        .await
        .expect("console");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

async fn log_in(gw: &Gateway) -> String {
    let (status, cookie, _) = http_login(gw, "aigerim", PASSWORD).await;
    assert_eq!(status, 303, "login");
    cookie
        .expect("a session cookie")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned()
}

async fn agent_appeal(gw: &Gateway, token: &str) -> serde_json::Value {
    let resp = client()
        .post(gw.url("/api/v1/agent/appeals"))
        .bearer_auth(token)
        .json(&json!({
            "consent": true,
            "phone": "+7 701 555 44 33",
            "first_name": "Нурлан",
            "category": "utilities",
            "address": "ул. Толе би, 100",
            "text": "Нет горячей воды третий день.",
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 202);
    resp.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_sessions_calls_and_the_duplicates_hint() {
    let mut redis = RedisServer::new();
    let dirs = [
        tempfile::tempdir().expect("data dir"),
        tempfile::tempdir().expect("data dir"),
    ];
    let mut tokens = Vec::new();
    for dir in &dirs {
        add_agent(dir.path(), "aigerim", "call_center_agent", false);
        tokens.push(add_agent(dir.path(), "crm", "supervisor", true).expect("token"));
    }
    let mut gws = Vec::new();
    for dir in &dirs {
        gws.push(
            Gateway::start_with(
                GatewayOptions::new(&redis.url())
                    .env("GATEWAY_DATA_DIR", &dir.path().display().to_string()),
            )
            .await,
        );
    }
    let (a, b) = (&gws[0], &gws[1]);

    // Logged in through A, the agent is known to B; the call announced through A for
    // them is on B's console.
    let session = log_in(a).await;
    assert_eq!(
        announce_call(a, "+7 701 765 43 21", Some("aigerim")).await,
        202
    );
    let (status, html) = console(b, &session).await;
    assert_eq!(status, 200, "B knows the session opened on A");
    assert!(
        html.contains("value=\"+77017654321\""),
        "the call is picked up on B"
    );
    let (_, again) = console(a, &session).await;
    assert!(!again.contains("+77017654321"), "a call is taken once");

    // What was entered through A is hinted on B.
    let first = agent_appeal(a, &tokens[0]).await;
    let second = agent_appeal(b, &tokens[1]).await;
    assert_eq!(
        second["possible_duplicates"],
        json!([first["tracking_number"]])
    );

    // Logout through B refuses the cookie on A too.
    let csrf = hidden(&html, "csrf").expect("csrf");
    let out = client()
        .post(b.url("/agent/logout?lang=ru"))
        .header("Cookie", session.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status().as_u16(), 303);
    for gw in [a, b] {
        let (status, _) = console(gw, &session).await;
        assert_eq!(status, 303, "the logged-out cookie leads to the login page");
    }

    // Redis away: an agent already logged in stays logged in, on either instance.
    let session = log_in(a).await;
    redis.stop();
    for gw in [b, a] {
        let (status, html) = console(gw, &session).await;
        assert_eq!(status, 200, "still logged in without Redis");
        assert!(html.contains("aigerim"));
    }
    let logs = a.logs() + &b.logs();
    for secret in ["7017654321", PASSWORD] {
        assert!(!logs.contains(secret), "the log holds {secret}");
    }
}
