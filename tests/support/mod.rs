//! Test support: the generators of crafted and hostile captures. Shared by the tests
//! (`mod support;`) and `examples/hostile.rs` (by path); not part of wirelab itself.

#![allow(dead_code)]

pub mod craft;
pub mod hostile;
