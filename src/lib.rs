//! wirelab: a packet-level network lab. The modules are the pipeline, listed here in its
//! order; each imports only those above it (docs/design.md).

// Leaves every stage may use: tables of names, the bounds of a report, and the shape of
// what a protocol tells the reader (a section, which each renderer lays out).
pub mod glossary;
pub mod keylog;
pub mod limits;
pub mod ports;
pub mod section;

// 1-4: frames, their headers, their connections, each direction's stream; the TCP
// analysis beside them.
pub mod capture;
pub mod dissect;
pub mod flow;
pub mod reassembly;

pub mod analysis;

// Beside the report: the program's calls, the hashing thread, the bodies saved.
pub mod digest;
pub mod extract;
pub mod trace;

// The report model (the JSON contract, docs/json.md), the seams above TCP and UDP
// (naming no protocol), and the report's words, which every stage after may use.
pub mod model;
pub mod protocol;
pub mod words;

// 5: the protocols above TCP and UDP, one folder each: the parser, its record in the
// model, its adapter to the seam (on_tcp.rs, on_udp.rs), its sentences (tls/sentences.rs).
pub mod dns;
pub mod http;
pub mod socks;
pub mod tls;

// 6: the builder (its registry picks the protocols); 7: the renderers; 8: the
// drivers; 9: the lab.
pub mod report;

pub mod render;

pub mod drive;

pub mod lab;
