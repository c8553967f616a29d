//! Storage of dashboard accounts: users (keyed by their email), sessions and emailed links (keyed by the keyed
//! hash of their token: a token is never stored), and failed sign-ins. Every guarantee is a condition on the write:
//! an email is one account, a link works once, a password reset ends every session it did not make.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::items::{number, optional_string, string};
use super::schema::{PK, TTL_ATTRIBUTE, attr, key};
use super::{
    ClientProfile, DynamoStore, InOperation, StoreError, applied, cancellation_reasons, item_key, n, s, update_existing,
};
use crate::domain::account::{EmailAddress, LinkPurpose, Role, SESSION_ABSOLUTE, SIGN_IN_BLOCK, SIGN_IN_WINDOW};
use crate::domain::language::HumanLanguage;
use crate::domain::time_format::{parse_rfc3339, rfc3339_millis};

type Item = HashMap<String, AttributeValue>;

/// A dashboard user as stored. The password is an Argon2id hash in PHC form, never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub user_id: String,
    /// The address it signs in with (lower case).
    pub email: String,
    /// Client or operator.
    pub role: Role,
    /// The client it belongs to (operators belong to none).
    pub client_id: Option<String>,
    /// `$argon2id$…`.
    pub password_hash: String,
    /// The language of its pages and emails.
    pub language: HumanLanguage,
    /// When it opened its verification link (operators are verified when created).
    pub email_verified_at: Option<String>,
    /// Sessions made under another generation are over (a password reset moves it on).
    pub session_generation: u64,
}

/// A session as stored (under the hash of its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Whose.
    pub email: String,
    /// The user's session generation when it was made.
    pub generation: u64,
    /// Sign-in time.
    pub created_at: OffsetDateTime,
    /// The last request that wrote it.
    pub last_seen_at: OffsetDateTime,
}

/// The outcome of creating an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountCreation {
    /// The user (and, for a client, its client) were created together.
    Created,
    /// That email already has an account: nothing was written.
    EmailTaken,
}

impl User {
    fn to_item(&self, now: OffsetDateTime) -> Item {
        let mut item = item_key(key::user(&self.email), key::USER.to_owned());
        item.insert(attr::USER_ID.to_owned(), s(&self.user_id));
        item.insert(attr::EMAIL.to_owned(), s(&self.email));
        item.insert(attr::ROLE.to_owned(), s(self.role.as_str()));
        item.insert(attr::PASSWORD_HASH.to_owned(), s(&self.password_hash));
        item.insert(attr::LANGUAGE.to_owned(), s(self.language.code()));
        item.insert(attr::SESSION_GENERATION.to_owned(), n(self.session_generation));
        item.insert(attr::CREATED_AT.to_owned(), s(rfc3339_millis(now)));
        if let Some(client_id) = &self.client_id {
            item.insert(attr::CLIENT_ID.to_owned(), s(client_id));
        }
        if let Some(at) = &self.email_verified_at {
            item.insert(attr::EMAIL_VERIFIED_AT.to_owned(), s(at));
        }
        item
    }

    fn from_item(item: &Item, op: &'static str) -> Result<Self, StoreError> {
        Ok(Self {
            user_id: string(item, attr::USER_ID, op)?,
            email: string(item, attr::EMAIL, op)?,
            role: Role::from_stored(&string(item, attr::ROLE, op)?),
            client_id: optional_string(item, attr::CLIENT_ID),
            password_hash: string(item, attr::PASSWORD_HASH, op)?,
            language: HumanLanguage::from_code(&optional_string(item, attr::LANGUAGE).unwrap_or_default()),
            email_verified_at: optional_string(item, attr::EMAIL_VERIFIED_AT),
            session_generation: number(item, attr::SESSION_GENERATION, op)?,
        })
    }
}

fn time_attr(item: &Item, name: &str, op: &'static str) -> Result<OffsetDateTime, StoreError> {
    parse_rfc3339(&string(item, name, op)?).ok_or_else(|| StoreError::corrupt(op, name))
}

