//! The report's latency figures: per kind of action and over all of them.

use super::plan::Kind;
use chyron_bench::viewers::percentile_ms;
use serde::Serialize;

/// One action's request as the benchmark saw it.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// Which kind.
    pub kind: Kind,
    /// Whether the relay answered 200.
    pub ok: bool,
    /// Request start → answer, in µs.
    pub us: u32,
}

/// Latencies of one kind of action (or all), request start → frame at a
/// viewer, over every (action, viewer) pair.
#[derive(Debug, Serialize, PartialEq)]
pub struct Figures {
    /// Actions of this kind performed.
    pub actions: usize,
    /// Requests not answered 200.
    pub refused: usize,
    /// Frames received by viewers (one per action and viewer at most).
    pub deliveries: u64,
    /// Actions × viewers.
    pub expected: u64,
    /// Request start → frame at a viewer: median,
    pub p50_ms: f64,
    /// … 99th percentile (the goal: ≤ 1 s),
    pub p99_ms: f64,
    /// … and the slowest.
    pub max_ms: f64,
    /// Request start → the API's answer (the moderator's own wait): median,
    pub answer_p50_ms: f64,
    /// … and the slowest.
    pub answer_max_ms: f64,
}

/// The figures of actions of `kind` (every kind when `None`): `deliveries`
/// holds (action, µs) pairs of every viewer, `answers` one per action.
pub fn figures(
    kind: Option<Kind>,
    answers: &[Answer],
    deliveries: &[(usize, u32)],
    viewers: usize,
) -> Figures {
    let ours = |k: Kind| kind.is_none_or(|want| want == k);
    let mut lat: Vec<u32> = deliveries
        .iter()
        .filter(|(a, _)| ours(answers[*a].kind))
        .map(|(_, us)| *us)
        .collect();
    lat.sort_unstable();
    let mine: Vec<&Answer> = answers.iter().filter(|a| ours(a.kind)).collect();
    let mut ans: Vec<u32> = mine.iter().map(|a| a.us).collect();
    ans.sort_unstable();
    Figures {
        actions: mine.len(),
        refused: mine.iter().filter(|a| !a.ok).count(),
        deliveries: lat.len() as u64,
        expected: (mine.len() * viewers) as u64,
        p50_ms: percentile_ms(&lat, 0.50),
        p99_ms: percentile_ms(&lat, 0.99),
        max_ms: percentile_ms(&lat, 1.0),
        answer_p50_ms: percentile_ms(&ans, 0.50),
        answer_max_ms: percentile_ms(&ans, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_split_by_kind_and_count_what_is_missing() {
        let answers = [
            Answer {
                kind: Kind::Delete,
                ok: true,
                us: 2000,
            },
            Answer {
                kind: Kind::Ban,
                ok: false,
                us: 4000,
            },
        ];
        // Two viewers: the delete reached both, the ban one.
        let got = [(0, 1000), (0, 3000), (1, 9000)];
        let del = figures(Some(Kind::Delete), &answers, &got, 2);
        assert_eq!(
            (del.actions, del.refused, del.deliveries, del.expected),
            (1, 0, 2, 2)
        );
        assert_eq!((del.p50_ms, del.max_ms), (3.0, 3.0));
        let ban = figures(Some(Kind::Ban), &answers, &got, 2);
        assert_eq!(
            (ban.refused, ban.deliveries, ban.expected, ban.max_ms),
            (1, 1, 2, 9.0)
        );
        let all = figures(None, &answers, &got, 2);
        assert_eq!((all.actions, all.deliveries, all.expected), (2, 3, 4));
        assert_eq!((all.p50_ms, all.max_ms, all.answer_max_ms), (3.0, 9.0, 4.0));
        assert!(figures(Some(Kind::Timeout), &answers, &got, 2)
            .p99_ms
            .is_nan());
    }
}
