//! Stage 6: the report model and the builder that runs the pipeline into it.

pub mod builder;
pub mod link;
pub mod model;
pub mod recv;

pub use builder::{Limits, Options, ReportBuilder};
pub use model::Report;
