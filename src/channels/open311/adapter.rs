//! A GeoReport v2 `POST requests` form in, an [`Intake`] out.
//!
//! The form's fields map onto the appeal as the contract says: `service_code` is the
//! catalogue category, `description` the text, `lat`/`long`, `address_string` or
//! `address_id` the location (where the problem is), `first_name`, `last_name`, `email`,
//! `phone` the applicant (regulation 5.1; the channel's policy narrows it further),
//! `attribute[consent]` the citizen's tick in the client app (`consent.method: checkbox`,
//! `captured_by` the integrator's name). Everything else a client sends — `device_id`,
//! `account_id`, other attributes (as `attribute.<code>`), unknown fields — is dropped and
//! recorded by name in `dropped_fields`, never by value (a `media_url` never gets here:
//! the handler refuses it, and photos come as `media` files, see `super::post`).

use serde_json::Value;

use crate::appeal::{Channel, ConsentMethod, Language, Location, Purpose};
use crate::attributes::{AttributeType, Question};
use crate::intake::{Intake, RawConsent};

use super::text::Open311Error;

/// The attribute a client sets to `true` once the citizen was told that the problem is
/// an emergency to call about and files it all the same (issue 29, point 3).
pub(crate) const EMERGENCY_NOTICE_SHOWN: &str = "emergency_notice_shown";

/// The value of `attribute[consent]` that means "I agree".
pub(crate) const CONSENT_AGREE: &str = "agree";

/// The fields that become the appeal.
const READ: [&str; 9] = [
    "description",
    "lat",
    "long",
    "address_string",
    "address_id",
    "first_name",
    "last_name",
    "email",
    "phone",
];

/// Fields of the protocol itself: read by the handler, neither data nor dropped.
const PROTOCOL: [&str; 4] = ["api_key", "jurisdiction_id", "service_code", "locale"];

/// The fields of a `POST requests` form (`application/x-www-form-urlencoded`) as the
/// OpenAPI document describes them. The handler reads the form as [`PostedForm`] pairs —
/// the last non-empty value of a name counts, unknown names are dropped by name — so
/// this type only names what [`request_intake`] and the handler read; a unit test keeps
/// the two lists the same.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct RequestForm {
    /// An integrator's token (`GATEWAY_API_TOKENS`); required to post.
    api_key: String,
    /// The endpoint's own (`GATEWAY_OPEN311_JURISDICTION_ID`); may be omitted.
    jurisdiction_id: Option<String>,
    /// A category of the catalogue (`GET services`).
    #[schema(example = "roads")]
    service_code: String,
    /// `kk`, `ru` or `en`: the language of the answer and of the appeal.
    locale: Option<String>,
    /// Required: the citizen's tick on the consent the service definition asks.
    #[schema(rename = "attribute[consent]", value_type = String, pattern = "^agree$")]
    attribute_consent: String,
    /// What happened, in the citizen's words.
    description: Option<String>,
    /// With `long`, or give `address_string` or `address_id`.
    #[schema(minimum = -90.0, maximum = 90.0)]
    lat: Option<f64>,
    #[schema(minimum = -180.0, maximum = 180.0)]
    long: Option<f64>,
    address_string: Option<String>,
    /// The city's address register key.
    address_id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// Not stored; a retry from the same device with the same description within
    /// `GATEWAY_OPEN311_RETRY_WINDOW_SECS` gets the first answer.
    device_id: Option<String>,
    /// `multipart/form-data` only: a photo of the problem (JPEG, PNG or WebP; repeat the
    /// part for several, at most 5, 10 MiB each). Re-encoded from its pixels, so no
    /// metadata (GPS, camera) is kept; a file named like an identity document is
    /// refused. A `media_url` is refused: the gateway fetches no link it is handed.
    #[schema(value_type = Option<String>, format = Binary)]
    media: Option<Vec<u8>>,
}

/// A posted form, as name/value pairs in order.
pub(crate) struct PostedForm(pub(crate) Vec<(String, String)>);

impl PostedForm {
    /// The last non-empty value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }
}

