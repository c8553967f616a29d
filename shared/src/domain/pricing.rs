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

    /// The most one balance (a wallet, a subscription) may hold: a trillion credits, far beyond any plan, far below
    /// where a number stops being exact anywhere it travels (u64, DynamoDB, JSON readers' doubles: 2^53).
    pub const MAX_BALANCE: Self = Self(1_000_000_000_000);

    /// The sum, stopping at the largest number rather than wrapping.
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// The sum, if it stays within [`Credits::MAX_BALANCE`].
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).filter(|sum| *sum <= Self::MAX_BALANCE.0).map(Self)
    }

    /// How much more a balance of `self` may take before [`Credits::MAX_BALANCE`] (none when it is already there).
    pub const fn room(self) -> Self {
        Self(Self::MAX_BALANCE.0.saturating_sub(self.0))
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
        assert_eq!(Credits::new(2).checked_add(Credits::new(3)), Some(Credits::new(5)));
        assert_eq!(Credits::MAX_BALANCE.checked_add(Credits::new(1)), None, "beyond the bound");
        assert_eq!(Credits::new(u64::MAX).checked_add(Credits::new(1)), None, "beyond u64");
        assert_eq!(Credits::MAX_BALANCE.room(), Credits::ZERO);
        assert_eq!(Credits::new(u64::MAX).room(), Credits::ZERO);
    }

    #[test]
    fn unlisted_countries_cost_one_credit_and_listed_ones_their_price() {
        assert_eq!(message_cost(None), Credits::new(1), "unlisted");
        assert_eq!(message_cost(Some(Credits::new(3))), Credits::new(3), "listed at 3");
    }
}
