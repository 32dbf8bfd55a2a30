//! The scratch server a restore loads the dump into and replays the binary log on, so that
//! production is never written before the result is verified.
//!
//! By default a throwaway server: planrun installs a data directory in a private (0700)
//! temporary directory named by the restore (a re-run after kill -9 finds it), starts the
//! machine's `mariadbd` there without networking (a socket in that directory: only this user
//! reaches it) and without a binary log, and kills it and removes the directory on every way
//! out. A small `sh` watchdog holds the server: when planrun's end of its stdin closes — a
//! normal close, or planrun killed with -9 — it kills the server and removes the directory.
//! Or a `restore_server` (a staging server the user owns), on which planrun makes and drops
//! only databases named `_planrun_<restore>_<n>`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::tools::{self, Proc};
use super::{Credentials, Error, Request, TEMP_PREFIX, quote};

/// How long a throwaway server may take to answer after it starts.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The watchdog: `$1` the directory, the rest the server's command line. Its stdin is
/// duplicated first (an asynchronous list's stdin is /dev/null), the server gets none of it.
const WATCHDOG: &str = r#"dir=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
pid=$!
( read -r _ <&3
  kill -KILL "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -rf "$dir" ) &
exec 3<&-
wait "$pid"; code=$?
tail -c 2000 "$dir/error.log" >&2 2>/dev/null
rm -rf "$dir"
exit "$code""#;

/// A server's flavour and major version, from `SELECT VERSION()` or `mariadbd --version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub mariadb: bool,
    /// `10.11`.
    pub major: String,
    pub full: String,
}

impl Version {
    pub fn parse(text: &str) -> Option<Self> {
        let at = text.find(|c: char| c.is_ascii_digit())?;
        let full: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = full.split('.');
        let major = format!("{}.{}", parts.next()?, parts.next()?);
        Some(Self {
            mariadb: text.to_ascii_lowercase().contains("mariadb"),
            major,
            full,
        })
    }

    pub fn flavour(&self) -> &'static str {
        if self.mariadb { "MariaDB" } else { "MySQL" }
    }

    /// Why a scratch server of version `self` cannot restore for `production`, if it cannot.
    pub fn mismatch(&self, production: &Self) -> Option<String> {
        (self.mariadb != production.mariadb || self.major != production.major).then(|| {
            format!(
                "the scratch server is {} {} but production is {} {}: the restore needs the same flavour and major version (install {} {} server binaries, or name a `restore_server` of that version)",
                self.flavour(),
                self.full,
                production.flavour(),
                production.full,
                production.flavour(),
                production.major
            )
        })
    }
}

/// The version of the machine's server binary (`mariadbd --version`).
pub async fn local_version() -> Result<Version, Error> {
    let server = tools::server()?;
    let out = tokio::process::Command::new(&server)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    Version::parse(&text).ok_or_else(|| {
        Error::Scratch(format!(
            "{} --version said {text:?}, which names no version",
            server.display()
        ))
    })
}

/// Where the restore's databases are and how to reach them.
pub struct Scratch {
    kind: Kind,
    /// Source database → its name on the scratch server.
    names: HashMap<String, String>,
}

enum Kind {
    Throwaway {
        dir: PathBuf,
        /// The watchdog; its stdin is the server's life line.
        watchdog: Option<Proc>,
    },
    Staging {
        host: String,
        port: u16,
        creds: Credentials,
    },
}

/// The private directory of `req`'s throwaway server (the same for a re-run of it).
pub fn throwaway_dir(req: &Request) -> PathBuf {
    let d = super::digest(&[&req.id, &req.run]);
    std::env::temp_dir().join(format!("planrun-scratch-{}", &d[..16]))
}

