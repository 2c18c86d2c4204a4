//! The attacker's view of walletd: one test binary, one module per area of attack, each test named
//! after what it pins down.

mod agent_tokens;
mod console;
mod console_harness;
mod core_harness;
mod grants;
mod net_harness;
mod network;
mod notifier;
mod pages;
mod parsing;
mod perf_flat_cost;
mod perf_harness;
mod secrets;
mod signin;
mod signin_harness;
mod store_money;
