//! Storage guarantees below the API, against the emulator: each test makes a table of its own from `template.yaml`
//! and fires the racing conditional writes that carry one guarantee in parallel. If the condition on the write were
//! missing, more than one racer would win (each was seen to fail that way).

use std::sync::Arc;

use lightotp::domain::cooldown::CooldownWindow;
use lightotp::domain::idempotency::IdempotencyKey;
use lightotp::domain::language::{HumanLanguage, LanguageTag, Template};
use lightotp::domain::message::MessageId;
use lightotp::domain::phone::PhoneE164;
use lightotp::domain::pricing::Credits;
use lightotp::domain::rate_limit::{Counted, RateWindow};
use lightotp::domain::subscription::{DebitGuard, Subscription, choose_payer};
use lightotp::store::{DynamoStore, Failure, IdempotencyClaim, NewMessage, Reservation};
use lightotp_admin::ops::{self, Admin};
use lightotp_admin::provision;
use time::OffsetDateTime;

use crate::helpers::{Ctx, race, rate_window};

/// A client with one subscription of `credits` (no low-balance threshold unless asked, so every debit is guarded only
/// by its cost), on a table of its own.
struct Fixture {
    store: Arc<DynamoStore>,
    admin: Admin,
    client_id: String,
    /// Held for the test's length, as every test holds the clock: a store test shares the emulator with the others,
    /// and one that moves the clock runs alone.
    _ctx: Ctx,
}

impl Fixture {
    async fn new(credits: u64) -> Self {
        Self::with_low_balance_percent(credits, 0).await
    }

    /// [`Fixture::new`] with a low-balance email due below `percent` of the grant.
    async fn with_low_balance_percent(credits: u64, percent: u8) -> Self {
        let ctx = Ctx::new().await;
        let aws = ctx.sdk_config().await;
        let table = format!("lightotp-store-test-{}", uuid::Uuid::new_v4());
        let mut declared = provision::resources(provision::TEMPLATE).expect("template.yaml").tables;
        declared.truncate(1);
        declared[0].name = table.clone();
        provision::create_tables(&aws_sdk_dynamodb::Client::new(&aws), &declared).await.expect("a fresh table");
        let admin = Admin::new(&aws, &table, ops::DEFAULT_PEPPER_SECRET, ops::DEFAULT_API_KEY_PREFIX);
        let client_id =
            admin.create_client("Store test", "store@test.example", "en", None).await.expect("client").client_id;
        admin
            .grant_subscription(&client_id, Credits::new(credits), percent, OffsetDateTime::now_utc())
            .await
            .expect("subscription");
        let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &table));
        Self { store, admin, client_id, _ctx: ctx }
    }

    async fn subscription(&self) -> Subscription {
        let mut all = self.store.subscriptions_newest_first(&self.client_id).await.expect("subscriptions");
        assert_eq!(all.len(), 1, "one subscription");
        all.remove(0)
    }

    async fn balance(&self) -> u64 {
        self.admin.subscriptions(&self.client_id).await.expect("subscriptions")[0].balance.get()
    }
}

/// One reservation of a message to `phone` costing 1, decided from `payer` as read before the race, from a source
/// of its own.
async fn reserve(
    store: &DynamoStore,
    client_id: &str,
    payer: &Subscription,
    phone: String,
    claim: Option<IdempotencyClaim>,
) -> (MessageId, Reservation) {
    reserve_from(store, client_id, payer, phone, claim, Counted { window: &rate_window(1_000), counter: 0 }).await
}

/// [`reserve`] counted in `rate`.
async fn reserve_from(
    store: &DynamoStore,
    client_id: &str,
    payer: &Subscription,
    phone: String,
    claim: Option<IdempotencyClaim>,
    rate: Counted<'_>,
) -> (MessageId, Reservation) {
    let to = PhoneE164::parse(Some(&phone)).expect("a valid number");
    let template = Template { name: "otp".to_owned(), language: LanguageTag::parse("en").expect("en") };
    let id = MessageId::new_random();
    let now = OffsetDateTime::now_utc();
    let message = NewMessage {
        client_id,
        id,
        to: &to,
        template: &template,
        cost: Credits::new(1),
        created_at: now,
        language: HumanLanguage::En,
        fallback_code: None,
    };
    let read = CooldownWindow::default();
    let now_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).expect("millis");
    let next = read.after_send(&id.to_string(), now_millis);
    let guard = DebitGuard::for_debit(payer, Credits::new(1));
    let outcome = store.reserve(&message, payer, guard, &read, &next, claim.as_ref(), rate).await.expect("reserve");
    (id, outcome)
}

