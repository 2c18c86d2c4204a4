//! The wallet pages in the user's language: English, Spanish and Chinese.
//!
//! Texts are Fluent messages (`crates/server/locales/<lang>/wallet.ftl`, compiled into the binary by
//! `fluent-templates`): translators edit plain .ftl files, plurals and word order stay theirs, and a
//! message missing in one language falls back to English. Numbers are formatted with ICU4X's
//! `DecimalFormatter` and CLDR data (decimal and grouping separators, grouping sizes); an amount is
//! built from its integer minor units and the currency's exponent, never through a float.
//!
//! The language comes from `?lang=`, else the `lang` cookie (set by the switch on every page,
//! `GET /wallet/lang/{tag}?back=<path>`), else the `Accept-Language` header, else English.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use icu_decimal::input::Decimal;
use icu_decimal::DecimalFormatter;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;
use walletd_protocol::Amount;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en-US",
        // No Unicode isolation marks around arguments: the pages set `lang` and `dir` themselves,
        // and the marks would end up inside amounts and codes that people copy.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The name of the cookie that remembers the user's choice.
pub const LANG_COOKIE: &str = "lang";
/// The longest `Accept-Language` header read, and the most language ranges taken from it.
const MAX_ACCEPT_LANGUAGE_BYTES: usize = 512;
const MAX_LANGUAGE_RANGES: usize = 16;
/// The longest `back` path the language switch sends a browser back to.
const MAX_BACK_BYTES: usize = 2048;

thread_local! {
    /// One decimal formatter per language and thread (ICU4X's data payloads are not `Sync`).
    static FORMATTERS: Vec<DecimalFormatter> = Lang::ALL.iter().map(|l| decimal_formatter(*l)).collect();
}

fn decimal_formatter(lang: Lang) -> DecimalFormatter {
    let locale = match lang {
        Lang::En => icu_locale_core::locale!("en"),
        Lang::Es => icu_locale_core::locale!("es"),
        Lang::Zh => icu_locale_core::locale!("zh"),
    };
    DecimalFormatter::try_new((&locale).into(), Default::default())
        .or_else(|_| DecimalFormatter::try_new((&icu_locale_core::locale!("en")).into(), Default::default()))
        .expect("ICU4X's compiled data has English decimal symbols")
}

/// A language the wallet's pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lang {
    En,
    Es,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Es, Lang::Zh];

    /// The short tag of `?lang=`, the cookie and `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Zh => "zh",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
            Lang::Zh => "中文",
        }
    }

    /// A tag of a language range (`es`, `es-MX`, `zh-Hans-CN`, `EN`), if we speak its language.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    fn langid(self) -> &'static LanguageIdentifier {
        static IDS: OnceLock<[LanguageIdentifier; 3]> = OnceLock::new();
        let ids = IDS.get_or_init(|| {
            [
                fluent_templates::langid!("en-US"),
                fluent_templates::langid!("es-ES"),
                fluent_templates::langid!("zh-CN"),
            ]
        });
        &ids[self as usize]
    }

    /// The first language of `Accept-Language` we speak, by quality (`q=0` means "not this").
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        if header.len() > MAX_ACCEPT_LANGUAGE_BYTES {
            return None;
        }
        let mut best: Option<(u16, Lang)> = None;
        for range in header.split(',').take(MAX_LANGUAGE_RANGES) {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), quality_per_mille);
            let (Some(q), Some(lang)) = (q, Lang::from_tag(tag)) else {
                continue;
            };
            if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The page language of a request: `?lang=`, the cookie, `Accept-Language`, English.
    pub fn of_request(query: Option<&str>, headers: &HeaderMap) -> Lang {
        let from_query = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| Lang::from_tag(&v))
        });
        let from_cookie = || {
            axum_extra::extract::CookieJar::from_headers(headers)
                .get(LANG_COOKIE)
                .and_then(|c| Lang::from_tag(c.value()))
        };
        let from_header = || {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        };
        from_query
            .or_else(from_cookie)
            .or_else(from_header)
            .unwrap_or(Lang::En)
    }

    /// The message `id` in this language (English if this language lacks it).
    pub fn t(self, id: &str) -> String {
        LOCALES.lookup(self.langid(), id)
    }

    /// The message `id` with its arguments.
    pub fn t_with(self, id: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> =
            args.iter().map(|(k, v)| (Cow::Borrowed(*k), v.clone())).collect();
        LOCALES.lookup_with_args(self.langid(), id, &args)
    }

    /// True if the message `id` exists in some language (English included).
    pub fn has(self, id: &str) -> bool {
        LOCALES.try_lookup(self.langid(), id).is_some()
    }

    /// `minor` units of a currency with `exponent` decimals, in this language's digits and
    /// separators, with all `exponent` decimals shown: `1,234.50` / `1234,50` / `12.345,60`.
    pub fn decimal(self, minor: i64, exponent: u32) -> String {
        let shift = i16::try_from(exponent).unwrap_or(0);
        let mut value = Decimal::from(minor);
        value.multiply_pow10(-shift);
        FORMATTERS.with(|all| all[self as usize].format(&value).to_string())
    }

    /// An amount as this language writes it: the number and the ISO code in the language's order
    /// (`12.50 USD`, `12,50 USD`, `USD 12.50`).
    pub fn amount(self, a: Amount) -> String {
        let number = self.decimal(a.value_minor(), u32::from(a.currency().exponent()));
        self.t_with(
            "amount",
            &[
                ("number", FluentValue::from(number)),
                ("currency", FluentValue::from(a.currency().code().to_owned())),
            ],
        )
    }

    /// The links of the language switch: each language, the one shown marked.
    pub fn switch(self, back: &str) -> Vec<LangLink> {
        let back = safe_back(back).unwrap_or("/");
        let encoded: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        Lang::ALL
            .into_iter()
            .map(|l| LangLink {
                tag: l.tag(),
                name: l.native_name(),
                href: format!("/wallet/lang/{}?back={encoded}", l.tag()),
                current: l == self,
            })
            .collect()
    }
}

