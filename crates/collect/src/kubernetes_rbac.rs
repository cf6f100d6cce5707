//! Kubernetes RBAC collector: `RoleBinding` and `ClusterRoleBinding`
//! resources (`rbac.authorization.k8s.io`; YAML, JSON, kubectl `List`s) into
//! `iam_grant` records, one per binding subject (see [`crate::iam`] for the
//! shared attributes).
//!
//! `what` is the bound role (`ClusterRole/<name>` or `Role/<name>`), `where`
//! is `namespace/<ns>` for a RoleBinding and `cluster` for a
//! ClusterRoleBinding; the subject's kind gives `principal_type` (`user`,
//! `group`, `service_account`). A grant is elevated with reason
//! `cluster-admin` (the role), `admin (cluster-wide)` (ClusterRole `admin`
//! bound by a ClusterRoleBinding), `system:masters` (the group: cluster-admin
//! whatever the role bound, so this reason wins over the others), or
//! `rule: * on *` when a Role or ClusterRole in the same input allows every
//! verb on every resource. Roles themselves are read only for that.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

use crate::iam::{Grant, push};
use crate::{Context, Limits, Parsed, text_at};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "kubernetes-rbac";

/// The API group this collector reads (used by format detection).
pub const API_GROUP: &str = "rbac.authorization.k8s.io";

/// Whether the head of a file names the RBAC API group.
pub fn detect(head: &str) -> bool {
    head.contains(&format!("{API_GROUP}/"))
        && ["RoleBinding", "ClusterRoleBinding", "\"List\"", "kind: List"]
            .iter()
            .any(|kind| head.contains(kind))
}

/// Parse RoleBindings and ClusterRoleBindings.
///
/// Never panics; every problem becomes a diagnostic naming its line or pointer.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
        return parsed;
    };
    let documents = crate::kubernetes::read_documents(text, context, limits, &mut parsed);
    let mut resources: Vec<(u64, String, &Value)> = Vec::new();
    for (line, document) in &documents {
        flatten(document, String::new(), *line, &mut resources);
    }
    let wildcard: BTreeSet<(String, String)> = resources
        .iter()
        .filter(|(_, _, value)| matches!(text_at(value, "/kind").as_deref(), Some("Role" | "ClusterRole")))
        .filter(|(_, _, value)| allows_everything(value))
        .filter_map(|(_, _, value)| {
            let kind = text_at(value, "/kind")?;
            let name = text_at(value, "/metadata/name")?;
            let namespace = if kind == "Role" {
                text_at(value, "/metadata/namespace").unwrap_or_else(|| "default".into())
            } else {
                String::new()
            };
            Some((format!("{kind}/{name}"), namespace))
        })
        .collect();
    let mut bindings = 0;
    for (line, pointer, value) in &resources {
        let kind = text_at(value, "/kind").unwrap_or_default();
        match kind.as_str() {
            "RoleBinding" | "ClusterRoleBinding" => {
                bindings += 1;
                binding(value, &kind, *line, pointer, &wildcard, context, &mut parsed);
            }
            "Role" | "ClusterRole" => {}
            other => {
                let place = if pointer.is_empty() {
                    format!("the document at line {line}")
                } else {
                    format!("item {pointer} of the document at line {line}")
                };
                let shown = if other.is_empty() {
                    "has no kind".to_string()
                } else {
                    format!("is kind `{}`", crate::cut_text(other, 256))
                };
                parsed.diagnostics.push(model::Diagnostic {
                    warning: true,
                    ..context.diagnostic(
                        Some(*line),
                        (!pointer.is_empty()).then(|| pointer.clone()),
                        format!("{place} {shown}: not a RoleBinding or ClusterRoleBinding; not recorded"),
                    )
                });
            }
        }
    }
    // A file with no binding (the wrong file, or the wrong `--source`) is
    // refused, whatever warnings it gave.
    if bindings == 0 && !parsed.refused_any() {
        parsed.diagnostics.push(context.diagnostic(
            None,
            None,
            "no RoleBinding or ClusterRoleBinding (apiVersion rbac.authorization.k8s.io); nothing recorded",
        ));
    }
    parsed
}

/// Resources of a document, with kubectl `List`s opened.
fn flatten<'a>(value: &'a Value, pointer: String, line: u64, out: &mut Vec<(u64, String, &'a Value)>) {
    match value.get("items").and_then(Value::as_array) {
        Some(items) if text_at(value, "/kind").is_none_or(|kind| kind.ends_with("List")) => {
            for (index, item) in items.iter().enumerate() {
                flatten(item, format!("{pointer}/items/{index}"), line, out);
            }
        }
        _ => out.push((line, pointer, value)),
    }
}