impl DynamoStore {
    /// Creates a user, and for a client user its client's profile, in one transaction guarded by
    /// `attribute_not_exists` on both: a second sign-up with the same email writes nothing.
    pub async fn create_account(
        &self,
        user: &User,
        client: Option<&ClientProfile>,
        now: OffsetDateTime,
    ) -> Result<AccountCreation, StoreError> {
        const OP: &str = "TransactWriteItems create account";
        let new_item = |item: Item| {
            Put::builder()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build()
                .in_operation(OP)
        };
        let mut transaction = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(new_item(user.to_item(now))?).build());
        if let Some(profile) = client {
            transaction =
                transaction.transact_items(TransactWriteItem::builder().put(new_item(profile.to_item())?).build());
        }
        match transaction.send().await {
            Ok(_) => Ok(AccountCreation::Created),
            // A lost condition, or a sign-up with the same email racing this one (which wins): the email is taken.
            Err(err) if cancellation_reasons(&err).is_some_and(super::is_race) => Ok(AccountCreation::EmailTaken),
            Err(err) => Err(StoreError::sdk(OP, err)),
        }
    }

    /// The user who signs in with `email`.
    pub async fn user(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        const OP: &str = "GetItem user";
        let item = self.get_consistent(OP, item_key(key::user(email.as_str()), key::USER.to_owned())).await?;
        item.map(|item| User::from_item(&item, OP)).transpose()
    }

    /// Records that the user opened its verification link (the user must exist).
    pub async fn mark_email_verified(&self, email: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem email verified";
        let result = update_existing(self, item_key(key::user(email), key::USER.to_owned()))
            .update_expression("SET #verified = if_not_exists(#verified, :now)")
            .expression_attribute_names("#verified", attr::EMAIL_VERIFIED_AT)
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .send()
            .await;
        applied(OP, result)
    }

    /// Sets the user's page and email language.
    pub async fn set_user_language(&self, email: &str, language: HumanLanguage) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem user language";
        let result = update_existing(self, item_key(key::user(email), key::USER.to_owned()))
            .update_expression("SET #language = :language")
            .expression_attribute_names("#language", attr::LANGUAGE)
            .expression_attribute_values(":language", s(language.code()))
            .send()
            .await;
        applied(OP, result)
    }

    /// Stores a session under the hash of its token; it expires (TTL) at the absolute limit.
    pub async fn put_session(&self, token_hash: &str, session: &StoredSession) -> Result<(), StoreError> {
        const OP: &str = "PutItem session";
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item_key(key::session(token_hash), key::SESSION.to_owned())))
            .item(attr::EMAIL, s(&session.email))
            .item(attr::SESSION_GENERATION, n(session.generation))
            .item(attr::CREATED_AT, s(rfc3339_millis(session.created_at)))
            .item(attr::LAST_SEEN_AT, s(rfc3339_millis(session.last_seen_at)))
            .item(TTL_ATTRIBUTE, n((session.created_at + SESSION_ABSOLUTE).unix_timestamp()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// The session stored under `token_hash`, if any.
    pub async fn session(&self, token_hash: &str) -> Result<Option<StoredSession>, StoreError> {
        const OP: &str = "GetItem session";
        let item = self.get_consistent(OP, item_key(key::session(token_hash), key::SESSION.to_owned())).await?;
        item.map(|item| {
            Ok(StoredSession {
                email: string(&item, attr::EMAIL, OP)?,
                generation: number(&item, attr::SESSION_GENERATION, OP)?,
                created_at: time_attr(&item, attr::CREATED_AT, OP)?,
                last_seen_at: time_attr(&item, attr::LAST_SEEN_AT, OP)?,
            })
        })
        .transpose()
    }

    /// Moves a session's last-seen time (only if it still exists: a deleted session stays deleted).
    pub async fn touch_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        const OP: &str = "UpdateItem touch session";
        let result = update_existing(self, item_key(key::session(token_hash), key::SESSION.to_owned()))
            .update_expression("SET #seen = :now")
            .expression_attribute_names("#seen", attr::LAST_SEEN_AT)
            .expression_attribute_values(":now", s(rfc3339_millis(now)))
            .send()
            .await;
        applied(OP, result)
    }

    /// Deletes a session (sign-out).
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        const OP: &str = "DeleteItem session";
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::session(token_hash), key::SESSION.to_owned())))
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// Stores an emailed link under the hash of its token, until `expires` (also its TTL).
    pub async fn put_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        email: &str,
        expires: OffsetDateTime,
    ) -> Result<(), StoreError> {
        const OP: &str = "PutItem link";
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item_key(key::link(token_hash), key::LINK.to_owned())))
            .item(attr::PURPOSE, s(purpose.as_str()))
            .item(attr::EMAIL, s(email))
            .item(TTL_ATTRIBUTE, n(expires.unix_timestamp()))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }

    /// Uses a link once: deletes it on condition that it exists, has this purpose and has not expired, and
    /// answers whose it was. A second use, an expired link or an unknown token answers `None`.
    pub async fn consume_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "DeleteItem consume link";
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::link(token_hash), key::LINK.to_owned())))
            .condition_expression(link_usable())
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#purpose", attr::PURPOSE)
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":purpose", s(purpose.as_str()))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes().and_then(|item| optional_string(item, attr::EMAIL))),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(None),
            Err(err) => Err(StoreError::sdk(OP, err)),
        }
    }

    /// Whose a usable link is, without using it.
    pub async fn link_email(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "GetItem link";
        let item = self.get_consistent(OP, item_key(key::link(token_hash), key::LINK.to_owned())).await?;
        Ok(item
            .filter(|item| {
                optional_string(item, attr::PURPOSE).as_deref() == Some(purpose.as_str())
                    && super::items::optional_number::<i64>(item, TTL_ATTRIBUTE)
                        .is_some_and(|at| at > now.unix_timestamp())
            })
            .and_then(|item| optional_string(&item, attr::EMAIL)))
    }

    /// Sets a new password with a reset link, in one transaction: the link is deleted on condition that it is
    /// usable, and the user's password and session generation change with it (ending every session). Answers
    /// whether it applied.
    pub async fn reset_password(
        &self,
        token_hash: &str,
        email: &str,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        const OP: &str = "TransactWriteItems reset password";
        let link = Delete::builder()
            .table_name(self.table())
            .set_key(Some(item_key(key::link(token_hash), key::LINK.to_owned())))
            .condition_expression(format!("{} AND #email = :email", link_usable()))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#purpose", attr::PURPOSE)
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_names("#email", attr::EMAIL)
            .expression_attribute_values(":purpose", s(LinkPurpose::ResetPassword.as_str()))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .expression_attribute_values(":email", s(email))
            .build()
            .in_operation(OP)?;
        let user = Update::builder()
            .table_name(self.table())
            .set_key(Some(item_key(key::user(email), key::USER.to_owned())))
            .update_expression("SET #hash = :hash ADD #generation :one")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#hash", attr::PASSWORD_HASH)
            .expression_attribute_names("#generation", attr::SESSION_GENERATION)
            .expression_attribute_values(":hash", s(password_hash))
            .expression_attribute_values(":one", n(1))
            .build()
            .in_operation(OP)?;
        let result = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(link).build())
            .transact_items(TransactWriteItem::builder().update(user).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if cancellation_reasons(&err).is_some_and(super::is_race) => Ok(false),
            Err(err) => Err(StoreError::sdk(OP, err)),
        }
    }

    /// Records a sign-in attempt (`ADD` to a number set: concurrent attempts are all kept) and answers every
    /// attempt recorded, this one included. The item's TTL drops them once they can no longer count.
    pub async fn record_sign_in_attempt(
        &self,
        email: &EmailAddress,
        now: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError> {
        const OP: &str = "UpdateItem sign-in attempt";
        let millis = now.unix_timestamp_nanos() / 1_000_000;
        let forget_at = now + SIGN_IN_WINDOW + SIGN_IN_BLOCK;
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::sign_in_failures(email.as_str()), key::FAILURES.to_owned())))
            .update_expression("ADD #failures :at SET #expires = :expires")
            .expression_attribute_names("#failures", attr::FAILURES)
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":at", AttributeValue::Ns(vec![millis.to_string()]))
            .expression_attribute_values(":expires", n(forget_at.unix_timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .in_operation(OP)?;
        let millis = out.attributes().and_then(|item| item.get(attr::FAILURES)).and_then(|v| v.as_ns().ok());
        Ok(millis
            .into_iter()
            .flatten()
            .filter_map(|ms| ms.parse::<i128>().ok())
            .filter_map(|ms| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok())
            .collect())
    }

    /// Forgets an email's failed sign-ins (after a successful one).
    pub async fn clear_sign_in_failures(&self, email: &EmailAddress) -> Result<(), StoreError> {
        const OP: &str = "DeleteItem sign-in failures";
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(item_key(key::sign_in_failures(email.as_str()), key::FAILURES.to_owned())))
            .send()
            .await
            .in_operation(OP)?;
        Ok(())
    }
}

/// A link is usable while it exists, has the expected purpose and its expiry is in the future.
fn link_usable() -> &'static str {
    "attribute_exists(#pk) AND #purpose = :purpose AND #expires > :now"
}
