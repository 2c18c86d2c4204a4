//! The cashier pages: where a wallet user lands from a payment's `redirectionUrl`, signs in with
//! their login and PIN, and pays or cancels. Server-rendered HTML with plain forms; no JavaScript.
//!
//! - `GET  /cashier/{paymentId}`          the payment, and a sign-in form or the Pay/Cancel buttons;
//!   a final payment shows its final state instead.
//! - `POST /cashier/{paymentId}/sign-in`  login + PIN → a session cookie for this payment.
//! - `POST /cashier/{paymentId}/pay`      confirms the payment for the signed-in user.
//! - `POST /cashier/{paymentId}/cancel`   the signed-in payer cancels: the payment fails, the merchant
//!   is told. A visitor who is not signed in only "leaves" (a link back to the merchant's return
//!   URL that changes nothing): a cookie and a CSRF token prove a browser, not a payer.
//! - `POST /cashier/{paymentId}/sign-out`
//! - `GET  /cashier/{paymentId}/result`   where a finished payment without a return URL leads.
//!
//! Every POST carries a CSRF token and answers with a 303 redirect (post/redirect/get), so reload
//! and the back button never repeat an action. Paying twice is refused by the core (only a
//! PROCESSING payment can be confirmed); the page then shows the final state.

mod secrets;
mod views;

pub use secrets::CashierSecrets;

use crate::pin::ClientAddress;
use crate::AppState;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use views::{Notice, PayerView, PaymentView};
use walletd_core::ledger::AccountKind;
use walletd_core::parties::User;
use walletd_core::payments::{ApprovalOutcome, Payment};
use walletd_core::CoreError;
use walletd_protocol::{Amount, ResultCode};

/// The reason a payment carries when its user cancelled it at the cashier.
pub const USER_CANCEL_REASON: &str = "The user cancelled the payment.";

const VISITOR_COOKIE: &str = "walletd_cashier_visitor";
const SESSION_COOKIE: &str = "walletd_cashier_session";
const COOKIE_PATH: &str = "/cashier";
/// Routes of the cashier.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cashier/{payment_id}", get(show))
        .route("/cashier/{payment_id}/result", get(result))
        .route("/cashier/{payment_id}/sign-in", post(sign_in))
        .route("/cashier/{payment_id}/pay", post(pay))
        .route("/cashier/{payment_id}/cancel", post(cancel))
        .route("/cashier/{payment_id}/sign-out", post(sign_out))
        .layer(middleware::map_response(page_headers))
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cashier_secrets.cookie_key()
    }
}

/// Headers on every cashier answer: never cached (the back button reloads and shows the current
/// state), never framed (no clickjacking of the Pay button), no scripts at all.
async fn page_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// Why a cashier request ended without its page.
#[derive(Debug)]
enum CashierError {
    NotFound,
    Csrf { payment_id: String },
    Core(CoreError),
}

impl From<CoreError> for CashierError {
    fn from(e: CoreError) -> Self {
        CashierError::Core(e)
    }
}

#[derive(Serialize)]
struct MessagePage<'a> {
    title: &'a str,
    heading: &'a str,
    text: &'a str,
    link: Option<String>,
    link_text: &'a str,
}

fn message_page(status: StatusCode, page: MessagePage<'_>) -> Response {
    (status, Html(views::render("message.html", &page))).into_response()
}

impl IntoResponse for CashierError {
    fn into_response(self) -> Response {
        match self {
            CashierError::NotFound => message_page(
                StatusCode::NOT_FOUND,
                MessagePage {
                    title: "Payment not found",
                    heading: "Payment not found",
                    text: "There is no payment at this address. Go back to the merchant and start again.",
                    link: None,
                    link_text: "",
                },
            ),
            CashierError::Csrf { payment_id } => message_page(
                StatusCode::FORBIDDEN,
                MessagePage {
                    title: "Form expired",
                    heading: "This form has expired",
                    text: "The form was not sent from this payment's page in this browser, so nothing was done. \
                           Open the payment again and retry.",
                    link: Some(format!("/cashier/{payment_id}")),
                    link_text: "Open the payment",
                },
            ),
            CashierError::Core(e) => {
                tracing::error!(error = %e, "cashier request failed");
                message_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    MessagePage {
                        title: "Error",
                        heading: "Something went wrong",
                        text: "The wallet could not finish this step. Nothing was paid twice; \
                               open the payment again to see where it stands.",
                        link: None,
                        link_text: "",
                    },
                )
            }
        }
    }
}

