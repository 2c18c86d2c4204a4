//! Every operation of the `Tx` trait, record kind by record kind, on an empty store.

use crate::backend::{eur, is_duplicate, t0, usd, Fixture};
use chrono::{DateTime, Duration, Utc};
use walletd_core::idempotency::{IdempotencyRecord, StoredOutcome};
use walletd_core::ledger::{flags, Account, AccountKind, NewAccount, Transfer, TransferKind};
use walletd_core::outbox::{OutboxEntry, OutboxKind, OutboxStatus};
use walletd_core::parties::{Client, Limits, User};
use walletd_core::payments::{Channel, Payment, PaymentStatus};
use walletd_core::refunds::{Refund, RefundStatus};
use walletd_core::storage::{DailyParty, ReadAhead};
use walletd_core::CoreError;
use walletd_protocol::Currency;

for_each_backend!(
    clients_are_stored_found_and_updated,
    users_are_stored_found_and_updated,
    accounts_keep_their_sums_and_lock_in_id_order,
    transfers_are_kept_in_order_and_resolved_once,
    payments_are_found_by_id_and_by_request,
    payment_queries_select_the_right_rows,
    refunds_are_found_by_id_and_by_request,
    idempotency_keys_are_taken_once_per_scope,
    notifications_are_claimed_with_a_lease,
    one_time_values_are_accepted_once_until_they_expire,
    a_failed_job_leaves_nothing_behind,
    a_taken_key_does_not_spoil_the_rest_of_the_transaction,
    a_refused_insert_keeps_none_of_its_jobs_rows,
    a_job_may_insert_many_rows,
    reads_announced_ahead_answer_only_until_the_next_statement,
    a_read_job_cannot_write,
    a_second_node_sees_what_the_first_committed,
    token_pairs_are_read_newest_first_within_a_limit,
);

fn client(id: &str, partner: &str) -> Client {
    let mut c = Client::new(id, &format!("Shop {id}"), t0());
    c.partner_id = partner.into();
    c
}

/// A payment record. Built from its stored form, so fields that later versions add (with their
/// serde defaults, as every stored field must have) do not need to be named here.
fn payment(id: &str, request: &str, status: PaymentStatus, payer: Option<&str>, minor: i64) -> Payment {
    serde_json::from_value(serde_json::json!({
        "payment_id": id,
        "client_id": "c1",
        "payment_request_id": request,
        "channel": "mini_program_v1",
        "scenario": "cashier",
        "currency": "USD",
        "amount_minor": minor,
        "refunded_minor": 0,
        "status": status,
        "payer_user_id": payer,
        "hold_transfer_id": null,
        "settle_transfer_id": null,
        "order_title": "Tea",
        "reference_order_id": null,
        "merchant_display_name": null,
        "partner_id": null,
        "app_id": null,
        "notify_url": null,
        "return_url": null,
        "extend_info": "{\"k\":\"v\"}",
        "created_at": t0(),
        "expires_at": t0() + Duration::minutes(15),
        "paid_at": null,
        "closed_at": null,
        "fail_reason": null,
    }))
    .expect("a payment record")
}

fn outbox(id: &str, due: DateTime<Utc>) -> OutboxEntry {
    OutboxEntry {
        id: id.into(),
        client_id: "c1".into(),
        kind: OutboxKind::PaymentResult,
        subject_id: format!("payment-of-{id}"),
        url: "https://merchant.example/notify".into(),
        snapshot: serde_json::json!({"paymentId": id, "amount": 125}),
        status: OutboxStatus::Pending,
        attempts: Vec::new(),
        next_attempt_at: due,
        lease_until: None,
        created_at: due,
    }
}

fn new_account(kind: AccountKind, owner: &str, currency: Currency) -> NewAccount {
    NewAccount {
        kind,
        owner_id: owner.into(),
        currency,
        flags: kind.default_flags(),
        created_at: t0(),
    }
}

async fn clients_are_stored_found_and_updated(f: Fixture) {
    let mut c1 = client("c1", "p1");
    c1.limits.insert(
        "USD".into(),
        Limits {
            per_payment_minor: Some(500),
            daily_minor: None,
        },
    );
    let c = c1.clone();
    f.write(move |tx| Ok(tx.insert_client(&c)?))
        .await
        .expect("insert");
    assert_eq!(
        f.read(|tx| Ok(tx.get_client("c1")?)).await.unwrap(),
        Some(c1.clone())
    );
    assert_eq!(
        f.read(|tx| Ok(tx.find_client_by_partner("p1")?)).await.unwrap(),
        Some(c1.clone())
    );
    assert_eq!(f.read(|tx| Ok(tx.get_client("nobody")?)).await.unwrap(), None);

    let c = c1.clone();
    let e = f
        .write(move |tx| Ok(tx.insert_client(&c)?))
        .await
        .expect_err("same id twice");
    assert!(is_duplicate(&e), "{e:?}");
    let e = f
        .write(|tx| Ok(tx.insert_client(&client("c2", "p1"))?))
        .await
        .expect_err("a partnerId twice");
    assert!(is_duplicate(&e), "{e:?}");

    let mut renamed = c1.clone();
    renamed.name = "Renamed".into();
    renamed.partner_id = "p1b".into();
    let r = renamed.clone();
    f.write(move |tx| Ok(tx.update_client(&r)?))
        .await
        .expect("update");
    assert_eq!(
        f.read(|tx| Ok(tx.get_client("c1")?)).await.unwrap(),
        Some(renamed.clone())
    );
    assert_eq!(
        f.read(|tx| Ok(tx.find_client_by_partner("p1")?)).await.unwrap(),
        None
    );
    assert_eq!(
        f.read(|tx| Ok(tx.find_client_by_partner("p1b")?)).await.unwrap(),
        Some(renamed.clone())
    );
    f.write(|tx| Ok(tx.update_client(&client("ghost", "p9"))?))
        .await
        .expect_err("updating a client that does not exist");

    f.write(|tx| Ok(tx.insert_client(&client("c0", "p0"))?))
        .await
        .expect("insert c0");
    let ids: Vec<String> = f
        .read(|tx| Ok(tx.list_clients()?))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["c0", "c1"]);
}

