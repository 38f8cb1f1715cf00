//! Engine facets beyond statements, reached through
//! [`Connection`](crate::Connection) itself (`catalog()`, `key_value()`,
//! `documents()`) so that a decorator that wraps a connection forwards or
//! intercepts them too: no frontend downcasts to a driver type.

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::stream::SendableRecordBatchStream;

/// Browsing the keys of a key-value store (Redis).
#[async_trait]
pub trait KeyValue: Send + Sync {
    /// Streams the keys that match `options`, one batch per page of the
    /// store's cursor (SCAN, never KEYS): key, type, TTL, size, encoding,
    /// length.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for bad options; engine errors as `Err`
    /// items of the stream.
    async fn browse(&self, options: BrowseOptions) -> Result<SendableRecordBatchStream>;
}

/// Reading a document store's collections (MongoDB) without writing its
/// command language.
#[async_trait]
pub trait Documents: Send + Sync {
    /// Streams the documents of `collection` that match `filter` (a JSON
    /// object in MongoDB's query language, Extended JSON for typed values),
    /// at most `limit` of them when given.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when `filter` is not an object.
    async fn find(
        &self,
        collection: &str,
        filter: &serde_json::Value,
        limit: Option<u64>,
    ) -> Result<SendableRecordBatchStream>;

    /// Runs an aggregation pipeline (a JSON array of stages) on `collection`.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when `pipeline` is not an array.
    async fn aggregate(
        &self,
        collection: &str,
        pipeline: &serde_json::Value,
    ) -> Result<SendableRecordBatchStream>;
}

/// Options of [`KeyValue::browse`].
#[derive(Debug, Clone)]
pub struct BrowseOptions {
    /// `MATCH` pattern (`user:*`).
    pub pattern: Option<String>,
    /// `TYPE` filter (`hash`, `string`, ...).
    pub key_type: Option<String>,
    /// `COUNT` hint per SCAN call; also the batch size.
    pub count: usize,
}

impl BrowseOptions {
    /// The key types Redis itself knows; module types (`ReJSON-RL`,
    /// `TSDB-TYPE`, ...) are recognised by their dash.
    pub const KEY_TYPES: [&str; 6] = ["string", "hash", "list", "set", "zset", "stream"];

    /// Checks the options before any SCAN.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] for a key type Redis does not have.
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.key_type
            && !Self::KEY_TYPES.contains(&t.as_str())
            && !(t.contains('-') && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(Error::invalid(format!(
                "unknown Redis key type `{t}` (known: {}, or a module type such as ReJSON-RL)",
                Self::KEY_TYPES.join(", ")
            )));
        }
        Ok(())
    }
}

impl Default for BrowseOptions {
    fn default() -> Self {
        BrowseOptions {
            pattern: None,
            key_type: None,
            count: 1000,
        }
    }
}
