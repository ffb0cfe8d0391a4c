//! One runner per command; each takes its parsed arguments and returns an `Outcome`.

pub mod capture;
pub mod course;
pub mod info;
pub mod lab;
pub mod report;