/// Eight numbers of their own, so that the racers meet only where the test means them to.
fn phones() -> Vec<String> {
    let base = crate::helpers::fresh_sa_phone();
    let stem = &base[..base.len() - 1];
    (0..8).map(|i| format!("{stem}{i}")).collect()
}

#[tokio::test]
async fn only_one_of_eight_racing_reservations_binds_an_idempotency_key() {
    let fixture = Fixture::new(100).await;
    let payer = Arc::new(fixture.subscription().await);
    let claim = IdempotencyClaim { key: IdempotencyKey::new_random(), fingerprint: "the same request".to_owned() };
    let phones = phones();
    let outcomes = race(8, |i| {
        let (store, client_id, payer, claim) =
            (Arc::clone(&fixture.store), fixture.client_id.clone(), Arc::clone(&payer), claim.clone());
        let phone = phones[i].clone();
        async move { reserve(&store, &client_id, &payer, phone, Some(claim)).await }
    })
    .await;

    let winners: Vec<_> = outcomes.iter().filter(|(_, outcome)| *outcome == Reservation::Reserved).collect();
    assert_eq!(winners.len(), 1, "exactly one request binds the key: {outcomes:?}");
    let winner = winners[0].0.to_string();
    for (_, outcome) in outcomes.iter().filter(|(_, outcome)| *outcome != Reservation::Reserved) {
        match outcome {
            Reservation::KeyAlreadyBound(bound) => assert_eq!(bound.message_id, winner, "bound to the winner"),
            Reservation::ReadAgain => {}
            Reservation::Reserved => unreachable!("filtered out"),
            Reservation::RateLimited => panic!("a window of 1,000 filled up: {outcomes:?}"),
            Reservation::LowBalanceAlreadyClaimed => panic!("no threshold, no claim: {outcomes:?}"),
        }
    }
    assert_eq!(fixture.balance().await, 99, "one message charged");
}

#[tokio::test]
async fn eight_racing_debits_never_take_a_balance_of_five_below_zero() {
    // Five credits spread over the purses (2, 1, 1, 1): each racer reads the purses and reserves as SendMessage
    // does, reading again when it lost a purse to another racer, until it is reserved or nobody can pay.
    let fixture = Fixture::new(5).await;
    let phones = phones();
    let outcomes = race(8, |i| {
        let (store, client_id) = (Arc::clone(&fixture.store), fixture.client_id.clone());
        let phone = phones[i].clone();
        async move {
            for _ in 0..32 {
                let subscriptions = store.paying_subscriptions(&client_id).await.expect("purses");
                let Some(payer) = choose_payer(&subscriptions, Credits::new(1)) else { return "refused" };
                match reserve(&store, &client_id, payer, phone.clone(), None).await.1 {
                    Reservation::Reserved => return "reserved",
                    Reservation::ReadAgain => continue,
                    other => panic!("{other:?}"),
                }
            }
            "kept losing"
        }
    })
    .await;

    let count = |what: &str| outcomes.iter().filter(|outcome| **outcome == what).count();
    assert_eq!((count("reserved"), count("refused")), (5, 3), "as many debits as credits: {outcomes:?}");
    assert_eq!(fixture.balance().await, 0, "never below zero");
    let purses = fixture.store.purses(&fixture.client_id).await.expect("purses");
    let shares: Vec<_> = purses.shares.values().flatten().map(|share| share.get()).collect();
    assert_eq!(shares, [0, 0, 0, 0], "every purse emptied, none below zero");
}

#[tokio::test]
async fn debits_decided_on_a_stale_read_leave_the_low_balance_email_to_the_debit_that_crosses_the_threshold() {
    // 20 credits at 50 %: the email is due when a debit leaves fewer than 10. Each debit is first decided on the
    // purses as read before any of them, as a racer that read first and wrote last would be, then, when it lost,
    // read again as SendMessage does. Debits that only keep each share at or above zero all pass on that stale read
    // and take the balance to 2 with nobody claiming the email.
    let fixture = Fixture::with_low_balance_percent(20, 50).await;
    let stale = fixture.subscription().await;
    assert_eq!((stale.balance.get(), stale.low_balance_threshold.get()), (20, 10));
    let mut claims = Vec::new();
    for debit in 1..=18 {
        let phone = crate::helpers::fresh_sa_phone();
        let mut payer = stale.clone();
        let mut reserved = false;
        for _ in 0..8 {
            let guard = DebitGuard::for_debit(&payer, Credits::new(1));
            match reserve(&fixture.store, &fixture.client_id, &payer, phone.clone(), None).await.1 {
                Reservation::Reserved => {
                    if guard.claims() {
                        claims.push((debit, fixture.balance().await));
                    }
                    reserved = true;
                    break;
                }
                Reservation::ReadAgain => payer = fixture.subscription().await,
                other => panic!("debit {debit}: {other:?}"),
            }
        }
        assert!(reserved, "debit {debit} kept losing");
    }
    assert_eq!(claims, [(11, 9)], "the eleventh debit takes the balance from 10 to 9, and claims the email");
    assert_eq!(fixture.balance().await, 2);
}

