//! The `result` object every Mini Program answer carries, and the one table of result codes.
//!
//! Which API sends each code, and when: docs/result-codes.md. Where two sources disagree on the
//! status of a code (REQUEST_TRAFFIC_EXCEED_LIMIT is F in one table and U in another), we use U,
//! because a retry with the same request id is the safe reaction.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `resultStatus`: S success, F failed, U unknown (inquire; never treat as failed), A accepted
/// (the next step is in the answer, e.g. a redirection to the cashier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResultStatus {
    #[serde(rename = "S")]
    Success,
    #[serde(rename = "F")]
    Failed,
    #[serde(rename = "U")]
    Unknown,
    #[serde(rename = "A")]
    Accepted,
}

impl ResultStatus {
    /// The one-letter wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultStatus::Success => "S",
            ResultStatus::Failed => "F",
            ResultStatus::Unknown => "U",
            ResultStatus::Accepted => "A",
        }
    }

    /// Parses the one-letter wire form.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "S" => Some(ResultStatus::Success),
            "F" => Some(ResultStatus::Failed),
            "U" => Some(ResultStatus::Unknown),
            "A" => Some(ResultStatus::Accepted),
            _ => None,
        }
    }
}

impl fmt::Display for ResultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! result_codes {
    ($( $variant:ident = $code:literal, $status:ident, $message:literal; )*) => {
        /// Every result code walletd sends or understands, with the status it always travels with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ResultCode {
            $( #[doc = $message] $variant, )*
        }

        impl ResultCode {
            /// All codes, in table order.
            pub const ALL: &'static [ResultCode] = &[$( ResultCode::$variant, )*];

            /// The wire form, e.g. `USER_BALANCE_NOT_ENOUGH`.
            pub fn as_str(self) -> &'static str {
                match self { $( ResultCode::$variant => $code, )* }
            }

            /// The status this code is always sent with.
            pub fn status(self) -> ResultStatus {
                match self { $( ResultCode::$variant => ResultStatus::$status, )* }
            }

            /// A default human message (≤ 256 characters).
            pub fn default_message(self) -> &'static str {
                match self { $( ResultCode::$variant => $message, )* }
            }

            /// Parses the wire form; `None` for a code this table does not know.
            pub fn from_wire(code: &str) -> Option<Self> {
                match code { $( $code => Some(ResultCode::$variant), )* _ => None }
            }
        }
    };
}

result_codes! {
    Success = "SUCCESS", Success, "Success";
    Accept = "ACCEPT", Accepted, "Accepted, continue with the action form";
    // Common codes.
    ProcessFail = "PROCESS_FAIL", Failed, "A general business failure occurred";
    ParamIllegal = "PARAM_ILLEGAL", Failed, "Illegal parameters";
    InvalidApi = "INVALID_API", Failed, "The called API is invalid or not active";
    AccessDenied = "ACCESS_DENIED", Failed, "Access is denied";
    RequestTrafficExceedLimit = "REQUEST_TRAFFIC_EXCEED_LIMIT", Unknown, "The request traffic exceeds the limit";
    UnknownException = "UNKNOWN_EXCEPTION", Unknown, "An API call failed for an unknown reason; inquire or retry";
    // Transport security.
    InvalidSignature = "INVALID_SIGNATURE", Failed, "The signature is invalid";
    InvalidClient = "INVALID_CLIENT", Failed, "The client is invalid";
    KeyNotFound = "KEY_NOT_FOUND", Failed, "The key for this client and key version is not found";
    MethodNotSupported = "METHOD_NOT_SUPPORTED", Failed, "The HTTP method is not supported";
    MediaTypeNotAcceptable = "MEDIA_TYPE_NOT_ACCEPTABLE", Failed, "The media type is not acceptable";
    // Tokens.
    InvalidAccessToken = "INVALID_ACCESS_TOKEN", Failed, "The access token is invalid";
    ExpiredAccessToken = "EXPIRED_ACCESS_TOKEN", Failed, "The access token has expired";
    InvalidAgentToken = "INVALID_AGENT_TOKEN", Failed, "The agent token is invalid";
    ExpiredAgentToken = "EXPIRED_AGENT_TOKEN", Failed, "The agent token has expired";
    // applyToken / cancelToken.
    AuthClientUnsupportedGrantType = "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE", Failed, "The grant type is not supported";
    InvalidAuthClient = "INVALID_AUTH_CLIENT", Failed, "The auth client is invalid";
    InvalidAuthClientStatus = "INVALID_AUTH_CLIENT_STATUS", Failed, "The auth client status is invalid";
    InvalidRefreshToken = "INVALID_REFRESH_TOKEN", Failed, "The refresh token is invalid";
    ExpiredRefreshToken = "EXPIRED_REFRESH_TOKEN", Failed, "The refresh token has expired";
    UsedRefreshToken = "USED_REFRESH_TOKEN", Failed, "The refresh token has been used";
    InvalidCode = "INVALID_CODE", Failed, "The code is invalid";
    UsedCode = "USED_CODE", Failed, "The code has been used";
    ExpiredCode = "EXPIRED_CODE", Failed, "The code has expired";
    InvalidAuthcode = "INVALID_AUTHCODE", Failed, "The auth code is invalid";
    UsedAuthcode = "USED_AUTHCODE", Failed, "The auth code has been used";
    ExpiredAuthcode = "EXPIRED_AUTHCODE", Failed, "The auth code has expired";
    ReferenceClientIdNotMatch = "REFERENCE_CLIENT_ID_NOT_MATCH", Failed, "The reference client id does not match";
    // pay.
    PaymentInProcess = "PAYMENT_IN_PROCESS", Unknown, "The payment is being processed";
    RepeatReqInconsistent = "REPEAT_REQ_INCONSISTENT", Failed, "The repeated request is inconsistent with the first one";
    PaymentAmountExceedLimit = "PAYMENT_AMOUNT_EXCEED_LIMIT", Failed, "The payment amount exceeds the limit";
    UserNotExist = "USER_NOT_EXIST", Failed, "The user does not exist";
    UserStatusAbnormal = "USER_STATUS_ABNORMAL", Failed, "The user status is abnormal";
    UserBalanceNotEnough = "USER_BALANCE_NOT_ENOUGH", Failed, "The user balance is not enough";
    PartnerNotExist = "PARTNER_NOT_EXIST", Failed, "The partner does not exist";
    PartnerStatusAbnormal = "PARTNER_STATUS_ABNORMAL", Failed, "The partner status is abnormal";
    RiskReject = "RISK_REJECT", Failed, "The request is rejected by risk control";
    CurrencyNotSupport = "CURRENCY_NOT_SUPPORT", Failed, "The currency is not supported";
    OrderStatusInvalid = "ORDER_STATUS_INVALID", Failed, "The order status is invalid for this operation";
    UserAmountExceedLimit = "USER_AMOUNT_EXCEED_LIMIT", Failed, "The amount exceeds the user's limit";
    AuthCodeAlreadyUsed = "AUTH_CODE_ALREADY_USED", Failed, "The payment code has been used";
    // inquiry, cancel, refund.
    OrderNotExist = "ORDER_NOT_EXIST", Failed, "The order does not exist";
    CancelWindowExceed = "CANCEL_WINDOW_EXCEED", Failed, "The cancel window has passed";
    MerchantBalanceNotEnough = "MERCHANT_BALANCE_NOT_ENOUGH", Failed, "The merchant balance is not enough";
    RefundInProcess = "REFUND_IN_PROCESS", Unknown, "The refund is being processed";
    RefundWindowExceed = "REFUND_WINDOW_EXCEED", Failed, "The refund window has passed";
    RefundAmountExceed = "REFUND_AMOUNT_EXCEED", Failed, "The total refund amount exceeds the payment amount";
    PartnerBalanceNotEnough = "PARTNER_BALANCE_NOT_ENOUGH", Failed, "The partner balance is not enough";
    RefundNotExist = "REFUND_NOT_EXIST", Failed, "The refund does not exist";
    // Authorization and capture.
    AuthCancelled = "AUTH_CANCELLED", Failed, "The authorization has been cancelled";
    AuthExpired = "AUTH_EXPIRED", Failed, "The authorization has expired";
    AuthNotFound = "AUTH_NOT_FOUND", Failed, "The authorization is not found";
    CaptureAmountExceedAuthLimit = "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT", Failed, "The capture amount exceeds the authorized amount";
    CaptureInProcess = "CAPTURE_IN_PROCESS", Unknown, "The capture is being processed";
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wire `result` object. Fields stay strings so that a code this table does not know still
/// round-trips (a client must be able to read any wallet's answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResult {
    pub result_code: String,
    pub result_status: String,
    pub result_message: String,
}

