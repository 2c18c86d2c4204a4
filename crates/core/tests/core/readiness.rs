//! `Wallet::readiness`, behind `/readyz`: the database answers, the schema is current, a write
//! commits.

use crate::helpers::spawn_wallet;

#[tokio::test]
async fn a_fresh_wallet_is_ready() {
    let w = spawn_wallet().await;
    w.wallet.readiness().await.expect("ready");
    // Twice: each probe writes its own value.
    w.wallet.readiness().await.expect("ready again");
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_walletd_is_not_ready() {
    let w = spawn_wallet().await;
    let conn = rusqlite::Connection::open(&w.db_path).expect("open");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    conn.pragma_update(None, "user_version", version + 1)
        .expect("bump");
    drop(conn);
    let err = w
        .wallet
        .readiness()
        .await
        .expect_err("a newer schema is not ready");
    assert!(err.to_string().contains("schema"), "{err}");
}
