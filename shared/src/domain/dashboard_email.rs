//! The dashboard's emails (docs/dashboard.md, "Emails"), in the recipient's language. Pure: links and names come
//! in as arguments. No email ever carries a password, a session or an API key.

use super::language::HumanLanguage;
use super::notification::Email;

fn email(subject: &str, body: String) -> Email {
    Email { subject: subject.to_owned(), body }
}

/// The link that confirms a new account's address (24 hours). It carries nothing the sign-up typed: anyone can
/// sign up with any address, and must not be able to put their text into mail to it.
pub fn verify_email(language: HumanLanguage, link: &str) -> Email {
    match language {
        HumanLanguage::En => email(
            "LightOTP: confirm your email address",
            format!(
                "Hello,\n\nConfirm your email address to start ordering plans and creating API keys:\n\n\
                 {link}\n\nThe link works once, for 24 hours. If you did not sign up for LightOTP, ignore this \
                 email.\n\nThe LightOTP team"
            ),
        ),
        HumanLanguage::Ar => email(
            "LightOTP: أكّد بريدك الإلكتروني",
            format!(
                "مرحبًا،\n\nأكّد بريدك الإلكتروني لتتمكن من طلب الباقات وإنشاء مفاتيح API:\n\n{link}\n\n\
                 يعمل الرابط مرة واحدة خلال 24 ساعة. إن لم تسجّل في LightOTP فتجاهل هذه الرسالة.\n\nفريق LightOTP"
            ),
        ),
    }
}

/// Sent instead of a second account when someone signs up with an address that has one.
pub fn already_registered(language: HumanLanguage, sign_in: &str, forgot: &str) -> Email {
    match language {
        HumanLanguage::En => email(
            "LightOTP: you already have an account",
            format!(
                "Someone, perhaps you, tried to sign up for LightOTP with this address, which already has an \
                 account.\n\nSign in: {sign_in}\nForgot your password? {forgot}\n\nIf it was not you, nothing \
                 changed and you can ignore this email.\n\nThe LightOTP team"
            ),
        ),
        HumanLanguage::Ar => email(
            "LightOTP: لديك حساب بالفعل",
            format!(
                "حاول أحدٌ، ربما أنت، التسجيل في LightOTP بهذا البريد، وله حساب بالفعل.\n\nتسجيل الدخول: {sign_in}\n\
                 نسيت كلمة المرور؟ {forgot}\n\nإن لم تكن أنت فلم يتغيّر شيء ويمكنك تجاهل هذه الرسالة.\n\nفريق LightOTP"
            ),
        ),
    }
}

/// The link that sets a new password (1 hour).
pub fn reset_password(language: HumanLanguage, link: &str) -> Email {
    match language {
        HumanLanguage::En => email(
            "LightOTP: reset your password",
            format!(
                "Set a new password for your LightOTP account:\n\n{link}\n\nThe link works once, for one hour, and \
                 signs you out everywhere else. If you did not ask for it, ignore this email.\n\nThe LightOTP team"
            ),
        ),
        HumanLanguage::Ar => email(
            "LightOTP: إعادة تعيين كلمة المرور",
            format!(
                "عيّن كلمة مرور جديدة لحسابك في LightOTP:\n\n{link}\n\nيعمل الرابط مرة واحدة خلال ساعة، ويُخرجك من \
                 كل الجلسات الأخرى. إن لم تطلبه فتجاهل هذه الرسالة.\n\nفريق LightOTP"
            ),
        ),
    }
}

/// To the client: its order was received.
pub fn order_received(language: HumanLanguage, plan: &str, price: &str, link: &str) -> Email {
    match language {
        HumanLanguage::En => email(
            "LightOTP: we received your order",
            format!(
                "We received your order for {plan} ({price}). Our team will contact you by WhatsApp or email to \
                 activate it.\n\nYour orders: {link}\n\nThe LightOTP team"
            ),
        ),
        HumanLanguage::Ar => email(
            "LightOTP: استلمنا طلبك",
            format!(
                "استلمنا طلبك لباقة {plan} ({price}). سيتواصل معك فريقنا عبر واتساب أو البريد الإلكتروني لتفعيلها.\n\n\
                 طلباتك: {link}\n\nفريق LightOTP"
            ),
        ),
    }
}

/// To the operators' address: a client placed an order (always English: the operators' language).
pub fn new_order_for_operators(client: &str, client_id: &str, plan: &str, notes: Option<&str>, link: &str) -> Email {
    email(
        "LightOTP: new order",
        format!(
            "{client} ({client_id}) ordered {plan}.\n\nNotes: {}\n\nOrders queue: {link}",
            notes.unwrap_or("(none)")
        ),
    )
}

/// To the client: an operator activated its order.
pub fn order_activated(language: HumanLanguage, plan: &str, credits: u64, link: &str) -> Email {
    match language {
        HumanLanguage::En => email(
            "LightOTP: your plan is active",
            format!(
                "Your order for {plan} is activated: {credits} credits are ready to use.\n\nYour subscriptions: \
                 {link}\n\nThe LightOTP team"
            ),
        ),
        HumanLanguage::Ar => email(
            "LightOTP: باقتك مفعّلة",
            format!(
                "تم تفعيل طلبك لباقة {plan}: {credits} رصيدًا جاهزًا للاستخدام.\n\nاشتراكاتك: {link}\n\nفريق LightOTP"
            ),
        ),
    }
}

/// To the client: an operator cancelled its order.
pub fn order_cancelled(language: HumanLanguage, plan: &str, reason: Option<&str>, link: &str) -> Email {
    match language {
        HumanLanguage::En => email(
            "LightOTP: your order was cancelled",
            format!(
                "Your order for {plan} was cancelled.{}\n\nYour orders: {link}\n\nThe LightOTP team",
                reason.map(|r| format!("\n\nReason: {r}")).unwrap_or_default()
            ),
        ),
        HumanLanguage::Ar => email(
            "LightOTP: أُلغي طلبك",
            format!(
                "أُلغي طلبك لباقة {plan}.{}\n\nطلباتك: {link}\n\nفريق LightOTP",
                reason.map(|r| format!("\n\nالسبب: {r}")).unwrap_or_default()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_email_carries_its_link_in_the_recipients_language() {
        let en = verify_email(HumanLanguage::En, "http://x/dashboard/verify?token=t");
        assert!(en.body.contains("http://x/dashboard/verify?token=t") && en.body.contains("24 hours"));
        let ar = reset_password(HumanLanguage::Ar, "http://x/r");
        assert!(ar.subject.contains("كلمة المرور") && ar.body.contains("http://x/r"));
        let cancelled = order_cancelled(HumanLanguage::En, "Starter", Some("no payment"), "l");
        assert!(cancelled.body.contains("Reason: no payment"));
        assert!(new_order_for_operators("Acme", "c1", "Starter", None, "l").body.contains("Notes: (none)"));
    }
}
