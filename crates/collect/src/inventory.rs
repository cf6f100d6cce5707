//! Inventory collectors: Backstage catalog files (`--source backstage`) and
//! CSV/JSON inventories (`--source inventory`) into one `asset_snapshot`
//! record per file: the inventory as of `--occurred-at` (or the time the file
//! states; without either, the ledger's ingest time).
//!
//! Attributes: `assets` (each `name`, `kind`, `type`, `environment`, `owner`,
//! `lifecycle`, `system`, `domain`, `last_security_review` (a date), `repo`
//! (`owner/name` or null; an inventory's URL or SSH remote is made
//! `owner/name`, the text as given kept in `repo_as_given`), `depends_on`, `namespace`, `title`, `tags`, `annotations`),
//! `groups` (each `name`, `type`, `email`, `parent`, `children`, `members`:
//! e-mail addresses when the user is in the same file, else user refs) and
//! `users` (each `name`, `email`, `display_name`, `member_of`), and `format`.
//!
//! Backstage: multi-document YAML, or JSON (one entity, a list of entities or
//! the catalog API's `items`) with `apiVersion: backstage.io/*`;
//! `Component`, `System`, `API`, `Resource` and `Domain` are assets, `Group`
//! and `User` give teams and people. The last security review is the
//! annotation `dsomm-audit.io/last-security-review: YYYY-MM-DD`, the repository
//! the annotation `github.com/project-slug`.
//!
//! Inventories: CSV with a header, or JSON (a list of objects, or an object
//! with `assets` and optionally `generated_at`), with the columns `name`,
//! `type`, `environment`, `owner`, `lifecycle`, `last_security_review`, and
//! optionally `kind`, `system`, `repo`, `depends_on` (`;`-separated in CSV).
//! A row without a name, or an unreadable date, gives a diagnostic with its
//! line (or pointer); the rest lands.

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use crate::{Context, Limits, Parsed, text_at};

/// The collector id of Backstage catalogs.
pub const BACKSTAGE: &str = "backstage";

/// The collector id of CSV/JSON inventories.
pub const INVENTORY: &str = "inventory";

/// The annotation holding a component's last security review date.
pub const REVIEW_ANNOTATION: &str = "dsomm-audit.io/last-security-review";

/// Whether the head of a file is a Backstage catalog.
pub fn detect_backstage(head: &str) -> bool {
    head.lines().any(|line| {
        let line = line.trim_start_matches('\u{feff}').trim();
        line.strip_prefix("apiVersion:")
            .is_some_and(|value| value.trim().trim_matches(['"', '\'']).starts_with("backstage.io/"))
            || line.contains("\"apiVersion\"") && line.contains("\"backstage.io/")
    })
}

/// Whether a CSV header is an inventory's: a `name` and an `owner` column
/// plus an `environment`, `lifecycle` or `last_security_review` column, each
/// under any of the header names `--source inventory` reads ([`COLUMNS`]:
/// `Service,Team,Env` is `name,owner,environment`).
pub fn detect_inventory_header(first_line: &str) -> bool {
    let cells: Vec<String> = first_line.split([',', ';', '\t']).map(crate::header_key).collect();
    let has = |field: &str| {
        COLUMNS
            .iter()
            .find(|(name, _)| *name == field)
            .is_some_and(|(_, names)| cells.iter().any(|cell| names.contains(&cell.as_str())))
    };
    has("name") && has("owner") && (has("environment") || has("lifecycle") || has("last_security_review"))
}

