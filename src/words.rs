//! Numbers and calls in the report's words, for every sentence a student reads: the
//! renderers' and the protocols' (which write their own sentences). A leaf after the
//! model.

use crate::model::RecvCall;

/// 230241 -> "230,241".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// "1 segment", "2 segments".
pub fn plural(n: u64, noun: &str) -> String {
    format!("{} {noun}{}", group(n), if n == 1 { "" } else { "s" })
}

/// "1st", "2nd", "3rd", "11th".
pub fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "recv(512)": a call as the program wrote it.
pub fn call_name(r: &RecvCall) -> String {
    match (&r.syscall, r.asked) {
        (Some(s), Some(n)) => format!("{s}({n})"),
        (Some(s), None) => format!("{s}()"),
        _ => "recv()".into(),
    }
}

/// A time in ms (three decimals below 10 ms, one up to 10 s) or in s.
pub fn duration(us: i64) -> String {
    if us >= 10_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 10_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.3} ms", us as f64 / 1000.0)
    }
}

/// Shows control characters and non-ASCII bytes of a text line as escapes.
pub fn printable_line(s: &str) -> String {
    printable(s)
}

/// Shows control characters and non-ASCII bytes of a text line as escapes.
pub fn printable(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c == '\t' || (' '..='~').contains(&c) {
                vec![c]
            } else if c.is_control() || c == '\u{feff}' {
                c.escape_default().collect()
            } else {
                vec![c]
            }
        })
        .collect()
}
