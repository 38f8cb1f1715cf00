//! JSON values of Arrow cells, JSON text validation and re-indentation.

use arrow::array::*;
use arrow::datatypes::*;
use qore_core::{Error, Result};

use super::{
    HEX, dictionary_key, list_items, run_value_type, string_value, unsupported, write_text,
};

/// Floats in JSON: numbers, or the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn float_json(buf: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        buf.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else if v.is_nan() {
        buf.extend_from_slice(b"\"NaN\"");
    } else if v > 0.0 {
        buf.extend_from_slice(b"\"Infinity\"");
    } else {
        buf.extend_from_slice(b"\"-Infinity\"");
    }
}

/// `s` as a JSON string.
pub fn json_string(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => b"",
            _ => continue,
        };
        buf.extend_from_slice(&b[start..i]);
        if esc.is_empty() {
            buf.extend_from_slice(b"\\u00");
            buf.push(HEX[usize::from(c >> 4)]);
            buf.push(HEX[usize::from(c & 15)]);
        } else {
            buf.extend_from_slice(esc);
        }
        start = i + 1;
    }
    buf.extend_from_slice(&b[start..]);
    buf.push(b'"');
}

/// Writes the JSON form of `a[row]` (null included) into `buf`; `embed`:
/// the column holds JSON text to embed as it is.
///
/// # Error handling
///
/// As [`write_text`].
pub fn write_json(buf: &mut Vec<u8>, a: &dyn Array, row: usize, embed: bool) -> Result<()> {
    if a.is_null(row) {
        buf.extend_from_slice(b"null");
        return Ok(());
    }
    match a.data_type() {
        DataType::Null => buf.extend_from_slice(b"null"),
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => write_text(buf, a, row)?,
        DataType::Float16 => float_json(buf, f64::from(a.as_primitive::<Float16Type>().value(row))),
        DataType::Float32 => float_json(buf, f64::from(a.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float_json(buf, a.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let s = string_value(a, row).ok_or_else(|| unsupported(a.data_type()))?;
            if embed && is_json(s.as_bytes()) {
                buf.extend_from_slice(s.trim().as_bytes());
            } else {
                json_string(buf, s);
            }
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_) => {
            let items = list_items(a, row).ok_or_else(|| unsupported(a.data_type()))?;
            buf.push(b'[');
            for i in 0..items.len() {
                if i > 0 {
                    buf.push(b',');
                }
                write_json(buf, items.as_ref(), i, embed)?;
            }
            buf.push(b']');
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            buf.push(b'{');
            for (i, (f, c)) in fields.iter().zip(s.columns()).enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                json_string(buf, f.name());
                buf.push(b':');
                let embed = f
                    .metadata()
                    .get(qore_core::metadata::JSON)
                    .map(String::as_str)
                    == Some("true");
                write_json(buf, c.as_ref(), row, embed)?;
            }
            buf.push(b'}');
        }
        DataType::Map(..) => {
            let m = a.as_map();
            let entries = m.value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let string_keys = matches!(
                keys.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            );
            buf.push(if string_keys { b'{' } else { b'[' });
            for i in 0..entries.len() {
                if i > 0 {
                    buf.push(b',');
                }
                if string_keys {
                    let k = string_value(keys.as_ref(), i).unwrap_or_default();
                    json_string(buf, k);
                    buf.push(b':');
                    write_json(buf, values.as_ref(), i, embed)?;
                } else {
                    buf.extend_from_slice(b"{\"key\":");
                    write_json(buf, keys.as_ref(), i, embed)?;
                    buf.extend_from_slice(b",\"value\":");
                    write_json(buf, values.as_ref(), i, embed)?;
                    buf.push(b'}');
                }
            }
            buf.push(if string_keys { b'}' } else { b']' });
        }
        DataType::Dictionary(..) => {
            let d = a.as_any_dictionary();
            let k = dictionary_key(d.keys(), row).ok_or_else(|| unsupported(a.data_type()))?;
            write_json(buf, d.values().as_ref(), k, embed)?
        }
        DataType::Union(..) => {
            let u = a.as_union();
            let child = u.child(u.type_id(row));
            write_json(buf, child.as_ref(), u.value_offset(row), embed)?
        }
        DataType::RunEndEncoded(..) => {
            let values = arrow::compute::cast(&a.slice(row, 1), &run_value_type(a))?;
            write_json(buf, values.as_ref(), 0, embed)?
        }
        _ => {
            let mut text = Vec::new();
            write_text(&mut text, a, row)?;
            let text = String::from_utf8(text)
                .map_err(|_| Error::data("a rendered value is not UTF-8"))?;
            json_string(buf, &text);
        }
    }
    Ok(())
}

/// Whether `text` is one valid JSON value (RFC 8259), surrounding white
/// space allowed. Iterative: any nesting depth, numbers never converted.
pub fn is_json(text: &[u8]) -> bool {
    let b = text;
    let mut i = 0;
    let mut stack: Vec<u8> = Vec::new();
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
            *i += 1;
        }
    };
    'value: loop {
        ws(&mut i);
        let Some(&c) = b.get(i) else { return false };
        match c {
            b'{' => {
                i += 1;
                ws(&mut i);
                if b.get(i) == Some(&b'}') {
                    i += 1;
                } else {
                    stack.push(b'{');
                    if !key(b, &mut i) {
                        return false;
                    }
                    continue 'value;
                }
            }
            b'[' => {
                i += 1;
                ws(&mut i);
                if b.get(i) == Some(&b']') {
                    i += 1;
                } else {
                    stack.push(b'[');
                    continue 'value;
                }
            }
            b'"' => {
                if !string(b, &mut i) {
                    return false;
                }
            }
            b't' | b'f' | b'n' => {
                let lit: &[u8] = match c {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if !b[i..].starts_with(lit) {
                    return false;
                }
                i += lit.len();
            }
            b'-' | b'0'..=b'9' => {
                if !number(b, &mut i) {
                    return false;
                }
            }
            _ => return false,
        }
        // After a value: close containers, or go on to the next element.
        loop {
            ws(&mut i);
            match stack.last() {
                None => return i == b.len(),
                Some(&open) => match b.get(i) {
                    Some(b',') => {
                        i += 1;
                        if open == b'{' && !key(b, &mut i) {
                            return false;
                        }
                        continue 'value;
                    }
                    Some(b'}') if open == b'{' => {
                        i += 1;
                        stack.pop();
                    }
                    Some(b']') if open == b'[' => {
                        i += 1;
                        stack.pop();
                    }
                    _ => return false,
                },
            }
        }
    }
}

