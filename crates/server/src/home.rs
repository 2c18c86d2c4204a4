//! `GET /`: a small page that says what this server is and where to start.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use minijinja::Environment;
use std::sync::OnceLock;

use crate::AppState;

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        if let Err(e) = env.add_template("home.html", include_str!("../templates/home.html")) {
            tracing::error!(error = %e, "home page template does not compile");
        }
        env
    })
}

/// The home page: the APIs this server speaks, at which paths, and links to the docs.
pub async fn page(State(state): State<AppState>) -> impl IntoResponse {
    let config = &state.config;
    let context = minijinja::context! {
        base => state.public_base_url.as_ref(),
        sandbox => config.sandbox,
        mini_prefix => config.mini_program.prefixes.first().map(String::as_str).unwrap_or("/api"),
        alphapay_prefix => config.alphapay.prefix.as_str(),
        console => state.console_url.as_deref(),
    };
    let body = environment()
        .get_template("home.html")
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering the home page failed");
            "<!doctype html><title>walletd</title><p>walletd is running.</p>".into()
        });
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        )],
        Html(body),
    )
}
