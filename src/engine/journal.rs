//! The write-ahead journal: one JSON record per line, fsynced. An intent is on disk before its
//! request leaves; its outcome follows. Replaying the records tells a resumed `apply` what was
//! submitted, what is in doubt and what never left. A torn last line (a crash mid-write) is
//! dropped on opening. The directory and files are readable by their owner only.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::protocol::{JobHandle, TaskState};
use crate::api::rollback::RollbackSpec;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A run of the plan begins (or resumes).
    Start {
        plan: String,
        plan_hash: String,
        at: DateTime<Utc>,
        /// Who ran it and with what (for the incident record; absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<RunContext>,
    },
    /// What the plan asks of each instance, written once when a journal begins: the incident
    /// record shows what was restored as what even when the plan file has changed since.
    Planned {
        plan_hash: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// The plan's `timezone` (`±HH:MM`).
        timezone: String,
        instances: Vec<PlannedInstance>,
    },
    /// About to send submission `batch` for these instances (written before the request).
    Intent {
        batch: u64,
        instances: Vec<String>,
        at: DateTime<Utc>,
    },
    /// The API accepted submission `batch`.
    Accepted {
        batch: u64,
        job: JobHandle,
        at: DateTime<Utc>,
    },
    /// The API refused these instances for good.
    Rejected {
        batch: u64,
        instances: Vec<String>,
        code: Option<String>,
        message: String,
        /// API 3.0's RequestId of the refusing answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        at: DateTime<Utc>,
    },
    /// Submission `batch` may or may not have been accepted: reconcile before resending.
    Unknown {
        batch: u64,
        error: String,
        at: DateTime<Utc>,
    },
    /// Submission `batch` certainly did not create tasks (refused, or reconciled and not
    /// found): its instances are pending again unless adopted.
    Abandoned {
        batch: u64,
        reason: String,
        at: DateTime<Utc>,
    },
    /// Reconciliation found the instance's task of an in-doubt submission.
    Adopted {
        instance: String,
        batch: u64,
        job: JobHandle,
        /// Set by journals of planrun before issue 23, which adopted a task without proof;
        /// never written now (`engine::reconcile`: no proof, no adoption).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unverified: Option<String>,
        /// Why the task is the submission's (the rule of evidence's proof). Absent in older
        /// journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proof: Option<String>,
        at: DateTime<Utc>,
    },
    /// A task changed state.
    Progress {
        instance: String,
        state: TaskState,
        progress: Option<u8>,
        /// A self-hosted restore's phase and how far into it (`loading dump 12.3 MB of
        /// 47.0 MB`); absent for cloud tasks and in older journals.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        at: DateTime<Utc>,
    },
    /// A task ended (succeeded, failed, killed, removed): `status` is its last state.
    Finished {
        instance: String,
        status: TaskState,
        message: Option<String>,
        at: DateTime<Utc>,
    },
    /// Nothing proves what became of the instance's submission or task (`engine::reconcile`,
    /// tracking that saw nothing more): it is `unknown`, with the evidence there is.
    Unproven {
        instance: String,
        evidence: String,
        at: DateTime<Utc>,
    },
    /// The instance's task reported success, but these new objects (`db` or `db.table`)
    /// were not seen by DescribeDatabases / DescribeTables: it is `unverified`. (A verified
    /// success is [`Record::Finished`], written only once every new object was seen.)
    Unverified {
        instance: String,
        missing: Vec<String>,
        at: DateTime<Utc>,
    },
    /// The run ended with every instance in a final state.
    Complete { at: DateTime<Utc> },
    /// The run's `--timeout` ran out while these instances were unfinished: they are
    /// `timed_out` until the next run of the plan starts (its [`Record::Start`]).
    TimedOut {
        instances: Vec<String>,
        at: DateTime<Utc>,
    },
    /// `apply --retry-failed` sends these instances again: a failed or refused one is pending
    /// again; an unknown one is looked for first (its submission reconciled, or its task
    /// tracked) and sent again only when the rule of evidence finds no task of it.
    Retry {
        instances: Vec<String>,
        at: DateTime<Utc>,
    },
    /// `planrun cancel`'s StopRollback was accepted; the task is not KILLED yet.
    Stopping {
        instance: String,
        request: Option<String>,
        at: DateTime<Utc>,
    },
    /// `planrun cancel` saw the instance's task KILLED after its StopRollback.
    Cancelled {
        instance: String,
        request: Option<String>,
        at: DateTime<Utc>,
    },
}

