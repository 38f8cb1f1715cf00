//! The corpus (tests/corpus.txt): every destructive statement caught, no
//! alarm on the safe look-alikes, on every engine a line names.

use qore_core::Engine;
use qore_safety::{Severity, Verdict, classify};

fn engines(spec: &str) -> Vec<Engine> {
    let all = ["pg", "my", "lite", "duck"];
    let names: Vec<&str> = if spec == "all" {
        all.to_vec()
    } else {
        spec.split(',').collect()
    };
    names
        .iter()
        .map(|n| match *n {
            "pg" => Engine::Postgres,
            "my" => Engine::MySql,
            "lite" => Engine::Sqlite,
            "duck" => Engine::DuckDb,
            "mongo" => Engine::MongoDb,
            "redis" => Engine::Redis,
            other => panic!("unknown engine `{other}` in the corpus"),
        })
        .collect()
}

#[test]
fn every_destructive_statement_is_caught_and_no_safe_one_alarms() {
    let corpus = include_str!("corpus.txt");
    let mut failures = Vec::new();
    let (mut destructive, mut safe) = (0, 0);
    let mut lines = (0usize, 0usize);
    for line in corpus.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, ' ');
        let expect = parts.next().expect("D or S");
        if expect == "S" {
            lines.1 += 1;
        } else {
            lines.0 += 1;
        }
        let on = parts.next().expect("engines");
        let sql = parts
            .next()
            .expect("statement")
            .replace("\\n", "\n")
            .replace("\\t", "\t");
        for engine in engines(on) {
            let c = classify(engine, &sql);
            let caught = c.verdict >= Verdict::Destructive;
            // Caught by a rule that understood the statement, or only by
            // the conservative check of what could not be parsed.
            let understood = c.statements.iter().any(|s| {
                s.parsed
                    && s.findings
                        .iter()
                        .any(|f| f.rule.severity >= Severity::Destructive)
            });
            match expect {
                "D" | "U" => {
                    destructive += 1;
                    if !caught {
                        failures.push(format!("MISSED  {engine}: {sql}\n        {c:?}"));
                    } else if expect == "D" && !understood {
                        failures.push(format!(
                            "UNPARSED {engine}: {sql} (mark it U if no parser can read it)\n        {:?}",
                            c.findings
                        ));
                    } else if expect == "U" && understood {
                        failures.push(format!("PARSED  {engine}: {sql} (mark it D)"));
                    }
                }
                "S" => {
                    safe += 1;
                    if caught {
                        failures.push(format!("ALARM   {engine}: {sql}\n        {:?}", c.findings));
                    }
                }
                other => panic!("corpus line starts with `{other}`"),
            }
        }
    }
    // The floor: 400 statements, half of them destructive (each
    // line counts once; a line naming several engines is checked on each).
    assert!(
        lines.0 + lines.1 >= 400 && lines.0 >= 200 && lines.1 >= 200,
        "{} destructive and {} safe statements",
        lines.0,
        lines.1
    );
    assert!(
        destructive >= lines.0 && safe >= lines.1,
        "{destructive} / {safe} cases"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn findings_name_the_rule_and_the_object() {
    let c = classify(Engine::Postgres, "delete from shop.orders");
    assert_eq!(c.findings[0].rule.name, "delete-without-where");
    assert_eq!(
        c.findings[0].message,
        "DELETE FROM shop.orders has no WHERE"
    );
    assert_eq!(c.statements[0].objects, ["shop.orders"]);
    let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
    assert_eq!(json["verdict"], "destructive");
    assert_eq!(json["kind"], "write");
    assert_eq!(json["findings"][0]["rule"], "delete-without-where");
    assert_eq!(json["findings"][0]["severity"], "destructive");
    let c = classify(Engine::Postgres, "DROP DATABASE shop");
    assert_eq!(c.verdict, Verdict::Catastrophic);
    // `qore check` names two verdicts; the severity tells the worst.
    let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
    assert_eq!(json["verdict"], "destructive");
    assert_eq!(json["findings"][0]["severity"], "catastrophic");
    let c = classify(Engine::Postgres, "SELEC * FROM t");
    assert_eq!(c.verdict, Verdict::Safe);
    assert!(!c.statements[0].parsed);
    assert_eq!(
        c.findings[0].rule.name, "unparsed",
        "an unparsed statement says so"
    );
    assert_eq!(
        classify(Engine::Redis, "flushall").verdict,
        Verdict::Catastrophic
    );
    let c = classify(Engine::MongoDb, "db.users.deleteMany({})");
    assert_eq!(c.findings[0].rule.name, "mongo-delete-all");
    assert_eq!(c.statements[0].objects, ["users"]);
    assert_eq!(
        classify(Engine::MongoDb, "db.users.deleteMany({").verdict,
        Verdict::Destructive
    );
}
