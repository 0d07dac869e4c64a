use super::*;

/// Guards `text` as if the applicant had no IIN.
fn run(text: &str) -> (String, Findings) {
    let mut findings = Findings::default();
    let out = guard(text, None, &mut findings);
    (out, findings)
}

fn counts(findings: &Findings) -> Vec<(RedactionKind, u32)> {
    findings
        .redactions()
        .into_iter()
        .map(|r| (r.kind, r.count))
        .collect()
}

#[test]
fn card_numbers_are_masked_to_their_last_four_digits_in_kk_ru_and_en() {
    let (out, found) = run("Деньги списали с карты 4400 4301 2345 6789, верните.");
    assert_eq!(out, "Деньги списали с карты [**** 6789], верните.");
    assert_eq!(counts(&found), [(RedactionKind::Card, 1)]);

    let (out, found) = run("Картамнан 5169-4931-1234-5676 ақша алынды");
    assert_eq!(out, "Картамнан [**** 5676] ақша алынды");
    assert_eq!(counts(&found), [(RedactionKind::Card, 1)]);

    let (out, found) =
        run("My card 4111111111111111 and my wife's 3782 822463 10005 were charged.");
    assert_eq!(
        out,
        "My card [**** 1111] and my wife's [**** 0005] were charged."
    );
    assert_eq!(counts(&found), [(RedactionKind::Card, 2)]);
}

#[test]
fn a_card_like_number_that_fails_the_luhn_check_is_kept() {
    let text = "Номер договора 4400 4301 2345 6786";
    assert_eq!(run(text), (text.to_owned(), Findings::default()));
}

#[test]
fn kazakh_ibans_valid_mod_97_are_masked() {
    let (out, found) = run("Переведите на счёт KZ86125KZT5004100100, ИП Абаев");
    assert_eq!(out, "Переведите на счёт [KZ** **** 0100], ИП Абаев");
    assert_eq!(counts(&found), [(RedactionKind::Iban, 1)]);

    let (out, found) = run("Шот: KZ86 125K ZT50 0410 0100 (Halyk)");
    assert_eq!(out, "Шот: [KZ** **** 0100] (Halyk)");
    assert_eq!(counts(&found), [(RedactionKind::Iban, 1)]);

    let (out, found) = run("account kz86125kzt5004100100.");
    assert_eq!(out, "account [KZ** **** 0100].");
    assert_eq!(counts(&found), [(RedactionKind::Iban, 1)]);
}

#[test]
fn an_iban_with_wrong_check_digits_is_kept() {
    let text = "Счёт KZ87125KZT5004100100";
    assert_eq!(run(text).0, text);
}

#[test]
fn another_persons_iin_is_masked_and_the_applicants_own_is_kept() {
    let mut found = Findings::default();
    let out = guard(
        "Мой ИИН 900101300017, сосед ИИН 850501300011 шумит по ночам.",
        Some("900101300017"),
        &mut found,
    );
    assert_eq!(
        out,
        "Мой ИИН 900101300017, сосед ИИН ************ шумит по ночам."
    );
    assert_eq!(counts(&found), [(RedactionKind::Iin, 1)]);

    let (out, found) = run("Көршімнің ЖСН 8505 0130 0011 екен");
    assert_eq!(out, "Көршімнің ЖСН ************ екен");
    assert_eq!(counts(&found), [(RedactionKind::Iin, 1)]);
}

#[test]
fn an_iin_when_the_channel_kept_none_is_masked() {
    let (out, found) = run("my IIN is 061211600012");
    assert_eq!(out, "my IIN is ************");
    assert_eq!(counts(&found), [(RedactionKind::Iin, 1)]);
}

#[test]
fn a_company_business_number_is_not_an_iin() {
    // A BIN uses the same check digit; after «БИН»/«БСН»/«BIN» it is a company's.
    for text in [
        "ТОО «Алсеко», БИН 900101300017, не делает перерасчёт",
        "ЖШС БСН: 900101300017",
        "company BIN № 900101300017",
    ] {
        assert_eq!(run(text), (text.to_owned(), Findings::default()), "{text}");
    }
}

