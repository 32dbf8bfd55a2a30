//! Self-hosted restores (`provider: mysql`) against real, throwaway MariaDB servers: a dump,
//! changes, a point in time, an incident after it; the restored objects must equal the
//! originals as they were at that time, row for row. `.ci/test` installs MariaDB; nothing
//! here skips without it.

mod apply;
mod cancel;
mod concurrency;
mod crash;
mod defects;
mod oracle;
mod progress;
mod record;
mod restore;
pub(crate) mod run;
pub(crate) mod server;
mod staging;
