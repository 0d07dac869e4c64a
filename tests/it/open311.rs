//! A civic app speaks Open311 GeoReport v2 to Almaty: it discovers the endpoint, lists
//! the services, reads the consent attribute, posts a request and follows its status as
//! the case system writes it — in JSON and in XML, by hand and through a published
//! Open311 client library.

use crate::support::case_system::send_reply;
use crate::support::*;
use quick_xml::events::Event;
use serde_json::{Value, json};

const BASE: &str = "/open311/v2";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// An XML element as read back by a real parser (quick-xml): proof the document is
/// well-formed, and a way to check its shape.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:?}", self.name))
    }

    fn all(&self, name: &str) -> Vec<&Node> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn has(&self, name: &str) -> bool {
        self.children.iter().any(|c| c.name == name)
    }
}

/// Parses an XML document; panics (showing it) when it is not well-formed.
fn parse_xml(text: &str) -> Node {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(Node {
                name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                ..Node::default()
            }),
            Ok(Event::Empty(e)) => {
                let node = Node {
                    name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    ..Node::default()
                };
                stack.last_mut().expect("parent").children.push(node);
            }
            Ok(Event::Text(t)) => {
                let decoded = t.decode().expect("utf-8 text");
                let unescaped = quick_xml::escape::unescape(&decoded).expect("escapes");
                stack.last_mut().expect("node").text.push_str(&unescaped);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .unwrap_or_else(|| panic!("unknown entity &{name};"));
                stack.last_mut().expect("node").text.push_str(resolved);
            }
            Ok(Event::End(_)) => {
                let node = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(node);
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML ({e}): {text}"),
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements: {text}");
    let mut document = stack.pop().expect("document");
    assert_eq!(document.children.len(), 1, "one root element: {text}");
    document.children.remove(0)
}

fn xml_of(reply: &Reply) -> Node {
    let ct = reply.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("text/xml"),
        "content-type {ct:?}: {}",
        reply.text
    );
    parse_xml(&reply.text)
}

async fn get_lang(api: &Api, path: &str, lang: &str) -> Reply {
    let resp = api
        .client
        .get(api.url(path))
        .header("Accept-Language", lang)
        .send()
        .await
        .expect("GET");
    Reply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.expect("body"),
    }
}

/// POSTs a form to `requests.{format}` with `headers`.
async fn post_form(
    api: &Api,
    format: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Reply {
    let body = serde_urlencoded::to_string(form).expect("form");
    api.try_post(
        &format!("{BASE}/requests.{format}"),
        None,
        Some("application/x-www-form-urlencoded"),
        body.into_bytes(),
        headers,
    )
    .await
    .expect("POST requests")
}

/// A complete request form with coordinates, the consent and a citizen's contact.
fn request_form(description: &str) -> Vec<(&str, &str)> {
    vec![
        ("api_key", CRM_TOKEN),
        ("service_code", "roads"),
        ("lat", "43.238949"),
        ("long", "76.945465"),
        ("description", description),
        ("attribute[consent]", "agree"),
        ("first_name", "Айгүл"),
        ("last_name", "Серикова"),
        ("email", "aigul@example.kz"),
        ("phone", "8 701 123 45 67"),
    ]
}

/// The `service_request_id` of a JSON answer to a POST.
fn request_id(reply: &Reply) -> String {
    reply.expect_status(201);
    reply.json()[0]["service_request_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no service_request_id: {}", reply.text))
        .to_owned()
}

/// The gateway with `portal` as the one private reader.
async fn gateway(redis: &RedisServer) -> Gateway {
    Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_OPEN311_PRIVATE_READERS", "portal")
            .env("GATEWAY_OPEN311_INTEGRATORS", "crm,portal"),
    )
    .await
}

/// The case system's side: a status reply on `replies.v1`, as it would `XADD` it.
async fn case_system_says(redis: &RedisServer, appeal_id: &str, tracking: &str, status: &str) {
    let reply = json!({
        "schema_version": 1,
        "id": appeal_id,
        "tracking_number": tracking,
        "reply_to": {"channel": "sms", "address": "+77011234567"},
        "status": status,
        "notify": false,
        "text": "Статус обновлён.",
    });
    send_reply(redis, &reply).await;
}

