//! `qore_imatch_any(mode, needle, haystacks...)` and
//! `qore_match_any(mode, needle, haystacks...)`: whether any haystack
//! matches the needle (mode 0 contains, 1 prefix, 2 exact), by Unicode
//! lower case (as `qore_icontains`, `qore_iprefix`, `qore_iequal` say) or
//! byte for byte (as `instr(h, n) > 0`, a `substr` prefix or `=` say); NULL
//! where SQL's OR of the single matches would be.
//!
//! Global search calls one of them on every row with all the row's text
//! columns. Registered through SQLite's C API directly: rusqlite's closure
//! wrapper costs about 150 instructions a call, as much as the matching of
//! three short cells, and SQLite's own `LIKE` per column costs more than
//! one call per row (measured with cachegrind over 2M rows of three text
//! columns: scanning alone 1.32G instructions, three `LIKE`s 2.90G, this
//! call through rusqlite 2.94G, through the C API 2.63G before the short
//! cell paths of `functions::Mode`).

use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use qore_core::Result;
use rusqlite::ffi;
use rusqlite::types::ValueRef;

use super::connection::map_err;
use super::functions::{Mode, fold, text};

/// Registers both functions on `conn`.
#[allow(unsafe_code)]
pub(super) fn register(conn: &rusqlite::Connection) -> Result<()> {
    type XFunc = unsafe extern "C" fn(*mut ffi::sqlite3_context, c_int, *mut *mut ffi::sqlite3_value);
    let functions: [(&std::ffi::CStr, XFunc); 2] = [(c"qore_imatch_any", imatch_any), (c"qore_match_any", match_any)];
    for (name, f) in functions {
        // SAFETY: the handle is `conn`'s, open for the call; the name is a
        // NUL-terminated string SQLite copies; no user data, so nothing
        // for SQLite to free.
        let rc = unsafe {
            ffi::sqlite3_create_function_v2(
                conn.handle(),
                name.as_ptr(),
                -1,
                ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC,
                std::ptr::null_mut(),
                Some(f),
                None,
                None,
                None,
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(map_err(rusqlite::Error::SqliteFailure(
                ffi::Error::new(rc),
                Some(format!("cannot register the SQL function {}", name.to_string_lossy())),
            )));
        }
    }
    Ok(())
}

#[allow(unsafe_code)]
unsafe extern "C" fn imatch_any(ctx: *mut ffi::sqlite3_context, argc: c_int, argv: *mut *mut ffi::sqlite3_value) {
    // SAFETY: SQLite calls it with its own context and `argc` arguments.
    unsafe { call(ctx, argc, argv, true) }
}

#[allow(unsafe_code)]
unsafe extern "C" fn match_any(ctx: *mut ffi::sqlite3_context, argc: c_int, argv: *mut *mut ffi::sqlite3_value) {
    // SAFETY: as `imatch_any`.
    unsafe { call(ctx, argc, argv, false) }
}

/// What one call answers.
enum Answer {
    Null,
    Bool(bool),
    Error(String),
    NoMemory,
}

/// Answers one call and hands the answer to SQLite; a panic (a bug) is an
/// SQL error, never an unwind into C.
#[allow(unsafe_code)]
unsafe fn call(ctx: *mut ffi::sqlite3_context, argc: c_int, argv: *mut *mut ffi::sqlite3_value, fold: bool) {
    let args: &[*mut ffi::sqlite3_value] = if argc <= 0 || argv.is_null() {
        &[]
    } else {
        // SAFETY: SQLite passes `argc` valid values for the call.
        unsafe { std::slice::from_raw_parts(argv, argc as usize) }
    };
    // SAFETY: `ctx` and `args` are the call's.
    let answer = catch_unwind(AssertUnwindSafe(|| unsafe { answer(ctx, args, fold) }))
        .unwrap_or_else(|_| Answer::Error("qore's match function failed (a bug): please report it".into()));
    // SAFETY: `ctx` is the call's; SQLite copies the message (its length
    // given, no NUL needed).
    unsafe {
        match answer {
            Answer::Null => ffi::sqlite3_result_null(ctx),
            Answer::Bool(b) => ffi::sqlite3_result_int(ctx, c_int::from(b)),
            Answer::NoMemory => ffi::sqlite3_result_error_nomem(ctx),
            Answer::Error(m) => ffi::sqlite3_result_error(ctx, m.as_ptr().cast(), c_int::try_from(m.len()).unwrap_or(c_int::MAX)),
        }
    }
}

#[allow(unsafe_code)]
unsafe fn answer(ctx: *mut ffi::sqlite3_context, args: &[*mut ffi::sqlite3_value], fold: bool) -> Answer {
    let [mode, needle_value, hays @ ..] = args else {
        return Answer::Error("qore_imatch_any / qore_match_any take (mode, needle, haystacks...)".into());
    };
    // SAFETY: the values are the call's, read before any other use of them.
    let (mode, needle) = unsafe { (ffi::sqlite3_value_int64(*mode), value(*needle_value)) };
    let mode = match mode {
        0 => Mode::Contains,
        1 => Mode::Prefix,
        2 => Mode::Exact,
        m => return Answer::Error(format!("no match mode {m} (0 contains, 1 prefix, 2 exact)")),
    };
    let owned;
    let needle: &[u8] = match needle {
        None => return Answer::NoMemory,
        Some(ValueRef::Null) => return Answer::Null,
        Some(ValueRef::Text(t)) => t,
        Some(v) => {
            owned = text(v);
            owned.as_bytes()
        }
    };
    // What a needle needs is worked out once per statement (SQLite's
    // auxiliary data on the needle's argument): a non-ASCII one folded, an
    // ASCII one compared in place.
    let mut new_needle = None;
    let prepared: Option<&Needle> = if fold {
        // SAFETY: argument 1's auxiliary data is only ever set below, to a
        // `Box<Needle>` that SQLite frees with `drop_needle`, and kept
        // until the statement ends or the argument changes, not during
        // this call.
        let kept = unsafe { ffi::sqlite3_get_auxdata(ctx, 1) }.cast::<Needle>();
        Some(match unsafe { kept.as_ref() } {
            Some(n) => n,
            None => new_needle.insert(Box::new(Needle::new(needle))),
        })
    } else {
        None
    };
    // How a text cell (nearly every cell) is matched, decided once.
    let how = match prepared {
        Some(Needle { folded: Some(n), .. }) => How::Fold(n),
        Some(n) => How::Ascii(n.special(mode)),
        None => How::Bytes,
    };
    let mut answer = Answer::Bool(false);
    for &h in hays {
        // SAFETY: each value is the call's; the text pointer is read
        // before its length, as SQLite's documentation asks.
        let hit = match unsafe { ffi::sqlite3_value_type(h) } {
            ffi::SQLITE_TEXT => {
                let Some(t) = (unsafe { bytes(ffi::sqlite3_value_text(h), ffi::sqlite3_value_bytes(h)) }) else {
                    answer = Answer::NoMemory;
                    break;
                };
                match how {
                    How::Ascii(special) => {
                        mode.ascii(t, needle) || (special && !t.is_ascii() && mode.test(ValueRef::Text(t), &ascii_lower(needle)))
                    }
                    How::Fold(n) => mode.test(ValueRef::Text(t), n),
                    How::Bytes => mode.bytes(ValueRef::Text(t), needle),
                }
            }
            ffi::SQLITE_NULL => {
                answer = Answer::Null;
                continue;
            }
            // SAFETY: as above.
            _ => match unsafe { value(h) } {
                None => {
                    answer = Answer::NoMemory;
                    break;
                }
                Some(hay) => match how {
                    How::Ascii(special) => mode.ascii_fold(hay, needle, special),
                    How::Fold(n) => mode.test(hay, n),
                    How::Bytes => mode.bytes(hay, needle),
                },
            },
        };
        if hit {
            answer = Answer::Bool(true);
            break;
        }
    }
    if let Some(kept) = new_needle {
        // SAFETY: SQLite owns the box from here and frees it with
        // `drop_needle` (at once, if it cannot keep it).
        unsafe { ffi::sqlite3_set_auxdata(ctx, 1, Box::into_raw(kept).cast(), Some(drop_needle)) };
    }
    answer
}

/// How one call matches a cell.
#[derive(Clone, Copy)]
enum How<'a> {
    /// By Unicode lower case, against this folded needle.
    Fold(&'a str),
    /// An ASCII needle ignoring ASCII case in place; `true`: a non-ASCII
    /// cell may still fold into a match (see [`Needle`]).
    Ascii(bool),
    /// Byte for byte.
    Bytes,
}

fn ascii_lower(needle: &[u8]) -> String {
    String::from_utf8_lossy(needle).to_ascii_lowercase()
}

/// A needle of `qore_imatch_any` as its statement's calls use it.
struct Needle {
    /// A non-ASCII needle lower-cased by all of Unicode.
    folded: Option<String>,
    /// An ASCII needle with a `k`: Unicode lower-cases the Kelvin sign
    /// into `k`, so a non-ASCII cell may still match.
    kelvin: bool,
    /// An ASCII needle ending in `i`: `İ` lower-cases into `i` and a
    /// combining dot, so a non-ASCII cell may still contain it or start
    /// with it (never equal it).
    dotted: bool,
}

impl Needle {
    fn new(needle: &[u8]) -> Self {
        let ascii = needle.is_ascii();
        Needle {
            folded: (!ascii).then(|| fold(&String::from_utf8_lossy(needle)).into_owned()),
            kelvin: ascii && needle.iter().any(|b| b.eq_ignore_ascii_case(&b'k')),
            dotted: ascii && needle.last().is_some_and(|b| b.eq_ignore_ascii_case(&b'i')),
        }
    }

    /// Whether a non-ASCII cell may fold into a match as `mode` says.
    fn special(&self, mode: Mode) -> bool {
        self.kelvin || (self.dotted && !matches!(mode, Mode::Exact))
    }
}

#[allow(unsafe_code)]
unsafe extern "C" fn drop_needle(p: *mut std::os::raw::c_void) {
    // SAFETY: only `answer` sets this destructor, on a `Box<Needle>`.
    drop(unsafe { Box::from_raw(p.cast::<Needle>()) });
}

/// A value of the call, borrowed from SQLite for the call; `None` when
/// SQLite ran out of memory converting it.
#[allow(unsafe_code)]
unsafe fn value<'a>(v: *mut ffi::sqlite3_value) -> Option<ValueRef<'a>> {
    // SAFETY: `v` is a value of the current call; text and blob pointers
    // are read before their lengths, as SQLite's documentation asks, and
    // stay valid until the call returns (nothing converts them again).
    unsafe {
        match ffi::sqlite3_value_type(v) {
            ffi::SQLITE_NULL => Some(ValueRef::Null),
            ffi::SQLITE_INTEGER => Some(ValueRef::Integer(ffi::sqlite3_value_int64(v))),
            ffi::SQLITE_FLOAT => Some(ValueRef::Real(ffi::sqlite3_value_double(v))),
            ffi::SQLITE_TEXT => {
                let p = ffi::sqlite3_value_text(v);
                bytes(p, ffi::sqlite3_value_bytes(v)).map(ValueRef::Text)
            }
            _ => {
                let p = ffi::sqlite3_value_blob(v).cast::<u8>();
                bytes(p, ffi::sqlite3_value_bytes(v)).map(ValueRef::Blob)
            }
        }
    }
}

#[allow(unsafe_code)]
unsafe fn bytes<'a>(p: *const u8, n: c_int) -> Option<&'a [u8]> {
    match usize::try_from(n) {
        Ok(0) | Err(_) => Some(&[]),
        // A NULL pointer for a non-empty value: SQLite's out of memory.
        Ok(_) if p.is_null() => None,
        // SAFETY: SQLite's pointer to `n` bytes, valid for the call.
        Ok(n) => Some(unsafe { std::slice::from_raw_parts(p, n) }),
    }
}
