//! The operator console: server-rendered pages on their own listener (`console_listen`), for the
//! people who run the wallet. Plain HTML forms, one stylesheet, no JavaScript.
//!
//! - `GET  /sign-in`, `POST /sign-in`, `POST /sign-out`: operators from `walletd admin operator
//!   add` sign in with their password, through the wallet sign-in's guard (`pin`): throttles, the
//!   hashing pool, the attempt claimed before hashing, lock-out after
//!   `console.max_password_attempts` wrong passwords in a row.
//! - `GET /payments` (search and keyset paging), `GET /payments/{id}` (ledger transfers, refunds,
//!   captures, every notification attempt with what was sent and what came back),
//!   `GET /merchants`, `GET /users` (with balances), `GET /outbox`, `GET /books`, `GET /audit`.
//! - `GET /confirm?action=…&subject=…` shows what an action will do; `POST /actions` does it and
//!   writes the audit line in the same transaction.
//!
//! A sign-in is a signed cookie (HttpOnly, SameSite=Strict, `console.session_ttl_secs`) naming the
//! operator; every request re-reads the operator, so a removed or locked operator is out at once.
//! Every form carries a CSRF token bound to the browser's console cookie.

mod views;

use crate::pin::{Checked, Claim, ClientAddress, SignInRefusal};
use crate::AppState;
use axum::extract::{FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use views::{NotificationView, PaymentRow, TransferRow};
use walletd_core::ledger::AccountKind;
use walletd_core::operators::{self, AuditEntry, Operator, OperatorAction, PaymentSearch};
use walletd_core::payments::Payment;
use walletd_core::CoreError;
use walletd_protocol::Currency;

const BROWSER_COOKIE: &str = "walletd_console_browser";
const SESSION_COOKIE: &str = "walletd_console_session";
/// The CSRF scope of console forms; `:` never occurs in a payment id, so no cashier token is one.
const CSRF_SCOPE: &str = "console:forms";
/// Refunds, captures, notifications and transfers shown on one payment's page, at most each.
const DETAIL_LIMIT: u32 = 100;
/// The longest search value looked at.
const MAX_FILTER_CHARS: usize = 128;

/// The console's state: the server's, with the console's own cookie key.
#[derive(Clone)]
pub struct ConsoleState {
    pub app: AppState,
}

impl FromRef<ConsoleState> for Key {
    fn from_ref(state: &ConsoleState) -> Key {
        state.app.cashier_secrets.console_cookie_key()
    }
}

/// The console's routes, with its security headers.
pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/payments") }))
        .route("/style.css", get(style))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/payments", get(payments))
        .route("/payments/{payment_id}", get(payment))
        .route("/merchants", get(merchants))
        .route("/users", get(users))
        .route("/outbox", get(outbox))
        .route("/books", get(books))
        .route("/reports/settlement.csv", get(settlement_report))
        .route("/audit", get(audit))
        .route("/confirm", get(confirm))
        .route("/actions", post(act))
        .layer(middleware::map_response(security_headers))
        .with_state(ConsoleState { app })
}

/// Strict headers on every console answer: nothing but our own stylesheet may load, nothing may
/// frame the console, forms post only to it, nothing is cached.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../templates/console/style.css"),
    )
        .into_response()
}

// ---- errors ----

/// Why a console request ended without its page.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in (or the sign-in ran out): to the sign-in page.
    SignIn,
    NotFound(String),
    BadRequest(String),
    Csrf,
    Core(CoreError),
}

impl From<CoreError> for ConsoleError {
    fn from(e: CoreError) -> Self {
        ConsoleError::Core(e)
    }
}

#[derive(Serialize)]
struct MessagePage<'a> {
    title: &'a str,
    text: String,
    operator: Option<String>,
}

fn message(status: StatusCode, title: &str, text: String) -> Response {
    let page = MessagePage {
        title,
        text,
        operator: None,
    };
    (status, Html(views::render("message.html", &page))).into_response()
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn => Redirect::to("/sign-in").into_response(),
            ConsoleError::NotFound(what) => {
                message(StatusCode::NOT_FOUND, "Not found", format!("There is no {what}."))
            }
            ConsoleError::BadRequest(why) => message(StatusCode::BAD_REQUEST, "Bad request", why),
            ConsoleError::Csrf => message(
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form was not sent from a console page in this browser, so nothing was done. \
                 Open the page again and retry."
                    .into(),
            ),
            ConsoleError::Core(e) => {
                tracing::error!(error = %e, "console request failed");
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error",
                    "The wallet could not answer this request; see the server log.".into(),
                )
            }
        }
    }
}

