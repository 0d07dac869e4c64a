//! The citizen web forms (open-almaty.kz, budget.open-almaty.kz), as a citizen sees them:
//! in a real headless Chromium where a browser matters, over plain HTTP where the test is
//! about what the server refuses. Each test starts its own Redis and gateway.

use std::collections::BTreeSet;

use crate::support::browser::Browser;
use crate::support::form_session::{FormSession, hidden};
use crate::support::*;
use serde_json::Value;

/// The applicant fields the web form's policy allows (channels/web_form.toml).
const WEB_FORM_FIELDS: [&str; 5] = ["last_name", "first_name", "patronymic", "email", "phones"];

const GOOD: [(&str, &str); 7] = [
    ("last_name", "Сейітқали"),
    ("first_name", "Әйгерім"),
    ("phone", "8 701 555 12 34"),
    ("category", "roads"),
    // Roads are somewhere: the form needs the place (issue 28, point 5).
    ("address", "Абай даңғылы, 10"),
    (
        "text",
        "Абай даңғылы мен Сейфуллин көшесінің қиылысында үлкен шұңқыр бар.",
    ),
    ("consent", "on"),
];

/// The appeal on `appeals.v1` once the forwarder has it.
async fn the_only_appeal(redis: &RedisServer) -> Value {
    let entries = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(entries.len(), 1, "one appeal");
    entries[0].data.clone()
}

#[tokio::test]
async fn the_form_speaks_kazakh_russian_and_english_and_weighs_under_50_kb() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();
    for (path, lang, label) in [
        ("/kk/", "kk", "Тегі *"),
        ("/ru/", "ru", "Фамилия *"),
        ("/en/", "en", "Surname *"),
    ] {
        let page = api.get(path).await;
        page.expect_status(200);
        assert!(
            page.text.contains(&format!("<html lang=\"{lang}\">")),
            "{path}"
        );
        assert!(page.text.contains(&format!(">{label}</label>")), "{path}");
        assert!(
            page.header("content-type")
                .unwrap_or_default()
                .starts_with("text/html"),
            "{path}"
        );
        println!("page weight of {path}: {} bytes", page.text.len());
        assert!(
            page.text.len() < 50 * 1024,
            "{path} is {} bytes",
            page.text.len()
        );
        // Every visible input has a label.
        for id in [
            "last_name",
            "first_name",
            "phone",
            "email",
            "category",
            "text",
            "photos",
            "consent",
        ] {
            assert!(
                page.text.contains(&format!("<label for=\"f-{id}\"")),
                "{path}: label of {id}"
            );
        }
        // The consent box starts unticked; the regulation is one click away.
        assert!(!page.text.contains(" checked"), "{path}");
        assert!(
            page.text
                .contains(&format!("href=\"/regulation?lang={lang}\"")),
            "{path}"
        );
    }
    // `/`: Kazakh by default, else the browser's language.
    let client = reqwest::Client::new();
    let plain = client.get(gw.url("/")).send().await.expect("GET /");
    assert!(
        plain
            .text()
            .await
            .unwrap_or_default()
            .contains("<html lang=\"kk\">")
    );
    let russian = client
        .get(gw.url("/"))
        .header("Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5")
        .send()
        .await
        .expect("GET /");
    assert!(
        russian
            .text()
            .await
            .unwrap_or_default()
            .contains("<html lang=\"ru\">")
    );
    // A language chosen by path is remembered.
    let english = client
        .get(gw.url("/"))
        .header("Cookie", "oa_lang=en")
        .header("Accept-Language", "ru")
        .send()
        .await
        .expect("GET /");
    assert!(
        english
            .text()
            .await
            .unwrap_or_default()
            .contains("<html lang=\"en\">")
    );
    let regulation = api.get("/regulation?lang=ru").await;
    regulation.expect_status(200);
    assert!(regulation.text.contains(POLICY_VERSION));
    assert!(regulation.text.contains("Мазмұны"), "the Kazakh original");
    assert!(
        regulation.text.contains("Что мы собираем"),
        "the Russian summary"
    );
}

