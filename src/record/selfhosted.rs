//! Self-hosted instances in the record: per instance its server, the dump and binary-log span
//! it restored from and the checksums it verified (as its journaled outcome says), its phase
//! and its outcome. Their restores are
//! no API calls: the calls part and the API line only speak of cloud instances.

use std::fmt::Write as _;

use super::text::{self, markdown as md};
use super::{Incident, InstanceRecord};
use crate::engine::journal::Record;
use crate::engine::local;
use crate::plan::ResolvedPlan;

/// What the record shows of one self-hosted restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfHosted {
    pub id: String,
    /// `HOST:PORT`.
    pub server: String,
    /// The dump it restores from, as "path (completed ...)", or why there is none.
    pub dump: Result<String, String>,
    /// The binary log it replays: "from FILE:POS to TIME".
    pub binlog: Option<String>,
    /// What production received, verified (each table with its checksum), once restored.
    pub verified: Option<String>,
}

impl SelfHosted {
    /// What the record shows of each self-hosted instance of `plan`: its server, and the
    /// dump and binary-log span its restore used, as its journaled outcome says.
    pub fn of_plan(plan: &ResolvedPlan, records: &[Record]) -> Vec<Self> {
        plan.instances
            .iter()
            .filter_map(|i| {
                let at = i.selfhosted.as_ref()?;
                let said = records.iter().rev().find_map(|r| match r {
                    Record::Finished {
                        instance, message, ..
                    } if *instance == i.id => message.clone(),
                    _ => None,
                });
                let summary = said
                    .as_deref()
                    .and_then(crate::mysql::restore::Summary::parse);
                Some(Self {
                    id: i.id.clone(),
                    server: at.server.clone(),
                    dump: summary.as_ref().map(|s| s.dump.clone()).ok_or_else(|| {
                        "chosen when the restore reads the server's binary log".to_owned()
                    }),
                    binlog: summary.as_ref().map(|s| s.binlog.clone()),
                    verified: summary.map(|s| s.landed),
                })
            })
            .collect()
    }
}

impl Incident {
    /// Adds what the record shows of the self-hosted instances, and leaves their pseudo-calls
    /// out of the calls (there was no API call).
    pub fn with_selfhosted(mut self, restores: Vec<SelfHosted>) -> Self {
        self.batches
            .retain(|b| !local::is_local(b.region.as_deref()));
        self.selfhosted = restores;
        self
    }

    /// Every instance is self-hosted: no API was used.
    pub fn only_selfhosted(&self) -> bool {
        !self.selfhosted.is_empty() && self.selfhosted.len() >= self.instances.len()
    }
}

/// Where the restore is or how it ended, in words.
fn phase(i: Option<&InstanceRecord>) -> String {
    let Some(i) = i else {
        return String::new();
    };
    if i.status.is_final() {
        return text::status_label(i.status);
    }
    // The restore's own words, as journaled (older journals have none).
    let Some(phase) = &i.detail else {
        return text::status_label(i.status);
    };
    format!("{} ({phase})", text::status_label(i.status))
}

fn outcome(s: &SelfHosted, i: Option<&InstanceRecord>) -> String {
    match i {
        Some(i) if i.status == crate::engine::state::Status::Succeeded => match &s.verified {
            Some(v) => format!("restored under the new names; {v}"),
            None => "restored under the new names".to_owned(),
        },
        Some(i) => i
            .problem
            .as_ref()
            .map(|p| p.message.clone())
            .unwrap_or_default(),
        None => String::new(),
    }
}

fn of<'a>(incident: &'a Incident, id: &str) -> Option<&'a InstanceRecord> {
    incident.instances.iter().find(|i| i.id == id)
}

pub(super) fn markdown(out: &mut String, incident: &Incident) {
    if incident.selfhosted.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n#### Self-hosted restores ({})\n\n| instance | server | dump | binary log | phase | outcome |\n|---|---|---|---|---|---|",
        text::count(incident.selfhosted.len())
    );
    for s in &incident.selfhosted {
        let i = of(incident, &s.id);
        let dump = match &s.dump {
            Ok(d) => md(d),
            Err(e) => format!("none: {}", md(e)),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {dump} | {} | {} | {} |",
            md(&s.id),
            md(&s.server),
            md(s.binlog.as_deref().unwrap_or("")),
            md(&phase(i)),
            md(&outcome(s, i)),
        );
    }
}

pub(super) fn html(out: &mut String, incident: &Incident) {
    if incident.selfhosted.is_empty() {
        return;
    }
    let esc = text::html;
    let _ = write!(
        out,
        "<section id=\"selfhosted\"><h2>Self-hosted restores ({})</h2><p class=\"note\">Restored \
         on a scratch server from the dump the binary log shows to precede the time, then the log \
         up to it; production received only the verified result; no API call.</p>\
         <table><thead><tr><th>instance</th><th>server</th><th>dump</th><th>binary log</th>\
         <th>phase</th><th>outcome</th></tr></thead><tbody>",
        text::count(incident.selfhosted.len())
    );
    for s in &incident.selfhosted {
        let i = of(incident, &s.id);
        let dump = match &s.dump {
            Ok(d) => esc(d).into_owned(),
            Err(e) => format!("none: {}", esc(e)),
        };
        let class = i.map_or_else(String::new, |i| text::status_class(i.status));
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{dump}</td><td>{}</td><td class=\"{class}\">{}</td><td class=\"msg\">{}</td></tr>",
            esc(&s.id),
            esc(&s.server),
            esc(s.binlog.as_deref().unwrap_or("")),
            esc(&phase(i)),
            esc(&outcome(s, i)),
        );
    }
    out.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    /// A mixed plan: the cloud's call stays, the self-hosted pseudo-call goes; the API line
    /// stays; the self-hosted part lists its instance.
    #[test]
    fn a_mixed_record_keeps_the_clouds_calls_and_adds_the_selfhosted_part() {
        let records = fixture::journal(2, 1, false);
        let mut incident = Incident::build(&records, None, None);
        assert_eq!(incident.batches.len(), 2);
        incident.batches[1].region = Some(local::region_of(&fixture::id(1)));
        let incident = incident.with_selfhosted(vec![SelfHosted {
            id: fixture::id(1),
            server: "db1.internal:3306".into(),
            dump: Ok("/backups/full.sql (completed 2026-11-20 01:00:00)".into()),
            binlog: Some("from bin.000042:1368 to 2026-11-20 03:15:00".into()),
            verified: None,
        }]);
        assert_eq!(incident.batches.len(), 1);
        assert!(!incident.only_selfhosted());
        let md = super::super::markdown(&incident);
        assert!(
            md.contains("| API | API 3.0 (StartBatchRollback) |"),
            "{md}"
        );
        assert!(md.contains("| calls | 1 × StartBatchRollback |"), "{md}");
        assert!(md.contains("#### Self-hosted restores (1)"), "{md}");
        assert!(
            md.contains("| db1.internal:3306 | /backups/full.sql (completed 2026-11-20 01:00:00) | from bin.000042:1368 to 2026-11-20 03:15:00 |"),
            "{md}"
        );
        let page = super::super::html(&incident);
        assert!(page.contains(r#"<section id="selfhosted">"#));
        assert!(page.contains(r#"<section id="calls"><h2>Calls as sent (1 × "#));
        assert!(!page.contains("selfhosted:"), "no pseudo-region shown");
    }
}