/// A role with a rule allowing every verb on every resource.
fn allows_everything(role: &Value) -> bool {
    let has_star = |rule: &Value, key: &str| {
        rule.get(key)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|item| item.as_str() == Some("*")))
    };
    role.get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|rule| has_star(rule, "verbs") && has_star(rule, "resources"))
}

fn binding(
    value: &Value,
    kind: &str,
    line: u64,
    pointer: &str,
    wildcard: &BTreeSet<(String, String)>,
    context: &Context,
    parsed: &mut Parsed,
) {
    let name = text_at(value, "/metadata/name").unwrap_or_default();
    let (Some(role_kind), Some(role_name)) = (text_at(value, "/roleRef/kind"), text_at(value, "/roleRef/name")) else {
        parsed.diagnostics.push(context.diagnostic(
            Some(line),
            Some(format!("{pointer}/roleRef")),
            format!(
                "{kind} `{}` without roleRef kind and name; skipped",
                crate::cut_text(&name, 256)
            ),
        ));
        return;
    };
    let namespace = text_at(value, "/metadata/namespace");
    let place = match (kind, &namespace) {
        ("RoleBinding", Some(namespace)) => format!("namespace/{namespace}"),
        ("RoleBinding", None) => "namespace/default".into(),
        _ => "cluster".into(),
    };
    let role = format!("{role_kind}/{role_name}");
    let role_namespace = if role_kind == "Role" {
        namespace.clone().unwrap_or_else(|| "default".into())
    } else {
        String::new()
    };
    let Some(subjects) = value
        .get("subjects")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
    else {
        parsed.diagnostics.push(model::Diagnostic {
            warning: true,
            ..context.diagnostic(
                Some(line),
                Some(format!("{pointer}/subjects")),
                format!("{kind} `{}` binds nobody; not recorded", crate::cut_text(&name, 256)),
            )
        });
        return;
    };
    let time = text_at(value, "/metadata/creationTimestamp").and_then(|text| model::time::parse_time(&text).ok());
    for (index, subject) in subjects.iter().enumerate() {
        let subject_pointer = format!("{pointer}/subjects/{index}");
        let (Some(subject_kind), Some(subject_name)) = (text_at(subject, "/kind"), text_at(subject, "/name")) else {
            parsed.diagnostics.push(context.diagnostic(
                Some(line),
                Some(subject_pointer),
                "binding subject without kind and name; skipped",
            ));
            continue;
        };
        let principal_type = match subject_kind.as_str() {
            "User" => "user",
            "Group" => "group",
            "ServiceAccount" => "service_account",
            _ => "user",
        };
        // A RoleBinding's ServiceAccount subject without a namespace is in
        // the binding's namespace (the API server defaults it so); in a
        // ClusterRoleBinding it names no account.
        let subject_namespace = text_at(subject, "/namespace").or_else(|| match kind {
            "RoleBinding" => Some(namespace.clone().unwrap_or_else(|| "default".into())),
            _ => None,
        });
        let principal = match (principal_type, subject_namespace) {
            ("service_account", Some(namespace)) => format!("system:serviceaccount:{namespace}:{subject_name}"),
            ("service_account", None) => {
                parsed.diagnostics.push(context.diagnostic(
                    Some(line),
                    Some(subject_pointer),
                    format!(
                        "ServiceAccount subject `{}` of {kind} `{}` has no namespace (required outside a \
                         RoleBinding); skipped",
                        crate::cut_text(&subject_name, 256),
                        crate::cut_text(&name, 256)
                    ),
                ));
                continue;
            }
            _ => subject_name.clone(),
        };
        // `system:masters` is cluster-admin by itself (the API server grants
        // it every permission), whatever role the binding names.
        let reason = if principal_type == "group" && subject_name == "system:masters" {
            Some("system:masters".to_string())
        } else if role_name == "cluster-admin" && role_kind == "ClusterRole" {
            Some("cluster-admin".to_string())
        } else if role_name == "admin" && role_kind == "ClusterRole" && kind == "ClusterRoleBinding" {
            Some("admin (cluster-wide)".to_string())
        } else if wildcard.contains(&(role.clone(), role_namespace.clone())) {
            Some("rule: * on *".to_string())
        } else {
            None
        };
        let mut extra = Map::new();
        extra.insert("binding".into(), format!("{kind}/{name}").into());
        let grant = Grant {
            principal,
            principal_type,
            what: role.clone(),
            place: place.clone(),
            reason,
            extra,
            ..Grant::default()
        };
        push(
            parsed,
            context,
            COLLECTOR,
            grant,
            time,
            Some(line),
            Some(subject_pointer),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Parsed {
        let context = Context {
            origin: "rbac.yaml".into(),
            sha256: "00".into(),
            ..Context::default()
        };
        parse(text.as_bytes(), &context, &Limits::default())
    }

    const BINDINGS: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, name: alice@example.com}
- {kind: Group, name: system:masters}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ns-admins}
roleRef: {kind: ClusterRole, name: admin}
subjects: [{kind: Group, name: ops}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: everything, namespace: payments}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev, namespace: payments}
roleRef: {kind: Role, name: everything}
subjects: [{kind: ServiceAccount, name: deployer, namespace: payments}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: view, namespace: payments}
roleRef: {kind: ClusterRole, name: view}
subjects: [{kind: User, name: bob}]
---
kind: RoleBinding
metadata: {name: broken: [}
";

    #[test]
    fn each_elevated_reason_is_found() {
        let parsed = check(BINDINGS);
        let found: Vec<String> = parsed
            .evidence
            .iter()
            .map(|record| {
                format!(
                    "{} {} @ {} {}",
                    record.attrs["principal"].as_str().unwrap_or(""),
                    record.attrs["what"].as_str().unwrap_or(""),
                    record.attrs["where"].as_str().unwrap_or(""),
                    record.attrs["reason"]
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                "alice@example.com ClusterRole/cluster-admin @ cluster \"cluster-admin\"",
                "system:masters ClusterRole/cluster-admin @ cluster \"system:masters\"",
                "ops ClusterRole/admin @ cluster \"admin (cluster-wide)\"",
                "system:serviceaccount:payments:deployer Role/everything @ namespace/payments \"rule: * on *\"",
                "bob ClusterRole/view @ namespace/payments null",
            ]
        );
        assert_eq!(parsed.evidence[0].subject.person.as_deref(), Some("alice@example.com"));
        assert_eq!(parsed.evidence[1].attrs["principal_type"], "group");
        assert_eq!(parsed.evidence[1].subject.person, None);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.diagnostics[0].line, Some(33));
        let group_only = check(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: m}\n\
             roleRef: {kind: ClusterRole, name: edit}\nsubjects: [{kind: Group, name: system:masters}]\n",
        );
        assert_eq!(group_only.evidence[0].attrs["reason"], "system:masters");
    }

    #[test]
    fn a_service_account_without_namespace_is_in_the_role_binding_namespace() {
        let parsed = check(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bots, namespace: team-c}\n\
             roleRef: {kind: ClusterRole, name: edit}\n\
             subjects: [{kind: ServiceAccount, name: bot}, {kind: ServiceAccount, name: bot, namespace: team-c}]\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: cluster-bots}\n\
             roleRef: {kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: bot}]\n",
        );
        let principals: Vec<&str> = parsed
            .evidence
            .iter()
            .map(|record| record.attrs["principal"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(principals, ["system:serviceaccount:team-c:bot"; 2]);
        let [refusal] = parsed.diagnostics.as_slice() else {
            panic!("{:?}", parsed.diagnostics)
        };
        assert!(!refusal.warning);
        assert_eq!(
            (refusal.line, refusal.pointer.as_deref()),
            (Some(7), Some("/subjects/0"))
        );
        assert!(refusal.message.contains("has no namespace"), "{}", refusal.message);
    }

    #[test]
    fn system_masters_is_the_reason_whatever_the_role() {
        let parsed = check(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: breakglass}\n\
             roleRef: {kind: ClusterRole, name: admin}\n\
             subjects: [{kind: Group, name: system:masters}, {kind: User, name: eve}]\n",
        );
        assert_eq!(parsed.evidence[0].attrs["reason"], "system:masters");
        assert_eq!(parsed.evidence[1].attrs["reason"], "admin (cluster-wide)");
    }

    #[test]
    fn a_file_of_another_format_is_refused() {
        let catalog = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n---\n\
                       apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: g}\n";
        let github = r#"{"action": "completed", "check_run": {"id": 1}}"#;
        for input in [catalog, github] {
            let parsed = check(input);
            assert!(parsed.evidence.is_empty());
            let refusal = crate::only_refusal(&parsed);
            assert!(refusal.message.contains("nothing recorded"));
        }
        let parsed = check(catalog);
        assert_eq!(parsed.diagnostics[1].pointer, None);
        assert_eq!(
            parsed.diagnostics[1].message,
            "the document at line 5 is kind `Group`: not a RoleBinding or ClusterRoleBinding; not recorded"
        );
    }
}
