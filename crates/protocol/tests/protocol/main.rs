//! Integration tests of `walletd-protocol`: one test binary, one module per area.

mod content;
mod crypto;
mod signature_header;
mod store_signature;
mod time;
