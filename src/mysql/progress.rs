//! How far a restore is, in units a person recognises: its phase, and where the phase can be
//! counted, how much of it is done of how much (bytes of the dump file read, bytes of the
//! decoded binlog span replayed, rows landed on production), with a time left only once
//! enough is done for the rate so far to say something.
//!
//! The counting happens where the data streams (a blocking thread feeding a client's stdin);
//! a [`Meter`] there tells the restore's async side each time another step of the total is
//! done, so that progress follows the data, not a clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::Error;

/// Where a restore is, for progress drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Checking,
    Starting,
    Loading,
    /// The span decoded from production's binary log and judged (its size is not known
    /// before it is read).
    Reading,
    Replaying,
    /// The restored tables copied onto production under temporary names.
    Copying,
    Renaming,
    Done,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Starting => "starting scratch server",
            Self::Loading => "loading dump",
            Self::Reading => "reading binlog",
            Self::Replaying => "replaying binlog",
            Self::Copying => "landing",
            Self::Renaming => "renaming",
            Self::Done => "done",
        }
    }
}

/// What a phase counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of a file as it is on disk.
    Bytes,
    /// Bytes of a compressed file as it is on disk (not the SQL it holds, which is larger).
    CompressedBytes,
    Rows,
}

/// How much of a phase is done, of how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    pub done: u64,
    pub total: u64,
    pub unit: Unit,
}

/// A step of a restore.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    /// How much of the phase is done (`None`: a phase that is not counted).
    pub amount: Option<Amount>,
    /// The time the phase still needs at its rate so far; `None` until [`eta`] can say.
    pub eta: Option<Duration>,
    /// Bytes of SQL handed to the scratch server so far (the dump's and the span's).
    pub bytes: u64,
}

impl Progress {
    /// A phase that is not counted.
    pub fn at(phase: Phase, bytes: u64) -> Self {
        Self {
            phase,
            amount: None,
            eta: None,
            bytes,
        }
    }

    /// How much of its phase is done, from 0 to 1 (0 when not counted).
    pub fn part(&self) -> f64 {
        self.amount.map_or(0.0, |a| {
            if a.total == 0 {
                1.0
            } else {
                (a.done as f64 / a.total as f64).min(1.0)
            }
        })
    }

    /// The line a person reads: `loading dump 12.3 MB of 47.0 MB, about 2 min left`.
    pub fn line(&self) -> String {
        let mut out = self.phase.name().to_owned();
        if let Some(a) = self.amount {
            let (done, total) = match a.unit {
                Unit::Rows => (count(a.done), format!("{} rows", count(a.total))),
                Unit::Bytes => (size(a.done), size(a.total)),
                Unit::CompressedBytes => (size(a.done), format!("{} compressed", size(a.total))),
            };
            out.push_str(&format!(" {done} of {total}"));
        }
        if let Some(left) = self.eta {
            out.push_str(&format!(", about {} left", duration(left)));
        }
        out
    }
}

/// The time left at the rate so far, once at least a tenth of the total is done and five
/// seconds have passed (before that a rate says little: a server warming up, a first
/// table of a different shape); `None` otherwise, and when done.
pub fn eta(done: u64, total: u64, elapsed: Duration) -> Option<Duration> {
    if done == 0 || done >= total || done * 10 < total || elapsed < Duration::from_secs(5) {
        return None;
    }
    let left = elapsed.as_secs_f64() * (total - done) as f64 / done as f64;
    Some(Duration::from_secs_f64(left))
}

/// `47.0 MB` (decimal units, as file sizes are shown).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `120,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `45 s`, `3 min`, `1 h 20 min`.
fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..90 => format!("{} s", secs.max(1)),
        90..5400 => format!("{} min", (secs + 30) / 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// A count kept by the thread that moves the data; each time it passes another step (a
/// hundredth of the total, at least `min_step`), and when it reaches the total, the
/// restore's async side hears of it.
#[derive(Debug, Clone)]
pub struct Meter {
    count: Arc<AtomicU64>,
    step: u64,
    total: u64,
    tell: mpsc::UnboundedSender<u64>,
}

/// The async side of a [`Meter`].
pub type Ticks = mpsc::UnboundedReceiver<u64>;

impl Meter {
    /// A meter of `total` (as far as it is known), told at least every `min_step`.
    pub fn new(total: u64, min_step: u64) -> (Self, Ticks) {
        let (tell, ticks) = mpsc::unbounded_channel();
        let meter = Self {
            count: Arc::new(AtomicU64::new(0)),
            step: (total / 100).max(min_step).max(1),
            total,
            tell,
        };
        (meter, ticks)
    }

    pub fn add(&self, n: u64) {
        let before = self.count.fetch_add(n, Ordering::Relaxed);
        let after = before + n;
        if before / self.step != after / self.step || (before < self.total && after >= self.total) {
            // The async side may be gone (the restore stopped): nothing to tell then.
            let _ = self.tell.send(after);
        }
    }

    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Tells `progress` how much of a counted phase is done, with the time left when [`eta`]
/// can say it (the phase started when this was made).
pub fn counter<'a>(
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    phase: Phase,
    total: u64,
    unit: Unit,
    bytes: u64,
) -> impl Fn(u64) + 'a {
    let started = Instant::now();
    move |done| {
        progress(Progress {
            phase,
            amount: Some(Amount { done, total, unit }),
            eta: eta(done, total, started.elapsed()),
            bytes,
        })
    }
}

