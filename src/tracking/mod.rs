//! The tracking number a citizen is given: `OA-7K3M-9QX2`, Crockford base32 (no I, L,
//! O, U, so nothing reads as another symbol), short enough to say over the phone. It
//! maps to the appeal's ULID (`outbox` keeps the map); it is not the id, so the id can
//! stay long and unguessable while the number stays short.
//!
//! One type, one alphabet, one parser: the status page, the consoles' receipt, the
//! email channel's thread detection and the bots all read a number through
//! [`TrackingNumber::parse`] (a whole input) or [`TrackingNumber::find_in`] (a number
//! inside a mail subject).
//!
//! **Unique across instances by construction.** A number is a 40-bit value put through
//! a keyed permutation (a four-round Feistel network over the 40 bits, keyed from the
//! deployment's subject-key secret): distinct values give distinct numbers, and the
//! numbers do not reveal how many appeals came before. The values come from blocks that
//! no two processes share ([`issuer`]): leased from a counter in Redis, or, while Redis
//! cannot be reached, drawn at random from a region of their own — whatever the
//! configuration, and from a copied data directory too. The value space is read as a
//! slot (5 bits) and a counter (35 bits), as numbers were issued before (one slot per
//! `GATEWAY_INSTANCE_NUMBER`, counters from 0): new values have the counter's top bit
//! set, which no earlier instance reached, so they never meet an earlier number. Numbers
//! issued before the permutation (`OA-XXXX-XXXX`, 40 random bits) still parse and
//! resolve.
//!
//! **A check symbol.** New numbers end with Crockford's check symbol: the 40-bit value
//! modulo 37 (`OA-7K3M-9QX8-5`). 37 is a prime above the alphabet's 32, so every
//! substitution of one symbol, and every swap of two neighbours, changes the check: a
//! mistyped number is caught before any lookup. Only values whose check falls on one of
//! the 32 letters and digits are issued (Crockford's five extra check symbols `*~$=U` are
//! hard to read over the phone); the counter skips the others.

pub(crate) mod issuer;

use std::fmt;

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols after the prefix: two groups of four.
const SYMBOLS: usize = 8;
/// `OA-XXXX-XXXX` (numbers issued before the check symbol).
const LEN: usize = 12;
/// `OA-XXXX-XXXX-C`.
const CHECKED_LEN: usize = 14;
/// Slots of the number space (one per instance, as numbers were issued before).
#[cfg(test)]
const SLOTS: u8 = 32;
/// Bits of an instance's counter.
const SEQ_BITS: u32 = 35;

/// A well-formed tracking number, upper-case, with its dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TrackingNumber(String);

impl TrackingNumber {
    /// A random number of the earlier form (40 random bits, no check symbol), as issued
    /// before the check symbol: such numbers still resolve.
    #[cfg(test)]
    fn random() -> TrackingNumber {
        use rand::Rng;
        TrackingNumber::from_bits(rand::rng().random())
    }

    /// The number of the earlier form that spells the low 40 bits of `bits`, five bits a
    /// symbol, the most significant first; the higher bits are never read.
    #[cfg(test)]
    fn from_bits(bits: u64) -> TrackingNumber {
        let mut out = String::with_capacity(LEN);
        out.push_str("OA-");
        for i in 0..SYMBOLS {
            if i == 4 {
                out.push('-');
            }
            let shift = 5 * (SYMBOLS - 1 - i);
            out.push(ALPHABET[((bits >> shift) & 31) as usize] as char);
        }
        TrackingNumber(out)
    }

    /// A number as a citizen or an agent typed it: any case, surrounding spaces, the
    /// dashes optional, and the look-alikes Crockford's decoding forgives (O → 0, I and
    /// L → 1). `None` when it cannot be a tracking number.
    pub(crate) fn parse(raw: &str) -> Option<TrackingNumber> {
        TrackingNumber::read(raw).ok()
    }

