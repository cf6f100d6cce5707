//! Training collector: LMS CSV exports and the Mimecast awareness-training
//! user export into `training_record` records, one per row.
//!
//! Columns are found by their header, compared without case, spaces or
//! punctuation, under common names (see [`FIELDS`]), or named explicitly with
//! `--columns email=Learner,course=Module,completed_at=Finished`. Attributes:
//! `person` (the e-mail in lower case, else the user name; the subject's
//! person too), `email` (as exported), `user`, `course`,
//! `completed_at` (an RFC 3339 time or a `YYYY-MM-DD` date; a date with a time
//! but no zone keeps only its date), `status` (`completed`, `in_progress`,
//! `not_started`, `assigned`, `overdue`, `failed`, or the export's word in
//! lower case; without a status column a row with a completion date is
//! `completed` and one without is `assigned`) and `score` (a number from 0 to
//! 100, a decimal comma accepted; one that cannot be read gives a warning and
//! is left out). The record's time is the completion time, else `--occurred-at`.
//!
//! Mimecast (`templateName`, `numTrainingModulesAssigned`, ...): `course` is
//! the template, `status` is `completed` when the user answered questions
//! (`numCorrectAnswers` + `numIncorrectAnswers` > 0) and `assigned` otherwise,
//! `score` is the share of correct answers (percent), the time is
//! `timeScheduled [UTC]`, and the counts are kept (`modules_assigned`,
//! `correct_answers`, `incorrect_answers`, `campaigns_sent`,
//! `campaigns_clicked`, `source_status`).
//!
//! A row without an e-mail or user, with a completion date that does not
//! read, or that is not UTF-8 text (a Latin-1 export), gives a diagnostic with
//! the line it starts on; the other rows land.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::{Context, Limits, Parsed, header_key};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "training";

/// Each field and the header names that hold it (compared by [`header_key`]).
pub const FIELDS: &[(&str, &[&str])] = &[
    (
        "email",
        &[
            "email",
            "emailaddress",
            "mail",
            "useremail",
            "learneremail",
            "workemail",
            "employeeemail",
        ],
    ),
    (
        "user",
        &[
            "user",
            "username",
            "name",
            "learner",
            "learnername",
            "fullname",
            "employee",
            "employeename",
            "userid",
        ],
    ),
    (
        "course",
        &[
            "course",
            "coursename",
            "coursetitle",
            "training",
            "trainingname",
            "trainingtitle",
            "module",
            "modulename",
            "title",
        ],
    ),
    (
        "completed_at",
        &[
            "completed",
            "completedat",
            "completiondate",
            "completeddate",
            "datecompleted",
            "completedon",
            "completiontime",
            "finished",
            "finishedat",
        ],
    ),
    ("status", &["status", "completionstatus", "state", "result"]),
    ("score", &["score", "grade", "percentage", "scorepercent"]),
];

/// Whether a CSV header names a training export: an e-mail or user column and
/// a course or completion column, or the Mimecast awareness columns.
pub fn detect_header(first_line: &str) -> bool {
    let keys: Vec<String> = first_line.split([',', ';', '\t']).map(header_key).collect();
    let has = |field: &str| {
        FIELDS
            .iter()
            .find(|(name, _)| *name == field)
            .is_some_and(|(_, names)| keys.iter().any(|key| names.contains(&key.as_str())))
    };
    is_mimecast(&keys) || (has("email") || has("user")) && (has("course") || has("completed_at"))
}

fn is_mimecast(keys: &[String]) -> bool {
    ["templatename", "numtrainingmodulesassigned", "email"]
        .iter()
        .all(|wanted| keys.iter().any(|key| key == wanted))
}

/// A completion time: RFC 3339, a date, or a date and time without a zone
/// (only the date is kept: the tool never guesses a zone).
fn completion_time(text: &str) -> Option<Timestamp> {
    model::time::parse_time(text).ok().or_else(|| {
        let date = text.trim().get(..10)?;
        let rest = &text.trim()[10..];
        (rest.is_empty() || rest.starts_with([' ', 'T'])).then_some(())?;
        model::time::parse_time(date).ok()
    })
}