async fn users_are_stored_found_and_updated(f: Fixture) {
    let mut u = User::new("u1", "+15550001", "Una", t0());
    u.pin_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
    let v = u.clone();
    f.write(move |tx| Ok(tx.insert_user(&v)?)).await.expect("insert");
    assert_eq!(
        f.read(|tx| Ok(tx.get_user("u1")?)).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_user_by_login("+15550001")?)).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_user_by_login("+1999")?)).await.unwrap(),
        None
    );

    let e = f
        .write(|tx| Ok(tx.insert_user(&User::new("u2", "+15550001", "Dup", t0()))?))
        .await
        .expect_err("a login twice");
    assert!(is_duplicate(&e), "{e:?}");

    let mut changed = u.clone();
    changed.failed_pin_attempts = 2;
    changed.login = "una@example.com".into();
    let c = changed.clone();
    f.write(move |tx| Ok(tx.update_user(&c)?)).await.expect("update");
    assert_eq!(
        f.read(|tx| Ok(tx.get_user_by_login("una@example.com")?))
            .await
            .unwrap(),
        Some(changed)
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_user_by_login("+15550001")?)).await.unwrap(),
        None
    );
    f.write(|tx| Ok(tx.update_user(&User::new("ghost", "g", "G", t0()))?))
        .await
        .expect_err("updating a user that does not exist");

    f.write(|tx| Ok(tx.insert_user(&User::new("u0", "+15550000", "Zero", t0()))?))
        .await
        .expect("insert u0");
    let ids: Vec<String> = f
        .read(|tx| Ok(tx.list_users()?))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.user_id)
        .collect();
    assert_eq!(ids, ["u0", "u1"]);
}

async fn accounts_keep_their_sums_and_lock_in_id_order(f: Fixture) {
    let (wallet_usd, funding, wallet_eur) = f
        .write(|tx| {
            let a = tx.insert_account(&new_account(AccountKind::UserWallet, "u1", usd()))?;
            let b = tx.insert_account(&new_account(AccountKind::Funding, "system", usd()))?;
            let c = tx.insert_account(&new_account(AccountKind::UserWallet, "u1", eur()))?;
            Ok((a, b, c))
        })
        .await
        .expect("insert accounts");
    assert!(
        wallet_usd.id < funding.id && funding.id < wallet_eur.id,
        "ids ascend"
    );
    assert_eq!(wallet_usd.flags, flags::DEBITS_MUST_NOT_EXCEED_CREDITS);
    assert_eq!((wallet_usd.debits_posted, wallet_usd.credits_posted), (0, 0));
    assert_eq!(wallet_usd.created_at, t0());

    let found = f
        .read(|tx| Ok(tx.find_account(AccountKind::UserWallet, "u1", usd())?))
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&wallet_usd));
    let none = f
        .read(|tx| Ok(tx.find_account(AccountKind::Merchant, "u1", usd())?))
        .await
        .unwrap();
    assert_eq!(none, None);
    let e = f
        .write(|tx| Ok(tx.insert_account(&new_account(AccountKind::UserWallet, "u1", usd()))?))
        .await
        .expect_err("one account per kind, owner and currency");
    assert!(is_duplicate(&e), "{e:?}");

    let mut credited = wallet_usd.clone();
    credited.credits_posted = 12_345;
    credited.debits_pending = 45;
    let c = credited.clone();
    f.write(move |tx| Ok(tx.update_account_balances(&c)?))
        .await
        .expect("update sums");

    let ids = vec![wallet_usd.id, funding.id, funding.id + wallet_eur.id + 1000];
    let locked: Vec<Account> = f
        .write(move |tx| Ok(tx.lock_accounts(&ids)?))
        .await
        .expect("lock");
    assert_eq!(
        locked,
        vec![credited.clone(), funding.clone()],
        "missing ids are absent, order is by id"
    );

    let all: Vec<Account> = f.read(|tx| Ok(tx.list_accounts()?)).await.unwrap();
    assert_eq!(all, vec![credited.clone(), funding.clone(), wallet_eur.clone()]);
    let of_u1: Vec<Currency> = f
        .read(|tx| Ok(tx.list_accounts_of(AccountKind::UserWallet, "u1")?))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.currency)
        .collect();
    assert_eq!(of_u1, vec![eur(), usd()], "by currency code");

    let mut negative = credited.clone();
    negative.debits_posted = -1;
    f.write(move |tx| Ok(tx.update_account_balances(&negative)?))
        .await
        .expect_err("a sum below zero is refused by the schema");
    let mut ghost = credited.clone();
    ghost.id = wallet_eur.id + 1000;
    f.write(move |tx| Ok(tx.update_account_balances(&ghost)?))
        .await
        .expect_err("updating an account that does not exist");
    let after = f
        .read(|tx| Ok(tx.find_account(AccountKind::UserWallet, "u1", usd())?))
        .await
        .unwrap();
    assert_eq!(after, Some(credited));
}