/// The stem of `req`'s databases on a `restore_server`.
fn staging_stem(req: &Request) -> String {
    let d = super::digest(&[&req.id, &req.run]);
    format!("{TEMP_PREFIX}{}_", &d[..12])
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Kills a throwaway server left by an earlier run of `req` (kill -9 before its watchdog
/// could act, or during the data directory's install) and removes its directory.
pub async fn sweep_throwaway(req: &Request) -> Result<(), Error> {
    let dir = throwaway_dir(req);
    if !dir.exists() {
        return Ok(());
    }
    if let Ok(pid) = std::fs::read_to_string(dir.join("server.pid")) {
        let pid = pid.trim();
        // Only a process whose command line names this very directory is killed.
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !pid.is_empty() && String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy()) {
            let _ = tokio::process::Command::new("kill")
                .args(["-KILL", pid])
                .status()
                .await;
            for _ in 0..100 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    remove_tree(&dir).await?;
    Ok(())
}

/// Removes `dir` and everything in it; gone already is done. The watchdog removes a throwaway
/// server's directory too, from a shell that may still be at it: while two removers race, one
/// can find a directory not yet empty (ENOTEMPTY), so that is tried again, a few seconds at
/// most, before it counts as a failure.
pub(super) async fn remove_tree(dir: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Drops the databases an earlier run of `req` made on its `restore_server`.
pub async fn sweep_staging(req: &Request, creds: &Credentials) -> Result<(), Error> {
    let Some((host, port)) = &req.restore_server else {
        return Ok(());
    };
    let mut conn = super::check::connect(host, *port, creds).await?;
    let out = drop_staging(&mut conn, &staging_stem(req)).await;
    let _ = conn.disconnect().await;
    out
}

async fn drop_staging(conn: &mut mysql_async::Conn, stem: &str) -> Result<(), Error> {
    let all: Vec<String> = conn
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        .await?;
    for db in all.into_iter().filter(|d| d.starts_with(stem)) {
        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(&db)))
            .await?;
    }
    Ok(())
}

impl Scratch {
    /// Starts the scratch server of `req` (or, with a `restore_server`, makes its databases
    /// there), after removing what an earlier run of it left.
    pub async fn open(
        req: &Request,
        creds: &Credentials,
        dump_dbs: &[String],
    ) -> Result<Self, Error> {
        match &req.restore_server {
            None => {
                sweep_throwaway(req).await?;
                let dir = throwaway_dir(req);
                let names = dump_dbs.iter().map(|d| (d.clone(), d.clone())).collect();
                let mut scratch = Self {
                    kind: Kind::Throwaway {
                        dir: dir.clone(),
                        watchdog: None,
                    },
                    names,
                };
                scratch.start_throwaway(&dir).await?;
                Ok(scratch)
            }
            Some((host, port)) => {
                let stem = staging_stem(req);
                let mut conn = super::check::connect(host, *port, creds).await?;
                drop_staging(&mut conn, &stem).await?;
                let mut names = HashMap::new();
                for (n, source) in req.objects.source_dbs().iter().enumerate() {
                    let name = format!("{stem}{n}");
                    conn.query_drop(format!("CREATE DATABASE {}", quote(&name)))
                        .await?;
                    names.insert(source.clone(), name);
                }
                let _ = conn.disconnect().await;
                Ok(Self {
                    kind: Kind::Staging {
                        host: host.clone(),
                        port: *port,
                        creds: creds.clone(),
                    },
                    names,
                })
            }
        }
    }

    async fn start_throwaway(&mut self, dir: &Path) -> Result<(), Error> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(dir)?;
        let data = dir.join("data");
        let tmp = dir.join("tmp");
        std::fs::create_dir(&tmp)?;
        let root = running_as_root();
        let mut install = vec![
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            "--auth-root-authentication-method=normal".to_owned(),
            "--skip-test-db".to_owned(),
        ];
        if root {
            install.push("--user=root".into());
        }
        let tmp_env = tmp.display().to_string();
        Proc::spawn(
            &tools::install_db()?,
            &install,
            Stdio::null(),
            Stdio::null(),
            &[("TMPDIR", &tmp_env)],
        )?
        .finish()
        .await
        .map_err(|e| {
            Error::Scratch(format!(
                "cannot make the scratch server's data directory: {e}"
            ))
        })?;
        let mut args = vec![
            "-c".to_owned(),
            WATCHDOG.to_owned(),
            "planrun-scratch".to_owned(),
            dir.display().to_string(),
            tools::server()?.display().to_string(),
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            format!("--socket={}", self.socket().display()),
            format!("--pid-file={}", dir.join("server.pid").display()),
            format!("--log-error={}", dir.join("error.log").display()),
            format!("--tmpdir={}", tmp.display()),
            // No network at all: the socket in the 0700 directory is the only way in.
            "--skip-networking".to_owned(),
            "--skip-log-bin".to_owned(),
            "--skip-slave-start".to_owned(),
            "--max-allowed-packet=1G".to_owned(),
            // Throwaway data: durability buys nothing here.
            "--innodb-flush-log-at-trx-commit=0".to_owned(),
            "--innodb-doublewrite=0".to_owned(),
            "--innodb-buffer-pool-size=128M".to_owned(),
        ];
        if root {
            args.push("--user=root".into());
        }
        let watchdog = Proc::spawn(
            Path::new("/bin/sh"),
            &args,
            Stdio::piped(),
            Stdio::null(),
            &[],
        )?;
        if let Kind::Throwaway { watchdog: w, .. } = &mut self.kind {
            *w = Some(watchdog);
        }
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        loop {
            if let Ok(c) = self.conn().await {
                let _ = c.disconnect().await;
                return Ok(());
            }
            if let Kind::Throwaway {
                watchdog: Some(w), ..
            } = &mut self.kind
                && w.child().try_wait()?.is_some()
            {
                let w = self.take_watchdog();
                let cause = match w {
                    Some(w) => w.finish().await.err().map(|e| e.to_string()),
                    None => None,
                };
                return Err(Error::Scratch(format!(
                    "the scratch server did not start: {}",
                    cause.unwrap_or_else(|| "it exited".into())
                )));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Scratch(format!(
                    "the scratch server did not answer within {} s",
                    READY_WITHIN.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn take_watchdog(&mut self) -> Option<Proc> {
        match &mut self.kind {
            Kind::Throwaway { watchdog, .. } => watchdog.take(),
            Kind::Staging { .. } => None,
        }
    }

    fn socket(&self) -> PathBuf {
        match &self.kind {
            Kind::Throwaway { dir, .. } => dir.join("sock"),
            Kind::Staging { .. } => PathBuf::new(),
        }
    }

    /// The throwaway server's private directory (`None` for a staging server).
    pub fn dir(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Throwaway { dir, .. } => Some(dir),
            Kind::Staging { .. } => None,
        }
    }

    /// The scratch server's name of source database `db` (`None`: not loaded there).
    pub fn name(&self, db: &str) -> Option<&str> {
        self.names.get(db).map(String::as_str)
    }

    /// Source database → scratch name, for every database loaded.
    pub fn names(&self) -> &HashMap<String, String> {
        &self.names
    }

    /// True for a throwaway server (the dump runs whole there).
    pub fn throwaway(&self) -> bool {
        matches!(self.kind, Kind::Throwaway { .. })
    }

    /// A driver connection to the scratch server.
    pub async fn conn(&self) -> Result<mysql_async::Conn, Error> {
        match &self.kind {
            Kind::Throwaway { .. } => {
                let opts = mysql_async::OptsBuilder::default()
                    .socket(Some(self.socket().display().to_string()))
                    .user(Some("root"))
                    .prefer_socket(true);
                mysql_async::Conn::new(opts)
                    .await
                    .map_err(|e| Error::Scratch(format!("the scratch server: {e}")))
            }
            Kind::Staging { host, port, creds } => super::check::connect(host, *port, creds).await,
        }
    }

    /// The options a client tool needs to reach the scratch server.
    pub fn tool_args(&self) -> Vec<String> {
        match &self.kind {
            Kind::Throwaway { .. } => vec![
                "--no-defaults".to_owned(),
                format!("--socket={}", self.socket().display()),
                "--user=root".to_owned(),
            ],
            Kind::Staging { host, port, creds } => {
                tools::connection(creds.tool_option(), host, *port)
            }
        }
    }

    /// Fails when the throwaway server has died (its watchdog exited), with the cause.
    pub async fn alive(&mut self) -> Result<(), Error> {
        if let Kind::Throwaway {
            watchdog: Some(w), ..
        } = &mut self.kind
            && w.child().try_wait()?.is_some()
        {
            let cause = match self.take_watchdog() {
                Some(w) => w.finish().await.err().map(|e| e.to_string()),
                None => None,
            };
            return Err(Error::Scratch(format!(
                "the scratch server died: {}",
                cause.unwrap_or_else(|| "it exited".into())
            )));
        }
        Ok(())
    }

    /// After a failure: the throwaway server's death, if that was the cause (its watchdog
    /// exits at once when the server dies; a little while is given for that).
    pub async fn death(&mut self) -> Option<Error> {
        if let Kind::Throwaway {
            watchdog: Some(w), ..
        } = &mut self.kind
        {
            // `try_wait`, not `wait`: waiting closes the child's stdin, which is the
            // watchdog's signal to kill the server.
            for _ in 0..20 {
                if w.child().try_wait().ok().flatten().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        self.alive().await.err()
    }

    /// Stops the throwaway server and removes its directory, or drops this restore's
    /// databases on the staging server.
    pub async fn close(mut self, req: &Request) -> Result<(), Error> {
        match &mut self.kind {
            Kind::Throwaway { dir, watchdog } => {
                if let Some(mut w) = watchdog.take() {
                    // Closing its stdin is the watchdog's signal.
                    drop(w.child().stdin.take());
                    let _ = w.finish().await;
                }
                remove_tree(dir).await?;
                Ok(())
            }
            Kind::Staging { creds, .. } => {
                let creds = creds.clone();
                sweep_staging(req, &creds).await
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Dropped without `close` (a cancelled future): the watchdog is killed with its Proc,
        // its stdin closes with it, and it takes the server and the directory down.
        if let Kind::Throwaway {
            watchdog: Some(w), ..
        } = &mut self.kind
        {
            drop(w.child().stdin.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_flavour_and_major() {
        let prod = Version::parse("10.11.19-MariaDB-0+deb12u1-log").expect("parse");
        assert!(prod.mariadb);
        assert_eq!(prod.major, "10.11");
        let local = Version::parse(
            "/usr/sbin/mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu",
        )
        .expect("parse");
        assert_eq!(local.mismatch(&prod), None);
        let mysql = Version::parse("8.0.36").expect("parse");
        assert!(
            mysql
                .mismatch(&prod)
                .is_some_and(|m| m.contains("MySQL 8.0.36"))
        );
        let newer = Version::parse("11.4.2-MariaDB").expect("parse");
        assert!(newer.mismatch(&prod).is_some());
    }
}