/// Mimecast's `M/D/YYYY, h:mm:ss.fff AM` (UTC, as its header says).
fn mimecast_time(text: &str) -> Option<Timestamp> {
    let (date, time) = text.trim().split_once(", ")?;
    let mut parts = date.split('/').map(|part| part.parse::<i16>().ok());
    let (month, day, year) = (parts.next()??, parts.next()??, parts.next()??);
    let (clock, half) = time.split_once(' ')?;
    let mut clock_parts = clock.split(':');
    let hour: i8 = clock_parts.next()?.parse().ok()?;
    let minute: i8 = clock_parts.next()?.parse().ok()?;
    let second: f64 = clock_parts.next().unwrap_or("0").parse().ok()?;
    let hour = match (half, hour) {
        ("AM", 12) => 0,
        ("AM", hour) => hour,
        ("PM", 12) => 12,
        ("PM", hour) => hour + 12,
        _ => return None,
    };
    let civil = jiff::civil::DateTime::new(year, month as i8, day as i8, hour, minute, second.trunc() as i8, 0).ok()?;
    jiff::tz::Offset::UTC.to_timestamp(civil).ok()
}

fn normal_status(text: &str) -> String {
    let key = header_key(text);
    match key.as_str() {
        "complete" | "completed" | "passed" | "pass" | "done" | "finished" => "completed".into(),
        "failed" | "fail" => "failed".into(),
        "notstarted" | "notattempted" => "not_started".into(),
        "inprogress" | "started" | "incomplete" => "in_progress".into(),
        "assigned" | "enrolled" | "registered" => "assigned".into(),
        "overdue" | "expired" | "pastdue" => "overdue".into(),
        _ => crate::cut_text(&text.trim().to_ascii_lowercase(), 256),
    }
}

/// A score in percent: a plain decimal number (`92`, `88.5`, a decimal
/// comma `88,5`, a trailing `%`) from 0 to 100. `Ok(None)` for a cell that
/// says there is none (`n/a`, `-`); `Err` for anything else.
fn score(text: &str) -> Result<Option<f64>, String> {
    let trimmed = text.trim().trim_end_matches('%').trim();
    if matches!(trimmed.to_ascii_lowercase().as_str(), "n/a" | "na" | "-") {
        return Ok(None);
    }
    let decimal = match trimmed.split_once(',') {
        Some((whole, fraction)) if !whole.contains('.') && !fraction.contains([',', '.']) => {
            format!("{whole}.{fraction}")
        }
        _ => trimmed.to_string(),
    };
    let plain = !decimal.is_empty()
        && decimal.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.')
        && decimal.bytes().any(|byte| byte.is_ascii_digit());
    match decimal.parse::<f64>() {
        Ok(value) if plain && (0.0..=100.0).contains(&value) => Ok(Some(value)),
        Ok(_) if plain => Err(format!("score `{}` is outside 0..100", crate::cut_text(text, 64))),
        _ => Err(format!(
            "score `{}` is not a number from 0 to 100",
            crate::cut_text(text, 64)
        )),
    }
}

/// Parse a training export into `training_record` records.
///
/// Never panics; every problem becomes a diagnostic naming its line.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    // Read row by row: a row that is not UTF-8 (a Latin-1 name) loses only itself.
    let Some((header, rows)) = crate::csv_rows(bytes, context, limits, &mut parsed.diagnostics) else {
        return parsed;
    };
    let keys: Vec<String> = header.iter().map(|cell| header_key(cell)).collect();
    let mimecast = is_mimecast(&keys) && context.columns.is_none();
    // Which column holds each field: `--columns` first, then the common names.
    let mut columns: Map<String, Value> = Map::new();
    let mut index_of: Vec<(&str, usize)> = Vec::new();
    for (field, names) in FIELDS {
        let explicit = context.columns.as_ref().and_then(|columns| columns.get(*field));
        let found = match explicit {
            Some(wanted) => {
                let wanted = header_key(wanted);
                let position = keys.iter().position(|key| *key == wanted);
                if position.is_none() {
                    parsed.diagnostics.push(context.diagnostic(
                        Some(1),
                        None,
                        format!(
                            "--columns {field}={}: no such column in the header",
                            crate::cut_text(explicit.map_or("", String::as_str), 256)
                        ),
                    ));
                    return parsed;
                }
                position
            }
            None => names.iter().find_map(|name| keys.iter().position(|key| key == name)),
        };
        if let Some(index) = found {
            index_of.push((field, index));
            columns.insert(
                (*field).to_string(),
                header.get(index).cloned().unwrap_or_default().into(),
            );
        }
    }
    if let Some(columns) = &context.columns
        && let Some(unknown) = columns
            .keys()
            .find(|field| !FIELDS.iter().any(|(name, _)| name == *field))
    {
        parsed.diagnostics.push(context.diagnostic(
            None,
            None,
            format!(
                "--columns names an unknown field `{}` (known: email, user, course, completed_at, status, score)",
                crate::cut_text(unknown, 64)
            ),
        ));
        return parsed;
    }
    let has = |field: &str| index_of.iter().any(|(name, _)| *name == field);
    if !mimecast && !has("email") && !has("user") {
        parsed.diagnostics.push(context.diagnostic(
            Some(1),
            None,
            format!(
                "no e-mail or user column in the header ({}); name one with --columns email=<header>; nothing recorded",
                crate::cut_text(&header.join(", "), 512)
            ),
        ));
        return parsed;
    }
    for (line, row) in rows {
        let cell = |field: &str| -> Option<String> {
            if mimecast {
                let wanted = match field {
                    "email" => "email",
                    "user" => "name",
                    "course" => "templatename",
                    other => other,
                };
                return keys
                    .iter()
                    .position(|key| key == wanted)
                    .and_then(|index| row.get(index))
                    .filter(|value| !value.is_empty())
                    .map(|value| crate::cut_text(value, 1024));
            }
            index_of
                .iter()
                .find(|(name, _)| *name == field)
                .and_then(|(_, index)| row.get(*index))
                .filter(|value| !value.is_empty())
                .map(|value| crate::cut_text(value, 1024))
        };
        let mut warnings = Vec::new();
        match record(&cell, &keys, &row, mimecast, context, &mut warnings) {
            Ok(mut record) => {
                record.source.line = Some(line);
                parsed.evidence.push(record);
                for warning in warnings {
                    parsed.diagnostics.push(context.warning(Some(line), warning));
                }
            }
            Err(message) => parsed.diagnostics.push(context.diagnostic(Some(line), None, message)),
        }
    }
    if parsed.evidence.is_empty() && parsed.diagnostics.is_empty() {
        parsed
            .diagnostics
            .push(context.diagnostic(Some(1), None, "a header without rows; nothing recorded"));
    }
    parsed
}

