//! The dump: every row of every table of a wallet as JSON lines, the way `walletd admin export`
//! writes it and `walletd admin import` reads it. It moves a wallet between backends (SQLite to
//! PostgreSQL) without touching a value: integers stay integers, text stays text, and the import
//! checks that it got every row the export wrote.
//!
//! ```text
//! {"header":{"format":1,"source":"sqlite","schema_version":1}}
//! {"row":{"table":"clients","row":{"client_id":"demo","partner_id":"demo","doc":"{…}"}}}
//! …
//! {"end":{"rows":{"accounts":3,"clients":1,…}}}
//! ```
//!
//! Tables come in creation order, so a table comes after the tables it refers to; rows come in
//! primary-key order (transfers by id, so a pending transfer comes before its resolution). Time
//! stamps are written as each backend keeps them (RFC 3339 text either way).

use crate::error::StorageError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;

/// The version of the dump format this build writes and reads.
pub const DUMP_FORMAT: u32 = 1;

/// One line of a dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpLine {
    /// The first line: what wrote the dump.
    Header {
        format: u32,
        /// `sqlite` or `postgres`.
        source: String,
        /// How many schema migrations the source had run.
        schema_version: usize,
    },
    /// One row, by column name.
    Row {
        table: String,
        row: serde_json::Map<String, serde_json::Value>,
    },
    /// The last line: how many rows each table had. A dump without it was cut short.
    End { rows: BTreeMap<String, u64> },
}

impl DumpLine {
    pub fn header(summary: &DumpSummary) -> DumpLine {
        DumpLine::Header {
            format: DUMP_FORMAT,
            source: summary.source.clone(),
            schema_version: summary.schema_version,
        }
    }

    /// Writes the line and its newline.
    pub fn write_to(&self, out: &mut (dyn Write + Send)) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// The lines of a dump, skipping blank ones.
    pub fn reader(
        input: &mut (dyn BufRead + Send),
    ) -> impl Iterator<Item = Result<DumpLine, StorageError>> + '_ {
        input.lines().enumerate().filter_map(|(i, line)| match line {
            Err(e) => Some(Err(StorageError::Backend(format!("reading the dump: {e}")))),
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some(
                serde_json::from_str(&l)
                    .map_err(|e| StorageError::Corrupt(format!("line {} of the dump: {e}", i + 1))),
            ),
        })
    }
}

/// What an export wrote or an import loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpSummary {
    pub source: String,
    pub schema_version: usize,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
}

impl DumpSummary {
    pub fn new(source: &str, schema_version: usize) -> DumpSummary {
        DumpSummary {
            source: source.to_owned(),
            schema_version,
            rows: BTreeMap::new(),
        }
    }

    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

fn sqlite_error(e: rusqlite::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

fn io_error(e: std::io::Error) -> StorageError {
    StorageError::Backend(format!("writing the dump: {e}"))
}

/// The schema version (migrations run) of the SQLite database at `path`.
pub fn sqlite_schema_version(path: &Path) -> Result<usize, StorageError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite_error)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sqlite_error)?;
    Ok(usize::try_from(version).unwrap_or(0))
}

