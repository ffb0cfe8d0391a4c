//! TLS's words in the course's dictionary: the renderers explain them the first time
//! a report uses them, `wirelab explain` lists them with the others (the registry joins
//! the lists, `crate::report::DICTIONARY`).

use crate::glossary::Term;

/// TLS's terms, in alphabetical order.
pub const TERMS: &[Term] = &[
    Term {
        name: "certificate",
        short: "the server's signed statement of its name and public key; the client checks it against the authorities it trusts.",
        long: "A certificate (X.509) binds a name (data.pr4e.org) to a public key, signed by a certificate authority (CA). \
The client accepts it only if a CA it trusts signed it and the name matches the one it asked for. \
In TLS 1.2 the server sends it in clear, so anyone on the path can read it; TLS 1.3 sends it \
encrypted. The lab makes a CA for each run and lets only the lab's program trust it.",
    },
    Term {
        name: "cipher suite",
        short: "the algorithms a TLS connection uses: how its records are encrypted and checked (TLS_AES_128_GCM_SHA256).",
        long: "The client offers a list in its ClientHello; the server picks one in its ServerHello. A TLS 1.3 \
suite names the record cipher and the hash of the key schedule (TLS_AES_256_GCM_SHA384); a TLS 1.2 \
suite also names the key exchange and the signature (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256). \
wirelab decrypts the AES-GCM and ChaCha20-Poly1305 suites.",
    },
    Term {
        name: "key log",
        short: "a file of TLS session secrets (SSLKEYLOGFILE): with it wirelab or Wireshark can decrypt a capture.",
        long: "Python, curl and browsers write each session's secrets to the file that the SSLKEYLOGFILE \
environment variable names, one line per secret: a label, the ClientHello's random, the secret \
(the NSS key log format). Give it with wirelab report FILE --keylog keys.txt, or to tshark with -o \
tls.keylog_file:keys.txt. The lab logs its server's secrets itself and keeps them in the saved \
pcapng (a Decryption Secrets Block), so the file opens decrypted anywhere. Anyone with the key \
log can read the traffic: keep it as private as a password.",
    },
    Term {
        name: "record",
        short: "TLS's unit: a 5-byte header (type, version, length) and up to 16 KB of encrypted bytes, carried by TCP segments.",
        long: "RFC 8446 §5. TLS cuts what the program sends into records; each is encrypted and checked on its \
own. TCP knows nothing of them: one record can span several segments and one segment can carry \
several records. The type is handshake, change_cipher_spec, alert or application_data; in TLS \
1.3 every encrypted record says application_data outside and hides its real type inside.",
    },
    Term {
        name: "sni",
        short: "Server Name Indication: the host name the client puts in its ClientHello, in clear, so the server knows which certificate to send.",
        long: "RFC 6066 §3. One server address can host many names; the name goes in the first message, before \
anything is encrypted. So an observer learns the name of the site (data.pr4e.org) even over \
HTTPS, but not the path, headers or body.",
    },
    Term {
        name: "tls",
        short: "Transport Layer Security: the layer between TCP and HTTP that encrypts and checks what HTTPS sends (port 443).",
        long: "RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2). After TCP's handshake, the client and server run TLS's \
handshake (ClientHello, ServerHello, certificate, Finished: one round trip in TLS 1.3, two in \
1.2) and agree on keys; then HTTP's bytes travel inside encrypted records. The wire still shows \
the addresses, the ports, the name in the ClientHello (SNI) and the sizes and times of the \
records; not the path, the headers or the body.",
    },
];