// ---------------------------------------------------------------------------------------
// Discovery and services
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn discovery_services_and_the_consent_attribute_in_json_and_xml() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();

    let discovery = api.get(&format!("{BASE}/discovery.json")).await;
    discovery.expect_status(200);
    let endpoint = &discovery.json()["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert!(
        endpoint["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/open311/v2"))
    );
    let discovery = xml_of(&api.get(&format!("{BASE}/discovery.xml")).await);
    assert_eq!(discovery.name, "discovery");
    let formats = discovery
        .child("endpoints")
        .child("endpoint")
        .child("formats");
    assert_eq!(formats.all("format").len(), 2);

    // Russian by default, English by `locale`, Kazakh by Accept-Language.
    let services = api.get(&format!("{BASE}/services.json")).await;
    services.expect_status(200);
    let services = services.json();
    let roads = services
        .as_array()
        .expect("an array of services")
        .iter()
        .find(|s| s["service_code"] == "roads")
        .expect("roads is a service")
        .clone();
    assert_eq!(roads["service_name"], "Дороги и тротуары");
    assert_eq!(roads["type"], "realtime");
    assert_eq!(roads["metadata"], true);
    assert!(
        roads["group"].is_string() && roads["keywords"].is_string(),
        "{roads}"
    );
    let english = api
        .get(&format!("{BASE}/services.json?locale=en"))
        .await
        .json();
    assert!(
        english
            .as_array()
            .expect("array")
            .iter()
            .any(|s| s["service_name"] == "Roads and sidewalks")
    );
    let kazakh = xml_of(&get_lang(&api, &format!("{BASE}/services.xml"), "kk").await);
    assert_eq!(kazakh.name, "services");
    let xml_roads = kazakh
        .all("service")
        .into_iter()
        .find(|s| s.child("service_code").text == "roads")
        .expect("roads in XML");
    assert_eq!(
        xml_roads.child("service_name").text,
        "Жолдар мен жаяу жүргіншілер жолдары"
    );
    assert_eq!(xml_roads.child("metadata").text, "true");
    assert_eq!(
        kazakh.all("service").len(),
        services.as_array().map_or(0, Vec::len)
    );

    // The service definition: the consent, in three languages, linking the regulation.
    let definition = api
        .get(&format!("{BASE}/services/roads.json?locale=en"))
        .await;
    definition.expect_status(200);
    let definition = definition.json();
    assert_eq!(definition["service_code"], "roads");
    let consent = &definition["attributes"][0];
    assert_eq!(consent["code"], "consent");
    assert_eq!(consent["datatype"], "singlevaluelist");
    assert_eq!(consent["required"], true);
    assert_eq!(consent["values"][0]["key"], "agree");
    let question = consent["description"].as_str().expect("description");
    assert!(
        question.contains("personal data") && question.contains("/regulation"),
        "{question}"
    );
    for (lang, words) in [("ru", "персональных данных"), ("kk", "дербес деректер")]
    {
        let xml = xml_of(&get_lang(&api, &format!("{BASE}/services/roads.xml"), lang).await);
        assert_eq!(xml.name, "service_definition");
        let attribute = xml.child("attributes").child("attribute");
        assert_eq!(attribute.child("code").text, "consent");
        assert_eq!(attribute.child("required").text, "true");
        assert_eq!(
            attribute.child("values").child("value").child("key").text,
            "agree"
        );
        let description = &attribute.child("description").text;
        assert!(
            description.contains(words) && description.contains("/regulation"),
            "{description}"
        );
    }

    // The jurisdiction: the configured one (default) is accepted, another refused.
    api.get(&format!(
        "{BASE}/services.json?jurisdiction_id=open-almaty.kz"
    ))
    .await
    .expect_status(200);
    let other = api
        .get(&format!("{BASE}/services.json?jurisdiction_id=chicago.gov"))
        .await;
    other.expect_status(400);
    assert_eq!(other.json()[0]["code"], 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_the_specifications_lists_in_the_requested_language() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();

    let unknown = api
        .get(&format!("{BASE}/services/potholes.json?locale=en"))
        .await;
    unknown.expect_status(404);
    assert_eq!(
        unknown.json(),
        json!([{"code": 404, "description": "Unknown service_code"}])
    );
    let unknown = xml_of(&get_lang(&api, &format!("{BASE}/services/potholes.xml"), "ru").await);
    assert_eq!(unknown.name, "errors");
    let error = unknown.child("error");
    assert_eq!(error.child("code").text, "404");
    assert_eq!(error.child("description").text, "Неизвестный service_code");

    let missing = api.get(&format!("{BASE}/requests/OA-2222-2222.xml")).await;
    missing.expect_status(404);
    assert_eq!(xml_of(&missing).child("error").child("code").text, "404");

    let mut form = request_form("Яма");
    form[0] = ("api_key", "not-a-token");
    let forbidden = post_form(&api, "json", &form, &[("Accept-Language", "en")]).await;
    forbidden.expect_status(403);
    assert_eq!(forbidden.json()[0]["code"], 403);
    form.remove(0);
    post_form(&api, "xml", &form, &[]).await.expect_status(403);

    let bad_date = api
        .get(&format!("{BASE}/requests.json?start_date=yesterday"))
        .await;
    bad_date.expect_status(400);
    assert!(
        bad_date.json()[0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("start_date"))
    );
}

