//! A command's failure as a value: what it says, and its exit code ([`super::exit::of_error`],
//! the one table). [`super::run`] prints it, once, when the command has returned.

use crate::engine::apply;
use crate::engine::ops::{
    cancel, compare::targets, located, merge, merge_file, new, report, saved, selfhosted,
};
use crate::plan::Checked;
use crate::render::{diagnostics, escaped};

use super::term;

/// Why a command did not do what it was asked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The command line, the environment or a file is not what the command needs.
    #[error("{0}")]
    Usage(String),
    /// What was asked cannot be done as asked (`new`: nothing matches, an invalid result).
    #[error("{0}")]
    Failed(String),
    /// Nothing, or not everything, is recorded yet: said as a fact, not as an error.
    #[error("{0}")]
    Unfinished(String),
    /// The person did not type `yes` (said on stdout, under the question).
    #[error("{0}")]
    Declined(&'static str),
    /// A plan with errors: its diagnostics (`json`: validate's document, on stdout).
    /// `readable`: the file was read (else it could not be).
    #[error("the plan is invalid")]
    Plan {
        checked: Box<Checked>,
        json: bool,
        readable: bool,
    },
    /// The API, its credentials or its client refused (rendered as miette renders it).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Api(#[from] crate::api::Error),
    /// Another diagnostic, rendered as miette renders it.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Diagnostic(Box<miette::MietteDiagnostic>),
    /// Cloud instances without a region (`apply`): the API refuses calls without one.
    #[error("no region for {0}: the API refuses calls without one")]
    NoRegion(String),
    /// The preflight found problems with the plan (its diagnostics, on the plan's nodes).
    #[error("preflight found {n} problem(s) with the plan; nothing was submitted.")]
    Preflight { report: Box<Checked>, n: usize },
    /// The preflight could not ask the API.
    #[error("preflight could not check the rollback windows and objects; nothing was submitted.")]
    PreflightUnasked(#[source] crate::api::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen for Ctrl-C and SIGTERM: {0}; nothing was submitted")]
    Signals(std::io::Error),
    #[error(transparent)]
    Apply(#[from] apply::Error),
    #[error(transparent)]
    Located(#[from] located::Error),
    #[error(transparent)]
    Saved(#[from] saved::Error),
    #[error(transparent)]
    SelfHosted(#[from] selfhosted::Error),
    #[error(transparent)]
    Cancel(#[from] cancel::Error),
    #[error(transparent)]
    Targets(#[from] targets::Error),
    #[error(transparent)]
    Merge(#[from] merge::Error),
    #[error(transparent)]
    MergeFile(#[from] merge_file::Error),
    #[error(transparent)]
    New(#[from] new::Error),
    #[error(transparent)]
    Report(#[from] report::Error),
}

impl Error {
    /// Says it: on stderr, but for a refusal at the prompt and a plan's JSON diagnostics.
    pub fn print(&self) {
        match self {
            Self::Plan {
                checked,
                json: true,
                ..
            } => outln!(
                "{}",
                diagnostics::json(std::slice::from_ref(checked.as_ref()), false)
            ),
            Self::Plan { checked, .. } => err!("{}", human(checked)),
            Self::Preflight { report, .. } => {
                err!("{}", human(report));
                errln!("{self}");
            }
            Self::Declined(said) => outln!("{said}"),
            Self::Api(e) => diagnostic(e),
            Self::Diagnostic(e) => diagnostic(e.as_ref()),
            Self::NoRegion(_) => errln!(
                "{:?}",
                miette::miette!(
                    code = "planrun::missing_region",
                    help = "set `region:` in the plan (or on the entry), or pass --region / set TENCENTCLOUD_REGION",
                    "{self}"
                )
            ),
            Self::PreflightUnasked(e) => {
                diagnostic(e);
                errln!("{self}");
            }
            Self::Targets(targets::Error::Describe(e))
            | Self::New(new::Error::List { source: e, .. }) => {
                diagnostic(e);
                errln!("error: {self}");
            }
            // Its notes said which instances have no address.
            Self::Merge(merge::Error::Unaddressed) => {}
            _ if self.is_fact() => errln!("{self}"),
            _ => errln!("error: {self}"),
        }
    }

    /// Said plainly, without `error:`: what is (not yet) recorded, a preflight's verdict.
    fn is_fact(&self) -> bool {
        matches!(
            self,
            Self::Unfinished(_)
                | Self::Cancel(cancel::Error::NothingRecorded { .. })
                | Self::Targets(
                    targets::Error::NothingRecorded { .. } | targets::Error::Unfinished { .. }
                )
                | Self::Report(
                    report::Error::OnlySandbox { .. } | report::Error::NothingRecorded(_)
                )
                | Self::SelfHosted(selfhosted::Error::Preflight { .. })
        )
    }
}

/// A plan's diagnostics as stderr shows them.
pub fn human(checked: &Checked) -> String {
    diagnostics::human(
        std::slice::from_ref(checked),
        term::stderr_colour(),
        term::width(),
    )
}

/// A library's diagnostic on stderr, rendered by miette, with any foreign text escaped.
pub fn diagnostic(e: &dyn miette::Diagnostic) {
    err!(
        "{}",
        escaped::render(e, term::stderr_colour(), term::width())
    );
}
