//! Moving a wallet from SQLite to PostgreSQL: `export_sqlite` then `postgres::import`. Everything
//! arrives (same ids, same sums, same documents), the books still balance, and the moved wallet
//! keeps working: its idempotency keys still answer, new ids continue after the old ones.

use crate::backend::{usd_minor, Fixture, ALICE, BOB, CLIENT};
use std::io::Cursor;
use walletd_core::payments::PayOutcome;
use walletd_core::storage::dump::{self, DumpLine};
use walletd_core::storage::postgres;
use walletd_core::Wallet;

/// A SQLite wallet with a bit of everything: paid, refunded, held, expired and cancelled
/// payments, notifications pending and delivered, a used nonce.
async fn busy_sqlite_wallet() -> Fixture {
    let f = Fixture::sqlite().await.seeded().await;
    let paid = f.accepted("req-paid", 4_000, None).await;
    f.wallet
        .confirm_payment(&paid.payment_id, ALICE)
        .await
        .expect("confirm");
    f.wallet
        .refund(f.refund_cmd("rf-1", &paid.payment_id, 1_500))
        .await
        .expect("refund");
    f.accepted("req-held", 2_000, Some(BOB)).await;
    f.accepted("req-expiring", 700, Some(ALICE)).await;
    let cancelled = f.accepted("req-cancelled", 300, Some(ALICE)).await;
    let by_id = walletd_core::payments::PaymentRef {
        payment_id: Some(cancelled.payment_id.clone()),
        payment_request_id: None,
    };
    f.wallet
        .cancel_payment(CLIENT, None, by_id)
        .await
        .expect("cancel");
    f.advance_secs(10 * 60);
    f.accepted("req-late", 100, Some(BOB)).await;
    f.advance_secs(6 * 60);
    assert_eq!(
        f.wallet.expire_due(10).await.expect("sweep"),
        2,
        "held and expiring"
    );
    let claimed = f.wallet.claim_notifications(30, 1).await.expect("claim");
    let attempt = walletd_core::outbox::Attempt {
        at: f.wallet.now(),
        http_status: Some(200),
        latency_ms: 3,
        answer: "SUCCESS".into(),
        delivered: true,
        sent: None,
    };
    f.wallet
        .record_attempt(&claimed[0].id, attempt, None)
        .await
        .expect("record");
    assert!(f.wallet.claim_once("nonce", "n-1", 3600).await.expect("nonce"));
    f.assert_sound().await;
    f
}

fn export(f: &Fixture) -> (Vec<u8>, dump::DumpSummary) {
    let mut out: Vec<u8> = Vec::new();
    let summary = dump::export_sqlite(f.sqlite_path().expect("a sqlite fixture"), &mut out).expect("export");
    (out, summary)
}

/// Everything a wallet holds that `Wallet` can list, section by section, in a comparable form.
async fn contents(w: &Wallet) -> Vec<(&'static str, String)> {
    let accounts = w.accounts().await.expect("accounts");
    let transfers = w
        .read(|_, tx| Ok(tx.list_transfers(0, 10_000)?))
        .await
        .expect("transfers");
    let payments = w.list_payments(None, 1000).await.expect("payments");
    let notes = w.list_notifications(1000).await.expect("notifications");
    let clients = w.list_clients().await.expect("clients");
    let users = w.list_users().await.expect("users");
    vec![
        ("accounts", format!("{accounts:?}")),
        ("transfers", format!("{transfers:?}")),
        ("payments", format!("{payments:?}")),
        ("notifications", format!("{notes:?}")),
        ("clients", format!("{clients:?}")),
        ("users", format!("{users:?}")),
    ]
}

