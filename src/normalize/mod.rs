//! Normalization: every value a channel hands in is made canonical here before the policy
//! sees it. Nothing in this module logs or echoes a value; errors carry a code only.

use unicode_normalization::UnicodeNormalization;
use validator::ValidateEmail;

use crate::appeal::Language;

/// Why a value could not be normalized. The code is what the problem document and the
/// metrics show; the value itself is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Invalid {
    #[error("invalid_phone")]
    Phone,
    #[error("invalid_email")]
    Email,
    #[error("invalid_iin")]
    Iin,
    #[error("invalid_date")]
    Date,
    #[error("invalid_value")]
    Value,
    #[error("too_long")]
    TooLong,
}

impl Invalid {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Invalid::Phone => "invalid_phone",
            Invalid::Email => "invalid_email",
            Invalid::Iin => "invalid_iin",
            Invalid::Date => "invalid_date",
            Invalid::Value => "invalid_value",
            Invalid::TooLong => "too_long",
        }
    }
}

/// Characters that carry no text and can hide or reorder it: zero-width characters, bidi
/// controls (the "Trojan Source" family), soft hyphen, word joiners, BOM, interlinear
/// annotation marks and Unicode tag characters. Listed by hand because the standard
/// library has no general-category lookup and these few ranges are all that matter.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
}

/// Free text (an appeal's body): NFC, invisible and control characters removed, line
/// breaks kept (CR LF, CR, U+2028 and U+2029 become LF), tabs kept, trimmed. Otherwise
/// kept exactly as the citizen wrote it.
///
/// The characters kept as they are (nearly all) are copied in runs, and text made only
/// of characters that compose with nothing skips the NFC check (issue 27: pushing each
/// character and testing it against the invisible ranges was most of the cost).
pub(crate) fn text(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut composes = false;
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Printable ASCII, LF, tab and the Cyrillic block (first bytes 0xD0–0xD3), told by
        // their first byte: kept as they are, without decoding them.
        match bytes[i] {
            0x20..=0x7E | b'\n' | b'\t' => {
                i += 1;
                continue;
            }
            0xD0..=0xD3 => {
                composes |= nothing_composes_at(bytes, i) == 0;
                i += 2;
                continue;
            }
            _ => {}
        }
        let Some(c) = input[i..].chars().next() else {
            break;
        };
        let width = c.len_utf8();
        if kept_in_text(c) {
            composes |= !composes_with_nothing(c);
            i += width;
            continue;
        }
        out.push_str(&input[run..i]);
        run = i + width;
        match c {
            '\r' if bytes.get(i + 1) != Some(&b'\n') => out.push('\n'),
            '\u{2028}' | '\u{2029}' | '\u{0085}' => out.push('\n'),
            // CR before LF, control and invisible characters: dropped.
            _ => {}
        }
        i += width;
    }
    out.push_str(&input[run..]);
    let mut out = if composes { nfc(out) } else { out };
    out.truncate(out.trim_end().len());
    let leading = out.len() - out.trim_start().len();
    out.drain(..leading);
    out
}

/// Whether [`text`] keeps `c` as it is: not a control character (but LF and tab), not
/// invisible, not a line break to be rewritten. ASCII and Cyrillic are answered without
/// a table search.
fn kept_in_text(c: char) -> bool {
    match c {
        '\n' | '\t' => true,
        '\0'..='\u{7F}' => !c.is_ascii_control(),
        '\u{0400}'..='\u{04FF}' => true,
        '\u{2028}' | '\u{2029}' => false,
        c => !(c.is_control() || is_invisible_format(c)),
    }
}

/// NFC, skipping the composition pass for text that is already NFC (nearly all of it:
/// keyboards and phones produce composed text). Only the runs of characters other than
/// [`composes_with_nothing`] ones are quick-checked, by table (the quick check costs ~70
/// instructions a character, a third of the normalization of an appeal: issue 19); the
/// others are stepped over by their UTF-8 bytes ([`nothing_composes_at`], issue 27).
fn nfc(text: String) -> String {
    // Each run of other characters follows a character of combining class 0 (or the
    // start), which is where the quick check of the whole text would stand too.
    let quick = |run: &str| {
        unicode_normalization::is_nfc_quick(run.chars()) == unicode_normalization::IsNormalized::Yes
    };
    let mut i = 0;
    while i < text.len() {
        let width = nothing_composes_at(text.as_bytes(), i);
        if width > 0 {
            i += width;
            continue;
        }
        let end = text[i..]
            .find(composes_with_nothing)
            .map_or(text.len(), |n| i + n);
        if !quick(&text[i..end]) {
            return text.nfc().collect();
        }
        i = end;
    }
    text
}

