//! HTTP-boundary tests of the AlphaPay dialect (issue 6): one binary, one module per area.

mod envelope;
mod flow;
mod helpers;
mod payments;
