//! What TLS tells the reader about a connection, for every renderer: the handshake in
//! course words, what an observer on the wire learns and what it does not, whether the
//! HTTP inside was decrypted (or what would decrypt it), each record, and which record
//! each of the program's reads took. Its record's place in the model (`model::Record`)
//! is here too: its JSON field, `tls`, and these.

use crate::model::{self, Connection, Place, RecvCall};
use crate::section::{Align, Block, Column, Row, Section, Table};
use crate::tls::record::Tls;
use crate::tls::{KeysState, Record};
use crate::words::{call_name, group, ordinal, plural};

/// TLS's record in the model: its JSON field, and what it tells the reader.
impl model::Record for Tls {
    fn fields(
        &self,
        place: Place,
        field: &mut dyn FnMut(&'static str, &dyn erased_serde::Serialize),
    ) {
        if place == Place::Last {
            field("tls", self);
        }
    }

    fn clone_record(&self) -> Box<dyn model::Record> {
        Box::new(self.clone())
    }

    fn section(&self, c: &Connection) -> Option<Section> {
        Some(section(c, self))
    }

    fn story(&self, c: &Connection) -> Option<(&'static str, Vec<String>)> {
        Some(("TLS", story(c, self)))
    }

    /// On a TLS socket the calls read records: which one, and what it held.
    fn recv_column(&self) -> Option<&'static str> {
        Some("TLS record")
    }

    fn recv_cell(&self, r: &RecvCall) -> String {
        read_cell(self, r)
    }

    /// The calls read records, not HTTP: the HTTP's offsets are in the plaintext.
    fn reads_sentence(&self, calls: &[RecvCall]) -> Option<String> {
        Some(reads_sentence(self, calls))
    }

    fn unread_goodbye(&self, read: u64) -> Option<&'static str> {
        only_goodbye_after(self, read).then_some(
            "the server's TLS close_notify (its encrypted goodbye): the ssl library closed \
without reading it",
        )
    }
}

/// TLS's section of the full report: between TCP and HTTP.
pub fn section(c: &Connection, t: &Tls) -> Section {
    let mut blocks = vec![
        Block::Sentence(handshake_sentence(c, t)),
        Block::List(hello_lines(t)),
        Block::Sentence(observer_sentence(c, t)),
        Block::Note {
            text: keys_sentence(t),
            warn: !matches!(t.keys, KeysState::Decrypted | KeysState::NoKeyLog),
        },
    ];
    blocks.extend(t.problems.iter().cloned().map(Block::Problem));
    let mut terms = vec!["tls", "record", "sni"];
    if t.keys == KeysState::Decrypted {
        terms.push("key log");
    }
    let columns = vec![
        Column::new("#", Align::Number),
        Column::new("frames", Align::Left),
        Column::new("", Align::Arrow),
        Column::new("record", Align::Left),
        Column {
            short: Some("len"),
            ..Column::new("length", Align::Right)
        },
        Column::new("inside", Align::Left),
    ];
    let rows = t
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| Row {
            class: r.dir,
            cells: record_row(i + 1, r),
        })
        .collect();
    Section {
        title: "TLS",
        with_tcp: true,
        blocks,
        table: Some(Table {
            columns,
            rows,
            noun: "records",
            omitted: t.records_omitted,
        }),
        terms,
    }
}

/// TLS's sentences in a connection's story.
pub fn story(c: &Connection, t: &Tls) -> Vec<String> {
    vec![
        handshake_sentence(c, t),
        observer_sentence(c, t),
        keys_sentence(t),
    ]
}

/// Whether the server's records after stream byte `read` are all close_notify alerts
/// (true when there are none).
pub fn only_goodbye_after(t: &Tls, read: u64) -> bool {
    t.records
        .iter()
        .filter(|r| r.dir == "s2c" && r.stream_offset >= read)
        .all(|r| r.messages.contains(&"close_notify"))
}

/// The time of `frame` in `c`, if its segment is listed.
fn ts_of(c: &Connection, frame: u64) -> Option<i64> {
    c.segments
        .iter()
        .find(|s| s.frame == frame)
        .map(|s| s.ts_us)
}