/// A repository as `owner/name`, from `owner/name`, a URL
/// (`https://github.com/acme/auth.git`, `https://github.com/acme/auth/tree/main`),
/// an SSH remote (`git@github.com:acme/auth.git`, `ssh://git@host/acme/auth`)
/// or a host and path (`github.com/acme/auth`). `None` when the text names no
/// single `owner/name` (a path of more than two parts off github.com, such as a
/// GitLab subgroup, is not guessed at).
pub fn normal_repo(text: &str) -> Option<String> {
    let text = text.trim();
    let (host, path) = if let Some((_, rest)) = text.split_once("://") {
        // A URL: drop any user, keep the host apart.
        let rest = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
        rest.split_once('/').map_or((rest, ""), |(host, path)| (host, path))
    } else if let Some((user_host, path)) = text.split_once(':')
        && user_host.contains('@')
        && !user_host.contains('/')
    {
        // scp-like SSH: `git@github.com:acme/auth.git`.
        (user_host.rsplit_once('@').map_or(user_host, |(_, host)| host), path)
    } else {
        match text.split_once('/') {
            // `github.com/acme/auth`: a first part with a dot is a host.
            Some((first, rest)) if first.contains('.') && rest.contains('/') => (first, rest),
            _ => ("", text),
        }
    };
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let parts: &[&str] = if host == "github.com" || host == "www.github.com" {
        parts.get(..2)?
    } else {
        &parts
    };
    let [owner, name] = parts else { return None };
    let name = name.strip_suffix(".git").unwrap_or(name);
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.'))
    };
    (valid(owner) && valid(name)).then(|| format!("{owner}/{name}"))
}

/// A date `YYYY-MM-DD`, or the local date of an RFC 3339 time.
fn review_date(text: &str) -> Result<String, String> {
    // Checked as a time (a zone is required, the range bounded), then the
    // date as written: `2025-03-01T23:30:00-05:00` was reviewed on 1 March
    // where it happened, not on the UTC date.
    model::time::parse_time(text).map_err(|error| error.to_string())?;
    jiff::fmt::temporal::Pieces::parse(text.trim())
        .map(|pieces| pieces.date().to_string())
        .map_err(|error| error.to_string())
}

/// One snapshot record for the file.
fn snapshot(
    context: &Context,
    collector: &str,
    time: Option<Timestamp>,
    attrs: Map<String, Value>,
) -> model::NewEvidence {
    let subject = model::Subject {
        repo: context.repo.clone(),
        ..model::Subject::default()
    };
    context.record(
        collector,
        model::EvidenceKind::AssetSnapshot,
        time,
        subject,
        None,
        Value::Object(attrs),
    )
}

/// `kind:namespace/name` refs made short: `group:default/team-a` -> `team-a`.
fn short_ref(reference: &str) -> String {
    let without_kind = reference.split_once(':').map_or(reference, |(_, rest)| rest);
    without_kind
        .strip_prefix("default/")
        .unwrap_or(without_kind)
        .to_string()
}

fn strings(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .take(1_000)
            .map(|item| Value::from(crate::cut_text(item, 1024)))
            .collect(),
        Some(Value::String(item)) => vec![Value::from(crate::cut_text(item, 1024))],
        _ => Vec::new(),
    }
}

