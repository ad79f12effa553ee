//! OAuth 1.0a request signing (RFC 5849) as NetSuite's token-based authentication uses it:
//! HMAC-SHA256, the account id as realm, every parameter in the `Authorization` header.
//!
//! The signature base string holds the method, the base string URI (scheme and host in lower
//! case, no default port, the path as sent) and the normalized parameters: those of the query
//! string and the `oauth_*` ones. Request bodies are JSON, so they are never part of it (only
//! `application/x-www-form-urlencoded` bodies would be). A fresh nonce and timestamp go into
//! every request, retries included: NetSuite refuses a nonce it has seen.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::Rng;
use reqwest::Url;
use sha2::Sha256;

/// The value of `oauth_signature_method`.
const SIGNATURE_METHOD: &str = "HMAC-SHA256";
/// Characters of a nonce (alphanumeric).
const NONCE_LEN: usize = 24;

/// Token-based authentication credentials: the integration record's consumer key and secret,
/// and the access token's id and secret. Never printed.
pub struct Credentials {
    /// `oauth_consumer_key`.
    pub consumer_key: String,
    /// Signs, with the token secret.
    pub consumer_secret: String,
    /// `oauth_token`.
    pub token_id: String,
    /// Signs, with the consumer secret.
    pub token_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { .. }")
    }
}

/// The `Authorization` header of `method url` for `realm`, with a fresh nonce and the current
/// time.
pub fn authorization(credentials: &Credentials, realm: &str, method: &str, url: &Url) -> String {
    let nonce: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(NONCE_LEN)
        .map(char::from)
        .collect();
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    header(credentials, realm, method, url, &nonce, &timestamp)
}

/// The `Authorization` header for a given nonce and timestamp.
fn header(
    credentials: &Credentials,
    realm: &str,
    method: &str,
    url: &Url,
    nonce: &str,
    timestamp: &str,
) -> String {
    let oauth = oauth_params(credentials, nonce, timestamp);
    let base = base_string(method, url, &oauth);
    let signature = sign(
        &base,
        &credentials.consumer_secret,
        &credentials.token_secret,
    );
    let mut out = format!("OAuth realm=\"{realm}\"");
    for (name, value) in oauth
        .iter()
        .chain([&("oauth_signature", signature.as_str())])
    {
        out.push_str(&format!(",{name}=\"{}\"", encode(value)));
    }
    out
}

/// The `oauth_*` parameters but the signature.
fn oauth_params<'a>(
    credentials: &'a Credentials,
    nonce: &'a str,
    timestamp: &'a str,
) -> [(&'static str, &'a str); 6] {
    [
        ("oauth_consumer_key", &credentials.consumer_key),
        ("oauth_token", &credentials.token_id),
        ("oauth_signature_method", SIGNATURE_METHOD),
        ("oauth_timestamp", timestamp),
        ("oauth_nonce", nonce),
        ("oauth_version", "1.0"),
    ]
}

/// The signature base string (RFC 5849 §3.4.1) of `method url` with the `oauth` parameters.
fn base_string(method: &str, url: &Url, oauth: &[(&str, &str)]) -> String {
    let params = url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .chain(
            oauth
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_uri(url)),
        encode(&normalize(params))
    )
}

/// The base string URI (§3.4.1.2): scheme and host in lower case (the URL parser did that),
/// the port only when it is not the scheme's default, the path; no query or fragment.
fn base_uri(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    // `Url::port` is None for the scheme's default port.
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    out
}