// ---- cookies, sessions, CSRF ----

fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

fn random_id() -> String {
    let mut raw = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// This browser's random id (made on its first visit) and the jar that carries it.
fn browser_id(jar: SignedCookieJar) -> (SignedCookieJar, String) {
    if let Some(c) = jar.get(BROWSER_COOKIE) {
        return (jar, c.value().to_owned());
    }
    let id = random_id();
    (jar.add(cookie(BROWSER_COOKIE, id.clone())), id)
}

fn csrf_token(state: &ConsoleState, browser: &str) -> String {
    state.app.cashier_secrets.csrf_token(browser, CSRF_SCOPE)
}

fn check_csrf(state: &ConsoleState, jar: &SignedCookieJar, token: &str) -> Result<(), ConsoleError> {
    match jar.get(BROWSER_COOKIE) {
        Some(b) if state.app.cashier_secrets.csrf_ok(b.value(), CSRF_SCOPE, token) => Ok(()),
        _ => {
            tracing::warn!("console form refused: missing or wrong CSRF token");
            Err(ConsoleError::Csrf)
        }
    }
}

/// A sign-in: one operator until `exp` (Unix seconds). Signed, not encrypted.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    o: String,
    exp: i64,
}

fn max_attempts(state: &ConsoleState) -> u32 {
    state.app.config.console.max_password_attempts.max(1)
}

fn page_size(state: &ConsoleState) -> u32 {
    state
        .app
        .config
        .console
        .page_size
        .clamp(1, operators::MAX_PAGE_SIZE)
}

/// The signed-in operator of a console request, with the CSRF token of its forms. Anything else
/// is sent to the sign-in page.
pub struct SignedIn {
    pub name: String,
    pub csrf_token: String,
    jar: SignedCookieJar,
}

impl FromRequestParts<ConsoleState> for SignedIn {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let jar = SignedCookieJar::<Key>::from_request_parts(parts, state)
            .await
            .map_err(|_| ConsoleError::SignIn)?;
        let session = jar
            .get(SESSION_COOKIE)
            .and_then(|c| URL_SAFE_NO_PAD.decode(c.value()).ok())
            .and_then(|raw| serde_json::from_slice::<Session>(&raw).ok())
            .ok_or(ConsoleError::SignIn)?;
        if session.exp <= state.app.wallet.now().timestamp() {
            return Err(ConsoleError::SignIn);
        }
        let name = session.o.clone();
        let operator = state
            .app
            .wallet
            .read(move |_, tx| Ok(tx.get_operator(&name)?))
            .await?;
        match operator {
            Some(o) if o.failed_attempts < max_attempts(state) => {
                let (jar, browser) = browser_id(jar);
                Ok(SignedIn {
                    csrf_token: csrf_token(state, &browser),
                    name: o.name,
                    jar,
                })
            }
            _ => Err(ConsoleError::SignIn),
        }
    }
}

/// The client address of a console request, as the wallet sign-in reckons it.
struct Peer(ClientAddress);

impl FromRequestParts<ConsoleState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        Ok(Peer(ClientAddress::from_request_parts(parts, &state.app).await?))
    }
}

/// A page for a signed-in operator: the page, and the cookie jar (a new browser id, if any).
fn page<S: Serialize>(who: SignedIn, template: &str, context: &S) -> Response {
    (who.jar, Html(views::render(template, context))).into_response()
}

// ---- sign-in ----

#[derive(Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    notice: Option<String>,
}

#[derive(Serialize)]
struct SignInPage {
    title: &'static str,
    operator: Option<String>,
    csrf_token: String,
    notice: Option<&'static str>,
}

fn sign_in_notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "wrong_pin" => "Wrong name or password.",
        "locked" => {
            "This operator is locked after too many wrong passwords. Another operator opens it \
                     with `walletd admin operator unlock`."
        }
        "signed_out" => "You are signed out.",
        _ => return None,
    })
}

