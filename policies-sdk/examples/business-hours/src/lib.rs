//! Shares a resource during business hours only: Monday to Friday, from `from` o'clock up to
//! (not including) `to` o'clock, in the owner's time zone.
//!
//! Resource attribute set by the owner (optional, every field optional):
//! `hours = {"from": 9, "to": 17, "utc-offset-minutes": 60}`. The defaults are 9, 17 and 0
//! (UTC). The offset is fixed: there is no daylight saving time.
//!
//! The time is `context.now`, read by umagate; policies get no clock of their own.

use serde::Deserialize;
use umagate_policies_sdk::{Decision, Policy, Request};

/// The policy.
pub struct BusinessHours;

/// The owner's `hours` attribute.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct Hours {
    /// First hour of the working day, 0 to 23.
    from: i64,
    /// First hour after the working day, 1 to 24.
    to: i64,
    /// The owner's fixed offset from UTC, e.g. 60 for UTC+01:00.
    utc_offset_minutes: i64,
}

impl Default for Hours {
    fn default() -> Self {
        Self {
            from: 9,
            to: 17,
            utc_offset_minutes: 0,
        }
    }
}

const SECONDS_PER_DAY: i64 = 24 * 60 * 60;
/// Real offsets range from UTC-12:00 to UTC+14:00; allow anything within a day.
const MAX_OFFSET_MINUTES: i64 = 24 * 60 - 1;

impl Policy for BusinessHours {
    fn decide(request: &Request) -> Decision {
        let hours: Hours = match request.resource().attribute("hours") {
            Ok(hours) => hours.unwrap_or_default(),
            Err(err) => return Decision::deny_all(request, err.to_string()),
        };
        if !(0 <= hours.from && hours.from < hours.to && hours.to <= 24)
            || hours.utc_offset_minutes.abs() > MAX_OFFSET_MINUTES
        {
            return Decision::deny_all(request, format!("invalid hours attribute: {hours:?}"));
        }
        let now = request.context().now();
        let Some(local) = now.checked_add(hours.utc_offset_minutes * 60) else {
            return Decision::deny_all(request, "time out of range");
        };
        let (weekday, hour) = weekday_and_hour(local);
        if weekday < 5 && hours.from <= hour && hour < hours.to {
            Decision::permit_all(request, "within business hours")
        } else {
            Decision::deny_all(request, "outside business hours")
        }
    }
}

umagate_policies_sdk::export_policy!(BusinessHours);

/// The day of the week (0 = Monday … 6 = Sunday) and the hour (0–23) of a time given in
/// seconds since the Unix epoch. 1970-01-01 was a Thursday; days are always 86 400 seconds
/// (Unix time has no leap seconds). Works before 1970 too.
fn weekday_and_hour(seconds: i64) -> (i64, i64) {
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    ((days + 3).rem_euclid(7), second_of_day / 3600)
}

#[cfg(test)]
mod tests;
