//! Subscriptions and which one pays for a message (docs/api.md, Billing).

use super::pricing::Credits;
use super::purse::Shares;

/// What an operator set on a subscription. Exhaustion is not stored: a subscription whose balance is 0 *is*
/// expired (see [`Subscription::effective_state`]), so the state can never disagree with the balance and a refund
/// re-activates it by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredState {
    /// Usable while it has credits.
    Active,
    /// Ended by an operator (or by a future expiry date); refunds do not revive it.
    Expired,
}

/// The state a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Can pay for messages.
    Active,
    /// Cannot: exhausted (balance 0) or ended by an operator.
    Expired,
}

impl SubscriptionState {
    /// The spelling used in storage and by the operator CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Expired => "Expired",
        }
    }
}

/// A plan's credits, as read from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// Its sort key: creation time first, so newest-first is a reverse key order.
    pub sort_key: String,
    /// Credits granted when it was created.
    pub granted: Credits,
    /// Credits left: the sum of its [`Self::shares`].
    pub balance: Credits,
    /// Its credits in each purse (docs/data-model.md, "Purse"), as read: where a debit takes them from.
    pub shares: Shares,
    /// What an operator set.
    pub stored_state: StoredState,
    /// The balance below which the client is told, once, that credits run low.
    pub low_balance_threshold: Credits,
    /// Whether that email was already claimed.
    pub low_balance_notified: bool,
    /// When it was granted (RFC 3339; empty when unknown).
    pub created_at: String,
}

/// The low-balance threshold of a subscription granted `credits` with `percent` (docs/api.md, Billing: default 10 %).
pub fn low_balance_threshold(credits: Credits, percent: u8) -> Credits {
    Credits::new(credits.get().saturating_mul(u64::from(percent)) / 100)
}

/// How a debit guards the low-balance email (docs/api.md, Billing: once per subscription, when a debit takes the
/// balance below the threshold, even under races; docs/data-model.md, "Why exactly one debit claims the low-balance
/// email"). Each purse has a floor, its part of the threshold ([`crate::domain::purse::floors`]): while every purse
/// keeps its floor the balance is at or above the threshold, so a debit that keeps the floors of the purses it takes
/// from, checked by its own conditions, cannot take the balance below the threshold unseen, however stale its read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebitGuard {
    /// The email was already claimed, or the threshold is 0: only never below zero.
    Plain,
    /// The balance stays at or above the threshold: the debit takes only what purses hold above their floors.
    AboveFloors,
    /// The balance ends below the threshold and nobody claimed the email yet: this debit claims it.
    ClaimsLowBalance,
}

impl DebitGuard {
    /// The guard for debiting `cost` from `payer` as last read.
    pub fn for_debit(payer: &Subscription, cost: Credits) -> Self {
        if payer.low_balance_notified || payer.low_balance_threshold == Credits::ZERO {
            return Self::Plain;
        }
        let ends_below = payer.balance.get().saturating_sub(cost.get()) < payer.low_balance_threshold.get();
        if ends_below { Self::ClaimsLowBalance } else { Self::AboveFloors }
    }

    /// Whether the debit claims the low-balance email.
    pub fn claims(self) -> bool {
        self == Self::ClaimsLowBalance
    }
}

impl Subscription {
    /// Expired when an operator ended it or when no credit is left.
    pub fn effective_state(&self) -> SubscriptionState {
        match self.stored_state {
            StoredState::Active if self.balance > Credits::ZERO => SubscriptionState::Active,
            _ => SubscriptionState::Expired,
        }
    }
}

