//! The date-time template functions on literal values: `dateTimeAdd`,
//! `dateTimeFromEpoch`, `dateTimeToEpoch`. `utcNow()` stays unknown, so these matter
//! only for dates written in the template or its parameters.
//!
//! Times are whole seconds in UTC. A base with another offset, fractional seconds or
//! an output format string (a .NET format) is not evaluated: unknown, with the reason.

use crate::date::Date;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The latest second Azure's date-times reach (9999-12-31T23:59:59Z).
const MAX_SECONDS: i64 = 253_402_300_799;

/// `YYYY-MM-DDTHH:MM:SSZ` (or a space for the `T`, or no zone, read as UTC) as seconds
/// since 1970-01-01T00:00:00Z.
pub fn parse_utc(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a UTC date-time trustlint reads (YYYY-MM-DDTHH:MM:SSZ)");
    let s_trim = s.trim();
    let body = s_trim.strip_suffix(['Z', 'z']).unwrap_or(s_trim);
    let (date, time) = match body.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let date = Date::parse(date).map_err(|_| bad())?;
    let seconds = match time {
        None => 0,
        Some(t) => {
            let parts: Vec<&str> = t.split(':').collect();
            let [h, m, sec] = parts.as_slice() else {
                return Err(bad());
            };
            let field = |x: &str, max: i64| {
                x.parse::<i64>()
                    .ok()
                    .filter(|v| x.len() == 2 && (0..=max).contains(v))
                    .ok_or_else(bad)
            };
            field(h, 23)? * 3600 + field(m, 59)? * 60 + field(sec, 59)?
        }
    };
    Ok(date.days_since_epoch() * DAY + seconds)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(seconds: i64) -> Result<String, String> {
    if !(0..=MAX_SECONDS).contains(&seconds) {
        return Err(format!(
            "{seconds} seconds since 1970 is outside the dates Azure accepts"
        ));
    }
    let date = Date::from_days_since_epoch(seconds.div_euclid(DAY));
    let rest = seconds.rem_euclid(DAY);
    Ok(format!(
        "{date}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    ))
}

/// An ISO 8601 duration (`P1Y2M3DT4H5M6S`, `-P1D`, `P2W`) in seconds; as ARM counts
/// them, a year is 365 days and a month 30 (no calendar arithmetic).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not an ISO 8601 duration");
    let (sign, rest) = match s.trim().strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, s.trim()),
    };
    let rest = rest.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && number.is_empty() => in_time = true,
            d if d.is_ascii_digit() => number.push(d),
            unit => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                let scale = match (unit, in_time) {
                    ('Y', false) => 365 * DAY,
                    ('M', false) => 30 * DAY,
                    ('W', false) => 7 * DAY,
                    ('D', false) => DAY,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(bad()),
                };
                total = n
                    .checked_mul(scale)
                    .and_then(|v| total.checked_add(v))
                    .ok_or_else(bad)?;
                any = true;
            }
        }
    }
    if !number.is_empty() || !any {
        return Err(bad());
    }
    Ok(sign * total)
}

/// `dateTimeAdd(base, duration)`.
pub fn add(base: &str, duration: &str) -> Result<String, String> {
    let sum = parse_utc(base)?
        .checked_add(parse_duration(duration)?)
        .ok_or_else(|| {
            format!("`{duration}` added to `{base}` is outside the dates Azure accepts")
        })?;
    format_utc(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_examples() {
        // ARM's date functions page.
        for (base, duration, sum) in [
            ("2023-01-01 00:00:00Z", "P1Y", "2024-01-01T00:00:00Z"),
            ("2024-01-01 00:00:00Z", "P1Y", "2024-12-31T00:00:00Z"),
            ("2023-02-01 00:00:00Z", "P1M", "2023-03-03T00:00:00Z"),
            ("2024-02-01 00:00:00Z", "P1M", "2024-03-02T00:00:00Z"),
            ("2020-04-07T14:53:14Z", "-PT3H", "2020-04-07T11:53:14Z"),
        ] {
            assert_eq!(add(base, duration).unwrap(), sum, "{base} + {duration}");
        }
        assert_eq!(parse_utc("2023-05-02T15:16:13Z").unwrap(), 1_683_040_573);
        assert_eq!(format_utc(1_683_040_573).unwrap(), "2023-05-02T15:16:13Z");
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("P1H").is_err(), "hours belong after T");
        assert!(parse_duration("P99999999999999999999Y").is_err());
        assert!(format_utc(-1).is_err());
        assert!(parse_utc("2023-02-30T00:00:00Z").is_err());
    }
}
