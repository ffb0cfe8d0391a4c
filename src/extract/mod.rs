//! Stage 6, beside the report: `--extract DIR` saves every HTTP response body as a file,
//! as the course saves cover3.jpg: the bytes after the blank line, with chunked coding
//! removed and any content coding kept (so a file's SHA-256 is the report's
//! `body_sha256`).
//!
//! Whatever the URL says, a file is never written outside DIR: its name is built from
//! the connection and response numbers and the target's last path segment reduced to
//! `[A-Za-z0-9._-]` (no separators, no leading dot, at most 80 characters), and it is
//! created with `O_CREAT|O_EXCL`, which refuses an existing file and any symlink. An
//! existing name gets a numbered suffix, unless `force` allows replacing a regular
//! file (a symlink is removed, never followed). Names are unique ignoring case, for
//! case-insensitive file systems.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Files kept open at once; beyond it the oldest is closed and reopened when needed.
const MAX_OPEN: usize = 64;
/// Write buffer of each open file.
const BUFFER: usize = 64 << 10;
/// Longest file name written.
const MAX_NAME: usize = 80;

/// A body being written: its file name, and the file while it is open.
type OpenBody = (String, Option<BufWriter<File>>);

/// A piece of a message body a protocol found (an HTTP response's), handed to the
/// extractor as it arrives.
#[derive(Debug)]
pub enum BodyPiece {
    /// A response starts: its head's stream offset (which names it) and the exchange
    /// it belongs to (its request's target and the response's Content-Type).
    Start {
        offset: u64,
        target: Option<String>,
        content_type: Option<String>,
    },
    Data(Vec<u8>),
    /// The body ended; `complete`: every byte of it arrived.
    End {
        complete: bool,
    },
}

/// Writes response bodies under one directory.
pub struct Extractor {
    dir: PathBuf,
    force: bool,
    used: HashSet<String>,
    /// (connection, response offset) -> (file name, open file or None when closed).
    open: HashMap<(u64, u64), OpenBody>,
    /// The responses whose file is open, oldest first (for closing the oldest).
    order: VecDeque<(u64, u64)>,
    /// Current response of each connection.
    current: HashMap<u64, (u64, u64)>,
    /// Files written: (connection, response head offset) -> name.
    pub written: HashMap<(u64, u64), String>,
    /// First write error; later bodies are skipped.
    pub error: Option<String>,
}

impl Extractor {
    /// Creates DIR if needed.
    pub fn new(dir: &Path, force: bool) -> io::Result<Extractor> {
        fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        Ok(Extractor {
            dir,
            force,
            used: HashSet::new(),
            open: HashMap::new(),
            order: VecDeque::new(),
            current: HashMap::new(),
            written: HashMap::new(),
            error: None,
        })
    }

    /// A response of connection `conn`, whose head is at stream `offset`, starts.
    pub fn start(
        &mut self,
        conn: u64,
        offset: u64,
        target: Option<&str>,
        content_type: Option<&str>,
    ) {
        let key = (conn, offset);
        self.current.insert(conn, key);
        if self.error.is_some() {
            return;
        }
        let number = self.written.keys().filter(|(c, _)| *c == conn).count() + 1;
        let base = format!(
            "{conn}-{number}-{}",
            safe_name(target.unwrap_or_default(), content_type)
        );
        match self.create(&base) {
            Ok((name, file)) => {
                self.written.insert(key, name.clone());
                self.open
                    .insert(key, (name, Some(BufWriter::with_capacity(BUFFER, file))));
                self.order.push_back(key);
                self.close_oldest();
            }
            Err(e) => self.error = Some(format!("creating a file in {}: {e}", self.dir.display())),
        }
    }

    /// Body bytes of the current response of `conn`.
    pub fn data(&mut self, conn: u64, bytes: &[u8]) {
        let Some(key) = self.current.get(&conn).copied() else {
            return;
        };
        let Some((name, file)) = self.open.get_mut(&key) else {
            return;
        };
        if file.is_none() {
            // Closed to bound the open files: reopen for appending (never creating).
            match OpenOptions::new()
                .append(true)
                .custom_flags_nofollow()
                .open(self.dir.join(&*name))
            {
                Ok(f) => *file = Some(BufWriter::with_capacity(BUFFER, f)),
                Err(e) => {
                    self.error = Some(format!("reopening {name}: {e}"));
                    return;
                }
            }
            self.order.push_back(key);
        }
        if let Some(f) = file
            && let Err(e) = f.write_all(bytes)
        {
            self.error = Some(format!("writing {name}: {e}"));
        }
        self.close_oldest();
    }

    /// The current response of `conn` ended.
    pub fn end(&mut self, conn: u64) {
        if let Some(key) = self.current.remove(&conn) {
            if let Some((name, Some(mut f))) = self.open.remove(&key) {
                self.flushed(&name, &mut f);
            }
            self.order.retain(|k| *k != key);
        }
    }