#[tokio::test]
async fn eight_racing_reservations_from_one_source_pass_a_rate_limit_of_three_exactly() {
    let fixture = Fixture::new(100).await;
    let payer = Arc::new(fixture.subscription().await);
    let rate = Arc::new(rate_window(3));
    let phones = phones();
    let outcomes =
        race(8, |i| {
            let (store, client_id, payer, rate) =
                (Arc::clone(&fixture.store), fixture.client_id.clone(), Arc::clone(&payer), Arc::clone(&rate));
            let phone = phones[i].clone();
            async move {
                reserve_from(&store, &client_id, &payer, phone, None, Counted { window: &rate, counter: 0 }).await.1
            }
        })
        .await;

    let reserved = outcomes.iter().filter(|outcome| **outcome == Reservation::Reserved).count();
    assert_eq!(reserved, 3, "the window's three requests, no more: {outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Reservation::Reserved | Reservation::RateLimited)), "{outcomes:?}");
    assert_eq!(fixture.balance().await, 97, "the refused ones charged nothing");
    assert!(!fixture.store.count_request(&rate).await.expect("count"), "the window holds its three");
}

/// A window of `limit` spread over `counters` counters, from a source of its own (a raised limit does this from 15,000
/// a minute up; the arithmetic is the same at any size).
fn spread_window(limit: u32, counters: usize) -> RateWindow {
    RateWindow { limit, counters, ..rate_window(limit) }
}

#[tokio::test]
async fn ten_racing_counts_admit_exactly_a_limit_spread_over_three_counters() {
    let fixture = Fixture::new(1).await;
    let rate = Arc::new(spread_window(6, 3));
    let admitted = race(10, |_| {
        let (store, rate) = (Arc::clone(&fixture.store), Arc::clone(&rate));
        async move { store.count_request(&rate).await.expect("count") }
    })
    .await;
    assert_eq!(admitted.iter().filter(|admitted| **admitted).count(), 6, "{admitted:?}");
    assert!(!fixture.store.count_request(&rate).await.expect("count"), "every counter is full");
}

#[tokio::test]
async fn ten_racing_reservations_pass_a_limit_spread_over_three_counters_exactly() {
    // As SendMessage does: read the counters with the context, count in one with room, read again when it filled.
    let fixture = Fixture::new(100).await;
    let payer = Arc::new(fixture.subscription().await);
    let rate = Arc::new(spread_window(6, 3));
    let base = crate::helpers::fresh_sa_phone();
    let outcomes = race(10, |i| {
        let (store, client_id, payer, rate) =
            (Arc::clone(&fixture.store), fixture.client_id.clone(), Arc::clone(&payer), Arc::clone(&rate));
        let phone = format!("{}{i}", &base[..base.len() - 1]);
        async move {
            let to = PhoneE164::parse(Some(&phone)).expect("phone");
            for _ in 0..32 {
                let context = store.send_context(&client_id, &to, None, &rate).await.expect("context");
                let Some(counter) = rate.counter_with_room(&context.rate_counts, i) else { return "limited" };
                let counted = Counted { window: &rate, counter };
                match reserve_from(&store, &client_id, &payer, phone.clone(), None, counted).await.1 {
                    Reservation::Reserved => return "reserved",
                    Reservation::ReadAgain => continue,
                    Reservation::RateLimited => return "limited",
                    other => panic!("{other:?}"),
                }
            }
            "kept losing"
        }
    })
    .await;
    let count = |what: &str| outcomes.iter().filter(|outcome| **outcome == what).count();
    assert_eq!((count("reserved"), count("limited")), (6, 4), "{outcomes:?}");
    assert_eq!(fixture.balance().await, 94, "the limited ones charged nothing");
}

#[tokio::test]
async fn a_message_failed_by_eight_racers_is_refunded_once() {
    let fixture = Fixture::new(10).await;
    let payer = fixture.subscription().await;
    let (id, outcome) = reserve(&fixture.store, &fixture.client_id, &payer, phones()[0].clone(), None).await;
    assert_eq!(outcome, Reservation::Reserved);
    assert_eq!(fixture.balance().await, 9);
    let record = Arc::new(fixture.store.message(&fixture.client_id, id).await.expect("read").expect("the message"));

    let refunds = race(8, |_| {
        let (store, record) = (Arc::clone(&fixture.store), Arc::clone(&record));
        async move {
            let failure = Failure { code: Some(131026), title: Some("Undeliverable".to_owned()), reason: None };
            store
                .fail_and_refund(record.charge(), &failure, None, OffsetDateTime::now_utc())
                .await
                .expect("fail and refund")
        }
    })
    .await;

    assert_eq!(refunds.iter().filter(|refunded| **refunded).count(), 1, "exactly one refund: {refunds:?}");
    assert_eq!(fixture.balance().await, 10, "the credit came back once");
}

#[tokio::test]
async fn a_wallet_never_holds_more_than_the_bound_and_an_overflowing_top_up_is_refused_whole() {
    let fixture = Fixture::new(1).await;
    // The review's repro: 9223372036854775807 three times stored a number beyond u64, then read as 0. The operator
    // CLI refuses such a top-up outright.
    let huge = fixture.admin.top_up_wallet(&fixture.client_id, Credits::new(i64::MAX as u64)).await;
    assert!(matches!(huge, Err(ops::AdminError::Invalid(_))), "{huge:?}");

    // Below the CLI, the write itself keeps the bound: a wallet at the bound takes nothing more, and racing
    // top-ups that would cross it together do not. Each top-up writes its audit entry in its own transaction, so
    // the trail lists exactly the top-ups that happened.
    let store = &fixture.store;
    let client = fixture.client_id.clone();
    let top_up = |store: Arc<DynamoStore>, client: String, credits: u64| async move {
        let audit = lightotp::store::AuditEntry {
            at: String::new(),
            operator: "store test".to_owned(),
            action: "wallet topped up".to_owned(),
            detail: format!("+{credits}"),
        };
        store.top_up_wallet(&client, Credits::new(credits), &audit, OffsetDateTime::now_utc()).await.expect("top-up")
    };
    let almost = Credits::MAX_BALANCE.get() - 10;
    assert_eq!(top_up(Arc::clone(store), client.clone(), almost).await, Some(Credits::new(almost)));
    let racers = race(4, |_| top_up(Arc::clone(store), client.clone(), 6)).await;
    assert_eq!(racers.iter().filter(|r| r.is_some()).count(), 1, "one of four +6 fits in the last 10: {racers:?}");
    assert_eq!(store.wallet_balance(&client).await.expect("balance"), Credits::new(almost + 6));
    assert_eq!(top_up(Arc::clone(store), client.clone(), 5).await, None, "4 left");
    assert_eq!(top_up(Arc::clone(store), client.clone(), 4).await, Some(Credits::MAX_BALANCE));
    assert_eq!(top_up(Arc::clone(store), client.clone(), 1).await, None, "at the bound");
    assert_eq!(store.wallet_balance(&client).await.expect("balance"), Credits::MAX_BALANCE);
    let trail = store.audit_trail(&client).await.expect("audit trail");
    let top_ups: Vec<&str> =
        trail.iter().filter(|e| e.action == "wallet topped up").map(|e| e.detail.as_str()).collect();
    assert_eq!(top_ups.len(), 3, "three top-ups applied, three entries, none for the refused: {top_ups:?}");
}

#[tokio::test]
async fn an_endpoints_log_is_spread_over_partitions_and_read_back_whole_newest_first() {
    use lightotp::domain::time_format::rfc3339_millis;
    use lightotp::store::schema::{PK, webhook_log_shard};
    use lightotp::store::{AttemptRecord, NewDelivery, NextStep};

    let fixture = Fixture::new(1).await;
    let (store, client) = (&fixture.store, fixture.client_id.as_str());
    let endpoint = uuid::Uuid::new_v4().to_string();
    let start = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let at = |i: i64| rfc3339_millis(start + time::Duration::seconds(i));
    let events: Vec<String> = (0..40).map(|_| format!("evt_msg_{}_2", uuid::Uuid::new_v4())).collect();
    for (i, event_id) in (0..).zip(&events) {
        let event_at = at(i);
        let delivery = NewDelivery {
            client_id: client,
            endpoint_id: &endpoint,
            event_id,
            event_type: "message.delivered",
            event_at: &event_at,
            body: "{}",
        };
        assert!(store.record_delivery(&delivery, start + time::Duration::days(1)).await.expect("delivery"));
    }

    // The newest event as a delivery recorded before the log was spread: in the endpoint's one old partition,
    // whichever shard its id names now.
    let old_event = events.iter().rev().find(|e| webhook_log_shard(e) != 0).expect("an event of another shard");
    let everything = store.client().scan().table_name(store.table()).send().await.expect("scan");
    let mut moved = everything
        .items()
        .iter()
        .find(|item| item.get("eventId").and_then(|v| v.as_s().ok()) == Some(old_event))
        .expect("the recorded delivery")
        .clone();
    let old_partition = lightotp::store::schema::key::webhook_log(client, &endpoint, 0);
    let key = |item: &std::collections::HashMap<_, _>| {
        (["pk", "sk"].map(|k: &str| (k.to_owned(), item.get(k).cloned().expect("key")))).into_iter().collect()
    };
    store.client().delete_item().table_name(store.table()).set_key(Some(key(&moved))).send().await.expect("delete");
    moved.insert(PK.to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(old_partition.clone()));
    store.client().put_item().table_name(store.table()).set_item(Some(moved)).send().await.expect("put");

    // Spread: no partition of the log holds more than a fraction of its deliveries.
    let everything = store.client().scan().table_name(store.table()).send().await.expect("scan");
    let mut per_partition = std::collections::BTreeMap::<String, usize>::new();
    for item in everything.items().iter().filter(|item| item.contains_key("eventId")) {
        *per_partition.entry(item[PK].as_s().expect("pk").clone()).or_default() += 1;
    }
    assert!(per_partition.len() >= 16, "40 deliveries in {} partitions: {per_partition:?}", per_partition.len());

    // Read back whole: newest first across the shards, the old partition's included; "since" oldest first.
    let newest: Vec<String> = events.iter().rev().cloned().collect();
    let read = store.deliveries(client, &endpoint, None, 100).await.expect("deliveries");
    assert_eq!(read.iter().map(|d| d.event_id.clone()).collect::<Vec<_>>(), newest);
    let read = store.deliveries(client, &endpoint, None, 5).await.expect("deliveries");
    assert_eq!(read.iter().map(|d| d.event_id.clone()).collect::<Vec<_>>(), newest[..5]);
    let read = store.deliveries_oldest_first(client, &endpoint, &at(10), 5).await.expect("deliveries");
    assert_eq!(read.iter().map(|d| d.event_id.clone()).collect::<Vec<_>>(), events[10..15]);
    let found = store.delivery_of_event(client, &endpoint, old_event).await.expect("read").expect("the old one");
    assert_eq!(found.reference.log_shard, 0, "found in the old partition");
    let found = store.delivery_of_event(client, &endpoint, &events[3]).await.expect("read").expect("a new one");
    assert_eq!(found.reference.log_shard, webhook_log_shard(&events[3]));

    // Attempts join their delivery's partition, and the log reads newest first across them all.
    let mut attempted = Vec::new();
    for (i, delivery) in (0..).zip(store.deliveries(client, &endpoint, None, 100).await.expect("deliveries")) {
        let attempt = AttemptRecord {
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            delivery: delivery.reference.delivery.clone(),
            attempt: 1,
            at: at(100 + i),
            http_status: Some(200),
            latency_ms: 5,
            answer: String::new(),
            error: None,
        };
        let now = OffsetDateTime::now_utc();
        assert!(store.record_attempt(&delivery, &attempt, NextStep::Done, now).await.expect("attempt"));
        attempted.push(delivery.event_id);
    }
    let log = store.attempts(client, &endpoint, 7).await.expect("attempts");
    let expected: Vec<String> = attempted.iter().rev().take(7).cloned().collect();
    assert_eq!(log.iter().map(|a| a.event_id.clone()).collect::<Vec<_>>(), expected, "the 7 newest attempts");
    assert_eq!(store.attempts(client, &endpoint, 100).await.expect("attempts").len(), 40);
    let in_old = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(old_partition))
        .send()
        .await
        .expect("query");
    let old_events: Vec<_> = in_old.items().iter().filter_map(|i| i.get("eventId")?.as_s().ok()).collect();
    assert!(old_events.iter().filter(|e| **e == old_event).count() == 2, "its attempt joins it: {old_events:?}");
}