/// Who started a run, where, and with which planrun and API. Never a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    /// The login name, when the environment tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// planrun's version.
    pub version: String,
    /// `v2` or `v3`.
    pub api: String,
    /// The action that submits rollbacks (`StartBatchRollback`, `RollbackCdbDatabaseTables`).
    pub action: String,
    /// Applied against the in-process sandbox (`--sandbox`), not a cloud.
    #[serde(default)]
    pub sandbox: bool,
}

/// One instance of a [`Record::Planned`]: its region and the rollback it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedInstance {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub spec: RollbackSpec,
}

/// An open journal, appended to with fsync.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    /// Writes (each one fsync) since it was opened.
    syncs: u64,
}

/// Creates `dir` (mode 0700 on Unix) if needed.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

impl Journal {
    /// Opens (creating) the journal at `path` and returns it with its records. A torn or
    /// unreadable last line is cut off so that the next record starts on a line of its own.
    pub fn open(path: &Path) -> io::Result<(Self, Vec<Record>)> {
        let mut records = Vec::new();
        let journal = Self::open_each(path, Want::All, |r| records.push(r))?;
        Ok((journal, records))
    }

    /// [`Journal::open`], handing each record to `each` as it is read instead of holding
    /// them all (a journal of 10,000 instances is tens of megabytes once parsed).
    pub fn open_each(path: &Path, want: Want, each: impl FnMut(Record)) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let mut file = private_options().open(path)?;
        let (_, good_len) = read_records(&mut file, 0, want, each)?;
        if good_len < file.metadata()?.len() {
            file.set_len(good_len)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::End(0))?;
        Ok(Self {
            file,
            path: path.to_owned(),
            syncs: 0,
        })
    }

    /// Opens an existing journal for appending without changing what it holds (`status`
    /// records what it learned): refused when its last line is torn, which only a resumed
    /// `apply` cuts off, and when there is no journal.
    pub fn reopen(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new().read(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1))?;
            io::Read::read_exact(&mut file, &mut last)?;
            if last[0] != b'\n' {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the journal's last line is torn (an apply of the plan resumes it)",
                ));
            }
        }
        Ok(Self {
            file,
            path: path.to_owned(),
            syncs: 0,
        })
    }

    /// Reads the records of a journal without opening it for writing (for `status`).
    pub fn read(path: &Path) -> io::Result<Vec<Record>> {
        let mut records = Vec::new();
        Self::read_each(path, Want::All, |r| records.push(r))?;
        Ok(records)
    }

    /// Hands each record of a journal to `each` as it is read, without opening it for
    /// writing; returns how many lines held records (skipped ones included).
    pub fn read_each(path: &Path, want: Want, each: impl FnMut(Record)) -> io::Result<usize> {
        let mut file = File::open(path)?;
        Ok(read_records(&mut file, 0, want, each)?.0)
    }

    /// [`Journal::read_each`] from byte `from` (the end of a line an earlier read returned):
    /// what was appended since. Returns where this read ended (after its last good line; a
    /// line still being written is left for the next read).
    pub fn read_each_from(
        path: &Path,
        from: u64,
        want: Want,
        each: impl FnMut(Record),
    ) -> io::Result<u64> {
        let mut file = File::open(path)?;
        Ok(read_records(&mut file, from, want, each)?.1)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends several records with one write and one fsync (progress of many tasks).
    pub fn append_all(&mut self, records: &[Record]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(records.len() * 128);
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.syncs += 1;
        self.file.sync_data()
    }

    /// How many writes (each ending in an fsync) this handle made.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }
}

