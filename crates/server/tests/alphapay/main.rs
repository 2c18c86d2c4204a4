//! HTTP-boundary tests of the AlphaPay dialect: one binary, one module per area.

mod envelope;
mod flow;
mod helpers;
mod payments;
