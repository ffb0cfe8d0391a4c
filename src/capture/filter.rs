//! tcpdump-style BPF filters (`-f 'tcp port 80'`) applied to file frames exactly as
//! libpcap applies them to live traffic: compiled by libpcap for each link type
//! (on a dead handle, no privileges needed) and run with `pcap_offline_filter`.

use super::{Frame, Linktype};
use std::collections::HashMap;

/// An expression libpcap would not compile (its message is the reason).
#[derive(Debug)]
pub struct FilterError {
    pub expr: String,
    pub reason: pcap::Error,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad filter '{}': {}", self.expr, self.reason)
    }
}

impl std::error::Error for FilterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

/// A compiled filter expression, one BPF program per link type met.
pub struct BpfFilter {
    expr: String,
    programs: HashMap<Linktype, Option<pcap::BpfProgram>>,
}

impl BpfFilter {
    /// Compiles `expr` for Ethernet to check its syntax; errors carry libpcap's message.
    pub fn new(expr: &str) -> Result<BpfFilter, FilterError> {
        let mut f = BpfFilter {
            expr: expr.to_string(),
            programs: HashMap::new(),
        };
        let p = compile(expr, Linktype::ETHERNET)?;
        f.programs.insert(Linktype::ETHERNET, Some(p));
        Ok(f)
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Whether the frame passes. A link type the expression cannot be compiled for
    /// (libpcap knows no such link layer) lets no frame through.
    pub fn matches(&mut self, frame: &Frame<'_>) -> bool {
        let prog = self
            .programs
            .entry(frame.linktype)
            .or_insert_with(|| compile(&self.expr, frame.linktype).ok());
        prog.as_ref().is_some_and(|p| p.filter(frame.data))
    }
}

fn compile(expr: &str, lt: Linktype) -> Result<pcap::BpfProgram, FilterError> {
    pcap::Capture::dead(pcap::Linktype(lt.0))
        .and_then(|dead| dead.compile(expr, true))
        .map_err(|reason| FilterError {
            expr: expr.to_string(),
            reason,
        })
}
