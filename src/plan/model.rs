//! The plan's typed model (version 1), as written by its author: the source of the JSON Schema.
//!
//! Values here are what the YAML said, before defaults are inherited; [`super::rules::check`] turns
//! a checked plan into one concrete rollback per instance. Doc comments become the schema's
//! descriptions, which editors show on hover.

use schemars::JsonSchema;
use serde::Serialize;

/// A rollback plan: which instances to roll back to which point in time, and under which
/// new names the restored databases and tables appear.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Plan {
    /// Version of the plan language; only 1 exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u64,
    /// Name of the plan (journal, reports); defaults to the file's stem.
    pub name: Option<String>,
    /// What happened and why this rollback; shown in the diff.
    pub description: Option<String>,
    /// Default point in time for every instance: `YYYY-MM-DD HH:MM:SS` in `timezone`.
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"))]
    pub rollback_time: Option<String>,
    /// The instances' clock as `±HH:MM`; default `+08:00` (CDB's default).
    #[schemars(regex(pattern = r"^[+-]\d{2}:\d{2}$"))]
    pub timezone: Option<String>,
    /// Default strategy for every instance.
    pub strategy: Option<Strategy>,
    /// Default provider of every entry: `tencentcloud` (CDB, the default) or `mysql`
    /// (a self-hosted MySQL or MariaDB server).
    pub provider: Option<Provider>,
    /// Template for new names of list-form `dbs`/`tables`; must contain `{name}`.
    #[schemars(regex(pattern = r"\{name\}"))]
    pub rename: Option<String>,
    /// Default region (the `Region` common parameter).
    pub region: Option<String>,
    /// Instances per rollback call (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub batch_size: Option<u64>,
    /// The instances to roll back.
    #[schemars(length(min = 1))]
    pub instances: Vec<Entry>,
}

/// One instance (`id`) or the same spec on many instances (`ids`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["id"]}, {"required": ["ids"]}]))]
// A self-hosted entry always names its `server`: that tells the two id forms apart without
// looking up the plan-level `provider`, which a sub-schema cannot see.
#[schemars(extend(
    "if" = {"anyOf": [
        {"required": ["server"]},
        {"required": ["backups"]},
        {"required": ["provider"], "properties": {"provider": {"const": "mysql"}}}
    ]},
    "then" = {
        "properties": {"id": {"pattern": "^[A-Za-z0-9_.-]{1,64}$"}},
        "not": {"anyOf": [{"required": ["ids"]}, {"required": ["region"]}, {"required": ["connect"]}]}
    },
    "else" = {"properties": {"id": {"pattern": "^cdb-[a-z0-9]{8}$"}}}
))]
pub struct Entry {
    /// Instance id: for `tencentcloud`, `cdb-` and 8 lowercase letters or digits; for `mysql`,
    /// a name of your choice of 1 to 64 letters, digits, `_`, `.` or `-`.
    pub id: Option<String>,
    /// Several instances sharing this spec (sharded fleets; `tencentcloud` only).
    #[schemars(length(min = 1), inner(regex(pattern = r"^cdb-[a-z0-9]{8}$")))]
    pub ids: Option<Vec<String>>,
    /// Provider of this entry; overrides the plan's.
    pub provider: Option<Provider>,
    /// `mysql` only: the server as `HOST:PORT` (IPv6 as `[::1]:3306`).
    #[schemars(regex(pattern = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$"))]
    pub server: Option<String>,
    /// `tencentcloud` only, with `id`: the instance's MySQL address as `HOST:PORT` for
    /// `compare` and `merge`, when it is reached otherwise than by DescribeDBInstances'
    /// `Vip`/`Vport` (a proxy, a tunnel, a public address). Not part of the rollback.
    #[schemars(regex(pattern = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$"))]
    pub connect: Option<String>,
    /// `mysql` only: the directory of the server's logical dumps (`mysqldump`/`mariadb-dump
    /// --single-transaction --master-data=2`, plain or gzip); relative to the plan's directory.
    pub backups: Option<String>,
    /// `mysql` only: a staging server (`HOST:PORT`, same flavour and major version) to
    /// restore on instead of a throwaway server planrun starts; planrun makes and drops only
    /// databases of its own there.
    #[schemars(regex(pattern = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$"))]
    pub restore_server: Option<String>,
    /// Strategy of this entry; overrides the plan's.
    pub strategy: Option<Strategy>,
    /// Point in time of this entry; overrides the plan's.
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"))]
    pub rollback_time: Option<String>,
    /// Rename template of this entry; overrides the plan's.
    #[schemars(regex(pattern = r"\{name\}"))]
    pub rename: Option<String>,
    /// Region of this entry; overrides the plan's.
    pub region: Option<String>,
    /// Whole databases to roll back.
    pub dbs: Option<Names>,
    /// Tables to roll back, by database.
    pub tables: Option<Tables>,
}

