//! Credentials the way MySQL's own tools find them: `--defaults-file FILE`, else the `[client]`
//! group of `~/.my.cnf`. The client tools are pointed at that same file (`--defaults-file=`):
//! planrun never writes a password anywhere, nor puts it on a command line or in the
//! environment. The driver gets user and password in memory.

use std::path::{Path, PathBuf};

use super::Error;

/// A user and password, and the option file they were read from. `Debug` never shows the
/// password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub user: Option<String>,
    pub password: Option<String>,
    /// The option file the client tools read too; `None`: they read none (`--no-defaults`).
    pub source: Option<PathBuf>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("source", &self.source)
            .finish()
    }
}

impl Credentials {
    /// From `file` when given (it must exist), else `~/.my.cnf` when it exists, else none
    /// (the server may allow the current user without a password).
    pub fn find(file: Option<&Path>, home: Option<&Path>) -> Result<Self, Error> {
        let path = match file {
            Some(f) => f.to_path_buf(),
            None => match home.map(|h| h.join(".my.cnf")) {
                Some(p) if p.exists() => p,
                _ => return Ok(Self::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::Credentials(format!("cannot read defaults file {}: {e}", path.display()))
        })?;
        Ok(Self {
            source: Some(path),
            ..Self::parse(&text)
        })
    }

    /// The `[client]` group of an option file (`key=value`, quotes stripped, `#`/`;` comments).
    pub fn parse(text: &str) -> Self {
        let mut out = Self::default();
        let mut in_client = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
                continue;
            }
            if let Some(group) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                in_client = group.trim() == "client";
                continue;
            }
            if !in_client {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match key.trim().replace('-', "_").as_str() {
                "user" => out.user = Some(value),
                "password" => out.password = Some(value),
                _ => {}
            }
        }
        out
    }

    /// The option that points a client tool at these credentials (it must come first).
    pub fn tool_option(&self) -> String {
        match &self.source {
            Some(path) => format!("--defaults-file={}", path.display()),
            None => "--no-defaults".to_owned(),
        }
    }
}

fn unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let mut out = String::new();
        let mut chars = value[1..value.len() - 1].chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    } else if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        value[1..value.len() - 1].to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_group_gives_user_and_password() {
        let c = Credentials::parse(
            "[mysqld]\nuser=mysql\n[client]\n# me\nuser = ops\npassword=\"p#s s\"\n[mysql]\npassword=x\n",
        );
        assert_eq!(c.user.as_deref(), Some("ops"));
        assert_eq!(c.password.as_deref(), Some("p#s s"));
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Credentials {
            user: Some("ops".into()),
            password: Some("hunter2".into()),
            source: None,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn the_tools_read_the_same_file_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("planrun-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("client.cnf");
        std::fs::write(&file, "[client]\nuser=ops\npassword=s3cret\n").expect("write");
        let c = Credentials::find(Some(&file), None).expect("read");
        assert_eq!(c.password.as_deref(), Some("s3cret"));
        assert_eq!(
            c.tool_option(),
            format!("--defaults-file={}", file.display())
        );
        assert!(!c.tool_option().contains("s3cret"));
        assert_eq!(Credentials::default().tool_option(), "--no-defaults");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