/// A `q=` value in thousandths (`q=0.8` → 800), or `None` if it is not one.
fn quality_per_mille(q: &str) -> Option<u16> {
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match int {
        "0" => 0,
        "1" if frac.bytes().all(|b| b == b'0') => 1000,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    Some(whole + thousandths)
}

/// One link of the language switch.
#[derive(Debug, Clone, Serialize)]
pub struct LangLink {
    pub tag: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// A path of this site to send the browser back to: starts with one `/`, no scheme, no host,
/// no backslash or control character (so never an open redirect).
fn safe_back(back: &str) -> Option<&str> {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && back.len() <= MAX_BACK_BYTES
        && !back
            .bytes()
            .any(|b| b == b'\\' || b.is_ascii_control() || b == b' ');
    ok.then_some(back)
}

/// The page language and the address of the page (for the switch to come back to) of a request.
#[derive(Debug, Clone)]
pub struct PageLang {
    pub lang: Lang,
    /// Path and query of this request, without `lang=`.
    pub here: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query();
        let lang = Lang::of_request(query, &parts.headers);
        let kept: Vec<(String, String)> = query
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .filter(|(k, _)| k != "lang")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut here = parts.uri.path().to_owned();
        if !kept.is_empty() {
            here.push('?');
            here.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(kept)
                    .finish(),
            );
        }
        Ok(PageLang { lang, here })
    }
}

/// Routes of the language switch.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/wallet/lang/{tag}", get(switch_language))
}

#[derive(Deserialize)]
struct SwitchQuery {
    #[serde(default)]
    back: String,
}

/// Remembers the chosen language for a year and goes back to the page the switch was on.
async fn switch_language(Path(tag): Path<String>, Query(q): Query<SwitchQuery>) -> Response {
    let back = safe_back(&q.back).unwrap_or("/");
    let mut response = Redirect::to(back).into_response();
    if let Some(lang) = Lang::from_tag(&tag).filter(|l| l.tag() == tag) {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            lang.tag()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds `t(id, name=value, …)` to a template environment: the message `id` in the language of the
/// template's `lang` variable (a tag), its keyword arguments as Fluent arguments.
pub fn install(env: &mut minijinja::Environment<'static>) {
    env.add_function(
        "t",
        |state: &minijinja::State, id: String, kwargs: minijinja::value::Kwargs| {
            let lang = state
                .lookup("lang")
                .and_then(|v| v.as_str().and_then(Lang::from_tag))
                .unwrap_or(Lang::En);
            let mut owned: Vec<(String, FluentValue<'static>)> = Vec::new();
            for key in kwargs.args() {
                let v: minijinja::Value = kwargs.get(key)?;
                let fv = match v.as_i64() {
                    Some(n) => FluentValue::from(n),
                    None => FluentValue::from(v.to_string()),
                };
                owned.push((key.to_owned(), fv));
            }
            let map: HashMap<Cow<'static, str>, FluentValue> =
                owned.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect();
            Ok::<String, minijinja::Error>(LOCALES.lookup_with_args(lang.langid(), &id, &map))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_language_we_speak() {
        assert_eq!(
            Lang::from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Some(Lang::Es)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, zh-CN;q=0.7, en;q=0.5"),
            Some(Lang::Zh)
        );
        assert_eq!(Lang::from_accept_language("en;q=0.2, es;q=0.9"), Some(Lang::Es));
        assert_eq!(Lang::from_accept_language("es;q=0, en"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("es;q=2"), None);
    }

    #[test]
    fn amounts_use_the_locales_separators_and_the_currency_exponent() {
        let a = |c: &str, v: &str| Amount::parse_wire(c, v).unwrap();
        assert_eq!(Lang::En.amount(a("USD", "123450")), "1,234.50 USD");
        assert_eq!(Lang::Es.amount(a("USD", "1234567")), "12.345,67 USD");
        assert_eq!(Lang::Zh.amount(a("USD", "123450")), "USD 1,234.50");
        assert_eq!(Lang::En.amount(a("JPY", "1500")), "1,500 JPY");
        assert_eq!(Lang::En.amount(a("KWD", "1234")), "1.234 KWD");
        assert_eq!(Lang::En.amount(a("USD", "1200")), "12.00 USD");
        assert_eq!(Lang::En.amount(a("USD", "5")), "0.05 USD");
    }

    #[test]
    fn the_switch_only_goes_back_to_this_site() {
        assert_eq!(safe_back("/cashier/1?x=2"), Some("/cashier/1?x=2"));
        assert_eq!(safe_back("//evil.example/"), None);
        assert_eq!(safe_back("/\\evil.example/"), None);
        assert_eq!(safe_back("https://evil.example/"), None);
    }

    #[test]
    fn every_language_has_every_english_message() {
        let en = include_str!("../locales/en-US/wallet.ftl");
        let ids: Vec<&str> = en
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '.', '*', '[']) && l.contains(" ="))
            .filter_map(|l| l.split(" =").next())
            .collect();
        assert!(ids.len() > 20);
        for (lang, text) in [
            (Lang::Es, include_str!("../locales/es-ES/wallet.ftl")),
            (Lang::Zh, include_str!("../locales/zh-CN/wallet.ftl")),
        ] {
            for id in &ids {
                assert!(
                    text.lines().any(|l| l.starts_with(&format!("{id} ="))),
                    "{id} missing in {lang:?}"
                );
            }
        }
    }
}
