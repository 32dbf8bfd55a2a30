//! The self-hosted restores as `plan` shows them (what each server says, human or JSON)
//! and the lines of the preflight `apply` runs on them.

use crate::engine::ops::selfhosted::Survey;
use crate::mysql;
use crate::plan::text::visible;

fn scratch_of(req: &mysql::Request) -> String {
    match &req.restore_server {
        Some((h, p)) => format!("restore_server {h}:{p}"),
        None => "a throwaway server planrun starts".to_owned(),
    }
}

/// Each self-hosted restore, for `plan`'s human output.
pub fn human(survey: &Survey) -> String {
    if survey.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nSelf-hosted restores (on a scratch server; production receives only the verified result):\n",
    );
    for (req, span) in survey {
        let lines = match span {
            None => vec![format!(
                "  {}: {}, restored on {}; the server's logging, the dump and the binary-log span are read from it with --defaults-file or --preflight",
                req.id,
                req.server(),
                scratch_of(req)
            )],
            Some(Ok(s)) => {
                let mut lines = vec![
                    format!("  {}: {} ({})", req.id, req.server(), s.facts),
                    format!(
                        "    dump {} (binary log {}; {}), replayed up to {} on {}",
                        s.dump.path.display(),
                        s.dump.coordinates(),
                        s.gtid_check,
                        req.time,
                        scratch_of(req),
                    ),
                ];
                lines.extend(
                    s.skipped
                        .iter()
                        .map(|(p, why)| format!("    passed over {p}: {why}")),
                );
                lines
            }
            Some(Err(e)) => vec![format!(
                "  {}: {e} (apply will refuse this instance)",
                req.id
            )],
        };
        for line in lines {
            out.push_str(&visible(&line));
            out.push('\n');
        }
    }
    out
}

/// The same as JSON: per instance its server's logging, dump and coordinates, or the problem.
pub fn json(survey: &Survey) -> serde_json::Value {
    survey
        .iter()
        .map(|(req, span)| match span {
            None => serde_json::json!({
                "id": req.id,
                "server": req.server(),
                "scratch": scratch_of(req),
            }),
            Some(Ok(s)) => serde_json::json!({
                "id": req.id,
                "server": req.server(),
                "version": s.facts.version,
                "binlog_format": s.facts.binlog_format,
                "binlog_row_image": s.facts.binlog_row_image,
                "gtid": s.facts.gtid,
                "dump": s.dump.path.display().to_string(),
                "binlog_file": s.dump.log_file,
                "binlog_position": s.dump.log_pos,
                "dump_gtid": s.dump.gtid,
                "dump_gtid_check": s.gtid_check,
                "stop_time": req.time.to_string(),
                "scratch": scratch_of(req),
                "passed_over": s.skipped.iter().map(|(p, why)| serde_json::json!({"dump": p, "why": why})).collect::<Vec<_>>(),
            }),
            Some(Err(e)) => serde_json::json!({"id": req.id, "error": e.to_string()}),
        })
        .collect()
}

/// What a preflight found, a line per instance: what its restore would use, or why not.
pub fn preflight(found: &Survey) -> Vec<String> {
    found
        .iter()
        .filter_map(|(req, span)| match span.as_ref()? {
            Ok(s) => Some(format!(
                "preflight: {}: {}; dump {} at {}, binary log to the end of {}",
                visible(&req.id),
                visible(&s.facts.to_string()),
                visible(&s.dump.path.display().to_string()),
                visible(&s.dump.coordinates()),
                visible(s.logs.last().map_or("", String::as_str)),
            )),
            Err(e) => Some(format!(
                "preflight: {}: {}",
                visible(&req.id),
                visible(&e.to_string())
            )),
        })
        .collect()
}