/// The plan's `strategy`: the one [`Strategy`] of the contract ([`crate::contract`]).
pub use crate::contract::Strategy;

/// Who runs the database: the cloud, or you.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// TencentDB for MySQL (CDB), rolled back through the cloud API.
    #[default]
    Tencentcloud,
    /// A self-hosted MySQL or MariaDB server, rolled back from a dump and its binary log.
    Mysql,
}

impl Provider {
    pub const ALL: [&'static str; 2] = ["tencentcloud", "mysql"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tencentcloud => "tencentcloud",
            Self::Mysql => "mysql",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "tencentcloud" => Some(Self::Tencentcloud),
            "mysql" => Some(Self::Mysql),
            _ => None,
        }
    }
}

/// Names to roll back: a map `source: new_name`, or a list of sources renamed by `rename`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Names {
    List(Vec<String>),
    Map(Vec<(String, String)>),
}

impl Names {
    pub fn len(&self) -> usize {
        match self {
            Self::List(v) => v.len(),
            Self::Map(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl JsonSchema for Names {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Names".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A map `source: new_name`, or a list of sources renamed by the `rename` template.",
            "oneOf": [
                {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"}},
                {"type": "object",
                 "propertyNames": {"pattern": "^[A-Za-z0-9_]{1,64}$"},
                 "additionalProperties": {"type": "string", "pattern": "^[A-Za-z0-9.$_-]{1,64}$"}}
            ]
        })
    }
}

/// Tables by database: `db: {table: new_name}` or `db: [table, ...]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tables(pub Vec<(String, Names)>);

impl JsonSchema for Tables {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Tables".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names = generator.subschema_for::<Names>();
        schemars::json_schema!({
            "description": "Tables to roll back, by database.",
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9_]{1,64}$"},
            "additionalProperties": names
        })
    }
}

/// The field names of [`Plan`] and [`Entry`], used by the loader to reject unknown fields
/// and suggest close ones (a test keeps them equal to the schema's properties).
pub const PLAN_FIELDS: &[&str] = &[
    "version",
    "name",
    "description",
    "rollback_time",
    "timezone",
    "strategy",
    "provider",
    "rename",
    "region",
    "batch_size",
    "instances",
];
pub const ENTRY_FIELDS: &[&str] = &[
    "id",
    "ids",
    "provider",
    "server",
    "connect",
    "backups",
    "restore_server",
    "strategy",
    "rollback_time",
    "rename",
    "region",
    "dbs",
    "tables",
];

/// The plan's JSON Schema (draft-07: what yaml-language-server validates).
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<Plan>();
    schema.insert(
        "$id".into(),
        "https://planrun.dev/schemas/plan.schema.json".into(),
    );
    schema.insert("title".into(), "planrun plan".into());
    schema.to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(schema: &serde_json::Value, pointer: &str) -> Vec<String> {
        let mut keys: Vec<String> = schema
            .pointer(pointer)
            .and_then(|p| p.as_object())
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = fields.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn loader_field_lists_match_the_schema() {
        let schema = schema();
        assert_eq!(properties(&schema, "/properties"), sorted(PLAN_FIELDS));
        assert_eq!(
            properties(&schema, "/definitions/Entry/properties"),
            sorted(ENTRY_FIELDS)
        );
    }

    #[test]
    fn schema_is_draft_07() {
        assert_eq!(
            schema()["$schema"],
            "http://json-schema.org/draft-07/schema#"
        );
    }
}
