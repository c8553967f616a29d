//! Every text the pages show, in English and Arabic (docs/dashboard.md, "Languages"). One struct, so a text missing
//! in one language does not compile. The English texts tests select by are those of docs/dashboard.md.

use lightotp::domain::language::HumanLanguage;

/// The texts of one language.
#[derive(Debug)]
pub struct Texts {
    /// `en`
    pub lang: &'static str,
    /// `ltr`
    pub dir: &'static str,
    /// `Main`
    pub nav_label: &'static str,
    /// `Edit`
    pub edit: &'static str,
    /// `API reference`
    pub api_reference: &'static str,
    /// `The reference is in English …`
    pub reference_note: &'static str,
    /// `Field`
    pub th_field: &'static str,
    /// `Type`
    pub th_type: &'static str,
    /// `Required`
    pub th_required: &'static str,
    /// `Status`
    pub th_status: &'static str,
    /// `Codes and messages`
    pub th_codes: &'static str,
    /// `That would take the wallet beyond …`
    pub too_many_credits: &'static str,
    /// `Edit plan`
    pub edit_plan: &'static str,
    /// `Orders already placed keep …`
    pub edit_plan_help: &'static str,
    /// `Confirm your email address`
    pub confirm_title: &'static str,
    /// `Confirm email`
    pub confirm_button: &'static str,
    /// `d`
    pub unit_days: &'static str,
    /// `h`
    pub unit_hours: &'static str,
    /// `min`
    pub unit_minutes: &'static str,
    /// `Overview`
    pub nav_overview: &'static str,
    /// `Subscriptions`
    pub nav_subscriptions: &'static str,
    /// `API Keys`
    pub nav_keys: &'static str,
    /// `Log out`
    pub nav_logout: &'static str,
    /// `Orders`
    pub nav_orders: &'static str,
    /// `Clients`
    pub nav_clients: &'static str,
    /// `Plans`
    pub nav_plans: &'static str,
    /// `Pricing`
    pub nav_pricing: &'static str,
    /// `Display language`
    pub display_language: &'static str,
    /// `Save`
    pub save: &'static str,
    /// `Log in to LightOTP`
    pub sign_in_title: &'static str,
    /// `Email`
    pub email: &'static str,
    /// `Password`
    pub password: &'static str,
    /// `Log in`
    pub log_in: &'static str,
    /// `Forgot password?`
    pub forgot_link: &'static str,
    /// `Sign up`
    pub sign_up_link: &'static str,
    /// `New to LightOTP?`
    pub no_account: &'static str,
    /// `The email or password is not right, or there were too many attempts. Check them, or try again in 15 minutes.`
    pub sign_in_refused: &'static str,
    /// `Create your LightOTP account`
    pub sign_up_title: &'static str,
    /// `Company name`
    pub company: &'static str,
    /// `Sign up`
    pub sign_up: &'static str,
    /// `10 to 128 characters.`
    pub password_help: &'static str,
    /// `Already have an account?`
    pub have_account: &'static str,
    /// `Check your email`
    pub check_email_title: &'static str,
    /// `A message is on its way to that address: open its link to confirm the address, then log in. If the address already has an account, we emailed its owner instead.`
    pub check_email_body: &'static str,
    /// `Email confirmed`
    pub verified_title: &'static str,
    /// `Your email address is confirmed: you can order plans and create API keys.`
    pub verified_body: &'static str,
    /// `This link does not work`
    pub link_invalid_title: &'static str,
    /// `The link is unknown, was already used, or has expired. Ask for a new one.`
    pub link_invalid_body: &'static str,
    /// `Continue`
    pub continue_link: &'static str,
    /// `Confirm your email address to order plans and create API keys: open the link we emailed you.`
    pub unverified: &'static str,
    /// `Send the link again`
    pub resend: &'static str,
    /// `A new link is on its way. It works once, for 24 hours.`
    pub resent: &'static str,
    /// `Reset your password`
    pub forgot_title: &'static str,
    /// `Send reset link`
    pub send_link: &'static str,
    /// `If an account uses that address, a reset link is on its way. It works once, for one hour.`
    pub forgot_sent: &'static str,
    /// `Choose a new password`
    pub reset_title: &'static str,
    /// `New password`
    pub new_password: &'static str,
    /// `Set password`
    pub set_password: &'static str,
    /// `Your password is changed and every session is signed out. Log in with the new password.`
    pub reset_done: &'static str,
    /// `Client ID`
    pub client_id: &'static str,
    /// `Subscriptions`
    pub subscriptions_heading: &'static str,
    /// `Verify API wallet`
    pub wallet: &'static str,
    /// `credits`
    pub credits: &'static str,
    /// `Pending orders`
    pub pending_orders: &'static str,
    /// `None yet.`
    pub none_yet: &'static str,
    /// `Send your first OTP`
    pub first_send: &'static str,
    /// `Create an API key, put it in place of YOUR_API_KEY, and run:`
    pub first_send_help: &'static str,
    /// `Plan`
    pub th_plan: &'static str,
    /// `Credits`
    pub th_credits: &'static str,
    /// `Granted`
    pub th_granted: &'static str,
    /// `Balance`
    pub th_balance: &'static str,
    /// `State`
    pub th_state: &'static str,
    /// `Created`
    pub th_created: &'static str,
    /// `Price`
    pub th_price: &'static str,
    /// `Notes`
    pub th_notes: &'static str,
    /// `Name`
    pub th_name: &'static str,
    /// `Key`
    pub th_key: &'static str,
    /// `Expires`
    pub th_expires: &'static str,
    /// `Last used`
    pub th_last_used: &'static str,
    /// `Client`
    pub th_client: &'static str,
    /// `Placed`
    pub th_placed: &'static str,
    /// `Reason`
    pub th_reason: &'static str,
    /// `When`
    pub th_when: &'static str,
    /// `Operator`
    pub th_operator: &'static str,
    /// `Action`
    pub th_action: &'static str,
    /// `Details`
    pub th_detail: &'static str,
    /// `Country`
    pub th_country: &'static str,
    /// `Email`
    pub th_email: &'static str,
    /// `Purchase plan`
    pub purchase_plan: &'static str,
    /// `Orders`
    pub orders_heading: &'static str,
    /// `Cancel order`
    pub cancel_order: &'static str,
    /// `Choose a plan`
    pub plans_title: &'static str,
    /// `Subscribe`
    pub subscribe: &'static str,
    /// `Confirm your order`
    pub order_title: &'static str,
    /// `Notes`
    pub notes: &'static str,
    /// `Optional, up to 500 characters: how to reach you, a reference for your invoice.`
    pub notes_help: &'static str,
    /// `Confirm Order`
    pub confirm_order: &'static str,
    /// `Automated payment is currently unavailable: our team will contact you by WhatsApp or email to activate your plan.`
    pub payment_note: &'static str,
    /// `Order received. Our team will contact you by WhatsApp or email to activate it.`
    pub order_placed: &'static str,
    /// `No plan is offered right now. Contact us.`
    pub no_plans: &'static str,
    /// `Pending`
    pub state_pending: &'static str,
    /// `Activated`
    pub state_activated: &'static str,
    /// `Cancelled`
    pub state_cancelled: &'static str,
    /// `Active`
    pub state_active: &'static str,
    /// `Expired`
    pub state_expired: &'static str,
    /// `Revoked`
    pub state_revoked: &'static str,
    /// `API Keys`
    pub keys_title: &'static str,
    /// `Add API key`
    pub add_key: &'static str,
    /// `Key name`
    pub key_name: &'static str,
    /// `Expires`
    pub expires: &'static str,
    /// `Optional. The key works through this day (UTC).`
    pub expires_help: &'static str,
    /// `Create key`
    pub create_key: &'static str,
    /// `Your new API key`
    pub new_key_label: &'static str,
    /// `Copy it now: it is shown only once. Keep it on your servers, never in apps or browser code.`
    pub new_key_warning: &'static str,
    /// `Copy`
    pub copy: &'static str,
    /// `Revoke`
    pub revoke: &'static str,
    /// `Rotate`
    pub rotate: &'static str,
    /// `Rotate key`
    pub rotate_title: &'static str,
    /// `Overlap`
    pub overlap: &'static str,
    /// `How long the old key keeps working beside the new one.`
    pub overlap_help: &'static str,
    /// `None`
    pub overlap_none: &'static str,
    /// `1 hour`
    pub overlap_1h: &'static str,
    /// `24 hours`
    pub overlap_24h: &'static str,
    /// `7 days`
    pub overlap_7d: &'static str,
    /// `Rotate key`
    pub rotate_key: &'static str,
    /// `The key is revoked: the API refuses it within 60 seconds.`
    pub key_revoked: &'static str,
    /// `Never`
    pub never: &'static str,
    /// `Back to API Keys`
    pub back_to_keys: &'static str,
    /// `No API keys yet. Add one to call the API.`
    pub no_keys: &'static str,
    /// `Orders`
    pub orders_queue_title: &'static str,
    /// `Activate`
    pub activate: &'static str,
    /// `Reason`
    pub reason: &'static str,
    /// `No pending orders.`
    pub queue_empty: &'static str,
    /// `Order activated: the client's subscription is granted and the client is emailed.`
    pub order_activated: &'static str,
    /// `Order cancelled.`
    pub order_cancelled: &'static str,
    /// `Clients`
    pub clients_title: &'static str,
    /// `Search`
    pub search: &'static str,
    /// `WhatsApp sender`
    pub sender_heading: &'static str,
    /// `No sender assigned.`
    pub no_sender: &'static str,
    /// `Assign sender`
    pub assign_sender: &'static str,
    /// `Phone number ID`
    pub phone_number_id: &'static str,
    /// `Display phone`
    pub display_phone: &'static str,
    /// `Templates`
    pub templates_heading: &'static str,
    /// `Add template`
    pub add_template: &'static str,
    /// `Template name`
    pub template_name: &'static str,
    /// `Language`
    pub template_language: &'static str,
    /// `Top up wallet`
    pub top_up: &'static str,
    /// `Credits`
    pub credits_label: &'static str,
    /// `Operator actions`
    pub audit_heading: &'static str,
    /// `API keys`
    pub keys_heading: &'static str,
    /// `Create plan`
    pub create_plan: &'static str,
    /// `Plan name`
    pub plan_name: &'static str,
    /// `Price`
    pub price: &'static str,
    /// `Description`
    pub description: &'static str,
    /// `Deactivate`
    pub deactivate: &'static str,
    /// `Active`
    pub active: &'static str,
    /// `Inactive`
    pub inactive: &'static str,
    /// `Pricing`
    pub pricing_title: &'static str,
    /// `Country`
    pub country: &'static str,
    /// `Set price`
    pub set_price: &'static str,
    /// `Saved.`
    pub saved: &'static str,
    /// `Credits per message to each country; countries not listed cost 1 credit.`
    pub pricing_help: &'static str,
    pub th_channel: &'static str,
    pub channel_whatsapp: &'static str,
    pub channel_sms: &'static str,
    /// `This field is required.`
    pub err_empty: &'static str,
    /// `This is too long.`
    pub err_too_long: &'static str,
    /// `Enter an email address like name@example.com.`
    pub err_email: &'static str,
    /// `Use 10 to 128 characters.`
    pub err_password: &'static str,
    /// `Enter a whole number from 1.`
    pub err_number: &'static str,
    /// `Choose a date that has not passed, within ten years.`
    pub err_date: &'static str,
    /// `Choose one of the options.`
    pub err_choice: &'static str,
    /// `This form has expired or came from another site. Go back, reload the page and try again.`
    pub forbidden: &'static str,
    /// `This page does not exist.`
    pub not_found: &'static str,
    /// `That was more than a form can hold.`
    pub too_large: &'static str,
    /// `Too many requests from your network. Wait a minute and try again.`
    pub rate_limited: &'static str,
    /// `Something went wrong on our side. Nothing was changed; try again in a moment.`
    pub server_error: &'static str,
    /// `This order is no longer pending.`
    pub order_not_pending: &'static str,
    /// `That plan is not offered any more. Choose another.`
    pub unknown_plan: &'static str,
    /// `Use a language tag such as en or en_US.`
    pub bad_language: &'static str,
    /// `Use a two-letter country code such as SA.`
    pub bad_country: &'static str,
    /// `Something is not right`
    pub error_title: &'static str,
    /// `Back to the dashboard`
    pub back_home: &'static str,
    /// `Webhooks`
    pub nav_webhooks: &'static str,
    /// `Webhooks`
    pub webhooks_title: &'static str,
    /// `LightOTP posts an event to your endpoints when one of your m …`
    pub webhooks_intro: &'static str,
    /// `Answer with a 2xx status within 10 seconds. An event may arr …`
    pub webhooks_delivery_note: &'static str,
    /// `Webhooks guide`
    pub webhooks_guide: &'static str,
    /// `Event reference (OpenAPI)`
    pub event_reference: &'static str,
    /// `Add endpoint`
    pub add_endpoint: &'static str,
    /// `Endpoint URL`
    pub endpoint_url: &'static str,
    /// `An https:// URL on your server, at most 2,000 characters. Lo …`
    pub endpoint_url_help: &'static str,
    /// `Events`
    pub events_label: &'static str,
    /// `Tick the events this endpoint wants. None ticked: every event.`
    pub events_help: &'static str,
    /// `All events`
    pub all_events: &'static str,
    /// `URL`
    pub th_url: &'static str,
    /// `Events`
    pub th_events: &'static str,
    /// `Failing since`
    pub th_failing_since: &'static str,
    /// `Previous secret signs until`
    pub th_previous_secret: &'static str,
    /// `Enabled`
    pub endpoint_on: &'static str,
    /// `Disabled by you`
    pub disabled_by_client: &'static str,
    /// `Disabled by LightOTP's operators`
    pub disabled_by_operator: &'static str,
    /// `Disabled: every delivery failed for 5 days`
    pub disabled_failing: &'static str,
    /// `Disabled`
    pub disabled_state: &'static str,
    /// `Enable`
    pub enable: &'static str,
    /// `Disable`
    pub disable: &'static str,
    /// `Rotate secret`
    pub rotate_secret: &'static str,
    /// `Delete`
    pub delete: &'static str,
    /// `Delivery log`
    pub delivery_log: &'static str,
    /// `No endpoints yet. Add one to be told when your messages and  …`
    pub no_endpoints: &'static str,
    /// `The endpoint is enabled: new events are sent to it again. Re …`
    pub endpoint_enabled: &'static str,
    /// `The endpoint is disabled: it gets no new events.`
    pub endpoint_disabled: &'static str,
    /// `The endpoint is deleted: nothing more is sent to it.`
    pub endpoint_deleted: &'static str,
    /// `Your endpoint's signing secret`
    pub secret_title: &'static str,
    /// `Signing secret`
    pub secret_label: &'static str,
    /// `Copy it now: it is shown only once and cannot be shown again …`
    pub secret_warning: &'static str,
    /// `For 24 hours the previous secret signs every delivery too, until`
    pub previous_secret_until: &'static str,
    /// `Deploy the new secret on your server before then.`
    pub deploy_before: &'static str,
    /// `Back to Webhooks`
    pub back_to_webhooks: &'static str,
    /// `Enter a full URL such as https://example.com/hooks.`
    pub url_malformed: &'static str,
    /// `The URL must start with https://.`
    pub url_not_https: &'static str,
    /// `The URL must not contain a user name or password.`
    pub url_credentials: &'static str,
    /// `The URL must be at most 2,000 characters.`
    pub url_too_long: &'static str,
    /// `That address is not allowed: the host must not be a loopback …`
    pub url_forbidden: &'static str,
    /// `The URL's host name does not resolve. Check it.`
    pub url_unresolvable: &'static str,
    /// `Choose events from the list.`
    pub unknown_event: &'static str,
    /// `A client may have at most 10 endpoints. Delete one first.`
    pub too_many_endpoints: &'static str,
    /// `The last 50 attempts, newest first. Attempts are kept for 30 days.`
    pub log_help: &'static str,
    /// `Event`
    pub th_event: &'static str,
    /// `Event ID`
    pub th_event_id: &'static str,
    /// `Attempt`
    pub th_attempt: &'static str,
    /// `Status or error`
    pub th_result: &'static str,
    /// `Latency (ms)`
    pub th_latency: &'static str,
    /// `Answer (first 1 KB)`
    pub th_answer: &'static str,
    /// `No attempts yet.`
    pub no_attempts: &'static str,
    /// `Redeliver`
    pub redeliver: &'static str,
    /// `Redeliver every event since`
    pub redeliver_since: &'static str,
    /// `Since`
    pub since_label: &'static str,
    /// `An RFC 3339 time with its time zone, such as 2026-11-23T00:0 …`
    pub since_help: &'static str,
    /// `A redelivered event keeps its webhook-id and is signed again …`
    pub redeliver_help: &'static str,
    /// `Enter a time like 2026-11-23T00:00:00Z (RFC 3339, with its t …`
    pub bad_since: &'static str,
    /// `Events scheduled for redelivery:`
    pub scheduled: &'static str,
    pub more_remain: &'static str,
    /// `This endpoint is disabled: enable it on the Webhooks page be …`
    pub enable_first: &'static str,
    /// `Webhook endpoints`
    pub webhooks_heading: &'static str,
    /// `Disabled by the client`
    pub disabled_by_the_client: &'static str,
    /// `Disabled by an operator`
    pub disabled_by_an_operator: &'static str,
    /// `Settings`
    pub nav_settings: &'static str,
    /// `Settings`
    pub settings_title: &'static str,
    /// `WhatsApp → SMS fallback`
    pub fallback_heading: &'static str,
    /// what the fallback does and costs
    pub fallback_intro: &'static str,
    /// `SMS sender ID`
    pub sms_sender_id: &'static str,
    /// `Send the code by SMS when WhatsApp cannot deliver it`
    pub fallback_on: &'static str,
    /// `Fallback SMS text (English)`
    pub fallback_text_en: &'static str,
    /// `Fallback SMS text (Arabic)`
    pub fallback_text_ar: &'static str,
    /// the texts' rule
    pub fallback_text_help: &'static str,
    /// `Save settings`
    pub save_settings: &'static str,
    /// a text without `{CODE}`
    pub fallback_no_code: &'static str,
    /// a text too long
    pub fallback_too_long: &'static str,
    /// `Settings saved.`
    pub settings_saved: &'static str,
}