/// An object key and its colon.
fn key(b: &[u8], i: &mut usize) -> bool {
    while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
    if b.get(*i) != Some(&b'"') || !string(b, i) {
        return false;
    }
    while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
    if b.get(*i) != Some(&b':') {
        return false;
    }
    *i += 1;
    true
}

fn string(b: &[u8], i: &mut usize) -> bool {
    *i += 1;
    while let Some(&c) = b.get(*i) {
        match c {
            b'"' => {
                *i += 1;
                return true;
            }
            b'\\' => {
                match b.get(*i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => *i += 2,
                    Some(b'u') => {
                        if b.len() < *i + 6 || !b[*i + 2..*i + 6].iter().all(u8::is_ascii_hexdigit)
                        {
                            return false;
                        }
                        *i += 6;
                    }
                    _ => return false,
                }
                continue;
            }
            0..=0x1f => return false,
            _ => *i += 1,
        }
    }
    false
}

fn number(b: &[u8], i: &mut usize) -> bool {
    let digits = |i: &mut usize| {
        let s = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > s
    };
    if b.get(*i) == Some(&b'-') {
        *i += 1;
    }
    match b.get(*i) {
        Some(b'0') => *i += 1,
        Some(b'1'..=b'9') => {
            digits(i);
        }
        _ => return false,
    }
    if b.get(*i) == Some(&b'.') {
        *i += 1;
        if !digits(i) {
            return false;
        }
    }
    if matches!(b.get(*i), Some(b'e' | b'E')) {
        *i += 1;
        if matches!(b.get(*i), Some(b'+' | b'-')) {
            *i += 1;
        }
        if !digits(i) {
            return false;
        }
    }
    true
}

/// Re-indents valid JSON text for reading, two spaces a level, keeping
/// every token (numbers of any size, duplicate keys) exactly as written.
/// Text that is not JSON comes back unchanged.
pub fn pretty_json(text: &str) -> String {
    if !is_json(text.as_bytes()) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => {}
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Skip white space to see whether the container is empty.
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out
}