/// Runs `work`; each tick of its meter goes to `tell`; a stop ends it
/// ([`Error::Cancelled`]). The caller tells the final count itself.
pub async fn metered<T>(
    work: impl std::future::Future<Output = Result<T, Error>>,
    ticks: &mut Ticks,
    stop: &super::Stop,
    tell: &impl Fn(u64),
) -> Result<T, Error> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => return r,
            () = stop.wait() => return Err(Error::Cancelled),
            Some(n) = ticks.recv() => tell(n),
        }
    }
}

/// A reader or writer that counts what goes through it on a [`Meter`].
pub struct Counting<T> {
    pub inner: T,
    pub meter: Meter,
}

impl<W: std::io::Write> std::io::Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.meter.add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(phase: Phase, done: u64, total: u64, unit: Unit) -> String {
        Progress {
            phase,
            amount: Some(Amount { done, total, unit }),
            eta: None,
            bytes: 0,
        }
        .line()
    }

    #[test]
    fn each_phase_reads_in_its_own_unit() {
        assert_eq!(
            line(Phase::Loading, 12_300_000, 47_000_000, Unit::Bytes),
            "loading dump 12.3 MB of 47.0 MB"
        );
        assert_eq!(
            line(Phase::Loading, 950, 2_500_000_000, Unit::CompressedBytes),
            "loading dump 950 B of 2.5 GB compressed"
        );
        assert_eq!(
            line(Phase::Replaying, 999_999, 1_000_000, Unit::Bytes),
            "replaying binlog 1.0 MB of 1.0 MB"
        );
        assert_eq!(
            line(Phase::Copying, 40_000, 120_000, Unit::Rows),
            "landing 40,000 of 120,000 rows"
        );
        assert_eq!(Progress::at(Phase::Checking, 0).line(), "checking");
        let with_eta = Progress {
            eta: Some(Duration::from_secs(125)),
            ..Progress::at(Phase::Renaming, 0)
        };
        assert_eq!(with_eta.line(), "renaming, about 2 min left");
    }

    #[test]
    fn a_time_left_only_after_a_tenth_and_five_seconds() {
        let s = Duration::from_secs;
        assert_eq!(eta(5, 100, s(60)), None, "too little done");
        assert_eq!(eta(50, 100, s(4)), None, "too soon");
        assert_eq!(eta(100, 100, s(60)), None, "done");
        assert_eq!(eta(0, 0, s(60)), None);
        assert_eq!(eta(25, 100, s(10)), Some(s(30)));
        assert_eq!(duration(s(0)), "1 s");
        assert_eq!(duration(s(89)), "89 s");
        assert_eq!(duration(s(4000)), "67 min");
        assert_eq!(duration(s(7300)), "2 h 1 min");
    }

    #[test]
    fn numbers_are_grouped_and_sizes_rounded() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1000), "1.0 kB");
        assert_eq!(size(47_049_999), "47.0 MB");
        assert_eq!(size(999_960), "1.0 MB");
    }

    #[test]
    fn a_meter_ticks_once_per_step_crossed() {
        let (meter, mut ticks) = Meter::new(1000, 1);
        for _ in 0..25 {
            meter.add(1);
        }
        meter.add(30);
        let mut seen = Vec::new();
        while let Ok(n) = ticks.try_recv() {
            seen.push(n);
        }
        // Steps of 10: crossed at 10, 20, then 55 crosses 30, 40 and 50 at once.
        assert_eq!(seen, [10, 20, 55]);
        assert_eq!(meter.get(), 55);
        // A total smaller than a step is told when it is reached.
        let (meter, mut ticks) = Meter::new(300, 1000);
        meter.add(299);
        meter.add(1);
        assert_eq!(ticks.try_recv().ok(), Some(300));
        assert!(ticks.try_recv().is_err());
    }
}