async fn transfers_are_kept_in_order_and_resolved_once(f: Fixture) {
    let (debit, credit) = f
        .write(|tx| {
            let a = tx.insert_account(&new_account(AccountKind::UserWallet, "u1", usd()))?;
            let b = tx.insert_account(&new_account(AccountKind::Merchant, "c1", usd()))?;
            Ok((a.id, b.id))
        })
        .await
        .unwrap();
    let transfer = |kind, amount, pending_id, timeout_at| Transfer {
        id: 0,
        kind,
        debit_account_id: debit,
        credit_account_id: credit,
        amount_minor: amount,
        currency: usd(),
        pending_id,
        timeout_at,
        code: "payment_hold".into(),
        reference: "payment-1".into(),
        created_at: t0(),
    };
    let pending = transfer(
        TransferKind::Pending,
        700,
        None,
        Some(t0() + Duration::minutes(15)),
    );
    let p = pending.clone();
    let pending_id = f
        .write(move |tx| Ok(tx.insert_transfer(&p)?))
        .await
        .expect("insert pending");
    let single = transfer(TransferKind::Single, 5, None, None);
    let s = single.clone();
    let single_id = f
        .write(move |tx| Ok(tx.insert_transfer(&s)?))
        .await
        .expect("insert single");
    assert!(single_id > pending_id);

    let stored = f.read(move |tx| Ok(tx.get_transfer(pending_id)?)).await.unwrap();
    assert_eq!(
        stored,
        Some(Transfer {
            id: pending_id,
            ..pending.clone()
        })
    );
    assert_eq!(
        f.read(move |tx| Ok(tx.find_resolution(pending_id)?))
            .await
            .unwrap(),
        None
    );

    let post = transfer(TransferKind::PostPending, 600, Some(pending_id), None);
    let p = post.clone();
    let post_id = f
        .write(move |tx| Ok(tx.insert_transfer(&p)?))
        .await
        .expect("post");
    assert_eq!(
        f.read(move |tx| Ok(tx.find_resolution(pending_id)?))
            .await
            .unwrap(),
        Some(Transfer { id: post_id, ..post })
    );
    let void = transfer(TransferKind::VoidPending, 700, Some(pending_id), None);
    let e = f
        .write(move |tx| Ok(tx.insert_transfer(&void)?))
        .await
        .expect_err("a pending transfer is resolved once");
    assert!(is_duplicate(&e), "{e:?}");

    let ids: Vec<i64> = f
        .read(|tx| Ok(tx.list_transfers(0, 10)?))
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![pending_id, single_id, post_id]);
    let page: Vec<i64> = f
        .read(move |tx| Ok(tx.list_transfers(pending_id, 1)?))
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(page, vec![single_id]);

    let mut dangling = transfer(TransferKind::Single, 1, None, None);
    dangling.credit_account_id = credit + 1000;
    f.write(move |tx| Ok(tx.insert_transfer(&dangling)?))
        .await
        .expect_err("a transfer to an account that does not exist");
    assert_eq!(f.read(|tx| Ok(tx.list_transfers(0, 10)?.len())).await.unwrap(), 3);
}