async fn sign_in_page(
    State(state): State<ConsoleState>,
    Query(q): Query<NoticeQuery>,
    jar: SignedCookieJar,
) -> Response {
    let (jar, browser) = browser_id(jar);
    let page = SignInPage {
        title: "Sign in",
        operator: None,
        csrf_token: csrf_token(&state, &browser),
        notice: q.notice.as_deref().and_then(sign_in_notice),
    };
    (jar, Html(views::render("sign_in.html", &page))).into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn sign_in(
    State(state): State<ConsoleState>,
    Peer(from): Peer,
    jar: SignedCookieJar,
    Form(form): Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    check_csrf(&state, &jar, &form.csrf_token)?;
    let name = form.name.trim().to_owned();
    let max = max_attempts(&state);
    let claim_name = name.clone();
    let checked = crate::pin::guarded_check(
        &state.app,
        from,
        &name,
        "operator:",
        form.password,
        |app: &AppState| {
            let app = app.clone();
            async move { claim_attempt(&app, claim_name, max).await }
        },
    )
    .await?;
    let refusal = match checked {
        Ok(Checked::Matched(op)) => return signed_in(&state, jar, &op).await,
        Ok(Checked::Wrong(op, failed)) => {
            let locked = failed >= max;
            tracing::warn!(operator = %op.name, failed_attempts = failed, locked, "console sign-in: wrong password");
            if locked {
                SignInRefusal::Locked
            } else {
                SignInRefusal::WrongPin
            }
        }
        Err(r) => r,
    };
    if let Some(status) = refusal.try_again_status() {
        return Ok(try_again_shortly(status));
    }
    // Locked and wrong passwords answer alike apart from the notice: a locked operator must
    // know to ask for an unlock.
    Ok(Redirect::to(&format!("/sign-in?notice={}", refusal.code())).into_response())
}

/// An operator whose password matched: their count of wrong passwords is cleared and the
/// sign-in audited in one transaction, then a new session (and a new browser id) takes them to
/// the payments.
async fn signed_in(
    state: &ConsoleState,
    jar: SignedCookieJar,
    op: &Operator,
) -> Result<Response, ConsoleError> {
    let op_name = op.name.clone();
    state
        .app
        .wallet
        .write(move |ctx, tx| {
            let Some(mut o) = tx.get_operator(&op_name)? else {
                return Err(CoreError::NotFound(format!("operator {op_name}")));
            };
            o.failed_attempts = 0;
            tx.update_operator(&o)?;
            tx.insert_audit(&AuditEntry::new(ctx.now(), &op_name, "sign_in", "", ""))?;
            Ok(())
        })
        .await?;
    tracing::info!(operator = %op.name, "console sign-in");
    let session = Session {
        o: op.name.clone(),
        exp: state.app.wallet.now().timestamp() + state.app.config.console.session_ttl_secs,
    };
    let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&session).unwrap_or_default());
    // A new browser id at sign-in: a token handed out before it is good no more.
    let jar = jar
        .add(cookie(BROWSER_COOKIE, random_id()))
        .add(cookie(SESSION_COOKIE, value));
    Ok((jar, Redirect::to("/payments")).into_response())
}

/// The answer when too many sign-ins came at once: the password was not checked, come back
/// after a pause (Retry-After).
fn try_again_shortly(status: StatusCode) -> Response {
    let mut r = message(
        status,
        "Try again shortly",
        "Too many sign-ins just now; the password was not checked and nothing was counted.".into(),
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::pin::RETRY_AFTER_SECS),
    );
    r
}

/// Counts one password attempt for `name` unless its sign-in is locked: the check and the count
/// are one write transaction (the row is locked on PostgreSQL).
async fn claim_attempt(app: &AppState, name: String, max: u32) -> Result<Claim<Operator>, CoreError> {
    app.wallet
        .write(move |_, tx| {
            let Some(mut o) = tx.get_operator(&name)? else {
                return Ok(Claim::Unknown);
            };
            if o.failed_attempts >= max {
                return Ok(Claim::Locked);
            }
            o.failed_attempts = o.failed_attempts.saturating_add(1);
            tx.update_operator(&o)?;
            Ok(Claim::Claimed {
                phc: o.password_hash.clone(),
                failed_after: o.failed_attempts,
                record: Box::new(o),
            })
        })
        .await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf_token: String,
}

