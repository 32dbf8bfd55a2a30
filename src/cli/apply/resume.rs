//! How an apply tells the way back: the command that resumes it, written so a shell reads it
//! back, the stop signals that wind a run down, and a message that must reach somebody.

use std::io::Write;

use tokio::sync::watch;

use super::ApplyArgs;
use crate::cli::{exit, signals};
use crate::render::shell::quote;

/// Writes `text` on stdout (on stderr when `errors_first`), or on the other one when the
/// first is gone (`| head`, a dead `tee`): the resume command must reach somebody.
pub(super) fn say_anywhere(text: &str, errors_first: bool) {
    fn say(mut to: impl Write, text: &str) -> bool {
        writeln!(to, "{text}").and_then(|()| to.flush()).is_ok()
    }
    let out = || say(std::io::stdout().lock(), text);
    let err = || say(std::io::stderr().lock(), text);
    // When neither stream takes it, nothing is left to tell; the exit code still says 3.
    let order: [&dyn Fn() -> bool; 2] = if errors_first {
        [&err, &out]
    } else {
        [&out, &err]
    };
    let _ = order.iter().any(|say| say());
}

/// The command that resumes this apply: the same plan, state directory and connection flags,
/// with `--yes` and without `--restart` (a resume must not start over) or `--timeout` (a new
/// run gets a new budget). Without `--state-dir` a resume would not find the journal.
pub(super) fn resume_command(args: &ApplyArgs) -> String {
    let mut words = vec![
        "planrun".to_owned(),
        "apply".to_owned(),
        quote(&args.plan.display().to_string()),
        "--yes".to_owned(),
    ];
    let mut flag = |name: &str, value: String| {
        words.push(name.to_owned());
        words.push(quote(&value));
    };
    reaching(&args.session, &args.api, &mut flag);
    if let Some(p) = args.session.poll_interval {
        flag("--poll-interval", format!("{}ms", p.as_millis()));
    }
    if let Some(p) = args.session.settle {
        flag("--settle", format!("{}ms", p.as_millis()));
    }
    let method: crate::api::v2::sign::SignatureMethod = args.api.signature_method.into();
    if method != crate::api::v2::sign::SignatureMethod::HmacSha256 {
        flag("--signature-method", method.as_str().to_owned());
    }
    if let Some(rate) = args.api.rate {
        flag("--rate", rate.to_string());
    }
    if args.api.concurrency != 4 {
        flag("--concurrency", args.api.concurrency.to_string());
    }
    if let Some(b) = args.batch_size {
        flag("--batch-size", b.to_string());
    }
    if let Some(r) = &args.report {
        flag("--report", r.display().to_string());
    }
    if let Some(f) = args.report_format {
        use clap::ValueEnum as _;
        if let Some(v) = f.to_possible_value() {
            flag("--report-format", v.get_name().to_owned());
        }
    }
    if args.no_preflight {
        words.push("--no-preflight".to_owned());
    }
    if args.sandbox {
        words.push("--sandbox".to_owned());
    }
    words.join(" ")
}

/// The flags of a resume command that find the plan's journal and reach what its apply
/// reached, handed to `flag` (name, value): `apply`'s own resume command and the one `status`
/// gives for an interrupted apply say them alike.
pub(crate) fn reaching(
    session: &crate::cli::session::SessionArgs,
    api: &crate::cli::api_args::ApiArgs,
    flag: &mut impl FnMut(&str, String),
) {
    if let Some(dir) = &session.state_dir {
        flag("--state-dir", dir.display().to_string());
    }
    // Self-hosted servers' credentials: without it the resume would read ~/.my.cnf instead.
    if let Some(f) = &session.defaults_file {
        flag("--defaults-file", f.display().to_string());
    }
    // Flags that may have come from the environment are repeated only when they differ from
    // it: the environment of the resume is the same shell.
    let from_env = |var: &str, value: &str| std::env::var(var).ok().as_deref() == Some(value);
    if let Some(e) = &api.endpoint
        && !from_env("PLANRUN_ENDPOINT", e)
    {
        flag("--endpoint", e.clone());
    }
    if let Some(r) = &api.region
        && !from_env("TENCENTCLOUD_REGION", r)
    {
        flag("--region", r.clone());
    }
    if api.api != crate::cli::api_args::Generation::V3 {
        flag("--api", "v2".to_owned());
    }
    if let Some(profile) = &api.profile {
        flag("--profile", profile.clone());
    }
}

/// First stop signal (Ctrl-C, SIGTERM, SIGHUP): stop submitting and wind down. Second: leave
/// at once (the journal is consistent after every write, so nothing is lost).
pub(super) async fn interrupt_watch(
    mut stops: signals::Stops,
    cancel: watch::Sender<bool>,
    resume: String,
) {
    let first = stops.next().await;
    // The engine hears it before anything is printed: printing can fail (a closed pipe) and
    // must never be what keeps the engine submitting.
    let _ = cancel.send(true);
    errln!(
        "\n{first}: no new submissions; finishing the ones in flight (Ctrl-C again to quit at once)…"
    );
    let second = stops.next().await;
    say_anywhere(
        &format!("\n{second} again. Quit. Resume with:\n  {resume}"),
        true,
    );
    std::process::exit(exit::UNFINISHED);
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        apply: ApplyArgs,
    }

    fn parse(args: &[&str]) -> ApplyArgs {
        Cli::try_parse_from(std::iter::once("apply").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .apply
    }

    #[test]
    fn the_resume_command_keeps_the_state_dir_and_drops_restart_and_timeout() {
        let cmd = resume_command(&parse(&[
            "plans/p.yaml",
            "--restart",
            "--timeout",
            "30s",
            "--state-dir",
            "/var/lib/planrun state",
            "--poll-interval",
            "2s",
            "--report",
            "out.json",
        ]));
        assert_eq!(
            cmd,
            "planrun apply plans/p.yaml --yes --state-dir '/var/lib/planrun state' \
             --poll-interval 2000ms --report out.json"
        );
    }

    #[test]
    fn the_resume_command_keeps_the_reports_format() {
        assert_eq!(
            resume_command(&parse(&[
                "p.yaml",
                "--report",
                "incident.txt",
                "--report-format",
                "markdown"
            ])),
            "planrun apply p.yaml --yes --report incident.txt --report-format markdown"
        );
    }

    #[test]
    fn the_resume_command_keeps_the_self_hosted_credentials_file() {
        assert_eq!(
            resume_command(&parse(&[
                "p.yaml",
                "--defaults-file",
                "/etc/planrun/db.cnf"
            ])),
            "planrun apply p.yaml --yes --defaults-file /etc/planrun/db.cnf"
        );
    }

    #[test]
    fn the_resume_command_of_a_plain_apply_is_short() {
        assert_eq!(
            resume_command(&parse(&["p.yaml", "-y"])),
            "planrun apply p.yaml --yes"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
