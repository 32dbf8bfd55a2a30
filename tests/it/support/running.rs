//! A `planrun` child the test watches: its output arrives line by line as it is written, so a
//! test waits for the line that says an event happened (never for a guessed pause), signals
//! the child by its own id, and collects what it said at the end.

use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::Output;

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// A spawned child; dropping it kills the child if it still runs (a test that fails half-way
/// must not leave an apply polling a stopped sandbox).
pub struct Running {
    child: Child,
    lines: Receiver<(Stream, Vec<u8>)>,
    stdout: Collected,
    stderr: Collected,
}

/// One stream's bytes as written, its lines, and how far a wait has read them.
#[derive(Default)]
struct Collected {
    bytes: Vec<u8>,
    lines: Vec<String>,
    next: usize,
}

impl Collected {
    fn push(&mut self, raw: Vec<u8>) {
        let text = String::from_utf8_lossy(&raw);
        self.lines
            .push(text.trim_end_matches(['\n', '\r']).to_owned());
        self.bytes.extend(raw);
    }

    /// The first unread line holding `needle`; the lines before it are read too.
    fn find(&mut self, needle: &str) -> Option<String> {
        let at = self.lines[self.next..]
            .iter()
            .position(|l| l.contains(needle))?;
        let line = self.lines[self.next + at].clone();
        self.next += at + 1;
        Some(line)
    }
}

/// Sends `from`'s lines (raw, newline kept) until it closes.
fn forward(from: impl Read + Send + 'static, stream: Stream, to: Sender<(Stream, Vec<u8>)>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if to.send((stream, line)).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

impl Running {
    /// Collects the streams that were piped to the test (`captured`: stdout, stderr).
    pub(super) fn watch(mut child: Child, captured: (bool, bool)) -> Self {
        let (tx, rx) = mpsc::channel();
        if let (true, Some(out)) = (captured.0, child.stdout.take()) {
            forward(out, Stream::Stdout, tx.clone());
        }
        if let (true, Some(err)) = (captured.1, child.stderr.take()) {
            forward(err, Stream::Stderr, tx);
        }
        Self {
            child,
            lines: rx,
            stdout: Collected::default(),
            stderr: Collected::default(),
        }
    }

    fn collected(&mut self, stream: Stream) -> &mut Collected {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    fn wait_line(&mut self, stream: Stream, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.collected(stream).find(needle) {
                return line;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((from, raw)) => self.collected(from).push(raw),
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "no {stream:?} line with {needle:?} ({e}); so far:\n{}\n{}",
                        self.stdout.lines.join("\n"),
                        self.stderr.lines.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for a stderr line containing `needle` (after the last one waited for); panics,
    /// killing the child, after `limit`.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) {
        self.wait_line(Stream::Stderr, needle, limit);
    }

    /// The same on stdout; returns the line.
    pub fn wait_for_stdout(&mut self, needle: &str, limit: Duration) -> String {
        self.wait_line(Stream::Stdout, needle, limit)
    }

    /// The child's process id (its process group's too when spawned with `process_group(0)`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The stdout lines received so far.
    pub fn stdout_lines(&self) -> &[String] {
        &self.stdout.lines
    }

    /// `kill -NAME` on our own child's id (not reaped before [`Running::finish`], so the id
    /// is still the child's).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill -{name}: {e}"));
        assert!(status.success(), "kill -{name}");
    }

    /// SIGINT, as Ctrl-C sends it.
    pub fn interrupt(&self) {
        self.signal("INT");
    }

    /// Whether the child has exited already (without waiting).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill9(mut self) -> Output {
        let _ = self.child.kill();
        self.finish(super::LIMIT)
    }

    /// Waits until the child has closed its output and exited; after `limit` it is killed and
    /// the test panics.
    pub fn finish(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((from, raw)) => self.collected(from).push(raw),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "planrun ran longer than {limit:?}; stderr:\n{}",
                        self.stderr.lines.join("\n")
                    );
                }
            }
        }
        // The output is closed: the child is exiting (or, when none was collected, runs
        // on); its exit is asked for every few milliseconds up to the same limit (a child
        // still running then is killed when `self` drops).
        let left = deadline.saturating_duration_since(Instant::now());
        let status =
            super::wait_for_blocking("planrun to exit", left, Duration::from_millis(10), || {
                match self.child.try_wait() {
                    Ok(Some(status)) => Ok(status),
                    Ok(None) => Err("still running"),
                    Err(e) => panic!("cannot wait for planrun: {e}"),
                }
            });
        Output {
            code: status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&status),
            stdout: String::from_utf8_lossy(&self.stdout.bytes).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr.bytes).into_owned(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
