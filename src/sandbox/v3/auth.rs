//! Checks every API 3.0 request as the cloud does: `X-TC-*` headers (MissingParameter,
//! NoSuchVersion), the `Authorization` header (AuthFailure.InvalidAuthorization), the SecretId
//! (AuthFailure.SecretIdNotFound), the TC3-HMAC-SHA256 signature recomputed with `api::tc3`
//! (AuthFailure.SignatureFailure), then the timestamp window (AuthFailure.SignatureExpire).
//! `X-TC-Token` is accepted unverified: the sandbox has no temporary credentials.

use axum::http::HeaderMap;

use crate::api::mac::signatures_match;
use crate::api::tc3::{self, Authorization};

use super::super::config::Config;
use super::answer::ApiError;

/// A header's value as text; `None` when absent, empty or not UTF-8.
pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Authenticates the request; returns its action.
pub fn authenticate<'h>(
    config: &Config,
    headers: &'h HeaderMap,
    body: &[u8],
    now_unix: i64,
) -> Result<&'h str, ApiError> {
    let action = header(headers, "x-tc-action").ok_or_else(|| ApiError::missing("X-TC-Action"))?;
    let version =
        header(headers, "x-tc-version").ok_or_else(|| ApiError::missing("X-TC-Version"))?;
    if version != tc3::VERSION {
        return Err(ApiError::new(
            "NoSuchVersion",
            format!("version `{version}` does not exist; use {}", tc3::VERSION),
        ));
    }
    if config.require_region && header(headers, "x-tc-region").is_none() {
        return Err(ApiError::missing("X-TC-Region"));
    }
    let timestamp =
        header(headers, "x-tc-timestamp").ok_or_else(|| ApiError::missing("X-TC-Timestamp"))?;
    let timestamp: i64 = timestamp
        .parse()
        .map_err(|_| ApiError::invalid("X-TC-Timestamp is not a number"))?;
    let auth = header(headers, "authorization")
        .ok_or_else(|| ApiError::bad_authorization("missing Authorization header"))?;
    let auth = Authorization::parse(auth).ok_or_else(|| {
        ApiError::bad_authorization("Authorization is not a TC3-HMAC-SHA256 authorization")
    })?;
    if auth.service != tc3::SERVICE {
        return Err(ApiError::bad_authorization(format!(
            "credential scope names service `{}`, not {}",
            auth.service,
            tc3::SERVICE
        )));
    }
    let key = config
        .secret_key(&auth.secret_id)
        .ok_or_else(ApiError::unknown_secret_id)?;

    let canonical = canonical_request(headers, &auth.signed_headers, body)?;
    let day = tc3::date(timestamp);
    let expected = tc3::signature(key, &day, &tc3::string_to_sign(timestamp, &canonical));
    if auth.date != day || !signatures_match(&expected, &auth.signature) {
        return Err(ApiError::signature());
    }
    if (now_unix - timestamp).abs() > config.timestamp_window_seconds {
        return Err(ApiError::expired(
            timestamp,
            config.timestamp_window_seconds,
        ));
    }
    Ok(action)
}

