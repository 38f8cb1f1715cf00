//! MySQL (placeholder while written).
