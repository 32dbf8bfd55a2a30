//! API 3.0 request signing (TC3-HMAC-SHA256) for the `cdb` service, and its server-side parts.
//!
//! Pure functions: the clock is an input, so `docs/api-facts.md`'s known-answer vector is a plain
//! unit test, and the sandbox verifies received requests with the very same code
//! ([`canonical_request`] → [`string_to_sign`] → [`signature`], [`Authorization::parse`]).
//! Only `content-type` and `host` are signed, as Tencent's SDKs do for POST JSON requests.

use sha2::{Digest, Sha256};

use crate::api::mac::hmac_sha256;

/// The algorithm name, first word of `Authorization` and first line of the string to sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The signed service (part of the credential scope).
pub const SERVICE: &str = "cdb";
/// `X-TC-Version` of TencentDB for MySQL.
pub const VERSION: &str = "2017-03-20";
/// The only content type planrun sends.
pub const CONTENT_TYPE: &str = "application/json";
/// Headers covered by the signature, in canonical order.
pub const SIGNED_HEADERS: &str = "content-type;host";

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `POST\n/\n\ncontent-type:<ct>\nhost:<host>\n\ncontent-type;host\n<hex sha256(body)>`.
///
/// The content type is lower-cased and trimmed like every canonical header value.
pub fn canonical_request(host: &str, content_type: &str, body: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\n{SIGNED_HEADERS}\n{}",
        content_type.trim().to_ascii_lowercase(),
        host.trim().to_ascii_lowercase(),
        sha256_hex(body)
    )
}

/// UTC `YYYY-MM-DD` of a Unix timestamp (the credential scope's date). A timestamp outside
/// chrono's range yields `1970-01-01`: such a request fails verification instead of panicking.
pub fn date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// `<date>/cdb/tc3_request`.
pub fn credential_scope(date: &str) -> String {
    format!("{date}/{SERVICE}/tc3_request")
}

/// `TC3-HMAC-SHA256\n<timestamp>\n<date>/cdb/tc3_request\n<hex sha256(canonical request)>`.
pub fn string_to_sign(timestamp: i64, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}\n{}",
        credential_scope(&date(timestamp)),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Hex HMAC-SHA256 of `string_to_sign` under the key derived from the secret key and `date`:
/// `HMAC(HMAC(HMAC("TC3" + key, date), "cdb"), "tc3_request")`.
pub fn signature(secret_key: &str, date: &str, string_to_sign: &str) -> String {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, SERVICE.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

/// The signature a request with these pieces must carry: what a server compares (with
/// [`crate::api::mac::signatures_match`]) against [`Authorization::signature`]. The date of the
/// scope is the timestamp's; a request whose `Authorization` names another date is invalid.
pub fn expected_signature(
    secret_key: &str,
    host: &str,
    content_type: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let canonical = canonical_request(host, content_type, body);
    signature(
        secret_key,
        &date(timestamp),
        &string_to_sign(timestamp, &canonical),
    )
}

/// What a signed request carries besides its body.
#[derive(Clone, Copy)]
pub struct SignInput<'a> {
    pub secret_id: &'a str,
    pub secret_key: &'a str,
    /// `host[:port]` exactly as sent in the `Host` header.
    pub host: &'a str,
    pub action: &'a str,
    pub timestamp: i64,
    /// `X-TC-Region`; omitted when empty (a few actions need no region).
    pub region: &'a str,
    /// `X-TC-Token` for temporary credentials.
    pub token: Option<&'a str>,
    pub body: &'a [u8],
}

impl std::fmt::Debug for SignInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInput")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"[redacted]")
            .field("host", &self.host)
            .field("action", &self.action)
            .field("timestamp", &self.timestamp)
            .field("region", &self.region)
            .field("token", &self.token.map(|_| "[redacted]"))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The full header set of a signed request, `Authorization` included, in a stable order.
