//! The low-balance email, sent by whichever debit claimed it (see `DebitGuard`).

use crate::domain::language::HumanLanguage;
use crate::domain::notification::low_balance_email;
use crate::domain::pricing::Credits;
use crate::store::ClientProfile;
use crate::usecase::ports::SendEmail;

/// The email one debit claimed for one subscription.
#[derive(Debug, Clone)]
pub struct LowBalance {
    /// Who is told.
    pub profile: ClientProfile,
    /// The subscription's threshold.
    pub threshold: Credits,
    /// What it was granted.
    pub granted: Credits,
}

impl LowBalance {
    /// Sends it in the client's language; a failure is logged and not retried (the claim is spent, so a second
    /// email can never follow).
    pub async fn notify(self, mail: &impl SendEmail) {
        let language = HumanLanguage::from_code(&self.profile.language);
        let email = low_balance_email(language, &self.profile.name, self.threshold, self.granted);
        match mail.send_email(&self.profile.email, &email).await {
            Ok(()) => tracing::info!(threshold = self.threshold.get(), "low-balance email sent"),
            Err(err) => tracing::error!(error = %err, "low-balance email could not be sent"),
        }
    }
}
