//! The operator console's records on every backend: operators, the audit log, the payment search
//! with keyset paging, and a payment's related records found by reference.

use crate::backend::{t0, Fixture};
use chrono::{DateTime, Duration, Utc};
use walletd_core::operators::{self, AuditEntry, Operator, OperatorAction, PaymentSearch};
use walletd_core::outbox::{OutboxEntry, OutboxKind, OutboxStatus};
use walletd_core::payments::{Payment, PaymentStatus};

for_each_backend!(
    operators_are_stored_updated_listed_and_removed,
    the_audit_log_pages_newest_first,
    payment_search_filters_and_pages_on_created_at_then_id,
    a_payments_notifications_and_transfers_are_found_by_reference,
    an_operator_action_commits_with_its_audit_line,
);

fn operator(name: &str) -> Operator {
    Operator {
        name: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        failed_attempts: 0,
        created_at: t0(),
    }
}

async fn operators_are_stored_updated_listed_and_removed(f: Fixture) {
    f.write(|tx| {
        tx.insert_operator(&operator("bea"))?;
        tx.insert_operator(&operator("ada"))?;
        Ok(())
    })
    .await
    .unwrap();
    let dup = f.write(|tx| Ok(tx.insert_operator(&operator("ada"))?)).await;
    assert!(dup.is_err(), "a name is taken once");
    f.write(|tx| {
        let mut o = tx.get_operator("ada")?.expect("ada");
        o.failed_attempts = 3;
        tx.update_operator(&o)?;
        Ok(())
    })
    .await
    .unwrap();
    let listed = f.read(|tx| Ok(tx.list_operators()?)).await.unwrap();
    assert_eq!(
        listed.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["ada", "bea"]
    );
    assert_eq!(listed[0].failed_attempts, 3);
    assert!(
        !format!("{:?}", listed[0]).contains("argon2"),
        "Debug hides the hash"
    );
    assert!(f.write(|tx| Ok(tx.delete_operator("ada")?)).await.unwrap());
    assert!(!f.write(|tx| Ok(tx.delete_operator("ada")?)).await.unwrap());
    assert!(f.read(|tx| Ok(tx.get_operator("ada")?)).await.unwrap().is_none());
}

async fn the_audit_log_pages_newest_first(f: Fixture) {
    let ids = f
        .write(|tx| {
            let mut ids = Vec::new();
            for i in 0..5 {
                let e = AuditEntry::new(
                    t0() + Duration::seconds(i),
                    "ada",
                    "freeze_user",
                    &format!("u{i}"),
                    "ACTIVE -> FROZEN",
                );
                ids.push(tx.insert_audit(&e)?);
            }
            Ok(ids)
        })
        .await
        .unwrap();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
    let first = f.read(|tx| Ok(tx.list_audit(None, 2)?)).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.subject.as_str()).collect::<Vec<_>>(),
        ["u4", "u3"]
    );
    assert_eq!(first[0].at, t0() + Duration::seconds(4));
    let before = first[1].id;
    let next = f
        .read(move |tx| Ok(tx.list_audit(Some(before), 10)?))
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|e| e.subject.as_str()).collect::<Vec<_>>(),
        ["u2", "u1", "u0"]
    );
}

fn payment(id: &str, client: &str, status: PaymentStatus, payer: Option<&str>, at: DateTime<Utc>) -> Payment {
    serde_json::from_value(serde_json::json!({
        "payment_id": id,
        "client_id": client,
        "payment_request_id": format!("req-{id}"),
        "channel": "mini_program_v1",
        "scenario": "cashier",
        "currency": "USD",
        "amount_minor": 100,
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
        "extend_info": null,
        "created_at": at,
        "expires_at": at + Duration::minutes(15),
        "paid_at": null,
        "closed_at": null,
        "fail_reason": null,
    }))
    .expect("a payment record")
}

