//! The lab's network: the program's namespace and the course server's, joined through a
//! router namespace by two veth pairs, as the course's client reaches data.pr4e.org
//! across a router:
//!
//! ```text
//!   client 10.80.0.2 eth0 ==veth== eth0 10.80.0.1 [router] 10.80.1.1 eth1 ==veth== eth0 10.80.1.2 server
//! ```
//!
//! Every veth end has its offloads off (no TSO/GSO/GRO, checksums computed in software),
//! so the capture on the client's eth0 sees segments of wire size: at MTU 1500 and with
//! TCP timestamps, payloads of 1448 bytes (RFC 9293 §3.7.1: MSS = MTU − 40, less 12
//! bytes of the timestamp option, RFC 7323 §3). IPv6 is off, so the capture holds only
//! what the program does. The link is shaped in the router: `--rate` with a token bucket
//! (tbf) on both of its interfaces, loss with nftables in its forward chain (a packet
//! lost between the server and the client, so the server's TCP really retransmits it),
//! delay with netem where the kernel has it.

use super::netns::Netns;
use std::net::Ipv4Addr;

pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 80, 0, 2);
pub const ROUTER_CLIENT_SIDE: Ipv4Addr = Ipv4Addr::new(10, 80, 0, 1);
pub const ROUTER_SERVER_SIDE: Ipv4Addr = Ipv4Addr::new(10, 80, 1, 1);
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 80, 1, 2);
/// The program's interface, where the capture runs.
pub const CLIENT_IFACE: &str = "eth0";

/// How the link between the program and the server behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkOptions {
    pub mtu: u32,
    /// Bits per second (`--rate`).
    pub rate_bps: Option<u64>,
    /// Per cent of the server's data segments lost at random (`--loss`).
    pub loss_pct: Option<f64>,
    /// Every Nth data segment of the server lost (`--drop-every`).
    pub drop_every: Option<u32>,
    /// One-way delay added in each direction (`--delay`), in milliseconds.
    pub delay_ms: Option<f64>,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            mtu: 1500,
            rate_bps: None,
            loss_pct: None,
            drop_every: None,
            delay_ms: None,
        }
    }
}

/// "2mbit", "500kbit", "1gbit", "64000bit" (tc's units of bits per second).
/// The lab's default link rate (the demo's too): at 4 Mbit/s a 1448-byte segment takes
/// 2.9 ms, so a program's recv(5120) returns what has arrived so far in mixed sizes
/// (5120, 3568, 1448, ...) as the book shows, and a traced program keeps up with the
/// data (measured: no zero-window traced, 18 at full speed).
pub const TEACHING_RATE: &str = "4mbit";

pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = [
        ("gbit", 1_000_000_000u64),
        ("mbit", 1_000_000),
        ("kbit", 1_000),
        ("bit", 1),
    ]
    .iter()
    .find_map(|(unit, m)| t.strip_suffix(unit).map(|n| (n, *m)))
    .ok_or_else(|| {
        format!("--rate {s}: give bits per second with a unit, e.g. 2mbit, 500kbit or 1gbit")
    })?;
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("--rate {s}: '{num}' is not a number"))?;
    let bps = (n * mult as f64) as u64;
    if !(8_000..=100_000_000_000).contains(&bps) {
        return Err(format!("--rate {s}: choose between 8kbit and 100gbit"));
    }
    Ok(bps)
}

/// "2mbit" for 2,000,000.
pub fn rate_words(bps: u64) -> String {
    if bps.is_multiple_of(1_000_000) {
        format!("{}mbit", bps / 1_000_000)
    } else if bps.is_multiple_of(1_000) {
        format!("{}kbit", bps / 1_000)
    } else {
        format!("{bps}bit")
    }
}

/// Which pieces of the lab this kernel has, read from /proc/config.gz (None: unknown).
#[derive(Clone, Copy, Debug)]
pub struct KernelSupport {
    pub veth: Option<bool>,
    pub tbf: Option<bool>,
    /// The netfilter queue (nfnetlink_queue) that `--delay` holds packets in.
    pub nfqueue: Option<bool>,
    pub nft_numgen: Option<bool>,
}

impl KernelSupport {
    pub fn probe() -> KernelSupport {
        use std::io::Read;
        let mut text = String::new();
        let known = std::fs::File::open("/proc/config.gz")
            .ok()
            .and_then(|f| {
                flate2::read::GzDecoder::new(f)
                    .read_to_string(&mut text)
                    .ok()
            })
            .is_some();
        let has = |opt: &str| {
            known.then(|| {
                text.lines()
                    .any(|l| l.strip_prefix(opt).is_some_and(|v| v == "=y" || v == "=m"))
            })
        };
        KernelSupport {
            veth: has("CONFIG_VETH"),
            tbf: has("CONFIG_NET_SCH_TBF"),
            nfqueue: has("CONFIG_NETFILTER_NETLINK_QUEUE"),
            nft_numgen: has("CONFIG_NFT_NUMGEN"),
        }
    }

