//! Organisation probes: inventory, training and access, champions' time,
//! threat models, and manual attestations.

use crate::{Fact, Outcome, Params, Probe, View, exists, text, time_attr};
use jiff::{SignedDuration, Timestamp};
use model::{Evidence, EvidenceKind as Kind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The assets of one inventory record: its `assets` list, or the record itself.
pub fn assets(record: &Evidence) -> Vec<&Value> {
    match record.attrs.get("assets").and_then(Value::as_array) {
        Some(assets) => assets.iter().collect(),
        None => vec![&record.attrs],
    }
}

/// Whether an inventory asset is the team's: its repository or name is in the
/// team's scope, or its owner names the team (`group:payments`, `payments`).
/// Without a scope (one team, "all") every asset is.
pub fn in_scope(view: &View<'_>, asset: &Value) -> bool {
    let scope = view.scope;
    if scope.repos.is_empty() && scope.services.is_empty() {
        return true;
    }
    let text = |key: &str| asset.get(key).and_then(Value::as_str).unwrap_or("");
    let owner = text("owner");
    let owner = owner.rsplit([':', '/']).next().unwrap_or(owner);
    scope.repos.iter().any(|repo| repo.eq_ignore_ascii_case(text("repo")))
        || scope.services.iter().any(|service| service == text("name"))
        || (!owner.is_empty() && owner.eq_ignore_ascii_case(&scope.team))
}

/// The team's members by e-mail, from the latest inventory that lists a group
/// named like the team (Backstage `Group` and `User` entities); `None` when no
/// inventory says, and then every person counts.
pub fn team_members(view: &View<'_>) -> Option<Vec<String>> {
    if view.scope.repos.is_empty() && view.scope.services.is_empty() {
        return None;
    }
    let grouped = snapshots(view);
    for records in grouped.values().rev() {
        for record in records {
            let groups = record.attrs.get("groups").and_then(Value::as_array);
            let group = groups.and_then(|groups| {
                groups.iter().find(|group| {
                    group
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|name| name.eq_ignore_ascii_case(&view.scope.team))
                })
            });
            if let Some(group) = group {
                let members = group
                    .get("members")
                    .and_then(Value::as_array)
                    .map(|members| {
                        members
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_ascii_lowercase)
                            .collect()
                    })
                    .unwrap_or_default();
                return Some(members);
            }
        }
    }
    None
}

/// Inventory snapshots as of the view's time, grouped by the time they were taken.
pub fn snapshots<'a>(view: &View<'a>) -> BTreeMap<Timestamp, Vec<&'a Evidence>> {
    let mut grouped: BTreeMap<Timestamp, Vec<&'a Evidence>> = BTreeMap::new();
    for record in view.all(Kind::AssetSnapshot) {
        grouped.entry(record.occurred_at).or_default().push(record);
    }
    grouped
}

fn inventory_exists(view: &View<'_>, _: &Params) -> Fact {
    exists(
        "inventory-exists",
        view,
        Kind::AssetSnapshot,
        false,
        "inventory snapshots",
    )
}

/// Inventory exists.
pub static INVENTORY_EXISTS: Probe = Probe {
    id: "inventory-exists",
    question: "Does an asset inventory (or log/telemetry store inventory) exist?",
    kinds: &[Kind::AssetSnapshot],
    remediation: "Export the service catalogue (e.g. Backstage) and ingest it.",
    effort_weeks: 1,
    run: inventory_exists,
};

fn inventory_refreshed(view: &View<'_>, _: &Params) -> Fact {
    let id = "inventory-refreshed";
    let times: Vec<Timestamp> = snapshots(view)
        .keys()
        .copied()
        .filter(|time| *time >= view.window_start())
        .collect();
    if !view.has(Kind::AssetSnapshot) {
        return Fact::new(id, Outcome::NotAvailable, "no asset_snapshot evidence", Vec::new());
    }
    let cadence = SignedDuration::from_hours(24 * view.thresholds.snapshot_cadence_days);
    let ids: Vec<u64> = view.in_window(Kind::AssetSnapshot).map(|record| record.id).collect();
    let Some(last) = times.last() else {
        return Fact::new(id, Outcome::False, "no inventory snapshot in the window", Vec::new());
    };
    let largest_gap = times
        .windows(2)
        .map(|pair| pair[1].duration_since(pair[0]))
        .max()
        .unwrap_or(SignedDuration::ZERO);
    let since_last = view.as_of.duration_since(*last);
    let holds = largest_gap <= cadence && since_last <= cadence && times.len() >= 2;
    Fact::new(
        id,
        if holds { Outcome::True } else { Outcome::False },
        format!(
            "{} snapshots in the window; largest gap {} days, last {} days ago (required at most {})",
            times.len(),
            largest_gap.as_hours() / 24,
            since_last.as_hours() / 24,
            view.thresholds.snapshot_cadence_days
        ),
        ids,
    )
}

