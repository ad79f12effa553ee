//! Differential tests against `serde_json` on fixed and generated corpora.

use integrator_json::{Number, Value};

/// A small deterministic generator (64-bit LCG, high bits out).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 16
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn theirs(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn ours(text: &str) -> Result<Value, String> {
    integrator_json::from_str(text).map_err(|e| e.to_string())
}

/// Whether two `serde_json` values are equal, allowing floats to differ by a few units in the
/// last place: `serde_json`'s parser (without its `float_roundtrip` feature) is not always
/// correctly rounded, while our conversions use the standard library's exact parsing.
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x == y || (x.to_bits() as i64 - y.to_bits() as i64).abs() <= 4
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[track_caller]
fn assert_same(ours: &Value, theirs: &serde_json::Value, context: &str) {
    let converted = serde_json::Value::from(ours.clone());
    assert!(
        same(&converted, theirs),
        "{context}\nours:   {converted}\ntheirs: {theirs}"
    );
}

const CHARS: &[&str] = &[
    "a",
    "b",
    "Z",
    "0",
    " ",
    "~",
    "\"",
    "\\",
    "/",
    "\n",
    "\r",
    "\t",
    "\u{8}",
    "\u{c}",
    "\u{0}",
    "\u{1}",
    "\u{1f}",
    "\u{7f}",
    "é",
    "ß",
    "中",
    "€",
    "\u{2028}",
    "\u{fffd}",
    "😀",
    "𝄞",
    "order",
    "2026-01-05T10:00:00Z",
    "ab\"cd",
    "x\\y",
];

fn random_string(rng: &mut Lcg) -> String {
    let len = match rng.below(10) {
        0 => 0,
        1..=6 => rng.below(6),
        7 | 8 => rng.below(20),
        _ => rng.below(60),
    };
    (0..len).map(|_| *rng.pick(CHARS)).collect()
}

/// A random `serde_json::Value` (numbers as serde_json makes them).
fn random_serde_value(rng: &mut Lcg, depth: usize) -> serde_json::Value {
    let kind = if depth >= 5 {
        rng.below(4)
    } else {
        rng.below(7)
    };
    match kind {
        0 => serde_json::Value::Null,
        1 => serde_json::Value::Bool(rng.chance(50)),
        2 => match rng.below(4) {
            0 => serde_json::Value::from(rng.next() as i64 >> rng.below(64)),
            1 => serde_json::Value::from(rng.next() << rng.below(20)),
            2 => serde_json::Value::from(-(rng.below(1000) as i64)),
            _ => {
                let f = f64::from_bits(rng.next() << 16 | rng.next() & 0xffff);
                let f = if f.is_finite() {
                    f
                } else {
                    (rng.below(100_000) as f64) / 100.0
                };
                serde_json::Value::from(f)
            }
        },
        3 => serde_json::Value::String(random_string(rng)),
        4 | 5 => {
            let n = rng.below(6);
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                map.insert(random_string(rng), random_serde_value(rng, depth + 1));
            }
            serde_json::Value::Object(map)
        }
        _ => serde_json::Value::Array(
            (0..rng.below(6))
                .map(|_| random_serde_value(rng, depth + 1))
                .collect(),
        ),
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "3",
    "152.37",
    "1e-7",
    "1.5E+10",
    "12345678901234567890123",
    "-12.250",
    "0.0",
    "-0.0e0",
    "9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "1e308",
    "2.2250738585072014e-308",
    "5e-324",
    "123456.789e3",
    "0.1",
    "1E2",
    "1e+0",
    "99.999999999999999999999",
];

fn random_number(rng: &mut Lcg) -> String {
    if rng.chance(50) {
        return (*rng.pick(NUMBERS)).to_owned();
    }
    let mut s = String::new();
    if rng.chance(30) {
        s.push('-');
    }
    if rng.chance(20) {
        s.push('0');
    } else {
        s.push_str(&(1 + rng.below(9)).to_string());
        for _ in 0..rng.below(12) {
            s.push_str(&rng.below(10).to_string());
        }
    }
    if rng.chance(40) {
        s.push('.');
        for _ in 0..1 + rng.below(8) {
            s.push_str(&rng.below(10).to_string());
        }
    }
    if rng.chance(20) {
        s.push(*rng.pick(&['e', 'E']));
        if rng.chance(50) {
            s.push(*rng.pick(&['+', '-']));
        }
        s.push_str(&rng.below(40).to_string());
    }
    s
}

/// Writes `s` as a JSON string with randomly chosen (valid) escapes.
fn random_escaped(rng: &mut Lcg, s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let must = c == '"' || c == '\\' || (c as u32) < 0x20;
        if !must && rng.chance(80) {
            out.push(c);
            continue;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if rng.chance(50) => out.push_str("\\/"),
            '\n' if rng.chance(50) => out.push_str("\\n"),
            '\t' if rng.chance(50) => out.push_str("\\t"),
            '\u{8}' if rng.chance(50) => out.push_str("\\b"),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if rng.chance(50) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
        }
    }
    out.push('"');
}

