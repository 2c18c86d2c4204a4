//! `walletd call`: a merchant's signed Mini Program request, printed in full with its answer and
//! whether the answer's signature verifies.

use anyhow::{bail, Context as _};
use clap::Args;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use walletd_protocol::crypto::{PrivateKey, PublicKey};
use walletd_protocol::signature::{format_header, SignatureHeader};
use walletd_protocol::{content, time};

#[derive(Args)]
pub struct CallArgs {
    /// The API path, e.g. /api/v2/payments/pay.
    pub path: String,
    /// The wallet's base URL.
    #[arg(long, env = "WALLETD_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// Your Client-Id.
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
    /// The JSON body: inline (starting with `{`), a file name, or `-` for standard input.
    #[arg(long)]
    pub body: String,
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

pub async fn run(args: CallArgs) -> anyhow::Result<ExitCode> {
    let key_text =
        std::fs::read_to_string(&args.key).with_context(|| format!("reading {}", args.key.display()))?;
    let key = PrivateKey::from_text(&key_text).context("parsing your private key")?;
    let wallet_key = match &args.wallet_key {
        Some(p) => {
            let t = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(PublicKey::from_text(&t).context("parsing the wallet's public key")?)
        }
        None => None,
    };
    let body = read_body(&args.body)?;
    let path = if args.path.starts_with('/') {
        args.path.clone()
    } else {
        format!("/{}", args.path)
    };
    let request_time = time::format_response_time(chrono::Utc::now().fixed_offset());
    let signed = content::mini_program("POST", &path, &args.client_id, &request_time, &body);
    let signature = format_header(key.algorithm(), args.key_version, &key.sign(&signed)?);

    println!("> POST {path}");
    println!("> client-id: {}", args.client_id);
    println!("> request-time: {request_time}");
    println!("> signature: {signature}");
    println!("> {}", String::from_utf8_lossy(&body));
    let url = format!("{}{path}", args.base_url.trim_end_matches('/'));
    let resp = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json; charset=UTF-8")
        .header("client-id", &args.client_id)
        .header("request-time", &request_time)
        .header("signature", &signature)
        .body(body)
        .send()
        .await
        .with_context(|| format!("sending to {url}"))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let answer = resp.bytes().await.context("reading the answer")?;
    println!("< HTTP {status}");
    for name in ["client-id", "response-time", "signature"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            println!("< {name}: {v}");
        }
    }
    match serde_json::from_slice::<serde_json::Value>(&answer) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Err(_) => println!("{}", String::from_utf8_lossy(&answer)),
    }
    let Some(wallet_key) = wallet_key else {
        println!("(answer signature not checked: pass --wallet-key)");
        return Ok(ExitCode::SUCCESS);
    };
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (Some(sig), Some(rt)) = (get("signature"), get("response-time")) else {
        bail!("the answer has no signature or response-time header: it cannot be trusted");
    };
    let echoed = get("client-id").unwrap_or_default();
    let parsed = SignatureHeader::parse(&sig).context("parsing the answer's signature header")?;
    let signed = content::mini_program("POST", &path, &echoed, &rt, &answer);
    if wallet_key.verify(&signed, &parsed.signature).is_ok() && echoed == args.client_id {
        println!("answer signature: verified");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("answer signature: DOES NOT VERIFY (do not trust this answer)");
        Ok(ExitCode::from(1))
    }
}
