//! Finding credentials the way Tencent's tools do: the environment, then
//! `~/.tencentcloud/credentials` (INI, `[default]`), then tccli's `~/.tccli/<profile>.credential`
//! (JSON). The environment and the home directory are inputs, so tests use closures and
//! temporary directories, never the real ones.

use std::path::{Path, PathBuf};

use super::{Credentials, ENV_REGION, ENV_TCCLI_PROFILE};
use crate::api::error::Error;

/// Where credentials were found (a path, never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Environment,
    /// `~/.tencentcloud/credentials`
    CredentialsFile(PathBuf),
    /// `~/.tccli/<profile>.credential`
    TccliProfile(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment => f.write_str("the environment"),
            Self::CredentialsFile(p) | Self::TccliProfile(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Credentials, where they came from, and the default region of the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub credentials: Credentials,
    pub source: Source,
    /// `TENCENTCLOUD_REGION`, when set.
    pub region: Option<String>,
}

/// [`discover`] with the process environment and the user's home directory.
pub fn discover_default(profile: Option<&str>) -> Result<Discovered, Error> {
    let env = |name: &str| std::env::var(name).ok();
    let home = env("HOME")
        .or_else(|| env("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    discover(&env, home.as_deref(), profile)
}

/// Looks in the environment, then `<home>/.tencentcloud/credentials` (`[default]`:
/// `secret_id`, `secret_key`), then `<home>/.tccli/<profile>.credential` (`secretId`,
/// `secretKey`, `token`), the profile being `profile`, else `TCCLI_PROFILE`, else `default`.
///
/// A place that does not have both an id and a key is skipped; a file that exists but cannot
/// be read or parsed is an error (silently using another account would be worse). When
/// nothing is found the error names every place looked at.
pub fn discover(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
    profile: Option<&str>,
) -> Result<Discovered, Error> {
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let region = get(ENV_REGION).map(|r| r.trim().to_owned());
    let found = |credentials, source| {
        Ok(Discovered {
            credentials,
            source,
            region: region.clone(),
        })
    };
    let mut looked = Vec::new();
    match Credentials::from_lookup(get) {
        Ok(c) => return found(c, Source::Environment),
        Err(Error::MissingCredentials { looked: l }) => looked.push(l),
        Err(other) => return Err(other),
    }
    let profile = profile
        .map(str::to_owned)
        .or_else(|| get(ENV_TCCLI_PROFILE))
        .unwrap_or_else(|| "default".to_owned());
    let profile = profile.trim();
    if profile.is_empty() || profile.contains(['/', '\\']) || profile.starts_with('.') {
        return Err(Error::Config {
            reason: format!("invalid tccli profile name {profile:?}"),
        });
    }
    let Some(home) = home else {
        looked.push("~/.tencentcloud/credentials and ~/.tccli (no home directory)".into());
        return Err(Error::MissingCredentials {
            looked: looked.join("; "),
        });
    };
    let ini = home.join(".tencentcloud").join("credentials");
    match read_optional(&ini)? {
        None => looked.push(format!("{} (not found)", ini.display())),
        Some(text) => match from_ini(&text) {
            Some(c) => return found(c, Source::CredentialsFile(ini)),
            None => looked.push(format!(
                "{} (no secret_id and secret_key in [default])",
                ini.display()
            )),
        },
    }
    let tccli = home.join(".tccli").join(format!("{profile}.credential"));
    match read_optional(&tccli)? {
        None => looked.push(format!("{} (not found)", tccli.display())),
        Some(text) => match from_tccli(&text).map_err(|reason| Error::CredentialFile {
            path: tccli.display().to_string(),
            reason,
        })? {
            Some(c) => return found(c, Source::TccliProfile(tccli)),
            None => looked.push(format!("{} (no secretId and secretKey)", tccli.display())),
        },
    }
    Err(Error::MissingCredentials {
        looked: looked.join("; "),
    })
}

/// The file's text, `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::CredentialFile {
                path: path.display().to_string(),
                reason: "not UTF-8 text".into(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::CredentialFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// `secret_id` and `secret_key` of the `[default]` section of an INI text. Keys and section
/// names are matched case-insensitively; `#` and `;` start comment lines.
fn from_ini(text: &str) -> Option<Credentials> {
    let mut in_default = false;
    let (mut id, mut key) = (None, None);
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_default = section.trim().eq_ignore_ascii_case("default");
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        if !in_default || v.is_empty() {
            continue;
        }
        match k.trim().to_ascii_lowercase().as_str() {
            "secret_id" => id = Some(v),
            "secret_key" => key = Some(v),
            _ => {}
        }
    }
    Some(Credentials::new(id?, key?))
}

/// `secretId`, `secretKey` and the optional `token` of a tccli credential file. A JSON error
/// is reported by position only: serde's message could quote a secret.
fn from_tccli(text: &str) -> Result<Option<Credentials>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (Some(id), Some(key)) = (field("secretId"), field("secretKey")) else {
        return Ok(None);
    };
    let mut c = Credentials::new(id, key);
    if let Some(token) = field("token") {
        c = c.with_token(token);
    }
    Ok(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::credentials::{ENV_SECRET_ID, ENV_SECRET_KEY, Secret};
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn write(home: &Path, rel: &str, text: &str) -> PathBuf {
        let path = home.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    const INI: &str = "# mine\n[other]\nsecret_id = AKIDother\nsecret_key = other\n\n\
                       [default]\nsecret_id = AKIDini\nsecret_key = inikey\n";
    const TCCLI: &str = r#"{"secretId": "AKIDtccli", "secretKey": "tcclikey", "token": "tok"}"#;

    #[test]
    fn environment_comes_first_with_its_region() {
        let home = tempfile::tempdir().unwrap();
        write(home.path(), ".tencentcloud/credentials", INI);
        let env = lookup(&[
            (ENV_SECRET_ID, "AKIDenv"),
            (ENV_SECRET_KEY, "envkey"),
            (ENV_REGION, "ap-shanghai"),
        ]);
        let d = discover(&env, Some(home.path()), None).unwrap();
        assert_eq!(d.source, Source::Environment);
        assert_eq!(d.credentials.secret_id, "AKIDenv");
        assert_eq!(d.region.as_deref(), Some("ap-shanghai"));
    }

    #[test]
    fn credentials_file_default_section_comes_second() {
        let home = tempfile::tempdir().unwrap();
        let ini = write(home.path(), ".tencentcloud/credentials", INI);
        write(home.path(), ".tccli/default.credential", TCCLI);
        let d = discover(&lookup(&[]), Some(home.path()), None).unwrap();
        assert_eq!(d.source, Source::CredentialsFile(ini));
        assert_eq!(d.credentials.secret_id, "AKIDini");
        assert_eq!(d.credentials.secret_key.expose(), "inikey");
        assert!(d.credentials.token.is_none());
        assert_eq!(d.region, None);
    }

    #[test]
    fn tccli_profile_comes_last_and_follows_flag_then_env() {
        let home = tempfile::tempdir().unwrap();
        let default = write(home.path(), ".tccli/default.credential", TCCLI);
        let prod = write(
            home.path(),
            ".tccli/prod.credential",
            r#"{"secretId": "AKIDprod", "secretKey": "prodkey"}"#,
        );
        let d = discover(&lookup(&[]), Some(home.path()), None).unwrap();
        assert_eq!(d.source, Source::TccliProfile(default));
        assert_eq!(d.credentials.secret_id, "AKIDtccli");
        assert_eq!(
            d.credentials.token.as_ref().map(Secret::expose),
            Some("tok")
        );
        let env = lookup(&[(ENV_TCCLI_PROFILE, "prod")]);
        let d = discover(&env, Some(home.path()), None).unwrap();
        assert_eq!(d.source, Source::TccliProfile(prod.clone()));
        let env = lookup(&[(ENV_TCCLI_PROFILE, "nope")]);
        let d = discover(&env, Some(home.path()), Some("prod")).unwrap();
        assert_eq!(d.source, Source::TccliProfile(prod));
        assert_eq!(d.credentials.secret_id, "AKIDprod");
    }

    #[test]
    fn nothing_found_names_every_place_looked_at() {
        let home = tempfile::tempdir().unwrap();
        write(
            home.path(),
            ".tencentcloud/credentials",
            "[other]\nsecret_id=x\n",
        );
        let err = discover(&lookup(&[]), Some(home.path()), Some("ci")).unwrap_err();
        let text = err.to_string();
        for place in [
            "TENCENTCLOUD_SECRET_ID".to_owned(),
            home.path()
                .join(".tencentcloud/credentials")
                .display()
                .to_string(),
            home.path()
                .join(".tccli/ci.credential")
                .display()
                .to_string(),
        ] {
            assert!(text.contains(&place), "{place} missing from {text}");
        }
        assert!(text.contains("no secret_id and secret_key"), "{text}");
        let err = discover(&lookup(&[]), None, None).unwrap_err().to_string();
        assert!(err.contains("no home directory"), "{err}");
    }

    #[test]
    fn broken_tccli_file_is_an_error_that_does_not_quote_it() {
        let home = tempfile::tempdir().unwrap();
        write(
            home.path(),
            ".tccli/default.credential",
            r#"{"secretId": "AKIDx", "secretKey": "s3cr3t-value" oops"#,
        );
        let err = discover(&lookup(&[]), Some(home.path()), None).unwrap_err();
        assert!(matches!(err, Error::CredentialFile { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn profile_names_cannot_escape_the_tccli_directory() {
        let home = tempfile::tempdir().unwrap();
        for bad in ["../x", "a/b", ".hidden", " "] {
            let err = discover(&lookup(&[]), Some(home.path()), Some(bad)).unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{bad}: {err:?}");
        }
    }
}
