//! `walletd call`: a merchant's signed request (Mini Program or AlphaPay), printed in full with its
//! answer and whether the answer's signature verifies. Built on the merchant SDK
//! (`walletd_client`), so it signs and verifies exactly as a merchant's code would.

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use walletd_client::alphapay::AlphaPayRequestOptions;
use walletd_client::diagnose::{diagnose, DiagnoseOptions, MessageKind, SignedMessage};
use walletd_client::{AlphaPayClient, ClientError, Exchange, MiniProgramClient, RequestOptions, Verified};
use walletd_protocol::crypto::{PrivateKey, PublicKey};

/// The signed dialects `call` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// Mini Program OpenAPI (`Client-Id`, `Request-Time`, `Signature`).
    MiniProgram,
    /// AlphaPay Open API (`Merchant-Code`, `Request-Time`, `Nonce`, `Signature`).
    Alphapay,
}

#[derive(Args)]
pub struct CallArgs {
    /// The API: a full path (`/api/v2/payments/pay`) or a name below the dialect's prefix
    /// (`v2/payments/pay`; for AlphaPay `payments/pay`, sent to `/api/v2.0/payments/pay`).
    pub path: String,
    /// The wallet's base URL.
    #[arg(long, env = "WALLETD_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// Your Client-Id (AlphaPay: your Merchant-Code).
    #[arg(long, env = "WALLETD_CLIENT_ID")]
    pub client_id: String,
    /// Your private key (PEM or bare base64).
    #[arg(long, env = "WALLETD_KEY")]
    pub key: PathBuf,
    /// The key version the wallet knows your key by.
    #[arg(long, default_value_t = 1)]
    pub key_version: u32,
    /// The wallet's public key, to verify the answer (see `walletd admin wallet-key show`).
    #[arg(long, env = "WALLETD_WALLET_KEY")]
    pub wallet_key: Option<PathBuf>,
    /// The JSON body: inline (starting with `{`), a file name, or `-` for standard input. Sent
    /// byte for byte as given.
    #[arg(long)]
    pub body: String,
    /// Which signed dialect to speak.
    #[arg(long, value_enum, default_value = "mini-program")]
    pub dialect: Dialect,
    /// Print one JSON object (request, answer, result, signature verdict, exit code) instead of
    /// the annotated exchange.
    #[arg(long)]
    pub json: bool,
}

fn read_body(arg: &str) -> anyhow::Result<Vec<u8>> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the body from standard input")?;
        Ok(buf)
    } else if arg.trim_start().starts_with('{') {
        Ok(arg.as_bytes().to_vec())
    } else {
        std::fs::read(arg).with_context(|| format!("reading {arg}"))
    }
}

/// Reads a key file (PEM or bare base64).
pub fn read_private_key(path: &PathBuf) -> anyhow::Result<PrivateKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    PrivateKey::from_text(&text).with_context(|| format!("{} is not a usable private key", path.display()))
}

/// Reads a public key file (PEM or bare base64).
pub fn read_public_key(path: &PathBuf) -> anyhow::Result<PublicKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    PublicKey::from_text(&text).with_context(|| format!("{} is not a usable public key", path.display()))
}

pub async fn run(args: CallArgs) -> anyhow::Result<ExitCode> {
    let key = read_private_key(&args.key).context("your private key (--key)")?;
    let wallet_key = args
        .wallet_key
        .as_ref()
        .map(read_public_key)
        .transpose()
        .context("the wallet's public key (--wallet-key)")?;
    let body = read_body(&args.body)?;
    let api = args.path.trim_start_matches('/');

    // Sign and send; keep the raw answer so it can be shown before it is judged.
    let sender = Sender::new(&args, &key, wallet_key.as_ref());
    let exchange: Exchange = sender
        .exchange(api, body)
        .await
        .with_context(|| format!("sending to {}", args.base_url))?;

    let verdict = wallet_key.as_ref().map(|_| sender.verify_answer(&exchange));
    let outcome = Outcome::judge(&exchange, verdict.as_ref());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome.to_json(&exchange))?);
        return Ok(ExitCode::from(outcome.exit_code()));
    }

    print_exchange(&exchange)?;
    print_verdict(&exchange, verdict.as_ref(), &outcome, wallet_key.as_ref(), &args);
    Ok(ExitCode::from(outcome.exit_code()))
}

/// The merchant SDK client of the dialect `call` speaks.
enum Sender {
    Mini(MiniProgramClient),
    Alpha(AlphaPayClient),
}

