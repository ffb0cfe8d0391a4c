//! The timeline `wirelab replay` prints: the TCP packets as they were captured, with
//! what happened between them in time order: the DNS lookups (before the program can
//! connect) and the program's own calls when the capture keeps its trace ("recv(5120)
//! returned 5120: stream 0..5120, frames 20-26"), and the silences.
//!
//! A recv call is shown after the last frame whose bytes it returned (it cannot return
//! bytes that have not arrived), a send before the frame that carried its bytes.

use crate::dns::ReportDns;
use std::collections::VecDeque;

use crate::model::{Connection, PacketLine, RecvCall, Report};

/// A gap this long between two lines of the timeline is said on a line of its own.
pub const SILENCE_US: i64 = 1_000_000;

/// One line of the timeline that is not a TCP packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    pub ts_us: i64,
    /// Shown only once the packet of this frame is (0: no such wait).
    pub after_frame: u64,
    /// Its frame number, for a DNS message.
    pub frame: Option<u64>,
    pub text: String,
}

/// The DNS messages and the program's calls of a report, in time order.
pub fn beats(report: &Report) -> Vec<Beat> {
    let mut out = Vec::new();
    for l in report.dns() {
        if let Some(f) = l.query_frame {
            out.push(Beat {
                ts_us: l.ts_us,
                after_frame: 0,
                frame: Some(f),
                text: format!(
                    "{} -> {} (dns)  {} {}?",
                    l.client, l.server, l.qtype, l.name
                ),
            });
        }
        if let Some(f) = l.response_frame {
            let answer = if l.answers.is_empty() {
                "no address".to_string()
            } else {
                l.answers.join(", ")
            };
            let rcode = l.rcode.as_deref().unwrap_or("?");
            out.push(Beat {
                ts_us: l.ts_us.saturating_add(l.rtt_us.unwrap_or(0)),
                after_frame: 0,
                frame: Some(f),
                text: format!(
                    "{} -> {} (dns)  {} is {answer} ({rcode})",
                    l.server, l.client, l.name
                ),
            });
        }
    }
    let several = report.connections.len() > 1;
    for c in &report.connections {
        let tag = if several {
            format!("connection {}: ", c.id)
        } else {
            String::new()
        };
        for s in c.send.iter().flatten() {
            if let Some(ts) = s.ts_us {
                out.push(Beat {
                    ts_us: ts,
                    after_frame: 0,
                    frame: None,
                    text: format!(
                        "{tag}{} returned {}",
                        super::call_name(s),
                        bytes_and_frames(s, "in")
                    ),
                });
            }
        }
        recv_beats(c, &tag, &mut out);
    }
    // Stable: a lookup's query before its answer, calls in their order.
    out.sort_by_key(|b| b.ts_us);
    out
}

/// A connection's recv calls; a run of calls that all returned 0 (a loop with no
/// `break`) is its first call and one line with the count.
fn recv_beats(c: &Connection, tag: &str, out: &mut Vec<Beat>) {
    let calls: Vec<&RecvCall> = c
        .recv
        .iter()
        .flatten()
        .filter(|r| r.ts_us.is_some())
        .collect();
    let mut i = 0;
    while i < calls.len() {
        let r = calls[i];
        let ts = r.ts_us.unwrap_or_default();
        if r.bytes == 0 {
            let run = calls[i..].iter().take_while(|x| x.bytes == 0).count();
            out.push(Beat {
                ts_us: ts,
                after_frame: 0,
                frame: None,
                text: format!(
                    "{tag}{} returned 0: the server closed, nothing more will come",
                    super::call_name(r)
                ),
            });
            if run > 1 {
                let last = calls[i + run - 1];
                out.push(Beat {
                    ts_us: last.ts_us.unwrap_or(ts),
                    after_frame: 0,
                    frame: None,
                    text: format!(
                        "{tag}{} more {} calls returned 0: the loop never stops",
                        super::group(run as u64 - 1),
                        super::call_name(last)
                    ),
                });
            }
            i += run;
            continue;
        }
        out.push(Beat {
            ts_us: ts,
            after_frame: r.frames.iter().copied().max().unwrap_or(0),
            frame: None,
            text: format!(
                "{tag}{} returned {}",
                super::call_name(r),
                bytes_and_frames(r, "from")
            ),
        });
        i += 1;
    }
}