/// Parse a Backstage catalog file into one `asset_snapshot`.
///
/// Never panics; every problem becomes a diagnostic naming its line or pointer.
pub fn parse_backstage(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
        return parsed;
    };
    let documents = crate::kubernetes::read_documents(text, context, limits, &mut parsed);
    let mut entities: Vec<(u64, String, &Value)> = Vec::new();
    for (line, document) in &documents {
        // The catalog API answers with a list of entities, or `items` of one.
        let (items, base) = match (document, document.get("items").and_then(Value::as_array)) {
            (Value::Array(items), _) => (Some(items), ""),
            (_, Some(items)) if document.get("kind").is_none() => (Some(items), "/items"),
            _ => (None, ""),
        };
        match items {
            Some(items) => {
                for (index, item) in items.iter().enumerate() {
                    entities.push((*line, format!("{base}/{index}"), item));
                }
            }
            None => entities.push((*line, String::new(), document)),
        }
    }
    let mut assets = Vec::new();
    let mut groups: Vec<(Map<String, Value>, Vec<String>)> = Vec::new();
    let mut users: Vec<Map<String, Value>> = Vec::new();
    if let Some((line, pointer, _)) = entities.get(limits.max_entries) {
        parsed.diagnostics.push(limits.entries_dropped(
            context,
            Some(*line),
            (!pointer.is_empty()).then(|| pointer.clone()),
            "catalog entities",
            entities.len(),
        ));
    }
    for (line, pointer, entity) in entities.into_iter().take(limits.max_entries) {
        let api_version = text_at(entity, "/apiVersion").unwrap_or_default();
        let kind = text_at(entity, "/kind").unwrap_or_default();
        let Some(name) = text_at(entity, "/metadata/name") else {
            parsed.diagnostics.push(context.diagnostic(
                Some(line),
                Some(format!("{pointer}/metadata/name")),
                "catalog entity without metadata.name; skipped",
            ));
            continue;
        };
        if !api_version.starts_with("backstage.io/") {
            parsed.diagnostics.push(model::Diagnostic {
                warning: true,
                ..context.diagnostic(
                    Some(line),
                    Some(pointer),
                    format!(
                        "`{}` is not a Backstage entity (apiVersion backstage.io/*); not recorded",
                        crate::cut_text(&name, 256)
                    ),
                )
            });
            continue;
        }
        let namespace = text_at(entity, "/metadata/namespace");
        let annotations = entity.pointer("/metadata/annotations");
        let annotation = |key: &str| {
            annotations
                .and_then(|annotations| annotations.get(key))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(|value| crate::cut_text(value, 1024))
        };
        match kind.as_str() {
            "Component" | "System" | "API" | "Resource" | "Domain" => {
                let review = match annotation(REVIEW_ANNOTATION) {
                    Some(value) => match review_date(&value) {
                        Ok(date) => Some(date),
                        Err(error) => {
                            parsed.diagnostics.push(model::Diagnostic {
                                warning: true,
                                ..context.diagnostic(
                                    Some(line),
                                    Some(format!(
                                        "{pointer}/metadata/annotations/{}",
                                        REVIEW_ANNOTATION.replace('/', "~1")
                                    )),
                                    format!("`{name}`: last security review not read: {error}; recorded without it"),
                                )
                            });
                            None
                        }
                    },
                    None => None,
                };
                assets.push(json!({
                    "name": name,
                    "kind": kind.to_ascii_lowercase(),
                    "namespace": namespace,
                    "title": text_at(entity, "/metadata/title"),
                    "type": text_at(entity, "/spec/type"),
                    "owner": text_at(entity, "/spec/owner"),
                    "lifecycle": text_at(entity, "/spec/lifecycle"),
                    "environment": text_at(entity, "/spec/environment").or_else(|| annotation("dsomm-audit.io/environment")),
                    "system": text_at(entity, "/spec/system"),
                    "domain": text_at(entity, "/spec/domain"),
                    "last_security_review": review,
                    "repo": annotation("github.com/project-slug"),
                    "depends_on": strings(entity.pointer("/spec/dependsOn")),
                    "tags": strings(entity.pointer("/metadata/tags")),
                    "annotations": annotations.map(crate::bounded_json).unwrap_or(Value::Null),
                }));
            }
            "Group" => {
                let mut group = Map::new();
                group.insert("name".into(), name.clone().into());
                group.insert("namespace".into(), json!(namespace));
                group.insert("type".into(), json!(text_at(entity, "/spec/type")));
                group.insert("email".into(), json!(text_at(entity, "/spec/profile/email")));
                group.insert("parent".into(), json!(text_at(entity, "/spec/parent")));
                group.insert(
                    "children".into(),
                    Value::Array(strings(entity.pointer("/spec/children"))),
                );
                let members = strings(entity.pointer("/spec/members"))
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                groups.push((group, members));
            }
            "User" => {
                let mut user = Map::new();
                user.insert("name".into(), name.clone().into());
                user.insert("namespace".into(), json!(namespace));
                user.insert("email".into(), json!(text_at(entity, "/spec/profile/email")));
                user.insert(
                    "display_name".into(),
                    json!(text_at(entity, "/spec/profile/displayName")),
                );
                user.insert(
                    "member_of".into(),
                    Value::Array(strings(entity.pointer("/spec/memberOf"))),
                );
                users.push(user);
            }
            other => parsed.diagnostics.push(model::Diagnostic {
                warning: true,
                ..context.diagnostic(
                    Some(line),
                    Some(pointer),
                    format!(
                        "Backstage kind `{}` is not an asset, group or user; not recorded",
                        crate::cut_text(other, 256)
                    ),
                )
            }),
        }
    }
    if assets.is_empty() && groups.is_empty() && users.is_empty() {
        if parsed.diagnostics.iter().all(|diagnostic| diagnostic.warning) {
            parsed
                .diagnostics
                .push(context.diagnostic(Some(1), None, "no Backstage entities; nothing recorded"));
        }
        return parsed;
    }
    // Members of each group: its own `members` plus every user naming it in
    // `memberOf`, as e-mail addresses when the user gives one.
    let email_of: BTreeMap<String, String> = users
        .iter()
        .filter_map(|user| {
            let name = user.get("name")?.as_str()?;
            let email = user.get("email")?.as_str()?;
            Some((name.to_string(), email.to_string()))
        })
        .collect();
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(mut group, own)| {
            let name = group
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mut members: Vec<String> = Vec::new();
            let mut add = |member: String| {
                if !members.contains(&member) {
                    members.push(member);
                }
            };
            for member in own {
                let short = short_ref(&member);
                add(email_of.get(&short).cloned().unwrap_or(member));
            }
            for user in &users {
                let belongs = user
                    .get("member_of")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|group| short_ref(group) == name);
                if belongs {
                    let user_name = user.get("name").and_then(Value::as_str).unwrap_or_default();
                    add(email_of
                        .get(user_name)
                        .cloned()
                        .unwrap_or_else(|| format!("user:{user_name}")));
                }
            }
            group.insert("members".into(), members.into_iter().map(Value::from).collect());
            Value::Object(group)
        })
        .collect();
    let mut attrs = Map::new();
    attrs.insert("format".into(), "backstage".into());
    attrs.insert("assets".into(), Value::Array(assets));
    attrs.insert("groups".into(), Value::Array(groups));
    attrs.insert("users".into(), users.into_iter().map(Value::Object).collect());
    parsed.evidence.push(snapshot(context, BACKSTAGE, None, attrs));
    parsed
}

