//! The free-text guard: what a citizen pastes into the `subject` and `text` of an appeal
//! that the regulation does not let the gateway keep or forward (issue 16, point 4).
//!
//! - **Payment card numbers** (regulation 5.1 has no bank data; 6.7 forbids excess): 13 to
//!   19 digits, unbroken or in the groups cards are printed in (fours, or 4-6-5 / 4-6-4),
//!   that pass the Luhn check, are masked to their last four digits: `[**** 1234]`.
//! - **Kazakhstan IBANs**: `KZ`, two check digits and sixteen letters or digits (spaces
//!   between groups allowed) that are valid mod 97, are masked to `[KZ** **** 1234]`.
//! - **Other people's IINs**: twelve digits (unbroken, 4-4-4 or 6-6) with a valid check
//!   digit ([`normalize::iin`]) that are not the applicant's own IIN *as the channel's
//!   policy kept it* are masked to `************`. An IIN typed on a channel that does
//!   not take IINs is masked too: otherwise the text would carry what the policy dropped.
//!   A number right after «БИН», «БСН» or «BIN» is a company's number and is kept.
//!
//! Each masking is counted by kind on the appeal (`redactions`), never with the value.
//!
//! Words of the special categories (health, religion, political views, criminal record)
//! in kk, ru and en only raise a [`AppealFlag`] for the case system; the text is kept as
//! written, because the citizen may need to write them (a complaint about a clinic, about
//! a disabled person's ramp). Nationality is on the allowlist (5.1.7) and is not flagged.
//!
//! What is *not* touched, and tested: phone numbers (11 digits, or `+` and up to 15),
//! dates, house and flat numbers, tracking numbers (`OA-…`, `RR…KZ`), amounts such as
//! «1 500 000 тенге» and cadastral numbers such as `20-311-012-345`. A number glued to a
//! letter, or right after a `+`, is never masked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use crate::appeal::{AppealFlag, Redaction, RedactionKind};
use crate::normalize;

/// What the guard found in every field of one appeal.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Findings {
    counts: BTreeMap<RedactionKind, u32>,
    flags: BTreeSet<AppealFlag>,
}

impl Findings {
    /// The maskings by kind, in a stable order; empty when nothing was masked.
    pub(crate) fn redactions(&self) -> Vec<Redaction> {
        self.counts
            .iter()
            .map(|(kind, count)| Redaction {
                kind: *kind,
                count: *count,
            })
            .collect()
    }

    /// The special-category flags raised.
    pub(crate) fn flags(&self) -> impl Iterator<Item = AppealFlag> + '_ {
        self.flags.iter().copied()
    }

    fn count(&mut self, kind: RedactionKind) {
        *self.counts.entry(kind).or_default() += 1;
    }
}

