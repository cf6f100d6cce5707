//! iCalendar collector: `.ics` files into `calendar_block` records, one per
//! occurrence of each event in a window, so that a champion's protected time
//! can be counted week by week.
//!
//! Lines are unfolded (LF or CRLF, folded with a space or a tab) and parsed into
//! components by the `icalendar` crate; recurrences (RRULE with BYDAY, COUNT,
//! UNTIL, ...) are expanded by the `rrule` crate. EXDATE removes occurrences,
//! RDATE (dates, times or periods) adds them, and a VEVENT with the same UID
//! and a RECURRENCE-ID replaces the occurrence it names. Times are read in the
//! event's time zone: an IANA name (`Europe/Zurich`, `US/Eastern`, with the
//! tz database compiled into `chrono-tz`), or a VTIMEZONE of the file: one
//! fixed offset, or the onsets of its STANDARD/DAYLIGHT observances (their
//! rules expanded by `rrule`, UNTIL honoured); floating times use the
//! calendar's `X-WR-TIMEZONE`, else UTC. DURATION days and weeks are nominal
//! (added on the wall clock).
//!
//! The person is `--person` (the calendar's owner), else the event's
//! ORGANIZER, else its only ATTENDEE, else an e-mail `X-WR-CALNAME`.
//!
//! The window: occurrences that start at most 400 days before its end and not
//! after it; the end is `--occurred-at`, else the calendar's latest DTSTAMP
//! (when the file was exported or sent). Without either, occurrences are not
//! bounded by time. At most 5,000 occurrences per event are expanded. One bad
//! event gives one diagnostic at its `BEGIN:VEVENT` line; the others land.
//! Attribute keys are listed in `docs/sources.md`.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone as _, Timelike};
use icalendar::parser::{Component, Property};
use jiff::Timestamp;
use jiff::civil::DateTime as Civil;
use jiff::tz::{Offset, TimeZone};
use model::{Diagnostic, EvidenceKind, Subject};
use serde_json::{Map, Value, json};

use crate::trivy::{OrContext, bounded};
use crate::{Context, Limits, Parsed};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "ics";

/// Most occurrences expanded per event.
pub const MAX_OCCURRENCES_PER_EVENT: u16 = 5_000;

/// How far back from the window's end occurrences are kept, in days.
pub const WINDOW_DAYS: i64 = 400;

/// Most STANDARD/DAYLIGHT observances read from one VTIMEZONE.
const MAX_OBSERVANCES: usize = 200;

/// Most onsets expanded from one observance's rule.
const MAX_ONSETS_PER_OBSERVANCE: u16 = 2_000;

/// Observance rules without an end are expanded up to this year; later times
/// keep the last offset.
const ZONE_RULES_UNTIL_YEAR: i16 = 2200;

