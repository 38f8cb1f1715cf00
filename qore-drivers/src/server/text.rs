//! Calendar arithmetic and the text forms of dates and times, for values
//! that are shown as text (range bounds, zone-carrying times).

pub(crate) use qore_core::calendar::{civil_from_days, days_from_civil};

/// `YYYY-MM-DD` (PostgreSQL's ISO form: years before 1 get ` BC`).
pub(crate) fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    if y <= 0 {
        format!("{:04}-{m:02}-{d:02} BC", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// `HH:MM:SS[.ffffff]` from microseconds since midnight (trailing zeros of
/// the fraction dropped, as PostgreSQL prints them).
pub(crate) fn time(micros: i64) -> String {
    let neg = micros < 0;
    let micros = micros.unsigned_abs();
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let mut out = format!(
        "{}{:02}:{:02}:{:02}",
        if neg { "-" } else { "" },
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` from microseconds since 1970.
pub(crate) fn timestamp(micros: i64) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let d = date(days);
    // " BC" goes after the time, as PostgreSQL writes it.
    match d.strip_suffix(" BC") {
        Some(d) => format!("{d} {} BC", time(rest)),
        None => format!("{d} {}", time(rest)),
    }
}

/// A UTC offset in seconds east as `+HH[:MM[:SS]]`.
pub(crate) fn offset(seconds_east: i32) -> String {
    let sign = if seconds_east < 0 { '-' } else { '+' };
    let s = seconds_east.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    match (m, sec) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{sec:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(10_957), "2000-01-01");
        assert_eq!(date(-719_528), "0001-01-01 BC");
        assert_eq!(time(3_723_000_500), "01:02:03.0005");
        assert_eq!(timestamp(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(offset(19_800), "+05:30");
        assert_eq!(offset(-3600), "-01");
    }
}
