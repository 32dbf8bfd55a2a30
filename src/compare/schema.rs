//! What a table looks like to the comparison: its columns (name, type, collation, generated
//! or not), the key rows are matched by (the primary key, else the smallest unique index whose
//! columns are all NOT NULL), its engine. Read from `information_schema` on both sides; a pair
//! whose key or columns do not agree is not comparable, with why.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::{Error, Pair};

/// One column as `information_schema.COLUMNS` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `COLUMN_TYPE`, e.g. `decimal(10,2) unsigned`.
    pub column_type: String,
    /// `DATA_TYPE`, lower case, e.g. `decimal`.
    pub data_type: String,
    pub collation: Option<String>,
    /// `CHARACTER_SET_NAME` (text only), which the collation implies.
    pub charset: Option<String>,
    pub nullable: bool,
    /// Computed by the server (`GENERATED ALWAYS AS`): compared, never written.
    pub generated: bool,
}

impl Column {
    /// Text types: equal under their collation is not equal bytes.
    pub fn is_text(&self) -> bool {
        self.collation.is_some()
    }

    pub fn is_float(&self) -> bool {
        matches!(self.data_type.as_str(), "float" | "double" | "real")
    }
}

/// One index, its columns in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    name: String,
    unique: bool,
    columns: Vec<String>,
}

/// A table as described by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub columns: Vec<Column>,
    indexes: Vec<Index>,
    /// `ENGINE` (InnoDB, MyISAM, ...).
    pub engine: String,
}

/// How a pair is compared: the copy's columns, the key and each side's index for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub columns: Vec<Column>,
    /// Positions in `columns` of the key's columns, in index order.
    pub key: Vec<usize>,
    /// The index that holds the key on the restored copy and on the source.
    pub copy_index: String,
    pub source_index: String,
    /// The source's storage engine: a merge writes only into a transactional one.
    pub source_engine: String,
}

impl Shape {
    pub fn key_names(&self) -> Vec<String> {
        self.key
            .iter()
            .map(|&i| self.columns[i].name.clone())
            .collect()
    }
}

/// `Ok(None)`: no such table (or a view).
pub async fn describe(conn: &mut Conn, db: &str, table: &str) -> Result<Option<Described>, Error> {
    let kind: Option<(String, Option<String>)> = conn
        .exec_first(
            "SELECT TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    let Some((kind, engine)) = kind else {
        return Ok(None);
    };
    if kind != "BASE TABLE" {
        return Ok(None);
    }
    type ColumnRow = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
    );
    let rows: Vec<ColumnRow> = conn
        .exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, COLLATION_NAME, CHARACTER_SET_NAME, \
             IS_NULLABLE, EXTRA \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await?;
    let columns = rows
        .into_iter()
        .map(
            |(name, column_type, data_type, collation, charset, nullable, extra)| {
                let extra = extra.to_ascii_uppercase();
                Column {
                    name,
                    column_type: column_type.to_ascii_lowercase(),
                    data_type: data_type.to_ascii_lowercase(),
                    collation,
                    charset,
                    nullable: nullable == "YES",
                    generated: ["GENERATED", "VIRTUAL", "PERSISTENT", "STORED"]
                        .iter()
                        .any(|w| extra.contains(w)),
                }
            },
        )
        .collect();
    let stats: Vec<(String, i64, String)> = conn
        .exec(
            "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (db, table),
        )
        .await?;
    let mut indexes: Vec<Index> = Vec::new();
    for (name, non_unique, column) in stats {
        match indexes.last_mut().filter(|i| i.name == name) {
            Some(index) => index.columns.push(column),
            None => indexes.push(Index {
                name,
                unique: non_unique == 0,
                columns: vec![column],
            }),
        }
    }
    Ok(Some(Described {
        columns,
        indexes,
        engine: engine.unwrap_or_default(),
    }))
}

/// Key column types whose index order is not the order of their values as the server
/// compares them in a range (`ENUM` sorts by its number, long texts by a prefix), or that
/// cannot be keys of a range walk at all.
const UNFIT_KEY_TYPES: [&str; 14] = [
    "enum",
    "set",
    "bit",
    "json",
    "geometry",
    "point",
    "linestring",
    "polygon",
    "tinytext",
    "text",
    "mediumtext",
    "longtext",
    "blob",
    "longblob",
];

impl Described {
    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The primary key, else the unique index with the fewest columns, all NOT NULL.
    fn key(&self) -> Option<&Index> {
        if let Some(pk) = self.indexes.iter().find(|i| i.name == "PRIMARY") {
            return Some(pk);
        }
        self.indexes
            .iter()
            .filter(|i| i.unique)
            .filter(|i| {
                i.columns
                    .iter()
                    .all(|c| self.column(c).is_some_and(|c| !c.nullable))
            })
            .min_by_key(|i| (i.columns.len(), i.name.clone()))
    }

    /// A unique index of exactly these columns.
    fn unique_on(&self, columns: &[String]) -> Option<&Index> {
        self.indexes
            .iter()
            .filter(|i| i.unique && i.columns == columns)
            .min_by_key(|i| i.name != "PRIMARY")
    }
}

