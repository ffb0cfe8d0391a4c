//! Stage 6: the builder that runs the pipeline into the report model (crate::model),
//! and the joins of a program's trace and the lab's link with it.

pub mod builder;
pub mod link;
pub mod recv;

pub use crate::model::Report;
pub use builder::{DICTIONARY, Limits, Options, ReportBuilder};
