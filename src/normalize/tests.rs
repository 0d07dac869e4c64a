use super::*;

#[test]
fn the_nfc_fast_path_takes_only_characters_that_compose_with_nothing() {
    use unicode_normalization::char::canonical_combining_class;
    let mut taken = 0;
    for c in (0..=0x04FF).filter_map(char::from_u32) {
        if !composes_with_nothing(c) {
            continue;
        }
        taken += 1;
        assert_eq!(canonical_combining_class(c), 0, "U+{:04X}", c as u32);
        assert_eq!(
            unicode_normalization::is_nfc_quick(std::iter::once(c)),
            unicode_normalization::IsNormalized::Yes,
            "U+{:04X}",
            c as u32
        );
    }
    assert_eq!(taken, 0x0300 + 0x0483 - 0x0400 + 0x0500 - 0x048A);
    // Cyrillic followed by a combining mark still composes: й written as и + U+0306.
    assert_eq!(text("и\u{0306}"), "й");
    assert_eq!(line(" Е\u{0308}лка "), "Ёлка");
}

#[test]
fn the_first_bytes_tell_the_characters_that_compose_with_nothing() {
    let mut buffer = [0u8; 4];
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let bytes = c.encode_utf8(&mut buffer).as_bytes();
        let expected = if composes_with_nothing(c) {
            c.len_utf8()
        } else {
            0
        };
        assert_eq!(
            nothing_composes_at(bytes, 0),
            expected,
            "U+{:04X}",
            c as u32
        );
    }
}

#[test]
fn the_fast_letter_test_agrees_with_the_standard_library() {
    for c in (0..=0x0600).filter_map(char::from_u32) {
        assert_eq!(is_letter(c), c.is_alphabetic(), "U+{:04X}", c as u32);
        assert_eq!(
            is_letter_or_digit(c),
            c.is_alphanumeric(),
            "U+{:04X}",
            c as u32
        );
    }
}

#[test]
fn the_word_lists_and_the_kazakh_letters_are_what_the_fast_paths_assume() {
    let longest = KAZAKH_WORDS
        .iter()
        .chain(RUSSIAN_WORDS)
        .map(|w| w.len())
        .max();
    assert_eq!(longest, Some(LONGEST_WORD));
    let by_range: String = ('\u{0400}'..='\u{04FF}')
        .filter(|c| is_kazakh_letter(*c))
        .collect();
    let mut listed: Vec<char> = KAZAKH_LETTERS.chars().collect();
    listed.sort_unstable();
    assert_eq!(by_range.chars().collect::<Vec<_>>(), listed);
}

#[test]
fn the_fast_lower_case_agrees_with_the_standard_library() {
    let mut taken = 0;
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        if let Some(lower) = lower_case(c) {
            taken += 1;
            assert_eq!(
                c.to_lowercase().collect::<Vec<_>>(),
                vec![lower],
                "U+{:04X}",
                c as u32
            );
        }
    }
    // Every ASCII and every Cyrillic character is taken.
    assert_eq!(taken, 0x80 + 0x100);
}

#[test]
fn phones_people_type_become_e164() {
    for input in [
        "8 701 123 45 67",
        "+7 (701) 123-45-67",
        "701 123 45 67",
        "87011234567",
        "77011234567",
        "7011234567",
        "8-701-123-45-67",
        "\u{200B}+7 701 123 45 67 ",
    ] {
        assert_eq!(phone(input), Ok("+77011234567".to_owned()), "{input}");
    }
}

#[test]
fn the_numbering_plan_takes_the_mobile_ranges_and_almaty_only() {
    // DOMAIN.md: 700–702, 705–708, 747, 760–764, 771, 775–778, 785; Almaty is 727.
    let mobile = [
        700, 701, 702, 705, 706, 707, 708, 747, 760, 761, 762, 763, 764, 771, 775, 776, 777, 778,
        785,
    ];
    for prefix in 700..800 {
        let digits = format!("7{prefix}1234567");
        assert_eq!(
            kazakh_by_plan(&digits),
            mobile.contains(&prefix),
            "{digits}"
        );
    }
    for (digits, taken) in [
        ("77272721308", true),
        ("77273001234", true),
        ("77274012345", true),
        ("77275212345", true),
        ("77275312345", false),
        ("77274112345", false),
        ("77270012345", false),
        ("7701123456", false),
        ("770112345678", false),
        ("87011234567", false),
        ("7701123456x", false),
    ] {
        assert_eq!(kazakh_by_plan(digits), taken, "{digits}");
    }
}

#[test]
fn almaty_landline_and_foreign_numbers() {
    assert_eq!(phone("8 727 272 13 08").as_deref(), Ok("+77272721308"));
    assert_eq!(phone("+49 30 901820").as_deref(), Ok("+4930901820"));
}

#[test]
fn service_numbers_and_garbage_are_not_phones() {
    for input in [
        "1308",
        "109",
        "112",
        "",
        "+7",
        "8 701 abc 45 67",
        "87011234567890",
    ] {
        assert_eq!(phone(input), Err(Invalid::Phone), "{input}");
    }
}

