//! What image bytes really are, read from their headers without decoding:
//! the type ([`image_type`]) and the size in pixels ([`dimensions`]), so a
//! preview that claims absurd dimensions (a decompression bomb: a few KB
//! that expand to gigabytes in a viewer's browser) is refused before anyone
//! decodes it ([`check`]).

/// Largest width or height of a preview served, in pixels (previews are
/// asked for at 320×240 or 96×96; a homeserver may send a bigger stock size).
pub const MAX_SIDE: u32 = 2048;

/// The real type of image bytes, by their first bytes; `None` if they are
/// not PNG, JPEG, GIF or WebP.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// Width and height in pixels as the image's header states them; `None`
/// if the header is not one of the four types or is cut short.
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |i: usize| Some(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]) as u32);
    let le16 = |i: usize| Some(u16::from_le_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]) as u32);
    let le24 = |i: usize| {
        let b = bytes.get(i..i + 3)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    };
    match image_type(bytes)? {
        "image/png" => {
            // The signature, then IHDR: length, type, width, height.
            if bytes.get(12..16)? != b"IHDR" {
                return None;
            }
            let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
            let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
            Some((w, h))
        }
        "image/gif" => Some((le16(6)?, le16(8)?)),
        "image/webp" => match bytes.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3fff, le16(28)? & 0x3fff)),
            b"VP8L" => {
                let b = bytes.get(21..25)?;
                let w = 1 + (b[0] as u32 | (b[1] as u32 & 0x3f) << 8);
                let h = 1 + (b[1] as u32 >> 6 | (b[2] as u32) << 2 | (b[3] as u32 & 0x0f) << 10);
                Some((w, h))
            }
            b"VP8X" => Some((1 + le24(24)?, 1 + le24(27)?)),
            _ => None,
        },
        _ => jpeg_dimensions(bytes, be16),
    }
}

/// A JPEG's size, from its first start-of-frame segment.
fn jpeg_dimensions(bytes: &[u8], be16: impl Fn(usize) -> Option<u32>) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        // Segments start with 0xFF (padding 0xFF bytes allowed) and a type.
        while *bytes.get(i)? == 0xff {
            i += 1;
        }
        let kind = *bytes.get(i)?;
        i += 1;
        match kind {
            // Markers without a length.
            0xd0..=0xd9 | 0x01 => continue,
            // Start of frame (not DHT 0xC4, JPG 0xC8, DAC 0xCC).
            0xc0..=0xcf if !matches!(kind, 0xc4 | 0xc8 | 0xcc) => {
                return Some((be16(i + 5)?, be16(i + 3)?));
            }
            _ => i += be16(i)? as usize,
        }
    }
}

/// The real type of a preview whose header states a sane size; why not
/// otherwise.
pub fn check(bytes: &[u8]) -> Result<&'static str, &'static str> {
    let kind = image_type(bytes).ok_or("not an image")?;
    let (w, h) = dimensions(bytes).ok_or("unreadable image header")?;
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err("image dimensions out of bounds");
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 2, 0, 0, 0]);
        b
    }

    #[test]
    fn images_are_told_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a.."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        for not in [
            &b""[..],
            b"<svg onload=alert(1)>",
            b"\x89PN",
            b"RIFF\0\0\0\0WAVE",
            b"%PDF-1.7",
        ] {
            assert_eq!(image_type(not), None, "{not:?}");
        }
    }

    #[test]
    fn dimensions_come_from_each_header() {
        assert_eq!(dimensions(&png(320, 240)), Some((320, 240)));
        assert_eq!(dimensions(b"GIF89a\x40\x01\xf0\x00...."), Some((320, 240)));
        // JPEG: SOI, an APP0 segment to skip, then SOF0 (height 240, width 320).
        let jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\xf0\x01\x40\x03";
        assert_eq!(dimensions(jpeg), Some((320, 240)));
        // WebP lossy, lossless and extended.
        let mut vp8 = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9d\x01\x2a".to_vec();
        vp8.extend([0x40, 0x01, 0xf0, 0x00]);
        assert_eq!(dimensions(&vp8), Some((320, 240)));
        // 14-bit width-1 = 319, height-1 = 239.
        let (w, h) = (319u32, 239u32);
        let bits = w | h << 14;
        let mut vp8l = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        vp8l.extend(bits.to_le_bytes());
        assert_eq!(dimensions(&vp8l), Some((320, 240)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        vp8x.extend([0x3f, 0x01, 0x00, 0xef, 0x00, 0x00]);
        assert_eq!(dimensions(&vp8x), Some((320, 240)));
        // Cut short: unreadable, not a panic.
        assert_eq!(dimensions(&png(1, 1)[..20]), None);
        assert_eq!(dimensions(b"\xff\xd8\xff\xe0\x00\x04ab\xff"), None);
    }

    #[test]
    fn absurd_dimensions_are_refused_before_decoding() {
        assert_eq!(check(&png(320, 240)), Ok("image/png"));
        assert_eq!(check(&png(2048, 2048)), Ok("image/png"));
        // A bomb: a tiny file that states 100000×100000 pixels.
        assert!(check(&png(100_000, 100_000)).is_err());
        assert!(check(&png(2049, 10)).is_err());
        assert!(check(&png(0, 10)).is_err());
        assert!(check(b"GIF89a\xff\xff\xff\xff").is_err());
        assert!(check(b"<svg/>").is_err());
    }
}
