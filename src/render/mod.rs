//! Stage 7: renderers. They read only the report model.

pub mod json;
pub mod table;
