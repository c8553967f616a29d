//! Whose fault a Graph API refusal of a send is (docs/api.md, WhatsApp outcomes; docs/whatsapp.md, Error codes).
//! Pure: the HTTP status and Graph's error code in, the cause out.

/// Who a refusal is about, which decides what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCause {
    /// The recipient or the message (not on WhatsApp, the re-engagement window, the pair rate limit, throttling, a
    /// parameter): the client gets WhatsApp's status and message.
    RecipientOrMessage,
    /// Our side: our access token, our app's permissions, our WhatsApp account or number locked or restricted. The
    /// client is not to blame and must not see our details: it gets `500 InternalServerError`.
    Ours,
}

/// Graph codes that say our access token failed: authentication (0) and an invalid or expired token (190).
const OUR_TOKEN: [i64; 2] = [0, 190];
/// Graph codes of a missing permission: the API method (3), permission denied (10), and the 200–299 family.
const OUR_PERMISSIONS: [i64; 2] = [3, 10];
/// Graph codes about our WhatsApp Business account or number: account locked (131031), temporarily blocked for
/// policy violations (368), a payment problem with the account (131042), the number not registered (133010), the
/// account restricted from messaging users in a country (130497).
const OUR_ACCOUNT: [i64; 5] = [131031, 368, 131042, 133010, 130497];

/// The cause of a refusal answered with HTTP `status` and Graph error `code`. A 401 or 403 is ours whatever the
/// code: it is about our credentials, never about the recipient.
pub fn refusal_cause(status: u16, code: Option<i64>) -> RefusalCause {
    let ours_by_code = code.is_some_and(|code| {
        OUR_TOKEN.contains(&code)
            || OUR_PERMISSIONS.contains(&code)
            || (200..=299).contains(&code)
            || OUR_ACCOUNT.contains(&code)
    });
    if matches!(status, 401 | 403) || ours_by_code { RefusalCause::Ours } else { RefusalCause::RecipientOrMessage }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_token_permissions_and_account_are_ours() {
        for (status, code) in [
            (401, Some(190)),
            (400, Some(190)),
            (401, None),
            (400, Some(0)),
            (403, Some(10)),
            (400, Some(10)),
            (403, Some(200)),
            (400, Some(299)),
            (400, Some(3)),
            (403, None),
            (400, Some(131031)),
            (400, Some(368)),
            (400, Some(131042)),
            (400, Some(133010)),
            (400, Some(130497)),
        ] {
            assert_eq!(refusal_cause(status, code), RefusalCause::Ours, "HTTP {status}, code {code:?}");
        }
    }

    #[test]
    fn the_recipient_the_message_and_throttling_are_mirrored() {
        for (status, code) in [
            (400, Some(131026)),
            (400, Some(131047)),
            (400, Some(131049)),
            (400, Some(131048)),
            (400, Some(131056)),
            (429, Some(131056)),
            (429, Some(130429)),
            (429, Some(80007)),
            (400, Some(100)),
            (400, Some(131008)),
            (404, Some(132001)),
            (400, Some(132000)),
            (400, None),
            (400, Some(300)),
        ] {
            assert_eq!(refusal_cause(status, code), RefusalCause::RecipientOrMessage, "HTTP {status}, code {code:?}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_401_or_403_is_ours_whatever_the_code(
            status in prop_oneof![Just(401u16), Just(403)],
            code in any::<Option<i64>>(),
        ) {
            prop_assert_eq!(refusal_cause(status, code), RefusalCause::Ours);
        }

        #[test]
        fn a_permission_code_from_200_to_299_is_ours_whatever_the_status(status in any::<u16>(), code in 200..=299i64) {
            prop_assert_eq!(refusal_cause(status, Some(code)), RefusalCause::Ours);
        }

        #[test]
        fn without_a_code_only_401_and_403_are_ours(status in any::<u16>()) {
            let ours = matches!(status, 401 | 403);
            let expected = if ours { RefusalCause::Ours } else { RefusalCause::RecipientOrMessage };
            prop_assert_eq!(refusal_cause(status, None), expected);
        }

        #[test]
        fn the_status_only_ever_adds_blame_to_us(status in any::<u16>(), code in any::<Option<i64>>()) {
            if refusal_cause(400, code) == RefusalCause::Ours {
                prop_assert_eq!(refusal_cause(status, code), RefusalCause::Ours, "code {:?}", code);
            }
        }
    }
}
