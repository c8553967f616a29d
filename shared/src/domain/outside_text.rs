//! Text that comes from outside and that we store or repeat (WhatsApp's error messages, titles and details, from
//! a send's answer or a status notification) is bounded first: a DynamoDB item holds at most 400 KB, and a client's
//! answer should not carry a megabyte of someone else's text (docs/whatsapp.md, "What we keep of WhatsApp's errors").

/// The most characters kept of one outside text.
pub const MAX_CHARS: usize = 1_000;

/// `text` as it is when it has at most [`MAX_CHARS`] characters; else its first `MAX_CHARS - 1` and `…`.
pub fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_CHARS) {
        None => text.to_owned(),
        Some(_) => {
            let mut kept: String = text.chars().take(MAX_CHARS - 1).collect();
            kept.push('…');
            kept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_texts_are_kept_and_long_ones_end_in_an_ellipsis_at_the_bound() {
        assert_eq!(bounded("Message undeliverable"), "Message undeliverable");
        let exact = "ب".repeat(MAX_CHARS);
        assert_eq!(bounded(&exact), exact, "exactly the bound is kept");
        let long = bounded(&"x".repeat(450 * 1024));
        assert_eq!(long.chars().count(), MAX_CHARS);
        assert!(long.ends_with('…'));
    }

    proptest! {
        #[test]
        fn a_bounded_text_never_exceeds_the_bound_and_begins_as_the_text_did(text in ".*") {
            let kept = bounded(&text);
            prop_assert!(kept.chars().count() <= MAX_CHARS);
            let prefix: String = kept.trim_end_matches('…').to_owned();
            prop_assert!(text.starts_with(&prefix));
        }
    }
}