/// Inventory refreshed.
pub static INVENTORY_REFRESHED: Probe = Probe {
    id: "inventory-refreshed",
    question: "Is the inventory refreshed automatically (snapshots at most 7 days apart through the window)?",
    kinds: &[Kind::AssetSnapshot],
    remediation: "Snapshot the catalogue on a schedule (daily or weekly) and ingest each snapshot.",
    effort_weeks: 1,
    run: inventory_refreshed,
};

fn inventory_reconstructable(view: &View<'_>, params: &Params) -> Fact {
    let id = "inventory-reconstructable";
    let grouped = snapshots(view);
    let Some((first, records)) = grouped.iter().next() else {
        return Fact::new(id, Outcome::NotAvailable, "no asset_snapshot evidence", Vec::new());
    };
    if *first > view.window_start() {
        return Fact::new(
            id,
            Outcome::False,
            format!(
                "the oldest snapshot is from {}: the inventory cannot be reconstructed as of {}",
                model::time::format_time(*first),
                model::time::format_time(view.window_start())
            ),
            records.iter().map(|record| record.id).collect(),
        );
    }
    let refreshed = inventory_refreshed(view, params);
    let mut ids: Vec<u64> = records.iter().map(|record| record.id).collect();
    ids.extend(refreshed.evidence.iter().copied());
    Fact::new(
        id,
        refreshed.outcome,
        format!(
            "snapshots from {} on; {}",
            model::time::format_time(*first),
            refreshed.message
        ),
        ids,
    )
}

/// Inventory as of any date.
pub static INVENTORY_RECONSTRUCTABLE: Probe = Probe {
    id: "inventory-reconstructable",
    question: "Can the inventory be reconstructed as of any date in the look-back (snapshots from before the window, refreshed throughout)?",
    kinds: &[Kind::AssetSnapshot],
    remediation: "Keep every snapshot in the ledger from before the look-back window on.",
    effort_weeks: 1,
    run: inventory_reconstructable,
};

/// Whether an asset is a production one (its `environment` or `lifecycle`).
pub fn is_production(asset: &Value) -> bool {
    ["environment", "lifecycle"].iter().any(|key| {
        asset
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(crate::is_production_name)
    })
}

fn services_owned_and_reviewed(view: &View<'_>, _: &Params) -> Fact {
    let id = "services-owned-and-reviewed";
    let grouped = snapshots(view);
    let Some((taken, records)) = grouped.iter().next_back() else {
        return Fact::new(id, Outcome::NotAvailable, "no asset_snapshot evidence", Vec::new());
    };
    let limit = view.days_before(view.thresholds.review_days);
    let mut production = 0;
    let mut failing = Vec::new();
    for record in records {
        for asset in assets(record)
            .into_iter()
            .filter(|asset| is_production(asset) && in_scope(view, asset))
        {
            production += 1;
            let name = asset.get("name").and_then(Value::as_str).unwrap_or("?");
            let owner = asset
                .get("owner")
                .and_then(Value::as_str)
                .filter(|owner| !owner.trim().is_empty());
            let reviewed = asset
                .get("last_security_review")
                .and_then(Value::as_str)
                .and_then(|value| model::time::parse_time(value).ok());
            match (owner, reviewed) {
                (None, _) => failing.push(format!("{name}: no owner")),
                (_, None) => failing.push(format!("{name}: no security review")),
                (_, Some(date)) if date < limit => failing.push(format!(
                    "{name}: last review {}",
                    model::time::format_time(date).get(..10).unwrap_or("")
                )),
                _ => {}
            }
        }
    }
    let ids: Vec<u64> = records.iter().map(|record| record.id).collect();
    if production == 0 {
        return Fact::new(
            id,
            Outcome::False,
            format!(
                "the snapshot of {} lists no production service",
                model::time::format_time(*taken)
            ),
            ids,
        );
    }
    if failing.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!(
                "all {production} production services have an owner and a security review within {} days",
                view.thresholds.review_days
            ),
            ids,
        );
    }
    let shown: Vec<&str> = failing.iter().take(5).map(String::as_str).collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} of {production} production services fail: {}",
            failing.len(),
            shown.join("; ")
        ),
        ids,
    )
}

