//! The OpenAPI document (`crates/server/openapi.json`, served at `GET /openapi.json`) is true to
//! the server: it documents exactly the APIs the server routes, every result code it lists is one
//! the wallet knows, and every request and answer exchanged validates against its schemas.
//!
//! With `WALLETD_OPENAPI_CHECK_LOG` naming an exchange log (written by the server's recorder,
//! `WALLETD_EXCHANGE_LOG`, during a whole test run), that log is checked; otherwise the exchanges
//! of this binary's own flows are.

mod flows;
mod spec;

use flows::{code_of, spawn_app};
use serde_json::{json, Value};
use spec::{violations, Spec};
use std::collections::BTreeSet;
use walletd_protocol::ResultCode;
use walletd_server::openapi::DOCUMENT;

/// Names a recorded exchange log to check instead of running this binary's own flows.
const CHECK_LOG_ENV: &str = "WALLETD_OPENAPI_CHECK_LOG";

fn spec() -> Spec {
    Spec::load(DOCUMENT)
}

#[test]
fn the_document_is_openapi_3_1_and_every_operation_is_described() {
    let spec = spec();
    let doc = &spec.document;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let item = item.as_object().expect("path item");
        assert_eq!(
            item.keys().collect::<Vec<_>>(),
            ["post"],
            "{path}: every API is POST only"
        );
        let op = &item["post"];
        for field in ["summary", "description", "operationId"] {
            assert!(
                op[field].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{path}: no {field}"
            );
        }
        assert!(
            operation_ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{path}: operationId repeated"
        );
        let headers: Vec<String> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .map(|p| {
                let name = p["$ref"]
                    .as_str()
                    .expect("a shared parameter")
                    .rsplit('/')
                    .next()
                    .unwrap();
                doc["components"]["parameters"][name]["name"]
                    .as_str()
                    .expect("name")
                    .to_owned()
            })
            .collect();
        let expected: &[&str] = if path.contains(".0/") {
            &["Merchant-Code", "Request-Time", "Nonce", "Signature"]
        } else {
            &["Client-Id", "Request-Time", "Signature", "Agent-Token"]
        };
        assert_eq!(headers, expected, "{path}: signature headers");
        let answer_headers = op["responses"]["200"]["headers"].as_object().expect("headers");
        for h in ["response-time", "signature"] {
            assert!(answer_headers.contains_key(h), "{path}: answer header {h}");
        }
    }
    // Every shared schema compiles on its own too.
    for (name, _) in doc["components"]["schemas"].as_object().expect("schemas") {
        spec::compile(doc, &json!({"$ref": format!("#/components/schemas/{name}")}));
    }
}

