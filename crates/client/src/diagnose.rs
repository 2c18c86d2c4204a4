//! Why does a signature not verify? The engine behind `walletd explain`.
//!
//! Give it a signed message (a request, an answer or a notification, as headers and raw body, for
//! example pasted from a log and read with [`parse_http_text`]) and the public key that should
//! verify it. [`diagnose`] checks, in the order the wallet does: the headers, the key version, the
//! algorithm, the signature over the exact content to sign, and the time. When the signature does
//! not verify it tries the usual mistakes one at a time — the body re-serialised, CRLF line ends,
//! another path or prefix, a time that differs from the header, another client id, the other
//! dialect — and names the one under which the signature does verify.
//!
//! ```
//! use walletd_client::diagnose::{diagnose, parse_http_text, DiagnoseOptions, Finding, Mistake};
//! use walletd_protocol::crypto::{Algorithm, PrivateKey};
//! use walletd_protocol::{content, signature};
//!
//! let key = PrivateKey::generate(Algorithm::Rsa256).unwrap();
//! // The merchant signed the pretty body but sent it compact:
//! let signed_body = b"{\n  \"paymentId\": \"p-1\"\n}";
//! let time = "2030-01-01T00:00:00.000+00:00";
//! let raw = key.sign(&content::mini_program("POST", "/api/v2/payments/inquiryPayment", "m-1", time, signed_body)).unwrap();
//! let text = format!(
//!     "POST /api/v2/payments/inquiryPayment HTTP/1.1\nclient-id: m-1\nrequest-time: {time}\nsignature: {}\n\n{}",
//!     signature::format_header(Algorithm::Rsa256, 1, &raw),
//!     r#"{"paymentId":"p-1"}"#,
//! );
//! let message = parse_http_text(text.as_bytes()).unwrap();
//! let report = diagnose(&message, &key.public_key(), &DiagnoseOptions::default());
//! assert!(matches!(report.finding, Finding::Mistake { mistake: Mistake::BodyReserialised(_), .. }));
//! println!("{report}");
//! ```

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use walletd_protocol::crypto::{Algorithm, PublicKey};
use walletd_protocol::signature::SignatureHeader;
use walletd_protocol::{content, time};

/// Which signing scheme a message follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `METHOD SP PATH LF Client-Id "." Time "." Body`.
    MiniProgram,
    /// `METHOD SP PATH LF Merchant-Code "." Time "." Nonce "." Body`.
    AlphaPay,
}

/// What the message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A merchant's request (time header `Request-Time`), verified with the merchant's key.
    Request,
    /// The wallet's answer (time header `Response-Time`, path and client id of the request),
    /// verified with the wallet's key.
    Response,
}

/// A signed HTTP message as it travelled: headers in order, body as raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    pub kind: MessageKind,
    pub method: String,
    /// The request-target as written (origin or absolute form); `None` for an answer.
    pub target: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The header section ended its lines with CRLF (the body may have been pasted with CRLF too).
    pub crlf_headers: bool,
}

impl SignedMessage {
    /// The first header of that name (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }
}

/// Reads HTTP-like text: an optional start line (`POST /path HTTP/1.1` or `HTTP/1.1 200 OK`),
/// `name: value` header lines, an empty line, then the body, byte for byte. Lines may end with LF
/// or CRLF; a log prefix of `> ` or `< ` on every line is removed. Without an empty line, the
/// first line that is not a header starts the body.
pub fn parse_http_text(text: &[u8]) -> Result<SignedMessage, String> {
    let owned;
    let text = match strip_log_prefixes(text) {
        Some(t) => {
            owned = t;
            &owned[..]
        }
        None => text,
    };
    let (mut message, body_start) = read_head(text)?;
    if message.headers.is_empty() {
        return Err(
            "no headers found: expected lines like `signature: algorithm=RSA256,keyVersion=1,signature=…`"
                .into(),
        );
    }
    message.body = text[body_start.min(text.len())..].to_vec();
    Ok(message)
}

/// Reads the start line (if any) and the header lines: the message without its body, and where
/// the body starts (after the empty line, or at the first line that is not a header).
fn read_head(text: &[u8]) -> Result<(SignedMessage, usize), String> {
    let mut pos = 0;
    let mut lines_seen = 0;
    let mut message = SignedMessage {
        kind: MessageKind::Request,
        method: "POST".to_owned(),
        target: None,
        headers: Vec::new(),
        body: Vec::new(),
        crlf_headers: false,
    };
    let mut body_start = text.len();
    while pos < text.len() {
        let end = text[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| pos + i);
        let next = (end + 1).min(text.len());
        let raw_line = &text[pos..end];
        let line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        if raw_line.ends_with(b"\r") {
            message.crlf_headers = true;
        }
        let line_str = std::str::from_utf8(line).map_err(|_| "a header line is not UTF-8 text".to_owned())?;
        if line.is_empty() {
            if lines_seen == 0 {
                pos = next;
                continue;
            }
            body_start = next;
            break;
        }
        if lines_seen == 0 {
            lines_seen += 1;
            if read_start_line(line_str, &mut message) {
                pos = next;
                continue;
            }
        }
        lines_seen += 1;
        match line_str.split_once(':') {
            Some((name, value)) if is_token(name) => {
                message.headers.push((name.to_owned(), value.trim().to_owned()));
            }
            _ => {
                // Not a header: the body starts here (log output without an empty line).
                body_start = pos;
                break;
            }
        }
        pos = next;
    }
    Ok((message, body_start))
}

