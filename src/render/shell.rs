//! Command lines as a POSIX shell reads them back: a word quoted, and `planrun new`'s own,
//! which the plan it writes keeps in its header (how to make the plan again).

use crate::engine::ops::new::{Query, Spec};

/// A word as a POSIX shell reads it back: single-quoted unless plainly safe.
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:,=+@%".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The `planrun new` that makes the plan of `spec` over what `query` finds in `regions`
/// (`sandbox`: the emulator's fleet); no credentials are in it.
pub fn new_command(regions: &[String], query: &Query, spec: &Spec, sandbox: bool) -> String {
    let mut words = vec!["planrun new".to_owned()];
    let mut flag = |name: &str, value: &str| words.push(format!("{name} {}", quote(value)));
    for r in regions {
        flag("--region", r);
    }
    for (k, v) in &query.tags {
        flag("--tag", &format!("{k}={v}"));
    }
    for n in &query.names {
        flag("--instance-name", n);
    }
    for i in &query.instances {
        flag("--instance", i);
    }
    let tables: Vec<String> = spec
        .tables
        .iter()
        .flat_map(|(db, ts)| ts.iter().map(move |t| format!("{db}.{t}")))
        .collect();
    if !tables.is_empty() {
        flag("--tables", &tables.join(","));
    }
    if !spec.dbs.is_empty() {
        flag("--dbs", &spec.dbs.join(","));
    }
    flag("--strategy", spec.strategy);
    flag("--rollback-time", &spec.rollback_time);
    if spec.rename != "{name}_bak" {
        flag("--rename", &spec.rename);
    }
    if spec.timezone != "+08:00" {
        flag("--timezone", &spec.timezone);
    }
    if sandbox {
        words.push("--sandbox".to_owned());
    }
    words.join(" ")
}
