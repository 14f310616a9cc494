//! A target's base URL, checked before anything is sent: http or https, a host, no query
//! or fragment (they would end up inside every request path), and a path prefix that is
//! kept (`https://gw.example/kms` sends `/kms/v1/...`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// scheme://host[:port][/prefix], without a trailing slash.
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--target '{given}': {reason}")]
pub struct BadUrl {
    pub given: String,
    pub reason: String,
}

impl BaseUrl {
    pub fn parse(given: &str) -> Result<Self, BadUrl> {
        let bad = |reason: &str| BadUrl {
            given: given.into(),
            reason: reason.into(),
        };
        let url = reqwest::Url::parse(given).map_err(|e| bad(&format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("only http and https URLs are supported"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("the URL has no host"));
        }
        if url.query().is_some() {
            return Err(bad(
                "a base URL cannot have a query (?…): it would end up inside every request path",
            ));
        }
        if url.fragment().is_some() {
            return Err(bad("a base URL cannot have a fragment (#…)"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials in the URL would be sent in clear and logged; use the profile's credential variables"));
        }
        let mut text = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        if let Some(p) = url.port() {
            text.push_str(&format!(":{p}"));
        }
        text.push_str(url.path().trim_end_matches('/'));
        Ok(Self { text })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_https(&self) -> bool {
        self.text.starts_with("https://")
    }

    pub fn host(&self) -> &str {
        let rest = self.text.split_once("://").map(|x| x.1).unwrap_or("");
        let hostport = rest.split('/').next().unwrap_or("");
        if hostport.starts_with('[') {
            return hostport.split(']').next().map(|h| &h[1..]).unwrap_or("");
        }
        hostport.split(':').next().unwrap_or("")
    }
}

/// Percent-decodes `%XX` (either hex case); invalid escapes stay literal; bytes that are not
/// UTF-8 become U+FFFD (Python's `urllib.parse.unquote`).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decoded `application/x-www-form-urlencoded` pairs of a query string, in order (`+` is a
/// space; `%2B` a plus).
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode(&s.replace('+', " "));
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_fragments_and_other_schemes_are_refused_and_prefixes_kept() {
        assert!(BaseUrl::parse("http://h/p?x=1")
            .unwrap_err()
            .reason
            .contains("query"));
        assert!(BaseUrl::parse("http://h/p#f").is_err());
        assert!(BaseUrl::parse("ftp://h").is_err());
        assert!(BaseUrl::parse("h:80").is_err());
        assert!(BaseUrl::parse("http://u:p@h").is_err());
        assert_eq!(
            BaseUrl::parse("http://h:8080/kms/").unwrap().as_str(),
            "http://h:8080/kms"
        );
        assert_eq!(
            BaseUrl::parse("https://H.example").unwrap().as_str(),
            "https://h.example"
        );
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:1/x").unwrap().host(),
            "127.0.0.1"
        );
    }
}
