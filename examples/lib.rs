//! Examples of embedding QoreDB.
