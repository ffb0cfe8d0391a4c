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
//! (tbf) on both of its interfaces; delay, jitter, loss and reordering by wirelab's own
//! thread, which the router hands every packet it forwards ([`super::link`]: a loss
//! happens between the server and the client, so the server's TCP really retransmits
//! it, and the lab records it).

use super::netns::{CommandError, Netns};
use std::net::Ipv4Addr;

pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 80, 0, 2);
pub const ROUTER_CLIENT_SIDE: Ipv4Addr = Ipv4Addr::new(10, 80, 0, 1);
pub const ROUTER_SERVER_SIDE: Ipv4Addr = Ipv4Addr::new(10, 80, 1, 1);
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 80, 1, 2);
/// The program's interface, where the capture runs.
pub const CLIENT_IFACE: &str = "eth0";
/// The server's interface, where `--capture both` runs its second capture.
pub const SERVER_IFACE: &str = "eth0";

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
    /// Each packet's delay varies uniformly by up to this much either way (`--jitter`).
    pub jitter_ms: Option<f64>,
    /// Per cent of the server's data segments held back behind the next (`--reorder`).
    pub reorder_pct: Option<f64>,
    /// The named link these figures came from (`--link`).
    pub name: Option<&'static str>,
    /// Capture at the server's side too (`--capture both`).
    pub capture_both: bool,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            mtu: 1500,
            rate_bps: None,
            loss_pct: None,
            drop_every: None,
            delay_ms: None,
            jitter_ms: None,
            reorder_pct: None,
            name: None,
            capture_both: false,
        }
    }
}

impl LinkOptions {
    /// "home, 4mbit, 15 ms each way": short, for a line of 80 columns.
    pub fn words(&self) -> String {
        let mut parts: Vec<String> = self.name.map(str::to_string).into_iter().collect();
        parts.push(self.rate_bps.map_or("full speed".into(), rate_words));
        if let Some(d) = self.delay_ms.filter(|d| *d > 0.0) {
            parts.push(format!("{d} ms each way"));
        }
        if let Some(n) = self.drop_every {
            parts.push(format!("every {} data segment lost", ordinal(n as u64)));
        } else if let Some(p) = self.loss_pct {
            parts.push(format!("{p}% loss"));
        }
        if let Some(p) = self.reorder_pct {
            parts.push(format!("{p}% reordered"));
        }
        parts.join(", ")
    }
}

/// A link for class, by name (`--link home`): the figures, and what it is like.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NamedLink {
    pub name: &'static str,
    pub like: &'static str,
    pub rate_bps: Option<u64>,
    /// One way: the RTT grows by twice this.
    pub delay_ms: f64,
    pub jitter_ms: f64,
    pub loss_pct: Option<f64>,
}

/// The links `--link` knows. `home` is the default of `lab` and `demo`: at 4 Mbit/s a
/// 1448-byte segment takes 2.9 ms, so a program's recv(5120) returns what has arrived
/// so far in mixed sizes (5120, 3568, 1448, ...) as the book shows, and a traced
/// program keeps up with the data (measured: no zero-window traced, 18 at full speed);
/// its 30 ms of RTT make the handshake and slow start visible.
pub const NAMED_LINKS: [NamedLink; 5] = [
    NamedLink {
        name: "lan",
        like: "a wired local network",
        rate_bps: Some(100_000_000),
        delay_ms: 0.0,
        jitter_ms: 0.0,
        loss_pct: None,
    },
    NamedLink {
        name: "home",
        like: "a home line across a city",
        rate_bps: Some(4_000_000),
        delay_ms: 15.0,
        jitter_ms: 1.0,
        loss_pct: None,
    },
    NamedLink {
        name: "mobile",
        like: "a phone on a 4G network",
        rate_bps: Some(10_000_000),
        delay_ms: 30.0,
        jitter_ms: 8.0,
        loss_pct: Some(0.5),
    },
    NamedLink {
        name: "satellite",
        like: "a geostationary satellite link",
        rate_bps: Some(10_000_000),
        delay_ms: 300.0,
        jitter_ms: 5.0,
        loss_pct: None,
    },
    NamedLink {
        name: "lossy",
        like: "a poor Wi-Fi link",
        rate_bps: Some(4_000_000),
        delay_ms: 15.0,
        jitter_ms: 3.0,
        loss_pct: Some(3.0),
    },
];

