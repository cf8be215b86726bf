//! What the cluster benchmark's viewers check in each frame: the event's
//! seq (for gaps and duplicates, the order every node must keep) and, in the
//! benchmark's own messages, the message number and the moment it was
//! posted, written into the body (`bench {i} {posted_us}`), so viewers in
//! other processes time post → frame without sharing memory with the poster.

/// Microseconds on the machine's monotonic clock: the same clock in every
/// process, so a viewer process can subtract a time another process wrote.
pub fn mono_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the local struct only.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

/// The body of benchmark message `i`, posted at `posted_us` (see [`mono_us`]).
pub fn bench_body(i: usize, posted_us: u64) -> String {
    format!("bench {i} {posted_us}")
}

/// An event frame as the viewers read it, without a full parse.
#[derive(Debug, PartialEq, Eq)]
pub struct Event {
    /// The event's seq.
    pub seq: u64,
    /// For a benchmark message: its number and when it was posted.
    pub bench: Option<(usize, u64)>,
}

/// The seq (and benchmark fields) of an event frame (`message`, `edit`,
/// `delete`, `clear`, …: any frame with a top-level seq but a snapshot);
/// `None` for a snapshot or a frame without a seq.
pub fn read_event(frame: &str) -> Option<Event> {
    if !frame.starts_with(r#"{"type":""#) || frame.starts_with(r#"{"type":"snapshot""#) {
        return None;
    }
    // The relay writes `type` then `seq` first: the first `"seq":` is the event's.
    let at = frame.find(r#""seq":"#)? + r#""seq":"#.len();
    let digits = &frame[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let seq = digits[..end].parse().ok()?;
    let bench = if frame.starts_with(r#"{"type":"message""#) {
        frame.find(r#""body":"bench "#).and_then(|b| {
            let rest = &frame[b + r#""body":"bench "#.len()..];
            let (i, t) = rest[..rest.find('"')?].split_once(' ')?;
            Some((i.parse().ok()?, t.parse().ok()?))
        })
    } else {
        None
    };
    Some(Event { seq, bench })
}

/// One viewer's account of the seqs it was sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeqCheck {
    /// The seq of the last event (or snapshot) applied.
    last: Option<u64>,
    /// Seqs skipped: an event arrived with seq > last + 1 (the number missing).
    pub missing: u64,
    /// Times the seq jumped forward.
    pub gaps: u64,
    /// Events that came again or out of order (seq ≤ last).
    pub duplicates: u64,
}

impl SeqCheck {
    /// The seq of the last event (or snapshot) applied: where a resume
    /// starts from.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// A snapshot's seq: the next event must be `seq + 1`.
    pub fn snapshot(&mut self, seq: u64) {
        self.last = Some(seq);
    }

    /// An event's seq; whether it was the next one (false: a gap or a
    /// duplicate, counted).
    pub fn event(&mut self, seq: u64) -> bool {
        let Some(last) = self.last else {
            // An event before any snapshot: the relay always sends one first.
            self.gaps += 1;
            self.last = Some(seq);
            return false;
        };
        if seq <= last {
            self.duplicates += 1;
            return false;
        }
        self.last = Some(seq);
        if seq > last + 1 {
            self.gaps += 1;
            self.missing += seq - last - 1;
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seq_and_the_benchmark_fields_of_event_frames() {
        let frame = r#"{"type":"message","seq":7,"message":{"id":"m7","sender":"bench","sender_id":"bench","body":"bench 41 123456789","ts":1,"source":"api"}}"#;
        assert_eq!(
            read_event(frame),
            Some(Event {
                seq: 7,
                bench: Some((41, 123_456_789))
            })
        );
        let other = r#"{"type":"message","seq":8,"message":{"body":"warm-up"}}"#;
        assert_eq!(
            read_event(other),
            Some(Event {
                seq: 8,
                bench: None
            })
        );
        let delete = r#"{"type":"delete","seq":9,"id":"m7"}"#;
        assert_eq!(
            read_event(delete),
            Some(Event {
                seq: 9,
                bench: None
            })
        );
        let snapshot = r#"{"type":"snapshot","channel":"c","epoch":"e","seq":3,"reason":"initial","messages":[]}"#;
        assert_eq!(read_event(snapshot), None);
        assert_eq!(bench_body(3, 42), "bench 3 42");
    }

    #[test]
    fn counts_gaps_and_duplicates_after_a_snapshot() {
        let mut c = SeqCheck::default();
        c.snapshot(4);
        assert!(c.event(5));
        assert!(c.event(6));
        assert!(!c.event(6));
        assert!(!c.event(9));
        assert!(c.event(10));
        assert!(!c.event(8));
        assert_eq!((c.gaps, c.missing, c.duplicates), (1, 2, 2));
        assert_eq!(c.last(), Some(10));
        c.snapshot(20); // a resync starts over
        assert!(c.event(21));
        let mut none = SeqCheck::default();
        assert!(!none.event(1));
        assert_eq!(none.gaps, 1);
    }

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let a = mono_us();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(mono_us() >= a + 2000);
    }
}
