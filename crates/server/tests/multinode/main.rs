//! Three walletd nodes on one PostgreSQL database take a mixed load at once: pays (each sent one
//! to three times, to different nodes), confirmations (sometimes twice at once on two nodes),
//! refunds (some repeated on two nodes, some more than what is left), and payments left to expire
//! (every node runs its expiry sweep and its notifier). Afterwards:
//!
//! * each paymentRequestId has exactly one payment, and every answer named it;
//! * no wallet is negative, refunds never exceed their payment, `verify` finds the books sound,
//!   and no money appeared or vanished;
//! * every final payment's notification reached the fake merchant at least once, each repeat was
//!   the same notification (same payment, same body), and each payment had exactly one.
//!
//! The test needs `WALLETD_TEST_POSTGRES_URL`; without it, it prints
//! `skipped: WALLETD_TEST_POSTGRES_URL not set` and passes. Its load is bounded (a fixed number of
//! orders) and seeded: the seed is printed, and `WALLETD_TEST_SEED=<n>` replays it.

mod merchant;

use merchant::FakeMerchant;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use walletd_client::MiniProgramClient;
use walletd_core::ledger::{flags, AccountKind};
use walletd_core::outbox::{OutboxKind, OutboxStatus};
use walletd_core::parties::{Client, User};
use walletd_core::payments::{ApprovalOutcome, PaymentStatus};
use walletd_core::Wallet;
use walletd_protocol::amount::WireAmount;
use walletd_protocol::crypto::PrivateKey;
use walletd_protocol::miniprogram::{PayRequestV2, PayResponse, RefundRequest, RefundResponse};
use walletd_protocol::{Amount, Currency};
use walletd_testkit::{PgSchema, TestApp};

const NODES: usize = 3;
const ORDERS: usize = 36;
const CLIENT_ID: &str = "tea-house";
const APP_ID: &str = "app-1";
/// Users and their USD top-ups in minor units: some will run out of money.
const USERS: &[(&str, i64)] = &[("ana", 20_000), ("ben", 5_000), ("cai", 2_000), ("dee", 500)];
/// How long everything may take to settle after the load (bounded wait, not a speed target).
const SETTLE: Duration = Duration::from_secs(60);

fn merchant_key() -> &'static PrivateKey {
    walletd_testkit::shared_key(0)
}

fn usd(minor: i64) -> Amount {
    Amount::from_minor(Currency::from_code("USD").expect("USD"), minor).expect("amount")
}

fn wire(minor: i64) -> WireAmount {
    WireAmount {
        currency: "USD".into(),
        value: minor.to_string(),
    }
}

/// One walletd node: its own store (connection pool), server and merchant client.
struct Node {
    app: TestApp,
    merchant: MiniProgramClient,
}

impl Node {
    fn wallet(&self) -> &Wallet {
        &self.app.wallet
    }

    async fn stop(self) {
        self.app.stop().await;
    }
}

/// A node on the shared database `url` and data directory (the wallet key, the cashier secrets).
async fn start_node(data_dir: &std::path::Path, url: &str) -> Node {
    let app = TestApp::builder()
        .data_dir_at(data_dir)
        .database_url(url)
        .configure(|c| {
            c.database_connections = 4;
            c.sweep_interval_ms = 100;
            // Fake merchants listen on loopback.
            c.notifier.allow_private_targets = true;
            c.payments.expiry_secs = 2;
            c.notifier.poll_interval_ms = 50;
            c.notifier.retry_gaps_ms = vec![100, 200, 400, 800, 1600];
            c.notifier.timeout_ms = 5_000;
        })
        .spawn()
        .await;
    let merchant = app.mini_program(CLIENT_ID, merchant_key());
    Node { app, merchant }
}