    /// The lines `wirelab lab --help` prints about this kernel.
    pub fn help(&self) -> String {
        let say = |what: &str, v: Option<bool>, instead: &str| match v {
            Some(true) => format!("  {what}: yes"),
            Some(false) => format!("  {what}: NO, this kernel lacks it; {instead}"),
            None => format!("  {what}: unknown (no /proc/config.gz); tried when asked"),
        };
        [
            say(
                "namespaces joined by veth pairs",
                self.veth,
                "wirelab lab cannot run (demo falls back to loopback)",
            ),
            say("--rate (tbf)", self.tbf, "the link runs at full speed"),
            say(
                "--loss, --drop-every (nftables numgen)",
                self.nft_numgen,
                "no loss can be made",
            ),
            say(
                "--delay (a netfilter queue: nfnetlink_queue, iptables-legacy NFQUEUE)",
                self.nfqueue,
                "no delay can be added; --rate slows the link instead",
            ),
        ]
        .join("\n")
    }
}

/// The lab's three namespaces, configured. Dropping it releases them: the kernel then
/// removes every interface, route, qdisc and nft table of the lab.
pub struct LabNetwork {
    /// The thread holding packets for `--delay`: first, so it stops (releasing what it
    /// holds and its socket in the router) before the namespaces are let go.
    delay: Option<super::delay::DelayLink>,
    pub client: Netns,
    pub router: Netns,
    pub server: Netns,
    /// The link in words, for the report ("rate 2mbit (tbf)").
    pub link: Vec<String>,
    /// One line for each requested piece this kernel lacks, and what works instead.
    pub missing: Vec<String>,
    loss_rules: bool,
}

impl LabNetwork {
    /// Makes and configures the namespaces. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN).
    pub fn build(opts: &LinkOptions) -> Result<LabNetwork, String> {
        let make = |role| {
            Netns::new(role).map_err(|e| {
                if super::netns::not_permitted(&e) {
                    format!(
                        "making network namespaces is not permitted here ({e}): it needs root \
with CAP_SYS_ADMIN (sudo; in a container, one started with that privilege)"
                    )
                } else {
                    format!("cannot make a network namespace: {e}")
                }
            })
        };
        let net = LabNetwork {
            client: make("client")?,
            router: make("router")?,
            server: make("server")?,
            link: Vec::new(),
            missing: Vec::new(),
            loss_rules: false,
            delay: None,
        };
        net.wire(opts.mtu)?;
        let mut net = net;
        net.shape(opts)?;
        Ok(net)
    }

    fn wire(&self, mtu: u32) -> Result<(), String> {
        let mtu = mtu.to_string();
        for ns in [&self.client, &self.router, &self.server] {
            // No IPv6: no router solicitations or MLD reports in the capture.
            ns.run(
                "sysctl",
                &[
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ],
            )?;
            ns.run("ip", &["link", "set", "lo", "up"])?;
        }
        let r = &self.router;
        for (name, peer) in [("eth0", &self.client), ("eth1", &self.server)] {
            r.run(
                "ip",
                &[
                    "link",
                    "add",
                    "name",
                    name,
                    "mtu",
                    &mtu,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "mtu",
                    &mtu,
                    "netns",
                    &peer.path(),
                ],
            )
            .map_err(|e| {
                if e.contains("Unknown device type") || e.contains("not supported") {
                    format!("{e}: this kernel has no veth pairs, so the lab cannot be built")
                } else {
                    e
                }
            })?;
        }
        let addr = |ns: &Netns, ip: Ipv4Addr, dev: &str| -> Result<(), String> {
            ns.run("ip", &["addr", "add", &format!("{ip}/24"), "dev", dev])?;
            no_offloads(ns, dev)?;
            ns.run("ip", &["link", "set", dev, "up"]).map(|_| ())
        };
        addr(&self.client, CLIENT_IP, "eth0")?;
        addr(r, ROUTER_CLIENT_SIDE, "eth0")?;
        addr(r, ROUTER_SERVER_SIDE, "eth1")?;
        addr(&self.server, SERVER_IP, "eth0")?;
        r.run("sysctl", &["-qw", "net.ipv4.ip_forward=1"])?;
        self.client.run(
            "ip",
            &[
                "route",
                "add",
                "default",
                "via",
                &ROUTER_CLIENT_SIDE.to_string(),
            ],
        )?;
        self.server.run(
            "ip",
            &[
                "route",
                "add",
                "default",
                "via",
                &ROUTER_SERVER_SIDE.to_string(),
            ],
        )?;
        Ok(())
    }

