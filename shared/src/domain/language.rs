//! Languages (docs/api.md, Accept-Language and Template language): the human language of our text
//! (`Accept-Language`, `ar` or `en`) and the WhatsApp template language (`languageCode`, matched against the
//! client's templates).

/// The language of the human-readable text we write: error descriptions, the cooldown sentence, emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HumanLanguage {
    /// English, the default.
    #[default]
    En,
    /// Arabic.
    Ar,
}

impl HumanLanguage {
    /// Picks `ar` or `en` from an `Accept-Language` header, honouring q-values; anything else means `en`.
    /// Among equal q-values the first listed wins.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Self::En;
        };
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let quality = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
            let language = match primary.as_str() {
                "ar" => Self::Ar,
                "en" => Self::En,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, language));
            }
        }
        best.map_or(Self::En, |(_, language)| language)
    }

    /// Reads a stored client preference (`en` or `ar`); anything else is `en`.
    pub fn from_code(code: &str) -> Self {
        if code.eq_ignore_ascii_case("ar") { Self::Ar } else { Self::En }
    }

    /// `en` or `ar`.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ar => "ar",
        }
    }
}

/// A template language in WhatsApp's spelling: a lower-case base, optionally `_` and an upper-case region
/// (`en`, `en_US`, `ar_SA`). `en-US` and `EN_us` normalise to `en_US`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// `None` for anything malformed; the caller treats that as "no match" (docs/api.md, Template language).
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().split(['_', '-']);
        let base = parts.next()?;
        let region = parts.next();
        if parts.next().is_some() || !(2..=3).contains(&base.len()) || !base.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        let base = base.to_ascii_lowercase();
        match region {
            None => Some(Self(base)),
            Some(r) if r.len() == 2 && r.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(Self(format!("{base}_{}", r.to_ascii_uppercase())))
            }
            Some(r) if r.len() == 3 && r.bytes().all(|b| b.is_ascii_digit()) => Some(Self(format!("{base}_{r}"))),
            Some(_) => None,
        }
    }

    /// The base language alone: `en_US` → `en`.
    pub fn base(&self) -> Self {
        Self(self.0.split('_').next().unwrap_or(&self.0).to_owned())
    }

    /// WhatsApp's spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message template the client may send, approved in WhatsApp under `name` for `language`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template's name in WhatsApp.
    pub name: String,
    /// The language it was approved in.
    pub language: LanguageTag,
}

