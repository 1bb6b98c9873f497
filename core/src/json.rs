//! The JSON the vault record is written in: a strict reader and a pretty
//! writer whose strings are wiped when dropped, since a record's strings
//! include secrets.
//!
//! It reads any standard JSON (RFC 8259) except fractions and exponents: a
//! record holds whole numbers only. It writes what `serde_json`'s pretty
//! printer writes (two-space indent, the same escapes), so records stay
//! byte-for-byte the format version 1 always was. Every buffer that holds a
//! string is sized before it is filled, so no copy is left behind in freed
//! memory by a reallocation.

use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// How deep arrays and objects may nest (a record needs 4).
pub const MAX_DEPTH: usize = 64;

/// Why text is not JSON this reader takes: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} at byte {at}")]
pub struct JsonError {
    /// Byte offset of the problem in the input.
    pub at: usize,
    /// What was wrong there.
    pub what: &'static str,
}

/// A whole number in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number {
    negative: bool,
    magnitude: u64,
}

impl Number {
    /// The number as a `u64`, when it is one.
    pub fn as_u64(self) -> Option<u64> {
        (!self.negative || self.magnitude == 0).then_some(self.magnitude)
    }

    /// The number as an `i64`, when it is one.
    pub fn as_i64(self) -> Option<i64> {
        if self.negative {
            0i64.checked_sub_unsigned(self.magnitude)
        } else {
            i64::try_from(self.magnitude).ok()
        }
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Self {
        Number {
            negative: false,
            magnitude: n,
        }
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number {
            negative: n < 0,
            magnitude: n.unsigned_abs(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        write!(f, "{}", self.magnitude)
    }
}

/// A JSON value. Strings are wiped when dropped; object keys keep their order.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Number(Number),
    /// A string.
    String(Zeroizing<String>),
    /// An array.
    Array(Vec<Value>),
    /// An object: keys and values in the order written.
    Object(Vec<(String, Value)>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => write!(f, "string({} bytes)", s.len()),
            Value::Array(items) => f.debug_list().entries(items).finish(),
            Value::Object(fields) => f
                .debug_map()
                .entries(fields.iter().map(|(k, v)| (k, v)))
                .finish(),
        }
    }
}

impl Value {
    /// A string value.
    pub fn string(text: &str) -> Value {
        Value::String(Zeroizing::new(text.to_string()))
    }

    /// An object from its fields, in order.
    pub fn object<'k>(fields: impl IntoIterator<Item = (&'k str, Value)>) -> Value {
        Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// The value written the way `serde_json::to_vec_pretty` writes it.
    pub fn to_pretty(&self) -> Zeroizing<Vec<u8>> {
        let mut size = Counter(0);
        self.write(&mut size, 0);
        let mut out = Zeroizing::new(Vec::with_capacity(size.0));
        self.write(&mut *out, 0);
        out
    }

    fn write(&self, out: &mut impl Sink, level: usize) {
        match self {
            Value::Null => out.put(b"null"),
            Value::Bool(true) => out.put(b"true"),
            Value::Bool(false) => out.put(b"false"),
            Value::Number(n) => {
                let mut digits = [0u8; 21];
                out.put(n.render(&mut digits));
            }
            Value::String(s) => write_string(out, s),
            Value::Array(items) if items.is_empty() => out.put(b"[]"),
            Value::Array(items) => {
                out.put(b"[");
                for (i, item) in items.iter().enumerate() {
                    separate(out, i, level + 1);
                    item.write(out, level + 1);
                }
                close(out, level, b"]");
            }
            Value::Object(fields) if fields.is_empty() => out.put(b"{}"),
            Value::Object(fields) => {
                out.put(b"{");
                for (i, (key, value)) in fields.iter().enumerate() {
                    separate(out, i, level + 1);
                    write_string(out, key);
                    out.put(b": ");
                    value.write(out, level + 1);
                }
                close(out, level, b"}");
            }
        }
    }
}