/// Owned and reviewed.
pub static SERVICES_OWNED_AND_REVIEWED: Probe = Probe {
    id: "services-owned-and-reviewed",
    question: "Does every production service in the latest inventory have an owner and a security review within 12 months?",
    kinds: &[Kind::AssetSnapshot],
    remediation: "Record owners and security review dates in the catalogue (annotation dsomm-audit.io/last-security-review) and review stale services.",
    effort_weeks: 2,
    run: services_owned_and_reviewed,
};

fn inventory_drift_tracked(view: &View<'_>, _: &Params) -> Fact {
    let id = "inventory-drift-tracked";
    let middle = view.days_before(view.thresholds.lookback_days / 2);
    let grouped = snapshots(view);
    if grouped.is_empty() {
        return Fact::new(id, Outcome::NotAvailable, "no asset_snapshot evidence", Vec::new());
    }
    let first = grouped
        .keys()
        .filter(|time| **time >= view.window_start() && **time < middle)
        .count();
    let second = grouped.keys().filter(|time| **time >= middle).count();
    Fact::new(
        id,
        if first > 0 && second > 0 {
            Outcome::True
        } else {
            Outcome::False
        },
        format!("snapshots per half of the window: {first} then {second}; drift is visible between them"),
        view.in_window(Kind::AssetSnapshot).map(|record| record.id).collect(),
    )
}

/// Drift tracked.
pub static INVENTORY_DRIFT_TRACKED: Probe = Probe {
    id: "inventory-drift-tracked",
    question: "Is inventory drift tracked (snapshots in both halves of the window to compare)?",
    kinds: &[Kind::AssetSnapshot],
    remediation: "Keep snapshotting and review the differences each period.",
    effort_weeks: 1,
    run: inventory_drift_tracked,
};

/// The person a record is about: subject `person`, else `person`/`email`/`user`
/// attributes, else its `principal` unless `principal_type` names a machine or
/// a group (`role`, `group`, `team`, `service_account`, `root`).
pub fn person(record: &Evidence) -> Option<String> {
    let machine = matches!(
        text(record, "principal_type"),
        Some("role" | "group" | "team" | "service_account" | "root")
    );
    record
        .subject
        .person
        .clone()
        .or_else(|| {
            ["person", "email", "user", "principal"]
                .iter()
                .filter(|key| !(machine && **key == "principal"))
                .find_map(|key| text(record, key).map(str::to_string))
        })
        .map(|person| person.to_ascii_lowercase())
}

/// When each person last completed training (as of the view's time).
pub fn last_training(view: &View<'_>) -> BTreeMap<String, (Timestamp, u64)> {
    let mut last: BTreeMap<String, (Timestamp, u64)> = BTreeMap::new();
    for record in view.all(Kind::TrainingRecord) {
        if matches!(
            text(record, "status"),
            Some("assigned" | "overdue" | "not_started" | "in_progress")
        ) {
            continue;
        }
        let completed = time_attr(record, "completed_at").unwrap_or(record.occurred_at);
        if completed > view.as_of {
            continue;
        }
        if let Some(person) = person(record) {
            let entry = last.entry(person).or_insert((completed, record.id));
            if completed > entry.0 {
                *entry = (completed, record.id);
            }
        }
    }
    last
}

/// People with grants: person -> (elevated?, grant ids). (The view holds
/// only the team members' grants when the inventory names them: `View::new`.)
pub fn grantees(view: &View<'_>) -> BTreeMap<String, (bool, Vec<u64>)> {
    let mut people: BTreeMap<String, (bool, Vec<u64>)> = BTreeMap::new();
    for record in view.all(Kind::IamGrant) {
        if let Some(person) = person(record) {
            let entry = people.entry(person).or_default();
            entry.0 |= record.attrs.get("elevated") == Some(&Value::Bool(true));
            entry.1.push(record.id);
        }
    }
    people
}

fn training_records_exist(view: &View<'_>, _: &Params) -> Fact {
    exists(
        "training-records-exist",
        view,
        Kind::TrainingRecord,
        false,
        "training records",
    )
}

