//! [`Guard`]: a session of a target behind the safety net and the audit
//! log, as every frontend (the CLI, a GUI) opens it.

use std::path::PathBuf;
use std::sync::Arc;

use qore_core::intercept::{Chain, Confirmer, Intercepted};
use qore_core::{ConnectionRef, Result};
use qore_drivers::profiles::Target;

use crate::audit::{AuditLog, DEFAULT_MAX_BYTES};
use crate::net::{SafetyNet, Warn};

/// How to guard the sessions of a target.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Let destructive statements through (one invocation's override).
    pub allow_destructive: bool,
    /// Where dev warnings go.
    pub warn: Option<Arc<dyn Warn>>,
    /// Who answers confirmations (none: they are refused).
    pub confirmer: Option<Arc<dyn Confirmer>>,
    /// The audit log's file (none: no audit).
    pub audit: Option<PathBuf>,
}

impl Guard {
    /// `session` of `target` behind the safety net (read-only from the
    /// profile, the environment from the session's label) and, when a file
    /// is given, the audit log (the profile's name, the URL without its
    /// password, the user).
    ///
    /// # Error handling
    ///
    /// [`qore_core::Error::Io`] when the audit log cannot be opened.
    pub fn wrap(&self, session: ConnectionRef, target: &Target) -> Result<ConnectionRef> {
        let net = SafetyNet {
            read_only: target.profile.as_ref().is_some_and(|(_, p)| p.read_only),
            allow_destructive: self.allow_destructive,
            warn: self.warn.clone(),
        };
        let mut chain = Chain::new().with(Arc::new(net));
        if let Some(path) = &self.audit {
            chain = chain.with(Arc::new(AuditLog::open(
                path,
                DEFAULT_MAX_BYTES,
                5,
                target.profile.as_ref().map(|(name, _)| name.clone()),
                target.spec.to_string(),
                target.spec.user.clone(),
            )?));
        }
        if let Some(c) = &self.confirmer {
            chain = chain.confirm_with(c.clone());
        }
        Ok(Arc::new(Intercepted::new(session, chain)))
    }
}
