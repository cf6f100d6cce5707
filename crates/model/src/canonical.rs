//! Canonical JSON (RFC 8785, JSON Canonicalization Scheme) for hashing evidence.
//!
//! Object members are sorted by their UTF-16 code units, strings use the minimal
//! escaping of RFC 8785 section 3.2.2.2, and floating-point numbers are written
//! as ECMAScript would (`ryu-js`). One documented deviation keeps evidence exact:
//! integers that `serde_json` holds as `i64`/`u64` are written as their exact
//! decimal digits, which is what RFC 8785 prescribes for every integer up to
//! 2^53 and keeps larger ones (which RFC 8785 would round) without loss.

use serde_json::Value;

/// Serialise `value` canonically into `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|left, right| key_order(left, right));
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                if let Some(item) = map.get(key) {
                    write_canonical(item, out);
                }
            }
            out.push(b'}');
        }
    }
}

/// Canonical bytes of `value`.
pub fn to_canonical_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// Canonical text of `value` (always valid UTF-8).
pub fn to_canonical_string(value: &Value) -> String {
    into_string(to_canonical_vec(value))
}

/// Bytes written by the canonical writers as a `String` (they only ever write
/// UTF-8; a defect would show as replacement characters, never a panic).
pub fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

fn write_number(number: &serde_json::Number, out: &mut Vec<u8>) {
    if let Some(integer) = number.as_i64() {
        out.extend_from_slice(integer.to_string().as_bytes());
    } else if let Some(integer) = number.as_u64() {
        out.extend_from_slice(integer.to_string().as_bytes());
    } else if let Some(float) = number.as_f64() {
        if float.is_finite() {
            let mut buffer = ryu_js::Buffer::new();
            out.extend_from_slice(buffer.format_finite(float).as_bytes());
        } else {
            // serde_json never produces non-finite numbers; keep the output valid JSON.
            out.extend_from_slice(b"null");
        }
    }
}

/// Write `text` as a JSON string with RFC 8785 escaping.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let needs_escape = bytes.iter().fold(false, |found, &byte| {
        found | (byte < 0x20) | (byte == b'"') | (byte == b'\\')
    });
    if !needs_escape {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..index]);
        match escape {
            Some(sequence) => out.extend_from_slice(sequence),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0f)]);
            }
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Canonicalise JSON text directly, without building a `serde_json::Value`:
/// the same bytes as [`write_canonical`] of the parsed value. The text must
/// already be valid JSON (callers parse it first); anything unexpected is an
/// error, never a panic. Nesting depth is bounded by `max_depth`.
pub fn canonicalize_text(text: &str, max_depth: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut reader = TextReader {
        source: text,
        text: text.as_bytes(),
        position: 0,
    };
    reader.value(out, max_depth)?;
    reader.skip_whitespace();
    if reader.position != text.len() {
        return Err(format!("trailing characters at byte {}", reader.position));
    }
    Ok(())
}

struct TextReader<'a> {
    source: &'a str,
    text: &'a [u8],
    position: usize,
}

