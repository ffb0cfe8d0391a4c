//! TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4,
//! serial-number arithmetic of RFC 1982). Never compare raw `u32`s.

use std::cmp::Ordering;

/// A TCP sequence or acknowledgement number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// `self + n`, wrapping.
    pub fn plus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// Signed distance from `other` to `self` (positive when `self` is after `other`).
    /// Meaningful while the two lie within 2^31 of each other (RFC 9293 §3.4).
    pub fn since(self, other: SeqNum) -> i64 {
        self.0.wrapping_sub(other.0) as i32 as i64
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.since(*other).cmp(&0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_across_wrap() {
        let before = SeqNum(u32::MAX - 10);
        let after = before.plus(20);
        assert_eq!(after.0, 9);
        assert!(after > before);
        assert!(before < after);
        assert_eq!(after.since(before), 20);
        assert_eq!(before.since(after), -20);
    }

    #[test]
    fn equal_is_zero_distance() {
        assert_eq!(SeqNum(5).since(SeqNum(5)), 0);
        assert!(SeqNum(5) >= SeqNum(5));
    }
}
