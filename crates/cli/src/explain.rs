//! `walletd explain`: why does this signature not verify?
//!
//! Takes a signed request, answer or notification — as HTTP-like text (a file or standard input,
//! e.g. pasted from a log: `POST /path HTTP/1.1`, header lines, an empty line, the body) or as
//! flags — and a public key, and prints the exact content to sign byte for byte (newlines shown as
//! `\n`) and the step that fails: header parsing, key version, algorithm, the content itself (then
//! the usual mistake that explains it), or the time.

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use walletd_client::diagnose::{
    diagnose, parse_http_text, DiagnoseOptions, Dialect, Finding, MessageKind, SignedMessage,
};
use walletd_protocol::crypto::PublicKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// Guess: a Nonce or Merchant-Code header means AlphaPay.
    Auto,
    MiniProgram,
    Alphapay,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The message as HTTP-like text: a file, or `-` for standard input. Leave out to give the
    /// message with --target, --header and --body instead.
    pub input: Option<String>,
    /// The public key that should verify it: the merchant's for a request, the wallet's for an
    /// answer or a notification. Default: for an answer or with --wallet-signed, WALLETD_WALLET_KEY;
    /// for a request, the public half of WALLETD_KEY.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// The path to check against. Required for an answer (the path of the request it answers).
    #[arg(long)]
    pub path: Option<String>,
    /// The client id (merchant code) the signer should have used.
    #[arg(long, env = "WALLETD_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The key version the public key is registered as.
    #[arg(long)]
    pub key_version: Option<u32>,
    /// How far the time may be from now, in seconds.
    #[arg(long, default_value_t = 900)]
    pub window_secs: u64,
    #[arg(long, value_enum, default_value = "auto")]
    pub dialect: DialectArg,
    /// The message is the wallet's answer (text without a status line).
    #[arg(long)]
    pub response: bool,
    /// The message was signed by the wallet (an answer or a notification): use the wallet's key.
    #[arg(long)]
    pub wallet_signed: bool,
    /// Without an input: the request-target, e.g. /api/v2/payments/pay.
    #[arg(long)]
    pub target: Option<String>,
    /// Without an input: a header `Name: value` (repeatable).
    #[arg(long = "header")]
    pub headers: Vec<String>,
    /// Without an input: the body, inline (starting with `{`), a file, or `-`; byte for byte.
    #[arg(long)]
    pub body: Option<String>,
    /// Keep a newline at the very end of the input as part of the body (by default it is taken as
    /// the end of the file, which editors and `echo` add).
    #[arg(long)]
    pub keep_final_newline: bool,
}

fn read_input(arg: &str) -> anyhow::Result<Vec<u8>> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(arg).with_context(|| format!("reading {arg}"))
    }
}

fn message_from_flags(args: &ExplainArgs) -> anyhow::Result<SignedMessage> {
    if args.headers.is_empty() {
        bail!("give the message as a file (or -), or with --header (and --target, --body)");
    }
    let mut headers = Vec::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?} is not `Name: value`"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let body = match &args.body {
        None => Vec::new(),
        Some(b) if b.trim_start().starts_with('{') => b.as_bytes().to_vec(),
        Some(b) => read_input(b)?,
    };
    Ok(SignedMessage {
        kind: if args.response {
            MessageKind::Response
        } else {
            MessageKind::Request
        },
        method: "POST".into(),
        target: args.target.clone(),
        headers,
        body,
        crlf_headers: false,
    })
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn choose_key(args: &ExplainArgs, message: &SignedMessage) -> anyhow::Result<PublicKey> {
    if let Some(p) = &args.public_key {
        return crate::call::read_public_key(p);
    }
    let wallet_signed = args.wallet_signed || message.kind == MessageKind::Response;
    if wallet_signed {
        let p = env_path("WALLETD_WALLET_KEY")
            .context("pass --public-key (the wallet's public key) or set WALLETD_WALLET_KEY")?;
        return crate::call::read_public_key(&p);
    }
    let p = env_path("WALLETD_KEY")
        .context("pass --public-key (the merchant's public key) or set WALLETD_KEY")?;
    Ok(crate::call::read_private_key(&p)?.public_key())
}

/// The message to explain: parsed from the input text, or built from the flags; an answer when
/// --response says so.
fn read_message(args: &ExplainArgs) -> anyhow::Result<SignedMessage> {
    let mut message = match &args.input {
        Some(input) => {
            let text = read_input(input)?;
            parse_http_text(&text)
                .map_err(anyhow::Error::msg)
                .context("reading the message")?
        }
        None => message_from_flags(args)?,
    };
    if args.response {
        message.kind = MessageKind::Response;
    }
    Ok(message)
}

/// Drops one newline at the very end of a body read from a file or standard input (editors and
/// `echo` add it), unless --keep-final-newline; the note to print when it did.
fn drop_final_newline(args: &ExplainArgs, message: &mut SignedMessage) -> Option<&'static str> {
    let from_text = args.input.is_some()
        || args
            .body
            .as_deref()
            .is_some_and(|b| !b.trim_start().starts_with('{'));
    if !from_text || args.keep_final_newline {
        return None;
    }
    let trimmed = message
        .body
        .strip_suffix(b"\r\n")
        .or_else(|| message.body.strip_suffix(b"\n"))
        .map(<[u8]>::to_vec)?;
    message.body = trimmed;
    Some("the newline at the end of the input is taken as the end of the file, not part of the body (--keep-final-newline keeps it)")
}

/// The diagnosis's options from the flags (dialect, path, client id, key version, time window),
/// checked against the time now.
fn diagnose_options(args: &ExplainArgs) -> DiagnoseOptions {
    DiagnoseOptions {
        dialect: match args.dialect {
            DialectArg::Auto => None,
            DialectArg::MiniProgram => Some(Dialect::MiniProgram),
            DialectArg::Alphapay => Some(Dialect::AlphaPay),
        },
        path: args.path.clone(),
        client_id: args.client_id.clone(),
        key_version: args.key_version,
        window_secs: args.window_secs,
        now: chrono::Utc::now(),
    }
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let mut message = read_message(&args)?;
    let notes: Vec<&str> = drop_final_newline(&args, &mut message).into_iter().collect();
    let key = choose_key(&args, &message)?;
    let options = diagnose_options(&args);
    let report = diagnose(&message, &key, &options);
    println!(
        "{} ({:?} dialect), {} header(s), body {} bytes{}; key {} {}",
        match message.kind {
            MessageKind::Request => "request",
            MessageKind::Response => "answer",
        },
        report.dialect,
        message.headers.len(),
        message.body.len(),
        if message.crlf_headers {
            ", header lines end with CRLF"
        } else {
            ""
        },
        key.algorithm(),
        &key.fingerprint()[..16],
    );
    for note in notes {
        println!("note: {note}");
    }
    println!();
    print!("{report}");
    Ok(if report.finding == Finding::Verifies {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
