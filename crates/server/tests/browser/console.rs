//! The operator console: plain HTTP checks of search, paging and the payment page, and an
//! operator's round in headless Chromium (screenshots in `$WALLETD_ARTIFACTS_DIR`).

use crate::headless::{Browser, WAIT};
use crate::support::*;
use std::collections::HashSet;
use walletd_core::operators::Operator;
use walletd_core::outbox::OutboxStatus;
use walletd_core::parties::PartyStatus;

const OPERATOR: &str = "ops-ada";
const PASSWORD: &str = "correct horse battery";

/// A walletd with its console on (port 0), `page_size` payments a page, and the operator.
async fn console_app(page_size: u32) -> (TestApp, String) {
    let app = spawn_app(|c| {
        c.console_listen = Some("127.0.0.1:0".into());
        c.console.page_size = page_size;
    })
    .await;
    let hash = walletd_server::pin::hash_pin(PASSWORD).expect("hash");
    app.wallet
        .write(move |ctx, tx| {
            Ok(tx.insert_operator(&Operator {
                name: OPERATOR.into(),
                password_hash: hash.clone(),
                failed_attempts: 0,
                created_at: ctx.now(),
            })?)
        })
        .await
        .expect("operator");
    let url = app.state.console_url.as_deref().expect("console on").to_owned();
    (app, url)
}

