//! The cashier pages: plain HTTP checks (`pages`) and the real-browser flows (`chromium`); the
//! operator console (`console`).

mod chromium;
mod console;
#[path = "../common/headless.rs"]
mod headless;
mod pages;
mod support;
mod wallet_pages;
