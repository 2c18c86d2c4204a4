//! The cashier pages: where a wallet user lands from a payment's `redirectionUrl`, signs in with
//! their login and PIN, and pays or cancels. Server-rendered HTML with plain forms, in the user's
//! language (`crate::i18n`). One small script of our own (`/wallet/assets/countdown.js`, allowed by
//! `script-src 'self'`) makes the countdown tick and shows times in the browser's time zone; the
//! pages work the same without it.
//!
//! - `GET  /cashier/{paymentId}`          the payment, and a sign-in form or the Pay/Cancel buttons;
//!   a final payment shows its final state instead.
//! - `POST /cashier/{paymentId}/sign-in`  login + PIN → a session cookie for this payment.
//! - `POST /cashier/{paymentId}/pay`      confirms the payment for the signed-in user.
//! - `POST /cashier/{paymentId}/cancel`   the signed-in payer cancels: the payment fails, the merchant
//!   is told. A visitor who is not signed in only "leaves" (a link back to the merchant's return
//!   URL that changes nothing): a cookie and a CSRF token prove a browser, not a payer.
//! - `POST /cashier/{paymentId}/sign-out`
//! - `GET  /cashier/{paymentId}/result`   where a paid payment leads: the receipt (payment id, time,
//!   amount; the new balance for the payer's own browser) and the way back to the merchant.
//!
//! Every POST carries a CSRF token and answers with a 303 redirect (post/redirect/get), so reload
//! and the back button never repeat an action. Paying twice is refused by the core (only a
//! PROCESSING payment can be confirmed); the page then shows the final state.

mod secrets;
pub(crate) mod views;

pub use secrets::CashierSecrets;

use crate::i18n::{Lang, PageLang};
use crate::pin::{ClientAddress, SignInRefusal};
use crate::AppState;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fluent_templates::fluent_bundle::FluentValue;
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
/// After a refused sign-in: the login to pre-fill and the tries left (signed, this payment only).
const SIGN_IN_COOKIE: &str = "walletd_cashier_sign_in";
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
        .route("/wallet/assets/countdown.js", get(countdown_script))
        .layer(middleware::map_response(page_headers))
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cashier_secrets.cookie_key()
    }
}

/// Headers on every cashier answer: never cached (the back button reloads and shows the current
/// state), never framed (no clickjacking of the Pay button), no script but our own file.
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
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
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
struct MessagePage {
    title: String,
    heading: String,
    text: String,
    link: Option<String>,
    link_text: String,
}

/// A page with a heading, a text and maybe a link, from message ids.
fn message_page(
    status: StatusCode,
    page: &PageLang,
    heading: &str,
    text: &str,
    link: Option<(String, &str)>,
) -> Response {
    let lang = page.lang;
    let (link, link_text) = match link {
        Some((href, id)) => (Some(href), lang.t(id)),
        None => (None, String::new()),
    };
    let m = MessagePage {
        title: lang.t(heading),
        heading: lang.t(heading),
        text: lang.t(text),
        link,
        link_text,
    };
    (status, Html(views::render("message.html", page, &m))).into_response()
}

impl CashierError {
    fn page(self, page: &PageLang) -> Response {
        match self {
            CashierError::NotFound => message_page(
                StatusCode::NOT_FOUND,
                page,
                "not-found-title",
                "not-found-text",
                None,
            ),
            CashierError::Csrf { payment_id } => message_page(
                StatusCode::FORBIDDEN,
                page,
                "form-expired-title",
                "form-expired-text",
                Some((format!("/cashier/{payment_id}"), "open-payment")),
            ),
            CashierError::Core(e) => {
                tracing::error!(error = %e, "cashier request failed");
                message_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page,
                    "error-title",
                    "error-text",
                    None,
                )
            }
        }
    }
}