/// The link `lab` and `demo` use when none is named.
pub const DEFAULT_LINK: &str = "home";

/// The named link, if there is one by that name.
pub fn named_link(name: &str) -> Option<&'static NamedLink> {
    NAMED_LINKS
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(name))
}

impl NamedLink {
    /// Its figures as link options (MTU 1500).
    pub fn options(&self) -> LinkOptions {
        LinkOptions {
            rate_bps: self.rate_bps,
            loss_pct: self.loss_pct,
            delay_ms: Some(self.delay_ms).filter(|d| *d > 0.0),
            jitter_ms: Some(self.jitter_ms).filter(|j| *j > 0.0),
            name: Some(self.name),
            ..LinkOptions::default()
        }
    }

    /// "home: 4mbit, 15 ms each way (RTT +30 ms), jitter ±1 ms; a home line ..."
    pub fn line(&self) -> String {
        let mut parts = vec![self.rate_bps.map_or("full speed".into(), rate_words)];
        if self.delay_ms > 0.0 {
            parts.push(format!(
                "{} ms each way (RTT +{} ms)",
                self.delay_ms,
                self.delay_ms * 2.0
            ));
        }
        if self.jitter_ms > 0.0 {
            parts.push(format!("jitter ±{} ms", self.jitter_ms));
        }
        if let Some(p) = self.loss_pct {
            parts.push(format!("{p}% loss"));
        }
        format!("{}: {}; {}", self.name, parts.join(", "), self.like)
    }
}

/// A figure of the link that is not one: `--delay`/`--jitter` milliseconds, or a `--rate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadFigure {
    /// Not milliseconds from 0 to 10,000.
    Milliseconds(String),
    /// A rate without its unit.
    RateUnit(String),
    /// A rate whose number is not one.
    RateNumber { rate: String, number: String },
    /// A rate outside 8kbit..100gbit.
    RateRange(String),
}

impl std::fmt::Display for BadFigure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadFigure::Milliseconds(s) => write!(
                f,
                "{s}: give milliseconds from 0 to 10000, e.g. 40 or 40ms (or seconds: 0.3s)"
            ),
            BadFigure::RateUnit(s) => write!(
                f,
                "--rate {s}: give bits per second with a unit, e.g. 2mbit, 500kbit or 1gbit"
            ),
            BadFigure::RateNumber { rate, number } => {
                write!(f, "--rate {rate}: '{number}' is not a number")
            }
            BadFigure::RateRange(s) => write!(f, "--rate {s}: choose between 8kbit and 100gbit"),
        }
    }
}

impl std::error::Error for BadFigure {}

/// `--delay`, `--jitter`: milliseconds, "40", "40ms" or "0.3s".
pub fn parse_ms(s: &str) -> Result<f64, BadFigure> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v >= 0.0 && v * scale <= 10_000.0 => Ok(v * scale),
        _ => Err(BadFigure::Milliseconds(s.to_string())),
    }
}

/// "2mbit", "500kbit", "1gbit", "64000bit" (tc's units of bits per second).
pub fn parse_rate(s: &str) -> Result<u64, BadFigure> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = [
        ("gbit", 1_000_000_000u64),
        ("mbit", 1_000_000),
        ("kbit", 1_000),
        ("bit", 1),
    ]
    .iter()
    .find_map(|(unit, m)| t.strip_suffix(unit).map(|n| (n, *m)))
    .ok_or_else(|| BadFigure::RateUnit(s.to_string()))?;
    let n: f64 = num.trim().parse().map_err(|_| BadFigure::RateNumber {
        rate: s.to_string(),
        number: num.to_string(),
    })?;
    let bps = (n * mult as f64) as u64;
    if !(8_000..=100_000_000_000).contains(&bps) {
        return Err(BadFigure::RateRange(s.to_string()));
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
    /// The netfilter queue (nfnetlink_queue) the link holds packets in.
    pub nfqueue: Option<bool>,
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
                "--delay --jitter --loss --drop-every --reorder (NFQUEUE)",
                self.nfqueue,
                "the link has no delay and loses nothing; --rate still slows it",
            ),
        ]
        .join("\n")
    }
}

