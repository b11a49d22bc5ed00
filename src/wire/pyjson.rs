//! A brine value as the JSON text the runtime's `codec.encode_local` writes for it, byte
//! for byte: Go shows results as that text (`Value.String`, the seed API), so the hot path
//! and the general one must not differ. Python's `json.dumps` rules: `repr` of floats (by
//! CPython itself), ASCII-only strings, compact separators.

use super::brine::Value;
use super::pyfloat;
use pyo3::Python;
use std::fmt::Write;

/// Strings longer than this (in characters) travel as UTF-8 buffers, `{"$str":i}`:
/// wireformat.BIG_STR, which a test checks.
pub(crate) const BIG_STR: usize = 4096;

/// Tuples this long or longer are packed or pickled by the general path (wireformat's
/// PICKLE_MIN, which a test checks): the hot path leaves them to it.
pub(crate) const PICKLE_MIN: usize = 64;

/// Whether `value` holds a tuple of PICKLE_MIN items or more, which only the general path
/// encodes (packed or pickled).
pub fn holds_long_tuple(value: &Value<'_>) -> bool {
    match value {
        Value::Tuple(items) => items.len() >= PICKLE_MIN || items.iter().any(holds_long_tuple),
        _ => false,
    }
}

/// Appends `value`: tuples as arrays, bytes as `{"$bytes":i}` with the bytes appended to
/// `buffers`, non-finite floats as `$float` tags. `None` only when CPython is out of memory.
/// The buffers are views of the message: the caller copies each once, where it goes.
pub fn write<'a>(
    py: Python<'_>,
    value: &Value<'a>,
    out: &mut String,
    buffers: &mut Vec<&'a [u8]>,
) -> Option<()> {
    match value {
        Value::None => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => write!(out, "{i}").expect("writing to a String"),
        Value::Long(digits) => out.push_str(digits),
        Value::Float(f) if f.is_finite() => out.push_str(&pyfloat::repr(py, *f)?),
        Value::Float(f) => {
            let name = if f.is_nan() {
                "nan"
            } else if *f > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            write!(out, "{{\"$float\":\"{name}\"}}").expect("writing to a String");
        }
        Value::Str(s) if s.chars().count() > BIG_STR => {
            write!(out, "{{\"$str\":{}}}", buffers.len()).expect("writing to a String");
            buffers.push(s.as_bytes());
        }
        Value::Str(s) => string(s, out),
        Value::Bytes(b) => {
            write!(out, "{{\"$bytes\":{}}}", buffers.len()).expect("writing to a String");
            buffers.push(b);
        }
        Value::Tuple(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(py, item, out, buffers)?;
            }
            out.push(']');
        }
    }
    Some(())
}

/// A JSON string as `json.dumps` writes it (ensure_ascii): printable ASCII as itself, the
/// usual short escapes, and everything else as \uXXXX (surrogate pairs beyond the BMP).
fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}").expect("writing to a String");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: Value<'_>) -> String {
        crate::runtime::init().unwrap();
        Python::attach(|py| {
            let mut out = String::new();
            write(py, &value, &mut out, &mut Vec::new()).unwrap();
            out
        })
    }

    #[test]
    fn floats_as_python_repr() {
        // Expected: repr(x) in CPython 3.13.
        for (x, text) in [
            (4.0, "4.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (123.456, "123.456"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.5e-5, "2.5e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e16, "1.2345e+16"),
            (-1.5e-7, "-1.5e-07"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789.125, "123456789.125"),
        ] {
            assert_eq!(json(Value::Float(x)), text, "{x:e}");
        }
    }

    #[test]
    fn strings_as_json_dumps() {
        // Expected: json.dumps(s) in CPython 3.13.
        assert_eq!(json(Value::Str("plain")), r#""plain""#);
        assert_eq!(json(Value::Str("a\"b\\c\n\t\r")), r#""a\"b\\c\n\t\r""#);
        assert_eq!(
            json(Value::Str("\u{8}\u{c}\u{1}\u{7f}")),
            r#""\b\f\u0001\u007f""#
        );
        assert_eq!(json(Value::Str("hé€😀")), r#""h\u00e9\u20ac\ud83d\ude00""#);
    }

    #[test]
    fn containers_bytes_and_non_finite_floats() {
        crate::runtime::init().unwrap();
        let (mut out, mut buffers) = (String::new(), Vec::new());
        let value = Value::Tuple(vec![
            Value::Bytes(b"xy"),
            Value::Float(f64::NAN),
            Value::Float(f64::NEG_INFINITY),
            Value::Tuple(vec![Value::None, Value::Bool(true), Value::Int(-3)]),
            Value::Long("123456789012345678901234567890"),
        ]);
        Python::attach(|py| write(py, &value, &mut out, &mut buffers)).unwrap();
        assert_eq!(
            out,
            r#"[{"$bytes":0},{"$float":"nan"},{"$float":"-inf"},[null,true,-3],123456789012345678901234567890]"#
        );
        assert_eq!(buffers, [b"xy"]);
    }
}