/// The answer of a cashier handler: its page, or the page of why not, in the user's language.
fn answer(page: &PageLang, r: Result<Response, CashierError>) -> Response {
    r.unwrap_or_else(|e| e.page(page))
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
fn try_again_shortly(status: StatusCode, page: &PageLang, payment_id: &str) -> Response {
    let mut response = message_page(
        status,
        page,
        "busy-title",
        "busy-text",
        Some((format!("/cashier/{payment_id}"), "back-to-payment")),
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

/// 303 to the receipt of a paid payment (it links back to the merchant).
fn receipt(payment_id: &str) -> Response {
    Redirect::to(&format!("/cashier/{payment_id}/result")).into_response()
}

/// 303 to where a cancelled payment leads: the merchant's return URL, else the result page.
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
    /// The login to pre-fill after a refused sign-in.
    login: String,
    /// The payer's balance after paying, on the receipt in the payer's own browser.
    new_balance: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    Query(q): Query<PageQuery>,
    page: PageLang,
    jar: SignedCookieJar,
) -> Response {
    let r = render_payment(&state, &payment_id, q.notice.as_deref(), &page, jar).await;
    answer(&page, r)
}

async fn result(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    page: PageLang,
    jar: SignedCookieJar,
) -> Response {
    let r = async {
        let p = load_payment(&state, &payment_id).await?;
        if !p.status.is_final() {
            return Ok(see_payment(&payment_id, None));
        }
        render_payment(&state, &payment_id, None, &page, jar).await
    }
    .await;
    answer(&page, r)
}

/// What a refused sign-in leaves for the next page: the login and the tries left.
#[derive(Debug, Serialize, Deserialize)]
struct SignInMemo {
    p: String,
    login: String,
    tries_left: Option<u32>,
}

fn sign_in_memo(jar: &SignedCookieJar, payment_id: &str) -> Option<SignInMemo> {
    let c = jar.get(SIGN_IN_COOKIE)?;
    let raw = URL_SAFE_NO_PAD.decode(c.value()).ok()?;
    serde_json::from_slice::<SignInMemo>(&raw)
        .ok()
        .filter(|m| m.p == payment_id)
}

async fn render_payment(
    state: &AppState,
    payment_id: &str,
    notice: Option<&str>,
    page: &PageLang,
    jar: SignedCookieJar,
) -> Result<Response, CashierError> {
    let lang = page.lang;
    let p = load_payment(state, payment_id).await?;
    let now = state.wallet.now();
    let view = PaymentView::new(&p, merchant_name(state, &p).await?, now, lang);
    let (jar, visitor) = visitor_id(state, jar);
    let signed_in = match view.state {
        "PROCESSING" | "SUCCESS" => signed_in_user(state, &jar, payment_id).await?,
        _ => None,
    };
    let mut payer = None;
    let mut new_balance = None;
    if let Some(u) = &signed_in {
        if view.state == "PROCESSING" {
            payer = Some(payer_view(state, u, &p, lang).await?);
        } else if p.payer_user_id.as_deref() == Some(u.user_id.as_str()) {
            // The receipt in the payer's own browser: the balance after paying.
            new_balance = Some(payer_view(state, u, &p, lang).await?.balance);
        }
    }
    let memo = sign_in_memo(&jar, payment_id);
    let mut notice = notice.and_then(|n| Notice::by_code(n, lang));
    if let (Some(n), Some(left)) = (notice.as_mut(), memo.as_ref().and_then(|m| m.tries_left)) {
        if n.code == "wrong_pin" {
            n.text = format!(
                "{} {}",
                n.text,
                lang.t_with("notice-tries-left", &[("tries", FluentValue::from(left))])
            );
        }
    }
    let context = PaymentPage {
        title: lang.t_with("pay-title", &[("amount", FluentValue::from(view.amount.clone()))]),
        csrf_token: state.cashier_secrets.csrf_token(&visitor, payment_id),
        notice,
        login: memo.map(|m| m.login).unwrap_or_default(),
        payment: view,
        payer,
        new_balance,
    };
    Ok((jar, Html(views::render("payment.html", page, &context))).into_response())
}

/// How many wrong PINs `login` may still send before its sign-in locks, read after a wrong one.
/// A login no user has gets a count kept here (in memory, bounded), so that the answer reads the
/// same as for a real login and the page does not tell which logins exist.
pub(crate) async fn tries_left(state: &AppState, login: &str) -> Result<u32, CoreError> {
    let max = max_pin_attempts(state);
    let login = login.trim();
    Ok(match state.wallet.get_user_by_login(login).await? {
        Some(u) => max.saturating_sub(u.failed_pin_attempts),
        None => unknown_login_misses(login, max),
    })
}

/// The most unknown logins whose wrong tries are counted; when full, the counts start over.
const MAX_UNKNOWN_LOGINS: usize = 10_000;
/// The longest login kept as a key (longer ones exist nowhere).
const MAX_UNKNOWN_LOGIN_BYTES: usize = 128;

fn unknown_login_misses(login: &str, max: u32) -> u32 {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static MISSES: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
    let mut cut = login.len().min(MAX_UNKNOWN_LOGIN_BYTES);
    while !login.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut misses = MISSES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if misses.len() >= MAX_UNKNOWN_LOGINS && !misses.contains_key(&login[..cut]) {
        misses.clear();
    }
    let n = misses.entry(login[..cut].to_owned()).or_insert(0);
    *n = n.saturating_add(1).min(max);
    max - *n
}

async fn payer_view(state: &AppState, u: &User, p: &Payment, lang: Lang) -> Result<PayerView, CashierError> {
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
        balance: lang.amount(balance),
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
    page: PageLang,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Response {
    let r: Result<Response, CashierError> = async {
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
                    return Ok(try_again_shortly(status, &page, &payment_id));
                }
                // Keep the login for the next try, and say how many tries are left.
                let (code, tries_left) = match refusal {
                    SignInRefusal::WrongPin => match tries_left(&state, &form.login).await? {
                        0 => ("locked", None),
                        n => ("wrong_pin", Some(n)),
                    },
                    other => (other.code(), None),
                };
                let memo = SignInMemo {
                    p: payment_id.clone(),
                    login: form.login.trim().chars().take(128).collect(),
                    tries_left,
                };
                let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&memo).unwrap_or_default());
                let jar = jar.add(cookie(&state, SIGN_IN_COOKIE, value, SameSite::Strict));
                return Ok((jar, see_payment(&payment_id, Some(code))).into_response());
            }
        };
        if p.payer_user_id
            .as_deref()
            .is_some_and(|payer| payer != user.user_id)
        {
            return Ok(see_payment(&payment_id, Some("other_user")));
        }
        tracing::info!(payment_id, user_id = %user.user_id, "cashier sign-in");
        let jar = jar
            .remove(removal(SIGN_IN_COOKIE))
            .add(session_cookie(&state, &payment_id, &user.user_id));
        Ok((jar, see_payment(&payment_id, None)).into_response())
    }
    .await;
    answer(&page, r)
}

