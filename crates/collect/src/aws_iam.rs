//! AWS IAM collector: `aws iam get-account-authorization-details` output, the
//! credential report (the `get-credential-report` JSON with `Content` in base64
//! or as plain CSV text, or the CSV itself) and CloudTrail log files into
//! `iam_grant` records (see [`crate::iam`] for the shared attributes).
//!
//! Authorization details: one grant per user or role and policy: attached
//! managed policies, inline policies and, for users, every policy of each of
//! their groups (`via: group/<name>`). `what` is the policy name, `where` is
//! `aws:<account id>` from the principal's ARN. A grant is elevated with reason
//! `AdministratorAccess` (the managed policy), `Action: "*"` (an `Allow`
//! statement whose action is `*` or `*:*`), `NotAction allow (all actions
//! except ...)` or `iam:*`. Managed policy documents are read from the
//! `Policies` list (the default version). A principal's permissions boundary
//! is recorded on each of its grants (`permissions_boundary`) and named in an
//! elevated grant's reason.
//!
//! Credential report: per row a grant `console password` when the password
//! is enabled, `access key 1`/`access key 2` when active, and `root user` for
//! the `<root_account>` row (elevated, reason `root account`), with
//! `mfa_active`, last use and rotation times; the time is `GeneratedTime`.
//!
//! CloudTrail: each event is a permission observed in use: `what` is
//! `<service>:<eventName>`, `observed: true`, at the event's time.

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use crate::iam::{Grant, push};
use crate::{Context, Limits, Parsed, text_at};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "aws-iam";

/// Most actions copied from one policy into a grant's `actions`.
const MAX_ACTIONS: usize = 50;

/// Parse IAM authorization details, a credential report or CloudTrail events.
///
/// Never panics; every problem becomes a diagnostic naming its line or pointer.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
        return parsed;
    };
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        credential_report(text, None, context, limits, &mut parsed);
        return parsed;
    }
    for (_, document) in crate::json_documents(text, context, limits, &mut parsed.diagnostics) {
        if ["UserDetailList", "GroupDetailList", "RoleDetailList"]
            .iter()
            .any(|key| document.get(key).is_some())
        {
            authorization_details(&document, context, &mut parsed);
        } else if let Some(content) = document.get("Content").and_then(Value::as_str) {
            let generated = document
                .get("GeneratedTime")
                .and_then(Value::as_str)
                .and_then(|text| model::time::parse_time(text).ok());
            let csv = decode_content(content);
            credential_report(&csv, generated, context, limits, &mut parsed);
        } else if let Some(records) = document.get("Records").and_then(Value::as_array) {
            cloudtrail(records, context, &mut parsed);
        } else {
            parsed.diagnostics.push(context.diagnostic(
                Some(1),
                None,
                "not IAM authorization details (UserDetailList, GroupDetailList, RoleDetailList), a credential \
                 report (Content) or CloudTrail (Records); nothing recorded",
            ));
        }
    }
    parsed
}

/// The credential report's CSV: `Content` as the API gives it (base64), or
/// as plain text (as some tools save it).
fn decode_content(content: &str) -> String {
    use base64::Engine as _;
    let compact: String = content.chars().filter(|character| !character.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|text| text.contains(','))
        .unwrap_or_else(|| content.to_string())
}

/// Why a policy makes its holder elevated, if it does.
pub fn elevated_reason(name: &str, document: Option<&Value>) -> Option<String> {
    if name == "AdministratorAccess" {
        return Some("AdministratorAccess".into());
    }
    let mut not_action = None;
    let mut iam_star = false;
    for statement in allow_statements(document) {
        for action in listed(statement, "Action") {
            if action == "*" || action == "*:*" {
                return Some("Action: \"*\"".into());
            }
            iam_star |= action.eq_ignore_ascii_case("iam:*");
        }
        if not_action.is_none() && statement.get("NotAction").is_some() {
            not_action = Some(format!("NotAction allow ({})", all_except(statement)));
        }
    }
    not_action.or_else(|| iam_star.then(|| "iam:*".into()))
}

