//! Well-known TCP ports (IANA registry, the ones an introductory course meets).
//! A leaf table: every stage may use it.

/// (port, service name, what it is for).
pub const WELL_KNOWN: &[(u16, &str, &str)] = &[
    (20, "ftp-data", "FTP file transfer (data connection)"),
    (21, "ftp", "FTP file transfer (commands)"),
    (22, "ssh", "SSH secure remote login"),
    (23, "telnet", "Telnet remote login (clear text)"),
    (25, "smtp", "SMTP mail delivery between servers"),
    (53, "domain", "DNS name lookups"),
    (80, "http", "HTTP, the web"),
    (109, "pop2", "POP2 mailbox access"),
    (110, "pop3", "POP3 mailbox access"),
    (119, "nntp", "NNTP news"),
    (143, "imap", "IMAP mailbox access"),
    (220, "imap3", "IMAP3 mailbox access"),
    (389, "ldap", "LDAP directory"),
    (443, "https", "HTTPS, the web over TLS"),
    (465, "submissions", "mail submission over TLS"),
    (587, "submission", "mail submission"),
    (631, "ipp", "printing (IPP)"),
    (993, "imaps", "IMAP over TLS"),
    (995, "pop3s", "POP3 over TLS"),
    (1433, "ms-sql-s", "Microsoft SQL Server"),
    (3128, "squid", "web proxy (Squid)"),
    (3306, "mysql", "MySQL database"),
    (3389, "ms-wbt-server", "remote desktop (RDP)"),
    (5432, "postgresql", "PostgreSQL database"),
    (6379, "redis", "Redis database"),
    (8000, "http-alt", "HTTP, development servers"),
    (8080, "http-alt", "HTTP, proxies and development servers"),
    (8443, "https-alt", "HTTPS, alternative port"),
];

/// Well-known UDP ports (IANA registry) a capture of a student's network holds.
pub const WELL_KNOWN_UDP: &[(u16, &str)] = &[
    (53, "DNS"),
    (67, "DHCP"),
    (68, "DHCP"),
    (69, "TFTP"),
    (123, "NTP"),
    (137, "NetBIOS name"),
    (138, "NetBIOS datagram"),
    (161, "SNMP"),
    (162, "SNMP trap"),
    (443, "QUIC"),
    (500, "IKE"),
    (514, "syslog"),
    (546, "DHCPv6"),
    (547, "DHCPv6"),
    (1900, "SSDP"),
    (3478, "STUN"),
    (4789, "VXLAN"),
    (5353, "mDNS"),
    (5355, "LLMNR"),
];

/// The name of a well-known UDP port ("DNS" for 53).
pub fn udp_service(port: u16) -> Option<&'static str> {
    WELL_KNOWN_UDP
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, name)| *name)
}

/// The service name of a well-known port.
pub fn service(port: u16) -> Option<&'static str> {
    entry(port).map(|(name, _)| name)
}

/// The service name of a well-known port and what it is for.
pub fn entry(port: u16) -> Option<(&'static str, &'static str)> {
    WELL_KNOWN
        .binary_search_by_key(&port, |(p, _, _)| *p)
        .ok()
        .map(|i| (WELL_KNOWN[i].1, WELL_KNOWN[i].2))
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_sorted_for_lookup() {
        assert!(super::WELL_KNOWN.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(super::service(80), Some("http"));
        assert_eq!(super::service(54321), None);
    }
}
