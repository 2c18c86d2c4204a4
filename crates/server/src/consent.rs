//! The wallet user's own pages for mini programs, server-rendered with plain forms:
//!
//! - `GET  /oauth/authorize?clientId=…&appId=…&scopes=auth_user,USER_NICKNAME&redirectUrl=…&state=…`
//!   the consent page of `my.getAuthCode`: who asks, for what, and a sign-in (login + PIN). With
//!   `AGREEMENT_PAY` the user also sets the largest payment the mini program may take without
//!   asking (`agreementCurrency`, `agreementLimit` propose one, in major units).
//! - `POST /oauth/authorize` grants (a single-use auth code, valid `oauth.auth_code_ttl_secs`) or
//!   declines. With a `redirectUrl` the browser goes back there with `authCode` and `state` (or
//!   `error=ACCESS_DENIED`); without one the page shows the code.
//! - `GET/POST /wallet/payment-code` signs the user in and shows a one-time payment code for a
//!   till to scan (in-store payment, `isPaymentCode`).
//! - `GET  /wallet/users/{userId}/avatar` the avatar `USER_AVATAR` points at (initials, SVG).
//!
//! There is no session: each form carries the sign-in, checked with the same PIN rules and the
//! same lock-out counter as the cashier (`cashier.max_pin_attempts`). Every form carries a CSRF
//! token bound to this browser (the cashier's HMAC over a visitor cookie). The layout is the
//! cashier's `base.html`; our templates are `templates/consent*.html`. The pages speak the user's
//! language (`crate::i18n`); the payment code is also shown as a QR code (a PNG data URL, allowed by
//! `img-src data:`).

use crate::i18n::{Lang, PageLang};
use crate::pin::{ClientAddress, SignInRefusal};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{middleware, Form, Router};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fluent_templates::fluent_bundle::FluentValue;
use minijinja::Environment;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use walletd_core::oauth::{parse_scopes, scopes_text, Grant, IssuedCode, Scope};
use walletd_core::parties::{Client, PartyStatus, User};
use walletd_core::CoreError;
use walletd_protocol::{Amount, Currency};

const VISITOR_COOKIE: &str = "walletd_wallet_visitor";
const COOKIE_PATH: &str = "/";
/// CSRF subjects: a token for one form is no good for the other.
const CONSENT_FORM: &str = "oauth-consent";
const PAYMENT_CODE_FORM: &str = "payment-code";

/// Routes of the wallet user's pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(show_consent).post(decide))
        .route(
            "/wallet/payment-code",
            get(show_payment_code).post(issue_payment_code),
        )
        .route("/wallet/users/{user_id}/avatar", get(avatar))
        .layer(middleware::map_response(page_headers))
}

/// Where the avatar of `user_id` is served.
pub fn avatar_url(state: &AppState, user_id: &str) -> String {
    match reqwest::Url::parse(&format!("{}/", state.public_base_url)) {
        Ok(mut url) => {
            if let Ok(mut segments) = url.path_segments_mut() {
                segments
                    .pop_if_empty()
                    .extend(["wallet", "users", user_id, "avatar"]);
            }
            url.to_string()
        }
        Err(_) => format!("{}/wallet/users/{user_id}/avatar", state.public_base_url),
    }
}

/// Never cached, never framed (no clickjacking of "Allow"), no scripts; images only from `data:`
/// URLs (the payment code's QR code).
async fn page_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self' http: https:",
    ));
    response
}

// ---- templates ----

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        crate::i18n::install(&mut env);
        let templates = [
            // The cashier's layout and message page, shared as they are.
            ("base.html", include_str!("../templates/cashier/base.html")),
            ("message.html", include_str!("../templates/cashier/message.html")),
            ("consent.html", include_str!("../templates/consent.html")),
            (
                "consent_granted.html",
                include_str!("../templates/consent_granted.html"),
            ),
            (
                "consent_payment_code.html",
                include_str!("../templates/consent_payment_code.html"),
            ),
        ];
        for (name, source) in templates {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "consent template does not compile");
            }
        }
        env
    })
}

