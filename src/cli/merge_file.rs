//! A saved merge on the command line: `planrun show FILE` renders it (human, JSON, or the
//! exact statements with `--format sql`), `planrun apply FILE` writes exactly its rows, once.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal};
use std::path::Path;

use super::compare::render_row as row;
use super::exit;
use crate::compare::journal::{self, Conflict, Journal};
use crate::compare::merge::{self, Applied, Step};
use crate::compare::saved::{self, Action, Header, Op, Reader};
use crate::plan::text::visible;

/// Whether `path` holds a saved merge (its first bytes say so).
pub fn is_saved_merge(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = std::io::Read::read(&mut file, &mut head).unwrap_or(0);
    saved::is_saved_merge(&head[..n])
}

/// How `show` renders a saved merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    Human,
    Json,
    Sql,
}

/// Checks the file whole and opens it; any doubt writes nothing (exit 2).
fn open(path: &Path, for_apply: bool) -> Result<(String, Reader), i32> {
    let shown = visible(&path.display().to_string()).into_owned();
    let digest = saved::verify(path).map_err(|e| {
        errln!("error: {shown}: {e}; nothing was written. Make it again with `planrun merge PLAN ... --out FILE`.");
        exit::USAGE
    })?;
    let reader = Reader::open(path).map_err(|e| {
        errln!("error: {shown}: {e}; nothing was written.");
        exit::USAGE
    })?;
    let ours = env!("CARGO_PKG_VERSION");
    if for_apply && reader.header.planrun != ours {
        errln!(
            "error: {shown} was made by planrun {}, this is planrun {ours}; nothing was written. Make it again with this version.",
            visible(&reader.header.planrun)
        );
        return Err(exit::USAGE);
    }
    Ok((digest, reader))
}

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

