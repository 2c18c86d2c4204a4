//! The wallet's reports: the settlement report of a day, the live figures behind the metrics and
//! the latest refunds, each read in one read transaction.

use super::Wallet;
use crate::error::CoreError;
use crate::model::refunds::Refund;
use crate::reports::{live_figures_in, settlement_in, LiveFigures, SettlementReport};
use chrono::NaiveDate;

impl Wallet {
    /// Builds the settlement report of `date` (UTC), for one merchant or all, in one read
    /// transaction.
    pub async fn settlement_report(
        &self,
        date: NaiveDate,
        client_id: Option<&str>,
    ) -> Result<SettlementReport, CoreError> {
        let client = client_id.map(str::to_owned);
        self.read(move |_, tx| settlement_in(tx, date, client.as_deref()))
            .await
    }

    /// Reads [`LiveFigures`].
    pub async fn live_figures(&self, cap: u32) -> Result<LiveFigures, CoreError> {
        self.read(move |_, tx| live_figures_in(tx, cap)).await
    }

    /// The latest refunds (of one client, if given), newest first, at most `limit`.
    pub async fn latest_refunds(
        &self,
        client_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Refund>, CoreError> {
        let client = client_id.map(str::to_owned);
        self.read(move |_, tx| Ok(tx.list_refunds(client.as_deref(), limit)?))
            .await
    }
}
