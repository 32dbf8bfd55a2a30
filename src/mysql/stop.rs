//! A request to stop a restore (`planrun cancel`), which the restore heeds between its steps
//! and while its child processes run (they are killed), never during the final `RENAME TABLE`.

use tokio::sync::watch;

/// The restore's side of a stop request; cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// A stop that is never requested.
    pub fn never() -> Self {
        // The sender is gone at once: `wait` then pends forever and `requested` stays false.
        Self(watch::channel(false).1)
    }

    /// A stop and the sender that requests it (`send(true)`).
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the stop is requested (never, if it cannot be any more).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