/// Payment ids are ours: digits, letters, `-` and `_`, at most 64 characters.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn load_payment(state: &AppState, payment_id: &str) -> Result<Payment, CashierError> {
    if !plausible_id(payment_id) {
        return Err(CashierError::NotFound);
    }
    state
        .wallet
        .get_payment(payment_id)
        .await?
        .ok_or(CashierError::NotFound)
}

async fn merchant_name(state: &AppState, p: &Payment) -> Result<String, CashierError> {
    if let Some(name) = p
        .merchant_display_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        return Ok(name.to_owned());
    }
    Ok(state
        .wallet
        .get_client(&p.client_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_else(|| p.client_id.clone()))
}

// ---- cookies ----

fn cookie(state: &AppState, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(same_site)
        .secure(state.public_base_url.starts_with("https://"))
        .build()
}

/// The browser's random id, made on its first visit. `Lax`, so that a second tab opened from the
/// merchant's site keeps it and the first tab's forms stay valid.
fn visitor_id(state: &AppState, jar: SignedCookieJar) -> (SignedCookieJar, String) {
    if let Some(c) = jar.get(VISITOR_COOKIE) {
        return (jar, c.value().to_owned());
    }
    let mut raw = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let id = URL_SAFE_NO_PAD.encode(raw);
    let jar = jar.add(cookie(state, VISITOR_COOKIE, id.clone(), SameSite::Lax));
    (jar, id)
}

fn check_csrf(
    state: &AppState,
    jar: &SignedCookieJar,
    payment_id: &str,
    token: &str,
) -> Result<(), CashierError> {
    let visitor = jar.get(VISITOR_COOKIE);
    match visitor {
        Some(v) if state.cashier_secrets.csrf_ok(v.value(), payment_id, token) => Ok(()),
        _ => {
            tracing::warn!(payment_id, "cashier form refused: missing or wrong CSRF token");
            Err(CashierError::Csrf {
                payment_id: payment_id.to_owned(),
            })
        }
    }
}

/// A sign-in: for one payment, one user, until `exp` (Unix seconds). Signed, not encrypted.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    p: String,
    u: String,
    exp: i64,
}

fn session_cookie(state: &AppState, payment_id: &str, user_id: &str) -> Cookie<'static> {
    let s = Session {
        p: payment_id.to_owned(),
        u: user_id.to_owned(),
        exp: state.wallet.now().timestamp() + state.config.cashier.session_ttl_secs,
    };
    let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&s).unwrap_or_default());
    // A browser-session cookie: the expiry that counts is the signed `exp` inside it.
    cookie(state, SESSION_COOKIE, value, SameSite::Strict)
}

fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build((name, "")).path(COOKIE_PATH).build()
}

/// The user signed in for `payment_id` in this browser, if the sign-in is still good: not
/// expired, the user still exists and is not locked out.
async fn signed_in_user(
    state: &AppState,
    jar: &SignedCookieJar,
    payment_id: &str,
) -> Result<Option<User>, CashierError> {
    let Some(c) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = URL_SAFE_NO_PAD
        .decode(c.value())
        .ok()
        .and_then(|raw| serde_json::from_slice::<Session>(&raw).ok())
    else {
        return Ok(None);
    };
    if session.p != payment_id || session.exp <= state.wallet.now().timestamp() {
        return Ok(None);
    }
    let user = state.wallet.get_user(&session.u).await?;
    Ok(user.filter(|u| u.failed_pin_attempts < max_pin_attempts(state)))
}

fn max_pin_attempts(state: &AppState) -> u32 {
    state.config.cashier.max_pin_attempts.max(1)
}

// ---- answers ----