fn statements(document: Option<&Value>) -> Vec<&Value> {
    match document.and_then(|document| document.get("Statement")) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    }
}

fn allow_statements(document: Option<&Value>) -> impl Iterator<Item = &Value> {
    statements(document)
        .into_iter()
        .filter(|statement| statement.get("Effect").and_then(Value::as_str) == Some("Allow"))
}

/// The actions a statement lists under `key` (`Action` or `NotAction`).
fn listed<'a>(statement: &'a Value, key: &str) -> Vec<&'a str> {
    match statement.get(key) {
        Some(Value::String(action)) => vec![action.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// What an `Allow` with `NotAction` allows: `all actions except a, b`.
fn all_except(statement: &Value) -> String {
    crate::cut_text(
        &format!("all actions except {}", listed(statement, "NotAction").join(", ")),
        256,
    )
}

/// The allowed actions of a policy document (at most [`MAX_ACTIONS`]); an
/// `Allow` with `NotAction` is listed as `all actions except ...`.
fn allowed_actions(document: Option<&Value>) -> Value {
    let mut found: Vec<Value> = Vec::new();
    for statement in allow_statements(document) {
        let mut actions: Vec<String> = listed(statement, "Action")
            .into_iter()
            .map(|action| crate::cut_text(action, 256))
            .collect();
        if statement.get("NotAction").is_some() {
            actions.push(all_except(statement));
        }
        for action in actions {
            if found.len() < MAX_ACTIONS && !found.iter().any(|known| known.as_str() == Some(&action)) {
                found.push(action.into());
            }
        }
    }
    Value::Array(found)
}

/// `aws:<account>` from an ARN (`arn:aws:iam::<account>:user/name`).
fn account_of(arn: &str) -> String {
    match arn.split(':').nth(4).filter(|account| !account.is_empty()) {
        Some(account) => format!("aws:{account}"),
        None => "aws".into(),
    }
}

/// A policy document as the export gives it: a JSON object (what the AWS CLI
/// writes), or a string holding JSON, URL-encoded or not (what the raw IAM API
/// returns). `Ok(None)` when there is none; `Err` (why) when it does not read.
pub fn policy_document(raw: Option<&Value>) -> Result<Option<Value>, String> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(document @ Value::Object(_)) => Ok(Some(document.clone())),
        Some(Value::String(text)) => {
            let parse = |text: &str| serde_json::from_str::<Value>(text.trim()).ok().filter(Value::is_object);
            parse(text)
                .or_else(|| percent_decode(text).and_then(|decoded| parse(&decoded)))
                .map(Some)
                .ok_or_else(|| "PolicyDocument is a string that is neither JSON nor URL-encoded JSON".to_string())
        }
        Some(other) => Err(format!(
            "PolicyDocument is {}, expected an object or a (URL-encoded) JSON string",
            crate::trivy::type_name(other)
        )),
    }
}

/// `%XX` escapes decoded (RFC 3986, as IAM encodes policy documents); `None`
/// when an escape is broken or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// One policy a principal holds: its name, document and kind.
struct Held {
    name: String,
    arn: Option<String>,
    /// The document: `None` when not in the file, `Err` when it does not read.
    document: Option<Result<Value, String>>,
    /// Where the document is, for a diagnostic when it does not read.
    document_pointer: String,
    policy_type: &'static str,
    pointer: String,
    via: Option<String>,
}