/// The canonical request over the headers the client says it signed. Tencent's SDKs sign
/// `content-type;host`, which is `tc3::canonical_request` exactly; any other list is built the
/// same way (names and values lower-cased and trimmed, in the listed order).
fn canonical_request(headers: &HeaderMap, signed: &str, body: &[u8]) -> Result<String, ApiError> {
    let unsigned = header(headers, "x-tc-content-sha256") == Some("UNSIGNED-PAYLOAD");
    let payload: &[u8] = if unsigned { b"UNSIGNED-PAYLOAD" } else { body };
    let value = |name: &str| {
        header(headers, name).ok_or_else(|| {
            ApiError::bad_authorization(format!("signed header `{name}` is not in the request"))
        })
    };
    if signed == tc3::SIGNED_HEADERS {
        return Ok(tc3::canonical_request(
            value("host")?,
            value("content-type")?,
            payload,
        ));
    }
    let mut lines = String::new();
    for name in signed.split(';') {
        let name = name.trim().to_ascii_lowercase();
        let v = value(&name)?;
        lines.push_str(&format!("{name}:{}\n", v.to_ascii_lowercase()));
    }
    Ok(format!(
        "POST\n/\n\n{lines}\n{signed}\n{}",
        tc3::sha256_hex(payload)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tc3::SignInput;
    use crate::sandbox::config::{DEMO_SECRET_ID, DEMO_SECRET_KEY};

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"InstanceId":"cdb-aaaaaaaa"}"#;

    fn signed(key: &str, id: &str, ts: i64) -> HeaderMap {
        let input = SignInput {
            secret_id: id,
            secret_key: key,
            host: "127.0.0.1:9",
            action: "DescribeRollbackTaskDetail",
            timestamp: ts,
            region: "ap-guangzhou",
            token: None,
            body: BODY,
        };
        let mut map = HeaderMap::new();
        for (name, value) in tc3::headers(&input) {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::try_from(name),
                axum::http::HeaderValue::try_from(value),
            ) {
                map.insert(n, v);
            }
        }
        map
    }

    fn code(headers: &HeaderMap, body: &[u8]) -> Result<&'static str, &'static str> {
        authenticate(&Config::demo(), headers, body, NOW)
            .map(|_| "ok")
            .map_err(|e| e.code)
    }

    #[test]
    fn a_correctly_signed_request_passes_and_yields_its_action() {
        let h = signed(DEMO_SECRET_KEY, DEMO_SECRET_ID, NOW);
        let got = authenticate(&Config::demo(), &h, BODY, NOW);
        assert_eq!(got, Ok("DescribeRollbackTaskDetail"));
    }

    #[test]
    fn each_failure_has_its_code() {
        let good = || signed(DEMO_SECRET_KEY, DEMO_SECRET_ID, NOW);
        assert_eq!(
            code(&signed("wrong", DEMO_SECRET_ID, NOW), BODY),
            Err("AuthFailure.SignatureFailure")
        );
        assert_eq!(code(&good(), b"{}"), Err("AuthFailure.SignatureFailure"));
        assert_eq!(
            code(&signed(DEMO_SECRET_KEY, "AKIDnobody", NOW), BODY),
            Err("AuthFailure.SecretIdNotFound")
        );
        assert_eq!(
            code(&signed(DEMO_SECRET_KEY, DEMO_SECRET_ID, NOW - 301), BODY),
            Err("AuthFailure.SignatureExpire")
        );
        assert_eq!(
            code(&signed(DEMO_SECRET_KEY, DEMO_SECRET_ID, NOW + 300), BODY),
            Ok("ok")
        );
        let mut h = good();
        h.remove("authorization");
        assert_eq!(code(&h, BODY), Err("AuthFailure.InvalidAuthorization"));
        for (name, expected) in [
            ("x-tc-action", "MissingParameter"),
            ("x-tc-region", "MissingParameter"),
            ("x-tc-timestamp", "MissingParameter"),
            ("x-tc-version", "MissingParameter"),
        ] {
            let mut h = good();
            h.remove(name);
            assert_eq!(code(&h, BODY), Err(expected), "{name}");
        }
        let mut h = good();
        h.insert(
            "x-tc-version",
            axum::http::HeaderValue::from_static("2019-01-01"),
        );
        assert_eq!(code(&h, BODY), Err("NoSuchVersion"));
        let mut h = good();
        h.insert("host", axum::http::HeaderValue::from_static("127.0.0.1:10"));
        assert_eq!(code(&h, BODY), Err("AuthFailure.SignatureFailure"));
    }

    #[test]
    fn the_general_canonical_form_matches_tc3_for_the_default_headers() {
        let h = signed(DEMO_SECRET_KEY, DEMO_SECRET_ID, NOW);
        let general = canonical_request(&h, "content-type; host", BODY);
        let fixed = canonical_request(&h, tc3::SIGNED_HEADERS, BODY);
        assert!(fixed.is_ok());
        assert_eq!(
            general.map(|g| g.replace("content-type; host", tc3::SIGNED_HEADERS)),
            fixed
        );
    }

    #[test]
    fn odd_signed_header_lists_are_refused_without_panicking() {
        let h = signed(DEMO_SECRET_KEY, DEMO_SECRET_ID, NOW);
        for list in [
            "content-type;bad header;host",
            "content-type;;host",
            "",
            ";",
            "x-tc-nope",
            "é",
        ] {
            let got = canonical_request(&h, list, BODY);
            assert_eq!(
                got.map_err(|e| e.code),
                Err("AuthFailure.InvalidAuthorization"),
                "{list:?}"
            );
        }
        // A longer list the request does carry is verified like any other.
        assert!(canonical_request(&h, "content-type;host;x-tc-action", BODY).is_ok());
    }

    #[test]
    fn an_unsigned_payload_hashes_the_marker_not_the_body() {
        let mut h = signed(DEMO_SECRET_KEY, DEMO_SECRET_ID, NOW);
        h.insert(
            "x-tc-content-sha256",
            axum::http::HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let c = canonical_request(&h, tc3::SIGNED_HEADERS, BODY).unwrap_or_default();
        assert!(c.ends_with(&tc3::sha256_hex(b"UNSIGNED-PAYLOAD")), "{c}");
    }
}