/// "512: stream 0..512, from frame 10".
fn bytes_and_frames(r: &RecvCall, way: &str) -> String {
    format!(
        "{}: stream {}..{}, {way} {}",
        r.bytes,
        r.stream_offset,
        r.stream_offset + r.bytes,
        super::story::frames_short(&r.frames)
    )
}

/// The timeline as it is printed: beats released between the packets.
pub struct Timeline {
    beats: VecDeque<Beat>,
    t0_us: i64,
    last_us: Option<i64>,
    /// Lines wider than this many columns are wrapped.
    width: usize,
}

/// A line of the timeline and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub ts_us: i64,
    pub text: String,
    /// A TCP packet with findings (shown in red on a terminal).
    pub finding: bool,
}

impl Timeline {
    /// `t0_us`: the time shown as 0 (the capture's first frame).
    pub fn new(report: &Report, t0_us: i64, width: usize) -> Self {
        Timeline {
            beats: beats(report).into(),
            t0_us,
            last_us: None,
            width,
        }
    }

    /// The lines up to and including this packet's: the beats due before it, a
    /// silence if one came, the packet.
    pub fn packet(&mut self, line: &PacketLine) -> Vec<Line> {
        let (frame, ts) = (line.segment.frame, line.segment.ts_us);
        let mut out = Vec::new();
        while let Some(b) = self.beats.front() {
            let due = match b.frame {
                Some(f) => f < frame,
                None => b.after_frame < frame && b.ts_us <= ts,
            };
            if !due {
                break;
            }
            let b = self.beats.pop_front().expect("front exists");
            self.push_beat(b, &mut out);
        }
        let compact = self.width < super::table::WIDTH;
        let head = super::table::packet_head(line, self.t0_us, compact);
        let finding = !line.segment.analysis.is_empty();
        match &line.http_line {
            Some(h) => {
                let h = super::table::printable(h);
                let one = format!("{head}  {h}");
                if one.chars().count() <= self.width {
                    self.push(ts, one, finding, &mut out);
                } else {
                    // The request or status line on a line of its own, not cut first.
                    self.push(ts, head, finding, &mut out);
                    self.push(ts, format!("{:17}{h}", ""), finding, &mut out);
                }
            }
            None => self.push(ts, head, finding, &mut out),
        }
        out
    }

    /// The beats after the last packet.
    pub fn rest(&mut self) -> Vec<Line> {
        let mut out = Vec::new();
        while let Some(b) = self.beats.pop_front() {
            self.push_beat(b, &mut out);
        }
        out
    }

    fn push_beat(&mut self, b: Beat, out: &mut Vec<Line>) {
        let t = (b.ts_us - self.t0_us) as f64 / 1e6;
        let text = match b.frame {
            Some(f) => format!("{f:>4} {t:>10.6}  {}", b.text),
            None => format!("   > {t:>10.6}  {}", b.text),
        };
        self.push(b.ts_us, text, false, out);
    }

    fn push(&mut self, ts: i64, text: String, finding: bool, out: &mut Vec<Line>) {
        if let Some(prev) = self.last_us
            && ts - prev >= SILENCE_US
        {
            out.push(Line {
                ts_us: prev,
                text: format!(
                    "     {:>10}  ... {:.1} s with nothing on the wire ...",
                    "",
                    (ts - prev) as f64 / 1e6
                ),
                finding: false,
            });
        }
        self.last_us = Some(self.last_us.map_or(ts, |p| p.max(ts)));
        // Too wide: the rest goes under, past the frame and time columns.
        for text in super::table::wrap(&text, self.width, 17) {
            out.push(Line {
                ts_us: ts,
                text,
                finding,
            });
        }
    }
}