/// The policies listed on a user, group or role at `base`.
fn held<'a>(
    entity: &'a Value,
    base: &str,
    inline_key: &str,
    managed: &BTreeMap<String, (String, &'a Value)>,
    via: Option<&str>,
) -> Vec<Held> {
    let mut found = Vec::new();
    if let Some(list) = entity.get("AttachedManagedPolicies").and_then(Value::as_array) {
        for (index, policy) in list.iter().enumerate() {
            let arn = text_at(policy, "/PolicyArn");
            let name = text_at(policy, "/PolicyName")
                .or_else(|| {
                    arn.as_deref()
                        .and_then(|arn| arn.rsplit('/').next())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "?".into());
            let document = arn.as_ref().and_then(|arn| managed.get(arn));
            found.push(Held {
                document: document.and_then(|(_, raw)| policy_document(Some(raw)).transpose()),
                document_pointer: document.map_or_else(String::new, |(pointer, _)| pointer.clone()),
                name,
                arn,
                policy_type: "managed",
                pointer: format!("{base}/AttachedManagedPolicies/{index}"),
                via: via.map(str::to_string),
            });
        }
    }
    if let Some(list) = entity.get(inline_key).and_then(Value::as_array) {
        for (index, policy) in list.iter().enumerate() {
            found.push(Held {
                name: text_at(policy, "/PolicyName").unwrap_or_else(|| "?".into()),
                arn: None,
                document: policy_document(policy.get("PolicyDocument")).transpose(),
                document_pointer: format!("{base}/{inline_key}/{index}/PolicyDocument"),
                policy_type: "inline",
                pointer: format!("{base}/{inline_key}/{index}"),
                via: via.map(str::to_string),
            });
        }
    }
    found
}

fn authorization_details(document: &Value, context: &Context, parsed: &mut Parsed) {
    // Each managed policy's default version: its pointer and raw document.
    let mut managed: BTreeMap<String, (String, &Value)> = BTreeMap::new();
    for (index, policy) in document
        .get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(arn) = text_at(policy, "/Arn") else { continue };
        let versions = policy.get("PolicyVersionList").and_then(Value::as_array);
        let default = versions
            .into_iter()
            .flatten()
            .enumerate()
            .find(|(_, version)| version.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true));
        if let Some((at, document)) =
            default.and_then(|(at, version)| version.get("Document").map(|document| (at, document)))
        {
            managed.insert(
                arn,
                (format!("/Policies/{index}/PolicyVersionList/{at}/Document"), document),
            );
        }
    }
    let mut groups: BTreeMap<String, (usize, &Value)> = BTreeMap::new();
    for (index, group) in document
        .get("GroupDetailList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(name) = text_at(group, "/GroupName") {
            groups.insert(name, (index, group));
        }
    }
    for (list, kind, inline_key) in [
        ("UserDetailList", "user", "UserPolicyList"),
        ("RoleDetailList", "role", "RolePolicyList"),
    ] {
        for (index, entity) in document
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let base = format!("/{list}/{index}");
            let name_key = if kind == "user" { "/UserName" } else { "/RoleName" };
            let Some(name) = text_at(entity, name_key) else {
                parsed.diagnostics.push(context.diagnostic(
                    None,
                    Some(base),
                    format!("{kind} without {}; skipped", &name_key[1..]),
                ));
                continue;
            };
            let arn = text_at(entity, "/Arn").unwrap_or_default();
            let boundary = text_at(entity, "/PermissionsBoundary/PermissionsBoundaryArn");
            let mut policies = held(entity, &base, inline_key, &managed, None);
            for group in entity.get("GroupList").and_then(Value::as_array).into_iter().flatten() {
                let Some(group_name) = group.as_str() else { continue };
                match groups.get(group_name) {
                    Some((group_index, group)) => policies.extend(held(
                        group,
                        &format!("/GroupDetailList/{group_index}"),
                        "GroupPolicyList",
                        &managed,
                        Some(&format!("group/{group_name}")),
                    )),
                    None => parsed.diagnostics.push(model::Diagnostic {
                        warning: true,
                        ..context.diagnostic(
                            None,
                            Some(format!("{base}/GroupList")),
                            format!(
                                "group `{}` is not in GroupDetailList: its policies are unknown",
                                crate::cut_text(group_name, 256)
                            ),
                        )
                    }),
                }
            }
            for policy in policies {
                let mut extra = Map::new();
                extra.insert("arn".into(), arn.clone().into());
                extra.insert("policy_type".into(), policy.policy_type.into());
                extra.insert("policy_arn".into(), policy.arn.clone().map_or(Value::Null, Value::from));
                let document = match policy.document {
                    Some(Ok(document)) => Some(document),
                    Some(Err(message)) => {
                        // Never read as "allows nothing": the grant says its
                        // document is unknown, and a warning says why.
                        parsed.diagnostics.push(model::Diagnostic {
                            warning: true,
                            ..context.diagnostic(
                                None,
                                Some(policy.document_pointer.clone()),
                                format!(
                                    "policy `{}`: {message}; recorded with document_known: false",
                                    crate::cut_text(&policy.name, 256)
                                ),
                            )
                        });
                        None
                    }
                    None => None,
                };
                extra.insert("actions".into(), allowed_actions(document.as_ref()));
                if document.is_none() {
                    extra.insert("document_known".into(), false.into());
                }
                // A permissions boundary caps what the policy allows; the
                // grant stays elevated (the boundary may allow as much, and
                // is one edit away from it) but says it is bounded.
                let mut reason = elevated_reason(&policy.name, document.as_ref());
                if let Some(boundary) = &boundary {
                    extra.insert("permissions_boundary".into(), boundary.clone().into());
                    reason = reason.map(|reason| {
                        format!(
                            "{reason}; bounded by permissions boundary {}",
                            crate::cut_text(boundary, 256)
                        )
                    });
                }
                let grant = Grant {
                    principal: name.clone(),
                    principal_type: kind,
                    email: None,
                    reason,
                    what: policy.name,
                    place: account_of(&arn),
                    via: policy.via,
                    extra,
                };
                push(parsed, context, COLLECTOR, grant, None, None, Some(policy.pointer));
            }
        }
    }
}

