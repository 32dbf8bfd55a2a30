//! The words a finished restore leaves in the journal (shown by `apply`, `status` and the
//! record), and their parts read back: one place writes and reads them.

use super::Request;
use super::restore::Restored;

/// The parts of a finished restore's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub dump: String,
    pub binlog: String,
    /// What production received, verified: each table and its checksum.
    pub landed: String,
}

impl Summary {
    const FROM: &'static str = "restored from ";
    const LOG: &'static str = " and the binary log ";
    const LANDED: &'static str = "; on production, ";

    /// The outcome of `restored`, in words: what it used, and what production received
    /// (each table with its verified checksum, and the foreign keys the copies lack).
    pub fn say(req: &Request, restored: &Restored) -> String {
        let landed: Vec<String> = restored
            .landed
            .tables
            .iter()
            .map(|l| {
                format!(
                    "{}.{} (CHECKSUM {})",
                    l.db,
                    l.target,
                    l.checksum.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let mut out = match &restored.span {
            Some(s) => format!(
                "{}{}{}{} to {} ({} row groups replayed on the scratch server)",
                Self::FROM,
                s.dump.path.display(),
                Self::LOG,
                s.dump.coordinates(),
                req.time,
                restored.judged.row_groups
            ),
            None => "restored by the run that was interrupted after its rename".to_owned(),
        };
        out.push_str(&format!(
            "{}checksums equal to the scratch server's: {}",
            Self::LANDED,
            landed.join(", ")
        ));
        if !restored.landed.dropped_keys.is_empty() {
            out.push_str(&format!(
                "; copied without their foreign keys: {}",
                restored.landed.dropped_keys.join(", ")
            ));
        }
        out
    }

    pub fn parse(message: &str) -> Option<Self> {
        let rest = message.strip_prefix(Self::FROM)?;
        let (dump, rest) = rest.split_once(Self::LOG)?;
        let binlog = rest.split(" (").next()?;
        let landed = rest.split_once(Self::LANDED).map_or("", |(_, l)| l);
        Some(Self {
            dump: dump.to_owned(),
            binlog: format!("from {binlog}"),
            landed: landed.to_owned(),
        })
    }
}