/// The lab's three namespaces, configured. Dropping it releases them: the kernel then
/// removes every interface, route, qdisc and nft table of the lab.
pub struct LabNetwork {
    /// The thread shaping the link: first, so it stops (releasing what it holds and its
    /// socket in the router) before the namespaces are let go.
    queue: Option<super::link::LinkQueue>,
    pub client: Netns,
    pub router: Netns,
    pub server: Netns,
    /// The link in words, for the report ("rate 2mbit (tbf)").
    pub link: Vec<String>,
    /// One line for each requested piece this kernel lacks, and what works instead.
    pub missing: Vec<String>,
    /// The figures in force (what could not be made is left out).
    pub figures: crate::trace::LinkFigures,
}

/// Why the lab's network could not be made.
#[derive(Debug)]
pub enum NetworkError {
    /// Making namespaces is not permitted (no CAP_SYS_ADMIN: not root, or a container
    /// started without the privilege).
    NotPermitted(std::io::Error),
    Namespace(std::io::Error),
    /// The kernel has no veth pairs.
    NoVeth(CommandError),
    /// ethtool is not installed, so offloads cannot be turned off.
    NoEthtool,
    /// An offload stayed on: the capture would see super-segments.
    OffloadStaysOn {
        feature: &'static str,
        dev: String,
        role: &'static str,
    },
    Command(CommandError),
}

impl std::fmt::Display for NetworkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkError::NotPermitted(e) => write!(
                f,
                "making network namespaces is not permitted here ({e}): it needs root \
with CAP_SYS_ADMIN (sudo; in a container, one started with that privilege)"
            ),
            NetworkError::Namespace(e) => write!(f, "cannot make a network namespace: {e}"),
            NetworkError::NoVeth(e) => {
                write!(
                    f,
                    "{e}: this kernel has no veth pairs, so the lab cannot be built"
                )
            }
            NetworkError::NoEthtool => f.write_str(
                "the lab needs ethtool to turn segmentation offloads off: install ethtool",
            ),
            NetworkError::OffloadStaysOn { feature, dev, role } => write!(
                f,
                "{feature} stays on for {dev} in the {role} namespace: the capture would see \
super-segments"
            ),
            NetworkError::Command(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for NetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NetworkError::NotPermitted(e) | NetworkError::Namespace(e) => Some(e),
            NetworkError::NoVeth(e) | NetworkError::Command(e) => Some(e),
            NetworkError::NoEthtool | NetworkError::OffloadStaysOn { .. } => None,
        }
    }
}

impl From<CommandError> for NetworkError {
    fn from(e: CommandError) -> Self {
        NetworkError::Command(e)
    }
}

impl LabNetwork {
    /// Makes and configures the namespaces. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN).
    pub fn build(opts: &LinkOptions) -> Result<LabNetwork, NetworkError> {
        let make = |role| {
            Netns::new(role).map_err(|e| {
                if super::netns::not_permitted(&e) {
                    NetworkError::NotPermitted(e)
                } else {
                    NetworkError::Namespace(e)
                }
            })
        };
        let net = LabNetwork {
            client: make("client")?,
            router: make("router")?,
            server: make("server")?,
            link: Vec::new(),
            missing: Vec::new(),
            figures: crate::trace::LinkFigures::default(),
            queue: None,
        };
        net.wire(opts.mtu)?;
        let mut net = net;
        net.shape(opts)?;
        Ok(net)
    }