    /// [`TrackingNumber::parse`], telling what is wrong when it is not a number: a number
    /// whose check symbol does not match its eight symbols (a typo: issue 28 asks the
    /// page to say "check the last character") apart from what cannot be a number.
    pub(crate) fn read(raw: &str) -> Result<TrackingNumber, Misread> {
        let mut symbols = String::with_capacity(SYMBOLS + 2);
        for c in raw.trim().chars() {
            if c == '-' || c == ' ' {
                continue;
            }
            symbols.push(c.to_ascii_uppercase());
        }
        let body = symbols
            .strip_prefix("OA")
            .or_else(|| symbols.strip_prefix("0A"))
            .ok_or(Misread::Shape)?;
        let count = body.chars().count();
        if count != SYMBOLS && count != SYMBOLS + 1 {
            return Err(Misread::Shape);
        }
        let mut out = String::with_capacity(CHECKED_LEN);
        out.push_str("OA-");
        let mut value: u64 = 0;
        for (i, c) in body.chars().enumerate() {
            if i == SYMBOLS {
                // The check symbol: the value modulo 37, one of the 32 letters and digits.
                // Any other letter, digit or Crockford check symbol there is a typo of it.
                if !(c.is_ascii_alphanumeric() || matches!(c, '*' | '~' | '$' | '=')) {
                    return Err(Misread::Shape);
                }
                let check = symbol(c).ok_or(Misread::Check)?;
                if value % 37 >= 32 || ALPHABET[(value % 37) as usize] != check as u8 {
                    return Err(Misread::Check);
                }
                out.push('-');
                out.push(check);
                break;
            }
            if i == 4 {
                out.push('-');
            }
            let c = symbol(c).ok_or(Misread::Shape)?;
            value = (value << 5) | digit(c);
            out.push(c);
        }
        Ok(TrackingNumber(out))
    }

    /// A number as a citizen may type it into a lookup — a status box, a bot, an
    /// Open311 client, a console: what [`TrackingNumber::parse`] forgives (case, spaces,
    /// missing dashes, O→0, I/L→1), and also any other space or dash a phone's keyboard
    /// or a copy from a message puts in (no-break spaces, en dashes), and a number typed
    /// without its `OA` prefix. Every lookup reads numbers this way.
    pub(crate) fn parse_lenient(raw: &str) -> Option<TrackingNumber> {
        TrackingNumber::read_lenient(raw).ok()
    }

    /// [`TrackingNumber::parse_lenient`], telling a wrong check symbol from what cannot
    /// be a number (see [`TrackingNumber::read`]).
    pub(crate) fn read_lenient(raw: &str) -> Result<TrackingNumber, Misread> {
        let cleaned: String = raw
            .chars()
            .filter(|c| {
                !c.is_whitespace()
                    && !matches!(c, '-' | '‐' | '‑' | '‒' | '–' | '—' | '−' | '_' | '.')
            })
            .collect();
        match TrackingNumber::read(&cleaned) {
            Ok(number) => Ok(number),
            Err(first) => match TrackingNumber::read(&format!("OA{cleaned}")) {
                Ok(number) => Ok(number),
                Err(Misread::Shape) => Err(first),
                Err(Misread::Check) => Err(Misread::Check),
            },
        }
    }

    /// The number of `seq` (this instance's counter) in `slot`, or `None` when its check
    /// would not be a letter or digit (the caller takes the next `seq`).
    pub(crate) fn issue(key: &PermutationKey, slot: u8, seq: u64) -> Option<TrackingNumber> {
        // The permutation reads the low 40 bits only, so a slot wraps at `SLOTS` (the
        // configuration refuses one beyond it anyway).
        let input = (u64::from(slot) << SEQ_BITS) | (seq & ((1 << SEQ_BITS) - 1));
        let value = key.permute(input);
        let check = value % 37;
        if check >= 32 {
            return None;
        }
        let mut out = String::with_capacity(CHECKED_LEN);
        out.push_str("OA-");
        for i in 0..SYMBOLS {
            if i == 4 {
                out.push('-');
            }
            let shift = 5 * (SYMBOLS - 1 - i);
            out.push(ALPHABET[((value >> shift) & 31) as usize] as char);
        }
        out.push('-');
        out.push(ALPHABET[check as usize] as char);
        Some(TrackingNumber(out))
    }

