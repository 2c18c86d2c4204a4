//! The cashier pages: plain HTTP checks (`pages`) and the real-browser flows (`chromium`).

mod chromium;
#[path = "../common/headless.rs"]
mod headless;
mod pages;
mod support;
mod wallet_pages;