/// Takes the first line as a start line if it is one: a status line (`HTTP/1.1 200 OK`) makes
/// the message an answer, a request line (`POST /path HTTP/1.1`) gives its method and target.
/// False if the line is not a start line (it is then a header or the body).
fn read_start_line(line: &str, message: &mut SignedMessage) -> bool {
    if line.starts_with("HTTP/") {
        message.kind = MessageKind::Response;
        return true;
    }
    let parts: Vec<&str> = line.split_whitespace().collect();
    let is_request_line = parts.len() >= 2
        && parts[0].bytes().all(|b| b.is_ascii_alphabetic())
        && !parts[0].ends_with(':')
        && (parts[1].starts_with('/') || parts[1].contains("://"));
    if is_request_line {
        message.method = parts[0].to_owned();
        message.target = Some(parts[1].to_owned());
    }
    is_request_line
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

/// Removes a `> ` / `< ` prefix when every non-empty line has one.
fn strip_log_prefixes(text: &[u8]) -> Option<Vec<u8>> {
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let prefixed = |l: &&[u8]| l.starts_with(b"> ") || l.starts_with(b"< ") || l == b">" || l == b"<";
    let non_empty: Vec<&&[u8]> = lines.iter().filter(|l| !l.is_empty() && *l != b"\r").collect();
    if non_empty.is_empty() || !non_empty.iter().all(|l| prefixed(l)) {
        return None;
    }
    let out: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            if l.len() >= 2 && prefixed(l) {
                l[2..].to_vec()
            } else if prefixed(l) {
                Vec::new()
            } else {
                l.to_vec()
            }
        })
        .collect();
    Some(out.join(&b'\n'))
}

/// What to check against.
#[derive(Debug, Clone)]
pub struct DiagnoseOptions {
    /// The scheme; `None` guesses from the headers (a `Nonce` or `Merchant-Code` means AlphaPay).
    pub dialect: Option<Dialect>,
    /// The path to check against. Needed for an answer (the request's path); for a request it
    /// overrides the request line.
    pub path: Option<String>,
    /// The client id (merchant code) the signer should have used; also tried as an alternative.
    pub client_id: Option<String>,
    /// The key version the key you gave is registered as.
    pub key_version: Option<u32>,
    /// How far the time may be from `now`.
    pub window_secs: u64,
    pub now: DateTime<Utc>,
}

impl Default for DiagnoseOptions {
    fn default() -> Self {
        DiagnoseOptions {
            dialect: None,
            path: None,
            client_id: None,
            key_version: None,
            window_secs: 15 * 60,
            now: Utc::now(),
        }
    }
}

/// The result of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Ok,
    /// Not a signature failure, but worth knowing.
    Warning,
    Failed,
}

/// One checked step, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: &'static str,
    pub status: StepStatus,
    pub detail: String,
}

/// A usual mistake that explains a signature that does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mistake {
    /// The signer signed another serialisation of the JSON body than the one sent (the name
    /// says which: compact, pretty-printed, keys sorted, `\/` escapes, `\u` escapes, …).
    BodyReserialised(String),
    /// Line ends inside the body differ (CRLF against LF).
    BodyLineEnds(String),
    /// A newline was added or lost at the end of the body.
    BodyTrailingNewline(String),
    /// The signer signed an empty body.
    BodyEmpty,
    /// The signer used another path: another prefix, no prefix, a query string, a full URL, …
    Path { signed: String },
    /// The signer used another time value than the header sent.
    Time { signed: String },
    /// The signer used another client id / merchant code.
    ClientId { signed: String },
    /// CR LF (or a trailing newline, or a lower-case method) in the content's own layout.
    Layout(String),
    /// The message was signed with the other dialect's content.
    Dialect(Dialect),
    /// The signature value was URL-encoded twice.
    SignatureDoubleEncoded,
    /// The request was signed for one API version and sent to another (`/v2/` signed, `/v1/`
    /// addressed, or the other way round).
    ApiVersion { signed: String, sent: String },
}

impl fmt::Display for Mistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mistake::BodyReserialised(how) => write!(
                f,
                "the body was re-serialised: the signature covers the {how} form of the JSON, but other bytes were sent. Sign the exact bytes you send (serialise once, sign those bytes, send those bytes)"
            ),
            Mistake::BodyLineEnds(how) => write!(f, "the body's line ends differ: {how}. Sign the exact bytes you send"),
            Mistake::BodyTrailingNewline(how) => write!(f, "the body differs by a newline at its end: {how}"),
            Mistake::BodyEmpty => write!(f, "the signature covers an empty body; sign the body you send"),
            Mistake::Path { signed } => write!(
                f,
                "the signer used the path {signed:?}; sign the path exactly as the request addresses it (with its prefix, without scheme and host)"
            ),
            Mistake::Time { signed } => write!(
                f,
                "the signer used the time {signed:?}, not the value of the time header; sign and send one and the same string (take the time once)"
            ),
            Mistake::ClientId { signed } => write!(f, "the signer used the client id {signed:?}, not the one in the header"),
            Mistake::Layout(how) => write!(f, "the content's layout is off: {how}. It is `POST SP path LF client-id . time . body`, one LF, no CR, nothing after the body"),
            Mistake::Dialect(d) => write!(f, "the message was signed with the {d:?} content layout; this endpoint expects the other one"),
            Mistake::SignatureDoubleEncoded => write!(f, "the signature value was URL-encoded twice (%253D); encode the base64 once"),
            Mistake::ApiVersion { signed, sent } => write!(
                f,
                "the request was signed for {signed:?} but sent to {sent:?}: sign the path you send to (v1 and v2 are different APIs with different bodies; v1 names the merchant with partnerId, v2 with appId)"
            ),
        }
    }
}

/// The answer to "why does this not verify?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The signature verifies and nothing else is wrong.
    Verifies,
    /// A header is missing or unreadable.
    Header(String),
    /// The key version is not the one the key is registered as.
    KeyVersion { header: Option<u32>, key: u32 },
    /// The header names another algorithm than the key's.
    Algorithm { header: Algorithm, key: Algorithm },
    /// The signature does not verify over the exact content, but does under this mistake.
    Mistake {
        mistake: Mistake,
        signed_content: Vec<u8>,
    },
    /// The signature cannot be one of this key's: its length is wrong (cut short, padded, or not
    /// the base64 of the raw signature).
    SignatureLength {
        got: usize,
        expected: String,
        key: String,
    },
    /// The signature verifies, but an answer or notification lists the `Signature` items in
    /// another order than `algorithm, keyVersion, signature`, which strict readers refuse.
    ItemOrder { order: Vec<&'static str> },
    /// The signature does not verify, and the client id in the header is not the one the key
    /// belongs to: the header was changed after signing, or the key is another client's.
    ClientIdChanged { header: String, expected: String },
    /// The signature verifies over none of the contents tried: most likely another key signed it.
    NoMatch,
    /// The signature verifies, but the time is unreadable or outside the window (the wallet then
    /// answers `PARAM_ILLEGAL`, not `INVALID_SIGNATURE`).
    Time(String),
}

