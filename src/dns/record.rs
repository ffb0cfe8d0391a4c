//! DNS's record in the report model: the lookups of the whole capture, in capture
//! order (the step before the handshake). Its JSON field is `dns`, after the report's
//! `totals`, left out when there were none.

use crate::dns::Lookup;
use crate::model::{self, Place, Report};

/// The lookups DNS listed.
#[derive(Debug, Clone, Default)]
pub struct Lookups(pub Vec<Lookup>);

impl model::Record for Lookups {
    fn fields(
        &self,
        place: Place,
        field: &mut dyn FnMut(&'static str, &dyn erased_serde::Serialize),
    ) {
        if place == Place::AfterTotals && !self.0.is_empty() {
            field("dns", &self.0);
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
        self.record::<Lookups>().map_or(&[], |l| &l.0)
    }
}