/// Guards one free-text field: returns the text with card numbers, IBANs and other
/// people's IINs masked, and adds what it masked and flagged to `findings`.
/// `own_iin` is the applicant's IIN as kept by the policy (12 digits).
///
/// Only a digit or the `K` of `KZ` can start what is masked, and both are ASCII: the
/// text is scanned by byte for them and copied in runs between them (issue 27: decoding
/// every character into a vector and pushing them back one by one was most of the
/// guard's cost). Around each candidate the maskers read the characters of
/// [`window_at`], exactly those they would read in the whole text.
pub(crate) fn guard(text: &str, own_iin: Option<&str>, findings: &mut Findings) -> String {
    flag_special_categories(text, findings);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    let mut window = Vec::new();
    while let Some(found) = bytes[at..]
        .iter()
        .position(|b| b.is_ascii_digit() || matches!(b, b'K' | b'k'))
    {
        let start = at + found;
        at = start + 1;
        let before = text[..start].chars().next_back();
        // The word-boundary test (a Unicode look-up) is asked only here.
        if before.is_some_and(normalize::is_letter_or_digit) {
            continue;
        }
        let digit = bytes[start].is_ascii_digit() && before != Some('+');
        let i = window_at(text, start, digit, &mut window);
        let masked = match iban_at(&window, i) {
            Some(found) => {
                findings.count(RedactionKind::Iban);
                Some(found)
            }
            None if digit => Some(mask_number_run(&window, i, own_iin, findings)),
            None => None,
        };
        if let Some((end, masked)) = masked {
            out.push_str(&text[copied..start]);
            out.push_str(&masked);
            copied = start + window[i..end].iter().map(|c| c.len_utf8()).sum::<usize>();
            at = copied;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The most characters [`iban_at`] reads from where it starts: `KZ`, eighteen letters or
/// digits with a separator between any two of them, and the character after.
const IBAN_READS: usize = 2 + 18 + 17 + 2;

/// The characters around a candidate at byte `start` of `text`, into `window`, and the
/// candidate's index in it: up to eight characters before it (for
/// [`preceded_by_company_marker`]), then the run of ASCII letters, digits and group
/// separators that starts there and the one character after the run — all that
/// [`iban_at`], [`digit_groups`] and [`mask_number_run`] read. A run that is not a
/// digit run the guard masks (`digits` false: only an IBAN is looked for) is read no
/// further than an IBAN, so that a long run of candidates is not read again for each.
fn window_at(text: &str, start: usize, digits: bool, window: &mut Vec<char>) -> usize {
    window.clear();
    window.extend(text[..start].chars().rev().take(8));
    window.reverse();
    let i = window.len();
    let limit = if digits { usize::MAX } else { IBAN_READS };
    for c in text[start..].chars().take(limit) {
        window.push(c);
        if !(c.is_ascii_alphanumeric() || is_group_separator(c)) {
            break;
        }
    }
    i
}

/// Separators people put between groups of digits: space, no-break spaces, dash.
fn is_group_separator(c: char) -> bool {
    matches!(c, ' ' | '\u{00A0}' | '\u{202F}' | '-')
}

/// A run of digit groups starting at `start`: digits separated by one separator each,
/// ending where the next character is neither. Returns the groups as
/// `(start, end)` char indices and the end of the run.
fn digit_groups(chars: &[char], start: usize) -> (Vec<(usize, usize)>, usize) {
    let mut groups = Vec::new();
    let mut i = start;
    loop {
        let group_start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        groups.push((group_start, i));
        let next_is_group =
            i + 1 < chars.len() && is_group_separator(chars[i]) && chars[i + 1].is_ascii_digit();
        if !next_is_group {
            break;
        }
        i += 1;
    }
    (groups, i)
}

/// Masks card numbers and IINs found among the digit groups starting at `start`; the
/// rest of the run is copied as it was. A run glued to a letter at its end is copied
/// whole (a tracking or document number, not a card).
fn mask_number_run(
    chars: &[char],
    start: usize,
    own_iin: Option<&str>,
    findings: &mut Findings,
) -> (usize, String) {
    let (groups, end) = digit_groups(chars, start);
    let copy = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    // Fewer digits than an IIN (the shortest that is masked) in the whole run: nothing
    // to look for, as in most numbers of an appeal (a house, a date, an amount).
    let digits: usize = groups.iter().map(|(a, b)| b - a).sum();
    if digits < 12 || chars.get(end).is_some_and(|c| c.is_alphabetic()) {
        return (end, copy(start, end));
    }
    let company_number = preceded_by_company_marker(chars, start);
    let mut out = String::new();
    let mut copied_to = start;
    let mut g = 0;
    while g < groups.len() {
        let found = (g + 1..=groups.len()).rev().find_map(|h| {
            let window = &groups[g..h];
            let digits: String = window.iter().map(|(a, b)| copy(*a, *b)).collect();
            let sizes: Vec<usize> = window.iter().map(|(a, b)| b - a).collect();
            if is_card_shape(&sizes) && luhn(&digits) {
                let last4 = &digits[digits.len() - 4..];
                Some((h, RedactionKind::Card, format!("[**** {last4}]")))
            } else if !(company_number && g == 0)
                && is_iin_shape(&sizes)
                && normalize::iin(&digits).is_ok()
                && own_iin != Some(digits.as_str())
            {
                Some((h, RedactionKind::Iin, "*".repeat(12)))
            } else {
                None
            }
        });
        match found {
            Some((h, kind, masked)) => {
                out.push_str(&copy(copied_to, groups[g].0));
                out.push_str(&masked);
                findings.count(kind);
                copied_to = groups[h - 1].1;
                g = h;
            }
            None => g += 1,
        }
    }
    out.push_str(&copy(copied_to, end));
    (end, out)
}

/// Card numbers as printed: unbroken 13–19 digits, fours with a shorter last group
/// (16 and 19 digits, 13 as 4-4-4-1), or the 4-6-5 (American Express) and 4-6-4
/// (Diners) layouts.
fn is_card_shape(sizes: &[usize]) -> bool {
    let total: usize = sizes.iter().sum();
    if !(13..=19).contains(&total) {
        return false;
    }
    match sizes {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        [init @ .., last] => init.iter().all(|s| *s == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// IINs as written: unbroken, 4-4-4 or 6-6 (date part and serial part).
fn is_iin_shape(sizes: &[usize]) -> bool {
    matches!(sizes, [12] | [4, 4, 4] | [6, 6])
}

/// The Luhn check of payment cards (ISO/IEC 7812-1).
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether the word before `start` names a business identification number (a company's,
/// not a person's): «БИН» (ru), «БСН» (kk), «BIN» (en), with an optional colon or «№».
fn preceded_by_company_marker(chars: &[char], start: usize) -> bool {
    let before: String = chars[start.saturating_sub(8)..start].iter().collect();
    let word = before
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '№' | '-'))
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_lowercase();
    matches!(word.as_str(), "бин" | "бсн" | "bin")
}

/// A Kazakhstan IBAN starting at `start`: `KZ`, two check digits, sixteen letters or
/// digits, one separator between groups allowed (a space, a no-break space or a dash,
/// as between a card's groups), valid mod 97 (ISO 13616). Returns its
/// end and the masked text.
fn iban_at(chars: &[char], start: usize) -> Option<(usize, String)> {
    let country: String = chars.get(start..start + 2)?.iter().collect();
    if !country.eq_ignore_ascii_case("KZ") {
        return None;
    }
    let mut body = String::with_capacity(18);
    let mut i = start + 2;
    while body.len() < 18 && i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphanumeric() {
            body.push(c.to_ascii_uppercase());
        } else if !(is_group_separator(c)
            && chars.get(i + 1).is_some_and(char::is_ascii_alphanumeric))
        {
            break;
        }
        i += 1;
    }
    let check_digits = body.get(..2)?;
    if body.len() != 18
        || !check_digits.bytes().all(|b| b.is_ascii_digit())
        || chars.get(i).is_some_and(|c| c.is_alphanumeric())
        || !iban_mod97_valid(&format!("KZ{body}"))
    {
        return None;
    }
    let last4 = &body[body.len() - 4..];
    Some((i, format!("[KZ** **** {last4}]")))
}

/// ISO 13616: move the first four characters to the end, letters to 10..35, the number
/// mod 97 is 1.
fn iban_mod97_valid(iban: &str) -> bool {
    let rearranged = iban[4..].chars().chain(iban[..4].chars());
    let mut remainder: u32 = 0;
    for c in rearranged {
        let Some(value) = c.to_digit(36) else {
            return false;
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// Word beginnings that mark a special category, by flag. Lower case; a word matches
/// when it starts with one of them, or, for an entry written `=word`, when it is that
/// word. Words that also name a crime or a court in general (уголовное дело, қылмыстық)
/// are left out: a complaint about a builder's crime is not about anyone's record. Chosen so that places (больница, аурухана, мечеть,
/// церковь) and nationality (ұлты, национальность, казах, русский) are not among them.
const SPECIAL_CATEGORY_STEMS: &[(AppealFlag, &[&str])] = &[
    (
        AppealFlag::SpecialCategoryHealth,
        &[
            // ru
            "диагноз",
            "инвалид",
            "болезн",
            "заболев",
            "болен",
            "больна",
            "онколог",
            "беремен",
            "психиатр",
            "диабет",
            "туберкул",
            "инсульт",
            "инфаркт",
            "эпилепс",
            "вич",
            // kk
            "мүгедек",
            "науқас",
            "сырқат",
            "аурумен",
            "ауруым",
            "ауруы",
            "жүктілі",
            "диабеті",
            // en
            "diagnos",
            "disabilit",
            "disabled",
            "illness",
            "pregnan",
            "hiv",
        ],
    ),
    (
        AppealFlag::SpecialCategoryReligion,
        &[
            "религи",
            "вероисповед",
            "мусульман",
            "православ",
            "христиан",
            "атеист",
            "намаз",
            "хиджаб",
            // «дін» (religion) with its endings; not a bare prefix: Дінмұхамед Қонаев
            // is one of Almaty's main streets.
            "=дін",
            "діни",
            "дінге",
            "дінім",
            "дінін",
            "дінді",
            "діннің",
            "дінсіз",
            "мұсылман",
            "religio",
            "muslim",
            "christian",
        ],
    ),
    (
        AppealFlag::SpecialCategoryPoliticalViews,
        &["политическ", "оппозиц", "саяси", "political", "opposition"],
    ),
    (
        AppealFlag::SpecialCategoryCriminalRecord,
        &[
            "судимост",
            "судим",
            "осужден",
            "осуждён",
            "сотталған",
            "сотталды",
            "сотталып",
            "convicted",
            "conviction",
        ],
    ),
];

/// A stem of [`SPECIAL_CATEGORY_STEMS`] as a word is compared with it.
struct Stem {
    chars: Vec<char>,
    /// The whole word must be the stem (`=word`), not only begin with it.
    exact: bool,
    flag: AppealFlag,
}

/// Every stem, in the order of their characters: the stems that begin with what a word
/// has so far are then next to each other, and each further character of the word
/// narrows them by a binary search (issue 27: a word is read once, character by
/// character, and dropped as soon as no stem begins as it does).
static STEMS: LazyLock<Vec<Stem>> = LazyLock::new(|| {
    let mut stems: Vec<Stem> = SPECIAL_CATEGORY_STEMS
        .iter()
        .flat_map(|(flag, stems)| {
            stems.iter().map(move |stem| {
                let (word, exact) = match stem.strip_prefix('=') {
                    Some(exact) => (exact, true),
                    None => (*stem, false),
                };
                Stem {
                    chars: word.chars().collect(),
                    exact,
                    flag: *flag,
                }
            })
        })
        .collect();
    stems.sort_by(|a, b| a.chars.cmp(&b.chars));
    stems
});

/// Raises a flag for every special category a word of `text` belongs to. The words are
/// those of the lower-cased text (runs of letters and digits); each is lower-cased as it
/// is read, and compared only while a stem begins as it does (issue 27: lower-casing the
/// whole text was most of the cost of flagging).
fn flag_special_categories(text: &str, findings: &mut Findings) {
    let mut word = Word::default();
    for c in text.chars() {
        match normalize::lower_case(c) {
            Some(lower) => word.read(lower, findings),
            None => c
                .to_lowercase()
                .for_each(|lower| word.read(lower, findings)),
        }
    }
    word.end(findings);
}

/// The stems that begin with each ASCII or Cyrillic character, as `STEMS[from..to]`, by
/// [`first_index`]: a word's first character finds them without a search.
static BY_FIRST: LazyLock<Vec<(u16, u16)>> = LazyLock::new(|| {
    let mut table = vec![(0, 0); 0x80 + 0x100];
    for (i, stem) in STEMS.iter().enumerate() {
        let Some(slot) = stem.chars.first().and_then(|c| first_index(*c)) else {
            continue;
        };
        let i = u16::try_from(i).unwrap_or(u16::MAX);
        let (from, to) = &mut table[slot];
        if from == to {
            *from = i;
        }
        *to = i + 1;
    }
    table
});

/// The slot of an ASCII or Cyrillic character in [`BY_FIRST`].
fn first_index(c: char) -> Option<usize> {
    match c {
        '\0'..='\u{7F}' => Some(c as usize),
        '\u{0400}'..='\u{04FF}' => Some(0x80 + c as usize - 0x400),
        _ => None,
    }
}

/// A word of [`flag_special_categories`] being read.
#[derive(Default)]
struct Word {
    /// Inside a word.
    open: bool,
    /// Characters read.
    read: usize,
    /// The stems that begin with the characters read: `STEMS[from..to]`.
    from: usize,
    to: usize,
}

impl Word {
    /// One character of the lower-cased text. Most characters end a word or continue
    /// one no stem begins as: that is decided here, inline; the rest is not.
    #[inline(always)]
    fn read(&mut self, c: char, findings: &mut Findings) {
        if normalize::is_letter_or_digit(c) {
            if !self.open {
                self.start(c, findings);
            } else if self.from < self.to {
                self.narrow(c, findings);
            }
        } else if self.open {
            self.end(findings);
        }
    }

    /// The first character of a word.
    fn start(&mut self, c: char, findings: &mut Findings) {
        self.open = true;
        self.read = 0;
        match first_index(c) {
            Some(slot) => {
                let (from, to) = BY_FIRST[slot];
                (self.from, self.to) = (usize::from(from), usize::from(from));
                if from < to {
                    self.to = usize::from(to);
                    self.read = 1;
                    self.complete(findings);
                }
            }
            None => {
                (self.from, self.to) = (0, STEMS.len());
                self.narrow(c, findings);
            }
        }
    }

    /// Keeps the stems whose next character is `c`.
    fn narrow(&mut self, c: char, findings: &mut Findings) {
        let at = self.read;
        let stems = &STEMS[self.from..self.to];
        // They share their first `at` characters; those that have no more come first.
        let first = stems.partition_point(|s| s.chars.get(at).is_none_or(|x| *x < c));
        let count = stems[first..].partition_point(|s| s.chars[at] == c);
        self.from += first;
        self.to = self.from + count;
        self.read = at + 1;
        self.complete(findings);
    }

    /// A stem the characters read complete raises its flag, unless it must be the
    /// whole word.
    fn complete(&self, findings: &mut Findings) {
        for stem in STEMS[self.from..self.to]
            .iter()
            .take_while(|s| s.chars.len() == self.read)
        {
            if !stem.exact {
                findings.flags.insert(stem.flag);
            }
        }
    }

    /// The end of the text or of a word: a whole-word stem it completes raises its flag.
    fn end(&mut self, findings: &mut Findings) {
        if !self.open {
            return;
        }
        for stem in STEMS[self.from..self.to]
            .iter()
            .take_while(|s| s.chars.len() == self.read)
        {
            if stem.exact {
                findings.flags.insert(stem.flag);
            }
        }
        self.open = false;
        self.from = 0;
        self.to = 0;
    }
}

/// The guard as it was before issue 27 (a vector of every character, the whole text
/// lower-cased for the flags): the oracle the faster one is checked against.
#[cfg(test)]
pub(crate) mod reference;

#[cfg(test)]
mod tests;
