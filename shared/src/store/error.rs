//! What can go wrong in storage, told apart by what a caller does about it: throttling and transaction conflicts
//! pass (retry them, with backoff), a lost condition or a corrupt item does not, and anything else is a failure to
//! report. Every kind keeps its cause as the error's `source`, so the one log line of a 5xx shows the whole chain.
//! A lost condition that the caller expects is not an error at all but a named outcome of the write.

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

/// The cause of a storage failure: the SDK's error, or what our side found wrong.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage failure, for the log (never for a client).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB throttled the request, or the table's capacity was exceeded: it passes, so retry with backoff.
    #[error("{operation}: throttled")]
    Throttled {
        /// The operation, e.g. `TransactWriteItems reserve`.
        operation: &'static str,
        /// What DynamoDB answered.
        #[source]
        cause: Cause,
    },
    /// A transaction met another one on the same items (`TransactionConflict`): it passes, so retry with backoff.
    #[error("{operation}: transaction conflict")]
    Conflict {
        /// The operation.
        operation: &'static str,
        /// What DynamoDB answered.
        #[source]
        cause: Cause,
    },
    /// A condition did not hold where the caller has no named outcome for it.
    #[error("{operation}: condition not met")]
    ConditionLost {
        /// The operation.
        operation: &'static str,
        /// What DynamoDB answered.
        #[source]
        cause: Cause,
    },
    /// An item could not be read as what it should be.
    #[error("{operation}: unreadable item: {what}")]
    Corrupt {
        /// The operation.
        operation: &'static str,
        /// What was wrong with it.
        what: String,
    },
    /// Any other failure of the SDK or of a request we built.
    #[error("{operation} failed")]
    Sdk {
        /// The operation.
        operation: &'static str,
        /// The SDK's error.
        #[source]
        cause: Cause,
    },
}

/// How a DynamoDB error code is told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Throttled,
    Conflict,
    ConditionLost,
    Other,
}

/// The kind of a DynamoDB error code (the codes of the DynamoDB API reference, "Common errors" and each action's).
fn kind_of(code: Option<&str>) -> Kind {
    match code {
        Some("ThrottlingException" | "ProvisionedThroughputExceededException" | "RequestLimitExceeded") => {
            Kind::Throttled
        }
        Some("TransactionConflictException" | "TransactionInProgressException") => Kind::Conflict,
        Some("ConditionalCheckFailedException") => Kind::ConditionLost,
        _ => Kind::Other,
    }
}

/// The kind of a cancelled transaction, from its per-item reasons: a conflict when any item met one, else a lost
/// condition when any condition failed, else a throttled item.
fn kind_of_cancellation<'a>(reasons: impl IntoIterator<Item = Option<&'a str>>) -> Kind {
    let codes: Vec<Option<&str>> = reasons.into_iter().collect();
    let any = |code: &str| codes.contains(&Some(code));
    if any("TransactionConflict") {
        Kind::Conflict
    } else if any("ConditionalCheckFailed") {
        Kind::ConditionLost
    } else if any("ThrottlingError") || any("ProvisionedThroughputExceeded") {
        Kind::Throttled
    } else {
        Kind::Other
    }
}

impl StoreError {
    /// A failure of `operation` that is not the SDK's: a request that could not be built, keys left unprocessed.
    pub fn new(operation: &'static str, cause: impl Into<Cause>) -> Self {
        Self::Sdk { operation, cause: cause.into() }
    }

    /// An item of `operation` that could not be read.
    pub fn corrupt(operation: &'static str, what: impl std::fmt::Display) -> Self {
        Self::Corrupt { operation, what: what.to_string() }
    }

    /// The SDK's error for `operation`, told apart by its code.
    pub fn sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let kind = kind_of(err.as_service_error().and_then(ProvideErrorMetadata::code));
        Self::of_kind(kind, operation, Box::new(err))
    }

    /// A failed `TransactWriteItems`, told apart by its cancellation reasons when it was cancelled.
    pub(crate) fn transaction<R>(operation: &'static str, err: SdkError<TransactWriteItemsError, R>) -> Self
    where
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let kind = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                kind_of_cancellation(cancelled.cancellation_reasons().iter().map(|reason| reason.code()))
            }
            other => kind_of(other.and_then(ProvideErrorMetadata::code)),
        };
        Self::of_kind(kind, operation, Box::new(err))
    }

    fn of_kind(kind: Kind, operation: &'static str, cause: Cause) -> Self {
        crate::metrics::dynamodb_error(match kind {
            Kind::Throttled => "Throttled",
            Kind::Conflict => "Conflict",
            Kind::ConditionLost => "ConditionLost",
            Kind::Other => "Other",
        });
        match kind {
            Kind::Throttled => Self::Throttled { operation, cause },
            Kind::Conflict => Self::Conflict { operation, cause },
            Kind::ConditionLost => Self::ConditionLost { operation, cause },
            Kind::Other => Self::Sdk { operation, cause },
        }
    }

    /// Whether it passes: throttling and transaction conflicts are worth another try, after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Conflict { .. })
    }
}