/// Header names are as Tencent documents them (HTTP treats them case-insensitively).
pub fn headers(input: &SignInput<'_>) -> Vec<(&'static str, String)> {
    let canonical = canonical_request(input.host, CONTENT_TYPE, input.body);
    let to_sign = string_to_sign(input.timestamp, &canonical);
    let day = date(input.timestamp);
    let sig = signature(input.secret_key, &day, &to_sign);
    let mut out = vec![
        (
            "Authorization",
            Authorization {
                secret_id: input.secret_id.to_owned(),
                date: day,
                service: SERVICE.to_owned(),
                signed_headers: SIGNED_HEADERS.to_owned(),
                signature: sig,
            }
            .to_string(),
        ),
        ("Content-Type", CONTENT_TYPE.to_owned()),
        ("Host", input.host.to_owned()),
        ("X-TC-Action", input.action.to_owned()),
        ("X-TC-Timestamp", input.timestamp.to_string()),
        ("X-TC-Version", VERSION.to_owned()),
    ];
    if !input.region.is_empty() {
        out.push(("X-TC-Region", input.region.to_owned()));
    }
    if let Some(token) = input.token.filter(|t| !t.is_empty()) {
        out.push(("X-TC-Token", token.to_owned()));
    }
    out
}

/// The parsed `Authorization` header:
/// `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=..., Signature=<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub secret_id: String,
    pub date: String,
    pub service: String,
    pub signed_headers: String,
    pub signature: String,
}

impl std::fmt::Display for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{ALGORITHM} Credential={}/{}/{}/tc3_request, SignedHeaders={}, Signature={}",
            self.secret_id, self.date, self.service, self.signed_headers, self.signature
        )
    }
}

impl Authorization {
    /// Parses a received header; `None` when it is not a well-formed TC3 authorization.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim().strip_prefix(ALGORITHM)?.trim_start();
        let (mut credential, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let (key, value) = part.trim().split_once('=')?;
            match key.trim() {
                "Credential" => credential = Some(value.trim()),
                "SignedHeaders" => signed = Some(value.trim()),
                "Signature" => sig = Some(value.trim()),
                _ => return None,
            }
        }
        let mut scope = credential?.split('/');
        let secret_id = scope.next()?.to_owned();
        let date = scope.next()?.to_owned();
        let service = scope.next()?.to_owned();
        if scope.next()? != "tc3_request" || scope.next().is_some() || secret_id.is_empty() {
            return None;
        }
        Some(Self {
            secret_id,
            date,
            service,
            signed_headers: signed?.to_owned(),
            signature: sig?.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const BODY: &[u8] = br#"{"AsyncRequestId": "f96e4f3c-8fc96c86-2ec79ac8-cb63a7a7"}"#;
    const TS: i64 = 1_551_113_065;
    const SIG: &str = "f8ad6c6af49299cf25ec8c612bb1ed4a5fc6339863840302da83de6ba265cc7b";

    #[test]
    fn known_answer_body_hash() {
        assert_eq!(
            sha256_hex(BODY),
            "c717f96e95e3a32270acb7229b1f1910cd046fcfed077cad5373a4c74fd810a7"
        );
    }

    #[test]
    fn known_answer_canonical_request_and_its_hash() {
        let canonical = canonical_request("cdb.tencentcloudapi.com", CONTENT_TYPE, BODY);
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/json\nhost:cdb.tencentcloudapi.com\n\n\
             content-type;host\nc717f96e95e3a32270acb7229b1f1910cd046fcfed077cad5373a4c74fd810a7"
        );
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "184e60b223b134391f72bdc19f71ee8dc4bc703b893b3a91f1e6524c04b3fe61"
        );
    }

    #[test]
    fn known_answer_string_to_sign_and_signature() {
        let canonical = canonical_request("cdb.tencentcloudapi.com", CONTENT_TYPE, BODY);
        let to_sign = string_to_sign(TS, &canonical);
        assert_eq!(
            to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cdb/tc3_request\n\
             184e60b223b134391f72bdc19f71ee8dc4bc703b893b3a91f1e6524c04b3fe61"
        );
        assert_eq!(signature(KEY, "2019-02-25", &to_sign), SIG);
    }

