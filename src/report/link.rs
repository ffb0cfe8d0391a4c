//! The lab link's drops and reorders joined to the connections they belong to: for
//! each, the relative sequence number (as the segments count) and the first captured
//! frame that carried its bytes, the retransmission that replaced a loss or the late
//! arrival of a packet held back. The router saw them; the capture at the client never
//! saw a dropped packet, so this is how the report can say which segment the link lost.

use crate::model::{Connection, Dir, Finding, Report};
use crate::trace::LinkEvent;

/// Joins the lab's events (in `report.lab`) to the connections and copies each
/// connection's drops into it.
pub fn attach(report: &mut Report) {
    let Some(lab) = report.lab.as_mut() else {
        return;
    };
    let never = lab
        .both_ends
        .iter_mut()
        .flat_map(|b| b.never_arrived.iter_mut());
    for e in lab
        .drops
        .iter_mut()
        .chain(lab.reordered.iter_mut())
        .chain(never)
    {
        join(e, &report.connections);
    }
    let mut renamed = 0;
    for conn in &mut report.connections {
        conn.link_drops = lab
            .drops
            .iter()
            .filter(|e| e.connection == Some(conn.id))
            .cloned()
            .collect();
        let n = name_retransmissions(conn);
        renamed += n;
        move_count(&mut conn.analysis_totals, n);
    }
    move_count(&mut report.totals.analysis, renamed);
}

/// Seen at the receiver, a retransmission that comes soon after the data around it
/// looks out of order (Wireshark's heuristic, which the analysis follows); a segment
/// that carries bytes the link is known to have dropped is a retransmission. Returns
/// how many findings were renamed.
fn name_retransmissions(conn: &mut Connection) -> u64 {
    let frames: Vec<u64> = conn.link_drops.iter().filter_map(|d| d.frame).collect();
    let mut n = 0;
    for s in &mut conn.segments {
        if frames.contains(&s.frame)
            && let Some(f) = s.analysis.iter_mut().find(|f| **f == Finding::OutOfOrder)
        {
            *f = Finding::Retransmission;
            n += 1;
        }
    }
    n
}

/// Moves `n` from the "out-of-order" count to "retransmission" (kept in name order).
fn move_count(totals: &mut Vec<(String, u64)>, n: u64) {
    if n == 0 {
        return;
    }
    let mut add = |name: &str, by: i64| match totals.iter_mut().find(|(k, _)| k == name) {
        Some((_, v)) => *v = (*v as i64 + by).max(0) as u64,
        None => totals.push((name.to_string(), by.max(0) as u64)),
    };
    add(Finding::OutOfOrder.as_str(), -(n as i64));
    add(Finding::Retransmission.as_str(), n as i64);
    totals.retain(|(_, v)| *v > 0);
    totals.sort();
}

/// The connection, relative sequence number and frame of one event.
fn join(e: &mut LinkEvent, connections: &[Connection]) {
    let found = connections.iter().find_map(|c| {
        let (client, server) = (c.client.to_string(), c.server.to_string());
        if e.from == server && e.to == client {
            Some((c, Dir::S2C))
        } else if e.from == client && e.to == server {
            Some((c, Dir::C2S))
        } else {
            None
        }
    });
    let Some((conn, dir)) = found else {
        return;
    };
    e.connection = Some(conn.id);
    let mine = || conn.segments.iter().filter(move |s| s.dir == dir);
    // Sequence numbers wrap (RFC 9293 §3.4): distances are taken modulo 2^32.
    if let Some(s) = mine().next() {
        e.rel_seq = Some(s.rel_seq + e.seq.wrapping_sub(s.seq) as i32 as i64);
    }
    let covers = |s: &&crate::model::Segment| {
        s.len > 0 && (e.seq.wrapping_sub(s.seq) as i32) >= 0 && e.seq.wrapping_sub(s.seq) < s.len
    };
    e.frame = mine()
        .filter(covers)
        .find(|s| s.ts_us >= e.ts_us)
        .or_else(|| mine().find(covers))
        .map(|s| s.frame);
}

/// The drop a frame replaced, if it is the retransmission of one.
pub fn replaced_drop(c: &Connection, frame: u64) -> Option<&LinkEvent> {
    c.link_drops.iter().find(|d| d.frame == Some(frame))
}

/// Packet comments for the saved pcapng: on each retransmission of a segment the link
/// dropped, and on each packet it held back (Wireshark shows them as frame comments).
pub fn note_frames(report: &Report, notes: &mut std::collections::BTreeMap<u64, Vec<String>>) {
    let Some(lab) = &report.lab else {
        return;
    };
    let ts_of = |e: &LinkEvent| {
        let c = report
            .connections
            .iter()
            .find(|c| Some(c.id) == e.connection)?;
        c.segments
            .iter()
            .find(|s| Some(s.frame) == e.frame)
            .map(|s| s.ts_us)
    };
    for e in &lab.drops {
        if let (Some(f), Some(rel), Some(ts)) = (e.frame, e.rel_seq, ts_of(e)) {
            notes.entry(f).or_default().push(format!(
                "{}: the lab's link dropped these bytes {:.1} ms earlier",
                drop_words(rel, e.len),
                (ts - e.ts_us) as f64 / 1000.0
            ));
        }
    }
    for e in &lab.reordered {
        if let Some(f) = e.frame {
            notes.entry(f).or_default().push(
                "the lab's link held this segment back behind the next: it arrives out of order"
                    .into(),
            );
        }
    }
}

/// "retransmits seq 1449..2897 (1448 B)".
pub fn drop_words(rel_seq: i64, len: u32) -> String {
    format!(
        "retransmits seq {rel_seq}..{} ({len} B)",
        rel_seq + len as i64
    )
}
