//! Word-at-a-time (SWAR) scanning for the bytes that end an escape-free run of string text.

/// `0x01` in every byte.
const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HI: u64 = 0x8080_8080_8080_8080;
/// `"` in every byte.
const QUOTES: u64 = LO * b'"' as u64;
/// `\` in every byte.
const BACKSLASHES: u64 = LO * b'\\' as u64;
/// `0x20` (the first byte that is not a control character) in every byte.
const SPACES: u64 = LO * 0x20;

/// Returns the index of the first byte at or after `from` that is a `"`, a `\` or a control
/// character (below `0x20`), or `bytes.len()` when there is none.
///
/// Eight bytes are tested at once (the last few too, loaded into a padded word): `(x - 0x01..) & !x & 0x80..` flags the zero bytes of `x`
/// (applied to the word XOR-ed with the quote and the backslash pattern), and
/// `(w - 0x20..) & !w & 0x80..` flags the bytes below `0x20`. A borrow only propagates upwards
/// from a byte that really matched, so the lowest flagged byte is always a true match, which is
/// all we need (little-endian load: lowest byte = first in memory). Non-ASCII bytes have their
/// high bit set and are never flagged, so UTF-8 text passes through untouched.
#[inline]
pub(crate) fn find_special(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        let mask = special_mask(u64::from_le_bytes(*chunk));
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    // Fewer than 8 bytes left: test them as one word too, padded with a plain byte.
    let rest = bytes.get(i..).unwrap_or_default();
    let mask = special_mask(load_short(rest));
    if mask != 0 {
        return i + (mask.trailing_zeros() / 8) as usize;
    }
    bytes.len()
}

/// The high bit of every byte of `w` that is a `"`, a `\` or below `0x20` (and possibly of
/// bytes after such a byte; the lowest flagged byte is always a true match).
#[inline(always)]
fn special_mask(w: u64) -> u64 {
    let q = w ^ QUOTES;
    let b = w ^ BACKSLASHES;
    ((q.wrapping_sub(LO) & !q) | (b.wrapping_sub(LO) & !b) | (w.wrapping_sub(SPACES) & !w)) & HI
}

/// Loads up to 7 bytes as a little-endian word (with at most three loads), the missing high
/// bytes filled with `A`, which is not special.
#[inline(always)]
pub(crate) fn load_short(rest: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut filled = 0;
    if let Some(four) = rest.first_chunk::<4>() {
        w = u64::from(u32::from_le_bytes(*four));
        filled = 4;
    }
    if let Some(two) = rest.get(filled..).and_then(|r| r.first_chunk::<2>()) {
        w |= u64::from(u16::from_le_bytes(*two)) << (8 * filled);
        filled += 2;
    }
    if let Some(&one) = rest.get(filled) {
        w |= u64::from(one) << (8 * filled);
        filled += 1;
    }
    if filled < 8 {
        w |= (LO * u64::from(b'A')) << (8 * filled);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_special(b: u8) -> bool {
        b == b'"' || b == b'\\' || b < 0x20
    }

    fn naive(bytes: &[u8], from: usize) -> usize {
        bytes[from..]
            .iter()
            .position(|&b| is_special(b))
            .map_or(bytes.len(), |p| p + from)
    }

    #[test]
    fn finds_every_special_byte_at_every_offset() {
        for special in [b'"', b'\\', 0u8, 0x1f, b'\n'] {
            for len in 0..40usize {
                for at in 0..len {
                    let mut bytes: Vec<u8> =
                        (0..len).map(|i| b"ab\xc3\xa9 ~\x7f\xff"[i % 8]).collect();
                    bytes[at] = special;
                    for from in 0..=at {
                        assert_eq!(find_special(&bytes, from), naive(&bytes, from));
                    }
                    assert_eq!(find_special(&bytes, at + 1), naive(&bytes, at + 1));
                }
            }
        }
    }

    #[test]
    fn all_byte_values() {
        for b in 0..=255u8 {
            for pos in 0..16 {
                let mut bytes = vec![b'x'; 16];
                bytes[pos] = b;
                bytes[15 - pos] = b;
                assert_eq!(
                    find_special(&bytes, 0),
                    naive(&bytes, 0),
                    "byte {b:#x} at {pos}"
                );
            }
        }
    }
}
