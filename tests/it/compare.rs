//! `planrun compare`, `planrun merge` and a saved merge's `show`/`apply`, against real,
//! throwaway MariaDB servers: an incident (DELETE, UPDATE) after the rollback time, then
//! legitimate writes; a self-hosted apply restores the tables as of the time beside them.
//! Every expected value is computed by the test's own SQL, never by planrun's code.

mod cloud;
mod crash;
mod fixture;
mod image;
mod merge;
mod report;
