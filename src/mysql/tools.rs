//! The server's own client tools, found on PATH: MariaDB's names first, then MySQL's.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::Error;

/// `mariadb` or `mysql`: loads SQL.
pub fn client() -> Result<PathBuf, Error> {
    find(&["mariadb", "mysql"])
}

/// `mariadb-binlog` or `mysqlbinlog`: reads the binary log.
pub fn binlog() -> Result<PathBuf, Error> {
    find(&["mariadb-binlog", "mysqlbinlog"])
}

fn find(names: &[&str]) -> Result<PathBuf, Error> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
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

/// The connection options every tool gets: where its credentials are (`option`, which must
/// come first: [`super::Credentials::tool_option`]) and the server over TCP.
pub fn connection(option: String, host: &str, port: u16) -> Vec<String> {
    vec![
        option,
        "--protocol=TCP".to_owned(),
        format!("--host={host}"),
        format!("--port={port}"),
    ]
}

/// Runs the SQL client with `input` on stdin; its stderr becomes the error.
pub async fn load(client: &Path, args: &[String], input: &Path) -> Result<(), Error> {
    let name = client.display().to_string();
    let mut child = Command::new(client)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Tool {
            tool: name.clone(),
            reason: e.to_string(),
        })?;
    let mut stdin = child.stdin.take().ok_or_else(|| Error::Tool {
        tool: name.clone(),
        reason: "no stdin".into(),
    })?;
    let mut file = tokio::fs::File::open(input).await?;
    let copied = tokio::io::copy(&mut file, &mut stdin).await;
    let _ = stdin.shutdown().await;
    drop(stdin);
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        return Err(Error::Tool {
            tool: name,
            reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    copied?;
    Ok(())
}

/// Runs a tool writing its stdout to `output`, with `TZ` set (how the binlog tool reads times).
pub async fn capture(tool: &Path, args: &[String], output: &Path, tz: &str) -> Result<(), Error> {
    let name = tool.display().to_string();
    let file = std::fs::File::create(output)?;
    // `spawn`, not `output`: `output` would capture stdout instead of writing the file.
    let child = Command::new(tool)
        .args(args)
        .env("TZ", tz)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Tool {
            tool: name.clone(),
            reason: e.to_string(),
        })?;
    let out = child.wait_with_output().await?;
    if !out.status.success() {
        return Err(Error::Tool {
            tool: name,
            reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(())
}
