//! Building a signed API 2.0 request: the common parameters (`Action`, `Region`, `Timestamp`,
//! `Nonce`, `SecretId`, `SignatureMethod`, `Token`) plus `Signature`.
//!
//! Pure: the clock and the nonce are inputs, so tests pin them and the sandbox can reuse it.

use crate::api::credentials::Credentials;
use crate::api::v2::sign::{self, HttpMethod, SignatureMethod};

/// Everything a signature depends on apart from the action, the clock and the nonce.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub credentials: &'a Credentials,
    pub signature_method: SignatureMethod,
    pub http_method: HttpMethod,
    /// Host as sent in the `Host` header: with `:port` when the port is not the default.
    pub host: &'a str,
    /// URL path, e.g. `/v2/index.php`.
    pub path: &'a str,
    pub region: &'a str,
}

impl Signer<'_> {
    /// The full parameter list to send: action parameters, common parameters and `Signature`
    /// last. `Region` is left out when empty.
    pub fn sign(
        &self,
        action: &str,
        action_params: &[(String, String)],
        timestamp: i64,
        nonce: u64,
    ) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = Vec::with_capacity(action_params.len() + 8);
        params.push(("Action".into(), action.into()));
        if !self.region.is_empty() {
            params.push(("Region".into(), self.region.into()));
        }
        params.push(("Timestamp".into(), timestamp.to_string()));
        params.push(("Nonce".into(), nonce.to_string()));
        params.push(("SecretId".into(), self.credentials.secret_id.clone()));
        params.push((
            "SignatureMethod".into(),
            self.signature_method.as_str().into(),
        ));
        if let Some(token) = &self.credentials.token {
            params.push(("Token".into(), token.expose().into()));
        }
        params.extend(action_params.iter().cloned());
        let to_sign = sign::string_to_sign(self.http_method, self.host, self.path, &params);
        let signature = sign::signature(
            self.credentials.secret_key.expose(),
            self.signature_method,
            &to_sign,
        );
        params.push(("Signature".into(), signature));
        params
    }
}

/// A fresh random positive Nonce (kept within 31 bits so any server-side integer parses it).
pub fn fresh_nonce() -> u64 {
    rand::random_range(1..=i32::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";

    fn action_params() -> Vec<(String, String)> {
        vec![
            ("RequestClient".into(), "SDK_PYTHON_2.0.15".into()),
            ("instances.0.cdbInstanceId".into(), "cdb-mo64xu70".into()),
            (
                "instances.0.para".into(),
                r#"{"rollbacktime":"2016-10-31 12:00:00","dbs":[{"dbname":"db1","newname":"db1_bak"}]}"#
                    .into(),
            ),
        ]
    }

    fn value<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn sign_vector(http_method: HttpMethod, creds: &Credentials) -> Vec<(String, String)> {
        Signer {
            credentials: creds,
            signature_method: SignatureMethod::HmacSha256,
            http_method,
            host: "cdb.api.qcloud.com",
            path: "/v2/index.php",
            region: "gz",
        }
        .sign(
            "RollbackCdbDatabaseTables",
            &action_params(),
            1_465_185_768,
            11886,
        )
    }

    #[test]
    fn builder_reproduces_the_known_get_and_post_vectors() {
        let creds = Credentials::new(ID, KEY);
        let get = sign_vector(HttpMethod::Get, &creds);
        assert_eq!(
            value(&get, "Signature"),
            Some("CBAZdqH3pt7GNbYdNaoXmzGnmBPopdjNmVRvlnMyHt0=")
        );
        let post = sign_vector(HttpMethod::Post, &creds);
        assert_eq!(
            value(&post, "Signature"),
            Some("TmcE13viM9G81VeBztwXVnva/TESlY0Or30BBSuuSwg=")
        );
        for (key, expected) in [
            ("Action", "RollbackCdbDatabaseTables"),
            ("Region", "gz"),
            ("Timestamp", "1465185768"),
            ("Nonce", "11886"),
            ("SecretId", ID),
            ("SignatureMethod", "HmacSHA256"),
        ] {
            assert_eq!(value(&get, key), Some(expected), "{key}");
        }
        assert_eq!(value(&get, "Token"), None);
        assert_eq!(get.last().map(|(k, _)| k.as_str()), Some("Signature"));
    }

    #[test]
    fn token_is_sent_and_signed() {
        let creds = Credentials::new(ID, KEY).with_token("tmp-token");
        let params = sign_vector(HttpMethod::Get, &creds);
        assert_eq!(value(&params, "Token"), Some("tmp-token"));
        let expected = sign::signature(
            KEY,
            SignatureMethod::HmacSha256,
            &sign::string_to_sign(
                HttpMethod::Get,
                "cdb.api.qcloud.com",
                "/v2/index.php",
                &params,
            ),
        );
        assert_eq!(value(&params, "Signature"), Some(expected.as_str()));
        assert_ne!(expected, "CBAZdqH3pt7GNbYdNaoXmzGnmBPopdjNmVRvlnMyHt0=");
    }

    #[test]
    fn port_changes_the_signature() {
        let creds = Credentials::new(ID, KEY);
        let with_port = Signer {
            credentials: &creds,
            signature_method: SignatureMethod::HmacSha1,
            http_method: HttpMethod::Post,
            host: "127.0.0.1:8080",
            path: "/v2/index.php",
            region: "gz",
        };
        let without = Signer {
            host: "127.0.0.1",
            ..with_port
        };
        let a = with_port.sign("GetCdbRollbackJob", &[], 1, 2);
        let b = without.sign("GetCdbRollbackJob", &[], 1, 2);
        assert_ne!(value(&a, "Signature"), value(&b, "Signature"));
        assert_eq!(value(&a, "SignatureMethod"), Some("HmacSHA1"));
    }

    #[test]
    fn nonces_are_positive_and_vary() {
        let nonces: Vec<u64> = (0..50).map(|_| fresh_nonce()).collect();
        assert!(nonces.iter().all(|n| *n >= 1));
        assert!(nonces.windows(2).any(|w| w[0] != w[1]));
    }
}
