//! (being built)

use crate::AppState;
use axum::Router;

/// Routes of this part of the server.
pub fn router() -> Router<AppState> {
    Router::new()
}