    fn wire(&self, mtu: u32) -> Result<(), NetworkError> {
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
            .map_err(|e| match &e {
                CommandError::Failed { stderr, .. }
                    if stderr.contains("Unknown device type")
                        || stderr.contains("not supported") =>
                {
                    NetworkError::NoVeth(e)
                }
                _ => NetworkError::Command(e),
            })?;
        }
        let addr = |ns: &Netns, ip: Ipv4Addr, dev: &str| -> Result<(), NetworkError> {
            ns.run("ip", &["addr", "add", &format!("{ip}/24"), "dev", dev])?;
            no_offloads(ns, dev)?;
            ns.run("ip", &["link", "set", dev, "up"])?;
            Ok(())
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

    /// Rate (tbf), then delay, jitter, loss and reordering (the queue), in the router.
    fn shape(&mut self, opts: &LinkOptions) -> Result<(), NetworkError> {
        self.figures.name = opts.name.map(str::to_string);
        if let Some(name) = opts.name {
            self.link.push(format!("the {name} link (--link {name})"));
        }
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
            self.figures.rate_bps = Some(bps);
        }
        let delay_ms = opts.delay_ms.unwrap_or(0.0);
        let jitter_ms = opts.jitter_ms.unwrap_or(0.0).min(delay_ms);
        let shape = super::link::Shape {
            delay: std::time::Duration::from_secs_f64(delay_ms / 1000.0),
            jitter: std::time::Duration::from_secs_f64(jitter_ms / 1000.0),
            loss_pct: opts.loss_pct.filter(|_| opts.drop_every.is_none()),
            drop_every: opts.drop_every,
            reorder_pct: opts.reorder_pct,
            server: SERVER_IP,
        };
        let needed = delay_ms > 0.0
            || shape.loss_pct.is_some()
            || shape.drop_every.is_some()
            || shape.reorder_pct.is_some();
        if !needed {
            return Ok(());
        }
        match super::link::LinkQueue::start(&self.router, shape.clone()) {
            Ok(queue) => self.queue = Some(queue),
            Err(e) => {
                self.missing.push(format!(
                    "the link's delay, loss and reordering: {e}; the link has none of them \
(--rate still slows it)"
                ));
                return Ok(());
            }
        }
        let f = &mut self.figures;
        if delay_ms > 0.0 {
            let mut words = format!("delay {delay_ms} ms each way (RTT +{} ms)", delay_ms * 2.0);
            if jitter_ms > 0.0 {
                words += &format!(", jitter ±{jitter_ms} ms");
            }
            self.link.push(words);
            f.delay_ms = delay_ms;
            f.jitter_ms = jitter_ms;
        }
        match (shape.drop_every, shape.loss_pct) {
            (Some(n), _) => self.link.push(format!(
                "every {} data segment of the server lost",
                ordinal(n as u64)
            )),
            (None, Some(p)) => self
                .link
                .push(format!("{p}% of the server's data segments lost at random")),
            (None, None) => {}
        }
        if let Some(p) = shape.reorder_pct {
            self.link.push(format!(
                "{p}% of the server's data segments held back behind the next"
            ));
        }
        f.drop_every = shape.drop_every;
        f.loss_pct = shape.loss_pct;
        f.reorder_pct = shape.reorder_pct;
        Ok(())
    }

    /// Stops the link's queue (what it holds leaves at once) and says what it did:
    /// the figures, with the queue's packets and CPU time, and every drop and reorder.
    pub fn stop_link(&mut self) -> (crate::trace::LinkFigures, super::link::Record) {
        let record = self.queue.take().map(|mut q| q.stop()).unwrap_or_default();
        let mut figures = self.figures.clone();
        figures.packets = record.packets;
        figures.cpu_us = record.cpu_us;
        if record.packets > 0 {
            figures.late_us_p99 = Some(record.late_us_p99);
            figures.late_us_max = Some(record.late_us_max);
            figures.unstamped = Some(record.unstamped);
        }
        (figures, record)
    }
}

/// Offloads off on one veth end, and checked: a capture of wire-sized segments needs
/// TSO, GSO and GRO off.
fn no_offloads(ns: &Netns, dev: &str) -> Result<(), NetworkError> {
    // ethtool exits non-zero when some feature is fixed; what matters is checked below.
    let _ = ns.run(
        "ethtool",
        &[
            "-K", dev, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off", "sg",
            "off",
        ],
    );
    let out = ns.run("ethtool", &["-k", dev]).map_err(|e| match e {
        CommandError::Spawn { .. } => NetworkError::NoEthtool,
        e => NetworkError::Command(e),
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
            return Err(NetworkError::OffloadStaysOn {
                feature,
                dev: dev.to_string(),
                role: ns.role,
            });
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
        assert_eq!(parse_rate("2"), Err(BadFigure::RateUnit("2".into())));
        assert!(matches!(
            parse_rate("fastmbit"),
            Err(BadFigure::RateNumber { .. })
        ));
        assert!(
            parse_rate("1bit")
                .unwrap_err()
                .to_string()
                .contains("between")
        );
        assert_eq!(parse_ms("40ms"), Ok(40.0));
        assert_eq!(parse_ms("0.3s"), Ok(300.0));
        assert_eq!(parse_ms("-1"), Err(BadFigure::Milliseconds("-1".into())));
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