/// Training records exist.
pub static TRAINING_RECORDS_EXIST: Probe = Probe {
    id: "training-records-exist",
    question: "Do security training records exist?",
    kinds: &[Kind::TrainingRecord],
    remediation: "Export the LMS completions and ingest them.",
    effort_weeks: 1,
    run: training_records_exist,
};

fn training_coverage(view: &View<'_>, _: &Params) -> Fact {
    let id = "training-coverage";
    let trained = last_training(view);
    let people = grantees(view);
    if trained.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no completed training_record evidence",
            Vec::new(),
        );
    }
    if people.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no iam_grant evidence: the engineers to cover are unknown",
            Vec::new(),
        );
    }
    let since = view.days_before(view.thresholds.training_period_days);
    let current: Vec<&String> = people
        .keys()
        .filter(|person| trained.get(*person).is_some_and(|(when, _)| *when >= since))
        .collect();
    let share = current.len() as f64 / people.len() as f64;
    let mut ids: Vec<u64> = current
        .iter()
        .filter_map(|person| trained.get(*person).map(|(_, id)| *id))
        .collect();
    let covered = share >= view.thresholds.coverage;
    if !covered {
        // The grants of the people not trained: what the failure rests on.
        for (person, (_, grants)) in &people {
            if !current.contains(&person) {
                ids.extend(grants.iter().take(3));
            }
        }
    }
    Fact::new(
        id,
        if covered { Outcome::True } else { Outcome::False },
        format!(
            "{} of {} people with access trained within {} days ({:.0}%)",
            current.len(),
            people.len(),
            view.thresholds.training_period_days,
            share * 100.0
        ),
        ids,
    )
}

/// Training coverage.
pub static TRAINING_COVERAGE: Probe = Probe {
    id: "training-coverage",
    question: "Have at least 90% of people with access completed security training within the training period?",
    kinds: &[Kind::TrainingRecord, Kind::IamGrant],
    remediation: "Assign the training to everyone with access and follow up on the overdue.",
    effort_weeks: 2,
    run: training_coverage,
};

/// Active, disciplined overrides that excuse `person` (rule `training` or
/// `access`, fingerprint the person's e-mail).
fn exception_for(view: &View<'_>, person: &str, rules: &[&str]) -> Option<u64> {
    let overrides: Vec<Evidence> = view.all(Kind::Override).cloned().collect();
    policy::fold(&overrides, view.as_of, view.thresholds.override_max_days)
        .into_iter()
        .find(|state| {
            state.disciplined
                && rules.contains(&state.rule.as_str())
                && state
                    .fingerprint
                    .as_deref()
                    .is_some_and(|fingerprint| fingerprint.eq_ignore_ascii_case(person))
                && state
                    .sunset
                    .as_deref()
                    .and_then(|sunset| model::time::parse_time(sunset).ok())
                    .is_some_and(|sunset| sunset >= view.as_of)
        })
        .map(|state| state.id)
}

/// People with elevated access whose training is overdue and who have no exception.
pub fn overdue_elevated(view: &View<'_>) -> Vec<(String, Vec<u64>)> {
    let trained = last_training(view);
    let since = view.days_before(view.thresholds.training_period_days);
    grantees(view)
        .into_iter()
        .filter(|(_, (elevated, _))| *elevated)
        .filter(|(person, _)| trained.get(person).is_none_or(|(when, _)| *when < since))
        .map(|(person, (_, ids))| (person, ids))
        .collect()
}

fn elevated_access_trained(view: &View<'_>, _: &Params) -> Fact {
    let id = "elevated-access-trained";
    if !view.has(Kind::IamGrant) {
        return Fact::new(id, Outcome::NotAvailable, "no iam_grant evidence", Vec::new());
    }
    if !view.has(Kind::TrainingRecord) {
        return Fact::new(id, Outcome::NotAvailable, "no training_record evidence", Vec::new());
    }
    let mut ids = Vec::new();
    let mut failing = Vec::new();
    for (person, grants) in overdue_elevated(view) {
        match exception_for(view, &person, &["training", "access"]) {
            Some(exception) => ids.push(exception),
            None => {
                ids.extend(grants.iter().take(3));
                failing.push(person);
            }
        }
    }
    if failing.is_empty() {
        // Cite what the answer rests on: each elevated grant and its holder's
        // latest training (or, when nobody holds elevated access, the grants).
        let trained = last_training(view);
        let people = grantees(view);
        let mut elevated_anyone = false;
        for (person, (elevated, grants)) in &people {
            if *elevated {
                elevated_anyone = true;
                ids.extend(grants.iter().take(3));
                ids.extend(trained.get(person).map(|(_, record)| *record));
            }
        }
        if !elevated_anyone {
            ids.extend(view.all(Kind::IamGrant).map(|record| record.id));
        }
        return Fact::new(
            id,
            Outcome::True,
            "everyone with elevated access is trained or holds a time-bound exception",
            ids,
        );
    }
    let shown: Vec<&str> = failing.iter().take(5).map(String::as_str).collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} people with elevated access are overdue on training without an exception: {}",
            failing.len(),
            shown.join(", ")
        ),
        ids,
    )
}

