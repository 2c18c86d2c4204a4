//! Sandbox outcomes of refunds and captures: reserved amounts that force an answer, honoured only
//! with `sandbox = true` (README "Sandbox", one table with pay's 9901–9905 in
//! [`pay_outcome`]).
//!
//! An F outcome refuses the request like the real rule of that code would: nothing moves, and the
//! refusal is stored with the request id, so a retry gets it again. A U outcome plays "the answer
//! was lost": the refund or capture is made in full, in the same transaction as usual, and only the
//! answer says U; inquiry shows the truth and a retry with the same request id answers S with the
//! same refund or capture.

use walletd_protocol::ResultCode;

/// The refund `value` (minor units, any currency) that forces an outcome, if any.
pub fn refund_outcome(value_minor: i64) -> Option<(ResultCode, &'static str)> {
    match value_minor {
        9911 => Some((
            ResultCode::RefundAmountExceed,
            "Sandbox: refund amount 9911 always ends in REFUND_AMOUNT_EXCEED",
        )),
        9912 => Some((
            ResultCode::PartnerBalanceNotEnough,
            "Sandbox: refund amount 9912 always ends in PARTNER_BALANCE_NOT_ENOUGH",
        )),
        9913 => Some((
            ResultCode::UnknownException,
            "Sandbox: refund amount 9913 answers U; the refund was made, inquire",
        )),
        _ => None,
    }
}

/// The capture `value` (minor units, any currency) that forces an outcome, if any. A capture
/// without `captureAmount` is never forced.
pub fn capture_outcome(value_minor: i64) -> Option<(ResultCode, &'static str)> {
    match value_minor {
        9921 => Some((
            ResultCode::CaptureAmountExceedAuthLimit,
            "Sandbox: capture amount 9921 always ends in CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT",
        )),
        9922 => Some((
            ResultCode::AuthExpired,
            "Sandbox: capture amount 9922 always ends in AUTH_EXPIRED",
        )),
        9923 => Some((
            ResultCode::UnknownException,
            "Sandbox: capture amount 9923 answers U; the capture was made, inquire",
        )),
        _ => None,
    }
}

/// Reserved amounts that force an outcome, honoured only in sandbox mode (README "Sandbox").
pub fn pay_outcome(value_minor: i64) -> Option<(ResultCode, &'static str)> {
    match value_minor {
        9901 => Some((
            ResultCode::RiskReject,
            "Sandbox: amount 9901 always ends in RISK_REJECT",
        )),
        9902 => Some((
            ResultCode::UserStatusAbnormal,
            "Sandbox: amount 9902 always ends in USER_STATUS_ABNORMAL",
        )),
        9903 => Some((
            ResultCode::UnknownException,
            "Sandbox: amount 9903 answers U; the payment exists, inquire",
        )),
        9904 => Some((
            ResultCode::UserBalanceNotEnough,
            "Sandbox: amount 9904 always ends in USER_BALANCE_NOT_ENOUGH",
        )),
        9905 => Some((
            ResultCode::PaymentInProcess,
            "Sandbox: amount 9905 answers U/PAYMENT_IN_PROCESS; inquire",
        )),
        _ => None,
    }
}
