//! The command line (as ripgrep's): the definitions in `args`, one runner per command
//! in `commands`, one error type in `failure`, and where reports are written in
//! `output`. `main` only parses and dispatches.

pub mod args;
pub mod commands;
pub mod failure;
pub mod output;