/// The page for a sign-in turned away under load (429 throttled, 503 every PIN checker busy): no
/// attempt was counted, the browser may retry after a few seconds.
fn try_again_shortly(status: StatusCode, payment_id: &str) -> Response {
    let mut response = message_page(
        status,
        MessagePage {
            title: "Try again shortly",
            heading: "Please try again in a few seconds",
            text: "The wallet is busy or has seen many sign-ins from here just now. \
                   Your PIN was not checked and nothing was counted.",
            link: Some(format!("/cashier/{payment_id}")),
            link_text: "Back to the payment",
        },
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(crate::pin::RETRY_AFTER_SECS),
    );
    response
}

/// 303 to the payment page, with a notice to show.
fn see_payment(payment_id: &str, notice: Option<&str>) -> Response {
    match notice {
        Some(n) => Redirect::to(&format!("/cashier/{payment_id}?notice={n}")).into_response(),
        None => Redirect::to(&format!("/cashier/{payment_id}")).into_response(),
    }
}

/// 303 to where a finished payment leads: the merchant's return URL, else the result page.
fn finish(p: &Payment) -> Response {
    match p.return_url.as_deref().filter(|u| views::is_web_url(u)) {
        Some(url) => Redirect::to(url).into_response(),
        None => Redirect::to(&format!("/cashier/{}/result", p.payment_id)).into_response(),
    }
}

// ---- pages ----

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    notice: Option<String>,
}

#[derive(Serialize)]
struct PaymentPage {
    title: String,
    payment: PaymentView,
    payer: Option<PayerView>,
    notice: Option<Notice>,
    csrf_token: String,
}

async fn show(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    Query(q): Query<PageQuery>,
    jar: SignedCookieJar,
) -> Result<Response, CashierError> {
    render_payment(&state, &payment_id, q.notice.as_deref(), jar).await
}

async fn result(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    jar: SignedCookieJar,
) -> Result<Response, CashierError> {
    let p = load_payment(&state, &payment_id).await?;
    if !p.status.is_final() {
        return Ok(see_payment(&payment_id, None));
    }
    render_payment(&state, &payment_id, None, jar).await
}

async fn render_payment(
    state: &AppState,
    payment_id: &str,
    notice: Option<&str>,
    jar: SignedCookieJar,
) -> Result<Response, CashierError> {
    let p = load_payment(state, payment_id).await?;
    let now = state.wallet.now();
    let view = PaymentView::new(&p, merchant_name(state, &p).await?, now);
    let (jar, visitor) = visitor_id(state, jar);
    let payer = if view.state == "PROCESSING" {
        match signed_in_user(state, &jar, payment_id).await? {
            Some(u) => Some(payer_view(state, &u, &p).await?),
            None => None,
        }
    } else {
        None
    };
    let page = PaymentPage {
        title: format!("Pay {}", view.amount),
        csrf_token: state.cashier_secrets.csrf_token(&visitor, payment_id),
        notice: notice.and_then(Notice::by_code),
        payment: view,
        payer,
    };
    Ok((jar, Html(views::render("payment.html", &page))).into_response())
}

async fn payer_view(state: &AppState, u: &User, p: &Payment) -> Result<PayerView, CashierError> {
    let available_minor = state
        .wallet
        .accounts_of(AccountKind::UserWallet, &u.user_id)
        .await?
        .iter()
        .find(|a| a.currency == p.currency)
        .map_or(0, |a| a.available_balance());
    let balance =
        Amount::from_minor(p.currency, available_minor.max(0)).unwrap_or_else(|_| Amount::zero(p.currency));
    // A hold this payment already has counts as covered.
    let held_here = p.payer_user_id.as_deref() == Some(u.user_id.as_str()) && p.hold_transfer_id.is_some();
    Ok(PayerView {
        name: u.display_name.clone(),
        login: u.login.clone(),
        balance: views::format_amount(balance),
        balance_covers: held_here || available_minor >= p.amount_minor,
    })
}

// ---- actions ----

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    pin: String,
}

