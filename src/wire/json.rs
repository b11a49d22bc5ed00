//! Go's plain JSON arguments, read for the hot path: null, booleans, numbers, strings and
//! arrays, as Python's `json.loads` reads them. Objects (tags, dicts) and anything
//! `json.loads` would refuse or read differently are `None`: the general path decides.
//!
//! Hand-written rather than serde_json: it is small, keeps integers as their digits (brine
//! sends them so), and leaves float conversion to CPython (pyfloat.rs), which the binary
//! carries anyway.

/// A parsed value, borrowing from the text where it can.
#[derive(Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    /// An integer: optional '-', then digits.
    Int(&'a str),
    /// A number with a fraction or an exponent, as written.
    Float(&'a str),
    Str(String),
    Array(Vec<Json<'a>>),
}

/// Deeper arrays are left to the general path, which reports them as an error.
const MAX_DEPTH: usize = 200;

/// The value `text` holds, or `None` (see the module's comment).
pub fn parse(text: &str) -> Option<Json<'_>> {
    let mut p = Parser { text, pos: 0 };
    let value = p.value(0)?;
    p.skip_space();
    (p.pos == text.len()).then_some(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Json<'a>) -> Option<Json<'a>> {
        self.text[self.pos..].starts_with(word).then(|| {
            self.pos += word.len();
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<Json<'a>> {
        self.skip_space();
        match self.peek()? {
            b'n' => self.literal("null", Json::Null),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' if depth < MAX_DEPTH => self.array(depth + 1),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn array(&mut self, depth: usize) -> Option<Json<'a>> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_space();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_space();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(Json::Array(items));
                }
                _ => return None,
            }
        }
    }

    /// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    fn number(&mut self) -> Option<Json<'a>> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits()?;
            float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.require_digits()?;
            float = true;
        }
        let text = &self.text[start..self.pos];
        Some(if float {
            Json::Float(text)
        } else {
            Json::Int(text)
        })
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }

    fn string(&mut self) -> Option<String> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            // Copy the run up to the next quote, backslash or control character at once.
            let run = rest
                .bytes()
                .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
            out.push_str(&rest[..run]);
            self.pos += run;
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                _ => return None, // a raw control character: json.loads refuses it too
            }
        }
    }

    fn escape(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                if (0xd800..0xdc00).contains(&unit) {
                    // A high surrogate must pair with a low one. Lone surrogates are valid
                    // in Python strings but not in Rust's: the general path takes them.
                    if !self.text[self.pos..].starts_with("\\u") {
                        return None;
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xdc00..0xe000).contains(&low) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))?
                } else {
                    char::from_u32(unit)?
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Json::*;

    #[test]
    fn reads_what_go_writes() {
        assert_eq!(
            parse(
                r#"[16, -2.5e-3, 0, null, true, false, "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", [], [[1]]]"#
            ),
            Some(Array(vec![
                Int("16"),
                Float("-2.5e-3"),
                Int("0"),
                Null,
                Bool(true),
                Bool(false),
                Str("a\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}".into()),
                Array(vec![]),
                Array(vec![Array(vec![Int("1")])]),
            ]))
        );
        assert_eq!(
            parse(" [ 123456789012345678901234567890 ] "),
            Some(Array(vec![Int("123456789012345678901234567890")]))
        );
    }

    #[test]
    fn leaves_the_rest_to_the_general_path() {
        for text in [
            r#"[{"$bytes": 0}]"#,
            "[NaN]",
            "[Infinity]",
            "[01]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[-]",
            "[1,]",
            "[1 2]",
            "[\"\\ud800\"]",
            "[\"\\ud800\\u0041\"]",
            "[\"tab\there\"]",
            "[\"\\x\"]",
            "[\"unterminated]",
            "[1] x",
            "",
            "nul",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn refuses_deep_nesting_without_recursing_into_it() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(parse(&deep), None);
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_some());
    }
}
