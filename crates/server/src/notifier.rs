//! (being built)

use crate::AppState;
use axum::Router;

/// Routes of this part of the server.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Starts the notifier's workers; they stop when `stop` turns true.
pub fn spawn(_state: AppState, _stop: tokio::sync::watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    Vec::new()
}
