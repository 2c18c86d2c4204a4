//! One pool connection, and sending several statements in one round trip.
//!
//! A pay on PostgreSQL is a handful of point statements, and what a pool thread spent on them was
//! mostly waiting: one socket round trip, and a context switch on each side, per statement. The
//! asynchronous client sends requests in the order their futures are first polled, without
//! waiting for the answers in between, so the statements of a job that need no answer before the
//! next one can travel together: `BEGIN` with the job's first statement, and the inserts whose
//! outcome nothing reads (a new payment, its idempotency record) with the statement after them or
//! with the `COMMIT`. The server still runs them one after the other, in that order.
//!
//! Each pool thread owns one [`Conn`]: the client and a single-threaded runtime that drives its
//! socket while the thread waits for a round trip. No tokio thread ever blocks on it.

use crate::error::StorageError;
use ::postgres::types::{IsNull, ToSql, Type};
use ::postgres::{NoTls, Row, Statement};
use bytes::BytesMut;
use futures_util::future::{maybe_done, MaybeDone};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

type Error = ::postgres::Error;

/// One statement of a round trip.
#[derive(Clone, Copy)]
pub(super) enum Step<'a> {
    /// A statement of the simple protocol without parameters: `BEGIN …`, `COMMIT`, `ROLLBACK`.
    Simple(&'a str),
    /// A prepared statement whose rows are wanted.
    Query(&'a Statement, &'a [&'a (dyn ToSql + Sync)]),
    /// A prepared statement whose row count is wanted.
    Execute(&'a Statement, &'a [&'a (dyn ToSql + Sync)]),
}

/// What one step came to.
pub(super) enum Done {
    Nothing,
    Rows(Vec<Row>),
    Count(u64),
}

/// A pool thread's connection: the asynchronous client and the runtime that drives it.
pub(super) struct Conn {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Conn {
    /// Connects and sets the session's statement timeout.
    pub(super) fn open(
        config: &tokio_postgres::Config,
        statement_timeout_ms: u64,
    ) -> Result<Conn, StorageError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StorageError::Backend(format!("starting a PostgreSQL connection's runtime: {e}")))?;
        let (client, connection) = runtime
            .block_on(config.connect(NoTls))
            .map_err(|e| StorageError::Backend(format!("connecting to PostgreSQL: {e}")))?;
        // The socket is driven whenever this thread waits in `block_on`; the task ends with the
        // connection, after which the client reports itself closed.
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a PostgreSQL connection ended");
            }
        });
        let conn = Conn { runtime, client };
        conn.runtime.block_on(
            conn.client
                .batch_execute(&format!("SET statement_timeout = {statement_timeout_ms}")),
        )?;
        Ok(conn)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub(super) fn prepare(&self, sql: &str) -> Result<Statement, Error> {
        self.runtime.block_on(self.client.prepare(sql))
    }

    /// Sends every step, in order, before reading any answer, and returns each step's answer in
    /// the same order. The server runs them one after the other as if sent one by one; a step
    /// that fails in a transaction makes the ones after it fail too, and turns a `COMMIT` among
    /// them into a rollback.
    pub(super) fn round_trip(&self, steps: &[Step<'_>]) -> Vec<Result<Done, Error>> {
        self.runtime.block_on(async {
            let mut pending: Vec<Pin<Box<MaybeDone<_>>>> = steps
                .iter()
                .map(|step| Box::pin(maybe_done(run(&self.client, step))))
                .collect();
            // The client queues a request when its future is first polled: polling each once, in
            // order, before waiting for any puts them on the wire in the order of `steps`.
            poll_fn(|cx| {
                for p in &mut pending {
                    let _ = p.as_mut().poll(cx);
                }
                Poll::Ready(())
            })
            .await;
            let mut answers = Vec::with_capacity(pending.len());
            for p in &mut pending {
                p.as_mut().await;
                // Awaited to the end just above, so its output is there, once.
                answers.push(p.as_mut().take_output().expect("an awaited step has its answer"));
            }
            answers
        })
    }
}

async fn run(client: &tokio_postgres::Client, step: &Step<'_>) -> Result<Done, Error> {
    match step {
        Step::Simple(sql) => client.batch_execute(sql).await.map(|()| Done::Nothing),
        Step::Query(st, params) => client.query(*st, params).await.map(Done::Rows),
        Step::Execute(st, params) => client.execute(*st, params).await.map(Done::Count),
    }
}

/// A parameter encoded when its statement was deferred, so the statement can be sent later
/// without borrowing the caller's values.
pub(super) struct Encoded(Option<BytesMut>);

impl Encoded {
    /// Encodes `params` for `statement`, checking each against the type the server expects.
    pub(super) fn all(
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Encoded>, StorageError> {
        let types = statement.params();
        if types.len() != params.len() {
            return Err(StorageError::Backend(format!(
                "a statement takes {} parameters, {} were given",
                types.len(),
                params.len()
            )));
        }
        types
            .iter()
            .zip(params)
            .map(|(ty, p)| {
                let mut buf = BytesMut::new();
                match p.to_sql_checked(ty, &mut buf) {
                    Ok(IsNull::Yes) => Ok(Encoded(None)),
                    Ok(IsNull::No) => Ok(Encoded(Some(buf))),
                    Err(e) => Err(StorageError::Backend(format!(
                        "encoding a parameter of type {ty}: {e}"
                    ))),
                }
            })
            .collect()
    }
}

/// The bytes are not shown: a parameter may be a token or a key.
impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("NULL"),
            Some(b) => write!(f, "{} bytes", b.len()),
        }
    }
}

impl ToSql for Encoded {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
        }
    }

    /// The type was checked when the value was encoded.
    fn accepts(_: &Type) -> bool {
        true
    }

    ::postgres::types::to_sql_checked!();
}