/// Everything [`diagnose`] found.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub dialect: Dialect,
    pub steps: Vec<Step>,
    /// The exact content to sign, when the headers allowed building it.
    pub content: Option<Vec<u8>>,
    pub finding: Finding,
}

impl Diagnosis {
    /// True when the signature verifies (the time may still be off: see [`Finding::Time`]).
    pub fn signature_verifies(&self) -> bool {
        matches!(self.finding, Finding::Verifies | Finding::Time(_))
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            let mark = match step.status {
                StepStatus::Ok => "ok",
                StepStatus::Warning => "WARNING",
                StepStatus::Failed => "FAILED",
            };
            writeln!(f, "{}. {:<14} {mark}: {}", i + 1, step.name, step.detail)?;
        }
        if let Some(c) = &self.content {
            writeln!(
                f,
                "\ncontent to sign ({} bytes, newlines shown as \\n):\n{}",
                c.len(),
                content::render_visible(c)
            )?;
        }
        writeln!(f)?;
        match &self.finding {
            Finding::Verifies => writeln!(f, "=> the signature verifies."),
            Finding::Header(h) => writeln!(f, "=> header problem: {h}"),
            Finding::KeyVersion { header, key } => writeln!(
                f,
                "=> key version: the header says {} but the key you gave is version {key}",
                header.map_or_else(|| "nothing (the latest key)".to_owned(), |v| v.to_string())
            ),
            Finding::Algorithm { header, key } => {
                writeln!(f, "=> algorithm: the header says {header} but the key is a {key} key")
            }
            Finding::Mistake { mistake, signed_content } => {
                writeln!(f, "=> found it: {mistake}.")?;
                writeln!(f, "   the signature verifies over:\n{}", content::render_visible(signed_content))?;
                if let Some(c) = &self.content {
                    writeln!(f, "   {}", first_difference(c, signed_content))?;
                }
                Ok(())
            }
            Finding::SignatureLength { got, expected, key } => writeln!(
                f,
                "=> the signature is {got} bytes, but a signature of this {key} key is {expected} bytes: it was cut short or padded on the way (a header length limit, a log line, a copy and paste), or it is not the base64 of the raw signature. Send the whole value."
            ),
            Finding::ItemOrder { order } => writeln!(
                f,
                "=> the signature verifies, but the items are in the order {}: answers and notifications must read `algorithm=…,keyVersion=…,signature=…` in that order, because strict readers (the Java SDK takes the third item as the signature) refuse any other.",
                order.join(", ")
            ),
            Finding::ClientIdChanged { header, expected } => writeln!(
                f,
                "=> the client id header says {header:?}, but you sign as {expected:?}, and the signature verifies with neither: the header was changed after signing, or the request went out with another client's id. The client id is part of the signed content; send the one you signed with."
            ),
            Finding::NoMatch => writeln!(
                f,
                "=> the signature does not verify over the content above nor over any usual mistake. Most likely it was made with another private key than the public key you gave: requests are signed with the merchant's private key and checked with the public key registered at the wallet (for that keyVersion); answers and notifications are signed with the wallet's key (`walletd admin wallet-key show`)."
            ),
            Finding::Time(t) => writeln!(
                f,
                "=> the signature verifies, but {t} (the wallet answers PARAM_ILLEGAL for that, not INVALID_SIGNATURE)"
            ),
        }
    }
}

/// Where two contents first differ, in words.
pub fn first_difference(expected: &[u8], signed: &[u8]) -> String {
    let at = expected
        .iter()
        .zip(signed)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(signed.len()));
    let show = |s: &[u8]| {
        let end = (at + 24).min(s.len());
        content::render_visible(&s[at.min(s.len())..end])
    };
    format!(
        "first difference at byte {at}: expected …{}… but signed …{}…",
        show(expected),
        show(signed)
    )
}

/// The parts of the content to sign.
#[derive(Debug, Clone)]
struct Parts {
    method: String,
    path: String,
    client_id: String,
    time: String,
    nonce: Option<String>,
    body: Vec<u8>,
}

impl Parts {
    fn content(&self) -> Vec<u8> {
        match &self.nonce {
            Some(n) => content::alphapay(
                &self.method,
                &self.path,
                &self.client_id,
                &self.time,
                n,
                &self.body,
            ),
            None => content::mini_program(&self.method, &self.path, &self.client_id, &self.time, &self.body),
        }
    }
}