    /// The first tracking number written exactly (`OA-XXXX-XXXX`) inside a text, such as
    /// a mail subject (`Re: [OA-7K3M-9QX2] …`).
    pub(crate) fn find_in(text: &str) -> Option<TrackingNumber> {
        let upper = text.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        (0..bytes.len().saturating_sub(LEN - 1)).find_map(|i| {
            let window = bytes.get(i..i + LEN)?;
            let exact = window.starts_with(b"OA-")
                && window[7] == b'-'
                && window
                    .iter()
                    .enumerate()
                    .all(|(j, b)| j < 3 || j == 7 || ALPHABET.contains(b));
            if !exact {
                return None;
            }
            // With its check symbol when one follows (and it is right).
            let checked = bytes
                .get(i..i + CHECKED_LEN)
                .filter(|w| w[LEN] == b'-')
                .and_then(|w| TrackingNumber::parse(&String::from_utf8_lossy(w)));
            checked.or_else(|| Some(TrackingNumber(String::from_utf8_lossy(window).into_owned())))
        })
    }

    /// The 40-bit value the eight symbols spell (the check symbol aside): the same for a
    /// number however it was typed, and eight bytes in a table.
    pub(crate) fn value(&self) -> u64 {
        self.0
            .bytes()
            .skip(3)
            .filter(|b| *b != b'-')
            .take(SYMBOLS)
            .fold(0, |v, b| (v << 5) | digit(b as char))
    }

    /// The number as shown: `OA-XXXX-XXXX-C` (`OA-XXXX-XXXX` for earlier numbers).
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a `String`.
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// Why a typed text is not a tracking number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Misread {
    /// It cannot be a number: not `OA` and eight symbols (and perhaps a check).
    Shape,
    /// The shape of a number whose last character, the check symbol, does not match the
    /// eight before it: one of them, or the check, was mistyped.
    Check,
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of a symbol of the alphabet.
fn digit(c: char) -> u64 {
    ALPHABET
        .iter()
        .position(|&a| a == c as u8)
        .map_or(0, |p| p as u64)
}

/// The keyed permutation of the 40-bit number space: a balanced Feistel network of four
/// rounds over two 20-bit halves, each round function the first bits of
/// HMAC-SHA256(key, round ‖ half). A Feistel network is a bijection whatever its round
/// function, which is all uniqueness needs; the key only makes numbers unguessable.
/// Hand-written: no maintained crate offers format-preserving permutation of a 40-bit
/// domain in a few lines.
#[derive(Clone)]
pub(crate) struct PermutationKey {
    /// The round function's HMAC, keyed once (each round clones it: half of an HMAC's
    /// compressions; issue 19). `None` only if the HMAC refused the key, which it does
    /// for none.
    mac: Option<hmac::Hmac<sha2::Sha256>>,
}

impl std::fmt::Debug for PermutationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PermutationKey(..)")
    }
}

impl PermutationKey {
    /// The key of a deployment, derived from its subject-key secret (every instance of a
    /// deployment shares that secret, so every instance permutes alike).
    pub(crate) fn derive(secret: &[u8]) -> PermutationKey {
        use hmac::KeyInit;
        let key = crate::mac::hmac(secret, b"tracking-number-permutation");
        PermutationKey {
            mac: hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).ok(),
        }
    }

    fn round(&self, round: u8, half: u64) -> u64 {
        use hmac::Mac;
        let Some(mut mac) = self.mac.clone() else {
            return 0;
        };
        mac.update(&[round]);
        mac.update(&half.to_be_bytes());
        let out = mac.finalize().into_bytes();
        u64::from_be_bytes([0, 0, 0, 0, 0, out[0], out[1], out[2]]) & HALF_MASK
    }

    /// The image of a 40-bit value.
    fn permute(&self, value: u64) -> u64 {
        let (mut left, mut right) = ((value >> 20) & HALF_MASK, value & HALF_MASK);
        for round in 0..4 {
            let next = left ^ self.round(round, right);
            left = right;
            right = next;
        }
        (left << 20) | right
    }
}

