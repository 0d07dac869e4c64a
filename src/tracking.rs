//! The tracking number a citizen is given: `OA-7K3M-9QX2`, Crockford base32 (no I, L,
//! O, U, so nothing reads as another symbol), short enough to say over the phone. It
//! maps to the appeal's ULID (`outbox` keeps the map); it is not the id, so the id can
//! stay long and unguessable while the number stays short.
//!
//! One type, one alphabet, one parser: the status page, the consoles' receipt, the
//! email channel's thread detection and the bots all read a number through
//! [`TrackingNumber::parse`] (a whole input) or [`TrackingNumber::find_in`] (a number
//! inside a mail subject).

use std::fmt;

use rand::Rng;

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols after the prefix: two groups of four.
const SYMBOLS: usize = 8;
/// `OA-XXXX-XXXX`.
const LEN: usize = 12;

/// A well-formed tracking number, upper-case, with its dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TrackingNumber(String);

impl TrackingNumber {
    /// A new random number (40 random bits). The outbox refuses a number it has already
    /// issued, and the pipeline draws another.
    pub(crate) fn random() -> TrackingNumber {
        TrackingNumber::from_bits(rand::rng().random())
    }

    /// The number that spells the low 40 bits of `bits`, five bits a symbol, the most
    /// significant first; the higher bits are never read.
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
        let mut symbols = String::with_capacity(SYMBOLS + 2);
        for c in raw.trim().chars() {
            if c == '-' || c == ' ' {
                continue;
            }
            symbols.push(c.to_ascii_uppercase());
        }
        let body = symbols
            .strip_prefix("OA")
            .or_else(|| symbols.strip_prefix("0A"))?;
        if body.chars().count() != SYMBOLS {
            return None;
        }
        let mut out = String::with_capacity(LEN);
        out.push_str("OA-");
        for (i, c) in body.chars().enumerate() {
            if i == 4 {
                out.push('-');
            }
            out.push(symbol(c)?);
        }
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
            exact.then(|| TrackingNumber(String::from_utf8_lossy(window).into_owned()))
        })
    }

    /// The number as shown: `OA-XXXX-XXXX`.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a `String`.
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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