    fn input(token: Option<&'static str>) -> SignInput<'static> {
        SignInput {
            secret_id: ID,
            secret_key: KEY,
            host: "cdb.tencentcloudapi.com",
            action: "DescribeRollbackTaskDetail",
            timestamp: TS,
            region: "ap-guangzhou",
            token,
            body: BODY,
        }
    }

    #[test]
    fn header_set_carries_the_known_answer_authorization() {
        let h = headers(&input(None));
        let get = |name: &str| h.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str());
        assert_eq!(
            get("Authorization"),
            Some(
                "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cdb/tc3_request, \
                 SignedHeaders=content-type;host, \
                 Signature=f8ad6c6af49299cf25ec8c612bb1ed4a5fc6339863840302da83de6ba265cc7b"
            )
        );
        assert_eq!(get("Content-Type"), Some("application/json"));
        assert_eq!(get("Host"), Some("cdb.tencentcloudapi.com"));
        assert_eq!(get("X-TC-Action"), Some("DescribeRollbackTaskDetail"));
        assert_eq!(get("X-TC-Timestamp"), Some("1551113065"));
        assert_eq!(get("X-TC-Version"), Some("2017-03-20"));
        assert_eq!(get("X-TC-Region"), Some("ap-guangzhou"));
        assert_eq!(get("X-TC-Token"), None);
    }

    #[test]
    fn token_is_sent_but_does_not_change_the_signature() {
        let with = headers(&input(Some("tok")));
        let without = headers(&input(None));
        assert!(with.contains(&("X-TC-Token", "tok".to_owned())));
        assert_eq!(with[0], without[0]);
    }

    #[test]
    fn authorization_round_trips_through_parse() {
        let h = headers(&input(None));
        let auth = Authorization::parse(&h[0].1).unwrap();
        assert_eq!(auth.secret_id, ID);
        assert_eq!(auth.date, "2019-02-25");
        assert_eq!(auth.service, "cdb");
        assert_eq!(auth.signed_headers, SIGNED_HEADERS);
        assert_eq!(auth.signature, SIG);
        assert_eq!(auth.to_string(), h[0].1);
    }

    #[test]
    fn malformed_authorization_is_rejected_without_panicking() {
        for bad in [
            "",
            "TC3-HMAC-SHA256",
            "HMAC Credential=a/b/cdb/tc3_request, SignedHeaders=x, Signature=y",
            "TC3-HMAC-SHA256 Credential=a/b/cdb, SignedHeaders=x, Signature=y",
            "TC3-HMAC-SHA256 Credential=a/b/cdb/tc3_request/x, SignedHeaders=x, Signature=y",
            "TC3-HMAC-SHA256 Credential=a/b/cdb/tc3_request, SignedHeaders=x",
            "TC3-HMAC-SHA256 Credential=/b/cdb/tc3_request, SignedHeaders=x, Signature=y",
            "TC3-HMAC-SHA256 Credential=a/b/cdb/tc3_request, Bogus=1, Signature=y",
        ] {
            assert_eq!(Authorization::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_different_key_or_body_changes_the_signature() {
        let canonical = canonical_request("cdb.tencentcloudapi.com", CONTENT_TYPE, b"{}");
        let to_sign = string_to_sign(TS, &canonical);
        assert_ne!(signature(KEY, "2019-02-25", &to_sign), SIG);
        let canonical = canonical_request("cdb.tencentcloudapi.com", CONTENT_TYPE, BODY);
        let to_sign = string_to_sign(TS, &canonical);
        assert_ne!(signature("other", "2019-02-25", &to_sign), SIG);
    }

    #[test]
    fn expected_signature_is_the_known_answer() {
        assert_eq!(
            expected_signature(KEY, "cdb.tencentcloudapi.com", "application/json", TS, BODY),
            SIG
        );
        // Header values are compared the canonical way: case and spaces do not matter.
        assert_eq!(
            expected_signature(
                KEY,
                "CDB.tencentcloudapi.com",
                " Application/JSON",
                TS,
                BODY
            ),
            SIG
        );
    }

    #[test]
    fn date_is_utc_and_never_panics() {
        assert_eq!(date(TS), "2019-02-25");
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(i64::MAX), "1970-01-01");
    }
}