    /// Flushes a file's buffer; the first failure stops the extraction, with its reason.
    fn flushed(&mut self, name: &str, f: &mut BufWriter<File>) {
        if let Err(e) = f.flush()
            && self.error.is_none()
        {
            self.error = Some(format!("writing {name}: {e}"));
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn close_oldest(&mut self) {
        while self.order.len() > MAX_OPEN {
            let Some(key) = self.order.pop_front() else {
                return;
            };
            let taken = self
                .open
                .get_mut(&key)
                .and_then(|(name, f)| f.take().map(|f| (name.clone(), f)));
            if let Some((name, mut f)) = taken {
                self.flushed(&name, &mut f);
            }
        }
    }

    /// Creates a new file named `base` (or `base-2`, `base-3`, ... when taken).
    fn create(&mut self, base: &str) -> io::Result<(String, File)> {
        let (stem, ext) = match base.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() && e.len() <= 8 => (s.to_string(), format!(".{e}")),
            _ => (base.to_string(), String::new()),
        };
        for n in 1..10_000 {
            let name = if n == 1 {
                format!("{stem}{ext}")
            } else {
                format!("{stem}-{n}{ext}")
            };
            if !self.used.insert(name.to_lowercase()) {
                continue;
            }
            let path = self.dir.join(&name);
            if self.force
                && let Ok(meta) = fs::symlink_metadata(&path)
                && (meta.is_file() || meta.file_type().is_symlink())
            {
                fs::remove_file(&path)?;
            }
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => return Ok((name, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("no free name"))
    }
}

/// `O_NOFOLLOW` on reopening: a file replaced by a symlink meanwhile is not followed.
trait NoFollow {
    fn custom_flags_nofollow(&mut self) -> &mut Self;
}

impl NoFollow for OpenOptions {
    fn custom_flags_nofollow(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NOFOLLOW)
    }
}

/// The last path segment of a request target, reduced to a safe file name, with an
/// extension from the Content-Type when it has none: "/a/b/cover3.jpg?x=1" ->
/// "cover3.jpg", "/" -> "index.html", "/../../etc/passwd" -> "passwd".
pub fn safe_name(target: &str, content_type: Option<&str>) -> String {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let path = path
        .split_once("://")
        .map(|(_, rest)| rest.split_once('/').map(|(_, p)| p).unwrap_or(""))
        .unwrap_or(path);
    let last = path
        .rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let decoded: String = url::form_urlencoded::parse(format!("x={last}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let mut name: String = decoded
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_start_matches(['.', '_']).to_string();
    if name.is_empty() || name.chars().all(|c| c == '.') {
        name = "index".into();
    }
    if !name.contains('.') {
        let ext = match content_type
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "text/html" => ".html",
            "text/plain" => ".txt",
            "image/jpeg" => ".jpg",
            "image/png" => ".png",
            "image/gif" => ".gif",
            "application/json" => ".json",
            "text/css" => ".css",
            "application/javascript" | "text/javascript" => ".js",
            _ => ".bin",
        };
        name.push_str(ext);
    }
    if name.len() > MAX_NAME {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.chars().take(8).collect::<String>())
            .unwrap_or_default();
        name = format!("{}.{ext}", &name[..MAX_NAME - ext.len() - 1]);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile targets, as a table: target in, file name out (never a separator,
    /// never a leading dot, never longer than MAX_NAME).
    #[test]
    fn names_are_safe() {
        let long = format!("/{}.txt", "a".repeat(4000));
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("/cover3.jpg", None, "cover3.jpg"),
            ("http://data.pr4e.org/romeo.txt", None, "romeo.txt"),
            ("http://data.pr4e.org", Some("text/html"), "index.html"),
            ("/", Some("text/html; charset=utf-8"), "index.html"),
            ("/../../etc/passwd", None, "passwd.bin"),
            ("/a/..", None, "index.bin"),
            ("/%2e%2e%2f%2e%2e%2fetc%2fshadow", None, "etc_shadow.bin"),
            ("/x%00y.txt", None, "x_y.txt"),
            ("/..\\..\\win.ini", None, "win.ini"),
            ("/.bashrc", None, "bashrc.bin"),
            ("/search?q=../../x", Some("text/html"), "search.html"),
            ("/caf%C3%A9.txt", None, "caf_.txt"),
        ];
        for (target, ct, want) in cases {
            assert_eq!(&safe_name(target, *ct), want, "{target}");
        }
        let n = safe_name(&long, None);
        assert!(n.len() <= MAX_NAME && n.ends_with(".txt"), "{n}");
    }

    /// More bodies under way than files kept open: the oldest are closed and reopened
    /// for appending, and every file still holds exactly its body.
    #[test]
    fn more_bodies_than_open_files() {
        let dir = std::env::temp_dir().join(format!("wirelab-ex-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut ex = Extractor::new(&dir, false).unwrap();
        let n = MAX_OPEN as u64 + 10;
        for c in 0..n {
            ex.start(c, 0, Some("/x.txt"), None);
            ex.data(c, format!("{c}:").as_bytes());
        }
        assert_eq!(ex.order.len(), MAX_OPEN);
        for c in 0..n {
            ex.data(c, b"end");
            ex.end(c);
        }
        assert!(ex.error.is_none(), "{:?}", ex.error);
        assert!(ex.order.is_empty());
        for c in 0..n {
            let name = &ex.written[&(c, 0)];
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            assert_eq!(text, format!("{c}:end"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