    /// Rate, delay and loss, in the router.
    fn shape(&mut self, opts: &LinkOptions) -> Result<(), String> {
        let support = KernelSupport::probe();
        if let Some(bps) = opts.rate_bps {
            // A bucket of a few frames (a burst of 20 ms at the rate), and a queue of a
            // second's worth (at least 1 MiB), so the rate alone loses nothing: only
            // --loss and --drop-every do.
            let burst = (opts.mtu as u64 * 4).max(bps / 8 / 50);
            let limit = (bps / 8).max(1 << 20);
            for dev in ["eth0", "eth1"] {
                self.router.run(
                    "tc",
                    &[
                        "qdisc",
                        "add",
                        "dev",
                        dev,
                        "root",
                        "tbf",
                        "rate",
                        &format!("{bps}bit"),
                        "burst",
                        &burst.to_string(),
                        "limit",
                        &limit.to_string(),
                    ],
                )?;
            }
            self.link.push(format!("rate {} (tbf)", rate_words(bps)));
        }
        if let Some(ms) = opts.delay_ms.filter(|ms| *ms > 0.0) {
            let delay = std::time::Duration::from_secs_f64(ms / 1000.0);
            match super::delay::DelayLink::start(&self.router, delay) {
                Ok(link) => {
                    self.delay = Some(link);
                    self.link.push(format!(
                        "delay {ms} ms each way (held in a netfilter queue): the RTT grows \
by {} ms",
                        ms * 2.0
                    ));
                }
                Err(e) => self.missing.push(format!(
                    "{e}; no delay is added (--rate slows the link instead)"
                )),
            }
        }
        let drop = match (opts.drop_every, opts.loss_pct) {
            (Some(n), _) => Some((
                format!("numgen inc mod {n} {}", n - 1),
                format!(
                    "every {} data segment of the server lost",
                    ordinal(n as u64)
                ),
            )),
            (None, Some(p)) => Some((
                format!("numgen random mod 10000 < {}", (p * 100.0).round() as u32),
                format!("{p}% of the server's data segments lost at random"),
            )),
            (None, None) => None,
        };
        if let Some((expr, words)) = drop {
            // Only segments that carry data (IP length above 52: 20 of IP, 32 of TCP with
            // timestamps) and no SYN or RST: the handshake is left alone.
            let rules = format!(
                "table inet wirelab {{\n chain forward {{\n  type filter hook forward priority 0; policy accept;\n  \
iifname \"eth1\" oifname \"eth0\" ip protocol tcp tcp flags & (syn | rst) == 0 ip length > 52 {expr} counter drop\n }}\n}}\n"
            );
            self.nft(&rules).map_err(|e| {
                if support.nft_numgen == Some(false) {
                    format!(
                        "{e}: this kernel has no nft numgen, so --loss and --drop-every cannot work"
                    )
                } else {
                    e
                }
            })?;
            self.loss_rules = true;
            self.link.push(words);
        }
        Ok(())
    }

    fn nft(&self, rules: &str) -> Result<(), String> {
        use std::io::Write;
        let mut child = self
            .router
            .command("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run nft: {e} (install nftables)"))?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(rules.as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
        let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "nft in the router namespace failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Segments the loss rule dropped so far (None without one).
    pub fn dropped(&self) -> Option<u64> {
        if !self.loss_rules {
            return None;
        }
        let out = self
            .router
            .run("nft", &["list", "table", "inet", "wirelab"])
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let at = text.find("counter packets ")? + "counter packets ".len();
        text[at..].split_whitespace().next()?.parse().ok()
    }
}

/// Offloads off on one veth end, and checked: a capture of wire-sized segments needs
/// TSO, GSO and GRO off.
fn no_offloads(ns: &Netns, dev: &str) -> Result<(), String> {
    // ethtool exits non-zero when some feature is fixed; what matters is checked below.
    let _ = ns.run(
        "ethtool",
        &[
            "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off", "sg",
            "off",
        ],
    );
    let out = ns.run("ethtool", &["-k", dev]).map_err(|e| {
        if e.contains("cannot run") {
            "the lab needs ethtool to turn segmentation offloads off: install ethtool".to_string()
        } else {
            e
        }
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    for feature in [
        "tcp-segmentation-offload",
        "generic-segmentation-offload",
        "generic-receive-offload",
    ] {
        let on = text
            .lines()
            .any(|l| l.trim_start().starts_with(feature) && l.contains(": on"));
        if on {
            return Err(format!(
                "{feature} stays on for {dev} in the {} namespace: the capture would see \
super-segments",
                ns.role
            ));
        }
    }
    Ok(())
}

use crate::render::ordinal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_need_units_and_sense() {
        assert_eq!(parse_rate("2mbit"), Ok(2_000_000));
        assert_eq!(parse_rate("500kbit"), Ok(500_000));
        assert_eq!(parse_rate("1.5Mbit"), Ok(1_500_000));
        assert!(parse_rate("2").unwrap_err().contains("unit"));
        assert!(parse_rate("fastmbit").unwrap_err().contains("not a number"));
        assert!(parse_rate("1bit").unwrap_err().contains("between"));
        assert_eq!(rate_words(2_000_000), "2mbit");
    }

    #[test]
    fn ordinals() {
        assert_eq!(
            [1u64, 2, 3, 4, 11, 12, 13, 21, 22].map(ordinal),
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"
            ]
        );
    }
}
