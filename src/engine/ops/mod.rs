//! The operations the commands carry out, each taking values and returning an outcome or an
//! error value: opening an apply (which [`super::apply`] runs), `cancel`, `refresh` (what
//! `status` learns), finding what `report` renders, `compare`, `merge` and a saved merge's
//! apply, `new`'s fleet query, the preflight, saved plans, and where a plan's journal is.
//! They say what happens as events (a callback, or a channel) and what came of it as values;
//! the CLI asks the person, draws, prints, and turns outcomes and errors into exit codes.
//! Nothing here prints.

pub mod cancel;
pub mod compare;
pub mod connect;
pub mod jobs;
pub mod load;
pub mod located;
pub mod merge;
pub mod merge_file;
pub mod new;
pub mod open;
pub mod operator;
pub mod plan;
pub mod preflight;
pub mod refresh;
pub mod report;
pub mod saved;
pub mod selfhosted;

use std::fmt::Display;
use std::path::Path;

use crate::plan::text::visible;

/// A path as messages show it: its control characters escaped.
pub(crate) fn shown(path: &Path) -> String {
    visible(&path.display().to_string()).into_owned()
}

/// Text from elsewhere (an error's message, a server's answer) as messages show it.
pub(crate) fn escaped(text: &impl Display) -> String {
    visible(&text.to_string()).into_owned()
}

/// "Now" for the rules (future / older than 7 days) and for what is saved (saved plans and
/// merges, written plans). `PLANRUN_NOW` (RFC 3339) pins it, so golden tests and reviews of
/// old plans are reproducible.
pub fn now() -> Result<chrono::DateTime<chrono::Utc>, String> {
    match std::env::var("PLANRUN_NOW") {
        Ok(text) => chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| format!("PLANRUN_NOW={text:?} is not an RFC 3339 time: {e}")),
        Err(_) => Ok(chrono::Utc::now()),
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place: a reader
/// never sees half a record, and a failure leaves the old file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-record"));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What the tests of the operations share.
#[cfg(test)]
pub(crate) mod testing {
    use std::time::Duration;

    use crate::api::{ClientConfig, Credentials, v3};
    use crate::engine::protocol::Protocol;
    use crate::engine::v3::V3;
    use crate::sandbox::{self, DEMO_SECRET_ID, DEMO_SECRET_KEY, DetailQuirk, Sandbox};

    /// A sandbox that ignores DescribeRollbackTaskDetail's AsyncRequestId filter (it lists
    /// every task of the instance), tasks of 30 s shown 0.5 s after their submission and
    /// stopped at once, and an API 3.0 adapter speaking to it.
    pub(crate) async fn filter_ignored() -> (Sandbox, V3) {
        let config = sandbox::Config {
            task_seconds: (30.0, 30.0),
            stop_seconds: 0.0,
            rollback_time_check: None,
            any_instance: true,
            detail_quirk: DetailQuirk::IgnoredFilter,
            visible_after_seconds: 0.5,
            ..sandbox::Config::demo()
        };
        let sb = sandbox::start(config, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let client = v3::Client::new(ClientConfig::new(
            sb.endpoint_v3(),
            "ap-guangzhou",
            Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        (sb, V3::new(client))
    }

    /// Waits until the sandbox lists at least `n` tasks of `instance` (it shows a task some
    /// time after its submission): the event a test goes on from, never a fixed sleep.
    pub(crate) async fn until_listed<P: Protocol>(protocol: &P, instance: &str, n: usize) {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let listed = protocol.tasks(None, instance).await.map_or(0, |t| t.len());
                if listed >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the sandbox never listed {n} tasks of {instance}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("r.html");
        write_atomically(&path, b"<p>1</p>").unwrap_or_else(|e| panic!("{e}"));
        write_atomically(&path, b"<p>2</p>").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"<p>2</p>"[..]));
        assert_eq!(
            std::fs::read_dir(dir.path()).map(Iterator::count).ok(),
            Some(1)
        );
        assert!(write_atomically(&dir.path().join("missing/r.html"), b"x").is_err());
    }
}