#[tokio::test]
async fn kazakh_and_russian_citizens_submit_in_the_browser_and_get_a_tracking_number() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let browser = Browser::start(360, 780).await;

    browser.goto(&gw.url("/kk/")).await;
    browser.screenshot("form-kk-360px").await;
    let (layout, viewport) = browser.widths().await;
    assert!(
        layout <= viewport,
        "the form fits 360 px: {layout} > {viewport}"
    );
    for (name, value) in GOOD
        .iter()
        .filter(|(n, _)| !matches!(*n, "category" | "consent" | "address"))
    {
        browser.fill(name, value).await;
    }
    browser.fill("email", "Aigerim.S@Mail.KZ").await;
    browser.fill("address", "Абай даңғылы, 10").await;
    browser.select("category", "roads").await;
    browser.click("#f-consent").await;
    browser.click("button[type=submit]").await;
    let tracking = browser.text_of("#tracking").await;
    assert!(is_tracking_number(&tracking), "{tracking}");
    assert!(browser.source().await.contains("Өтінішіңіз тіркелді"));
    browser.screenshot("received-kk").await;

    let appeal = the_only_appeal(&redis).await;
    assert_eq!(appeal["tracking_number"], tracking.as_str());
    assert_eq!(appeal["channel"], "web_form");
    assert_eq!(appeal["language"], "kk");
    assert_eq!(appeal["category"], "roads");
    assert_eq!(appeal["location"]["address"], "Абай даңғылы, 10");
    let keys: BTreeSet<&str> = appeal["applicant"]
        .as_object()
        .expect("applicant")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["last_name", "first_name", "phones", "email"])
    );
    assert!(keys.iter().all(|k| WEB_FORM_FIELDS.contains(k)));
    assert_eq!(appeal["applicant"]["phones"][0], "+77015551234");
    assert_eq!(appeal["consent"]["method"], "checkbox");
    assert_eq!(appeal["consent"]["policy_version"], POLICY_VERSION);
    assert_eq!(appeal["consent"]["purposes"], serde_json::json!(["appeal"]));
    assert_eq!(appeal["reply_to"]["channel"], "email");
    assert!(appeal.get("flags").is_none());

    // The status page: the number and "received", nothing of the person.
    browser
        .goto(&gw.url(&format!("/status/{tracking}?lang=kk")))
        .await;
    let status = browser.text_of("#status").await;
    assert!(status.contains("тіркелді"), "{status}");
    let page = browser.source().await;
    assert_none_in(
        &page,
        &[
            "Сейітқали",
            "Әйгерім",
            "7015551234",
            "Aigerim",
            "Абай даңғылы",
        ],
        "the status page",
    );
    browser.screenshot("status-kk").await;

    // The same in Russian.
    browser.goto(&gw.url("/ru/")).await;
    browser.screenshot("form-ru-360px").await;
    browser.fill("last_name", "Петрова").await;
    browser.fill("first_name", "Анна").await;
    browser.fill("email", "anna.petrova@mail.kz").await;
    browser.select("category", "lighting").await;
    browser.fill("address", "Абай даңғылы, 10").await;
    browser
        .fill(
            "text",
            "Во дворе дома на улице Толе би не горят фонари уже неделю.",
        )
        .await;
    browser.click("#f-consent").await;
    browser.click("#f-notifications").await;
    browser.click("button[type=submit]").await;
    let tracking_ru = browser.text_of("#tracking").await;
    assert!(is_tracking_number(&tracking_ru));
    assert!(
        browser
            .source()
            .await
            .contains("Ваше обращение зарегистрировано")
    );
    browser.screenshot("received-ru").await;
    let entries = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    let ru = &entries[1].data;
    assert_eq!(ru["language"], "ru");
    assert_eq!(
        ru["consent"]["purposes"],
        serde_json::json!(["appeal", "notifications"])
    );
    browser.close().await;

    assert_none_in(
        &gw.logs(),
        &[
            "Сейітқали",
            "Әйгерім",
            "7015551234",
            "Петрова",
            "anna.petrova",
        ],
        "the gateway's log",
    );
}