#[test]
fn numbers_people_write_in_appeals_are_not_masked() {
    for text in [
        // phones
        "Звоните: 8 701 123 45 67 или +7 (701) 123-45-67, 87011234567",
        "Телефон +998901234567 (Ташкент), +77011234567",
        "Хабарласыңыз: +7 727 272 13 08",
        // dates and times
        "12.05.2024 с 10:00 до 18:00, с 2024-05-12 по 2024-06-01",
        // house and flat numbers, addresses
        "ул. Абая, дом 150/230, кв. 45, подъезд 3, мкр. Самал-2, 58",
        "Төле би көшесі 286/4, 12 пәтер",
        // tracking numbers
        "Моё обращение OA-7K3M-9QX2-5 и посылка RR123456785KZ",
        // amounts
        "Сумма 1 500 000 тенге, а в прошлом году 1\u{00A0}250\u{00A0}000 тг",
        "Budget 12 000 000 000 tenge",
        // cadastral numbers
        "Кадастровый номер 20-311-012-345, участок 20:311:012:345",
        "Кадастрлық нөмірі 20-311-012-345-1/2",
    ] {
        let (out, found) = run(text);
        assert_eq!(out, text, "{text}");
        assert!(found.redactions().is_empty(), "{text}");
    }
}

#[test]
fn numbers_joined_by_commas_slashes_or_dots_are_separate_numbers() {
    // 4400 4301 2345 6789 passes the card check when its groups are spaced; joined
    // by other marks the same digits are a list of accounts, flats or dates.
    for text in [
        "Лицевые счета 4400,4301,2345,6789 не найдены",
        "Квартиры 4400/4301/2345/6789 без воды",
        "Шоттар 4400.4301.2345.6789 табылмады",
    ] {
        let (out, found) = run(text);
        assert_eq!(out, text, "{text}");
        assert!(found.redactions().is_empty(), "{text}");
    }
}

#[test]
fn a_text_that_ends_in_a_number_and_a_separator_is_kept() {
    assert_eq!(run("Квартира 45-").0, "Квартира 45-");
    assert_eq!(run("Дом 150 ").0, "Дом 150 ");
    assert_eq!(run("card 4400 4301 2345 6789 ").0, "card [**** 6789] ");
    assert_eq!(run("card 4400-4301-2345-6789-").0, "card [**** 6789]-");
}

#[test]
fn digits_grouped_otherwise_than_a_card_or_an_iin_are_kept() {
    // Both pass their checks unbroken (4400430123456789 the card's, 850501300011
    // the IIN's); grouped in threes or pairs they are an account, a code, a reading.
    for text in [
        "Лицевой счёт 440 043 012 345 678 9",
        "Показания счётчика 85 05 01 30 00 11",
    ] {
        let (out, found) = run(text);
        assert_eq!(out, text, "{text}");
        assert!(found.redactions().is_empty(), "{text}");
    }
}

#[test]
fn a_text_that_ends_inside_the_start_of_an_iban_is_kept() {
    for text in ["Счёт KZ86 125", "шот KZ", "KZ86125KZT50041001"] {
        assert_eq!(run(text).0, text, "{text}");
    }
}

#[test]
fn an_iban_with_dashes_or_no_break_spaces_between_its_groups_is_masked() {
    for text in [
        "Счёт KZ86-125K-ZT50-0410-0100, Halyk",
        "Счёт KZ86\u{00A0}125K\u{00A0}ZT50\u{00A0}0410\u{00A0}0100, Halyk",
    ] {
        let (out, found) = run(text);
        assert_eq!(out, "Счёт [KZ** **** 0100], Halyk", "{text}");
        assert_eq!(counts(&found), [(RedactionKind::Iban, 1)], "{text}");
    }
}

#[test]
fn characters_joined_by_dots_or_slashes_are_not_one_iban() {
    // As with card numbers: dots and slashes join separate codes, not groups.
    for text in [
        "Код KZ86.125K.ZT50.0410.0100",
        "Код KZ86/125K/ZT50/0410/0100",
    ] {
        assert_eq!(run(text), (text.to_owned(), Findings::default()), "{text}");
    }
}

