//! Client webhooks: the events a client may subscribe to, which status change makes which event, where an endpoint
//! may point, how its deliveries are signed and when a failed one is tried again (docs/webhooks.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use base64::Engine;

use super::channel::Channel;
use super::message::MessageStatus;

/// What happened, in the event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// WhatsApp accepted the message.
    MessageSent,
    /// It reached the recipient's device.
    MessageDelivered,
    /// The recipient opened it.
    MessageRead,
    /// It could not be sent or delivered.
    MessageFailed,
    /// An operator deleted it.
    MessageDeleted,
    /// A Verify API request was verified with the right code.
    OtpVerified,
    /// A Verify API request failed: its SMS could not be sent, or its attempts ran out.
    OtpFailed,
}

impl EventType {
    /// Every event, in the order the docs list them.
    pub const ALL: [Self; 7] = [
        Self::MessageSent,
        Self::MessageDelivered,
        Self::MessageRead,
        Self::MessageFailed,
        Self::MessageDeleted,
        Self::OtpVerified,
        Self::OtpFailed,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageSent => "message.sent",
            Self::MessageDelivered => "message.delivered",
            Self::MessageRead => "message.read",
            Self::MessageFailed => "message.failed",
            Self::MessageDeleted => "message.deleted",
            Self::OtpVerified => "otp.verified",
            Self::OtpFailed => "otp.failed",
        }
    }

    /// Reads the wire spelling back; anything else is no event.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }

    /// The event a message's move to `status` makes; `Pending` (a new message) makes none.
    pub fn for_message_status(status: MessageStatus) -> Option<Self> {
        match status {
            MessageStatus::Pending => None,
            MessageStatus::Sent => Some(Self::MessageSent),
            MessageStatus::Delivered => Some(Self::MessageDelivered),
            MessageStatus::Read => Some(Self::MessageRead),
            MessageStatus::Failed => Some(Self::MessageFailed),
            MessageStatus::Deleted => Some(Self::MessageDeleted),
        }
    }
}

/// The events an endpoint wants: a non-empty set, every event when the client names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSelection(Vec<EventType>);

/// A list of events that names something that is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an event: choose among message.sent, message.delivered, message.read, message.failed, message.deleted, otp.verified, otp.failed"
)]
pub struct UnknownEvent(pub String);

impl EventSelection {
    /// Every event.
    pub fn all() -> Self {
        Self(EventType::ALL.to_vec())
    }

    /// Reads the names a client gave (blank ones ignored); none at all means every event.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, UnknownEvent> {
        let mut chosen = Vec::new();
        for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
            let event = EventType::parse(name).ok_or_else(|| UnknownEvent(name.chars().take(64).collect()))?;
            if !chosen.contains(&event) {
                chosen.push(event);
            }
        }
        if chosen.is_empty() {
            return Ok(Self::all());
        }
        chosen.sort();
        Ok(Self(chosen))
    }

    /// Whether the endpoint wants `event`.
    pub fn wants(&self, event: EventType) -> bool {
        self.0.contains(&event)
    }

    /// The chosen events, in the docs' order.
    pub fn events(&self) -> &[EventType] {
        &self.0
    }

    /// Whether every event is chosen.
    pub fn is_all(&self) -> bool {
        self.0.len() == EventType::ALL.len()
    }
}

/// A message event's `sequence`: the rank of the status it reached on its channel. Every move a message may make
/// goes to a higher rank (`Pending` 0, `Sent` 1, `Delivered` 2, `Read` and `Failed` 3, which never follow each
/// other, `Deleted` 4), and a fallback's SMS statuses rank above every WhatsApp one (10 more), so the event with the
/// highest `sequence` is the newest (docs/webhooks.md, Ordering).
pub fn message_sequence(channel: Channel, status: MessageStatus) -> u32 {
    let rank = match status {
        MessageStatus::Pending => 0,
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Read | MessageStatus::Failed => 3,
        MessageStatus::Deleted => 4,
    };
    match channel {
        Channel::WhatsApp => rank,
        Channel::Sms => 10 + rank,
    }
}

/// The event id (`webhook-id`) of a message's move to `status` on `channel`: the same change always has the same id,
/// so a re-read of the change (or a retry) is recognised as the same event.
pub fn message_event_id(message_id: &str, channel: Channel, status: MessageStatus) -> String {
    format!("evt_msg_{}_{}", message_id, message_sequence(channel, status))
}

/// The event id of a Verify request's end.
pub fn otp_event_id(request_id: &str, event: EventType) -> String {
    let outcome = if event == EventType::OtpVerified { "verified" } else { "failed" };
    format!("evt_otp_{request_id}_{outcome}")
}

