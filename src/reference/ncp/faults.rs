//! The NCP reference server's fault catalogue (see `docs/reference.md`).

use crate::reference::catalogue::fault_catalogue;

fault_catalogue! { NcpFault {
    DropRequiredField => "drop-required-field", "getKey data omits the required field `currentVersion`";
    WrongFieldType => "wrong-field-type", "getKey data.keyId is a string instead of an integer";
    AuthError403 => "auth-error-403", "a refused signature answers 403 instead of the gateway's 401";
    AuthIgnored => "auth-ignored", "any or no signature is accepted";
    StaleTimestampAccepted => "stale-timestamp-accepted", "x-ncp-apigw-timestamp values outside the 5-minute window are accepted";
    EnvelopeMissing => "envelope-missing", "getKey sends the key object bare, without the {\"code\",\"data\"} envelope";
    ErrorEnvelopeMissing => "error-envelope-missing", "errors are a plain {\"message\":..} object without the gateway's {\"error\":{..}}";
    TimestampIso8601 => "timestamp-iso8601", "registerDate/nextRotationDate/destroyDate are RFC 3339 strings instead of epoch milliseconds";
    TimestampSeconds => "timestamp-seconds", "registerDate/nextRotationDate/destroyDate count seconds instead of milliseconds";
    UnknownKeySuccess => "unknown-key-success", "an unknown keyTag answers 200 {\"code\":\"SUCCESS\",\"data\":null} instead of 404";
} }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_well_formed() {
        crate::reference::catalogue::assert_catalogue(
            NcpFault::all(),
            NcpFault::name,
            NcpFault::description,
            |s| s.parse().ok(),
        );
        assert!(NcpFault::all().len() >= 6);
    }
}
