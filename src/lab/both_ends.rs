//! `--capture both`: a second capture, on the server's eth0, so that every data segment
//! is seen leaving one end and reaching the other. A segment the server sent that never
//! reached the program is a loss seen with one's own eyes ("sent by the server, never
//! arrived"), not inferred from a retransmission; and each segment that did arrive
//! gives the link's one-way time, end to end (the delay, the jitter, the rate's queue).
//!
//! The two captures run on one machine, so their clocks are one clock. A segment is
//! known by its addresses, sequence number and length; a retransmission carries the same
//! ones as the segment it replaces, so each arrival is matched to the latest send of
//! its kind before it (RFC 9293 §3.10.7.4: the receiver cannot tell them apart either).

use super::link::SegmentSeen;
use crate::capture::live::{LiveCapture, LiveOptions};
use crate::model::{BothEnds, LinkEvent, PacketLine};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Segments kept per end at most (about 40 bytes each); beyond, they are counted only.
pub const MAX_SEEN: usize = 1_000_000;

/// One TCP segment as one end saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub ts_us: i64,
    pub segment: SegmentSeen,
}

/// What one end's capture saw: its data segments, and how many more it left out.
#[derive(Debug, Default)]
pub struct EndSeen {
    pub frames: u64,
    pub data: Vec<Seen>,
    pub omitted: u64,
}

impl EndSeen {
    fn add(&mut self, ts_us: i64, segment: Option<SegmentSeen>) {
        self.frames += 1;
        match segment {
            Some(s) if s.data && self.data.len() < MAX_SEEN => {
                self.data.push(Seen { ts_us, segment: s })
            }
            Some(s) if s.data => self.omitted += 1,
            _ => {}
        }
    }
}

/// The client's end, collected from the lab's own capture as each packet is analysed
/// (the report's segment tables are cut; this list is not, up to [`MAX_SEEN`]).
#[derive(Clone, Default)]
pub struct ClientEnd(Arc<Mutex<EndSeen>>);

impl ClientEnd {
    /// Notes one packet line of the client's capture.
    pub fn note(&self, line: &PacketLine) {
        let (Ok(from), Ok(to)) = (line.src.ip.parse(), line.dst.ip.parse()) else {
            return;
        };
        let s = &line.segment;
        let seen = SegmentSeen {
            from: (from, line.src.port),
            to: (to, line.dst.port),
            seq: s.seq,
            len: s.len,
            data: s.len > 0 && !s.flags.contains("SYN") && !s.flags.contains("RST"),
        };
        if let Ok(mut end) = self.0.lock() {
            end.add(s.ts_us, Some(seen));
        }
    }

    pub fn take(&self) -> EndSeen {
        self.0
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }
}

/// Why the capture at the server's end failed.
#[derive(Debug, thiserror::Error)]
pub enum EndError {
    #[error("the capture at the server's side: {0}")]
    Open(#[source] crate::capture::live::LiveError),
    #[error(transparent)]
    Save(crate::capture::live::LiveError),
    #[error(transparent)]
    Capture(crate::capture::live::LiveError),
    #[error("the server's capture thread failed")]
    Thread,
}

/// The capture on the server's eth0, running in a thread of its own.
pub struct ServerEnd {
    thread: JoinHandle<Result<EndSeen, EndError>>,
    breaker: pcap::BreakLoop,
}

impl ServerEnd {
    /// Opens the capture (call in the server's namespace, with the privilege to capture)
    /// and, if `save` is given, writes every packet to it as classic pcap.
    pub fn open(save: Option<std::fs::File>) -> Result<LiveCapture, EndError> {
        let mut capture = LiveCapture::open(&LiveOptions::new(super::network::SERVER_IFACE))
            .map_err(EndError::Open)?;
        if let Some(file) = save {
            capture.save_to(file).map_err(EndError::Save)?;
        }
        Ok(capture)
    }

    /// Starts reading the capture opened by [`ServerEnd::open`].
    pub fn start(mut capture: LiveCapture) -> ServerEnd {
        let breaker = capture.breaker();
        let thread = std::thread::spawn(move || {
            let mut end = EndSeen::default();
            capture
                .run(|frame| {
                    let ip = frame.data.get(14..).unwrap_or_default();
                    end.add(frame.ts_us, super::link::segment_of(ip));
                    true
                })
                .map_err(EndError::Capture)?;
            Ok(end)
        });
        ServerEnd { thread, breaker }
    }

