//! `known_hosts` as OpenSSH reads it (sshd(8), "SSH_KNOWN_HOSTS FILE
//! FORMAT"): comma-separated host patterns with `*` and `?` wildcards and
//! `!` negation, `[host]:port` for another port than 22, hashed entries
//! (`|1|salt|HMAC-SHA1(salt, host)`), the `@revoked` marker, comments.
//! A line this module cannot read is skipped, never a reason to accept a
//! key. `@cert-authority` lines are skipped: host certificates are not
//! accepted.

use std::io::Write;
use std::path::Path;

use qore_core::{Error, Result};
use russh::keys::{HashAlg, PublicKey};

/// What a `known_hosts` file says of a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCheck {
    /// The key is recorded for this host.
    Known,
    /// Nothing is recorded for this host.
    Unknown,
    /// Another key is recorded for this host: someone may be in the middle.
    Changed {
        /// The line that records it (1-based).
        line: usize,
        /// That key's `SHA256:` fingerprint.
        recorded: String,
    },
    /// The key is marked `@revoked`.
    Revoked {
        /// The `@revoked` line (1-based).
        line: usize,
    },
}

/// The name a host has in `known_hosts`: `host`, or `[host]:port` when the
/// port is not 22.
pub fn host_entry(host: &str, port: u16) -> String {
    if port == 22 { host.to_string() } else { format!("[{host}]:{port}") }
}

/// Checks `key` of `host`:`port` against the text of a `known_hosts` file.
pub fn check(text: &str, host: &str, port: u16, key: &PublicKey) -> HostCheck {
    let name = host_entry(host, port);
    let mut changed = None;
    let mut known = false;
    for (i, line) in text.lines().enumerate() {
        let Some(entry) = Entry::parse(line) else { continue };
        if !entry.matches(&name) {
            continue;
        }
        let same = entry.key.key_data() == key.key_data();
        match entry.marker {
            Marker::Revoked if same => return HostCheck::Revoked { line: i + 1 },
            Marker::Revoked | Marker::CertAuthority => {}
            Marker::None if same => known = true,
            Marker::None => {
                changed.get_or_insert(HostCheck::Changed { line: i + 1, recorded: fingerprint(&entry.key) });
            }
        }
    }
    // A recorded match wins over another key of the same host (OpenSSH
    // accepts a host listed with several keys).
    if known { HostCheck::Known } else { changed.unwrap_or(HostCheck::Unknown) }
}

/// Checks `key` against the file at `path` (a missing file knows nothing).
///
/// # Error handling
///
/// [`Error::Io`] for a file that exists but cannot be read.
pub fn check_file(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<HostCheck> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(check(&String::from_utf8_lossy(&bytes), host, port, key)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HostCheck::Unknown),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

/// Appends `host`:`port`'s `key` to the file at `path` (created with its
/// directory, mode 0600, when missing).
///
/// # Error handling
///
/// The I/O error, naming the file.
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<()> {
    let io = |e: std::io::Error| Error::io(format!("cannot write {}", path.display()), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let line = format!("{} {}\n", host_entry(host, port), key.to_openssh().map_err(|e| Error::Internal(format!("a host key that cannot be written: {e}")))?);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(io)?;
    // A file that does not end with a newline would glue the entry to its
    // last line.
    let len = f.metadata().map_err(io)?.len();
    let needs_newline = len > 0 && std::fs::read(path).map_err(io)?.last() != Some(&b'\n');
    if needs_newline {
        f.write_all(b"\n").map_err(io)?;
    }
    f.write_all(line.as_bytes()).map_err(io)
}

/// A key's `SHA256:...` fingerprint, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Revoked,
    CertAuthority,
}

struct Entry<'a> {
    marker: Marker,
    patterns: &'a str,
    key: PublicKey,
}

impl<'a> Entry<'a> {
    fn parse(line: &'a str) -> Option<Entry<'a>> {
        let mut fields = line.split_ascii_whitespace();
        let mut first = fields.next()?;
        if first.starts_with('#') {
            return None;
        }
        let marker = match first {
            "@revoked" => Marker::Revoked,
            "@cert-authority" => Marker::CertAuthority,
            m if m.starts_with('@') => return None,
            _ => Marker::None,
        };
        if marker != Marker::None {
            first = fields.next()?;
        }
        let algorithm = fields.next()?;
        let base64 = fields.next()?;
        let key = PublicKey::from_openssh(&format!("{algorithm} {base64}")).ok()?;
        Some(Entry { marker, patterns: first, key })
    }

    /// Whether `name` (`host` or `[host]:port`) is one of this line's hosts:
    /// a pattern matches and no negated one does.
    fn matches(&self, name: &str) -> bool {
        let mut any = false;
        for p in self.patterns.split(',') {
            if let Some(negated) = p.strip_prefix('!') {
                if pattern_matches(negated, name) {
                    return false;
                }
            } else if p.starts_with("|1|") {
                any |= hashed_matches(p, name);
            } else {
                any |= pattern_matches(p, name);
            }
        }
        any
    }
}

/// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
fn hashed_matches(entry: &str, name: &str) -> bool {
    let mut parts = entry.split('|').skip(2);
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else { return false };
    let (Ok(salt), Ok(hash)) = (data_encoding::BASE64.decode(salt.as_bytes()), data_encoding::BASE64.decode(hash.as_bytes())) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salt);
    ring::hmac::verify(&key, name.as_bytes(), &hash).is_ok()
}

