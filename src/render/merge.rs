//! A saved merge as people read it: what it is, each row with its guard (`show FILE`), the
//! exact statements `apply FILE` runs (`--format sql`), its rows as JSON, and how an apply
//! came out (what was written, and each conflict with both versions). The rows are handed
//! to `line` one at a time: a saved merge may hold millions.

use std::fmt::Write as _;
use std::path::Path;

use super::compare::row;
use crate::compare::journal::Conflict;
use crate::compare::merge::Applied;
use crate::compare::saved::{Action, Header, Invalid, Op, Reader};
use crate::engine::ops::merge::Saved;
use crate::plan::text::visible;

fn table_line(h: &Header, t: usize, counts: Option<(u64, u64)>) -> String {
    let m = &h.tables[t];
    let key: Vec<&str> = m.key.iter().map(|&i| m.columns[i].as_str()).collect();
    let mut line = format!(
        "{} {}:{}  {}.{} (from {}.{}, key {})",
        visible(&m.instance),
        visible(&m.host),
        m.port,
        visible(&m.db),
        visible(&m.source),
        visible(&m.restored_db),
        visible(&m.restored),
        visible(&key.join(","))
    );
    if let Some((i, r)) = counts {
        let _ = write!(line, ": {i} to re-insert, {r} to write back");
    }
    line
}

/// What a saved merge is, and how it is written: what `show` and `apply` say first.
pub fn describe(h: &Header, digest: &str, path: &Path) -> String {
    let mut out = format!(
        "Saved merge {} (sha256 {}) of plan {}, made {} UTC by planrun {}: restore {}",
        visible(&path.display().to_string()),
        &digest[..12],
        visible(&h.plan),
        h.made_at.format(crate::contract::TIME_FORMAT),
        visible(&h.planrun),
        h.restore.join(", ")
    );
    if let Some(t) = &h.table_filter {
        let _ = write!(out, ", tables {}", visible(t));
    }
    if let Some(f) = &h.filter {
        let _ = write!(out, ", where {}", visible(f));
    }
    let _ = write!(
        out,
        ".\nRows are written in transactions of {}; each only if its guard holds, else it is a conflict and is not written.",
        h.chunk_rows
    );
    out
}

/// One row for people: what it writes and on which condition.
fn action_text(h: &Header, a: &Action) -> String {
    let m = &h.tables[a.t];
    let key = row(&m.text(&a.row, Some(&m.key)));
    match (&a.op, &a.seen) {
        (Op::Revert, Some(seen)) => {
            let changes: Vec<String> = (0..m.columns.len())
                .filter(|&i| a.row[i] != seen[i])
                .map(|i| {
                    format!(
                        "{} {} -> {}",
                        visible(&m.columns[i]),
                        visible(&seen[i].text()),
                        visible(&a.row[i].text())
                    )
                })
                .collect();
            format!(
                "revert  {key}: {}   if the row is still {}",
                changes.join(", "),
                row(&m.text(seen, None))
            )
        }
        _ => format!(
            "insert  {}   if no row has {key}",
            row(&m.text(&a.row, None))
        ),
    }
}

/// What `merge` says of the merge it saved to `out`, and what to do with it.
pub fn saved(out: &Path, saved: &Saved) -> String {
    let out = visible(&out.display().to_string()).into_owned();
    format!(
        "Saved merge {out} (sha256 {}): {} rows to re-insert, {} to write back, in {} tables.\nReview it with `planrun show {out}`, apply it with `planrun apply {out}`.",
        &saved.digest[..12],
        saved.inserts,
        saved.reverts,
        saved.tables,
    )
}

/// `show FILE`: what it is, then each table's rows with their guards, then the counts.
pub fn human(
    path: &Path,
    digest: &str,
    reader: &mut Reader,
    line: &mut dyn FnMut(String),
) -> Result<(), Invalid> {
    let h = reader.header.clone();
    line(describe(&h, digest, path));
    let mut current = None;
    while let Some(a) = reader.next_action()? {
        if current != Some(a.t) {
            current = Some(a.t);
            line(format!("\n{}", table_line(&h, a.t, None)));
        }
        line(format!("  {}", action_text(&h, &a)));
    }
    if let Some(s) = &reader.summary {
        line(String::new());
        for (t, counts) in s.tables.iter().enumerate() {
            line(table_line(&h, t, Some(*counts)));
        }
    }
    Ok(())
}

/// `show FILE --format json`: the header, the summary and every row.
pub fn json(digest: &str, reader: &mut Reader) -> Result<serde_json::Value, Invalid> {
    let h = reader.header.clone();
    let mut rows = Vec::new();
    while let Some(a) = reader.next_action()? {
        let m = &h.tables[a.t];
        rows.push(serde_json::json!({
            "table": a.t,
            "op": a.op,
            "row": m.text(&a.row, None),
            "seen": a.seen.as_deref().map(|s| m.text(s, None)),
        }));
    }
    Ok(serde_json::json!({
        "saved": {"sha256": digest, "header": h, "summary": reader.summary},
        "rows": rows,
    }))
}

