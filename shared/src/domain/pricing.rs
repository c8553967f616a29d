//! Pricing by destination country (docs/api.md, Billing).

/// Credits a message costs: the pricing table's entry for the destination's region, else this.
pub const DEFAULT_COST: Credits = Credits::new(1);

/// A number of credits: what a message or an SMS part costs, what a subscription or a wallet holds. Whole credits,
/// never negative; on the wire and in the table, a plain number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Credits(u64);

impl Credits {
    /// No credits.
    pub const ZERO: Self = Self(0);

    /// `n` credits.
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    /// The number of credits.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The sum, stopping at the largest number rather than wrapping.
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

/// Read back from the table, where credits are a number.
impl std::str::FromStr for Credits {
    type Err = std::num::ParseIntError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse().map(Self)
    }
}

impl std::fmt::Display for Credits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The cost of one message: the listed price for its region, or [`DEFAULT_COST`] when the region is unlisted.
pub fn message_cost(listed: Option<Credits>) -> Credits {
    listed.unwrap_or(DEFAULT_COST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_read_and_print_as_plain_numbers() {
        assert_eq!("42".parse::<Credits>(), Ok(Credits::new(42)));
        assert!("-1".parse::<Credits>().is_err(), "never negative");
        assert_eq!(Credits::new(7).to_string(), "7");
        assert_eq!(serde_json::to_string(&Credits::new(7)).expect("json"), "7");
        assert_eq!(Credits::new(u64::MAX).saturating_add(Credits::new(1)), Credits::new(u64::MAX), "never wraps");
    }

    #[test]
    fn unlisted_countries_cost_one_credit_and_listed_ones_their_price() {
        assert_eq!(message_cost(None), Credits::new(1), "unlisted");
        assert_eq!(message_cost(Some(Credits::new(3))), Credits::new(3), "listed at 3");
    }
}