/// Which records a reader needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Every record, parsed.
    All,
    /// What a replay of the state needs: a [`Record::Planned`] line (the plan's every
    /// request, by far the longest line) is only checked to be a JSON object, not parsed.
    State,
}

/// Just a line's `record` tag: reading it skips the rest of the line without building it.
#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(borrow)]
    record: std::borrow::Cow<'a, str>,
}

/// Hands each record from byte `from` (a line's start) to `each`, in order; returns how many
/// lines held records and the length of the file up to the end of the last good line.
fn read_records(
    file: &mut File,
    from: u64,
    want: Want,
    mut each: impl FnMut(Record),
) -> io::Result<(usize, u64)> {
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::new(file);
    let mut count = 0usize;
    let mut good_len = from;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let complete = line.last() == Some(&b'\n');
        let skipped = complete
            && want == Want::State
            && serde_json::from_slice::<Tag>(&line).is_ok_and(|t| t.record == "planned");
        if skipped {
            count += 1;
            good_len += n as u64;
            continue;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(record) if complete => {
                each(record);
                count += 1;
                good_len += n as u64;
            }
            // A torn tail: everything after the last good line is dropped.
            _ if !complete => break,
            Ok(_) => unreachable!("complete handled above"),
            Err(e) => {
                // A bad line in the middle is not a crash artefact: refuse to guess.
                let rest_is_empty = reader.fill_buf()?.is_empty();
                if rest_is_empty {
                    break;
                }
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("journal line {} is corrupt: {e}", count + 1),
                ));
            }
        }
    }
    Ok((count, good_len))
}

/// An exclusive lock on the plan's state: a second `apply` of the same plan is refused.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock at `path` without waiting; `Ok(None)` when another process holds it.
    pub fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let file = private_options().open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