/// Elevated access trained.
pub static ELEVATED_ACCESS_TRAINED: Probe = Probe {
    id: "elevated-access-trained",
    question: "Is nobody with elevated access overdue on training without a time-bound exception?",
    kinds: &[Kind::IamGrant, Kind::TrainingRecord, Kind::Override],
    remediation: "Revoke elevated access of the overdue or record a time-bound exception (override rule `training`, fingerprint the person).",
    effort_weeks: 2,
    run: elevated_access_trained,
};

fn training_trend(view: &View<'_>, _: &Params) -> Fact {
    let id = "training-trend";
    let middle = view.days_before(view.thresholds.lookback_days / 2);
    let scored: Vec<&Evidence> = view
        .in_window(Kind::TrainingRecord)
        .filter(|record| record.attrs.get("score").is_some())
        .collect();
    if scored.is_empty() {
        return Fact::new(
            id,
            if view.has(Kind::TrainingRecord) {
                Outcome::False
            } else {
                Outcome::NotAvailable
            },
            "no training outcomes (scores) in the window",
            Vec::new(),
        );
    }
    let first = scored.iter().filter(|record| record.occurred_at < middle).count();
    let second = scored.len() - first;
    Fact::new(
        id,
        if first > 0 && second > 0 {
            Outcome::True
        } else {
            Outcome::False
        },
        format!("training outcomes measured per half of the window: {first} then {second}"),
        scored.iter().map(|record| record.id).collect(),
    )
}

/// Outcomes measured.
pub static TRAINING_TREND: Probe = Probe {
    id: "training-trend",
    question: "Are training outcomes (scores) measured in both halves of the window?",
    kinds: &[Kind::TrainingRecord],
    remediation: "Record scores or assessments of training and compare periods.",
    effort_weeks: 2,
    run: training_trend,
};

fn iam_grants_recorded(view: &View<'_>, _: &Params) -> Fact {
    exists("iam-grants-recorded", view, Kind::IamGrant, false, "permission grants")
}

/// IAM recorded.
pub static IAM_GRANTS_RECORDED: Probe = Probe {
    id: "iam-grants-recorded",
    question: "Are permissions (IAM, code host, cluster RBAC) exported and recorded?",
    kinds: &[Kind::IamGrant],
    remediation: "Export IAM authorization details, GitHub org permissions and RBAC bindings regularly.",
    effort_weeks: 1,
    run: iam_grants_recorded,
};

fn elevated_access_reviewed(view: &View<'_>, _: &Params) -> Fact {
    let id = "elevated-access-reviewed";
    if !view.has(Kind::IamGrant) {
        return Fact::new(id, Outcome::NotAvailable, "no iam_grant evidence", Vec::new());
    }
    let limit = view.days_before(view.thresholds.review_days);
    let mut failing = Vec::new();
    let mut failing_grants: Vec<u64> = Vec::new();
    let mut ids = Vec::new();
    for (person, (elevated, grants)) in grantees(view) {
        if !elevated {
            continue;
        }
        let reviewed = grants.iter().any(|id| {
            view.records
                .iter()
                .find(|record| record.id == *id)
                .and_then(|record| time_attr(record, "reviewed_at"))
                .is_some_and(|when| when >= limit)
        });
        match (reviewed, exception_for(view, &person, &["access"])) {
            (true, _) => ids.extend(grants),
            (false, Some(exception)) => ids.push(exception),
            (false, None) => {
                failing_grants.extend(grants.iter().take(3));
                failing.push(person);
            }
        }
    }
    if failing.is_empty() {
        if ids.is_empty() {
            // Nobody holds elevated access: the grants show it.
            ids.extend(view.all(Kind::IamGrant).map(|record| record.id));
        }
        return Fact::new(
            id,
            Outcome::True,
            "every elevated grant was reviewed within the review period or holds an exception",
            ids,
        );
    }
    let shown: Vec<&str> = failing.iter().take(5).map(String::as_str).collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} people hold elevated access without a recent review or exception: {}",
            failing.len(),
            shown.join(", ")
        ),
        failing_grants,
    )
}

