//! Proptest strategies the domain's property tests share.

use proptest::prelude::*;

/// Any characters, control characters included (`any::<String>()` never draws one), up to 64 of them.
pub fn any_text() -> impl Strategy<Value = String> {
    any_text_up_to(64)
}

/// Any characters, control characters included, fewer than `max`.
pub fn any_text_up_to(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}