/// How many attempts a delivery gets before it is failed.
pub const MAX_ATTEMPTS: u32 = 8;

/// An endpoint that has failed every delivery for this long is disabled, and its client emailed.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// A delivery succeeds on a 2xx within this long.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a delivery handed to the queue stays out of the due list: if the attempt never records its outcome
/// (the function died), the delivery is due again after this long. Longer than the delivery function may run.
pub const CLAIM_LEASE: Duration = Duration::from_secs(5 * 60);

/// How long the delivery log keeps an attempt.
pub const LOG_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// After `attempts_made` failed attempts, how long until the next one; `None` once the last attempt failed.
/// Delays: 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, so the 8th attempt comes 27 h 36 min after the first.
pub fn retry_delay(attempts_made: u32) -> Option<Duration> {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 3600;
    let seconds = match attempts_made {
        1 => MINUTE,
        2 => 5 * MINUTE,
        3 => 30 * MINUTE,
        4 => 2 * HOUR,
        5 => 5 * HOUR,
        6 | 7 => 10 * HOUR,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// The first 1 KB of an endpoint's answer, cut on a character boundary, for the delivery log.
pub fn answer_excerpt(body: &[u8]) -> String {
    const LIMIT: usize = 1024;
    let text = String::from_utf8_lossy(&body[..body.len().min(LIMIT)]).into_owned();
    let mut end = text.len().min(LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Where endpoints may point: deployed, only `https` to public addresses; the local stack also allows loopback
/// (over `http` too), and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// `https` only, public addresses only.
    PublicOnly,
    /// The local stack: public addresses, and loopback over `http` or `https`.
    AllowLoopback,
}

impl AddressPolicy {
    /// Whether a delivery may connect to `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if ip.is_loopback() {
            return self == Self::AllowLoopback;
        }
        is_public(ip)
    }
}

/// Not loopback, private, link-local (the cloud metadata address 169.254.169.254 included), shared, unspecified,
/// multicast, broadcast, documentation or otherwise reserved.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        // 100.64.0.0/10: carrier-grade NAT, shared address space.
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24: IETF protocol assignments (192.0.0.192 is Oracle's metadata address).
        || (a == 192 && b == 0 && c == 0)
        // 198.18.0.0/15: benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4: reserved.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        // 64:ff9b::/96 (NAT64) and ::/96 (IPv4-compatible) can carry an IPv4 address we would refuse.
        || (first == 0x64 && ip.segments()[1] == 0xff9b)
        || first == 0
        // 2001:db8::/32: documentation.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // fec0::/10: deprecated site-local.
        || (first & 0xffc0) == 0xfec0)
}

/// An endpoint URL that passed the checks made without the network: an absolute `https` URL (or `http` on the
/// local stack's loopback) with a host, no user name or password, at most 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    url: String,
    host: String,
    port: u16,
    https: bool,
}

/// Why an endpoint URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    /// Not an absolute URL with a host.
    #[error("the URL must be an absolute https:// URL with a host name")]
    Malformed,
    /// `http`, or another scheme.
    #[error("the URL must start with https://")]
    NotHttps,
    /// It names a user or password.
    #[error("the URL must not contain a user name or password")]
    Credentials,
    /// Longer than 2,000 characters.
    #[error("the URL must be at most 2000 characters")]
    TooLong,
    /// The host is, or resolves to, an address we do not deliver to.
    #[error("the URL's host must not be a loopback, private, link-local or metadata address")]
    ForbiddenAddress,
    /// The host does not resolve.
    #[error("the URL's host name does not resolve")]
    Unresolvable,
}

impl EndpointUrl {
    /// The longest URL accepted.
    pub const MAX_LEN: usize = 2000;

    /// Checks what can be checked without resolving the host. The URL is read as the HTTP client reads it (the
    /// WHATWG URL standard, so `http://2130706433/` and `http://0x7f.1/` are the IP literal 127.0.0.1), and an
    /// IP-literal host is checked against `policy` here; a name is checked when resolved, at registration and at
    /// every delivery. [`EndpointUrl::as_str`] is the URL as read, the one to connect to.
    pub fn parse(raw: &str, policy: AddressPolicy) -> Result<Self, UrlRefusal> {
        let raw = raw.trim();
        if raw.chars().count() > Self::MAX_LEN {
            return Err(UrlRefusal::TooLong);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlRefusal::Malformed);
        }
        let parsed = url::Url::parse(raw).map_err(|_| UrlRefusal::Malformed)?;
        let https = match parsed.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(UrlRefusal::NotHttps),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(UrlRefusal::Credentials);
        }
        let (host, literal) = match parsed.host() {
            Some(url::Host::Domain(name)) if !name.is_empty() => (name.to_ascii_lowercase(), None),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
            Some(url::Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
            _ => return Err(UrlRefusal::Malformed),
        };
        let port = parsed.port_or_known_default().unwrap_or(if https { 443 } else { 80 });
        let loopback = literal.is_some_and(|ip| policy.allows(ip) && !is_public(ip)) || host == "localhost";
        if let Some(ip) = literal
            && !policy.allows(ip)
        {
            return Err(UrlRefusal::ForbiddenAddress);
        }
        if host == "localhost" && policy == AddressPolicy::PublicOnly {
            return Err(UrlRefusal::ForbiddenAddress);
        }
        let plain_http_allowed = policy == AddressPolicy::AllowLoopback && loopback;
        if !(https || plain_http_allowed) {
            return Err(UrlRefusal::NotHttps);
        }
        Ok(Self { url: parsed.as_str().to_owned(), host, port, https })
    }

    /// The URL as read (normalised: `http://2130706433/x` is `http://127.0.0.1/x`): what is stored and connected to.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Its host, lower-case, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Its port, explicit or the scheme's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it is `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

