//! Each function's own dependencies, as on AWS, where every function has its own instances (and caches) and its own
//! role. Their SDK clients sign with the function's logical id in `template.yaml` as their application id, so the
//! emulator's request meter tells what each function asked, and `cargo xtask test` checks that against the
//! function's policy (docs/local-stack.md, "Each function's requests").

use std::sync::Arc;

use aws_config::{AppName, InvalidAppName, SdkConfig};
use lightotp::clock::Clock;
use lightotp::config::Config;
use lightotp::deps::Deps;

/// The functions the gateway runs, by their logical ids in `template.yaml`.
pub const SEND_MESSAGE: &str = "SendMessageFunction";
pub const CHECK_MESSAGE_STATUS: &str = "CheckMessageStatusFunction";
pub const WHATSAPP_WEBHOOK: &str = "WhatsAppWebhookFunction";
pub const SWEEP_STUCK_MESSAGES: &str = "SweepStuckMessagesFunction";
pub const DELIVER_WEBHOOKS: &str = "DeliverWebhooksFunction";
pub const OTP_INITIATE: &str = "OtpInitiateFunction";
pub const OTP_VERIFY: &str = "OtpVerifyFunction";
pub const DASHBOARD: &str = "DashboardFunction";

/// Every function's dependencies.
pub struct Functions {
    pub send_message: Arc<Deps>,
    pub check_message_status: Arc<Deps>,
    pub whatsapp_webhook: Arc<Deps>,
    pub sweep_stuck_messages: Arc<Deps>,
    pub deliver_webhooks: Arc<Deps>,
    pub otp_initiate: Arc<Deps>,
    pub otp_verify: Arc<Deps>,
    pub dashboard: Arc<Deps>,
}

impl Functions {
    /// Builds each function's dependencies from the same configuration and clock.
    pub fn build(config: &Config, aws: &SdkConfig, clock: Arc<dyn Clock>) -> Result<Self, Box<dyn std::error::Error>> {
        let deps = |logical_id: &str| -> Result<Arc<Deps>, Box<dyn std::error::Error>> {
            Ok(Arc::new(Deps::build(config.clone(), &signed_as(aws, logical_id)?, Arc::clone(&clock))?))
        };
        Ok(Self {
            send_message: deps(SEND_MESSAGE)?,
            check_message_status: deps(CHECK_MESSAGE_STATUS)?,
            whatsapp_webhook: deps(WHATSAPP_WEBHOOK)?,
            sweep_stuck_messages: deps(SWEEP_STUCK_MESSAGES)?,
            deliver_webhooks: deps(DELIVER_WEBHOOKS)?,
            otp_initiate: deps(OTP_INITIATE)?,
            otp_verify: deps(OTP_VERIFY)?,
            dashboard: deps(DASHBOARD)?,
        })
    }
}

/// `aws` with `logical_id` as the application id its clients put in their user agent (`app/<id>`).
pub fn signed_as(aws: &SdkConfig, logical_id: &str) -> Result<SdkConfig, InvalidAppName> {
    Ok(aws.to_builder().app_name(AppName::new(logical_id.to_owned())?).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_in_the_template_is_run_under_its_own_name() {
        let template = include_str!("../../../template.yaml");
        let names = [
            SEND_MESSAGE,
            CHECK_MESSAGE_STATUS,
            WHATSAPP_WEBHOOK,
            SWEEP_STUCK_MESSAGES,
            DELIVER_WEBHOOKS,
            OTP_INITIATE,
            OTP_VERIFY,
            DASHBOARD,
        ];
        let in_template: Vec<&str> = template
            .lines()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|pair| pair[1].trim() == "Type: AWS::Serverless::Function")
            .filter_map(|pair| pair[0].trim().strip_suffix(':'))
            .collect();
        assert_eq!(in_template.len(), names.len(), "{in_template:?}");
        for name in names {
            assert!(in_template.contains(&name), "{name} is not a function of template.yaml");
        }
    }

    #[test]
    fn each_name_is_a_valid_application_id() {
        let aws = SdkConfig::builder().build();
        for name in [SEND_MESSAGE, DASHBOARD] {
            let signed = signed_as(&aws, name).map(|c| c.app_name().map(|a| a.to_string()));
            assert_eq!(signed.ok().flatten().as_deref(), Some(name));
        }
    }
}
