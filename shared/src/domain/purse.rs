//! Purses: a client's subscription credits spread over a few items, so that no one item takes every debit
//! (docs/data-model.md, "Purse"; docs/performance.md, "The ceiling per client"). Pure.
//!
//! Each subscription's balance is split over [`PURSES`] purses when it is granted. A debit takes the whole cost from
//! one purse that holds enough of the paying subscription, starting from a purse chosen per message, so concurrent
//! sends land on different items; only when no single purse holds enough does it take from several purses of that one
//! subscription, in the same transaction. A subscription's balance is the sum of its shares: the payer rule
//! (docs/api.md, Billing) reads that sum, so a message is still never split across subscriptions.

use std::collections::{BTreeMap, BTreeSet};

use super::pricing::Credits;
use super::subscription::{StoredState, Subscription};

/// How many purses hold a client's credits. Each takes at most 500 debits a second (a transactional write of an item
/// under 1 KB costs 2 write units, and an item takes 1,000 a second), so four carry 2,000 sends a second.
pub const PURSES: usize = 4;

/// One subscription's share in each purse.
pub type Shares = [Credits; PURSES];

/// What a grant of `credits` puts in each purse: as even as whole credits allow, the remainder in the first ones.
pub fn spread(credits: Credits) -> Shares {
    let count = PURSES as u64;
    let (each, left) = (credits.get() / count, credits.get() % count);
    std::array::from_fn(|i| Credits::new(each + u64::from((i as u64) < left)))
}

/// Where a debit of `cost` is taken from one subscription's `shares`: the first purse from `start` (wrapping) that
/// holds the whole cost, or else the largest shares first until the cost is covered. `None` when the shares together
/// hold less than the cost.
pub fn split_debit(shares: &Shares, cost: Credits, start: usize) -> Option<Vec<(usize, Credits)>> {
    let total: u64 = shares.iter().map(|share| share.get()).sum();
    if total < cost.get() {
        return None;
    }
    if let Some(purse) = (0..PURSES).map(|i| (start + i) % PURSES).find(|&purse| shares[purse] >= cost) {
        return Some(vec![(purse, cost)]);
    }
    let mut largest_first: Vec<usize> = (0..PURSES).collect();
    largest_first.sort_by_key(|&purse| std::cmp::Reverse(shares[purse]));
    let mut left = cost.get();
    let mut takes = Vec::new();
    for purse in largest_first {
        if left == 0 {
            break;
        }
        let take = left.min(shares[purse].get());
        if take > 0 {
            takes.push((purse, Credits::new(take)));
            left -= take;
        }
    }
    Some(takes)
}

/// The purse a debit of `cost` from `shares` for `paid_for` is recorded against: the first it takes from, where a
/// refund gives the whole cost back. The store's debit and the use cases' record of the charge both ask here.
pub fn charged_purse(shares: &Shares, cost: Credits, paid_for: &str) -> usize {
    split_debit(shares, cost, first_purse(paid_for))
        .and_then(|takes| takes.first().map(|(purse, _)| *purse))
        .unwrap_or(0)
}

/// What a subscription's grant fixed, kept in purse 0 beside its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Terms {
    /// Credits at grant.
    pub granted: Credits,
    /// The balance below which the client is told, once, that credits run low.
    pub low_balance_threshold: Credits,
}

/// A client's purses as read (one consistent read of each), by subscription sort key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purses {
    /// Each subscription's share in each purse.
    pub shares: BTreeMap<String, Shares>,
    /// Each subscription's terms.
    pub terms: BTreeMap<String, Terms>,
    /// Subscriptions whose low-balance email a debit already claimed (seen in any purse).
    pub notified: BTreeSet<String>,
}

impl Purses {
    /// The client's subscriptions with their balances (the sums of their shares), newest first: the sort key starts
    /// with the creation time. Every subscription here is `Active` as far as the purses know (nothing ends one yet).
    pub fn subscriptions_newest_first(&self) -> Vec<Subscription> {
        self.shares
            .iter()
            .rev()
            .map(|(sort_key, shares)| {
                let terms = self.terms.get(sort_key).copied().unwrap_or_default();
                Subscription {
                    id: sort_key.rsplit('#').next().unwrap_or_default().to_owned(),
                    sort_key: sort_key.clone(),
                    granted: terms.granted,
                    balance: Credits::new(shares.iter().map(|share| share.get()).sum()),
                    shares: *shares,
                    stored_state: StoredState::Active,
                    low_balance_threshold: terms.low_balance_threshold,
                    low_balance_notified: self.notified.contains(sort_key),
                    created_at: String::new(),
                }
            })
            .collect()
    }

    /// Where a debit of `cost` from the subscription `sort_key` is taken, starting from purse `start`.
    pub fn takes(&self, sort_key: &str, cost: Credits, start: usize) -> Option<Vec<(usize, Credits)>> {
        split_debit(self.shares.get(sort_key)?, cost, start)
    }
}

