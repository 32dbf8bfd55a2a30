//! Credentials the way MySQL's own tools find them: `--defaults-file FILE`, else the `[client]`
//! group of `~/.my.cnf`. They reach the client tools only through a 0600 temporary defaults
//! file (never argv, never the environment) that is removed when dropped.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Error;

/// A user and password. `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
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
        Ok(Self::parse(&text))
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

    /// A private defaults file for the client tools (`--defaults-file=` it).
    pub fn temp_file(&self) -> Result<TempDefaults, Error> {
        TempDefaults::write(self)
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

/// A 0600 option file holding only `[client]` user and password; removed on drop.
#[derive(Debug)]
pub struct TempDefaults {
    path: PathBuf,
}

impl TempDefaults {
    fn write(creds: &Credentials) -> Result<Self, Error> {
        use std::os::unix::fs::OpenOptionsExt;
        sweep_stale(&std::env::temp_dir());
        let path = std::env::temp_dir().join(format!(
            "planrun-client-{}-{:016x}.cnf",
            std::process::id(),
            rand::random::<u64>()
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let made = Self { path };
        let mut text = String::from("[client]\n");
        if let Some(user) = &creds.user {
            text.push_str(&format!("user=\"{}\"\n", escape(user)));
        }
        if let Some(password) = &creds.password {
            text.push_str(&format!("password=\"{}\"\n", escape(password)));
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        Ok(made)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes the files of planrun processes that are gone (killed before their drop ran), so a
/// kill -9 leaves a password on disk only until the next restore starts.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("planrun-client-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Option files unescape `\\` and `\"` inside double quotes.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Drop for TempDefaults {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
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
    fn files_of_processes_that_are_gone_are_swept() {
        let dir = std::env::temp_dir().join(format!("planrun-sweep-{}", rand::random::<u64>()));
        std::fs::create_dir(&dir).expect("dir");
        // Above the kernel's largest pid: no such process can exist.
        let gone = dir.join("planrun-client-4294967294-00.cnf");
        let mine = dir.join(format!("planrun-client-{}-00.cnf", std::process::id()));
        let other = dir.join("unrelated.cnf");
        for f in [&gone, &mine, &other] {
            std::fs::write(f, "[client]\n").expect("write");
        }
        sweep_stale(&dir);
        assert!(!gone.exists());
        assert!(mine.exists() && other.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_hides_the_password() {
        let c = Credentials {
            user: Some("ops".into()),
            password: Some("hunter2".into()),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn the_temporary_file_is_private_and_goes_away() {
        use std::os::unix::fs::PermissionsExt;
        let c = Credentials {
            user: Some("ops".into()),
            password: Some("a\"b".into()),
        };
        let file = c.temp_file().expect("written");
        let path = file.path().to_path_buf();
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            Credentials::parse(&std::fs::read_to_string(&path).expect("read")).password,
            c.password
        );
        drop(file);
        assert!(!path.exists());
    }
}