/// Longest `resultMessage` we send (docs/result-codes.md).
pub const RESULT_MESSAGE_MAX_CHARS: usize = 256;

impl WireResult {
    /// A result for `code` with its default message.
    pub fn of(code: ResultCode) -> Self {
        Self::with_message(code, code.default_message())
    }

    /// A result for `code` with our own message, cut to 256 characters.
    pub fn with_message(code: ResultCode, message: &str) -> Self {
        WireResult {
            result_code: code.as_str().to_owned(),
            result_status: code.status().as_str().to_owned(),
            result_message: message.chars().take(RESULT_MESSAGE_MAX_CHARS).collect(),
        }
    }

    /// The typed code, if this table knows it.
    pub fn code(&self) -> Option<ResultCode> {
        ResultCode::from_wire(&self.result_code)
    }

    /// The typed status, if it is one of S/F/U/A.
    pub fn status(&self) -> Option<ResultStatus> {
        ResultStatus::from_wire(&self.result_status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_round_trips_and_is_unique() {
        let mut seen = HashSet::new();
        for code in ResultCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert_eq!(ResultCode::from_wire(code.as_str()), Some(*code));
            assert!(code.as_str().len() <= 64);
            assert!(code.default_message().len() <= RESULT_MESSAGE_MAX_CHARS);
        }
        assert_eq!(ResultCode::from_wire("NOT_A_CODE"), None);
    }

    #[test]
    fn statuses_follow_the_protocol_tables() {
        assert_eq!(ResultCode::Success.status(), ResultStatus::Success);
        assert_eq!(ResultCode::Accept.status(), ResultStatus::Accepted);
        assert_eq!(ResultCode::UnknownException.status(), ResultStatus::Unknown);
        assert_eq!(ResultCode::PaymentInProcess.status(), ResultStatus::Unknown);
        assert_eq!(ResultCode::RefundInProcess.status(), ResultStatus::Unknown);
        assert_eq!(ResultCode::InvalidSignature.status(), ResultStatus::Failed);
        assert_eq!(ResultCode::RepeatReqInconsistent.status(), ResultStatus::Failed);
    }

    #[test]
    fn wire_result_serialises_in_camel_case_and_cuts_long_messages() {
        let long = "x".repeat(300);
        let r = WireResult::with_message(ResultCode::ParamIllegal, &long);
        assert_eq!(r.result_message.chars().count(), 256);
        let json = serde_json::to_value(WireResult::of(ResultCode::Success)).unwrap();
        assert_eq!(json["resultStatus"], "S");
        assert_eq!(json["resultCode"], "SUCCESS");
        assert_eq!(json["resultMessage"], "Success");
    }
}