/// The template to send: the requested language exactly, then its base, then the client's default language
/// (exactly, then its base). `None` is `TemplateNotFound`. A malformed request falls back like no match.
pub fn match_template<'t>(
    requested: Option<&str>,
    client_default: &str,
    templates: &'t [Template],
) -> Option<&'t Template> {
    let wanted =
        [requested, Some(client_default)].into_iter().flatten().filter_map(LanguageTag::parse).flat_map(|tag| {
            let base = tag.base();
            [tag, base]
        });
    for tag in wanted {
        if let Some(found) = templates.iter().find(|t| t.language == tag) {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_ar_or_en_by_quality() {
        let cases = [
            (None, HumanLanguage::En),
            (Some("ar"), HumanLanguage::Ar),
            (Some("ar-SA"), HumanLanguage::Ar),
            (Some("AR"), HumanLanguage::Ar),
            (Some("en"), HumanLanguage::En),
            (Some("fr"), HumanLanguage::En),
            (Some("fr, ar;q=0.5"), HumanLanguage::Ar),
            (Some("en;q=0.4, ar;q=0.8"), HumanLanguage::Ar),
            (Some("ar;q=0.4, en;q=0.8"), HumanLanguage::En),
            (Some("ar;q=0, en;q=0"), HumanLanguage::En),
            (Some("ar;q=0"), HumanLanguage::En),
            (Some("ar, en"), HumanLanguage::Ar),
            (Some("*"), HumanLanguage::En),
            (Some(";;,,"), HumanLanguage::En),
        ];
        for (header, expected) in cases {
            assert_eq!(HumanLanguage::from_accept_language(header), expected, "header {header:?}");
        }
    }

    #[test]
    fn language_tags_normalise_to_whatsapp_spelling() {
        let cases = [
            ("en", Some("en")),
            ("en_US", Some("en_US")),
            ("en-US", Some("en_US")),
            ("EN-us", Some("en_US")),
            ("ar_SA", Some("ar_SA")),
            ("es_419", Some("es_419")),
            ("e", None),
            ("english", None),
            ("en_USA", None),
            ("en_US_x", None),
            ("", None),
            ("1n", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(LanguageTag::parse(raw).as_ref().map(LanguageTag::as_str), expected, "input {raw:?}");
        }
    }

    fn templates(languages: &[&str]) -> Vec<Template> {
        languages
            .iter()
            .map(|l| Template { name: format!("otp_{l}"), language: LanguageTag::parse(l).expect("test tag") })
            .collect()
    }

    #[test]
    fn the_requested_language_then_its_base_then_the_client_default_is_matched() {
        let available = templates(&["en", "ar", "en_GB"]);
        let cases = [
            (Some("ar"), "en", Some("otp_ar")),
            (Some("en_GB"), "ar", Some("otp_en_GB")),
            (Some("en-GB"), "ar", Some("otp_en_GB")),
            (Some("en_US"), "ar", Some("otp_en")),
            (Some("ar_SA"), "en", Some("otp_ar")),
            (Some("fr"), "ar", Some("otp_ar")),
            (Some("not a tag"), "ar", Some("otp_ar")),
            (None, "en", Some("otp_en")),
            (None, "ar_EG", Some("otp_ar")),
            (Some("fr"), "de", None),
        ];
        for (requested, default, expected) in cases {
            assert_eq!(
                match_template(requested, default, &available).map(|t| t.name.as_str()),
                expected,
                "requested {requested:?}, default {default}"
            );
        }
    }

    #[test]
    fn a_base_request_does_not_match_a_regional_template() {
        let available = templates(&["en_US"]);
        assert_eq!(match_template(Some("en"), "en", &available), None);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    use crate::domain::test_strategies::any_text;

    /// One entry of an `Accept-Language` header: a tag and its q-value in thousandths (`None`: no `q=`, so 1).
    fn entry() -> impl Strategy<Value = (String, Option<u16>)> {
        let tag = ("ar|AR|en|En|fr|de|\\*", "|-SA|_us|-GB|-419");
        (tag.prop_map(|(base, region)| format!("{base}{region}")), proptest::option::of(0..=1000u16))
    }

    fn written((tag, quality): &(String, Option<u16>)) -> String {
        match quality {
            Some(q) => format!("{tag};q={}.{:03}", q / 1000, q % 1000),
            None => tag.clone(),
        }
    }

    /// What the header means: the first of the highest-quality `ar` or `en` entries, if its quality is above 0.
    fn meant(entries: &[(String, Option<u16>)]) -> HumanLanguage {
        let mut best: Option<(u16, HumanLanguage)> = None;
        for (tag, quality) in entries {
            let language = match tag.get(..2).map(str::to_ascii_lowercase).as_deref() {
                Some("ar") => HumanLanguage::Ar,
                Some("en") => HumanLanguage::En,
                _ => continue,
            };
            let quality = quality.unwrap_or(1000);
            if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, language));
            }
        }
        best.map_or(HumanLanguage::En, |(_, language)| language)
    }

    /// WhatsApp's spelling: a lower-case base of 2–3 letters, then maybe `_` and 2 upper-case letters or 3 digits.
    fn is_whatsapp_spelling(tag: &str) -> bool {
        let (base, region) = tag.split_once('_').map_or((tag, None), |(b, r)| (b, Some(r)));
        (2..=3).contains(&base.len())
            && base.bytes().all(|b| b.is_ascii_lowercase())
            && region.is_none_or(|r| {
                r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase())
                    || r.len() == 3 && r.bytes().all(|b| b.is_ascii_digit())
            })
    }

    proptest! {
        #[test]
        fn any_accept_language_header_is_read_without_panic(header in any_text()) {
            let _ = HumanLanguage::from_accept_language(Some(&header));
        }

        #[test]
        fn the_first_of_the_best_quality_ar_or_en_entries_is_picked(
            entries in proptest::collection::vec(entry(), 0..6),
            spaces in "[ ]{0,2}",
        ) {
            let header = entries.iter().map(written).collect::<Vec<_>>().join(&format!(",{spaces}"));
            prop_assert_eq!(HumanLanguage::from_accept_language(Some(&header)), meant(&entries), "{}", header);
        }

        #[test]
        fn a_stored_code_reads_as_arabic_only_when_it_is_ar(code in any_text()) {
            let expected = if code.eq_ignore_ascii_case("ar") { HumanLanguage::Ar } else { HumanLanguage::En };
            prop_assert_eq!(HumanLanguage::from_code(&code), expected);
            prop_assert_eq!(HumanLanguage::from_code(expected.code()), expected, "a code reads back as itself");
        }

        #[test]
        fn any_text_parses_without_panic_to_a_tag_in_whatsapp_spelling_that_parses_to_itself(raw in any_text()) {
            if let Some(tag) = LanguageTag::parse(&raw) {
                prop_assert!(is_whatsapp_spelling(tag.as_str()), "{:?} from {:?}", tag, raw);
                prop_assert_eq!(LanguageTag::parse(tag.as_str()), Some(tag.clone()));
                prop_assert_eq!(LanguageTag::parse(tag.base().as_str()), Some(tag.base()));
            }
        }

        #[test]
        fn a_tag_in_any_spelling_normalises_to_whatsapp_spelling(
            base in "[a-zA-Z]{2,3}",
            separator in "[-_]",
            region in "[a-zA-Z]{2}|[0-9]{3}",
            padding in "[ \\t]{0,2}",
        ) {
            let tag = LanguageTag::parse(&format!("{padding}{base}{separator}{region}{padding}"));
            let expected = format!("{}_{}", base.to_ascii_lowercase(), region.to_ascii_uppercase());
            prop_assert_eq!(tag.as_ref().map(LanguageTag::as_str), Some(expected.as_str()));
            prop_assert_eq!(tag.map(|t| t.base().as_str().to_owned()), Some(base.to_ascii_lowercase()));
        }

        #[test]
        fn a_matched_template_is_in_the_requested_or_the_default_language_or_their_base(
            languages in proptest::collection::vec("(ar|en|fr)(_(SA|US|GB))?", 0..5),
            requested in proptest::option::of(prop_oneof![any_text(), "(ar|en|fr|de)([-_](SA|US|GB|us))?"]),
            default in "(ar|en|fr|de)([-_](SA|US|GB|us))?|\\PC{0,6}",
        ) {
            let templates: Vec<Template> = languages
                .iter()
                .map(|l| LanguageTag::parse(l).map(|language| Template { name: l.clone(), language }))
                .collect::<Option<_>>()
                .ok_or_else(|| TestCaseError::fail("test tags parse"))?;
            if let Some(found) = match_template(requested.as_deref(), &default, &templates) {
                let wanted: Vec<LanguageTag> = [requested.as_deref(), Some(default.as_str())]
                    .into_iter()
                    .flatten()
                    .filter_map(LanguageTag::parse)
                    .flat_map(|tag| [tag.base(), tag])
                    .collect();
                prop_assert!(wanted.contains(&found.language), "{:?} for {:?} / {:?}", found, requested, default);
            }
        }
    }
}