async fn sign_in(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    from: ClientAddress,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Result<Response, CashierError> {
    check_csrf(&state, &jar, &payment_id, &form.csrf_token)?;
    let p = load_payment(&state, &payment_id).await?;
    if p.status.is_final() {
        return Ok(see_payment(&payment_id, None));
    }
    let user = match crate::pin::sign_in(&state, from, &form.login, form.pin).await? {
        Ok(user) => user,
        Err(refusal) => {
            tracing::info!(payment_id, refusal = refusal.code(), "cashier sign-in refused");
            if let Some(status) = refusal.try_again_status() {
                return Ok(try_again_shortly(status, &payment_id));
            }
            return Ok(see_payment(&payment_id, Some(refusal.code())));
        }
    };
    if p.payer_user_id
        .as_deref()
        .is_some_and(|payer| payer != user.user_id)
    {
        return Ok(see_payment(&payment_id, Some("other_user")));
    }
    tracing::info!(payment_id, user_id = %user.user_id, "cashier sign-in");
    let jar = jar.add(session_cookie(&state, &payment_id, &user.user_id));
    Ok((jar, see_payment(&payment_id, None)).into_response())
}

async fn pay(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Result<Response, CashierError> {
    check_csrf(&state, &jar, &payment_id, &form.csrf_token)?;
    let p = load_payment(&state, &payment_id).await?;
    if p.status.is_final() {
        return Ok(see_payment(&payment_id, None));
    }
    let Some(user) = signed_in_user(&state, &jar, &payment_id).await? else {
        return Ok(see_payment(&payment_id, Some("signin")));
    };
    match state.wallet.confirm_payment(&payment_id, &user.user_id).await? {
        ApprovalOutcome::Done(p) => {
            tracing::info!(payment_id, user_id = %user.user_id, "paid at the cashier");
            Ok((jar.remove(removal(SESSION_COOKIE)), finish(&p)).into_response())
        }
        ApprovalOutcome::Refused {
            code,
            message,
            payment,
        } => {
            tracing::info!(payment_id, user_id = %user.user_id, %code, message, "cashier payment refused");
            if payment.status.is_final() {
                return Ok(see_payment(&payment_id, None));
            }
            let notice = match code {
                ResultCode::UserBalanceNotEnough => "balance",
                ResultCode::UserStatusAbnormal => "frozen",
                ResultCode::UserAmountExceedLimit => "limit",
                ResultCode::AccessDenied => "other_user",
                ResultCode::UserNotExist => "signin",
                _ => "refused",
            };
            Ok(see_payment(&payment_id, Some(notice)))
        }
    }
}

/// Only the signed-in payer cancels here. Anyone else with the page (a visitor cookie and its CSRF
/// token are free to get) is sent back to sign in and the payment is left as it is.
async fn cancel(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Result<Response, CashierError> {
    check_csrf(&state, &jar, &payment_id, &form.csrf_token)?;
    let p = load_payment(&state, &payment_id).await?;
    if p.status.is_final() {
        return Ok(see_payment(&payment_id, None));
    }
    let Some(user) = signed_in_user(&state, &jar, &payment_id).await? else {
        tracing::info!(payment_id, "cashier cancel refused: not signed in");
        return Ok(see_payment(&payment_id, Some("signin_to_cancel")));
    };
    if p.payer_user_id
        .as_deref()
        .is_some_and(|payer| payer != user.user_id)
    {
        return Ok(see_payment(&payment_id, Some("other_user")));
    }
    match state
        .wallet
        .decline_payment(&payment_id, USER_CANCEL_REASON)
        .await?
    {
        ApprovalOutcome::Done(p) => {
            tracing::info!(payment_id, user_id = %user.user_id, "cancelled at the cashier");
            Ok((jar.remove(removal(SESSION_COOKIE)), finish(&p)).into_response())
        }
        ApprovalOutcome::Refused { .. } => Ok(see_payment(&payment_id, None)),
    }
}

async fn sign_out(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Result<Response, CashierError> {
    check_csrf(&state, &jar, &payment_id, &form.csrf_token)?;
    Ok((
        jar.remove(removal(SESSION_COOKIE)),
        see_payment(&payment_id, None),
    )
        .into_response())
}