/// A signed-in console session over plain HTTP: (client, console URL).
async fn signed_in(console: &str) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = http
        .get(format!("{console}/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let a = http
        .post(format!("{console}/sign-in"))
        .form(&[
            ("csrf_token", token_of(&page).as_str()),
            ("name", OPERATOR),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(a.status().as_u16(), 303);
    http
}

fn token_of(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("a form") + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

async fn get(http: &reqwest::Client, url: &str) -> String {
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.text().await.unwrap()
}

/// The payment ids of a payments page, in order, and the link to the next page.
fn rows_and_next(page: &str) -> (Vec<String>, Option<String>) {
    let ids = page
        .split("<a href=\"/payments/")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect();
    let next = page.split("id=\"older\" href=\"").nth(1).map(|s| {
        s[..s.find('"').unwrap()]
            .replace("&amp;", "&")
            .replace("&#x2f;", "/")
    });
    (ids, next)
}

#[tokio::test]
async fn payments_page_newest_first_without_gaps_or_repeats_and_filters_narrow_them() {
    let (app, console) = console_app(3).await;
    let mut made = Vec::new();
    for _ in 0..7 {
        made.push(create_payment(&app, PayOptions::default()).await.0);
    }
    // Alice pays two of them.
    for id in &made[..2] {
        app.wallet.confirm_payment(id, "alice").await.expect("confirm");
    }
    let http = signed_in(&console).await;
    let mut seen = Vec::new();
    let mut next = Some("/payments".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        pages += 1;
        assert!(pages <= 4, "paging does not end");
        let (ids, n) = rows_and_next(&get(&http, &format!("{console}{path}")).await);
        assert!(ids.len() <= 3, "a page holds at most page_size rows");
        seen.extend(ids);
        next = n;
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7, "no repeats");
    let mut newest_first = made.clone();
    newest_first.reverse();
    let created: Vec<_> = {
        let mut ps = Vec::new();
        for id in &seen {
            ps.push(app.wallet.get_payment(id).await.unwrap().unwrap());
        }
        ps
    };
    assert!(
        created
            .windows(2)
            .all(|w| (w[0].created_at, &w[0].payment_id) > (w[1].created_at, &w[1].payment_id)),
        "newest first"
    );

    let (ids, _) = rows_and_next(&get(&http, &format!("{console}/payments?user=alice")).await);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>(),
        made[..2].iter().collect::<HashSet<_>>()
    );
    let (ids, _) = rows_and_next(
        &get(
            &http,
            &format!("{console}/payments?status=SUCCESS&merchant={CLIENT_ID}"),
        )
        .await,
    );
    assert_eq!(ids.len(), 2);
    let (ids, _) = rows_and_next(&get(&http, &format!("{console}/payments?payment_id={}", made[4])).await);
    assert_eq!(ids, vec![made[4].clone()]);
    let p = app.wallet.get_payment(&made[5]).await.unwrap().unwrap();
    let (ids, _) = rows_and_next(
        &get(
            &http,
            &format!("{console}/payments?request_id={}", p.payment_request_id),
        )
        .await,
    );
    assert_eq!(ids, vec![made[5].clone()]);
    let today = p.created_at.format("%Y-%m-%d").to_string();
    let (ids, _) =
        rows_and_next(&get(&http, &format!("{console}/payments?from={today}&until={today}")).await);
    assert_eq!(ids.len(), 3, "first page of today's seven");
    let (ids, _) = rows_and_next(&get(&http, &format!("{console}/payments?until=2000-01-01")).await);
    assert!(ids.is_empty());
}

#[tokio::test]
async fn the_payment_page_shows_its_transfers_and_each_notification_attempt_as_sent_and_answered() {
    let (app, console) = console_app(50).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (id, _) = create_payment(
        &app,
        PayOptions {
            notify_url: Some(merchant.notify_url()),
            ..Default::default()
        },
    )
    .await;
    app.wallet.confirm_payment(&id, "alice").await.expect("confirm");
    let entry = app.settled_notification(&id, WAIT).await;
    assert_eq!(entry.status, OutboxStatus::Delivered);
    let received = merchant.wait_received(1, WAIT).await;
    let http = signed_in(&console).await;
    let page = get(&http, &format!("{console}/payments/{id}")).await;
    // The ledger legs of the payment (its hold and its posting).
    let transfers = page.split("id=\"transfers\"").nth(1).unwrap();
    assert!(transfers.contains("12.50 USD"), "{page}");
    // The exact body the merchant got, and its signature header, as sent.
    let body = String::from_utf8(received[0].body.to_vec()).unwrap();
    let escaped = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;")
    };
    assert!(page.contains(&escaped(&body)), "sent body on the page:\n{page}");
    let signature = received[0].header("signature").expect("signed");
    assert!(page.contains(&escaped(signature)), "the signature header as sent");
    assert!(page.contains("acknowledged"));
    let sent = entry.attempts[0].sent.as_ref().expect("kept what it sent");
    assert_eq!(sent.body, body);
    assert!(!sent.body_truncated);

    // Resend, through its confirmation page: queued again, due now, and in the audit log.
    let confirm = get(
        &http,
        &format!(
            "{console}/confirm?action=resend_notification&subject={}",
            entry.id
        ),
    )
    .await;
    let done = http
        .post(format!("{console}/actions"))
        .form(&[
            ("csrf_token", token_of(&confirm).as_str()),
            ("action", "resend_notification"),
            ("subject", entry.id.as_str()),
            ("confirmed", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 303);
    let audit = get(&http, &format!("{console}/audit")).await;
    assert!(
        audit.contains("resend_notification") && audit.contains(&entry.id),
        "{audit}"
    );
    assert!(audit.contains("DELIVERED -&gt; PENDING, due now"), "{audit}");
    // The notifier sends it again, with the same id.
    let again = merchant.wait_received(2, WAIT).await;
    assert_eq!(again[1].body, received[0].body);
}

#[tokio::test]
async fn an_operator_searches_opens_a_payment_freezes_a_user_and_finds_it_in_the_audit_log_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, console) = console_app(50).await;
    let merchant = FakeMerchant::start(Answer::Ack).await;
    let (paid, _) = create_payment(
        &app,
        PayOptions {
            title: "Three pots of oolong",
            notify_url: Some(merchant.notify_url()),
            ..Default::default()
        },
    )
    .await;
    app.wallet.confirm_payment(&paid, "alice").await.expect("confirm");
    app.settled_notification(&paid, WAIT).await;
    for _ in 0..3 {
        create_payment(&app, PayOptions::default()).await;
    }

    browser
        .client
        .goto(&format!("{console}/payments"))
        .await
        .expect("open");
    assert!(browser.url().await.ends_with("/sign-in"), "signed out first");
    browser.type_into("name", OPERATOR).await;
    browser.type_into("password", "a wrong password").await;
    browser.click("sign-in").await;
    assert!(browser.text_of("notice").await.contains("Wrong name or password"));
    browser.screenshot("console-sign-in-refused.png").await;
    browser.type_into("name", OPERATOR).await;
    browser.type_into("password", PASSWORD).await;
    browser.click("sign-in").await;
    assert_eq!(browser.text_of("operator").await, OPERATOR);
    browser.element("payments").await;
    browser.screenshot("console-payments.png").await;

    browser.type_into("user", "alice").await;
    browser.click("search").await;
    wait_for(WAIT, || async {
        browser.url().await.contains("user=alice").then_some(())
    })
    .await
    .expect("the search page loads");
    let table = browser.text_of("payments").await;
    assert!(table.contains(&paid) && table.contains("SUCCESS"), "{table}");
    browser.screenshot("console-payments-search.png").await;

    browser
        .client
        .goto(&format!("{console}/payments/{paid}"))
        .await
        .expect("open");
    assert_eq!(browser.text_of("payment-status").await, "SUCCESS");
    assert_eq!(browser.text_of("payment-amount").await, "12.50 USD");
    assert!(browser.text_of("sent-body-1").await.contains(&paid));
    browser.screenshot("console-payment.png").await;

    browser
        .client
        .goto(&format!("{console}/users"))
        .await
        .expect("open");
    browser.click("freeze-bob").await;
    assert!(browser.text_of("description").await.contains("Freeze user bob"));
    browser.screenshot("console-confirm-freeze.png").await;
    browser.click("confirm").await;
    let audit = browser.text_of("audit").await;
    assert!(
        audit.contains("freeze_user") && audit.contains("bob") && audit.contains(OPERATOR),
        "{audit}"
    );
    browser.screenshot("console-audit.png").await;
    assert_eq!(
        app.wallet.get_user("bob").await.unwrap().unwrap().status,
        PartyStatus::Frozen
    );
    browser
        .client
        .goto(&format!("{console}/users"))
        .await
        .expect("open");
    assert_eq!(browser.text_of("status-bob").await, "FROZEN");

    browser
        .client
        .goto(&format!("{console}/books"))
        .await
        .expect("open");
    assert_eq!(browser.text_of("books-state").await, "The books balance.");
    browser.screenshot("console-books.png").await;
    browser
        .client
        .goto(&format!("{console}/outbox"))
        .await
        .expect("open");
    browser.screenshot("console-outbox.png").await;
    browser.click("sign-out").await;
    wait_for(WAIT, || async {
        browser.url().await.contains("/sign-in").then_some(())
    })
    .await
    .expect("signed out, on the sign-in page");
    browser.close().await;
}

#[tokio::test]
async fn the_books_page_offers_the_days_settlement_report_as_the_cli_prints_it() {
    let (app, console) = console_app(50).await;
    let (id, _) = create_payment(&app, PayOptions::default()).await;
    app.wallet.confirm_payment(&id, "alice").await.expect("confirm");
    let http = signed_in(&console).await;
    let books = get(&http, &format!("{console}/books")).await;
    assert!(books.contains("action=\"/reports/settlement.csv\""), "{books}");
    let today = app.wallet.now().date_naive();
    let r = http
        .get(format!("{console}/reports/settlement.csv?date={today}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("settlement-{today}.csv")));
    let csv = r.text().await.unwrap();
    let expected = app
        .wallet
        .settlement_report(today, None)
        .await
        .expect("report")
        .to_csv();
    assert_eq!(csv, expected);
    assert!(csv.contains(&id), "the day's payment is in the report:\n{csv}");
    // Without a session there is no report, and a bad date gets a clear answer.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = anonymous
        .get(format!("{console}/reports/settlement.csv?date={today}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let r = http
        .get(format!("{console}/reports/settlement.csv?date=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
