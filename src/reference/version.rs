//! `Scp-Api-Version` negotiation (`kms 1.0` .. `kms 1.3`).

use chrono::NaiveDate;

use super::errors::ApiError;
use super::Sunset;

/// A supported API version of the KMS service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl ApiVersion {
    /// The latest CURRENT version, served when the header is absent (documented by the vendor).
    pub const LATEST: ApiVersion = ApiVersion::V1_3;

    pub fn as_str(&self) -> &'static str {
        match self {
            ApiVersion::V1_0 => "1.0",
            ApiVersion::V1_1 => "1.1",
            ApiVersion::V1_2 => "1.2",
            ApiVersion::V1_3 => "1.3",
        }
    }

    /// Managed keys and `managed_type` appeared in 1.2.
    pub fn has_managed(&self) -> bool {
        *self >= ApiVersion::V1_2
    }

    fn parse_number(s: &str) -> Option<ApiVersion> {
        match s {
            "1.0" => Some(ApiVersion::V1_0),
            "1.1" => Some(ApiVersion::V1_1),
            "1.2" => Some(ApiVersion::V1_2),
            "1.3" => Some(ApiVersion::V1_3),
            _ => None,
        }
    }
}

/// Parses the header value (`None` = header absent). Surrounding whitespace is tolerated, the
/// service name and number must be separated by whitespace.
pub fn negotiate(
    header: Option<&str>,
    sunset: Option<&Sunset>,
    serve_unknown: bool,
) -> Result<ApiVersion, ApiError> {
    let Some(raw) = header else {
        return Ok(ApiVersion::LATEST);
    };
    let mut parts = raw.split_whitespace();
    let parsed = match (parts.next(), parts.next(), parts.next()) {
        (Some("kms"), Some(n), None) => ApiVersion::parse_number(n),
        _ => None,
    };
    let Some(v) = parsed else {
        if serve_unknown {
            return Ok(ApiVersion::LATEST);
        }
        return Err(ApiError::no_such_version(format!(
            "unsupported Scp-Api-Version {:?}; supported: kms 1.0, kms 1.1, kms 1.2, kms 1.3",
            truncate(raw, 64)
        )));
    };
    if let Some(s) = sunset {
        if let Some(nb) = not_before(s, v) {
            if nb <= s.as_of {
                return Err(ApiError::no_such_version(format!(
                    "kms {} is past its Not Before date {} and is no longer supported",
                    v.as_str(),
                    nb.format("%Y-%m-%d")
                )));
            }
        }
    }
    Ok(v)
}

fn not_before(s: &Sunset, v: ApiVersion) -> Option<NaiveDate> {
    s.not_before
        .iter()
        .find(|(name, _)| name.trim() == v.as_str())
        .map(|(_, d)| *d)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(negotiate(None, None, false).ok(), Some(ApiVersion::V1_3));
        assert_eq!(
            negotiate(Some("  kms 1.0 "), None, false).ok(),
            Some(ApiVersion::V1_0)
        );
        assert!(negotiate(Some("kms 1.4"), None, false).is_err());
        assert!(negotiate(Some("kms1.2"), None, false).is_err());
        assert!(negotiate(Some(""), None, false).is_err());
        assert_eq!(
            negotiate(Some("kms 9"), None, true).ok(),
            Some(ApiVersion::V1_3)
        );
        let s = Sunset {
            as_of: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            not_before: vec![("1.0".into(), NaiveDate::from_ymd_opt(2025, 12, 31).unwrap())],
        };
        assert!(negotiate(Some("kms 1.0"), Some(&s), false).is_err());
        assert!(negotiate(Some("kms 1.1"), Some(&s), false).is_ok());
    }
}
