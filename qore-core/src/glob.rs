//! Name patterns as users type them for tables and keys: `*` any run of
//! characters, `?` one, case-insensitive.

/// Whether `text` matches the glob `pattern` (`*` any run, `?` one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Iterative matching with one backtrack point: linear in practice and
    // never exponential on patterns like `a*a*a*b`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn stars_and_marks() {
        assert!(glob_match("order*", "Orders"));
        assert!(glob_match("cust?mers", "customers"));
        assert!(!glob_match("cust?mers", "custmers"));
        assert!(glob_match("*", ""));
        // Many stars do not backtrack exponentially.
        let long = "a".repeat(5000);
        assert!(!glob_match("a*a*a*a*a*a*a*b", &long));
    }
}