#[test]
fn an_iban_followed_by_a_word_is_masked_and_the_word_kept() {
    let (out, found) = run("KZ86125KZT5004100100 Halyk банкінде");
    assert_eq!(out, "[KZ** **** 0100] Halyk банкінде");
    assert_eq!(counts(&found), [(RedactionKind::Iban, 1)]);
}

#[test]
fn a_code_shorter_than_an_iban_is_kept_even_when_its_check_digits_fit() {
    // KZ81 12345 passes mod 97, but a Kazakh IBAN has sixteen characters after the
    // check digits.
    let text = "Код KZ8112345 на квитанции";
    assert_eq!(run(text), (text.to_owned(), Findings::default()));
}

#[test]
fn a_longer_code_that_starts_like_an_iban_is_kept() {
    for text in ["Код KZ86125KZT5004100100ABC", "Код KZ86125KZT50041001007"] {
        let (out, found) = run(text);
        assert_eq!(out, text, "{text}");
        assert!(found.redactions().is_empty(), "{text}");
    }
}

#[test]
fn a_number_glued_to_letters_is_a_code_not_a_card() {
    let text = "Код 4111111111111111AB и AB4111111111111111";
    assert_eq!(run(text).0, text);
}

#[test]
fn special_categories_raise_flags_and_keep_the_text() {
    let cases: &[(&str, &[AppealFlag])] = &[
        (
            "Мой сын инвалид, пандуса у подъезда нет",
            &[AppealFlag::SpecialCategoryHealth],
        ),
        (
            "Анам мүгедек, лифт істемейді",
            &[AppealFlag::SpecialCategoryHealth],
        ),
        (
            "Соседа не берут на работу из-за судимости",
            &[AppealFlag::SpecialCategoryCriminalRecord],
        ),
        (
            "Ол бұрын сотталған, енді жұмыс таппай жүр",
            &[AppealFlag::SpecialCategoryCriminalRecord],
        ),
        (
            "Меня уволили за мои политические взгляды и вероисповедание",
            &[
                AppealFlag::SpecialCategoryReligion,
                AppealFlag::SpecialCategoryPoliticalViews,
            ],
        ),
        (
            "Діни көзқарасым үшін, саяси себеппен",
            &[
                AppealFlag::SpecialCategoryReligion,
                AppealFlag::SpecialCategoryPoliticalViews,
            ],
        ),
        (
            "My neighbour is disabled and cannot get out",
            &[AppealFlag::SpecialCategoryHealth],
        ),
    ];
    for (text, flags) in cases {
        let (out, found) = run(text);
        assert_eq!(&out, text, "text kept");
        assert_eq!(found.flags().collect::<Vec<_>>(), *flags, "{text}");
        assert!(found.redactions().is_empty());
    }
}

#[test]
fn nationality_places_and_everyday_words_raise_no_flag() {
    for text in [
        "По национальности казах, прошу ответ на казахском",
        "Ұлтым қазақ, жауапты қазақ тілінде беріңіз",
        "Nationality: Kazakh",
        "Яма у больницы №7 и у мечети на Райымбека",
        "Аурухана жанындағы жол бұзылған",
        "Дорога к церкви не освещена",
        "Судно на реке, судья района",
        "Жүк көлігі түнде шулайды",
        "Дінмұхамед Қонаев көшесінде жарық жоқ",
        "Жүкті түсіріп, көлікті қалдырды",
        "Я осуждаю действия подрядчика, возбуждено уголовное дело",
    ] {
        let (_, found) = run(text);
        assert_eq!(found.flags().count(), 0, "{text}");
    }
}

#[test]
fn luhn_and_mod_97() {
    assert!(luhn("4111111111111111"));
    assert!(!luhn("4111111111111112"));
    assert!(iban_mod97_valid("KZ86125KZT5004100100"));
    assert!(iban_mod97_valid("GB82WEST12345698765432"));
    assert!(!iban_mod97_valid("KZ86125KZT5004100101"));
}
