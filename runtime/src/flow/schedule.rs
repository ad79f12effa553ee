//! Flow schedules: a cron expression evaluated in the flow's time zone.
//!
//! A flow's `schedule` is a cron expression of exactly six whitespace-separated fields, seconds
//! first: `seconds minutes hours day-of-month month day-of-week`, e.g. `? 0 2 ? * *` (every day at
//! 02:00) or `0 */15 * * * *` (every quarter of an hour). Its `timezone` is an IANA name such as
//! `America/New_York`; without one the schedule runs in UTC.
//!
//! Conventions:
//!
//! - **Seconds** must be a single value, `0`-`59`, or `?` (second 0): a flow runs at most once a
//!   minute, so `*`, `*/10`, `0,30` and `0-5` are refused.
//! - **Minutes** `0`-`59`, **hours** `0`-`23`, **day of month** `1`-`31`, **month** `1`-`12` or
//!   `JAN`-`DEC`, each with `*`, lists (`1,15`), ranges (`9-17`) and steps (`*/15`, `10-40/10`,
//!   `5/15` = from 5 to the end, every 15).
//! - **Day of week** follows the common (Unix) cron numbering: `0`-`6` from Sunday to Saturday,
//!   `7` is Sunday too; names `SUN`-`SAT` (or full names, any case) also work, so `MON-FRI`,
//!   `1-5` and `mon,tue,wed,thu,fri` are the same days, and `FRI-SUN` = `5-7` = Friday to
//!   Sunday. This is *not* the Quartz numbering where 1 is Sunday.
//! - **`?`** means "any" in the day-of-month and day-of-week fields (like `*`), and second 0 in
//!   the seconds field; it is refused elsewhere. `L`, `W` and `#` are not supported.
//! - When both day of month and day of week are restricted, a day must match **both**:
//!   `0 0 9 1-7 * MON` is the first Monday of every month.
//! - A schedule that can never run (`0 0 0 31 4 *`, April 31st) is refused; runs are found up to
//!   the end of 2100.
//!
//! Times are wall-clock times in the flow's zone; daylight-saving changes are handled as Vixie
//! cron does:
//!
//! - A schedule that runs **every hour** (its hours field covers all 24, e.g. `0 */15 * * * *`)
//!   follows elapsed time: wall-clock times skipped when clocks go forward do not run, and the
//!   repeated hour when clocks go back runs again.
//! - A schedule at **particular hours** (e.g. `0 30 2 * * *`) runs once per day it matches: a
//!   time skipped when clocks go forward runs at the moment the clocks jump (03:00 local in
//!   New York), and a repeated time runs at its first occurrence only.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use cron::TimeUnitSpec;

/// Hours within which no zone changes its offset twice, and more than any zone's clock ever goes
/// back at once (two hours, Antarctica/Troll, is the most since 1970).
const WINDOW_HOURS: i64 = 3;

/// Names of the fields, in order.
const FIELDS: [&str; 6] = [
    "seconds",
    "minutes",
    "hours",
    "day-of-month",
    "month",
    "day-of-week",
];

/// Day names, indexed by the Unix day-of-week number (Sunday = 0).
const DAYS: [(&str, &str); 7] = [
    ("sun", "sunday"),
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
];

/// A parsed flow schedule: a cron expression and the time zone it runs in.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The expression translated for the `cron` crate and evaluated on wall-clock times.
    cron: cron::Schedule,
    /// The zone the wall-clock times are in.
    zone: Tz,
    /// Whether the schedule runs in every hour, so it follows elapsed time across clock changes.
    hourly: bool,
}

