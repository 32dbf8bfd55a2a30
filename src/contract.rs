//! The facts of the product contract (`docs/contract.md` §1) that more than one layer reads:
//! the strategies, the time format, the system databases and the object limit. The plan's
//! rules, the API's requests, the sandbox's checks and the self-hosted restores all take them
//! from here, so that they cannot drift apart. Imports nothing of planrun's: every layer may
//! import it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much of an instance is imported to roll back.
// The plan's `strategy` and the value the API receives, spelled the same in both. This doc
// comment is the plan schema's description: a word changed here changes
// `schemas/plan.schema.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Only the selected tables (fastest; `dbs` must be empty).
    Table,
    /// Only the selected databases.
    Db,
    /// The whole instance's backup and binlog (slowest).
    Full,
}

impl Strategy {
    pub const ALL: [&'static str; 3] = ["table", "db", "full"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Db => "db",
            Self::Full => "full",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "table" => Some(Self::Table),
            "db" => Some(Self::Db),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a point in time is written everywhere: the plan's `rollback_time`, both API
/// generations' times (in the instances' clock), `mariadb-binlog --stop-datetime`, and the
/// times planrun shows.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Databases that are never a rollback's source nor its target (the cloud refuses them too).
pub const SYSTEM_DATABASES: [&str; 4] =
    ["mysql", "sys", "information_schema", "performance_schema"];

/// Whether `name` is one of [`SYSTEM_DATABASES`] (MySQL folds their names' case).
pub fn is_system_database(name: &str) -> bool {
    SYSTEM_DATABASES.contains(&name.to_ascii_lowercase().as_str())
}

/// [`SYSTEM_DATABASES`] as a sentence names them: `mysql, sys, information_schema and
/// performance_schema`.
pub fn system_databases_in_words() -> String {
    let (last, rest) = SYSTEM_DATABASES
        .split_last()
        .unwrap_or_else(|| unreachable!("the list is not empty"));
    format!("{} and {last}", rest.join(", "))
}

/// SQL's list of [`SYSTEM_DATABASES`], for `NOT IN`: `('mysql','sys',...)`.
pub fn system_databases_sql() -> String {
    let quoted: Vec<String> = SYSTEM_DATABASES.iter().map(|d| format!("'{d}'")).collect();
    format!("({})", quoted.join(","))
}

/// At most this many databases and tables, in total, in one instance's rollback (the cloud's
/// documented limit).
pub const MAX_OBJECTS_PER_INSTANCE: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_databases_read_as_a_sentence_and_as_sql() {
        assert_eq!(
            system_databases_in_words(),
            "mysql, sys, information_schema and performance_schema"
        );
        assert_eq!(
            system_databases_sql(),
            "('mysql','sys','information_schema','performance_schema')"
        );
    }

    #[test]
    fn system_databases_are_told_in_any_case() {
        assert!(is_system_database("MySQL"));
        assert!(is_system_database("information_schema"));
        assert!(!is_system_database("orders"));
    }

    #[test]
    fn strategies_round_trip_through_their_names() {
        for name in Strategy::ALL {
            assert_eq!(Strategy::parse(name).map(Strategy::as_str), Some(name));
        }
        assert_eq!(Strategy::parse("tables"), None);
    }
}