/// The length of the character at byte `i` of UTF-8 `bytes` if it is one of
/// [`composes_with_nothing`], 0 if it is another: told by its first byte (and the second
/// in U+0480–U+04BF) without decoding it. Those characters are U+0000–U+02FF (ASCII, and
/// the two-byte forms starting 0xC2–0xCB) and the Cyrillic block (0xD0–0xD3) but for
/// U+0483–U+0489 (0xD2 0x83–0x89). A test checks it against [`composes_with_nothing`]
/// for every character.
fn nothing_composes_at(bytes: &[u8], i: usize) -> usize {
    match bytes[i] {
        0x00..=0x7F => 1,
        0xC2..=0xCB | 0xD0 | 0xD1 | 0xD3 => 2,
        0xD2 if !matches!(bytes.get(i + 1), Some(0x83..=0x89)) => 2,
        _ => 0,
    }
}

/// Characters that are NFC by themselves and that no following character composes with or
/// reorders (canonical combining class 0, NFC_Quick_Check = Yes): everything below the
/// combining diacritics (ASCII, Latin-1, Latin Extended) and the Cyrillic block but for
/// its combining marks U+0483–U+0489. A string of these alone is NFC. Ranges written by
/// hand (the crates answer only per character, by table); a test checks every character
/// of them against `unicode_normalization`.
fn composes_with_nothing(c: char) -> bool {
    matches!(c, '\0'..='\u{02FF}' | '\u{0400}'..='\u{0482}' | '\u{048A}'..='\u{04FF}')
}

/// `char::is_alphabetic`, answered without the standard library's table search for the
/// letters of the Cyrillic block (that search costs ~300 instructions a character, and an
/// appeal is mostly Cyrillic: issue 19). Written by hand for that one block; a test checks
/// it against `char::is_alphabetic` for every character of the block.
pub(crate) fn is_letter(c: char) -> bool {
    match c {
        '\u{0400}'..='\u{0481}' | '\u{048A}'..='\u{04FF}' => true,
        '\u{0482}'..='\u{0489}' => false,
        c => c.is_alphabetic(),
    }
}

/// The lower case of an ASCII or Cyrillic character, without the standard library's
/// table search (~40 instructions a character, most of the cost of flagging an appeal's
/// words: issue 27); `None` for any other character (ask `char::to_lowercase`). In the
/// Cyrillic block the capitals are Ѐ–Џ (to ѐ–џ), А–Я (to а–я), Ӏ (to ӏ) and, from Ѡ
/// on, the first of each pair — the even code points but in Ӂ–Ӎ, where the pairs start
/// odd. Written by hand for that one block; a test checks every character of it against
/// `char::to_lowercase`.
pub(crate) fn lower_case(c: char) -> Option<char> {
    let code = u32::from(c);
    let lower = match code {
        0x00..=0x7F => return Some(c.to_ascii_lowercase()),
        // а–я, ѐ–џ: the most frequent, first.
        0x0430..=0x045F => return Some(c),
        0x0400..=0x040F => code + 0x50,
        0x0410..=0x042F => code + 0x20,
        0x0460..=0x0481 | 0x048A..=0x04BF | 0x04D0..=0x04FF if code % 2 == 0 => code + 1,
        0x04C0 => 0x04CF,
        0x04C1..=0x04CE if code % 2 == 1 => code + 1,
        0x0460..=0x04FF => code,
        _ => return None,
    };
    char::from_u32(lower)
}

/// `char::is_alphanumeric` with the fast Cyrillic path of [`is_letter`].
pub(crate) fn is_letter_or_digit(c: char) -> bool {
    is_letter(c) || c.is_numeric()
}