fn ws(rng: &mut Lcg, out: &mut String) {
    if rng.chance(25) {
        for _ in 0..1 + rng.below(3) {
            out.push(*rng.pick(&[' ', '\n', '\t', '\r']));
        }
    }
}

/// Random JSON text with varied number forms, escapes, whitespace and duplicate keys.
fn random_text(rng: &mut Lcg, depth: usize, out: &mut String) {
    ws(rng, out);
    let kind = if depth >= 5 {
        rng.below(5)
    } else {
        rng.below(8)
    };
    match kind {
        0 => out.push_str("null"),
        1 => out.push_str(if rng.chance(50) { "true" } else { "false" }),
        2 => out.push_str(&random_number(rng)),
        3 | 4 => {
            let s = random_string(rng);
            random_escaped(rng, &s, out);
        }
        5 | 6 => {
            out.push('{');
            let max = if rng.chance(10) { 40 } else { 6 };
            let n = rng.below(max);
            let mut keys: Vec<String> = Vec::new();
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                let key = if !keys.is_empty() && rng.chance(15) {
                    rng.pick(&keys).clone()
                } else {
                    random_string(rng)
                };
                random_escaped(rng, &key, out);
                keys.push(key);
                ws(rng, out);
                out.push(':');
                random_text(rng, depth + 1, out);
            }
            ws(rng, out);
            out.push('}');
        }
        _ => {
            out.push('[');
            let n = rng.below(6);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                random_text(rng, depth + 1, out);
            }
            ws(rng, out);
            out.push(']');
        }
    }
    ws(rng, out);
}

#[test]
fn fixed_corpus_round_trips_byte_identically() {
    let corpus = [
        "null",
        "true",
        "false",
        "0",
        "-17",
        "18446744073709551615",
        r#""""#,
        r#""plain ascii text""#,
        r#""quote \" backslash \\ slash / newline \n cr \r tab \t bs \b ff \f nul \u0000 us \u001f del ""#,
        r#""unicode é 中文 € 😀 𝄞 \u2028""#,
        "[]",
        "{}",
        "[[],[[]],{},[{}]]",
        r#"{"a":{"b":{"c":[1,2,{"d":null}]}},"e":[true,false,null,"x"]}"#,
        r#"{"emoji":"😀","escaped":"\u0001\u0002\u001e","nested":[[[[["deep"]]]]]}"#,
        r#"{"id":"ORD-1","lines":[{"price":152.37,"qty":3,"sku":"A"},{"price":0.5,"qty":10,"sku":"B"}],"total":1e-7}"#,
    ];
    for text in corpus {
        let value = ours(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let json = theirs(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let expected = serde_json::to_string(&json).unwrap_or_default();
        // The corpus' keys are sorted and its numbers in serde_json's own format.
        assert_eq!(value.to_string(), expected);
        assert_eq!(String::from_utf8_lossy(&value.to_vec()), expected);
        assert_eq!(serde_json::Value::from(value.clone()), json);
        let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
        assert_eq!(format!("{value:#}"), pretty);
        assert_eq!(ours(&pretty).as_ref(), Ok(&value));
    }
}

#[test]
fn generated_serde_values_write_byte_identically() {
    let mut rng = Lcg(42);
    for _ in 0..5_000 {
        let json = random_serde_value(&mut rng, 0);
        let text = serde_json::to_string(&json).unwrap_or_default();
        let value = ours(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(String::from_utf8_lossy(&value.to_vec()), text);
        assert_eq!(serde_json::Value::from(value.clone()), json, "{text}");
        assert_eq!(Value::from(json.clone()), value, "{text}");
        let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&value.to_vec_pretty()), pretty);
        // serde round trip: Serialize into serde_json, Deserialize from serde_json.
        assert_eq!(
            serde_json::to_value(&value).ok().as_ref(),
            Some(&json),
            "{text}"
        );
        let back: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_same(&back, &json, &text);
    }
}

#[test]
fn generated_texts_parse_like_serde_json() {
    let mut rng = Lcg(7);
    let mut duplicates = 0;
    for _ in 0..5_000 {
        let mut text = String::new();
        random_text(&mut rng, 0, &mut text);
        let json = theirs(&text).unwrap_or_else(|e| panic!("serde_json: {text}: {e}"));
        let value = ours(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_same(&value, &json, &text);
        // Our output means the same to serde_json.
        let out = value.to_vec();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out)
                .ok()
                .as_ref(),
            Some(&json),
            "{text}"
        );
        // Our output parses back to the same value and the same bytes (numbers keep their text).
        let again = integrator_json::from_slice(&out).unwrap_or_default();
        assert_eq!(again, value);
        assert_eq!(again.to_vec(), out);
        // Through serde: serde_json's parser into our Value.
        let via_serde: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_same(&via_serde, &json, &text);
        if text.contains(",\"") && out.len() + 10 < text.len() {
            duplicates += 1;
        }
    }
    assert!(duplicates > 0);
}

