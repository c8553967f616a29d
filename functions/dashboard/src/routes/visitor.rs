//! Signed-out pages: sign in, sign up, the emailed links (verify, reset), forgot password; and sign out. None of
//! them tells whether an address has an account.

use lambda_http::http::StatusCode;
use lightotp::domain::account::{EmailAddress, Password, short_text};
use lightotp::usecase::console::accounts::{self, SignInOutcome, SignUp};

use super::{Ctx, Outcome, render};
use crate::pages::{ForgotPage, ResetPage, SignInPage, SignUpPage, VerifyPage, field_message};
use crate::web::Reply;

/// The most characters of a company name.
const COMPANY_CHARS: usize = 100;

/// `/dashboard` for a visitor: the sign-in form, with a problem when one is given.
pub fn sign_in_page(ctx: &Ctx<'_>, problem: Option<&'static str>) -> Outcome {
    let mut c = ctx.chrome(ctx.t().sign_in_title);
    c.problem = problem;
    c.notice = match ctx.visit.param("notice") {
        "reset" => Some(ctx.t().reset_done),
        _ => None,
    };
    let status = if problem.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    render(status, &SignInPage { c, email: ctx.visit.field("email").trim().to_owned() })
}

/// `POST /dashboard/login`: one answer for every refusal; a new session cookie otherwise.
pub async fn log_in(ctx: &Ctx<'_>) -> Outcome {
    let refused = ctx.t().sign_in_refused;
    let (Ok(email), Ok(password)) =
        (EmailAddress::parse(ctx.visit.field("email")), Password::offered(ctx.visit.field("password")))
    else {
        return sign_in_page(ctx, Some(refused));
    };
    match accounts::sign_in(&ctx.console, &email, &password, ctx.now).await? {
        SignInOutcome::Refused => sign_in_page(ctx, Some(refused)),
        SignInOutcome::SignedIn { token, .. } => {
            let cookies = ctx.site.cookies;
            Ok(Reply::redirect("/dashboard").cookie(cookies.set(cookies.session_name(), &token)))
        }
    }
}

/// `POST /dashboard/logout`: deletes the session and its cookie.
pub async fn log_out(ctx: &Ctx<'_>) -> Outcome {
    if let Some(me) = &ctx.me {
        accounts::sign_out(&ctx.console, me).await?;
    }
    let cookies = ctx.site.cookies;
    Ok(Reply::redirect("/dashboard").cookie(cookies.clear(cookies.session_name())))
}

/// The sign-up form.
pub fn sign_up_page(ctx: &Ctx<'_>) -> Outcome {
    let page = SignUpPage {
        c: ctx.chrome(ctx.t().sign_up_title),
        company: String::new(),
        email: String::new(),
        company_error: None,
        email_error: None,
        password_error: None,
    };
    render(StatusCode::OK, &page)
}

/// `POST /dashboard/signup`: the same "check your email" page whether or not the address had an account.
pub async fn sign_up(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    let company = short_text(ctx.visit.field("company"), COMPANY_CHARS);
    let email = EmailAddress::parse(ctx.visit.field("email"));
    let password = Password::new_password(ctx.visit.field("password"));
    match (company, email, password) {
        (Ok(company), Ok(email), Ok(password)) => {
            let form = SignUp { company, email, password, language: ctx.language };
            accounts::sign_up(&ctx.console, form, ctx.now).await?;
            ctx.message(StatusCode::OK, t.check_email_title, t.check_email_body, None)
        }
        (company, email, password) => {
            let page = SignUpPage {
                c: ctx.chrome(t.sign_up_title),
                company: ctx.visit.field("company").chars().take(COMPANY_CHARS).collect(),
                email: ctx.visit.field("email").chars().take(254).collect(),
                company_error: company.err().map(|e| field_message(t, e)),
                email_error: email.err().map(|e| field_message(t, e)),
                password_error: password.err().map(|e| field_message(t, e)),
            };
            render(StatusCode::BAD_REQUEST, &page)
        }
    }
}

