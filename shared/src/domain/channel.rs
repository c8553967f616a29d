//! The channels a code travels by: WhatsApp, or SMS (the Verify API's, and the WhatsApp → SMS fallback's). Each has
//! its own price per country (docs/api.md, Billing).

/// A delivery channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Channel {
    /// A WhatsApp template message (every message's first channel).
    #[default]
    WhatsApp,
    /// An SMS through Amazon SNS.
    Sms,
}

impl Channel {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WhatsApp => "whatsapp",
            Self::Sms => "sms",
        }
    }

    /// Reads the spelling back (case-insensitive, surrounding blanks ignored); anything else is no channel.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "whatsapp" => Some(Self::WhatsApp),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_and_nothing_else_parses() {
        for channel in [Channel::WhatsApp, Channel::Sms] {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(Channel::parse(" SMS "), Some(Channel::Sms));
        assert_eq!(Channel::parse("email"), None);
        assert_eq!(Channel::parse(""), None);
    }
}