fn render<S: Serialize>(template: &str, pl: &PageLang, context: &S) -> String {
    crate::cashier::views::render_in(environment(), template, pl, context)
}

#[derive(Serialize)]
struct MessagePage {
    title: String,
    heading: String,
    text: String,
    link: Option<String>,
    link_text: &'static str,
}

/// A page with the heading of message id `heading` and a text in the page's language.
fn message(pl: &PageLang, status: StatusCode, heading: &str, text: impl Into<String>) -> Response {
    let page = MessagePage {
        title: pl.lang.t(heading),
        heading: pl.lang.t(heading),
        text: text.into(),
        link: None,
        link_text: "",
    };
    (status, Html(render("message.html", pl, &page))).into_response()
}

fn internal(pl: &PageLang, e: CoreError) -> Response {
    tracing::error!(error = %e, "wallet page failed");
    message(
        pl,
        StatusCode::INTERNAL_SERVER_ERROR,
        "error-title",
        pl.lang.t("error-text"),
    )
}

// ---- CSRF ----

/// The browser's random id (signed cookie), made on its first visit.
fn visitor_id(state: &AppState, jar: SignedCookieJar) -> (SignedCookieJar, String) {
    if let Some(c) = jar.get(VISITOR_COOKIE) {
        return (jar, c.value().to_owned());
    }
    let mut raw = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let id = URL_SAFE_NO_PAD.encode(raw);
    let cookie = Cookie::build((VISITOR_COOKIE, id.clone()))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.public_base_url.starts_with("https://"))
        .build();
    (jar.add(cookie), id)
}

fn csrf_ok(state: &AppState, jar: &SignedCookieJar, form: &str, token: &str) -> bool {
    jar.get(VISITOR_COOKIE)
        .is_some_and(|v| state.cashier_secrets.csrf_ok(v.value(), form, token))
}

fn csrf_refused(pl: &PageLang) -> Response {
    message(
        pl,
        StatusCode::FORBIDDEN,
        "form-expired-title",
        pl.lang.t("form-expired-text"),
    )
}

// ---- sign-in ----

/// Why a sign-in did not give a user; the text is what the page shows (never echoes input).
fn sign_in_notice(code: &str, lang: Lang) -> String {
    match code {
        "locked" => lang.t("notice-locked"),
        "frozen" => lang.t("notice-frozen"),
        _ => lang.t("notice-wrong-pin"),
    }
}

/// The notice of a refused sign-in; after a wrong PIN it says how many tries are left.
async fn refusal_notice(
    state: &AppState,
    lang: Lang,
    refusal: SignInRefusal,
    login: &str,
) -> Result<String, CoreError> {
    if refusal != SignInRefusal::WrongPin {
        return Ok(sign_in_notice(refusal.code(), lang));
    }
    Ok(match crate::cashier::tries_left(state, login).await? {
        0 => sign_in_notice("locked", lang),
        n => format!(
            "{} {}",
            sign_in_notice("wrong_pin", lang),
            lang.t_with("notice-tries-left", &[("tries", FluentValue::from(n))])
        ),
    })
}

/// Login + PIN → the active user, or why not. Wrong PINs count towards the same lock-out as at
/// the cashier; a right one resets the count.
async fn sign_in(
    state: &AppState,
    from: ClientAddress,
    login: &str,
    pin: String,
) -> Result<Result<User, SignInRefusal>, CoreError> {
    crate::pin::sign_in(state, from, login, pin).await
}

/// The page for a sign-in turned away under load (429 throttled, 503 every PIN checker busy).
fn try_again_shortly(pl: &PageLang, status: StatusCode) -> Response {
    let mut response = message(pl, status, "busy-title", pl.lang.t("busy-text"));
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::pin::RETRY_AFTER_SECS),
    );
    response
}

// ---- registered redirect URLs ----

/// Checks a redirect URL an operator registers for a client: an absolute `http`/`https` URL
/// with a host, no user info and no fragment. Returns it as it will be compared.
pub fn registrable_redirect_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} is not an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?} must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(format!("{text:?} must not have a #fragment"));
    }
    Ok(url.to_string())
}

