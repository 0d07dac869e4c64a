//! What the Open311 channel says, in the three languages: error descriptions, the consent
//! attribute, the service notice and the status notes. Short protocol strings, kept
//! beside the code that uses them (the citizens' pages and messages are in `templates/`).

use crate::appeal::Language;
use crate::reply::CaseStatus;

/// An error of the specification's list, by kind; the description names a parameter,
/// never a submitted value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Open311Error {
    #[error("missing parameter")]
    Missing(&'static str),
    #[error("invalid parameter")]
    Invalid(String),
    #[error("consent missing")]
    ConsentRequired,
    #[error("bad api_key")]
    BadApiKey,
    #[error("unknown jurisdiction")]
    Jurisdiction,
    #[error("unknown service")]
    UnknownService,
    #[error("unknown request")]
    UnknownRequest,
    #[error("not found")]
    NotFound,
    #[error("idempotency key reused")]
    KeyReused,
    #[error("unavailable")]
    Unavailable,
    /// Too many tracking-number lookups from this client (issue 34).
    #[error("rate limited")]
    RateLimited,
    /// Required parameters missing (the form's names, e.g. `attribute[route]`).
    #[error("missing parameter")]
    Required(String),
    /// The request is an emergency to call about (issue 29, point 3).
    #[error("emergency")]
    Emergency { number: String, service: String },
    /// More `service_request_id`s in one query than the limit it carries.
    #[error("too many ids")]
    TooManyIds(usize),
    /// A `media_url`: the gateway fetches no link it is handed (issue 32).
    #[error("media_url refused")]
    MediaUrl,
    /// A file part other than `media`.
    #[error("file outside media")]
    FileField(String),
    /// A `media` file the photo rules refuse, by the rules' code (`photo_type`,
    /// `photo_heic`, `photo_too_large`, `photo_dimensions`, `too_many_photos`,
    /// `identity_document_scan`).
    #[error("photo refused")]
    Photo(&'static str),
    /// A form body over its limit.
    #[error("body too large")]
    TooLarge,
}

impl Open311Error {
    /// The HTTP status the specification gives (503 for a storage failure, which it does
    /// not list).
    pub(crate) fn status(&self) -> u16 {
        match self {
            Open311Error::BadApiKey => 403,
            Open311Error::UnknownService
            | Open311Error::UnknownRequest
            | Open311Error::NotFound => 404,
            Open311Error::Unavailable => 503,
            Open311Error::RateLimited => 429,
            Open311Error::TooLarge | Open311Error::Photo("photo_too_large") => 413,
            _ => 400,
        }
    }

    /// A short code for metrics (never a value).
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Open311Error::Missing(_) | Open311Error::Required(_) => "missing_parameter",
            Open311Error::Emergency { .. } => "emergency_call_now",
            Open311Error::Invalid(_) => "invalid_parameter",
            Open311Error::ConsentRequired => "consent_required",
            Open311Error::BadApiKey => "bad_api_key",
            Open311Error::Jurisdiction => "jurisdiction",
            Open311Error::UnknownService => "unknown_service",
            Open311Error::UnknownRequest => "unknown_request",
            Open311Error::NotFound => "not_found",
            Open311Error::KeyReused => "idempotency_key_reused",
            Open311Error::Unavailable => "unavailable",
            Open311Error::RateLimited => "rate_limited",
            Open311Error::TooManyIds(_) => "too_many_ids",
            Open311Error::MediaUrl => "media_url",
            Open311Error::FileField(_) => "file_field",
            Open311Error::Photo(code) => code,
            Open311Error::TooLarge => "payload_too_large",
        }
    }

    /// The description, in `language`.
    pub(crate) fn description(&self, language: Language) -> String {
        use Language::{En, Kk, Ru};
        let message = |id: &str| crate::i18n::MESSAGES.text(language, id, &[]);
        match (self, language) {
            (Open311Error::MediaUrl, _) => message("open311-media-url"),
            (Open311Error::Emergency { number, service }, _) => crate::i18n::MESSAGES.text(
                language,
                "open311-emergency",
                &[("number", number.clone()), ("service", service.clone())],
            ),
            (Open311Error::Required(p), En) => format!("Missing required parameter: {p}"),
            (Open311Error::Required(p), Ru) => format!("Не указан обязательный параметр: {p}"),
            (Open311Error::Required(p), Kk) => format!("Міндетті параметр көрсетілмеген: {p}"),
            (Open311Error::FileField(name), _) => {
                format!("{name}: {}", message("open311-media-field"))
            }
            // The photo rules' own messages, as every channel shows them.
            (Open311Error::Photo(code), _) => format!("media: {}", message(&format!("error-{code}"))),
            (Open311Error::TooLarge, _) => message("title-payload_too_large"),
            (Open311Error::Missing(p), En) => format!("Missing required parameter: {p}"),
            (Open311Error::Missing(p), Ru) => format!("Не указан обязательный параметр: {p}"),
            (Open311Error::Missing(p), Kk) => format!("Міндетті параметр көрсетілмеген: {p}"),
            (Open311Error::Invalid(p), En) => format!("Invalid parameter: {p}"),
            (Open311Error::Invalid(p), Ru) => format!("Неверное значение параметра: {p}"),
            (Open311Error::Invalid(p), Kk) => format!("Параметрдің мәні қате: {p}"),
            (Open311Error::ConsentRequired, En) => "attribute[consent] is required: the applicant must agree to the processing of personal data under the Open Almaty regulation".into(),
            (Open311Error::ConsentRequired, Ru) => "Требуется attribute[consent]: заявитель должен согласиться на обработку персональных данных по регламенту Open Almaty".into(),
            (Open311Error::ConsentRequired, Kk) => "attribute[consent] қажет: өтініш беруші Open Almaty регламенті бойынша дербес деректерді өңдеуге келісуі керек".into(),
            (Open311Error::BadApiKey, En) => "api_key is missing or not allowed to post requests".into(),
            (Open311Error::BadApiKey, Ru) => "api_key не указан или не допущен к подаче обращений".into(),
            (Open311Error::BadApiKey, Kk) => "api_key көрсетілмеген немесе өтініш беруге рұқсат жоқ".into(),
            (Open311Error::Jurisdiction, En) => "Unknown jurisdiction_id".into(),
            (Open311Error::Jurisdiction, Ru) => "Неизвестный jurisdiction_id".into(),
            (Open311Error::Jurisdiction, Kk) => "Белгісіз jurisdiction_id".into(),
            (Open311Error::UnknownService, En) => "Unknown service_code".into(),
            (Open311Error::UnknownService, Ru) => "Неизвестный service_code".into(),
            (Open311Error::UnknownService, Kk) => "Белгісіз service_code".into(),
            (Open311Error::UnknownRequest, En) => "Unknown service_request_id".into(),
            (Open311Error::UnknownRequest, Ru) => "Неизвестный service_request_id".into(),
            (Open311Error::UnknownRequest, Kk) => "Белгісіз service_request_id".into(),
            (Open311Error::NotFound, En) => "Not found: the formats are .json and .xml".into(),
            (Open311Error::NotFound, Ru) => "Не найдено: форматы — .json и .xml".into(),
            (Open311Error::NotFound, Kk) => "Табылмады: пішімдер — .json және .xml".into(),
            (Open311Error::KeyReused, En) => "Idempotency-Key was used with another request".into(),
            (Open311Error::KeyReused, Ru) => "Idempotency-Key уже использован с другим запросом".into(),
            (Open311Error::KeyReused, Kk) => "Idempotency-Key басқа сұраумен қолданылған".into(),
            (Open311Error::Unavailable, En) => "Temporarily unavailable, please try again".into(),
            (Open311Error::Unavailable, Ru) => "Временно недоступно, повторите попытку".into(),
            (Open311Error::Unavailable, Kk) => "Уақытша қолжетімсіз, қайталап көріңіз".into(),
            (Open311Error::RateLimited, En) => "Too many lookups from this address; try again in a minute".into(),
            (Open311Error::RateLimited, Ru) => "Слишком много запросов с этого адреса; повторите через минуту".into(),
            (Open311Error::RateLimited, Kk) => "Бұл мекенжайдан сұраулар тым көп; бір минуттан кейін қайталаңыз".into(),
            (Open311Error::TooManyIds(max), En) => format!("At most {max} service_request_id values in one query"),
            (Open311Error::TooManyIds(max), Ru) => format!("Не более {max} значений service_request_id в одном запросе"),
            (Open311Error::TooManyIds(max), Kk) => format!("Бір сұрауда {max} service_request_id мәнінен аспауы керек"),
        }
    }
}

