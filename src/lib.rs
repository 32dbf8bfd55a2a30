//! planrun: reviewed, declarative point-in-time rollbacks of TencentDB for MySQL instances.
//!
//! Layers (imports only flow this way): `diff` → `plan`; `engine` → `plan`, `diff`, `api`,
//! `mysql`; `sandbox` → `api`; `record` → `engine`, `plan`, `api` (their data types: it
//! renders the journal, and `compare`'s kept result); `mysql` (self-hosted restores with the
//! server's own tools) → nothing of planrun's; `compare` (restored copies against their
//! sources, saved merges) → `mysql`; `cli` → everything; and every layer → `contract` (the
//! facts of the product contract several layers read), which imports nothing.

pub mod api;
pub mod cli;
pub mod compare;
pub mod contract;
pub mod diff;
pub mod engine;
pub mod mysql;
pub mod plan;
pub mod record;
pub mod sandbox;