/// The statements apply runs, chunk by chunk, with their parameters written as literals.
pub fn sql(digest: &str, reader: &mut Reader, line: &mut dyn FnMut(String)) -> Result<(), Invalid> {
    let h = reader.header.clone();
    line(format!(
        "-- planrun saved merge {digest}\n-- Each chunk is one transaction. Its progress row is taken first (the proof that it\n-- committed); each row is then locked by its key, and written only if its guard holds on\n-- what was locked (shown after the SELECT); otherwise it is a conflict, not written."
    ));
    let mut chunk = 0u64;
    let mut in_chunk = 0usize;
    let mut current = None;
    let end = |chunk: u64| {
        format!(
            "UPDATE `_planrun_merge`.`progress` SET `written` = <rows written>, `conflicts` = <conflicts> WHERE `merge` = '{digest}' AND `chunk` = {chunk};\nCOMMIT;"
        )
    };
    while let Some(a) = reader.next_action()? {
        if current != Some(a.t) || in_chunk == h.chunk_rows.max(1) {
            if chunk > 0 {
                line(end(chunk));
            }
            chunk += 1;
            in_chunk = 0;
            current = Some(a.t);
            line(format!(
                "\n-- chunk {chunk}: {}\nSTART TRANSACTION;\nINSERT INTO `_planrun_merge`.`progress` (`merge`, `chunk`, `at`, `written`, `conflicts`) VALUES ('{digest}', {chunk}, UTC_TIMESTAMP(6), 0, '[]');",
                table_line(&h, a.t, None)
            ));
        }
        in_chunk += 1;
        let m = &h.tables[a.t];
        let st = m.statements();
        let (key, write) = m.params(&a);
        line(format!("{};", inline(&st.lock, &key)));
        match a.op {
            Op::Insert => {
                line("-- guard: no row".to_owned());
                line(format!("{};", inline(&st.insert, &write)));
            }
            Op::Revert => {
                let seen = a.seen.as_deref().unwrap_or_default();
                line(format!(
                    "-- guard: exactly ({})",
                    seen.iter()
                        .map(crate::compare::Cell::sql)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                line(format!("{};", inline(&st.update, &write)));
            }
        }
    }
    if chunk > 0 {
        line(end(chunk));
    }
    Ok(())
}

/// A statement with its `?` replaced by the parameters as SQL literals.
fn inline(statement: &str, params: &[mysql_async::Value]) -> String {
    let mut out = String::with_capacity(statement.len() + params.len() * 8);
    let mut values = params.iter();
    let mut quoted = false;
    for c in statement.chars() {
        match c {
            '`' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => match values.next() {
                Some(v) => out.push_str(&crate::compare::Cell(v.clone()).sql()),
                None => out.push(c),
            },
            c => out.push(c),
        }
    }
    out
}

fn conflict_text(h: &Header, c: &Conflict) -> String {
    let m = &h.tables[c.table];
    let mut out = format!(
        "  {}.{} {}: {} not written: {}\n    would write: {}",
        visible(&m.db),
        visible(&m.source),
        row(&c.key),
        match c.op {
            Op::Insert => "insert",
            Op::Revert => "revert",
        },
        visible(&c.why),
        row(&c.saved)
    );
    if let Some(seen) = &c.seen {
        let _ = write!(out, "\n    compare saw: {}", row(seen));
    }
    let _ = write!(
        out,
        "\n    now:         {}",
        c.now.as_ref().map_or_else(|| "no row".to_owned(), row)
    );
    out
}

/// How `apply FILE` came out (`shown`: the file as named): rows written, and each conflict.
pub fn applied(h: &Header, shown: &str, applied: &Applied) -> String {
    let conflicts: Vec<&Conflict> = applied.conflicts().collect();
    let mut out = if applied.already_done {
        format!(
            "Saved merge {shown} was already applied: {} rows written, {} conflicts. Nothing was written now.",
            applied.written(),
            conflicts.len()
        )
    } else {
        format!(
            "Applied {shown}: {} rows written in {} chunks, {} conflicts.",
            applied.written(),
            applied.chunks.len(),
            conflicts.len()
        )
    };
    if !conflicts.is_empty() {
        out.push_str("\n\nConflicts (the row's guard no longer held; it was left as it is):");
        for c in &conflicts {
            let _ = write!(out, "\n{}", conflict_text(h, c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::inline;
    use mysql_async::Value;

    #[test]
    fn parameters_are_written_in_as_literals_but_not_inside_quoted_names() {
        let sql = "UPDATE `a?b` SET `n` = ? WHERE `id` = CAST(? AS DECIMAL(10,2))";
        let params = [
            Value::Bytes(b"it's".to_vec()),
            Value::Bytes(b"2.50".to_vec()),
        ];
        assert_eq!(
            inline(sql, &params),
            "UPDATE `a?b` SET `n` = 'it''s' WHERE `id` = CAST('2.50' AS DECIMAL(10,2))"
        );
    }
}