/// Runs every check; see the module docs.
pub fn diagnose(message: &SignedMessage, key: &PublicKey, options: &DiagnoseOptions) -> Diagnosis {
    let dialect = options.dialect.unwrap_or_else(|| Dialect::guessed(message));
    let names = HeaderNames::of(message.kind, dialect);

    // 1. Headers.
    let headers = read_headers(message, dialect, names, options);
    let mut steps = vec![headers.step(names)];

    // The exact content, when it can be built.
    let parts = headers.parts(message);
    let exact = parts.as_ref().map(Parts::content);
    let HeaderReading {
        parsed,
        double_encoded,
        item_order,
        problems: header_problems,
        ..
    } = headers;
    let Some(parsed) = parsed.filter(|_| header_problems.is_empty()) else {
        return header_failure(dialect, steps, exact, &header_problems);
    };
    let (Some(parts), Some(exact)) = (parts, exact) else {
        return header_failure(dialect, steps, None, &header_problems);
    };

    // 2. Key version, 3. algorithm.
    let finding_before_signature = key_steps(options.key_version, &parsed, key, &mut steps);

    // 4. Time (parsed here, reported after the signature, as the wallet does).
    let time_step = time_step(&parts.time, options);

    // 5. Signature over the exact content, then the usual mistakes.
    let (signature_step, mut finding) = if double_encoded && key.verify(&exact, &parsed.signature).is_ok() {
        double_encoded_signature(&exact)
    } else {
        signature_step(message, &parts, &exact, &parsed, key, dialect, options)
    };
    if finding.is_none() && message.kind == MessageKind::Response && !is_canonical_order(&item_order) {
        finding = Some(Finding::ItemOrder {
            order: item_order.clone(),
        });
    }
    if !is_canonical_order(&item_order) {
        steps.push(item_order_step(message.kind, &item_order));
    }
    steps.push(Step {
        name: "content",
        status: StepStatus::Ok,
        detail: format!("{} bytes (shown below)", exact.len()),
    });
    steps.push(signature_step);
    if finding.is_none() && time_step.status != StepStatus::Ok {
        finding = Some(Finding::Time(time_step.detail.clone()));
    }
    steps.push(time_step);
    // A key or algorithm mismatch is the finding unless a mistake in the signed content explains
    // the signature.
    let finding = finding_before_signature
        .filter(|_| !matches!(finding, Some(Finding::Mistake { .. })))
        .or(finding)
        .unwrap_or(Finding::Verifies);
    Diagnosis {
        dialect,
        steps,
        content: Some(exact),
        finding,
    }
}

/// The diagnosis when the headers do not allow checking the signature: the steps so far, the
/// content if it could be built, and the header problems as the finding.
fn header_failure(
    dialect: Dialect,
    steps: Vec<Step>,
    content: Option<Vec<u8>>,
    problems: &[String],
) -> Diagnosis {
    Diagnosis {
        dialect,
        steps,
        content,
        finding: Finding::Header(problems.join("; ")),
    }
}

/// Steps 2 and 3: the key version the header names against the one given, and the header's
/// algorithm against the key's. The first mismatch found, if any.
fn key_steps(
    key_version: Option<u32>,
    parsed: &SignatureHeader,
    key: &PublicKey,
    steps: &mut Vec<Step>,
) -> Option<Finding> {
    let (step, mut finding) = key_version_step(key_version, parsed.key_version);
    steps.push(step);
    let (step, algorithm_finding) = algorithm_step(parsed.algorithm_or_default(), key.algorithm());
    steps.push(step);
    if let Some(f) = algorithm_finding {
        finding.get_or_insert(f);
    }
    finding
}

impl Dialect {
    /// The dialect a message's headers suggest: AlphaPay when it carries a nonce or a merchant
    /// code, else Mini Program.
    fn guessed(message: &SignedMessage) -> Dialect {
        if message.header("nonce").is_some() || message.header("merchant-code").is_some() {
            Dialect::AlphaPay
        } else {
            Dialect::MiniProgram
        }
    }
}

/// The names of the headers that carry the client and the time, which differ by dialect
/// and by whether the message is a request or an answer.
#[derive(Clone, Copy)]
struct HeaderNames {
    id: &'static str,
    time: &'static str,
}

impl HeaderNames {
    fn of(kind: MessageKind, dialect: Dialect) -> Self {
        HeaderNames {
            id: match dialect {
                Dialect::MiniProgram => "client-id",
                Dialect::AlphaPay => "merchant-code",
            },
            time: match kind {
                MessageKind::Request => "request-time",
                MessageKind::Response => "response-time",
            },
        }
    }
}

/// What the headers of a message say, and every problem found reading them, in the order
/// they were found.
struct HeaderReading {
    parsed: Option<SignatureHeader>,
    /// The signature header only reads after decoding it once more.
    double_encoded: bool,
    item_order: Vec<&'static str>,
    client_id: Option<String>,
    time_value: Option<String>,
    nonce: Option<String>,
    path: Option<String>,
    problems: Vec<String>,
}

/// Reads the signature, client, time and nonce headers and the path, noting each problem.
fn read_headers(
    message: &SignedMessage,
    dialect: Dialect,
    names: HeaderNames,
    options: &DiagnoseOptions,
) -> HeaderReading {
    let mut problems = Vec::new();
    let signature_value = message.header("signature");
    let item_order = signature_value.map(signature_item_order).unwrap_or_default();
    let (parsed, double_encoded) = read_signature_header(signature_value, &mut problems);
    for name in ["signature", names.id, names.time] {
        if message.header_count(name) > 1 {
            problems.push(format!(
                "the {name} header appears {} times",
                message.header_count(name)
            ));
        }
    }
    let client_id = message.header(names.id).map(str::to_owned).or_else(|| {
        (message.kind == MessageKind::Response)
            .then(|| options.client_id.clone())
            .flatten()
    });
    if client_id.is_none() {
        problems.push(format!("the {} header is missing", names.id));
    }
    let time_value = message.header(names.time).map(str::to_owned);
    if time_value.is_none() {
        problems.push(format!("the {} header is missing", names.time));
    }
    let nonce = match dialect {
        Dialect::AlphaPay => Some(read_nonce(message, &mut problems)),
        Dialect::MiniProgram => None,
    };
    let path = options.path.clone().or_else(|| {
        message
            .target
            .as_deref()
            .map(|t| content::path_of_request_target(t).to_owned())
    });
    if path.is_none() {
        problems.push("the path is unknown: an answer does not carry it; pass the request's path".into());
    }
    HeaderReading {
        parsed,
        double_encoded,
        item_order,
        client_id,
        time_value,
        nonce,
        path,
        problems,
    }
}

/// The signature header, read as it is or, failing that, decoded once more (then the second
/// value is true); notes when it is missing or cannot be read.
fn read_signature_header(value: Option<&str>, problems: &mut Vec<String>) -> (Option<SignatureHeader>, bool) {
    match value {
        None => {
            problems.push("the signature header is missing".to_owned());
            (None, false)
        }
        Some(v) => match SignatureHeader::parse(v) {
            Ok(p) => (Some(p), false),
            Err(e) => match decoded_twice(v) {
                Some(p) => (Some(p), true),
                None => {
                    problems.push(format!("the signature header cannot be read: {e}"));
                    (None, false)
                }
            },
        },
    }
}

