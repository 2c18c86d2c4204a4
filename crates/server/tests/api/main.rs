//! HTTP-boundary tests of the Mini Program dialect: one binary, one module per area.

mod envelope;
mod helpers;
mod metrics;
mod notification_record;
mod payments;
mod tls;
