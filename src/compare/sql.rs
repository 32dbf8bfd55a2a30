//! The statements of a comparison, written once here: the walk of the copy's key in ranges,
//! each range's digest on both sides, and the two joins that list a differing range's rows.
//! Identifiers are always quoted; values are always parameters.

use mysql_async::Value;

use super::Pair;
use super::schema::Shape;
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

/// A row's image, hashed: each column as its length and bytes (`N` for NULL), so that no
/// two different rows give the same string; FLOAT widened to DOUBLE first, which prints
/// every digit (a FLOAT prints only six).
fn image(shape: &Shape, alias: &str) -> String {
    let parts: Vec<String> = shape
        .columns
        .iter()
        .map(|c| {
            let name = format!("{alias}.{}", quote(&c.name));
            let value = if c.data_type == "float" {
                format!("CAST({name} + 0e0 AS BINARY)")
            } else {
                format!("CAST({name} AS BINARY)")
            };
            format!("IFNULL(CONCAT(LENGTH({value}), ':', {value}), 'N')")
        })
        .collect();
    format!("CONCAT({})", parts.join(", "))
}

/// Rows and a 64-bit digest of the range on both sides, in one statement: two rows,
/// `(0, copy count, copy digest)` and `(1, source count, source digest)`. The digest is the
/// XOR of the first 64 bits of each row's MD5.
pub fn digests(pair: &Pair, shape: &Shape, range: &Range) -> Statement {
    let mut params = Vec::new();
    let mut side = |n: u8, db: &str, name: &str, index: &str| {
        let cond = within(shape, "t", range);
        params.extend(cond.params);
        format!(
            "SELECT {n}, COUNT(*), IFNULL(BIT_XOR(CAST(CONV(LEFT(MD5({}), 16), 16, 10) AS UNSIGNED)), 0) \
             FROM {} AS t FORCE INDEX ({}) WHERE {}",
            image(shape, "t"),
            table(db, name),
            quote(index),
            cond.sql
        )
    };
    let copy = side(0, &pair.restored_db, &pair.restored, &shape.copy_index);
    let source = side(1, &pair.db, &pair.source, &shape.source_index);
    Statement {
        sql: format!("{copy} UNION ALL {source}"),
        params,
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
    use crate::compare::schema::Column;

    fn shape(key: Vec<usize>) -> Shape {
        let col = |n: &str, t: &str| Column {
            name: n.into(),
            column_type: t.into(),
            data_type: t.split('(').next().unwrap_or(t).into(),
            collation: None,
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