/// The AlphaPay nonce (empty when missing), noting when it is missing or not 32 characters.
fn read_nonce(message: &SignedMessage, problems: &mut Vec<String>) -> String {
    let n = message.header("nonce").map(str::to_owned);
    match &n {
        None => problems.push("the nonce header is missing".into()),
        Some(v) if v.len() != 32 => {
            problems.push(format!("the nonce is {} characters, AlphaPay wants 32", v.len()))
        }
        _ => {}
    }
    n.unwrap_or_default()
}

impl HeaderReading {
    /// The "headers" step: what was read when all is well, else every problem.
    fn step(&self, names: HeaderNames) -> Step {
        match (&self.parsed, self.problems.is_empty()) {
            (Some(p), true) => Step {
                name: "headers",
                status: StepStatus::Ok,
                detail: format!(
                    "{}={}, {}={}, signature: algorithm={}, keyVersion={}, {} signature bytes",
                    names.id,
                    self.client_id.as_deref().unwrap_or(""),
                    names.time,
                    self.time_value.as_deref().unwrap_or(""),
                    p.algorithm.map_or("(none: RSA256)", |a| a.as_str()),
                    p.key_version
                        .map_or_else(|| "(none: the latest)".to_owned(), |v| v.to_string()),
                    p.signature.len()
                ),
            },
            _ => Step {
                name: "headers",
                status: StepStatus::Failed,
                detail: self.problems.join("; "),
            },
        }
    }

    /// The parts of the content to sign, when the client, time and path are all known.
    fn parts(&self, message: &SignedMessage) -> Option<Parts> {
        match (&self.client_id, &self.time_value, &self.path) {
            (Some(id), Some(t), Some(p)) => Some(Parts {
                method: message.method.clone(),
                path: p.clone(),
                client_id: id.clone(),
                time: t.clone(),
                nonce: self.nonce.clone(),
                body: message.body.clone(),
            }),
            _ => None,
        }
    }
}

/// The "key version" step: the key given against the header's keyVersion, and the finding
/// when they differ.
fn key_version_step(key: Option<u32>, header: Option<u32>) -> (Step, Option<Finding>) {
    match (key, header) {
        (Some(k), Some(h)) if k != h => (
            Step {
                name: "key version",
                status: StepStatus::Failed,
                detail: format!("the header says keyVersion={h}, the key you gave is version {k}: the wallet checks with key {h} (KEY_NOT_FOUND if there is none)"),
            },
            Some(Finding::KeyVersion {
                header: Some(h),
                key: k,
            }),
        ),
        (k, h) => (
            Step {
                name: "key version",
                status: StepStatus::Ok,
                detail: match (k, h) {
                    (Some(k), _) => format!("keyVersion={k}, the version of the key you gave"),
                    (None, Some(h)) => {
                        format!("keyVersion={h}: make sure the key you gave is registered as version {h}")
                    }
                    (None, None) => "no keyVersion: the wallet uses the client's latest key".into(),
                },
            },
            None,
        ),
    }
}

/// The "algorithm" step: the header's algorithm against the key's, and the finding when
/// they differ.
fn algorithm_step(header: Algorithm, key: Algorithm) -> (Step, Option<Finding>) {
    if header != key {
        (
            Step {
                name: "algorithm",
                status: StepStatus::Failed,
                detail: format!("the header says {header}, the key is {key}"),
            },
            Some(Finding::Algorithm { header, key }),
        )
    } else {
        (
            Step {
                name: "algorithm",
                status: StepStatus::Ok,
                detail: format!("{header}, as the key"),
            },
            None,
        )
    }
}

/// The "time" step: whether the signed time reads and lies within the window around now.
fn time_step(signed_time: &str, options: &DiagnoseOptions) -> Step {
    match time::parse_request_time(signed_time) {
        Err(e) => Step {
            name: "time",
            status: StepStatus::Warning,
            detail: e.to_string(),
        },
        Ok(at) => match time::check_window(at, options.now, options.window_secs) {
            Err(e) => Step {
                name: "time",
                status: StepStatus::Warning,
                detail: e.to_string(),
            },
            Ok(()) => {
                let secs = (options.now.timestamp_millis() - at.timestamp_millis()).abs() / 1000;
                Step {
                    name: "time",
                    status: StepStatus::Ok,
                    detail: format!(
                        "{signed_time} is {secs} s from now (window {} s)",
                        options.window_secs
                    ),
                }
            }
        },
    }
}

/// The "signature" step for a signature header that only reads decoded once more and then
/// verifies over the exact content.
fn double_encoded_signature(exact: &[u8]) -> (Step, Option<Finding>) {
    (
        Step {
            name: "signature",
            status: StepStatus::Failed,
            detail: "the value is URL-encoded twice; decoded once more it verifies".into(),
        },
        Some(Finding::Mistake {
            mistake: Mistake::SignatureDoubleEncoded,
            signed_content: exact.to_vec(),
        }),
    )
}

/// The "signature" step: whether the signature verifies over the exact content and, when it
/// does not, which usual mistake it verifies over or what else is the cause.
fn signature_step(
    message: &SignedMessage,
    parts: &Parts,
    exact: &[u8],
    parsed: &SignatureHeader,
    key: &PublicKey,
    dialect: Dialect,
    options: &DiagnoseOptions,
) -> (Step, Option<Finding>) {
    let verifies = |c: &[u8]| key.verify(c, &parsed.signature).is_ok();
    if verifies(exact) {
        (
            Step {
                name: "signature",
                status: StepStatus::Ok,
                detail: "verifies over the content to sign".into(),
            },
            None,
        )
    } else {
        let found = candidates(message, parts, dialect, options)
            .into_iter()
            .find_map(|(mistake, c)| verifies(&c).then_some((mistake, c)));
        let step = Step {
            name: "signature",
            status: StepStatus::Failed,
            detail: match &found {
                Some((m, _)) => format!(
                    "does not verify over the content to sign; it does when {}",
                    short(m)
                ),
                None => "does not verify over the content to sign, nor over any usual mistake".into(),
            },
        };
        let finding = match found {
            Some((mistake, signed_content)) => Finding::Mistake {
                mistake,
                signed_content,
            },
            None => cause_beyond_content(message, parts, &parsed.signature, key, options),
        };
        (step, Some(finding))
    }
}