/// Why a flow's `schedule` or `timezone` is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression does not have six fields.
    #[error("schedule must have six fields, seconds first (e.g. '? 0 2 ? * *'), not {0}")]
    FieldCount(usize),
    /// The seconds field is not a single value, so the flow would run more than once a minute.
    #[error(
        "a flow may run at most once a minute: the seconds field must be a single value (0-59 or ?), not '{0}'"
    )]
    TooOften(String),
    /// `?` in a field other than seconds, day of month and day of week.
    #[error("'?' is only allowed in the seconds, day-of-month and day-of-week fields, not in {0}")]
    QuestionMark(&'static str),
    /// A field that is not valid.
    #[error("the {field} field '{value}' is not valid: expected {expected}")]
    Field {
        /// Name of the field, e.g. `minutes`.
        field: &'static str,
        /// The field as given.
        value: String,
        /// What the field may hold.
        expected: &'static str,
    },
    /// No date matches the day of month, month and day of week together.
    #[error(
        "schedule never runs: no date matches its day of month, month and day of week (e.g. '0 0 0 31 4 *', April 31st)"
    )]
    Never,
    /// The time zone is not a known IANA name.
    #[error("unknown time zone '{0}' (use an IANA name such as 'America/New_York')")]
    UnknownZone(String),
}

impl ScheduleError {
    /// The flow field at fault: `"timezone"` for an unknown zone, `"schedule"` otherwise.
    pub fn field(&self) -> &'static str {
        match self {
            ScheduleError::UnknownZone(_) => "timezone",
            _ => "schedule",
        }
    }
}

/// A time zone by its IANA name, e.g. `America/New_York` or `UTC`.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownZone(name.to_owned()))
}

impl Schedule {
    /// Parse a flow's `schedule` (cron: six fields, seconds first, `?` allowed, e.g.
    /// `? 0 2 ? * *`, `0 */15 * * * *`) in `timezone` (IANA name such as `America/New_York`;
    /// `None` = UTC). See the module documentation for the conventions.
    pub fn parse(expression: &str, timezone: Option<&str>) -> Result<Schedule, ScheduleError> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let [seconds, minutes, hours, day_of_month, month, day_of_week] = fields[..] else {
            return Err(ScheduleError::FieldCount(fields.len()));
        };
        let zone = match timezone {
            Some(name) => parse_timezone(name)?,
            None => Tz::UTC,
        };
        let seconds = parse_seconds(seconds)?;
        for (index, field) in [(1, minutes), (2, hours), (4, month)] {
            if field.contains('?') {
                return Err(ScheduleError::QuestionMark(FIELDS[index]));
            }
        }
        check_field(
            minutes,
            1,
            "0-59, with lists, ranges and steps such as 0,30 or */15",
        )?;
        check_field(
            hours,
            2,
            "0-23, with lists, ranges and steps such as 9-17 or */2",
        )?;
        check_field(day_of_month, 3, "1-31 or ?, with lists, ranges and steps")?;
        check_field(month, 4, "1-12 or JAN-DEC, with lists, ranges and steps")?;
        let day_of_week = parse_day_of_week(day_of_week)?;
        let translated =
            format!("{seconds} {minutes} {hours} {day_of_month} {month} {day_of_week}");
        let cron = cron::Schedule::try_from(translated.as_str()).map_err(|e| {
            // Every field was checked on its own above; report the whole expression if the
            // crate still refuses it.
            ScheduleError::Field {
                field: "schedule",
                value: format!("{expression} ({e})"),
                expected: "a cron expression of six fields, seconds first",
            }
        })?;
        let hourly = cron.hours().is_all();
        let schedule = Schedule { cron, zone, hourly };
        if schedule.next_after(DateTime::UNIX_EPOCH).is_none() {
            return Err(ScheduleError::Never);
        }
        Ok(schedule)
    }

    /// The zone the schedule runs in.
    pub fn timezone(&self) -> Tz {
        self.zone
    }

    /// The first run time strictly after `after`, or `None` when there is none before 2101.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let window = TimeDelta::hours(WINDOW_HOURS);
        // A wall-clock time before `after`'s own can still come after it when the clock is about
        // to go back: start that much earlier.
        let back = after
            .checked_add_signed(window)
            .map_or(TimeDelta::zero(), |later| self.drop_before(later));
        let local = after.with_timezone(&self.zone).naive_local();
        let start = local.checked_sub_signed(back).unwrap_or(local);
        // Candidates come in wall-clock order, which differs from instant order only around a
        // clock going back; keep the earliest instant and stop past where that could matter.
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for candidate in self.cron.after(&start.and_utc()) {
            let wall = candidate.naive_utc();
            if best.is_some_and(|(_, limit)| wall > limit) {
                break;
            }
            for instant in self.instants(wall).into_iter().flatten() {
                if instant > after && best.is_none_or(|(earliest, _)| instant < earliest) {
                    let local = instant.with_timezone(&self.zone).naive_local();
                    let limit = local
                        .checked_add_signed(self.drop_before(instant))
                        .unwrap_or(local);
                    best = Some((instant, limit));
                }
            }
        }
        best.map(|(instant, _)| instant)
    }

    /// The instants at which wall-clock time `wall` runs (see the module documentation).
    fn instants(&self, wall: NaiveDateTime) -> [Option<DateTime<Utc>>; 2] {
        match self.zone.from_local_datetime(&wall) {
            LocalResult::Single(at) => [Some(at.to_utc()), None],
            LocalResult::Ambiguous(first, second) => {
                [Some(first.to_utc()), self.hourly.then(|| second.to_utc())]
            }
            LocalResult::None if self.hourly => [None, None],
            LocalResult::None => [self.jump_over(wall), None],
        }
    }

    /// The offset from UTC in effect at `at`.
    fn offset(&self, at: DateTime<Utc>) -> TimeDelta {
        let seconds = self
            .zone
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc();
        TimeDelta::seconds(i64::from(seconds))
    }

    /// How far the clock went back in the few hours before `at` (zero if it did not).
    fn drop_before(&self, at: DateTime<Utc>) -> TimeDelta {
        match at.checked_sub_signed(TimeDelta::hours(WINDOW_HOURS)) {
            Some(earlier) => (self.offset(earlier) - self.offset(at)).max(TimeDelta::zero()),
            None => TimeDelta::zero(),
        }
    }

    /// The instant the clock jumps over `wall`, a wall-clock time that does not exist in the
    /// zone: the first second whose wall-clock time is past `wall`.
    fn jump_over(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        let wall_of = |seconds: i64| {
            DateTime::from_timestamp(seconds, 0)
                .map(|at| at.with_timezone(&self.zone).naive_local())
        };
        // Offsets stay within a day of UTC, so `lo` shows a time before `wall`, `hi` one after.
        let day = 26 * 3600;
        let (mut lo, mut hi) = (
            wall.and_utc().timestamp() - day,
            wall.and_utc().timestamp() + day,
        );
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if wall_of(mid)? <= wall {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        DateTime::from_timestamp(hi, 0)
    }
}

