//! Renderers of a diff: side by side for a terminal, an HTML report, a SQL
//! patch.