async fn payments_are_found_by_id_and_by_request(f: Fixture) {
    let p = payment("pay-1", "req-1", PaymentStatus::Processing, None, 1250);
    let q = p.clone();
    f.write(move |tx| Ok(tx.insert_payment(&q)?))
        .await
        .expect("insert");
    assert_eq!(
        f.read(|tx| Ok(tx.get_payment("pay-1")?)).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_payment_by_request("c1", "req-1")?))
            .await
            .unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_payment_by_request("c2", "req-1")?))
            .await
            .unwrap(),
        None
    );
    assert_eq!(f.write(|tx| Ok(tx.get_payment("nope")?)).await.unwrap(), None);

    let e = f
        .write(|tx| Ok(tx.insert_payment(&payment("pay-2", "req-1", PaymentStatus::Processing, None, 1))?))
        .await
        .expect_err("a paymentRequestId twice for one client");
    assert!(is_duplicate(&e), "{e:?}");
    let mut other_client = payment("pay-2", "req-1", PaymentStatus::Processing, None, 1);
    other_client.client_id = "c2".into();
    f.write(move |tx| Ok(tx.insert_payment(&other_client)?))
        .await
        .expect("the same request id of another client");

    let mut paid = p.clone();
    paid.status = PaymentStatus::Success;
    paid.payer_user_id = Some("u1".into());
    paid.hold_transfer_id = Some(7);
    paid.paid_at = Some(t0() + Duration::seconds(30));
    let q = paid.clone();
    f.write(move |tx| Ok(tx.update_payment(&q)?))
        .await
        .expect("update");
    assert_eq!(
        f.read(|tx| Ok(tx.get_payment("pay-1")?)).await.unwrap(),
        Some(paid)
    );
    f.write(|tx| Ok(tx.update_payment(&payment("ghost", "r", PaymentStatus::Fail, None, 1))?))
        .await
        .expect_err("updating a payment that does not exist");
}

async fn payment_queries_select_the_right_rows(f: Fixture) {
    let at = |p: Payment, created_min: i64, expires_min: i64| Payment {
        created_at: t0() + Duration::minutes(created_min),
        expires_at: t0() + Duration::minutes(expires_min),
        ..p
    };
    let rows = vec![
        // Expired, unpaid, oldest expiry: first to expire.
        at(payment("a", "ra", PaymentStatus::Processing, None, 100), 0, 5),
        // Expired, holding funds of u1.
        at(
            payment("b", "rb", PaymentStatus::Processing, Some("u1"), 200),
            1,
            3,
        ),
        // Not yet expired, holding funds of u1.
        at(
            payment("c", "rc", PaymentStatus::Processing, Some("u1"), 400),
            2,
            60,
        ),
        // Paid by u1.
        at(payment("d", "rd", PaymentStatus::Success, Some("u1"), 800), 3, 4),
        // Failed and cancelled ones count for nothing.
        at(payment("e", "re", PaymentStatus::Fail, Some("u1"), 1600), 4, 4),
        at(
            payment("f", "rf", PaymentStatus::Cancelled, Some("u1"), 3200),
            5,
            4,
        ),
        // Yesterday's payment of u1.
        at(
            payment("g", "rg", PaymentStatus::Success, Some("u1"), 6400),
            -24 * 60,
            -24 * 60 + 15,
        ),
    ];
    let mut eur_payment = at(
        payment("h", "rh", PaymentStatus::Success, Some("u1"), 12800),
        6,
        20,
    );
    eur_payment.currency = eur();
    let mut all = rows.clone();
    all.push(eur_payment);
    f.write(move |tx| {
        for p in &all {
            tx.insert_payment(p)?;
        }
        Ok(())
    })
    .await
    .expect("insert");

    let now = t0() + Duration::minutes(10);
    let expired: Vec<String> = f
        .write(move |tx| Ok(tx.list_expired_payments(now, 10)?))
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.payment_id)
        .collect();
    assert_eq!(expired, ["b", "a"], "PROCESSING and due, oldest expiry first");
    let first: Vec<String> = f
        .read(move |tx| Ok(tx.list_expired_payments(now, 1)?))
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.payment_id)
        .collect();
    assert_eq!(first, ["b"]);
    let at_expiry: Vec<String> = f
        .read(|tx| Ok(tx.list_expired_payments(t0() + Duration::minutes(3), 10)?))
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.payment_id)
        .collect();
    assert_eq!(at_expiry, ["b"], "due exactly at its expiry time");

    let day = t0().date_naive();
    let spent = f
        .read(move |tx| Ok(tx.daily_total(DailyParty::User, "u1", usd(), day)?))
        .await
        .unwrap();
    assert_eq!(
        spent,
        200 + 400 + 800,
        "holds and paid, not failed, cancelled, older or other currency"
    );
    let spent = f
        .write(move |tx| Ok(tx.daily_total(DailyParty::User, "u1", usd(), day)?))
        .await
        .unwrap();
    assert_eq!(spent, 1400, "the same in a write transaction");
    assert_eq!(
        f.read(move |tx| Ok(tx.daily_total(DailyParty::User, "u2", usd(), day)?))
            .await
            .unwrap(),
        0
    );
    let taken = f
        .read(move |tx| Ok(tx.daily_total(DailyParty::Client, "c1", usd(), day)?))
        .await
        .unwrap();
    assert_eq!(
        taken,
        200 + 400 + 800,
        "an unpaid payment without a payer holds nothing"
    );
    assert_eq!(
        f.read(move |tx| Ok(tx.daily_total(DailyParty::Client, "c1", eur(), day)?))
            .await
            .unwrap(),
        12800
    );
    let yesterday = day.pred_opt().expect("a day before");
    assert_eq!(
        f.read(move |tx| Ok(tx.daily_total(DailyParty::User, "u1", usd(), yesterday)?))
            .await
            .unwrap(),
        6400,
        "each payment counts on the UTC day it was created"
    );

    // Status changes move the totals as the payments change: a hold released by a cancel, an
    // unpaid payment that gets its payer, a paid one taken back.
    f.write(move |tx| {
        let mut c = tx.get_payment("c")?.expect("c");
        c.status = PaymentStatus::Cancelled;
        tx.update_payment(&c)?;
        let mut a = tx.get_payment("a")?.expect("a");
        a.payer_user_id = Some("u2".into());
        tx.update_payment(&a)?;
        let mut d = tx.get_payment("d")?.expect("d");
        d.status = PaymentStatus::Fail;
        tx.update_payment(&d)?;
        Ok(())
    })
    .await
    .expect("update");
    let totals = f
        .read(move |tx| {
            Ok((
                tx.daily_total(DailyParty::User, "u1", usd(), day)?,
                tx.daily_total(DailyParty::User, "u2", usd(), day)?,
                tx.daily_total(DailyParty::Client, "c1", usd(), day)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(totals, (200, 100, 200 + 100), "after the status changes");

    let newest: Vec<String> = f
        .read(|tx| Ok(tx.list_payments(Some("c1"), 3)?))
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.payment_id)
        .collect();
    assert_eq!(newest, ["h", "f", "e"], "newest first");
    assert_eq!(
        f.read(|tx| Ok(tx.list_payments(None, 100)?.len())).await.unwrap(),
        8
    );
    assert!(f
        .read(|tx| Ok(tx.list_payments(Some("c2"), 100)?))
        .await
        .unwrap()
        .is_empty());
}

async fn refunds_are_found_by_id_and_by_request(f: Fixture) {
    let refund = |id: &str, request: &str| Refund {
        refund_id: id.into(),
        client_id: "c1".into(),
        refund_request_id: request.into(),
        payment_id: "pay-1".into(),
        payment_request_id: "req-1".into(),
        channel: Channel::AlphaPay,
        currency: usd(),
        amount_minor: 250,
        reason: Some("broken cup".into()),
        status: RefundStatus::Success,
        transfer_id: Some(3),
        notify_url: None,
        created_at: t0(),
        refunded_at: Some(t0()),
    };
    let r = refund("ref-1", "rr-1");
    let q = r.clone();
    f.write(move |tx| Ok(tx.insert_refund(&q)?))
        .await
        .expect("insert");
    assert_eq!(
        f.read(|tx| Ok(tx.get_refund("ref-1")?)).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_refund_by_request("c1", "rr-1")?))
            .await
            .unwrap(),
        Some(r)
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_refund_by_request("c2", "rr-1")?))
            .await
            .unwrap(),
        None
    );
    assert_eq!(f.read(|tx| Ok(tx.get_refund("ref-9")?)).await.unwrap(), None);
    let e = f
        .write(move |tx| Ok(tx.insert_refund(&refund("ref-2", "rr-1"))?))
        .await
        .expect_err("a refundRequestId twice");
    assert!(is_duplicate(&e), "{e:?}");
}

