//! SMS texts and their cost in parts (docs/api.md, Cost: SMS parts): GSM-7 messages take 160 characters in one
//! part and 153 per part when split; anything outside GSM-7 (Arabic, for one) is sent as UCS-2: 70, and 67 per
//! part. Pure.

use super::language::HumanLanguage;

/// The GSM 03.38 basic character set (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table (an escape plus one septet: two each).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{000C}";

/// How a text is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 7-bit GSM alphabet.
    Gsm7,
    /// UTF-16 (any character outside GSM-7).
    Ucs2,
}

/// The encoding a text needs and its length in that encoding's units (septets, or UTF-16 code units).
pub fn encoding_of(text: &str) -> (Encoding, usize) {
    let mut septets = 0;
    for c in text.chars() {
        if GSM_BASIC.contains(c) {
            septets += 1;
        } else if GSM_EXTENDED.contains(c) {
            septets += 2;
        } else {
            return (Encoding::Ucs2, text.encode_utf16().count());
        }
    }
    (Encoding::Gsm7, septets)
}

/// How many SMS parts a text takes: what the Verify API charges (`cost`).
pub fn sms_parts(text: &str) -> u64 {
    let (encoding, units) = encoding_of(text);
    let (single, per_part) = match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    let parts = if units <= single { 1 } else { units.div_ceil(per_part) };
    parts as u64
}

/// The document's template in `language`, with `{CODE}` and `{EXPIRATION}` filled in.
pub fn default_template(language: HumanLanguage) -> &'static str {
    match language {
        HumanLanguage::En => "Your verification code is: {CODE}\nThis code expires in {EXPIRATION} minutes.",
        HumanLanguage::Ar => "رمز التحقق الخاص بك هو: {CODE}\nينتهي هذا الرمز خلال {EXPIRATION} دقائق.",
    }
}

/// Our fallback SMS text in `language` (docs/api.md, WhatsApp → SMS fallback): a client's own replaces it.
pub fn default_fallback_text(language: HumanLanguage) -> &'static str {
    match language {
        HumanLanguage::En => "Your verification code is: {CODE}",
        HumanLanguage::Ar => "رمز التحقق الخاص بك هو: {CODE}",
    }
}