/// The seconds field as the `cron` crate takes it: a single second, `?` being second 0.
fn parse_seconds(field: &str) -> Result<&str, ScheduleError> {
    if field == "?" {
        return Ok("0");
    }
    if field.contains(['*', ',', '-', '/']) {
        return Err(ScheduleError::TooOften(field.to_owned()));
    }
    match field.parse::<u32>() {
        Ok(second) if second <= 59 && field.bytes().all(|b| b.is_ascii_digit()) => Ok(field),
        _ => Err(ScheduleError::Field {
            field: FIELDS[0],
            value: field.to_owned(),
            expected: "a single second 0-59, or ?",
        }),
    }
}

/// Check one field with the `cron` crate, every other field being `*`.
fn check_field(field: &str, index: usize, expected: &'static str) -> Result<(), ScheduleError> {
    let mut fields = ["0", "*", "*", "*", "*", "*"];
    fields[index] = field;
    match cron::Schedule::try_from(fields.join(" ").as_str()) {
        Ok(_) => Ok(()),
        Err(_) => Err(ScheduleError::Field {
            field: FIELDS[index],
            value: field.to_owned(),
            expected,
        }),
    }
}

/// The day-of-week field (Unix numbering, see the module documentation) as the `cron` crate takes
/// it: `*`, or a list of its day numbers (Sunday = 1 to Saturday = 7).
fn parse_day_of_week(field: &str) -> Result<String, ScheduleError> {
    let invalid = || ScheduleError::Field {
        field: FIELDS[5],
        value: field.to_owned(),
        expected: "0-7 (0 and 7 are Sunday) or SUN-SAT, ?, with lists, ranges and steps such as MON-FRI",
    };
    let mut days = [false; 7];
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (item, None),
        };
        let stepped = step.is_some();
        let step = match step {
            Some(text) => match text.parse::<usize>() {
                Ok(step @ 1..=7) if text.bytes().all(|b| b.is_ascii_digit()) => step,
                _ => return Err(invalid()),
            },
            None => 1,
        };
        let (first, last) = match base.split_once('-') {
            _ if base == "*" || base == "?" => (0, 6),
            Some((first, last)) => {
                let first = weekday(first).ok_or_else(invalid)?;
                let last = match weekday(last).ok_or_else(invalid)? {
                    // `FRI-SUN`: Sunday at the end of a range is day 7.
                    0 if first > 0 => 7,
                    last => last,
                };
                if first > last {
                    return Err(invalid());
                }
                (first, last)
            }
            // `n/step` runs from `n` to the end of the week.
            None if stepped => {
                let first = weekday(base).ok_or_else(invalid)?;
                (first, first.max(6))
            }
            None => {
                let day = weekday(base).ok_or_else(invalid)?;
                (day, day)
            }
        };
        for day in (first..=last).step_by(step) {
            days[day % 7] = true;
        }
    }
    if days.iter().all(|&on| on) {
        return Ok("*".to_owned());
    }
    let list: Vec<String> = (0..7)
        .filter(|&day| days[day])
        .map(|day| (day + 1).to_string())
        .collect();
    Ok(list.join(","))
}

