//! JSON Lines (`--format jsonl`): one object per line, for DuckDB, Spark or jq. A
//! `connection` line per connection (as it closes, when streamed), an `http` line per
//! exchange after it, then a `dns` line per lookup and one `summary` line (the source
//! and the totals). Every line has a `type`; the fields are those of the JSON report.

use crate::dns::ReportDns;
use crate::http::ConnectionHttp;
use crate::model::{Connection, Report};
use serde_json::{Value, json};
use std::io::{self, Write};

/// The lines of one connection: itself (without its exchanges and provenance), then
/// one per exchange.
pub fn connection(c: &Connection, out: &mut dyn Write) -> io::Result<()> {
    let mut v = serde_json::to_value(c)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("http");
        o.insert("type".into(), json!("connection"));
        o.insert("http_exchanges".into(), json!(c.http().len()));
    }
    for d in ["c2s", "s2c"] {
        if let Some(s) = v["streams"][d].as_object_mut() {
            s.remove("chunks");
        }
    }
    line(&v, out)?;
    for (i, x) in c.http().iter().enumerate() {
        let mut e = serde_json::to_value(x)?;
        if let Some(o) = e.as_object_mut() {
            o.insert("type".into(), json!("http"));
            o.insert("connection".into(), json!(c.id));
            o.insert("exchange".into(), json!(i + 1));
            o.insert("server_ip".into(), json!(c.server.ip));
            o.insert("server_port".into(), json!(c.server.port));
        }
        line(&e, out)?;
    }
    Ok(())
}

/// The lines after the connections: the DNS lookups and the summary.
pub fn tail(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for l in report.dns() {
        let mut v = serde_json::to_value(l)?;
        v["type"] = json!("dns");
        line(&v, out)?;
    }
    let summary = json!({
        "type": "summary",
        "wirelab_report": report.wirelab_report,
        "source": report.source,
        "totals": report.totals_json(),
    });
    line(&summary, out)
}

/// A whole report as JSON Lines.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for c in &report.connections {
        connection(c, out)?;
    }
    tail(report, out)
}

fn line(v: &Value, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")
}
