//! Incident KPIs over a set of incidents: counts by severity, time to detect
//! (for incidents declared from alerts), acknowledge, mitigate and resolve (mean, median, 90th percentile), response targets missed,
//! and postmortems written; and the shape of the same KPIs per severity as
//! histograms, for `/metrics`.
//!
//! Must not: choose the incidents (the caller leaves drills and old ones out) or
//! read the clock (`now` is passed in, for incidents still unacknowledged).

use super::{Incident, IncidentId, Severity};
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// The KPIs of a window of incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentStats {
    pub incidents: usize,
    pub by_severity: BTreeMap<Severity, usize>,
    /// Alert began → declared, over the incidents declared from alerts.
    pub detect: Option<Spread>,
    /// Declared → acknowledged, over the acknowledged incidents.
    pub acknowledge: Option<Spread>,
    /// Declared → mitigated (monitoring, or resolved directly).
    pub mitigate: Option<Spread>,
    /// Declared → resolved, over the resolved incidents.
    pub resolve: Option<Spread>,
    /// Acknowledged later than the severity's target, or still not acknowledged past it.
    pub response_missed: usize,
    pub postmortems: usize,
}

/// Mean, median and 90th percentile of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub count: usize,
    /// Rounded down to the second.
    pub mean: TimeDelta,
    pub p50: TimeDelta,
    pub p90: TimeDelta,
}

impl Spread {
    /// Percentiles by nearest rank: the smallest value at or above which lies the
    /// share asked for (so p50 of 1, 2, 3, 4 is 2, and always a measured value).
    pub fn of(mut values: Vec<TimeDelta>) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        values.sort();
        let count = values.len();
        let total: i64 = values.iter().map(TimeDelta::num_seconds).sum();
        let rank = |percent: usize| values[(count * percent).div_ceil(100).max(1) - 1];
        Some(Self {
            count,
            mean: TimeDelta::seconds(total / count as i64),
            p50: rank(50),
            p90: rank(90),
        })
    }
}

impl IncidentStats {
    /// `respond_within` gives each severity's acknowledge target, if it has one.
    pub fn compute(
        incidents: &[Incident],
        with_postmortem: &BTreeSet<IncidentId>,
        respond_within: impl Fn(&Severity) -> Option<TimeDelta>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut by_severity = BTreeMap::new();
        let (mut acknowledge, mut mitigate, mut resolve) = (Vec::new(), Vec::new(), Vec::new());
        let mut detect = Vec::new();
        let mut response_missed = 0;
        for incident in incidents {
            detect.extend(incident.detected_at.map(|at| incident.declared_at - at));
            *by_severity.entry(incident.severity.clone()).or_insert(0) += 1;
            let since = |at: DateTime<Utc>| at - incident.declared_at;
            acknowledge.extend(incident.acknowledged_at.map(since));
            mitigate.extend(incident.mitigated_at.map(since));
            resolve.extend(incident.resolved_at.map(since));
            if missed_response(
                incident.declared_at,
                incident.acknowledged_at,
                respond_within(&incident.severity),
                now,
            ) {
                response_missed += 1;
            }
        }
        Self {
            incidents: incidents.len(),
            by_severity,
            detect: Spread::of(detect),
            acknowledge: Spread::of(acknowledge),
            mitigate: Spread::of(mitigate),
            resolve: Spread::of(resolve),
            response_missed,
            postmortems: incidents
                .iter()
                .filter(|incident| with_postmortem.contains(&incident.id))
                .count(),
        }
    }
}

/// Whether an incident missed its response target: acknowledged later than the
/// target after it was declared, or still unacknowledged past it at `now`. A
/// severity without a target never misses.
pub fn missed_response(
    declared_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    target: Option<TimeDelta>,
    now: DateTime<Utc>,
) -> bool {
    let waited = acknowledged_at.unwrap_or(now) - declared_at;
    target.is_some_and(|target| waited > target)
}

/// Upper bounds, in seconds, of the duration histograms: from a minute (a quick
/// acknowledgement) to a day (a long resolution); anything longer is only in `+Inf`.
pub const DURATION_BUCKETS: [i64; 9] = [60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400];

/// A histogram of durations over [`DURATION_BUCKETS`], as Prometheus counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DurationHistogram {
    /// `cumulative[i]`: observations of at most `DURATION_BUCKETS[i]` seconds.
    pub cumulative: [u64; DURATION_BUCKETS.len()],
    /// Every observation (the `+Inf` bucket).
    pub count: u64,
    /// The sum of the observations, in milliseconds (exact, unlike a float sum).
    pub sum_millis: i64,
}

/// The all-time KPIs of one severity's incidents, with the definitions of
/// [`IncidentStats`]: the store aggregates them in SQL, so a scrape stays cheap
/// however many incidents there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeverityTotals {
    pub incidents: u64,
    /// As [`missed_response`] decides, at the time of reading.
    pub response_missed: u64,
    pub postmortems: u64,
    /// Alert began → declared, for incidents declared from alerts.
    pub detect: DurationHistogram,
    /// Declared → acknowledged.
    pub acknowledge: DurationHistogram,
    /// Declared → mitigated (monitoring, or resolved directly).
    pub mitigate: DurationHistogram,
    /// Declared → resolved.
    pub resolve: DurationHistogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(values: &[i64]) -> Vec<TimeDelta> {
        values.iter().map(|m| TimeDelta::minutes(*m)).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank_and_the_mean_rounds_down() {
        let spread = Spread::of(minutes(&[4, 1, 3, 2])).unwrap();
        assert_eq!(spread.p50, TimeDelta::minutes(2));
        assert_eq!(spread.p90, TimeDelta::minutes(4));
        assert_eq!(spread.mean, TimeDelta::seconds(150));
        let ten = Spread::of(minutes(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).unwrap();
        assert_eq!(
            (ten.p50, ten.p90),
            (TimeDelta::minutes(5), TimeDelta::minutes(9))
        );
        let one = Spread::of(minutes(&[7])).unwrap();
        assert_eq!(
            (one.p50, one.p90),
            (TimeDelta::minutes(7), TimeDelta::minutes(7))
        );
        assert_eq!(Spread::of(Vec::new()), None);
    }
}