// ---------------------------------------------------------------------------------------
// Posting
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_request_by_each_location_form_becomes_an_appeal_with_its_consent() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();

    let by_point = post_form(
        &api,
        "json",
        &request_form("Яма на дороге"),
        &[("Accept-Language", "en")],
    )
    .await;
    let point_id = request_id(&by_point);
    let notice = by_point.json()[0]["service_notice"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(notice.contains("15 working days"), "{notice}");

    let mut by_address: Vec<(&str, &str)> = request_form("Не горит фонарь")
        .into_iter()
        .filter(|(k, _)| *k != "lat" && *k != "long")
        .collect();
    by_address.push(("address_string", "пр. Абая, 10"));
    let reply = post_form(&api, "xml", &by_address, &[]).await;
    reply.expect_status(201);
    let receipt = xml_of(&reply);
    assert_eq!(receipt.name, "service_requests");
    let address_id = receipt
        .child("request")
        .child("service_request_id")
        .text
        .clone();
    assert!(
        receipt
            .child("request")
            .child("service_notice")
            .text
            .contains("15 рабочих дней")
    );

    let mut by_register: Vec<(&str, &str)> = request_form("Упало дерево")
        .into_iter()
        .filter(|(k, _)| *k != "lat" && *k != "long")
        .collect();
    by_register.push(("address_id", "750000000-123"));
    let register_id = request_id(&post_form(&api, "json", &by_register, &[]).await);

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 3).await;
    let by_tracking = |id: &str| -> Value {
        appeals
            .iter()
            .find(|e| e.data["tracking_number"] == id)
            .unwrap_or_else(|| panic!("no appeal with tracking number {id}"))
            .data
            .clone()
    };
    let point = by_tracking(&point_id);
    assert_eq!(point["channel"], "open311");
    assert_eq!(point["category"], "roads");
    assert_eq!(point["location"]["lat"], json!(43.238949));
    assert_eq!(point["location"]["lon"], json!(76.945465));
    assert_eq!(point["applicant"]["phones"], json!(["+77011234567"]));
    assert_eq!(
        by_tracking(&address_id)["location"]["address"],
        "пр. Абая, 10"
    );
    assert_eq!(
        by_tracking(&register_id)["location"]["address"],
        "address_id:750000000-123"
    );

    let consents = wait_for_stream_len(&redis.url(), "consent.v1", 3).await;
    for consent in &consents {
        assert_eq!(consent.data["method"], "checkbox", "{}", consent.raw);
        assert_eq!(consent.data["captured_by"], "crm", "{}", consent.raw);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_consent_nothing_is_stored_and_forbidden_fields_are_dropped_by_name() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();

    let without: Vec<(&str, &str)> = request_form("Яма без согласия")
        .into_iter()
        .filter(|(k, _)| *k != "attribute[consent]")
        .collect();
    let refused = post_form(&api, "json", &without, &[("Accept-Language", "en")]).await;
    refused.expect_status(400);
    let description = refused.json()[0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(description.contains("attribute[consent]"), "{description}");
    let refused = post_form(&api, "xml", &without, &[]).await;
    refused.expect_status(400);
    assert_eq!(xml_of(&refused).child("error").child("code").text, "400");

    let mut form = request_form("Яма с лишними полями");
    form.extend([
        ("device_id", "device-42"),
        ("account_id", "acc-7"),
        ("home_address", "ул. Толе би, 1, кв. 5"),
        ("attribute[colour]", "red"),
    ]);
    let kept = request_id(&post_form(&api, "json", &form, &[]).await);

    // Requests are forwarded in the order they were stored: the one after the refusals
    // being the only one shows the refusals stored nothing.
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals.len(), 1);
    let appeal = &appeals[0].data;
    assert_eq!(appeal["tracking_number"], kept);
    let dropped: Vec<&str> = appeal["dropped_fields"]
        .as_array()
        .expect("dropped_fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for name in [
        "device_id",
        "account_id",
        "home_address",
        "attribute.colour",
    ] {
        assert!(
            dropped.contains(&name),
            "{name} in dropped_fields: {dropped:?}"
        );
    }
    for value in ["device-42", "acc-7", "Толе би"] {
        assert!(
            !appeals[0].raw.contains(value),
            "{value} must not be kept: {}",
            appeals[0].raw
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_post_gets_the_first_answer() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();

    let mut from_device = request_form("Яма у остановки");
    from_device.push(("device_id", "phone-1"));
    let first = post_form(&api, "json", &from_device, &[]).await;
    let again = post_form(&api, "json", &from_device, &[]).await;
    assert_eq!(request_id(&first), request_id(&again));
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));

    let keyed = request_form("Яма у школы");
    let headers = [("Idempotency-Key", "client-retry-1")];
    let first_keyed = post_form(&api, "xml", &keyed, &headers).await;
    let again_keyed = post_form(&api, "xml", &keyed, &headers).await;
    assert_eq!(first_keyed.text, again_keyed.text);

    let last = request_id(&post_form(&api, "json", &request_form("Другая яма"), &[]).await);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 3).await;
    assert_eq!(appeals.len(), 3, "each request once");
    assert_eq!(appeals[2].data["tracking_number"], last);
}

