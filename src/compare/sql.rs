//! The statements of a comparison, written once here: the walk of the copy's key in ranges,
//! each range's digest on both sides, and the two joins that list a differing range's rows.
//! Identifiers are always quoted; values are always parameters.

use mysql_async::Value;

use super::Pair;
use super::schema::{Column, Shape};
use crate::mysql::quote;

/// A range of the key: after `lower` (exclusive), up to `upper` (inclusive); `None` is open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Range {
    pub lower: Option<Vec<Value>>,
    pub upper: Option<Vec<Value>>,
}

/// A statement and its parameters.
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
}

/// `` `db`.`table` ``.
pub fn table(db: &str, name: &str) -> String {
    format!("{}.{}", quote(db), quote(name))
}

/// The placeholder for a key column: DECIMAL values come back as text, and text compared
/// with a DECIMAL column is compared as a double; the cast keeps it exact.
fn placeholder(shape: &Shape, column: usize) -> String {
    let c = &shape.columns[column];
    if c.data_type == "decimal" {
        let ty = c
            .column_type
            .replace(" unsigned", "")
            .replace(" zerofill", "");
        format!("CAST(? AS {})", ty.to_ascii_uppercase())
    } else {
        "?".to_owned()
    }
}

/// `(k1, k2) > (v1, v2)` (or `<=`) written out so that the range optimiser uses the index:
/// `k1 > v1 OR (k1 = v1 AND k2 > v2)`.
fn compare(shape: &Shape, alias: &str, values: &[Value], after: bool) -> Statement {
    let strict = if after { ">" } else { "<" };
    let mut terms = Vec::new();
    let mut params = Vec::new();
    let n = shape.key.len();
    for depth in 0..n {
        let mut parts = Vec::new();
        for (j, &col) in shape.key[..=depth].iter().enumerate() {
            let name = format!("{alias}.{}", quote(&shape.columns[col].name));
            let op = if j < depth { "=" } else { strict };
            parts.push(format!("{name} {op} {}", placeholder(shape, col)));
            params.push(values[j].clone());
        }
        terms.push(format!("({})", parts.join(" AND ")));
    }
    if !after {
        // Inclusive upper bound: the key itself.
        let parts: Vec<String> = shape
            .key
            .iter()
            .enumerate()
            .map(|(j, &col)| {
                params.push(values[j].clone());
                format!(
                    "{alias}.{} = {}",
                    quote(&shape.columns[col].name),
                    placeholder(shape, col)
                )
            })
            .collect();
        terms.push(format!("({})", parts.join(" AND ")));
    }
    Statement {
        sql: format!("({})", terms.join(" OR ")),
        params,
    }
}

/// The range as a condition on `alias`.
pub fn within(shape: &Shape, alias: &str, range: &Range) -> Statement {
    let mut sql = vec!["1=1".to_owned()];
    let mut params = Vec::new();
    for (bound, after) in [(&range.lower, true), (&range.upper, false)] {
        if let Some(values) = bound {
            let s = compare(shape, alias, values, after);
            sql.push(s.sql);
            params.extend(s.params);
        }
    }
    Statement {
        sql: sql.join(" AND "),
        params,
    }
}

