//! wirelab: a packet-level network lab. The modules are the pipeline, in order; each
//! imports only those before it (see DESIGN.md).

pub mod analysis;
pub mod capture;
pub mod digest;
pub mod dissect;
pub mod dns;
pub mod drive;
pub mod extract;
pub mod flow;
pub mod glossary;
pub mod http;
pub mod lab;
pub mod ports;
pub mod reassembly;
pub mod render;
pub mod report;
pub mod socks;
pub mod tls;
pub mod trace;
