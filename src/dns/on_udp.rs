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

    fn finish(self: Box<Self>, report: &mut model::Report) {
        report.totals.dns_omitted = self.0.omitted;
        report.totals.dns_undecodable = self.0.undecodable;
        report.records.push(Box::new(Lookups(self.0.finish())));
    }
}