impl Sender {
    /// A client for the dialect, base URL, client id and key version given. A path given in full
    /// (starting with `/`) is sent as it is, without the dialect's prefix.
    fn new(args: &CallArgs, key: &PrivateKey, wallet_key: Option<&PublicKey>) -> Sender {
        let full_path = args.path.starts_with('/');
        match args.dialect {
            Dialect::MiniProgram => {
                let c = match wallet_key {
                    Some(w) => {
                        MiniProgramClient::new(&args.base_url, &args.client_id, key.clone(), w.clone())
                    }
                    None => {
                        MiniProgramClient::without_wallet_key(&args.base_url, &args.client_id, key.clone())
                    }
                };
                let c = c.with_key_version(args.key_version);
                Sender::Mini(if full_path { c.with_prefix("") } else { c })
            }
            Dialect::Alphapay => {
                // Without a wallet key the answer is shown but not verified (a throwaway key that
                // verifies nothing stands in).
                let w = wallet_key.cloned().unwrap_or_else(|| key.public_key());
                let c = AlphaPayClient::new(&args.base_url, &args.client_id, key.clone(), w)
                    .with_key_version(args.key_version);
                Sender::Alpha(if full_path {
                    c.with_prefix("").with_version("")
                } else {
                    c
                })
            }
        }
    }

    /// Signs and sends the body; the raw exchange, answer not yet judged.
    async fn exchange(&self, api: &str, body: Vec<u8>) -> Result<Exchange, ClientError> {
        match self {
            Sender::Mini(c) => c.exchange(api, body, &RequestOptions::default()).await,
            Sender::Alpha(c) => c.exchange(api, body, &AlphaPayRequestOptions::default()).await,
        }
    }

    /// Verifies the answer's signature with the wallet's key.
    fn verify_answer(&self, exchange: &Exchange) -> Result<Verified, ClientError> {
        match self {
            Sender::Mini(c) => c.verify_answer(
                &exchange.path,
                exchange.status,
                exchange.headers.clone(),
                exchange.body.clone(),
            ),
            Sender::Alpha(c) => c.verify_answer(
                &exchange.path,
                exchange.status,
                exchange.headers.clone(),
                exchange.body.clone(),
            ),
        }
    }
}

/// What the answer's signature came to, in text: not checked, verified (with a hint when the
/// wallet refused the merchant's own signature), missing, or not verifying (with the diagnosis).
fn print_verdict(
    exchange: &Exchange,
    verdict: Option<&Result<Verified, ClientError>>,
    outcome: &Outcome,
    wallet_key: Option<&PublicKey>,
    args: &CallArgs,
) {
    match (verdict, &outcome.signature) {
        (None, _) => {
            println!("answer signature: not checked (pass --wallet-key or set WALLETD_WALLET_KEY)")
        }
        (Some(Ok(_)), _) => {
            println!("answer signature: verified");
            if outcome.result_code.as_deref() == Some("INVALID_SIGNATURE") {
                println!(
                    "the wallet refused YOUR signature: check that the key you sign with matches the public key the wallet holds for {} (keyVersion {}); `walletd explain` shows the content you signed",
                    args.client_id, args.key_version
                );
            }
        }
        (Some(Err(e)), SignatureVerdict::Missing) => {
            println!("answer signature: none ({e}); do not trust this answer");
        }
        (Some(Err(e)), _) => {
            println!("answer signature: DOES NOT VERIFY ({e}); do not trust this answer");
            if let Some(wallet_key) = wallet_key {
                println!("\n{}", explain_answer(exchange, wallet_key, args));
            }
        }
    }
}

/// Prints both sides of the exchange as they went over the wire.
fn print_exchange(exchange: &Exchange) -> anyhow::Result<()> {
    println!("> POST {}", exchange.path);
    for (name, value) in &exchange.request_headers {
        println!("> {name}: {value}");
    }
    println!(">");
    println!("> {}", String::from_utf8_lossy(&exchange.request_body));
    println!();
    println!("< HTTP {}", exchange.status);
    for (name, value) in &exchange.headers {
        println!("< {name}: {}", value.to_str().unwrap_or("(not text)"));
    }
    println!("<");
    match serde_json::from_slice::<serde_json::Value>(&exchange.body) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Err(_) => println!("{}", String::from_utf8_lossy(&exchange.body)),
    }
    println!();
    Ok(())
}