/// Elevated access reviewed.
pub static ELEVATED_ACCESS_REVIEWED: Probe = Probe {
    id: "elevated-access-reviewed",
    question: "Was every elevated grant reviewed within the review period (or does it hold a time-bound exception)?",
    kinds: &[Kind::IamGrant, Kind::Override],
    remediation: "Review elevated access every period and record the review date.",
    effort_weeks: 2,
    run: elevated_access_reviewed,
};

/// Calendar blocks per person, by ISO week start, in the window.
fn blocks_by_week<'a>(view: &View<'a>) -> BTreeMap<String, BTreeMap<i64, Vec<&'a Evidence>>> {
    let mut weeks: BTreeMap<String, BTreeMap<i64, Vec<&'a Evidence>>> = BTreeMap::new();
    let start = view.window_start();
    // Only the team members' calendars are in the view when the inventory
    // names them (`View::new`): one champion's blocks are not every team's.
    for record in view.in_window(Kind::CalendarBlock) {
        if matches!(text(record, "status"), Some("cancelled" | "declined")) {
            continue;
        }
        let person = person(record).unwrap_or_else(|| "unknown".into());
        let week = record.occurred_at.duration_since(start).as_hours() / (24 * 7);
        weeks.entry(person).or_default().entry(week).or_default().push(record);
    }
    weeks
}

fn champion_time_protected(view: &View<'_>, _: &Params) -> Fact {
    let id = "champion-time-protected";
    let weeks = blocks_by_week(view);
    if weeks.is_empty() {
        let outcome = if view.has(Kind::CalendarBlock) {
            Outcome::False
        } else {
            Outcome::NotAvailable
        };
        return Fact::new(
            id,
            outcome,
            "no calendar blocks of protected champion time in the window",
            Vec::new(),
        );
    }
    let ids: Vec<u64> = weeks
        .values()
        .flat_map(|by_week| by_week.values().flatten().map(|record| record.id))
        .collect();
    Fact::new(
        id,
        Outcome::True,
        format!("{} champions have protected time in their calendars", weeks.len()),
        ids,
    )
}

/// Champion time protected.
pub static CHAMPION_TIME_PROTECTED: Probe = Probe {
    id: "champion-time-protected",
    question: "Do security champions have protected time blocked in their calendars?",
    kinds: &[Kind::CalendarBlock],
    remediation: "Give each champion a recurring calendar block for security work and export the calendars.",
    effort_weeks: 1,
    run: champion_time_protected,
};

fn champion_time_honoured(view: &View<'_>, _: &Params) -> Fact {
    let id = "champion-time-honoured";
    let weeks = blocks_by_week(view);
    if weeks.is_empty() {
        let outcome = if view.has(Kind::CalendarBlock) {
            Outcome::False
        } else {
            Outcome::NotAvailable
        };
        return Fact::new(
            id,
            outcome,
            "no calendar blocks of protected champion time in the window",
            Vec::new(),
        );
    }
    // Weeks are counted from the window's start: a 90-day window touches 13 of them.
    let total_weeks = ((view.thresholds.lookback_days + 6) / 7).max(1);
    let mut failing = Vec::new();
    let mut ids = Vec::new();
    for (person, by_week) in &weeks {
        let share = by_week.len() as f64 / total_weeks as f64;
        ids.extend(by_week.values().flatten().map(|record| record.id));
        if share < view.thresholds.champion_share {
            failing.push(format!("{person}: {} of {total_weeks} weeks", by_week.len()));
        }
    }
    if failing.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!(
                "all {} champions kept their time in at least {:.0}% of weeks",
                weeks.len(),
                view.thresholds.champion_share * 100.0
            ),
            ids,
        );
    }
    Fact::new(
        id,
        Outcome::False,
        format!(
            "champion time kept in fewer than {:.0}% of weeks: {}",
            view.thresholds.champion_share * 100.0,
            failing.join("; ")
        ),
        ids,
    )
}

