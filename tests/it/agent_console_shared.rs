//! Two gateway instances on one Redis behave as one agent console: accounts added once
//! (by the `agents` command, in Redis) are known to both, a session opened on one is
//! good on the other, a call announced through one shows on the other's console, the
//! duplicates hint sees what was entered through the other, a logout through one
//! refuses the cookie on both, failed logins spread over both slow the guesser as one.
//! With Redis away an agent already logged in stays so, a token already read keeps
//! working, a login gets a 503 page that says why. An old `agents.redb` is imported
//! once without losing anything an operator set up.

use std::time::Duration;

use crate::support::agent::*;
use crate::support::clients::client;
use crate::support::*;
use serde_json::json;

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
    let resp = enter_appeal(
        &client(),
        gw.url("/api/v1/agent/appeals"),
        token,
        "+7 701 555 44 33",
    )
    .await;
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
    // Added once, from a machine of its own: both instances know them.
    add_agent(&redis, "aigerim", "call_center_agent", false);
    let token = add_agent(&redis, "crm", "supervisor", true).expect("token");
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
    let first = agent_appeal(a, &token).await;
    let second = agent_appeal(b, &token).await;
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

    // Redis away: an agent already logged in stays logged in, on either instance; the
    // API token both instances read keeps working from their last-known copy; a login
    // is refused with a page that says why.
    let session = log_in(a).await;
    redis.stop();
    for gw in [b, a] {
        let (status, html) = console(gw, &session).await;
        assert_eq!(status, 200, "still logged in without Redis");
        assert!(html.contains("aigerim"));
        agent_appeal(gw, &token).await;
    }
    let unknown = client()
        .post(a.url("/api/v1/agent/appeals"))
        .bearer_auth(format!("oa_agent_{}", "0".repeat(64)))
        .json(&json!({"consent": true}))
        .send()
        .await
        .expect("post");
    assert_eq!(
        unknown.status().as_u16(),
        503,
        "a token never seen cannot be checked: try again later"
    );
    let (status, _, page) = http_login(b, "aigerim", PASSWORD).await;
    assert_eq!(status, 503);
    assert!(page.contains("Вход временно недоступен"), "{page}");
    let logs = a.logs() + &b.logs();
    for secret in ["7017654321", PASSWORD] {
        assert!(!logs.contains(secret), "the log holds {secret}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_spread_over_two_instances_slow_the_guesser_as_one() {
    let redis = RedisServer::new();
    add_agent(&redis, "aigerim", "call_center_agent", false);
    let a = Gateway::start(&redis).await;
    let b = Gateway::start(&redis).await;
    // Three failures (the free ones), alternating between the instances…
    for gw in [&a, &b, &a] {
        let (status, _, _) = http_login(gw, "aigerim", "wrong password!").await;
        assert_eq!(status, 401);
    }
    // …and the next try is delayed on the other instance too, even with the right
    // password.
    let (status, _, page) = http_login(&b, "aigerim", PASSWORD).await;
    assert_eq!(status, 429, "{page}");
}

#[test]
fn the_agents_command_says_so_when_redis_does_not_answer() {
    let dir = tempfile::tempdir().expect("data dir");
    let port = free_port();
    let (ok, _, err) = agents_cmd_in(
        dir.path(),
        &format!("redis://127.0.0.1:{port}"),
        &["add", "aigerim", "--role", "call_center_agent"],
    );
    assert!(!ok);
    assert!(err.contains("Redis (REDIS_URL) does not answer"), "{err}");
    assert!(!err.contains(PASSWORD));
}

/// Writes `agents.redb` as gateways kept it before accounts moved to Redis: one JSON
/// record per agent in the `agents` table.
fn legacy_agents_redb(data_dir: &std::path::Path, agents: &[serde_json::Value]) {
    use redb::{Database, TableDefinition};
    const AGENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("agents");
    let db = Database::create(data_dir.join("agents.redb")).expect("agents.redb");
    let txn = db.begin_write().expect("begin");
    {
        let mut table = txn.open_table(AGENTS).expect("table");
        for agent in agents {
            let id = agent["id"].as_str().expect("id");
            let bytes = serde_json::to_vec(agent).expect("json");
            table.insert(id, bytes.as_slice()).expect("insert");
        }
    }
    txn.commit().expect("commit");
}

fn argon2_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(b"sixteen-bytes-ok").expect("salt");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_of_an_old_agents_redb_are_imported_once_and_nothing_set_up_is_lost() {
    use sha2::Digest;
    let redis = RedisServer::new();
    let data = tempfile::tempdir().expect("data dir");
    let old_token = format!("oa_agent_{}", "ab".repeat(32));
    let record = |id: &str, role: &str, token: Option<&str>, disabled: bool, locked: u64| {
        json!({
            "id": id,
            "role": role,
            "password_hash": argon2_hash(PASSWORD),
            "token_sha256": token.map(|t| hex::encode(sha2::Sha256::digest(t.as_bytes()))),
            "disabled": disabled,
            "failures": 0,
            "locked_until_ms": locked,
        })
    };
    legacy_agents_redb(
        data.path(),
        &[
            record("aigerim", "call_center_agent", None, false, 0),
            record("crm", "supervisor", Some(&old_token), false, 0),
            record("locked-one", "call_center_agent", None, false, u64::MAX),
            record("gone", "front_office_operator", None, true, 0),
            // Redis has this id already (set up since): Redis's account stays.
            record("dana", "call_center_agent", None, false, 0),
        ],
    );
    add_agent(&redis, "dana", "supervisor", false);

    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_DATA_DIR", &data.path().display().to_string()),
    )
    .await;
    let imported = data.path().join("agents.redb.imported");
    wait_until("agents.redb imported", Duration::from_secs(20), || {
        let done = imported.is_file();
        async move {
            if done {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        }
    })
    .await;
    assert!(!data.path().join("agents.redb").exists());

    let list = agents_cmd(&redis, &["list"]);
    for line in [
        "aigerim\tcall_center_agent\tactive\n",
        "crm\tsupervisor\tactive,token\n",
        "locked-one\tcall_center_agent\tactive,locked\n",
        "gone\tfront_office_operator\tdisabled\n",
        "dana\tsupervisor\tactive\n",
    ] {
        assert!(list.contains(line), "{line:?} in {list}");
    }
    // The old password logs in, the old token enters appeals, the lock holds.
    assert!(log_in(&gw).await.starts_with("oa_agent="));
    agent_appeal(&gw, &old_token).await;
    let (status, _, _) = http_login(&gw, "locked-one", PASSWORD).await;
    assert_eq!(status, 401);
    let (status, _, _) = http_login(&gw, "gone", PASSWORD).await;
    assert_eq!(status, 401);
}