/// The "item order" step for a signature header whose items are not in the canonical
/// order: a failure in an answer (strict readers refuse it), a warning in a request.
fn item_order_step(kind: MessageKind, item_order: &[&str]) -> Step {
    Step {
        name: "item order",
        status: if kind == MessageKind::Response {
            StepStatus::Failed
        } else {
            StepStatus::Warning
        },
        detail: format!(
            "the items are in the order {}; the wallet reads any order, strict readers want algorithm, keyVersion, signature",
            item_order.join(", ")
        ),
    }
}

/// The known items of a `Signature` header in the order they stand.
fn signature_item_order(value: &str) -> Vec<&'static str> {
    value
        .split(',')
        .filter_map(|item| {
            let key = item.trim().split_once('=')?.0.trim();
            ["algorithm", "keyVersion", "signature"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(key))
        })
        .collect()
}

/// True unless the items stand in another order than `algorithm, keyVersion, signature` (a header
/// that leaves some out is judged on those it has).
fn is_canonical_order(order: &[&'static str]) -> bool {
    let rank = |k: &&str| {
        ["algorithm", "keyVersion", "signature"]
            .iter()
            .position(|c| c == k)
    };
    order.windows(2).all(|w| rank(&w[0]) < rank(&w[1]))
}

/// Why a signature verifies over no content at all, before concluding that another key made it:
/// a value of the wrong length for the key, or a client id that is not the signer's.
fn cause_beyond_content(
    message: &SignedMessage,
    parts: &Parts,
    signature: &[u8],
    key: &PublicKey,
    options: &DiagnoseOptions,
) -> Finding {
    let lengths = key.signature_len_range();
    if !lengths.contains(&signature.len()) {
        let expected = if lengths.start() == lengths.end() {
            lengths.start().to_string()
        } else {
            format!("{} to {}", lengths.start(), lengths.end())
        };
        return Finding::SignatureLength {
            got: signature.len(),
            expected,
            key: key.describe(),
        };
    }
    if message.kind == MessageKind::Request {
        if let Some(expected) = options.client_id.as_ref().filter(|c| **c != parts.client_id) {
            return Finding::ClientIdChanged {
                header: parts.client_id.clone(),
                expected: expected.clone(),
            };
        }
    }
    Finding::NoMatch
}

fn short(m: &Mistake) -> String {
    match m {
        Mistake::BodyReserialised(how) => format!("the body is the {how} JSON"),
        Mistake::BodyLineEnds(how) => how.clone(),
        Mistake::BodyTrailingNewline(how) => how.clone(),
        Mistake::BodyEmpty => "the body is empty".into(),
        Mistake::Path { signed } => format!("the path is {signed:?}"),
        Mistake::Time { signed } => format!("the time is {signed:?}"),
        Mistake::ClientId { signed } => format!("the client id is {signed:?}"),
        Mistake::Layout(how) => how.clone(),
        Mistake::Dialect(d) => format!("the {d:?} layout is used"),
        Mistake::SignatureDoubleEncoded => "the signature is URL-decoded twice".into(),
        Mistake::ApiVersion { signed, .. } => format!("the path is {signed:?}"),
    }
}

/// The header read after undoing one more level of URL encoding (`%253D` → `%3D`).
fn decoded_twice(header: &str) -> Option<SignatureHeader> {
    if !header.contains("%25") {
        return None;
    }
    SignatureHeader::parse(&percent_decode(header)).ok()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every usual mistake, with the content it would have produced, most likely first.
fn candidates(
    message: &SignedMessage,
    parts: &Parts,
    dialect: Dialect,
    options: &DiagnoseOptions,
) -> Vec<(Mistake, Vec<u8>)> {
    let mut out: Vec<(Mistake, Vec<u8>)> = Vec::new();
    let mut push = |m: Mistake, p: &Parts| out.push((m, p.content()));

    // The body.
    for (how, body) in body_variants(&parts.body) {
        let p = Parts {
            body,
            ..parts.clone()
        };
        push(how, &p);
    }
    // The API version: signed for v2, sent to v1, or the other way round.
    for signed in api_version_variants(&parts.path) {
        let p = Parts {
            path: signed.clone(),
            ..parts.clone()
        };
        push(
            Mistake::ApiVersion {
                signed,
                sent: parts.path.clone(),
            },
            &p,
        );
    }
    // The path.
    for signed in path_variants(&parts.path, message.header("host")) {
        let p = Parts {
            path: signed.clone(),
            ..parts.clone()
        };
        push(Mistake::Path { signed }, &p);
    }
    // The layout.
    out.extend(layout_variants(parts));
    // The client id.
    for id in client_id_variants(message, parts, options) {
        let p = Parts {
            client_id: id.clone(),
            ..parts.clone()
        };
        out.push((Mistake::ClientId { signed: id }, p.content()));
    }
    // The other dialect.
    if let Some((other, p)) = other_dialect(message, parts, dialect) {
        out.push((Mistake::Dialect(other), p.content()));
    }
    // The time: other headers, the same instant written otherwise, then nearby instants.
    for signed in time_variants(message, &parts.time) {
        let p = Parts {
            time: signed.clone(),
            ..parts.clone()
        };
        out.push((Mistake::Time { signed }, p.content()));
    }
    out
}

/// The path with its API version swapped: signed for v2 and sent to v1, or the other way round.
fn api_version_variants(path: &str) -> Vec<String> {
    [
        ("/v1/", "/v2/"),
        ("/v2/", "/v1/"),
        ("/v1.0/", "/v2.0/"),
        ("/v2.0/", "/v1.0/"),
    ]
    .into_iter()
    .filter(|(from, _)| path.contains(from))
    .map(|(from, to)| path.replacen(from, to, 1))
    .collect()
}

/// The content laid out otherwise: CR LF after the path, a newline after the body, the method
/// in another case.
fn layout_variants(parts: &Parts) -> Vec<(Mistake, Vec<u8>)> {
    let mut out = Vec::new();
    let exact = parts.content();
    let head_len = parts.method.len() + 1 + parts.path.len();
    let mut crlf = exact[..head_len].to_vec();
    crlf.extend_from_slice(b"\r");
    crlf.extend_from_slice(&exact[head_len..]);
    out.push((Mistake::Layout("CR LF after the path instead of LF".into()), crlf));
    let mut trailing = exact.clone();
    trailing.push(b'\n');
    out.push((Mistake::Layout("a newline after the body".into()), trailing));
    if parts.method != parts.method.to_ascii_uppercase() || parts.method != parts.method.to_ascii_lowercase()
    {
        for m in [
            parts.method.to_ascii_uppercase(),
            parts.method.to_ascii_lowercase(),
        ] {
            if m != parts.method {
                let p = Parts {
                    method: m.clone(),
                    ..parts.clone()
                };
                out.push((Mistake::Layout(format!("the method written {m:?}")), p.content()));
            }
        }
    }
    out
}

/// Other client ids the signer may have used: the one given, the one sent in another case, the
/// other dialect's header; sorted, without the one sent.
fn client_id_variants(message: &SignedMessage, parts: &Parts, options: &DiagnoseOptions) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(id) = &options.client_id {
        ids.push(id.clone());
    }
    ids.push(parts.client_id.to_ascii_lowercase());
    ids.push(parts.client_id.to_ascii_uppercase());
    if let Some(other) = message
        .header("client-id")
        .or_else(|| message.header("merchant-code"))
    {
        ids.push(other.to_owned());
    }
    ids.sort();
    ids.dedup();
    ids.retain(|i| *i != parts.client_id);
    ids
}

/// The parts as the other dialect would sign them: AlphaPay without its nonce, or a
/// Mini Program message with the nonce it happens to carry.
fn other_dialect(message: &SignedMessage, parts: &Parts, dialect: Dialect) -> Option<(Dialect, Parts)> {
    match dialect {
        Dialect::AlphaPay => Some((
            Dialect::MiniProgram,
            Parts {
                nonce: None,
                ..parts.clone()
            },
        )),
        Dialect::MiniProgram => message.header("nonce").map(|n| {
            (
                Dialect::AlphaPay,
                Parts {
                    nonce: Some(n.to_owned()),
                    ..parts.clone()
                },
            )
        }),
    }
}

/// Other serialisations and line ends of a body.
fn body_variants(body: &[u8]) -> Vec<(Mistake, Vec<u8>)> {
    let mut out = Vec::new();
    let reser = |s: &str| Mistake::BodyReserialised(s.to_owned());
    if body.contains(&b'\n') {
        out.push((
            Mistake::BodyLineEnds("the signer's body had CRLF where LF was sent".into()),
            replace(&replace(body, b"\r\n", b"\n"), b"\n", b"\r\n"),
        ));
    }
    if body.windows(2).any(|w| w == b"\r\n") {
        out.push((
            Mistake::BodyLineEnds("the signer's body had LF where CRLF was sent".into()),
            replace(body, b"\r\n", b"\n"),
        ));
    }
    if let Some(b) = body.strip_suffix(b"\r\n").or_else(|| body.strip_suffix(b"\n")) {
        out.push((
            Mistake::BodyTrailingNewline(
                "the sent body ends with a newline the signer did not sign (or your file added one)".into(),
            ),
            b.to_vec(),
        ));
    }
    let mut nl = body.to_vec();
    nl.push(b'\n');
    out.push((
        Mistake::BodyTrailingNewline("the signer signed a newline after the body that was not sent".into()),
        nl,
    ));
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let minified = minify_json(body);
        out.push((reser("compact"), minified.clone()));
        if let Ok(v) = serde_json::to_vec(&value) {
            out.push((reser("compact, keys sorted"), v));
        }
        if let Ok(v) = serde_json::to_vec_pretty(&value) {
            out.push((reser("pretty-printed (2 spaces, keys sorted)"), v.clone()));
            let mut nl = v;
            nl.push(b'\n');
            out.push((reser("pretty-printed with a final newline"), nl));
        }
        let spaced = space_json(&minified);
        out.push((reser("compact with spaces after : and ,"), spaced));
        out.push((
            reser("with \\/ escapes (PHP json_encode)"),
            replace(body, b"/", b"\\/"),
        ));
        out.push((reser("without \\/ escapes"), replace(body, b"\\/", b"/")));
        out.push((
            reser("with \\u escapes for non-ASCII (PHP json_encode)"),
            escape_non_ascii(body),
        ));
        if let Ok(v) = serde_json::to_vec(&value) {
            out.push((reser("without \\u escapes"), v));
        }
    }
    if !body.is_empty() {
        out.push((Mistake::BodyEmpty, Vec::new()));
    }
    // Only variants that differ from what was sent are mistakes.
    out.retain(|(_, b)| b != body);
    out
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// JSON without whitespace outside strings, keys in their order.
fn minify_json(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !b.is_ascii_whitespace() {
            out.push(b);
        }
    }
    out
}

