//! The text of a plan written by `planrun new`: the schema modeline, how it was made, what
//! was left out and why, then one `ids:` entry per region with the rollback the flags name.
//! Pure: the caller queries the fleet and validates the result.

use std::fmt::Write as _;

/// An instance that goes into the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub region: String,
}

/// An instance the query found but the plan leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub member: Member,
    pub why: &'static str,
}

/// What every instance rolls back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub strategy: &'static str,
    pub rename: String,
    pub rollback_time: String,
    pub timezone: String,
    /// Databases and their tables, in the order first named.
    pub tables: Vec<(String, Vec<String>)>,
    pub dbs: Vec<String>,
}

/// How the file came to be, for its header comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `../schemas/plan.schema.json` or wherever the schema is from the file.
    pub schema: String,
    pub command: String,
    /// RFC 3339.
    pub at: String,
    pub regions: Vec<String>,
}

/// The plan's text. `members` are grouped by region in the order of `origin.regions`, and
/// sorted by id within each.
pub fn plan(origin: &Origin, members: &[Member], left_out: &[LeftOut], spec: &Spec) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# yaml-language-server: $schema={}", origin.schema);
    let _ = writeln!(out, "#");
    let _ = writeln!(out, "# Written by `{}`", comment_text(&origin.command));
    let _ = writeln!(
        out,
        "# at {}, from DescribeDBInstances in {}: {} primary instance(s).",
        origin.at,
        origin.regions.join(", "),
        members.len()
    );
    if !left_out.is_empty() {
        let _ = writeln!(out, "#");
        let _ = writeln!(
            out,
            "# Left out ({} found, but only running primary instances can be rolled back):",
            left_out.len()
        );
        for l in left_out {
            let m = &l.member;
            let _ = writeln!(
                out,
                "#   {} ({}, {}): {}",
                m.id,
                comment_text(&m.name),
                m.region,
                l.why
            );
        }
    }
    let _ = writeln!(out, "version: 1");
    let _ = writeln!(out, "rollback_time: {}", quoted(&spec.rollback_time));
    let _ = writeln!(out, "timezone: {}", quoted(&spec.timezone));
    let _ = writeln!(out, "strategy: {}", spec.strategy);
    let _ = writeln!(out, "rename: {}", quoted(&spec.rename));
    let _ = writeln!(out, "instances:");
    for region in &origin.regions {
        let mut ids: Vec<&Member> = members.iter().filter(|m| &m.region == region).collect();
        if ids.is_empty() {
            continue;
        }
        ids.sort_by(|a, b| a.id.cmp(&b.id));
        let _ = writeln!(out, "  - region: {}", name(region));
        let _ = writeln!(out, "    ids:");
        for m in ids {
            if m.name.is_empty() {
                let _ = writeln!(out, "      - {}", m.id);
            } else {
                let _ = writeln!(out, "      - {}   # {}", m.id, comment_text(&m.name));
            }
        }
        if !spec.dbs.is_empty() {
            let list: Vec<String> = spec.dbs.iter().map(|d| name(d)).collect();
            let _ = writeln!(out, "    dbs: [{}]", list.join(", "));
        }
        if !spec.tables.is_empty() {
            let _ = writeln!(out, "    tables:");
            for (db, tables) in &spec.tables {
                let list: Vec<String> = tables.iter().map(|t| name(t)).collect();
                let _ = writeln!(out, "      {}: [{}]", name(db), list.join(", "));
            }
        }
    }
    out
}

/// A name as a plain YAML scalar when it reads back as that string, else double-quoted
/// (`123`, `true`, `null`, `yes` would come back as a number, a boolean or nothing).
fn name(text: &str) -> String {
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain { text.to_owned() } else { quoted(text) }
}

/// A double-quoted YAML string (JSON's escaping is YAML's).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Text for a `#` comment: one line, no control characters.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, name: &str, region: &str) -> Member {
        Member {
            id: id.into(),
            name: name.into(),
            region: region.into(),
        }
    }

    #[test]
    fn a_plan_groups_ids_per_region_and_lists_what_it_left_out() {
        let origin = Origin {
            schema: "../schemas/plan.schema.json".into(),
            command: "planrun new --tag service=orders".into(),
            at: "2026-12-01T07:00:00Z".into(),
            regions: vec![
                "ap-guangzhou".into(),
                "ap-shanghai".into(),
                "eu-frankfurt".into(),
            ],
        };
        let members = [
            member("cdb-ord10001", "orders-sh-01", "ap-shanghai"),
            member("cdb-ord00002", "orders\ngz", "ap-guangzhou"),
            member("cdb-ord00001", "", "ap-guangzhou"),
        ];
        let left = [LeftOut {
            member: member("cdb-ordro001", "orders-gz-ro-01", "ap-guangzhou"),
            why: "read-only instance",
        }];
        let spec = Spec {
            strategy: "table",
            rename: "{name}_bak".into(),
            rollback_time: "2026-11-20 03:15:00".into(),
            timezone: "+08:00".into(),
            tables: vec![("orders".into(), vec!["payments".into(), "2024".into()])],
            dbs: vec![],
        };
        let text = plan(&origin, &members, &left, &spec);
        assert_eq!(
            text,
            "# yaml-language-server: $schema=../schemas/plan.schema.json\n\
             #\n\
             # Written by `planrun new --tag service=orders`\n\
             # at 2026-12-01T07:00:00Z, from DescribeDBInstances in ap-guangzhou, ap-shanghai, eu-frankfurt: 3 primary instance(s).\n\
             #\n\
             # Left out (1 found, but only running primary instances can be rolled back):\n\
             #   cdb-ordro001 (orders-gz-ro-01, ap-guangzhou): read-only instance\n\
             version: 1\n\
             rollback_time: \"2026-11-20 03:15:00\"\n\
             timezone: \"+08:00\"\n\
             strategy: table\n\
             rename: \"{name}_bak\"\n\
             instances:\n\
             \x20 - region: ap-guangzhou\n\
             \x20   ids:\n\
             \x20     - cdb-ord00001\n\
             \x20     - cdb-ord00002   # orders gz\n\
             \x20   tables:\n\
             \x20     orders: [payments, \"2024\"]\n\
             \x20 - region: ap-shanghai\n\
             \x20   ids:\n\
             \x20     - cdb-ord10001   # orders-sh-01\n\
             \x20   tables:\n\
             \x20     orders: [payments, \"2024\"]\n"
        );
    }

    #[test]
    fn names_that_yaml_would_misread_are_quoted() {
        assert_eq!(name("orders"), "orders");
        assert_eq!(name("_tmp"), "_tmp");
        for tricky in ["123", "true", "No", "null", "a b", ""] {
            assert!(name(tricky).starts_with('"'), "{tricky}");
        }
    }
}