/// True if `asked` is one of `client`'s registered redirect URLs: the same scheme, host, port and
/// path exactly (after URL normalisation: case of scheme and host, default ports); the query may
/// differ (a mini program puts its own state there); no fragment, no user info. A client with no
/// registered URL gets its codes shown on the page, never sent anywhere.
fn redirect_registered(client: &Client, asked: &reqwest::Url) -> bool {
    if asked.fragment().is_some() || !asked.username().is_empty() || asked.password().is_some() {
        return false;
    }
    client.redirect_urls.iter().any(|r| {
        reqwest::Url::parse(r).is_ok_and(|r| {
            r.scheme() == asked.scheme()
                && r.host() == asked.host()
                && r.port_or_known_default() == asked.port_or_known_default()
                && r.path() == asked.path()
        })
    })
}

// ---- consent ----

/// What the mini program asks for (the query of the consent page, repeated in its form).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsentQuery {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    redirect_url: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    agreement_currency: Option<String>,
    #[serde(default)]
    agreement_limit: Option<String>,
}

/// A checked consent request.
struct Asked {
    client: Client,
    app_id: Option<String>,
    scopes: Vec<Scope>,
    redirect_url: Option<String>,
    state: Option<String>,
}

/// Why a consent link cannot be served: a message id, and for an unknown scope what was wrong.
struct LinkProblem {
    id: &'static str,
    detail: Option<String>,
}

impl LinkProblem {
    fn new(id: &'static str) -> Self {
        LinkProblem { id, detail: None }
    }

    fn text(&self, lang: Lang) -> String {
        match &self.detail {
            Some(d) => lang.t_with(self.id, &[("detail", FluentValue::from(d.clone()))]),
            None => lang.t(self.id),
        }
    }
}

async fn check_asked(state: &AppState, q: &ConsentQuery) -> Result<Result<Asked, LinkProblem>, CoreError> {
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    if q.client_id.is_empty() || q.client_id.len() > 128 {
        return Ok(Err(LinkProblem::new("link-no-client")));
    }
    let Some(client) = state.wallet.get_client(&q.client_id).await? else {
        return Ok(Err(LinkProblem::new("link-unknown-client")));
    };
    if client.status != PartyStatus::Active {
        return Ok(Err(LinkProblem::new("link-inactive-client")));
    }
    let app_id = non_empty(&q.app_id);
    if let Some(app) = &app_id {
        if app.len() > 32 || (!client.app_ids.is_empty() && !client.app_ids.contains(app)) {
            return Ok(Err(LinkProblem::new("link-unknown-app")));
        }
    }
    let scopes = match parse_scopes(&q.scopes) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Err(LinkProblem {
                id: "link-unknown-scope",
                detail: Some(e),
            }))
        }
    };
    let redirect_url = non_empty(&q.redirect_url);
    if let Some(u) = &redirect_url {
        let parsed = reqwest::Url::parse(u)
            .ok()
            .filter(|p| u.len() <= 2048 && matches!(p.scheme(), "http" | "https"));
        let Some(parsed) = parsed else {
            return Ok(Err(LinkProblem::new("link-redirect-not-web")));
        };
        if !redirect_registered(&client, &parsed) {
            tracing::warn!(client_id = %client.client_id, "consent refused: redirectUrl not registered for the client");
            return Ok(Err(LinkProblem::new("link-redirect-unregistered")));
        }
    }
    let st = non_empty(&q.state);
    if st.as_ref().is_some_and(|s| s.len() > 512) {
        return Ok(Err(LinkProblem::new("link-too-long")));
    }
    Ok(Ok(Asked {
        client,
        app_id,
        scopes,
        redirect_url,
        state: st,
    }))
}

#[derive(Serialize)]
struct ScopeView {
    name: &'static str,
    description: String,
}

#[derive(Serialize)]
struct ConsentPage {
    title: String,
    merchant_name: String,
    client_id: String,
    app_id: Option<String>,
    scopes: Vec<ScopeView>,
    scopes_text: String,
    agreement: bool,
    agreement_currency: String,
    agreement_limit: String,
    redirect_url: Option<String>,
    state: Option<String>,
    login: String,
    notice: Option<String>,
    csrf_token: String,
}

