use super::*;
use umagate_policies_sdk::{Context, Outcome, Resource};

/// 2026-01-05 00:00:00 UTC, a Monday.
const MONDAY: i64 = 1_767_571_200;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn decide(resource: Resource, now: i64) -> Decision {
    let request = Request::new(resource)
        .with_scopes(["view", "edit"])
        .with_context(Context::new(now, "app"));
    BusinessHours::decide(&request)
}

fn permitted(resource: Resource, now: i64) -> bool {
    let decision = decide(resource, now);
    assert_eq!(decision.scopes().len(), 2);
    decision.scopes().iter().all(|s| s.outcome.is_permit())
}

fn plain() -> Resource {
    Resource::new("r", "alice")
}

fn with_hours(json: &str) -> Resource {
    plain().with_attribute_json("hours", json)
}

#[test]
fn computes_weekday_and_hour() {
    assert_eq!(weekday_and_hour(0), (3, 0)); // Thursday 1970-01-01
    assert_eq!(weekday_and_hour(MONDAY), (0, 0));
    assert_eq!(
        weekday_and_hour(MONDAY + 6 * DAY + 23 * HOUR + 3599),
        (6, 23)
    );
    assert_eq!(weekday_and_hour(MONDAY + 7 * DAY), (0, 0));
    assert_eq!(weekday_and_hour(-1), (2, 23)); // Wednesday 1969-12-31 23:59:59
    assert_eq!(weekday_and_hour(951_782_400), (1, 0)); // Tuesday 2000-02-29
}

#[test]
fn defaults_to_nine_to_five_utc() {
    assert!(!permitted(plain(), MONDAY + 9 * HOUR - 1));
    assert!(permitted(plain(), MONDAY + 9 * HOUR));
    assert!(permitted(plain(), MONDAY + 17 * HOUR - 1));
    assert!(!permitted(plain(), MONDAY + 17 * HOUR));
    assert!(permitted(plain(), MONDAY + 4 * DAY + 12 * HOUR)); // Friday noon
}

#[test]
fn weekends_are_closed() {
    let friday_end = MONDAY + 4 * DAY + 17 * HOUR;
    let saturday_noon = MONDAY + 5 * DAY + 12 * HOUR;
    let sunday_noon = MONDAY + 6 * DAY + 12 * HOUR;
    let all_day = with_hours(r#"{"from": 0, "to": 24}"#);
    assert!(!permitted(plain(), friday_end));
    assert!(!permitted(all_day.clone(), saturday_noon));
    assert!(!permitted(all_day.clone(), sunday_noon));
    assert!(!permitted(all_day.clone(), MONDAY - 1)); // Sunday 23:59:59
    assert!(permitted(all_day, MONDAY)); // Monday 00:00:00
}

#[test]
fn applies_the_owner_offset() {
    let cet = with_hours(r#"{"from": 9, "to": 17, "utc-offset-minutes": 60}"#);
    assert!(!permitted(cet.clone(), MONDAY + 7 * HOUR + 59 * 60)); // 08:59 local
    assert!(permitted(cet.clone(), MONDAY + 8 * HOUR)); // 09:00 local
    assert!(!permitted(cet.clone(), MONDAY + 16 * HOUR)); // 17:00 local

    // UTC-05:00: Friday 20:00 UTC is 15:00 local, Saturday 01:00 UTC still Friday 20:00.
    let est = with_hours(r#"{"utc-offset-minutes": -300}"#);
    assert!(permitted(est.clone(), MONDAY + 4 * DAY + 20 * HOUR));
    assert!(!permitted(est.clone(), MONDAY + 5 * DAY + HOUR));
    // Monday 13:00 UTC is 08:00 local; Monday 03:00 UTC is still Sunday local.
    assert!(!permitted(est.clone(), MONDAY + 13 * HOUR));
    assert!(permitted(est, MONDAY + 14 * HOUR));

    // UTC+14:00: Sunday 19:00 UTC is Monday 09:00 local.
    let kiribati = with_hours(r#"{"utc-offset-minutes": 840}"#);
    assert!(permitted(kiribati.clone(), MONDAY - 5 * HOUR));
    assert!(!permitted(kiribati, MONDAY + 4 * DAY + 3 * HOUR)); // Friday 17:00 local
}

#[test]
fn explains_the_decision() {
    let decision = decide(plain(), MONDAY + 10 * HOUR);
    assert_eq!(decision.explanation(), "within business hours");
    let decision = decide(plain(), MONDAY);
    assert_eq!(decision.explanation(), "outside business hours");
    assert_eq!(
        decision.outcome("edit"),
        Some(&Outcome::deny("outside business hours"))
    );
}

#[test]
fn denies_invalid_hours() {
    let noon = MONDAY + 12 * HOUR;
    for json in [
        r#"{"from": 17, "to": 9}"#,
        r#"{"from": 9, "to": 25}"#,
        r#"{"from": -1}"#,
        r#"{"utc-offset-minutes": 1440}"#,
        r#"{"from": "9"}"#,
        r#"{"from": 9.5}"#,
        r#"{"utc-offset": 60}"#,
    ] {
        assert!(!permitted(with_hours(json), noon), "{json}");
    }
}

#[test]
fn survives_extreme_times() {
    let overflow = decide(with_hours(r#"{"utc-offset-minutes": 60}"#), i64::MAX);
    assert_eq!(
        overflow.outcome("view"),
        Some(&Outcome::deny("time out of range"))
    );
    for now in [i64::MIN, i64::MAX] {
        assert_eq!(decide(plain(), now).scopes().len(), 2);
    }
}
