//! The environment a connection belongs to: what the safety net reads to
//! decide how careful to be.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Where a database sits in the delivery pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Development: mistakes are cheap.
    Dev,
    /// Staging: shared, but not the real data.
    Staging,
    /// Production: the safety net is strictest here.
    Prod,
}

impl Environment {
    /// Every environment, from the least to the most careful.
    pub const ALL: [Environment; 3] = [Environment::Dev, Environment::Staging, Environment::Prod];

    /// The lowercase name, as written in profiles.
    pub fn name(self) -> &'static str {
        match self {
            Environment::Dev => "dev",
            Environment::Staging => "staging",
            Environment::Prod => "prod",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Environment {
    type Err = Error;

    /// Reads `dev`, `staging` or `prod` (any case; `development` and
    /// `production` too).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" => Ok(Environment::Dev),
            "staging" | "stage" => Ok(Environment::Staging),
            "prod" | "production" => Ok(Environment::Prod),
            _ => Err(Error::invalid(format!(
                "unknown environment `{s}` (known: dev, staging, prod)"
            ))),
        }
    }
}
