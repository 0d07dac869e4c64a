//! The procedure as Kazakh law and practice write it (issue 33), as an agent and the
//! citizen in front of them see it: the receipt of the 1308 call-center and the front
//! office names the time of registration, the category, the answer's due date, the
//! office and the agent who accepted the appeal; a call answered on the spot is counted
//! as a consultation and never becomes an appeal unless the caller wants one. The
//! working calendar itself is tested in `src/deadline.rs`.

mod support;

use serde_json::Value;
use support::agent::*;
use support::*;

async fn start(redis: &RedisServer) -> Gateway {
    Gateway::start_with(GatewayOptions::new(&redis.url()).env("GATEWAY_COOKIE_SECURE", "false"))
        .await
}

/// The appeal with `tracking` on `appeals.v1`.
async fn appeal_with_tracking(redis: &RedisServer, tracking: &str) -> Value {
    wait_until("the appeal on appeals.v1", WAIT, || async {
        try_read_stream(&redis.url(), "appeals.v1")
            .await?
            .into_iter()
            .find(|e| e.data["tracking_number"] == tracking)
            .map(|e| e.data)
            .ok_or_else(|| format!("no appeal {tracking} yet"))
    })
    .await
}

/// `25.11.2026` from `2026-11-25`.
fn local_date(iso: &str) -> String {
    let parts: Vec<&str> = iso.split('-').collect();
    assert_eq!(parts.len(), 3, "{iso}");
    format!("{}.{}.{}", parts[2], parts[1], parts[0])
}

/// The appeal's registration time in Almaty as a receipt prints it: from its ULID, the
/// moment the gateway registered it.
fn registered_at(appeal_id: &str) -> String {
    let id = ulid::Ulid::from_string(appeal_id).expect("a ULID");
    let at = time::OffsetDateTime::from(id.datetime()).to_offset(time::macros::offset!(+5));
    let format = time::macros::format_description!("[day].[month].[year] [hour]:[minute]");
    at.format(&format).expect("format")
}

/// What the call-center agent enters for a caller who agreed to the processing.
const CALLER: [(&str, &str); 6] = [
    ("consent", "on"),
    ("phone", "+7 701 123 45 67"),
    ("last_name", "Сейткали"),
    ("first_name", "Айгерим"),
    ("category", "roads"),
    (
        "text",
        "Яма на дороге у остановки, машины объезжают по встречной.",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn the_receipt_states_when_what_until_when_where_and_who_in_kazakh_and_russian() {
    let redis = RedisServer::new();
    agents_cmd(
        &redis,
        &[
            "add",
            "aigerim",
            "--role",
            "call_center_agent",
            "--name",
            "Жанар Б.",
        ],
    );
    add_agent(&redis, "bolat", "call_center_agent", false);
    let gw = start(&redis).await;
    // A display name can be changed; the receipt prints the name of the day.
    agents_cmd(&redis, &["update", "aigerim", "--name", "Сейткали  А."]);
    assert!(
        agents_cmd(&redis, &["list"]).contains("aigerim\tcall_center_agent\tactive\tСейткали А.\n")
    );

    let console = Console::log_in(&gw, "aigerim").await;
    let form = console.get("/agent/?lang=kk").await;
    assert_eq!(form.status, 200);
    let sent = console.post(&form, "/agent/?lang=kk", &CALLER).await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let receipt_url = sent.location.expect("the way to the receipt");
    let kk = console.get(&receipt_url).await;
    assert_eq!(kk.status, 200);
    let tracking = kk
        .html
        .split("id=\"tracking\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the tracking number")
        .to_owned();
    let appeal = appeal_with_tracking(&redis, &tracking).await;
    let registered = registered_at(appeal["id"].as_str().unwrap_or_default());
    let answer_by = local_date(appeal["answer_by"].as_str().expect("answer_by"));

    let ru = console
        .get(&receipt_url.replace("lang=kk", "lang=ru"))
        .await;
    for (page, lang) in [(&kk, "kk"), (&ru, "ru")] {
        let html = &page.html;
        let expected: &[&str] = if lang == "kk" {
            &[
                "Тіркелген күні мен уақыты",
                "Алматы уақытымен",
                "Жолдар мен жаяу жүргіншілер жолдары",
                "Жауап берудің соңғы күні",
                "1308 байланыс орталығының операторы, Сейткали А.",
                "Open Almaty 1308 байланыс орталығы",
            ]
        } else {
            &[
                "Дата и время регистрации",
                "(время Алматы)",
                "Дороги и тротуары",
                "Ответ — не позднее",
                "оператор колл-центра 1308, Сейткали А.",
                "Колл-центр 1308 Open Almaty",
            ]
        };
        for text in expected {
            assert!(html.contains(text), "{lang}: {text:?} in {html}");
        }
        assert!(
            html.contains(&registered),
            "{lang}: registered at {registered}: {html}"
        );
        assert!(
            html.contains(&answer_by),
            "{lang}: answer by {answer_by}: {html}"
        );
        assert!(html.contains(&tracking));
        // Nothing of the citizen, and not the agent's login.
        assert_none_in(
            html,
            &["aigerim", "Айгерим", "7011234567", "Жанар"],
            "the receipt",
        );
    }

    // The receipt is the accepting agent's: another agent, or a changed category, finds
    // nothing to print.
    let other = Console::log_in(&gw, "bolat").await;
    assert_eq!(other.get(&receipt_url).await.status, 404);
    let forged = receipt_url.replace("category=roads", "category=lighting");
    assert_eq!(console.get(&forged).await.status, 404);
}
