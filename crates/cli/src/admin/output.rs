//! How admin commands print: amounts read the same everywhere (`12.50 USD` in text; in JSON
//! `{"currency":"USD","value":"1250"}`, minor units as a string), text lists start with a header
//! row, and `--json` prints one JSON document a script can parse.

use serde_json::{json, Value};
use walletd_protocol::{Amount, Currency};

/// `12.50 USD`, `-3.00 USD`: major units and the currency, signed.
pub fn money_text(currency: Currency, minor: i64) -> String {
    match Amount::from_minor(currency, minor.unsigned_abs().min(i64::MAX as u64) as i64) {
        Ok(a) if minor < 0 => format!("-{a}"),
        Ok(a) => a.to_string(),
        Err(_) => format!("{minor} minor units {currency}"),
    }
}

/// `{"currency":"USD","value":"1250"}`: minor units as a string, never a float.
pub fn money_json(currency: Currency, minor: i64) -> Value {
    json!({"currency": currency.code(), "value": minor.to_string()})
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints a text table: a header row, then the rows, columns padded to their widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    (*c).to_owned()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(header.to_vec()));
    for row in rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}
