//! The object preflight, reported like `validate`: each source that does not exist
//! (`planrun::source_missing`, with "did you mean" from the instance's real names) and each
//! target that already exists (`planrun::target_exists`) is a diagnostic on the plan's node
//! naming it, with the instance it concerns.

use std::collections::{BTreeSet, HashMap};

use crate::api::rollback::InstanceRollback;
use crate::engine::any::AnyProtocol;
use crate::engine::objects::{self, Problem};
use crate::plan::load::{child, element, escape};
use crate::plan::node::Span;
use crate::plan::{Checked, Diagnostic, Instance};

/// What preflight says when it found nothing, after the window check's sentence.
pub const ALL_GOOD: &str = "every source exists and no target does";

/// The object problems of `requests` (instances in `skip` are not asked), pointed at their
/// instances in `plan` ([`crate::plan::ResolvedPlan::by_id`]); `Ok(None)` with
/// API 2.0.
pub async fn check(
    protocol: &AnyProtocol,
    checked: &Checked,
    plan: &HashMap<&str, &Instance>,
    requests: &[InstanceRollback],
    skip: &BTreeSet<String>,
) -> Result<Option<Vec<Diagnostic>>, crate::api::Error> {
    let find = |id: &str| plan.get(id).copied();
    let with_regions: Vec<(Option<&str>, &InstanceRollback)> = requests
        .iter()
        .map(|r| (find(&r.instance_id).and_then(|i| i.region.as_deref()), r))
        .collect();
    let Some(findings) = objects::check(protocol, &with_regions, skip).await? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for finding in findings {
        let Some(instance) = find(&finding.instance_id) else {
            continue;
        };
        out.extend(
            finding
                .problems
                .iter()
                .map(|p| diagnostic(checked, instance, p)),
        );
    }
    Ok(Some(out))
}

/// Where a name sits: the map form's key (`db: new`) or the list form's item.
struct Place {
    path: String,
    /// The source name (the key, or the item).
    source: Span,
    /// The new name (the value, or the item renamed by a template).
    target: Span,
    /// Whether the new name comes from a `rename` template.
    templated: bool,
}

fn place(checked: &Checked, instance: &Instance, field: &str, name: &str, index: usize) -> Place {
    let base = format!("/instances/{}/{field}", instance.entry);
    let map = child(&base, name);
    if let Some(loc) = checked.index.get(&map) {
        return Place {
            path: map,
            source: loc.key.unwrap_or(loc.value),
            target: loc.value,
            templated: false,
        };
    }
    let item = element(&base, index);
    let span = checked.index.value(&item);
    Place {
        path: item,
        source: span,
        target: span,
        templated: true,
    }
}

/// The `rename` template an instance's list forms use (the entry's, else the plan's).
fn template_span(checked: &Checked, instance: &Instance) -> Option<Span> {
    let own = format!("/instances/{}/rename", instance.entry);
    checked
        .index
        .get(&own)
        .or_else(|| checked.index.get("/rename"))
        .map(|l| l.value)
}

