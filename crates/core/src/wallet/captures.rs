//! The wallet's capture command: each capture of an authorization is one storage transaction.

use super::Wallet;
use crate::captures::{capture, CaptureOutcome};
use crate::error::CoreError;
use crate::model::captures::{Capture, CaptureCommand};

impl Wallet {
    /// capture: takes (part of) what an authorization holds.
    pub async fn capture(&self, cmd: CaptureCommand) -> Result<CaptureOutcome, CoreError> {
        self.write(move |ctx, tx| capture(ctx, tx, &cmd)).await
    }

    /// The captures of one authorization, oldest first.
    pub async fn captures_of(&self, payment_id: &str) -> Result<Vec<Capture>, CoreError> {
        let id = payment_id.to_owned();
        self.read(move |_, tx| {
            let mut captures = tx.list_captures(&id)?;
            captures.sort_by_key(|c| c.number);
            Ok(captures)
        })
        .await
    }
}
