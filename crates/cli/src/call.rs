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
use walletd_client::{AlphaPayClient, ClientError, Exchange, MiniProgramClient, RequestOptions};
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
    let full_path = args.path.starts_with('/');
    let api = args.path.trim_start_matches('/');

    // Sign and send; keep the raw answer so it can be shown before it is judged.
    enum Sender {
        Mini(MiniProgramClient),
        Alpha(AlphaPayClient),
    }
    let sender = match args.dialect {
        Dialect::MiniProgram => {
            let c = match &wallet_key {
                Some(w) => MiniProgramClient::new(&args.base_url, &args.client_id, key.clone(), w.clone()),
                None => MiniProgramClient::without_wallet_key(&args.base_url, &args.client_id, key.clone()),
            };
            let c = c.with_key_version(args.key_version);
            Sender::Mini(if full_path { c.with_prefix("") } else { c })
        }
        Dialect::Alphapay => {
            // Without a wallet key the answer is shown but not verified (a throwaway key that
            // verifies nothing stands in).
            let w = wallet_key.clone().unwrap_or_else(|| key.public_key());
            let c = AlphaPayClient::new(&args.base_url, &args.client_id, key.clone(), w)
                .with_key_version(args.key_version);
            Sender::Alpha(if full_path {
                c.with_prefix("").with_version("")
            } else {
                c
            })
        }
    };
    let exchange: Exchange = match &sender {
        Sender::Mini(c) => c.exchange(api, body, &RequestOptions::default()).await,
        Sender::Alpha(c) => c.exchange(api, body, &AlphaPayRequestOptions::default()).await,
    }
    .with_context(|| format!("sending to {}", args.base_url))?;

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

    let Some(wallet_key) = wallet_key else {
        println!("answer signature: not checked (pass --wallet-key or set WALLETD_WALLET_KEY)");
        return Ok(ExitCode::SUCCESS);
    };
    let verdict = match &sender {
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
    };
    match verdict {
        Ok(v) => {
            println!("answer signature: verified");
            if v.result.result_code == "INVALID_SIGNATURE" {
                println!(
                    "the wallet refused YOUR signature: check that the key you sign with matches the public key the wallet holds for {} (keyVersion {}); `walletd explain` shows the content you signed",
                    args.client_id, args.key_version
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ ClientError::HttpStatus { .. }) => {
            println!("answer signature: none ({e}); do not trust this answer");
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            println!("answer signature: DOES NOT VERIFY ({e}); do not trust this answer");
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
            println!("\n{}", diagnose(&message, &wallet_key, &options));
            Ok(ExitCode::from(1))
        }
    }
}