/// Runs the signature diagnosis on an answer whose signature does not verify.
fn explain_answer(exchange: &Exchange, wallet_key: &PublicKey, args: &CallArgs) -> String {
    let message = SignedMessage {
        kind: MessageKind::Response,
        method: "POST".into(),
        target: None,
        headers: exchange
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: exchange.body.to_vec(),
        crlf_headers: false,
    };
    let options = DiagnoseOptions {
        dialect: Some(match args.dialect {
            Dialect::MiniProgram => walletd_client::diagnose::Dialect::MiniProgram,
            Dialect::Alphapay => walletd_client::diagnose::Dialect::AlphaPay,
        }),
        path: Some(exchange.path.clone()),
        client_id: Some(args.client_id.clone()),
        ..DiagnoseOptions::default()
    };
    diagnose(&message, wallet_key, &options).to_string()
}

/// Exit codes of `walletd call`, for scripts. A signature problem outranks the result: an answer
/// that cannot be trusted says nothing about the payment.
pub mod exit {
    /// S or A, and the answer's signature verified.
    pub const OK: u8 = 0;
    /// Usage errors, unreadable files, and requests that never got an answer (set by `main`).
    pub const ERROR: u8 = 2;
    /// The wallet answered F (failed), INVALID_SIGNATURE included.
    pub const FAILED: u8 = 3;
    /// The wallet answered U (unknown): inquire before acting.
    pub const UNKNOWN: u8 = 4;
    /// The answer has no signature, its signature does not verify, or it has no readable result.
    pub const BAD_ANSWER: u8 = 5;
    /// The answer was not checked because no wallet key was given.
    pub const UNVERIFIED: u8 = 6;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignatureVerdict {
    Verified,
    Missing,
    Invalid,
    NotChecked,
}

impl SignatureVerdict {
    fn as_str(self) -> &'static str {
        match self {
            SignatureVerdict::Verified => "verified",
            SignatureVerdict::Missing => "missing",
            SignatureVerdict::Invalid => "invalid",
            SignatureVerdict::NotChecked => "not_checked",
        }
    }
}

/// What a call came to: the answer's signature and its result.
struct Outcome {
    signature: SignatureVerdict,
    error: Option<String>,
    result: Option<serde_json::Value>,
    result_status: Option<String>,
    result_code: Option<String>,
}

impl Outcome {
    fn judge(exchange: &Exchange, verdict: Option<&Result<Verified, ClientError>>) -> Outcome {
        let (signature, error) = match verdict {
            None => (SignatureVerdict::NotChecked, None),
            Some(Ok(_)) => (SignatureVerdict::Verified, None),
            Some(Err(e @ ClientError::HttpStatus { .. })) => (SignatureVerdict::Missing, Some(e.to_string())),
            Some(Err(e @ ClientError::Signature(m)))
                if m.starts_with("no ") && m.ends_with("ignature header") =>
            {
                (SignatureVerdict::Missing, Some(e.to_string()))
            }
            Some(Err(e)) => (SignatureVerdict::Invalid, Some(e.to_string())),
        };
        // The result as the body states it (for AlphaPay, its result object reads the same way).
        let result = serde_json::from_slice::<serde_json::Value>(&exchange.body)
            .ok()
            .and_then(|v| v.get("result").cloned());
        let field = |name: &str| {
            result
                .as_ref()
                .and_then(|r| r.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Outcome {
            signature,
            error,
            result_status: field("resultStatus"),
            result_code: field("resultCode"),
            result,
        }
    }

    fn exit_code(&self) -> u8 {
        match self.signature {
            SignatureVerdict::Missing | SignatureVerdict::Invalid => return exit::BAD_ANSWER,
            SignatureVerdict::NotChecked => return exit::UNVERIFIED,
            SignatureVerdict::Verified => {}
        }
        match self.result_status.as_deref() {
            Some("S") | Some("A") => exit::OK,
            Some("F") => exit::FAILED,
            Some("U") => exit::UNKNOWN,
            _ => exit::BAD_ANSWER,
        }
    }

    fn to_json(&self, exchange: &Exchange) -> serde_json::Value {
        let body = |bytes: &[u8]| match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => v,
            Err(_) => serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()),
        };
        let request_headers: serde_json::Map<String, serde_json::Value> = exchange
            .request_headers
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let answer_headers: serde_json::Map<String, serde_json::Value> = exchange
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    serde_json::Value::String(v.to_str().unwrap_or("(not text)").to_owned()),
                )
            })
            .collect();
        serde_json::json!({
            "request": {
                "method": "POST",
                "path": exchange.path,
                "headers": request_headers,
                "body": body(&exchange.request_body),
            },
            "answer": {
                "status": exchange.status,
                "headers": answer_headers,
                "body": body(&exchange.body),
            },
            "result": self.result,
            "signature": self.signature.as_str(),
            "signatureVerified": self.signature == SignatureVerdict::Verified,
            "signatureError": self.error,
            "exitCode": self.exit_code(),
        })
    }
}
