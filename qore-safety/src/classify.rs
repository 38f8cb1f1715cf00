//! What the safety net says about a statement: its kind, the objects it
//! touches, the rules it matches, and a verdict.

use serde::Serialize;

use crate::rules::{Rule, Severity};

/// What a statement does, from least to most far-reaching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Reads only.
    Read,
    /// BEGIN, COMMIT, ROLLBACK, SAVEPOINT.
    TransactionControl,
    /// Session settings, grants, maintenance, anything else that is not
    /// data or structure.
    Admin,
    /// Changes rows.
    Write,
    /// Changes structure.
    Ddl,
    /// Could not be told (an unparsed statement without a writing keyword).
    Unknown,
}

/// One rule a statement matched. In JSON: `{"rule", "severity", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: &'static Rule,
    /// What matched, in the statement's terms (`DELETE FROM orders has no WHERE`).
    pub message: String,
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Finding", 3)?;
        st.serialize_field("rule", self.rule.name)?;
        st.serialize_field("severity", &self.rule.severity)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

/// `qore check`'s verdict word: `safe` or `destructive` (a catastrophic
/// finding is destructive; its `severity` says how bad).
fn verdict_word<S: serde::Serializer>(v: &Verdict, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *v == Verdict::Safe {
        "safe"
    } else {
        "destructive"
    })
}

impl Finding {
    pub(crate) fn new(rule: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            rule: crate::rules::by_name(rule),
            message: message.into(),
        }
    }
}

/// The verdict on a whole text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No finding worse than a note.
    Safe,
    /// At least one destructive finding.
    Destructive,
    /// At least one catastrophic finding (a whole database or key space).
    Catastrophic,
}

/// One statement of a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementReport {
    /// The statement's text, as split from the input.
    pub text: String,
    /// What it does.
    pub kind: Kind,
    /// Tables, collections or keys it names.
    pub objects: Vec<String>,
    /// Rules it matched.
    pub findings: Vec<Finding>,
    /// False when it could not be read (then only its keywords were
    /// checked, and a finding says so). A read without any keyword that
    /// writes is read from its tokens alone, which is enough to tell.
    pub parsed: bool,
}

/// What the safety net says about a text of one or more statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The worst verdict of its statements (in JSON `safe` or
    /// `destructive`; the findings' severities tell a catastrophic one).
    #[serde(serialize_with = "verdict_word")]
    pub verdict: Verdict,
    /// The most far-reaching kind of its statements.
    pub kind: Kind,
    /// Every finding, in statement order.
    pub findings: Vec<Finding>,
    /// Each statement.
    pub statements: Vec<StatementReport>,
}

impl Classification {
    pub(crate) fn of(statements: Vec<StatementReport>) -> Classification {
        let findings: Vec<Finding> = statements
            .iter()
            .flat_map(|s| s.findings.iter().cloned())
            .collect();
        let verdict = findings
            .iter()
            .map(|f| match f.rule.severity {
                Severity::Note => Verdict::Safe,
                Severity::Destructive => Verdict::Destructive,
                Severity::Catastrophic => Verdict::Catastrophic,
            })
            .max()
            .unwrap_or(Verdict::Safe);
        let kind = statements
            .iter()
            .map(|s| s.kind)
            .filter(|k| *k != Kind::Unknown)
            .max()
            .or_else(|| statements.first().map(|s| s.kind))
            .unwrap_or(Kind::Read);
        Classification {
            verdict,
            kind,
            findings,
            statements,
        }
    }

    /// True when some finding is destructive or worse.
    pub fn is_destructive(&self) -> bool {
        self.verdict >= Verdict::Destructive
    }

    /// The JSON form `qore check` prints.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
