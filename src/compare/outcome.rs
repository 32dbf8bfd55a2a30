//! What `compare` found, per table: the counts, the key, a bounded sample of each kind of
//! difference, or why the table could not be compared. The same document is kept beside the
//! plan's journal (`NAME.compare.json`) for the incident record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::cell::Cell;
use super::schema::Shape;
use super::walk::{Counts, Difference, Sink};
use super::{Error, Pair};

/// The first field of the kept document.
pub const FORMAT: &str = "planrun-compare-1";

/// Rows of each kind a table's sample holds by default.
pub const DEFAULT_SAMPLE: usize = 10;

/// A row for people and scripts: column → value as text (`null` for NULL).
pub type RowText = serde_json::Map<String, serde_json::Value>;

/// A changed row: its key, the columns that differ, both versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedRow {
    pub key: RowText,
    pub columns: Vec<String>,
    pub restored: RowText,
    pub now: RowText,
}

/// The first rows of each kind, in key order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub deleted: Vec<RowText>,
    pub inserted: Vec<RowText>,
    pub changed: Vec<ChangedRow>,
}

/// One restored table compared with its source (JSON: `compare --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableOutcome {
    pub instance: String,
    /// `db.table` now.
    pub source: String,
    /// `db.table` as of the time.
    pub restored: String,
    /// The key's columns; `null` when the table is not comparable.
    pub key: Option<Vec<String>>,
    pub rows_restored: Option<u64>,
    pub rows_now: Option<u64>,
    pub deleted: Option<u64>,
    pub inserted: Option<u64>,
    pub changed: Option<u64>,
    /// Why it was not compared (no key, altered, missing, an error); `null` when it was.
    pub not_comparable: Option<String>,
    pub sample: Samples,
    /// Ranges digested and those read row by row.
    pub chunks: Option<u64>,
    pub differing_chunks: Option<u64>,
}

impl TableOutcome {
    /// A table that was not compared, and why.
    pub fn not_comparable(instance: &str, pair: &Pair, why: String) -> Self {
        Self {
            instance: instance.to_owned(),
            source: pair.source_name(),
            restored: pair.restored_name(),
            key: None,
            rows_restored: None,
            rows_now: None,
            deleted: None,
            inserted: None,
            changed: None,
            not_comparable: Some(why),
            sample: Samples::default(),
            chunks: None,
            differing_chunks: None,
        }
    }

    /// A table compared.
    pub fn compared(
        instance: &str,
        pair: &Pair,
        shape: &Shape,
        counts: &Counts,
        sample: Samples,
    ) -> Self {
        Self {
            instance: instance.to_owned(),
            source: pair.source_name(),
            restored: pair.restored_name(),
            key: Some(shape.key_names()),
            rows_restored: Some(counts.rows_restored),
            rows_now: Some(counts.rows_now),
            deleted: Some(counts.deleted),
            inserted: Some(counts.inserted),
            changed: Some(counts.changed),
            not_comparable: None,
            sample,
            chunks: Some(counts.chunks),
            differing_chunks: Some(counts.differing_chunks),
        }
    }

    pub fn differences(&self) -> u64 {
        self.deleted.unwrap_or(0) + self.inserted.unwrap_or(0) + self.changed.unwrap_or(0)
    }
}

/// Keeps the first `limit` rows of each kind as text.
pub struct Sampler<'a> {
    shape: &'a Shape,
    limit: usize,
    pub samples: Samples,
}

impl<'a> Sampler<'a> {
    pub fn new(shape: &'a Shape, limit: usize) -> Self {
        Self {
            shape,
            limit,
            samples: Samples::default(),
        }
    }

    fn text(&self, row: &[Cell], only: Option<&[usize]>) -> RowText {
        row_text(
            self.shape.columns.iter().map(|c| c.name.as_str()),
            row,
            only,
        )
    }
}

/// `row` as text under the names of its columns (`only`: just those positions).
pub fn row_text<'a>(
    names: impl Iterator<Item = &'a str>,
    row: &[Cell],
    only: Option<&[usize]>,
) -> RowText {
    let mut out = RowText::new();
    for (i, name) in names.enumerate() {
        if only.is_some_and(|o| !o.contains(&i)) {
            continue;
        }
        let v = row
            .get(i)
            .filter(|v| !v.is_null())
            .map_or(serde_json::Value::Null, |v| v.text().into());
        out.insert(name.to_owned(), v);
    }
    out
}

impl Sink for Sampler<'_> {
    fn take(&mut self, d: Difference<'_>) -> Result<(), Error> {
        match d {
            Difference::Deleted(row) if self.samples.deleted.len() < self.limit => {
                self.samples.deleted.push(self.text(row, None));
            }
            Difference::Inserted(row) if self.samples.inserted.len() < self.limit => {
                self.samples.inserted.push(self.text(row, None));
            }
            Difference::Changed {
                restored,
                now,
                columns,
            } if self.samples.changed.len() < self.limit => {
                let changed = ChangedRow {
                    key: self.text(restored, Some(&self.shape.key)),
                    columns: columns
                        .iter()
                        .map(|&i| self.shape.columns[i].name.clone())
                        .collect(),
                    restored: self.text(restored, None),
                    now: self.text(now, None),
                };
                self.samples.changed.push(changed);
            }
            _ => {}
        }
        Ok(())
    }
}

/// A whole comparison, as `compare` keeps it for the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Always [`FORMAT`].
    pub format: String,
    pub plan: String,
    /// The hash of the plan whose apply made the copies.
    pub plan_hash: String,
    pub compared_at: DateTime<Utc>,
    pub tables: Vec<TableOutcome>,
    /// Instances that could not be compared at all (unreachable, not restored), with why.
    pub instances_not_compared: Vec<(String, String)>,
}

impl Comparison {
    pub fn differences(&self) -> u64 {
        self.tables.iter().map(TableOutcome::differences).sum()
    }

    /// Tables that could not be compared, and instances not compared at all.
    pub fn not_comparable(&self) -> usize {
        self.tables
            .iter()
            .filter(|t| t.not_comparable.is_some())
            .count()
            + self.instances_not_compared.len()
    }
}