/// A one-line value (a name, an address): like [`text`], but any run of white space,
/// line breaks included, becomes one space.
pub(crate) fn line(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut composes = false;
    let mut pending_space = false;
    // The start of the run of characters being kept as they are.
    let mut run = None;
    for (i, c) in input.char_indices() {
        let (space, dropped) = match c {
            '\0'..='\u{7F}' => (
                c.is_ascii_whitespace() || c == '\u{0B}',
                c.is_ascii_control(),
            ),
            '\u{0400}'..='\u{04FF}' => (false, false),
            c => (c.is_whitespace(), c.is_control() || is_invisible_format(c)),
        };
        if !space && !dropped {
            if run.is_none() {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                run = Some(i);
            }
            composes |= !composes_with_nothing(c);
            continue;
        }
        if let Some(from) = run.take() {
            out.push_str(&input[from..i]);
        }
        if space {
            pending_space = !out.is_empty();
        }
    }
    if let Some(from) = run {
        out.push_str(&input[from..]);
    }
    if composes { nfc(out) } else { out }
}

/// A phone number in E.164 (`+77011234567`).
///
/// People write `8 701 123 45 67`, `+7 (701) 123-45-67`, `701 123 45 67`, `87011234567`.
/// The `phonenumber` crate with a default region of KZ reads the 10-digit `7011234567`
/// as country code 7 followed by 9 digits, so the trunk prefix and the missing country
/// code are settled here first (DOMAIN.md) and the crate then parses `+digits` with no
/// default region and checks it against its metadata. A number in another country must
/// be written with its `+`. Kazakh mobile and Almaty numbers, nearly every number
/// citizens give, are checked against the numbering plan directly
/// ([`kazakh_by_plan`]); the crate's regular expressions (a twentieth of an appeal's
/// cost: issue 27) read the rest.
pub(crate) fn phone(input: &str) -> Result<String, Invalid> {
    let cleaned = line(input);
    if cleaned.len() > 32 {
        return Err(Invalid::Phone);
    }
    let plus = cleaned.starts_with('+');
    let body = if plus { &cleaned[1..] } else { &cleaned[..] };
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'(' | b')' | b'-' | b'.'))
    {
        return Err(Invalid::Phone);
    }
    // `+`, the country code and the number: the E.164 form when it is valid.
    let mut e164 = String::with_capacity(16);
    e164.push('+');
    e164.extend(body.chars().filter(char::is_ascii_digit));
    let digits = &e164[1..];
    if !plus {
        match (digits.len(), digits.as_bytes().first()) {
            (11, Some(b'8')) => e164.replace_range(1..2, "7"),
            (11, Some(b'7')) => {}
            (10, Some(b'7')) => e164.insert(1, '7'),
            _ => return Err(Invalid::Phone),
        }
    }
    if kazakh_by_plan(&e164[1..]) {
        return Ok(e164);
    }
    let parsed = phonenumber::parse(None, &e164).map_err(|_| Invalid::Phone)?;
    if !phonenumber::is_valid(&parsed) {
        return Err(Invalid::Phone);
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

/// Whether `digits` (country code and number, no `+`) is a Kazakh mobile number or an
/// Almaty landline by the numbering plan, as the `phonenumber` crate's metadata states
/// it (KZ, `mobile` and the `727` part of `fixedLine`):
/// `7 7(0[0-25-8]|47|6[0-4]|7[15-8]|85) xxxxxxx` and
/// `7 727([2379]x|40|5[279]) xxxxx`. Written by hand for these two patterns only, which
/// cover nearly every number citizens give; everything else goes to the crate, and a
/// property test (`src/properties.rs`) checks that the crate agrees with every number
/// this takes.
pub(crate) fn kazakh_by_plan(digits: &str) -> bool {
    let d = digits.as_bytes();
    if d.len() != 11 || !d.iter().all(u8::is_ascii_digit) || d[0] != b'7' || d[1] != b'7' {
        return false;
    }
    let mobile = matches!(
        (d[2], d[3]),
        (b'0', b'0'..=b'2' | b'5'..=b'8')
            | (b'4', b'7')
            | (b'6', b'0'..=b'4')
            | (b'7', b'1' | b'5'..=b'8')
            | (b'8', b'5')
    );
    let almaty = d[2] == b'2'
        && d[3] == b'7'
        && matches!(
            (d[4], d[5]),
            (b'2' | b'3' | b'7' | b'9', _) | (b'4', b'0') | (b'5', b'2' | b'7' | b'9')
        );
    mobile || almaty
}

/// Loads the phone-number metadata (hundreds of milliseconds in a debug build) before
/// the first citizen waits for it.
pub(crate) fn warm_up() {
    let _ = phone("+77011234567");
    let _ = email("warm@up.kz");
}

/// An email address, checked by `validator` (HTML5 / RFC 5322 rules), with its domain
/// lower-cased. The local part is kept as written: some servers treat its case as
/// significant.
pub(crate) fn email(input: &str) -> Result<String, Invalid> {
    let cleaned = line(input);
    if cleaned.len() > 254 || cleaned.contains(' ') {
        return Err(Invalid::Email);
    }
    if !cleaned.validate_email() {
        return Err(Invalid::Email);
    }
    let (local, domain) = cleaned.rsplit_once('@').ok_or(Invalid::Email)?;
    // Issue 34: IDNA UTS 46, and each label in one script (`маil.kz` is refused).
    let domain = crate::email_domain::checked(domain).ok_or(Invalid::Email)?;
    let mut address = String::with_capacity(local.len() + 1 + domain.len());
    address.push_str(local);
    address.push('@');
    address.push_str(&domain);
    Ok(address)
}

/// An IIN (ЖСН/ИИН): 12 digits (spaces allowed in the input) whose 12th is the check
/// digit, computed with the weights 1..11 and, when that gives 10, with 3..11,1,2.
/// The date and century digits are not checked: since Decree No. 853 (2013) they are
/// not bound to the person, and a checksum-valid IIN must never be refused for them.
pub(crate) fn iin(input: &str) -> Result<String, Invalid> {
    let digits: String = line(input).chars().filter(|c| *c != ' ').collect();
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Iin);
    }
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    let weighted =
        |weights: [u32; 11]| -> u32 { d.iter().zip(weights).map(|(x, w)| x * w).sum::<u32>() % 11 };
    let mut check = weighted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if check == 10 {
        check = weighted([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    }
    if check == 10 || check != d[11] {
        return Err(Invalid::Iin);
    }
    Ok(digits)
}

/// A date of birth `YYYY-MM-DD` that exists, is not in the future and not before 1900.
pub(crate) fn birth_date(input: &str, today: time::Date) -> Result<String, Invalid> {
    let cleaned = line(input);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(&cleaned, &format).map_err(|_| Invalid::Date)?;
    if date > today || date.year() < 1900 {
        return Err(Invalid::Date);
    }
    Ok(cleaned)
}

/// An identity document's number: letters and digits only (spaces and dashes dropped),
/// upper-cased, at most 20.
pub(crate) fn document_number(input: &str) -> Result<String, Invalid> {
    let kept: String = line(input)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .flat_map(char::to_uppercase)
        .collect();
    if kept.is_empty() || kept.chars().count() > 20 || !kept.chars().all(char::is_alphanumeric) {
        return Err(Invalid::Value);
    }
    Ok(kept)
}

/// A Telegram chat id: an integer, negative for groups.
pub(crate) fn chat_id(input: &str) -> Result<String, Invalid> {
    let cleaned = line(input);
    let digits = cleaned.strip_prefix('-').unwrap_or(&cleaned);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Value);
    }
    Ok(cleaned)
}

