//! A saved capture rewritten as pcapng with notes for class: a comment on every frame
//! that carried bytes of a program's call (Wireshark shows it, `tshark -Y frame.comment`
//! finds it), and comments on the section that hold the program's whole trace in a form
//! wirelab reads back ([`TRACE_TAG`]).
//!
//! The file is rewritten in place, through the descriptor opened before privileges
//! were dropped: the process may no longer create a file in the folder (root's, when
//! root runs the lab without sudo), but it can still write this one. The new file is
//! made in memory from the old, its room on disk is reserved first (a full disk fails
//! before anything is overwritten), then it is written over the old and synced; a
//! failure before the write leaves the capture as it was.

use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// The first line of every section comment that carries a piece of the trace.
pub const TRACE_TAG: &str = "wirelab trace v1";
/// Bytes of trace per comment (an option's length is 16 bits).
const PIECE: usize = 60_000;

/// Splits `json` into section comments, each tagged, at character boundaries.
pub fn trace_comments(json: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = json;
    while !rest.is_empty() {
        let mut cut = rest.len().min(PIECE);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(format!("{TRACE_TAG}\n{}", &rest[..cut]));
        rest = &rest[cut..];
    }
    out
}

/// The trace's JSON back from a section's comments, if it has any.
pub fn trace_json(comments: &[String]) -> Option<String> {
    let parts: Vec<&str> = comments
        .iter()
        .filter_map(|c| c.strip_prefix(TRACE_TAG)?.strip_prefix('\n'))
        .collect();
    (!parts.is_empty()).then(|| parts.concat())
}

/// Rewrites the classic pcap in `file` as pcapng, with `notes` (comments by frame
/// number, from 1) on its frames and `section` comments on its section.
///
/// `tls_keys` (the NSS key log text, when not empty) goes in a Decryption Secrets
/// Block before the first packet, as `editcap --inject-secrets tls,FILE` puts it:
/// Wireshark, tshark and wirelab then open the file decrypted with no setup.
pub fn rewrite_as_pcapng(
    file: &File,
    notes: &BTreeMap<u64, Vec<String>>,
    section: &[String],
    tls_keys: &str,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    let err = |e: pcap_file::PcapError| io::Error::other(e.to_string());
    let mut old = Vec::new();
    let mut reading = file;
    reading.seek(SeekFrom::Start(0))?;
    reading.read_to_end(&mut old)?;
    let mut reader = pcap_file::pcap::PcapReader::new(&old[..]).map_err(err)?;
    let header = reader.header();
    let shb = SectionHeaderBlock {
        endianness: pcap_file::Endianness::Big,
        options: section
            .iter()
            .map(|c| SectionHeaderOption::Comment(Cow::Owned(c.clone())))
            .chain([SectionHeaderOption::UserApplication(Cow::Borrowed(
                "wirelab",
            ))])
            .collect(),
        ..Default::default()
    };
    let mut w =
        PcapNgWriter::with_section_header(Vec::with_capacity(old.len() * 2), shb).map_err(err)?;
    let idb = InterfaceDescriptionBlock {
        linktype: header.datalink,
        snaplen: header.snaplen,
        // pcap-file 2 writes every EPB timestamp in nanoseconds, so the interface
        // must say so (the pcapng default is microseconds).
        options: vec![InterfaceDescriptionOption::IfTsResol(9)],
    };
    w.write_pcapng_block(idb).map_err(err)?;
    if !tls_keys.is_empty() {
        w.write_pcapng_block(secrets_block(tls_keys.as_bytes()))
            .map_err(err)?;
    }
    let mut number = 0u64;
    while let Some(p) = reader.next_packet() {
        let p = p.map_err(err)?;
        number += 1;
        let options = notes
            .get(&number)
            .map(|n| {
                n.iter()
                    .map(|c| EnhancedPacketOption::Comment(Cow::Owned(c.clone())))
                    .collect()
            })
            .unwrap_or_default();
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: p.timestamp,
            original_len: p.orig_len,
            data: p.data,
            options,
        })
        .map_err(err)?;
    }
    let new = w.into_inner();
    // SAFETY: posix_fallocate on our own open descriptor.
    let r = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, new.len() as libc::off_t) };
    if r != 0 && r != libc::EOPNOTSUPP && r != libc::EINVAL {
        return Err(io::Error::from_raw_os_error(r));
    }
    file.write_all_at(&new, 0)?;
    file.set_len(new.len() as u64)?;
    file.sync_all()
}

/// A Decryption Secrets Block (pcapng, block type 0x0000000A) of TLS key log text:
/// secrets type `TLSK`, its length, the text padded to 4 bytes, no options; in big
/// endian, the byte order of the section pcap-file writes (its header's default).
fn secrets_block(text: &[u8]) -> pcap_file::pcapng::blocks::unknown::UnknownBlock<'static> {
    const DSB: u32 = 0x0000_000A;
    const TLS_KEY_LOG: u32 = 0x544c_534b;
    let mut body = Vec::with_capacity(text.len() + 12);
    body.extend_from_slice(&TLS_KEY_LOG.to_be_bytes());
    body.extend_from_slice(&(text.len() as u32).to_be_bytes());
    body.extend_from_slice(text);
    body.resize(body.len().next_multiple_of(4), 0);
    pcap_file::pcapng::blocks::unknown::UnknownBlock {
        type_: DSB,
        length: body.len() as u32 + 12,
        value: Cow::Owned(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_survives_the_split_into_comments() {
        let json = format!("{{\"x\":\"{}é\"}}", "a".repeat(130_000));
        let comments = trace_comments(&json);
        assert_eq!(comments.len(), 3);
        assert!(comments.iter().all(|c| c.len() < 65_535));
        let mut with_others = vec!["a teacher's note".to_string()];
        with_others.extend(comments);
        assert_eq!(trace_json(&with_others).unwrap(), json);
        assert_eq!(trace_json(&["nothing".into()]), None);
    }

    #[test]
    fn a_pcap_becomes_pcapng_with_its_comments() {
        let dir = std::env::temp_dir().join(format!("wirelab-annotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("romeo.pcap");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/captures/romeo.pcap"),
            &path,
        )
        .unwrap();
        let notes = BTreeMap::from([(4u64, vec!["recv #1".to_string()])]);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        rewrite_as_pcapng(&file, &notes, &trace_comments("{}"), "").unwrap();
        drop(file);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert!(bytes.windows(7).any(|w| w == b"recv #1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