fn ms(us: i64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

/// The client's first record after the handshake's clear part: TLS 1.3's first
/// encrypted record, TLS 1.2's first after its ChangeCipherSpec.
fn client_first_encrypted(t: &Tls) -> Option<&Record> {
    let tls13 = t.version.as_deref() == Some("TLS 1.3");
    let mut after_ccs = false;
    t.records.iter().filter(|r| r.dir == "c2s").find(|r| {
        if r.content_type == "change_cipher_spec" {
            after_ccs = true;
            return false;
        }
        (tls13 && r.content_type == "application_data") || (!tls13 && after_ccs)
    })
}

/// Round trips of the handshake: the server's flights before the client's first
/// encrypted record (TLS 1.3: one; TLS 1.2: two; a resumed TLS 1.2 session: one).
fn round_trips(t: &Tls) -> Option<usize> {
    let end = client_first_encrypted(t)?.frames.first().copied()?;
    let mut flights = 0;
    let mut last = "c2s";
    for r in t
        .records
        .iter()
        .filter(|r| r.frames.first().is_some_and(|&f| f < end))
    {
        if r.dir == "s2c" && last == "c2s" {
            flights += 1;
        }
        last = r.dir;
    }
    Some(flights)
}

/// "TLS 1.3 (TLS_AES_256_GCM_SHA384), name data.pr4e.org in clear (SNI); 1 round trip,
/// 0.9 ms from ClientHello to the first encrypted byte of the client".
fn handshake_sentence(c: &Connection, t: &Tls) -> String {
    let mut parts = Vec::new();
    let version = t.version.clone().unwrap_or_else(|| "TLS".into());
    match &t.server_hello {
        Some(sh) => parts.push(format!("{version} ({})", sh.cipher_suite)),
        None => parts.push("TLS (no ServerHello in the capture)".into()),
    }
    if let Some(ch) = &t.client_hello {
        match &ch.sni {
            Some(name) => parts.push(format!("the name {name} sent in clear (SNI)")),
            None => parts.push("no name sent (no SNI)".into()),
        }
    }
    if let Some(n) = round_trips(t) {
        let mut s = plural(n as u64, "round trip");
        let start = t.client_hello.as_ref().and_then(|h| ts_of(c, h.frame));
        let end = client_first_encrypted(t)
            .and_then(|r| r.frames.first())
            .and_then(|&f| ts_of(c, f));
        if let Some((a, b)) = start.zip(end) {
            s.push_str(&format!(
                ", {} before the first byte of HTTP could go",
                ms(b - a)
            ));
        }
        parts.push(s);
    }
    parts.join("; ")
}

/// What the client offered and the server chose, for the full report.
fn hello_lines(t: &Tls) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(ch) = &t.client_hello {
        let mut s = format!(
            "ClientHello (frame {}): offers {}; {} cipher suites",
            ch.frame,
            ch.versions.join(", "),
            ch.cipher_suites.len()
        );
        if !ch.groups.is_empty() {
            s.push_str(&format!("; key shares {}", ch.groups.join(", ")));
        }
        if !ch.alpn.is_empty() {
            s.push_str(&format!("; ALPN {}", ch.alpn.join(", ")));
        }
        if let Some(n) = &ch.sni {
            s.push_str(&format!("; SNI {n}"));
        }
        out.push(s);
    }
    if let Some(sh) = &t.server_hello {
        let mut s = format!(
            "ServerHello (frame {}): chose {} with {}",
            sh.frame, sh.version, sh.cipher_suite
        );
        if let Some(a) = &sh.alpn {
            s.push_str(&format!("; ALPN {a}"));
        }
        out.push(s);
    }
    match (&t.certificates, t.version.as_deref()) {
        (Some(sizes), _) => out.push(format!(
            "Certificate in clear: {} ({} B); anyone on the path can read it",
            plural(sizes.len() as u64, "certificate"),
            group(sizes.iter().sum::<usize>() as u64)
        )),
        (None, Some("TLS 1.3")) => out.push(
            "Certificate: encrypted (TLS 1.3 sends it after ServerHello, under the \
handshake keys)"
                .into(),
        ),
        _ => {}
    }
    out
}

