//! The course server under a crowd (on loopback, in this process): a thousand idle or
//! slow connections held open mid-request do not starve fifty other clients; one
//! client cannot take more than its share; a slowloris is cut off when its head is
//! due, however it trickles. Speed and memory are measured by scripts/bench-serve.sh,
//! not here.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use wirelab::lab::server::{
    MAX_PER_CLIENT, READ_TIMEOUT, RunningServer, Server, raise_open_files_limit,
};

fn server() -> RunningServer {
    Server::bind((Ipv4Addr::LOCALHOST, 0).into())
        .unwrap()
        .spawn(None)
}

/// A connection from `from` (any 127.x.y.z: all of 127/8 is loopback).
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    s.connect(&to.into()).unwrap();
    s.into()
}

/// One HTTP/1.0 request; the status code of its answer.
fn get(from: Ipv4Addr, to: SocketAddr, path: &str) -> u16 {
    let mut c = connect_from(from, to);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .unwrap();
    let mut answer = Vec::new();
    let _ = c.read_to_end(&mut answer);
    std::str::from_utf8(answer.get(9..12).unwrap_or(b"000"))
        .unwrap_or("000")
        .parse()
        .unwrap_or(0)
}

#[test]
fn a_thousand_held_connections_do_not_starve_fifty_clients() {
    raise_open_files_limit();
    let srv = server();
    let addr = srv.addr();
    // 1,000 connections held mid-request (a typist who stopped), from four addresses.
    let held: Vec<TcpStream> = (0..1000)
        .map(|i| {
            let mut c = connect_from(Ipv4Addr::new(127, 0, 0, 2 + (i % 4) as u8), addr);
            c.write_all(b"GET /romeo.txt HTTP/1.0\r\nHost: data.pr4e.org\r\n")
                .unwrap();
            c
        })
        .collect();
    // 50 other clients, 100 requests each, all answered.
    let workers: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                (0..100)
                    .map(|_| get(Ipv4Addr::LOCALHOST, addr, "/romeo.txt"))
                    .filter(|s| *s != 200)
                    .count()
            })
        })
        .collect();
    let failed: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(failed, 0, "of 5,000 requests beside 1,000 held connections");
    // The held ones were served nothing yet, and are still open.
    let mut first = &held[0];
    first.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(
        first.read(&mut b).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
fn one_client_gets_its_share_and_503_beyond_it() {
    raise_open_files_limit();
    let srv = server();
    let addr = srv.addr();
    let from = Ipv4Addr::new(127, 0, 0, 9);
    let held: Vec<TcpStream> = (0..MAX_PER_CLIENT)
        .map(|_| connect_from(from, addr))
        .collect();
    // The server counts a connection once it has accepted it: wait for the last.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(from, addr, "/romeo.txt"), 503, "over its share");
    assert_eq!(
        get(Ipv4Addr::LOCALHOST, addr, "/romeo.txt"),
        200,
        "others are served"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        get(from, addr, "/romeo.txt"),
        200,
        "its share back once closed"
    );
}

#[test]
fn a_slowloris_gets_408_when_its_head_is_due_however_it_trickles() {
    let srv = server();
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t0 = Instant::now();
    let request =
        b"GET /romeo.txt HTTP/1.0\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut answer = Vec::new();
    for byte in request.iter().cycle() {
        // One byte every half second: each read of the server's is short of its timeout.
        if c.write_all(&[*byte]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        let mut b = [0u8; 512];
        match c.read(&mut b) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&b[..n]),
            Err(_) => {}
        }
        if !answer.is_empty() || t0.elapsed() > READ_TIMEOUT * 2 {
            break;
        }
    }
    let took = t0.elapsed();
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        took >= READ_TIMEOUT && took < READ_TIMEOUT + Duration::from_secs(2),
        "cut off when due, not later: {took:?}"
    );
}

#[test]
fn help_states_the_bounds_the_server_applies() {
    use wirelab::lab::server::{KEEP_ALIVE_TIMEOUT, MAX_CONNECTIONS};
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let thousands = |n: usize| {
        let s = n.to_string();
        let (head, tail) = s.split_at(s.len() % 3);
        let mut groups: Vec<&str> = tail
            .as_bytes()
            .chunks(3)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        if !head.is_empty() {
            groups.insert(0, head);
        }
        groups.join(",")
    };
    for said in [
        format!("within {} s", READ_TIMEOUT.as_secs()),
        format!("waits {} s", KEEP_ALIVE_TIMEOUT.as_secs()),
        format!("{} connections at once", thousands(MAX_CONNECTIONS)),
        format!("{MAX_PER_CLIENT} from one address"),
    ] {
        assert!(help.contains(&said), "--help should say {said:?}: {help}");
    }
}
