//! A browser stand-in for the wallet pages and the operator console: one cookie jar, redirects
//! not followed, forms posted url-encoded, and the page's CSRF token read back.

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};

/// The CSRF token of the forms of a page's HTML.
pub fn csrf_token(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no form on the page: {body}"))
        + marker.len();
    let end = body[start..].find('"').expect("end of token") + start;
    body[start..end].to_owned()
}

/// One answer of a page.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub retry_after: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        csrf_token(&self.body)
    }

    /// A header's value, empty when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The notice code a redirect names (`?notice=…`), if any.
    pub fn notice(&self) -> Option<&str> {
        self.location.as_deref()?.split("notice=").nth(1)
    }
}

/// A browser on one origin.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    /// A browser with an empty cookie jar on `base` (e.g. `http://127.0.0.1:PORT`).
    pub fn at(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
        }
    }

    async fn read(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let header = |n| {
            headers
                .get(n)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header(LOCATION);
        let retry_after = header(RETRY_AFTER);
        let body = resp.text().await.expect("body");
        Answer {
            status,
            location,
            retry_after,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("get"),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_with(path, form, &[]).await
    }

    /// Posts `form` with extra request headers.
    pub async fn post_with(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::read(req.send().await.expect("post")).await
    }
}