impl<'a> TextReader<'a> {
    fn skip_whitespace(&mut self) {
        while let Some(byte) = self.text.get(self.position) {
            if matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                self.position += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.position).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.position += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", byte as char, self.position))
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => {
                if depth == 0 {
                    return Err(format!("nesting too deep at byte {}", self.position));
                }
                self.object(out, depth - 1)
            }
            Some(b'[') => {
                if depth == 0 {
                    return Err(format!("nesting too deep at byte {}", self.position));
                }
                self.position += 1;
                out.push(b'[');
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.position += 1;
                    out.push(b']');
                    return Ok(());
                }
                loop {
                    self.value(out, depth - 1)?;
                    self.skip_whitespace();
                    match self.peek() {
                        Some(b',') => {
                            self.position += 1;
                            out.push(b',');
                        }
                        Some(b']') => {
                            self.position += 1;
                            out.push(b']');
                            return Ok(());
                        }
                        _ => return Err(format!("expected `,` or `]` at byte {}", self.position)),
                    }
                }
            }
            Some(b'"') => {
                let text = self.string()?;
                write_string(&text, out);
                Ok(())
            }
            Some(b't') => self.literal(b"true", out),
            Some(b'f') => self.literal(b"false", out),
            Some(b'n') => self.literal(b"null", out),
            Some(b'-' | b'0'..=b'9') => self.number(out),
            _ => Err(format!("unexpected input at byte {}", self.position)),
        }
    }

    fn literal(&mut self, word: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        if self.text[self.position..].starts_with(word) {
            self.position += word.len();
            out.extend_from_slice(word);
            Ok(())
        } else {
            Err(format!("unexpected input at byte {}", self.position))
        }
    }

    fn number(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let start = self.position;
        let mut integer = true;
        while let Some(byte) = self.peek() {
            match byte {
                b'0'..=b'9' | b'-' => {}
                b'.' | b'e' | b'E' | b'+' => integer = false,
                _ => break,
            }
            self.position += 1;
        }
        let literal = self
            .source
            .get(start..self.position)
            .ok_or_else(|| format!("bad number at byte {start}"))?;
        if integer {
            if let Ok(value) = literal.parse::<i64>() {
                out.extend_from_slice(value.to_string().as_bytes());
                return Ok(());
            }
            if let Ok(value) = literal.parse::<u64>() {
                out.extend_from_slice(value.to_string().as_bytes());
                return Ok(());
            }
        }
        let value: f64 = literal.parse().map_err(|_| format!("bad number at byte {start}"))?;
        if !value.is_finite() {
            return Err(format!("number out of range at byte {start}"));
        }
        let mut buffer = ryu_js::Buffer::new();
        out.extend_from_slice(buffer.format_finite(value).as_bytes());
        Ok(())
    }

    /// Read a string (the reader is at its opening quote) and decode escapes.
    fn string(&mut self) -> Result<std::borrow::Cow<'a, str>, String> {
        let start = self.position + 1;
        let mut index = start;
        let mut escaped = false;
        loop {
            match self.text.get(index) {
                None => return Err(format!("unterminated string at byte {}", self.position)),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    index += 2;
                }
                Some(_) => index += 1,
            }
        }
        // The quotes and backslashes that delimit pieces are ASCII, so every
        // slice below falls on character boundaries of the (valid) input text.
        let raw_text = self
            .source
            .get(start..index)
            .ok_or_else(|| format!("bad string at byte {start}"))?;
        let raw = raw_text.as_bytes();
        self.position = index + 1;
        if !escaped {
            return Ok(std::borrow::Cow::Borrowed(raw_text));
        }
        let mut decoded = String::with_capacity(raw.len());
        let mut chunk_start = 0;
        let mut at = 0;
        while at < raw.len() {
            if raw[at] != b'\\' {
                at += 1;
                continue;
            }
            decoded.push_str(
                raw_text
                    .get(chunk_start..at)
                    .ok_or_else(|| format!("invalid text at byte {}", start + at))?,
            );
            let code = raw
                .get(at + 1)
                .copied()
                .ok_or_else(|| format!("bad escape at byte {}", start + at))?;
            at += 2;
            match code {
                b'"' => decoded.push('"'),
                b'\\' => decoded.push('\\'),
                b'/' => decoded.push('/'),
                b'b' => decoded.push('\u{8}'),
                b'f' => decoded.push('\u{c}'),
                b'n' => decoded.push('\n'),
                b'r' => decoded.push('\r'),
                b't' => decoded.push('\t'),
                b'u' => {
                    let first = hex4(raw, at).ok_or_else(|| format!("bad \\u escape at byte {}", start + at))?;
                    at += 4;
                    let character = if (0xd800..0xdc00).contains(&first) {
                        let second = if raw.get(at) == Some(&b'\\') && raw.get(at + 1) == Some(&b'u') {
                            hex4(raw, at + 2)
                        } else {
                            None
                        };
                        match second {
                            Some(low) if (0xdc00..0xe000).contains(&low) => {
                                at += 6;
                                char::from_u32(0x10000 + ((first - 0xd800) << 10) + (low - 0xdc00))
                            }
                            _ => None,
                        }
                    } else {
                        char::from_u32(first)
                    };
                    // A lone surrogate cannot be represented in UTF-8; serde_json refuses it too.
                    decoded.push(character.ok_or_else(|| format!("lone surrogate at byte {}", start + at))?);
                }
                _ => return Err(format!("bad escape at byte {}", start + at)),
            }
            chunk_start = at;
        }
        decoded.push_str(
            raw_text
                .get(chunk_start..)
                .ok_or_else(|| format!("invalid text at byte {start}"))?,
        );
        Ok(std::borrow::Cow::Owned(decoded))
    }

    fn object(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
        self.position += 1;
        out.push(b'{');
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.position += 1;
            out.push(b'}');
            return Ok(());
        }
        // Members are written in input order; only when the input order is not
        // already canonical (strictly increasing names) are they rearranged.
        let region = out.len();
        let mut members: Vec<(std::borrow::Cow<'a, str>, usize, usize)> = Vec::new();
        let mut in_order = true;
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(format!("expected a member name at byte {}", self.position));
            }
            let key = self.string()?;
            self.expect(b':')?;
            if let Some((previous, _, _)) = members.last() {
                in_order &= key_order(previous, &key) == std::cmp::Ordering::Less;
                out.push(b',');
            }
            let start = out.len();
            write_string(&key, out);
            out.push(b':');
            self.value(out, depth)?;
            members.push((key, start, out.len()));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.position += 1,
                Some(b'}') => {
                    self.position += 1;
                    break;
                }
                _ => return Err(format!("expected `,` or `}}` at byte {}", self.position)),
            }
        }
        if !in_order {
            let written = out.split_off(region);
            // Stable sort keeps input order among equal names; the last one wins, as in serde_json.
            members.sort_by(|left, right| key_order(&left.0, &right.0));
            let mut first = true;
            for index in 0..members.len() {
                if members.get(index + 1).is_some_and(|next| next.0 == members[index].0) {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                let (_, start, end) = &members[index];
                out.extend_from_slice(&written[start - region..end - region]);
            }
        }
        out.push(b'}');
        Ok(())
    }
}