async fn pay(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    page: PageLang,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Response {
    let r: Result<Response, CashierError> = async {
    check_csrf(&state, &jar, &payment_id, &form.csrf_token)?;
    let p = load_payment(&state, &payment_id).await?;
    if p.status.is_final() {
        return Ok(see_payment(&payment_id, None));
    }
    let Some(user) = signed_in_user(&state, &jar, &payment_id).await? else {
        return Ok(see_payment(&payment_id, Some("signin")));
    };
    match state.wallet.confirm_payment(&payment_id, &user.user_id).await? {
        ApprovalOutcome::Done(_) => {
            tracing::info!(payment_id, user_id = %user.user_id, "paid at the cashier");
            // The sign-in stays (bound to this now final payment, until it expires) so that the
            // receipt in this browser can show the payer's new balance.
            Ok(receipt(&payment_id))
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
    .await;
    answer(&page, r)
}

/// Only the signed-in payer cancels here. Anyone else with the page (a visitor cookie and its CSRF
/// token are free to get) is sent back to sign in and the payment is left as it is.
async fn cancel(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    page: PageLang,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Response {
    let r: Result<Response, CashierError> = async {
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
    .await;
    answer(&page, r)
}

async fn sign_out(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    page: PageLang,
    jar: SignedCookieJar,
    Form(form): Form<ActionForm>,
) -> Response {
    let r: Result<Response, CashierError> = async {
        check_csrf(&state, &jar, &payment_id, &form.csrf_token)?;
        Ok((
            jar.remove(removal(SESSION_COOKIE)),
            see_payment(&payment_id, None),
        )
            .into_response())
    }
    .await;
    answer(&page, r)
}

/// The countdown script of the payment page (see `templates/cashier/countdown.js`).
async fn countdown_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        include_str!("../../templates/cashier/countdown.js"),
    )
        .into_response()
}
