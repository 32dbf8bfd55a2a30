//! One column value as the server sent it over the binary protocol (typed: integers, floats,
//! dates and times keep their kind; everything else is bytes), and its three renderings: an
//! exact JSON form for saved merges, text for people, and an SQL literal for `--format sql`.
//! Values are compared as they came (bytes for bytes): a change of case under a
//! case-insensitive collation is a change.

use std::fmt::Write as _;

use mysql_async::Value;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::json;

/// A value of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell(pub Value);

impl Cell {
    pub fn is_null(&self) -> bool {
        self.0 == Value::NULL
    }

    /// For people: text as it is, other bytes as `0x…`, dates as `YYYY-MM-DD HH:MM:SS`.
    pub fn text(&self) -> String {
        match &self.0 {
            Value::NULL => "NULL".to_owned(),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => s.to_owned(),
                Err(_) => format!("0x{}", hex::encode(b)),
            },
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Double(d) => d.to_string(),
            Value::Date(..) => date_text(&self.0),
            Value::Time(..) => time_text(&self.0),
        }
    }

    /// As an SQL literal (the server's default `sql_mode`: backslash escapes).
    pub fn sql(&self) -> String {
        match &self.0 {
            Value::NULL => "NULL".to_owned(),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => quote_text(s),
                Err(_) => format!("X'{}'", hex::encode_upper(b)),
            },
            Value::Date(..) => format!("'{}'", date_text(&self.0)),
            Value::Time(..) => format!("'{}'", time_text(&self.0)),
            _ => self.text(),
        }
    }
}

fn date_text(v: &Value) -> String {
    let Value::Date(y, mo, d, h, mi, s, us) = *v else {
        return String::new();
    };
    let mut out = format!("{y:04}-{mo:02}-{d:02}");
    if (h, mi, s, us) != (0, 0, 0, 0) {
        let _ = write!(out, " {h:02}:{mi:02}:{s:02}");
        if us > 0 {
            let _ = write!(out, ".{us:06}");
        }
    }
    out
}

fn time_text(v: &Value) -> String {
    let Value::Time(neg, days, h, mi, s, us) = *v else {
        return String::new();
    };
    let hours = u64::from(days) * 24 + u64::from(h);
    let sign = if neg { "-" } else { "" };
    let mut out = format!("{sign}{hours:02}:{mi:02}:{s:02}");
    if us > 0 {
        let _ = write!(out, ".{us:06}");
    }
    out
}

/// `'text'` with quotes, backslashes and the characters the server's parser treats specially
/// escaped.
fn quote_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The JSON form: `null`, a string (UTF-8 bytes), `{"hex": …}` (other bytes), `{"i": n}`,
/// `{"u": n}`, `{"f": x}` (FLOAT), `{"d": x}` (DOUBLE), `{"date": [y, mo, d, h, mi, s, µs]}`,
/// `{"time": [negative, days, h, mi, s, µs]}`. Exact: it reads back to the very value.
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = match &self.0 {
            Value::NULL => serde_json::Value::Null,
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(text) => json!(text),
                Err(_) => json!({"hex": hex::encode(b)}),
            },
            Value::Int(i) => json!({"i": i}),
            Value::UInt(u) => json!({"u": u}),
            Value::Float(f) => json!({"f": f64::from(*f)}),
            Value::Double(d) => json!({"d": d}),
            Value::Date(y, mo, d, h, mi, sec, us) => json!({"date": [y, mo, d, h, mi, sec, us]}),
            Value::Time(neg, days, h, mi, sec, us) => {
                json!({"time": [neg, days, h, mi, sec, us]})
            }
        };
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        decode(&v)
            .map(Cell)
            .ok_or_else(|| D::Error::custom(format!("not a value: {v}")))
    }
}

fn decode(v: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    let o = match v {
        J::Null => return Some(Value::NULL),
        J::String(s) => return Some(Value::Bytes(s.as_bytes().to_vec())),
        J::Object(o) if o.len() == 1 => o,
        _ => return None,
    };
    let (tag, x) = o.iter().next()?;
    let n = |i: usize| x.get(i).and_then(J::as_u64);
    Some(match tag.as_str() {
        "hex" => Value::Bytes(hex::decode(x.as_str()?).ok()?),
        "i" => Value::Int(x.as_i64()?),
        "u" => Value::UInt(x.as_u64()?),
        #[allow(clippy::cast_possible_truncation)]
        "f" => Value::Float(x.as_f64()? as f32),
        "d" => Value::Double(x.as_f64()?),
        "date" => Value::Date(
            u16::try_from(n(0)?).ok()?,
            u8::try_from(n(1)?).ok()?,
            u8::try_from(n(2)?).ok()?,
            u8::try_from(n(3)?).ok()?,
            u8::try_from(n(4)?).ok()?,
            u8::try_from(n(5)?).ok()?,
            u32::try_from(n(6)?).ok()?,
        ),
        "time" => Value::Time(
            x.get(0)?.as_bool()?,
            u32::try_from(n(1)?).ok()?,
            u8::try_from(n(2)?).ok()?,
            u8::try_from(n(3)?).ok()?,
            u8::try_from(n(4)?).ok()?,
            u32::try_from(n(5)?).ok()?,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_reads_back_as_it_was_written() {
        let values = [
            Value::NULL,
            Value::Bytes(b"caf\xc3\xa9 'q' \\".to_vec()),
            Value::Bytes(vec![0, 255, 1]),
            Value::Int(-9_007_199_254_740_993),
            Value::UInt(u64::MAX),
            Value::Float(0.1),
            Value::Double(0.1 + 0.2),
            Value::Date(2026, 11, 20, 3, 15, 0, 250),
            Value::Time(true, 2, 3, 4, 5, 6),
        ];
        for v in values {
            let text = serde_json::to_string(&Cell(v.clone())).unwrap();
            let back: Cell = serde_json::from_str(&text).unwrap();
            assert_eq!(back.0, v, "{text}");
        }
        assert!(serde_json::from_str::<Cell>(r#"{"x": 1}"#).is_err());
    }

    #[test]
    fn literals_escape_what_the_parser_reads_specially() {
        assert_eq!(
            Cell(Value::Bytes(b"it's \\ \n".to_vec())).sql(),
            r"'it''s \\ \n'"
        );
        assert_eq!(Cell(Value::Bytes(vec![0xff, 0])).sql(), "X'FF00'");
        assert_eq!(Cell(Value::NULL).sql(), "NULL");
        assert_eq!(Cell(Value::Int(-3)).sql(), "-3");
        assert_eq!(
            Cell(Value::Date(2026, 1, 2, 0, 0, 0, 0)).sql(),
            "'2026-01-02'"
        );
        assert_eq!(
            Cell(Value::Time(true, 1, 2, 3, 4, 5)).text(),
            "-26:03:04.000005"
        );
    }
}