async fn assert_same_contents(moved: &Wallet, original: &Wallet) {
    for ((name, a), (_, b)) in contents(moved).await.into_iter().zip(contents(original).await) {
        assert!(
            a == b,
            "{name} differ after the move:\n moved:    {a}\n original: {b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_moves_from_sqlite_to_postgres_without_losing_a_cent() {
    let Some(pg) = Fixture::postgres().await else {
        return;
    };
    let src = busy_sqlite_wallet().await;
    let (bytes, exported) = export(&src);
    assert!(exported.rows["transfers"] >= 8, "{exported:?}");

    let imported = postgres::import(pg.postgres_url().expect("pg"), &mut Cursor::new(bytes)).expect("import");
    let nonzero = |s: &dump::DumpSummary| s.rows.iter().filter(|(_, n)| **n > 0).count();
    assert_eq!(nonzero(&imported), nonzero(&exported));
    for (table, n) in &imported.rows {
        assert_eq!(exported.rows.get(table), Some(n), "{table}");
    }

    assert_same_contents(&pg.wallet, &src.wallet).await;
    let (before, after) = (
        src.wallet.verify().await.unwrap(),
        pg.wallet.verify().await.unwrap(),
    );
    assert!(after.is_sound(), "{:?}", after.problems);
    assert_eq!(after.totals, before.totals);
    assert_eq!(pg.balance(ALICE).await, src.balance(ALICE).await);
    assert_eq!(pg.balance(BOB).await, src.balance(BOB).await);

    // The moved wallet goes on: keys answer as before, new ids follow the old ones.
    let repeat = pg
        .wallet
        .pay(pg.pay_cmd("req-paid", 4_000, None))
        .await
        .expect("repeat");
    let PayOutcome::Succeeded(p) = repeat else {
        panic!("{repeat:?}")
    };
    assert_eq!(p.refunded_minor, 1_500);
    assert!(
        !pg.wallet.claim_once("nonce", "n-1", 3600).await.unwrap(),
        "a used nonce stays used"
    );
    let last_transfer = after.transfers_checked as i64;
    let new_id = pg
        .wallet
        .top_up(BOB, usd_minor(1))
        .await
        .expect("top up after the move");
    assert!(new_id > last_transfer, "{new_id} after {last_transfer}");
    pg.wallet
        .add_user(walletd_core::parties::User::new(
            "carol",
            "+3",
            "Carol",
            crate::backend::t0(),
        ))
        .await
        .expect("add user");
    pg.wallet
        .top_up("carol", usd_minor(5))
        .await
        .expect("a new account after the move");
    pg.assert_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_refuses_bad_dumps_and_leaves_nothing_behind() {
    let Some(pg) = Fixture::postgres().await else {
        return;
    };
    let url = pg.postgres_url().expect("pg").to_owned();
    let src = busy_sqlite_wallet().await;
    let (bytes, _) = export(&src);
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    let import = |body: String| postgres::import(&url, &mut Cursor::new(body.into_bytes()));

    let cut = lines[..lines.len() - 3].join("\n");
    let e = import(cut).expect_err("a dump without its end line");
    assert!(e.to_string().contains("cut short"), "{e}");

    let mut miscounted = lines.clone();
    miscounted.remove(3);
    let e = import(miscounted.join("\n")).expect_err("a dump missing a row");
    assert!(e.to_string().contains("end line counts"), "{e}");

    let newer = text.replacen(
        &format!("\"schema_version\":{}", postgres::schema_version()),
        "\"schema_version\":999",
        1,
    );
    let e = import(newer).expect_err("another schema version");
    assert!(e.to_string().contains("schema version 999"), "{e}");

    let mut extra = lines.clone();
    let row = extra
        .iter()
        .position(|l| l.contains("\"table\":\"accounts\""))
        .expect("an account row");
    let mut line: DumpLine = serde_json::from_str(extra[row]).expect("a row");
    if let DumpLine::Row { row, .. } = &mut line {
        row.insert("nickname".into(), serde_json::Value::from("x"));
    }
    let changed = serde_json::to_string(&line).expect("json");
    extra[row] = &changed;
    let e = import(extra.join("\n")).expect_err("a column the table does not have");
    assert!(e.to_string().contains("nickname"), "{e}");

    // None of that left a row behind: the whole dump still goes in, once.
    assert!(pg.wallet.accounts().await.unwrap().is_empty());
    import(text.clone()).expect("the good dump");
    let e = import(text).expect_err("a second import into a wallet with data");
    assert!(e.to_string().contains("not empty"), "{e}");
    assert_same_contents(&pg.wallet, &src.wallet).await;
}

#[tokio::test]
async fn both_backends_run_the_same_number_of_migrations() {
    let f = Fixture::sqlite().await;
    let version = dump::sqlite_schema_version(f.sqlite_path().expect("sqlite")).expect("version");
    assert_eq!(
        version,
        postgres::schema_version(),
        "each SQLite migration needs its PostgreSQL twin in storage/postgres.rs (same tables, same columns)"
    );
}
