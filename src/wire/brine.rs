//! RPyC's brine serialization (rpyc/core/brine.py), the part a plain call needs: Go's plain
//! JSON arguments encoded as brine, and brine replies read back (pyjson.rs writes them for
//! Go). Anything outside that part is `None`, and the caller leaves it to RPyC itself.

use super::json::Json;
use super::pyfloat;
use pyo3::Python;

// Tags, as brine.py names them.
const NONE: u8 = 0x00;
const EMPTY_STR: u8 = 0x01;
const EMPTY_TUPLE: u8 = 0x02;
const TRUE: u8 = 0x03;
const FALSE: u8 = 0x04;
const UNICODE: u8 = 0x08;
const STR1: u8 = 0x0a;
const STR4: u8 = 0x0d;
const STR_L1: u8 = 0x0e;
const STR_L4: u8 = 0x0f;
const TUP1: u8 = 0x10;
const TUP4: u8 = 0x13;
const TUP_L1: u8 = 0x14;
const TUP_L4: u8 = 0x15;
const INT_L1: u8 = 0x16;
const INT_L4: u8 = 0x17;
const FLOAT: u8 = 0x18;
/// Integers in [-0x30, 0xa0) are one byte: the integer plus 0x50.
const IMM_BIAS: i64 = 0x50;
const IMM_MIN: i64 = -0x30;
const IMM_END: i64 = 0xa0;

/// A brine message being written.
#[derive(Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub fn tuple(&mut self, len: usize) {
        match len {
            0 => self.bytes.push(EMPTY_TUPLE),
            1..=4 => self.bytes.push(TUP1 + (len as u8 - 1)),
            5..=255 => self.bytes.extend_from_slice(&[TUP_L1, len as u8]),
            _ => {
                self.bytes.push(TUP_L4);
                self.bytes.extend_from_slice(&(len as u32).to_be_bytes());
            }
        }
    }

    pub fn int(&mut self, value: i64) {
        if (IMM_MIN..IMM_END).contains(&value) {
            self.bytes.push((value + IMM_BIAS) as u8);
        } else {
            self.long(&value.to_string());
        }
    }

    /// An integer as its decimal text, which is how brine sends any integer outside the
    /// one-byte range.
    fn long(&mut self, digits: &str) {
        self.sized(INT_L1, INT_L4, digits.as_bytes());
    }

    fn float(&mut self, value: f64) {
        self.bytes.push(FLOAT);
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    fn bytes_value(&mut self, value: &[u8]) {
        match value.len() {
            0 => self.bytes.push(EMPTY_STR),
            n @ 1..=4 => {
                self.bytes.push(STR1 + (n as u8 - 1));
                self.bytes.extend_from_slice(value);
            }
            _ => self.sized(STR_L1, STR_L4, value),
        }
    }

    fn sized(&mut self, short: u8, long: u8, value: &[u8]) {
        match u8::try_from(value.len()) {
            Ok(n) => self.bytes.extend_from_slice(&[short, n]),
            Err(_) => {
                self.bytes.push(long);
                self.bytes
                    .extend_from_slice(&(value.len() as u32).to_be_bytes());
            }
        }
        self.bytes.extend_from_slice(value);
    }

    /// A JSON value as `codec.decode` makes it for a plain call: arrays become tuples
    /// (RPyC sends those by value). `None` if CPython refuses a float's text.
    pub fn json(&mut self, py: Python<'_>, value: &Json<'_>) -> Option<()> {
        match value {
            Json::Null => self.bytes.push(NONE),
            Json::Bool(b) => self.bytes.push(if *b { TRUE } else { FALSE }),
            Json::Int(digits) => match digits.parse::<i64>() {
                Ok(small) => self.int(small),
                Err(_) => self.long(digits),
            },
            Json::Float(text) => self.float(pyfloat::parse(py, text)?),
            Json::Str(s) => {
                self.bytes.push(UNICODE);
                self.bytes_value(s.as_bytes());
            }
            Json::Array(items) => {
                self.tuple(items.len());
                for item in items {
                    self.json(py, item)?;
                }
            }
        }
        Some(())
    }
}