/// `GET /dashboard/verify?token=…`: the emailed link shows a button that confirms the address (a link opened by a
/// mail scanner changes nothing: every change is a `POST`).
pub fn verify_page(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    let token = ctx.visit.param("token");
    if token.is_empty() || token.len() > 100 {
        return ctx.message(
            StatusCode::BAD_REQUEST,
            t.link_invalid_title,
            t.link_invalid_body,
            Some(("/dashboard", t.continue_link)),
        );
    }
    let page = VerifyPage { c: ctx.chrome(t.confirm_title), token: token.to_owned() };
    Ok(render(StatusCode::OK, &page)?.no_store())
}

/// `POST /dashboard/verify`: confirms the address, once.
pub async fn verify(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    let token = ctx.visit.field("token");
    if !token.is_empty() && token.len() <= 100 && accounts::verify_email(&ctx.console, token, ctx.now).await? {
        ctx.message(StatusCode::OK, t.verified_title, t.verified_body, Some(("/dashboard", t.continue_link)))
    } else {
        ctx.message(
            StatusCode::BAD_REQUEST,
            t.link_invalid_title,
            t.link_invalid_body,
            Some(("/dashboard", t.continue_link)),
        )
    }
}

/// The forgot-password form.
pub fn forgot_page(ctx: &Ctx<'_>) -> Outcome {
    render(StatusCode::OK, &ForgotPage { c: ctx.chrome(ctx.t().forgot_title), email: String::new(), email_error: None })
}

/// `POST /dashboard/forgot`: the same answer for every well-formed address.
pub async fn forgot(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    match EmailAddress::parse(ctx.visit.field("email")) {
        Ok(email) => {
            accounts::forgot_password(&ctx.console, &email, ctx.now).await?;
            ctx.message(StatusCode::OK, t.forgot_title, t.forgot_sent, Some(("/dashboard", t.continue_link)))
        }
        Err(e) => render(
            StatusCode::BAD_REQUEST,
            &ForgotPage {
                c: ctx.chrome(t.forgot_title),
                email: ctx.visit.field("email").chars().take(254).collect(),
                email_error: Some(field_message(t, e)),
            },
        ),
    }
}

/// `GET /dashboard/reset?token=…`: the new-password form (the link is used only when the form is sent).
pub fn reset_page(ctx: &Ctx<'_>) -> Outcome {
    let token = ctx.visit.param("token");
    if token.is_empty() || token.len() > 100 {
        let t = ctx.t();
        return ctx.message(
            StatusCode::BAD_REQUEST,
            t.link_invalid_title,
            t.link_invalid_body,
            Some(("/dashboard/forgot", t.forgot_title)),
        );
    }
    render(
        StatusCode::OK,
        &ResetPage { c: ctx.chrome(ctx.t().reset_title), token: token.to_owned(), password_error: None },
    )
}

/// `POST /dashboard/reset`: sets the password once and ends every session of the user, this one included.
pub async fn reset(ctx: &Ctx<'_>) -> Outcome {
    let t = ctx.t();
    let token = ctx.visit.field("token");
    let password = match Password::new_password(ctx.visit.field("password")) {
        Ok(password) => password,
        Err(e) => {
            let page = ResetPage {
                c: ctx.chrome(t.reset_title),
                token: token.chars().take(100).collect(),
                password_error: Some(field_message(t, e)),
            };
            return Ok(render(StatusCode::BAD_REQUEST, &page)?.no_store());
        }
    };
    if token.is_empty()
        || token.len() > 100
        || !accounts::reset_password(&ctx.console, token, &password, ctx.now).await?
    {
        return ctx.message(
            StatusCode::BAD_REQUEST,
            t.link_invalid_title,
            t.link_invalid_body,
            Some(("/dashboard/forgot", t.forgot_title)),
        );
    }
    let cookies = ctx.site.cookies;
    Ok(Reply::redirect("/dashboard?notice=reset").cookie(cookies.clear(cookies.session_name())))
}
