//! Whether a WHERE clause holds for every row: constant folding of the
//! shapes people write when they mean "all of them".

use sqlparser::ast::{BinaryOperator, Expr, InTarget, UnaryOperator, Value};

/// A number literal's value.
fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => number(expr).map(|n| -n),
        Expr::Nested(e) => number(e),
        _ => None,
    }
}

fn string(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s),
            _ => None,
        },
        Expr::Nested(e) => string(e),
        _ => None,
    }
}

/// Whether a WHERE is true for every row: `true`, a non-zero number,
/// `1 = 1`, `'a' = 'a'`, `x = x`, `x LIKE '%'`, an OR with such a side, an
/// AND of such sides, NOT of an always-false one.
pub(crate) fn always_true(e: &Expr) -> bool {
    truth(e) == Some(true)
}

/// The constant truth of `e`, when it has one (None: depends on the row).
fn truth(e: &Expr) -> Option<bool> {
    match e {
        Expr::Nested(inner) => truth(inner),
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => Some(*b),
            Value::Number(..) => number(e).map(|n| n != 0.0),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => truth(expr).map(|b| !b),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Or => match (truth(left), truth(right)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            BinaryOperator::And => match (truth(left), truth(right)) {
                (Some(true), Some(true)) => Some(true),
                (Some(false), _) | (_, Some(false)) => Some(false),
                _ => None,
            },
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => compare(left, op, right),
            _ => None,
        },
        Expr::Like {
            negated: false,
            pattern,
            ..
        }
        | Expr::ILike {
            negated: false,
            pattern,
            ..
        } => string(pattern).and_then(|p| {
            if !p.is_empty() && p.chars().all(|c| c == '%') {
                Some(true)
            } else {
                None
            }
        }),
        // `NULL IS NULL`, `1 IS NOT NULL`.
        Expr::IsNull(x) => literal_null(x),
        Expr::IsNotNull(x) => literal_null(x).map(|null| !null),
        Expr::IsTrue(x) | Expr::IsNotFalse(x) => truth(x),
        // `x IS NOT DISTINCT FROM x` holds for NULL too.
        Expr::IsNotDistinctFrom(a, b) if is_plain(strip(a)) && same(strip(a), strip(b)) => {
            Some(true)
        }
        Expr::IsDistinctFrom(a, b) if is_plain(strip(a)) && same(strip(a), strip(b)) => Some(false),
        // `1 IN (1, 2)`, `'a' IN ('a')`.
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            ..
        } => {
            let hit = list.iter().any(|x| {
                compare(expr, &BinaryOperator::Eq, x) == Some(true)
                    && (number(expr).is_some() || string(expr).is_some())
            });
            let all_constant = list
                .iter()
                .all(|x| number(x).is_some() || string(x).is_some());
            if hit {
                Some(!negated)
            } else if all_constant && (number(expr).is_some() || string(expr).is_some()) {
                Some(*negated)
            } else {
                None
            }
        }
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } => match (number(expr), number(low), number(high)) {
            (Some(x), Some(l), Some(h)) => Some(l <= x && x <= h),
            _ => None,
        },
        _ => None,
    }
}

fn compare(left: &Expr, op: &BinaryOperator, right: &Expr) -> Option<bool> {
    use std::cmp::Ordering;
    let ord = if let (Some(a), Some(b)) = (number(left), number(right)) {
        a.partial_cmp(&b)?
    } else if let (Some(a), Some(b)) = (string(left), string(right)) {
        a.cmp(b)
    } else if is_plain(strip(left)) && same(strip(left), strip(right)) {
        // `x = x` (true for every non-NULL x: close enough to "every row").
        Ordering::Equal
    } else {
        return None;
    };
    Some(match op {
        BinaryOperator::Eq => ord == Ordering::Equal,
        BinaryOperator::NotEq => ord != Ordering::Equal,
        BinaryOperator::Lt => ord == Ordering::Less,
        BinaryOperator::LtEq => ord != Ordering::Greater,
        BinaryOperator::Gt => ord == Ordering::Greater,
        BinaryOperator::GtEq => ord != Ordering::Less,
        _ => return None,
    })
}

/// Whether a literal is NULL (`Some(true)`) or a non-NULL constant.
fn literal_null(e: &Expr) -> Option<bool> {
    match strip(e) {
        Expr::Value(v) => Some(matches!(v.value, Value::Null)),
        _ => None,
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

/// Whether two plain expressions name the same thing: unquoted identifiers
/// compare without case, as SQL reads them.
fn same(a: &Expr, b: &Expr) -> bool {
    fn ident(x: &sqlparser::ast::Ident, y: &sqlparser::ast::Ident) -> bool {
        match (x.quote_style, y.quote_style) {
            (None, None) => x.value.eq_ignore_ascii_case(&y.value),
            _ => x.value == y.value,
        }
    }
    match (a, b) {
        (Expr::Identifier(x), Expr::Identifier(y)) => ident(x, y),
        (Expr::CompoundIdentifier(x), Expr::CompoundIdentifier(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| ident(x, y))
        }
        _ => a == b,
    }
}

/// A column or a literal: something equal to itself (not `random()`).
fn is_plain(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_)
    )
}