/// Champion time honoured.
pub static CHAMPION_TIME_HONOURED: Probe = Probe {
    id: "champion-time-honoured",
    question: "Is each champion's protected time kept in at least 80% of the weeks of the window?",
    kinds: &[Kind::CalendarBlock],
    remediation: "Protect the blocks from meetings and track that they are kept.",
    effort_weeks: 1,
    run: champion_time_honoured,
};

fn model_key(record: &Evidence) -> String {
    record
        .subject
        .service
        .clone()
        .or_else(|| record.subject.repo.clone())
        .or_else(|| text(record, "service").map(str::to_string))
        .or_else(|| text(record, "title").map(str::to_string))
        .unwrap_or_else(|| format!("model {}", record.id))
}

fn threat_model_exists(view: &View<'_>, _: &Params) -> Fact {
    exists("threat-model-exists", view, Kind::ThreatModel, false, "threat models")
}

/// Threat model exists.
pub static THREAT_MODEL_EXISTS: Probe = Probe {
    id: "threat-model-exists",
    question: "Does at least one threat model exist?",
    kinds: &[Kind::ThreatModel],
    remediation: "Threat-model one service (e.g. with OWASP Threat Dragon) and ingest the model.",
    effort_weeks: 1,
    run: threat_model_exists,
};

fn threat_models_for_services(view: &View<'_>, _: &Params) -> Fact {
    let id = "threat-models-for-services";
    let modelled: BTreeSet<String> = view.all(Kind::ThreatModel).map(model_key).collect();
    if modelled.is_empty() {
        return Fact::new(id, Outcome::NotAvailable, "no threat_model evidence", Vec::new());
    }
    let ids: Vec<u64> = view.all(Kind::ThreatModel).map(|record| record.id).collect();
    Fact::new(
        id,
        if modelled.len() >= 2 || !view.scope.services.is_empty() && !modelled.is_empty() {
            Outcome::True
        } else {
            Outcome::False
        },
        format!(
            "threat models for {} services: {}",
            modelled.len(),
            modelled.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ),
        ids,
    )
}

/// Models for some services.
pub static THREAT_MODELS_FOR_SERVICES: Probe = Probe {
    id: "threat-models-for-services",
    question: "Do several services (or the team's services) have threat models?",
    kinds: &[Kind::ThreatModel],
    remediation: "Extend threat modelling to every service the team owns.",
    effort_weeks: 3,
    run: threat_models_for_services,
};

fn threat_model_before_deploy(view: &View<'_>, _: &Params) -> Fact {
    let id = "threat-model-before-deploy";
    if !view.has(Kind::ThreatModel) {
        return Fact::new(id, Outcome::NotAvailable, "no threat_model evidence", Vec::new());
    }
    let deploys = crate::runtime::prod_deploys(view);
    if deploys.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no production deploy evidence in the window",
            Vec::new(),
        );
    }
    let mut first_deploy: BTreeMap<String, &Evidence> = BTreeMap::new();
    for deploy in &deploys {
        first_deploy.entry(model_key(deploy)).or_insert(deploy);
    }
    let models: Vec<&Evidence> = view.all(Kind::ThreatModel).collect();
    let mut ids = Vec::new();
    let mut failing = Vec::new();
    for (service, deploy) in &first_deploy {
        ids.push(deploy.id);
        let before = models.iter().find(|model| {
            model_key(model) == *service
                && model.occurred_at <= deploy.occurred_at
                && model
                    .attrs
                    .get("mitigations")
                    .and_then(Value::as_u64)
                    .is_none_or(|count| count > 0)
        });
        match before {
            Some(model) => ids.push(model.id),
            None => failing.push(service.clone()),
        }
    }
    if failing.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!(
                "all {} services deployed in the window had a threat model with mitigations before their first deploy",
                first_deploy.len()
            ),
            ids,
        );
    }
    let shown: Vec<&str> = failing.iter().take(5).map(String::as_str).collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} of {} deployed services had no threat model before their first deploy in the window: {}",
            failing.len(),
            first_deploy.len(),
            shown.join(", ")
        ),
        ids,
    )
}

/// Model before deploy.
pub static THREAT_MODEL_BEFORE_DEPLOY: Probe = Probe {
    id: "threat-model-before-deploy",
    question: "Did every service deployed to production in the window have a threat model with mitigations dated before its first deploy?",
    kinds: &[Kind::ThreatModel, Kind::Deploy],
    remediation: "Make a threat model part of design review, before the first production deploy.",
    effort_weeks: 4,
    run: threat_model_before_deploy,
};

