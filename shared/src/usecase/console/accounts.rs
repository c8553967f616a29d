//! Accounts (docs/dashboard.md, "Accounts and sessions"): sign-up, email verification, sign-in with its throttle,
//! sessions, sign-out, and password reset. None of them tells a known address from an unknown one: each answers
//! the same, and the owner of a known address gets an email instead.

use std::collections::HashMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Console, ConsoleError, random_token, stamp};
use crate::domain::account::{
    EmailAddress, LinkPurpose, Password, Role, session_alive, session_needs_touch, sign_in_blocked_until,
};
use crate::domain::dashboard_email;
use crate::domain::language::HumanLanguage;
use crate::passwords;
use crate::store::{AccountCreation, ClientProfile, StoredSession, User};

const SESSION_PURPOSE: &str = "session";
const LINK_PURPOSE: &str = "link";
const CSRF_PURPOSE: &str = "csrf";

/// A sign-up as the form gives it, checked.
#[derive(Debug, Clone)]
pub struct SignUp {
    /// The client's name.
    pub company: String,
    /// The owner's address.
    pub email: EmailAddress,
    /// The owner's password.
    pub password: Password,
    /// The page's language: the client's and the user's.
    pub language: HumanLanguage,
}

/// A signed-in user, as a page needs it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// The hash the session is stored under (to sign out).
    pub session_hash: String,
    /// The per-session CSRF token every form carries.
    pub csrf: String,
}

/// A sign-in's outcome. Every refusal is the same to the visitor.
#[derive(Debug)]
pub enum SignInOutcome {
    /// The session's token, for the cookie.
    SignedIn {
        /// The cookie's value (shown to no one else, stored only hashed).
        token: String,
        /// The user's language, for the next page.
        language: HumanLanguage,
        /// Client or operator.
        role: Role,
    },
    /// Wrong email or password, or too many failures: one answer for all.
    Refused,
}

/// Creates the client and its owner, and emails the verification link; or, when the address has an account,
/// emails its owner instead. Either way the caller shows the same page.
pub async fn sign_up(console: &Console, form: SignUp, now: OffsetDateTime) -> Result<(), ConsoleError> {
    let pepper = console.pepper().await?;
    let client_id = Uuid::new_v4().to_string();
    let user = User {
        user_id: Uuid::new_v4().to_string(),
        email: form.email.as_str().to_owned(),
        role: Role::Client,
        client_id: Some(client_id.clone()),
        password_hash: passwords::hash(&form.password, &pepper)?,
        language: form.language,
        email_verified_at: None,
        session_generation: 0,
    };
    let profile = ClientProfile {
        client_id,
        name: form.company.clone(),
        email: user.email.clone(),
        language: form.language.code().to_owned(),
        sms_sender: None,
        sms_templates: HashMap::new(),
        fallback_sms: false,
        fallback_sms_texts: HashMap::new(),
        sender: None,
        templates: Vec::new(),
    };
    match console.store.create_account(&user, Some(&profile), now).await? {
        AccountCreation::Created => send_verification(console, &user.email, form.language, now).await,
        AccountCreation::EmailTaken => {
            let owner = console.store.user(&form.email).await?;
            let language = owner.map_or(form.language, |owner| owner.language);
            let email = dashboard_email::already_registered(language, &console.link(""), &console.link("/forgot"));
            console.notify(form.email.as_str(), &email).await;
            Ok(())
        }
    }
}

/// Emails a fresh verification link (24 hours, single use).
pub async fn send_verification(
    console: &Console,
    email: &str,
    language: HumanLanguage,
    now: OffsetDateTime,
) -> Result<(), ConsoleError> {
    let token = random_token()?;
    let hash = console.token_hash(LINK_PURPOSE, &token).await?;
    let purpose = LinkPurpose::VerifyEmail;
    console.store.put_link(&hash, purpose, email, now + purpose.lifetime()).await?;
    let link = console.link(&format!("/verify?token={token}"));
    console.notify(email, &dashboard_email::verify_email(language, &link)).await;
    Ok(())
}

/// Opens a verification link: `true` when it verified an address, `false` for an unknown, used or expired link.
pub async fn verify_email(console: &Console, token: &str, now: OffsetDateTime) -> Result<bool, ConsoleError> {
    let hash = console.token_hash(LINK_PURPOSE, token).await?;
    match console.store.consume_link(&hash, LinkPurpose::VerifyEmail, now).await? {
        Some(email) => Ok(console.store.mark_email_verified(&email, now).await?),
        None => Ok(false),
    }
}

/// Signs in. The attempt is recorded first (an atomic `ADD` that answers every recorded attempt), so parallel
/// guesses cannot all pass the throttle: refused while the email is throttled (attempts refused meanwhile count
/// too), for an unknown email (after checking a decoy hash, so it takes as long) and for a wrong password;
/// otherwise the attempts are forgotten and a new session begins.
pub async fn sign_in(
    console: &Console,
    email: &EmailAddress,
    password: &Password,
    now: OffsetDateTime,
) -> Result<SignInOutcome, ConsoleError> {
    let attempts = console.store.record_sign_in_attempt(email, now).await?;
    let earlier: Vec<OffsetDateTime> = attempts.into_iter().filter(|at| *at < now).collect();
    if sign_in_blocked_until(&earlier, now).is_some() {
        crate::metrics::sign_in("Refused");
        tracing::info!("sign-in refused");
        return Ok(SignInOutcome::Refused);
    }
    let pepper = console.pepper().await?;
    let user = console.store.user(email).await?;
    let matches = match &user {
        Some(user) => passwords::matches(password, &user.password_hash, &pepper)?,
        None => {
            let _ = passwords::matches(password, decoy(&pepper)?, &pepper)?;
            false
        }
    };
    let Some(user) = user.filter(|_| matches) else {
        crate::metrics::sign_in("Refused");
        tracing::info!("sign-in refused");
        return Ok(SignInOutcome::Refused);
    };
    console.store.clear_sign_in_failures(email).await?;
    let token = random_token()?;
    let session = StoredSession {
        email: user.email.clone(),
        generation: user.session_generation,
        created_at: now,
        last_seen_at: now,
    };
    console.store.put_session(&console.token_hash(SESSION_PURPOSE, &token).await?, &session).await?;
    crate::metrics::sign_in("SignedIn");
    Ok(SignInOutcome::SignedIn { token, language: user.language, role: user.role })
}

