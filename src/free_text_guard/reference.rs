use super::*;

pub(crate) fn guard(text: &str, own_iin: Option<&str>, findings: &mut Findings) -> String {
    flag_special_categories(text, findings);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if (chars[i].is_ascii_digit() || matches!(chars[i], 'K' | 'k')) && starts_token(&chars, i) {
            if let Some((end, masked)) = iban_at(&chars, i) {
                findings.count(RedactionKind::Iban);
                out.push_str(&masked);
                i = end;
                continue;
            }
            if chars[i].is_ascii_digit() && chars.get(i.wrapping_sub(1)) != Some(&'+') {
                let (end, masked) = mask_number_run(&chars, i, own_iin, findings);
                out.push_str(&masked);
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// [`SPECIAL_CATEGORY_STEMS`] by their first character, sorted by it.
static STEMS_BY_FIRST_CHAR: LazyLock<Vec<(char, &'static str, bool, AppealFlag)>> =
    LazyLock::new(|| {
        let mut stems: Vec<_> = SPECIAL_CATEGORY_STEMS
            .iter()
            .flat_map(|(flag, stems)| {
                stems.iter().filter_map(move |stem| {
                    let (word, exact) = match stem.strip_prefix('=') {
                        Some(exact) => (exact, true),
                        None => (*stem, false),
                    };
                    Some((word.chars().next()?, word, exact, *flag))
                })
            })
            .collect();
        stems.sort_by_key(|(first, ..)| *first);
        stems
    });

/// Whether a token may start at `i`: the character before is not a letter or a digit.
fn starts_token(chars: &[char], i: usize) -> bool {
    i == 0 || !normalize::is_letter_or_digit(chars[i - 1])
}

fn flag_special_categories(text: &str, findings: &mut Findings) {
    let stems = &*STEMS_BY_FIRST_CHAR;
    let lower = text.to_lowercase();
    for word in lower.split(|c: char| !normalize::is_letter_or_digit(c)) {
        let Some(first) = word.chars().next() else {
            continue;
        };
        let from = stems.partition_point(|(c, ..)| *c < first);
        for (_, stem, exact, flag) in stems[from..].iter().take_while(|(c, ..)| *c == first) {
            let matches = if *exact {
                word == *stem
            } else {
                word.starts_with(stem)
            };
            if matches {
                findings.flags.insert(*flag);
            }
        }
    }
}
