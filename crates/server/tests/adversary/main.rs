//! The attacker's tests: one binary, one module per area.

mod perf_flat_cost;
mod perf_harness;
