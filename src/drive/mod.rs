//! Stage 8: the drivers. The same pipeline (dissect → flow → reassembly → http →
//! report) fed two ways: from a saved file (`file`), or live from an interface with the
//! privileges dropped first (`live`). The lab and the command line drive through these.

pub mod file;
pub mod live;
