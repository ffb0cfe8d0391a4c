//! SOCKS handshakes as tables: both sides' bytes in, what was said out, at every split.

use super::*;

/// Feeds the client's bytes then the server's, each cut in pieces of `step`; returns
/// the handshake and where each side's tunnelled bytes begin (None: not over).
fn run(client: &[u8], server: &[u8], step: usize) -> (Prelude, [Option<u64>; 2]) {
    let mut p = Prelude::starting_with(client[0]).expect("a SOCKS version byte");
    let mut tunnel = [None, None];
    for (i, bytes) in [client, server].into_iter().enumerate() {
        for (k, piece) in bytes.chunks(step).enumerate() {
            let offset = (k * step) as u64;
            match p.data(i == 0, offset, piece, 1 + k as u64) {
                Fed::Taken => {}
                Fed::Tunnel(at) => {
                    tunnel[i].get_or_insert(at);
                }
                Fed::NotSocks(back) => panic!("not SOCKS: {back:?}"),
            }
        }
    }
    (p, tunnel)
}

#[test]
fn handshakes_are_read_at_every_split() {
    let http = b"GET / HTTP/1.0\r\n\r\n";
    let socks5_domain = [
        &[5u8, 1, 0][..],
        &[5, 1, 0, 3, 14],
        b"data.pr4e.org.",
        &[0, 80],
    ]
    .concat();
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, Handshake)> = vec![
        (
            "SOCKS5, no authentication, a domain name",
            [&socks5_domain[..], http].concat(),
            [
                &[5u8, 0, 5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90][..],
                b"HTTP/1.0 200 OK",
            ]
            .concat(),
            Handshake {
                version: 5,
                offered: vec!["no authentication".into()],
                method: Some("no authentication".into()),
                command: Some("connect".into()),
                destination: Some("data.pr4e.org.:80".into()),
                reply: Some("succeeded".into()),
                granted: true,
                bytes: [socks5_domain.len() as u64, 12],
                ..Default::default()
            },
        ),
        (
            "SOCKS5, username/password (RFC 1929), IPv6, refused",
            [
                &[5u8, 2, 0, 2, 1, 3][..],
                b"bob",
                &[2],
                b"pw",
                &[5, 1, 0, 4],
                &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                &[1, 187],
            ]
            .concat(),
            vec![5, 2, 1, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0],
            Handshake {
                version: 5,
                offered: vec!["no authentication".into(), "username/password".into()],
                method: Some("username/password".into()),
                user: Some("bob".into()),
                command: Some("connect".into()),
                destination: Some("[2001:db8::1]:443".into()),
                reply: Some("connection refused".into()),
                granted: false,
                bytes: [34, 14],
                ..Default::default()
            },
        ),
        (
            "SOCKS4a: the proxy resolves the name",
            [
                &[4u8, 1, 0, 80, 0, 0, 0, 1][..],
                b"alice\0data.pr4e.org\0",
                http,
            ]
            .concat(),
            vec![0, 90, 0, 0, 0, 0, 0, 0],
            Handshake {
                version: 4,
                variant: Some("4a".into()),
                user: Some("alice".into()),
                command: Some("connect".into()),
                destination: Some("data.pr4e.org:80".into()),
                reply: Some("request granted".into()),
                granted: true,
                bytes: [28, 8],
                ..Default::default()
            },
        ),
    ];
    for (name, client, server, want) in &cases {
        for step in [usize::MAX, 1, 2, 5] {
            let (p, tunnel) = run(client, server, step.min(client.len()));
            let mut got = p.handshake.clone();
            got.frames = (0, 0);
            assert_eq!(&got, want, "{name}, pieces of {step}");
            assert!(p.is_over() && p.is_socks(), "{name}");
            assert_eq!(tunnel, [Some(want.bytes[0]), Some(want.bytes[1])], "{name}");
        }
    }
}

#[test]
fn bytes_that_are_not_socks_are_given_back_whole() {
    // A 0x05 first byte, then nothing like a greeting's request.
    let mut p = Prelude::starting_with(5).unwrap();
    assert_eq!(p.data(true, 0, &[5, 1], 1), Fed::Taken);
    match p.data(true, 2, &[0, 9, 9, 9, 9], 2) {
        Fed::NotSocks(back) => assert_eq!(
            back,
            vec![(true, 0, vec![5, 1], 1), (true, 2, vec![0, 9, 9, 9, 9], 2)]
        ),
        other => panic!("{other:?}"),
    }
    assert!(p.is_over() && !p.is_socks());
    // A server that speaks first is no SOCKS proxy.
    let mut p = Prelude::starting_with(4).unwrap();
    assert_eq!(p.data(true, 0, &[4], 1), Fed::Taken);
    let Fed::NotSocks(back) = p.data(false, 0, b"220 ", 2) else {
        panic!("a server greeting is not SOCKS")
    };
    assert_eq!(back.len(), 2);
    assert!(Prelude::starting_with(b'G').is_none());
}
