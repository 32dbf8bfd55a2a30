//! The signals that stop `apply`: SIGINT (Ctrl-C), SIGTERM (CI runners, `timeout`, `kill`) and
//! SIGHUP (the terminal went away). All three mean "stop submitting, wind down, exit 3".

use std::io;

/// Listens for the stop signals from the moment it is made (their default action, dying at
/// once, is replaced for the rest of the process).
pub struct Stops {
    #[cfg(unix)]
    signals: [(tokio::signal::unix::Signal, &'static str); 3],
}

impl Stops {
    /// Needs a running tokio runtime.
    pub fn install() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                signals: [
                    (signal(SignalKind::interrupt())?, "Interrupt"),
                    (signal(SignalKind::terminate())?, "SIGTERM"),
                    (signal(SignalKind::hangup())?, "SIGHUP"),
                ],
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Waits for the next stop signal and names it.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let [(int, a), (term, b), (hup, c)] = &mut self.signals;
            tokio::select! {
                _ = int.recv() => a,
                _ = term.recv() => b,
                _ = hup.recv() => c,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Interrupt"
        }
    }
}