fn threat_models_revisited(view: &View<'_>, _: &Params) -> Fact {
    let id = "threat-models-revisited";
    let mut versions: BTreeMap<String, BTreeSet<Timestamp>> = BTreeMap::new();
    for record in view.all(Kind::ThreatModel) {
        versions
            .entry(model_key(record))
            .or_default()
            .insert(record.occurred_at);
    }
    if versions.is_empty() {
        return Fact::new(id, Outcome::NotAvailable, "no threat_model evidence", Vec::new());
    }
    let start = view.window_start();
    let revisited: Vec<&String> = versions
        .iter()
        .filter(|(_, times)| times.len() >= 2 && times.iter().any(|time| *time >= start))
        .map(|(key, _)| key)
        .collect();
    Fact::new(
        id,
        if revisited.len() == versions.len() {
            Outcome::True
        } else {
            Outcome::False
        },
        format!(
            "{} of {} modelled services had their model revisited in the window",
            revisited.len(),
            versions.len()
        ),
        view.all(Kind::ThreatModel).map(|record| record.id).collect(),
    )
}

/// Models revisited.
pub static THREAT_MODELS_REVISITED: Probe = Probe {
    id: "threat-models-revisited",
    question: "Is every threat model revisited (a newer version recorded in the window)?",
    kinds: &[Kind::ThreatModel],
    remediation: "Review threat models when the design changes, at least once per period.",
    effort_weeks: 2,
    run: threat_models_revisited,
};

fn attestations<'a>(view: &View<'a>, params: &Params) -> Vec<&'a Evidence> {
    view.all(Kind::Attestation)
        .filter(|record| text(record, "activity") == Some(params.activity.as_str()))
        .collect()
}

fn attested(view: &View<'_>, params: &Params) -> Fact {
    let id = "attested";
    let found = attestations(view, params);
    match found.last() {
        Some(latest) => Fact::new(
            id,
            Outcome::True,
            format!(
                "attested by {} ({})",
                text(latest, "attester").unwrap_or("?"),
                text(latest, "document").unwrap_or("no document named")
            ),
            found.iter().map(|record| record.id).collect(),
        ),
        None => Fact::new(
            id,
            if view.has(Kind::Attestation) {
                Outcome::False
            } else {
                Outcome::NotAvailable
            },
            "no attestation for this activity",
            Vec::new(),
        ),
    }
}

/// Attested.
pub static ATTESTED: Probe = Probe {
    id: "attested",
    question: "Has the activity's owner attested it with a document?",
    kinds: &[Kind::Attestation],
    remediation: "Record an attestation (`dsomm-audit attest`) naming the document that shows the activity.",
    effort_weeks: 1,
    run: attested,
};

fn attestation_reviewed(view: &View<'_>, params: &Params) -> Fact {
    let id = "attestation-reviewed";
    let found = attestations(view, params);
    if found.is_empty() {
        return Fact::new(
            id,
            if view.has(Kind::Attestation) {
                Outcome::False
            } else {
                Outcome::NotAvailable
            },
            "no attestation for this activity",
            Vec::new(),
        );
    }
    let limit = view.days_before(view.thresholds.review_days);
    let good = found.iter().rev().find(|record| {
        let attester = text(record, "attester").unwrap_or("");
        let reviewer = text(record, "reviewer").unwrap_or("");
        let dated = time_attr(record, "document_date").unwrap_or(record.occurred_at);
        !reviewer.is_empty() && !reviewer.eq_ignore_ascii_case(attester) && dated >= limit
    });
    match good {
        Some(record) => Fact::new(
            id,
            Outcome::True,
            format!(
                "attested by {} and reviewed by {}",
                text(record, "attester").unwrap_or("?"),
                text(record, "reviewer").unwrap_or("?")
            ),
            vec![record.id],
        ),
        None => Fact::new(
            id,
            Outcome::False,
            "no attestation reviewed by someone other than its attester with a document from the last 12 months",
            found.iter().map(|record| record.id).collect(),
        ),
    }
}

/// Reviewed attestation.
pub static ATTESTATION_REVIEWED: Probe = Probe {
    id: "attestation-reviewed",
    question: "Was the attestation reviewed by someone other than the attester, with a document from the last 12 months?",
    kinds: &[Kind::Attestation],
    remediation: "Have someone other than the owner review the attestation and its document yearly.",
    effort_weeks: 1,
    run: attestation_reviewed,
};