/// What the load saw, for the checks afterwards.
#[derive(Default)]
struct Seen {
    /// paymentRequestId -> every paymentId an answer named.
    answers: BTreeMap<String, BTreeSet<String>>,
    /// refundRequestId -> (paymentId, amount, refundIds answered).
    refunds: BTreeMap<String, (String, i64, BTreeSet<String>)>,
    /// Requests each node served.
    per_node: [usize; NODES],
    double_confirm_both_done: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_on_one_database_keep_every_rule() {
    let Some(schema) = PgSchema::fresh("multinode") else {
        return;
    };
    let seed: u64 = std::env::var("WALLETD_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("multinode seed {seed} (WALLETD_TEST_SEED={seed} replays the load)");

    let url = schema.url();
    // One data directory: the nodes share the wallet key and the cashier secrets, as a
    // deployment shares them; the first node makes them, the others load them.
    let data_dir: TempDir = tempfile::tempdir().expect("tempdir");
    let fake = FakeMerchant::start().await;

    let mut nodes = Vec::new();
    for _ in 0..NODES {
        nodes.push(start_node(data_dir.path(), &url).await);
    }
    seed_wallet(nodes[0].wallet()).await;
    let total_in: i64 = USERS.iter().map(|(_, m)| m).sum();

    let nodes = Arc::new(nodes);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut orders = tokio::task::JoinSet::new();
    for i in 0..ORDERS {
        let plan = OrderPlan::draw(&mut rng, i, &fake.notify_url());
        orders.spawn(run_order(nodes.clone(), seen.clone(), plan));
    }
    while let Some(r) = orders.join_next().await {
        r.expect("an order task panicked");
    }

    let w = nodes[0].wallet().clone();
    settle(&w).await;

    // Every node took part.
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    assert!(
        seen.per_node.iter().all(|n| *n > 0),
        "requests per node: {:?}",
        seen.per_node
    );

    // Each paymentRequestId: one payment, and every answer named that one.
    let payments = w
        .list_payments(Some(CLIENT_ID.into()), 10_000)
        .await
        .expect("payments");
    let mut by_request: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &payments {
        by_request
            .entry(&p.payment_request_id)
            .or_default()
            .push(&p.payment_id);
    }
    assert_eq!(by_request.len(), ORDERS, "one payment per order");
    for (request, ids) in &by_request {
        assert_eq!(ids.len(), 1, "{request} has payments {ids:?}");
        let answered = &seen.answers[*request];
        assert_eq!(answered.len(), 1, "{request}: answers named {answered:?}");
        assert!(
            answered.contains(ids[0]),
            "{request}: answered {answered:?}, stored {ids:?}"
        );
    }
    assert_eq!(seen.double_confirm_both_done, 0, "a payment was confirmed twice");

    // Refunds: a repeated refundRequestId named one refund; the refunds of a payment add up to
    // its refunded amount, which never exceeds what was paid.
    let mut refunded: BTreeMap<String, i64> = BTreeMap::new();
    for (request, (payment_id, minor, ids)) in &seen.refunds {
        assert!(ids.len() <= 1, "{request} answered refunds {ids:?}");
        if !ids.is_empty() {
            *refunded.entry(payment_id.clone()).or_default() += minor;
        }
    }
    for p in &payments {
        assert!(p.status.is_final(), "{} is still {:?}", p.payment_id, p.status);
        assert!(p.refunded_minor <= p.amount_minor, "{p:?}");
        assert_eq!(
            p.refunded_minor,
            refunded.get(&p.payment_id).copied().unwrap_or(0),
            "{}",
            p.payment_id
        );
    }

    // No wallet negative, nothing created or lost, and the books balance.
    let accounts = w.accounts().await.expect("accounts");
    let mut held_by_parties = 0i64;
    for a in &accounts {
        if a.flags & flags::DEBITS_MUST_NOT_EXCEED_CREDITS != 0 {
            assert!(
                a.available_balance() >= 0 && a.posted_balance() >= 0,
                "overdrawn: {a:?}"
            );
        }
        if a.kind != AccountKind::Funding {
            held_by_parties += a.posted_balance();
        }
        assert_eq!(a.debits_pending, 0, "a hold outlived its payment: {a:?}");
    }
    assert_eq!(
        held_by_parties, total_in,
        "users and merchant together hold what was topped up"
    );
    let report = w.verify().await.expect("verify");
    assert!(report.is_sound(), "{:?}", report.problems);

    // Notifications: one per final payment, delivered, each receipt that same notification.
    let notes = w.list_notifications(10_000).await.expect("notifications");
    let received = fake.received();
    let wallet_key = nodes[0].app.state.wallet_key.public_key();
    let mut duplicates = 0;
    for p in &payments {
        let mine: Vec<_> = notes
            .iter()
            .filter(|n| n.kind == OutboxKind::PaymentResult && n.subject_id == p.payment_id)
            .collect();
        assert_eq!(mine.len(), 1, "{} has notifications {mine:?}", p.payment_id);
        assert_eq!(mine[0].status, OutboxStatus::Delivered, "{:?}", mine[0]);
        let got: Vec<_> = received
            .iter()
            .filter(|r| r.json()["paymentId"] == p.payment_id.as_str())
            .collect();
        assert!(!got.is_empty(), "the merchant never heard of {}", p.payment_id);
        for r in &got {
            r.verify(&wallet_key)
                .expect("a notification signed by the wallet");
            assert_eq!(
                r.body, got[0].body,
                "a repeat of {} is the same notification",
                p.payment_id
            );
        }
        let status = got[0].json()["paymentResult"]["resultStatus"].clone();
        let expected = if p.status == PaymentStatus::Success {
            "S"
        } else {
            "F"
        };
        assert_eq!(status, expected, "{}", p.payment_id);
        duplicates += got.len() - 1;
    }
    assert!(
        duplicates > 0,
        "the merchant refused some first deliveries, so repeats must exist"
    );
    println!(
        "{} payments ({} paid), {} refunded, {} notifications received ({duplicates} repeats), requests per node {:?}",
        payments.len(),
        payments.iter().filter(|p| p.status == PaymentStatus::Success).count(),
        refunded.len(),
        received.len(),
        seen.per_node
    );

    match Arc::try_unwrap(nodes) {
        Ok(nodes) => {
            for n in nodes {
                n.stop().await;
            }
        }
        Err(_) => panic!("a task still holds the nodes"),
    }
    drop(schema);
}

async fn seed_wallet(w: &Wallet) {
    let now = w.now();
    let mut c = Client::new(CLIENT_ID, "Tea House", now);
    c.partner_id = "P-tea".into();
    c.app_ids = vec![APP_ID.into()];
    c.add_key("RSA256", &merchant_key().public_key().to_spki_pem(), now);
    w.add_client(c).await.expect("client");
    for (i, (user, minor)) in USERS.iter().enumerate() {
        w.add_user(User::new(user, &format!("+1555000000{i}"), user, now))
            .await
            .expect("user");
        w.top_up(user, usd(*minor)).await.expect("top up");
    }
}

/// What one order does, drawn up front from the seeded generator.
struct OrderPlan {
    request_id: String,
    amount_minor: i64,
    notify_url: String,
    /// Nodes the pay request goes to (a repeat is a duplicate pay).
    pay_nodes: Vec<usize>,
    /// The user who confirms and the nodes they confirm on (none: the payment expires).
    confirm: Option<(&'static str, Vec<usize>)>,
    /// Refunds: (request id, minor units, nodes it is sent to).
    refunds: Vec<(String, i64, Vec<usize>)>,
}

impl OrderPlan {
    fn draw(rng: &mut StdRng, i: usize, notify_url: &str) -> OrderPlan {
        let nodes = |rng: &mut StdRng, n: usize| (0..n).map(|_| rng.gen_range(0..NODES)).collect::<Vec<_>>();
        let amount_minor = rng.gen_range(100..=3_000);
        let copies = rng.gen_range(1..=3);
        let pay_nodes = nodes(rng, copies);
        let confirm = if rng.gen_bool(0.75) {
            let user = USERS[rng.gen_range(0..USERS.len())].0;
            let times = if rng.gen_bool(0.25) { 2 } else { 1 };
            Some((user, nodes(rng, times)))
        } else {
            None
        };
        let refund_count = if confirm.is_some() {
            rng.gen_range(0..=3)
        } else {
            0
        };
        let refunds = (0..refund_count)
            .map(|r| {
                let share = rng.gen_range(20..=60);
                let copies = if rng.gen_bool(0.3) { 2 } else { 1 };
                (
                    format!("rf-{i}-{r}"),
                    (amount_minor * share / 100).max(1),
                    nodes(rng, copies),
                )
            })
            .collect();
        OrderPlan {
            request_id: format!("order-{i}"),
            amount_minor,
            notify_url: notify_url.to_owned(),
            pay_nodes,
            confirm,
            refunds,
        }
    }
}

async fn run_order(nodes: Arc<Vec<Node>>, seen: Arc<Mutex<Seen>>, plan: OrderPlan) {
    let count = |seen: &Arc<Mutex<Seen>>, node: usize| {
        seen.lock().expect("lock").per_node[node] += 1;
    };
    // Pays, all at once.
    let request = PayRequestV2 {
        app_id: APP_ID.into(),
        product_code: Some("CASHIER_PAYMENT".into()),
        sales_code: None,
        payment_request_id: plan.request_id.clone(),
        payment_amount: wire(plan.amount_minor),
        order: None,
        payment_method: None,
        payment_factor: None,
        payment_auth_code: None,
        payment_expiry_time: None,
        payment_redirect_url: Some("https://merchant.example/return".into()),
        payment_notify_url: Some(plan.notify_url.clone()),
        void_notify_url: None,
        extend_info: None,
    };
    let mut pays = tokio::task::JoinSet::new();
    for &n in &plan.pay_nodes {
        count(&seen, n);
        let (client, req) = (nodes[n].merchant.clone(), request.clone());
        pays.spawn(async move { client.call::<_, PayResponse>("v2/payments/pay", &req).await });
    }
    let mut payment_id = None;
    while let Some(r) = pays.join_next().await {
        let answer = r.expect("task").expect("a verified pay answer");
        assert_eq!(
            answer.result.result_status, "A",
            "{}: {:?}",
            plan.request_id, answer.result
        );
        let id = answer.payment_id.expect("an accepted payment has an id");
        seen.lock()
            .expect("lock")
            .answers
            .entry(plan.request_id.clone())
            .or_default()
            .insert(id.clone());
        payment_id = Some(id);
    }
    let payment_id = payment_id.expect("at least one pay");

    // Confirmations (the cashier's "Pay" on whichever node the browser reached).
    let Some((user, confirm_nodes)) = &plan.confirm else {
        return;
    };
    let mut confirms = tokio::task::JoinSet::new();
    for &n in confirm_nodes {
        count(&seen, n);
        let (w, id, user) = (nodes[n].wallet().clone(), payment_id.clone(), *user);
        confirms.spawn(async move { w.confirm_payment(&id, user).await });
    }
    let mut done = 0;
    while let Some(r) = confirms.join_next().await {
        match r.expect("task").expect("confirm") {
            ApprovalOutcome::Done(p) => {
                assert_eq!(p.status, PaymentStatus::Success);
                done += 1;
            }
            ApprovalOutcome::Refused { .. } => {}
        }
    }
    if done > 1 {
        seen.lock().expect("lock").double_confirm_both_done += 1;
    }
    if done == 0 {
        return;
    }

    // Refunds, all at once, some sent to two nodes.
    let mut refunds = tokio::task::JoinSet::new();
    for (request_id, minor, refund_nodes) in &plan.refunds {
        seen.lock()
            .expect("lock")
            .refunds
            .insert(request_id.clone(), (payment_id.clone(), *minor, BTreeSet::new()));
        for &n in refund_nodes {
            count(&seen, n);
            let req = RefundRequest {
                partner_id: None,
                refund_request_id: request_id.clone(),
                payment_id: Some(payment_id.clone()),
                payment_request_id: None,
                refund_amount: wire(*minor),
                refund_reason: None,
                extend_info: None,
            };
            let client = nodes[n].merchant.clone();
            let request_id = request_id.clone();
            refunds.spawn(async move {
                let answer = client.call::<_, RefundResponse>("v2/payments/refund", &req).await;
                (request_id, answer)
            });
        }
    }
    while let Some(r) = refunds.join_next().await {
        let (request_id, answer) = r.expect("task");
        let answer = answer.expect("a verified refund answer");
        match answer.result.result_status.as_str() {
            "S" => {
                let id = answer.refund_id.expect("a refund id");
                if let Some(entry) = seen.lock().expect("lock").refunds.get_mut(&request_id) {
                    entry.2.insert(id);
                }
            }
            "F" => assert_eq!(
                answer.result.result_code, "REFUND_AMOUNT_EXCEED",
                "{request_id}: {:?}",
                answer.result
            ),
            other => panic!("{request_id}: result status {other}: {:?}", answer.result),
        }
    }
}

/// Waits (bounded) until no payment is PROCESSING and every notification is delivered.
async fn settle(w: &Wallet) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let payments = w.list_payments(None, 10_000).await.expect("payments");
        let notes = w.list_notifications(10_000).await.expect("notifications");
        let open = payments.iter().filter(|p| !p.status.is_final()).count();
        let undelivered = notes
            .iter()
            .filter(|n| n.status != OutboxStatus::Delivered)
            .count();
        if open == 0 && undelivered == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled after {SETTLE:?}: {open} payments open, {undelivered} notifications undelivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
