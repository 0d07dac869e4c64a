// `figment::Jail` closures return figment's own (large) error type.
#![allow(clippy::result_large_err)]

use super::*;

#[test]
fn settings_no_longer_read_are_accepted_and_named() {
    figment::Jail::expect_with(|jail| {
        let config = Config::load(None).map_err(|e| e.join("\n"))?;
        assert!(config.ignored.is_empty());
        jail.set_env("GATEWAY_INSTANCE_NUMBER", "7");
        jail.set_env("GATEWAY_STORE_CACHE_BYTES", "8388608");
        let config = Config::load(None).map_err(|e| e.join("\n"))?;
        assert_eq!(
            config.ignored,
            ["GATEWAY_INSTANCE_NUMBER", "GATEWAY_STORE_CACHE_BYTES"]
        );
        Ok(())
    });
}

#[test]
fn defaults_follow_the_contract() {
    figment::Jail::expect_with(|_jail| {
        let config = Config::load(None).map_err(|e| e.join("\n"))?;
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert!(config.subject_key_is_default);
        assert_eq!(config.max_body_bytes, 1024 * 1024);
        Ok(())
    });
}

#[test]
fn the_environment_overrides_the_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "gateway.toml",
            "bind = \"127.0.0.1:9000\"\nstream_prefix = \"file:\"\nmax_body_bytes = 4096\n",
        )?;
        jail.set_env("GATEWAY_STREAM_PREFIX", "env:");
        jail.set_env("GATEWAY_SUBJECT_KEY_SECRET", "1234567890123456");
        jail.set_env(
            "GATEWAY_API_TOKENS",
            "crm:abcdefghijklmnop, portal:qrstuvwxyz012345",
        );
        let config = Config::load(Some(Path::new("gateway.toml"))).map_err(|e| e.join("\n"))?;
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.stream_prefix, "env:");
        assert_eq!(config.max_body_bytes, 4096);
        assert_eq!(config.subject_key_secret, "1234567890123456");
        assert_eq!(config.api_tokens.len(), 2);
        assert_eq!(config.api_tokens["portal"].token, "qrstuvwxyz012345");
        assert_eq!(config.api_tokens["portal"].channels, vec![Channel::Api]);
        Ok(())
    });
}

#[test]
fn every_problem_names_its_key_and_no_secret() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("GATEWAY_BIND", "notanaddress");
        jail.set_env("GATEWAY_API_TOKENS", "crm-without-colon");
        jail.set_env("GATEWAY_LOG_FORMAT", "xml");
        let problems = Config::load(None).expect_err("refused");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("GATEWAY_BIND: "));
        assert!(problems[1].starts_with("GATEWAY_API_TOKENS: "));
        assert!(problems[2].starts_with("GATEWAY_LOG_FORMAT: "));
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.set_env("GATEWAY_MAX_BODY_BYTES", "lots");
        let problems = Config::load(None).expect_err("refused");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("GATEWAY_MAX_BODY_BYTES: "),
            "{problems:?}"
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.set_env("GATEWAY_API_TOKENS", "crm:tooshort");
        let problems = Config::load(None).expect_err("refused");
        assert!(!problems[0].contains("tooshort"), "{problems:?}");
        Ok(())
    });
}

#[test]
fn a_token_names_the_channels_it_may_submit_for_and_never_an_agents_desk() {
    let tokens = parse_tokens(
            "crm:abcdefghijklmnop, portal:qrstuvwxyz012345:channels=budget_portal+api, odd:with:colon:inside",
        )
        .expect("parsed");
    assert_eq!(tokens["crm"].channels, vec![Channel::Api]);
    assert_eq!(tokens["portal"].token, "qrstuvwxyz012345");
    assert_eq!(
        tokens["portal"].channels,
        vec![Channel::BudgetPortal, Channel::Api]
    );
    assert_eq!(tokens["odd"].token, "with:colon:inside");
    let agent =
        parse_tokens("crm:abcdefghijklmnop:channels=api+call_center").expect_err("an agent's desk");
    assert!(agent.contains("call_center"), "{agent}");
    assert!(!agent.contains("abcdefghijklmnop"), "{agent}");
    let unknown =
        parse_tokens("crm:abcdefghijklmnop:channels=pigeon").expect_err("no such channel");
    assert!(unknown.contains("pigeon"), "{unknown}");
}

#[test]
fn a_token_names_its_rights_and_has_none_unless_it_does() {
    let tokens = parse_tokens(
            "dpo:abcdefghijklmnop:scopes=subject_requests, tel:qrstuvwxyz012345:scopes=calls:channels=api, \
             both:0123456789abcdef:channels=api+web_form:scopes=calls+subject_requests, crm:abcdefghijklmnop",
        )
        .expect("parsed");
    assert_eq!(tokens["dpo"].scopes, vec![Scope::SubjectRequests]);
    assert_eq!(tokens["dpo"].token, "abcdefghijklmnop");
    assert_eq!(tokens["tel"].scopes, vec![Scope::Calls]);
    assert_eq!(tokens["tel"].token, "qrstuvwxyz012345");
    assert_eq!(
        tokens["both"].scopes,
        vec![Scope::Calls, Scope::SubjectRequests]
    );
    assert_eq!(
        tokens["both"].channels,
        vec![Channel::Api, Channel::WebForm]
    );
    assert!(tokens["crm"].scopes.is_empty());
    let unknown =
        parse_tokens("crm:abcdefghijklmnop:scopes=everything").expect_err("no such scope");
    assert!(unknown.contains("everything") && !unknown.contains("abcdefghijklmnop"));
}

#[test]
fn the_metrics_address_and_the_ipv6_client_prefix_are_checked() {
    figment::Jail::expect_with(|jail| {
        let config = Config::load(None).map_err(|e| e.join("\n"))?;
        assert_eq!(config.metrics_bind.to_string(), "127.0.0.1:9464");
        assert_eq!(config.client_ipv6_prefix, 64);
        jail.set_env("GATEWAY_METRICS_BIND", "everywhere");
        jail.set_env("GATEWAY_CLIENT_IPV6_PREFIX", "16");
        let problems = Config::load(None).expect_err("refused");
        assert!(
            problems[0].starts_with("GATEWAY_CLIENT_IPV6_PREFIX: "),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("GATEWAY_METRICS_BIND: "),
            "{problems:?}"
        );
        Ok(())
    });
}
