//! What the span's judge must know of the objects ([`super::span::Reach`]): the restored
//! tables and their foreign-key relatives (read from the scratch server, where the dump is),
//! and every view, routine and trigger whose definition names one of them — read from the
//! scratch server (the dump's) *and* from production (today's, read-only): a statement
//! through any of them may reach a restored table.

use std::collections::{HashMap, HashSet};

use mysql_async::prelude::Queryable;

use super::scratch::Scratch;
use super::span::Reach;
use super::sql::{self, Name};
use super::{Error, Request};
use crate::contract::system_databases_sql;

fn lower(d: &str, t: &str) -> Name {
    (d.to_lowercase(), t.to_lowercase())
}

/// Definitions on one server: `(object it makes reachable, its schema, its text)`.
async fn definitions(
    conn: &mut mysql_async::Conn,
    back: &(dyn Fn(&str) -> String + Sync),
) -> Result<Vec<(Name, String, String)>, Error> {
    let mut out = Vec::new();
    let system = system_databases_sql();
    let views: Vec<(String, String, Option<String>)> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA NOT IN {system}"
        ))
        .await?;
    let routines: Vec<(String, String, Option<String>)> = conn
        .query(format!(
            "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA NOT IN {system}"
        ))
        .await?;
    let triggers: Vec<(String, String, String, Option<String>)> = conn
        .query(format!(
            "SELECT TRIGGER_SCHEMA, EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA NOT IN {system}"
        ))
        .await?;
    for (s, n, d) in views.into_iter().chain(routines) {
        let s = back(&s);
        out.push((lower(&s, &n), s, d.unwrap_or_default()));
    }
    for (s, es, et, d) in triggers {
        let s = back(&s);
        out.push((lower(&back(&es), &et), s, d.unwrap_or_default()));
    }
    Ok(out)
}

/// The judge's knowledge for `req`, with the dump loaded on `scratch`.
pub async fn reach(
    req: &Request,
    scratch: &Scratch,
    production: &mut mysql_async::Conn,
) -> Result<Reach, Error> {
    let back_map: HashMap<String, String> = scratch
        .names()
        .iter()
        .map(|(source, name)| (name.clone(), source.clone()))
        .collect();
    let back = |db: &str| back_map.get(db).cloned().unwrap_or_else(|| db.to_owned());
    let mut conn = scratch.conn().await?;
    let result = async {
        let system = system_databases_sql();
        let tables: Vec<(String, String)> = conn
            .query(format!(
                "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN {system}"
            ))
            .await?;
        // On a staging server only planrun's own databases are the restore's.
        let ours = |d: &str| scratch.throwaway() || back_map.contains_key(d);
        let on_scratch: HashSet<Name> = tables
            .iter()
            .filter(|(d, _)| ours(d))
            .map(|(d, t)| lower(&back(d), t))
            .collect();
        let whole: HashSet<String> = req.objects.dbs.iter().map(|(s, _)| s.to_lowercase()).collect();
        let mut relevant: HashSet<Name> = on_scratch
            .iter()
            .filter(|(d, _)| whole.contains(d))
            .cloned()
            .collect();
        relevant.extend(req.objects.tables.iter().map(|(d, t, _)| lower(d, t)));
        let keys: Vec<(String, String, String, String)> = conn
            .query(
                "SELECT TABLE_SCHEMA, TABLE_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL",
            )
            .await?;
        let edges: Vec<(Name, Name)> = keys
            .iter()
            .filter(|(d, _, _, _)| ours(d))
            .map(|(d, t, rd, rt)| (lower(&back(d), t), lower(&back(rd), rt)))
            .collect();
        // The foreign-key component: a cascade (or a refused delete) crosses every edge.
        loop {
            let before = relevant.len();
            for (a, b) in &edges {
                if relevant.contains(a) || relevant.contains(b) {
                    relevant.insert(a.clone());
                    relevant.insert(b.clone());
                }
            }
            if relevant.len() == before {
                break;
            }
        }
        let mut defs = definitions(&mut conn, &back).await?;
        defs.extend(definitions(production, &|d: &str| d.to_owned()).await?);
        let mut reaching = relevant.clone();
        loop {
            let before = reaching.len();
            for (object, schema, text) in &defs {
                if !reaching.contains(object)
                    && sql::mentions(text, schema).iter().any(|n| reaching.contains(n))
                {
                    reaching.insert(object.clone());
                }
            }
            if reaching.len() == before {
                break;
            }
        }
        let databases = req
            .objects
            .source_dbs()
            .iter()
            .map(|d| d.to_lowercase())
            .collect();
        Ok(Reach {
            relevant,
            whole,
            databases,
            reaching,
            on_scratch,
            blind: HashSet::new(),
            back: back_map.clone(),
        })
    }
    .await;
    let _ = conn.disconnect().await;
    result
}