    /// Stops the capture and gives what it saw.
    pub fn stop(self) -> Result<EndSeen, EndError> {
        self.breaker.breakloop();
        self.thread.join().map_err(|_| EndError::Thread)?
    }
}

/// The two ends compared: for each direction, the data segments one end sent against
/// those the other received; the segments that never arrived (oldest first); the
/// server's segments' one-way times.
pub fn compare(client: &EndSeen, server: &EndSeen, server_ip: Ipv4Addr) -> BothEnds {
    let from_server = |e: &&Seen| e.segment.from.0 == server_ip;
    let from_client = |e: &&Seen| e.segment.from.0 != server_ip;
    let (server_sent, client_got): (Vec<&Seen>, Vec<&Seen>) = (
        server.data.iter().filter(from_server).collect(),
        client.data.iter().filter(from_server).collect(),
    );
    let (client_sent, server_got): (Vec<&Seen>, Vec<&Seen>) = (
        client.data.iter().filter(from_client).collect(),
        server.data.iter().filter(from_client).collect(),
    );
    let (s2c_times, mut never) = match_ends(&server_sent, &client_got);
    let (_, c2s_never) = match_ends(&client_sent, &server_got);
    let (server_lost, client_lost) = (never.len(), c2s_never.len());
    never.extend(c2s_never);
    never.sort_by_key(|e| e.ts_us);
    let kept = never.len().min(crate::trace::MAX_LINK_EVENTS);
    let mut ms: Vec<f64> = s2c_times.iter().map(|us| *us as f64 / 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    BothEnds {
        server_frames: server.frames,
        server_sent: server_sent.len() as u64,
        server_arrived: (server_sent.len() - server_lost) as u64,
        client_sent: client_sent.len() as u64,
        client_arrived: (client_sent.len() - client_lost) as u64,
        omitted: client.omitted + server.omitted + (never.len() - kept) as u64,
        one_way_ms: (!ms.is_empty()).then(|| [ms[0], ms[ms.len() / 2], ms[ms.len() - 1]]),
        never_arrived: never.into_iter().take(kept).collect(),
        saved: None,
    }
}

/// Matches each arrival to the latest send of the same segment before it. Gives the
/// one-way times of the matched (µs) and the sends that never arrived.
fn match_ends(sent: &[&Seen], arrived: &[&Seen]) -> (Vec<i64>, Vec<LinkEvent>) {
    type Key = ((Ipv4Addr, u16), (Ipv4Addr, u16), u32, u32);
    let key = |s: &SegmentSeen| -> Key { (s.from, s.to, s.seq, s.len) };
    // Each kind's sends, in time order, with whether one has been matched.
    let mut sends: HashMap<Key, Vec<(i64, bool)>> = HashMap::new();
    for s in sent {
        sends
            .entry(key(&s.segment))
            .or_default()
            .push((s.ts_us, false));
    }
    for list in sends.values_mut() {
        list.sort();
    }
    let mut times = Vec::with_capacity(arrived.len());
    for a in arrived {
        if let Some(list) = sends.get_mut(&key(&a.segment))
            && let Some(send) = list
                .iter_mut()
                .rev()
                .find(|(ts, matched)| !matched && *ts <= a.ts_us)
        {
            send.1 = true;
            times.push(a.ts_us - send.0);
        }
    }
    let mut never = Vec::new();
    for s in sent {
        let list = &sends[&key(&s.segment)];
        // A kind sent n times and matched m times: its n - m earliest unmatched sends.
        if list.iter().any(|(ts, matched)| *ts == s.ts_us && !matched) {
            never.push(LinkEvent {
                ts_us: s.ts_us,
                from: format!("{}:{}", s.segment.from.0, s.segment.from.1),
                to: format!("{}:{}", s.segment.to.0, s.segment.to.1),
                seq: s.segment.seq,
                len: s.segment.len,
                ..Default::default()
            });
        }
    }
    (times, never)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 80, 1, 2);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 80, 0, 2);

    fn seen(ts_us: i64, from_server: bool, seq: u32) -> Seen {
        let (s, c) = ((SERVER, 80), (CLIENT, 40000));
        let (from, to) = if from_server { (s, c) } else { (c, s) };
        Seen {
            ts_us,
            segment: SegmentSeen {
                from,
                to,
                seq,
                len: 1448,
                data: true,
            },
        }
    }

    fn end(list: Vec<Seen>) -> EndSeen {
        EndSeen {
            frames: list.len() as u64,
            data: list,
            omitted: 0,
        }
    }

    #[test]
    fn a_lost_segment_and_its_retransmission_are_told_apart() {
        // The server sends 1000, 2448 (lost), 3896; then 2448 again, which arrives.
        let server = end(vec![
            seen(0, true, 1000),
            seen(100, true, 2448),
            seen(200, true, 3896),
            seen(50_000, true, 2448),
            seen(15_050, false, 1),
        ]);
        let client = end(vec![
            seen(15_000, true, 1000),
            seen(15_200, true, 3896),
            seen(65_100, true, 2448),
            seen(15_000, false, 1),
        ]);
        let b = compare(&client, &server, SERVER);
        assert_eq!((b.server_sent, b.server_arrived), (4, 3));
        assert_eq!((b.client_sent, b.client_arrived), (1, 1));
        assert_eq!(b.never_arrived.len(), 1);
        let lost = &b.never_arrived[0];
        assert_eq!(
            (lost.ts_us, lost.seq, lost.from.as_str()),
            (100, 2448, "10.80.1.2:80")
        );
        // One way: 15.0, 15.0 and 15.1 ms.
        assert_eq!(b.one_way_ms, Some([15.0, 15.0, 15.1]));
    }

    #[test]
    fn the_clients_lost_segment_is_named_too() {
        let client = end(vec![seen(0, false, 1)]);
        let b = compare(&client, &end(vec![]), SERVER);
        assert_eq!((b.client_sent, b.client_arrived), (1, 0));
        assert_eq!(b.never_arrived[0].from, "10.80.0.2:40000");
        assert_eq!(b.one_way_ms, None);
    }
}
