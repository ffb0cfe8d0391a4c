//! The secrets of TLS sessions, in the key log format of NSS (the format of
//! `SSLKEYLOGFILE`, of tshark's `tls.keylog_file` and of a pcapng Decryption Secrets
//! Block): one line per secret, `LABEL <client random in hex> <secret in hex>`, `#` for
//! comments. The client random (32 bytes, from the ClientHello) names the session.
//!
//! Shared between threads: the lab's server adds its secrets while the capture is
//! read, and a connection looks its session up when its first encrypted record comes.

use std::collections::HashMap;
use std::sync::RwLock;

/// The secrets of one session, by the labels that carry them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Secrets {
    /// TLS 1.2 and earlier: `CLIENT_RANDOM` (the 48-byte master secret).
    pub master: Option<Vec<u8>>,
    /// TLS 1.3 (RFC 8446 §7.1): the handshake and first application traffic secrets.
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
}

/// A line of a key log that could not be read, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct BadLine {
    pub line: usize,
    pub why: LineError,
}

/// What is wrong with a line of a key log (NSS's format: `LABEL <client random> <secret>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    NotThreeWords,
    RandomNotHex,
    RandomNot32Bytes,
    SecretNotHex,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LineError::NotThreeWords => "not three words (LABEL, client random, secret)",
            LineError::RandomNotHex => "the client random is not hex",
            LineError::RandomNot32Bytes => "the client random is not 32 bytes",
            LineError::SecretNotHex => "the secret is not hex",
        })
    }
}

impl std::error::Error for LineError {}

#[derive(Default)]
struct Inner {
    by_random: HashMap<[u8; 32], Secrets>,
    /// The lines read, in order (what a Decryption Secrets Block keeps).
    lines: Vec<String>,
}

/// The secrets known so far, by client random; each new line is also appended to a
/// file when one is given (`wirelab serve --tls --keylog FILE`).
#[derive(Default)]
pub struct KeyLog(RwLock<Inner>, std::sync::Mutex<Option<std::fs::File>>);

impl std::fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyLog({} sessions)", self.sessions())
    }
}

impl KeyLog {
    pub fn new() -> KeyLog {
        KeyLog::default()
    }

    /// Reads the lines of a key log; what it cannot read is returned, line by line
    /// (a label it does not use, such as `EXPORTER_SECRET`, is kept, not an error).
    pub fn add_text(&self, text: &str) -> Vec<BadLine> {
        let mut bad = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Err(why) = self.add_line(line) {
                bad.push(BadLine { line: i + 1, why });
            }
        }
        bad
    }

    /// Reads one line: `LABEL <64 hex digits> <hex>`.
    pub fn add_line(&self, line: &str) -> Result<(), LineError> {
        let mut words = line.split_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Err(LineError::NotThreeWords);
        };
        let random = hex::decode(random).map_err(|_| LineError::RandomNotHex)?;
        let random: [u8; 32] = random.try_into().map_err(|_| LineError::RandomNot32Bytes)?;
        let secret = hex::decode(secret).map_err(|_| LineError::SecretNotHex)?;
        self.add(label, &random, &secret);
        Ok(())
    }

    /// Adds one secret (the lab's server calls this as it makes them); a secret known
    /// already (the same line from both ends of a session) is kept once.
    pub fn add(&self, label: &str, client_random: &[u8; 32], secret: &[u8]) {
        let mut inner = self.0.write().unwrap_or_else(|e| e.into_inner());
        let s = inner.by_random.entry(*client_random).or_default();
        let slot = match label {
            "CLIENT_RANDOM" => Some(&mut s.master),
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Some(&mut s.client_handshake),
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Some(&mut s.server_handshake),
            "CLIENT_TRAFFIC_SECRET_0" => Some(&mut s.client_traffic),
            "SERVER_TRAFFIC_SECRET_0" => Some(&mut s.server_traffic),
            _ => None,
        };
        match slot {
            Some(known) if known.as_deref() == Some(secret) => return,
            Some(slot) => *slot = Some(secret.to_vec()),
            // Kept as a line (a Decryption Secrets Block holds it), used for nothing.
            None => {}
        }
        let line = format!(
            "{label} {} {}",
            hex::encode(client_random),
            hex::encode(secret)
        );
        if let Some(file) = self.1.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            use std::io::Write;
            let _ = writeln!(file, "{line}");
        }
        inner.lines.push(line);
    }

    /// The secrets of the session that `client_random` names, if any are known.
    pub fn get(&self, client_random: &[u8]) -> Option<Secrets> {
        let random: &[u8; 32] = client_random.try_into().ok()?;
        let inner = self.0.read().unwrap_or_else(|e| e.into_inner());
        inner.by_random.get(random).cloned()
    }

    /// Appends every secret added from now on to `file`, a line each, as it comes.
    pub fn also_write_to(&self, file: std::fs::File) {
        *self.1.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    }

    /// Sessions known.
    pub fn sessions(&self) -> usize {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .by_random
            .len()
    }

    /// The key log's text (one line each, in the order added).
    pub fn text(&self) -> String {
        let inner = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for line in &inner.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_versions_labels_and_says_what_it_cannot_read() {
        let r = "ab".repeat(32);
        let text = format!(
            "# a comment\nCLIENT_RANDOM {r} {}\nSERVER_TRAFFIC_SECRET_0 {r} {}\nEXPORTER_SECRET {r} 00\n\
             CLIENT_RANDOM zz 00\nCLIENT_RANDOM {r}\nCLIENT_RANDOM abab 00\n",
            "01".repeat(48),
            "02".repeat(32)
        );
        let log = KeyLog::new();
        let bad = log.add_text(&text);
        assert_eq!(
            bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![5, 6, 7],
            "{bad:?}"
        );
        let s = log.get(&[0xab; 32]).unwrap();
        assert_eq!(s.master, Some(vec![1; 48]));
        assert_eq!(s.server_traffic, Some(vec![2; 32]));
        assert_eq!(s.client_traffic, None);
        assert_eq!(log.sessions(), 1);
        assert_eq!(log.text().lines().count(), 3);
        assert!(log.get(&[0; 32]).is_none());
    }

    #[test]
    fn a_secret_logged_by_both_ends_is_kept_once() {
        let r = "cd".repeat(32);
        let line = format!("CLIENT_TRAFFIC_SECRET_0 {r} {}\n", "03".repeat(32));
        let log = KeyLog::new();
        log.add_text(&line);
        log.add_text(&line);
        assert_eq!(
            log.text(),
            line,
            "the server's and the program's copy: one line"
        );
        log.add_text(&format!(
            "CLIENT_TRAFFIC_SECRET_0 {r} {}\n",
            "04".repeat(32)
        ));
        assert_eq!(log.text().lines().count(), 2, "a different secret is kept");
    }
}
