//! DNS's words in the course's dictionary: the renderers explain them the first time
//! a report uses them, `wirelab explain` lists them with the others (the registry joins
//! the lists, `crate::report::DICTIONARY`).

use crate::glossary::Term;

/// DNS's terms, in alphabetical order.
pub const TERMS: &[Term] = &[
    Term {
        name: "dns",
        short: "before it can connect, the program asks a DNS server (UDP port 53) for the address of the name in its code.",
        long: "RFC 1035. `socket.connect(('data.pr4e.org', 80))` needs an IP address, so the resolver in \
the C library first sends a query over UDP to port 53 of the name server in /etc/resolv.conf (usually \
one for type A, IPv4, and one for AAAA, IPv6) and waits for the answer. Only then does the TCP \
handshake start, so the lookup's time is part of what the user waits for. A misspelt name (data.prte.org) \
gets NXDOMAIN, 'no such domain', and the program never connects: Python raises socket.gaierror.",
    },
    Term {
        name: "nxdomain",
        short: "the DNS answer 'no such name': the name does not exist, so there is no address to connect to.",
        long: "RFC 1035 §4.1.1 (RCODE 3, Name Error). The name server says the name is not in DNS at all. The \
program gets socket.gaierror and never connects. Check the spelling (data.pr4e.org, with the digit 4); \
in the offline lab only the course's names exist.",
    },
];