/// The credential report's time columns.
const TIME_COLUMNS: [&str; 7] = [
    "user_creation_time",
    "password_last_used",
    "password_last_changed",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
];

fn credential_report(
    text: &str,
    generated: Option<Timestamp>,
    context: &Context,
    limits: &Limits,
    parsed: &mut Parsed,
) {
    let Some((header, rows)) = crate::csv_rows(text.as_bytes(), context, limits, &mut parsed.diagnostics) else {
        return;
    };
    let column = |name: &str| header.iter().position(|cell| cell == name);
    let (Some(user), Some(arn)) = (column("user"), column("arn")) else {
        parsed.diagnostics.push(context.diagnostic(
            Some(1),
            None,
            "not a credential report: the header has no `user` and `arn` columns; nothing recorded",
        ));
        return;
    };
    let cell = |row: &[String], name: &str| -> Option<String> {
        column(name)
            .and_then(|index| row.get(index))
            .map(String::as_str)
            .filter(|value| {
                !value.is_empty() && *value != "N/A" && *value != "not_supported" && *value != "no_information"
            })
            .map(str::to_string)
    };
    let before = parsed.evidence.len();
    let last_line = rows.last().map_or(1, |(line, _)| *line);
    for (line, row) in rows {
        let Some(name) = row.get(user).filter(|name| !name.is_empty()).cloned() else {
            parsed.diagnostics.push(context.diagnostic(
                Some(line),
                None,
                "credential report row without a user; skipped",
            ));
            continue;
        };
        // A time cell is kept as written when it reads as an RFC 3339 time
        // with a zone (1970..9999); otherwise a warning names the row and
        // column, and the attribute is null.
        let mut unreadable_times: Vec<&str> = Vec::new();
        for column_name in TIME_COLUMNS {
            if let Some(value) = cell(&row, column_name)
                && let Err(error) = model::time::parse_time(&value)
            {
                unreadable_times.push(column_name);
                parsed.diagnostics.push(context.warning(
                    Some(line),
                    format!("column `{column_name}`: {error}; recorded without it"),
                ));
            }
        }
        let cell = |row: &[String], name: &str| cell(row, name).filter(|_| !unreadable_times.contains(&name));
        let arn_text = row.get(arn).cloned().unwrap_or_default();
        let root = name == "<root_account>";
        let mfa = cell(&row, "mfa_active").map(|value| value == "true");
        let base = |what: &str| {
            let mut extra = Map::new();
            extra.insert("arn".into(), arn_text.clone().into());
            extra.insert("mfa_active".into(), mfa.map_or(Value::Null, Value::from));
            extra.insert("created_at".into(), json!(cell(&row, "user_creation_time")));
            Grant {
                principal: name.clone(),
                principal_type: if root { "root" } else { "user" },
                what: what.to_string(),
                place: account_of(&arn_text),
                reason: root.then(|| "root account".to_string()),
                extra,
                ..Grant::default()
            }
        };
        let mut grants = Vec::new();
        if root {
            let mut grant = base("root user");
            grant
                .extra
                .insert("password_last_used".into(), json!(cell(&row, "password_last_used")));
            grants.push(grant);
        } else if cell(&row, "password_enabled").as_deref() == Some("true") {
            let mut grant = base("console password");
            grant
                .extra
                .insert("password_last_used".into(), json!(cell(&row, "password_last_used")));
            grant.extra.insert(
                "password_last_changed".into(),
                json!(cell(&row, "password_last_changed")),
            );
            grants.push(grant);
        }
        for key in 1..=2 {
            if cell(&row, &format!("access_key_{key}_active")).as_deref() != Some("true") {
                continue;
            }
            let mut grant = base(&format!("access key {key}"));
            for field in [
                "last_rotated",
                "last_used_date",
                "last_used_service",
                "last_used_region",
            ] {
                grant
                    .extra
                    .insert(field.into(), json!(cell(&row, &format!("access_key_{key}_{field}"))));
            }
            grants.push(grant);
        }
        for grant in grants {
            push(parsed, context, COLLECTOR, grant, generated, Some(line), None);
        }
    }
    if parsed.evidence.len() == before && !parsed.refused_any() {
        parsed.diagnostics.push(context.diagnostic(
            Some(last_line),
            None,
            "credential report without a root user, enabled password or active access key; nothing recorded",
        ));
    }
}