/// Parse an iCalendar file into `calendar_block` records.
///
/// Never panics; every problem becomes a diagnostic naming its line.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::whole_text(bytes, context, limits, &mut parsed.diagnostics) else {
        return parsed;
    };
    let (unfolded, lines) = unfold(text);
    if let Some((line, message)) = nesting_problem(&unfolded, &lines, limits.max_depth) {
        parsed.diagnostics.push(context.diagnostic(Some(line), None, message));
        return parsed;
    }
    // Each VCALENDAR of the file is parsed on its own (a concatenated export
    // holds several, and one that does not parse does not lose the others); a
    // component outside any VCALENDAR is read as if it were inside one. Each
    // event keeps the input line of its `BEGIN:VEVENT`.
    let mut calendar_properties: Vec<Property<'_>> = Vec::new();
    let mut components: Vec<(Option<u64>, Component<'_>)> = Vec::new();
    for (first_line, chunk) in calendars(&unfolded) {
        let chunk_lines = lines.get(first_line..).unwrap_or_default();
        let roots = match icalendar::parser::read_components(chunk) {
            Ok(roots) => roots,
            Err(message) => {
                let line = message
                    .split("line ")
                    .nth(1)
                    .and_then(|rest| rest.split(|character: char| !character.is_ascii_digit()).next())
                    .and_then(|digits| digits.parse::<usize>().ok())
                    .map(|unfolded_line| original_line(chunk_lines, unfolded_line));
                let first = message.lines().take(3).collect::<Vec<_>>().join(" ");
                parsed.diagnostics.push(context.diagnostic(
                    line.or_else(|| Some(original_line(chunk_lines, 1))),
                    None,
                    format!(
                        "not an iCalendar calendar: {}; nothing recorded from it",
                        bounded(&first)
                    ),
                ));
                continue;
            }
        };
        let mut event_lines = begin_lines(chunk, chunk_lines, "BEGIN:VEVENT").into_iter();
        for root in roots {
            let inner = if root.name.as_str().eq_ignore_ascii_case("VCALENDAR") {
                calendar_properties.extend(root.properties);
                root.components
            } else {
                vec![root]
            };
            for component in inner {
                let line = component
                    .name
                    .as_str()
                    .eq_ignore_ascii_case("VEVENT")
                    .then(|| event_lines.next())
                    .flatten();
                components.push((line, component));
            }
        }
    }
    let mut reader = Reader {
        context,
        zones: BTreeMap::new(),
        default_zone: Zone::Fixed(TimeZone::UTC),
        calendar_person: None,
        diagnostics: Vec::new(),
    };
    for property in &calendar_properties {
        match property.name.as_str().to_ascii_uppercase().as_str() {
            "X-WR-TIMEZONE" => {
                if let Some(zone) = iana(property.val.as_str()) {
                    reader.default_zone = zone;
                }
            }
            "X-WR-CALNAME" if property.val.as_str().contains('@') => {
                reader.calendar_person = Some(email(property.val.as_str()));
            }
            _ => {}
        }
    }
    for (_, component) in &components {
        if component.name.as_str().eq_ignore_ascii_case("VTIMEZONE") {
            reader.read_zone(component);
        }
    }
    // Events grouped by UID, with the line each starts on; those past
    // `max_entries` are refused with one diagnostic.
    let mut events: Vec<(u64, &Component<'_>)> = components
        .iter()
        .filter(|(_, component)| component.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .map(|(line, component)| (line.unwrap_or(1), component))
        .collect();
    if let Some((line, _)) = events.get(limits.max_entries) {
        reader
            .diagnostics
            .push(limits.entries_dropped(context, Some(*line), None, "events", events.len()));
        events.truncate(limits.max_entries);
    }
    let window = window(context, &events);
    if window.is_none() {
        reader.diagnostics.push(context.warning(
            None,
            format!(
                "no --occurred-at and no DTSTAMP: occurrences are not bounded by a window (at most {MAX_OCCURRENCES_PER_EVENT} per event)"
            ),
        ));
    }
    let mut by_uid: BTreeMap<String, EventGroup<'_, '_>> = BTreeMap::new();
    for (index, (line, event)) in events.iter().enumerate() {
        // An event without a UID is grouped on its own (never with an override).
        let uid = property(event, "UID").map_or_else(|| format!("\u{0}{index}"), |uid| bounded(uid.val.as_str()));
        let entry = by_uid.entry(uid).or_default();
        if property(event, "RECURRENCE-ID").is_some() {
            entry.1.push((*line, event));
        } else if entry.0.is_none() {
            entry.0 = Some((*line, event));
        } else {
            reader.diagnostics.push(context.diagnostic(
                Some(*line),
                None,
                "a second event with the same UID and no RECURRENCE-ID; skipped",
            ));
        }
    }
    let mut records = Vec::new();
    for (uid, (master, overrides)) in &by_uid {
        reader.expand(uid, *master, overrides, window, &mut records);
    }
    if records.is_empty()
        && !events.is_empty()
        && let Some((from, to)) = window
    {
        reader.diagnostics.push(context.warning(
            None,
            format!(
                "{} event(s), no occurrence in the window {} .. {} (the window ends at --occurred-at, else at the latest DTSTAMP)",
                events.len(),
                model::time::format_time(from),
                model::time::format_time(to)
            ),
        ));
    }
    records.sort_by(|left: &model::NewEvidence, right| {
        (left.occurred_at, left.source.line).cmp(&(right.occurred_at, right.source.line))
    });
    parsed.evidence = records;
    parsed.diagnostics.extend(reader.diagnostics);
    parsed.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    parsed
}

/// The events of one UID, each with its line: the master (without
/// RECURRENCE-ID) and the overrides.
type EventGroup<'e, 'a> = (Option<(u64, &'e Component<'a>)>, Vec<(u64, &'e Component<'a>)>);

/// The window's end for `--occurred-at YYYY-MM-DD` (given as that day's
/// midnight UTC): the whole day is in the window, so the end is the last
/// instant before the next day's midnight (the window's end is inclusive).
pub fn window_end_of_date(midnight: Timestamp) -> Timestamp {
    midnight
        .checked_add(jiff::SignedDuration::from_hours(24))
        .and_then(|next_day| next_day.checked_sub(jiff::SignedDuration::from_nanos(1)))
        .unwrap_or(midnight)
}

/// Whether the head of a file is iCalendar (used by format detection).
pub fn detect(head: &str) -> bool {
    head.trim_start_matches('\u{feff}')
        .trim_start()
        .get(..15)
        .is_some_and(|start| start.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

/// The text with folded lines joined and CRLF line ends, and for each
/// unfolded line the 1-based line of the input it starts on.
///
/// CRLF, whatever the input used: the `icalendar` parser reads a property's
/// value with `take_until("\r\n")` before it tries `"\n"`, so with LF line
/// ends every property scanned to the end of the calendar, and one calendar of
/// N events took time in N squared (16,000 events: 98 s).
fn unfold(text: &str) -> (String, Vec<u64>) {
    let mut out = String::with_capacity(text.len());
    let mut lines = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix([' ', '\t'])
            && !lines.is_empty()
        {
            out.push_str(rest);
            continue;
        }
        if !lines.is_empty() {
            out.push_str("\r\n");
        }
        out.push_str(line);
        lines.push(index as u64 + 1);
    }
    out.push_str("\r\n");
    (out, lines)
}

/// The input line of 1-based unfolded line `unfolded_line`.
fn original_line(lines: &[u64], unfolded_line: usize) -> u64 {
    lines
        .get(unfolded_line.saturating_sub(1))
        .copied()
        .unwrap_or_else(|| lines.last().copied().unwrap_or(1))
}

/// The VCALENDARs of an unfolded text, each with the index of its first
/// unfolded line: cut after each `END:VCALENDAR` line.
fn calendars(unfolded: &str) -> Vec<(usize, &str)> {
    let mut chunks = Vec::new();
    let (mut start, mut start_line, mut offset) = (0usize, 0usize, 0usize);
    for (index, line) in unfolded.split_inclusive('\n').enumerate() {
        offset += line.len();
        if line.trim_end().eq_ignore_ascii_case("END:VCALENDAR") {
            chunks.push((start_line, &unfolded[start..offset]));
            start = offset;
            start_line = index + 1;
        }
    }
    if !unfolded[start..].trim().is_empty() || chunks.is_empty() {
        chunks.push((start_line, &unfolded[start..]));
    }
    chunks
}

/// The input lines of every unfolded line starting with `marker`.
fn begin_lines(unfolded: &str, lines: &[u64], marker: &str) -> Vec<u64> {
    unfolded
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim_end().eq_ignore_ascii_case(marker))
        .map(|(index, _)| original_line(lines, index + 1))
        .collect()
}

/// Components nested deeper than `max_depth` (the parser recurses), or a
/// `BEGIN` without its `END`.
fn nesting_problem(unfolded: &str, lines: &[u64], max_depth: usize) -> Option<(u64, String)> {
    let mut depth = 0usize;
    for (index, line) in unfolded.lines().enumerate() {
        let upper = line.trim_end().to_ascii_uppercase();
        if upper.starts_with("BEGIN:") {
            depth += 1;
            if depth > max_depth {
                return Some((
                    original_line(lines, index + 1),
                    format!("components nested deeper than {max_depth} levels; nothing recorded"),
                ));
            }
        } else if upper.starts_with("END:") {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------

/// A time zone events are read in.
#[derive(Clone)]
enum Zone {
    /// An IANA zone from the tz database compiled into `chrono-tz`.
    Iana(rrule::Tz),
    /// A fixed offset (UTC, or a VTIMEZONE with one observance).
    Fixed(TimeZone),
    /// A VTIMEZONE with several observances: its onsets, expanded.
    Transitions(std::sync::Arc<Transitions>),
}

/// The offset changes of a VTIMEZONE: each onset (the instant an observance
/// starts) with the offset it brings, in order, and the offset before the
/// first.
struct Transitions {
    before: Offset,
    changes: Vec<(Timestamp, Offset)>,
}

impl Transitions {
    /// The offset in force at `instant`.
    fn offset_at(&self, instant: Timestamp) -> Offset {
        let index = self.changes.partition_point(|(onset, _)| *onset <= instant);
        index
            .checked_sub(1)
            .and_then(|last| self.changes.get(last))
            .map_or(self.before, |(_, offset)| *offset)
    }

    /// The instant of a wall-clock time: the earlier one when it is
    /// ambiguous, the offset before the change in a gap (as
    /// [`jiff`]'s `compatible`). Onsets are assumed more than a day apart.
    fn instant(&self, wall: Civil) -> Option<Timestamp> {
        let near = Offset::UTC.to_timestamp(wall).ok()?;
        let day = jiff::SignedDuration::from_hours(24);
        let before = self.offset_at(near.checked_sub(day).unwrap_or(near));
        let after = self.offset_at(near.checked_add(day).unwrap_or(near));
        [before, after]
            .into_iter()
            .filter_map(|offset| {
                offset
                    .to_timestamp(wall)
                    .ok()
                    .filter(|instant| self.offset_at(*instant) == offset)
            })
            .min()
            .or_else(|| before.to_timestamp(wall).ok())
    }
}

impl Zone {
    /// The instant of a wall-clock time (the earlier one when it is ambiguous,
    /// the later side of a gap).
    fn instant(&self, wall: Civil) -> Option<Timestamp> {
        match self {
            Zone::Fixed(zone) => zone.to_ambiguous_timestamp(wall).compatible().ok(),
            Zone::Transitions(transitions) => transitions.instant(wall),
            Zone::Iana(zone) => {
                let naive = to_naive(wall)?;
                let local = zone.from_local_datetime(&naive).earliest().or_else(|| {
                    zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                        .earliest()
                })?;
                Timestamp::new(local.timestamp(), i32::try_from(local.timestamp_subsec_nanos()).ok()?).ok()
            }
        }
    }

    /// The wall-clock time of an instant.
    fn wall(&self, instant: Timestamp) -> Option<Civil> {
        match self {
            Zone::Fixed(zone) => Some(zone.to_datetime(instant)),
            Zone::Transitions(transitions) => Some(transitions.offset_at(instant).to_datetime(instant)),
            Zone::Iana(zone) => {
                let local = zone.timestamp_opt(instant.as_second(), 0).single()?;
                from_naive(local.naive_local())
            }
        }
    }
}

fn iana(name: &str) -> Option<Zone> {
    let name = name.trim().trim_matches('"');
    name.parse::<chrono_tz::Tz>().ok().map(|zone| Zone::Iana(zone.into()))
}

fn to_naive(wall: Civil) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(
        i32::from(wall.year()),
        u32::try_from(wall.month()).ok()?,
        u32::try_from(wall.day()).ok()?,
    )?
    .and_hms_opt(
        u32::try_from(wall.hour()).ok()?,
        u32::try_from(wall.minute()).ok()?,
        u32::try_from(wall.second()).ok()?,
    )
}

fn from_naive(naive: NaiveDateTime) -> Option<Civil> {
    Civil::new(
        i16::try_from(naive.year()).ok()?,
        i8::try_from(naive.month()).ok()?,
        i8::try_from(naive.day()).ok()?,
        i8::try_from(naive.hour()).ok()?,
        i8::try_from(naive.minute()).ok()?,
        i8::try_from(naive.second()).ok()?,
        0,
    )
    .ok()
}

/// An offset `+HHMM`, `-HHMM` or `+HHMMSS` in seconds.
fn offset_seconds(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| digits.get(range).and_then(|part| part.parse::<i32>().ok());
    let seconds = number(0..2)? * 3600 + number(2..4)? * 60 + if digits.len() == 6 { number(4..6)? } else { 0 };
    Some(sign * seconds)
}

/// The onsets of a VTIMEZONE's observances: each observance's DTSTART, its
/// RRULE expanded (its UNTIL or COUNT honoured) and its RDATEs, each a wall
/// time in the offset the observance starts from (TZOFFSETFROM).
fn transitions(observances: &[&Component<'_>]) -> Result<Transitions, String> {
    let mut changes: Vec<(Timestamp, Offset, Offset)> = Vec::new();
    for observance in observances {
        let offset = |name: &str| -> Result<Option<Offset>, String> {
            property(observance, name)
                .map(|value| {
                    offset_seconds(value.val.as_str())
                        .and_then(|seconds| Offset::from_seconds(seconds).ok())
                        .ok_or_else(|| format!("{name} `{}` cannot be read", bounded(value.val.as_str())))
                })
                .transpose()
        };
        let to = offset("TZOFFSETTO")?.ok_or("an observance has no TZOFFSETTO")?;
        let from = offset("TZOFFSETFROM")?.unwrap_or(to);
        let start = property(observance, "DTSTART")
            .and_then(|start| written(start.val.as_str()))
            .ok_or("an observance has no readable DTSTART")?;
        let mut walls = vec![start.wall];
        for rule_property in properties(observance, "RRULE") {
            let dt_start = to_rrule(start.wall).ok_or("an observance's DTSTART is out of range")?;
            let (rule, _) = wall_rule(rule_property.val.as_str(), dt_start, &|instant| {
                Some(from.to_datetime(instant))
            })?;
            let horizon = Civil::new(ZONE_RULES_UNTIL_YEAR, 1, 1, 0, 0, 0, 0)
                .ok()
                .and_then(to_rrule)
                .ok_or("the horizon of observance rules is out of range")?;
            let result = rrule::RRuleSet::new(dt_start)
                .rrule(rule)
                .before(horizon)
                .all(MAX_ONSETS_PER_OBSERVANCE);
            if result.limited && result.dates.len() >= usize::from(MAX_ONSETS_PER_OBSERVANCE) {
                return Err(format!(
                    "an observance rule starts more than {MAX_ONSETS_PER_OBSERVANCE} times before {ZONE_RULES_UNTIL_YEAR}"
                ));
            }
            walls.extend(result.dates.iter().filter_map(|date| from_naive(date.naive_utc())));
        }
        for rdate in properties(observance, "RDATE") {
            for value in rdate.val.as_str().split(',') {
                let time =
                    written(value).ok_or_else(|| format!("observance RDATE `{}` cannot be read", bounded(value)))?;
                walls.push(if time.utc {
                    from.to_datetime(Offset::UTC.to_timestamp(time.wall).map_err(|error| error.to_string())?)
                } else {
                    time.wall
                });
            }
        }
        for wall in walls {
            let onset = from.to_timestamp(wall).map_err(|error| error.to_string())?;
            changes.push((onset, from, to));
        }
    }
    changes.sort_by_key(|(onset, _, _)| *onset);
    let before = changes.first().map_or(Offset::UTC, |(_, from, _)| *from);
    Ok(Transitions {
        before,
        changes: changes.into_iter().map(|(onset, _, to)| (onset, to)).collect(),
    })
}

/// The stand-in for a wall-clock time in the `rrule` crate: the same digits
/// in UTC (expansion runs on wall-clock times, so that an occurrence keeps its
/// local time across daylight saving changes).
fn to_rrule(wall: Civil) -> Option<chrono::DateTime<rrule::Tz>> {
    Some(rrule::Tz::UTC.from_utc_datetime(&to_naive(wall)?))
}

/// A recurrence rule validated for expansion on wall-clock times from
/// `dt_start` (see [`to_rrule`]), and whether its UNTIL was floating. UNTIL is
/// rewritten as a wall time: a UTC one through `until_wall`, a floating one
/// as it is (read in DTSTART's zone), a date as the end of that day.
fn wall_rule(
    text: &str,
    dt_start: chrono::DateTime<rrule::Tz>,
    until_wall: &dyn Fn(Timestamp) -> Option<Civil>,
) -> Result<(rrule::RRule, bool), String> {
    let text = text.replace([' ', '\t'], "");
    // RFC 5545 recurrence rules are ASCII; the rrule crate slices its input
    // by bytes and panics on anything else (found by fuzzing).
    if !text.is_ascii() {
        return Err(format!("RRULE `{}` has characters that are not ASCII", bounded(&text)));
    }
    let mut floating = false;
    let parts: Vec<String> = text
        .split(';')
        .map(|part| match part.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("INTERVAL") && value.parse::<u64>().ok() == Some(0) => Err(
                format!("RRULE `{}`: INTERVAL must be a positive number", bounded(&text)),
            ),
            Some((key, value)) if key.eq_ignore_ascii_case("UNTIL") => {
                let time = written(value).ok_or_else(|| format!("UNTIL `{}` cannot be read", bounded(value)))?;
                let wall = if time.utc {
                    let instant = Offset::UTC.to_timestamp(time.wall).map_err(|error| error.to_string())?;
                    until_wall(instant).ok_or("UNTIL cannot be placed in the event's time zone")?
                } else if time.all_day {
                    time.wall
                        .with()
                        .hour(23)
                        .minute(59)
                        .second(59)
                        .build()
                        .map_err(|error| error.to_string())?
                } else {
                    floating = true;
                    time.wall
                };
                Ok(format!("UNTIL={}", wall.strftime("%Y%m%dT%H%M%SZ")))
            }
            _ => Ok(part.to_string()),
        })
        .collect::<Result<_, String>>()?;
    let text = parts.join(";");
    let rule: rrule::RRule<rrule::Unvalidated> = text
        .parse()
        .map_err(|error: rrule::RRuleError| format!("RRULE `{}` cannot be read: {error}", bounded(&text)))?;
    let rule = rule
        .validate(dt_start)
        .map_err(|error| format!("RRULE `{}` is not valid: {error}", bounded(&text)))?;
    Ok((rule, floating))
}

// ---------------------------------------------------------------------------
// Reading events
// ---------------------------------------------------------------------------

struct Reader<'c> {
    context: &'c Context,
    zones: BTreeMap<String, Result<Zone, String>>,
    default_zone: Zone,
    calendar_person: Option<String>,
    diagnostics: Vec<Diagnostic>,
}

/// The occurrences of a master event (start, end), whether the expansion was
/// cut, and notes on how it was read.
struct Expansion {
    occurrences: Vec<(Timestamp, Timestamp)>,
    cut: bool,
    notes: Vec<String>,
}

/// How long an occurrence lasts: whole days and weeks, which are nominal
/// (added on the wall clock of the event's zone, RFC 5545 3.3.6), then an
/// exact part.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Length {
    days: i32,
    exact: jiff::SignedDuration,
}

impl Length {
    /// The end of an occurrence starting at `start`, in `zone`.
    fn end(self, zone: &Zone, start: Timestamp) -> Option<Timestamp> {
        let after_days = if self.days == 0 {
            start
        } else {
            let wall = zone
                .wall(start)?
                .checked_add(jiff::Span::new().try_days(self.days).ok()?)
                .ok()?;
            zone.instant(wall)?
        };
        after_days.checked_add(self.exact).ok()
    }
}

/// A time as written: a wall time in a zone, or a date.
#[derive(Clone, Copy)]
struct Written {
    wall: Civil,
    /// The input said UTC (`Z`).
    utc: bool,
    all_day: bool,
}

impl Reader<'_> {
    /// Read one VTIMEZONE into `zones` (an error is kept and reported by the
    /// events that use the zone).
    fn read_zone(&mut self, component: &Component<'_>) {
        let Some(id) = property(component, "TZID").map(|id| id.val.as_str().trim().trim_matches('"').to_string())
        else {
            return;
        };
        if let Some(zone) = iana(&id) {
            self.zones.insert(id, Ok(zone));
            return;
        }
        if let Some(zone) = property(component, "X-LIC-LOCATION").and_then(|location| iana(location.val.as_str())) {
            self.zones.insert(id, Ok(zone));
            return;
        }
        let observances: Vec<&Component<'_>> = component
            .components
            .iter()
            .filter(|observance| {
                ["STANDARD", "DAYLIGHT"]
                    .iter()
                    .any(|name| observance.name.as_str().eq_ignore_ascii_case(name))
            })
            .collect();
        let zone = match observances.as_slice() {
            [only] => property(only, "TZOFFSETTO")
                .and_then(|offset| offset_seconds(offset.val.as_str()))
                .ok_or_else(|| "its observance has no readable TZOFFSETTO".to_string())
                .and_then(|offset| Offset::from_seconds(offset).map_err(|error| error.to_string()))
                .map(|offset| Zone::Fixed(TimeZone::fixed(offset))),
            [] => Err("it has no STANDARD or DAYLIGHT observance".to_string()),
            _ if observances.len() > MAX_OBSERVANCES => Err(format!("more than {MAX_OBSERVANCES} observances")),
            many => transitions(many).map(|transitions| Zone::Transitions(std::sync::Arc::new(transitions))),
        };
        self.zones.insert(id, zone);
    }

    /// The zone of a property's value: its TZID, else floating (the default zone).
    fn zone_of(&self, property: &Property<'_>) -> Result<Zone, String> {
        let Some(id) = parameter(property, "TZID") else {
            return Ok(self.default_zone.clone());
        };
        let id = id.trim().trim_matches('"');
        match self.zones.get(id) {
            Some(Ok(zone)) => Ok(zone.clone()),
            Some(Err(reason)) => Err(format!("time zone `{}` cannot be read: {reason}", bounded(id))),
            None => iana(id).ok_or_else(|| {
                format!(
                    "time zone `{}` is neither an IANA name nor defined by a VTIMEZONE of the file",
                    bounded(id)
                )
            }),
        }
    }

    /// The instants of a property's values (comma-separated), with their
    /// durations when they are periods.
    fn instants(&self, property: &Property<'_>) -> Result<Vec<(Timestamp, Option<Length>, bool)>, String> {
        let zone = self.zone_of(property)?;
        let mut out = Vec::new();
        for value in property
            .val
            .as_str()
            .split(',')
            .map(str::trim)
            .filter(|value| !value.is_empty())
        {
            let (start, period_end) = match value.split_once('/') {
                Some((start, end)) => (start, Some(end)),
                None => (value, None),
            };
            let time = written(start).ok_or_else(|| {
                format!(
                    "{} value `{}` is not an iCalendar date or date-time",
                    property.name.as_str(),
                    bounded(start)
                )
            })?;
            let instant = self.instant(&zone, time)?;
            let duration = match period_end {
                None => None,
                Some(end) if end.starts_with(['P', '+', '-']) => {
                    Some(duration(end).ok_or_else(|| format!("period duration `{}` cannot be read", bounded(end)))?)
                }
                Some(end) => {
                    let end_time =
                        written(end).ok_or_else(|| format!("period end `{}` cannot be read", bounded(end)))?;
                    Some(Length {
                        days: 0,
                        exact: self.instant(&zone, end_time)?.duration_since(instant),
                    })
                }
            };
            out.push((instant, duration, time.all_day));
        }
        Ok(out)
    }

    fn instant(&self, zone: &Zone, time: Written) -> Result<Timestamp, String> {
        let instant = if time.utc {
            TimeZone::UTC.to_ambiguous_timestamp(time.wall).compatible().ok()
        } else {
            zone.instant(time.wall)
        };
        instant
            .and_then(|instant| model::time::check_range(instant).ok())
            .ok_or_else(|| format!("time {} is out of range (1970..9999)", time.wall))
    }

    /// Every occurrence of one event (and its overrides) in the window.
    fn expand(
        &mut self,
        uid: &str,
        master: Option<(u64, &Component<'_>)>,
        overrides: &[(u64, &Component<'_>)],
        window: Option<(Timestamp, Timestamp)>,
        records: &mut Vec<model::NewEvidence>,
    ) {
        let in_window = |start: Timestamp| window.is_none_or(|(from, to)| start >= from && start <= to);
        let mut replaced: Vec<Timestamp> = Vec::new();
        for (line, event) in overrides {
            match self.occurrence_of_override(event) {
                Ok((recurrence_id, start, end)) => {
                    replaced.push(recurrence_id);
                    if in_window(start) {
                        records.push(self.record(uid, event, *line, start, end, Some(recurrence_id)));
                    }
                }
                Err(message) => self.diagnostics.push(self.context.diagnostic(
                    Some(*line),
                    None,
                    format!("{message}; override skipped"),
                )),
            }
        }
        let Some((line, event)) = master else {
            return;
        };
        match self.occurrences(event, window) {
            Ok(Expansion {
                occurrences,
                cut,
                notes,
            }) => {
                for note in notes {
                    self.diagnostics.push(self.context.warning(Some(line), note));
                }
                if cut {
                    self.diagnostics.push(self.context.warning(
                        Some(line),
                        format!("more than {MAX_OCCURRENCES_PER_EVENT} occurrences; the first {MAX_OCCURRENCES_PER_EVENT} kept"),
                    ));
                }
                for (start, end) in occurrences {
                    if replaced.contains(&start) || !in_window(start) {
                        continue;
                    }
                    records.push(self.record(uid, event, line, start, end, None));
                }
            }
            Err(message) => self.diagnostics.push(self.context.diagnostic(
                Some(line),
                None,
                format!("{message}; event skipped"),
            )),
        }
    }

    /// The (start, end) of each occurrence of a master event, whether the
    /// expansion was cut at [`MAX_OCCURRENCES_PER_EVENT`], and notes (warnings)
    /// about how the event was read.
    fn occurrences(&self, event: &Component<'_>, window: Option<(Timestamp, Timestamp)>) -> Result<Expansion, String> {
        let start_property = property(event, "DTSTART").ok_or("event without DTSTART")?;
        let zone = self.zone_of(start_property)?;
        let start_written = written(start_property.val.as_str()).ok_or_else(|| {
            format!(
                "DTSTART `{}` is not an iCalendar date or date-time",
                bounded(start_property.val.as_str())
            )
        })?;
        let start = self.instant(&zone, start_written)?;
        // Expansion runs on wall-clock times (UTC stands in for the zone), so
        // that an occurrence keeps its local time across daylight saving changes.
        let wall_zone = if start_written.utc {
            Zone::Fixed(TimeZone::UTC)
        } else {
            zone.clone()
        };
        let length = self.length(event, start_written.all_day)?;
        let start_wall = wall_zone
            .wall(start)
            .ok_or("DTSTART cannot be placed in its time zone")?;
        let dt_start = to_rrule(start_wall).ok_or("DTSTART out of range")?;
        let mut set = rrule::RRuleSet::new(dt_start);
        let mut has_rule = false;
        let mut notes = Vec::new();
        for rule_property in properties(event, "RRULE") {
            let text = rule_property.val.as_str().replace([' ', '\t'], "");
            let upper = text.to_ascii_uppercase();
            if upper.contains("FREQ=SECONDLY") || upper.contains("FREQ=MINUTELY") {
                return Err(format!(
                    "RRULE `{}` repeats every second or minute: not a calendar block",
                    bounded(&text)
                ));
            }
            // A date-only UNTIL with a date-time DTSTART breaks RFC 5545 (UNTIL
            // must then be a date-time, in UTC when DTSTART has a zone). Said
            // here: the rrule crate, which sees the wall-clock stand-in, would
            // wrongly report that DTSTART was given in UTC.
            if !start_written.all_day
                && let Some(until) = text.split(';').find_map(|part| {
                    part.split_once('=')
                        .filter(|(key, _)| key.eq_ignore_ascii_case("UNTIL"))
                        .map(|(_, value)| value)
                })
                && !until.contains(['T', 't'])
            {
                return Err(format!(
                    "RRULE `{}`: UNTIL `{}` is a date but DTSTART `{}` is a date-time; RFC 5545 requires UNTIL to \
                     be a date-time then (in UTC when DTSTART has a time zone, e.g. UNTIL={}T235959Z)",
                    bounded(&text),
                    bounded(until),
                    bounded(start_property.val.as_str()),
                    bounded(until)
                ));
            }
            let (rule, floating) = wall_rule(&text, dt_start, &|instant| wall_zone.wall(instant))?;
            // RFC 5545 wants UNTIL in UTC when DTSTART has a zone; many
            // producers write the zone's wall time instead, and most readers
            // take it so.
            if floating && (start_written.utc || parameter(start_property, "TZID").is_some()) {
                notes.push(format!(
                    "RRULE `{}`: UNTIL has no `Z` but DTSTART `{}` has a time zone; UNTIL read as a wall time in \
                     DTSTART's zone (RFC 5545 asks for UTC)",
                    bounded(&text),
                    bounded(start_property.val.as_str())
                ));
            }
            set = set.rrule(rule);
            has_rule = true;
        }
        let mut lengths: BTreeMap<Timestamp, Length> = BTreeMap::new();
        let mut extra: Vec<Timestamp> = vec![start];
        for rdate in properties(event, "RDATE") {
            for (instant, period, _) in self.instants(rdate)? {
                if let Some(period) = period {
                    lengths.insert(instant, period);
                }
                extra.push(instant);
            }
        }
        let mut excluded: Vec<Timestamp> = Vec::new();
        for exdate in properties(event, "EXDATE") {
            excluded.extend(self.instants(exdate)?.into_iter().map(|(instant, _, _)| instant));
        }
        let mut starts: Vec<Timestamp> = extra;
        let mut cut = false;
        if has_rule {
            // Bounds two days wider than the window (wall time and instants
            // differ by less than a day); only occurrences inside count
            // towards the limit.
            if let Some((from, to)) = window {
                let margin = jiff::SignedDuration::from_hours(48);
                if let Some(bound) = wall_zone.wall(to.checked_add(margin).unwrap_or(to)).and_then(to_rrule) {
                    set = set.before(bound);
                }
                if let Some(bound) = wall_zone
                    .wall(from.checked_sub(margin).unwrap_or(from))
                    .and_then(to_rrule)
                {
                    set = set.after(bound);
                }
            }
            let result = set.all(MAX_OCCURRENCES_PER_EVENT);
            cut = result.limited && result.dates.len() >= usize::from(MAX_OCCURRENCES_PER_EVENT);
            for date in result.dates {
                let wall = from_naive(date.naive_utc()).ok_or("an occurrence is out of range")?;
                if let Some(instant) = wall_zone.instant(wall) {
                    starts.push(instant);
                }
            }
        }
        starts.sort();
        starts.dedup();
        starts.retain(|start| !excluded.contains(start));
        let occurrences = starts
            .into_iter()
            .map(|start| {
                let length = lengths.get(&start).copied().unwrap_or(length);
                let end = length
                    .end(&wall_zone, start)
                    .ok_or("an occurrence's end is out of range")?;
                Ok((start, end))
            })
            .collect::<Result<_, String>>()?;
        Ok(Expansion {
            occurrences,
            cut,
            notes,
        })
    }

    /// The length of an event: DTEND - DTSTART (exact), else DURATION
    /// (nominal days), else a day for an all-day event and nothing for a
    /// timed one. An end before the start is refused.
    fn length(&self, event: &Component<'_>, all_day: bool) -> Result<Length, String> {
        let start_property = property(event, "DTSTART").ok_or("event without DTSTART")?;
        if let Some(end) = property(event, "DTEND") {
            let (start, _, _) = self
                .instants(start_property)?
                .into_iter()
                .next()
                .ok_or("empty DTSTART")?;
            let zone = self.zone_of(end)?;
            let end_time = written(end.val.as_str())
                .ok_or_else(|| format!("DTEND `{}` cannot be read", bounded(end.val.as_str())))?;
            let exact = self.instant(&zone, end_time)?.duration_since(start);
            if exact.is_negative() {
                return Err(format!(
                    "DTEND `{}` is before DTSTART `{}`",
                    bounded(end.val.as_str()),
                    bounded(start_property.val.as_str())
                ));
            }
            return Ok(Length { days: 0, exact });
        }
        if let Some(length) = property(event, "DURATION") {
            let text = length.val.as_str();
            let length = duration(text).ok_or_else(|| format!("DURATION `{}` cannot be read", bounded(text)))?;
            if length.days < 0 || length.exact.is_negative() {
                return Err(format!("DURATION `{}` is negative", bounded(text)));
            }
            return Ok(length);
        }
        Ok(Length {
            days: i32::from(all_day),
            exact: jiff::SignedDuration::ZERO,
        })
    }

    /// An override's RECURRENCE-ID, start and end.
    fn occurrence_of_override(&self, event: &Component<'_>) -> Result<(Timestamp, Timestamp, Timestamp), String> {
        let recurrence = property(event, "RECURRENCE-ID").ok_or("no RECURRENCE-ID")?;
        let (recurrence_id, _, _) = self
            .instants(recurrence)?
            .into_iter()
            .next()
            .ok_or("empty RECURRENCE-ID")?;
        let start_property = property(event, "DTSTART").ok_or("override without DTSTART")?;
        let (start, _, all_day) = self
            .instants(start_property)?
            .into_iter()
            .next()
            .ok_or("empty DTSTART")?;
        let zone = if start_property.val.as_str().trim().ends_with(['Z', 'z']) {
            Zone::Fixed(TimeZone::UTC)
        } else {
            self.zone_of(start_property)?
        };
        let end = self
            .length(event, all_day)?
            .end(&zone, start)
            .ok_or("the override's end is out of range")?;
        Ok((recurrence_id, start, end))
    }

    fn record(
        &self,
        uid: &str,
        event: &Component<'_>,
        line: u64,
        start: Timestamp,
        end: Timestamp,
        recurrence_id: Option<Timestamp>,
    ) -> model::NewEvidence {
        let text = |name: &str| {
            property(event, name)
                .map(|found| bounded(found.val.clone().unescape_text().as_str().trim()))
                .filter(|found| !found.is_empty())
        };
        let organizer = property(event, "ORGANIZER").map(|organizer| email(organizer.val.as_str()));
        let attendees: Vec<&Property<'_>> = properties(event, "ATTENDEE").collect();
        let person = self
            .context
            .person
            .clone()
            .or_else(|| organizer.clone())
            .or_else(|| match attendees.as_slice() {
                [only] => Some(email(only.val.as_str())),
                _ => None,
            })
            .or_else(|| self.calendar_person.clone());
        let participation = person.as_ref().and_then(|person| {
            attendees
                .iter()
                .find(|attendee| email(attendee.val.as_str()) == *person)
                .and_then(|attendee| parameter(attendee, "PARTSTAT"))
                .map(|status| status.to_ascii_lowercase())
        });
        let mut attrs = Map::new();
        let mut put = |key: &str, value: Option<Value>| crate::events::put(&mut attrs, key, value);
        put("person", person.clone().map(Value::from));
        put("start", Some(json!(model::time::format_time(start))));
        put("end", Some(json!(model::time::format_time(end))));
        put("summary", text("SUMMARY").map(Value::from));
        put(
            "status",
            text("STATUS").map(|status| json!(status.to_ascii_lowercase())),
        );
        put("participation", participation.map(Value::from));
        put("uid", (!uid.starts_with('\u{0}')).then(|| json!(uid)));
        put(
            "recurrence_id",
            recurrence_id.map(|id| json!(model::time::format_time(id))),
        );
        put("organizer", organizer.map(Value::from));
        put(
            "time_zone",
            property(event, "DTSTART")
                .and_then(|start| parameter(start, "TZID"))
                .map(|zone| json!(bounded(zone.trim().trim_matches('"')))),
        );
        put(
            "recurring",
            Some(json!(
                property(event, "RRULE").is_some() || property(event, "RDATE").is_some() || recurrence_id.is_some()
            )),
        );
        let subject = Subject {
            person,
            ..Subject::default()
        }
        .or_context(self.context);
        let mut record = self.context.record(
            COLLECTOR,
            EvidenceKind::CalendarBlock,
            Some(start),
            subject,
            None,
            Value::Object(attrs),
        );
        record.source.line = Some(line);
        record
    }
}

/// The window's (start, end): end from `--occurred-at`, else the latest DTSTAMP.
fn window(context: &Context, events: &[(u64, &Component<'_>)]) -> Option<(Timestamp, Timestamp)> {
    let end = context.occurred_at.or_else(|| {
        events
            .iter()
            .filter_map(|(_, event)| property(event, "DTSTAMP"))
            .filter_map(|stamp| written(stamp.val.as_str()).filter(|time| time.utc))
            .filter_map(|time| TimeZone::UTC.to_ambiguous_timestamp(time.wall).compatible().ok())
            .max()
    })?;
    let start = end
        .checked_sub(jiff::SignedDuration::from_hours(24 * WINDOW_DAYS))
        .unwrap_or(end);
    Some((start, end))
}

/// `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ`.
fn written(text: &str) -> Option<Written> {
    let text = text.trim();
    let number = |range: std::ops::Range<usize>| -> Option<i16> {
        let part = text.get(range)?;
        part.bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let month = i8::try_from(month).ok()?;
    let day = i8::try_from(day).ok()?;
    match text.len() {
        8 => Some(Written {
            wall: Civil::new(year, month, day, 0, 0, 0, 0).ok()?,
            utc: false,
            all_day: true,
        }),
        15 | 16 if text.as_bytes().get(8) == Some(&b'T') => {
            let utc = text.len() == 16;
            if utc && !text.ends_with(['Z', 'z']) {
                return None;
            }
            let hour = i8::try_from(number(9..11)?).ok()?;
            let minute = i8::try_from(number(11..13)?).ok()?;
            let second = i8::try_from(number(13..15)?).ok()?.min(59);
            Some(Written {
                wall: Civil::new(year, month, day, hour, minute, second, 0).ok()?,
                utc,
                all_day: false,
            })
        }
        _ => None,
    }
}

/// An iCalendar duration (`PT1H`, `P1D`, `-PT15M`, `P2W`): weeks and days
/// nominal, hours, minutes and seconds exact.
fn duration(text: &str) -> Option<Length> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let rest = rest.strip_prefix('P')?;
    let (mut days, mut seconds): (i32, i64) = (0, 0);
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for character in rest.chars() {
        match character {
            '0'..='9' => number.push(character),
            'T' => in_time = true,
            unit => {
                let value: i32 = number.parse().ok()?;
                number.clear();
                any = true;
                match (unit, in_time) {
                    ('W', false) => days = days.checked_add(value.checked_mul(7)?)?,
                    ('D', false) => days = days.checked_add(value)?,
                    (unit, true) => {
                        let factor = match unit {
                            'H' => 3_600,
                            'M' => 60,
                            'S' => 1,
                            _ => return None,
                        };
                        seconds = seconds.checked_add(i64::from(value).checked_mul(factor)?)?;
                    }
                    _ => return None,
                }
            }
        }
    }
    if !any || !number.is_empty() {
        return None;
    }
    let sign = if negative { -1 } else { 1 };
    Some(Length {
        days: days * sign,
        exact: jiff::SignedDuration::from_secs(seconds * i64::from(sign)),
    })
}

/// An e-mail address from `mailto:` (lower-case), or the value as it is.
fn email(value: &str) -> String {
    let value = value.trim();
    let address = value
        .get(..7)
        .filter(|prefix| prefix.eq_ignore_ascii_case("mailto:"))
        .map_or(value, |_| &value[7..]);
    bounded(&address.to_ascii_lowercase())
}

fn property<'a>(component: &'a Component<'_>, name: &str) -> Option<&'a Property<'a>> {
    properties(component, name).next()
}

fn properties<'a>(component: &'a Component<'_>, name: &str) -> impl Iterator<Item = &'a Property<'a>> {
    let name = name.to_string();
    component
        .properties
        .iter()
        .filter(move |property| property.name.as_str().eq_ignore_ascii_case(&name))
}

fn parameter<'a>(property: &'a Property<'_>, key: &str) -> Option<&'a str> {
    property
        .params
        .iter()
        .find(|parameter| parameter.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|parameter| parameter.val.as_ref())
        .map(|value| value.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn check(text: &str, occurred_at: Option<&str>) -> Parsed {
        let context = Context {
            origin: "/calendars/champion.ics".into(),
            sha256: "ab".into(),
            occurred_at: occurred_at.map(|time| model::time::parse_time(time).unwrap()),
            ..Context::default()
        };
        parse(text.as_bytes(), &context, &Limits::default())
    }

    fn starts(parsed: &Parsed) -> Vec<String> {
        parsed
            .evidence
            .iter()
            .map(|record| record.attrs["start"].as_str().unwrap()[..16].to_string())
            .collect()
    }

    const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:champ-1\r\nDTSTAMP:20250301T000000Z\r\n\
        ORGANIZER:mailto:Alice@Example.com\r\nDTSTART;TZID=Europe/Berlin:20250303T090000\r\nDTEND;TZID=Europe/Berlin:20250303T110000\r\n\
        RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6\r\nEXDATE;TZID=Europe/Berlin:20250317T090000\r\nSUMMARY:Security champion\r\n  time\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:champ-1\r\nDTSTAMP:20250301T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20250324T090000\r\n\
        DTSTART;TZID=Europe/Berlin:20250325T140000\r\nDURATION:PT1H\r\nSUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn weekly_block_with_exdate_override_and_daylight_saving() {
        let parsed = check(WEEKLY, Some("2025-06-01T00:00:00Z"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        // Six Mondays, the 17th excluded, the 24th moved to Tuesday 14:00; the
        // 31st and later are after the switch to summer time (UTC+2).
        assert_eq!(
            starts(&parsed),
            [
                "2025-03-03T08:00",
                "2025-03-10T08:00",
                "2025-03-25T13:00",
                "2025-03-31T07:00",
                "2025-04-07T07:00"
            ]
        );
        let moved = &parsed.evidence[2];
        assert_eq!(moved.attrs["recurrence_id"], "2025-03-24T08:00:00.000000000Z");
        assert_eq!(moved.attrs["summary"], "Moved");
        assert_eq!(moved.attrs["end"], "2025-03-25T14:00:00.000000000Z");
        let first = &parsed.evidence[0];
        assert_eq!(first.subject.person.as_deref(), Some("alice@example.com"));
        let owner = Context {
            person: Some("bob@example.com".into()),
            occurred_at: Some(model::time::parse_time("2025-06-01T00:00:00Z").unwrap()),
            ..Context::default()
        };
        let owned = parse(WEEKLY.as_bytes(), &owner, &Limits::default());
        assert_eq!(
            owned.evidence[0].attrs["person"], "bob@example.com",
            "--person names the owner"
        );
        assert_eq!(owned.evidence[0].attrs["organizer"], "alice@example.com");
        assert_eq!(first.attrs["summary"], "Security champion time");
        assert_eq!(first.attrs["status"], "confirmed");
        assert_eq!(first.attrs["end"], "2025-03-03T10:00:00.000000000Z");
        assert_eq!(first.source.line, Some(3));
    }

    #[test]
    fn the_window_bounds_open_rules() {
        let open = WEEKLY.replace(";COUNT=6", "");
        let parsed = check(&open, Some("2025-04-30T00:00:00Z"));
        // Mondays 3 March .. 28 April: 9, less the excluded and the moved one, plus the override.
        assert_eq!(parsed.evidence.len(), 8, "{:?}", starts(&parsed));
        let before = check(&open, Some("2025-03-01T00:00:00Z"));
        assert!(before.evidence.is_empty());
        // Without --occurred-at the latest DTSTAMP ends the window.
        assert!(check(&open, None).evidence.is_empty());
    }

    #[test]
    fn a_date_as_the_window_end_includes_that_whole_day() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:last\nDTSTART:20250331T090000Z\nDTEND:20250331T120000Z\nEND:VEVENT\n\
            BEGIN:VEVENT\nUID:next\nDTSTART:20250401T000000Z\nEND:VEVENT\nEND:VCALENDAR\n";
        let end = window_end_of_date(model::time::parse_time("2025-03-31").unwrap());
        assert_eq!(model::time::format_time(end), "2025-03-31T23:59:59.999999999Z");
        let context = Context {
            occurred_at: Some(end),
            ..Context::default()
        };
        let parsed = parse(text.as_bytes(), &context, &Limits::default());
        assert_eq!(starts(&parsed), ["2025-03-31T09:00"]);
    }

    #[test]
    fn a_long_running_rule_is_expanded_inside_the_window_only() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:daily\nDTSTART:20000101T090000Z\nRRULE:FREQ=DAILY\nEND:VEVENT\n\
            BEGIN:VEVENT\nUID:often\nDTSTART:20000101T090000Z\nRRULE:FREQ=MINUTELY\nEND:VEVENT\nEND:VCALENDAR\n";
        let parsed = check(text, Some("2025-01-01T00:00:00Z"));
        // 400 days back from 1 January 2025: 28 November 2023 .. 31 December 2024.
        assert_eq!(parsed.evidence.len(), 400, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.evidence[0].attrs["start"], "2023-11-28T09:00:00.000000000Z");
        assert_eq!(parsed.diagnostics.len(), 1);
        assert!(parsed.diagnostics[0].message.contains("every second or minute"));
    }

    #[test]
    fn bad_events_are_reported_at_their_line_and_the_rest_land() {
        let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20250303T090000Z\nRRULE:FREQ=SOMETIMES\nEND:VEVENT\n\
            BEGIN:VEVENT\nUID:b\nDTSTART;TZID=Mars/Olympus:20250303T090000\nEND:VEVENT\n\
            BEGIN:VEVENT\nUID:c\nDTSTART:2025-03-03\nEND:VEVENT\n\
            BEGIN:VEVENT\nUID:d\nDTSTART:20250303T090000Z\nEND:VEVENT\nEND:VCALENDAR\n";
        let parsed = check(text, Some("2025-04-01T00:00:00Z"));
        assert_eq!(parsed.evidence.len(), 1);
        let lines: Vec<Option<u64>> = parsed.diagnostics.iter().map(|diagnostic| diagnostic.line).collect();
        assert_eq!(lines, [Some(2), Some(7), Some(11)], "{:?}", parsed.diagnostics);
        assert!(parsed.diagnostics[1].message.contains("Mars/Olympus"));
    }

    #[test]
    fn hostile_calendars_give_one_diagnostic() {
        let deep = format!("{}{}", "BEGIN:X\n".repeat(500), "END:X\n".repeat(500));
        for text in [deep.as_str(), "BEGIN:VCALENDAR\nBEGIN:VEVENT\n", "hello", ""] {
            let parsed = check(text, None);
            assert!(parsed.evidence.is_empty(), "{text}");
            assert!(!parsed.diagnostics.is_empty(), "{text}");
        }
    }

    /// One VCALENDAR of `count` single-occurrence events, a day apart from
    /// 1 January 2025 (LF line ends, as many exports are written).
    fn many_events(count: usize) -> String {
        let mut text = String::from("BEGIN:VCALENDAR\nVERSION:2.0\n");
        let first = model::time::parse_time("2025-01-01T09:00:00Z").unwrap();
        for index in 0..count {
            let start = first
                .checked_add(jiff::SignedDuration::from_mins(i64::try_from(index).unwrap()))
                .unwrap();
            let start = start.strftime("%Y%m%dT%H%M%SZ");
            text.push_str(&format!(
                "BEGIN:VEVENT\nUID:e{index}@example.com\nDTSTAMP:20250101T000000Z\nDTSTART:{start}\nDURATION:PT30M\n\
                 SUMMARY:Security champion time\nEND:VEVENT\n"
            ));
        }
        text.push_str("END:VCALENDAR\n");
        text
    }

    #[test]
    fn one_calendar_of_twenty_thousand_events_is_read_in_one_pass() {
        // Before the parser was given CRLF line ends this took minutes (time
        // in the square of the number of events); now about a second in a
        // debug build.
        let parsed = check(&many_events(20_000), Some("2025-02-01T00:00:00Z"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", &parsed.diagnostics[..1]);
        assert_eq!(parsed.evidence.len(), 20_000);
        assert_eq!(parsed.evidence[19_999].source.line, Some(2 + 19_999 * 7 + 1));
    }

    #[test]
    fn events_past_max_entries_are_refused_at_the_first_one_not_read() {
        let context = Context {
            occurred_at: Some(model::time::parse_time("2025-02-01T00:00:00Z").unwrap()),
            ..Context::default()
        };
        let three = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let parsed = parse(many_events(5).as_bytes(), &context, &three);
        assert_eq!(parsed.evidence.len(), 3);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let refused = &parsed.diagnostics[0];
        assert!(!refused.warning);
        assert_eq!(refused.line, Some(3 + 3 * 7), "the fourth BEGIN:VEVENT");
        assert_eq!(
            refused.message,
            "5 events, more than the limit of 3 per file: the first 3 read, the 2 from here on not read"
        );
        let at_limit = parse(many_events(3).as_bytes(), &context, &three);
        assert_eq!((at_limit.evidence.len(), at_limit.diagnostics.len()), (3, 0));
    }

    #[test]
    fn the_parser_is_given_crlf_line_ends_whatever_the_input_used() {
        // The icalendar parser looks for "\r\n" to end a property's value;
        // a text without it makes every property scan to the end of the
        // calendar. Each line end of the unfolded text is CRLF.
        for text in ["A:1\nB:2\n C\n", "A:1\r\nB:2\r\n\tC\r\n", "A:1\rx\nB:2"] {
            let (unfolded, lines) = unfold(text);
            assert_eq!(unfolded.matches('\n').count(), lines.len(), "{text:?}");
            assert_eq!(unfolded.matches("\r\n").count(), lines.len(), "{text:?}");
        }
        assert_eq!(unfold("A:1\nB:2\n C\n").0, "A:1\r\nB:2C\r\n\r\n");
    }

    #[test]
    fn every_calendar_of_a_concatenated_export_is_read() {
        let one = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20250303T090000Z\nEND:VEVENT\nEND:VCALENDAR\n";
        let two = one.replace("UID:a", "UID:b").replace("0303", "0304");
        let broken = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nno colon here\nEND:VEVENT\nEND:VCALENDAR\n";
        let parsed = check(&format!("{one}{broken}{two}"), Some("2025-04-01T00:00:00Z"));
        assert_eq!(starts(&parsed), ["2025-03-03T09:00", "2025-03-04T09:00"]);
        assert_eq!(parsed.evidence[1].source.line, Some(13));
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let line = parsed.diagnostics[0].line.unwrap();
        assert!((6..=10).contains(&line), "{:?}", parsed.diagnostics);
    }

    #[test]
    fn durations_and_times() {
        let exact = |seconds| {
            Some(Length {
                days: 0,
                exact: jiff::SignedDuration::from_secs(seconds),
            })
        };
        assert_eq!(duration("PT1H30M"), exact(5400));
        assert_eq!(duration("-PT15M"), exact(-900));
        assert_eq!(duration("P1W").map(|length| length.days), Some(7));
        assert_eq!(
            duration("P1DT2H"),
            Some(Length {
                days: 1,
                exact: jiff::SignedDuration::from_hours(2)
            })
        );
        assert_eq!(duration("P1H"), None);
        assert!(written("20250303").is_some_and(|time| time.all_day));
        assert!(written("20250303T250000").is_none());
        assert_eq!(offset_seconds("-0430"), Some(-16_200));
    }

    /// A one-event calendar around `lines` (each line of the VEVENT after its UID).
    fn event(lines: &str) -> String {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e\r\nDTSTAMP:20250101T000000Z\r\n{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            lines.trim().replace('\n', "\r\n")
        )
    }

    fn blocks(parsed: &Parsed) -> Vec<(String, String)> {
        parsed
            .evidence
            .iter()
            .map(|record| {
                let time = |key: &str| record.attrs[key].as_str().unwrap()[..16].to_string();
                (time("start"), time("end"))
            })
            .collect()
    }

    #[test]
    fn an_all_day_series_with_a_date_until_is_expanded_until_that_day() {
        let text = event("DTSTART;VALUE=DATE:20250303\nRRULE:FREQ=WEEKLY;UNTIL=20250324\nSUMMARY:Focus day");
        let parsed = check(&text, Some("2025-12-31T00:00:00Z"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let days = ["03", "10", "17", "24"].map(|day| {
            (
                format!("2025-03-{day}T00:00"),
                format!("2025-03-{:02}T00:00", day.parse::<u8>().unwrap() + 1),
            )
        });
        assert_eq!(blocks(&parsed), days);
        let excluded = text.replace("SUMMARY", "EXDATE;VALUE=DATE:20250310,20250317\r\nSUMMARY");
        assert_eq!(
            starts(&check(&excluded, Some("2025-12-31T00:00:00Z"))),
            ["2025-03-03T00:00", "2025-03-24T00:00"]
        );
    }

    #[test]
    fn a_floating_until_with_a_zoned_start_is_read_in_that_zone_with_a_note() {
        let text = event(
            "DTSTART;TZID=Europe/Berlin:20250303T090000\nDTEND;TZID=Europe/Berlin:20250303T093000\nRRULE:FREQ=WEEKLY;UNTIL=20250331T090000",
        );
        let parsed = check(&text, Some("2025-12-31T00:00:00Z"));
        // Five Mondays, the last one (31 March, summer time) at 09:00 Berlin.
        assert_eq!(
            starts(&parsed),
            [
                "2025-03-03T08:00",
                "2025-03-10T08:00",
                "2025-03-17T08:00",
                "2025-03-24T08:00",
                "2025-03-31T07:00"
            ]
        );
        let [note] = parsed.diagnostics.as_slice() else {
            panic!("{:?}", parsed.diagnostics)
        };
        assert!(note.warning);
        assert_eq!(note.line, Some(3));
        assert!(
            note.message.contains("read as a wall time in DTSTART's zone"),
            "{}",
            note.message
        );
        assert!(!note.message.contains("specified in UTC"), "{}", note.message);
        // A floating DTSTART with a floating UNTIL is what RFC 5545 asks: no note.
        let floating = text.replace(";TZID=Europe/Berlin", "");
        let parsed = check(&floating, Some("2025-12-31T00:00:00Z"));
        assert_eq!(parsed.evidence.len(), 5);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    }

    /// A custom VTIMEZONE for São Paulo written as Thunderbird does: daylight
    /// saving time whose rules end in 2018/2019 (Brazil abolished it).
    const SAO_PAULO: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:Custom Sao Paulo\r\n\
        BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0300\r\nTZOFFSETTO:-0200\r\nDTSTART:20081019T000000\r\n\
        RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU;UNTIL=20181104T030000Z\r\nEND:DAYLIGHT\r\n\
        BEGIN:STANDARD\r\nTZOFFSETFROM:-0200\r\nTZOFFSETTO:-0300\r\nDTSTART:20090215T000000\r\n\
        RRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=3SU;UNTIL=20190217T020000Z\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\nUID:sp\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Custom Sao Paulo:DATE\r\n\
        DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn observance_rules_that_ended_are_not_applied_after_their_until() {
        let at = |date: &str| {
            let window_end = format!("{}-12-31T00:00:00Z", &date[..4]);
            starts(&check(&SAO_PAULO.replace("DATE", date), Some(&window_end)))
        };
        // January 2025: no daylight saving time any more, UTC-3.
        assert_eq!(at("20250106T090000"), ["2025-01-06T12:00"]);
        // January 2018: still daylight saving time, UTC-2.
        assert_eq!(at("20180108T090000"), ["2018-01-08T11:00"]);
        // July 2018: standard time, UTC-3.
        assert_eq!(at("20180709T090000"), ["2018-07-09T12:00"]);
    }

    #[test]
    fn a_nominal_day_keeps_the_wall_clock_across_a_daylight_saving_change() {
        let text = event("DTSTART;TZID=Europe/Berlin:20250329T120000\nDURATION:P1D");
        // 12:00 CET (11:00Z) to 12:00 CEST (10:00Z): 23 hours.
        assert_eq!(
            blocks(&check(&text, Some("2025-12-31T00:00:00Z"))),
            [("2025-03-29T11:00".to_string(), "2025-03-30T10:00".to_string())]
        );
        let week = event("DTSTART;TZID=Europe/Berlin:20250326T120000\nDURATION:P1WT1H");
        assert_eq!(
            blocks(&check(&week, Some("2025-12-31T00:00:00Z"))),
            [("2025-03-26T11:00".to_string(), "2025-04-02T11:00".to_string())]
        );
    }

    #[test]
    fn inverted_times_and_a_zero_interval_are_refused_at_the_event() {
        for (lines, says) in [
            ("DTSTART:20250303T090000Z\nDTEND:20250303T080000Z", "is before DTSTART"),
            ("DTSTART:20250304T090000Z\nDURATION:-PT1H", "is negative"),
            (
                "DTSTART:20250305T090000Z\nDTEND:20250305T100000Z\nRRULE:FREQ=DAILY;INTERVAL=0",
                "INTERVAL must be a positive number",
            ),
        ] {
            let parsed = check(&event(lines), Some("2025-12-31T00:00:00Z"));
            assert!(parsed.evidence.is_empty(), "{lines}");
            let refusals: Vec<&Diagnostic> = parsed
                .diagnostics
                .iter()
                .filter(|diagnostic| !diagnostic.warning)
                .collect();
            let [refusal] = refusals.as_slice() else {
                panic!("{lines}: {:?}", parsed.diagnostics)
            };
            assert_eq!(refusal.line, Some(3));
            assert!(refusal.message.contains(says), "{}", refusal.message);
            assert!(refusal.message.ends_with("event skipped"), "{}", refusal.message);
        }
        // An override with an inverted end is skipped too.
        let text = WEEKLY.replace("DURATION:PT1H", "DTEND;TZID=Europe/Berlin:20250325T130000");
        let parsed = check(&text, Some("2025-06-01T00:00:00Z"));
        assert!(
            parsed
                .diagnostics
                .iter()
                .any(|diagnostic| diagnostic.message.contains("is before DTSTART"))
        );
        assert!(
            parsed
                .evidence
                .iter()
                .all(|record| record.attrs["start"].as_str() <= record.attrs["end"].as_str())
        );
    }

    #[test]
    fn a_date_until_with_a_zoned_start_is_refused_with_an_accurate_message() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20250415T120000Z\r\n\
            DTSTART;TZID=Europe/Berlin:20250303T090000\r\nRRULE:FREQ=DAILY;UNTIL=20250305\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let parsed = check(text, None);
        assert!(parsed.evidence.is_empty());
        let refusal = parsed.diagnostics.iter().find(|diagnostic| !diagnostic.warning);
        let message = refusal.map_or("", |diagnostic| diagnostic.message.as_str());
        assert!(message.contains("UNTIL `20250305` is a date"), "{message}");
        assert!(
            message.contains("DTSTART `20250303T090000` is a date-time"),
            "{message}"
        );
        assert!(!message.contains("specified in UTC"), "{message}");
        // UNTIL as a UTC date-time is read.
        let fixed = text.replace("UNTIL=20250305", "UNTIL=20250305T235959Z");
        assert_eq!(check(&fixed, None).evidence.len(), 3);
    }
}
