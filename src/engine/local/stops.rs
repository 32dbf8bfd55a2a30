//! `planrun cancel` reaching restores that run inside another process (`apply`): cancel
//! journals a `stopping` record for the instance, as it does for cloud tasks; [`Stops`]
//! follows the journal's new lines and stops the instance's restore when one names it.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;

use tokio::sync::watch;

use crate::engine::journal::Record;
use crate::mysql::Stop;

/// How often the journal is polled while restores run (a cheap `stat` when nothing new).
pub(super) const SCAN_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

pub(super) struct Stops {
    journal: Option<PathBuf>,
    /// One stop per self-hosted instance of the plan.
    each: HashMap<String, (watch::Sender<bool>, Stop)>,
    /// Bytes of the journal read so far (only whole lines).
    read: Mutex<u64>,
}

impl Stops {
    pub(super) fn new<'a>(journal: Option<PathBuf>, ids: impl Iterator<Item = &'a str>) -> Self {
        Self {
            journal,
            each: ids.map(|id| (id.to_owned(), Stop::new())).collect(),
            read: Mutex::new(0),
        }
    }

    /// The stop of `instance`'s restore.
    pub(super) fn of(&self, instance: &str) -> Stop {
        self.each
            .get(instance)
            .map_or_else(Stop::never, |(_, stop)| stop.clone())
    }

    /// Reads what was appended to the journal since the last poll; returns the instances
    /// whose restore is now asked to stop.
    pub(super) fn scan(&self) -> Vec<String> {
        let Some(path) = &self.journal else {
            return Vec::new();
        };
        let Ok(mut read) = self.read.lock() else {
            return Vec::new();
        };
        let Ok(mut file) = std::fs::File::open(path) else {
            return Vec::new();
        };
        let len = file.metadata().map_or(0, |m| m.len());
        if len <= *read || file.seek(SeekFrom::Start(*read)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if file.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        // A line being written is read next time, whole.
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        *read += end as u64 + 1;
        let mut asked = Vec::new();
        for line in buf[..end].split(|b| *b == b'\n') {
            if let Ok(Record::Stopping { instance, .. }) = serde_json::from_slice(line)
                && let Some((tx, _)) = self.each.get(&instance)
                && !*tx.borrow()
            {
                tx.send_replace(true);
                asked.push(instance);
            }
        }
        asked
    }
}
