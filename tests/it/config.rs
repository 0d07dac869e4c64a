//! An operator configures the gateway: a wrong value stops the start with one line naming
//! the key; `--help` lists the subcommands; a TOML file is read and the environment wins
//! over it.

use std::time::Duration;

use crate::support::*;

/// Options of a gateway that would start fine (Redis need not run for these tests).
fn good() -> GatewayOptions {
    GatewayOptions::new(&format!("redis://127.0.0.1:{}", free_port()))
        .env("GATEWAY_BIND", &format!("127.0.0.1:{}", free_port()))
        .env("GATEWAY_LOG", "info")
        .env("GATEWAY_LOG_FORMAT", "text")
}

#[test]
fn a_wrong_value_stops_the_start_with_one_line_naming_the_key() {
    let cases = [
        ("GATEWAY_BIND", "notanaddress"),
        ("GATEWAY_API_TOKENS", "broken"),
        ("REDIS_URL", "definitely not a url"),
        ("GATEWAY_LOG_FORMAT", "yaml"),
        ("GATEWAY_MAX_BODY_BYTES", "lots"),
        // A transfer of a day of rest without the day it moves to.
        ("GATEWAY_HOLIDAYS", "2027-05-17,2027-07-03>"),
        // A map's tiles over plain HTTP from elsewhere: the page would mix content.
        (
            "GATEWAY_MAP_TILES_URL",
            "http://tiles.almaty.kz/{z}/{x}/{y}.png",
        ),
    ];
    let mut problems = Vec::new();
    for (key, value) in cases {
        let opts = good().env(key, value);
        let (status, _stdout, stderr) = run_to_exit(&opts, Duration::from_secs(15));
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        if status.success() {
            problems.push(format!("{key}={value:?}: exit status 0"));
        } else if lines.len() != 1 || !lines[0].contains(key) {
            problems.push(format!(
                "{key}={value:?}: expected one stderr line naming {key}, got {} line(s):\n{stderr}",
                lines.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_wrong_value_is_named_at_once() {
    let opts = good()
        .env("GATEWAY_BIND", "notanaddress")
        .env("GATEWAY_API_TOKENS", "broken")
        .env("GATEWAY_TRUSTED_PROXIES", "10.0.0.1, proxy.local");
    let (status, _stdout, stderr) = run_to_exit(&opts, Duration::from_secs(15));
    assert!(!status.success(), "exit status {status}");
    assert!(
        stderr.contains("GATEWAY_BIND")
            && stderr.contains("GATEWAY_API_TOKENS")
            && stderr.contains("GATEWAY_TRUSTED_PROXIES: `proxy.local` is not an address"),
        "every wrong key is named: {stderr}"
    );
}

#[test]
fn help_lists_the_subcommands() {
    let (status, stdout, stderr) = run_to_exit(&good().args(&["--help"]), Duration::from_secs(15));
    assert!(status.success(), "--help exits 0: {status} {stderr}");
    for sub in ["serve", "schemas"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(sub)),
            "--help lists `{sub}`:\n{stdout}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_is_the_default_subcommand() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(GatewayOptions::new(&redis.url()).args(&[])).await;
    gw.api().get("/healthz").await.expect_status(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_toml_file_is_read_and_the_environment_wins() {
    let redis = RedisServer::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    // The file names a bind address the environment overrides, a stream prefix and the
    // tokens, which the environment leaves to it.
    std::fs::write(
        &file,
        format!(
            "bind = \"127.0.0.1:1\"\nstream_prefix = \"file:\"\napi_tokens = \"crm:{CRM_TOKEN}\"\n"
        ),
    )
    .unwrap();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .without("GATEWAY_STREAM_PREFIX")
            .without("GATEWAY_API_TOKENS")
            .env("GATEWAY_CONFIG", file.to_str().unwrap()),
    )
    .await;
    let api = gw.api();
    api.post_appeal(CRM_TOKEN, &tagged_appeal("toml"), None)
        .await
        .expect_status(202);
    api.wait_drained().await;
    let mut conn = redis_conn(&redis.url()).await.unwrap();
    let len: usize = redis::cmd("XLEN")
        .arg("file:appeals.v1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        len, 1,
        "the appeal is on the stream named with the file's prefix"
    );
}