#[tokio::test]
async fn without_consent_the_browser_shows_the_error_in_russian_and_keeps_the_input() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let browser = Browser::start(1024, 900).await;
    browser.goto(&gw.url("/ru/")).await;
    browser.fill("last_name", "Ким").await;
    browser.fill("first_name", "Ольга").await;
    browser.fill("phone", "12345").await;
    let text = "Мусор не вывозят третью неделю, контейнеры переполнены.";
    browser.fill("text", text).await;
    browser.select("category", "sanitation").await;
    browser.fill("address", "Абай даңғылы, 10").await;
    browser.click("button[type=submit]").await;
    let consent_error = browser.text_of("#e-consent").await;
    assert!(consent_error.contains("Без согласия"), "{consent_error}");
    let phone_error = browser.text_of("#e-phone").await;
    assert!(
        phone_error.contains("Например") || phone_error.contains("номер"),
        "{phone_error}"
    );
    // The input is kept; nothing is retyped.
    assert_eq!(browser.value_of("last_name").await, "Ким");
    assert_eq!(browser.value_of("text").await, text);
    assert_eq!(browser.value_of("category").await, "sanitation");
    let page = browser.source().await;
    assert!(
        page.contains("aria-invalid=\"true\""),
        "errors are tied to their fields"
    );
    assert!(page.contains("aria-describedby=\"h-consent e-consent\""));
    browser.screenshot("errors-ru").await;
    // Corrected and sent: one appeal.
    browser.clear("phone").await;
    browser.fill("phone", "+7 707 111 22 33").await;
    browser.click("#f-consent").await;
    browser.click("button[type=submit]").await;
    let tracking = browser.text_of("#tracking").await;
    assert!(is_tracking_number(&tracking));
    let appeal = the_only_appeal(&redis).await;
    assert_eq!(appeal["applicant"]["phones"][0], "+77071112233");
    browser.close().await;
}

#[tokio::test]
async fn consent_is_enforced_by_the_server_not_only_the_browser() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let form = FormSession::open(&gw, "/en/").await;
    let without: Vec<(&str, &str)> = GOOD
        .iter()
        .copied()
        .filter(|(n, _)| *n != "consent")
        .collect();
    let page = form.post("/en/", &without).await;
    assert_eq!(page.status, 422);
    assert!(
        page.html.contains("id=\"e-consent\">Without consent"),
        "{}",
        page.html
    );
    assert!(page.html.contains("value=\"Сейітқали\""), "input kept");
    // Nothing was stored: a good one afterwards is the first and only appeal.
    let ok = form.post("/en/", &GOOD).await;
    assert_eq!(ok.status, 303);
    the_only_appeal(&redis).await;
    gw.api().wait_drained().await;
    assert_eq!(read_stream(&redis.url(), "appeals.v1").await.len(), 1);
}

#[tokio::test]
async fn a_double_submit_or_a_refresh_creates_one_appeal() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    // A double click: the same form (same key) posted twice.
    let form = FormSession::open(&gw, "/ru/").await;
    let first = form.post("/ru/", &GOOD).await;
    let second = form.post("/ru/", &GOOD).await;
    assert_eq!(first.status, 303);
    assert_eq!(second.status, 303);
    assert_eq!(first.location, second.location, "the same confirmation");
    // In the browser: submit, then refresh the confirmation (POST-redirect-GET).
    let browser = Browser::start(1024, 900).await;
    browser.goto(&gw.url("/ru/")).await;
    browser.fill("last_name", "Сапаров").await;
    browser.fill("first_name", "Данияр").await;
    browser.fill("email", "daniyar@mail.kz").await;
    browser.select("category", "greening").await;
    browser.fill("address", "Абай даңғылы, 10").await;
    browser.fill("text", "Сломана скамейка в сквере.").await;
    browser.click("#f-consent").await;
    browser.click("button[type=submit]").await;
    let tracking = browser.text_of("#tracking").await;
    browser.client.refresh().await.expect("refresh");
    assert_eq!(browser.text_of("#tracking").await, tracking);
    assert!(browser.url().await.contains("/received/"));
    browser.close().await;
    gw.api().wait_drained().await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    assert_eq!(
        appeals.len(),
        2,
        "one from the double click, one from the browser"
    );
}