/// The inventory columns, by their comparable header key.
const COLUMNS: &[(&str, &[&str])] = &[
    ("name", &["name", "service", "asset", "component"]),
    ("kind", &["kind"]),
    ("type", &["type", "assettype"]),
    ("environment", &["environment", "env"]),
    ("owner", &["owner", "team", "ownerteam"]),
    ("lifecycle", &["lifecycle", "stage"]),
    ("system", &["system"]),
    (
        "last_security_review",
        &["lastsecurityreview", "securityreview", "lastreview"],
    ),
    ("repo", &["repo", "repository"]),
    ("depends_on", &["dependson", "dependencies"]),
];

/// One inventory row (from CSV cells or a JSON object) as an asset, or why not.
fn asset(get: &dyn Fn(&str) -> Option<String>, warnings: &mut Vec<String>) -> Result<Value, String> {
    let Some(name) = get("name") else {
        return Err("asset without a name; skipped".into());
    };
    let mut asset = Map::new();
    for (field, _) in COLUMNS {
        let value = get(field);
        let value = match (*field, value) {
            ("depends_on", Some(list)) => Value::Array(
                list.split([';', '|'])
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(Value::from)
                    .collect(),
            ),
            ("depends_on", None) => Value::Array(Vec::new()),
            ("last_security_review", Some(text)) => match review_date(&text) {
                Ok(date) => Value::from(date),
                Err(error) => {
                    warnings.push(format!(
                        "`{name}`: last security review not read: {error}; recorded without it"
                    ));
                    Value::Null
                }
            },
            ("repo", Some(text)) => match normal_repo(&text) {
                Some(repo) => {
                    if repo != text {
                        asset.insert("repo_as_given".into(), Value::from(text.clone()));
                    }
                    Value::from(repo)
                }
                None => {
                    warnings.push(format!(
                        "`{name}`: repository `{}` is not owner/name or a repository URL; recorded as repo_as_given, repo null",
                        crate::cut_text(&text, 256)
                    ));
                    asset.insert("repo_as_given".into(), Value::from(text.clone()));
                    Value::Null
                }
            },
            ("name", _) => Value::from(name.clone()),
            (_, value) => value.map_or(Value::Null, Value::from),
        };
        asset.insert((*field).to_string(), value);
    }
    Ok(Value::Object(asset))
}

