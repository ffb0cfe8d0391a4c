//! The documents of the course's web server (data.pr4e.org), made offline: the same
//! paths, types and kinds of content, so every lab of the chapter works on loopback.

use std::sync::OnceLock;

/// The course's romeo.txt: four lines, 167 bytes.
pub const ROMEO: &str = "But soft what light through yonder window breaks\n\
It is the east and Juliet is the sun\n\
Arise fair sun and kill the envious moon\n\
Who is already sick and pale with grief\n";

/// A short page with one link, like the course's page1.htm.
pub const PAGE1: &str = "<h1>The First Page</h1>\n<p>\nIf you like, you can switch to the\n\
<a href=\"http://www.dr-chuck.com/page2.htm\">\nSecond Page</a>.\n</p>\n";

/// The page page1 links to, like the course's page2.htm, with the link back.
pub const PAGE2: &str = "<h1>The Second Page</h1>\n<p>\nIf you like, you can switch back to the\n\
<a href=\"page1.htm\">\nFirst Page</a>.\n</p>\n";

/// The index at `/`: what the course server holds, each a link.
pub const INDEX: &str = "<h1>The course server</h1>\n<p>The documents of the Networked Programs \
chapter:</p>\n<ul>\n<li><a href=\"/romeo.txt\">romeo.txt</a></li>\n\
<li><a href=\"/intro-short.txt\">intro-short.txt</a></li>\n<li><a href=\"/cover3.jpg\">cover3.jpg</a></li>\n\
<li><a href=\"/page1.htm\">page1.htm</a> (also page1.html), which links to \
<a href=\"/page2.htm\">page2.htm</a></li>\n<li><a href=\"/form.htm\">form.htm</a>, a form that \
sends a query string</li>\n</ul>\n";

/// A few paragraphs of plain text, like the course's intro-short.txt.
pub const INTRO_SHORT: &str = "Why should you learn to write programs?\n\n\
Writing programs (or programming) is a very creative and rewarding activity.\n\
You can write programs for many reasons, ranging from making your living to solving\n\
a difficult data analysis problem to having fun to helping someone else solve a problem.\n\
This book assumes that everyone needs to know how to program, and that once you know\n\
how to program you will figure out what you want to do with your newfound skills.\n\n\
We are surrounded in our daily lives with computers ranging from laptops to cell phones.\n\
We can think of these computers as our \"personal assistants\" who can take care of many\n\
things on our behalf. The hardware in our current-day computers is essentially built to\n\
continuously ask us the question, \"What would you like me to do next?\"\n";

/// A page with a GET form, as the course's developer-console lesson uses one: submitting
/// it puts the fields in the URL's query string (`/guess.htm?guess=12&x=14&abc=22`).
pub const FORM: &str = "<h1>Guess the number</h1>\n\
<form action=\"/guess.htm\" method=\"get\">\n\
<p>Your guess: <input type=\"text\" name=\"guess\" value=\"12\"></p>\n\
<p><input type=\"hidden\" name=\"x\" value=\"14\"><input type=\"hidden\" name=\"abc\" value=\"22\">\n\
<input type=\"submit\" value=\"Guess\"></p>\n</form>\n";

/// The answer to the form: the parameters the server received, decoded.
pub fn guess_page(query: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let items: String = url::form_urlencoded::parse(query.as_bytes())
        .take(100)
        .map(|(k, v)| format!("<li>{} = {}</li>\n", escape(&k), escape(&v)))
        .collect();
    format!(
        "<h1>Your guess</h1>\n<p>The server received these query string parameters:</p>\n\
<ul>\n{items}</ul>\n"
    )
}

/// Last-Modified of every document: fixed, so captures of the lab are reproducible.
pub const LAST_MODIFIED: &str = "Sat, 13 May 2017 11:22:22 GMT";

/// Last-Modified as Apache's ETag encodes it: microseconds since the epoch.
pub const LAST_MODIFIED_US: u64 = 1_494_674_542_187_831;

/// The ETag Apache gives a file: its size and modification time in hex, as in the
/// book's answer for romeo.txt (`"a7-54f6609245537"`).
pub fn etag(len: usize) -> String {
    format!("\"{len:x}-{LAST_MODIFIED_US:x}\"")
}

/// A document the server can send.
pub struct Document {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// The document at `path` (origin-form, query string removed), if there is one.
pub fn document(path: &str) -> Option<Document> {
    let (content_type, body): (&str, &[u8]) = match path {
        "/romeo.txt" => ("text/plain", ROMEO.as_bytes()),
        // The notes write page1.html in one place and page1.htm in another: both work.
        "/page1.htm" | "/page1.html" => ("text/html", PAGE1.as_bytes()),
        "/page2.htm" => ("text/html", PAGE2.as_bytes()),
        "/" | "/index.html" | "/index.htm" => ("text/html", INDEX.as_bytes()),
        "/form.htm" => ("text/html", FORM.as_bytes()),
        "/intro-short.txt" => ("text/plain", INTRO_SHORT.as_bytes()),
        "/cover3.jpg" => ("image/jpeg", cover_jpeg()),
        _ => return None,
    };
    Some(Document { content_type, body })
}

/// Paths the server redirects (302), and where to.
pub fn redirect(path: &str) -> Option<&'static str> {
    match path {
        "/old" | "/romeo" | "/redirect" => Some("/romeo.txt"),
        _ => None,
    }
}

/// A real JPEG (about 260 KB, 800×1000): a book cover of coloured bands over a fine
/// texture, made once with `jpeg-encoder` from a fixed seed, so it is identical on
/// every machine and its size is of the order of the course's cover3.jpg.
pub fn cover_jpeg() -> &'static [u8] {
    static JPEG: OnceLock<Vec<u8>> = OnceLock::new();
    JPEG.get_or_init(|| {
        const W: usize = 800;
        const H: usize = 1000;
        let mut rgb = Vec::with_capacity(W * H * 3);
        let mut seed: u32 = 0x5eed_1234;
        for y in 0..H {
            for x in 0..W {
                // xorshift: a fixed, cheap texture.
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let noise = (seed & 0x1f) as i32 - 16;
                let band = (y * 6 / H) as i32;
                let base = [
                    40 + band * 30 + (x * 60 / W) as i32,
                    90 + ((band * 53) % 120),
                    200 - band * 25,
                ];
                let title = (120..260).contains(&y) && (80..720).contains(&x);
                for (i, c) in base.iter().enumerate() {
                    let v = if title { 240 - i as i32 * 10 } else { *c };
                    rgb.push((v + noise).clamp(0, 255) as u8);
                }
            }
        }
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 88)
            .encode(&rgb, W as u16, H as u16, jpeg_encoder::ColorType::Rgb)
            .expect("encoding a fixed in-memory image cannot fail");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_the_course_ones() {
        assert_eq!(ROMEO.len(), 167);
        assert_eq!(ROMEO.lines().count(), 4);
        let jpeg = cover_jpeg();
        assert!(jpeg.starts_with(&[0xff, 0xd8, 0xff]) && jpeg.ends_with(&[0xff, 0xd9]));
        assert!((100_000..600_000).contains(&jpeg.len()), "{}", jpeg.len());
        assert!(document("/nothing").is_none());
        assert_eq!(document("/cover3.jpg").unwrap().content_type, "image/jpeg");
    }
}