/// The intake of a posted request for `service_code` by `integrator`.
pub(crate) fn request_intake(
    form: &PostedForm,
    service_code: &str,
    questions: &[Question],
    integrator: &str,
    language: Language,
) -> Result<Intake, Open311Error> {
    let mut intake = Intake::new(Channel::Open311);
    intake.language = Some(language);
    intake.category = Some(service_code.to_owned());
    intake.text = form.get("description").unwrap_or_default().to_owned();
    intake.location = Some(location(form)?);
    match form.get("attribute[consent]") {
        Some(CONSENT_AGREE) => {
            intake.consent = Some(RawConsent {
                method: ConsentMethod::Checkbox,
                purposes: vec![Purpose::Appeal],
                given_at: None,
                captured_by: Some(integrator.to_owned()),
            })
        }
        Some(_) => return Err(Open311Error::Invalid("attribute[consent]".into())),
        None => return Err(Open311Error::ConsentRequired),
    }
    for (field, key) in [
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("email", "email"),
    ] {
        if let Some(value) = form.get(field) {
            intake
                .applicant
                .insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    if let Some(phone) = form.get("phone") {
        intake.applicant.insert(
            "phones".to_owned(),
            Value::Array(vec![Value::String(phone.to_owned())]),
        );
    }
    // The service's questions (issue 29): `attribute[code]`, a `multivaluelist` as
    // `attribute[code][]` repeated (or one value with commas).
    for question in questions {
        let single = format!("attribute[{}]", question.code);
        let many = format!("attribute[{}][]", question.code);
        let values: Vec<Value> = form
            .0
            .iter()
            .filter(|(k, v)| (*k == single || *k == many) && !v.trim().is_empty())
            .map(|(_, v)| Value::String(v.trim().to_owned()))
            .collect();
        let answer = match (question.kind, values.len()) {
            (_, 0) => continue,
            (AttributeType::Multivaluelist, _) => Value::Array(values),
            _ => values.last().cloned().unwrap_or_default(),
        };
        intake.attributes.insert(question.code.clone(), answer);
    }
    intake.emergency_notice_shown = form
        .get(&format!("attribute[{EMERGENCY_NOTICE_SHOWN}]"))
        .is_some_and(|v| v == "true");
    let mut dropped: Vec<String> = Vec::new();
    for (name, value) in &form.0 {
        let code = name
            .strip_prefix("attribute[")
            .and_then(|n| n.strip_suffix(']').or_else(|| n.strip_suffix("][]")));
        let asked = code.is_some_and(|code| {
            code == EMERGENCY_NOTICE_SHOWN || questions.iter().any(|q| q.code == code)
        });
        let known = READ.contains(&name.as_str())
            || PROTOCOL.contains(&name.as_str())
            || name == "attribute[consent]"
            || asked;
        // `attribute[x]` is recorded as `attribute.x`, the way nested names are written
        // in `dropped_fields` (the policy records a name with brackets as unnamed).
        let name = match name
            .strip_prefix("attribute[")
            .and_then(|n| n.strip_suffix(']'))
        {
            Some(inner) => format!("attribute.{inner}"),
            None => name.clone(),
        };
        if !known && !value.trim().is_empty() && !dropped.contains(&name) {
            dropped.push(name);
        }
    }
    intake.dropped = dropped;
    Ok(intake)
}

/// The location: `lat` + `long`, `address_string` or `address_id` (the specification
/// requires one of them). An `address_id` is the city's own address register key; it is
/// kept as the address text `address_id:<id>`.
fn location(form: &PostedForm) -> Result<Location, Open311Error> {
    let coordinate = |name: &'static str, range: f64| -> Result<Option<f64>, Open311Error> {
        form.get(name)
            .map(|raw| {
                raw.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && v.abs() <= range)
                    .ok_or_else(|| Open311Error::Invalid(name.into()))
            })
            .transpose()
    };
    let lat = coordinate("lat", 90.0)?;
    let lon = coordinate("long", 180.0)?;
    let address = form
        .get("address_string")
        .map(str::to_owned)
        .or_else(|| form.get("address_id").map(|id| format!("address_id:{id}")));
    match (lat, lon, address) {
        (Some(_), None, _) => Err(Open311Error::Missing("long")),
        (None, Some(_), _) => Err(Open311Error::Missing("lat")),
        (None, None, None) => Err(Open311Error::Missing("lat")),
        (lat, lon, address) => Ok(Location {
            address,
            lat,
            lon,
            district: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_form_names_what_the_gateway_reads() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(RequestForm::schema()).expect("schema");
        let mut documented: Vec<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        documented.sort_unstable();
        // What the adapter reads, the protocol's fields, the handler's retry key and
        // the photos' part.
        let mut read: Vec<&str> = READ
            .iter()
            .chain(PROTOCOL.iter())
            .copied()
            .chain(["attribute[consent]", "device_id", "media"])
            .collect();
        read.sort_unstable();
        assert_eq!(documented, read);
    }

    fn form(pairs: &[(&str, &str)]) -> PostedForm {
        PostedForm(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn consent_and_applicant_are_mapped_and_the_rest_dropped_by_name() {
        let intake = request_intake(
            &form(&[
                ("api_key", "secret"),
                ("service_code", "roads"),
                ("lat", "43.238"),
                ("long", "76.945"),
                ("description", "Яма"),
                ("phone", "+7 701 123 45 67"),
                ("attribute[consent]", "agree"),
                ("attribute[colour]", "red"),
                ("device_id", "abc"),
                ("media_url", "http://x/y.jpg"),
            ]),
            "roads",
            &[],
            "crm",
            Language::Ru,
        )
        .expect("intake");
        assert_eq!(
            intake.dropped,
            vec!["attribute.colour", "device_id", "media_url"]
        );
        let consent = intake.consent.expect("consent");
        assert_eq!(consent.method, ConsentMethod::Checkbox);
        assert_eq!(consent.captured_by.as_deref(), Some("crm"));
        assert!(intake.applicant.contains_key("phones"));
    }

    #[test]
    fn consent_and_a_location_are_required() {
        let no_consent = form(&[("address_string", "пр. Абая, 10")]);
        assert_eq!(
            request_intake(&no_consent, "roads", &[], "crm", Language::En).err(),
            Some(Open311Error::ConsentRequired)
        );
        let no_place = form(&[("attribute[consent]", "agree")]);
        assert_eq!(
            request_intake(&no_place, "roads", &[], "crm", Language::En).err(),
            Some(Open311Error::Missing("lat"))
        );
        let half = form(&[("attribute[consent]", "agree"), ("lat", "43.2")]);
        assert_eq!(
            request_intake(&half, "roads", &[], "crm", Language::En).err(),
            Some(Open311Error::Missing("long"))
        );
    }
}