/// The purse a debit starts from: spread by the id of what it pays for (a message's or a Verify request's random
/// id), so concurrent debits of one client land on different purses.
pub fn first_purse(paid_for: &str) -> usize {
    super::spread_over(paid_for, PURSES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u64) -> Credits {
        Credits::new(n)
    }

    #[test]
    fn a_grant_is_spread_evenly_with_the_remainder_in_the_first_purses() {
        assert_eq!(spread(c(10)), [c(3), c(3), c(2), c(2)]);
        assert_eq!(spread(c(3)), [c(1), c(1), c(1), c(0)]);
        assert_eq!(spread(c(0)), [c(0); PURSES]);
    }

    #[test]
    fn a_debit_takes_the_whole_cost_from_the_first_purse_from_its_start_that_holds_it() {
        let shares = [c(5), c(1), c(5), c(0)];
        assert_eq!(split_debit(&shares, c(2), 1), Some(vec![(2, c(2))]), "purse 1 is short: the next one pays");
        assert_eq!(split_debit(&shares, c(2), 3), Some(vec![(0, c(2))]), "wraps around");
        assert_eq!(split_debit(&shares, c(1), 1), Some(vec![(1, c(1))]));
    }

    #[test]
    fn only_when_no_purse_holds_the_cost_is_it_taken_from_several_largest_first() {
        let shares = [c(2), c(3), c(1), c(0)];
        assert_eq!(split_debit(&shares, c(5), 0), Some(vec![(1, c(3)), (0, c(2))]));
        assert_eq!(split_debit(&shares, c(6), 0), Some(vec![(1, c(3)), (0, c(2)), (2, c(1))]));
        assert_eq!(split_debit(&shares, c(7), 0), None, "six credits in all");
    }

    #[test]
    fn debits_of_different_ids_start_from_every_purse() {
        let starts: std::collections::BTreeSet<_> =
            (0..64).map(|_| first_purse(&uuid::Uuid::new_v4().to_string())).collect();
        assert_eq!(starts.len(), PURSES, "{starts:?}");
    }

    #[test]
    fn purses_read_as_subscriptions_newest_first_with_the_sum_of_their_shares() {
        let mut purses = Purses::default();
        purses.shares.insert("SUB#001#old".to_owned(), [c(1), c(1), c(0), c(0)]);
        purses.shares.insert("SUB#002#new".to_owned(), [c(3), c(3), c(2), c(2)]);
        purses.terms.insert("SUB#002#new".to_owned(), Terms { granted: c(10), low_balance_threshold: c(1) });
        purses.notified.insert("SUB#001#old".to_owned());
        let subscriptions = purses.subscriptions_newest_first();
        let seen: Vec<_> = subscriptions
            .iter()
            .map(|s| (s.id.as_str(), s.balance.get(), s.granted.get(), s.low_balance_notified))
            .collect();
        assert_eq!(seen, [("new", 10, 10, false), ("old", 2, 0, true)]);
        assert_eq!(purses.takes("SUB#001#old", c(2), 0), Some(vec![(0, c(1)), (1, c(1))]));
        assert_eq!(purses.takes("SUB#003#none", c(1), 0), None);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn shares() -> impl Strategy<Value = Shares> {
        proptest::array::uniform4(0..50u64).prop_map(|raw| raw.map(Credits::new))
    }

    proptest! {
        #[test]
        fn a_spread_grant_adds_up_and_no_two_purses_differ_by_more_than_one(credits in 0..1_000_000u64) {
            let shares = spread(Credits::new(credits));
            prop_assert_eq!(shares.iter().map(|s| s.get()).sum::<u64>(), credits);
            let (most, least) = (shares.iter().max(), shares.iter().min());
            prop_assert!(most.zip(least).is_some_and(|(most, least)| most.get() - least.get() <= 1));
        }

        #[test]
        fn a_debit_takes_exactly_the_cost_never_more_than_a_share_and_one_purse_when_one_can(
            shares in shares(),
            cost in 1..120u64,
            start in 0..PURSES,
        ) {
            let total: u64 = shares.iter().map(|s| s.get()).sum();
            match split_debit(&shares, Credits::new(cost), start) {
                None => prop_assert!(total < cost),
                Some(takes) => {
                    prop_assert_eq!(takes.iter().map(|(_, take)| take.get()).sum::<u64>(), cost);
                    prop_assert!(takes.iter().all(|(purse, take)| *take <= shares[*purse] && take.get() > 0));
                    let mut purses: Vec<_> = takes.iter().map(|(purse, _)| *purse).collect();
                    purses.sort_unstable();
                    purses.dedup();
                    prop_assert_eq!(purses.len(), takes.len(), "each purse once");
                    if shares.iter().any(|share| share.get() >= cost) {
                        prop_assert_eq!(takes.len(), 1, "one purse could pay it all");
                    }
                }
            }
        }
    }
}
