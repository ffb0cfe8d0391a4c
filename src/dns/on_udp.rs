//! DNS above UDP (RFC 1035 §4.2.1, port 53): queries paired with their answers,
//! listed before the connections they led to.

use crate::dns::{self, DnsTracker, record::Lookups};
use crate::limits::Limits;
use crate::model;
use crate::protocol::{Datagram, UdpProtocol};

pub struct DnsOnUdp(DnsTracker);

impl DnsOnUdp {
    pub fn new(limits: &Limits) -> Self {
        DnsOnUdp(DnsTracker::with_max_lookups(limits.dns_lookups))
    }
}

impl UdpProtocol for DnsOnUdp {
    fn wants(&self, src_port: u16, dst_port: u16) -> bool {
        src_port == dns::PORT || dst_port == dns::PORT
    }

    fn datagram(&mut self, d: &Datagram<'_>) {
        self.0.datagram(d.frame, d.ts_us, d.src, d.dst, d.payload);
    }

    /// Lookups past `Limits::dns_lookups` are counted, not listed.
    fn cuts(&self, reached: &mut std::collections::BTreeMap<&'static str, u64>) {
        if self.0.omitted > 0 {
            *reached.entry("dns_lookups").or_default() += self.0.omitted;
        }
    }

    fn finish(self: Box<Self>, report: &mut model::Report) {
        let (omitted, undecodable) = (self.0.omitted, self.0.undecodable);
        report.records.push(Box::new(Lookups {
            lookups: self.0.finish(),
            omitted,
            undecodable,
        }));
    }
}
