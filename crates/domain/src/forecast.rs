//! What is expected at a property: the outdoor temperature (for heat pumps), the solar production
//! and the rest of the household's load (for batteries and inverters).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The forecast for one instant; each value holds until the next point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForecastPoint {
    pub at: DateTime<Utc>,
    pub outdoor_c: Option<f64>,
    pub solar_w: Option<f64>,
    pub base_load_w: Option<f64>,
}

impl ForecastPoint {
    /// The point in force at `at` among `points` (sorted by time): the latest at or before it,
    /// or the first when `at` is before them all.
    pub fn at(points: &[ForecastPoint], at: DateTime<Utc>) -> Option<&ForecastPoint> {
        let after = points.partition_point(|p| p.at <= at);
        points.get(after.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn the_point_in_force_is_the_latest_not_after() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let point = |h: i64, c: f64| ForecastPoint {
            at: t0 + Duration::hours(h),
            outdoor_c: Some(c),
            solar_w: None,
            base_load_w: None,
        };
        let points = [point(0, 1.0), point(1, 2.0), point(2, 3.0)];
        assert_eq!(
            ForecastPoint::at(&points, t0 - Duration::hours(1))
                .unwrap()
                .outdoor_c,
            Some(1.0)
        );
        assert_eq!(
            ForecastPoint::at(&points, t0 + Duration::minutes(90))
                .unwrap()
                .outdoor_c,
            Some(2.0)
        );
        assert_eq!(
            ForecastPoint::at(&points, t0 + Duration::hours(5))
                .unwrap()
                .outdoor_c,
            Some(3.0)
        );
        assert_eq!(ForecastPoint::at(&[], t0), None);
    }
}