/// Minified JSON with a space after every `:` and `,` outside strings (Python's `json.dumps`).
fn space_json(minified: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(minified.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for &b in minified {
        out.push(b);
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b':' || b == b',' {
            out.push(b' ');
        }
    }
    out
}

fn escape_non_ascii(body: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// Paths the signer may have used instead of `path`.
fn path_variants(path: &str, host: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let (bare, query) = match path.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (path, None),
    };
    if query.is_some() {
        out.push(bare.to_owned());
    }
    // Without a prefix, or with another one: every suffix that starts at a `/`.
    let api_start = bare
        .find("/v1/")
        .or_else(|| bare.find("/v2/"))
        .or_else(|| bare.find("/v1.0/"))
        .or_else(|| bare.find("/v2.0/"));
    for (i, _) in bare.match_indices('/').skip(1) {
        out.push(bare[i..].to_owned());
    }
    if let Some(start) = api_start {
        let api = &bare[start..];
        for prefix in ["", "/api", "/api/open", "/miniprogram/api", "/ams/api"] {
            out.push(format!("{prefix}{api}"));
        }
    }
    if bare.len() > 1 {
        if let Some(s) = bare.strip_suffix('/') {
            out.push(s.to_owned());
        } else {
            out.push(format!("{bare}/"));
        }
    }
    if let Some(h) = host {
        for scheme in ["https", "http"] {
            out.push(format!("{scheme}://{h}{path}"));
        }
    }
    out.push(percent_decode(path));
    out.sort();
    out.dedup();
    out.retain(|p| p != path);
    out
}

/// Times the signer may have used instead of `sent`.
fn time_variants(message: &SignedMessage, sent: &str) -> Vec<String> {
    let mut out = Vec::new();
    for name in [
        "request-time",
        "response-time",
        "date",
        "x-request-time",
        "timestamp",
    ] {
        if let Some(v) = message.header(name) {
            out.push(v.to_owned());
        }
    }
    out.push(format!(" {sent}"));
    if let Ok(at) = time::parse_request_time(sent) {
        // The same instant, written otherwise.
        let utc = at.with_timezone(&Utc);
        out.push(utc.timestamp_millis().to_string());
        out.push(utc.timestamp().to_string());
        out.push(utc.to_rfc3339_opts(SecondsFormat::Secs, true));
        out.push(utc.to_rfc3339_opts(SecondsFormat::Millis, true));
        out.push(at.to_rfc3339_opts(SecondsFormat::Secs, false));
        out.push(at.to_rfc3339_opts(SecondsFormat::Millis, false));
        out.push(time::format_response_time(at));
        out.push(at.format("%Y-%m-%dT%H:%M:%S%z").to_string());
        // Nearby instants, in the sent format: the time taken twice.
        let (step_ms, steps) = if has_millis(sent) { (1, 3000) } else { (1000, 10) };
        for k in 1..=steps {
            for sign in [-1i64, 1] {
                let t = at + chrono::Duration::milliseconds(sign * k * step_ms);
                out.push(reformat_like(sent, t));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| t != sent && seen.insert(t.clone()));
    out
}

fn has_millis(sent: &str) -> bool {
    let s = sent.trim();
    s.bytes().all(|b| b.is_ascii_digit()) || s.contains('.')
}

/// `t` written the way `sample` is written (epoch milliseconds, or ISO with the same fraction
/// digits and offset style).
fn reformat_like(sample: &str, t: DateTime<FixedOffset>) -> String {
    let s = sample.trim();
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return t.timestamp_millis().to_string();
    }
    let fraction_digits = s
        .split_once('.')
        .map(|(_, rest)| rest.bytes().take_while(u8::is_ascii_digit).count())
        .unwrap_or(0);
    let offset_style = if s.ends_with('Z') || s.ends_with('z') {
        "Z"
    } else if s.len() >= 6 && s.as_bytes()[s.len() - 3] == b':' {
        "colon"
    } else {
        "plain"
    };
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if fraction_digits > 0 {
        let nanos = format!("{:09}", t.timestamp_subsec_nanos());
        out.push('.');
        out.push_str(&nanos[..fraction_digits.min(9)]);
    }
    match offset_style {
        "Z" => out.push('Z'),
        "colon" => out.push_str(&t.format("%:z").to_string()),
        _ => out.push_str(&t.format("%z").to_string()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_text_keeps_the_body_bytes_and_reads_log_prefixes() {
        let m = parse_http_text(
            b"POST http://h:1/api/v1/x HTTP/1.1\r\nClient-Id: a\r\nsignature: s\r\n\r\n{\"a\":1}\r\n",
        )
        .unwrap();
        assert_eq!(m.target.as_deref(), Some("http://h:1/api/v1/x"));
        assert_eq!(m.header("client-id"), Some("a"));
        assert_eq!(m.body, b"{\"a\":1}\r\n");
        assert!(m.crlf_headers);
        let m = parse_http_text(b"> POST /api/v2/p\n> client-id: a\n> request-time: 1\n> {\"x\":2}").unwrap();
        assert_eq!(m.method, "POST");
        assert_eq!(m.header("request-time"), Some("1"));
        assert_eq!(m.body, b"{\"x\":2}");
        let r = parse_http_text(b"HTTP/1.1 200 OK\nresponse-time: t\n\n{}").unwrap();
        assert_eq!(r.kind, MessageKind::Response);
        assert!(parse_http_text(b"just text").is_err());
    }

    #[test]
    fn reformatting_keeps_the_shape() {
        let t = time::parse_request_time("2024-05-01T10:00:00.123+08:00").unwrap();
        assert_eq!(
            reformat_like("2024-05-01T10:00:00.123+08:00", t),
            "2024-05-01T10:00:00.123+08:00"
        );
        assert_eq!(
            reformat_like("2024-05-01T10:00:00+0800", t),
            "2024-05-01T10:00:00+0800"
        );
        let z = time::parse_request_time("2024-05-01T02:00:00.5Z").unwrap();
        assert_eq!(
            reformat_like("2024-05-01T02:00:00.5Z", z),
            "2024-05-01T02:00:00.5Z"
        );
        let ms = time::parse_request_time("1714528800123").unwrap();
        assert_eq!(reformat_like("1714528800123", ms), "1714528800123");
    }

    #[test]
    fn minify_keeps_string_contents() {
        assert_eq!(
            minify_json(b"{ \"a b\" : [1, \"x \\\" y\"] }"),
            b"{\"a b\":[1,\"x \\\" y\"]}".to_vec()
        );
        assert_eq!(
            space_json(b"{\"a\":1,\"b\":\"c,d\"}"),
            b"{\"a\": 1, \"b\": \"c,d\"}".to_vec()
        );
    }
}
