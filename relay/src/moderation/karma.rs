//! Karma: each timeout adds a point of negative karma with the channel's
//! owner (so a troll's record follows them across that organiser's
//! channels); one point is forgiven for every week without a timeout. The
//! suggested timeout grows with it: 2, then 5, then 10 minutes.

/// Seconds (of the moderation clock) after which one point is forgiven.
pub const FORGIVE_AFTER_SECS: i64 = 7 * 24 * 60 * 60;

/// Shortest timeout, in seconds.
pub const MIN_SECS: i64 = 120;
/// Longest timeout, in seconds.
pub const MAX_SECS: i64 = 600;

/// Points left of `points` recorded at `last`, at `now` (all ms), with a
/// point forgiven every `week_ms`.
pub fn current(points: i64, last: i64, now: i64, week_ms: i64) -> i64 {
    let weeks = (now - last).max(0) / week_ms.max(1);
    (points - weeks).max(0)
}

/// The points after one more timeout.
pub fn after_timeout(points: i64, last: i64, now: i64, week_ms: i64) -> i64 {
    current(points, last, now, week_ms) + 1
}

/// The timeout length suggested for someone with `points`, in seconds.
pub fn suggested_secs(points: i64) -> i64 {
    match points {
        i64::MIN..=0 => MIN_SECS,
        1 => 300,
        _ => MAX_SECS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karma_grows_by_timeouts_and_is_forgiven_a_point_a_week() {
        let week = 1_000;
        assert_eq!(current(0, 0, 5_000, week), 0);
        let one = after_timeout(0, 0, 10, week);
        assert_eq!(one, 1);
        let two = after_timeout(one, 10, 20, week);
        assert_eq!((two, current(two, 20, 1_019, week)), (2, 2));
        assert_eq!(current(two, 20, 1_020, week), 1, "a week on");
        assert_eq!(current(two, 20, 99_999, week), 0, "never below zero");
        assert_eq!(
            current(two, 20, 0, week),
            2,
            "a clock going back forgives nothing"
        );
    }

    #[test]
    fn the_suggested_length_goes_2_5_10_minutes() {
        let lengths: Vec<i64> = (0..4).map(suggested_secs).collect();
        assert_eq!(lengths, [120, 300, 600, 600]);
    }
}
