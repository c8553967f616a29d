//! Plans and orders (docs/dashboard.md, "Plans, orders, subscriptions"): a client orders an active plan; an
//! operator activates the order (granting its subscription in the same transaction) or cancels it; the client may
//! cancel its own pending order. Each change happens once, however many clicks race for it.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Console, ConsoleError, stamp};
use crate::domain::console::{OrderState, PlanDraft};
use crate::domain::dashboard_email;
use crate::domain::language::HumanLanguage;
use crate::store::{AuditEntry, OrderRecord, OrderTransition, PlanRecord};

/// The low-balance threshold an activated order's subscription gets, in percent of its credits (docs/api.md,
/// Billing).
pub const DEFAULT_LOW_BALANCE_PERCENT: u8 = 10;

/// Why an order could not be placed or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRefusal {
    /// No such plan, or it is no longer offered.
    UnknownPlan,
    /// No such order for this client (another client's order is unknown too).
    UnknownOrder,
    /// The order is not pending any more (a double click, or another operator got there first).
    NotPending,
}

/// A pending order with its client's name, for the operators' queue.
#[derive(Debug, Clone)]
pub struct QueuedOrder {
    /// The order.
    pub order: OrderRecord,
    /// Its client's name.
    pub client_name: String,
}

/// The plans a client may order: active ones, oldest first.
pub async fn offered_plans(console: &Console) -> Result<Vec<PlanRecord>, ConsoleError> {
    Ok(console.store.plans().await?.into_iter().filter(|plan| plan.active).collect())
}

/// Every plan, for operators.
pub async fn all_plans(console: &Console) -> Result<Vec<PlanRecord>, ConsoleError> {
    Ok(console.store.plans().await?)
}

/// One offered plan.
pub async fn offered_plan(console: &Console, plan_id: &str) -> Result<Option<PlanRecord>, ConsoleError> {
    if Uuid::parse_str(plan_id).is_err() {
        return Ok(None);
    }
    Ok(console.store.plan(plan_id).await?.filter(|plan| plan.active))
}

/// Creates a plan, active at once; answers its id.
pub async fn create_plan(console: &Console, plan: &PlanDraft, now: OffsetDateTime) -> Result<String, ConsoleError> {
    let plan_id = Uuid::new_v4().to_string();
    console.store.create_plan(&plan_id, plan, now).await?;
    Ok(plan_id)
}

/// Changes a plan (orders already placed keep what they were placed for); `false` when there is no such plan.
pub async fn update_plan(console: &Console, plan_id: &str, plan: &PlanDraft) -> Result<bool, ConsoleError> {
    if Uuid::parse_str(plan_id).is_err() {
        return Ok(false);
    }
    Ok(console.store.update_plan(plan_id, plan).await?)
}

/// One plan, offered or not (for operators).
pub async fn any_plan(console: &Console, plan_id: &str) -> Result<Option<PlanRecord>, ConsoleError> {
    if Uuid::parse_str(plan_id).is_err() {
        return Ok(None);
    }
    Ok(console.store.plan(plan_id).await?)
}

/// Stops offering a plan; `false` when there is no such plan.
pub async fn deactivate_plan(console: &Console, plan_id: &str) -> Result<bool, ConsoleError> {
    if Uuid::parse_str(plan_id).is_err() {
        return Ok(false);
    }
    Ok(console.store.deactivate_plan(plan_id).await?)
}

/// Places an order for an offered plan, snapshotting it, and tells the client and the operators.
pub async fn place_order(
    console: &Console,
    client_id: &str,
    plan_id: &str,
    notes: Option<String>,
    now: OffsetDateTime,
) -> Result<Result<OrderRecord, OrderRefusal>, ConsoleError> {
    let Some(plan) = offered_plan(console, plan_id).await? else {
        return Ok(Err(OrderRefusal::UnknownPlan));
    };
    let order = OrderRecord {
        order_id: Uuid::new_v4().to_string(),
        client_id: client_id.to_owned(),
        plan_id: plan.plan_id.clone(),
        plan_name: plan.plan.name.clone(),
        credits: plan.plan.credits,
        price_label: plan.plan.price_label.clone(),
        notes,
        state: OrderState::Pending,
        created_at: stamp(now),
        updated_at: stamp(now),
        reason: None,
        subscription_id: None,
    };
    console.store.place_order(&order).await?;
    if let Some(profile) = console.store.client_profile(client_id).await? {
        let language = HumanLanguage::from_code(&profile.language);
        let link = console.link("/subscriptions");
        let email = dashboard_email::order_received(language, &order.plan_name, &order.price_label, &link);
        console.notify(&profile.email, &email).await;
        if let Some(operators) = &console.operators_email {
            let queue = console.link("/ops/orders");
            let email = dashboard_email::new_order_for_operators(
                &profile.name,
                client_id,
                &order.plan_name,
                order.notes.as_deref(),
                &queue,
            );
            console.notify(operators, &email).await;
        }
    }
    Ok(Ok(order))
}

