//! Injected time. Production code asks a [`Clock`]; tests hand in a [`ManualClock`]; the demo runs on a
//! [`ScaledClock`], which lets a night play out in a minute.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};

/// A source of the current instant, always in UTC.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// A clock shared between the server's components.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; for tests and simulations.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward (or backward, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The fastest a [`ScaledClock`] may run: ten thousand times real time (a week in a minute).
pub const MAX_CLOCK_SPEED: f64 = 10_000.0;

/// A clock speed that is not a number between zero (excluded) and [`MAX_CLOCK_SPEED`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the clock speed must be a number above 0 and at most {MAX_CLOCK_SPEED}, not {0}")]
pub struct ClockSpeedError(pub f64);

/// Checks a clock speed: finite, above zero and at most [`MAX_CLOCK_SPEED`].
pub fn validate_speed(speed: f64) -> Result<f64, ClockSpeedError> {
    if speed.is_finite() && speed > 0.0 && speed <= MAX_CLOCK_SPEED {
        Ok(speed)
    } else {
        Err(ClockSpeedError(speed))
    }
}

/// The instant a clock that started at `start` and runs `speed` times faster than real time shows
/// after `elapsed` of real time. Saturates at the latest representable instant.
pub fn scaled_now(start: DateTime<Utc>, speed: f64, elapsed: StdDuration) -> DateTime<Utc> {
    let nanos = elapsed.as_nanos() as f64 * speed;
    // `as` saturates a float at the integer's bounds (and maps NaN to zero); past about 292 years of
    // nanoseconds the offset is counted in milliseconds instead.
    let scaled = if nanos < i64::MAX as f64 {
        Duration::nanoseconds(nanos as i64)
    } else {
        Duration::try_milliseconds((nanos / 1e6) as i64).unwrap_or(Duration::MAX)
    };
    start
        .checked_add_signed(scaled)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Where a scaled clock stood: at wall time `wall_at` it showed `clock_at` and ran `speed` times
/// faster than real time. Kept in the database so a restart continues the same clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockAnchor {
    pub clock_at: DateTime<Utc>,
    pub wall_at: DateTime<Utc>,
    pub speed: f64,
}

impl ClockAnchor {
    /// The instant this clock shows at wall time `wall_now`. A wall clock set back (before
    /// `wall_at`) does not set it back: it shows `clock_at` then.
    pub fn at(&self, wall_now: DateTime<Utc>) -> DateTime<Utc> {
        let elapsed = (wall_now - self.wall_at)
            .to_std()
            .unwrap_or(StdDuration::ZERO);
        scaled_now(self.clock_at, self.speed, elapsed)
    }
}

/// The instant a scaled clock starting at wall time `wall_now` starts at: the `explicit` start if
/// one is given (`--clock-start`), else where the `saved` clock has got to by now (so a restart
/// never moves the clock back), else the wall time.
pub fn resume_at(
    saved: Option<&ClockAnchor>,
    explicit: Option<DateTime<Utc>>,
    wall_now: DateTime<Utc>,
) -> DateTime<Utc> {
    match (explicit, saved) {
        (Some(start), _) => start,
        (None, Some(saved)) => saved.at(wall_now),
        (None, None) => wall_now,
    }
}

type Elapsed = dyn Fn() -> StdDuration + Send + Sync;

/// A clock that starts at a given instant and runs `speed` times faster than real time (1 is real
/// time), measured on the monotonic clock from its construction: at speed 600 an hour passes in six
/// seconds. It never runs backwards, whatever happens to the wall clock.
#[derive(Clone)]
pub struct ScaledClock {
    start: DateTime<Utc>,
    speed: f64,
    elapsed: Arc<Elapsed>,
}

impl ScaledClock {
    /// A clock showing `start` now and running `speed` times faster than real time from here.
    pub fn new(start: DateTime<Utc>, speed: f64) -> Result<Self, ClockSpeedError> {
        let anchor = Instant::now();
        Self::with_elapsed(start, speed, move || anchor.elapsed())
    }

    /// A clock whose real time elapsed since its start comes from `elapsed` (for tests, which move
    /// real time by hand).
    pub fn with_elapsed(
        start: DateTime<Utc>,
        speed: f64,
        elapsed: impl Fn() -> StdDuration + Send + Sync + 'static,
    ) -> Result<Self, ClockSpeedError> {
        Ok(Self {
            start,
            speed: validate_speed(speed)?,
            elapsed: Arc::new(elapsed),
        })
    }