/// What an observer on the wire learns, and what it does not.
fn observer_sentence(c: &Connection, t: &Tls) -> String {
    let records = t.records.len() as u64 + t.records_omitted;
    let bytes: usize = t.records.iter().map(|r| 5 + r.len).sum();
    let name = t
        .client_hello
        .as_ref()
        .and_then(|h| h.sni.clone())
        .map(|n| format!("the name {n}, "))
        .unwrap_or_default();
    let hidden = if t.version.as_deref() == Some("TLS 1.3") {
        "the path, the headers, the body, the certificate"
    } else {
        "the path, the headers, the body"
    };
    format!(
        "An observer on the wire sees {name}the addresses and port {}, and {} ({} B) with \
their sizes and times; not {hidden}.",
        c.server.port,
        plural(records, "record"),
        group(bytes as u64)
    )
}

/// Whether the HTTP inside was decrypted, or why not and what would.
fn keys_sentence(t: &Tls) -> String {
    let suite = t
        .server_hello
        .as_ref()
        .map(|s| s.cipher_suite.clone())
        .unwrap_or_default();
    match t.keys {
        KeysState::Decrypted => {
            "Decrypted with the session's secrets (a key log): the HTTP below is what the \
records carried."
                .into()
        }
        KeysState::NoKeyLog => "Encrypted: the HTTP inside is not shown. A key log would \
decrypt it: run the program with SSLKEYLOGFILE=keys.txt, then wirelab report FILE \
--keylog keys.txt (the lab does this itself)."
            .into(),
        KeysState::Missing => "Encrypted: the key log given has no secrets for this session \
(its ClientHello's random is not in it)."
            .into(),
        KeysState::Failed => "Encrypted: the key log's secrets for this session do not \
open its records (wrong or partial secrets)."
            .into(),
        KeysState::Unsupported => format!(
            "Encrypted with {suite}, which wirelab does not decrypt (it decrypts the AES-GCM \
and ChaCha20-Poly1305 suites of TLS 1.2 and 1.3)."
        ),
    }
}

/// The server's records that a read of stream bytes `at..at + n` touched, with their
/// numbers as the record table shows them (1-based, both directions).
fn records_read(t: &Tls, at: u64, n: u64) -> Vec<(usize, &Record)> {
    t.records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.dir == "s2c")
        .filter(|(_, r)| r.stream_offset < at + n && at < r.stream_offset + 5 + r.len as u64)
        .map(|(i, r)| (i + 1, r))
        .collect()
}

/// What a record held, short: "535 B of HTTP", "handshake", "alert".
fn held(r: &Record) -> String {
    match &r.decrypted {
        Some(d) if d.content_type == "application_data" => {
            format!("{} B of HTTP", group(d.len as u64))
        }
        Some(d) if d.content_type == "alert" && !r.messages.is_empty() => r.messages.join(", "),
        Some(d) => d.content_type.replace('_', " "),
        None if r.content_type == "application_data" => "encrypted".into(),
        None => r.content_type.replace('_', " "),
    }
}

/// The recv table's TLS cell for a call that read `r.bytes` at `r.stream_offset`: the
/// record (numbered as in the TLS table) whose header or body it read: "header of #9",
/// "#9: 535 B of HTTP", "part of #9", "#7-#9". Empty for a read of nothing or of bytes
/// past the records listed.
pub fn read_cell(t: &Tls, r: &RecvCall) -> String {
    if r.bytes == 0 {
        return String::new();
    }
    let (at, end) = (r.stream_offset, r.stream_offset + r.bytes);
    match records_read(t, at, r.bytes).as_slice() {
        [] => String::new(),
        [(n, rec)] => {
            let body = rec.stream_offset + 5;
            let stop = body + rec.len as u64;
            if at == rec.stream_offset && end == body {
                format!("header of #{n}")
            } else if at <= body && end >= stop {
                format!("#{n}: {}", held(rec))
            } else {
                format!("part of #{n}")
            }
        }
        [(a, _), .., (b, _)] => format!("#{a}-#{b}"),
    }
}