#[test]
fn number_texts_are_kept_exactly() {
    for text in NUMBERS {
        let doc = format!("[{text}]");
        let value = ours(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        assert_eq!(value.to_string(), doc);
        assert_eq!(value[0].as_number().map(Number::as_str), Some(*text));
        let json = theirs(&doc).unwrap_or_default();
        let n = &json[0];
        assert_eq!(value[0].as_i64(), n.as_i64(), "{text}");
        assert_eq!(value[0].as_u64(), n.as_u64(), "{text}");
        assert_eq!(value[0].is_f64(), n.is_f64(), "{text}");
        assert_eq!(value[0].as_f64(), n.as_f64(), "{text}");
    }
}

#[test]
fn from_f64_matches_serde_json() {
    let mut rng = Lcg(99);
    let check = |f: f64| {
        let ours = Number::from_f64(f).map(|n| n.to_string());
        let theirs = serde_json::Number::from_f64(f).map(|n| n.to_string());
        assert_eq!(ours, theirs, "{f:e}");
        if let Some(text) = ours {
            assert_eq!(text.parse::<f64>().ok(), Some(f));
            assert!(text.parse::<Number>().is_ok());
        }
    };
    for _ in 0..100_000 {
        check(f64::from_bits(rng.next() << 16 ^ rng.next()));
    }
    for e in -30..30 {
        for m in [1.0, 1.5, 9.999, 123.456, 0.1] {
            check(m * 10f64.powi(e));
            check(-m * 10f64.powi(e));
        }
    }
    for i in 0..2_000 {
        check(f64::from(i) / 8.0);
    }
}

/// Inputs serde_json rejects; ours must reject them with the same message and position.
const INVALID: &[&str] = &[
    "[1,]",
    "{\"a\":1,}",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "+1",
    "\"a\u{1}\"",
    "\"abc",
    "[1 2]",
    "{\"a\":1 \"b\":2}",
    "nul",
    "nulx",
    "tru",
    "\"\\x\"",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "\"\\ud800\\u0041\"",
    "\"\\u12\"",
    "\"\\u12g4\"",
    "1 2",
    "NaN",
    "Infinity",
    "-Infinity",
    "{1:2}",
    "{\"a\" 1}",
    "{\"a\":}",
    "[",
    "{",
    "",
    "   ",
    "1e+",
    "1.5e-",
    "-01",
    "-a",
    "1.a",
    "1ea",
    "[-]",
    "{\"a\":1",
    "[1",
    "\"\\",
    "\"\\u",
    "\"\\ud800\\",
    "\"\\ud800\\x\"",
    "[1,,2]",
    "\n\n  [1,\n  x]",
    "// c\n1",
    "/* x */ 1",
    "[1]]",
    "\"\\ud800\\ud800\"",
    "\u{feff}1",
    "{\"a\":1}}",
    "[0x1]",
    "[00]",
    "[1.0e]",
    "[\"\t\"]",
    "tx",
    "falsy",
    "[true false]",
    "{,}",
    "[,]",
    "{\"a\"",
    "{\"a\":",
    "{\"a\":1,",
    "[1,",
    "\"\\u00e9",
    "-0.",
    "1E",
    "2.e3",
    "'a'",
    "[1,]  ",
    "{\"a\":1,\n}",
    "[\"\\u0000\\ud83d\"]",
    "\"\\uD83D\\uDE00\\uDE00\"",
    "[\"a\"\"b\"]",
    "{\"a\":nul}",
    "[truex]",
    "{\"a\":[}",
    "{\"a\":{]}",
    "[{\"a\":1]",
    "\"\u{7f}\u{1b}\"",
];

#[test]
fn rejections_match_serde_json() {
    for text in INVALID {
        let expected = theirs(text)
            .err()
            .unwrap_or_else(|| panic!("serde_json accepts {text:?}"));
        assert_eq!(
            ours(text).err().as_deref(),
            Some(expected.as_str()),
            "{text:?}"
        );
    }
}

#[test]
fn mutated_documents_are_judged_like_serde_json() {
    let mut rng = Lcg(2024);
    const NOISE: &[&str] = &[
        "", ",", ":", "[", "]", "{", "}", "\"", "\\", "-", "0", "1", ".", "e", "+", " ", "\n", "n",
        "t", "\u{1}", "x", "é", "\\u", "\\ud800",
    ];
    let mut rejected = 0;
    for _ in 0..20_000 {
        let mut text = String::new();
        random_text(&mut rng, 2, &mut text);
        // Replace a random char range with random noise.
        let chars: Vec<char> = text.chars().collect();
        let at = rng.below(chars.len() + 1);
        let cut = (at + rng.below(3)).min(chars.len());
        let mutated: String = chars[..at]
            .iter()
            .copied()
            .chain(rng.pick(NOISE).chars())
            .chain(chars[cut..].iter().copied())
            .collect();
        let expected = theirs(&mutated);
        if let Err(message) = &expected
            && message.starts_with("number out of range")
        {
            continue;
        }
        let actual = ours(&mutated);
        match (&expected, &actual) {
            (Ok(json), Ok(value)) => assert_same(value, json, &mutated),
            (Err(e), Err(a)) => {
                rejected += 1;
                assert_eq!(a, e, "{mutated:?}");
            }
            _ => panic!("{mutated:?}: serde_json {expected:?}, ours {actual:?}"),
        }
    }
    assert!(rejected > 1_000, "{rejected}");
}

#[test]
fn invalid_utf8_is_rejected() {
    for bytes in [
        &b"\"\xff\""[..],
        b"[\"\xc3\"]",
        b"\xed\xa0\x80",
        b"{\"a\xe2\x82\":1}",
    ] {
        let err = integrator_json::from_slice(bytes)
            .err()
            .map(|e| e.to_string());
        assert!(
            err.is_some_and(|e| e.starts_with("invalid unicode code point")),
            "{bytes:?}"
        );
        assert!(serde_json::from_slice::<serde_json::Value>(bytes).is_err());
    }
}

#[test]
fn depth_limit_and_deep_nesting() {
    let arrays = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(ours(&arrays(128)).is_ok());
    assert_eq!(
        ours(&arrays(129)).err().as_deref(),
        Some("recursion limit exceeded at line 1 column 129")
    );
    let objects = |n: usize| format!("{}0{}", "{\"k\":".repeat(n), "}".repeat(n));
    assert!(ours(&objects(128)).is_ok());
    assert!(ours(&objects(129)).is_err_and(|e| e.starts_with("recursion limit exceeded")));
    for deep in [arrays(100_000), objects(100_000), "[".repeat(100_000)] {
        assert!(ours(&deep).is_err_and(|e| e.starts_with("recursion limit exceeded")));
    }
}

#[test]
fn large_objects_parse_in_linear_time() {
    // 200,000 distinct keys and 200,000 repeats of the same key: quadratic work would take
    // minutes.
    let mut text = String::from("{");
    for i in 0..200_000 {
        text.push_str(&format!("\"key{i}\":{i},"));
    }
    text.push_str("\"last\":0}");
    let value = ours(&text).unwrap_or_default();
    assert_eq!(value.as_object().map(|o| o.len()), Some(200_001));
    assert_eq!(value["key123456"], 123456);

    let mut text = String::from("{\"first\":true,");
    for i in 0..200_000 {
        text.push_str(&format!("\"same\":{i},"));
    }
    text.push_str("\"end\":0}");
    let value = ours(&text).unwrap_or_default();
    assert_eq!(value.to_string(), r#"{"first":true,"same":199999,"end":0}"#);
}
