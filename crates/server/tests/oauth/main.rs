//! Mini-program OAuth and the payment scenarios beyond the cashier, at the HTTP
//! boundary: the consent and payment-code pages, applyToken v1/v2, cancelToken, the user-info
//! inquiries, agreement payments, payment codes, authorization and capture, and evaluation.

mod agreement;
mod app;
mod authorization;
mod browser;
mod consent;
mod evaluation;
#[path = "../common/headless.rs"]
mod headless;
mod payment_code;
mod tokens;
mod user_info;
