//! Redis commands, from the line as redis-cli (and qore) tokenises it.

use crate::classify::{Classification, Finding, Kind, StatementReport};

/// Commands that only read (and connection-level ones that change nothing).
const READS: [&str; 44] = [
    "GET",
    "MGET",
    "STRLEN",
    "GETRANGE",
    "EXISTS",
    "TYPE",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "KEYS",
    "SCAN",
    "HGET",
    "HMGET",
    "HGETALL",
    "HKEYS",
    "HVALS",
    "HLEN",
    "HEXISTS",
    "HSCAN",
    "LRANGE",
    "LLEN",
    "LINDEX",
    "SMEMBERS",
    "SISMEMBER",
    "SCARD",
    "SSCAN",
    "ZRANGE",
    "ZSCORE",
    "ZCARD",
    "ZRANK",
    "ZSCAN",
    "ZCOUNT",
    "XRANGE",
    "XREVRANGE",
    "XLEN",
    "XINFO",
    "INFO",
    "PING",
    "DBSIZE",
    "MEMORY",
    "OBJECT",
    "JSON.GET",
    "TIME",
    "ECHO",
];

/// CONFIG SET parameters that move or stop persistence, or open the server.
const DANGEROUS_CONFIG: [&str; 11] = [
    "dir",
    "dbfilename",
    "appendonly",
    "appendfilename",
    "save",
    "protected-mode",
    "requirepass",
    "bind",
    "port",
    "replicaof",
    "slaveof",
];

/// Classifies one redis-cli line.
pub(crate) fn classify(text: &str) -> Classification {
    let words = match qore_drivers::redis::tokenize::tokenize(text) {
        Ok(w) => w,
        Err(e) => {
            return Classification::of(vec![StatementReport {
                text: text.to_string(),
                kind: Kind::Unknown,
                objects: Vec::new(),
                findings: vec![Finding::new(
                    "redis-unparsed",
                    format!("not tokenised ({e}): treated as destructive"),
                )],
                parsed: false,
            }]);
        }
    };
    let words: Vec<String> = words
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let Some(first) = words.first() else {
        return Classification::of(Vec::new());
    };
    let cmd = first.to_ascii_uppercase();
    let sub = words
        .get(1)
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    let args = &words[1..];
    let mut findings = Vec::new();
    let mut objects = Vec::new();
    let kind = match cmd.as_str() {
        c if READS.contains(&c) => Kind::Read,
        "MULTI" | "EXEC" | "DISCARD" | "WATCH" | "UNWATCH" => Kind::TransactionControl,
        "FLUSHALL" => {
            findings.push(Finding::new("redis-flushall", "FLUSHALL"));
            Kind::Admin
        }
        "FLUSHDB" => {
            findings.push(Finding::new("redis-flushdb", "FLUSHDB"));
            Kind::Admin
        }
        "SWAPDB" => {
            findings.push(Finding::new("redis-swapdb", args.join(" ")));
            Kind::Admin
        }
        "SHUTDOWN" => {
            findings.push(Finding::new("redis-shutdown", "SHUTDOWN"));
            Kind::Admin
        }
        "SCRIPT" | "FUNCTION" if sub == "FLUSH" => {
            findings.push(Finding::new("redis-script-flush", format!("{cmd} FLUSH")));
            Kind::Admin
        }
        "CONFIG" if sub == "SET" => {
            for pair in args[1..].chunks(2) {
                let p = pair[0].to_ascii_lowercase();
                let value = pair.get(1).map(String::as_str).unwrap_or_default();
                // Only an evicting policy loses keys.
                let evicts = p == "maxmemory-policy" && !value.eq_ignore_ascii_case("noeviction");
                if evicts {
                    findings.push(Finding::new(
                        "redis-config-set",
                        format!("CONFIG SET maxmemory-policy {value}: keys are evicted when memory runs out"),
                    ));
                } else if DANGEROUS_CONFIG.contains(&p.as_str()) {
                    findings.push(Finding::new("redis-config-set", format!("CONFIG SET {p}")));
                }
            }
            Kind::Admin
        }
        "DEL" | "UNLINK" => {
            objects.extend(args.iter().cloned());
            if args.len() >= 10 {
                findings.push(Finding::new(
                    "redis-delete-many",
                    format!("{cmd} of {} keys", args.len()),
                ));
            }
            Kind::Write
        }
        "EVAL" | "EVALSHA" | "EVAL_RO" | "FCALL" => {
            findings.push(Finding::new("redis-script", cmd.clone()));
            Kind::Write
        }
        "CONFIG" | "CLIENT" | "ACL" | "SELECT" | "DEBUG" | "SCRIPT" | "FUNCTION" | "SLOWLOG"
        | "LATENCY" | "MODULE" | "BGSAVE" | "SAVE" | "BGREWRITEAOF" | "REPLICAOF" | "SLAVEOF" => {
            Kind::Admin
        }
        _ => {
            if let Some(key) = args.first() {
                objects.push(key.clone());
            }
            Kind::Write
        }
    };
    Classification::of(vec![StatementReport {
        text: text.to_string(),
        kind,
        objects,
        findings,
        parsed: true,
    }])
}