impl Texts {
    /// The texts of `language`.
    pub fn of(language: HumanLanguage) -> &'static Self {
        match language {
            HumanLanguage::En => &EN,
            HumanLanguage::Ar => &AR,
        }
    }
}

/// The English texts.
pub static EN: Texts = Texts {
    nav_label: "Main",
    edit: "Edit",
    api_reference: "API reference",
    reference_note: "Generated from the OpenAPI document the API is tested against; docs/api.md has every rule.",
    th_field: "Field",
    th_type: "Type",
    th_required: "Required",
    th_status: "Status",
    th_codes: "Codes and messages",
    too_many_credits: "That would take the wallet beyond a trillion credits, the most a balance may hold.",
    edit_plan: "Edit plan",
    edit_plan_help: "Orders already placed keep the plan as it was when they were placed.",
    confirm_title: "Confirm your email address",
    confirm_button: "Confirm email",
    unit_days: "d",
    unit_hours: "h",
    unit_minutes: "min",
    lang: "en",
    dir: "ltr",
    nav_overview: "Overview",
    nav_subscriptions: "Subscriptions",
    nav_keys: "API Keys",
    nav_logout: "Log out",
    nav_orders: "Orders",
    nav_clients: "Clients",
    nav_plans: "Plans",
    nav_pricing: "Pricing",
    display_language: "Display language",
    save: "Save",
    sign_in_title: "Log in to LightOTP",
    email: "Email",
    password: "Password",
    log_in: "Log in",
    forgot_link: "Forgot password?",
    sign_up_link: "Sign up",
    no_account: "New to LightOTP?",
    sign_in_refused: "The email or password is not right, or there were too many attempts. Check them, or try again in 15 minutes.",
    sign_up_title: "Create your LightOTP account",
    company: "Company name",
    sign_up: "Sign up",
    password_help: "10 to 128 characters.",
    have_account: "Already have an account?",
    check_email_title: "Check your email",
    check_email_body: "A message is on its way to that address: open its link to confirm the address, then log in. If the address already has an account, we emailed its owner instead.",
    verified_title: "Email confirmed",
    verified_body: "Your email address is confirmed: you can order plans and create API keys.",
    link_invalid_title: "This link does not work",
    link_invalid_body: "The link is unknown, was already used, or has expired. Ask for a new one.",
    continue_link: "Continue",
    unverified: "Confirm your email address to order plans and create API keys: open the link we emailed you.",
    resend: "Send the link again",
    resent: "A new link is on its way. It works once, for 24 hours.",
    forgot_title: "Reset your password",
    send_link: "Send reset link",
    forgot_sent: "If an account uses that address, a reset link is on its way. It works once, for one hour.",
    reset_title: "Choose a new password",
    new_password: "New password",
    set_password: "Set password",
    reset_done: "Your password is changed and every session is signed out. Log in with the new password.",
    client_id: "Client ID",
    subscriptions_heading: "Subscriptions",
    wallet: "Verify API wallet",
    credits: "credits",
    pending_orders: "Pending orders",
    none_yet: "None yet.",
    first_send: "Send your first OTP",
    first_send_help: "Create an API key, put it in place of YOUR_API_KEY, and run:",
    th_plan: "Plan",
    th_credits: "Credits",
    th_granted: "Granted",
    th_balance: "Balance",
    th_state: "State",
    th_created: "Created",
    th_price: "Price",
    th_notes: "Notes",
    th_name: "Name",
    th_key: "Key",
    th_expires: "Expires",
    th_last_used: "Last used",
    th_client: "Client",
    th_placed: "Placed",
    th_reason: "Reason",
    th_when: "When",
    th_operator: "Operator",
    th_action: "Action",
    th_detail: "Details",
    th_country: "Country",
    th_email: "Email",
    purchase_plan: "Purchase plan",
    orders_heading: "Orders",
    cancel_order: "Cancel order",
    plans_title: "Choose a plan",
    subscribe: "Subscribe",
    order_title: "Confirm your order",
    notes: "Notes",
    notes_help: "Optional, up to 500 characters: how to reach you, a reference for your invoice.",
    confirm_order: "Confirm Order",
    payment_note: "Automated payment is currently unavailable: our team will contact you by WhatsApp or email to activate your plan.",
    order_placed: "Order received. Our team will contact you by WhatsApp or email to activate it.",
    no_plans: "No plan is offered right now. Contact us.",
    state_pending: "Pending",
    state_activated: "Activated",
    state_cancelled: "Cancelled",
    state_active: "Active",
    state_expired: "Expired",
    state_revoked: "Revoked",
    keys_title: "API Keys",
    add_key: "Add API key",
    key_name: "Key name",
    expires: "Expires",
    expires_help: "Optional. The key works through this day (UTC).",
    create_key: "Create key",
    new_key_label: "Your new API key",
    new_key_warning: "Copy it now: it is shown only once. Keep it on your servers, never in apps or browser code.",
    copy: "Copy",
    revoke: "Revoke",
    rotate: "Rotate",
    rotate_title: "Rotate key",
    overlap: "Overlap",
    overlap_help: "How long the old key keeps working beside the new one.",
    overlap_none: "None",
    overlap_1h: "1 hour",
    overlap_24h: "24 hours",
    overlap_7d: "7 days",
    rotate_key: "Rotate key",
    key_revoked: "The key is revoked: the API refuses it within 60 seconds.",
    never: "Never",
    back_to_keys: "Back to API Keys",
    no_keys: "No API keys yet. Add one to call the API.",
    orders_queue_title: "Orders",
    activate: "Activate",
    reason: "Reason",
    queue_empty: "No pending orders.",
    order_activated: "Order activated: the client's subscription is granted and the client is emailed.",
    order_cancelled: "Order cancelled.",
    clients_title: "Clients",
    search: "Search",
    sender_heading: "WhatsApp sender",
    no_sender: "No sender assigned.",
    assign_sender: "Assign sender",
    phone_number_id: "Phone number ID",
    display_phone: "Display phone",
    templates_heading: "Templates",
    add_template: "Add template",
    template_name: "Template name",
    template_language: "Language",
    top_up: "Top up wallet",
    credits_label: "Credits",
    audit_heading: "Operator actions",
    keys_heading: "API keys",
    create_plan: "Create plan",
    plan_name: "Plan name",
    price: "Price",
    description: "Description",
    deactivate: "Deactivate",
    active: "Active",
    inactive: "Inactive",
    pricing_title: "Pricing",
    country: "Country",
    set_price: "Set price",
    saved: "Saved.",
    pricing_help: "Credits per WhatsApp message, and per SMS part (what the WhatsApp → SMS fallback charges), to each country; countries not listed cost 1 credit.",
    th_channel: "Channel",
    channel_whatsapp: "WhatsApp, per message",
    channel_sms: "SMS, per part",
    err_empty: "This field is required.",
    err_too_long: "This is too long.",
    err_email: "Enter an email address like name@example.com.",
    err_password: "Use 10 to 128 characters.",
    err_number: "Enter a whole number from 1.",
    err_date: "Choose a date that has not passed, within ten years.",
    err_choice: "Choose one of the options.",
    forbidden: "This form has expired or came from another site. Go back, reload the page and try again.",
    not_found: "This page does not exist.",
    too_large: "That was more than a form can hold.",
    rate_limited: "Too many requests from your network. Wait a minute and try again.",
    server_error: "Something went wrong on our side. Nothing was changed; try again in a moment.",
    order_not_pending: "This order is no longer pending.",
    unknown_plan: "That plan is not offered any more. Choose another.",
    bad_language: "Use a language tag such as en or en_US.",
    bad_country: "Use a two-letter country code such as SA.",
    error_title: "Something is not right",
    back_home: "Back to the dashboard",
    nav_webhooks: "Webhooks",
    webhooks_title: "Webhooks",
    webhooks_intro: "LightOTP posts an event to your endpoints when one of your messages is sent, delivered, read, failed or deleted, and when a Verify API code is verified or fails. Every request is signed with the endpoint's secret the Standard Webhooks way (the webhook-id, webhook-timestamp and webhook-signature headers, HMAC-SHA256): check the signature over the raw body before you trust the request.",
    webhooks_delivery_note: "Answer with a 2xx status within 10 seconds. An event may arrive more than once, and out of order: ignore a webhook-id you have already processed. A failed delivery is tried again, up to 8 attempts over about 27 hours. An endpoint that fails every delivery for 5 days is disabled, and you are emailed.",
    webhooks_guide: "Webhooks guide",
    event_reference: "Event reference (OpenAPI)",
    add_endpoint: "Add endpoint",
    endpoint_url: "Endpoint URL",
    endpoint_url_help: "An https:// URL on your server, at most 2,000 characters. Loopback, private, link-local and cloud metadata addresses are refused.",
    events_label: "Events",
    events_help: "Tick the events this endpoint wants. None ticked: every event.",
    all_events: "All events",
    th_url: "URL",
    th_events: "Events",
    th_failing_since: "Failing since",
    th_previous_secret: "Previous secret signs until",
    endpoint_on: "Enabled",
    disabled_by_client: "Disabled by you",
    disabled_by_operator: "Disabled by LightOTP's operators",
    disabled_failing: "Disabled: every delivery failed for 5 days",
    disabled_state: "Disabled",
    enable: "Enable",
    disable: "Disable",
    rotate_secret: "Rotate secret",
    delete: "Delete",
    delivery_log: "Delivery log",
    no_endpoints: "No endpoints yet. Add one to be told when your messages and codes change.",
    endpoint_enabled: "The endpoint is enabled: new events are sent to it again. Redeliver what it missed from its delivery log.",
    endpoint_disabled: "The endpoint is disabled: it gets no new events.",
    endpoint_deleted: "The endpoint is deleted: nothing more is sent to it.",
    secret_title: "Your endpoint's signing secret",
    secret_label: "Signing secret",
    secret_warning: "Copy it now: it is shown only once and cannot be shown again. Keep it on your server, like an API key. If it is lost, rotate it.",
    previous_secret_until: "For 24 hours the previous secret signs every delivery too, until",
    deploy_before: "Deploy the new secret on your server before then.",
    back_to_webhooks: "Back to Webhooks",
    url_malformed: "Enter a full URL such as https://example.com/hooks.",
    url_not_https: "The URL must start with https://.",
    url_credentials: "The URL must not contain a user name or password.",
    url_too_long: "The URL must be at most 2,000 characters.",
    url_forbidden: "That address is not allowed: the host must not be a loopback, private, link-local or cloud metadata address.",
    url_unresolvable: "The URL's host name does not resolve. Check it.",
    unknown_event: "Choose events from the list.",
    too_many_endpoints: "A client may have at most 10 endpoints. Delete one first.",
    log_help: "The last 50 attempts, newest first. Attempts are kept for 30 days.",
    th_event: "Event",
    th_event_id: "Event ID",
    th_attempt: "Attempt",
    th_result: "Status or error",
    th_latency: "Latency (ms)",
    th_answer: "Answer (first 1 KB)",
    no_attempts: "No attempts yet.",
    redeliver: "Redeliver",
    redeliver_since: "Redeliver every event since",
    since_label: "Since",
    since_help: "An RFC 3339 time with its time zone, such as 2026-11-23T00:00:00Z (Z is UTC).",
    redeliver_help: "A redelivered event keeps its webhook-id and is signed again. An event already waiting for its next attempt is not scheduled twice.",
    bad_since: "Enter a time like 2026-11-23T00:00:00Z (RFC 3339, with its time zone).",
    scheduled: "Events scheduled for redelivery:",
    more_remain: "(500 at a time, oldest first: more remain; redeliver again from the time below to go on) from",
    enable_first: "This endpoint is disabled: enable it on the Webhooks page before redelivering.",
    webhooks_heading: "Webhook endpoints",
    disabled_by_the_client: "Disabled by the client",
    disabled_by_an_operator: "Disabled by an operator",
    nav_settings: "Settings",
    settings_title: "Settings",
    fallback_heading: "WhatsApp → SMS fallback",
    fallback_intro: "When WhatsApp cannot deliver a code to a number (not on WhatsApp, undeliverable), we send it once more by SMS, up to 10 minutes after the send. The WhatsApp attempt is refunded; the SMS costs its parts times the destination's SMS price. Never for throttling or our own errors.",
    sms_sender_id: "SMS sender ID",
    fallback_on: "Send the code by SMS when WhatsApp cannot deliver it",
    fallback_text_en: "Fallback SMS text (English)",
    fallback_text_ar: "Fallback SMS text (Arabic)",
    fallback_text_help: "Each text must contain {CODE}, where the code goes. Leave one empty to use ours (shown greyed). The SMS is written in the language of the WhatsApp template the message used.",
    save_settings: "Save settings",
    fallback_no_code: "A fallback SMS text must contain {CODE}, where the code goes.",
    fallback_too_long: "A fallback SMS text may be at most 450 characters.",
    settings_saved: "Settings saved.",
};