impl Number {
    /// The decimal digits (and sign) of the number, written into `buf`.
    fn render(self, buf: &mut [u8; 21]) -> &[u8] {
        let mut at = buf.len();
        let mut m = self.magnitude;
        loop {
            at -= 1;
            buf[at] = b'0' + (m % 10) as u8;
            m /= 10;
            if m == 0 {
                break;
            }
        }
        if self.negative && self.magnitude != 0 {
            at -= 1;
            buf[at] = b'-';
        }
        &buf[at..]
    }
}

/// Where written JSON goes: a byte counter first, then the sized buffer.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

fn indent(out: &mut impl Sink, level: usize) {
    for _ in 0..level {
        out.put(b"  ");
    }
}

fn separate(out: &mut impl Sink, index: usize, level: usize) {
    out.put(if index == 0 { b"\n" } else { b",\n" });
    indent(out, level);
}

fn close(out: &mut impl Sink, level: usize, bracket: &[u8]) {
    out.put(b"\n");
    indent(out, level);
    out.put(bracket);
}

fn write_string(out: &mut impl Sink, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put(b"\"");
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut unicode = *b"\\u0000";
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                unicode[4] = HEX[usize::from(b >> 4)];
                unicode[5] = HEX[usize::from(b & 0xf)];
                &unicode
            }
            _ => continue,
        };
        out.put(&bytes[start..i]);
        out.put(escaped);
        start = i + 1;
    }
    out.put(&bytes[start..]);
    out.put(b"\"");
}

