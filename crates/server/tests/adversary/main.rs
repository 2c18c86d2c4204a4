//! The attacker's tests: one binary, one module per area of attack.

mod core_harness;
mod grants;
mod secrets;
mod store_money;
