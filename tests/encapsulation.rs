//! Every encapsulation and link type wirelab peels (captures/encap/, made from
//! captures/romeo.pcap by scripts/encapsulate.py) decodes to the same connection, the
//! same bytes and the same exchange as the plain capture, and names its layers.

use std::path::Path;
use wirelab::http::ConnectionHttp;
use wirelab::report::{Options, Report};

fn report(path: &Path) -> Report {
    let opts = Options {
        stream_hash: true,
        ..Options::default()
    };
    wirelab::drive::file::from_file(path, None, opts).expect("the capture reads")
}

/// (capture, the stack the report must name): tshark's `frame.protocols` for the same
/// files reads the same layers.
const STACKS: &[(&str, &str)] = &[
    (
        "vlan-gre.pcap",
        "Ethernet / 802.1Q 10 / IPv4 / GRE / IPv4 / TCP",
    ),
    (
        "qinq.pcap",
        "Ethernet / 802.1Q 100 / 802.1Q 200 / IPv4 / TCP",
    ),
    (
        "gre-key-teb.pcap",
        "Ethernet / IPv4 / GRE / Ethernet / IPv4 / TCP",
    ),
    (
        "erspan2.pcap",
        "Ethernet / IPv4 / GRE / ERSPAN / Ethernet / IPv4 / TCP",
    ),
    (
        "erspan3.pcap",
        "Ethernet / IPv4 / GRE / ERSPAN / Ethernet / IPv4 / TCP",
    ),
    (
        "vxlan.pcap",
        "Ethernet / IPv4 / UDP / VXLAN 42 / Ethernet / IPv4 / TCP",
    ),
    ("gtp-u.pcap", "Ethernet / IPv4 / UDP / GTP-U / IPv4 / TCP"),
    // The outer datagrams in two fragments each: the tunnel is read after reassembly.
    (
        "gtp-u-fragmented.pcap",
        "Ethernet / IPv4 / UDP / GTP-U / IPv4 / TCP",
    ),
    ("teredo.pcap", "Ethernet / IPv4 / UDP / Teredo / IPv6 / TCP"),
    ("ipip.pcap", "Ethernet / IPv4 / IPv4 / TCP"),
    ("6in4.pcap", "Ethernet / IPv4 / IPv6 / TCP"),
    (
        "l2tp.pcap",
        "Ethernet / IPv4 / UDP / L2TP / PPP / IPv4 / TCP",
    ),
    ("mpls.pcap", "Ethernet / MPLS 100 / MPLS 200 / IPv4 / TCP"),
    ("pppoe.pcap", "Ethernet / PPPoE / PPP / IPv4 / TCP"),
    ("llc-snap.pcap", "Ethernet / LLC/SNAP / IPv4 / TCP"),
    ("chdlc.pcap", "Cisco HDLC / IPv4 / TCP"),
    ("arcnet.pcap", "ARCNET / IPv4 / TCP"),
    ("ppp.pcap", "PPP / IPv4 / TCP"),
    ("nflog.pcap", "NFLOG / IPv4 / TCP"),
    ("radiotap.pcap", "radiotap / 802.11 / LLC/SNAP / IPv4 / TCP"),
    ("ipv4-options.pcap", "Ethernet / IPv4 / IPv4 options / TCP"),
    (
        "ipv6-ext.pcap",
        "Ethernet / IPv6 / hop-by-hop / routing / destination options / AH / TCP",
    ),
    // Every segment in two fragments (RFC 8200 §4.5), reassembled as IPv4's are.
    ("ipv6-frag.pcap", "Ethernet / IPv6 / fragment / TCP"),
];

#[test]
fn every_encapsulation_gives_the_plain_capture_connection() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let plain = report(&root.join("romeo.pcap"));
    let want = &plain.connections[0];
    assert_eq!(want.link.stack, "Ethernet / IPv4 / TCP");
    let on_disk = std::fs::read_dir(root.join("encap")).unwrap().count();
    assert_eq!(
        on_disk,
        STACKS.len(),
        "every capture in captures/encap is in STACKS"
    );
    for (file, stack) in STACKS {
        let r = report(&root.join("encap").join(file));
        assert_eq!(r.source.undecoded, 0, "{file}");
        assert_eq!(r.connections.len(), 1, "{file}");
        let c = &r.connections[0];
        assert_eq!(&c.link.stack, stack, "{file}");
        assert_eq!(c.streams.c2s.sha256.len(), 64, "{file}");
        assert_eq!(c.streams.c2s.sha256, want.streams.c2s.sha256, "{file}");
        assert_eq!(c.streams.s2c.sha256, want.streams.s2c.sha256, "{file}");
        assert_eq!(c.streams.s2c.complete, want.streams.s2c.complete, "{file}");
        assert_eq!(c.http().len(), 1, "{file}");
        let (x, y) = (&c.http()[0], &want.http()[0]);
        assert_eq!(
            x.request.as_ref().map(|q| &q.target),
            y.request.as_ref().map(|q| &q.target),
            "{file}"
        );
        assert_eq!(
            x.response.as_ref().map(|s| (s.status, s.body_len)),
            y.response.as_ref().map(|s| (s.status, s.body_len)),
            "{file}"
        );
    }
}

/// An unsupported link type is named in words with its number.
#[test]
fn unsupported_link_types_are_named_in_words() {
    use wirelab::capture::Linktype;
    assert_eq!(Linktype(127).describe(), "IEEE 802.11 radiotap (127)");
    assert_eq!(Linktype(7).describe(), "ARCNET (7)");
    assert_eq!(Linktype(4242).describe(), "link type 4242");
}

/// A VXLAN tunnel the kernel made (scripts/record_vxlan.sh, captured on the underlay):
/// the stack, the exchange inside, the inner stream byte-identical to tshark's follow
/// through the tunnel, and the frames that are not TCP counted as tshark counts them.
#[test]
fn a_recorded_vxlan_tunnel_decodes_as_tshark_decodes_it() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/vxlan-recorded.pcap");
    let r = report(&path);
    assert_eq!(r.connections.len(), 1);
    let c = &r.connections[0];
    assert_eq!(
        c.link.stack,
        "Ethernet / IPv4 / UDP / VXLAN 42 / Ethernet / IPv4 / TCP"
    );
    let s = c.http()[0].response.as_ref().unwrap();
    assert_eq!((s.status, s.body_len, s.complete), (200, 167, true));
    assert!(c.streams.c2s.complete && c.streams.s2c.complete);
    let Ok(out) = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-T", "fields", "-e", "frame.protocols"])
        .output()
    else {
        assert!(std::env::var("CI").is_err(), "CI must install tshark");
        eprintln!("skipped the tshark half: tshark is not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let ends = |p: &str| text.lines().filter(|l| l.ends_with(p)).count() as u64;
    let kinds: std::collections::HashMap<&str, u64> = r
        .source
        .non_tcp_kinds
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(kinds.get("ARP").copied(), Some(ends(":arp")));
    assert_eq!(kinds.get("ICMPv6").copied(), Some(ends(":icmpv6")));
}