const HALF_MASK: u64 = (1 << 20) - 1;

/// One symbol of the alphabet, with Crockford's forgiving decoding.
fn symbol(c: char) -> Option<char> {
    let c = match c {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    (c.is_ascii() && ALPHABET.contains(&(c as u8))).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_number_has_the_shape_and_parses_to_itself() {
        let a = TrackingNumber::random();
        let b = TrackingNumber::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), LEN);
        assert_eq!(TrackingNumber::parse(a.as_str()), Some(a));
    }

    #[test]
    fn a_number_typed_loosely_is_forgiven() {
        let expected = Some(TrackingNumber("OA-7K3M-9QX2".to_owned()));
        for typed in [
            "OA-7K3M-9QX2",
            "oa-7k3m-9qx2",
            "  OA7K3M9QX2 ",
            "oa 7k3m 9qx2",
            "0A-7K3M-9QX2",
        ] {
            assert_eq!(TrackingNumber::parse(typed), expected, "{typed:?}");
        }
        assert_eq!(
            TrackingNumber::parse("OA-1O0L-IIII").map(TrackingNumber::into_string),
            Some("OA-1001-1111".to_owned())
        );
    }

    #[test]
    fn the_lookup_forgives_what_people_type() {
        let number = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
            .chars()
            .find_map(|c| TrackingNumber::parse(&format!("OA-0000-1111-{c}")))
            .expect("one check symbol fits")
            .into_string();
        let check = number.chars().last().unwrap_or('0');
        for typed in [
            number.clone(),
            number.to_lowercase(),
            number.replace('-', ""),
            number.replace('-', " "),
            number.replace('-', "\u{2013}"),
            format!("\u{a0}{}\u{a0}", number.replace('-', "\u{a0}")),
            format!("oo oo ii il {check}").to_lowercase(),
            format!("0000-1111-{check}"),
        ] {
            assert_eq!(
                TrackingNumber::parse_lenient(&typed).map(TrackingNumber::into_string),
                Some(number.clone()),
                "{typed:?}"
            );
        }
        for wrong in ["", "OA-12", "hello", "OA-0000-1112-Z-Z"] {
            assert!(TrackingNumber::parse_lenient(wrong).is_none(), "{wrong:?}");
        }
    }

    #[test]
    fn what_cannot_be_a_number_is_refused() {
        for typed in [
            "",
            "OA-",
            "OA-7K3M-9QX",
            "OA-7K3M-9QX22",
            "XX-7K3M-9QX2",
            "OA-7K3M-9QXU",
            "OA-ЯК3M-9QX2",
        ] {
            assert_eq!(TrackingNumber::parse(typed), None, "{typed:?}");
        }
    }

    #[test]
    fn a_million_numbers_of_eight_instances_never_collide() {
        let key = PermutationKey::derive(b"a deployment's subject-key secret");
        let mut seen = std::collections::HashSet::with_capacity(1_000_000);
        for slot in 0..8u8 {
            let (mut seq, mut issued) = (0u64, 0);
            while issued < 125_000 {
                if let Some(number) = TrackingNumber::issue(&key, slot, seq) {
                    assert!(seen.insert(number.0.clone()), "{number} issued twice");
                    issued += 1;
                }
                seq += 1;
            }
        }
        assert_eq!(seen.len(), 1_000_000);
    }

    #[test]
    fn the_check_symbol_catches_every_single_substitution_and_swap() {
        let key = PermutationKey::derive(b"secret");
        let mut checked = 0;
        for seq in 0..300 {
            let Some(number) = TrackingNumber::issue(&key, 3, seq) else {
                continue;
            };
            assert_eq!(number.as_str().len(), CHECKED_LEN);
            assert_eq!(TrackingNumber::parse(number.as_str()), Some(number.clone()));
            let chars: Vec<char> = number.as_str().chars().collect();
            let positions: Vec<usize> = (3..CHECKED_LEN).filter(|&i| chars[i] != '-').collect();
            for &at in &positions {
                for &other in ALPHABET {
                    if other as char == chars[at] {
                        continue;
                    }
                    let mut typo = chars.clone();
                    typo[at] = other as char;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(
                        TrackingNumber::parse(&typo),
                        None,
                        "{typo} passes for {number}"
                    );
                    checked += 1;
                }
            }
            for pair in positions.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if chars[a] != chars[b] {
                    let mut swapped = chars.clone();
                    swapped.swap(a, b);
                    let swapped: String = swapped.into_iter().collect();
                    assert_eq!(TrackingNumber::parse(&swapped), None, "{swapped}");
                }
            }
        }
        assert!(checked > 200 * 9 * 31, "{checked} substitutions tried");
    }

    #[test]
    fn a_wrong_check_symbol_is_told_apart_from_what_is_no_number() {
        // The example every page and document shows is a number the rules accept.
        assert_eq!(
            TrackingNumber::parse("OA-7K3M-9QX8-5").map(TrackingNumber::into_string),
            Some("OA-7K3M-9QX8-5".to_owned())
        );
        // One character off: the last one, or one of the eight before it.
        for typo in [
            "OA-7K3M-9QX8-6",
            "OA-7K3M-9QX9-5",
            "oa 7k3m 9qx8 u",
            "7K3M9QX86",
        ] {
            assert_eq!(
                TrackingNumber::read_lenient(typo),
                Err(Misread::Check),
                "{typo:?}"
            );
        }
        for shape in ["", "OA-12", "hello", "OA-7K3M-9QX8-5-5", "OA-7K3M-9QX8-#"] {
            assert_eq!(
                TrackingNumber::read_lenient(shape),
                Err(Misread::Shape),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn the_documented_examples_are_numbers_the_parser_accepts() {
        // Every `OA-…` example a citizen reads in a page's hint or error.
        for lang in ["kk", "ru", "en"] {
            let path = format!(
                "{}/templates/i18n/{lang}/web.ftl",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("web.ftl");
            let mut seen = 0;
            for (at, _) in text.match_indices("OA-") {
                let example: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                assert!(
                    TrackingNumber::parse(&example).is_some(),
                    "{path}: the example {example} is refused"
                );
                seen += 1;
            }
            assert!(seen >= 2, "{path}: the hint shows an example");
        }
    }

    #[test]
    fn a_checked_number_is_typed_loosely_too() {
        let key = PermutationKey::derive(b"secret");
        let number = (0..)
            .find_map(|seq| TrackingNumber::issue(&key, 0, seq))
            .expect("a number");
        let loose = number.as_str().replace('-', " ").to_lowercase();
        assert_eq!(TrackingNumber::parse(&loose), Some(number.clone()));
        let subject = format!("Re: [{number}] Ваше обращение принято");
        assert_eq!(TrackingNumber::find_in(&subject), Some(number));
    }

    #[test]
    fn a_number_is_found_in_a_subject() {
        assert_eq!(
            TrackingNumber::find_in("Re: [OA-7K3M-9QX2] Ваше обращение принято")
                .map(TrackingNumber::into_string),
            Some("OA-7K3M-9QX2".to_owned())
        );
        assert_eq!(TrackingNumber::find_in("OA-7K3M-9QXI"), None);
        assert_eq!(TrackingNumber::find_in("Жалоба"), None);
    }

    #[test]
    fn a_deployment_issues_the_same_numbers_in_every_release() {
        // The mapping from (slot, sequence) to numbers is part of what a deployment
        // stores: were it to change in an upgrade, a number issued before could be
        // issued again. Consecutive appeals get unrelated numbers, so that one tracking
        // number does not lead to the neighbours'.
        let key = PermutationKey::derive(b"a deployment's subject-key secret");
        let issued = |slot, seq| TrackingNumber::issue(&key, slot, seq).map(|n| n.into_string());
        assert_eq!(issued(0, 0).as_deref(), Some("OA-C6J4-AE68-C"));
        assert_eq!(issued(0, 1).as_deref(), Some("OA-JVRE-FX2D-V"));
        assert_eq!(issued(0, 2), None, "no check symbol for this one: skipped");
        assert_eq!(issued(0, 3).as_deref(), Some("OA-3JPB-NQW4-K"));
        assert_eq!(issued(5, 0).as_deref(), Some("OA-WXWV-X398-A"));
        assert_eq!(
            issued(31, (1 << SEQ_BITS) - 1).as_deref(),
            Some("OA-RZVN-59PB-E")
        );
        // A slot past the last wraps around rather than failing.
        assert_eq!(issued(SLOTS + 5, 0), issued(5, 0));
    }

    #[test]
    fn a_number_at_the_end_of_a_text_is_found() {
        for text in ["OA-7K3M-9QX2", "Ответ на обращение OA-7K3M-9QX2"] {
            assert_eq!(
                TrackingNumber::find_in(text).map(TrackingNumber::into_string),
                Some("OA-7K3M-9QX2".to_owned()),
                "{text:?}"
            );
        }
        let key = PermutationKey::derive(b"secret");
        let number = (0..)
            .find_map(|seq| TrackingNumber::issue(&key, 1, seq))
            .expect("a number");
        assert_eq!(
            TrackingNumber::find_in(&format!("Ответ на {number}")),
            Some(number)
        );
    }

    #[test]
    fn a_damaged_number_in_a_text_is_not_taken_for_one() {
        for text in ["OA-*K3M-9QX2", "Re: OA-7K3M#9QX2", "OA-7K3M-9QX"] {
            assert_eq!(TrackingNumber::find_in(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_round_is_the_hmac_of_the_derived_key_as_numbers_already_issued_were() {
        use hmac::{KeyInit, Mac};
        let secret = b"deployment-secret";
        let mut derive = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key");
        derive.update(b"tracking-number-permutation");
        let derived = derive.finalize().into_bytes();
        let key = PermutationKey::derive(secret);
        for (round, half) in [(0u8, 0u64), (1, 12_345), (3, HALF_MASK)] {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&derived).expect("any key");
            mac.update(&[round]);
            mac.update(&half.to_be_bytes());
            let out = mac.finalize().into_bytes();
            let expected = u64::from_be_bytes([0, 0, 0, 0, 0, out[0], out[1], out[2]]) & HALF_MASK;
            assert_eq!(key.round(round, half), expected);
        }
    }

    #[test]
    fn the_permutation_key_never_shows_in_debug_output() {
        let key = PermutationKey::derive(b"secret");
        assert_eq!(format!("{key:?}"), "PermutationKey(..)");
    }

    #[test]
    fn a_number_reads_back_as_the_value_it_spells() {
        for bits in [0, 1, 0x12_3456_789A, (1 << 40) - 1] {
            assert_eq!(TrackingNumber::from_bits(bits).value(), bits);
        }
        let key = PermutationKey::derive(b"secret");
        let number = TrackingNumber::issue(&key, 3, 5).expect("a number");
        let typed = TrackingNumber::parse(&number.as_str().to_lowercase().replace('-', " "))
            .expect("parses");
        assert_eq!(typed.value(), number.value());
        assert_eq!(key.permute((3 << SEQ_BITS) | 5), number.value());
    }

    #[test]
    fn a_number_spells_40_bits_in_crockford_base32() {
        let spelled = |bits: u64| TrackingNumber::from_bits(bits).into_string();
        assert_eq!(spelled(0), "OA-0000-0000");
        assert_eq!(spelled((1 << 40) - 1), "OA-ZZZZ-ZZZZ");
        // Eight symbols of five bits each, the most significant first.
        let bits = |symbols: [u64; 8]| symbols.iter().fold(0, |bits, s| (bits << 5) | s);
        assert_eq!(spelled(bits([0, 1, 2, 3, 4, 5, 6, 7])), "OA-0123-4567");
        assert_eq!(
            spelled(bits([8, 9, 10, 11, 12, 13, 14, 15])),
            "OA-89AB-CDEF"
        );
        assert_eq!(
            spelled(bits([16, 17, 18, 19, 20, 21, 22, 23])),
            "OA-GHJK-MNPQ"
        );
        assert_eq!(
            spelled(bits([24, 25, 26, 27, 28, 29, 30, 31])),
            "OA-RSTV-WXYZ"
        );
    }
}