/// Fills a template's `{CODE}` and `{EXPIRATION}`.
pub fn render(template: &str, code: &str, expiration_minutes: u8) -> String {
    template.replace("{CODE}", code).replace("{EXPIRATION}", &expiration_minutes.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_fallback_texts_carry_the_code_in_one_part() {
        for language in [HumanLanguage::En, HumanLanguage::Ar] {
            let text = render(default_fallback_text(language), "48291307", 0);
            assert!(text.contains("48291307"), "{text}");
            assert_eq!(sms_parts(&text), 1, "{text}");
        }
    }

    #[test]
    fn gsm7_fits_160_then_153_per_part() {
        assert_eq!(sms_parts(&"a".repeat(160)), 1);
        assert_eq!(sms_parts(&"a".repeat(161)), 2);
        assert_eq!(sms_parts(&"a".repeat(306)), 2);
        assert_eq!(sms_parts(&"a".repeat(307)), 3);
        assert_eq!(sms_parts(""), 1, "an empty text still takes a part");
    }

    #[test]
    fn extension_characters_count_twice() {
        assert_eq!(encoding_of("€[]"), (Encoding::Gsm7, 6));
        assert_eq!(sms_parts(&"€".repeat(80)), 1, "160 septets");
        assert_eq!(sms_parts(&"€".repeat(81)), 2, "162 septets");
    }

    #[test]
    fn any_character_outside_gsm7_makes_the_whole_text_ucs2() {
        assert_eq!(encoding_of("abc ع").0, Encoding::Ucs2);
        assert_eq!(sms_parts(&"ع".repeat(70)), 1);
        assert_eq!(sms_parts(&"ع".repeat(71)), 2);
        assert_eq!(sms_parts(&"ع".repeat(134)), 2);
        assert_eq!(sms_parts(&"ع".repeat(135)), 3);
        assert_eq!(sms_parts(&format!("{}✓", "a".repeat(69))), 1, "70 UCS-2 units");
        assert_eq!(encoding_of("😀").1, 2, "a character outside the BMP takes two UTF-16 units");
    }

    #[test]
    fn the_documents_templates_render_and_cost_one_part() {
        let en = render(default_template(HumanLanguage::En), "123456", 5);
        assert_eq!(en, "Your verification code is: 123456\nThis code expires in 5 minutes.");
        assert_eq!(sms_parts(&en), 1);
        let ar = render(default_template(HumanLanguage::Ar), "1234", 10);
        assert_eq!(ar, "رمز التحقق الخاص بك هو: 1234\nينتهي هذا الرمز خلال 10 دقائق.");
        assert_eq!(encoding_of(&ar).0, Encoding::Ucs2);
        assert_eq!(sms_parts(&ar), 1);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    /// Any characters, control characters included, up to a few parts long.
    fn any_text() -> impl Strategy<Value = String> {
        crate::domain::test_strategies::any_text_up_to(400)
    }

    /// Text of the GSM 03.38 basic set only, from empty to four parts long.
    fn gsm_basic_text() -> impl Strategy<Value = String> {
        let basic: Vec<char> = GSM_BASIC.chars().collect();
        proptest::collection::vec(proptest::sample::select(basic), 0..620).prop_map(String::from_iter)
    }

    /// Any text, or text of the GSM alphabet with its extension characters.
    fn sms_text() -> impl Strategy<Value = String> {
        let gsm: Vec<char> = GSM_BASIC.chars().chain(GSM_EXTENDED.chars()).collect();
        prop_oneof![
            any_text(),
            proptest::collection::vec(proptest::sample::select(gsm), 0..400).prop_map(String::from_iter)
        ]
    }

    proptest! {
        #[test]
        fn any_text_is_measured_without_panic_in_the_units_of_its_encoding(text in sms_text()) {
            let chars = text.chars().count();
            match encoding_of(&text) {
                (Encoding::Gsm7, septets) => prop_assert!((chars..=2 * chars).contains(&septets), "{:?}", text),
                (Encoding::Ucs2, units) => prop_assert_eq!(units, text.encode_utf16().count()),
            }
        }

        #[test]
        fn the_parts_are_the_fewest_that_hold_the_text(text in sms_text()) {
            let (encoding, units) = encoding_of(&text);
            let (single, per_part) = if encoding == Encoding::Gsm7 { (160, 153) } else { (70, 67) };
            let parts = usize::try_from(sms_parts(&text)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            match parts {
                0 => prop_assert!(false, "no text is free"),
                1 => prop_assert!(units <= single, "{} units in one part", units),
                n => {
                    let fewest = units > single && (n - 1) * per_part < units && units <= n * per_part;
                    prop_assert!(fewest, "{} units in {} parts", units, n);
                }
            }
        }

        #[test]
        fn a_gsm7_text_costs_one_part_up_to_160_characters_then_one_per_153(text in gsm_basic_text()) {
            let n = text.chars().count();
            let expected = if n <= 160 { 1 } else { n.div_ceil(153) };
            prop_assert_eq!(encoding_of(&text), (Encoding::Gsm7, n));
            prop_assert_eq!(sms_parts(&text), expected as u64);
        }

        #[test]
        fn adding_text_never_lowers_the_cost(first in sms_text(), second in sms_text()) {
            let both = format!("{first}{second}");
            prop_assert!(sms_parts(&both) >= sms_parts(&first), "{:?} then {:?}", first, second);
        }

        #[test]
        fn the_default_templates_show_the_code_and_cost_one_part(
            language in prop_oneof![Just(HumanLanguage::En), Just(HumanLanguage::Ar)],
            code in "[0-9]{4}|[0-9]{6}",
            expiration in 1..=10u8,
        ) {
            let text = render(default_template(language), &code, expiration);
            let filled = text.contains(&code) && !text.contains("{CODE}") && !text.contains("{EXPIRATION}");
            prop_assert!(filled, "{}", text);
            prop_assert_eq!(sms_parts(&text), 1, "{}", text);
        }
    }
}
