//! DNS's record in the report model: the lookups of the whole capture, in capture
//! order (the step before the handshake). Its JSON field is `dns`, after the report's
//! `totals`, left out when there were none; its counts `dns_omitted` and
//! `dns_undecodable` are inside the totals.

use crate::dns::Lookup;
use crate::model::{self, Place, Report};

/// The lookups DNS listed, and what it counted without listing.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    pub lookups: Vec<Lookup>,
    /// Lookups beyond the listed ones (`Limits::dns_lookups`): in the report's totals,
    /// `dns_omitted` (left out when 0).
    pub omitted: u64,
    /// UDP port-53 datagrams that were not DNS: `dns_undecodable` in the totals (left
    /// out when 0).
    pub undecodable: u64,
}

impl model::Record for Lookups {
    fn fields(
        &self,
        place: Place,
        field: &mut dyn FnMut(&'static str, &dyn erased_serde::Serialize),
    ) {
        match place {
            Place::AfterTotals if !self.lookups.is_empty() => field("dns", &self.lookups),
            Place::InTotalsLast => {
                if self.omitted != 0 {
                    field("dns_omitted", &self.omitted);
                }
                if self.undecodable != 0 {
                    field("dns_undecodable", &self.undecodable);
                }
            }
            _ => {}
        }
    }

    fn clone_record(&self) -> Box<dyn model::Record> {
        Box::new(self.clone())
    }
}

/// DNS's record read from a report.
pub trait ReportDns {
    /// The lookups listed (none when DNS wrote no record).
    fn dns(&self) -> &[Lookup];
}

impl ReportDns for Report {
    fn dns(&self) -> &[Lookup] {
        self.record::<Lookups>().map_or(&[], |l| &l.lookups)
    }
}
