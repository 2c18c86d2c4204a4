//! Errors of the core. Business rejections are not errors: they are outcomes that get recorded
//! (idempotency stores failures too). A [`CoreError`] rolls the transaction back.

use walletd_protocol::ResultCode;

/// A failure of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage backend error: {0}")]
    Backend(String),
    #[error("a record with this key exists already: {0}")]
    Duplicate(String),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("the storage worker stopped")]
    Stopped,
    /// The queue of jobs waiting for the database is full: the job was not run. Answered at once
    /// (a signed "try again" in the signed dialects), so overload cannot grow memory without limit.
    #[error("the database is busy ({0} jobs waiting); retry shortly")]
    Busy(usize),
}

/// Why a core operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("{code}: {message}")]
    Rejected { code: ResultCode, message: String },
    #[error("ledger invariant violated: {0}")]
    Invariant(String),
}

impl CoreError {
    /// A business rejection with a code.
    pub fn rejected(code: ResultCode, message: impl Into<String>) -> Self {
        CoreError::Rejected {
            code,
            message: message.into(),
        }
    }
}

/// A refusal found while evaluating a request.
pub(crate) type Refusal = (ResultCode, String);

pub(crate) fn refuse<T>(
    code: ResultCode,
    message: impl Into<String>,
) -> Result<Result<T, Refusal>, CoreError> {
    Ok(Err((code, message.into())))
}
