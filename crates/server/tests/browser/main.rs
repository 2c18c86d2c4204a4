//! The cashier pages: plain HTTP checks (`pages`) and the real-browser flows (`chromium`).

mod chromium;
mod pages;
mod support;
