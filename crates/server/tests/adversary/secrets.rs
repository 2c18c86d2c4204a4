//! Secrets stay secret.