/// Reads one JSON value filling all of `bytes` (whitespace around it allowed).
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JsonError {
        at: e.valid_up_to(),
        what: "not UTF-8 text",
    })?;
    let mut reader = Reader { text, at: 0 };
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.at != text.len() {
        return Err(reader.error("unexpected text after the end"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &'static str) -> JsonError {
        JsonError { at: self.at, what }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), JsonError> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("cut short where a value should be")),
        }
    }

    fn word(&mut self, word: &'static str, value: Value) -> Result<Value, JsonError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn number(&mut self) -> Result<Number, JsonError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let first = self.at;
        let mut magnitude: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| self.error("number too large"))?;
            self.at += 1;
        }
        let digits = self.at - first;
        if digits == 0 {
            return Err(self.error("expected a digit"));
        }
        if digits > 1 && self.text.as_bytes()[first] == b'0' {
            return Err(JsonError {
                at: first,
                what: "a number may not start with 0",
            });
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return Err(self.error("only whole numbers are expected"));
        }
        // -0 is 0: one value, one writing.
        Ok(Number {
            negative: negative && magnitude != 0,
            magnitude,
        })
    }

    /// A string starting at the opening quote, into a buffer sized beforehand.
    fn string(&mut self) -> Result<Zeroizing<String>, JsonError> {
        self.at += 1;
        let bytes = self.text.as_bytes();
        let mut end = self.at;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        // Escapes only shrink, so the raw length is enough room.
        let mut out = Zeroizing::new(String::with_capacity(end.min(bytes.len()) - self.at));
        let mut run = self.at;
        loop {
            match self.peek() {
                None => return Err(self.error("cut short inside a string")),
                Some(b'"') => {
                    out.push_str(&self.text[run..self.at]);
                    self.at += 1;
                    return Ok(out);
                }
                Some(0..=0x1f) => return Err(self.error("control character inside a string")),
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.at]);
                    self.at += 1;
                    let c = self.escape()?;
                    out.push(c);
                    run = self.at;
                }
                Some(_) => self.at += 1,
            }
        }
    }

    /// The character of an escape, after its backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.at += 1;
                return self.unicode_escape();
            }
            _ => return Err(self.error("unknown escape")),
        };
        self.at += 1;
        Ok(c)
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let start = self.at - 2;
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if !self.text[self.at..].starts_with("\\u") {
                    return Err(JsonError {
                        at: start,
                        what: "unpaired surrogate in a \\u escape",
                    });
                }
                self.at += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(JsonError {
                        at: start,
                        what: "unpaired surrogate in a \\u escape",
                    });
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            _ => high,
        };
        char::from_u32(code).ok_or(JsonError {
            at: start,
            what: "unpaired surrogate in a \\u escape",
        })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("a \\u escape needs 4 hex digits"))?;
            code = code * 16 + digit;
            self.at += 1;
        }
        Ok(code)
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected , or ] in an array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1;
        let mut fields: Vec<(String, Value)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(fields));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a key in quotes"));
            }
            let key_at = self.at;
            let key = std::mem::take(&mut *self.string()?);
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(JsonError {
                    at: key_at,
                    what: "a key appears twice in one object",
                });
            }
            self.expect(b':', "expected : after a key")?;
            let value = self.value(depth)?;
            fields.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(fields));
                }
                _ => return Err(self.error("expected , or } in an object")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    #[test]
    fn reads_standard_json() {
        let v = parse(
            br#" { "a" : [1, -2, 0, -0, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"], "b": {} ,"c":[] } "#,
        )
        .unwrap();
        assert_eq!(
            v,
            Value::object([
                (
                    "a",
                    Value::Array(vec![
                        Value::Number(1u64.into()),
                        Value::Number((-2i64).into()),
                        Value::Number(0u64.into()),
                        Value::Number(0u64.into()),
                        Value::Bool(true),
                        Value::Bool(false),
                        Value::Null,
                        s("x\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}"),
                    ])
                ),
                ("b", Value::Object(vec![])),
                ("c", Value::Array(vec![])),
            ])
        );
    }

    #[test]
    fn numbers_convert_only_when_they_fit() {
        let n = |t: &str| match parse(t.as_bytes()).unwrap() {
            Value::Number(n) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("18446744073709551615").as_i64(), None);
        assert_eq!(n("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(n("-9223372036854775809").as_i64(), None);
        assert_eq!(n("-1").as_u64(), None);
        assert_eq!(n("-0").as_u64(), Some(0));
        assert_eq!(n("-0").as_i64(), Some(0));
        // Found by the fuzzer: -0 once read back as a value unequal to the 0 it is written as.
        let zero = parse(b"-0").unwrap();
        assert_eq!(&zero.to_pretty()[..], b"0");
        assert_eq!(parse(&zero.to_pretty()).unwrap(), zero);
    }

    #[test]
    fn each_mistake_names_itself_and_where() {
        for (text, what, at) in [
            ("", "cut short where a value should be", 0),
            ("[1,]", "expected a value", 3),
            ("[1 2]", "expected , or ] in an array", 3),
            ("{\"a\" 1}", "expected : after a key", 5),
            ("{a:1}", "expected a key in quotes", 1),
            ("{\"a\":1,\"a\":2}", "a key appears twice in one object", 7),
            ("{\"a\":1 \"b\":2}", "expected , or } in an object", 7),
            ("1.5", "only whole numbers are expected", 1),
            ("1e3", "only whole numbers are expected", 1),
            ("012", "a number may not start with 0", 0),
            ("-", "expected a digit", 1),
            ("18446744073709551616", "number too large", 19),
            ("\"abc", "cut short inside a string", 4),
            ("\"a\nb\"", "control character inside a string", 2),
            ("\"\\x\"", "unknown escape", 2),
            ("\"\\u12\"", "a \\u escape needs 4 hex digits", 5),
            ("\"\\ud800\"", "unpaired surrogate in a \\u escape", 1),
            (
                "\"\\ud800\\u0041\"",
                "unpaired surrogate in a \\u escape",
                1,
            ),
            ("\"\\udc00\"", "unpaired surrogate in a \\u escape", 1),
            ("tru", "expected a value", 0),
            ("nul", "expected a value", 0),
            ("{} x", "unexpected text after the end", 3),
            ("\u{7f}", "expected a value", 0),
        ] {
            assert_eq!(
                parse(text.as_bytes()),
                Err(JsonError { at, what }),
                "{text:?}"
            );
        }
        assert_eq!(
            parse(b"\"\xff\"").unwrap_err().to_string(),
            "not UTF-8 text at byte 1"
        );
    }

    #[test]
    fn depth_is_bounded_without_overflowing_the_stack() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().what,
            "nested too deeply"
        );
        let hostile = "{\"a\":".repeat(100_000);
        assert_eq!(
            parse(hostile.as_bytes()).unwrap_err().what,
            "nested too deeply"
        );
    }

    #[test]
    fn writes_like_serde_json_pretty() {
        let v = Value::object([
            ("empty", Value::Array(vec![])),
            (
                "list",
                Value::Array(vec![
                    Value::Number((-7i64).into()),
                    Value::Null,
                    Value::Bool(false),
                    s("q\"\\\u{1}\u{1f}\u{7f}é\u{8}\u{c}"),
                ]),
            ),
            ("n", Value::object([("x", Value::Number(u64::MAX.into()))])),
            ("none", Value::Object(vec![])),
        ]);
        let expected = serde_json::json!({
            "empty": [],
            "list": [-7, null, false, "q\"\\\u{1}\u{1f}\u{7f}é\u{8}\u{c}"],
            "n": {"x": u64::MAX},
            "none": {},
        });
        assert_eq!(
            std::str::from_utf8(&v.to_pretty()).unwrap(),
            serde_json::to_string_pretty(&expected).unwrap()
        );
    }

    #[test]
    fn debug_shows_no_string_content() {
        let v = Value::object([("secret", s("JBSWY3DPEHPK3PXP"))]);
        let shown = format!("{v:?}");
        assert!(!shown.contains("JBSW"), "{shown}");
        assert!(shown.contains("string(16 bytes)"), "{shown}");
    }

    /// Random JSON as serde_json models it (sorted keys, whole numbers).
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::String),
            "[\"\\\\\\x00-\\x1f\u{7f}é日😀]{0,8}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn from_serde(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(match n.as_u64() {
                Some(u) => u.into(),
                None => n.as_i64().map(Number::from).unwrap(),
            }),
            serde_json::Value::String(t) => s(t),
            serde_json::Value::Array(items) => Value::Array(items.iter().map(from_serde).collect()),
            serde_json::Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect())
            }
        }
    }

    fn to_serde(v: &Value) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => match n.as_u64() {
                Some(u) => u.into(),
                None => n.as_i64().unwrap().into(),
            },
            Value::String(t) => serde_json::Value::String(t.to_string()),
            Value::Array(items) => serde_json::Value::Array(items.iter().map(to_serde).collect()),
            Value::Object(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), to_serde(v)))
                    .collect(),
            ),
        }
    }

    proptest! {
        /// Against serde_json both ways: it reads what we write, we read what it writes
        /// (compact and pretty), and our pretty output is byte-identical to its.
        #[test]
        fn agrees_with_serde_json(v in any_json()) {
            let ours = from_serde(&v);
            let written = ours.to_pretty();
            let theirs = serde_json::to_string_pretty(&v).unwrap();
            prop_assert_eq!(&written[..], theirs.as_bytes());
            prop_assert_eq!(serde_json::from_slice::<serde_json::Value>(&written).unwrap(), v.clone());
            prop_assert_eq!(parse(serde_json::to_string(&v).unwrap().as_bytes()).unwrap(), ours.clone());
            prop_assert_eq!(parse(&written).unwrap(), ours);
        }

        /// Arbitrary bytes: an error or a value, and then the same as serde_json's reading.
        #[test]
        fn never_panics_and_accepts_only_json(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = parse(&bytes) {
                prop_assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
                let _ = v.to_pretty();
            }
        }

        /// Mutated JSON text: whatever we accept, serde_json accepts with the same meaning.
        #[test]
        fn mutations_agree(v in any_json(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut text = serde_json::to_vec(&v).unwrap();
            let i = at.index(text.len());
            text[i] = byte;
            if let Ok(ours) = parse(&text) {
                let theirs = serde_json::from_slice::<serde_json::Value>(&text).unwrap();
                prop_assert_eq!(to_serde(&ours), theirs);
            }
        }
    }
}