async fn idempotency_keys_are_taken_once_per_scope(f: Fixture) {
    let record = |scope: &str, outcome: StoredOutcome| IdempotencyRecord {
        scope: scope.into(),
        client_id: "c1".into(),
        key: "k-1".into(),
        fingerprint: "fp".into(),
        outcome,
        created_at: t0(),
    };
    let pay = record(
        "pay",
        StoredOutcome::Rejected {
            code: "USER_BALANCE_NOT_ENOUGH".into(),
            message: "not enough".into(),
        },
    );
    let p = pay.clone();
    f.write(move |tx| Ok(tx.insert_idempotency(&p)?))
        .await
        .expect("insert");
    assert_eq!(
        f.read(|tx| Ok(tx.get_idempotency("pay", "c1", "k-1")?))
            .await
            .unwrap(),
        Some(pay)
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_idempotency("pay", "c2", "k-1")?))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.read(|tx| Ok(tx.get_idempotency("refund", "c1", "k-1")?))
            .await
            .unwrap(),
        None
    );

    let again = record(
        "pay",
        StoredOutcome::Payment {
            payment_id: "p".into(),
        },
    );
    let e = f
        .write(move |tx| Ok(tx.insert_idempotency(&again)?))
        .await
        .expect_err("a key twice in one scope");
    assert!(is_duplicate(&e), "{e:?}");
    let refund = record(
        "refund",
        StoredOutcome::Refund {
            refund_id: "r".into(),
        },
    );
    let r = refund.clone();
    f.write(move |tx| Ok(tx.insert_idempotency(&r)?))
        .await
        .expect("the same key in another scope");
    assert_eq!(
        f.read(|tx| Ok(tx.get_idempotency("refund", "c1", "k-1")?))
            .await
            .unwrap(),
        Some(refund)
    );
}