#[test]
fn the_documented_paths_are_exactly_the_apis_the_server_routes() {
    let spec = spec();
    let documented: BTreeSet<&str> = spec.operations.keys().map(String::as_str).collect();
    let routed: BTreeSet<&str> = walletd_server::miniprogram::APIS
        .iter()
        .chain(walletd_server::alphapay::APIS)
        .copied()
        .collect();
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "routed but not documented"
    );
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "documented but not routed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_path_is_served_and_an_undocumented_one_is_not() {
    let spec = spec();
    let app = spawn_app().await;
    for api in spec.operations.keys() {
        let api = api.trim_start_matches('/');
        let v = if api.contains(".0/") {
            app.alphapay(api, json!({})).await
        } else {
            app.call(api, json!({})).await
        };
        assert_ne!(code_of(&v), "INVALID_API", "{api}: {v}");
        assert!(!code_of(&v).is_empty(), "{api}: {v}");
    }
    // The probe can tell: a path that is not an API is answered INVALID_API.
    for api in ["v2/payments/nothing", "v1/customers/user/nothing"] {
        assert_eq!(code_of(&app.call(api, json!({})).await), "INVALID_API", "{api}");
    }
    assert_eq!(
        code_of(&app.alphapay("v2.0/payments/nothing", json!({})).await),
        "INVALID_API"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_openapi_json_serves_the_document_as_json() {
    let app = spawn_app().await;
    let r = reqwest::get(format!("{}/openapi.json", app.base_url))
        .await
        .expect("GET /openapi.json");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let served: Value = r.json().await.expect("JSON");
    assert_eq!(served, serde_json::from_str::<Value>(DOCUMENT).unwrap());
}

#[test]
fn every_listed_result_code_is_one_the_wallet_sends() {
    let spec = spec();
    // AlphaPay's answer to cancelling a paid order is the one code outside the table.
    let known: BTreeSet<&str> = ResultCode::ALL
        .iter()
        .map(|c| c.as_str())
        .chain(["ORDER_PAID"])
        .collect();
    for (path, item) in spec.document["paths"].as_object().unwrap() {
        let op = &item["post"];
        let listed: Vec<&str> = op["x-result-codes"]
            .as_array()
            .expect("x-result-codes")
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let enumerated: Vec<&str> = schema["allOf"][1]["properties"]["result"]["properties"]["resultCode"]
            ["enum"]
            .as_array()
            .expect("an enum on resultCode")
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(listed, enumerated, "{path}: x-result-codes and the enum differ");
        for code in &listed {
            assert!(known.contains(code), "{path}: {code} is not a code of the wallet");
        }
        for code in [
            "SUCCESS",
            "PARAM_ILLEGAL",
            "INVALID_SIGNATURE",
            "UNKNOWN_EXCEPTION",
        ] {
            assert!(listed.contains(&code), "{path}: {code} missing");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_exchanges_match_the_document() {
    let spec = spec();
    let (source, text) = match std::env::var_os(CHECK_LOG_ENV).filter(|v| !v.is_empty()) {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{CHECK_LOG_ENV}={}: {e}", path.to_string_lossy()));
            (path.to_string_lossy().into_owned(), text)
        }
        None => {
            let app = spawn_app().await;
            flows::payments(&app).await;
            flows::authorizations(&app).await;
            flows::alphapay(&app).await;
            let path = flows::exchange_log();
            let text = std::fs::read_to_string(path).expect("the exchange log");
            (path.display().to_string(), text)
        }
    };
    let (checked, failures) = spec.check_log(&text);
    eprintln!("checked {checked} exchanges recorded in {source}");
    assert!(checked > 0, "{source}: no exchange was recorded");
    assert!(
        failures.is_empty(),
        "{} of {checked} exchanges in {source} do not match the document:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The flows covered every documented API.
    if std::env::var_os(CHECK_LOG_ENV).is_none() {
        let seen: BTreeSet<String> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|x| {
                x["response"]["result"]["resultStatus"] == "S"
                    || x["response"]["result"]["resultStatus"] == "A"
                    || x["response"]["result"]["resultCode"] == "PAYMENT_IN_PROCESS"
            })
            .filter_map(|x| {
                spec.operation_of(x["path"].as_str()?)
                    .map(|(api, _)| api.to_owned())
            })
            .collect();
        let all: BTreeSet<String> = spec.operations.keys().cloned().collect();
        let missed: Vec<_> = all.difference(&seen).collect();
        assert!(
            missed.is_empty(),
            "no successful exchange recorded for {missed:?}"
        );
    }
}

#[test]
fn the_validation_rejects_wrong_bodies() {
    let spec = spec();
    let check = |path: &str, request: Value, response: Value| {
        spec.check_exchange(&json!({"path": path, "request": request, "response": response}))
    };
    let ok_result = json!({"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "Success"});
    let pay =
        json!({"appId": "a", "paymentRequestId": "r", "paymentAmount": {"currency": "USD", "value": "100"}});
    let answer = json!({"result": ok_result, "paymentId": "p-1", "paymentTime": "2030-01-01T00:00:00+00:00"});
    assert_eq!(
        check("/api/v2/payments/pay", pay.clone(), answer.clone()),
        Vec::<String>::new()
    );
    // Under another prefix the same API is found.
    assert_eq!(
        check("/wallet/v2/payments/pay", pay.clone(), answer.clone()),
        Vec::<String>::new()
    );

    let mut bad = answer.clone();
    bad["result"]["resultStatus"] = json!("X");
    assert!(
        !check("/api/v2/payments/pay", pay.clone(), bad).is_empty(),
        "resultStatus X"
    );
    let mut bad = answer.clone();
    bad["result"]["resultStatus"] = json!("F");
    assert!(
        !check("/api/v2/payments/pay", pay.clone(), bad).is_empty(),
        "SUCCESS with status F"
    );
    let mut bad = answer.clone();
    bad["result"]["resultCode"] = json!("REFUND_NOT_EXIST");
    assert!(
        !check("/api/v2/payments/pay", pay.clone(), bad).is_empty(),
        "a code pay never sends"
    );
    let mut bad = answer.clone();
    bad["surprise"] = json!(1);
    assert!(
        !check("/api/v2/payments/pay", pay.clone(), bad).is_empty(),
        "an undocumented answer field"
    );
    let mut bad = answer.clone();
    bad["actionForm"] = json!({"actionFormType": "REDIRECTION"});
    assert!(
        !check("/api/v2/payments/pay", pay.clone(), bad).is_empty(),
        "v1's actionForm in v2"
    );

    let mut bad = pay.clone();
    bad["paymentAmount"]["value"] = json!(100);
    assert!(
        !check("/api/v2/payments/pay", bad, answer.clone()).is_empty(),
        "a numeric amount"
    );
    let mut bad = pay.clone();
    bad["paymentRequestId"] = json!("r".repeat(65));
    assert!(
        !check("/api/v2/payments/pay", bad, answer.clone()).is_empty(),
        "too long an id"
    );
    let mut bad = pay.clone();
    bad.as_object_mut().unwrap().remove("appId");
    assert!(
        !check("/api/v2/payments/pay", bad.clone(), answer.clone()).is_empty(),
        "a required field missing"
    );
    // ...unless the server refused it as such.
    let refused = json!({"result": {"resultCode": "PARAM_ILLEGAL", "resultStatus": "F", "resultMessage": "appId: missing"}});
    assert_eq!(check("/api/v2/payments/pay", bad, refused), Vec::<String>::new());

    // A success answer of capture needs its fields; an error answer only carries result.
    let capture = json!({"captureRequestId": "c", "paymentId": "p"});
    let lacking = json!({"result": ok_result, "captureId": "k"});
    assert!(!check("/api/v2/payments/capture", capture.clone(), lacking).is_empty());
    let refusal =
        json!({"result": {"resultCode": "AUTH_NOT_FOUND", "resultStatus": "F", "resultMessage": "no"}});
    assert_eq!(
        check("/api/v2/payments/capture", capture, refusal),
        Vec::<String>::new()
    );

    // AlphaPay amounts are at most 7 digits.
    let ap = json!({"scenarioCode": "ONLINE_QRCODE", "paymentRequestId": "r",
        "order": {"orderAmount": {"currency": "CAD", "value": "12345678"}, "description": "Tea"}});
    let op = spec.operation_of("/api/v2.0/payments/pay").unwrap().1;
    assert!(
        !violations(&op.request, &ap).is_empty(),
        "an 8-digit AlphaPay amount"
    );
    // A recorded log with one bad line reports it.
    let line = json!({"path": "/api/v1/payments/refund", "request": null,
        "response": {"result": {"resultCode": "SUCCESS", "resultStatus": "Y", "resultMessage": ""}}});
    let (checked, failures) = spec.check_log(&format!("{line}\n"));
    assert_eq!((checked, failures.len()), (1, 1), "{failures:?}");
}