/// The scopes as the page lists them, described in `lang`.
fn scope_views(scopes: &[Scope], lang: Lang) -> Vec<ScopeView> {
    scopes
        .iter()
        .map(|s| {
            let id = format!("scope-{}", s.as_str());
            ScopeView {
                name: s.as_str(),
                description: if lang.has(&id) {
                    lang.t(&id)
                } else {
                    s.description().to_owned()
                },
            }
        })
        .collect()
}

fn consent_page(
    lang: Lang,
    asked: &Asked,
    q: &ConsentQuery,
    csrf_token: String,
    login: &str,
    notice: Option<String>,
) -> ConsentPage {
    ConsentPage {
        title: lang.t_with(
            "consent-title",
            &[("merchant", FluentValue::from(asked.client.name.clone()))],
        ),
        merchant_name: asked.client.name.clone(),
        client_id: asked.client.client_id.clone(),
        app_id: asked.app_id.clone(),
        scopes: scope_views(&asked.scopes, lang),
        scopes_text: scopes_text(&asked.scopes),
        agreement: asked.scopes.contains(&Scope::AgreementPay),
        agreement_currency: q.agreement_currency.clone().unwrap_or_default(),
        agreement_limit: q.agreement_limit.clone().unwrap_or_default(),
        redirect_url: asked.redirect_url.clone(),
        state: asked.state.clone(),
        login: login.to_owned(),
        notice,
        csrf_token,
    }
}

async fn show_consent(
    State(state): State<AppState>,
    Query(q): Query<ConsentQuery>,
    pl: PageLang,
    jar: SignedCookieJar,
) -> Response {
    let asked = match check_asked(&state, &q).await {
        Ok(Ok(a)) => a,
        Ok(Err(problem)) => {
            return message(
                &pl,
                StatusCode::BAD_REQUEST,
                "consent-bad-link",
                problem.text(pl.lang),
            )
        }
        Err(e) => return internal(&pl, e),
    };
    let (jar, visitor) = visitor_id(&state, jar);
    let token = state.cashier_secrets.csrf_token(&visitor, CONSENT_FORM);
    let page = consent_page(pl.lang, &asked, &q, token, "", None);
    (jar, Html(render("consent.html", &pl, &page))).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    redirect_url: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    agreement_currency: Option<String>,
    #[serde(default)]
    agreement_limit: Option<String>,
    #[serde(default)]
    login: String,
    #[serde(default)]
    pin: String,
    /// `allow` or `deny`.
    #[serde(default)]
    decision: String,
}

#[derive(Serialize)]
struct GrantedPage {
    title: String,
    merchant_name: String,
    code: String,
    expires_at: String,
    scopes: Vec<ScopeView>,
}

/// The agreement limit the user set: currency and amount in major units; or the id of the message
/// that says what is wrong with it.
fn agreement_limit(
    currency: Option<&str>,
    limit: Option<&str>,
) -> Result<BTreeMap<String, i64>, &'static str> {
    let currency = currency.map(str::trim).unwrap_or("");
    let limit = limit.map(str::trim).unwrap_or("");
    if currency.is_empty() || limit.is_empty() {
        return Err("consent-limit-missing");
    }
    let Some(cur) = Currency::from_code(&currency.to_ascii_uppercase()) else {
        return Err("consent-limit-currency-unknown");
    };
    match Amount::parse_decimal(cur, limit) {
        Ok(a) if !a.is_zero() => Ok(BTreeMap::from([(cur.code().to_owned(), a.value_minor())])),
        _ => Err("consent-limit-invalid"),
    }
}

/// `url` with `pairs` added to its query.
fn back_to(url: &str, pairs: &[(&str, &str)]) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

