//! API 2.0 request signing (HmacSHA1 / HmacSHA256 over the raw, sorted query).
//!
//! Pure functions: the clock and the nonce are inputs, so the known-answer vectors of
//! `docs/api-facts.md` are plain unit tests and the sandbox verifies with the same code.

use base64::Engine as _;
use hmac::{Hmac, Mac};

use crate::api::mac::hmac_sha256;

/// How a request is signed (`SignatureMethod` common parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureMethod {
    HmacSha1,
    #[default]
    HmacSha256,
}

impl SignatureMethod {
    /// The value of the `SignatureMethod` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HmacSHA1",
            Self::HmacSha256 => "HmacSHA256",
        }
    }

    /// Parses the parameter's value; API 2.0 treats a missing method as HmacSHA1.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "HmacSHA1" => Some(Self::HmacSha1),
            "HmacSHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }
}

impl std::fmt::Display for SignatureMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HTTP method is part of the signed string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// `METHOD + host + path + "?" + key=value&...`: keys with `_` turned into `.`, sorted by
/// byte order, values raw (not URL-encoded). `Signature` itself is never part of it.
pub fn string_to_sign(
    method: HttpMethod,
    host: &str,
    path: &str,
    params: &[(String, String)],
) -> String {
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.replace('_', "."), v.as_str()))
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::with_capacity(
        host.len()
            + path.len()
            + 8
            + pairs
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>(),
    );
    out.push_str(method.as_str());
    out.push_str(host);
    out.push_str(path);
    out.push('?');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `base64(HMAC(secret_key, string_to_sign))`.
pub fn signature(secret_key: &str, method: SignatureMethod, string_to_sign: &str) -> String {
    let raw = match method {
        SignatureMethod::HmacSha1 => hmac_sha1(secret_key.as_bytes(), string_to_sign.as_bytes()),
        SignatureMethod::HmacSha256 => {
            hmac_sha256(secret_key.as_bytes(), string_to_sign.as_bytes())
        }
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Raw HMAC of `message` under `key`; also the building block of API 3.0's TC3 signing.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn documentation_example_signs_with_hmac_sha1() {
        let params = pairs(&[
            ("Action", "DescribeInstances"),
            ("InstanceIds.0", "ins-09dx96dg"),
            ("Limit", "20"),
            ("Nonce", "11886"),
            ("Offset", "0"),
            ("Region", "ap-guangzhou"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"),
            ("Timestamp", "1465185768"),
            ("Version", "2017-03-12"),
        ]);
        let s = string_to_sign(HttpMethod::Get, "cvm.tencentcloudapi.com", "/", &params);
        assert_eq!(
            s,
            "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&Timestamp=1465185768&Version=2017-03-12"
        );
        assert_eq!(
            signature(KEY, SignatureMethod::HmacSha1, &s),
            "EliP9YW3pW28FpsEdkXt/+WcGeI="
        );
    }

    fn rollback_params() -> Vec<(String, String)> {
        // Deliberately unsorted, with `_` nowhere: order must not matter.
        pairs(&[
            (
                "instances.0.para",
                r#"{"rollbacktime":"2016-10-31 12:00:00","dbs":[{"dbname":"db1","newname":"db1_bak"}]}"#,
            ),
            ("Timestamp", "1465185768"),
            ("Action", "RollbackCdbDatabaseTables"),
            ("SignatureMethod", "HmacSHA256"),
            ("Nonce", "11886"),
            ("Region", "gz"),
            ("RequestClient", "SDK_PYTHON_2.0.15"),
            ("SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"),
            ("instances.0.cdbInstanceId", "cdb-mo64xu70"),
        ])
    }

    #[test]
    fn rollback_vector_signs_get_with_hmac_sha256() {
        let s = string_to_sign(
            HttpMethod::Get,
            "cdb.api.qcloud.com",
            "/v2/index.php",
            &rollback_params(),
        );
        assert_eq!(
            signature(KEY, SignatureMethod::HmacSha256, &s),
            "CBAZdqH3pt7GNbYdNaoXmzGnmBPopdjNmVRvlnMyHt0="
        );
    }

    #[test]
    fn rollback_vector_signs_post_with_hmac_sha256() {
        let s = string_to_sign(
            HttpMethod::Post,
            "cdb.api.qcloud.com",
            "/v2/index.php",
            &rollback_params(),
        );
        assert_eq!(
            signature(KEY, SignatureMethod::HmacSha256, &s),
            "TmcE13viM9G81VeBztwXVnva/TESlY0Or30BBSuuSwg="
        );
    }

    #[test]
    fn underscores_in_keys_become_dots_and_signature_is_excluded() {
        let params = pairs(&[("b_c", "1"), ("Signature", "x"), ("a", "2")]);
        assert_eq!(
            string_to_sign(HttpMethod::Get, "h:8080", "/p", &params),
            "GETh:8080/p?a=2&b.c=1"
        );
    }
}
