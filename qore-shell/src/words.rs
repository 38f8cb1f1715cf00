//! The words completion offers besides the catalog's names.

/// SQL keywords common to the SQL engines.
pub(crate) const KEYWORDS: &[&str] = &[
    "ADD", "ALL", "ALTER", "ANALYZE", "AND", "AS", "ASC", "BEGIN", "BETWEEN", "BY", "CASCADE", "CASE",
    "CAST", "CHECK", "COLUMN", "COMMIT", "CONSTRAINT", "CREATE", "CROSS", "DATABASE", "DEFAULT",
    "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END", "EXCEPT", "EXISTS", "EXPLAIN", "FALSE",
    "FETCH", "FILTER", "FIRST", "FOREIGN", "FROM", "FULL", "GROUP", "HAVING", "IF", "ILIKE", "IN",
    "INDEX", "INNER", "INSERT", "INTERSECT", "INTO", "IS", "JOIN", "KEY", "LAST", "LATERAL", "LEFT",
    "LIKE", "LIMIT", "NATURAL", "NOT", "NULL", "NULLS", "OFFSET", "ON", "OR", "ORDER", "OUTER",
    "OVER", "PARTITION", "PRIMARY", "REFERENCES", "RENAME", "REPLACE", "RETURNING", "RIGHT",
    "ROLLBACK", "ROW", "ROWS", "SAVEPOINT", "SCHEMA", "SELECT", "SET", "SHOW", "TABLE", "THEN", "TO",
    "TRANSACTION", "TRUE", "TRUNCATE", "UNION", "UNIQUE", "UPDATE", "USING", "VALUES", "VIEW",
    "WHEN", "WHERE", "WINDOW", "WITH",
];

/// Functions every SQL engine here has, or nearly.
pub(crate) const FUNCTIONS: &[&str] = &[
    "abs", "avg", "ceil", "coalesce", "concat", "count", "current_date", "current_timestamp",
    "floor", "greatest", "least", "length", "lower", "ltrim", "max", "min", "nullif", "replace",
    "round", "row_number", "rtrim", "substr", "substring", "sum", "trim", "upper",
];

/// Redis commands, for the first word of a line.
pub(crate) const REDIS_COMMANDS: &[&str] = &[
    "APPEND", "DBSIZE", "DECR", "DECRBY", "DEL", "EXISTS", "EXPIRE", "GET", "GETDEL", "GETRANGE",
    "HDEL", "HEXISTS", "HGET", "HGETALL", "HINCRBY", "HKEYS", "HLEN", "HMGET", "HSET", "HVALS",
    "INCR", "INCRBY", "INFO", "JSON.GET", "JSON.SET", "KEYS", "LINDEX", "LLEN", "LPOP", "LPUSH",
    "LRANGE", "MGET", "MSET", "PERSIST", "PEXPIRE", "PING", "PTTL", "RENAME", "RPOP", "RPUSH",
    "SADD", "SCAN", "SCARD", "SET", "SISMEMBER", "SMEMBERS", "SREM", "STRLEN", "TTL", "TYPE",
    "UNLINK", "XADD", "XLEN", "XRANGE", "ZADD", "ZCARD", "ZRANGE", "ZRANGEBYSCORE", "ZREM", "ZSCORE",
];

/// Redis commands whose second word is a key.
pub(crate) fn redis_takes_key(command: &str) -> bool {
    !matches!(
        command.to_ascii_uppercase().as_str(),
        "DBSIZE" | "INFO" | "KEYS" | "MSET" | "PING" | "SCAN"
    )
}

/// Collection methods of the mongosh shorthand.
pub(crate) const MONGO_METHODS: &[&str] = &[
    "aggregate", "countDocuments", "createIndex", "deleteMany", "deleteOne", "distinct", "drop",
    "dropIndex", "estimatedDocumentCount", "find", "findOne", "findOneAndDelete", "findOneAndReplace",
    "findOneAndUpdate", "getIndexes", "insertMany", "insertOne", "renameCollection", "replaceOne",
    "updateMany", "updateOne",
];