async fn sign_out(
    State(state): State<ConsoleState>,
    who: SignedIn,
    Form(form): Form<TokenForm>,
) -> Result<Response, ConsoleError> {
    check_csrf(&state, &who.jar, &form.csrf_token)?;
    let name = who.name.clone();
    state
        .app
        .wallet
        .write(move |ctx, tx| Ok(tx.insert_audit(&AuditEntry::new(ctx.now(), &name, "sign_out", "", ""))?))
        .await?;
    let jar = who
        .jar
        .remove(Cookie::build((SESSION_COOKIE, "")).path("/").build());
    Ok((jar, Redirect::to("/sign-in?notice=signed_out")).into_response())
}

// ---- payments ----

#[derive(Debug, Default, Deserialize, Serialize)]
struct SearchQuery {
    #[serde(default)]
    payment_id: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    status: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    #[serde(default)]
    until: String,
    /// The page key: the last row of the previous page.
    #[serde(default)]
    before_at: String,
    #[serde(default)]
    before_id: String,
}

const STATUSES: [&str; 4] = ["PROCESSING", "SUCCESS", "FAIL", "CANCELLED"];

fn filter(value: &str, what: &str) -> Result<Option<String>, ConsoleError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > MAX_FILTER_CHARS {
        return Err(ConsoleError::BadRequest(format!(
            "The {what} is longer than {MAX_FILTER_CHARS} characters."
        )));
    }
    Ok(Some(v.to_owned()))
}

fn day(value: &str, what: &str) -> Result<Option<NaiveDate>, ConsoleError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map(Some).map_err(|_| {
        ConsoleError::BadRequest(format!(
            "The {what} date must be written YYYY-MM-DD, e.g. 2026-11-29."
        ))
    })
}

impl SearchQuery {
    fn to_search(&self) -> Result<PaymentSearch, ConsoleError> {
        let status = filter(&self.status, "status")?;
        if let Some(s) = &status {
            if !STATUSES.contains(&s.as_str()) {
                return Err(ConsoleError::BadRequest(format!(
                    "The status must be one of {}.",
                    STATUSES.join(", ")
                )));
            }
        }
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let from = day(&self.from, "from")?.and_then(midnight);
        let until = day(&self.until, "until")?
            .and_then(|d| d.succ_opt())
            .and_then(midnight);
        let before = match (self.before_at.trim(), self.before_id.trim()) {
            ("", _) | (_, "") => None,
            (at, id) => Some((
                DateTime::parse_from_rfc3339(at)
                    .map_err(|_| ConsoleError::BadRequest("The page key is not a time stamp.".into()))?
                    .with_timezone(&Utc),
                filter(id, "page key")?.unwrap_or_default(),
            )),
        };
        Ok(PaymentSearch {
            payment_id: filter(&self.payment_id, "payment id")?,
            client_id: filter(&self.merchant, "merchant")?,
            payment_request_id: filter(&self.request_id, "request id")?,
            payer_user_id: filter(&self.user, "user")?,
            status,
            from,
            until,
            before,
        })
    }

    /// The query string of the next page: the same filters, keyed after `last`.
    fn next_page(&self, at: DateTime<Utc>, id: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("payment_id", &self.payment_id),
            ("request_id", &self.request_id),
            ("merchant", &self.merchant),
            ("user", &self.user),
            ("status", &self.status),
            ("from", &self.from),
            ("until", &self.until),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        q.append_pair(
            "before_at",
            &at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        );
        q.append_pair("before_id", id);
        q.finish()
    }
}