/// The subscription that pays for a message of `cost`: the most recently created active one whose balance covers
/// the whole cost. `newest_first` must be ordered newest first. A message is never split across subscriptions.
pub fn choose_payer(newest_first: &[Subscription], cost: Credits) -> Option<&Subscription> {
    newest_first.iter().find(|s| s.effective_state() == SubscriptionState::Active && s.balance >= cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(n: u64) -> Credits {
        Credits::new(n)
    }

    fn sub(id: &str, balance: u64, stored_state: StoredState) -> Subscription {
        Subscription {
            id: id.into(),
            sort_key: id.into(),
            granted: c(100),
            balance: c(balance),
            shares: crate::domain::purse::spread(c(balance)),
            stored_state,
            low_balance_threshold: c(10),
            low_balance_notified: false,
            created_at: String::new(),
        }
    }

    #[test]
    fn the_newest_active_subscription_that_covers_the_whole_cost_pays() {
        let subs = [
            sub("newest-ended", 50, StoredState::Expired),
            sub("newer-short", 2, StoredState::Active),
            sub("older-enough", 3, StoredState::Active),
            sub("oldest-rich", 90, StoredState::Active),
        ];
        assert_eq!(choose_payer(&subs, c(1)).map(|s| s.id.as_str()), Some("newer-short"), "cost 1");
        assert_eq!(choose_payer(&subs, c(3)).map(|s| s.id.as_str()), Some("older-enough"), "cost 3: never split");
        assert_eq!(choose_payer(&subs, c(4)).map(|s| s.id.as_str()), Some("oldest-rich"), "cost 4");
        assert_eq!(choose_payer(&subs, c(91)), None, "cost 91: nobody covers it");
        assert_eq!(choose_payer(&[], c(1)), None, "no subscription at all");
    }

    #[test]
    fn the_debit_that_ends_below_the_threshold_claims_the_email() {
        let at = |balance| sub("s", balance, StoredState::Active);
        assert_eq!(DebitGuard::for_debit(&at(13), c(3)), DebitGuard::AboveFloors, "13 - 3 = 10: not below");
        assert_eq!(DebitGuard::for_debit(&at(12), c(3)), DebitGuard::ClaimsLowBalance, "12 - 3 = 9: below");
        assert_eq!(DebitGuard::for_debit(&at(5), c(1)), DebitGuard::ClaimsLowBalance, "already below, not yet told");
        let notified = Subscription { low_balance_notified: true, ..at(5) };
        assert_eq!(DebitGuard::for_debit(&notified, c(1)), DebitGuard::Plain);
        let no_threshold = Subscription { low_balance_threshold: c(0), ..at(1) };
        assert_eq!(DebitGuard::for_debit(&no_threshold, c(1)), DebitGuard::Plain, "a threshold of 0 never claims");
        assert_eq!(low_balance_threshold(c(1000), 10), c(100));
        assert_eq!(low_balance_threshold(c(15), 10), c(1), "rounded down");
        assert_eq!(low_balance_threshold(c(50), 0), c(0), "0 % never notifies");
    }

    #[test]
    fn a_subscription_is_expired_at_zero_and_active_again_with_credits() {
        assert_eq!(sub("s", 0, StoredState::Active).effective_state(), SubscriptionState::Expired);
        assert_eq!(sub("s", 1, StoredState::Active).effective_state(), SubscriptionState::Active);
        assert_eq!(sub("s", 5, StoredState::Expired).effective_state(), SubscriptionState::Expired);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn c(n: u64) -> Credits {
        Credits::new(n)
    }

    /// A subscription with any balance, state, threshold and notice flag.
    fn subscription(balance: impl Strategy<Value = u64>) -> impl Strategy<Value = Subscription> {
        let state = prop_oneof![Just(StoredState::Active), Just(StoredState::Expired)];
        (balance, state, 0..20u64, any::<bool>()).prop_map(|(balance, stored_state, threshold, notified)| {
            Subscription {
                id: format!("s{balance}"),
                sort_key: String::new(),
                granted: c(100),
                balance: c(balance),
                shares: crate::domain::purse::spread(c(balance)),
                stored_state,
                low_balance_threshold: c(threshold),
                low_balance_notified: notified,
                created_at: String::new(),
            }
        })
    }

    proptest! {
        #[test]
        fn the_payer_is_active_covers_the_whole_cost_and_no_newer_one_could_pay(
            newest_first in proptest::collection::vec(subscription(0..20u64), 0..6),
            cost in 0..25u64,
        ) {
            let can_pay = |s: &Subscription| s.effective_state() == SubscriptionState::Active && s.balance >= c(cost);
            match choose_payer(&newest_first, c(cost)) {
                Some(payer) => {
                    prop_assert!(payer.stored_state == StoredState::Active && payer.balance.get() >= cost.max(1));
                    let at = newest_first.iter().position(|s| std::ptr::eq(s, payer));
                    let newer = at.map(|at| &newest_first[..at]).ok_or_else(|| TestCaseError::fail("one of them"))?;
                    prop_assert!(!newer.iter().any(can_pay), "a newer subscription could pay");
                }
                None => prop_assert!(!newest_first.iter().any(can_pay), "someone could pay"),
            }
        }

        #[test]
        fn a_subscription_is_active_exactly_while_an_operator_left_it_active_and_it_has_credits(
            subscription in subscription(prop_oneof![Just(0u64), any::<u64>()]),
        ) {
            let active = subscription.stored_state == StoredState::Active && subscription.balance.get() > 0;
            prop_assert_eq!(subscription.effective_state() == SubscriptionState::Active, active);
        }

        #[test]
        fn the_guard_claims_the_notice_only_when_the_balance_ends_below_the_threshold_and_nobody_claimed_it(
            payer in subscription(prop_oneof![0..40u64, 0..=u64::MAX / 2]),
            cost in prop_oneof![0..20u64, 0..=u64::MAX / 2],
        ) {
            let (balance, threshold) = (payer.balance.get(), payer.low_balance_threshold.get());
            // A debit is made only when the balance covers the cost; beyond it, the balance would end at 0.
            let ends_below = balance.saturating_sub(cost) < threshold;
            let claims = DebitGuard::for_debit(&payer, c(cost)).claims();
            prop_assert_eq!(claims, ends_below && !payer.low_balance_notified, "{} - {} vs {}", balance, cost, threshold);
        }

        #[test]
        fn the_threshold_is_at_most_the_grant_and_grows_with_the_percentage(
            credits in any::<u64>(),
            percent in 0..100u8,
        ) {
            let threshold = low_balance_threshold(c(credits), percent);
            prop_assert!(threshold <= c(credits));
            prop_assert!(threshold <= low_balance_threshold(c(credits), percent + 1));
        }
    }
}
