//! wirelab: a packet-level network lab. The modules are the pipeline, listed here in its
//! order; each imports only those above it (docs/design.md).

// Leaves every stage may use: tables of names, and the bounds of a report.
pub mod glossary;
pub mod limits;
pub mod ports;

// 1-4: frames, their headers, their connections, each direction's stream.
pub mod capture;
pub mod dissect;
pub mod flow;
pub mod reassembly;

// 5: the protocols above TCP and UDP (behind one seam, report/builder/protocol.rs),
// and the TCP analysis beside them.
pub mod dns;
pub mod http;
pub mod socks;
pub mod tls;

pub mod analysis;

// Beside the report: the program's calls, the hashing thread, the bodies saved.
pub mod digest;
pub mod extract;
pub mod trace;

// The report model (the JSON contract, docs/json.md), which every stage after may use.
pub mod model;

// 6: the builder; 7: the renderers; 8: the drivers; 9: the lab.
pub mod report;

pub mod render;

pub mod drive;

pub mod lab;