async fn decide(
    State(state): State<AppState>,
    from: ClientAddress,
    pl: PageLang,
    jar: SignedCookieJar,
    Form(form): Form<ConsentForm>,
) -> Response {
    let lang = pl.lang;
    if !csrf_ok(&state, &jar, CONSENT_FORM, &form.csrf_token) {
        tracing::warn!("consent form refused: missing or wrong CSRF token");
        return csrf_refused(&pl);
    }
    let q = form.query();
    let asked = match check_asked(&state, &q).await {
        Ok(Ok(a)) => a,
        Ok(Err(problem)) => {
            return message(
                &pl,
                StatusCode::BAD_REQUEST,
                "consent-bad-link",
                problem.text(pl.lang),
            )
        }
        Err(e) => return internal(&pl, e),
    };
    if form.decision != "allow" {
        tracing::info!(client_id = %asked.client.client_id, "consent declined");
        return declined(&pl, &asked);
    }
    let (jar, visitor) = visitor_id(&state, jar);
    let again = |notice: &str| {
        let token = state.cashier_secrets.csrf_token(&visitor, CONSENT_FORM);
        let page = consent_page(
            lang,
            &asked,
            &q,
            token,
            form.login.trim(),
            Some(notice.to_owned()),
        );
        (jar.clone(), Html(render("consent.html", &pl, &page))).into_response()
    };
    let agreement_limits = match asked_limits(&asked, &form) {
        Ok(l) => l,
        Err(notice) => return again(&lang.t(notice)),
    };
    let user = match sign_in(&state, from, &form.login, form.pin.clone()).await {
        Ok(Ok(u)) => u,
        Ok(Err(refusal)) => match refusal.try_again_status() {
            Some(status) => return try_again_shortly(&pl, status),
            None => match refusal_notice(&state, lang, refusal, &form.login).await {
                Ok(notice) => return again(&notice),
                Err(e) => return internal(&pl, e),
            },
        },
        Err(e) => return internal(&pl, e),
    };
    let issued = match grant(&state, &asked, &user, agreement_limits).await {
        Ok(Ok(c)) => c,
        Ok(Err(notice)) => return again(&notice),
        Err(e) => return internal(&pl, e),
    };
    (jar, granted(&pl, &asked, issued)).into_response()
}

/// The agreement-pay limit the user set on the form, when AGREEMENT_PAY is asked for (none
/// otherwise); or the notice that says what is wrong with it.
fn asked_limits(asked: &Asked, form: &ConsentForm) -> Result<BTreeMap<String, i64>, &'static str> {
    if asked.scopes.contains(&Scope::AgreementPay) {
        agreement_limit(
            form.agreement_currency.as_deref(),
            form.agreement_limit.as_deref(),
        )
    } else {
        Ok(BTreeMap::new())
    }
}

/// Grants the client what it asked of the signed-in user and issues the auth code; the notice
/// to show when the wallet refuses the grant.
async fn grant(
    state: &AppState,
    asked: &Asked,
    user: &User,
    agreement_limits: BTreeMap<String, i64>,
) -> Result<Result<IssuedCode, String>, CoreError> {
    let grant = Grant {
        client_id: asked.client.client_id.clone(),
        app_id: asked.app_id.clone(),
        user_id: user.user_id.clone(),
        scopes: asked.scopes.clone(),
        agreement_limits,
    };
    let issued = match state
        .wallet
        .issue_auth_code(grant, state.config.oauth.auth_code_ttl_secs)
        .await
    {
        Ok(c) => c,
        Err(CoreError::Rejected { message, .. }) | Err(CoreError::Invalid(message)) => {
            return Ok(Err(format!("The wallet could not grant this: {message}.")))
        }
        Err(e) => return Err(e),
    };
    tracing::info!(
        client_id = %asked.client.client_id,
        app_id = asked.app_id.as_deref().unwrap_or(""),
        user_id = %user.user_id,
        scopes = %scopes_text(&asked.scopes),
        "consent granted, auth code issued"
    );
    Ok(Ok(issued))
}

impl ConsentForm {
    /// The query the consent page was opened with, as the form carries it back.
    fn query(&self) -> ConsentQuery {
        ConsentQuery {
            client_id: self.client_id.clone(),
            app_id: self.app_id.clone(),
            scopes: self.scopes.clone(),
            redirect_url: self.redirect_url.clone(),
            state: self.state.clone(),
            agreement_currency: self.agreement_currency.clone(),
            agreement_limit: self.agreement_limit.clone(),
        }
    }
}