/// The prefix of a signing secret, as Standard Webhooks write them.
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret's text from its 32 random bytes: `whsec_` and their standard base64.
pub fn signing_secret_text(random: &[u8; 32]) -> String {
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(random))
}

/// The `webhook-signature` header: one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, space-separated
/// (two during a rotation). A secret that is not `whsec_` and base64 signs nothing.
pub fn signature_header(secrets: &[&str], webhook_id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| standardwebhooks::Webhook::new(secret).ok())
        .filter_map(|signer| signer.sign(webhook_id, timestamp, body.as_bytes()).ok())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_and_nothing_else_parses() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::parse("message.Sent"), None);
        assert_eq!(EventType::parse("message.*"), None);
    }

    #[test]
    fn a_selection_of_nothing_is_everything_and_unknown_names_are_refused() {
        assert!(EventSelection::parse([]).unwrap().is_all());
        assert!(EventSelection::parse([" ", ""]).unwrap().is_all());
        let some = EventSelection::parse(["otp.failed", "message.read", "message.read"]).unwrap();
        assert_eq!(some.events(), &[EventType::MessageRead, EventType::OtpFailed]);
        assert!(some.wants(EventType::OtpFailed) && !some.wants(EventType::MessageSent));
        assert_eq!(
            EventSelection::parse(["message.read", "message.opened"]),
            Err(UnknownEvent("message.opened".into()))
        );
    }

    #[test]
    fn every_move_a_message_may_make_raises_its_sequence() {
        use MessageStatus::*;
        let all = [Pending, Sent, Delivered, Read, Failed, Deleted];
        for from in all {
            for to in all {
                if from.can_move_to(to) {
                    for channel in [Channel::WhatsApp, Channel::Sms] {
                        assert!(
                            message_sequence(channel, to) > message_sequence(channel, from),
                            "{channel:?}: {from:?} -> {to:?}"
                        );
                    }
                }
                // A fallback: from any WhatsApp status to any SMS one.
                assert!(message_sequence(Channel::Sms, to) > message_sequence(Channel::WhatsApp, from));
            }
        }
    }

    #[test]
    fn each_status_change_has_its_own_stable_event_id() {
        let id = "3f0c8a4e-5b7d-4e1a-9c2b-1d2e3f4a5b6c";
        let delivered = message_event_id(id, Channel::WhatsApp, MessageStatus::Delivered);
        assert_eq!(delivered, message_event_id(id, Channel::WhatsApp, MessageStatus::Delivered));
        assert_ne!(delivered, message_event_id(id, Channel::WhatsApp, MessageStatus::Read));
        assert_ne!(delivered, message_event_id(id, Channel::Sms, MessageStatus::Delivered));
        assert_ne!(otp_event_id(id, EventType::OtpVerified), otp_event_id(id, EventType::OtpFailed));
        assert_eq!(EventType::for_message_status(MessageStatus::Pending), None);
        assert_eq!(EventType::for_message_status(MessageStatus::Read), Some(EventType::MessageRead));
    }

    #[test]
    fn retries_last_more_than_a_day_over_eight_attempts_with_growing_delays() {
        let delays: Vec<Duration> = (1..MAX_ATTEMPTS).map(|n| retry_delay(n).unwrap()).collect();
        assert_eq!(delays.len(), 7);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        let span: Duration = delays.iter().sum();
        assert!(span >= Duration::from_secs(24 * 3600), "{span:?}");
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
        assert_eq!(retry_delay(0), None);
    }

    #[test]
    fn the_answer_excerpt_is_at_most_one_kilobyte_and_never_splits_a_character() {
        assert_eq!(answer_excerpt(b"ok"), "ok");
        let long = "ل".repeat(1000); // two bytes each
        let excerpt = answer_excerpt(long.as_bytes());
        assert!(excerpt.len() <= 1024 && excerpt.chars().all(|c| c == 'ل'));
        assert_eq!(answer_excerpt(&[b'a'; 5000]).len(), 1024);
    }

    #[test]
    fn deployed_endpoints_must_be_https_to_public_addresses() {
        let public = AddressPolicy::PublicOnly;
        assert!(EndpointUrl::parse("https://hooks.example.com/lightotp?x=1", public).is_ok());
        assert_eq!(EndpointUrl::parse("http://hooks.example.com/", public), Err(UrlRefusal::NotHttps));
        assert_eq!(EndpointUrl::parse("ftp://hooks.example.com/", public), Err(UrlRefusal::NotHttps));
        assert_eq!(EndpointUrl::parse("hooks.example.com/x", public), Err(UrlRefusal::Malformed));
        assert_eq!(EndpointUrl::parse("https://user:pw@hooks.example.com/", public), Err(UrlRefusal::Credentials));
        for forbidden in [
            "https://127.0.0.1/",
            "https://localhost/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            // Spellings the HTTP client reads as IP literals, never passed to a resolver.
            "https://2130706433/",
            "https://127.1/",
            "https://0x7f.0.0.1/",
            "https://0177.0.0.1/",
            "https://0xa9fea9fe/",
        ] {
            assert_eq!(EndpointUrl::parse(forbidden, public), Err(UrlRefusal::ForbiddenAddress), "{forbidden}");
        }
        assert!(EndpointUrl::parse(&format!("https://e.example/{}", "a".repeat(2000)), public).is_err());
    }

    #[test]
    fn the_local_stack_also_allows_loopback_over_http_and_nothing_private() {
        let local = AddressPolicy::AllowLoopback;
        let url = EndpointUrl::parse("http://127.0.0.1:4700/hooks", local).unwrap();
        assert_eq!((url.host(), url.port(), url.is_https()), ("127.0.0.1", 4700, false));
        let spelled = EndpointUrl::parse("http://2130706433:4700/hooks", local).unwrap();
        assert_eq!(spelled.as_str(), "http://127.0.0.1:4700/hooks", "stored and connected to as read");
        assert!(EndpointUrl::parse("http://localhost:4700/", local).is_ok());
        assert!(EndpointUrl::parse("http://[::1]:4700/", local).is_ok());
        assert_eq!(EndpointUrl::parse("http://10.0.0.1/", local), Err(UrlRefusal::ForbiddenAddress));
        assert_eq!(EndpointUrl::parse("http://hooks.example.com/", local), Err(UrlRefusal::NotHttps));
        assert!(!local.allows("169.254.169.254".parse().unwrap()));
        assert!(local.allows("93.184.215.14".parse().unwrap()));
    }

    #[test]
    fn signatures_are_standard_webhooks_ones_and_a_rotation_signs_twice() {
        let old = signing_secret_text(&[7; 32]);
        let new = signing_secret_text(&[9; 32]);
        assert!(old.starts_with("whsec_"));
        let body = r#"{"type":"message.read"}"#;
        let one = signature_header(&[&old], "evt_1", 1_700_000_000, body);
        let two = signature_header(&[&new, &old], "evt_1", 1_700_000_000, body);
        assert!(one.starts_with("v1,"));
        assert_eq!(two.split(' ').count(), 2);
        assert!(two.ends_with(&one));
        // The reference implementation signs the same with either secret.
        for secret in [&old, &new] {
            let verifier = standardwebhooks::Webhook::new(secret).unwrap();
            let expected = verifier.sign("evt_1", 1_700_000_000, body.as_bytes()).unwrap();
            assert!(two.split(' ').any(|s| s == expected));
        }
        assert_eq!(signature_header(&["not base64!"], "evt_1", 1, body), "");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_url_text_is_parsed_or_refused_without_panicking(raw in "\\PC{0,80}") {
            let _ = EndpointUrl::parse(&raw, AddressPolicy::PublicOnly);
            let _ = EndpointUrl::parse(&raw, AddressPolicy::AllowLoopback);
        }

        #[test]
        fn no_private_ipv4_address_is_ever_allowed(a in 0u8..=255, b in 0u8..=255, c in 0u8..=255, d in 0u8..=255) {
            let ip = Ipv4Addr::new(a, b, c, d);
            if ip.is_private() || ip.is_loopback() || ip.is_link_local() {
                prop_assert!(!AddressPolicy::PublicOnly.allows(IpAddr::V4(ip)));
                prop_assert!(!AddressPolicy::PublicOnly.allows(IpAddr::V6(ip.to_ipv6_mapped())));
            }
        }
    }
}