fn cloudtrail(records: &[Value], context: &Context, parsed: &mut Parsed) {
    for (index, event) in records.iter().enumerate() {
        let pointer = format!("/Records/{index}");
        let identity = event.get("userIdentity");
        let name = identity.and_then(|identity| {
            text_at(identity, "/userName")
                .or_else(|| text_at(identity, "/sessionContext/sessionIssuer/userName"))
                .or_else(|| text_at(identity, "/arn"))
        });
        let (Some(name), Some(event_name)) = (name, text_at(event, "/eventName")) else {
            parsed.diagnostics.push(context.diagnostic(
                None,
                Some(pointer),
                "CloudTrail event without a user identity or eventName; skipped",
            ));
            continue;
        };
        let service = text_at(event, "/eventSource")
            .map(|source| source.trim_end_matches(".amazonaws.com").to_string())
            .unwrap_or_else(|| "?".into());
        let identity_type = identity
            .and_then(|identity| text_at(identity, "/type"))
            .unwrap_or_default();
        let arn = identity
            .and_then(|identity| text_at(identity, "/arn"))
            .unwrap_or_default();
        let account = identity
            .and_then(|identity| text_at(identity, "/accountId"))
            .map(|account| format!("aws:{account}"))
            .unwrap_or_else(|| account_of(&arn));
        let mut extra = Map::new();
        extra.insert("observed".into(), true.into());
        extra.insert("arn".into(), arn.into());
        extra.insert("region".into(), json!(text_at(event, "/awsRegion")));
        extra.insert("source_ip".into(), json!(text_at(event, "/sourceIPAddress")));
        let principal_type = match identity_type.as_str() {
            "Root" => "root",
            "AssumedRole" => "role",
            "AWSService" => "service_account",
            _ => "user",
        };
        let what = format!("{service}:{event_name}");
        let grant = Grant {
            principal: name,
            principal_type,
            reason: (principal_type == "root").then(|| "root account".to_string()),
            what,
            place: account,
            extra,
            ..Grant::default()
        };
        let time = event
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(|text| model::time::parse_time(text).ok());
        push(parsed, context, COLLECTOR, grant, time, None, Some(pointer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Parsed {
        let context = Context {
            origin: "iam.json".into(),
            sha256: "00".into(),
            ..Context::default()
        };
        parse(text.as_bytes(), &context, &Limits::default())
    }

    fn reasons(parsed: &Parsed) -> Vec<(String, String, Value)> {
        parsed
            .evidence
            .iter()
            .map(|record| {
                (
                    record.attrs["principal"].as_str().unwrap_or("").to_string(),
                    record.attrs["what"].as_str().unwrap_or("").to_string(),
                    record.attrs["reason"].clone(),
                )
            })
            .collect()
    }

    #[test]
    fn each_elevated_reason_is_found() {
        let parsed = check(
            r#"{"UserDetailList": [
              {"UserName": "admin", "Arn": "arn:aws:iam::111122223333:user/admin",
               "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]},
              {"UserName": "star", "Arn": "arn:aws:iam::111122223333:user/star",
               "UserPolicyList": [{"PolicyName": "all", "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}}]},
              {"UserName": "iam", "Arn": "arn:aws:iam::111122223333:user/iam", "GroupList": ["ops"]},
              {"UserName": "reader", "Arn": "arn:aws:iam::111122223333:user/reader",
               "UserPolicyList": [{"PolicyName": "read", "PolicyDocument": {"Statement": [
                  {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
                  {"Effect": "Deny", "Action": "*", "Resource": "*"}]}}]}],
             "GroupDetailList": [{"GroupName": "ops", "AttachedManagedPolicies": [{"PolicyName": "IAMFullAccess", "PolicyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}]}],
             "RoleDetailList": [],
             "Policies": [{"Arn": "arn:aws:iam::aws:policy/IAMFullAccess", "PolicyName": "IAMFullAccess",
               "PolicyVersionList": [{"IsDefaultVersion": true, "Document": {"Statement": [{"Effect": "Allow", "Action": ["iam:*", "organizations:DescribeAccount"], "Resource": "*"}]}}]}]}"#,
        );
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(
            reasons(&parsed),
            vec![
                (
                    "admin".into(),
                    "AdministratorAccess".into(),
                    json!("AdministratorAccess")
                ),
                ("star".into(), "all".into(), json!("Action: \"*\"")),
                ("iam".into(), "IAMFullAccess".into(), json!("iam:*")),
                ("reader".into(), "read".into(), Value::Null),
            ]
        );
        let via = &parsed.evidence[2].attrs;
        assert_eq!(via["via"], "group/ops");
        assert_eq!(via["where"], "aws:111122223333");
        assert_eq!(via["elevated"], true);
        assert_eq!(parsed.evidence[3].attrs["elevated"], false);
        assert_eq!(parsed.evidence[3].attrs["actions"], json!(["s3:GetObject"]));
    }

    #[test]
    fn an_allow_with_not_action_is_elevated_and_listed() {
        let user = |name: &str, statement: Value| {
            json!({"UserName": name, "Arn": format!("arn:aws:iam::111122223333:user/{name}"),
                   "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": {"Statement": statement}}]})
        };
        let input = json!({"UserDetailList": [
            user("power", json!([
                {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["iam:ListRoles"], "Resource": "*"}])),
            user("allbutone", json!({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"})),
            user("denied", json!({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"})),
        ]});
        let parsed = check(&input.to_string());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let found: Vec<(Value, Value, Value)> = parsed
            .evidence
            .iter()
            .map(|record| {
                (
                    record.attrs["elevated"].clone(),
                    record.attrs["reason"].clone(),
                    record.attrs["actions"].clone(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    json!(true),
                    json!("NotAction allow (all actions except iam:*, organizations:*)"),
                    json!(["all actions except iam:*, organizations:*", "iam:ListRoles"])
                ),
                (
                    json!(true),
                    json!("NotAction allow (all actions except s3:GetObject)"),
                    json!(["all actions except s3:GetObject"])
                ),
                (json!(false), Value::Null, json!([])),
            ]
        );
    }

    #[test]
    fn a_permissions_boundary_is_recorded_on_the_grant() {
        let input = json!({"UserDetailList": [
            {"UserName": "bounded", "Arn": "arn:aws:iam::111122223333:user/bounded",
             "AttachedManagedPolicies": [
                {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                {"PolicyName": "Reader", "PolicyArn": "arn:aws:iam::111122223333:policy/Reader"}],
             "PermissionsBoundary": {"PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/ReadOnlyBoundary"}}],
            "Policies": [{"Arn": "arn:aws:iam::111122223333:policy/Reader", "PolicyName": "Reader",
               "PolicyVersionList": [{"IsDefaultVersion": true, "Document": {"Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}}]}]});
        let parsed = check(&input.to_string());
        let admin = &parsed.evidence[0].attrs;
        assert_eq!(admin["elevated"], true);
        assert_eq!(
            admin["reason"],
            "AdministratorAccess; bounded by permissions boundary arn:aws:iam::111122223333:policy/ReadOnlyBoundary"
        );
        assert_eq!(
            admin["permissions_boundary"],
            "arn:aws:iam::111122223333:policy/ReadOnlyBoundary"
        );
        let reader = &parsed.evidence[1].attrs;
        assert_eq!(reader["elevated"], false);
        assert_eq!(
            reader["permissions_boundary"],
            "arn:aws:iam::111122223333:policy/ReadOnlyBoundary"
        );
    }

    #[test]
    fn credential_report_times_that_do_not_read_give_a_warning_and_are_not_stored() {
        let csv = "user,arn,user_creation_time,password_enabled,password_last_used,access_key_1_active,access_key_1_last_rotated\n\
                   ann,arn:aws:iam::1:user/ann,2020-01-01T00:00:00+00:00,true,2025-13-45T00:00:00+00:00,true,yesterday\n\
                   bob,arn:aws:iam::1:user/bob,10000-01-01T00:00:00+00:00,true,2024-02-01T10:00:00,false,N/A\n\
                   cy,arn:aws:iam::1:user/cy,1969-12-31T23:59:59Z,true,2024-02-01T10:00:00Z,false,N/A\n";
        let parsed = check(csv);
        let found: Vec<(Option<u64>, bool, String)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| {
                let column = diagnostic.message.split('`').nth(1).unwrap_or_default().to_string();
                (diagnostic.line, diagnostic.warning, column)
            })
            .collect();
        let expected = [
            (2, "password_last_used"),
            (2, "access_key_1_last_rotated"),
            (3, "user_creation_time"),
            (3, "password_last_used"),
            (4, "user_creation_time"),
        ]
        .map(|(line, column)| (Some(line), true, column.to_string()));
        assert_eq!(found, expected, "{:?}", parsed.diagnostics);
        assert!(parsed.diagnostics[0].message.ends_with("; recorded without it"));
        let attrs: Vec<&Value> = parsed.evidence.iter().map(|record| &record.attrs).collect();
        assert_eq!(attrs.len(), 4, "ann's password and key, bob's and cy's passwords");
        assert_eq!(attrs[0]["created_at"], "2020-01-01T00:00:00+00:00", "kept as written");
        assert_eq!(attrs[0]["password_last_used"], Value::Null);
        assert_eq!(attrs[1]["last_rotated"], Value::Null);
        assert_eq!(attrs[2]["created_at"], Value::Null);
        assert_eq!(attrs[2]["password_last_used"], Value::Null);
        assert_eq!(attrs[3]["created_at"], Value::Null);
        assert_eq!(attrs[3]["password_last_used"], "2024-02-01T10:00:00Z");
    }

    #[test]
    fn credential_report_in_base64_plain_json_and_csv() {
        use base64::Engine as _;
        let csv = "user,arn,user_creation_time,password_enabled,password_last_used,mfa_active,access_key_1_active,access_key_2_active\n\
                   <root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,not_supported,N/A,true,false,false\n\
                   bob,arn:aws:iam::1:user/bob,2020-01-01T00:00:00+00:00,true,N/A,false,true,false\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(csv);
        for input in [
            format!(
                r#"{{"Content": "{encoded}", "GeneratedTime": "2024-05-01T10:00:00Z", "ReportFormat": "text/csv"}}"#
            ),
            serde_json::to_string(&json!({"Content": csv, "GeneratedTime": "2024-05-01T10:00:00Z"}))
                .unwrap_or_default(),
            csv.to_string(),
        ] {
            let parsed = check(&input);
            assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
            let found = reasons(&parsed);
            assert_eq!(
                found,
                vec![
                    ("<root_account>".into(), "root user".into(), json!("root account")),
                    ("bob".into(), "console password".into(), Value::Null),
                    ("bob".into(), "access key 1".into(), Value::Null),
                ]
            );
            assert_eq!(parsed.evidence[1].attrs["mfa_active"], false);
            assert_eq!(parsed.evidence[0].attrs["principal_type"], "root");
        }
    }

    #[test]
    fn malformed_input_gives_positions() {
        let parsed = check(r#"{"UserDetailList": [{"Arn": "x"}], "RoleDetailList": "no"}"#);
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics[0].pointer.as_deref(), Some("/UserDetailList/0"));
        let parsed = check("{\"UserDetailList\": [");
        assert_eq!(parsed.diagnostics.len(), 1);
        assert!(parsed.diagnostics[0].line.is_some());
        let parsed = check("user,arn,password_enabled\n,arn:x,true\nann,arn:aws:iam::1:user/ann,true\n");
        assert_eq!(parsed.evidence.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(2));
    }

    #[test]
    fn policy_documents_given_as_strings_are_decoded() {
        let document =
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
        let encoded: String = document
            .bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                    (byte as char).to_string()
                } else {
                    format!("%{byte:02X}")
                }
            })
            .collect();
        let user = |name: &str, policy: Value| {
            json!({"UserName": name, "Arn": format!("arn:aws:iam::111122223333:user/{name}"),
                   "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": policy}]})
        };
        let managed = json!({"Arn": "arn:aws:iam::aws:policy/Everything", "PolicyName": "Everything",
            "PolicyVersionList": [{"IsDefaultVersion": true, "Document": encoded}]});
        let input = json!({
            "UserDetailList": [
                user("string", Value::from(document)),
                user("encoded", Value::from(encoded.clone())),
                user("broken", Value::from("%7B%22Statement")),
                user("number", json!(7)),
                {"UserName": "managed", "Arn": "arn:aws:iam::111122223333:user/managed",
                 "AttachedManagedPolicies": [{"PolicyName": "Everything", "PolicyArn": "arn:aws:iam::aws:policy/Everything"}]}
            ],
            "GroupDetailList": [], "RoleDetailList": [], "Policies": [managed]
        });
        let parsed = check(&input.to_string());
        let found: Vec<(String, Value, Value, Value)> = parsed
            .evidence
            .iter()
            .map(|record| {
                (
                    record.attrs["principal"].as_str().unwrap_or("").to_string(),
                    record.attrs["elevated"].clone(),
                    record.attrs["actions"].clone(),
                    record.attrs.get("document_known").cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("string".into(), json!(true), json!(["*"]), Value::Null),
                ("encoded".into(), json!(true), json!(["*"]), Value::Null),
                ("broken".into(), json!(false), json!([]), json!(false)),
                ("number".into(), json!(false), json!([]), json!(false)),
                ("managed".into(), json!(true), json!(["*"]), Value::Null),
            ]
        );
        let warnings: Vec<(Option<&str>, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.pointer.as_deref(), diagnostic.warning))
            .collect();
        assert_eq!(
            warnings,
            [
                (Some("/UserDetailList/2/UserPolicyList/0/PolicyDocument"), true),
                (Some("/UserDetailList/3/UserPolicyList/0/PolicyDocument"), true),
            ]
        );
    }
}