/// A `multipart/form-data` body of `fields` and `files` (field, file name, bytes), as a
/// browser or an HTTP library writes it; with its `Content-Type`.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "open311-client-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    api: &Api,
    format: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Reply {
    let (content_type, body) = multipart(fields, files);
    api.try_post(
        &format!("{BASE}/requests.{format}"),
        None,
        Some(&content_type),
        body,
        &[("Accept-Language", "en")],
    )
    .await
    .expect("POST requests")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_posted_as_media_is_kept_without_its_gps_and_a_media_url_is_refused() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();
    let photo = crate::support::photos::jpeg_with_gps_exif();
    assert!(
        photo.windows(4).any(|w| w == b"Exif"),
        "the phone's Exif is there"
    );

    let form = request_form("Яма, фото приложено");
    let posted = post_multipart(&api, "json", &form, &[("media", "IMG_2041.jpg", &photo)]).await;
    let tracking = request_id(&posted);
    let appeal = appeal_with_tracking(&redis, &tracking).await;
    assert_eq!(appeal["channel"], "open311");
    let attachment = &appeal["attachments"][0];
    assert_eq!(attachment["kind"], "photo");
    assert_eq!(attachment["content_type"], "image/jpeg");
    let sha = attachment["sha256"].as_str().expect("sha256").to_owned();
    let stored = std::fs::read(gw.data_dir().join("attachments").join(&sha[..2]).join(&sha))
        .expect("the stored photo");
    assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF]), "still a JPEG");
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "no Exif");
    assert!(
        !stored.windows(11).any(|w| w == b"SecretPhone"),
        "no camera"
    );
    assert!(
        !stored.windows(8).any(|w| w == [0, 0, 0, 43, 0, 0, 0, 1]),
        "no GPS latitude"
    );
    let picture = image::load_from_memory(&stored).expect("the picture kept");
    assert_eq!((picture.width(), picture.height()), (64, 48));
    assert_eq!(attachment["size"], stored.len() as u64);
    // The photo is not public: no `media_url` in a public read, nothing at its address.
    let public = api
        .get(&format!("{BASE}/requests/{tracking}.json"))
        .await
        .json();
    assert!(public[0].get("media_url").is_none(), "{public}");
    api.get(&format!("{BASE}/media/{tracking}/{sha}"))
        .await
        .expect_status(404);

    // Until the case system lets it be shown: then `media_url` is the gateway's own
    // address of the cleaned photo.
    let allow = |public: bool| {
        json!({
            "schema_version": 1,
            "id": appeal["id"],
            "tracking_number": tracking,
            "reply_to": {"channel": "sms", "address": "+77011234567"},
            "notify": false,
            "text": "Фото опубликовано.",
            "media_public": public,
        })
    };
    send_reply(&redis, &allow(true)).await;
    let path = format!("{BASE}/requests/{tracking}.json");
    let shown = wait_until("media_url once the photo may be shown", WAIT, || {
        let (api, path) = (api.clone(), path.clone());
        async move {
            let record = api.get(&path).await.json();
            match record[0]["media_url"].as_str() {
                Some(url) => Ok(url.to_owned()),
                None => Err(record.to_string()),
            }
        }
    })
    .await;
    let media_path = format!("{BASE}/media/{tracking}/{sha}");
    assert!(shown.ends_with(&media_path), "{shown}");
    let fetched = reqwest::Client::new()
        .get(gw.url(&media_path))
        .send()
        .await
        .expect("GET media");
    assert_eq!(fetched.status(), 200);
    assert_eq!(
        fetched.headers()["content-type"]
            .to_str()
            .unwrap_or_default(),
        "image/jpeg"
    );
    assert_eq!(fetched.bytes().await.expect("bytes").to_vec(), stored);
    // And no longer, when it says so.
    send_reply(&redis, &allow(false)).await;
    wait_until("media_url gone again", WAIT, || {
        let (api, path) = (api.clone(), path.clone());
        async move {
            let record = api.get(&path).await.json();
            if record[0].get("media_url").is_none() {
                Ok(())
            } else {
                Err(record.to_string())
            }
        }
    })
    .await;
    api.get(&media_path).await.expect_status(404);

    // A link is refused, in either form, with what to do instead; nothing is stored.
    let mut linked = request_form("Яма по ссылке");
    linked.push(("media_url", "http://169.254.169.254/latest/meta-data/"));
    for refused in [
        post_form(&api, "json", &linked, &[("Accept-Language", "en")]).await,
        post_multipart(&api, "json", &linked, &[]).await,
    ] {
        refused.expect_status(400);
        let description = refused.json()[0]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            description.contains("media_url") && description.contains("multipart/form-data"),
            "{description}"
        );
    }
    // Not a photo, a document's scan, a file under another name, one photo too many:
    // refused by the rules every channel follows, each said.
    let pdf: &[u8] = b"%PDF-1.7 not an image";
    let six: Vec<(&str, &str, &[u8])> = (0..6)
        .map(|_| ("media", "p.jpg", photo.as_slice()))
        .collect();
    for (files, says) in [
        (vec![("media", "pothole.jpg", pdf)], "JPEG, PNG or WebP"),
        (
            vec![("media", "passport_scan.jpg", photo.as_slice())],
            "identity document",
        ),
        (vec![("photo", "pothole.jpg", photo.as_slice())], "media"),
        (six, "5"),
    ] {
        let refused = post_multipart(&api, "xml", &form, &files).await;
        refused.expect_status(400);
        let description = xml_of(&refused)
            .child("error")
            .child("description")
            .text
            .clone();
        assert!(description.contains(says), "{says}: {description}");
    }
    // Without a poster's api_key before the first file, no photo is read at all.
    let mut stranger = form.clone();
    stranger[0] = ("api_key", "not-a-token");
    let refused = post_multipart(&api, "json", &stranger, &[("media", "p.jpg", &photo)]).await;
    refused.expect_status(403);
    // Only the one accepted request reached the case system.
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_case_systems_status_shows_in_requests_without_personal_data() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();

    let tracking = request_id(&post_form(&api, "json", &request_form("Яма на Абая"), &[]).await);
    let other = {
        let mut form = request_form("Темно во дворе");
        form[1] = ("service_code", "lighting");
        request_id(&post_form(&api, "json", &form, &[]).await)
    };
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    let appeal_id = appeals
        .iter()
        .find(|e| e.data["tracking_number"] == tracking)
        .map(|e| e.id.clone())
        .expect("the appeal");

    // Before the case system speaks: open, received, due by the legal deadline.
    let one = api
        .get(&format!("{BASE}/requests/{tracking}.json?locale=en"))
        .await;
    one.expect_status(200);
    let record = &one.json()[0];
    assert_eq!(record["status"], "open");
    assert_eq!(record["status_notes"], "Received");
    assert_eq!(record["service_code"], "roads");
    assert!(record["expected_datetime"].is_string() && record["requested_datetime"].is_string());

    case_system_says(&redis, &appeal_id, &tracking, "in_progress").await;
    let listed = wait_until("the status in requests.json", WAIT, || {
        let (api, tracking) = (api.clone(), tracking.clone());
        async move {
            let list = api
                .get(&format!("{BASE}/requests.json?locale=en"))
                .await
                .json();
            let found = list
                .as_array()
                .and_then(|l| {
                    l.iter()
                        .find(|r| r["service_request_id"] == json!(tracking))
                })
                .cloned()
                .unwrap_or(Value::Null);
            if found["status_notes"] == "In progress" {
                Ok(list)
            } else {
                Err(list.to_string())
            }
        }
    })
    .await;
    assert_eq!(listed.as_array().map_or(0, Vec::len), 2, "{listed}");

    case_system_says(&redis, &appeal_id, &tracking, "resolved").await;
    let closed = wait_until("closed in requests/{id}.xml", WAIT, || {
        let (api, tracking) = (api.clone(), tracking.clone());
        async move {
            let reply = api
                .get(&format!("{BASE}/requests/{tracking}.xml?locale=ru"))
                .await;
            let doc = xml_of(&reply);
            if doc.child("request").child("status").text == "closed" {
                Ok(doc)
            } else {
                Err(reply.text)
            }
        }
    })
    .await;
    assert_eq!(closed.name, "service_requests");
    let request = closed.child("request");
    assert_eq!(request.child("status_notes").text, "Решено");
    assert_eq!(request.child("service_code").text, "roads");
    assert!(!request.child("agency_responsible").text.is_empty());
    assert!(!request.child("updated_datetime").text.is_empty());
    for private in [
        "description",
        "address",
        "lat",
        "long",
        "media_url",
        "email",
        "phone",
    ] {
        assert!(!request.has(private), "a public read has no {private}");
    }

    // The filters of the specification.
    let closed_only = api
        .get(&format!("{BASE}/requests.json?status=closed"))
        .await
        .json();
    assert_eq!(
        closed_only.as_array().map_or(0, Vec::len),
        1,
        "{closed_only}"
    );
    assert_eq!(closed_only[0]["service_request_id"], json!(tracking));
    let lighting = api
        .get(&format!("{BASE}/requests.xml?service_code=lighting"))
        .await;
    let lighting = xml_of(&lighting);
    assert_eq!(lighting.all("request").len(), 1);
    assert_eq!(
        lighting.child("request").child("service_request_id").text,
        other
    );
    let both = api
        .get(&format!(
            "{BASE}/requests.json?service_request_id={tracking},{other}"
        ))
        .await
        .json();
    assert_eq!(both.as_array().map_or(0, Vec::len), 2, "{both}");
    let future = api
        .get(&format!(
            "{BASE}/requests.json?start_date=2099-01-01T00:00:00Z"
        ))
        .await
        .json();
    assert_eq!(future, json!([]));

    // Nothing of the citizen in any public read; a private reader sees the place.
    let public = api.get(&format!("{BASE}/requests.json")).await.text;
    for secret in ["Яма на Абая", "43.23", "76.94", "Айгүл", "aigul@", "701"] {
        assert!(
            !public.contains(secret),
            "{secret} in a public read: {public}"
        );
    }
    let private = api
        .get(&format!(
            "{BASE}/requests/{tracking}.json?api_key={PORTAL_TOKEN}"
        ))
        .await
        .json();
    assert_eq!(private[0]["lat"], json!(43.238949), "{private}");
    assert_eq!(private[0]["long"], json!(76.945465), "{private}");
    assert!(private[0].get("description").is_none(), "{private}");
    let not_private = api
        .get(&format!(
            "{BASE}/requests/{tracking}.json?api_key={CRM_TOKEN}"
        ))
        .await
        .json();
    assert!(
        not_private[0].get("lat").is_none(),
        "crm has no read_private right"
    );
}