#[tokio::test]
async fn a_photo_is_stored_without_its_gps_exif_and_served_to_the_case_system() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let photo = crate::support::photos::jpeg_with_gps_exif();
    let dir = tempfile::tempdir().expect("dir");
    // The name lies: the type is taken from the content.
    let path = dir.path().join("pothole.png");
    std::fs::write(&path, &photo).expect("photo");
    let not_a_photo = dir.path().join("invoice.jpg");
    std::fs::write(&not_a_photo, b"%PDF-1.7 not an image").expect("pdf");

    let browser = Browser::start(1024, 900).await;
    browser.goto(&gw.url("/en/")).await;
    browser.fill("last_name", "Bekov").await;
    browser.fill("first_name", "Arman").await;
    browser.fill("phone", "+7 701 222 33 44").await;
    browser.select("category", "roads").await;
    browser.fill("address", "Абай даңғылы, 10").await;
    browser
        .fill(
            "text",
            "A broken traffic light at the crossing, see the photo.",
        )
        .await;
    browser
        .fill("photos", &not_a_photo.display().to_string())
        .await;
    browser.click("#f-consent").await;
    browser.click("button[type=submit]").await;
    let error = browser.text_of("#e-photos").await;
    assert!(error.contains("JPEG, PNG or WebP"), "{error}");
    browser.screenshot("photo-refused-en").await;
    browser.fill("photos", &path.display().to_string()).await;
    browser.click("button[type=submit]").await;
    let tracking = browser.text_of("#tracking").await;
    assert!(is_tracking_number(&tracking));
    browser.close().await;

    let appeal = the_only_appeal(&redis).await;
    let attachment = &appeal["attachments"][0];
    assert_eq!(attachment["kind"], "photo");
    assert_eq!(attachment["content_type"], "image/jpeg");
    let sha = attachment["sha256"].as_str().expect("sha256").to_owned();
    let stored_path = gw.data_dir().join("attachments").join(&sha[..2]).join(&sha);
    let stored = std::fs::read(&stored_path).expect("stored photo");
    assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF]), "still a JPEG");
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "EXIF gone");
    assert!(
        !stored.windows(11).any(|w| w == b"SecretPhone"),
        "camera gone"
    );
    assert!(
        !stored.windows(8).any(|w| w == [0, 0, 0, 43, 0, 0, 0, 1]),
        "GPS latitude gone"
    );
    assert_eq!(attachment["size"], stored.len() as u64);
    let image = image::load_from_memory(&stored).expect("the picture kept");
    assert_eq!((image.width(), image.height()), (64, 48));

    // The case system fetches it with its token; nobody else does.
    let client = reqwest::Client::new();
    let url = gw.url(&format!("/api/v1/attachments/{sha}"));
    let anonymous = client.get(&url).send().await.expect("GET");
    assert_eq!(anonymous.status(), 401);
    let fetched = client
        .get(&url)
        .bearer_auth(CRM_TOKEN)
        .send()
        .await
        .expect("GET");
    assert_eq!(fetched.status(), 200);
    assert_eq!(
        fetched.headers()["content-type"]
            .to_str()
            .unwrap_or_default(),
        "image/jpeg"
    );
    assert_eq!(fetched.bytes().await.expect("bytes").to_vec(), stored);
}

/// The files under `dir`, as paths relative to it, sorted.
fn names_under(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = files_under(dir)
        .into_iter()
        .filter_map(|(path, _)| Some(path.strip_prefix(dir).ok()?.display().to_string()))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn photos_of_a_refused_form_wait_in_the_pending_area_and_move_only_with_the_accepted_appeal()
{
    // Issue 17, point 3: five photos per refused form stayed on disk for good.
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let attachments = gw.data_dir().join("attachments");
    let form = FormSession::open(&gw, "/en/").await;
    let photo = crate::support::photos::jpeg_with_gps_exif();
    let without_consent: Vec<(&str, &str)> = GOOD
        .iter()
        .copied()
        .filter(|(k, _)| *k != "consent")
        .collect();
    let refused = form
        .post_multipart("/en/", &without_consent, &[&photo])
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    let kept = hidden(&refused.html, "kept_photo");
    assert_eq!(
        names_under(&attachments),
        vec![format!("pending/{kept}")],
        "a refused form's photo only waits, swept after an hour"
    );

    // The citizen ticks the box and sends again: the photo goes with the appeal.
    let accepted = form
        .post(
            "/en/",
            &[GOOD.as_slice(), &[("kept_photo", kept.as_str())]].concat(),
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.html);
    assert_eq!(
        names_under(&attachments),
        vec![format!("{}/{kept}", &kept[..2])],
        "kept for good with the accepted appeal, nothing left pending"
    );
    let appeal = the_only_appeal(&redis).await;
    assert_eq!(appeal["attachments"][0]["sha256"], kept.as_str());
}

#[tokio::test]
async fn forged_forms_and_bots_are_refused() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let form = FormSession::open(&gw, "/kk/").await;
    // No session cookie (another site's form), or a token of another session.
    let mut fields: Vec<(&str, &str)> = vec![("csrf", &form.csrf), ("idem", &form.idem)];
    fields.extend_from_slice(&GOOD);
    let forged = form.post_raw("/kk/", &fields, None).await;
    assert_eq!(forged.status, 403);
    assert!(
        forged.html.contains("Нысанның мерзімі өтті"),
        "{}",
        forged.html
    );
    let other = form
        .post_raw(
            "/kk/",
            &fields,
            Some("oa_sid=0123456789abcdef0123456789abcdef"),
        )
        .await;
    assert_eq!(other.status, 403);
    // The honeypot.
    let mut bot = GOOD.to_vec();
    bot.push(("website", "http://spam.example"));
    let caught = form.post("/kk/", &bot).await;
    assert_eq!(caught.status, 400);
    assert!(caught.html.contains("Нысан қабылданбады"));
    // The real citizen still gets through, and nothing else was stored.
    assert_eq!(form.post("/kk/", &GOOD).await.status, 303);
    gw.api().wait_drained().await;
    assert_eq!(read_stream(&redis.url(), "appeals.v1").await.len(), 1);
}