/// A hash no password matches, made once per process: an unknown email's sign-in verifies against it, so it costs
/// one Argon2id like a known one's.
fn decoy(pepper: &[u8]) -> Result<&'static str, ConsoleError> {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(hash) = DECOY.get() {
        return Ok(hash);
    }
    let hash = passwords::decoy(pepper)?;
    Ok(DECOY.get_or_init(|| hash))
}

/// The user a session cookie signs in, if its session is alive: it exists, has been used within a day, is less
/// than a week old, and no password reset has happened since it began. Moves its last-seen time now and then.
pub async fn session(console: &Console, token: &str, now: OffsetDateTime) -> Result<Option<SignedIn>, ConsoleError> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    let session_hash = console.token_hash(SESSION_PURPOSE, token).await?;
    let Some(session) = console.store.session(&session_hash).await? else {
        return Ok(None);
    };
    if !session_alive(session.created_at, session.last_seen_at, now) {
        return Ok(None);
    }
    let Some(user) = console
        .store
        .user(
            &EmailAddress::parse(&session.email)
                .map_err(|_| ConsoleError::Store(crate::store::StoreError::corrupt("GetItem session", "email")))?,
        )
        .await?
    else {
        return Ok(None);
    };
    if user.session_generation != session.generation {
        return Ok(None);
    }
    if session_needs_touch(session.last_seen_at, now) {
        console.store.touch_session(&session_hash, now).await?;
    }
    let csrf = console.token_hash(CSRF_PURPOSE, token).await?;
    Ok(Some(SignedIn { user, session_hash, csrf }))
}

/// The CSRF token of a visitor's forms (sign-in, sign-up, forgot and reset), tied to its visitor cookie.
pub async fn visitor_csrf(console: &Console, visitor_token: &str) -> Result<String, ConsoleError> {
    console.token_hash("visitor-csrf", visitor_token).await
}

/// Ends a session.
pub async fn sign_out(console: &Console, signed_in: &SignedIn) -> Result<(), ConsoleError> {
    Ok(console.store.delete_session(&signed_in.session_hash).await?)
}

/// Emails a reset link (1 hour, single use) if the address has an account; the caller answers the same either way.
pub async fn forgot_password(console: &Console, email: &EmailAddress, now: OffsetDateTime) -> Result<(), ConsoleError> {
    let Some(user) = console.store.user(email).await? else {
        return Ok(());
    };
    let token = random_token()?;
    let hash = console.token_hash(LINK_PURPOSE, &token).await?;
    let purpose = LinkPurpose::ResetPassword;
    console.store.put_link(&hash, purpose, &user.email, now + purpose.lifetime()).await?;
    let link = console.link(&format!("/reset?token={token}"));
    console.notify(&user.email, &dashboard_email::reset_password(user.language, &link)).await;
    Ok(())
}

/// Sets a new password with a reset link, once, ending every session of the user. `false` for an unknown, used or
/// expired link.
pub async fn reset_password(
    console: &Console,
    token: &str,
    password: &Password,
    now: OffsetDateTime,
) -> Result<bool, ConsoleError> {
    let hash = console.token_hash(LINK_PURPOSE, token).await?;
    let Some(email) = console.store.link_email(&hash, LinkPurpose::ResetPassword, now).await? else {
        return Ok(false);
    };
    let password_hash = passwords::hash(password, &console.pepper().await?)?;
    Ok(console.store.reset_password(&hash, &email, &password_hash, now).await?)
}

/// Creates an operator (`lightotp-admin operator create`): verified at once, belonging to no client. `false` when
/// the address already has an account.
pub async fn create_operator(
    console: &Console,
    email: &EmailAddress,
    password: &Password,
    now: OffsetDateTime,
) -> Result<bool, ConsoleError> {
    let user = User {
        user_id: Uuid::new_v4().to_string(),
        email: email.as_str().to_owned(),
        role: Role::Operator,
        client_id: None,
        password_hash: passwords::hash(password, &console.pepper().await?)?,
        language: HumanLanguage::En,
        email_verified_at: Some(stamp(now)),
        session_generation: 0,
    };
    Ok(console.store.create_account(&user, None, now).await? == AccountCreation::Created)
}

/// Creates a verified sign-in for an existing client (the local stack's demo account). `false` when the address
/// already has an account.
pub async fn create_client_user(
    console: &Console,
    client_id: &str,
    email: &EmailAddress,
    password: &Password,
    now: OffsetDateTime,
) -> Result<bool, ConsoleError> {
    let user = User {
        user_id: Uuid::new_v4().to_string(),
        email: email.as_str().to_owned(),
        role: Role::Client,
        client_id: Some(client_id.to_owned()),
        password_hash: passwords::hash(password, &console.pepper().await?)?,
        language: HumanLanguage::En,
        email_verified_at: Some(stamp(now)),
        session_generation: 0,
    };
    Ok(console.store.create_account(&user, None, now).await? == AccountCreation::Created)
}
