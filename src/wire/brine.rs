//! RPyC's brine serialization (rpyc/core/brine.py), the part a plain call needs: Go's plain
//! JSON arguments encoded as brine, and brine replies read back (pyjson.rs writes them for
//! Go). Anything outside that part is `Refusal::Unsupported`, and the caller leaves it to RPyC
//! itself; what is not brine at all, or nested too deep, is refused outright.

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
// Brine, but left to RPyC.
const NOT_IMPLEMENTED: u8 = 0x05;
const ELLIPSIS: u8 = 0x06;
const SLICE: u8 = 0x19;
const FSET: u8 = 0x1a;
const COMPLEX: u8 = 0x1b;
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

/// Why the reader did not read a message.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// Brine, but a type this reader leaves to RPyC: slices, frozensets, complex numbers,
    /// NotImplemented, Ellipsis, integers written other than as plain digits.
    Unsupported,
    /// Not brine: the message ends inside a value, a tag brine does not have, text that is
    /// not UTF-8.
    Malformed(&'static str),
    /// Tuples nested deeper than the reader's limit.
    TooDeep(usize),
}

type Read<'a> = Result<Value<'a>, Refusal>;

/// Reads brine values off a message. Nothing it reads is allocated by a length the message
/// claims (strings borrow from it; a tuple grows as its items arrive), and it recurses at
/// most `max_depth` tuples deep.
pub struct Reader<'a> {
    rest: &'a [u8],
    /// How many more tuples may open inside the current one.
    depth_left: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(message: &'a [u8], max_depth: usize) -> Self {
        Reader {
            rest: message,
            depth_left: max_depth,
            max_depth,
        }
    }

    pub fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Refusal> {
        let (head, rest) = self
            .rest
            .split_at_checked(n)
            .ok_or(Refusal::Malformed("the message ends inside a value"))?;
        self.rest = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Refusal> {
        Ok(self.take(1)?[0])
    }

    fn len4(&mut self) -> Result<usize, Refusal> {
        let bytes: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
        Ok(u32::from_be_bytes(bytes) as usize)
    }

    /// The bytes of a string whose tag is `tag`.
    fn bytes(&mut self, tag: u8) -> Result<&'a [u8], Refusal> {
        let n = match tag {
            EMPTY_STR => 0,
            STR1..=STR4 => usize::from(tag - STR1) + 1,
            STR_L1 => self.byte()?.into(),
            _ => self.len4()?,
        };
        self.take(n)
    }

    /// The next value.
    pub fn value(&mut self) -> Read<'a> {
        let tag = self.byte()?;
        Ok(match tag {
            NONE => Value::None,
            TRUE => Value::Bool(true),
            FALSE => Value::Bool(false),
            EMPTY_TUPLE => Value::Tuple(Vec::new()),
            EMPTY_STR | STR1..=STR4 | STR_L1 | STR_L4 => Value::Bytes(self.bytes(tag)?),
            // Text is its UTF-8 bytes, as brine writes them (one level, no recursion).
            UNICODE => {
                let tag = self.byte()?;
                if !matches!(tag, EMPTY_STR | STR1..=STR4 | STR_L1 | STR_L4) {
                    return Err(Refusal::Malformed("text that is not bytes"));
                }
                Value::Str(
                    std::str::from_utf8(self.bytes(tag)?)
                        .map_err(|_| Refusal::Malformed("text is not UTF-8"))?,
                )
            }
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
                let digits = self.take(n)?;
                let unsigned = digits.strip_prefix(b"-").unwrap_or(digits);
                // As str(int) writes it, which is also JSON's form: digits, no leading
                // zeros, no "-0". Python's int() takes more ("+1", " 1", "1_0", "007"):
                // RPyC decides those.
                let canonical = match unsigned {
                    [b'0'] => digits.len() == 1,
                    [b'1'..=b'9', ..] => unsigned.iter().all(u8::is_ascii_digit),
                    _ => false,
                };
                if !canonical {
                    return Err(Refusal::Unsupported);
                }
                Value::Long(std::str::from_utf8(digits).expect("ASCII digits"))
            }
            FLOAT => Value::Float(f64::from_be_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            imm if (0x20..0xf0).contains(&imm) => Value::Int(i64::from(imm) - IMM_BIAS),
            NOT_IMPLEMENTED | ELLIPSIS | SLICE | FSET | COMPLEX => {
                return Err(Refusal::Unsupported)
            }
            _ => return Err(Refusal::Malformed("a tag brine does not have")),
        })
    }

    fn tuple(&mut self, len: usize) -> Read<'a> {
        self.depth_left = self
            .depth_left
            .checked_sub(1)
            .ok_or(Refusal::TooDeep(self.max_depth))?;
        // The length comes off the wire: grow as items arrive, not by the claim.
        let mut items = Vec::with_capacity(len.min(self.rest.len()));
        for _ in 0..len {
            items.push(self.value()?);
        }
        self.depth_left += 1;
        Ok(Value::Tuple(items))
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
        let mut r = Reader::new(&w.bytes, 10);
        let Ok(Value::Tuple(items)) = r.value() else {
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

    fn read(message: &[u8]) -> Read<'_> {
        Reader::new(message, 100).value()
    }

    #[test]
    fn leaves_other_brine_to_rpyc() {
        for message in [
            &[SLICE, 0x12, 0, 0, 0][..],
            &[FSET, EMPTY_TUPLE],
            &[NOT_IMPLEMENTED],
            &[ELLIPSIS],
            &[
                0x11, 0x51, COMPLEX, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            &[INT_L1, 2, b'+', b'1'], // int() takes it, brine never writes it
            &[INT_L1, 3, b'0', b'1', b'2'], // so are leading zeros (not JSON: found by fuzzing)
            &[INT_L1, 2, b'-', b'0'],
            &[INT_L1, 3, b'-', b'0', b'1'],
            &[INT_L1, 1, b'-'],
            &[0x11, INT_L1, 2, b'1', b'x', FSET], // RPyC's int() refuses it, with its error
        ] {
            assert_eq!(read(message), Err(Refusal::Unsupported), "{message:?}");
        }
    }

    #[test]
    fn refuses_malformed_brine() {
        let ends = Refusal::Malformed("the message ends inside a value");
        let tag = Refusal::Malformed("a tag brine does not have");
        for (message, why) in [
            (&[][..], &ends),
            (&[TUP_L4, 0xff, 0xff, 0xff, 0xff], &ends), // a tuple longer than the message
            (&[TUP_L4, 0xff, 0xff], &ends),
            (&[STR_L4, 0, 0, 1, 0, b'x'], &ends),
            (&[INT_L4, 0xff, 0xff, 0xff, 0xff, b'1'], &ends),
            (&[FLOAT, 0, 0, 0], &ends),
            (&[0x12, 0x51, 0x52], &ends),
            (&[0x07], &tag),
            (&[0x09, 0x51], &tag), // TAG_LONG, gone with Python 2
            (&[0x1c], &tag),
            (&[0x11, 0x51, 0xf0], &tag),
            (&[0xff], &tag),
            (
                &[UNICODE, STR1, 0xff],
                &Refusal::Malformed("text is not UTF-8"),
            ),
            (
                &[UNICODE, UNICODE, STR1, b'x'],
                &Refusal::Malformed("text that is not bytes"),
            ),
            (
                &[UNICODE, 0x10, 0x51],
                &Refusal::Malformed("text that is not bytes"),
            ),
        ] {
            assert_eq!(read(message).as_ref(), Err(why), "{message:?}");
        }
    }

    #[test]
    fn refuses_nesting_deeper_than_the_limit() {
        // ((((...(1,)...)))): depth tuples, each holding the next.
        let nested = |depth: usize| [vec![0x10; depth], vec![0x51]].concat();
        assert!(Reader::new(&nested(100), 100).value().is_ok());
        assert_eq!(
            Reader::new(&nested(101), 100).value(),
            Err(Refusal::TooDeep(100))
        );
        // Siblings do not add up: 100 tuples side by side, each 99 deep, are 100 deep.
        let mut wide = vec![TUP_L1, 100];
        for _ in 0..100 {
            wide.extend_from_slice(&nested(99));
        }
        let mut r = Reader::new(&wide, 100);
        assert!(matches!(r.value(), Ok(Value::Tuple(items)) if items.len() == 100));
        assert!(r.at_end());
        // A million deep, and text tags that would each recurse: refused, no stack overflow.
        assert_eq!(
            Reader::new(&nested(1_000_000), 1000).value(),
            Err(Refusal::TooDeep(1000))
        );
        let texts = [vec![UNICODE; 1_000_000], vec![STR1, b'x']].concat();
        assert!(matches!(read(&texts), Err(Refusal::Malformed(_))));
    }
}
