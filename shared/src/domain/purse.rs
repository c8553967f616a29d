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
use super::subscription::{DebitGuard, StoredState, Subscription};

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

/// Each purse's floor: its part of a subscription's low-balance threshold, spread as a grant is. A grant's shares are
/// never below their floors (a smaller number spreads into no larger parts), and while every purse keeps its floor
/// the balance is at or above the threshold (docs/data-model.md, "Why exactly one debit claims the low-balance email").
pub fn floors(threshold: Credits) -> Shares {
    spread(threshold)
}

/// The floors a debit of `payer` under `guard` must leave in each purse: their parts of the threshold while the debit
/// keeps them ([`DebitGuard::AboveFloors`]), else none. Where the debit takes from and the conditions on its writes
/// both come from here.
pub fn kept_floors(payer: &Subscription, guard: DebitGuard) -> Shares {
    match guard {
        DebitGuard::AboveFloors => floors(payer.low_balance_threshold),
        DebitGuard::Plain | DebitGuard::ClaimsLowBalance => [Credits::ZERO; PURSES],
    }
}

/// Where a debit of `cost` from `payer` under `guard` is taken, from purse `start` on: from what the purses hold above
/// the floors it keeps. `None` when that is less than the cost.
pub fn debit_takes(
    payer: &Subscription,
    cost: Credits,
    guard: DebitGuard,
    start: usize,
) -> Option<Vec<(usize, Credits)>> {
    let kept = kept_floors(payer, guard);
    let free: Shares =
        std::array::from_fn(|purse| Credits::new(payer.shares[purse].get().saturating_sub(kept[purse].get())));
    split_debit(&free, cost, start)
}

/// The purse a debit of `cost` from `payer` under `guard` for `paid_for` is recorded against: the first it takes
/// from, where a refund gives the whole cost back. The store's debit and the use cases' record of the charge both ask
/// here.
pub fn charged_purse(payer: &Subscription, cost: Credits, guard: DebitGuard, paid_for: &str) -> usize {
    debit_takes(payer, cost, guard, first_purse(paid_for))
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
    fn a_debit_above_the_floors_takes_only_what_a_purse_holds_above_its_part_of_the_threshold() {
        assert_eq!(floors(c(10)), [c(3), c(3), c(2), c(2)]);
        let payer = |shares: Shares| Subscription {
            id: "s".to_owned(),
            sort_key: "SUB#s".to_owned(),
            granted: c(20),
            balance: c(shares.iter().map(|share| share.get()).sum()),
            shares,
            stored_state: StoredState::Active,
            low_balance_threshold: c(10),
            low_balance_notified: false,
            created_at: String::new(),
        };
        let at_its_floor = payer([c(3), c(5), c(5), c(5)]);
        assert_eq!(DebitGuard::for_debit(&at_its_floor, c(1)), DebitGuard::AboveFloors);
        assert_eq!(
            debit_takes(&at_its_floor, c(1), DebitGuard::AboveFloors, 0),
            Some(vec![(1, c(1))]),
            "purse 0 is at 3"
        );
        assert_eq!(debit_takes(&at_its_floor, c(1), DebitGuard::Plain, 0), Some(vec![(0, c(1))]), "claimed: no floors");
        let charged: BTreeSet<_> =
            (0..32).map(|id| charged_purse(&at_its_floor, c(1), DebitGuard::AboveFloors, &id.to_string())).collect();
        assert_eq!(charged, BTreeSet::from([1, 2, 3]), "never the purse at its floor");
        let crossing = payer([c(3), c(3), c(2), c(2)]);
        assert_eq!(DebitGuard::for_debit(&crossing, c(1)), DebitGuard::ClaimsLowBalance, "10 - 1 is below 10");
        assert_eq!(debit_takes(&crossing, c(1), DebitGuard::ClaimsLowBalance, 2), Some(vec![(2, c(1))]));
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
        fn a_grant_never_holds_less_than_its_floors_and_the_floors_add_up_to_the_threshold(
            threshold in 0..10_000u64,
            more in 0..10_000u64,
        ) {
            let (floors, shares) = (floors(Credits::new(threshold)), spread(Credits::new(threshold + more)));
            prop_assert_eq!(floors.iter().map(|f| f.get()).sum::<u64>(), threshold);
            prop_assert!(shares.iter().zip(&floors).all(|(share, floor)| share >= floor), "{:?} {:?}", shares, floors);
        }

        #[test]
        fn a_debit_that_does_not_claim_keeps_every_floor_so_the_balance_stays_at_or_above_the_threshold(
            threshold in 1..100u64,
            above in proptest::array::uniform4(0..30u64),
            cost in 1..60u64,
            start in 0..PURSES,
        ) {
            // Every purse at or above its floor, as a grant leaves them and as every debit before this one kept them.
            let floors = floors(Credits::new(threshold));
            let shares: Shares = std::array::from_fn(|i| Credits::new(floors[i].get() + above[i]));
            let balance: u64 = shares.iter().map(|s| s.get()).sum();
            let payer = Subscription {
                id: "s".to_owned(),
                sort_key: "SUB#s".to_owned(),
                granted: Credits::new(balance),
                balance: Credits::new(balance),
                shares,
                stored_state: StoredState::Active,
                low_balance_threshold: Credits::new(threshold),
                low_balance_notified: false,
                created_at: String::new(),
            };
            let guard = DebitGuard::for_debit(&payer, Credits::new(cost));
            prop_assert_eq!(guard.claims(), balance.saturating_sub(cost) < threshold);
            if guard == DebitGuard::AboveFloors {
                let takes = debit_takes(&payer, Credits::new(cost), guard, start);
                let takes = takes.ok_or_else(|| TestCaseError::fail("a debit above the floors always finds them"))?;
                let mut after = shares;
                for (purse, take) in takes {
                    after[purse] = Credits::new(after[purse].get() - take.get());
                }
                prop_assert!(after.iter().zip(&floors).all(|(share, floor)| share >= floor), "{:?}", after);
                prop_assert_eq!(after.iter().map(|s| s.get()).sum::<u64>(), balance - cost);
            }
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