/// Writes every row of the SQLite wallet at `path` to `out`, from one read snapshot (the server
/// may keep running). The database must exist and be migrated (open it with the storage backend first).
pub fn export_sqlite(path: &Path, out: &mut (dyn Write + Send)) -> Result<DumpSummary, StorageError> {
    if !path.exists() {
        return Err(StorageError::Backend(format!(
            "there is no database at {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sqlite_error)?;
    // One read transaction: every table is read from the same snapshot.
    conn.execute_batch("BEGIN").map_err(sqlite_error)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sqlite_error)?;
    let mut summary = DumpSummary::new("sqlite", usize::try_from(version).unwrap_or(0));
    DumpLine::header(&summary).write_to(out).map_err(io_error)?;
    for table in dumped_tables(&conn)? {
        let count = export_table(&conn, &table, out)?;
        summary.rows.insert(table, count);
    }
    conn.execute_batch("COMMIT").map_err(sqlite_error)?;
    DumpLine::End {
        rows: summary.rows.clone(),
    }
    .write_to(out)
    .map_err(io_error)?;
    out.flush().map_err(io_error)?;
    Ok(summary)
}

/// The tables a dump holds, in the order they were created: all but SQLite's own and
/// `daily_totals`, which is derived from the payments (the importing side's triggers rebuild it).
fn dumped_tables(conn: &Connection) -> Result<Vec<String>, StorageError> {
    let mut st = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'daily_totals' ORDER BY rowid")
        .map_err(sqlite_error)?;
    let names = st
        .query_map([], |r| r.get(0))
        .map_err(sqlite_error)?
        .collect::<Result<Vec<String>, _>>()
        .map_err(sqlite_error)?;
    Ok(names)
}

/// Writes every row of `table` to `out` as a row line, in rowid order (by the first column for
/// a table without rowid); returns how many.
fn export_table(conn: &Connection, table: &str, out: &mut (dyn Write + Send)) -> Result<u64, StorageError> {
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    let mut st = conn
        .prepare(&format!("SELECT * FROM {quoted} ORDER BY rowid"))
        .or_else(|_| conn.prepare(&format!("SELECT * FROM {quoted} ORDER BY 1")))
        .map_err(sqlite_error)?;
    let columns: Vec<String> = st.column_names().iter().map(|c| c.to_string()).collect();
    let mut rows = st.query([]).map_err(sqlite_error)?;
    let mut count = 0u64;
    while let Some(r) = rows.next().map_err(sqlite_error)? {
        let mut row = serde_json::Map::new();
        for (i, name) in columns.iter().enumerate() {
            let value = column_value(r.get_ref(i).map_err(sqlite_error)?, table, name)?;
            row.insert(name.clone(), value);
        }
        DumpLine::Row {
            table: table.to_owned(),
            row,
        }
        .write_to(out)
        .map_err(io_error)?;
        count += 1;
    }
    Ok(count)
}

/// One stored value as JSON: null, an integer or UTF-8 text, the only kinds walletd stores.
fn column_value(value: ValueRef<'_>, table: &str, name: &str) -> Result<serde_json::Value, StorageError> {
    Ok(match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(n) => serde_json::Value::from(n),
        ValueRef::Text(t) => serde_json::Value::String(
            std::str::from_utf8(t)
                .map_err(|e| StorageError::Corrupt(format!("{table}.{name}: {e}")))?
                .to_owned(),
        ),
        ValueRef::Real(_) | ValueRef::Blob(_) => {
            return Err(StorageError::Corrupt(format!(
                "{table}.{name} holds a real number or a blob; walletd stores neither"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_blank_lines_are_skipped() {
        let mut row = serde_json::Map::new();
        row.insert("id".into(), serde_json::Value::from(9_007_199_254_740_993i64));
        row.insert("doc".into(), serde_json::Value::from("{\"a\":1}"));
        let lines = vec![
            DumpLine::header(&DumpSummary::new("sqlite", 3)),
            DumpLine::Row {
                table: "accounts".into(),
                row,
            },
            DumpLine::End {
                rows: [("accounts".to_owned(), 1)].into_iter().collect(),
            },
        ];
        let mut buf: Vec<u8> = Vec::new();
        for l in &lines {
            l.write_to(&mut buf).expect("write");
        }
        buf.extend_from_slice(b"\n  \n");
        let mut input = std::io::Cursor::new(buf);
        let read: Vec<DumpLine> = DumpLine::reader(&mut input)
            .collect::<Result<_, _>>()
            .expect("read back");
        // 2^53 + 1 survives: integers are never floats on the way.
        assert_eq!(read, lines);
    }

    #[test]
    fn a_line_that_is_not_json_names_its_number() {
        let mut input = std::io::Cursor::new(b"{\"end\":{\"rows\":{}}}\nnot json\n".to_vec());
        let err = DumpLine::reader(&mut input)
            .nth(1)
            .expect("second line")
            .expect_err("not json");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
