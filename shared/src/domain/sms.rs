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

/// Fills a template's `{CODE}` and `{EXPIRATION}`.
pub fn render(template: &str, code: &str, expiration_minutes: u8) -> String {
    template.replace("{CODE}", code).replace("{EXPIRATION}", &expiration_minutes.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
