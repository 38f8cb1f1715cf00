//! redis-cli's command-line quoting: words split on whitespace; `"..."` with
//! `\n \r \t \b \a \\ \" \xHH` escapes; `'...'` with only `\'`; a closing
//! quote must be followed by whitespace or the end.

use qore_core::{Error, Result};

/// Splits a command line into arguments (bytes: `\xHH` can make any byte).
pub fn tokenize(line: &str) -> Result<Vec<Vec<u8>>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut arg = Vec::new();
        let start = i;
        match b[i] {
            b'"' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(unbalanced(start, '"')),
                        Some(b'\\')
                            if b.get(i + 1) == Some(&b'x')
                                && hex(b.get(i + 2)).is_some()
                                && hex(b.get(i + 3)).is_some() =>
                        {
                            let hi = hex(b.get(i + 2)).unwrap_or(0);
                            let lo = hex(b.get(i + 3)).unwrap_or(0);
                            arg.push(hi * 16 + lo);
                            i += 4;
                        }
                        Some(b'\\') if i + 1 < b.len() => {
                            arg.push(match b[i + 1] {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'a' => 7,
                                other => other,
                            });
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
                closing(b, i, start)?;
            }
            b'\'' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(unbalanced(start, '\'')),
                        Some(b'\\') if b.get(i + 1) == Some(&b'\'') => {
                            arg.push(b'\'');
                            i += 2;
                        }
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
                closing(b, i, start)?;
            }
            _ => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    arg.push(b[i]);
                    i += 1;
                }
            }
        }
        out.push(arg);
    }
    Ok(out)
}

fn hex(c: Option<&u8>) -> Option<u8> {
    (*c? as char).to_digit(16).map(|d| d as u8)
}

fn unbalanced(pos: usize, q: char) -> Error {
    Error::invalid(format!(
        "unbalanced {q} quote starting at position {}",
        pos + 1
    ))
}

fn closing(b: &[u8], i: usize, start: usize) -> Result<()> {
    match b.get(i) {
        None => Ok(()),
        Some(c) if c.is_ascii_whitespace() => Ok(()),
        Some(_) => Err(Error::invalid(format!(
            "the quoted argument starting at position {} must be followed by a space (position {})",
            start + 1,
            i + 1
        ))),
    }
}

/// Quotes one argument so that [`tokenize`] reads it back unchanged.
pub fn quote(arg: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in arg {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn redis_cli_rules() {
        let t = |s: &str| {
            tokenize(s)
                .unwrap()
                .into_iter()
                .map(|a| String::from_utf8(a).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(t("SET  k \"a b\\n\" "), vec!["SET", "k", "a b\n"]);
        assert_eq!(t("SET k 'it\\'s \\n'"), vec!["SET", "k", "it's \\n"]);
        assert_eq!(t("GET \"\\x41\\x42\""), vec!["GET", "AB"]);
        assert_eq!(t("SCAN 0 MATCH user:* COUNT 100").len(), 6);
        assert!(
            tokenize("GET \"abc")
                .unwrap_err()
                .to_string()
                .contains("position 5")
        );
        assert!(
            tokenize("GET \"a\"b")
                .unwrap_err()
                .to_string()
                .contains("followed by a space")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = tokenize(&s);
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Long runs of quotes and escapes: iterative, any length.
        #[test]
        fn long_input_never_panics(n in 0usize..100_000, piece in "[\"'\\\\ x]{1,3}") {
            let _ = tokenize(&piece.repeat(n));
        }
    }

    proptest! {

        #[test]
        fn quoting_round_trips(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..6)) {
            let line = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(tokenize(&line).unwrap(), args);
        }
    }
}