pub(super) fn diagnostic(checked: &Checked, instance: &Instance, problem: &Problem) -> Diagnostic {
    let id = &instance.id;
    let id_span = Some(checked.index.value(&instance.path));
    let db_index = |db: &str| instance.dbs.iter().position(|d| d.source == db);
    let table_index = |db: &str, table: &str| {
        instance
            .tables
            .iter()
            .find(|g| g.db == db)
            .and_then(|g| g.tables.iter().position(|t| t.source == table))
    };
    let missing = |what: String, suggestion: &Option<String>, lister: &str| {
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`? ({lister} on {id} lists it)"),
            None => format!(
                "{lister} on {id} does not list it: check the name, or drop it from the plan"
            ),
        };
        (format!("{id}: {what} does not exist"), help)
    };
    let exists_help = "an earlier rollback may have created it: drop or rename it first, or choose another new name";
    match problem {
        Problem::MissingDatabase { db, suggestion } => {
            let p = place(checked, instance, "dbs", db, db_index(db).unwrap_or(0));
            let (message, help) =
                missing(format!("database `{db}`"), suggestion, "DescribeDatabases");
            Diagnostic::error("planrun::source_missing", message)
                .at(&p.path, p.source, format!("no such database on {id}"))
                .also(id_span, "on this instance")
                .help(help)
        }
        Problem::MissingTablesDatabase { db, suggestion } => {
            let path = child(&format!("/instances/{}/tables", instance.entry), db);
            let span = checked.index.key(&path);
            let (message, help) =
                missing(format!("database `{db}`"), suggestion, "DescribeDatabases");
            Diagnostic::error("planrun::source_missing", message)
                .at(&path, span, format!("no such database on {id}"))
                .also(id_span, "on this instance")
                .help(help)
        }
        Problem::MissingTable {
            db,
            table,
            suggestion,
        } => {
            let field = format!("tables/{}", escape(db));
            let p = place(
                checked,
                instance,
                &field,
                table,
                table_index(db, table).unwrap_or(0),
            );
            let (message, help) = missing(
                format!("table `{db}.{table}`"),
                suggestion,
                "DescribeTables",
            );
            Diagnostic::error("planrun::source_missing", message)
                .at(&p.path, p.source, format!("no such table on {id}"))
                .also(id_span, "on this instance")
                .help(help)
        }
        Problem::DatabaseExists { source, target } => {
            let p = place(
                checked,
                instance,
                "dbs",
                source,
                db_index(source).unwrap_or(0),
            );
            let template = p
                .templated
                .then(|| template_span(checked, instance))
                .flatten();
            Diagnostic::error(
                "planrun::target_exists",
                format!("{id}: new database `{target}` already exists"),
            )
            .at(&p.path, p.target, format!("`{target}` exists on {id}"))
            .also(template, "new name made by this template")
            .also(id_span, "on this instance")
            .help(exists_help)
        }
        Problem::TableExists { db, source, target } => {
            let field = format!("tables/{}", escape(db));
            let index = table_index(db, source).unwrap_or(0);
            let p = place(checked, instance, &field, source, index);
            let template = p
                .templated
                .then(|| template_span(checked, instance))
                .flatten();
            Diagnostic::error(
                "planrun::target_exists",
                format!("{id}: new table `{db}.{target}` already exists"),
            )
            .at(&p.path, p.target, format!("`{db}.{target}` exists on {id}"))
            .also(template, "new name made by this template")
            .also(id_span, "on this instance")
            .help(exists_help)
        }
        // The only "unavailable" the object preflight reports: not found where it was asked,
        // with the API's own words.
        Problem::Unavailable { message } => {
            let mut d = super::not_in_region(checked, instance);
            d.message = format!("{} (the API answered: {message})", d.message);
            d
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) -> Checked {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let c = crate::plan::check_bytes("p.yaml", text.as_bytes(), &crate::plan::Context::at(now));
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        c
    }

    fn at(text: &str, needle: &str) -> Span {
        Span::new(text.find(needle).unwrap(), needle.len())
    }

    #[test]
    fn a_taken_list_form_target_points_at_its_item_the_template_and_the_instance() {
        let text = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\n\
                    rename: \"{name}_bak\"\ninstances:\n  - ids: [cdb-aaaaaaaa, cdb-bbbbbbbb]\n\
                    \x20   tables:\n      orders: [payments, refunds]\n";
        let c = checked(text);
        let plan = c.resolved.clone().unwrap();
        let problem = Problem::TableExists {
            db: "orders".into(),
            source: "refunds".into(),
            target: "refunds_bak".into(),
        };
        let d = diagnostic(&c, &plan.instances[1], &problem);
        assert_eq!(d.code, "planrun::target_exists");
        assert_eq!(d.path, "/instances/0/tables/orders/1");
        assert_eq!(d.span, Some(at(text, "refunds")));
        assert_eq!(d.label, "`orders.refunds_bak` exists on cdb-bbbbbbbb");
        let related: Vec<Span> = d.related.iter().map(|r| r.span).collect();
        assert_eq!(
            related,
            [at(text, "\"{name}_bak\""), at(text, "cdb-bbbbbbbb")]
        );
    }

    #[test]
    fn a_missing_list_form_database_points_at_its_item_with_the_suggestion() {
        let text = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nrename: \"{name}_bak\"\n\
                    instances:\n  - id: cdb-aaaaaaaa\n    strategy: db\n    dbs: [ledger, ledgr]\n";
        let c = checked(text);
        let plan = c.resolved.clone().unwrap();
        let problem = Problem::MissingDatabase {
            db: "ledgr".into(),
            suggestion: Some("ledger".into()),
        };
        let d = diagnostic(&c, &plan.instances[0], &problem);
        assert_eq!(d.code, "planrun::source_missing");
        assert_eq!(d.message, "cdb-aaaaaaaa: database `ledgr` does not exist");
        assert_eq!(d.path, "/instances/0/dbs/1");
        assert_eq!(d.span, Some(at(text, "ledgr")));
        assert!(d.help.unwrap().starts_with("did you mean `ledger`?"));
    }
}
