//! Long answers in parts a messenger accepts: Telegram takes 4,096 characters per
//! message, a WhatsApp text 4,096. An answer is cut at a paragraph break where one falls
//! late enough, else at the end of a sentence, else between words (a single word longer
//! than a message is cut where it must be). Lengths are counted in UTF-16 code units, as
//! Telegram counts them (never fewer than characters, so WhatsApp's limit holds too).
//! The parts keep the text's order; the notifier sends each once (see `deliver` in
//! [`super`]).

/// A boundary is taken only if the part before it is at least this share of a message,
/// so that a paragraph break near the start does not leave a tiny part.
const MIN_SHARE: usize = 3;

/// Separators, best first: paragraph, line, sentence ends, clause, word.
const BOUNDARIES: [&[&str]; 4] = [
    &["\n\n"],
    &["\n"],
    &[". ", "! ", "? ", "… ", "。", ".\n", "!\n", "?\n"],
    &["; ", ", ", " "],
];

fn len16(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `text` in parts of at most `limit` UTF-16 units each, in order, whitespace at the
/// cuts dropped.
pub(crate) fn split(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(16);
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while len16(rest) > limit {
        let cut = cut_point(rest, limit);
        let (part, tail) = rest.split_at(cut);
        let part = part.trim_end();
        if !part.is_empty() {
            parts.push(part.to_owned());
        }
        rest = tail.trim_start();
    }
    if !rest.is_empty() {
        parts.push(rest.to_owned());
    }
    parts
}

/// Where to cut `text` (longer than `limit`): a byte index on a char boundary, after a
/// separator where one is found far enough in.
fn cut_point(text: &str, limit: usize) -> usize {
    // The longest prefix within the limit.
    let mut max = 0;
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            break;
        }
        max = i + c.len_utf8();
    }
    let window = &text[..max];
    let floor = max / MIN_SHARE;
    for separators in BOUNDARIES {
        let best = separators
            .iter()
            .filter_map(|sep| window.rfind(sep).map(|at| at + sep.len()))
            .filter(|&end| end > floor)
            .max();
        if let Some(end) = best {
            return end;
        }
    }
    max.max(text.chars().next().map_or(1, char::len_utf8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn a_short_answer_is_one_part() {
        assert_eq!(split("  Яма заделана.  ", 4096), ["Яма заделана."]);
    }

    #[test]
    fn a_long_answer_is_cut_at_paragraphs_then_sentences_within_the_limit() {
        let paragraph = "Уважаемая Айгүл! Ваше обращение рассмотрено. Яма на дороге по адресу пр. Абая, 10 заделана подрядчиком 3 декабря. ".repeat(40);
        let text = format!(
            "{}\n\n{}\n\n{}",
            paragraph.trim(),
            paragraph.trim(),
            "Благодарим за обращение."
        );
        assert!(len16(&text) > 4096);
        let parts = split(&text, 4096);
        assert!(parts.len() >= 2, "{}", parts.len());
        for part in &parts {
            assert!(len16(part) <= 4096);
            let last = part.chars().last().unwrap();
            assert!(
                matches!(last, '.' | '!' | '?'),
                "a sentence is whole: …{}",
                &part[part.len() - 20..]
            );
        }
        assert_eq!(
            words(&parts.join(" ")),
            words(&text),
            "nothing lost, nothing repeated, in order"
        );
    }

    #[test]
    fn ten_thousand_characters_without_a_break_arrive_complete_and_in_order() {
        let text: String = (0..10_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let parts = split(&text, 4096);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| len16(p) <= 4096));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn emoji_count_as_telegram_counts_them() {
        // Each 🕳 is two UTF-16 units.
        let text = "🕳".repeat(3000);
        let parts = split(&text, 4096);
        assert!(parts.iter().all(|p| len16(p) <= 4096));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn words_are_kept_whole_when_there_is_no_sentence_end() {
        let text = "жол ".repeat(3000);
        let parts = split(&text, 1000);
        assert!(
            parts.iter().all(|p| p.split(' ').all(|w| w == "жол")),
            "{parts:?}"
        );
        assert_eq!(words(&parts.join(" ")).len(), 3000);
    }
}