fn describe(h: &Header, digest: &str, path: &Path) -> String {
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

/// `planrun show FILE` for a saved merge.
pub fn show(path: &Path, rendering: Rendering) -> i32 {
    let (digest, mut reader) = match open(path, false) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let h = reader.header.clone();
    match rendering {
        Rendering::Human => {
            outln!("{}", describe(&h, &digest, path));
            let mut current = None;
            loop {
                match reader.next_action() {
                    Ok(Some(a)) => {
                        if current != Some(a.t) {
                            current = Some(a.t);
                            outln!("\n{}", table_line(&h, a.t, None));
                        }
                        outln!("  {}", action_text(&h, &a));
                    }
                    Ok(None) => break,
                    Err(e) => return unreadable(path, &e),
                }
            }
            if let Some(s) = &reader.summary {
                outln!();
                for (t, counts) in s.tables.iter().enumerate() {
                    outln!("{}", table_line(&h, t, Some(*counts)));
                }
            }
            exit::OK
        }
        Rendering::Json => {
            let mut rows = Vec::new();
            loop {
                match reader.next_action() {
                    Ok(Some(a)) => {
                        let m = &h.tables[a.t];
                        rows.push(serde_json::json!({
                            "table": a.t,
                            "op": a.op,
                            "row": m.text(&a.row, None),
                            "seen": a.seen.as_deref().map(|s| m.text(s, None)),
                        }));
                    }
                    Ok(None) => break,
                    Err(e) => return unreadable(path, &e),
                }
            }
            let doc = serde_json::json!({
                "saved": {"sha256": digest, "header": h, "summary": reader.summary},
                "rows": rows,
            });
            outln!("{doc}");
            exit::OK
        }
        Rendering::Sql => sql(&h, &digest, &mut reader, path),
    }
}

fn unreadable(path: &Path, e: &saved::Invalid) -> i32 {
    errln!("error: {}: {e}", visible(&path.display().to_string()));
    exit::USAGE
}

/// The statements apply runs, chunk by chunk, with their parameters written as literals.
fn sql(h: &Header, digest: &str, reader: &mut Reader, path: &Path) -> i32 {
    outln!(
        "-- planrun saved merge {digest}\n-- Each chunk is one transaction. Its progress row is taken first (the proof that it\n-- committed); each row is then locked by its key, and written only if its guard holds on\n-- what was locked (shown after the SELECT); otherwise it is a conflict, not written."
    );
    let mut chunk = 0u64;
    let mut in_chunk = 0usize;
    let mut current = None;
    let end = |chunk: u64| {
        outln!(
            "UPDATE `_planrun_merge`.`progress` SET `written` = <rows written>, `conflicts` = <conflicts> WHERE `merge` = '{digest}' AND `chunk` = {chunk};\nCOMMIT;"
        );
    };
    loop {
        let a = match reader.next_action() {
            Ok(Some(a)) => a,
            Ok(None) => break,
            Err(e) => return unreadable(path, &e),
        };
        if current != Some(a.t) || in_chunk == h.chunk_rows.max(1) {
            if chunk > 0 {
                end(chunk);
            }
            chunk += 1;
            in_chunk = 0;
            current = Some(a.t);
            outln!(
                "\n-- chunk {chunk}: {}\nSTART TRANSACTION;\nINSERT INTO `_planrun_merge`.`progress` (`merge`, `chunk`, `at`, `written`, `conflicts`) VALUES ('{digest}', {chunk}, UTC_TIMESTAMP(6), 0, '[]');",
                table_line(h, a.t, None)
            );
        }
        in_chunk += 1;
        let m = &h.tables[a.t];
        let st = m.statements();
        let (key, write) = m.params(&a);
        outln!("{};", inline(&st.lock, &key));
        match a.op {
            Op::Insert => {
                outln!("-- guard: no row");
                outln!("{};", inline(&st.insert, &write));
            }
            Op::Revert => {
                let seen = a.seen.as_deref().unwrap_or_default();
                outln!(
                    "-- guard: exactly ({})",
                    seen.iter()
                        .map(crate::compare::Cell::sql)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                outln!("{};", inline(&st.update, &write));
            }
        }
    }
    if chunk > 0 {
        end(chunk);
    }
    exit::OK
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

/// The flags of `apply` that mean nothing for a saved merge.
pub fn refuse_plan_flags(args: &super::apply::ApplyArgs) -> Result<(), i32> {
    let given: Vec<&str> = [
        (args.dry_run, "--dry-run (use `planrun show FILE`)"),
        (
            args.sandbox,
            "--sandbox (the saved merge names its servers)",
        ),
        (args.restart, "--restart"),
        (args.batch_size.is_some(), "--batch-size"),
        (args.timeout.is_some(), "--timeout"),
        (args.report.is_some(), "--report"),
        (args.no_preflight, "--no-preflight"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    errln!(
        "error: a saved merge is applied as it is: {} does not apply to it; nothing was written.",
        given.join(", ")
    );
    Err(exit::USAGE)
}

/// `planrun apply FILE` for a saved merge.
pub fn apply(path: &Path, yes: bool, defaults_file: Option<&Path>) -> i32 {
    let (digest, mut reader) = match open(path, true) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let h = reader.header.clone();
    let shown = visible(&path.display().to_string()).into_owned();
    let (journal_path, lock_path) = journal::paths(path);
    let _lock = match crate::engine::journal::Lock::try_acquire(&lock_path) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            errln!(
                "error: another `planrun apply {shown}` is running (lock {}); nothing was written.",
                visible(&lock_path.display().to_string())
            );
            return exit::USAGE;
        }
        Err(e) => {
            errln!(
                "error: cannot take the lock {}: {e}",
                visible(&lock_path.display().to_string())
            );
            return exit::USAGE;
        }
    };
    let (mut journal, entries) = match Journal::open(&journal_path) {
        Ok(x) => x,
        Err(e) => {
            errln!(
                "error: cannot open the journal {}: {e}",
                visible(&journal_path.display().to_string())
            );
            return exit::USAGE;
        }
    };
    let done = entries
        .iter()
        .any(|e| matches!(e, journal::Entry::Done { .. }));
    if !done {
        outln!("{}", describe(&h, &digest, path));
        if !yes && let Err(code) = confirm(&h) {
            return code;
        }
    }
    let creds = match super::selfhosted::credentials(defaults_file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut step = |s: Step| {
        let how = if s.recovered {
            " (committed by an earlier apply; read back from the server)"
        } else {
            ""
        };
        errln!(
            "merge: chunk {}: {} rows written, {} conflicts{how}",
            s.chunk,
            s.written,
            s.conflicts
        );
    };
    let result = runtime.block_on(merge::apply(
        &mut reader,
        &digest,
        &creds,
        &mut journal,
        entries,
        &mut step,
    ));
    match result {
        Ok(applied) => summary(&h, &shown, &applied),
        Err(e) => {
            errln!(
                "error: {}. Every chunk committed so far is recorded (on the server and in {}); apply {shown} again to finish: no row is written twice.",
                visible(&e.to_string()),
                visible(&journal_path.display().to_string())
            );
            exit::USAGE
        }
    }
}

#[allow(clippy::print_stdout)]
fn confirm(h: &Header) -> Result<(), i32> {
    if !std::io::stdin().is_terminal() {
        errln!(
            "error: refusing to write without confirmation: stdin is not a terminal. Review the merge (`planrun show FILE`) and pass --yes to apply it."
        );
        return Err(exit::USAGE);
    }
    out!(
        "\nWrite these rows into {} tables of production? Only `yes` is accepted: ",
        h.tables.len()
    );
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() || answer.trim() != "yes" {
        outln!("Apply cancelled; nothing was written.");
        return Err(exit::FAILED);
    }
    Ok(())
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

fn summary(h: &Header, shown: &str, applied: &Applied) -> i32 {
    let conflicts: Vec<&Conflict> = applied.conflicts().collect();
    if applied.already_done {
        outln!(
            "Saved merge {shown} was already applied: {} rows written, {} conflicts. Nothing was written now.",
            applied.written(),
            conflicts.len()
        );
    } else {
        outln!(
            "Applied {shown}: {} rows written in {} chunks, {} conflicts.",
            applied.written(),
            applied.chunks.len(),
            conflicts.len()
        );
    }
    if !conflicts.is_empty() {
        outln!("\nConflicts (the row's guard no longer held; it was left as it is):");
        for c in &conflicts {
            outln!("{}", conflict_text(h, c));
        }
    }
    if conflicts.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
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