async fn payment_search_filters_and_pages_on_created_at_then_id(f: Fixture) {
    // p0..p9, a second apart, except p4, p5 and p6 which share one instant (ties break on id).
    f.write(|tx| {
        for i in 0..10i64 {
            let at = t0() + Duration::seconds(if (4..=6).contains(&i) { 4 } else { i });
            let client = if i % 2 == 0 { "c-even" } else { "c-odd" };
            let status = if i < 3 {
                PaymentStatus::Success
            } else {
                PaymentStatus::Processing
            };
            let payer = (i < 3).then_some("alice");
            tx.insert_payment(&payment(&format!("p{i}"), client, status, payer, at))?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let page = |s: PaymentSearch, n: u32| {
        f.read(move |tx| {
            Ok(operators::search_payments(tx, &s, n)?
                .into_iter()
                .map(|p| p.payment_id)
                .collect::<Vec<_>>())
        })
    };
    let mut all = Vec::new();
    let mut s = PaymentSearch::default();
    loop {
        let got = f
            .read({
                let s = s.clone();
                move |tx| operators::search_payments(tx, &s, 3)
            })
            .await
            .unwrap();
        all.extend(got.iter().map(|p| p.payment_id.clone()));
        match got.last() {
            Some(last) if got.len() == 3 => s.before = Some((last.created_at, last.payment_id.clone())),
            _ => break,
        }
    }
    assert_eq!(all, ["p9", "p8", "p7", "p6", "p5", "p4", "p3", "p2", "p1", "p0"]);
    let even = PaymentSearch {
        client_id: Some("c-even".into()),
        ..Default::default()
    };
    assert_eq!(page(even, 100).await.unwrap(), ["p8", "p6", "p4", "p2", "p0"]);
    let alice_ok = PaymentSearch {
        payer_user_id: Some("alice".into()),
        status: Some("SUCCESS".into()),
        ..Default::default()
    };
    assert_eq!(page(alice_ok, 100).await.unwrap(), ["p2", "p1", "p0"]);
    let window = PaymentSearch {
        from: Some(t0() + Duration::seconds(3)),
        until: Some(t0() + Duration::seconds(7)),
        ..Default::default()
    };
    assert_eq!(page(window, 100).await.unwrap(), ["p6", "p5", "p4", "p3"]);
    let by_request = PaymentSearch {
        payment_request_id: Some("req-p7".into()),
        ..Default::default()
    };
    assert_eq!(page(by_request, 100).await.unwrap(), ["p7"]);
    let by_id_wrong_client = PaymentSearch {
        payment_id: Some("p7".into()),
        client_id: Some("c-even".into()),
        ..Default::default()
    };
    assert!(page(by_id_wrong_client, 100).await.unwrap().is_empty());
    assert_eq!(
        page(PaymentSearch::default(), 100_000).await.unwrap().len(),
        10,
        "page size is capped, not refused"
    );
}

fn outbox(id: &str, subject: &str) -> OutboxEntry {
    OutboxEntry {
        id: id.into(),
        client_id: "c1".into(),
        kind: OutboxKind::PaymentResult,
        subject_id: subject.into(),
        url: "https://merchant.example/notify".into(),
        snapshot: serde_json::json!({}),
        status: OutboxStatus::Delivered,
        attempts: Vec::new(),
        next_attempt_at: t0(),
        lease_until: None,
        created_at: t0(),
    }
}

async fn a_payments_notifications_and_transfers_are_found_by_reference(f: Fixture) {
    let f = f.seeded().await;
    let p = f.accepted("r-1", 1250, Some("alice")).await;
    let id = p.payment_id.clone();
    let transfers = f
        .read(move |tx| Ok(tx.list_transfers_by_reference(&id, 10)?))
        .await
        .unwrap();
    assert!(!transfers.is_empty(), "the hold of a named payer's payment");
    assert!(transfers.iter().all(|t| t.reference == p.payment_id));
    f.write(|tx| {
        tx.insert_outbox(&outbox("n1", "pay-a"))?;
        tx.insert_outbox(&outbox("n2", "pay-b"))?;
        tx.insert_outbox(&outbox("n3", "pay-a"))?;
        Ok(())
    })
    .await
    .unwrap();
    let of_a = f
        .read(|tx| Ok(tx.list_outbox_of_subject("pay-a", 10)?))
        .await
        .unwrap();
    assert_eq!(
        of_a.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["n1", "n3"]
    );
    let none = f
        .read(|tx| Ok(tx.list_refunds_of_payment("pay-a", 10)?))
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn an_operator_action_commits_with_its_audit_line(f: Fixture) {
    let f = f.seeded().await;
    let now = t0();
    let entry = f
        .write(move |tx| operators::perform(tx, now, "ada", &OperatorAction::FreezeUser("bob".into())))
        .await
        .unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.subject.as_str()),
        ("freeze_user", "bob")
    );
    assert_eq!(entry.detail, "ACTIVE -> FROZEN");
    let audit = f.read(|tx| Ok(tx.list_audit(None, 10)?)).await.unwrap();
    assert_eq!(audit.len(), 1);
    // An action on a record that is not there leaves no audit line.
    let missing = f
        .write(move |tx| operators::perform(tx, now, "ada", &OperatorAction::FreezeUser("nobody".into())))
        .await;
    assert!(missing.is_err());
    assert_eq!(f.read(|tx| Ok(tx.list_audit(None, 10)?)).await.unwrap().len(), 1);
}
