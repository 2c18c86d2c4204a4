//! Exact parsing: a body is one JSON value; bytes after it are refused, whitespace is fine.

use crate::net_harness::*;

#[tokio::test]
async fn a_mini_program_body_with_a_second_json_value_after_the_first_is_param_illegal() {
    let app = spawn(|_| {}).await;
    let send = |body: &'static [u8]| {
        let mp = app.mp.clone();
        async move {
            mp.send("v2/payments/inquiryPayment", body.to_vec(), &Default::default())
                .await
                .expect("a signed answer")
                .result
        }
    };
    let r = send(br#"{"paymentId":"nothing-here"}{"paymentId":"other"}"#).await;
    assert_eq!(
        (r.result_status.as_str(), r.result_code.as_str()),
        ("F", "PARAM_ILLEGAL"),
        "{r:?}"
    );
    let r = send(br#"{"paymentId":"nothing-here"} trailing"#).await;
    assert_eq!(r.result_code, "PARAM_ILLEGAL", "{r:?}");
    // Whitespace after the value is part of well-formed JSON.
    let r = send(b"{\"paymentId\":\"nothing-here\"} \r\n\t").await;
    assert_eq!(r.result_code, "ORDER_NOT_EXIST", "{r:?}");
}

#[tokio::test]
async fn an_alphapay_body_with_a_second_json_value_after_the_first_is_param_illegal() {
    let app = spawn(|_| {}).await;
    let send = |body: &'static [u8]| {
        let ap = app.ap.clone();
        async move {
            ap.send("payments/inquiryPayment", body.to_vec(), &Default::default())
                .await
                .expect("a signed answer")
                .result
        }
    };
    let r = send(br#"{"paymentId":"nothing-here"}{"paymentId":"other"}"#).await;
    assert_eq!(
        (r.result_status.as_str(), r.result_code.as_str()),
        ("F", "PARAM_ILLEGAL"),
        "{r:?}"
    );
    let r = send(b"{\"paymentId\":\"nothing-here\"}\n").await;
    assert_eq!(r.result_code, "ORDER_NOT_EXIST", "{r:?}");
}
