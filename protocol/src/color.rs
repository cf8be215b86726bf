//! A stable colour per sender, the same in every viewer and across restarts.
//!
//! The protocol fixes only a slot number; the widget maps slots to the theme's
//! `--chyron-sender-color-N` custom properties, so organisers choose the colours.

/// Number of sender colour slots (`--chyron-sender-color-0` … `-7`).
pub const SENDER_COLOR_SLOTS: u8 = 8;

/// The colour slot of a sender identity: FNV-1a over its UTF-8 bytes.
///
/// FNV is used because it is stable across platforms, Rust versions and
/// processes (unlike `std`'s randomly seeded hasher) and tiny in wasm.
pub fn sender_color_slot(sender_id: &str) -> u8 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in sender_id.as_bytes() {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % u32::from(SENDER_COLOR_SLOTS)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_stable_known_values() {
        // Literal values: a change here changes every viewer's colours.
        assert_eq!(sender_color_slot(""), (0x811c_9dc5u32 % 8) as u8);
        assert_eq!(sender_color_slot("alice"), sender_color_slot("alice"));
        assert_eq!(sender_color_slot("a"), (0xe40c_292cu32 % 8) as u8);
    }

    #[test]
    fn slots_spread_over_all_colours() {
        let mut seen = [false; SENDER_COLOR_SLOTS as usize];
        for i in 0..200 {
            seen[sender_color_slot(&format!("viewer{i}")) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s), "some slot never used: {seen:?}");
    }
}
