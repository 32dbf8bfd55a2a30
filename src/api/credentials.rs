//! Credentials for API calls, found the way Tencent's own tools find them, and the [`Secret`]
//! wrapper that keeps keys out of logs.
//!
//! Where they are looked for is [`discover`] (submodule `discover`).

use crate::api::error::Error;

/// Environment variable holding the SecretId.
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable holding the SecretKey.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// Environment variable holding the temporary-credential token (optional).
pub const ENV_SECURITY_TOKEN: &str = "TENCENTCLOUD_SECURITY_TOKEN";
/// Environment variable holding the default region.
pub const ENV_REGION: &str = "TENCENTCLOUD_REGION";
/// Environment variable naming the tccli profile when `--profile` is not given.
pub const ENV_TCCLI_PROFILE: &str = "TCCLI_PROFILE";

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A SecretId (public, appears in every request) with its SecretKey and optional Token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub secret_id: String,
    pub secret_key: Secret,
    pub token: Option<Secret>,
}

impl Credentials {
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_key: Secret::new(secret_key),
            token: None,
        }
    }

    /// Adds a temporary-credential token (sent as the `Token` parameter).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }

    /// Reads `TENCENTCLOUD_SECRET_ID`, `TENCENTCLOUD_SECRET_KEY` and the optional
    /// `TENCENTCLOUD_SECURITY_TOKEN` from the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`Credentials::from_env`] with an injected lookup. Empty values count as missing.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let id = get(ENV_SECRET_ID);
        let key = get(ENV_SECRET_KEY);
        let (Some(secret_id), Some(secret_key)) = (id.clone(), key.clone()) else {
            let missing = [
                (ENV_SECRET_ID, id.is_none()),
                (ENV_SECRET_KEY, key.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect::<Vec<_>>()
            .join(", ");
            return Err(Error::MissingCredentials {
                looked: format!("environment ({missing} not set)"),
            });
        };
        Ok(Self {
            secret_id,
            secret_key: Secret::new(secret_key),
            token: get(ENV_SECURITY_TOKEN).map(Secret::new),
        })
    }
}

mod discover;

pub use discover::{Discovered, Source, discover, discover_default};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn reads_id_key_and_optional_token() {
        let c = Credentials::from_lookup(lookup(&[
            (ENV_SECRET_ID, "AKIDexample"),
            (ENV_SECRET_KEY, "key"),
        ]))
        .unwrap();
        assert_eq!(c.secret_id, "AKIDexample");
        assert_eq!(c.secret_key.expose(), "key");
        assert!(c.token.is_none());

        let c = Credentials::from_lookup(lookup(&[
            (ENV_SECRET_ID, "AKIDexample"),
            (ENV_SECRET_KEY, "key"),
            (ENV_SECURITY_TOKEN, "tok"),
        ]))
        .unwrap();
        assert_eq!(c.token.as_ref().map(Secret::expose), Some("tok"));
    }

    #[test]
    fn missing_key_is_an_error_naming_the_variables() {
        let err = Credentials::from_lookup(lookup(&[(ENV_SECRET_ID, "AKIDexample")])).unwrap_err();
        assert!(
            matches!(&err, Error::MissingCredentials { looked }
                if looked == "environment (TENCENTCLOUD_SECRET_KEY not set)"),
            "{err:?}"
        );
        let help = miette::Diagnostic::help(&err)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            help.contains(ENV_SECRET_ID) && help.contains(ENV_SECURITY_TOKEN),
            "{help}"
        );

        let err = Credentials::from_lookup(lookup(&[(ENV_SECRET_KEY, "  ")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(ENV_SECRET_ID) && err.contains(ENV_SECRET_KEY),
            "{err}"
        );
    }

    #[test]
    fn debug_and_display_never_show_secrets() {
        let c = Credentials::new("AKIDexample", "sup3rsecret").with_token("t0ken");
        let shown = format!("{c:?} {} {}", c.secret_key, c.token.clone().unwrap());
        assert!(!shown.contains("sup3rsecret"), "{shown}");
        assert!(!shown.contains("t0ken"), "{shown}");
        assert!(shown.contains("AKIDexample"));
    }
}
