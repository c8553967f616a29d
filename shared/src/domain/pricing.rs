//! Pricing by destination country (docs/api.md, Billing).

/// Credits a message costs: the pricing table's entry for the destination's region, else this.
pub const DEFAULT_COST: Credits = 1;

/// A number of credits. Balances and costs are whole credits.
pub type Credits = u64;

/// The cost of one message: the listed price for its region, or [`DEFAULT_COST`] when the region is unlisted.
pub fn message_cost(listed: Option<Credits>) -> Credits {
    listed.unwrap_or(DEFAULT_COST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_countries_cost_one_credit_and_listed_ones_their_price() {
        assert_eq!(message_cost(None), 1, "unlisted");
        assert_eq!(message_cost(Some(3)), 3, "listed at 3");
    }
}
