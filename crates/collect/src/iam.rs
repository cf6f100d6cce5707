//! What the IAM collectors (`aws_iam`, `github_org`, `kubernetes_rbac`) share:
//! one `iam_grant` record per (principal, permission, where), and matching a
//! principal to a person by e-mail or the operator's alias table.
//!
//! Attributes of every grant: `principal` (the name the source uses),
//! `principal_type` (`user`, `root`, `role`, `group`, `team`,
//! `service_account`), `person` (an e-mail address, or null when neither the
//! source nor `[people] aliases` gives one), `what`, `where`, `elevated`,
//! `reason` (why it is elevated, else null), `via` (the group or team the grant
//! comes through, else null), and source-specific extras.

use model::{EvidenceKind, Subject};
use serde_json::{Map, Value};

use crate::{Context, Parsed};

/// Principal types that name people (the others are machines or groups).
pub const PERSON_TYPES: &[&str] = &["user", "member"];

/// One permission held by one principal somewhere.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// The principal as the source names it (login, user name, ARN, subject).
    pub principal: String,
    /// `user`, `root`, `role`, `group`, `team`, `service_account`, `member`.
    pub principal_type: &'static str,
    /// An e-mail address the source states for the principal.
    pub email: Option<String>,
    /// The permission: a policy, role or repository permission.
    pub what: String,
    /// Where it applies: an account, organisation, repository, namespace, cluster.
    pub place: String,
    /// Why the grant is elevated, when it is.
    pub reason: Option<String>,
    /// The group or team the grant comes through.
    pub via: Option<String>,
    /// Source-specific attributes.
    pub extra: Map<String, Value>,
}

/// The person behind `principal`: the e-mail the source states, else the
/// alias table's entry for `source:principal`, the principal, or its last
/// path segment (`arn:aws:iam::1:user/alice` -> `alice`), compared without
/// case; else the principal itself when it is an e-mail address.
pub fn person(context: &Context, source: &str, principal: &str, email: Option<&str>) -> Option<String> {
    if let Some(email) = email.map(str::trim).filter(|email| email.contains('@')) {
        return Some(email.to_ascii_lowercase());
    }
    let lower = principal.trim().to_ascii_lowercase();
    let short = lower.rsplit(['/', ':']).next().unwrap_or(&lower).to_string();
    if let Some(aliases) = &context.aliases {
        let candidates = [
            format!("{source}:{lower}"),
            lower.clone(),
            format!("{source}:{short}"),
            short,
        ];
        if let Some(found) = candidates.iter().find_map(|key| aliases.get(key)) {
            return Some(found.to_ascii_lowercase());
        }
    }
    lower.contains('@').then_some(lower)
}

/// Push one `iam_grant` record for `grant`, found at `pointer` (or `line`).
pub fn push(
    parsed: &mut Parsed,
    context: &Context,
    collector: &str,
    grant: Grant,
    time: Option<jiff::Timestamp>,
    line: Option<u64>,
    pointer: Option<String>,
) {
    let source = collector.split('-').next().unwrap_or(collector);
    let person = if PERSON_TYPES.contains(&grant.principal_type) {
        person(context, source, &grant.principal, grant.email.as_deref())
    } else {
        None
    };
    let mut attrs = Map::new();
    attrs.insert("principal".into(), crate::cut_text(&grant.principal, 1024).into());
    attrs.insert("principal_type".into(), grant.principal_type.into());
    attrs.insert("person".into(), person.clone().map_or(Value::Null, Value::from));
    attrs.insert("what".into(), crate::cut_text(&grant.what, 1024).into());
    attrs.insert("where".into(), crate::cut_text(&grant.place, 1024).into());
    attrs.insert("elevated".into(), grant.reason.is_some().into());
    attrs.insert("reason".into(), grant.reason.map_or(Value::Null, Value::from));
    attrs.insert("via".into(), grant.via.map_or(Value::Null, Value::from));
    for (key, value) in grant.extra {
        attrs.entry(key).or_insert(value);
    }
    let subject = Subject {
        person,
        repo: context.repo.clone(),
        ..Subject::default()
    };
    let mut record = context.record(
        collector,
        EvidenceKind::IamGrant,
        time,
        subject,
        pointer,
        Value::Object(attrs),
    );
    record.source.line = line;
    parsed.evidence.push(record);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[test]
    fn people_are_matched_by_email_then_aliases() {
        let aliases: BTreeMap<String, String> = [
            ("github:octocat".to_string(), "Mona@Example.com".to_string()),
            ("alice".to_string(), "alice@example.com".to_string()),
        ]
        .into();
        let context = Context {
            aliases: Some(Arc::new(aliases)),
            ..Context::default()
        };
        assert_eq!(
            person(&context, "github", "OctoCat", None).as_deref(),
            Some("mona@example.com")
        );
        assert_eq!(
            person(&context, "aws", "arn:aws:iam::1:user/Alice", None).as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            person(&context, "aws", "bob", Some("Bob@x.io")).as_deref(),
            Some("bob@x.io")
        );
        assert_eq!(person(&context, "aws", "carol", None), None);
        assert_eq!(
            person(&context, "kubernetes", "dave@example.com", None).as_deref(),
            Some("dave@example.com")
        );
    }
}
