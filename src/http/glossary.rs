//! HTTP's words in the course's dictionary: the renderers explain them the first time
//! a report uses them, `wirelab explain` lists them with the others (the registry joins
//! the lists, `crate::report::DICTIONARY`).

use crate::glossary::Term;

/// HTTP's terms, in alphabetical order.
pub const TERMS: &[Term] = &[
    Term {
        name: "200",
        short: "OK: the server found the document and sends it in the body.",
        long: "RFC 9110 §15.3.1. The status line `HTTP/1.1 200 OK` says the request worked; the body after the blank \
line is the document (romeo.txt, cover3.jpg), described by Content-Type and Content-Length.",
    },
    Term {
        name: "302",
        short: "Found: the document is for now at the Location URL; a browser fetches it from there.",
        long: "RFC 9110 §15.4.3. A redirection: the body is not the document. The Location header names where it is; \
a browser (or urllib) makes a second request there on its own, so the developer console shows two rows. \
A socket program gets the 302 itself and must read Location to follow it.",
    },
    Term {
        name: "304",
        short: "Not Modified: the copy the client has is still good, so the server sends no body.",
        long: "RFC 9110 §15.4.5. The browser sent a conditional GET (If-Modified-Since or If-None-Match with what it \
had cached); the document has not changed, so the answer is the head alone and the browser shows its \
cached copy.",
    },
    Term {
        name: "404",
        short: "Not Found: there is no document at this path on this server.",
        long: "RFC 9110 §15.5.5. The server is there and understood the request, but the path names nothing it has. \
The body is usually a small page saying so. Check the path in the request line (romeo.txt, not Romeo.txt).",
    },
    Term {
        name: "408",
        short: "Request Timeout: the request did not arrive in full in time.",
        long: "RFC 9110 §15.5.9. The server waited for the rest of the request head (the blank line \\r\\n\\r\\n \
that ends it) and gave up. A socket program that sends `GET ... HTTP/1.0\\r\\n` without the second \
\\r\\n gets it: the server cannot know the request is over until the blank line comes.",
    },
    Term {
        name: "501",
        short: "Not Implemented: the server does not know this method.",
        long: "RFC 9110 §15.6.2. Methods are case-sensitive (RFC 9110 §9.1): `Get` is not `GET`, so a server \
answers 501 (or 400) to a request line that spells it otherwise.",
    },
    Term {
        name: "absolute-form",
        short: "the request names the whole URL (http://host/path), as one asks a proxy; origin servers must accept it.",
        long: "RFC 9112 §3.2.2. A request target is normally just the path (origin-form: GET /romeo.txt). \
The course sends the whole URL (GET http://data.pr4e.org/romeo.txt), the form a client uses when it \
talks to a proxy. A server must accept it, and most do; python's http.server does not, which is why \
`wirelab fetch --origin-form` exists.",
    },
    Term {
        name: "bare-lf",
        short: "lines end with \\n alone instead of \\r\\n, which HTTP requires (RFC 9112 section 2.2).",
        long: "HTTP lines end with CR LF (\\r\\n) and the head ends with an empty line, so the course finds \
the end of the headers with find(b\"\\r\\n\\r\\n\"). A request ended with \\n\\n (a slip in some \
course notes) is not a complete HTTP head to a strict server: it waits for the blank line that \
never comes, then times out or answers 400. Lenient servers accept a bare LF (RFC 9112 §2.2 allows it).",
    },
    Term {
        name: "http",
        short: "HyperText Transfer Protocol: a request (method, path, headers, blank line) and a response (status line, headers, blank line, body), over TCP port 80.",
        long: "RFC 1945 (HTTP/1.0), RFC 9112 (HTTP/1.1). The client sends a head of text lines ended by \\r\\n, \
then an empty line; the server answers with a status line (HTTP/1.1 200 OK), headers, an empty line \
and the body. HTTP/1.0 closes the connection after one exchange, which is how the course's recv loop \
knows the document has ended.",
    },
    Term {
        name: "malformed-request-line",
        short: "the request line is not `METHOD target HTTP/1.x`: shown as the server received it, with its answer.",
        long: "RFC 9112 §3: a request line is a method, one space, the target, one space and the version. \
A line without a target or a version, with spaces inside the target, or with control bytes is not \
valid HTTP/1.x; a server answers it with 400 Bad Request (or treats a line without a version as \
HTTP/0.9, RFC 1945 §4.1). wirelab splits it as tshark and Zeek do: the first word is the method, a \
last word starting with HTTP/ is the version, the rest is the target.",
    },
    Term {
        name: "method-case",
        short: "the method is not in upper case (Get): methods are case-sensitive, so servers answer 400 or 501.",
        long: "RFC 9110 §9.1: the method token is case-sensitive, and the standard methods are upper case. \
'Get' is a different, unknown method to a server, which answers 501 Not Implemented (or 400). \
The course's built-in server does exactly that: try \
`wirelab fetch` against it with a lower-case method in your own client.",
    },
    Term {
        name: "missing-host",
        short: "an HTTP/1.1 request without a Host header, which a server must answer with 400.",
        long: "RFC 9112 §3.2: every HTTP/1.1 request names the host it is for, so that one server can host \
many names. HTTP/1.0 (the course's requests) has no such rule.",
    },
    Term {
        name: "no-blank-line",
        short: "the request's head never ended: its last line is not followed by the blank line \\r\\n that HTTP needs.",
        long: "RFC 9112 §2.1. A request is the request line, the header lines, then an empty line: the bytes \
\\r\\n\\r\\n mark its end. Without them the server cannot tell that the request is over, so it waits; \
after its timeout it answers 408 Request Timeout or closes. Send '...HTTP/1.0\\r\\n\\r\\n'.",
    },
    Term {
        name: "simple-response",
        short: "an HTTP/0.9 answer: the body alone, no status line, no headers, ended by the close.",
        long: "RFC 1945 section 6: before HTTP/1.0, a request was `GET /path` with no version, and the \
answer was the document itself, ended by the server closing the connection. Servers still answer \
that way to a request line without a valid HTTP/1.x version: the course's `recv()` loop would \
print the HTML of an error page with no headers above it.",
    },
    Term {
        name: "unknown-method",
        short: "the method is not one of HTTP's (GET, HEAD, POST, ...): a server answers 501 Not Implemented.",
        long: "RFC 9110 §9 lists the methods; a server that does not know a method answers 501 Not Implemented \
(§15.6.2).",
    },
];
