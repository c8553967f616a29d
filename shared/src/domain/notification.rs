//! The low-balance email (docs/api.md, Billing), in the client's language. Pure.

use super::language::HumanLanguage;
use super::pricing::Credits;

/// Subject and plain-text body of the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// The email telling `client_name` that a subscription's balance fell below its threshold (`threshold` credits).
pub fn low_balance_email(language: HumanLanguage, client_name: &str, threshold: Credits, granted: Credits) -> Email {
    match language {
        HumanLanguage::En => Email {
            subject: "LightOTP: your credits are running low".to_owned(),
            body: format!(
                "Hello {client_name},\n\nOne of your LightOTP subscriptions has fewer than {threshold} of its {granted} \
                 credits left. When it runs out, messages are charged to your next active subscription, or refused.\n\n\
                 To keep sending OTPs without interruption, purchase a plan from the Subscriptions section of your \
                 dashboard.\n\nThe LightOTP team"
            ),
        },
        HumanLanguage::Ar => Email {
            subject: "LightOTP: رصيدك يوشك على النفاد".to_owned(),
            body: format!(
                "مرحبًا {client_name}،\n\nتبقّى أقل من {threshold} من أصل {granted} رصيدًا في أحد اشتراكاتك في LightOTP. \
                 عند نفاده تُحتسب الرسائل على اشتراكك الفعّال التالي أو تُرفض.\n\n\
                 لتواصل إرسال رموز التحقق دون انقطاع، اشترِ باقة من قسم الاشتراكات في لوحة التحكم.\n\nفريق LightOTP"
            ),
        },
    }
}

/// The email telling `client_name` that its webhook endpoint `url` was disabled after failing every delivery since
/// `since` (docs/webhooks.md, Retries).
pub fn webhook_endpoint_disabled(language: HumanLanguage, client_name: &str, url: &str, since: &str) -> Email {
    match language {
        HumanLanguage::En => Email {
            subject: "LightOTP: a webhook endpoint was disabled".to_owned(),
            body: format!(
                "Hello {client_name},\n\nYour webhook endpoint {url} has failed every delivery since {since} (UTC), so \
                 LightOTP has disabled it and stopped sending it events.\n\nOnce it answers again, enable it from the \
                 Webhooks page of your dashboard and redeliver the events it missed.\n\nThe LightOTP team"
            ),
        },
        HumanLanguage::Ar => Email {
            subject: "LightOTP: تم تعطيل نقطة استقبال Webhook".to_owned(),
            body: format!(
                "مرحبًا {client_name}،\n\nفشلت كل محاولات التسليم إلى نقطة الاستقبال {url} منذ {since} (UTC)، لذا عطّلتها \
                 LightOTP وأوقفت إرسال الأحداث إليها.\n\nعندما تعود للعمل، فعّلها من صفحة Webhooks في لوحة التحكم وأعد \
                 إرسال الأحداث التي فاتتها.\n\nفريق LightOTP"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disabled_endpoint_email_names_the_url_and_the_streak_in_both_languages() {
        for language in [HumanLanguage::En, HumanLanguage::Ar] {
            let email =
                webhook_endpoint_disabled(language, "Acme", "https://hooks.acme.example/x", "2027-01-01T00:00:00.000Z");
            assert!(
                email.body.contains("https://hooks.acme.example/x") && email.body.contains("2027-01-01T00:00:00.000Z")
            );
            assert!(email.body.contains("Acme"));
        }
    }

    #[test]
    fn the_email_states_the_balance_in_the_clients_language() {
        let en = low_balance_email(HumanLanguage::En, "Acme", Credits::new(10), Credits::new(100));
        assert!(en.body.contains("fewer than 10 of its 100 credits"), "{}", en.body);
        assert!(en.body.starts_with("Hello Acme,"));
        let ar = low_balance_email(HumanLanguage::Ar, "أكمي", Credits::new(10), Credits::new(100));
        assert!(ar.subject.contains("رصيدك"), "{}", ar.subject);
        assert!(ar.body.contains("تبقّى أقل من 10 من أصل 100"), "{}", ar.body);
    }
}
