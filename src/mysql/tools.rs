//! The server's own programs: client tools found on PATH (MariaDB's names first, then
//! MySQL's), server binaries also in the sbin directories, and child processes whose stderr
//! is always read while they run (a full stderr pipe would otherwise stall a child that
//! planrun waits for: a hang instead of an error).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::Error;

/// `mariadb` or `mysql`: loads SQL.
pub fn client() -> Result<PathBuf, Error> {
    find(&["mariadb", "mysql"], false)
}

/// `mariadb-binlog` or `mysqlbinlog`: reads the binary log.
pub fn binlog() -> Result<PathBuf, Error> {
    find(&["mariadb-binlog", "mysqlbinlog"], false)
}

/// `mariadb-dump` or `mysqldump`: copies a restored table out of the scratch server.
pub fn dumper() -> Result<PathBuf, Error> {
    find(&["mariadb-dump", "mysqldump"], false)
}

/// `mariadbd` or `mysqld`: the throwaway scratch server.
pub fn server() -> Result<PathBuf, Error> {
    find(&["mariadbd", "mysqld"], true)
}

/// `mariadb-install-db` or `mysql_install_db`: its data directory.
pub fn install_db() -> Result<PathBuf, Error> {
    find(&["mariadb-install-db", "mysql_install_db"], true)
}

fn find(names: &[&str], sbin: bool) -> Result<PathBuf, Error> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    if sbin {
        // Debian puts the server in /usr/sbin, which is not on every user's PATH.
        dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    }
    for name in names {
        for dir in &dirs {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Error::NoTool {
        tool: names.join(" or "),
    })
}

/// The connection options every client tool gets for a TCP server: where its credentials are
/// (`option`, which must come first: [`super::Credentials::tool_option`]) and the server.
pub fn connection(option: String, host: &str, port: u16) -> Vec<String> {
    vec![
        option,
        "--protocol=TCP".to_owned(),
        format!("--host={host}"),
        format!("--port={port}"),
    ]
}

/// How much of a child's stderr is kept for its error message (the end says why it failed).
const STDERR_KEPT: usize = 4096;

/// A running child whose stderr is being read.
pub struct Proc {
    name: String,
    child: Child,
    stderr: JoinHandle<String>,
}

impl Proc {
    /// Starts `tool` with `args`; stdin and stdout as given, stderr read concurrently; killed
    /// when dropped.
    pub fn spawn(
        tool: &Path,
        args: &[String],
        stdin: Stdio,
        stdout: Stdio,
        env: &[(&str, &str)],
    ) -> Result<Self, Error> {
        let name = tool.file_name().map_or_else(
            || tool.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let mut command = Command::new(tool);
        command
            .args(args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().map_err(|e| Error::Tool {
            tool: name.clone(),
            reason: e.to_string(),
        })?;
        let mut err = child.stderr.take();
        let stderr = tokio::spawn(async move {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            if let Some(err) = err.as_mut() {
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * STDERR_KEPT {
                        kept.drain(..kept.len() - STDERR_KEPT);
                    }
                }
            }
            let text = String::from_utf8_lossy(&kept);
            let text = text.trim();
            let start = text.len().saturating_sub(STDERR_KEPT);
            let start = (start..text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            text[start..].to_owned()
        });
        Ok(Self {
            name,
            child,
            stderr,
        })
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits for the child; an error carries the end of its stderr.
    pub async fn finish(mut self) -> Result<(), Error> {
        let status = self.child.wait().await?;
        let stderr = (&mut self.stderr).await.unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        let reason = if stderr.is_empty() {
            format!("exited with {status}")
        } else {
            cause(&stderr)
        };
        Err(Error::Tool {
            tool: self.name,
            reason,
        })
    }
}

/// The lines of a tool's stderr that say why it failed: its `ERROR ...` lines (the client
/// echoes the failing statement around them, which may hold data: never kept), else its last
/// line. At most 500 characters.
fn cause(stderr: &str) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("ERROR") || l.contains(": Got error") || l.contains("[ERROR]"))
        .collect();
    let text = if errors.is_empty() {
        stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    } else {
        errors.join("; ")
    };
    text.chars().take(500).collect()
}

/// The write end of a child's stdin as a blocking file, for a copy on a blocking thread.
pub fn stdin_file(proc: &mut Proc) -> Result<std::fs::File, Error> {
    let stdin = proc.child().stdin.take().ok_or_else(|| Error::Tool {
        tool: proc.name.clone(),
        reason: "no stdin".into(),
    })?;
    Ok(std::fs::File::from(stdin.into_owned_fd()?))
}

/// The read end of a child's stdout as a blocking file.
pub fn stdout_file(proc: &mut Proc) -> Result<std::fs::File, Error> {
    let stdout = proc.child().stdout.take().ok_or_else(|| Error::Tool {
        tool: proc.name.clone(),
        reason: "no stdout".into(),
    })?;
    Ok(std::fs::File::from(stdout.into_owned_fd()?))
}

/// Runs `work` on a blocking thread (file and pipe copies), as a future.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?
}

/// Feeds a child the output of `write` (run on a blocking thread, writing into its stdin),
/// then waits for it. The child's failure wins over the broken pipe it caused.
pub async fn feed<T: Send + 'static>(
    mut proc: Proc,
    write: impl FnOnce(&mut std::fs::File) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let mut stdin = stdin_file(&mut proc)?;
    let writer = blocking(move || {
        let out = write(&mut stdin);
        drop(stdin);
        out
    });
    let (written, finished) = tokio::join!(writer, proc.finish());
    finished?;
    written
}

/// True when `e` is a write into a pipe whose reader is gone (the child ended first).
pub fn broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_statement_echoed_by_the_client_never_reaches_the_cause() {
        let stderr = "--------------\nINSERT INTO t VALUES (1,'secret row')\n--------------\n\nERROR 2013 (HY000) at line 57: Lost connection to server during query";
        assert_eq!(
            cause(stderr),
            "ERROR 2013 (HY000) at line 57: Lost connection to server during query"
        );
    }

    #[tokio::test]
    async fn a_child_that_fills_stderr_never_stalls_and_its_error_is_kept() {
        let sh = PathBuf::from("/bin/sh");
        // 1 MiB of stderr (far past a pipe's buffer), then a failure.
        let proc = Proc::spawn(
            &sh,
            &[
                "-c".into(),
                "head -c 1048576 /dev/zero | tr '\\0' x >&2; echo >&2; echo the-cause >&2; exit 3"
                    .into(),
            ],
            Stdio::null(),
            Stdio::null(),
            &[],
        )
        .expect("spawn");
        let err = proc.finish().await.expect_err("it failed");
        assert!(
            matches!(&err, Error::Tool { reason, .. } if reason == "the-cause"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_child_that_dies_while_fed_fails_with_its_own_cause() {
        let sh = PathBuf::from("/bin/sh");
        let proc = Proc::spawn(
            &sh,
            &["-c".into(), "echo gone >&2; exit 1".into()],
            Stdio::piped(),
            Stdio::null(),
            &[],
        )
        .expect("spawn");
        let err = feed(proc, |stdin| {
            use std::io::Write;
            for _ in 0..10_000 {
                stdin.write_all(&[b'x'; 1024])?;
            }
            Ok(())
        })
        .await
        .expect_err("the child died");
        assert!(
            matches!(&err, Error::Tool { reason, .. } if reason == "gone"),
            "{err}"
        );
    }
}