/// The Arabic texts.
pub static AR: Texts = Texts {
    nav_label: "الرئيسية",
    edit: "تعديل",
    api_reference: "مرجع الواجهة البرمجية",
    reference_note: "مولَّد من مستند OpenAPI الذي تُختبر الواجهة مقابله، والمرجع مكتوب بالإنجليزية.",
    th_field: "الحقل",
    th_type: "النوع",
    th_required: "مطلوب",
    th_status: "الحالة",
    th_codes: "الرموز والرسائل",
    too_many_credits: "سيتجاوز ذلك بالمحفظة تريليون رصيد، وهو أقصى ما يمكن أن يحمله الرصيد.",
    edit_plan: "تعديل الباقة",
    edit_plan_help: "تحتفظ الطلبات السابقة بالباقة كما كانت عند طلبها.",
    confirm_title: "أكّد بريدك الإلكتروني",
    confirm_button: "تأكيد البريد",
    unit_days: "يوم",
    unit_hours: "ساعة",
    unit_minutes: "دقيقة",
    lang: "ar",
    dir: "rtl",
    nav_overview: "نظرة عامة",
    nav_subscriptions: "الاشتراكات",
    nav_keys: "مفاتيح API",
    nav_logout: "تسجيل الخروج",
    nav_orders: "الطلبات",
    nav_clients: "العملاء",
    nav_plans: "الباقات",
    nav_pricing: "الأسعار",
    display_language: "لغة العرض",
    save: "حفظ",
    sign_in_title: "تسجيل الدخول إلى LightOTP",
    email: "البريد الإلكتروني",
    password: "كلمة المرور",
    log_in: "تسجيل الدخول",
    forgot_link: "نسيت كلمة المرور؟",
    sign_up_link: "إنشاء حساب",
    no_account: "جديد في LightOTP؟",
    sign_in_refused: "البريد الإلكتروني أو كلمة المرور غير صحيحة، أو تجاوزت عدد المحاولات. تحقّق منهما أو حاول مجددًا بعد 15 دقيقة.",
    sign_up_title: "أنشئ حسابك في LightOTP",
    company: "اسم الشركة",
    sign_up: "إنشاء حساب",
    password_help: "من 10 إلى 128 حرفًا.",
    have_account: "لديك حساب بالفعل؟",
    check_email_title: "تحقّق من بريدك الإلكتروني",
    check_email_body: "رسالة في طريقها إلى هذا العنوان: افتح الرابط فيها لتأكيد العنوان ثم سجّل الدخول. إن كان للعنوان حساب بالفعل فقد راسلنا صاحبه بدلًا من ذلك.",
    verified_title: "تم تأكيد البريد الإلكتروني",
    verified_body: "تم تأكيد بريدك الإلكتروني: يمكنك الآن طلب الباقات وإنشاء مفاتيح API.",
    link_invalid_title: "هذا الرابط لا يعمل",
    link_invalid_body: "الرابط غير معروف أو استُخدم من قبل أو انتهت صلاحيته. اطلب رابطًا جديدًا.",
    continue_link: "متابعة",
    unverified: "أكّد بريدك الإلكتروني لتتمكن من طلب الباقات وإنشاء مفاتيح API: افتح الرابط الذي أرسلناه إليك.",
    resend: "أرسل الرابط مجددًا",
    resent: "رابط جديد في طريقه إليك. يعمل مرة واحدة خلال 24 ساعة.",
    forgot_title: "إعادة تعيين كلمة المرور",
    send_link: "أرسل رابط إعادة التعيين",
    forgot_sent: "إن كان هناك حساب بهذا العنوان فرابط إعادة التعيين في طريقه إليه. يعمل مرة واحدة خلال ساعة.",
    reset_title: "اختر كلمة مرور جديدة",
    new_password: "كلمة المرور الجديدة",
    set_password: "تعيين كلمة المرور",
    reset_done: "تم تغيير كلمة المرور وإنهاء كل الجلسات. سجّل الدخول بكلمة المرور الجديدة.",
    client_id: "معرّف العميل",
    subscriptions_heading: "الاشتراكات",
    wallet: "محفظة Verify API",
    credits: "رصيد",
    pending_orders: "الطلبات المعلّقة",
    none_yet: "لا شيء بعد.",
    first_send: "أرسل أول رمز تحقق",
    first_send_help: "أنشئ مفتاح API وضعه مكان YOUR_API_KEY ثم نفّذ:",
    th_plan: "الباقة",
    th_credits: "الرصيد",
    th_granted: "الممنوح",
    th_balance: "المتبقي",
    th_state: "الحالة",
    th_created: "أُنشئ",
    th_price: "السعر",
    th_notes: "ملاحظات",
    th_name: "الاسم",
    th_key: "المفتاح",
    th_expires: "ينتهي",
    th_last_used: "آخر استخدام",
    th_client: "العميل",
    th_placed: "تاريخ الطلب",
    th_reason: "السبب",
    th_when: "متى",
    th_operator: "المشغّل",
    th_action: "الإجراء",
    th_detail: "التفاصيل",
    th_country: "الدولة",
    th_email: "البريد الإلكتروني",
    purchase_plan: "شراء باقة",
    orders_heading: "الطلبات",
    cancel_order: "إلغاء الطلب",
    plans_title: "اختر باقة",
    subscribe: "اشترك",
    order_title: "أكّد طلبك",
    notes: "ملاحظات",
    notes_help: "اختياري، حتى 500 حرف: كيف نتواصل معك أو مرجع لفاتورتك.",
    confirm_order: "تأكيد الطلب",
    payment_note: "الدفع الآلي غير متاح حاليًا: سيتواصل معك فريقنا عبر واتساب أو البريد الإلكتروني لتفعيل باقتك.",
    order_placed: "استلمنا طلبك. سيتواصل معك فريقنا عبر واتساب أو البريد الإلكتروني لتفعيله.",
    no_plans: "لا توجد باقات معروضة حاليًا. تواصل معنا.",
    state_pending: "معلّق",
    state_activated: "مفعّل",
    state_cancelled: "ملغى",
    state_active: "فعّال",
    state_expired: "منتهٍ",
    state_revoked: "ملغى",
    keys_title: "مفاتيح API",
    add_key: "إضافة مفتاح API",
    key_name: "اسم المفتاح",
    expires: "تاريخ الانتهاء",
    expires_help: "اختياري. يعمل المفتاح حتى نهاية هذا اليوم (UTC).",
    create_key: "إنشاء المفتاح",
    new_key_label: "مفتاح API الجديد",
    new_key_warning: "انسخه الآن: لن يُعرض مرة أخرى. احفظه على خوادمك فقط، لا في التطبيقات أو شيفرة المتصفح.",
    copy: "نسخ",
    revoke: "إلغاء",
    rotate: "تدوير",
    rotate_title: "تدوير المفتاح",
    overlap: "فترة التداخل",
    overlap_help: "المدة التي يبقى فيها المفتاح القديم صالحًا إلى جانب الجديد.",
    overlap_none: "بلا تداخل",
    overlap_1h: "ساعة واحدة",
    overlap_24h: "24 ساعة",
    overlap_7d: "7 أيام",
    rotate_key: "تدوير المفتاح",
    key_revoked: "تم إلغاء المفتاح: ترفضه الواجهة خلال 60 ثانية.",
    never: "أبدًا",
    back_to_keys: "العودة إلى مفاتيح API",
    no_keys: "لا توجد مفاتيح بعد. أضف مفتاحًا لاستدعاء الواجهة.",
    orders_queue_title: "الطلبات",
    activate: "تفعيل",
    reason: "السبب",
    queue_empty: "لا توجد طلبات معلّقة.",
    order_activated: "تم تفعيل الطلب ومنح الاشتراك وإبلاغ العميل.",
    order_cancelled: "تم إلغاء الطلب.",
    clients_title: "العملاء",
    search: "بحث",
    sender_heading: "رقم واتساب المرسل",
    no_sender: "لم يُعيَّن رقم مرسل.",
    assign_sender: "تعيين المرسل",
    phone_number_id: "معرّف رقم الهاتف",
    display_phone: "الرقم الظاهر",
    templates_heading: "القوالب",
    add_template: "إضافة قالب",
    template_name: "اسم القالب",
    template_language: "اللغة",
    top_up: "شحن المحفظة",
    credits_label: "الرصيد",
    audit_heading: "إجراءات المشغّلين",
    keys_heading: "مفاتيح API",
    create_plan: "إنشاء باقة",
    plan_name: "اسم الباقة",
    price: "السعر",
    description: "الوصف",
    deactivate: "إيقاف",
    active: "فعّالة",
    inactive: "موقوفة",
    pricing_title: "الأسعار",
    country: "الدولة",
    set_price: "تعيين السعر",
    saved: "تم الحفظ.",
    pricing_help: "الرصيد لكل رسالة واتساب، ولكل جزء من رسالة SMS (ما يحتسبه التحويل من واتساب إلى SMS)، إلى كل دولة؛ الدول غير المدرجة تكلّف رصيدًا واحدًا.",
    th_channel: "القناة",
    channel_whatsapp: "واتساب، لكل رسالة",
    channel_sms: "SMS، لكل جزء",
    err_empty: "هذا الحقل مطلوب.",
    err_too_long: "هذا أطول من المسموح.",
    err_email: "أدخل بريدًا إلكترونيًا مثل name@example.com.",
    err_password: "استخدم من 10 إلى 128 حرفًا.",
    err_number: "أدخل عددًا صحيحًا من 1 فأكثر.",
    err_date: "اختر تاريخًا لم يمضِ، خلال عشر سنوات.",
    err_choice: "اختر أحد الخيارات.",
    forbidden: "انتهت صلاحية هذا النموذج أو جاء من موقع آخر. ارجع وأعد تحميل الصفحة ثم حاول مجددًا.",
    not_found: "هذه الصفحة غير موجودة.",
    too_large: "هذا أكثر مما يتسع له النموذج.",
    rate_limited: "طلبات كثيرة من شبكتك. انتظر دقيقة ثم حاول مجددًا.",
    server_error: "حدث خطأ من جهتنا ولم يتغيّر شيء. حاول مجددًا بعد قليل.",
    order_not_pending: "هذا الطلب لم يعد معلّقًا.",
    unknown_plan: "هذه الباقة لم تعد معروضة. اختر غيرها.",
    bad_language: "استخدم رمز لغة مثل en أو en_US.",
    bad_country: "استخدم رمز دولة من حرفين مثل SA.",
    error_title: "هناك مشكلة",
    back_home: "العودة إلى لوحة التحكم",
    nav_webhooks: "خطافات الويب",
    webhooks_title: "خطافات الويب (Webhooks)",
    webhooks_intro: "يرسل LightOTP حدثًا إلى نقاط الاستقبال لديك عندما تُرسَل إحدى رسائلك أو تُسلَّم أو تُقرأ أو تفشل أو تُحذف، وعندما يُتحقَّق من رمز Verify API أو يفشل. كل طلب موقَّع بسرّ نقطة الاستقبال وفق معيار Standard Webhooks (الترويسات webhook-id و webhook-timestamp و webhook-signature، وخوارزمية HMAC-SHA256): تحقَّق من التوقيع على نص الطلب الخام قبل أن تثق بالطلب.",
    webhooks_delivery_note: "أجب بحالة 2xx خلال 10 ثوانٍ. قد يصل الحدث أكثر من مرة وبغير ترتيب: تجاهل أي webhook-id عالجته من قبل. يُعاد إرسال ما فشل حتى 8 محاولات على مدى 27 ساعة تقريبًا. وتُعطَّل نقطة الاستقبال التي تفشل كل الإرسالات إليها مدة 5 أيام، ونُبلغك بالبريد الإلكتروني.",
    webhooks_guide: "دليل خطافات الويب (بالإنجليزية)",
    event_reference: "مرجع الأحداث (OpenAPI)",
    add_endpoint: "إضافة نقطة استقبال",
    endpoint_url: "عنوان نقطة الاستقبال",
    endpoint_url_help: "عنوان https:// على خادمك، بحد أقصى 2000 حرف. تُرفض عناوين loopback والعناوين الخاصة والمحلية للرابط وعناوين بيانات السحابة الوصفية.",
    events_label: "الأحداث",
    events_help: "اختر الأحداث التي تريدها نقطة الاستقبال. إن لم تختر شيئًا فستصلها كل الأحداث.",
    all_events: "كل الأحداث",
    th_url: "العنوان",
    th_events: "الأحداث",
    th_failing_since: "تفشل منذ",
    th_previous_secret: "السرّ السابق يوقّع حتى",
    endpoint_on: "مفعّلة",
    disabled_by_client: "عطّلتَها أنت",
    disabled_by_operator: "عطّلها مشغّلو LightOTP",
    disabled_failing: "معطّلة: فشلت كل الإرسالات إليها مدة 5 أيام",
    disabled_state: "معطّلة",
    enable: "تفعيل",
    disable: "تعطيل",
    rotate_secret: "تدوير السرّ",
    delete: "حذف",
    delivery_log: "سجل الإرسال",
    no_endpoints: "لا توجد نقاط استقبال بعد. أضف واحدة ليصلك إشعار عندما تتغيّر حالة رسائلك ورموزك.",
    endpoint_enabled: "تم تفعيل نقطة الاستقبال: تُرسَل إليها الأحداث الجديدة مجددًا. أعد إرسال ما فاتها من سجل الإرسال.",
    endpoint_disabled: "تم تعطيل نقطة الاستقبال: لن تصلها أحداث جديدة.",
    endpoint_deleted: "تم حذف نقطة الاستقبال: لن يُرسَل إليها شيء بعد الآن.",
    secret_title: "سرّ التوقيع لنقطة الاستقبال",
    secret_label: "سرّ التوقيع",
    secret_warning: "انسخه الآن: يُعرض مرة واحدة فقط ولا يمكن عرضه مجددًا. احفظه على خادمك كما تحفظ مفتاح API، وإن فقدته فقم بتدويره.",
    previous_secret_until: "خلال 24 ساعة يوقّع السرّ السابق كل إرسال أيضًا، حتى",
    deploy_before: "انشر السرّ الجديد على خادمك قبل ذلك.",
    back_to_webhooks: "العودة إلى خطافات الويب",
    url_malformed: "أدخل عنوانًا كاملًا مثل https://example.com/hooks.",
    url_not_https: "يجب أن يبدأ العنوان بـ https://.",
    url_credentials: "يجب ألا يحتوي العنوان على اسم مستخدم أو كلمة مرور.",
    url_too_long: "يجب ألا يتجاوز العنوان 2000 حرف.",
    url_forbidden: "هذا العنوان غير مسموح: يجب ألا يكون المضيف عنوان loopback أو عنوانًا خاصًا أو محليًا للرابط أو عنوان بيانات السحابة الوصفية.",
    url_unresolvable: "اسم المضيف في العنوان لا يُحَلّ إلى أي عنوان. تحقّق منه.",
    unknown_event: "اختر الأحداث من القائمة.",
    too_many_endpoints: "يمكن أن يكون للعميل 10 نقاط استقبال على الأكثر. احذف واحدة أولًا.",
    log_help: "آخر 50 محاولة، الأحدث أولًا. تُحفظ المحاولات 30 يومًا.",
    th_event: "الحدث",
    th_event_id: "معرّف الحدث",
    th_attempt: "المحاولة",
    th_result: "الحالة أو الخطأ",
    th_latency: "المدة (ملّي ثانية)",
    th_answer: "الرد (أول 1 كيلوبايت)",
    no_attempts: "لا توجد محاولات بعد.",
    redeliver: "إعادة الإرسال",
    redeliver_since: "إعادة إرسال كل الأحداث منذ",
    since_label: "منذ",
    since_help: "وقت بصيغة RFC 3339 مع المنطقة الزمنية، مثل 2026-11-23T00:00:00Z (حيث Z تعني UTC).",
    redeliver_help: "يحتفظ الحدث المعاد إرساله بمعرّف webhook-id نفسه ويُوقَّع من جديد. والحدث الذي ينتظر محاولته التالية لا يُجدوَل مرتين.",
    bad_since: "أدخل وقتًا مثل 2026-11-23T00:00:00Z (بصيغة RFC 3339 مع المنطقة الزمنية).",
    scheduled: "الأحداث المجدولة لإعادة الإرسال:",
    more_remain: "(500 في كل مرة، الأقدم أولًا: بقي المزيد؛ أعد الإرسال مرة أخرى من الوقت أدناه للمتابعة) ابتداءً من",
    enable_first: "نقطة الاستقبال هذه معطّلة: فعّلها من صفحة خطافات الويب قبل إعادة الإرسال.",
    webhooks_heading: "نقاط استقبال خطافات الويب",
    disabled_by_the_client: "عطّلها العميل",
    disabled_by_an_operator: "عطّلها أحد المشغّلين",
    nav_settings: "الإعدادات",
    settings_title: "الإعدادات",
    fallback_heading: "الإرسال البديل عبر SMS عند تعذّر واتساب",
    fallback_intro: "عندما يتعذّر على واتساب توصيل الرمز إلى رقم (ليس على واتساب، أو تعذّر التسليم)، نرسله مرة أخرى برسالة SMS واحدة، خلال 10 دقائق من الإرسال. تُستردّ تكلفة محاولة واتساب، وتكلّف رسالة SMS عدد أجزائها مضروبًا في سعر SMS لبلد الوجهة. لا يحدث ذلك أبدًا عند تقييد المعدّل أو عند خطأ من جهتنا.",
    sms_sender_id: "معرّف مُرسِل SMS",
    fallback_on: "أرسل الرمز عبر SMS عندما يتعذّر على واتساب توصيله",
    fallback_text_en: "نص رسالة SMS البديلة (بالإنجليزية)",
    fallback_text_ar: "نص رسالة SMS البديلة (بالعربية)",
    fallback_text_help: "يجب أن يحتوي كل نص على {CODE} في موضع الرمز. اترك النص فارغًا لاستخدام نصّنا (الظاهر باللون الباهت). تُكتب رسالة SMS بلغة قالب واتساب الذي استُخدم للرسالة.",
    save_settings: "حفظ الإعدادات",
    fallback_no_code: "يجب أن يحتوي نص رسالة SMS البديلة على {CODE} في موضع الرمز.",
    fallback_too_long: "يجب ألا يتجاوز نص رسالة SMS البديلة 450 حرفًا.",
    settings_saved: "حُفظت الإعدادات.",
};