    /// How many times faster than real time this clock runs.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The instant the clock showed when it was made.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }
}

impl std::fmt::Debug for ScaledClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaledClock")
            .field("start", &self.start)
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        scaled_now(self.start, self.speed, (self.elapsed)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(90));
        assert_eq!(clock.now(), start + Duration::minutes(90));
        let shared: SharedClock = Arc::new(clock.clone());
        clock.set(start);
        assert_eq!(shared.now(), start, "clones share one instant");
    }

    #[test]
    fn the_scaled_mapping_multiplies_elapsed_real_time() {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap();
        assert_eq!(scaled_now(start, 600.0, StdDuration::ZERO), start);
        assert_eq!(
            scaled_now(start, 600.0, StdDuration::from_secs(6)),
            start + Duration::hours(1)
        );
        assert_eq!(
            scaled_now(start, 1.0, StdDuration::from_millis(1500)),
            start + Duration::milliseconds(1500)
        );
        assert_eq!(
            scaled_now(start, 0.5, StdDuration::from_secs(10)),
            start + Duration::seconds(5)
        );
        // A night (12 hours) at 600 times real time takes 72 seconds.
        assert_eq!(
            scaled_now(start, 600.0, StdDuration::from_secs(72)),
            start + Duration::hours(12)
        );
        // Far beyond the representable range it saturates instead of failing.
        assert_eq!(
            scaled_now(start, MAX_CLOCK_SPEED, StdDuration::from_secs(u64::MAX)),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn a_scaled_clock_follows_injected_real_time() {
        let start = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap();
        let real = Arc::new(Mutex::new(StdDuration::ZERO));
        let source = real.clone();
        let clock = ScaledClock::with_elapsed(start, 60.0, move || {
            *source.lock().unwrap_or_else(PoisonError::into_inner)
        })
        .unwrap();
        assert_eq!(clock.now(), start);
        assert_eq!(clock.speed(), 60.0);
        assert_eq!(clock.start(), start);
        *real.lock().unwrap() = StdDuration::from_secs(90);
        assert_eq!(clock.now(), start + Duration::minutes(90));
        let shared: SharedClock = Arc::new(clock.clone());
        *real.lock().unwrap() = StdDuration::from_secs(120);
        assert_eq!(
            shared.now(),
            start + Duration::hours(2),
            "clones share one source"
        );
        assert!(format!("{clock:?}").contains("speed: 60.0"));
    }

    #[test]
    fn a_scaled_clock_runs_on_real_time() {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap();
        let clock = ScaledClock::new(start, 1_000.0).unwrap();
        let first = clock.now();
        std::thread::sleep(StdDuration::from_millis(20));
        let second = clock.now();
        assert!(first >= start);
        assert!(
            second - first >= Duration::seconds(20),
            "20 ms of real time are at least 20 s at speed 1000: {first} then {second}"
        );
    }

    #[test]
    fn a_saved_clock_resumes_where_it_has_got_to() {
        let wall = Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap();
        let shown = Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap();
        let saved = ClockAnchor {
            clock_at: shown,
            wall_at: wall,
            speed: 600.0,
        };
        assert_eq!(saved.at(wall), shown);
        assert_eq!(
            saved.at(wall + Duration::seconds(6)),
            shown + Duration::hours(1)
        );
        assert_eq!(
            saved.at(wall - Duration::hours(3)),
            shown,
            "a wall clock set back does not set the server's clock back"
        );
        let later = wall + Duration::minutes(1);
        assert_eq!(
            resume_at(Some(&saved), None, later),
            shown + Duration::hours(10),
            "a minute of wall time at 600 times is ten hours"
        );
        assert!(resume_at(Some(&saved), None, later) > later);
        let explicit = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            resume_at(Some(&saved), Some(explicit), later),
            explicit,
            "--clock-start wins"
        );
        assert_eq!(resume_at(None, None, later), later);
        assert_eq!(resume_at(None, Some(explicit), later), explicit);
    }

    #[test]
    fn clock_speeds_are_checked() {
        for good in [1.0, 0.25, 60.0, 600.0, MAX_CLOCK_SPEED] {
            assert_eq!(validate_speed(good), Ok(good));
        }
        for bad in [
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            MAX_CLOCK_SPEED + 1.0,
        ] {
            assert!(validate_speed(bad).is_err(), "{bad}");
            assert!(ScaledClock::new(Utc::now(), bad).is_err(), "{bad}");
        }
        let message = validate_speed(0.0).unwrap_err().to_string();
        assert!(message.contains("above 0"), "{message}");
    }
}