fn key_list(shape: &Shape, alias: &str) -> String {
    shape
        .key
        .iter()
        .map(|&i| format!("{alias}.{}", quote(&shape.columns[i].name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_list(shape: &Shape, alias: &str) -> String {
    shape
        .columns
        .iter()
        .map(|c| format!("{alias}.{}", quote(&c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The key `rows` rows after `lower` on the copy (the end of the next range), if there is one.
pub fn boundary(pair: &Pair, shape: &Shape, lower: Option<&[Value]>, rows: u64) -> Statement {
    let range = Range {
        lower: lower.map(<[Value]>::to_vec),
        upper: None,
    };
    let cond = within(shape, "t", &range);
    Statement {
        sql: format!(
            "SELECT {} FROM {} AS t FORCE INDEX ({}) WHERE {} ORDER BY {} LIMIT 1 OFFSET {}",
            key_list(shape, "t"),
            table(&pair.restored_db, &pair.restored),
            quote(&shape.copy_index),
            cond.sql,
            key_list(shape, "t"),
            rows.saturating_sub(1)
        ),
        params: cond.params,
    }
}

/// How a row's digest is computed: 64 bits either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// `CRC32(image) << 32 | CRC32C(image)`: two polynomials, cheap (MariaDB 10.8+).
    Crc,
    /// The first 64 bits of `MD5(image)`: every MySQL and MariaDB.
    Md5,
}

/// Types whose text form is digits, signs, a decimal point, an exponent or date and time
/// punctuation: it never holds the separator `#` and is never the NULL marker `N`, so it needs
/// no length in front.
const PLAIN_TYPES: &[&str] = &[
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
    "decimal",
    "numeric",
    "float",
    "double",
    "real",
    "date",
    "datetime",
    "timestamp",
    "time",
    "year",
];

/// A row's image, written so that no two different rows give the same string: the values
/// joined by `#`, a NULL written `N`, and every value that may hold any byte (text, binary,
/// BIT, ENUM, JSON, ...) written as its length, `:` and itself — so where each value ends is
/// never in doubt. These free values come after the plain ones, and the last of them is
/// written bare: nothing follows it, so it needs no length, and when it is NULL `CONCAT_WS`
/// leaves it out together with its `#`, which an empty value keeps (bare only when another
/// value precedes it or it cannot be NULL). FLOAT is widened to DOUBLE first, which prints
/// every digit (a FLOAT prints six). The literals are written in the text's own character set
/// so that nothing is converted (a conversion per value made the image a third dearer,
/// BENCHMARKS.md); when the table mixes collations, text is taken as bytes (CONCAT would
/// refuse to mix them) and so are the literals. Lengths and NULL markers only where needed:
/// the image is most of a digest's cost.
fn image(shape: &Shape, alias: &str) -> String {
    let mut texts = shape.columns.iter().filter(|c| c.is_text());
    let first = texts.next();
    let mixed = first.is_some_and(|f| texts.any(|c| c.collation != f.collation));
    let charset = first
        .and_then(|c| c.charset.as_deref())
        .filter(|cs| !mixed && cs.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or("binary");
    let literal = |text: &str| format!("_{charset}'{text}'");
    let value = |c: &Column| {
        let name = format!("{alias}.{}", quote(&c.name));
        if c.data_type == "float" {
            format!("({name} + 0e0)")
        } else if mixed && c.is_text() {
            format!("CAST({name} AS BINARY)")
        } else {
            name
        }
    };
    let marked = |c: &Column, v: String| {
        if c.nullable {
            format!("IFNULL({v}, {})", literal("N"))
        } else {
            v
        }
    };
    let (plain, free): (Vec<&Column>, Vec<&Column>) = shape
        .columns
        .iter()
        .partition(|c| PLAIN_TYPES.contains(&c.data_type.as_str()));
    let mut values: Vec<String> = plain.iter().map(|c| marked(c, value(c))).collect();
    for (i, c) in free.iter().enumerate() {
        let v = value(c);
        if i + 1 == free.len() && (!values.is_empty() || !c.nullable) {
            values.push(v);
        } else {
            values.push(marked(
                c,
                format!("CONCAT(LENGTH({v}), {}, {v})", literal(":")),
            ));
        }
    }
    format!("CONCAT_WS({}, {})", literal("#"), values.join(", "))
}

/// One row's 64-bit hash.
fn row_hash(shape: &Shape, alias: &str, hash: Hash) -> String {
    let image = image(shape, alias);
    match hash {
        Hash::Crc => format!("(CRC32({image}) << 32 | CRC32C({image}))"),
        Hash::Md5 => format!("CAST(CONV(LEFT(MD5({image}), 16), 16, 10) AS UNSIGNED)"),
    }
}

/// Rows and a 64-bit digest (the XOR of every row's hash) of the range on one side: the
/// copy (`copy`) or the source.
pub fn digest(pair: &Pair, shape: &Shape, range: &Range, copy: bool, hash: Hash) -> Statement {
    let (db, name, index) = if copy {
        (&pair.restored_db, &pair.restored, &shape.copy_index)
    } else {
        (&pair.db, &pair.source, &shape.source_index)
    };
    let cond = within(shape, "t", range);
    Statement {
        sql: format!(
            "SELECT COUNT(*), IFNULL(BIT_XOR({}), 0) FROM {} AS t FORCE INDEX ({}) WHERE {}",
            row_hash(shape, "t", hash),
            table(db, name),
            quote(index),
            cond.sql
        ),
        params: cond.params,
    }
}

/// For a one-column key: the next `rows` rows of the copy after `lower`, in one pass: their
/// count, digest and last key (the range's end). Answers `(count, digest, last key)`.
pub fn copy_chunk(
    pair: &Pair,
    shape: &Shape,
    lower: Option<&[Value]>,
    rows: u64,
    hash: Hash,
) -> Statement {
    let range = Range {
        lower: lower.map(<[Value]>::to_vec),
        upper: None,
    };
    let cond = within(shape, "t", &range);
    let key = key_list(shape, "t");
    Statement {
        sql: format!(
            "SELECT COUNT(*), IFNULL(BIT_XOR(c.h), 0), MAX(c.k) FROM (SELECT {key} AS k, {} AS h \
             FROM {} AS t FORCE INDEX ({}) WHERE {} ORDER BY {key} LIMIT {rows}) AS c",
            row_hash(shape, "t", hash),
            table(&pair.restored_db, &pair.restored),
            quote(&shape.copy_index),
            cond.sql,
        ),
        params: cond.params,
    }
}

/// The copy's key matched on the source's: `c.k1 = s.k1 AND ...` (the server's collation
/// decides what is the same key, as the unique index does).
fn join_on(shape: &Shape) -> String {
    shape
        .key
        .iter()
        .map(|&i| {
            let n = quote(&shape.columns[i].name);
            format!("c.{n} = s.{n}")
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Every column equal byte for byte (text compared as bytes, not by its collation).
fn same_row(shape: &Shape) -> String {
    shape
        .columns
        .iter()
        .map(|c| {
            let n = quote(&c.name);
            if c.is_text() {
                format!("CAST(c.{n} AS BINARY) <=> CAST(s.{n} AS BINARY)")
            } else {
                format!("c.{n} <=> s.{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The copy's rows of the range that are not on the source as they are: each with the
/// source's row of the same key (all NULL when there is none: deleted since). `filter` (a
/// merge's `--where`) is a condition on the copy's columns.
pub fn deleted_or_changed(
    pair: &Pair,
    shape: &Shape,
    range: &Range,
    filter: Option<&str>,
) -> Statement {
    let cond = within(shape, "c", range);
    let first_key = quote(&shape.columns[shape.key[0]].name);
    let copy = match filter {
        None => format!(
            "{} AS c FORCE INDEX ({})",
            table(&pair.restored_db, &pair.restored),
            quote(&shape.copy_index)
        ),
        Some(f) => format!(
            "(SELECT * FROM {} WHERE ({f})) AS c",
            table(&pair.restored_db, &pair.restored)
        ),
    };
    Statement {
        sql: format!(
            "SELECT {}, {} FROM {copy} LEFT JOIN {} AS s FORCE INDEX ({}) ON {} \
             WHERE {} AND (s.{first_key} IS NULL OR NOT ({})) ORDER BY {}",
            column_list(shape, "c"),
            column_list(shape, "s"),
            table(&pair.db, &pair.source),
            quote(&shape.source_index),
            join_on(shape),
            cond.sql,
            same_row(shape),
            key_list(shape, "c"),
        ),
        params: cond.params,
    }
}

/// The source's rows of the range whose key is not in the copy (inserted since).
pub fn inserted(pair: &Pair, shape: &Shape, range: &Range) -> Statement {
    let cond = within(shape, "s", range);
    let first_key = quote(&shape.columns[shape.key[0]].name);
    Statement {
        sql: format!(
            "SELECT {} FROM {} AS s FORCE INDEX ({}) LEFT JOIN {} AS c FORCE INDEX ({}) ON {} \
             WHERE {} AND c.{first_key} IS NULL ORDER BY {}",
            column_list(shape, "s"),
            table(&pair.db, &pair.source),
            quote(&shape.source_index),
            table(&pair.restored_db, &pair.restored),
            quote(&shape.copy_index),
            join_on(shape),
            cond.sql,
            key_list(shape, "s"),
        ),
        params: cond.params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(key: Vec<usize>) -> Shape {
        let col = |n: &str, t: &str| Column {
            name: n.into(),
            column_type: t.into(),
            data_type: t.split('(').next().unwrap_or(t).into(),
            collation: None,
            charset: None,
            nullable: false,
            generated: false,
        };
        Shape {
            columns: vec![col("a", "int"), col("b", "decimal(10,2)"), col("c", "int")],
            key,
            copy_index: "PRIMARY".into(),
            source_index: "PRIMARY".into(),
            source_engine: "InnoDB".into(),
        }
    }

    #[test]
    fn a_composite_range_is_written_out_for_the_index() {
        let range = Range {
            lower: Some(vec![Value::Int(1), Value::Bytes(b"2.50".to_vec())]),
            upper: None,
        };
        let s = within(&shape(vec![0, 1]), "t", &range);
        assert_eq!(
            s.sql,
            "1=1 AND ((t.`a` > ?) OR (t.`a` = ? AND t.`b` > CAST(? AS DECIMAL(10,2))))"
        );
        assert_eq!(s.params.len(), 3);
        let upper = Range {
            lower: None,
            upper: Some(vec![Value::Int(9)]),
        };
        let s = within(&shape(vec![0]), "t", &upper);
        assert_eq!(s.sql, "1=1 AND ((t.`a` < ?) OR (t.`a` = ?))");
    }
}

#[cfg(test)]
mod image_tests {
    use super::*;

    fn text(name: &str, charset: &str, nullable: bool) -> Column {
        Column {
            name: name.into(),
            column_type: "varchar(10)".into(),
            data_type: "varchar".into(),
            collation: Some(format!("{charset}_bin")),
            charset: Some(charset.into()),
            nullable,
            generated: false,
        }
    }

    fn number(name: &str, nullable: bool) -> Column {
        Column {
            name: name.into(),
            column_type: "int".into(),
            data_type: "int".into(),
            collation: None,
            charset: None,
            nullable,
            generated: false,
        }
    }

    fn of(columns: Vec<Column>) -> String {
        let shape = Shape {
            columns,
            key: vec![0],
            copy_index: "PRIMARY".into(),
            source_index: "PRIMARY".into(),
            source_engine: "InnoDB".into(),
        };
        image(&shape, "t")
    }

    #[test]
    fn plain_values_first_the_last_free_value_bare_literals_in_the_texts_charset() {
        let image = of(vec![
            text("s", "latin1", false),
            number("k", false),
            text("u", "latin1", true),
            number("n", true),
        ]);
        assert_eq!(
            image,
            "CONCAT_WS(_latin1'#', t.`k`, IFNULL(t.`n`, _latin1'N'), \
             CONCAT(LENGTH(t.`s`), _latin1':', t.`s`), t.`u`)"
        );
    }

    #[test]
    fn mixed_charsets_are_bytes_and_a_lone_nullable_free_value_keeps_its_marker() {
        let image = of(vec![
            text("s", "latin1", false),
            text("u", "utf8mb4", false),
        ]);
        assert_eq!(
            image,
            "CONCAT_WS(_binary'#', CONCAT(LENGTH(CAST(t.`s` AS BINARY)), _binary':', \
             CAST(t.`s` AS BINARY)), CAST(t.`u` AS BINARY))"
        );
        // Nothing before it: a NULL and an empty value would both leave nothing.
        let image = of(vec![text("u", "utf8mb4", true)]);
        assert_eq!(
            image,
            "CONCAT_WS(_utf8mb4'#', IFNULL(CONCAT(LENGTH(t.`u`), _utf8mb4':', t.`u`), _utf8mb4'N'))"
        );
    }
}