/// Letters found only in the Kazakh Cyrillic alphabet, not in Russian ([`is_kazakh_letter`]
/// tells them by range; a test checks the two agree).
#[cfg(test)]
const KAZAKH_LETTERS: &str = "ӘәҒғҚқҢңӨөҰұҮүҺһІі";

/// Frequent Kazakh words written without any Kazakh-only letter.
const KAZAKH_WORDS: &[&str] = &[
    "және",
    "мен",
    "бен",
    "пен",
    "туралы",
    "бойынша",
    "керек",
    "емес",
    "жоқ",
    "бар",
    "жол",
    "мектеп",
    "жарық",
    "су",
    "бізде",
    "біздің",
    "сізден",
    "көше",
    "ауданы",
    "үй",
];

/// Frequent Russian words (never Kazakh).
const RUSSIAN_WORDS: &[&str] = &[
    "и",
    "в",
    "на",
    "не",
    "что",
    "по",
    "с",
    "это",
    "улица",
    "ул",
    "дом",
    "нет",
    "уже",
    "просим",
    "прошу",
    "очень",
    "для",
    "от",
    "как",
    "когда",
];

/// The language of a text, `None` when there are no letters to go by.
///
/// Written by hand: `whatlang` has no Kazakh, and `lingua` would ship tens of megabytes
/// of models to decide what the alphabet already settles. Kazakh Cyrillic has nine
/// letters Russian lacks (Ә Ғ Қ Ң Ө Ұ Ү Һ І) that make up several percent of any Kazakh
/// text; a Russian text mentions at most a Kazakh name or two. So a text is Kazakh when
/// those letters are at least 2% of its Cyrillic letters; below that, a few frequent
/// words settle it (each Kazakh-only letter counting as one Kazakh word, a tie going to
/// Russian); more Latin than Cyrillic letters is taken as English.
pub(crate) fn language(text: &str) -> Option<Language> {
    language_of(&[text])
}

