//! How long an SMS is: Cyrillic needs UCS-2, 70 characters in one SMS and 67 per part of
//! a long one; a text of GSM 03.38 characters only takes 160 and 153. A text longer than
//! `max_parts` parts is cut and ends with the link to the appeal's status page, so
//! nothing is silently lost. Every provider bills and splits by these same rules.

/// GSM 03.38 basic characters (a text of only these fits 160 per SMS).
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Characters per part: (single, per part of a concatenated message).
fn capacity(text: &str) -> (usize, usize) {
    if text.chars().all(|c| GSM7.contains(c)) {
        (160, 153)
    } else {
        (70, 67)
    }
}

/// How many SMS parts a text takes.
pub(crate) fn parts(text: &str) -> usize {
    let (single, per_part) = capacity(text);
    let n = text.chars().count();
    if n <= single { 1 } else { n.div_ceil(per_part) }
}

/// The text as sent: whole if it fits `max_parts`, else cut at a word with `…` and the
/// status link.
pub(crate) fn fit(text: &str, max_parts: usize, status_link: &str) -> String {
    if parts(text) <= max_parts {
        return text.to_owned();
    }
    let (_, per_part) = capacity(&format!("{text}{status_link}"));
    let room = (per_part * max_parts).saturating_sub(status_link.chars().count() + 2);
    let mut cut: String = text.chars().take(room).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    format!("{}… {status_link}", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_takes_ucs2_parts() {
        assert_eq!(parts(&"а".repeat(70)), 1);
        assert_eq!(parts(&"а".repeat(71)), 2);
        assert_eq!(parts(&"a".repeat(160)), 1);
        assert_eq!(parts(&"a".repeat(161)), 2);
    }

    #[test]
    fn long_texts_are_cut_with_the_status_link() {
        let link = "https://open-almaty.kz/status/OA-7K3M-9QX2";
        let text = "Ваше обращение рассмотрено. ".repeat(20);
        let sent = fit(&text, 3, link);
        assert!(parts(&sent) <= 3, "{} parts", parts(&sent));
        assert!(sent.ends_with(link));
        assert!(sent.contains("… "));
        assert_eq!(fit("Коротко.", 3, link), "Коротко.");
    }
}