/// How `pair` can be compared, or why it cannot (the `Err` is the reason, for people).
pub fn shape(pair: &Pair, copy: &Described, source: &Described) -> Result<Shape, String> {
    let Some(key) = copy.key() else {
        return Err(format!(
            "{} has no primary key and no unique index of NOT NULL columns: rows cannot be matched",
            pair.restored_name()
        ));
    };
    let Some(source_index) = source.unique_on(&key.columns) else {
        return Err(format!(
            "{} has no unique index on ({}), the key of the restored copy",
            pair.source_name(),
            key.columns.join(", ")
        ));
    };
    let mut problems = Vec::new();
    for c in &copy.columns {
        match source.column(&c.name) {
            None => problems.push(format!("`{}` is not in the source", c.name)),
            Some(s) if (&s.column_type, &s.collation) != (&c.column_type, &c.collation) => {
                problems.push(format!(
                    "`{}` is {} in the copy, {} in the source",
                    c.name,
                    describe_type(c),
                    describe_type(s)
                ));
            }
            Some(_) => {}
        }
    }
    for s in &source.columns {
        if copy.column(&s.name).is_none() {
            problems.push(format!("`{}` is not in the restored copy", s.name));
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "the columns differ ({}): the table was altered since the time",
            problems.join("; ")
        ));
    }
    let positions: Vec<usize> = key
        .columns
        .iter()
        .filter_map(|k| copy.columns.iter().position(|c| &c.name == k))
        .collect();
    if let Some(c) = positions
        .iter()
        .map(|&i| &copy.columns[i])
        .find(|c| UNFIT_KEY_TYPES.contains(&c.data_type.as_str()))
    {
        return Err(format!(
            "its key column `{}` is of type {}, which planrun does not walk in ranges",
            c.name, c.data_type
        ));
    }
    Ok(Shape {
        columns: copy.columns.clone(),
        key: positions,
        copy_index: key.name.clone(),
        source_index: source_index.name.clone(),
        source_engine: source.engine.clone(),
    })
}

fn describe_type(c: &Column) -> String {
    match &c.collation {
        Some(coll) => format!("{} {coll}", c.column_type),
        None => c.column_type.clone(),
    }
}

/// The base tables of a database, by name.
pub async fn tables(conn: &mut Conn, db: &str) -> Result<Vec<String>, Error> {
    Ok(conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (db,),
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str, nullable: bool) -> Column {
        Column {
            name: name.into(),
            column_type: ty.into(),
            data_type: ty.split('(').next().unwrap_or(ty).into(),
            collation: ty
                .starts_with("varchar")
                .then(|| "utf8mb4_general_ci".into()),
            charset: ty.starts_with("varchar").then(|| "utf8mb4".into()),
            nullable,
            generated: false,
        }
    }

    fn table(columns: Vec<Column>, indexes: &[(&str, bool, &[&str])]) -> Described {
        Described {
            columns,
            indexes: indexes
                .iter()
                .map(|(n, u, c)| Index {
                    name: (*n).into(),
                    unique: *u,
                    columns: c.iter().map(|s| (*s).to_owned()).collect(),
                })
                .collect(),
            engine: "InnoDB".into(),
        }
    }

    fn pair() -> Pair {
        Pair {
            db: "shop".into(),
            source: "orders".into(),
            restored_db: "shop".into(),
            restored: "orders_bak".into(),
        }
    }

    #[test]
    fn the_key_is_the_primary_key_else_a_unique_index_of_not_null_columns() {
        let cols = || vec![col("id", "int", false), col("code", "varchar(10)", false)];
        let pk = table(
            cols(),
            &[("PRIMARY", true, &["id"]), ("u", true, &["code"])],
        );
        assert_eq!(shape(&pair(), &pk, &pk).map(|s| s.key), Ok(vec![0]));
        let unique = table(
            cols(),
            &[("by_code", true, &["code"]), ("i", false, &["id"])],
        );
        let s = shape(&pair(), &unique, &unique).unwrap();
        assert_eq!((s.key, s.copy_index.as_str()), (vec![1], "by_code"));
        let nullable = table(
            vec![col("id", "int", true)],
            &[("u", true, &["id"]), ("i", false, &["id"])],
        );
        let why = shape(&pair(), &nullable, &nullable).unwrap_err();
        assert!(why.contains("no primary key"), "{why}");
    }

    #[test]
    fn a_changed_column_or_a_missing_key_on_the_source_is_not_comparable() {
        let copy = table(
            vec![col("id", "int", false), col("n", "int", true)],
            &[("PRIMARY", true, &["id"])],
        );
        let altered = table(
            vec![col("id", "int", false), col("n", "bigint", true)],
            &[("PRIMARY", true, &["id"])],
        );
        let why = shape(&pair(), &copy, &altered).unwrap_err();
        assert!(
            why.contains("`n` is int in the copy, bigint in the source"),
            "{why}"
        );
        let unkeyed = table(copy.columns.clone(), &[("i", false, &["id"])]);
        let why = shape(&pair(), &copy, &unkeyed).unwrap_err();
        assert!(why.contains("no unique index on (id)"), "{why}");
    }
}
