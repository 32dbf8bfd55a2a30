//! The rules a submission is checked by server-side: every broken rule is a 9003 (API 3.0:
//! `InvalidParameterValue`) whose message names the instance (`instances.N (cdb-...)`). The
//! documented ones always (strategy `table` with no databases, at most 500 objects, the
//! names' characters, the time); the plan rules of `docs/contract.md` §1 that the cloud does not
//! document only when asked (`house`: `Config::plan_rules`, `sandbox serve --plan-rules`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDateTime, TimeDelta};

use crate::api::rollback::{RollbackSpec, Strategy};
use crate::contract::{MAX_OBJECTS_PER_INSTANCE, TIME_FORMAT, is_system_database};

use super::answer::Rejection;
use super::config::RollbackTimeCheck;
use super::verify::Params;

/// One instance of a submission, as parsed from `instances.N.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub index: u32,
    pub instance_id: String,
    pub spec: RollbackSpec,
}

/// Reads every `instances.N.cdbInstanceId` / `instances.N.para` pair, ordered by N.
pub fn parse_instances(params: &Params) -> Result<Vec<Submission>, Rejection> {
    let mut numbered: BTreeMap<u32, (Option<&str>, Option<&str>)> = BTreeMap::new();
    for (key, value) in &params.0 {
        let Some(rest) = key.strip_prefix("instances.") else {
            continue;
        };
        let Some((n, field)) = rest.split_once('.') else {
            return Err(Rejection::invalid(format!("unknown parameter {key}")));
        };
        let n: u32 = n
            .parse()
            .map_err(|_| Rejection::invalid(format!("unknown parameter {key}")))?;
        let pair = numbered.entry(n).or_default();
        match field {
            "cdbInstanceId" => pair.0 = Some(value),
            "para" => pair.1 = Some(value),
            _ => return Err(Rejection::invalid(format!("unknown parameter {key}"))),
        }
    }
    if numbered.is_empty() {
        return Err(Rejection::invalid(
            "missing parameter instances.0.cdbInstanceId",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(numbered.len());
    for (index, (id, para)) in numbered {
        let id = id.ok_or_else(|| {
            Rejection::invalid(format!("missing parameter instances.{index}.cdbInstanceId"))
        })?;
        let para = para.ok_or_else(|| {
            Rejection::invalid(format!("missing parameter instances.{index}.para ({id})"))
        })?;
        if !valid_instance_id(id) {
            return Err(Rejection::invalid(format!(
                "instances.{index}: `{id}` is not an instance id (cdb- and 8 lowercase letters or digits)"
            )));
        }
        if !seen.insert(id) {
            return Err(Rejection::invalid(format!(
                "instances.{index} ({id}): the instance appears twice in one call"
            )));
        }
        let spec: RollbackSpec = serde_json::from_str(para).map_err(|e| {
            Rejection::invalid(format!("instances.{index} ({id}): para is not valid: {e}"))
        })?;
        out.push(Submission {
            index,
            instance_id: id.to_owned(),
            spec,
        });
    }
    Ok(out)
}

/// `cdb-` followed by 8 lowercase letters or digits.
pub fn valid_instance_id(id: &str) -> bool {
    id.strip_prefix("cdb-").is_some_and(|rest| {
        rest.len() == 8
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn valid_source(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn valid_target(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'$'))
}

/// Checks one instance's spec; `now_utc` is the server's clock.
pub fn check(
    submission: &Submission,
    time_check: Option<RollbackTimeCheck>,
    now_utc: NaiveDateTime,
    house: bool,
) -> Result<(), Rejection> {
    let fail = |what: String| {
        Rejection::invalid(format!(
            "instances.{} ({}): {what}",
            submission.index, submission.instance_id
        ))
    };
    let spec = &submission.spec;
    check_time(&spec.rollbacktime, time_check, now_utc).map_err(fail)?;
    if spec.strategy == Strategy::Table && !spec.dbs.is_empty() {
        return Err(fail("strategy table requires dbs to be empty".into()));
    }
    let objects = spec.dbs.len() + spec.tables.iter().map(|t| t.table.len()).sum::<usize>();
    if objects == 0 && house {
        return Err(fail(
            "nothing to roll back: dbs and tables are empty".into(),
        ));
    }
    if objects > MAX_OBJECTS_PER_INSTANCE {
        return Err(fail(format!(
            "{objects} databases and tables; at most {MAX_OBJECTS_PER_INSTANCE} per instance"
        )));
    }
    let dbs: Vec<(&str, &str)> = spec
        .dbs
        .iter()
        .map(|d| (d.dbname.as_str(), d.newname.as_str()))
        .collect();
    check_renames("database", &dbs, house).map_err(fail)?;
    let listed_dbs: BTreeSet<&str> = dbs.iter().map(|(s, _)| *s).collect();
    let mut table_dbs = BTreeSet::new();
    for group in &spec.tables {
        if !valid_source(&group.db) || (house && is_system_database(&group.db)) {
            return Err(fail(format!("`{}` cannot be a source database", group.db)));
        }
        if !house {
        } else if !table_dbs.insert(group.db.as_str()) {
            return Err(fail(format!("database `{}` is listed twice", group.db)));
        }
        if house && listed_dbs.contains(group.db.as_str()) {
            return Err(fail(format!(
                "tables of `{}` are covered twice: the database is also under dbs",
                group.db
            )));
        }
        let tables: Vec<(&str, &str)> = group
            .table
            .iter()
            .map(|t| (t.tablename.as_str(), t.newname.as_str()))
            .collect();
        check_renames(&format!("table in `{}`", group.db), &tables, house).map_err(fail)?;
    }
    Ok(())
}

/// Names' character sets, target ≠ source, no shared target, no target equal to a source.
fn check_renames(kind: &str, pairs: &[(&str, &str)], house: bool) -> Result<(), String> {
    let sources: BTreeSet<&str> = pairs.iter().map(|(s, _)| *s).collect();
    if house && sources.len() != pairs.len() {
        return Err(format!("a source {kind} is listed twice"));
    }
    let mut targets = BTreeSet::new();
    for (source, target) in pairs {
        if !valid_source(source) || (house && kind == "database" && is_system_database(source)) {
            return Err(format!("`{source}` cannot be a source {kind}"));
        }
        if !valid_target(target) {
            return Err(format!(
                "`{target}` is not a valid new name (1-64 letters, digits, . - _ $)"
            ));
        }
        if !house {
            continue;
        }
        if source == target {
            return Err(format!("{kind} `{source}` is restored onto itself"));
        }
        if !targets.insert(*target) {
            return Err(format!("two sources share the new {kind} name `{target}`"));
        }
        if sources.contains(target) {
            return Err(format!("new name `{target}` is also a source {kind}"));
        }
    }
    Ok(())
}

fn check_time(
    text: &str,
    time_check: Option<RollbackTimeCheck>,
    now_utc: NaiveDateTime,
) -> Result<(), String> {
    let shaped = text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    let time = NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .ok()
        .filter(|_| shaped)
        .ok_or_else(|| format!("rollbacktime `{text}` is not a time YYYY-MM-DD HH:MM:SS"))?;
    let Some(check) = time_check else {
        return Ok(());
    };
    let now_local = now_utc + TimeDelta::seconds(i64::from(check.utc_offset_seconds));
    if time > now_local {
        return Err(format!("rollbacktime `{text}` is in the future"));
    }
    if let Some(max_age) = check.max_age_seconds
        && now_local - time > TimeDelta::seconds(max_age)
    {
        return Err(format!(
            "rollbacktime `{text}` is older than the available window"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-11-20 12:00:00", TIME_FORMAT).unwrap_or_default()
    }

    fn submission(para: serde_json::Value) -> Submission {
        Submission {
            index: 0,
            instance_id: "cdb-aaaaaaaa".into(),
            spec: serde_json::from_value(para).unwrap(),
        }
    }

    fn rule(para: serde_json::Value) -> Result<(), String> {
        check(
            &submission(para),
            Some(RollbackTimeCheck::default()),
            now(),
            true,
        )
        .map_err(|r| {
            assert_eq!(r.code, 9003);
            assert!(
                r.message.starts_with("instances.0 (cdb-aaaaaaaa)"),
                "{}",
                r.message
            );
            r.message
        })
    }

    fn tables(list: serde_json::Value) -> serde_json::Value {
        json!({"rollbacktime": "2026-11-20 19:00:00", "strategy": "table", "tables": list})
    }

    #[test]
    fn a_valid_table_rollback_passes() {
        let t = tables(
            json!([{"db": "orders", "table": [{"tablename": "payments", "newname": "payments_bak"}]}]),
        );
        assert_eq!(rule(t), Ok(()));
    }

    #[test]
    fn each_broken_rule_is_a_9003_naming_the_instance() {
        let one =
            |t: &str, n: &str| json!([{"db": "orders", "table": [{"tablename": t, "newname": n}]}]);
        let cases = [
            (
                json!({"rollbacktime": "2026-11-20 19:00:00", "strategy": "table",
                    "dbs": [{"dbname": "a", "newname": "a_bak"}]}),
                "dbs to be empty",
            ),
            (
                json!({"rollbacktime": "2026-11-20 19:00:00", "strategy": "db"}),
                "nothing to roll back",
            ),
            (
                json!({"rollbacktime": "2026-11-20 20:00:01", "strategy": "full",
                    "dbs": [{"dbname": "a", "newname": "a_bak"}]}),
                "in the future",
            ),
            (
                json!({"rollbacktime": "2026-11-20 9:00:00", "strategy": "full",
                    "dbs": [{"dbname": "a", "newname": "a_bak"}]}),
                "not a time",
            ),
            (
                json!({"rollbacktime": "2026-02-30 09:00:00", "strategy": "full",
                    "dbs": [{"dbname": "a", "newname": "a_bak"}]}),
                "not a time",
            ),
            (
                json!({"rollbacktime": "2026-11-20 09:00:00", "strategy": "db",
                    "dbs": [{"dbname": "mysql", "newname": "m_bak"}]}),
                "cannot be a source",
            ),
            (
                json!({"rollbacktime": "2026-11-20 09:00:00", "strategy": "db",
                    "dbs": [{"dbname": "a", "newname": "b"}, {"dbname": "c", "newname": "b"}]}),
                "share",
            ),
            (
                json!({"rollbacktime": "2026-11-20 09:00:00", "strategy": "db",
                    "dbs": [{"dbname": "a", "newname": "c"}, {"dbname": "c", "newname": "d"}]}),
                "also a source",
            ),
            (
                json!({"rollbacktime": "2026-11-20 09:00:00", "strategy": "db",
                    "dbs": [{"dbname": "orders", "newname": "o_bak"}],
                    "tables": [{"db": "orders", "table": [{"tablename": "t", "newname": "t_bak"}]}]}),
                "covered twice",
            ),
            (tables(one("pay-ments", "x")), "cannot be a source"),
            (tables(one("payments", "payments")), "onto itself"),
            (tables(one("payments", "bad name")), "not a valid new name"),
            (
                tables(one("payments", &"x".repeat(65))),
                "not a valid new name",
            ),
        ];
        for (para, expected) in cases {
            let message = rule(para.clone()).err().unwrap_or_default();
            assert!(message.contains(expected), "{para}: {message}");
        }
    }

    #[test]
    fn more_than_500_objects_are_refused() {
        let many: Vec<_> = (0..501)
            .map(|i| json!({"tablename": format!("t{i}"), "newname": format!("t{i}_bak")}))
            .collect();
        let message = rule(tables(json!([{"db": "d", "table": many}])))
            .err()
            .unwrap_or_default();
        assert!(message.contains("at most 500"), "{message}");
    }

    #[test]
    fn old_times_fail_only_with_a_max_age() {
        let s = submission(
            json!({"rollbacktime": "2026-11-01 00:00:00", "strategy": "full",
                                  "dbs": [{"dbname": "a", "newname": "a_bak"}]}),
        );
        assert!(check(&s, Some(RollbackTimeCheck::default()), now(), true).is_ok());
        let week = RollbackTimeCheck {
            max_age_seconds: Some(7 * 86_400),
            ..Default::default()
        };
        assert!(check(&s, Some(week), now(), true).is_err());
    }

    #[test]
    fn instances_parse_in_index_order_and_reject_gaps_in_pairs() {
        let para = tables(json!([{"db": "d", "table": [{"tablename": "t", "newname": "t2"}]}]))
            .to_string();
        let p = Params(vec![
            ("instances.1.cdbInstanceId".into(), "cdb-bbbbbbbb".into()),
            ("instances.1.para".into(), para.clone()),
            ("instances.0.para".into(), para.clone()),
            ("instances.0.cdbInstanceId".into(), "cdb-aaaaaaaa".into()),
        ]);
        let ids: Vec<String> = parse_instances(&p)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.instance_id)
            .collect();
        assert_eq!(ids, ["cdb-aaaaaaaa", "cdb-bbbbbbbb"]);

        let missing_para = Params(vec![(
            "instances.0.cdbInstanceId".into(),
            "cdb-aaaaaaaa".into(),
        )]);
        assert_eq!(
            parse_instances(&missing_para).map_err(|r| r.code),
            Err(9003)
        );
        let bad_id = Params(vec![
            ("instances.0.cdbInstanceId".into(), "cdb-AAAA".into()),
            ("instances.0.para".into(), para.clone()),
        ]);
        assert_eq!(parse_instances(&bad_id).map_err(|r| r.code), Err(9003));
        let bad_strategy = Params(vec![
            ("instances.0.cdbInstanceId".into(), "cdb-aaaaaaaa".into()),
            (
                "instances.0.para".into(),
                r#"{"rollbacktime":"2026-11-20 09:00:00","strategy":"fast"}"#.into(),
            ),
        ]);
        assert_eq!(
            parse_instances(&bad_strategy).map_err(|r| r.code),
            Err(9003)
        );
        assert_eq!(
            parse_instances(&Params::default()).map_err(|r| r.code),
            Err(9003)
        );
    }

    #[test]
    fn instance_ids_have_the_cdb_shape() {
        assert!(valid_instance_id("cdb-mo64xu70"));
        assert!(!valid_instance_id("cdb-mo64xu7"));
        assert!(!valid_instance_id("cdb-MO64XU70"));
        assert!(!valid_instance_id("cdbx-mo64xu70"));
    }
}