async fn notifications_are_claimed_with_a_lease(f: Fixture) {
    let early = outbox("n-early", t0() - Duration::seconds(1));
    let now_due = outbox("n-now", t0());
    let later = outbox("n-later", t0() + Duration::seconds(60));
    let all = vec![later.clone(), early.clone(), now_due.clone()];
    f.write(move |tx| {
        for e in &all {
            tx.insert_outbox(e)?;
        }
        Ok(())
    })
    .await
    .expect("insert");
    assert_eq!(
        f.read(|tx| Ok(tx.get_outbox("n-now")?)).await.unwrap(),
        Some(now_due.clone())
    );
    let e = f
        .write(move |tx| Ok(tx.insert_outbox(&now_due)?))
        .await
        .expect_err("a notification id twice");
    assert!(is_duplicate(&e), "{e:?}");

    let claim = |now: DateTime<Utc>, lease_secs: i64, limit: u32| {
        f.write(move |tx| {
            Ok(tx
                .claim_outbox(now, now + Duration::seconds(lease_secs), limit)?
                .into_iter()
                .map(|e| (e.id, e.lease_until))
                .collect::<Vec<_>>())
        })
    };
    let lease = t0() + Duration::seconds(30);
    assert_eq!(
        claim(t0(), 30, 10).await.unwrap(),
        vec![
            ("n-early".to_owned(), Some(lease)),
            ("n-now".to_owned(), Some(lease))
        ],
        "due ones, oldest first, each with the lease"
    );
    let stored = f
        .read(|tx| Ok(tx.get_outbox("n-early")?))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.lease_until, Some(lease), "the lease is stored");
    assert!(
        claim(t0() + Duration::seconds(29), 30, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let reclaimed: Vec<String> = claim(t0() + Duration::seconds(30), 30, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(reclaimed, ["n-early", "n-now"], "a run-out lease frees the entry");

    let mut delivered = stored.clone();
    delivered.status = OutboxStatus::Delivered;
    delivered.lease_until = None;
    f.write(move |tx| Ok(tx.update_outbox(&delivered)?))
        .await
        .expect("update");
    let one: Vec<String> = claim(t0() + Duration::seconds(120), 30, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        one,
        ["n-now"],
        "delivered ones are never claimed; the limit holds"
    );
    let rest: Vec<String> = claim(t0() + Duration::seconds(120), 30, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(rest, ["n-later"]);
    f.write(move |tx| Ok(tx.update_outbox(&outbox("ghost", t0()))?))
        .await
        .expect_err("updating a notification that does not exist");

    let newest: Vec<String> = f
        .read(|tx| Ok(tx.list_outbox(2)?))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(newest, ["n-later", "n-now"], "newest first");
    let _ = later;
}

async fn one_time_values_are_accepted_once_until_they_expire(f: Fixture) {
    let at = |secs: i64| t0() + Duration::seconds(secs);
    let claim = |scope: &'static str, value: &'static str, expires: DateTime<Utc>, now: DateTime<Utc>| {
        f.write(move |tx| Ok(tx.claim_once(scope, value, expires, now)?))
    };
    assert!(claim("nonce", "n-1", at(60), at(0)).await.unwrap(), "first use");
    assert!(!claim("nonce", "n-1", at(60), at(0)).await.unwrap(), "replayed");
    assert!(
        !claim("nonce", "n-1", at(120), at(59)).await.unwrap(),
        "still live"
    );
    assert!(
        claim("salt", "n-1", at(60), at(0)).await.unwrap(),
        "scopes are separate"
    );
    assert!(
        claim("nonce", "n-2", at(60), at(0)).await.unwrap(),
        "another value"
    );
    assert!(
        claim("nonce", "n-1", at(120), at(60)).await.unwrap(),
        "expired: usable again"
    );
    assert!(
        !claim("nonce", "n-1", at(180), at(119)).await.unwrap(),
        "the renewed claim holds until its new expiry"
    );
    assert!(claim("nonce", "n-1", at(180), at(120)).await.unwrap());
}

async fn a_failed_job_leaves_nothing_behind(f: Fixture) {
    let e = f
        .write(|tx| {
            tx.insert_client(&client("c1", "p1"))?;
            tx.insert_user(&User::new("u1", "l1", "U", t0()))?;
            Err::<(), _>(CoreError::Invalid("changed my mind".into()))
        })
        .await
        .expect_err("the job fails");
    assert!(matches!(e, CoreError::Invalid(_)), "{e:?}");
    assert_eq!(f.read(|tx| Ok(tx.get_client("c1")?)).await.unwrap(), None);
    assert_eq!(f.read(|tx| Ok(tx.get_user("u1")?)).await.unwrap(), None);

    let e = f
        .write(|tx| {
            tx.insert_client(&client("c2", "p2"))?;
            if tx.get_client("c2")?.is_some() {
                panic!("a job that panics");
            }
            Ok(())
        })
        .await
        .expect_err("a panicking job fails");
    assert!(matches!(e, CoreError::Invariant(_)), "{e:?}");
    assert_eq!(f.read(|tx| Ok(tx.get_client("c2")?)).await.unwrap(), None);
    f.write(|tx| Ok(tx.insert_client(&client("c3", "p3"))?))
        .await
        .expect("the store still works");
}

/// A backend may send an insert later than the job asks for it (PostgreSQL sends a new payment
/// and its idempotency record with the commit): a refused insert must still fail its job and take
/// the job's other rows with it.
async fn a_refused_insert_keeps_none_of_its_jobs_rows(f: Fixture) {
    let key = |key: &str| IdempotencyRecord {
        scope: "pay".into(),
        client_id: "c1".into(),
        key: key.into(),
        fingerprint: "fp".into(),
        outcome: StoredOutcome::Payment {
            payment_id: "pay-1".into(),
        },
        created_at: t0(),
    };
    let (first, taken) = (key("k-1"), key("k-1"));
    f.write(move |tx| {
        tx.insert_payment(&payment("pay-1", "req-1", PaymentStatus::Processing, None, 1))?;
        Ok(tx.insert_idempotency(&first)?)
    })
    .await
    .expect("a payment and its key");

    let e = f
        .write(move |tx| {
            tx.insert_payment(&payment("pay-2", "req-2", PaymentStatus::Processing, None, 2))?;
            Ok(tx.insert_idempotency(&taken)?)
        })
        .await
        .expect_err("a taken idempotency key");
    assert!(is_duplicate(&e), "{e:?}");
    let e = f
        .write(|tx| {
            tx.insert_payment(&payment("pay-3", "req-3", PaymentStatus::Processing, None, 3))?;
            tx.insert_payment(&payment("pay-4", "req-1", PaymentStatus::Processing, None, 4))?;
            tx.insert_client(&client("c9", "p9"))?;
            Ok(tx.get_client("c9")?)
        })
        .await
        .expect_err("a taken paymentRequestId");
    assert!(is_duplicate(&e), "{e:?}");
    for id in ["pay-2", "pay-3", "pay-4"] {
        assert_eq!(
            f.read(move |tx| Ok(tx.get_payment(id)?)).await.unwrap(),
            None,
            "{id} was not kept"
        );
    }
    assert_eq!(f.read(|tx| Ok(tx.get_client("c9")?)).await.unwrap(), None);
    assert!(f.read(|tx| Ok(tx.get_payment("pay-1")?)).await.unwrap().is_some());
}

/// A backend may answer announced reads from one round trip ([`ReadAhead`]): the answers are the
/// records as stored, absent ones included, and any statement after the announcement (a write, a
/// lock) makes the next read go to the database again.
async fn reads_announced_ahead_answer_only_until_the_next_statement(f: Fixture) {
    let day = t0().date_naive();
    f.write(move |tx| {
        tx.insert_client(&client("c1", "p1"))?;
        tx.insert_payment(&payment("pay-1", "req-1", PaymentStatus::Success, None, 700))?;
        Ok(tx.insert_idempotency(&IdempotencyRecord {
            scope: "pay".into(),
            client_id: "c1".into(),
            key: "req-1".into(),
            fingerprint: "fp".into(),
            outcome: StoredOutcome::Payment {
                payment_id: "pay-1".into(),
            },
            created_at: t0(),
        })?)
    })
    .await
    .expect("a client, a paid payment, its key");
    let announce = move |tx: &mut dyn walletd_core::storage::Tx, client: &'static str, key: &'static str| {
        tx.read_ahead(&[
            ReadAhead::Idempotency {
                scope: "pay",
                client_id: "c1",
                key,
            },
            ReadAhead::Client(client),
            ReadAhead::DailyTotal {
                party: DailyParty::Client,
                party_id: "c1",
                currency: usd(),
                day,
            },
        ])
    };

    // Announced, then made: the stored records, whichever the order of the reads.
    let (total, found, key) = f
        .write(move |tx| {
            announce(tx, "c1", "req-1")?;
            let total = tx.daily_total(DailyParty::Client, "c1", usd(), day)?;
            let found = tx.get_client("c1")?.map(|c| c.name);
            let key = tx.get_idempotency("pay", "c1", "req-1")?.map(|r| r.fingerprint);
            Ok((total, found, key))
        })
        .await
        .expect("announced reads");
    assert_eq!(total, 700);
    assert_eq!(found.as_deref(), Some("Shop c1"));
    assert_eq!(key.as_deref(), Some("fp"));

    // Absent records read as absent; a read made twice is right both times.
    let (missing, again, no_key) = f
        .write(move |tx| {
            announce(tx, "c-none", "req-none")?;
            let missing = tx.get_client("c-none")?;
            let again = tx.get_client("c-none")?;
            let no_key = tx.get_idempotency("pay", "c1", "req-none")?;
            Ok((missing.is_none(), again.is_none(), no_key.is_none()))
        })
        .await
        .expect("announced reads of nothing");
    assert!(missing && again && no_key);

    // A write after the announcement: the read after it sees the write.
    let renamed = f
        .write(move |tx| {
            announce(tx, "c1", "req-1")?;
            let mut c = client("c1", "p1");
            c.name = "Renamed".into();
            tx.update_client(&c)?;
            let paid = payment("pay-2", "req-2", PaymentStatus::Success, None, 50);
            tx.insert_payment(&paid)?;
            Ok((
                tx.get_client("c1")?.map(|c| c.name),
                tx.daily_total(DailyParty::Client, "c1", usd(), day)?,
            ))
        })
        .await
        .expect("a write between");
    assert_eq!(renamed, (Some("Renamed".into()), 750));
}

/// Inserts a backend holds back are sent in bounded rounds; every one of them is kept.
async fn a_job_may_insert_many_rows(f: Fixture) {
    f.write(|tx| {
        for i in 0..200 {
            let p = payment(
                &format!("bulk-{i}"),
                &format!("req-bulk-{i}"),
                PaymentStatus::Processing,
                None,
                1,
            );
            tx.insert_payment(&p)?;
        }
        // What a job reads after its inserts sees them.
        Ok(tx.get_payment("bulk-199")?.map(|p| p.payment_id))
    })
    .await
    .expect("two hundred payments in one job");
    for i in [0, 31, 32, 33, 199] {
        let id = format!("bulk-{i}");
        assert!(
            f.read(move |tx| Ok(tx.get_payment(&id)?))
                .await
                .unwrap()
                .is_some(),
            "bulk-{i} kept"
        );
    }
}

async fn a_taken_key_does_not_spoil_the_rest_of_the_transaction(f: Fixture) {
    f.write(|tx| {
        tx.insert_client(&client("c1", "p1"))?;
        let again = tx.insert_client(&client("c1", "p1"));
        assert!(
            matches!(again, Err(walletd_core::StorageError::Duplicate(_))),
            "{again:?}"
        );
        let nonce = tx.claim_once("nonce", "n", t0() + Duration::seconds(5), t0())?;
        let replay = tx.claim_once("nonce", "n", t0() + Duration::seconds(5), t0())?;
        assert!(nonce && !replay);
        tx.insert_user(&User::new("u1", "l1", "U", t0()))?;
        Ok(())
    })
    .await
    .expect("the job handles the taken key and goes on");
    assert!(f.read(|tx| Ok(tx.get_client("c1")?)).await.unwrap().is_some());
    assert!(f.read(|tx| Ok(tx.get_user("u1")?)).await.unwrap().is_some());
}

async fn a_read_job_cannot_write(f: Fixture) {
    f.read(|tx| Ok(tx.insert_client(&client("c1", "p1"))?))
        .await
        .expect_err("a read-only transaction refuses writes");
    assert_eq!(f.read(|tx| Ok(tx.get_client("c1")?)).await.unwrap(), None);
}

async fn a_second_node_sees_what_the_first_committed(f: Fixture) {
    let node2 = f.another_node();
    f.write(|tx| Ok(tx.insert_client(&client("c1", "p1"))?))
        .await
        .expect("insert on node 1");
    assert!(node2.get_client("c1").await.unwrap().is_some());
    node2
        .add_user(User::new("u1", "l1", "U", t0()))
        .await
        .expect("insert on node 2");
    assert!(f.wallet.get_user("u1").await.unwrap().is_some());
    let e = node2
        .write(|_, tx| Ok(tx.insert_client(&client("c1", "p1"))?))
        .await
        .expect_err("the key is taken on the other node too");
    assert!(is_duplicate(&e), "{e:?}");
}

/// A token pair of `user` for `client`, created `minutes` after t0.
fn token(id: &str, user: &str, client: &str, minutes: i64) -> walletd_core::oauth::TokenRecord {
    let at = t0() + Duration::minutes(minutes);
    walletd_core::oauth::TokenRecord {
        token_id: id.into(),
        access_hash: format!("a-{id}"),
        refresh_hash: format!("r-{id}"),
        grant: walletd_core::oauth::Grant {
            client_id: client.into(),
            app_id: None,
            user_id: user.into(),
            scopes: vec![walletd_core::oauth::Scope::AgreementPay],
            agreement_limits: Default::default(),
        },
        created_at: at,
        access_expires_at: at + Duration::days(1),
        refresh_expires_at: at + Duration::days(30),
        rotated_at: None,
        rotated_to: None,
        revoked_at: None,
    }
}

async fn token_pairs_are_read_newest_first_within_a_limit(f: Fixture) {
    f.write(|tx| {
        for (id, user, client, minutes) in [
            ("t0", "u1", "c1", 0),
            ("t1", "u1", "c1", 1),
            ("t2", "u1", "c1", 2),
            ("t3", "u1", "c1", 3),
            ("t4", "u1", "c1", 4),
            ("o1", "u1", "c2", 5),
            ("o2", "u2", "c1", 6),
        ] {
            tx.insert_token(&token(id, user, client, minutes))?;
        }
        Ok(())
    })
    .await
    .expect("tokens");
    let newest = f
        .read(|tx| Ok(tx.list_newest_tokens_of_user("u1", "c1", 3)?))
        .await
        .expect("newest");
    let ids: Vec<&str> = newest.iter().map(|t| t.token_id.as_str()).collect();
    assert_eq!(ids, ["t4", "t3", "t2"], "{}", f.backend());
    let all = f
        .read(|tx| Ok(tx.list_newest_tokens_of_user("u1", "c1", 100)?))
        .await
        .expect("all");
    assert_eq!(all.len(), 5, "only this user's pairs for this client");
}
