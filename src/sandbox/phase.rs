//! Where a rollback task is at one moment, and how each API writes it: API 2.0's `status`
//! number (0 waiting … 6 pausing) and API 3.0's `Status` string (INITIAL … PAUSED).

/// Where a task is at one moment; numbers are API 2.0's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Running {
        progress: u8,
    },
    Succeeded,
    Failed {
        progress: u8,
    },
    /// StopRollback asked; the task winds down until the stop takes effect (PAUSED).
    Stopping {
        progress: u8,
    },
    /// Stopped by StopRollback.
    Killed {
        progress: u8,
    },
    /// Removed by the back end (status 5; configured per instance).
    Removed {
        progress: u8,
    },
}

impl Phase {
    pub fn status(self) -> i64 {
        match self {
            Self::Waiting => 0,
            Self::Running { .. } => 1,
            Self::Succeeded => 2,
            Self::Failed { .. } => 3,
            Self::Killed { .. } => 4,
            Self::Removed { .. } => 5,
            Self::Stopping { .. } => 6,
        }
    }

    pub fn progress(self) -> u8 {
        match self {
            Self::Waiting => 0,
            Self::Running { progress }
            | Self::Failed { progress }
            | Self::Killed { progress }
            | Self::Removed { progress }
            | Self::Stopping { progress } => progress,
            Self::Succeeded => 100,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed { .. } | Self::Killed { .. } | Self::Removed { .. }
        )
    }

    /// API 3.0's `Status` string.
    pub fn v3_status(self) -> &'static str {
        match self {
            Self::Waiting => "INITIAL",
            Self::Running { .. } => "RUNNING",
            Self::Succeeded => "SUCCESS",
            Self::Failed { .. } => "FAILED",
            Self::Killed { .. } => "KILLED",
            Self::Removed { .. } => "REMOVED",
            Self::Stopping { .. } => "PAUSED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_apis_name_every_phase_and_only_ends_are_terminal() {
        let all = [
            (Phase::Waiting, 0, "INITIAL", false),
            (Phase::Running { progress: 5 }, 1, "RUNNING", false),
            (Phase::Succeeded, 2, "SUCCESS", true),
            (Phase::Failed { progress: 5 }, 3, "FAILED", true),
            (Phase::Killed { progress: 5 }, 4, "KILLED", true),
            (Phase::Stopping { progress: 5 }, 6, "PAUSED", false),
        ];
        for (phase, status, name, terminal) in all {
            assert_eq!(
                (phase.status(), phase.v3_status(), phase.is_terminal()),
                (status, name, terminal),
                "{phase:?}"
            );
        }
        assert_eq!(Phase::Succeeded.progress(), 100);
        assert_eq!(Phase::Waiting.progress(), 0);
    }
}
