//! `verify` must notice broken books. Each test breaks them through a raw storage write that no
//! business rule would make, and expects a problem to be reported.

use crate::helpers::{assert_books_sound, spawn_wallet, usd, ALICE, ALICE_USD};
use walletd_core::ledger::{self, AccountKind, Transfer, TransferKind};
use walletd_core::Wallet;

async fn problems(wallet: &Wallet) -> Vec<String> {
    wallet.verify().await.expect("verify runs").problems
}

#[tokio::test]
async fn verify_reports_a_stored_sum_that_its_transfers_do_not_add_up_to() {
    let t = spawn_wallet().await;
    assert_books_sound(&t.wallet).await;
    t.wallet
        .write(|ctx, tx| {
            let mut a = ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd(), ctx.now())?;
            a.credits_posted += 1;
            tx.update_account_balances(&a)?;
            Ok(())
        })
        .await
        .expect("raw write");
    let found = problems(&t.wallet).await;
    assert!(
        found.iter().any(|p| p.contains("transfers add up to")),
        "expected a sum mismatch, got {found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("USD: posted debits")),
        "expected the USD totals to disagree, got {found:?}"
    );
}

#[tokio::test]
async fn verify_reports_a_wrong_pending_sum_even_when_posted_sums_are_right() {
    let t = spawn_wallet().await;
    t.wallet
        .write(|ctx, tx| {
            let mut a = ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd(), ctx.now())?;
            a.debits_pending += 5;
            tx.update_account_balances(&a)?;
            Ok(())
        })
        .await
        .expect("raw write");
    let found = problems(&t.wallet).await;
    assert!(
        found.iter().any(|p| p.contains("USD: pending debits")),
        "got {found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("transfers add up to")),
        "got {found:?}"
    );
}

#[tokio::test]
async fn verify_reports_a_transfer_that_never_reached_the_balances() {
    let t = spawn_wallet().await;
    t.wallet
        .write(|ctx, tx| {
            let now = ctx.now();
            let funding = ledger::funding_account(tx, usd(), now)?;
            let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd(), now)?;
            tx.insert_transfer(&Transfer {
                id: 0,
                kind: TransferKind::Single,
                debit_account_id: funding.id,
                credit_account_id: wallet.id,
                amount_minor: 700,
                currency: usd(),
                pending_id: None,
                timeout_at: None,
                code: "top_up".into(),
                reference: ALICE.into(),
                created_at: now,
            })?;
            Ok(())
        })
        .await
        .expect("raw write");
    let found = problems(&t.wallet).await;
    // Both accounts disagree with their transfers; the per-currency totals still balance.
    assert_eq!(
        found.iter().filter(|p| p.contains("transfers add up to")).count(),
        2,
        "got {found:?}"
    );
}

#[tokio::test]
async fn verify_reports_an_overdrawn_wallet_even_when_every_sum_is_consistent() {
    let t = spawn_wallet().await;
    t.wallet
        .write(|ctx, tx| {
            let now = ctx.now();
            let funding = ledger::funding_account(tx, usd(), now)?;
            let mut wallet = ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd(), now)?;
            let mut funding_after = funding.clone();
            let overdraft = ALICE_USD + 1;
            tx.insert_transfer(&Transfer {
                id: 0,
                kind: TransferKind::Single,
                debit_account_id: wallet.id,
                credit_account_id: funding.id,
                amount_minor: overdraft,
                currency: usd(),
                pending_id: None,
                timeout_at: None,
                code: "raw".into(),
                reference: "raw".into(),
                created_at: now,
            })?;
            wallet.debits_posted += overdraft;
            funding_after.credits_posted += overdraft;
            tx.update_account_balances(&wallet)?;
            tx.update_account_balances(&funding_after)?;
            Ok(())
        })
        .await
        .expect("raw write");
    let found = problems(&t.wallet).await;
    assert_eq!(found.len(), 1, "only the overdraft is wrong, got {found:?}");
    assert!(found[0].contains("overdrawn"), "got {found:?}");
}

#[tokio::test]
async fn verify_reports_money_a_store_key_moved_into_the_wallet_even_with_consistent_sums() {
    // The hole a store key once had: its word moved funding → merchant (`add_payment`), then
    // merchant → a user's wallet (`add_subtract_credit`). Every sum adds up; only the routes
    // give it away.
    let t = spawn_wallet().await;
    t.wallet
        .write(|ctx, tx| {
            let now = ctx.now();
            let funding = ledger::funding_account(tx, usd(), now)?;
            let merchant = ledger::ensure_account(tx, AccountKind::Merchant, "client-demo", usd(), now)?;
            let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd(), now)?;
            let legs = [
                ledger::Leg::Single {
                    debit: funding.id,
                    credit: merchant.id,
                    amount_minor: 4000,
                    code: "store_gateway_payment".into(),
                    reference: "store-order:client-demo:1".into(),
                },
                ledger::Leg::Single {
                    debit: merchant.id,
                    credit: wallet.id,
                    amount_minor: 4000,
                    code: "store_credit_add".into(),
                    reference: "store-credit:client-demo:1".into(),
                },
            ];
            ledger::apply(tx, now, &legs)?.expect("the raw batch is well formed");
            Ok(())
        })
        .await
        .expect("raw write");
    let found = problems(&t.wallet).await;
    assert!(
        found
            .iter()
            .any(|p| p.contains("debits the funding account but is not a top-up")),
        "got {found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("store transfer on wallet-side accounts")),
        "got {found:?}"
    );
    assert!(
        !found.iter().any(|p| p.contains("add up to")),
        "sums are consistent: {found:?}"
    );
}

#[tokio::test]
async fn verify_reports_a_transfer_from_store_credit_to_a_wallet_whatever_its_code() {
    let t = spawn_wallet().await;
    t.wallet
        .write(|ctx, tx| {
            let now = ctx.now();
            let external = ledger::ensure_account(tx, AccountKind::StoreExternal, "client-demo", usd(), now)?;
            let credit = ledger::ensure_account(tx, AccountKind::StoreCredit, "client-demo:1", usd(), now)?;
            let wallet = ledger::ensure_account(tx, AccountKind::UserWallet, ALICE, usd(), now)?;
            let legs = [
                ledger::Leg::Single {
                    debit: external.id,
                    credit: credit.id,
                    amount_minor: 500,
                    code: "store_credit_add".into(),
                    reference: "store-credit:client-demo:1".into(),
                },
                ledger::Leg::Single {
                    debit: credit.id,
                    credit: wallet.id,
                    amount_minor: 500,
                    code: "payment_settle".into(),
                    reference: "disguised".into(),
                },
            ];
            ledger::apply(tx, now, &legs)?.expect("the raw batch is well formed");
            Ok(())
        })
        .await
        .expect("raw write");
    let found = problems(&t.wallet).await;
    assert_eq!(found.len(), 1, "got {found:?}");
    assert!(
        found[0].contains("between the store side and the wallet side"),
        "got {found:?}"
    );
}
