//! Refunds on PostgreSQL.

use super::*;
use crate::storage::RefundRecords;

impl RefundRecords for PgTx<'_> {
    fn list_refunds(&mut self, client_id: Option<&str>, n: u32) -> Result<Vec<Refund>, StorageError> {
        self.many_docs(
            "SELECT r.doc FROM transfers t JOIN refunds r ON r.refund_id = t.reference \
             WHERE t.code = 'refund' AND ($1::TEXT IS NULL OR r.client_id = $1) ORDER BY t.id DESC LIMIT $2",
            &[&client_id, &limit(n)],
        )
    }

    fn insert_refund(&mut self, r: &Refund) -> Result<(), StorageError> {
        let n = self.execute(
            "INSERT INTO refunds (refund_id, client_id, refund_request_id, payment_id, doc) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
            &[&r.refund_id, &r.client_id, &r.refund_request_id, &r.payment_id, &to_doc(r)?],
        )?;
        Self::inserted_one(
            n,
            &format!(
                "refund {} or refundRequestId {}",
                r.refund_id, r.refund_request_id
            ),
        )
    }

    fn get_refund(&mut self, refund_id: &str) -> Result<Option<Refund>, StorageError> {
        self.one_doc("SELECT doc FROM refunds WHERE refund_id = $1", &[&refund_id])
    }

    fn get_refund_by_request(
        &mut self,
        client_id: &str,
        request_id: &str,
    ) -> Result<Option<Refund>, StorageError> {
        self.one_doc(
            "SELECT doc FROM refunds WHERE client_id = $1 AND refund_request_id = $2",
            &[&client_id, &request_id],
        )
    }

    fn list_refunds_of_payment(&mut self, payment_id: &str, n: u32) -> Result<Vec<Refund>, StorageError> {
        self.many_docs(
            "SELECT doc FROM refunds WHERE payment_id = $1 ORDER BY refund_id LIMIT $2",
            &[&payment_id, &limit(n)],
        )
    }
}
