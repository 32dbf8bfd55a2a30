//! Text for people, computed here and printed by the CLI: plan diagnostics (miette, JSON,
//! GitHub annotations), errors and messages from elsewhere with their control characters
//! escaped, the summary table of a run, the lines the engine's events become, and the tables
//! of `compare`, a saved merge and the self-hosted survey. Like [`crate::diff`]'s render:
//! nothing here prints, reads the terminal or the environment; colour and width are given.

pub mod apply;
pub mod compare;
pub mod diagnostics;
pub mod escaped;
pub mod events;
pub mod foreign;
pub mod jobs;
pub mod merge;
pub mod sandbox;
pub mod saved;
pub mod selfhosted;
pub mod shell;
pub mod summary;