/// OpenSSH's host pattern: `*` any run of characters, `?` one, the rest
/// compared without case (host names are case-insensitive).
pub(super) fn pattern_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    // Iterative wildcard match with one backtrack point: linear enough for
    // host names, and no recursion on hostile input.
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAkZLMouuScMBPR9ehbfTRybO1BG5cuhXwKN3LlSCIGd";
    const OTHER: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFxALU7LAnMdX/VV1W1ctI1V95FBJ3U+66xUJiqlzDrh";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, salt);
        let tag = ring::hmac::sign(&k, name.as_bytes());
        format!("|1|{}|{}", data_encoding::BASE64.encode(salt), data_encoding::BASE64.encode(tag.as_ref()))
    }

    #[test]
    fn entries_by_name_port_hash_marker_and_pattern() {
        let k = key(ED);
        assert_eq!(check(&format!("db.example.com {ED}\n"), "db.example.com", 22, &k), HostCheck::Known);
        assert_eq!(check(&format!("DB.Example.com {ED}\n"), "db.example.com", 22, &k), HostCheck::Known);
        // Another port needs the bracketed form.
        assert_eq!(check(&format!("db.example.com {ED}\n"), "db.example.com", 2222, &k), HostCheck::Unknown);
        assert_eq!(check(&format!("[db.example.com]:2222 {ED}\n"), "db.example.com", 2222, &k), HostCheck::Known);
        assert_eq!(check(&format!("{} {ED}\n", hashed("[10.0.0.5]:2222", b"saltsaltsaltsaltsalt")), "10.0.0.5", 2222, &k), HostCheck::Known);
        assert_eq!(check(&format!("{} {ED}\n", hashed("10.0.0.5", b"saltsaltsaltsaltsalt")), "10.0.0.5", 2222, &k), HostCheck::Unknown);
        assert_eq!(check(&format!("*.example.com,!bad.example.com {ED}\n"), "db.example.com", 22, &k), HostCheck::Known);
        assert_eq!(check(&format!("*.example.com,!bad.example.com {ED}\n"), "bad.example.com", 22, &k), HostCheck::Unknown);
        assert_eq!(check(&format!("db?.example.com {ED}\n"), "db1.example.com", 22, &k), HostCheck::Known);
        assert_eq!(check(&format!("# db.example.com {ED}\n\n  \nnot a line\n"), "db.example.com", 22, &k), HostCheck::Unknown);
        // A changed key names its line and the recorded fingerprint.
        let changed = check(&format!("other {ED}\ndb.example.com {OTHER} comment\n"), "db.example.com", 22, &k);
        assert_eq!(changed, HostCheck::Changed { line: 2, recorded: fingerprint(&key(OTHER)) });
        // Several keys for one host: the matching one wins.
        assert_eq!(check(&format!("db {OTHER}\ndb {ED}\n"), "db", 22, &k), HostCheck::Known);
        assert_eq!(check(&format!("db {ED}\n@revoked * {ED}\n"), "db", 22, &k), HostCheck::Revoked { line: 2 });
        assert_eq!(check(&format!("@cert-authority db {ED}\n"), "db", 22, &k), HostCheck::Unknown);
        assert!(fingerprint(&k).starts_with("SHA256:"));
    }

    #[test]
    fn learned_hosts_are_known_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        let k = key(ED);
        assert_eq!(check_file(&path, "h", 2200, &k).unwrap(), HostCheck::Unknown);
        learn(&path, "h", 2200, &k).unwrap();
        std::fs::write(&path, format!("{}no-newline {OTHER}", std::fs::read_to_string(&path).unwrap())).unwrap();
        learn(&path, "g", 22, &k).unwrap();
        assert_eq!(check_file(&path, "h", 2200, &k).unwrap(), HostCheck::Known);
        assert_eq!(check_file(&path, "g", 22, &k).unwrap(), HostCheck::Known);
        assert_eq!(check_file(&path, "no-newline", 22, &key(OTHER)).unwrap(), HostCheck::Known);
    }

    /// A reference matcher: the textbook recursive definition.
    fn reference(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => reference(&p[1..], n) || (!n.is_empty() && reference(p, &n[1..])),
            (Some('?'), Some(_)) => reference(&p[1..], &n[1..]),
            (Some(a), Some(b)) => a == b && reference(&p[1..], &n[1..]),
            _ => false,
        }
    }

    fn by_reference(pattern: &str, name: &str) -> bool {
        let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
        let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
        reference(&p, &n)
    }

    proptest! {
        #[test]
        fn wildcards_match_as_the_definition_says(pattern in "[ab*?.]{0,8}", name in "[abAB.]{0,8}") {
            prop_assert_eq!(pattern_matches(&pattern, &name), by_reference(&pattern, &name));
        }

        /// A hashed entry matches exactly the name it was made from.
        #[test]
        fn hashed_entries_match_only_their_host(host in "[a-z0-9.-]{1,20}", other in "[a-z0-9.-]{1,20}", port in 1u16.., salt in proptest::collection::vec(any::<u8>(), 20)) {
            let entry = hashed(&host_entry(&host, port), &salt);
            prop_assert!(hashed_matches(&entry, &host_entry(&host, port)));
            prop_assert_eq!(hashed_matches(&entry, &host_entry(&other, port)), other == host);
        }

        /// Whatever a line holds, reading it never panics, and a line that
        /// is not an entry for the host changes nothing.
        #[test]
        fn any_text_is_read_without_panic(text in "\\PC{0,200}") {
            let k = key(ED);
            let r = check(&text, "db", 22, &k);
            let known = matches!(r, HostCheck::Known);
            // Random text never holds this key for this host.
            prop_assert!(!known);
        }
    }
}