pub mod script;

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    fn intent(batch: u64) -> Record {
        Record::Intent {
            batch,
            instances: vec!["cdb-aaaaaaaa".into()],
            at: at(),
        }
    }

    #[test]
    fn task_states_read_and_write_in_the_words_of_older_journals() {
        // Lines as planrun has always written them: read into the enum, written back the same.
        let lines = [
            r#"{"record":"progress","instance":"cdb-aaaaaaaa","state":"running","progress":40,"at":"2026-11-23T12:00:00Z"}"#,
            r#"{"record":"progress","instance":"cdb-aaaaaaaa","state":"waiting for maintenance window","progress":null,"at":"2026-11-23T12:00:00Z"}"#,
            r#"{"record":"progress","instance":"cdb-aaaaaaaa","state":"BRAND_NEW","progress":null,"at":"2026-11-23T12:00:00Z"}"#,
            r#"{"record":"finished","instance":"cdb-aaaaaaaa","status":"killed","message":null,"at":"2026-11-23T12:00:00Z"}"#,
            r#"{"record":"finished","instance":"cdb-aaaaaaaa","status":"succeeded","message":null,"at":"2026-11-23T12:00:00Z"}"#,
        ];
        let read: Vec<Record> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let states: Vec<TaskState> = read
            .iter()
            .map(|r| match r {
                Record::Progress { state, .. } => state.clone(),
                Record::Finished { status, .. } => status.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            states,
            [
                TaskState::Running,
                TaskState::MaintenanceWindow,
                TaskState::Unknown("BRAND_NEW".into()),
                TaskState::Killed,
                TaskState::Succeeded,
            ]
        );
        for (record, line) in read.iter().zip(lines) {
            assert_eq!(serde_json::to_string(record).unwrap(), line);
        }
    }

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/p.journal");
        let (mut j, records) = Journal::open(&path).unwrap();
        assert!(records.is_empty());
        j.append(&intent(1)).unwrap();
        let more = script::Script::new(at())
            .accepted(1, "7")
            .push(intent(2))
            .records();
        j.append_all(&more).unwrap();
        drop(j);
        let (_, records) = Journal::open(&path).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[1],
            Record::Accepted {
                batch: 1,
                job: JobHandle("7".into()),
                at: at()
            }
        );
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_appending_continues_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.journal");
        let (mut j, _) = Journal::open(&path).unwrap();
        j.append(&intent(1)).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"record":"intent","batch":2,"inst"#)
            .unwrap();
        drop(f);
        let (mut j, records) = Journal::open(&path).unwrap();
        assert_eq!(records, vec![intent(1)]);
        j.append(&intent(3)).unwrap();
        assert_eq!(Journal::read(&path).unwrap(), vec![intent(1), intent(3)]);
    }

    #[test]
    fn a_read_from_where_the_last_ended_sees_only_what_was_appended_since() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.journal");
        let (mut j, _) = Journal::open(&path).unwrap();
        j.append_all(&[intent(1), intent(2)]).unwrap();
        let mut seen = Vec::new();
        let end = Journal::read_each_from(&path, 0, Want::All, |r| seen.push(r)).unwrap();
        assert_eq!(seen, vec![intent(1), intent(2)]);
        assert_eq!(end, std::fs::metadata(&path).unwrap().len());
        j.append(&intent(3)).unwrap();
        // Another writer's line, half written when the reader comes.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"record":"intent","batch":4,"inst"#)
            .unwrap();
        let mut seen = Vec::new();
        let after = Journal::read_each_from(&path, end, Want::All, |r| seen.push(r)).unwrap();
        assert_eq!(seen, vec![intent(3)]);
        // The half line is left for the next read, which sees nothing new until it ends.
        let mut again = Vec::new();
        let same = Journal::read_each_from(&path, after, Want::All, |r| again.push(r)).unwrap();
        assert_eq!((same, again), (after, Vec::new()));
    }

    #[test]
    fn a_replay_reads_every_record_but_the_planned_one_and_still_checks_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.journal");
        let planned = Record::Planned {
            plan_hash: "h".into(),
            description: None,
            timezone: "+08:00".into(),
            instances: Vec::new(),
        };
        let (mut j, _) = Journal::open(&path).unwrap();
        j.append_all(&[intent(1), planned.clone(), intent(2)])
            .unwrap();
        drop(j);
        let mut all = Vec::new();
        assert_eq!(
            Journal::read_each(&path, Want::All, |r| all.push(r)).unwrap(),
            3
        );
        assert_eq!(all, vec![intent(1), planned, intent(2)]);
        let mut state = Vec::new();
        let counted = Journal::read_each(&path, Want::State, |r| state.push(r)).unwrap();
        assert_eq!((counted, state), (3, vec![intent(1), intent(2)]));
        // A planned line that is not JSON is as corrupt to a replay as to any reader.
        let text = std::fs::read_to_string(&path).unwrap();
        let broken = text.replacen("\"timezone\"", "\"timezone", 1);
        std::fs::write(&path, broken).unwrap();
        assert!(Journal::read_each(&path, Want::State, |_| {}).is_err());
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.journal");
        std::fs::write(
            &path,
            format!("garbage\n{}\n", serde_json::to_string(&intent(1)).unwrap()),
        )
        .unwrap();
        assert!(Journal::open(&path).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn directory_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let (_j, _) = Journal::open(&state.join("p.journal")).unwrap();
        let _lock = Lock::try_acquire(&state.join("p.lock")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&state.join("p.journal")), 0o600);
        assert_eq!(mode(&state.join("p.lock")), 0o600);
    }

    #[test]
    fn a_second_lock_is_refused_while_the_first_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.lock");
        let first = Lock::try_acquire(&path).unwrap();
        assert!(first.is_some());
        assert!(Lock::try_acquire(&path).unwrap().is_none());
        drop(first);
        assert!(Lock::try_acquire(&path).unwrap().is_some());
    }
}
