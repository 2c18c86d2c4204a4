//! The attacker's tests: one binary, one module per area of attack.

mod net_harness;
mod network;
mod notifier;
mod parsing;