fn record(
    cell: &dyn Fn(&str) -> Option<String>,
    keys: &[String],
    row: &[String],
    mimecast: bool,
    context: &Context,
    warnings: &mut Vec<String>,
) -> Result<model::NewEvidence, String> {
    // `email` is kept as exported; `person` (what matching uses) is it in
    // lower case, else the user name.
    // An e-mail or user name with a control character (a NUL, a line
    // break) is not used: it would name a person no other source can match.
    let mut with_control = Vec::new();
    let mut readable = |field: &str, value: Option<String>| {
        value.filter(|text| {
            let clean = !text.chars().any(char::is_control);
            if !clean {
                with_control.push(format!(
                    "{field} `{}` has a control character; not used",
                    crate::cut_text(&text.escape_debug().to_string(), 256)
                ));
            }
            clean
        })
    };
    let exported_email = readable("e-mail", cell("email").filter(|email| email.contains('@')));
    let user = readable("user", cell("user"));
    let email = exported_email.as_ref().map(|email| email.to_ascii_lowercase());
    let Some(person) = email.clone().or_else(|| user.clone()) else {
        return Err(if with_control.is_empty() {
            "row without an e-mail or user; skipped".into()
        } else {
            format!(
                "{}; row without another e-mail or user; skipped",
                with_control.join("; ")
            )
        });
    };
    warnings.extend(with_control);
    let mut attrs = Map::new();
    attrs.insert("person".into(), person.clone().into());
    attrs.insert("email".into(), json!(exported_email));
    attrs.insert("user".into(), json!(user));
    attrs.insert("course".into(), json!(cell("course")));
    let mut time = None;
    if mimecast {
        let count = |name: &str| {
            keys.iter()
                .position(|key| key == name)
                .and_then(|index| row.get(index))
                .and_then(|value| value.parse::<u64>().ok())
        };
        let correct = count("numcorrectanswers");
        let incorrect = count("numincorrectanswers");
        let answered = correct.unwrap_or(0) + incorrect.unwrap_or(0);
        attrs.insert(
            "status".into(),
            if answered > 0 { "completed" } else { "assigned" }.into(),
        );
        attrs.insert("completed_at".into(), Value::Null);
        if answered > 0 {
            let share = correct.unwrap_or(0) as f64 * 100.0 / answered as f64;
            attrs.insert("score".into(), json!((share * 10.0).round() / 10.0));
        }
        attrs.insert(
            "source_status".into(),
            json!(cell("status").map(|status| status.to_ascii_lowercase())),
        );
        for (key, column) in [
            ("modules_assigned", "numtrainingmodulesassigned"),
            ("correct_answers", "numcorrectanswers"),
            ("incorrect_answers", "numincorrectanswers"),
            ("campaigns_sent", "numcampaignssent"),
            ("campaigns_clicked", "numcampaignsclicked"),
        ] {
            attrs.insert(key.into(), json!(count(column)));
        }
        attrs.insert("format".into(), "mimecast".into());
        let scheduled = keys
            .iter()
            .position(|key| key == "timescheduledutc")
            .and_then(|index| row.get(index))
            .filter(|value| !value.is_empty());
        if let Some(text) = scheduled {
            time = Some(mimecast_time(text).ok_or_else(|| {
                format!(
                    "timeScheduled `{}` is not M/D/YYYY, h:mm:ss AM; skipped",
                    crate::cut_text(text, 64)
                )
            })?);
        }
    } else {
        let completed = match cell("completed_at") {
            Some(text) => Some(completion_time(&text).ok_or_else(|| {
                format!(
                    "completion date `{}` is not an RFC 3339 time or YYYY-MM-DD date; skipped",
                    crate::cut_text(&text, 64)
                )
            })?),
            None => None,
        };
        let status = match cell("status") {
            Some(status) => normal_status(&status),
            None if completed.is_some() => "completed".into(),
            None => "assigned".into(),
        };
        attrs.insert("completed_at".into(), json!(completed.map(model::time::format_time)));
        attrs.insert("status".into(), status.into());
        match cell("score").map(|text| score(&text)).transpose() {
            Ok(Some(Some(score))) => {
                attrs.insert("score".into(), json!(score));
            }
            Ok(_) => {}
            Err(message) => warnings.push(format!("{message}; recorded without a score")),
        }
        time = completed;
    }
    let subject = model::Subject {
        person: email.or_else(|| crate::iam::person(context, COLLECTOR, &person, None)),
        ..model::Subject::default()
    };
    Ok(context.record(
        COLLECTOR,
        model::EvidenceKind::TrainingRecord,
        time,
        subject,
        None,
        Value::Object(attrs),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn check(text: &str, columns: Option<&[(&str, &str)]>) -> Parsed {
        let context = Context {
            origin: "lms.csv".into(),
            sha256: "00".into(),
            columns: columns.map(|pairs| {
                Arc::new(
                    pairs
                        .iter()
                        .map(|(field, header)| (field.to_string(), header.to_string()))
                        .collect::<BTreeMap<_, _>>(),
                )
            }),
            ..Context::default()
        };
        parse(text.as_bytes(), &context, &Limits::default())
    }

    #[test]
    fn an_email_with_a_control_character_is_not_used_with_a_warning() {
        let parsed = check(
            "user,email,course,completed\n\
             Ana,ana@ac\u{0}me.example,Secure coding,2025-03-01\n\
             ,bo\u{7}b@example.com,Secure coding,2025-03-01\n",
            None,
        );
        assert_eq!(parsed.evidence.len(), 1);
        let ana = &parsed.evidence[0];
        assert_eq!(ana.attrs["person"], "Ana", "the user name, not the e-mail");
        assert_eq!(ana.attrs["email"], Value::Null);
        assert!(
            parsed.evidence.iter().all(|record| !record
                .subject
                .person
                .as_deref()
                .unwrap_or_default()
                .contains('\u{0}'))
        );
        assert_eq!(
            parsed.lines_and_messages(),
            [
                (
                    Some(2),
                    true,
                    "e-mail `ana@ac\\0me.example` has a control character; not used"
                ),
                (
                    Some(3),
                    false,
                    "e-mail `bo\\u{7}b@example.com` has a control character; not used; row without another e-mail or \
                     user; skipped"
                ),
            ]
        );
    }

    #[test]
    fn headers_are_detected_whatever_their_spelling() {
        let parsed = check(
            "User Name;E-Mail Address;Course Title;Completion Date;Status;Score\n\
             Ann;Ann@Example.com;Secure coding;2025-03-01;Passed;92%\n\
             Bob;bob@example.com;Secure coding;;Not Started;\n\
             ;;Secure coding;2025-03-01;Passed;\n\
             Cy;cy@example.com;Secure coding;March 1st;Passed;\n",
            None,
        );
        assert_eq!(parsed.evidence.len(), 2);
        let ann = &parsed.evidence[0];
        assert_eq!(ann.subject.person.as_deref(), Some("ann@example.com"));
        assert_eq!(ann.attrs["course"], "Secure coding");
        assert_eq!(ann.attrs["completed_at"], "2025-03-01T00:00:00.000000000Z");
        assert_eq!(ann.attrs["status"], "completed");
        assert_eq!(ann.attrs["score"], 92.0);
        assert_eq!(ann.source.line, Some(2));
        assert_eq!(parsed.evidence[1].attrs["status"], "not_started");
        assert!(parsed.evidence[1].attrs.get("score").is_none());
        let lines: Vec<Option<u64>> = parsed.diagnostics.iter().map(|diagnostic| diagnostic.line).collect();
        assert_eq!(lines, vec![Some(4), Some(5)]);
    }

    #[test]
    fn scores_with_a_decimal_comma_are_read_and_unreadable_ones_warned() {
        let parsed = check(
            "email,course,completed,score\n\
             a@example.com,Secure Coding,2025-04-13,\"88,5\"\n\
             b@example.com,Secure Coding,2025-04-13,88.5\n\
             c@example.com,Secure Coding,2025-04-13,N/A\n\
             d@example.com,Secure Coding,2025-04-13,-5\n\
             e@example.com,Secure Coding,2025-04-13,1e3\n\
             f@example.com,Secure Coding,2025-04-13,NaN\n\
             g@example.com,Secure Coding,2025-04-13,120\n\
             h@example.com,Secure Coding,2025-04-13,100 %\n",
            None,
        );
        let scores: Vec<Option<&Value>> = parsed.evidence.iter().map(|record| record.attrs.get("score")).collect();
        let (some, none) = (|value: f64| Some(json!(value)), None);
        assert_eq!(
            scores,
            [
                some(88.5).as_ref(),
                some(88.5).as_ref(),
                none,
                none,
                none,
                none,
                none,
                some(100.0).as_ref()
            ]
        );
        let warnings: Vec<(Option<u64>, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.line, diagnostic.warning))
            .collect();
        assert_eq!(warnings, [5, 6, 7, 8].map(|line| (Some(line), true)));
        assert!(
            parsed.diagnostics[3].message.contains("outside 0..100"),
            "{:?}",
            parsed.diagnostics
        );
    }

    #[test]
    fn explicit_columns_win() {
        let text = "Learner,Module,Finished,Mail\nx@example.com,Phishing 101,2025-01-02T10:00:00Z,ignored\n";
        let parsed = check(
            text,
            Some(&[("email", "Learner"), ("course", "Module"), ("completed_at", "Finished")]),
        );
        assert_eq!(parsed.evidence[0].attrs["person"], "x@example.com");
        assert_eq!(parsed.evidence[0].attrs["course"], "Phishing 101");
        assert_eq!(parsed.evidence[0].attrs["status"], "completed");
        let parsed = check(text, Some(&[("email", "Nope")]));
        assert!(parsed.evidence.is_empty());
        assert!(parsed.diagnostics[0].message.contains("--columns email=Nope"));
    }

    #[test]
    fn mimecast_times_read() {
        let time = mimecast_time("3/21/2025, 1:06:00.000 PM").map(model::time::format_time);
        assert_eq!(time.as_deref(), Some("2025-03-21T13:06:00.000000000Z"));
        assert_eq!(mimecast_time("13/45/2025, 1:06 PM"), None);
    }

    #[test]
    fn a_latin1_row_loses_only_itself_and_lines_hold_with_crlf() {
        let mut input = b"Email,Course,Completion Date\r\nAnn@Example.com,Secure coding,2025-03-01\r\n".to_vec();
        input.extend_from_slice(b"jos\xe9@example.com,Secure coding,2025-03-01\r\n");
        input.extend_from_slice(
            b"bob@example.com,\"Secure\r\ncoding\",2025-03-02\r\ncy@example.com,Phishing,2025-03-03\r\n",
        );
        let context = Context {
            origin: "lms.csv".into(),
            ..Context::default()
        };
        let parsed = parse(&input, &context, &Limits::default());
        let lines: Vec<Option<u64>> = parsed.evidence.iter().map(|record| record.source.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(6)]);
        let problems: Vec<Option<u64>> = parsed.diagnostics.iter().map(|diagnostic| diagnostic.line).collect();
        assert_eq!(problems, [Some(3)]);
        assert!(parsed.diagnostics[0].message.contains("not UTF-8"));
        // The e-mail as exported; the person (what matching uses) in lower case.
        let ann = &parsed.evidence[0];
        assert_eq!(ann.attrs["email"], "Ann@Example.com");
        assert_eq!(ann.attrs["person"], "ann@example.com");
        assert_eq!(ann.subject.person.as_deref(), Some("ann@example.com"));
    }
}