/// The client cancels its own pending order.
pub async fn cancel_own_order(
    console: &Console,
    client_id: &str,
    order_id: &str,
    now: OffsetDateTime,
) -> Result<Result<(), OrderRefusal>, ConsoleError> {
    let Some(order) = client_order(console, client_id, order_id).await? else {
        return Ok(Err(OrderRefusal::UnknownOrder));
    };
    Ok(match console.store.cancel_order(&order, None, None, now).await? {
        OrderTransition::Applied => Ok(()),
        OrderTransition::NotPending => Err(OrderRefusal::NotPending),
    })
}

/// The pending orders, oldest first, with their clients' names.
pub async fn orders_queue(console: &Console) -> Result<Vec<QueuedOrder>, ConsoleError> {
    let mut queue = Vec::new();
    for order in console.store.pending_orders().await? {
        let client_name = console
            .store
            .client_profile(&order.client_id)
            .await?
            .map(|p| p.name)
            .unwrap_or_else(|| order.client_id.clone());
        queue.push(QueuedOrder { order, client_name });
    }
    Ok(queue)
}

/// An operator activates a pending order: the order and its subscription in one transaction (exactly once), then
/// the client's email.
pub async fn activate_order(
    console: &Console,
    operator: &str,
    client_id: &str,
    order_id: &str,
    now: OffsetDateTime,
) -> Result<Result<OrderRecord, OrderRefusal>, ConsoleError> {
    let Some(order) = client_order(console, client_id, order_id).await? else {
        return Ok(Err(OrderRefusal::UnknownOrder));
    };
    let subscription_id = Uuid::new_v4().to_string();
    let audit = AuditEntry {
        at: stamp(now),
        operator: operator.to_owned(),
        action: "order activated".to_owned(),
        detail: format!(
            "{} ({} credits), order {}, subscription {subscription_id}",
            order.plan_name, order.credits, order.order_id
        ),
    };
    let transition =
        console.store.activate_order(&order, &subscription_id, DEFAULT_LOW_BALANCE_PERCENT, &audit, now).await?;
    if transition == OrderTransition::NotPending {
        return Ok(Err(OrderRefusal::NotPending));
    }
    if let Some(profile) = console.store.client_profile(client_id).await? {
        let language = HumanLanguage::from_code(&profile.language);
        let link = console.link("/subscriptions");
        let email = dashboard_email::order_activated(language, &order.plan_name, order.credits.get(), &link);
        console.notify(&profile.email, &email).await;
    }
    Ok(Ok(OrderRecord { state: OrderState::Activated, subscription_id: Some(subscription_id), ..order }))
}

/// An operator cancels a pending order, with a reason the client sees.
pub async fn cancel_order(
    console: &Console,
    operator: &str,
    client_id: &str,
    order_id: &str,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<Result<(), OrderRefusal>, ConsoleError> {
    let Some(order) = client_order(console, client_id, order_id).await? else {
        return Ok(Err(OrderRefusal::UnknownOrder));
    };
    let audit = AuditEntry {
        at: stamp(now),
        operator: operator.to_owned(),
        action: "order cancelled".to_owned(),
        detail: format!(
            "{}, order {}{}",
            order.plan_name,
            order.order_id,
            reason.map(|r| format!(": {r}")).unwrap_or_default()
        ),
    };
    if console.store.cancel_order(&order, reason, Some(&audit), now).await? == OrderTransition::NotPending {
        return Ok(Err(OrderRefusal::NotPending));
    }
    if let Some(profile) = console.store.client_profile(client_id).await? {
        let language = HumanLanguage::from_code(&profile.language);
        let email =
            dashboard_email::order_cancelled(language, &order.plan_name, reason, &console.link("/subscriptions"));
        console.notify(&profile.email, &email).await;
    }
    Ok(Ok(()))
}

async fn client_order(console: &Console, client_id: &str, order_id: &str) -> Result<Option<OrderRecord>, ConsoleError> {
    if Uuid::parse_str(order_id).is_err() || Uuid::parse_str(client_id).is_err() {
        return Ok(None);
    }
    Ok(console.store.order(client_id, order_id).await?)
}