/// RFC 8785 member order: by UTF-16 code units (equal to byte order for ASCII).
fn key_order(left: &str, right: &str) -> std::cmp::Ordering {
    if left.is_ascii() && right.is_ascii() {
        left.cmp(right)
    } else {
        left.encode_utf16().cmp(right.encode_utf16())
    }
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(input: Value, expected: &str) {
        assert_eq!(to_canonical_string(&input), expected);
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        check(
            json!({"b": 1, "a": [true, null, "x"]}),
            r#"{"a":[true,null,"x"],"b":1}"#,
        );
    }

    #[test]
    fn numbers_follow_ecmascript() {
        check(json!(1.0), "1");
        check(json!(1e21), "1e+21");
        check(json!(0.000001), "0.000001");
        check(json!(1e-7), "1e-7");
        check(json!(-0.5), "-0.5");
        check(json!(18446744073709551615_u64), "18446744073709551615");
    }

    #[test]
    fn strings_use_minimal_escapes() {
        check(json!("a\"b\\c\n\u{1}\u{7f}é€😀"), "\"a\\\"b\\\\c\\n\\u0001\u{7f}é€😀\"");
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+FB01 (one UTF-16 unit 0xFB01) sorts after U+1F600 (surrogates 0xD83D ...).
        check(json!({"\u{fb01}": 1, "😀": 2}), "{\"😀\":2,\"\u{fb01}\":1}");
    }

    #[test]
    fn text_canonicalisation_matches_value_canonicalisation() {
        let samples = [
            r#"{"b": 1, "a": [true, null, "x"], "c": {"z": 1.50, "y": -0, "x": 1e2}}"#,
            r#"{"s": "a\"b\\c\n\u0001\u007f\u00e9\u20ac\ud83d\ude00\/"}"#,
            r#"{"\ufb01": 1, "\ud83d\ude00": 2, "a": 3}"#,
            r#"[18446744073709551615, -9223372036854775808, 12345678901234567890123, 0.1, 1E-7]"#,
            r#"{"dup": 1, "dup": 2}"#,
            "  {\n\t\"k\" : [ ] , \"e\":{} }  ",
        ];
        for sample in samples {
            let value: Value = serde_json::from_str(sample).unwrap_or(Value::Null);
            let mut out = Vec::new();
            assert_eq!(canonicalize_text(sample, 64, &mut out), Ok(()), "{sample}");
            assert_eq!(String::from_utf8_lossy(&out), to_canonical_string(&value), "{sample}");
        }
    }

    #[test]
    fn text_canonicalisation_refuses_bad_input() {
        for sample in [
            "{",
            "[1,",
            "\"abc",
            "{\"a\" 1}",
            "[1] x",
            "\"\\ud800\"",
            "1e999",
            "[[[]]]",
        ] {
            let mut out = Vec::new();
            assert!(canonicalize_text(sample, 2, &mut out).is_err(), "{sample}");
        }
    }

    proptest::proptest! {
        #[test]
        fn text_and_value_paths_agree(value in json_values()) {
            let text = value.to_string();
            let mut out = Vec::new();
            proptest::prop_assert_eq!(canonicalize_text(&text, 64, &mut out), Ok(()));
            proptest::prop_assert_eq!(out, to_canonical_vec(&value));
        }
    }

    fn json_values() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(".*", inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn rfc8785_sample() {
        let input: Value = serde_json::from_str(
            r#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],
                "string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}"#,
        )
        .unwrap_or(Value::Null);
        check(
            input,
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#,
        );
    }
}
