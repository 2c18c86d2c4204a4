//! A fake merchant for the multi-node test (`walletd_testkit::merchant::FakeMerchant`): receives
//! notifications, records each one, and refuses every third *first* delivery (answering `F` after
//! recording it, as a merchant whose database write failed would), so walletd must deliver those
//! again.

use axum::response::IntoResponse;
use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use walletd_testkit::merchant;

#[derive(Default)]
struct Book {
    first_seen: BTreeSet<String>,
    firsts: usize,
}

pub struct FakeMerchant(merchant::FakeMerchant);

impl Deref for FakeMerchant {
    type Target = merchant::FakeMerchant;

    fn deref(&self) -> &merchant::FakeMerchant {
        &self.0
    }
}

impl FakeMerchant {
    pub async fn start() -> FakeMerchant {
        let book = Arc::new(Mutex::new(Book::default()));
        FakeMerchant(
            merchant::FakeMerchant::start(move |received, _| {
                let json: serde_json::Value = serde_json::from_slice(&received.body).unwrap_or_default();
                let payment_id = json["paymentId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let refuse = {
                    let mut book = book.lock().expect("lock");
                    if book.first_seen.insert(payment_id) {
                        book.firsts += 1;
                        book.firsts % 3 == 0
                    } else {
                        false
                    }
                };
                let (code, status) = if refuse {
                    ("PROCESS_FAIL", "F")
                } else {
                    ("SUCCESS", "S")
                };
                let answer = format!(
                    r#"{{"result":{{"resultCode":"{code}","resultStatus":"{status}","resultMessage":"{code}"}}}}"#
                );
                Box::pin(async move { answer.into_response() })
            })
            .await,
        )
    }

    pub fn notify_url(&self) -> String {
        self.url("/notify")
    }
}