/// What the calls on a TLS socket read: records, for the ssl library, which hands the
/// program the plaintext inside. Told with the first record whose header and body two
/// calls read, as the trace shows it ("the library read the 5-byte header, then the
/// record's 1,083 bytes; your code got 535 bytes of plaintext"), or the first call
/// that read several records at once.
pub fn reads_sentence(t: &Tls, calls: &[RecvCall]) -> String {
    let from_server: Vec<&Record> = t.records.iter().filter(|r| r.dir == "s2c").collect();
    let plain: usize = from_server
        .iter()
        .filter_map(|r| r.decrypted.as_ref())
        .filter(|d| d.content_type == "application_data")
        .map(|d| d.len)
        .sum();
    let call = |r: &RecvCall| format!("your program's {} call, {}", ordinal(r.call), call_name(r));
    let data: Vec<&RecvCall> = calls.iter().filter(|r| r.bytes > 0).collect();
    // A header read and, next, the whole body of the same application data record.
    let pair = data.windows(2).find_map(|w| {
        let [(n, rec)] = records_read(t, w[0].stream_offset, w[0].bytes)[..] else {
            return None;
        };
        let body = rec.stream_offset + 5;
        let whole = w[0].stream_offset == rec.stream_offset
            && w[0].bytes == 5
            && w[1].stream_offset == body
            && w[1].bytes == rec.len as u64;
        // The HTTP's records: decrypted application data (not TLS 1.3's encrypted
        // handshake, which also travels as application data), or, with no keys, the
        // records after the handshake.
        let http = match &rec.decrypted {
            Some(d) => d.content_type == "application_data",
            None => rec.content_type == "application_data" && t.keys != KeysState::Decrypted,
        };
        (whole && http).then_some((n, rec, w[0], w[1]))
    });
    let mut s = if let Some((n, rec, h, b)) = pair {
        let inside = match &rec.decrypted {
            Some(d) => format!(
                "; inside were {} of HTTP, which your code's recv got from the library, not \
from the kernel",
                plural(d.len as u64, "byte")
            ),
            None => String::new(),
        };
        format!(
            "These reads are the ssl library's, under your code's recv: it reads a record's \
5-byte header, then the rest. So {}, read the header of record #{n}, and the {} call, {}, its \
{}{inside}.",
            call(h),
            ordinal(b.call),
            call_name(b),
            plural(rec.len as u64, "byte")
        )
    } else if let Some((r, recs)) = data
        .iter()
        .map(|r| (r, records_read(t, r.stream_offset, r.bytes)))
        .find(|(_, recs)| recs.len() > 1)
    {
        format!(
            "These reads are the ssl library's, under your code's recv: it reads ahead, so \
{} got {} at once (#{}-#{}), then decrypted them one by one.",
            call(r),
            plural(recs.len() as u64, "record"),
            recs[0].0,
            recs[recs.len() - 1].0
        )
    } else {
        "These reads are the ssl library's, under your code's recv: they read the server's \
records, each a 5-byte header and the rest."
            .to_string()
    };
    if t.keys == KeysState::Decrypted {
        s.push_str(&format!(
            " In all, the server's {} held {} of HTTP.",
            plural(from_server.len() as u64, "record"),
            plural(plain as u64, "byte")
        ));
    }
    s
}

/// A record's row for a table: its number (1-based), frames, direction, type, length,
/// what it held.
fn record_row(n: usize, r: &Record) -> Vec<String> {
    let frames = match r.frames.as_slice() {
        [] => String::new(),
        [f] => f.to_string(),
        [a, .., b] => format!("{a}-{b}"),
    };
    let inside = match (&r.decrypted, r.messages.is_empty()) {
        (Some(d), true) if d.content_type == "application_data" => {
            format!("{} B of HTTP", group(d.len as u64))
        }
        (Some(d), true) => format!("{} ({} B)", d.content_type, d.len),
        (_, false) => r.messages.join(", "),
        (None, true) => match r.content_type {
            "application_data" => "encrypted".into(),
            "change_cipher_spec" => "ChangeCipherSpec".into(),
            t => t.into(),
        },
    };
    vec![
        format!("#{n}"),
        frames,
        if r.dir == "c2s" { "->" } else { "<-" }.into(),
        r.content_type.replace('_', " "),
        group(r.len as u64),
        inside,
    ]
}