#[test]
fn email_domain_lower_cased_local_part_kept() {
    assert_eq!(
        email(" Ivan.Petrov@Mail.KZ ").as_deref(),
        Ok("Ivan.Petrov@mail.kz")
    );
    assert_eq!(email("no-at-sign.kz"), Err(Invalid::Email));
    assert_eq!(email("a b@mail.kz"), Err(Invalid::Email));
    assert_eq!(email("a@"), Err(Invalid::Email));
}

#[test]
fn iin_check_digit_both_weight_sequences() {
    assert_eq!(iin("061211600012").as_deref(), Ok("061211600012"));
    assert_eq!(iin("900101300017").as_deref(), Ok("900101300017"));
    assert_eq!(iin("850501300011").as_deref(), Ok("850501300011"));
    assert_eq!(iin("9001 0130 0017").as_deref(), Ok("900101300017"));
    assert_eq!(iin("821214240092"), Err(Invalid::Iin), "both sums give 10");
    assert_eq!(iin("900101300018"), Err(Invalid::Iin), "wrong check digit");
    assert_eq!(iin("90010130001"), Err(Invalid::Iin), "11 digits");
}

#[test]
fn iin_is_not_refused_for_its_date_digits() {
    // Month 13, day 45, century digit 0: meaningless as a date, valid as an IIN.
    let mut digits: Vec<u32> = "13134500001".bytes().map(|b| u32::from(b - b'0')).collect();
    let s: u32 = digits.iter().zip(1..=11).map(|(d, w)| d * w).sum::<u32>() % 11;
    let check = if s == 10 {
        digits
            .iter()
            .zip([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
            .map(|(d, w)| d * w)
            .sum::<u32>()
            % 11
    } else {
        s
    };
    assert_ne!(check, 10);
    digits.push(check);
    let number: String = digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap_or('x'))
        .collect();
    assert_eq!(iin(&number), Ok(number.clone()));
}

#[test]
fn text_is_nfc_without_invisible_or_control_characters() {
    // "й" as и + combining breve becomes one code point; zero-width, bidi and NUL go.
    let raw = "  Ои\u{0306}\u{200B}\u{202E}\u{0000} жол\r\nекі\u{2029}үш\u{FEFF}  ";
    assert_eq!(text(raw), "Ой жол\nекі\nүш");
}

#[test]
fn the_fast_path_agrees_with_full_normalization() {
    for sample in [
        "Көшедегі шам жанбайды — түнде қараңғы… №5 «Абай»",
        "Ёлка у дома, улица Жандосова",
        "e\u{0301}и\u{0306}",
        "\u{212B}\u{2126}",
        "ascii only",
    ] {
        let full: String = sample.nfc().collect();
        assert_eq!(nfc(sample.to_owned()), full, "{sample}");
    }
}

#[test]
fn line_folds_white_space() {
    assert_eq!(line(" Иван\n\t  Иванович\u{200D} "), "Иван Иванович");
    assert_eq!(line("\u{2066}Абай\u{2069}"), "Абай");
}

#[test]
fn languages() {
    assert_eq!(
        language("Көшедегі шам жанбайды, түнде қараңғы."),
        Some(Language::Kk)
    );
    assert_eq!(language("Бізде су жоқ, көмек керек"), Some(Language::Kk));
    assert_eq!(
        language("На улице не горит фонарь, очень темно."),
        Some(Language::Ru)
    );
    assert_eq!(
        language("Яма на дороге у остановки Көктем-2, прошу засыпать её поскорее, пожалуйста"),
        Some(Language::Ru)
    );
    assert_eq!(
        language("There is a pothole on Abay avenue."),
        Some(Language::En)
    );
    assert_eq!(language("12345 !!!"), None);
}

#[test]
fn dates_and_documents() {
    let today = time::macros::date!(2026 - 11 - 25);
    assert_eq!(birth_date("1990-05-17", today).as_deref(), Ok("1990-05-17"));
    assert_eq!(birth_date("1990-02-30", today), Err(Invalid::Date));
    assert_eq!(birth_date("2030-01-01", today), Err(Invalid::Date));
    assert_eq!(document_number("n 123-456 78").as_deref(), Ok("N12345678"));
    assert_eq!(document_number("<script>"), Err(Invalid::Value));
}

#[test]
fn a_lone_carriage_return_and_unicode_line_breaks_become_line_feeds() {
    // Old Mac mail clients end lines with a bare CR; Word pastes U+2028 and NEL.
    assert_eq!(text("бір\rекі\u{2028}үш\u{0085}төрт"), "бір\nекі\nүш\nтөрт");
    assert_eq!(text("a\tb"), "a\tb", "tabs are kept");
}

#[test]
fn a_phone_may_carry_separators_up_to_32_characters() {
    let at_limit = format!("+7 (701) 123{}45-67", "-".repeat(15));
    assert_eq!(at_limit.len(), 32);
    assert_eq!(phone(&at_limit).as_deref(), Ok("+77011234567"));
    let over = format!("+7 (701) 123{}45-67", "-".repeat(16));
    assert_eq!(phone(&over), Err(Invalid::Phone));
}

#[test]
fn an_email_address_is_at_most_254_characters() {
    // RFC 5321 caps a forward path at 256 octets, the address at 254; `validator`
    // alone lets a 64-character local part and a 255-character domain through.
    let domain = |len: usize| {
        let mut d = format!("{}.{}.", "b".repeat(63), "c".repeat(63));
        d.push_str(&"d".repeat(len - d.len() - 3));
        d.push_str(".kz");
        d
    };
    let at_limit = format!("{}@{}", "a".repeat(64), domain(189));
    assert_eq!(at_limit.len(), 254);
    assert_eq!(email(&at_limit), Ok(at_limit.clone()));
    let over = format!("{}@{}", "a".repeat(64), domain(190));
    assert_eq!(over.len(), 255);
    assert_eq!(email(&over), Err(Invalid::Email));
}

#[test]
fn an_iin_with_a_letter_is_refused() {
    assert_eq!(iin("90010130001A"), Err(Invalid::Iin));
    assert_eq!(iin(""), Err(Invalid::Iin));
}

#[test]
fn a_date_of_birth_runs_from_1900_to_today() {
    let today = time::macros::date!(2026 - 11 - 25);
    assert_eq!(birth_date("2026-11-25", today).as_deref(), Ok("2026-11-25"));
    assert_eq!(birth_date("2026-11-26", today), Err(Invalid::Date));
    assert_eq!(
        birth_date(" 1900-01-01 ", today).as_deref(),
        Ok("1900-01-01")
    );
    assert_eq!(birth_date("1899-12-31", today), Err(Invalid::Date));
    assert_eq!(birth_date("17.05.1990", today), Err(Invalid::Date));
}

#[test]
fn a_document_number_has_one_to_20_letters_and_digits() {
    assert_eq!(
        document_number("N 1234-5678-9012-3456-789").as_deref(),
        Ok("N1234567890123456789")
    );
    assert_eq!(
        document_number("N12345678901234567890"),
        Err(Invalid::Value),
        "21 characters"
    );
    assert_eq!(
        document_number(" - - "),
        Err(Invalid::Value),
        "nothing left"
    );
    assert_eq!(document_number("№ 123"), Err(Invalid::Value));
}

#[test]
fn a_telegram_chat_id_is_an_integer_of_at_most_20_digits() {
    assert_eq!(chat_id(" 123456789 ").as_deref(), Ok("123456789"));
    assert_eq!(chat_id("-1001234567890").as_deref(), Ok("-1001234567890"));
    let twenty = "9".repeat(20);
    assert_eq!(chat_id(&twenty), Ok(twenty.clone()));
    for garbage in ["", "-", "12a", "+123", "1 2", &"9".repeat(21)] {
        assert_eq!(chat_id(garbage), Err(Invalid::Value), "{garbage}");
    }
}

#[test]
fn kazakh_typed_without_kazakh_letters_is_told_by_its_words() {
    assert_eq!(
        language("Мектеп туралы, жол бойынша су керек"),
        Some(Language::Kk)
    );
    assert_eq!(language("Үйде су жоқ"), Some(Language::Kk));
}

#[test]
fn cyrillic_without_any_clue_is_russian() {
    assert_eq!(language("Фонарь сломался"), Some(Language::Ru));
    // A street name written in both scripts is not English.
    assert_eq!(language("Абай Abay"), Some(Language::Ru));
}

#[test]
fn kazakh_letters_decide_from_two_percent_of_the_cyrillic_letters() {
    // One Kazakh-only letter (ө) in 50 Cyrillic letters: 2%, Kazakh by the letters
    // even though the words are Russian.
    let fifty = "Фонарь на улице Төлебаева не горит уже неделю, просим чинить";
    assert_eq!(language(fifty), Some(Language::Kk));
    // In 51 letters it is below 2%: a Kazakh name in a Russian text, told by words.
    let fifty_one = "Фонарь на улице Төлебаева не горит уже неделю, просим сменить";
    assert_eq!(language(fifty_one), Some(Language::Ru));
}

#[test]
fn error_codes_are_the_contract_names() {
    let codes: Vec<&str> = [
        Invalid::Phone,
        Invalid::Email,
        Invalid::Iin,
        Invalid::Date,
        Invalid::Value,
        Invalid::TooLong,
    ]
    .into_iter()
    .map(|e| {
        assert_eq!(e.code(), e.to_string(), "code and message agree");
        e.code()
    })
    .collect();
    assert_eq!(
        codes,
        [
            "invalid_phone",
            "invalid_email",
            "invalid_iin",
            "invalid_date",
            "invalid_value",
            "too_long"
        ]
    );
}