/// The normalized parameters (§3.4.1.3.2) of decoded name/value pairs: each encoded, sorted by
/// name then value, joined with `=` and `&`.
fn normalize(params: impl Iterator<Item = (String, String)>) -> String {
    let mut encoded: Vec<(String, String)> =
        params.map(|(n, v)| (encode(&n), encode(&v))).collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// HMAC-SHA256 of `base` keyed with both secrets (§3.4.2), base64.
fn sign(base: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Percent-encoding of §3.6: everything but `A-Z a-z 0-9 - . _ ~`, as `%XX` in upper case.
fn encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => {
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 0xf)] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a valid URL")
    }

    /// The credentials of the vectors below (secrets with characters that must be encoded).
    fn credentials() -> Credentials {
        Credentials {
            consumer_key: "ck-4f0d".into(),
            consumer_secret: "cs&secret=1".into(),
            token_id: "tk-77a1".into(),
            token_secret: "ts/secret+2".into(),
        }
    }

    const NONCE: &str = "kllo9940pd9333jh";
    const TIMESTAMP: &str = "1191242096";

    /// The `name="value"` parameters of an `Authorization` header, values decoded as written.
    fn header_params(header: &str) -> Vec<(String, String)> {
        header
            .strip_prefix("OAuth ")
            .expect("an OAuth header")
            .split(',')
            .map(|pair| {
                let (name, value) = pair.split_once('=').expect("name=value");
                (name.trim().to_owned(), value.trim_matches('"').to_owned())
            })
            .collect()
    }

    #[test]
    fn parameters_are_normalized_as_in_rfc_5849_section_3_4_1_3_2() {
        // The RFC's example request: query `b5=%3D%253D&a3=a&c%40=&a2=r%20b`, a form body
        // `c2&a3=2+q` and the oauth_* parameters of its Authorization header.
        let request = url("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b");
        let query = request
            .query_pairs()
            .map(|(n, v)| (n.into_owned(), v.into_owned()));
        let rest = [
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
            ("c2", ""),
            ("a3", "2 q"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()));
        assert_eq!(
            normalize(query.chain(rest)),
            "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2\
             &oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201\
             &oauth_token=kkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn the_base_string_uri_is_as_in_rfc_5849_section_3_4_1_2() {
        assert_eq!(
            base_uri(&url("HTTP://EXAMPLE.COM:80/r%20v/X?id=123")),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            base_uri(&url("https://www.example.net:8080/?q=1")),
            "https://www.example.net:8080/"
        );
        assert_eq!(
            base_uri(&url("https://a.example:443/x#frag")),
            "https://a.example/x"
        );
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(encode("a b+c/d=e&f%"), "a%20b%2Bc%2Fd%3De%26f%25");
        assert_eq!(encode("é"), "%C3%A9");
    }

    /// Base strings and signatures computed independently with Python's oauthlib 3.2.2
    /// (`oauthlib.oauth1.Client(..., signature_method=SIGNATURE_HMAC_SHA256, realm="123456_SB1",
    /// nonce=NONCE, timestamp=TIMESTAMP).sign(uri, http_method)` and
    /// `oauthlib.oauth1.rfc5849.signature.signature_base_string`).
    const VECTORS: &[(&str, &str, &str, &str)] = &[
        (
            "POST",
            "https://123456-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=10&offset=20",
            "POST&https%3A%2F%2F123456-sb1.suitetalk.api.netsuite.com%2Fservices%2Frest%2Fquery%2Fv1%2Fsuiteql&limit%3D10%26oauth_consumer_key%3Dck-4f0d%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1191242096%26oauth_token%3Dtk-77a1%26oauth_version%3D1.0%26offset%3D20",
            "8L6kujJ96pt1htQ40Es%2BvPwBLmhitiRK%2BmWXroxbm1g%3D",
        ),
        (
            "GET",
            "https://123456-sb1.restlets.api.netsuite.com/app/site/hosting/restlet.nl?script=customscript_x&deploy=1&q=a+b%2Fc%20d&empty=",
            "GET&https%3A%2F%2F123456-sb1.restlets.api.netsuite.com%2Fapp%2Fsite%2Fhosting%2Frestlet.nl&deploy%3D1%26empty%3D%26oauth_consumer_key%3Dck-4f0d%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1191242096%26oauth_token%3Dtk-77a1%26oauth_version%3D1.0%26q%3Da%2520b%252Fc%2520d%26script%3Dcustomscript_x",
            "3bJlSVhR0C%2FDx4BVds1lR30%2BDHLoTV5rGdlk4NCe9b8%3D",
        ),
        (
            "GET",
            "http://127.0.0.1:8080/services/rest/record/v1/customer/42",
            "GET&http%3A%2F%2F127.0.0.1%3A8080%2Fservices%2Frest%2Frecord%2Fv1%2Fcustomer%2F42&oauth_consumer_key%3Dck-4f0d%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1191242096%26oauth_token%3Dtk-77a1%26oauth_version%3D1.0",
            "5QaRpBloTYo%2BIaWWR4Vbq8HSGa7TOhwIbACj9XQctew%3D",
        ),
    ];

    #[test]
    fn base_strings_and_signatures_match_oauthlib() {
        let credentials = credentials();
        for (method, uri, base, signature) in VECTORS {
            let request = url(uri);
            let oauth = oauth_params(&credentials, NONCE, TIMESTAMP);
            assert_eq!(
                base_string(method, &request, &oauth),
                *base,
                "{method} {uri}"
            );
            let header = header(
                &credentials,
                "123456_SB1",
                method,
                &request,
                NONCE,
                TIMESTAMP,
            );
            let params = header_params(&header);
            let find = |name: &str| {
                params
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_else(|| panic!("{name} missing from {header}"))
            };
            assert_eq!(find("oauth_signature"), *signature, "{method} {uri}");
            assert_eq!(find("realm"), "123456_SB1");
            assert_eq!(find("oauth_signature_method"), "HMAC-SHA256");
            assert_eq!(find("oauth_consumer_key"), "ck-4f0d");
            assert_eq!(find("oauth_token"), "tk-77a1");
            assert!(!header.contains("secret"), "no secret in {header}");
        }
    }

    #[test]
    fn every_header_has_a_fresh_nonce_and_the_current_time() {
        let request = url("https://x.example/services/rest/query/v1/suiteql");
        let a = header_params(&authorization(&credentials(), "R", "POST", &request));
        let b = header_params(&authorization(&credentials(), "R", "POST", &request));
        let nonce = |p: &[(String, String)]| {
            p.iter()
                .find(|(n, _)| n == "oauth_nonce")
                .map(|(_, v)| v.clone())
                .expect("a nonce")
        };
        assert_ne!(nonce(&a), nonce(&b));
        assert_eq!(nonce(&a).len(), NONCE_LEN);
        let timestamp: u64 = a
            .iter()
            .find(|(n, _)| n == "oauth_timestamp")
            .and_then(|(_, v)| v.parse().ok())
            .expect("a numeric timestamp");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        assert!(now.abs_diff(timestamp) < 60, "{timestamp} vs {now}");
    }
}
