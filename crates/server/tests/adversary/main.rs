//! The attacker's view of walletd: one test binary, one module per area.

mod pages;
mod signin;
mod signin_harness;
