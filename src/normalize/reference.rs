use super::*;

pub(crate) fn text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            '\u{2028}' | '\u{2029}' | '\u{0085}' => out.push('\n'),
            c if c.is_control() || is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    nfc(out).trim().to_owned()
}

pub(crate) fn language(text: &str) -> Option<Language> {
    let (mut cyrillic, mut latin, mut kazakh) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        if KAZAKH_LETTERS.contains(c) {
            kazakh += 1;
            cyrillic += 1;
        } else if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    if cyrillic == 0 && latin == 0 {
        return None;
    }
    if latin > cyrillic {
        return Some(Language::En);
    }
    if kazakh * 100 >= cyrillic * 2 {
        return Some(Language::Kk);
    }
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !is_letter(c))
        .filter(|w| !w.is_empty())
        .collect();
    let kk_hits = words.iter().filter(|w| KAZAKH_WORDS.contains(w)).count() + kazakh;
    let ru_hits = words.iter().filter(|w| RUSSIAN_WORDS.contains(w)).count();
    if kk_hits > ru_hits {
        Some(Language::Kk)
    } else {
        Some(Language::Ru)
    }
}

pub(crate) fn line(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    nfc(out)
}
