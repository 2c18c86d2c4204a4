//! `walletd admin report …`: reports for the back office. The logic lives in
//! `walletd_core::reports`, so that the console offers the very same figures.

use super::output::{money_json, print_json};
use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Subcommand;
use serde_json::{json, Value};
use walletd_core::reports::SettlementReport;
use walletd_core::Wallet;
use walletd_protocol::Currency;

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Every payment, capture, refund, cancel and payout posted on merchant accounts on one UTC
    /// day, with totals per merchant and currency that tie to the ledger's postings of that day.
    Settlement {
        /// The UTC day, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// Only this merchant client.
        #[arg(long)]
        client_id: Option<String>,
        /// `csv`: the entries, a blank line, then the totals, each block with its header row.
        #[arg(long, value_parser = ["csv", "json"], default_value = "csv")]
        format: String,
    },
}

pub async fn run(wallet: &Wallet, command: ReportCommand, json: bool) -> anyhow::Result<()> {
    match command {
        ReportCommand::Settlement {
            date,
            client_id,
            format,
        } => {
            let day = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .with_context(|| format!("--date {date:?} is not a date of the form YYYY-MM-DD"))?;
            let report = wallet.settlement_report(day, client_id.as_deref()).await?;
            if json || format == "json" {
                print_json(&settlement_json(&report)?)
            } else {
                print!("{}", settlement_csv(&report)?);
                Ok(())
            }
        }
    }
}

fn currency(code: &str) -> anyhow::Result<Currency> {
    Currency::from_code(code).with_context(|| format!("unknown currency {code} in the report"))
}

pub fn settlement_json(r: &SettlementReport) -> anyhow::Result<Value> {
    let entries: Vec<Value> = r
        .entries
        .iter()
        .map(|e| {
            json!({
                "kind": e.kind.as_str(),
                "client_id": e.client_id,
                "id": e.id,
                "payment_id": e.payment_id,
                "transfer_id": e.transfer_id,
                "code": e.code,
                "amount": money_json(e.currency, e.amount_minor),
                "settled_at": e.settled_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            })
        })
        .collect();
    let mut totals = Vec::new();
    for t in &r.totals {
        let c = currency(&t.currency)?;
        totals.push(json!({
            "client_id": t.client_id,
            "currency": t.currency,
            "entries": t.entries,
            "payments": money_json(c, t.payments_minor),
            "captures": money_json(c, t.captures_minor),
            "refunds": money_json(c, t.refunds_minor),
            "cancels": money_json(c, t.cancels_minor),
            "payouts": money_json(c, t.payouts_minor),
            "other": money_json(c, t.other_minor),
            "credits": money_json(c, t.credits_minor),
            "debits": money_json(c, t.debits_minor),
            "net": money_json(c, t.net_minor),
        }));
    }
    Ok(json!({
        "date": r.date.to_string(),
        "client_id": r.client_id,
        "entries": entries,
        "totals": totals,
    }))
}

pub fn settlement_csv(r: &SettlementReport) -> anyhow::Result<String> {
    Ok(r.to_csv())
}