/// A day of the week by Unix number (`0`-`7`, 7 kept as 7) or name.
fn weekday(token: &str) -> Option<usize> {
    if token.bytes().all(|b| b.is_ascii_digit()) {
        return token.parse::<usize>().ok().filter(|&day| day <= 7);
    }
    let lower = token.to_ascii_lowercase();
    DAYS.iter()
        .position(|&(short, long)| lower == short || lower == long)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("a test instant")
            .to_utc()
    }

    fn schedule(expression: &str, zone: Option<&str>) -> Schedule {
        Schedule::parse(expression, zone).expect("a valid schedule")
    }

    /// The next `n` runs after `after`, as RFC 3339 strings.
    fn runs(s: &Schedule, after: &str, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut from = at(after);
        for _ in 0..n {
            let Some(next) = s.next_after(from) else {
                break;
            };
            out.push(next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            from = next;
        }
        out
    }

    fn error(expression: &str, zone: Option<&str>) -> ScheduleError {
        Schedule::parse(expression, zone).expect_err("an invalid schedule")
    }

    #[test]
    fn a_daily_schedule_runs_every_day_at_its_time_in_utc() {
        let s = schedule("0 0 2 * * *", None);
        assert_eq!(
            runs(&s, "2026-01-15T10:00:00Z", 2),
            ["2026-01-16T02:00:00Z", "2026-01-17T02:00:00Z"]
        );
    }

    #[test]
    fn question_marks_mean_second_zero_and_any_day() {
        let s = schedule("? 0 2 ? * *", None);
        assert_eq!(
            runs(&s, "2026-01-15T10:00:00Z", 2),
            ["2026-01-16T02:00:00Z", "2026-01-17T02:00:00Z"]
        );
        let s = schedule("0 30 6 * * ?", None);
        assert_eq!(
            runs(&s, "2026-01-15T10:00:00Z", 1),
            ["2026-01-16T06:30:00Z"]
        );
    }

    #[test]
    fn every_quarter_hour_runs_on_the_quarters() {
        let s = schedule("0 */15 * * * *", None);
        assert_eq!(
            runs(&s, "2026-01-15T10:07:30Z", 3),
            [
                "2026-01-15T10:15:00Z",
                "2026-01-15T10:30:00Z",
                "2026-01-15T10:45:00Z"
            ]
        );
    }

    #[test]
    fn the_next_run_is_strictly_after_the_given_instant() {
        let s = schedule("0 */15 * * * *", None);
        assert_eq!(
            s.next_after(at("2026-01-15T10:15:00Z")),
            Some(at("2026-01-15T10:30:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-01-15T10:14:59.999Z")),
            Some(at("2026-01-15T10:15:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-01-15T10:15:00.001Z")),
            Some(at("2026-01-15T10:30:00Z"))
        );
        let s = schedule("0 0 2 * * *", Some("America/New_York"));
        assert_eq!(
            s.next_after(at("2026-01-15T07:00:00Z")),
            Some(at("2026-01-16T07:00:00Z"))
        );
    }

    #[test]
    fn a_schedule_runs_at_the_wall_clock_time_of_its_zone_in_winter_and_summer() {
        let s = schedule("0 0 2 * * *", Some("America/New_York"));
        assert_eq!(s.timezone(), chrono_tz::America::New_York);
        assert_eq!(
            runs(&s, "2026-01-15T00:00:00Z", 1),
            ["2026-01-15T07:00:00Z"]
        );
        assert_eq!(
            runs(&s, "2026-07-15T00:00:00Z", 1),
            ["2026-07-15T06:00:00Z"]
        );
    }

    #[test]
    fn a_daily_time_skipped_when_clocks_go_forward_runs_when_they_jump() {
        // New York, 2026-03-08: 02:00 EST (07:00Z) becomes 03:00 EDT.
        let s = schedule("0 30 2 * * *", Some("America/New_York"));
        assert_eq!(
            runs(&s, "2026-03-06T12:00:00Z", 3),
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
    }

    #[test]
    fn a_daily_time_repeated_when_clocks_go_back_runs_once() {
        // New York, 2026-11-01: 02:00 EDT (06:00Z) becomes 01:00 EST; 01:30 happens twice.
        let s = schedule("0 30 1 * * *", Some("America/New_York"));
        assert_eq!(
            runs(&s, "2026-10-31T00:00:00Z", 3),
            [
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z"
            ]
        );
        // Even when asked between the two occurrences.
        assert_eq!(
            s.next_after(at("2026-11-01T06:00:00Z")),
            Some(at("2026-11-02T06:30:00Z"))
        );
    }

    #[test]
    fn an_hourly_schedule_follows_elapsed_time_across_daylight_saving_changes() {
        let s = schedule("0 30 * * * *", Some("America/New_York"));
        // Forward: 02:30 does not exist; 01:30 EST is followed by 03:30 EDT an hour later.
        assert_eq!(
            runs(&s, "2026-03-08T06:00:00Z", 3),
            [
                "2026-03-08T06:30:00Z",
                "2026-03-08T07:30:00Z",
                "2026-03-08T08:30:00Z"
            ]
        );
        // Back: 01:30 EDT, 01:30 EST, 02:30 EST.
        assert_eq!(
            runs(&s, "2026-11-01T05:00:00Z", 3),
            [
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:30:00Z",
                "2026-11-01T07:30:00Z"
            ]
        );
        let s = schedule("0 */15 * * * *", Some("America/New_York"));
        assert_eq!(
            runs(&s, "2026-03-08T06:40:00Z", 3),
            [
                "2026-03-08T06:45:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T07:15:00Z"
            ]
        );
        assert_eq!(
            runs(&s, "2026-11-01T05:40:00Z", 3),
            [
                "2026-11-01T05:45:00Z",
                "2026-11-01T06:00:00Z",
                "2026-11-01T06:15:00Z"
            ]
        );
    }

    #[test]
    fn times_inside_a_skipped_hour_run_once_when_the_clock_jumps() {
        let s = schedule("0 */15 2 * * *", Some("America/New_York"));
        assert_eq!(
            runs(&s, "2026-03-07T12:00:00Z", 2),
            ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"]
        );
    }

    #[test]
    fn every_minute_runs_every_elapsed_minute_through_any_zone_change() {
        let zones = [
            "America/New_York",
            "Europe/London",
            "Australia/Lord_Howe",
            "Antarctica/Troll",
            "Pacific/Apia",
            "Asia/Kolkata",
        ];
        for zone in zones {
            let s = schedule("0 * * * * *", Some(zone));
            // Pacific/Apia skipped 2011-12-30 entirely.
            for start in [
                "2011-12-29T00:00:00Z",
                "2026-03-01T00:00:00Z",
                "2026-10-01T00:00:00Z",
            ] {
                let mut from = at(start);
                for _ in 0..(60 * 24 * 3) {
                    let next = s.next_after(from).expect("a next minute");
                    assert_eq!(next - from, TimeDelta::minutes(1), "{zone} after {from}");
                    from = next;
                }
            }
        }
    }

    #[test]
    fn a_daily_schedule_runs_once_a_day_through_a_year_of_zone_changes() {
        for zone in [
            "America/New_York",
            "Australia/Lord_Howe",
            "Antarctica/Troll",
        ] {
            for expression in ["0 30 1 * * *", "0 30 2 * * *", "0 0 0 * * *"] {
                let s = schedule(expression, Some(zone));
                let mut from = s
                    .next_after(at("2026-01-01T00:00:00Z"))
                    .expect("a first run");
                for _ in 0..365 {
                    let next = s.next_after(from).expect("a next day");
                    let gap = next - from;
                    assert!(
                        gap > TimeDelta::hours(21) && gap < TimeDelta::hours(27),
                        "{zone} {expression}: {from} -> {next}"
                    );
                    from = next;
                }
            }
        }
    }

    #[test]
    fn weekdays_by_name_or_number_run_monday_to_friday() {
        // 2026-01-16 is a Friday.
        for dow in [
            "MON-FRI",
            "mon-fri",
            "1-5",
            "MON,TUE,WED,THU,FRI",
            "Monday-Friday",
        ] {
            let s = schedule(&format!("0 0 9 ? * {dow}"), None);
            assert_eq!(
                runs(&s, "2026-01-16T10:00:00Z", 2),
                ["2026-01-19T09:00:00Z", "2026-01-20T09:00:00Z"],
                "{dow}"
            );
        }
    }

    #[test]
    fn sunday_is_zero_or_seven_and_ends_a_range_as_seven() {
        // 2026-01-18 is a Sunday, 2026-01-16 a Friday.
        for dow in ["0", "7", "SUN", "sunday"] {
            let s = schedule(&format!("0 0 9 ? * {dow}"), None);
            assert_eq!(
                runs(&s, "2026-01-15T10:00:00Z", 1),
                ["2026-01-18T09:00:00Z"],
                "{dow}"
            );
        }
        for dow in ["FRI-SUN", "5-7", "0,5,6", "5/1,0"] {
            let s = schedule(&format!("0 0 9 ? * {dow}"), None);
            assert_eq!(
                runs(&s, "2026-01-15T10:00:00Z", 3),
                [
                    "2026-01-16T09:00:00Z",
                    "2026-01-17T09:00:00Z",
                    "2026-01-18T09:00:00Z"
                ],
                "{dow}"
            );
        }
        let s = schedule("0 0 9 ? * */2", None);
        // Sunday, Tuesday, Thursday, Saturday.
        assert_eq!(
            runs(&s, "2026-01-18T10:00:00Z", 3),
            [
                "2026-01-20T09:00:00Z",
                "2026-01-22T09:00:00Z",
                "2026-01-24T09:00:00Z"
            ]
        );
    }

    #[test]
    fn a_monthly_schedule_runs_on_its_day_of_the_month() {
        let s = schedule("0 0 3 1 * ?", None);
        assert_eq!(
            runs(&s, "2026-01-15T00:00:00Z", 2),
            ["2026-02-01T03:00:00Z", "2026-03-01T03:00:00Z"]
        );
        let s = schedule("0 0 0 31 * *", None);
        assert_eq!(
            runs(&s, "2026-04-01T00:00:00Z", 2),
            ["2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"]
        );
    }

    #[test]
    fn day_of_month_and_day_of_week_together_must_both_match() {
        // The first Monday of each month: 2026-02-02, 2026-03-02.
        let s = schedule("0 0 9 1-7 * MON", None);
        assert_eq!(
            runs(&s, "2026-01-15T00:00:00Z", 2),
            ["2026-02-02T09:00:00Z", "2026-03-02T09:00:00Z"]
        );
    }

    #[test]
    fn a_february_29_schedule_waits_for_the_next_leap_year() {
        let s = schedule("0 0 12 29 2 ?", Some("Europe/Paris"));
        assert_eq!(
            runs(&s, "2026-01-01T00:00:00Z", 2),
            ["2028-02-29T11:00:00Z", "2032-02-29T11:00:00Z"]
        );
    }

    #[test]
    fn there_is_no_run_after_2100() {
        let s = schedule("0 0 0 1 1 *", None);
        assert_eq!(s.next_after(at("2100-06-01T00:00:00Z")), None);
    }

    #[test]
    fn a_schedule_needs_exactly_six_fields() {
        for (expression, n) in [
            ("0 2 * * *", 5),
            ("0 0 2 * * * 2026", 7),
            ("", 0),
            ("@daily", 1),
        ] {
            let e = error(expression, None);
            assert_eq!(e, ScheduleError::FieldCount(n));
            assert_eq!(e.field(), "schedule");
        }
        assert_eq!(
            ScheduleError::FieldCount(5).to_string(),
            "schedule must have six fields, seconds first (e.g. '? 0 2 ? * *'), not 5"
        );
    }

    #[test]
    fn a_flow_may_run_at_most_once_a_minute() {
        for seconds in ["*", "*/10", "0,30", "0-5", "?/5"] {
            let e = error(&format!("{seconds} 0 2 * * *"), None);
            assert_eq!(e, ScheduleError::TooOften(seconds.to_owned()));
            assert_eq!(e.field(), "schedule");
            assert!(e.to_string().starts_with(
                "a flow may run at most once a minute: the seconds field must be a single value"
            ));
        }
    }

    #[test]
    fn a_field_out_of_range_is_named_in_the_error() {
        for (expression, field) in [
            ("60 0 2 * * *", "seconds"),
            ("x 0 2 * * *", "seconds"),
            ("0 60 2 * * *", "minutes"),
            ("0 */0 2 * * *", "minutes"),
            ("0 0 24 * * *", "hours"),
            ("0 0 5-3 * * *", "hours"),
            ("0 0 0 32 * *", "day-of-month"),
            ("0 0 0 0 * *", "day-of-month"),
            ("0 0 0 * 13 *", "month"),
            ("0 0 0 * FOO *", "month"),
            ("0 0 0 * * 8", "day-of-week"),
            ("0 0 0 * * FUNDAY", "day-of-week"),
            ("0 0 0 * * FRI-MON", "day-of-week"),
            ("0 0 0 * * 1/0", "day-of-week"),
            ("0 0 0 * * 1#2", "day-of-week"),
        ] {
            match error(expression, None) {
                ScheduleError::Field { field: got, .. } => assert_eq!(got, field, "{expression}"),
                other => panic!("{expression}: {other:?}"),
            }
        }
        assert_eq!(
            error("0 60 2 * * *", None).to_string(),
            "the minutes field '60' is not valid: expected 0-59, with lists, ranges and steps such as 0,30 or */15"
        );
    }

    #[test]
    fn a_question_mark_is_refused_in_minutes_hours_and_month() {
        assert_eq!(
            error("0 ? 2 * * *", None),
            ScheduleError::QuestionMark("minutes")
        );
        assert_eq!(
            error("0 0 ? * * *", None),
            ScheduleError::QuestionMark("hours")
        );
        assert_eq!(
            error("0 0 2 * ? *", None),
            ScheduleError::QuestionMark("month")
        );
    }

    #[test]
    fn a_schedule_that_can_never_run_is_refused() {
        for expression in ["0 0 0 31 4 *", "0 0 0 30 2 ?", "0 0 0 31 APR,JUN *"] {
            let e = error(expression, None);
            assert_eq!(e, ScheduleError::Never, "{expression}");
            assert_eq!(e.field(), "schedule");
        }
    }

    #[test]
    fn an_unknown_time_zone_is_refused_as_a_timezone_problem() {
        let e = error("0 0 2 * * *", Some("Mars/Base"));
        assert_eq!(e, ScheduleError::UnknownZone("Mars/Base".to_owned()));
        assert_eq!(e.field(), "timezone");
        assert!(e.to_string().starts_with("unknown time zone 'Mars/Base'"));
        assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
        assert!(parse_timezone("").is_err());
    }
}