/// The consent attribute's question, with the regulation's link.
pub(crate) fn consent_question(language: Language, regulation_url: &str) -> String {
    match language {
        Language::En => format!(
            "I agree to the processing of my personal data under the Open Almaty regulation ({regulation_url})"
        ),
        Language::Ru => format!(
            "Я согласен(на) на обработку моих персональных данных по регламенту Open Almaty ({regulation_url})"
        ),
        Language::Kk => format!(
            "Open Almaty регламентіне ({regulation_url}) сәйкес дербес деректерімді өңдеуге келісемін"
        ),
    }
}

/// The consent value's name ("I agree").
pub(crate) fn consent_agree(language: Language) -> &'static str {
    match language {
        Language::En => "I agree",
        Language::Ru => "Согласен(на)",
        Language::Kk => "Келісемін",
    }
}

/// The service notice of a new request: the legal deadline.
pub(crate) fn service_notice(language: Language, due: &str) -> String {
    match language {
        Language::En => format!(
            "Received. By law the answer is due by {due} (15 working days, Administrative Procedural Code of Kazakhstan)."
        ),
        Language::Ru => format!(
            "Обращение принято. По закону ответ будет дан до {due} (15 рабочих дней, АППК РК)."
        ),
        Language::Kk => format!(
            "Өтініш қабылданды. Заң бойынша жауап {due} дейін беріледі (15 жұмыс күні, ҚР ӘРПК)."
        ),
    }
}

