//! The byte-exact "content to sign" of each signed dialect (docs/mini-program.md §3, docs/alphapay.md).
//!
//! These functions only concatenate; they never normalise. The time is the header value exactly as
//! sent and the body is the raw bytes as transmitted (never re-serialised JSON).

/// Mini Program OpenAPI content: `METHOD SP PATH LF ClientId "." Time "." Body` — one space, one
/// `\n` (0x0A), literal dots, no trailing newline.
///
/// For a request `time` is the `Request-Time` header; for a response it is `Response-Time`, with the
/// request's method, path and client id. `method` is used as given (callers pass `POST`).
pub fn mini_program(method: &str, path: &str, client_id: &str, time: &str, body: &[u8]) -> Vec<u8> {
    let mut out = head(method, path, body.len() + client_id.len() + time.len() + 2);
    out.extend_from_slice(client_id.as_bytes());
    out.push(b'.');
    out.extend_from_slice(time.as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

/// AlphaPay content: `METHOD SP PATH LF MerchantCode "." Time "." Nonce "." Body`.
pub fn alphapay(
    method: &str,
    path: &str,
    merchant_code: &str,
    time: &str,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = head(
        method,
        path,
        body.len() + merchant_code.len() + time.len() + nonce.len() + 3,
    );
    out.extend_from_slice(merchant_code.as_bytes());
    out.push(b'.');
    out.extend_from_slice(time.as_bytes());
    out.push(b'.');
    out.extend_from_slice(nonce.as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

fn head(method: &str, path: &str, rest_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(method.len() + path.len() + 2 + rest_len);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.push(b'\n');
    out
}

/// The `PATH` to sign for an HTTP request-target.
///
/// - Origin form (`/api/v1/payments/pay`, possibly with `?query`) is returned unchanged: the path
///   exactly as the client addressed it, **including** any query string (SDK-J names this
///   "uriWithQueryString"; the APIs have no query string in practice).
/// - Absolute form (`http://host:port/api/v1/x?q`, sent by the Python SDK) yields the part from the
///   first `/` after the authority (`/api/v1/x?q`); with no path at all it yields `/`.
/// - Anything else (authority form, `*`) is returned unchanged.
pub fn path_of_request_target(target: &str) -> &str {
    if target.starts_with('/') {
        return target;
    }
    let Some(scheme_end) = target.find("://") else {
        return target;
    };
    let scheme = &target[..scheme_end];
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return target;
    }
    let after_authority = &target[scheme_end + 3..];
    match after_authority.find(['/', '?', '#']) {
        Some(i) if after_authority.as_bytes()[i] == b'/' => &after_authority[i..],
        // `http://host?q` or `http://host`: the path is empty, which HTTP reads as `/`.
        _ => "/",
    }
}

/// Renders content to sign for people: printable text as is, `\n`, `\r`, `\t` and `\\` as escapes,
/// other control characters as `\u{…}`, and bytes that are not UTF-8 as `\xNN`.
///
/// The result is one line, so a stray CR, a missing newline or a trailing space is easy to spot.
pub fn render_visible(content: &[u8]) -> String {
    let mut out = String::with_capacity(content.len() + 16);
    for chunk in content.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() || is_invisible_format_char(c) => {
                    out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

/// Characters that print as nothing but change the bytes: BOM / zero-width and direction marks.
fn is_invisible_format_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}
