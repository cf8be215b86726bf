//! The widget's stylesheet, `style/widget.css`, compiled in without its
//! comments and runs of whitespace.
//!
//! The file's long comment block documents the theme for people; shipping it
//! to every viewer would cost wasm bytes for nothing. Stripping happens in
//! `const` evaluation, so there is no build script and no runtime cost.

const SOURCE: &[u8] = include_bytes!("../style/widget.css");
const LEN: usize = minify(SOURCE, &mut [0; 0]);
const MINIFIED: [u8; LEN] = {
    let mut out = [0; LEN];
    minify(SOURCE, &mut out);
    out
};

/// The CSS to put in the shadow root.
pub const CSS: &str = match core::str::from_utf8(&MINIFIED) {
    Ok(css) => css,
    Err(_) => panic!("widget.css is not UTF-8"),
};

/// Copies `src` into `out` without `/* … */` comments, with each run of
/// whitespace made one space, or none next to punctuation; returns the
/// length. With an `out` too short (e.g. empty) it only counts, which sizes
/// the array.
const fn minify(src: &[u8], out: &mut [u8]) -> usize {
    let mut i = 0;
    let mut n = 0;
    let mut prev = b'{';
    let mut pending_space = false;
    while i < src.len() {
        let b = src[i];
        i += 1;
        if b == b'/' && i < src.len() && src[i] == b'*' {
            i += 1;
            while i + 1 < src.len() && !(src[i] == b'*' && src[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if b == b' ' || b == b'\n' || b == b'\t' || b == b'\r' {
            pending_space = !is_tight(prev);
            continue;
        }
        if pending_space && !is_tight(b) {
            if n < out.len() {
                out[n] = b' ';
            }
            n += 1;
        }
        pending_space = false;
        if n < out.len() {
            out[n] = b;
        }
        n += 1;
        prev = b;
    }
    n
}

/// Punctuation around which CSS needs no whitespace. (Not `-` or `+`:
/// `calc()` needs spaces around them.)
const fn is_tight(b: u8) -> bool {
    matches!(b, b'{' | b'}' | b';' | b',' | b':' | b'>')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_runs_go_rules_stay() {
        assert!(!CSS.contains("/*") && !CSS.contains('\n') && !CSS.contains("  "));
        assert!(CSS.starts_with(":host{--chyron-font-family:system-ui,sans-serif;"));
        for needle in [
            "--chyron-sender-color-7:#ff8a8a;",
            "@media (prefers-reduced-motion:reduce){",
            "content:\":\"",
            "unicode-bidi:isolate",
            "calc(var(--chyron-life,8s) - var(--chyron-fade-duration))",
            ".top .toggle{order:-1;}",
            "rgb(0 0 0 / 0.72)",
        ] {
            assert!(CSS.contains(needle), "{needle}");
        }
        assert!(CSS.len() < SOURCE.len() * 3 / 4);
    }

    #[test]
    fn minify_small_cases() {
        let mut out = [0u8; 32];
        let n = minify(b"/* x */ a  b {\n c: d e; } /* y", &mut out);
        assert_eq!(&out[..n], b"a b{c:d e;}");
        assert_eq!(minify(b"/* x */ a  b {\n c: d e; } /* y", &mut []), n);
    }
}
