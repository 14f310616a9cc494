//! The OTC reference server's fault catalogue (see `docs/reference.md`).

use crate::reference::catalogue::fault_catalogue;

fault_catalogue! { OtcFault {
    KeyInfoArray => "key-info-array", "describeKey answers key_info as an array of one object (the page's table type) instead of an object";
    DropRequiredField => "drop-required-field", "key_info omits the required field `key_state`";
    BadBody500 => "bad-body-500", "a malformed request body answers 500 instead of 400";
    AuthIgnored => "auth-ignored", "any or no signature is accepted";
    StaleDateAccepted => "stale-date-accepted", "X-Sdk-Date values outside the 15-minute window are accepted";
    ErrorEnvelopeFlat => "error-envelope-flat", "KMS errors are a flat {\"error_code\",\"error_msg\"} object without the \"error\" wrapper";
    TimestampSeconds => "timestamp-seconds", "creation_date/scheduled_deletion_date count seconds (10 digits) instead of milliseconds";
    TimestampNumber => "timestamp-number", "creation_date/scheduled_deletion_date are JSON numbers instead of strings of digits";
    UnknownKey400 => "unknown-key-400", "an unknown key_id answers 400 instead of 404";
} }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_well_formed() {
        crate::reference::catalogue::assert_catalogue(
            OtcFault::all(),
            OtcFault::name,
            OtcFault::description,
            |s| s.parse().ok(),
        );
        assert!(OtcFault::all().len() >= 6);
    }
}