#[derive(Serialize)]
struct PaymentsPage {
    title: &'static str,
    operator: Option<String>,
    csrf_token: String,
    q: SearchQuery,
    statuses: [&'static str; 4],
    rows: Vec<PaymentRow>,
    next: Option<String>,
    first_page: bool,
    page_size: u32,
}

async fn payments(
    State(state): State<ConsoleState>,
    who: SignedIn,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ConsoleError> {
    let search = q.to_search()?;
    let size = page_size(&state);
    let first_page = search.before.is_none();
    let s = search.clone();
    let found = state
        .app
        .wallet
        .read(move |_, tx| operators::search_payments(tx, &s, size))
        .await?;
    let next = match found.last() {
        Some(last) if found.len() as u32 == size => Some(q.next_page(last.created_at, &last.payment_id)),
        _ => None,
    };
    let page_ctx = PaymentsPage {
        title: "Payments",
        operator: Some(who.name.clone()),
        csrf_token: who.csrf_token.clone(),
        rows: found.iter().map(PaymentRow::new).collect(),
        q,
        statuses: STATUSES,
        next,
        first_page,
        page_size: size,
    };
    Ok(page(who, "payments.html", &page_ctx))
}

#[derive(Serialize)]
struct KeyValue {
    key: &'static str,
    value: String,
}

#[derive(Serialize)]
struct RefundRow {
    refund_id: String,
    refund_request_id: String,
    amount: String,
    status: &'static str,
    created_at: String,
    reason: String,
}

#[derive(Serialize)]
struct CaptureRow {
    capture_id: String,
    capture_request_id: String,
    number: u32,
    amount: String,
    is_last: bool,
    created_at: String,
}

#[derive(Serialize)]
struct PaymentPage {
    title: String,
    operator: Option<String>,
    csrf_token: String,
    payment: PaymentRow,
    facts: Vec<KeyValue>,
    transfers: Vec<TransferRow>,
    refunds: Vec<RefundRow>,
    captures: Vec<CaptureRow>,
    notifications: Vec<NotificationView>,
}

async fn payment(
    State(state): State<ConsoleState>,
    who: SignedIn,
    Path(payment_id): Path<String>,
) -> Result<Response, ConsoleError> {
    let Some(id) = filter(&payment_id, "payment id")? else {
        return Err(ConsoleError::NotFound("such payment".into()));
    };
    let found = state
        .app
        .wallet
        .read(move |_, tx| {
            let Some(p) = tx.get_payment(&id)? else {
                return Ok(None);
            };
            let refunds = tx.list_refunds_of_payment(&p.payment_id, DETAIL_LIMIT)?;
            let captures = tx.list_captures(&p.payment_id)?;
            let mut transfers = tx.list_transfers_by_reference(&p.payment_id, DETAIL_LIMIT)?;
            let mut notifications = tx.list_outbox_of_subject(&p.payment_id, DETAIL_LIMIT)?;
            for r in &refunds {
                transfers.extend(tx.list_transfers_by_reference(&r.refund_id, DETAIL_LIMIT)?);
                notifications.extend(tx.list_outbox_of_subject(&r.refund_id, DETAIL_LIMIT)?);
            }
            for c in captures.iter().take(DETAIL_LIMIT as usize) {
                transfers.extend(tx.list_transfers_by_reference(&c.capture_id, DETAIL_LIMIT)?);
            }
            transfers.sort_by_key(|t| t.id);
            transfers.dedup_by_key(|t| t.id);
            Ok(Some((p, refunds, captures, transfers, notifications)))
        })
        .await?;
    let Some((p, refunds, captures, transfers, notifications)) = found else {
        return Err(ConsoleError::NotFound(format!("payment {payment_id}")));
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let facts = payment_facts(&p);
    let ctx = PaymentPage {
        title: format!("Payment {}", p.payment_id),
        operator: Some(who.name.clone()),
        csrf_token: who.csrf_token.clone(),
        payment: PaymentRow::new(&p),
        facts,
        transfers: transfers.iter().map(TransferRow::new).collect(),
        refunds: refunds
            .iter()
            .map(|r| RefundRow {
                refund_id: r.refund_id.clone(),
                refund_request_id: r.refund_request_id.clone(),
                amount: views::money(r.currency, r.amount_minor),
                status: r.status.as_str(),
                created_at: views::time(r.created_at),
                reason: opt(&r.reason),
            })
            .collect(),
        captures: captures
            .iter()
            .take(DETAIL_LIMIT as usize)
            .map(|c| CaptureRow {
                capture_id: c.capture_id.clone(),
                capture_request_id: c.capture_request_id.clone(),
                number: c.number,
                amount: views::money(c.currency, c.amount_minor),
                is_last: c.is_last,
                created_at: views::time(c.created_at),
            })
            .collect(),
        notifications: notifications.iter().map(NotificationView::new).collect(),
    };
    Ok(page(who, "payment.html", &ctx))
}

/// The facts of a payment the detail page lists, a key and its value each.
fn payment_facts(p: &Payment) -> Vec<KeyValue> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let optt = |v: Option<DateTime<Utc>>| v.map(views::time).unwrap_or_default();
    vec![
        KeyValue {
            key: "Channel / scenario",
            value: format!("{:?} / {:?}", p.channel, p.scenario),
        },
        KeyValue {
            key: "Refunded",
            value: views::money(p.currency, p.refunded_minor),
        },
        KeyValue {
            key: "Captured",
            value: views::money(p.currency, p.captured_minor),
        },
        KeyValue {
            key: "Expires",
            value: views::time(p.expires_at),
        },
        KeyValue {
            key: "Paid",
            value: optt(p.paid_at),
        },
        KeyValue {
            key: "Closed",
            value: optt(p.closed_at),
        },
        KeyValue {
            key: "Fail reason",
            value: opt(&p.fail_reason),
        },
        KeyValue {
            key: "Reference order",
            value: opt(&p.reference_order_id),
        },
        KeyValue {
            key: "Notify URL",
            value: opt(&p.notify_url),
        },
        KeyValue {
            key: "Return URL",
            value: opt(&p.return_url),
        },
    ]
}

// ---- merchants, users ----

#[derive(Deserialize)]
struct AfterQuery {
    #[serde(default)]
    after: String,
}

#[derive(Serialize)]
struct PartyRow {
    id: String,
    name: String,
    login: String,
    status: &'static str,
    frozen: bool,
    balances: Vec<String>,
    failed_attempts: Option<u32>,
}

#[derive(Serialize)]
struct PartiesPage {
    title: &'static str,
    operator: Option<String>,
    csrf_token: String,
    /// `client` or `user`: which actions the rows offer.
    kind: &'static str,
    rows: Vec<PartyRow>,
    next: Option<String>,
}

fn balances(accounts: &[walletd_core::ledger::Account]) -> Vec<String> {
    accounts
        .iter()
        .map(|a| views::money(a.currency, a.available_balance()))
        .collect()
}

async fn merchants(
    State(state): State<ConsoleState>,
    who: SignedIn,
    Query(q): Query<AfterQuery>,
) -> Result<Response, ConsoleError> {
    let size = page_size(&state);
    let after = filter(&q.after, "page key")?.unwrap_or_default();
    let rows = state
        .app
        .wallet
        .read(move |_, tx| {
            let mut rows = Vec::new();
            for c in tx.list_clients_page(&after, size)? {
                let accounts = tx.list_accounts_of(AccountKind::Merchant, &c.client_id)?;
                rows.push(PartyRow {
                    frozen: c.status != walletd_core::parties::PartyStatus::Active,
                    status: c.status.as_str(),
                    balances: balances(&accounts),
                    id: c.client_id,
                    name: c.name,
                    login: c.partner_id,
                    failed_attempts: None,
                });
            }
            Ok(rows)
        })
        .await?;
    Ok(parties_page(who, "Merchants", "client", rows, size))
}

async fn users(
    State(state): State<ConsoleState>,
    who: SignedIn,
    Query(q): Query<AfterQuery>,
) -> Result<Response, ConsoleError> {
    let size = page_size(&state);
    let after = filter(&q.after, "page key")?.unwrap_or_default();
    let rows = state
        .app
        .wallet
        .read(move |_, tx| {
            let mut rows = Vec::new();
            for u in tx.list_users_page(&after, size)? {
                let accounts = tx.list_accounts_of(AccountKind::UserWallet, &u.user_id)?;
                rows.push(PartyRow {
                    frozen: u.status != walletd_core::parties::PartyStatus::Active,
                    status: u.status.as_str(),
                    balances: balances(&accounts),
                    failed_attempts: Some(u.failed_pin_attempts),
                    id: u.user_id,
                    name: u.display_name,
                    login: u.login,
                })
            }
            Ok(rows)
        })
        .await?;
    Ok(parties_page(who, "Users", "user", rows, size))
}

/// One page of merchants or users; a full page links the next one by its last id.
fn parties_page(
    who: SignedIn,
    title: &'static str,
    kind: &'static str,
    rows: Vec<PartyRow>,
    size: u32,
) -> Response {
    let next = (rows.len() as u32 == size)
        .then(|| rows.last().map(|r| format!("after={}", urlencode(&r.id))))
        .flatten();
    let ctx = PartiesPage {
        title,
        operator: Some(who.name.clone()),
        csrf_token: who.csrf_token.clone(),
        kind,
        rows,
        next,
    };
    page(who, "parties.html", &ctx)
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---- outbox, books, audit ----

#[derive(Serialize)]
struct OutboxPage {
    title: &'static str,
    operator: Option<String>,
    csrf_token: String,
    rows: Vec<NotificationView>,
    limit: u32,
}

async fn outbox(State(state): State<ConsoleState>, who: SignedIn) -> Result<Response, ConsoleError> {
    let size = page_size(&state);
    let rows = state.app.wallet.list_notifications(size).await?;
    let ctx = OutboxPage {
        title: "Outbox",
        operator: Some(who.name.clone()),
        csrf_token: who.csrf_token.clone(),
        rows: rows.iter().map(NotificationView::new).collect(),
        limit: size,
    };
    Ok(page(who, "outbox.html", &ctx))
}

#[derive(Serialize)]
struct TotalRow {
    currency: String,
    debits_posted: String,
    credits_posted: String,
    debits_pending: String,
    credits_pending: String,
    balanced: bool,
}

#[derive(Serialize)]
struct BooksPage {
    /// Today's UTC date, the settlement form's default.
    today: String,
    title: &'static str,
    operator: Option<String>,
    csrf_token: String,
    sound: bool,
    problems: Vec<String>,
    totals: Vec<TotalRow>,
    accounts_checked: usize,
    transfers_checked: usize,
}

async fn books(State(state): State<ConsoleState>, who: SignedIn) -> Result<Response, ConsoleError> {
    let report = state.app.wallet.verify().await?;
    let totals = report
        .totals
        .iter()
        .map(|(code, (dp, cp, dpe, cpe))| {
            let fmt = |minor: i64| match code.parse::<Currency>() {
                Ok(cur) => views::money(cur, minor),
                Err(_) => format!("{minor} {code}"),
            };
            TotalRow {
                currency: code.clone(),
                debits_posted: fmt(*dp),
                credits_posted: fmt(*cp),
                debits_pending: fmt(*dpe),
                credits_pending: fmt(*cpe),
                balanced: dp == cp && dpe == cpe,
            }
        })
        .collect();
    let ctx = BooksPage {
        today: state.app.wallet.now().date_naive().to_string(),
        title: "Books",
        operator: Some(who.name.clone()),
        csrf_token: who.csrf_token.clone(),
        sound: report.is_sound(),
        problems: report.problems.clone(),
        totals,
        accounts_checked: report.accounts_checked,
        transfers_checked: report.transfers_checked,
    };
    Ok(page(who, "books.html", &ctx))
}

#[derive(Deserialize)]
struct SettlementQuery {
    date: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// The settlement report of one UTC day as a CSV download: the same report, from the same core
/// function, as `walletd admin report settlement --format csv`.
async fn settlement_report(
    State(state): State<ConsoleState>,
    _who: SignedIn,
    Query(q): Query<SettlementQuery>,
) -> Result<Response, ConsoleError> {
    let date = NaiveDate::parse_from_str(q.date.trim(), "%Y-%m-%d")
        .map_err(|_| ConsoleError::BadRequest("The date must read YYYY-MM-DD.".into()))?;
    let client = q
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 64);
    let report = state.app.wallet.settlement_report(date, client).await?;
    let file = format!("attachment; filename=\"settlement-{date}.csv\"");
    let mut response = report.to_csv().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&file) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
}

#[derive(Serialize)]
struct AuditRow {
    id: i64,
    at: String,
    operator: String,
    action: String,
    subject: String,
    detail: String,
}

#[derive(Serialize)]
struct AuditPage {
    title: &'static str,
    operator: Option<String>,
    csrf_token: String,
    rows: Vec<AuditRow>,
    next: Option<i64>,
}

async fn audit(
    State(state): State<ConsoleState>,
    who: SignedIn,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    let size = page_size(&state);
    let before = q.before;
    let entries = state
        .app
        .wallet
        .read(move |_, tx| Ok(tx.list_audit(before, size)?))
        .await?;
    let next = (entries.len() as u32 == size)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let ctx = AuditPage {
        title: "Audit log",
        operator: Some(who.name.clone()),
        csrf_token: who.csrf_token.clone(),
        rows: entries
            .into_iter()
            .map(|e| AuditRow {
                id: e.id,
                at: views::time(e.at),
                operator: e.operator,
                action: e.action,
                subject: e.subject,
                detail: e.detail,
            })
            .collect(),
        next,
    };
    Ok(page(who, "audit.html", &ctx))
}

// ---- actions ----

#[derive(Debug, Deserialize)]
struct ActionQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
}

impl ActionQuery {
    fn parse(&self) -> Result<OperatorAction, ConsoleError> {
        let subject = filter(&self.subject, "subject")?
            .ok_or_else(|| ConsoleError::BadRequest("Which record? The subject is missing.".into()))?;
        Ok(match self.action.as_str() {
            "freeze_client" => OperatorAction::FreezeClient(subject),
            "unfreeze_client" => OperatorAction::UnfreezeClient(subject),
            "freeze_user" => OperatorAction::FreezeUser(subject),
            "unfreeze_user" => OperatorAction::UnfreezeUser(subject),
            "resend_notification" => OperatorAction::ResendNotification(subject),
            other => {
                return Err(ConsoleError::BadRequest(format!(
                    "There is no console action {other:?}."
                )))
            }
        })
    }
}

fn describe(a: &OperatorAction) -> String {
    match a {
        OperatorAction::FreezeClient(id) => {
            format!("Freeze merchant {id}: its new payments and refunds are refused until it is unfrozen.")
        }
        OperatorAction::UnfreezeClient(id) => format!("Unfreeze merchant {id}: it may take payments again."),
        OperatorAction::FreezeUser(id) => format!("Freeze user {id}: the user can no longer sign in or pay."),
        OperatorAction::UnfreezeUser(id) => {
            format!("Unfreeze user {id}: the user may sign in and pay again.")
        }
        OperatorAction::ResendNotification(id) => {
            format!("Resend notification {id}: it is queued again, due now, and sent with the same id.")
        }
    }
}

#[derive(Serialize)]
struct ConfirmPage {
    title: &'static str,
    operator: Option<String>,
    csrf_token: String,
    action: &'static str,
    subject: String,
    description: String,
}

async fn confirm(who: SignedIn, Query(q): Query<ActionQuery>) -> Result<Response, ConsoleError> {
    let action = q.parse()?;
    let ctx = ConfirmPage {
        title: "Confirm",
        operator: Some(who.name.clone()),
        csrf_token: who.csrf_token.clone(),
        action: action.name(),
        subject: action.subject().to_owned(),
        description: describe(&action),
    };
    Ok(page(who, "confirm.html", &ctx))
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    /// Set by the confirmation page's button only.
    #[serde(default)]
    confirmed: String,
}

async fn act(
    State(state): State<ConsoleState>,
    who: SignedIn,
    Form(form): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    check_csrf(&state, &who.jar, &form.csrf_token)?;
    let action = ActionQuery {
        action: form.action.clone(),
        subject: form.subject.clone(),
    }
    .parse()?;
    if form.confirmed != "yes" {
        return Err(ConsoleError::BadRequest(
            "An action is done from its confirmation page only.".into(),
        ));
    }
    let operator = who.name.clone();
    let a = action.clone();
    let done = state
        .app
        .wallet
        .write(move |ctx, tx| operators::perform(tx, ctx.now(), &operator, &a))
        .await;
    match done {
        Ok(entry) => {
            tracing::info!(operator = %entry.operator, action = %entry.action, subject = %entry.subject, "console action");
            Ok((who.jar, Redirect::to("/audit")).into_response())
        }
        Err(CoreError::NotFound(what)) => Err(ConsoleError::NotFound(what)),
        Err(e) => Err(e.into()),
    }
}