/// The answer to a declined consent: back to the merchant with ACCESS_DENIED (and its state),
/// or, without a redirect URL, a page saying nothing was shared.
fn declined(pl: &PageLang, asked: &Asked) -> Response {
    let state_param = asked.state.clone().unwrap_or_default();
    match &asked.redirect_url {
        Some(url) => {
            let mut pairs = vec![("error", "ACCESS_DENIED")];
            if asked.state.is_some() {
                pairs.push(("state", &state_param));
            }
            Redirect::to(&back_to(url, &pairs)).into_response()
        }
        None => message(
            pl,
            StatusCode::OK,
            "consent-nothing-shared",
            pl.lang.t_with(
                "consent-nothing-shared-text",
                &[("merchant", FluentValue::from(asked.client.name.clone()))],
            ),
        ),
    }
}

/// The answer to a granted consent: back to the merchant with the auth code (and its state),
/// or, without a redirect URL, a page showing the code to copy.
fn granted(pl: &PageLang, asked: &Asked, issued: IssuedCode) -> Response {
    if let Some(url) = &asked.redirect_url {
        let state_param = asked.state.clone().unwrap_or_default();
        let mut pairs = vec![("authCode", issued.code.as_str())];
        if asked.state.is_some() {
            pairs.push(("state", &state_param));
        }
        return Redirect::to(&back_to(url, &pairs)).into_response();
    }
    let page = GrantedPage {
        title: pl.lang.t("consent-granted"),
        merchant_name: asked.client.name.clone(),
        code: issued.code,
        expires_at: issued.expires_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        scopes: scope_views(&asked.scopes, pl.lang),
    };
    Html(render("consent_granted.html", pl, &page)).into_response()
}

// ---- payment code ----

#[derive(Serialize)]
struct PaymentCodePage {
    title: String,
    csrf_token: String,
    notice: Option<String>,
    /// The code as a QR code a till scans: a PNG `data:` URL.
    qr: Option<String>,
    login: String,
    code: Option<String>,
    /// The code in groups of four digits, as people read it.
    code_grouped: Option<String>,
    expires_at: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    pin: String,
}

async fn show_payment_code(State(state): State<AppState>, pl: PageLang, jar: SignedCookieJar) -> Response {
    let (jar, visitor) = visitor_id(&state, jar);
    let page = PaymentCodePage {
        title: pl.lang.t("payment-code-title"),
        csrf_token: state.cashier_secrets.csrf_token(&visitor, PAYMENT_CODE_FORM),
        notice: None,
        qr: None,
        login: String::new(),
        code: None,
        code_grouped: None,
        expires_at: None,
        name: None,
    };
    (jar, Html(render("consent_payment_code.html", &pl, &page))).into_response()
}

async fn issue_payment_code(
    State(state): State<AppState>,
    from: ClientAddress,
    pl: PageLang,
    jar: SignedCookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = pl.lang;
    if !csrf_ok(&state, &jar, PAYMENT_CODE_FORM, &form.csrf_token) {
        tracing::warn!("payment code form refused: missing or wrong CSRF token");
        return csrf_refused(&pl);
    }
    let (jar, visitor) = visitor_id(&state, jar);
    let mut page = PaymentCodePage {
        title: lang.t("payment-code-title"),
        csrf_token: state.cashier_secrets.csrf_token(&visitor, PAYMENT_CODE_FORM),
        notice: None,
        qr: None,
        login: form.login.trim().to_owned(),
        code: None,
        code_grouped: None,
        expires_at: None,
        name: None,
    };
    match sign_in(&state, from, &form.login, form.pin).await {
        Ok(Ok(user)) => {
            match state
                .wallet
                .issue_payment_code(&user.user_id, state.config.oauth.payment_code_ttl_secs)
                .await
            {
                Ok(issued) => {
                    tracing::info!(user_id = %user.user_id, "payment code issued");
                    let grouped: Vec<String> = issued
                        .code
                        .as_bytes()
                        .chunks(4)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    page.code_grouped = Some(grouped.join(" "));
                    // A till scans the digits alone; a code that cannot be drawn still shows.
                    page.qr = crate::alphapay::qr::qr_png_data_uri(&issued.code)
                        .inspect_err(|e| tracing::error!(error = %e, "payment code QR image failed"))
                        .ok();
                    page.code = Some(issued.code);
                    page.expires_at = Some(issued.expires_at.format("%H:%M:%S UTC").to_string());
                    page.name = Some(user.display_name);
                }
                Err(CoreError::Rejected { .. }) => page.notice = Some(sign_in_notice("frozen", lang)),
                Err(e) => return internal(&pl, e),
            }
        }
        Ok(Err(refusal)) => match refusal.try_again_status() {
            Some(status) => return try_again_shortly(&pl, status),
            None => match refusal_notice(&state, lang, refusal, &form.login).await {
                Ok(notice) => page.notice = Some(notice),
                Err(e) => return internal(&pl, e),
            },
        },
        Err(e) => return internal(&pl, e),
    }
    (jar, Html(render("consent_payment_code.html", &pl, &page))).into_response()
}