/// Parse a CSV or JSON inventory into one `asset_snapshot`.
///
/// Never panics; every problem becomes a diagnostic naming its line or pointer.
pub fn parse_inventory(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let mut assets = Vec::new();
    let mut time = None;
    // Entries read, and the total with the first not read (its pointer).
    let (mut read, mut total, mut first_dropped) = (0usize, 0usize, None);
    let unmarked = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if matches!(unmarked.trim_ascii_start().first(), Some(b'{' | b'[')) {
        let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
            return parsed;
        };
        for (_, document) in crate::json_documents(text, context, limits, &mut parsed.diagnostics) {
            time = time.or_else(|| {
                ["/generated_at", "/exported_at", "/as_of"]
                    .iter()
                    .find_map(|pointer| document.pointer(pointer).and_then(Value::as_str))
                    .and_then(|text| model::time::parse_time(text).ok())
            });
            let (items, base) = match &document {
                Value::Array(items) => (items.as_slice(), String::new()),
                Value::Object(object) => match object.get("assets").and_then(Value::as_array) {
                    Some(items) => (items.as_slice(), "/assets".to_string()),
                    None => {
                        parsed.diagnostics.push(context.diagnostic(
                            Some(1),
                            None,
                            "JSON inventory without an `assets` list; nothing recorded",
                        ));
                        continue;
                    }
                },
                _ => continue,
            };
            let room = limits.max_entries.saturating_sub(read);
            total += items.len();
            if items.len() > room {
                first_dropped.get_or_insert_with(|| format!("{base}/{room}"));
            }
            read += items.len().min(room);
            for (index, item) in items.iter().enumerate().take(room) {
                let pointer = format!("{base}/{index}");
                let Some(object) = item.as_object() else {
                    parsed
                        .diagnostics
                        .push(context.diagnostic(None, Some(pointer), "asset is not an object; skipped"));
                    continue;
                };
                let keyed: BTreeMap<String, &Value> = object
                    .iter()
                    .map(|(key, value)| (crate::header_key(key), value))
                    .collect();
                let get = |field: &str| -> Option<String> {
                    let synonyms = COLUMNS
                        .iter()
                        .find(|(name, _)| *name == field)
                        .map_or(&[][..], |(_, list)| list);
                    synonyms.iter().find_map(|key| match keyed.get(*key) {
                        Some(Value::String(text)) => {
                            Some(crate::cut_text(text.trim(), 1024)).filter(|text| !text.is_empty())
                        }
                        Some(Value::Array(items)) => {
                            Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(";"))
                        }
                        Some(Value::Number(number)) => Some(number.to_string()),
                        _ => None,
                    })
                };
                let mut warnings = Vec::new();
                match asset(&get, &mut warnings) {
                    Ok(asset) => assets.push(asset),
                    Err(message) => parsed
                        .diagnostics
                        .push(context.diagnostic(None, Some(pointer.clone()), message)),
                }
                for warning in warnings {
                    parsed.diagnostics.push(model::Diagnostic {
                        warning: true,
                        ..context.diagnostic(None, Some(pointer.clone()), warning)
                    });
                }
            }
        }
    } else {
        // Read row by row: a row that is not UTF-8 loses only itself.
        let Some((header, rows)) = crate::csv_rows(bytes, context, limits, &mut parsed.diagnostics) else {
            return parsed;
        };
        let keys: Vec<String> = header.iter().map(|cell| crate::header_key(cell)).collect();
        if !keys
            .iter()
            .any(|key| key == "name" || key == "service" || key == "asset")
        {
            parsed.diagnostics.push(context.diagnostic(
                Some(1),
                None,
                "inventory header has no `name` column; nothing recorded",
            ));
            return parsed;
        }
        if let Some((line, _)) = rows.get(limits.max_entries) {
            parsed
                .diagnostics
                .push(limits.entries_dropped(context, Some(*line), None, "rows", rows.len()));
        }
        for (line, row) in rows.into_iter().take(limits.max_entries) {
            let get = |field: &str| -> Option<String> {
                let synonyms = COLUMNS
                    .iter()
                    .find(|(name, _)| *name == field)
                    .map_or(&[][..], |(_, list)| list);
                synonyms.iter().find_map(|key| {
                    keys.iter()
                        .position(|cell| cell == key)
                        .and_then(|index| row.get(index))
                        .filter(|value| !value.is_empty())
                        .map(|value| crate::cut_text(value, 1024))
                })
            };
            let mut warnings = Vec::new();
            match asset(&get, &mut warnings) {
                Ok(asset) => assets.push(asset),
                Err(message) => parsed.diagnostics.push(context.diagnostic(Some(line), None, message)),
            }
            for warning in warnings {
                parsed.diagnostics.push(model::Diagnostic {
                    warning: true,
                    ..context.diagnostic(Some(line), None, warning)
                });
            }
        }
    }
    if first_dropped.is_some() {
        parsed
            .diagnostics
            .push(limits.entries_dropped(context, None, first_dropped, "assets", total));
    }
    if assets.is_empty() {
        if parsed.diagnostics.iter().all(|diagnostic| diagnostic.warning) {
            parsed
                .diagnostics
                .push(context.diagnostic(None, None, "no assets; nothing recorded"));
        }
        return parsed;
    }
    let mut attrs = Map::new();
    attrs.insert("format".into(), "inventory".into());
    attrs.insert("assets".into(), Value::Array(assets));
    attrs.insert("groups".into(), Value::Array(Vec::new()));
    attrs.insert("users".into(), Value::Array(Vec::new()));
    parsed.evidence.push(snapshot(context, INVENTORY, time, attrs));
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            origin: "catalog.yaml".into(),
            sha256: "00".into(),
            ..Context::default()
        }
    }

    #[test]
    fn backstage_assets_groups_and_users() {
        let text = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  annotations:
    github.com/project-slug: acme/payments-api
    dsomm-audit.io/last-security-review: 2025-01-15
spec: {type: service, owner: group:payments, lifecycle: production, system: payments, dependsOn: [resource:db]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, parent: eng, children: [], members: [carol]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: dave}
spec: {profile: {email: dave@acme.example}, memberOf: [group:default/payments]}
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
---
kind: Component
metadata: {name: [broken
";
        let parsed = parse_backstage(text.as_bytes(), &context(), &Limits::default());
        assert_eq!(parsed.evidence.len(), 1);
        // The catalog API's answers: a list of entities, or `items`.
        let entity = r#"{"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "a"}, "spec": {"lifecycle": "production"}}"#;
        for body in [
            format!("[{entity}]"),
            format!(r#"{{"items": [{entity}], "totalItems": 1}}"#),
        ] {
            let listed = parse_backstage(body.as_bytes(), &context(), &Limits::default());
            assert!(listed.diagnostics.is_empty(), "{:?}", listed.diagnostics);
            assert_eq!(listed.evidence[0].attrs["assets"][0]["lifecycle"], "production");
        }
        let attrs = &parsed.evidence[0].attrs;
        let asset = &attrs["assets"][0];
        assert_eq!(asset["name"], "payments-api");
        assert_eq!(asset["kind"], "component");
        assert_eq!(asset["lifecycle"], "production");
        assert_eq!(asset["owner"], "group:payments");
        assert_eq!(asset["last_security_review"], "2025-01-15");
        assert_eq!(asset["repo"], "acme/payments-api");
        assert_eq!(asset["depends_on"], json!(["resource:db"]));
        assert_eq!(attrs["groups"][0]["members"], json!(["carol", "dave@acme.example"]));
        assert_eq!(attrs["groups"][0]["parent"], "eng");
        assert_eq!(attrs["users"][0]["member_of"], json!(["group:default/payments"]));
        let lines: Vec<(Option<u64>, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.line, diagnostic.warning))
            .collect();
        assert_eq!(lines, vec![(Some(25), false), (Some(20), true)]);
    }

    #[test]
    fn a_review_time_with_an_offset_keeps_its_local_date() {
        let backstage = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: api\n  annotations:\n    \
            dsomm-audit.io/last-security-review: 2025-03-01T23:30:00-05:00\nspec: {owner: team-a, lifecycle: production}\n";
        let parsed = parse_backstage(backstage.as_bytes(), &context(), &Limits::default());
        assert_eq!(
            parsed.evidence[0].attrs["assets"][0]["last_security_review"],
            "2025-03-01"
        );
        let csv = "name,owner,environment,last_security_review\n\
                   west,team-a,production,2025-01-10T23:30:00-05:00\n\
                   east,team-a,production,2025-01-10T00:30:00+09:00\n\
                   utc,team-a,production,2025-01-10T12:00:00Z\n\
                   floating,team-a,production,2025-01-10T12:00:00\n";
        let parsed = parse_inventory(csv.as_bytes(), &context(), &Limits::default());
        let assets = &parsed.evidence[0].attrs["assets"];
        let dates: Vec<&Value> = (0..4).map(|index| &assets[index]["last_security_review"]).collect();
        assert_eq!(
            dates,
            [
                &json!("2025-01-10"),
                &json!("2025-01-10"),
                &json!("2025-01-10"),
                &Value::Null
            ]
        );
        // A time without a zone is not read (as before), with a warning.
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let json = r#"{"assets": [{"name": "api", "owner": "a", "environment": "production",
            "last_security_review": "2025-03-01T23:30:00-05:00"}]}"#;
        let parsed = parse_inventory(json.as_bytes(), &context(), &Limits::default());
        assert_eq!(
            parsed.evidence[0].attrs["assets"][0]["last_security_review"],
            "2025-03-01"
        );
    }

    #[test]
    fn csv_and_json_inventories() {
        let csv = "Name,Type,Environment,Owner,Lifecycle,Last Security Review,Depends On\n\
                   api,service,production,team-a,production,2025-02-01,db;cache\n\
                   ,service,staging,team-b,,,\n\
                   web,website,production,,production,last tuesday,\n";
        let parsed = parse_inventory(csv.as_bytes(), &context(), &Limits::default());
        let assets = &parsed.evidence[0].attrs["assets"];
        assert_eq!(assets.as_array().map(Vec::len), Some(2));
        assert_eq!(assets[0]["depends_on"], json!(["db", "cache"]));
        assert_eq!(assets[0]["last_security_review"], "2025-02-01");
        assert_eq!(assets[1]["last_security_review"], Value::Null);
        let found: Vec<(Option<u64>, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.line, diagnostic.warning))
            .collect();
        assert_eq!(found, vec![(Some(3), false), (Some(4), true)]);

        let json = r#"{"generated_at": "2025-03-01T00:00:00Z", "assets": [
            {"name": "api", "environment": "production", "owner": "team-a", "last_security_review": "2025-02-01"},
            {"owner": "nobody"}]}"#;
        let parsed = parse_inventory(json.as_bytes(), &context(), &Limits::default());
        assert_eq!(
            parsed.evidence[0].occurred_at.map(model::time::format_time).as_deref(),
            Some("2025-03-01T00:00:00.000000000Z")
        );
        assert_eq!(parsed.evidence[0].attrs["assets"][0]["owner"], "team-a");
        assert_eq!(parsed.diagnostics[0].pointer.as_deref(), Some("/assets/1"));
    }

    #[test]
    fn repositories_are_owner_slash_name() {
        let cases = [
            ("acme/auth", Some("acme/auth")),
            ("https://github.com/acme/auth.git", Some("acme/auth")),
            ("https://github.com/acme/auth/tree/main", Some("acme/auth")),
            ("git@github.com:acme/auth.git", Some("acme/auth")),
            ("ssh://git@github.com/acme/auth.git", Some("acme/auth")),
            ("github.com/acme/auth", Some("acme/auth")),
            ("https://gitlab.example.com/acme/auth", Some("acme/auth")),
            ("https://gitlab.example.com/acme/platform/auth", None),
            ("auth", None),
            ("acme/auth service", None),
        ];
        for (text, expected) in cases {
            assert_eq!(normal_repo(text).as_deref(), expected, "{text}");
        }
        let csv = "Service,Team,Env,Lifecycle,Last Review,Repository\r\n\
                   auth,team-id,prod,production,2025-01-15,https://github.com/acme/auth.git\r\n\
                   api,team-a,prod,production,,acme/api\r\n\
                   odd,team-b,prod,production,,not a repo\r\n";
        assert_eq!(
            crate::registry::detect("services.csv", csv.as_bytes()),
            Some(crate::Collector::Inventory)
        );
        let parsed = parse_inventory(csv.as_bytes(), &context(), &Limits::default());
        let assets = &parsed.evidence[0].attrs["assets"];
        assert_eq!(assets[0]["repo"], "acme/auth");
        assert_eq!(assets[0]["repo_as_given"], "https://github.com/acme/auth.git");
        assert_eq!(assets[1]["repo"], "acme/api");
        assert!(assets[1].get("repo_as_given").is_none());
        assert_eq!(assets[2]["repo"], Value::Null);
        assert_eq!(assets[2]["repo_as_given"], "not a repo");
        // CRLF: the warning names the row's own line.
        let found: Vec<(Option<u64>, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.line, diagnostic.warning))
            .collect();
        assert_eq!(found, vec![(Some(4), true)]);
    }

    /// The names of the assets of the one snapshot.
    fn asset_names(parsed: &Parsed) -> Vec<String> {
        parsed.evidence[0].attrs["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|asset| asset["name"].as_str().map(str::to_string))
            .collect()
    }

    /// (line, pointer, warning, message) of each diagnostic.
    fn found(parsed: &Parsed) -> Vec<(Option<u64>, Option<String>, bool, String)> {
        parsed
            .diagnostics
            .iter()
            .map(|diagnostic| {
                (
                    diagnostic.line,
                    diagnostic.pointer.clone(),
                    diagnostic.warning,
                    diagnostic.message.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn entries_past_max_entries_are_refused_at_the_first_one_not_read() {
        let three = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        let refused = |total: usize| {
            format!(
                "{total} {}, more than the limit of 3 per file: the first 3 read, the {} from here on not read",
                if total == 5 { "rows" } else { "assets" },
                total - 3
            )
        };
        let csv = |names: &[&str]| {
            let rows: String = names.iter().map(|name| format!("{name},t,prod\n")).collect();
            format!("name,owner,environment\n{rows}")
        };
        let parsed = parse_inventory(csv(&["a", "b", "c", "d", "e"]).as_bytes(), &context(), &three);
        assert_eq!(asset_names(&parsed), ["a", "b", "c"]);
        assert_eq!(found(&parsed), [(Some(5), None, false, refused(5))]);
        // Exactly at the limit: nothing said.
        let at_limit = parse_inventory(csv(&["a", "b", "c"]).as_bytes(), &context(), &three);
        assert_eq!(asset_names(&at_limit), ["a", "b", "c"]);
        assert!(at_limit.diagnostics.is_empty(), "{:?}", at_limit.diagnostics);

        // JSON: the limit counts over every document of the file.
        let json = r#"{"assets": [{"name": "a"}, {"name": "b"}]}
            {"assets": [{"name": "c"}, {"name": "d"}]}"#;
        let parsed = parse_inventory(json.as_bytes(), &context(), &three);
        assert_eq!(asset_names(&parsed), ["a", "b", "c"]);
        let refused_json = refused(4).replace("rows", "assets");
        assert_eq!(found(&parsed), [(None, Some("/assets/1".into()), false, refused_json)]);

        // Backstage: entities of a multi-document YAML, then of a list.
        let entity = |name: &str| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec: {{owner: t}}\n"
            )
        };
        let yaml = ["a", "b", "c", "d"].map(entity).join("---\n");
        let parsed = parse_backstage(yaml.as_bytes(), &context(), &three);
        assert_eq!(asset_names(&parsed), ["a", "b", "c"]);
        let message =
            "4 catalog entities, more than the limit of 3 per file: the first 3 read, the 1 from here on not read";
        assert_eq!(found(&parsed), [(Some(19), None, false, message.to_string())]);
        let list = format!(
            "[{}]",
            ["a", "b", "c", "d", "e"]
                .map(|name| format!(r#"{{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {{"name": "{name}"}}}}"#))
                .join(",")
        );
        let parsed = parse_backstage(list.as_bytes(), &context(), &three);
        assert_eq!(asset_names(&parsed), ["a", "b", "c"]);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.diagnostics[0].pointer.as_deref(), Some("/3"));
        assert!(parsed.diagnostics[0].message.contains("the 2 from here on not read"));
    }

    #[test]
    fn an_inventory_row_that_is_not_utf8_loses_only_itself() {
        let mut input = b"name,owner,environment\r\napi,team-a,prod\r\n".to_vec();
        input.extend_from_slice(b"caf\xe9,team-b,prod\r\nweb,team-c,prod\r\n");
        let parsed = parse_inventory(&input, &context(), &Limits::default());
        let names: Vec<&Value> = parsed.evidence[0].attrs["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|asset| &asset["name"])
            .collect();
        assert_eq!(names, [&json!("api"), &json!("web")]);
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(3));
    }
}