/// The status note of a case status (what `status_notes` says).
pub(crate) fn status_note(status: Option<CaseStatus>, language: Language) -> &'static str {
    use CaseStatus::*;
    use Language::{En, Kk, Ru};
    match (status, language) {
        (None, En) => "Received",
        (None, Ru) => "Получено",
        (None, Kk) => "Қабылданды",
        (Some(Registered), En) => "Registered",
        (Some(Registered), Ru) => "Зарегистрировано",
        (Some(Registered), Kk) => "Тіркелді",
        (Some(InProgress), En) => "In progress",
        (Some(InProgress), Ru) => "В работе",
        (Some(InProgress), Kk) => "Жұмыста",
        (Some(Redirected), En) => "Redirected to the competent body",
        (Some(Redirected), Ru) => "Направлено в уполномоченный орган",
        (Some(Redirected), Kk) => "Уәкілетті органға жіберілді",
        (Some(Extended), En) => "Time for the answer extended",
        (Some(Extended), Ru) => "Срок рассмотрения продлён",
        (Some(Extended), Kk) => "Қарау мерзімі ұзартылды",
        (Some(Resolved), En) => "Resolved",
        (Some(Resolved), Ru) => "Решено",
        (Some(Resolved), Kk) => "Шешілді",
        (Some(Rejected), En) => "Rejected",
        (Some(Rejected), Ru) => "Отклонено",
        (Some(Rejected), Kk) => "Қабылданбады",
    }
}