// ---- avatar ----

/// Initials on a colour picked from the user id: an avatar for users who never uploaded one.
async fn avatar(State(state): State<AppState>, Path(user_id): Path<String>) -> Response {
    let user = match state.wallet.get_user(&user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such user\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "avatar failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let initials: String = user
        .display_name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    let hue = walletd_core::oauth::hash_secret(&user.user_id)
        .get(..4)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0)
        % 360;
    let initials = minijinja::HtmlEscape(&initials).to_string();
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"96\" height=\"96\" viewBox=\"0 0 96 96\">\
         <circle cx=\"48\" cy=\"48\" r=\"48\" fill=\"hsl({hue},55%,45%)\"/>\
         <text x=\"48\" y=\"60\" font-family=\"sans-serif\" font-size=\"36\" text-anchor=\"middle\" fill=\"#fff\">{initials}</text></svg>"
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        svg,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_escapes_what_it_shows() {
        let env = environment();
        for name in [
            "consent.html",
            "consent_granted.html",
            "consent_payment_code.html",
        ] {
            assert!(env.get_template(name).is_ok(), "{name} does not compile");
        }
        let page = ConsentPage {
            title: "t".into(),
            merchant_name: "<script>x</script>".into(),
            client_id: "c".into(),
            app_id: Some("a\"b".into()),
            scopes: scope_views(&[Scope::AgreementPay], Lang::En),
            scopes_text: "AGREEMENT_PAY".into(),
            agreement: true,
            agreement_currency: "USD".into(),
            agreement_limit: "50.00".into(),
            redirect_url: Some("https://mp.example/back?x=1&y=2".into()),
            state: Some("s".into()),
            login: "alice".into(),
            notice: None,
            csrf_token: "tok".into(),
        };
        let pl = PageLang {
            lang: Lang::Zh,
            here: "/oauth/authorize?clientId=c".into(),
        };
        let html = render("consent.html", &pl, &page);
        assert!(html.contains("同意"), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("name=\"agreement_limit\""));
        assert!(html.contains("value=\"tok\""));
    }

    #[test]
    fn the_agreement_limit_is_a_positive_amount_in_a_known_currency() {
        assert_eq!(
            agreement_limit(Some("usd"), Some("50.25")).unwrap(),
            BTreeMap::from([("USD".to_owned(), 5025)])
        );
        assert_eq!(
            agreement_limit(Some("JPY"), Some("500")).unwrap(),
            BTreeMap::from([("JPY".to_owned(), 500)])
        );
        assert!(agreement_limit(Some("USD"), Some("0")).is_err());
        assert!(agreement_limit(Some("USD"), Some("-1")).is_err());
        assert!(agreement_limit(Some("XXY"), Some("5")).is_err());
        assert!(agreement_limit(None, Some("5")).is_err());
        assert!(agreement_limit(Some("USD"), Some("1.001")).is_err());
    }

    #[test]
    fn the_way_back_keeps_the_mini_programs_query() {
        assert_eq!(
            back_to(
                "https://mp.example/cb?x=1",
                &[("authCode", "abc"), ("state", "s 1")]
            ),
            "https://mp.example/cb?x=1&authCode=abc&state=s+1"
        );
    }
}