// ---------------------------------------------------------------------------------------
// Status changes (FixMyStreet's `servicerequestupdates`)
// ---------------------------------------------------------------------------------------

/// A time as a W3C datetime, to the millisecond.
fn w3c(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// The appeal id of the request `tracking` on `appeals.v1`.
fn appeal_id_of(appeals: &[Entry], tracking: &str) -> String {
    appeals
        .iter()
        .find(|e| e.data["tracking_number"] == tracking)
        .map(|e| e.data["id"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no appeal {tracking}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_reads_the_status_changes_since_its_last_poll() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();
    let pothole = request_id(&post_form(&api, "json", &request_form("Яма на Абая"), &[]).await);
    let lamp = {
        let mut form = request_form("Не горит фонарь");
        form[1] = ("service_code", "lighting");
        request_id(&post_form(&api, "json", &form, &[]).await)
    };
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    let (pothole_appeal, lamp_appeal) = (
        appeal_id_of(&appeals, &pothole),
        appeal_id_of(&appeals, &lamp),
    );

    // A change the client saw at its last poll, then two after it; and a status of an
    // appeal that is not an Open311 request, which Open311 does not list.
    case_system_says(&redis, &pothole_appeal, &pothole, "registered").await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let last_poll = time::OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    case_system_says(&redis, &pothole_appeal, &pothole, "resolved").await;
    case_system_says(&redis, &lamp_appeal, &lamp, "in_progress").await;
    case_system_says(
        &redis,
        &ulid::Ulid::new().to_string(),
        "OA-2222-2222",
        "resolved",
    )
    .await;

    // The client polls as FixMyStreet's GetServiceRequestUpdates does: XML, a window of
    // time, its jurisdiction.
    let window = serde_urlencoded::to_string([
        ("start_date", w3c(last_poll)),
        (
            "end_date",
            w3c(time::OffsetDateTime::now_utc() + time::Duration::minutes(1)),
        ),
        ("jurisdiction_id", "open-almaty.kz".to_owned()),
        ("locale", "en".to_owned()),
    ])
    .expect("query");
    let path = format!("{BASE}/servicerequestupdates.xml?{window}");
    let polled = wait_until("two updates since the last poll", WAIT, || {
        let (api, path) = (api.clone(), path.clone());
        async move {
            let reply = api.get(&path).await;
            if reply.status == 200
                && xml_of(&reply).all("request_update").len() == 2
                && reply.text.contains("total=\"2\"")
            {
                Ok(reply)
            } else {
                Err(reply.text)
            }
        }
    })
    .await;
    let document = xml_of(&polled);
    assert_eq!(document.name, "service_request_updates");
    assert!(polled.text.contains("total=\"2\""), "{}", polled.text);
    assert_eq!(polled.header("x-total-count").as_deref(), Some("2"));
    let updates = document.all("request_update");
    let by_request = |id: &str| -> &Node {
        updates
            .iter()
            .find(|u| u.child("service_request_id").text == id)
            .unwrap_or_else(|| panic!("no update of {id}: {}", polled.text))
    };
    let resolved = by_request(&pothole);
    assert_eq!(resolved.child("status").text, "closed");
    assert_eq!(resolved.child("description").text, "Resolved");
    assert_eq!(resolved.child("external_status_code").text, "resolved");
    let progress = by_request(&lamp);
    assert_eq!(progress.child("status").text, "open");
    assert_eq!(progress.child("description").text, "In progress");
    for update in &updates {
        let at = time::OffsetDateTime::parse(
            &update.child("updated_datetime").text,
            &time::format_description::well_known::Rfc3339,
        )
        .expect("a W3C datetime");
        assert!(
            at >= last_poll.replace_millisecond(0).expect("ms"),
            "{}",
            polled.text
        );
        assert!(!update.child("update_id").text.is_empty());
    }
    // Oldest first: the pothole was resolved before the lamp was taken up.
    assert_eq!(updates[0].child("service_request_id").text, pothole);
    // Nothing of the citizen nor of the answer's text.
    for secret in [
        "Статус обновлён",
        "+7701",
        "Айгүл",
        "aigul@",
        "43.23",
        "Яма",
    ] {
        assert!(!polled.text.contains(secret), "{secret}: {}", polled.text);
    }

    // The same updates in JSON, with the same ids: a client that stored them skips them.
    let json = api
        .get(&format!("{BASE}/servicerequestupdates.json?{window}"))
        .await;
    json.expect_status(200);
    let ids: Vec<String> = updates
        .iter()
        .map(|u| u.child("update_id").text.clone())
        .collect();
    let json_ids: Vec<String> = json
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["update_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(json_ids, ids);

    // Every change of one request, the earlier one too, by its id.
    let history = api
        .get(&format!(
            "{BASE}/servicerequestupdates.json?service_request_id={pothole}"
        ))
        .await
        .json();
    let statuses: Vec<&str> = history
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|u| u["external_status_code"].as_str())
        .collect();
    assert_eq!(statuses, ["registered", "resolved"], "{history}");
    // The request itself says the same.
    let request = api
        .get(&format!("{BASE}/requests/{pothole}.json"))
        .await
        .json();
    assert_eq!(request[0]["status"], "closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn extensions_add_the_channel_and_the_district_and_nothing_personal() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();
    let mut form: Vec<(&str, &str)> = request_form("Сломана скамейка во дворе")
        .into_iter()
        .filter(|(k, _)| *k != "lat" && *k != "long")
        .collect();
    form.push(("address_string", "Алмалинский район, ул. Толе би, 59"));
    let tracking = request_id(&post_form(&api, "json", &form, &[]).await);
    let appeal = appeal_with_tracking(&redis, &tracking).await;
    assert_eq!(appeal["location"]["district"], "almaly");

    let extended = api
        .get(&format!("{BASE}/requests/{tracking}.json?extensions=true"))
        .await;
    extended.expect_status(200);
    assert_eq!(
        extended.json()[0]["extended_attributes"],
        json!({"channel": "open311", "district": "almaly"})
    );
    let listed = api
        .get(&format!("{BASE}/requests.xml?extensions=true"))
        .await;
    let attributes = xml_of(&listed);
    let attributes = attributes.child("request").child("extended_attributes");
    assert_eq!(attributes.child("channel").text, "open311");
    assert_eq!(attributes.child("district").text, "almaly");
    // Without the parameter, the specification's record alone.
    let plain = api
        .get(&format!("{BASE}/requests/{tracking}.json"))
        .await
        .json();
    assert!(plain[0].get("extended_attributes").is_none(), "{plain}");
    // Nothing of the citizen or of the place beyond the district.
    for secret in ["Толе би", "Айгүл", "aigul@", "скамейка"] {
        assert!(
            !extended.text.contains(secret),
            "{secret}: {}",
            extended.text
        );
        assert!(!listed.text.contains(secret), "{secret}: {}", listed.text);
    }
    let bad = api
        .get(&format!("{BASE}/requests.json?extensions=yes&locale=en"))
        .await;
    bad.expect_status(400);
    assert!(bad.text.contains("extensions"), "{}", bad.text);
}

// ---------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------

/// `n` requests in the Open311 index as the forwarder writes it (a hash per request and
/// the numbers by time), received over the last days, two at each time (so that the
/// order of equal times shows), odd ones `roads`, even ones `lighting`: what 2,500 posts
/// would leave, written in one pipeline. Returns their tracking numbers.
async fn seed_index(redis: &RedisServer, n: usize) -> Vec<String> {
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let now = time::OffsetDateTime::now_utc();
    let mut pipe = redis::pipe();
    let mut numbers = Vec::with_capacity(n);
    for i in 0..n {
        // A number of the earlier form (no check symbol), which still resolves.
        let symbols: String = (0..8)
            .rev()
            .map(|k| CROCKFORD[(((i as u64) + 0x3_0000) >> (5 * k)) as usize & 31] as char)
            .collect();
        let number = format!("OA-{}-{}", &symbols[..4], &symbols[4..]);
        let at = now - time::Duration::minutes(2 * (i / 2) as i64 + 1);
        let id = ulid::Ulid::from_datetime(at.into()).to_string();
        let code = if i % 2 == 1 { "roads" } else { "lighting" };
        pipe.cmd("HSET")
            .arg(format!("{PREFIX}gateway:open311:request:{number}"))
            .arg("appeal_id")
            .arg(&id)
            .arg("service_code")
            .arg(code)
            .arg("requested_datetime")
            .arg(w3c(at))
            .ignore();
        pipe.cmd("ZADD")
            .arg(format!("{PREFIX}gateway:open311:requests"))
            .arg((at.unix_timestamp_nanos() / 1_000_000) as i64)
            .arg(&number)
            .ignore();
        numbers.push(number);
    }
    pipe.query_async::<()>(&mut conn).await.expect("seed");
    numbers
}

/// Every page of `query` at `page_size`, read until the total is reached: the ids in
/// the order read, and the total the first page told.
async fn every_page(api: &Api, query: &str, page_size: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut total = None;
    for page in 1.. {
        let reply = api
            .get(&format!(
                "{BASE}/requests.json?{query}&page={page}&page_size={page_size}"
            ))
            .await;
        reply.expect_status(200);
        let told: usize = reply
            .header("x-total-count")
            .and_then(|t| t.parse().ok())
            .expect("X-Total-Count");
        assert_eq!(*total.get_or_insert(told), told, "the total stays the same");
        let list = reply.json();
        let list = list.as_array().expect("a list");
        assert!(list.len() <= page_size);
        ids.extend(list.iter().map(|r| {
            r["service_request_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }));
        if list.is_empty() || ids.len() >= told {
            break;
        }
    }
    (ids, total.unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_through_2500_requests_gives_each_exactly_once() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let api = gw.api();
    let started = std::time::Instant::now();
    let seeded = seed_index(&redis, 2500).await;
    // A window that holds them all, fixed while paging.
    let window = serde_urlencoded::to_string([
        (
            "start_date",
            w3c(time::OffsetDateTime::now_utc() - time::Duration::days(30)),
        ),
        (
            "end_date",
            w3c(time::OffsetDateTime::now_utc() + time::Duration::minutes(1)),
        ),
    ])
    .expect("query");

    let (ids, total) = every_page(&api, &window, 200).await;
    assert_eq!(total, 2500);
    assert_eq!(ids.len(), 2500, "13 pages hold every request");
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 2500, "none twice");
    let expected: std::collections::BTreeSet<&String> = seeded.iter().collect();
    assert_eq!(unique, expected, "each seeded request once");
    // Newest first, and the same order page after page (equal times by number).
    // (Seeded newest first already, two at each time.)
    let mut newest_first = seeded.clone();
    for pair in newest_first.chunks_mut(2) {
        pair.sort_by(|a, b| b.cmp(a));
    }
    let first_difference = ids.iter().zip(&newest_first).position(|(a, b)| a != b);
    assert_eq!(first_difference, None, "read {:?}", &ids[..6]);

    // Filtered by service: the total and the pages are those of the filter.
    let (lighting, total) = every_page(&api, &format!("{window}&service_code=lighting"), 500).await;
    assert_eq!((total, lighting.len()), (1250, 1250));
    assert_eq!(
        lighting
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        1250
    );

    // XML says the total on its root; a page past the last is empty.
    let xml = api
        .get(&format!(
            "{BASE}/requests.xml?{window}&page=2&page_size=1000"
        ))
        .await;
    let root = xml_of(&xml);
    assert_eq!(root.all("request").len(), 1000);
    assert!(
        xml.text
            .contains(r#"<service_requests total="2500" page="2" page_size="1000">"#),
        "{}",
        &xml.text[..200.min(xml.text.len())]
    );
    let past = api
        .get(&format!(
            "{BASE}/requests.json?{window}&page=99&page_size=100"
        ))
        .await;
    assert_eq!(past.json(), json!([]));
    assert_eq!(past.header("x-total-count").as_deref(), Some("2500"));
    // Bounded: a page over 1000, or not a page, is refused by name.
    for bad in ["page_size=1001", "page_size=0", "page=0", "page=two"] {
        let refused = api
            .get(&format!("{BASE}/requests.json?{bad}&locale=en"))
            .await;
        refused.expect_status(400);
        let name = bad.split('=').next().unwrap_or_default();
        assert!(
            refused.json()[0]["description"]
                .as_str()
                .is_some_and(|d| d.ends_with(name)),
            "{}",
            refused.text
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// A published client
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_published_open311_client_runs_the_whole_flow() {
    let redis = RedisServer::new();
    let gw = gateway(&redis).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/open311_client.py"
    );
    let base = gw.url(BASE);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .arg(base)
            .env("GEOREPORT_API_KEY", CRM_TOKEN)
            .output()
    })
    .await
    .expect("join")
    .expect("python3 runs (georeport is installed by .ci/run)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the georeport client failed: {stderr}"
    );
    let result: Value = serde_json::from_slice(&output.stdout).expect("the script's JSON");
    assert_eq!(result["georeport_version"], "0.3.1");
    for format in ["json", "xml"] {
        let run = &result[format];
        let codes = run["service_codes"].as_array().expect("codes");
        assert!(codes.contains(&json!("roads")), "{run}");
        assert_eq!(run["consent_datatype"], "singlevaluelist");
        assert_eq!(run["consent_required"], "true");
        let id = run["service_request_id"].as_str().expect("id");
        assert!(
            run["service_notice"]
                .as_str()
                .is_some_and(|n| n.contains("15 working days"))
        );
        assert_eq!(run["one"]["service_request_id"], id, "{run}");
        assert_eq!(run["one"]["status"], "open", "{run}");
        assert_eq!(run["listed_ids"], json!([id]), "{run}");
    }
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    assert!(appeals.iter().all(|a| a.data["channel"] == "open311"));
}
