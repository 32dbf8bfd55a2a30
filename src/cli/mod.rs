//! Argument parsing, wiring, printing and exit codes: the only module that prints.
//!
//! (Branch `api`: a minimal dispatch so `planrun jobs` can be tried; the lead's `mod.rs`
//! replaces it with `Command::Jobs(args) => jobs::run(args)`.)

pub mod api_args;
pub mod jobs;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "planrun", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List an instance's rollback tasks (GetCdbRollbackJob).
    Jobs(jobs::JobsArgs),
}

/// Runs the program with the given arguments; returns the process exit code.
pub fn run(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Jobs(args) => jobs::run(args),
    }
}
