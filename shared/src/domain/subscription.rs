//! Subscriptions and which one pays for a message (decisions.md, Billing).

use super::pricing::Credits;

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
    /// Credits left.
    pub balance: Credits,
    /// What an operator set.
    pub stored_state: StoredState,
}

impl Subscription {
    /// Expired when an operator ended it or when no credit is left.
    pub fn effective_state(&self) -> SubscriptionState {
        match self.stored_state {
            StoredState::Active if self.balance > 0 => SubscriptionState::Active,
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

    fn sub(id: &str, balance: Credits, stored_state: StoredState) -> Subscription {
        Subscription { id: id.into(), sort_key: id.into(), granted: 100, balance, stored_state }
    }

    #[test]
    fn the_newest_active_subscription_that_covers_the_whole_cost_pays() {
        let subs = [
            sub("newest-ended", 50, StoredState::Expired),
            sub("newer-short", 2, StoredState::Active),
            sub("older-enough", 3, StoredState::Active),
            sub("oldest-rich", 90, StoredState::Active),
        ];
        assert_eq!(choose_payer(&subs, 1).map(|s| s.id.as_str()), Some("newer-short"), "cost 1");
        assert_eq!(choose_payer(&subs, 3).map(|s| s.id.as_str()), Some("older-enough"), "cost 3: never split");
        assert_eq!(choose_payer(&subs, 4).map(|s| s.id.as_str()), Some("oldest-rich"), "cost 4");
        assert_eq!(choose_payer(&subs, 91), None, "cost 91: nobody covers it");
        assert_eq!(choose_payer(&[], 1), None, "no subscription at all");
    }

    #[test]
    fn a_subscription_is_expired_at_zero_and_active_again_with_credits() {
        assert_eq!(sub("s", 0, StoredState::Active).effective_state(), SubscriptionState::Expired);
        assert_eq!(sub("s", 1, StoredState::Active).effective_state(), SubscriptionState::Active);
        assert_eq!(sub("s", 5, StoredState::Expired).effective_state(), SubscriptionState::Expired);
    }
}
