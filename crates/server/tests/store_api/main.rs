//! The WS.WebTV `api.php` store dialect at the HTTP boundary: every action and every
//! error, both signature modes, both body encodings, and the wallet settling store orders.

mod auth;
mod credit;
mod cross_dialect;
mod helpers;
mod orders;
mod postgres;