/// [`language`] of several texts read as one, each separated from the next by a space
/// (a subject and a text), without joining them.
///
/// The letters are counted by range and the words lower-cased as they are read, only as
/// far as a word of the lists is that long (issue 27: lower-casing the whole text and
/// looking each character up in a string was most of the cost).
pub(crate) fn language_of(texts: &[&str]) -> Option<Language> {
    let (mut cyrillic, mut latin, mut kazakh) = (0usize, 0usize, 0usize);
    for c in texts.iter().flat_map(|t| t.chars()) {
        if is_kazakh_letter(c) {
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
    let mut words = WordCount {
        kk: kazakh,
        ..WordCount::default()
    };
    for text in texts {
        for c in text.chars() {
            match lower_case(c) {
                Some(lower) => words.read(lower),
                None => c.to_lowercase().for_each(|lower| words.read(lower)),
            }
        }
        words.end();
    }
    if words.kk > words.ru {
        Some(Language::Kk)
    } else {
        Some(Language::Ru)
    }
}

/// Letters found only in the Kazakh Cyrillic alphabet, not in Russian: Ә Ғ Қ Ң Ө Ұ Ү Һ І.
fn is_kazakh_letter(c: char) -> bool {
    matches!(
        c,
        'Ә' | 'ә'
            | 'Ғ'
            | 'ғ'
            | 'Қ'
            | 'қ'
            | 'Ң'
            | 'ң'
            | 'Ө'
            | 'ө'
            | 'Ұ'
            | 'ұ'
            | 'Ү'
            | 'ү'
            | 'Һ'
            | 'һ'
            | 'І'
            | 'і'
    )
}

/// The longest word of [`KAZAKH_WORDS`] and [`RUSSIAN_WORDS`], in bytes.
const LONGEST_WORD: usize = 14;

/// The words of [`language_of`]'s lower-cased text found in each list.
#[derive(Default)]
struct WordCount {
    kk: usize,
    ru: usize,
    /// The word being read, while it is no longer than [`LONGEST_WORD`].
    word: String,
    /// Longer than any word of the lists.
    long: bool,
}

impl WordCount {
    fn read(&mut self, c: char) {
        if !is_letter(c) {
            self.end();
        } else if !self.long {
            self.word.push(c);
            self.long = self.word.len() > LONGEST_WORD;
        }
    }

    fn end(&mut self) {
        if !self.long && !self.word.is_empty() {
            let word = self.word.as_str();
            self.kk += usize::from(KAZAKH_WORDS.contains(&word));
            self.ru += usize::from(RUSSIAN_WORDS.contains(&word));
        }
        self.word.clear();
        self.long = false;
    }
}

/// [`text`] and [`line`] as they were before issue 27 (every character pushed one by
/// one): the oracle the faster ones are checked against (`src/properties.rs`).
#[cfg(test)]
pub(crate) mod reference;

#[cfg(test)]
mod tests;