/// Names the operation a request belongs to when it fails: `request.send().await.in_operation(OP)?` for the SDK's
/// answer (classified by its code), `builder.build().in_operation(OP)?` for a request that could not be built. The
/// one place the store's repeated `map_err` chains live.
pub trait InOperation<T> {
    /// The result, with a failure as a [`StoreError`] of `operation`.
    fn in_operation(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T, E, R> InOperation<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn in_operation(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|err| StoreError::sdk(operation, err))
    }
}

impl<T> InOperation<T> for Result<T, aws_sdk_dynamodb::error::BuildError> {
    fn in_operation(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|err| StoreError::new(operation, err))
    }
}

/// The pause before retry `attempt` (1 for the first retry) of something that met contention or throttling:
/// "full jitter", a random share (`random` out of `u32::MAX`) of a ceiling that doubles from 10 ms up to 400 ms, so
/// that racing requests spread out instead of meeting again. Pure: the caller draws `random`.
pub fn backoff(attempt: u32, random: u32) -> Duration {
    const FIRST: Duration = Duration::from_millis(10);
    const CEILING: Duration = Duration::from_millis(400);
    let ceiling = FIRST.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(CEILING);
    ceiling.mul_f64(f64::from(random) / f64::from(u32::MAX))
}

/// Waits [`backoff`] for `attempt`, with randomness from the operating system (none, if it fails: no pause). Every
/// retry of a store operation passes here, so here it is counted (`DynamoDbRetries`).
pub async fn pause(attempt: u32) {
    crate::metrics::dynamodb_retry();
    let random = getrandom::u32().unwrap_or(0);
    tokio::time::sleep(backoff(attempt, random)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_told_apart_by_what_a_caller_does_about_them() {
        for (code, kind) in [
            (Some("ThrottlingException"), Kind::Throttled),
            (Some("ProvisionedThroughputExceededException"), Kind::Throttled),
            (Some("RequestLimitExceeded"), Kind::Throttled),
            (Some("TransactionConflictException"), Kind::Conflict),
            (Some("TransactionInProgressException"), Kind::Conflict),
            (Some("ConditionalCheckFailedException"), Kind::ConditionLost),
            (Some("ValidationException"), Kind::Other),
            (Some("ResourceNotFoundException"), Kind::Other),
            (None, Kind::Other),
        ] {
            assert_eq!(kind_of(code), kind, "{code:?}");
        }
    }

    #[test]
    fn a_cancelled_transaction_is_a_conflict_before_a_lost_condition() {
        let none = None;
        let cases = [
            (vec![none, Some("TransactionConflict"), Some("ConditionalCheckFailed")], Kind::Conflict),
            (vec![Some("None"), Some("ConditionalCheckFailed")], Kind::ConditionLost),
            (vec![Some("ThrottlingError")], Kind::Throttled),
            (vec![Some("ValidationError")], Kind::Other),
            (vec![], Kind::Other),
        ];
        for (reasons, kind) in cases {
            assert_eq!(kind_of_cancellation(reasons.clone()), kind, "{reasons:?}");
        }
    }

    #[test]
    fn only_throttling_and_conflicts_are_transient() {
        let cause = || Cause::from("x");
        assert!(StoreError::Throttled { operation: "op", cause: cause() }.is_transient());
        assert!(StoreError::Conflict { operation: "op", cause: cause() }.is_transient());
        assert!(!StoreError::ConditionLost { operation: "op", cause: cause() }.is_transient());
        assert!(!StoreError::new("op", "x").is_transient());
        assert!(!StoreError::corrupt("op", "x").is_transient());
    }

    #[test]
    fn the_pause_is_a_random_share_of_a_ceiling_that_doubles_up_to_400_ms() {
        let ms = |attempt, random| backoff(attempt, random).as_millis();
        assert_eq!(ms(1, u32::MAX), 10);
        assert_eq!(ms(2, u32::MAX), 20);
        assert_eq!(ms(3, u32::MAX), 40);
        assert_eq!(ms(6, u32::MAX), 320);
        assert_eq!(ms(7, u32::MAX), 400, "the ceiling stops at 400 ms");
        assert_eq!(ms(u32::MAX, u32::MAX), 400);
        assert_eq!(ms(5, 0), 0, "full jitter starts at no pause");
        assert_eq!(ms(5, u32::MAX / 2), 80, "half the ceiling of 160 ms");
    }
}