#[tokio::test]
async fn too_many_forms_from_one_session_get_a_friendly_429_page() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url()).env("GATEWAY_FORM_RATE_PER_MINUTE", "2"),
    )
    .await;
    let form = FormSession::open(&gw, "/ru/").await;
    let incomplete = [("text", "")];
    assert_eq!(form.post("/ru/", &incomplete).await.status, 422);
    assert_eq!(form.post("/ru/", &incomplete).await.status, 422);
    let limited = form.post("/ru/", &GOOD).await;
    assert_eq!(limited.status, 429);
    assert!(
        limited
            .html
            .contains("За минуту отправлено слишком много форм"),
        "{}",
        limited.html
    );
    assert!(
        limited.html.contains("value=\"Сейітқали\""),
        "the typed text is kept"
    );
    assert_eq!(
        limited
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("60")
    );
    // The page itself stays available.
    gw.api().get("/ru/").await.expect_status(200);
}

#[tokio::test]
async fn an_anonymous_appeal_is_explained_unless_it_reports_a_danger() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let form = FormSession::open(&gw, "/ru/").await;
    let anonymous = [
        ("text", "На улице Жандосова открытый канализационный люк."),
        ("category", "utilities"),
        ("a-utilities-missing", "sewer"),
        ("address", "ул. Жандосова"),
        ("consent", "on"),
    ];
    let refused = form.post("/ru/", &anonymous).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .html
            .contains("анонимное обращение не рассматривается")
    );
    let mut danger = anonymous.to_vec();
    danger.push(("danger", "on"));
    let taken = form.post("/ru/", &danger).await;
    assert_eq!(taken.status, 303, "{}", taken.html);
    let appeal = the_only_appeal(&redis).await;
    assert_eq!(appeal["flags"], serde_json::json!(["anonymous_danger"]));
    assert_eq!(appeal["applicant"], serde_json::json!({}));
}

#[tokio::test]
async fn a_budget_proposal_is_accepted_with_its_district_and_cost() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let form = FormSession::open(&gw, "/budget/?lang=ru").await;
    let page = form
        .post(
            "/budget/?lang=ru",
            &[
                ("last_name", "Нурланов"),
                ("first_name", "Ерлан"),
                ("email", "erlan@mail.kz"),
                ("title", "Детская площадка во дворе"),
                ("description", "Поставить качели и горку во дворе дома."),
                ("address", "мкр. Айнабулак-3, 15"),
                ("district", "zhetysu"),
                ("cost", "4 500 000"),
                ("consent", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    let appeal = the_only_appeal(&redis).await;
    assert_eq!(appeal["channel"], "budget_portal");
    assert_eq!(appeal["subject"], "Детская площадка во дворе");
    let text = appeal["text"].as_str().unwrap_or_default();
    assert!(text.contains("Район: Жетысуский"), "{text}");
    assert_eq!(appeal["location"]["district"], "zhetysu", "{appeal}");
    assert!(text.contains("4500000"), "{text}");
    assert_eq!(appeal["consent"]["method"], "checkbox");
    // Without the author's name the proposal is refused, in the page's language.
    let form = FormSession::open(&gw, "/budget/?lang=kk").await;
    let refused = form
        .post(
            "/budget/?lang=kk",
            &[
                ("title", "Саябақ"),
                ("description", "Орындықтар"),
                ("consent", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("Автордың тегі"));
}