/// A decoded brine value, borrowing from the message.
#[derive(Debug, PartialEq)]
pub enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// An integer beyond the one-byte range, as decimal text.
    Long(&'a str),
    Float(f64),
    Bytes(&'a [u8]),
    Str(&'a str),
    Tuple(Vec<Value<'a>>),
}

/// Reads brine values off a message.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(message: &'a [u8]) -> Self {
        Reader { rest: message }
    }

    pub fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn len4(&mut self) -> Option<usize> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    /// The next value; `None` for a malformed message or a type this reader leaves to
    /// RPyC (slices, frozensets, complex numbers, NotImplemented, Ellipsis).
    pub fn value(&mut self) -> Option<Value<'a>> {
        let tag = self.byte()?;
        Some(match tag {
            NONE => Value::None,
            TRUE => Value::Bool(true),
            FALSE => Value::Bool(false),
            EMPTY_STR => Value::Bytes(&[]),
            EMPTY_TUPLE => Value::Tuple(Vec::new()),
            STR1..=STR4 => Value::Bytes(self.take(usize::from(tag - STR1) + 1)?),
            STR_L1 => {
                let n = self.byte()?;
                Value::Bytes(self.take(n.into())?)
            }
            STR_L4 => {
                let n = self.len4()?;
                Value::Bytes(self.take(n)?)
            }
            UNICODE => match self.value()? {
                Value::Bytes(b) => Value::Str(std::str::from_utf8(b).ok()?),
                _ => return None,
            },
            TUP1..=TUP4 => self.tuple(usize::from(tag - TUP1) + 1)?,
            TUP_L1 => {
                let n = self.byte()?;
                self.tuple(n.into())?
            }
            TUP_L4 => {
                let n = self.len4()?;
                self.tuple(n)?
            }
            INT_L1 | INT_L4 => {
                let n = if tag == INT_L1 {
                    self.byte()?.into()
                } else {
                    self.len4()?
                };
                let digits = std::str::from_utf8(self.take(n)?).ok()?;
                let unsigned = digits.strip_prefix('-').unwrap_or(digits);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Value::Long(digits)
            }
            FLOAT => Value::Float(f64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            imm if (0x20..0xf0).contains(&imm) => Value::Int(i64::from(imm) - IMM_BIAS),
            _ => return None,
        })
    }

    fn tuple(&mut self, len: usize) -> Option<Value<'a>> {
        // The length comes off the wire: grow as items arrive, not by the claim.
        let mut items = Vec::with_capacity(len.min(self.rest.len()));
        for _ in 0..len {
            items.push(self.value()?);
        }
        Some(Value::Tuple(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> Option<Vec<u8>> {
        crate::runtime::init().unwrap();
        let mut w = Writer::default();
        Python::attach(|py| w.json(py, &super::super::json::parse(text)?))?;
        Some(w.bytes)
    }

    #[test]
    fn encodes_as_brine_does() {
        // Expected bytes written by rpyc 6's brine.dump for the same Python values.
        assert_eq!(encode("[16]").unwrap(), [0x10, 0x60]);
        assert_eq!(encode("[-48, 159, 160, -49]").unwrap()[1..3], [0x20, 0xef]);
        assert_eq!(
            encode("[160]").unwrap(),
            [0x10, INT_L1, 3, b'1', b'6', b'0']
        );
        assert_eq!(
            encode("[2.5]").unwrap(),
            [0x10, FLOAT, 0x40, 4, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            encode(r#""hé""#).unwrap(),
            [UNICODE, STR1 + 2, b'h', 0xc3, 0xa9]
        );
        assert_eq!(encode("[]").unwrap(), [EMPTY_TUPLE]);
        assert_eq!(
            encode("[true, false, null]").unwrap(),
            [0x12, TRUE, FALSE, NONE]
        );
        assert_eq!(encode(r#"[{"$bytes": 0}]"#), None);
        // Overflow is inf, as float("1e400") is.
        assert_eq!(
            encode("[1e400]").unwrap(),
            [0x10, FLOAT, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn reads_what_it_writes() {
        let mut w = Writer::default();
        w.tuple(300);
        for i in 0..297 {
            w.int(i * 1000 - 5000);
        }
        w.bytes_value(&[7; 300]);
        w.float(f64::NAN);
        w.bytes.extend_from_slice(&encode(r#""\u00e9""#).unwrap());
        let mut r = Reader::new(&w.bytes);
        let Some(Value::Tuple(items)) = r.value() else {
            panic!("not a tuple")
        };
        assert!(r.at_end());
        assert_eq!(items[0], Value::Long("-5000"));
        assert_eq!(items[5], Value::Int(0));
        assert_eq!(items[296], Value::Long("291000"));
        assert_eq!(items[297], Value::Bytes(&[7; 300]));
        assert!(matches!(items[298], Value::Float(f) if f.is_nan()));
        assert_eq!(items[299], Value::Str("é"));
    }

    #[test]
    fn refuses_what_it_leaves_to_rpyc() {
        for message in [
            &[0x19u8, 0x12, 0, 0, 0][..],    // a slice
            &[0x1a, 0x02],                   // a frozenset
            &[0x05],                         // NotImplemented
            &[0x15, 0xff, 0xff, 0xff, 0xff], // a tuple longer than the message
            &[INT_L1, 2, b'1', b'x'],        // an integer that is not digits
            &[UNICODE, STR1, 0xff],          // invalid UTF-8
            &[],
        ] {
            assert_eq!(Reader::new(message).value(), None, "{message:?}");
        }
    }
}
