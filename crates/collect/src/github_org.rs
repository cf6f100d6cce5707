//! GitHub organisation collector: members, teams and repository permissions
//! into `iam_grant` records (see [`crate::iam`] for the shared attributes).
//!
//! Accepted shapes, built from GitHub's REST responses:
//!
//! - an export object gathering them:
//!   `{"organization": "acme" | {"login": "acme"}, "exported_at": time,
//!     "members": [user], "admins": [user], "memberships": [membership],
//!     "teams": [{"slug", "name", "members": [user], "repositories": [repo]}],
//!     "repositories": [{"full_name": "acme/api", "collaborators": [collaborator]}]}`
//!   where `user` is an item of `GET /orgs/{org}/members` (`admins`: the same
//!   with `?role=admin`; a user may carry `role`, as team members do from
//!   `GET /orgs/{org}/teams/{team}/memberships/{user}`), `membership` is the
//!   body of `GET /orgs/{org}/memberships/{user}` (`role`, `user`,
//!   `organization`), `repo` an item of `GET /orgs/{org}/teams/{team}/repos`
//!   (`full_name`, `permissions`, `role_name`) and `collaborator` an item of
//!   `GET /repos/{owner}/{repo}/collaborators` (`login`, `permissions`,
//!   `role_name`);
//! - one raw response: a list of collaborators (the repository from `--repo`),
//!   of org memberships, or of members (the organisation from `--repo`'s owner).
//!
//! Grants: org `member` or `admin` (elevated, reason `admin`) at
//! `github:<org>`; `team member`/`team maintainer` at `github:<org>/team/<slug>`;
//! a repository permission (the `role_name`, else the highest of
//! `permissions`) at the repository, elevated with reason `admin` or
//! `maintain`; a team's repository permission is granted to each of its
//! members `via: team/<slug>`. A login's `email`, given anywhere in the same
//! document (usually under `members`), applies to all of that login's grants,
//! so `person` is the same on each. Logins are lower-cased (GitHub compares
//! them without case); a membership with `state: pending` (an invitation not
//! yet accepted) is not a grant, and gives a warning.

use jiff::Timestamp;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::iam::{Grant, push};
use crate::{Context, Limits, Parsed, text_at};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "github-org";

/// Parse a GitHub organisation permissions export.
///
/// Never panics; every problem becomes a diagnostic naming its pointer.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
        return parsed;
    };
    for (_, document) in crate::json_documents(text, context, limits, &mut parsed.diagnostics) {
        let mut reader = Reader {
            context,
            parsed: &mut parsed,
            time: None,
            emails: known_emails(&document),
        };
        match &document {
            Value::Object(object) if is_export(object) => reader.export(&document),
            Value::Array(items) => reader.raw_list(items),
            _ => reader.refuse(
                String::new(),
                "not a GitHub organisation export (members, teams, repositories) or a list of members, \
                 memberships or collaborators; nothing recorded"
                    .into(),
            ),
        }
    }
    parsed
}

/// Whether a JSON head (whitespace removed) looks like this collector's input.
pub fn detect(compact: &str) -> bool {
    compact.contains("\"role_name\":\"")
        || compact.starts_with("{\"organization\":")
            && [
                "\"members\":[",
                "\"teams\":[",
                "\"repositories\":[",
                "\"memberships\":[",
            ]
            .iter()
            .any(|key| compact.contains(key))
        || compact.starts_with("[{\"url\":\"https://api.github.com/orgs/")
            && compact.contains("\"role\":")
            && compact.contains("\"state\":")
}

fn is_export(object: &Map<String, Value>) -> bool {
    ["members", "admins", "memberships", "teams", "repositories"]
        .iter()
        .any(|key| object.get(*key).is_some_and(Value::is_array))
}

struct Reader<'a> {
    context: &'a Context,
    parsed: &'a mut Parsed,
    time: Option<Timestamp>,
    /// Lower-case login to the e-mail address the same document gives for it
    /// anywhere (a member's `email` applies to their team and repository
    /// grants too).
    emails: BTreeMap<String, String>,
}

/// Every `login` with an `email` (or `user.login` with `user.email`) in a
/// document, by lower-case login; the first address given wins.
fn known_emails(document: &Value) -> BTreeMap<String, String> {
    fn walk(value: &Value, depth: usize, found: &mut BTreeMap<String, String>) {
        if depth > 16 {
            return;
        }
        match value {
            Value::Array(items) => items.iter().for_each(|item| walk(item, depth + 1, found)),
            Value::Object(object) => {
                if let (Some(login), Some(email)) = (text_at(value, "/login"), text_at(value, "/email"))
                    && email.contains('@')
                {
                    found.entry(login.to_ascii_lowercase()).or_insert(email);
                }
                object.values().for_each(|item| walk(item, depth + 1, found));
            }
            _ => {}
        }
    }
    let mut found = BTreeMap::new();
    walk(document, 0, &mut found);
    found
}

/// A repository permission: the role name, else the highest of `permissions`.
fn permission(value: &Value) -> Option<String> {
    if let Some(role) = text_at(value, "/role_name") {
        return Some(role.to_ascii_lowercase());
    }
    let permissions = value.get("permissions")?;
    ["admin", "maintain", "push", "triage", "pull"]
        .into_iter()
        .find(|key| permissions.get(*key).and_then(Value::as_bool) == Some(true))
        .map(|key| match key {
            "push" => "write".to_string(),
            "pull" => "read".to_string(),
            other => other.to_string(),
        })
}

fn elevated(permission: &str) -> Option<String> {
    matches!(permission, "admin" | "maintain").then(|| permission.to_string())
}

impl Reader<'_> {
    fn refuse(&mut self, pointer: String, message: String) {
        self.parsed
            .diagnostics
            .push(self.context.diagnostic(None, Some(pointer), message));
    }

    fn grant(&mut self, grant: Grant, pointer: String) {
        push(
            self.parsed,
            self.context,
            COLLECTOR,
            grant,
            self.time,
            None,
            Some(pointer),
        );
    }

    /// The organisation from `--repo` (`owner/name` or `owner`).
    fn org_from_flag(&self) -> Option<String> {
        self.context
            .repo
            .as_deref()
            .map(|repo| repo.split('/').next().unwrap_or(repo).to_string())
    }

    /// A user's login (lower-cased) and e-mail; a user without a login is
    /// refused at `pointer`.
    fn user(&mut self, user: &Value, pointer: &str) -> Option<(String, Option<String>)> {
        // GitHub logins are case-insensitive: one principal, in lower case.
        let login = text_at(user, "/login")
            .or_else(|| text_at(user, "/user/login"))
            .map(|login| login.to_ascii_lowercase());
        match login {
            Some(login) => {
                let email = text_at(user, "/email")
                    .or_else(|| text_at(user, "/user/email"))
                    .or_else(|| self.emails.get(&login).cloned());
                Some((login, email))
            }
            None => {
                self.refuse(pointer.to_string(), "user without a login; skipped".into());
                None
            }
        }
    }

    fn export(&mut self, document: &Value) {
        self.time = ["/exported_at", "/generated_at"]
            .iter()
            .find_map(|pointer| document.pointer(pointer).and_then(Value::as_str))
            .and_then(|text| model::time::parse_time(text).ok());
        let org = text_at(document, "/organization")
            .or_else(|| text_at(document, "/organization/login"))
            .or_else(|| self.org_from_flag());
        let Some(org) = org else {
            self.refuse(
                "/organization".into(),
                "export without an organisation (and no --repo owner); nothing recorded".into(),
            );
            return;
        };
        let admins: Vec<String> = document
            .get("admins")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|user| text_at(user, "/login").map(|login| login.to_ascii_lowercase()))
            .collect();
        for key in ["members", "admins"] {
            for (index, user) in document
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let pointer = format!("/{key}/{index}");
                let Some((login, email)) = self.user(user, &pointer) else {
                    continue;
                };
                let admin = key == "admins" || text_at(user, "/role").as_deref() == Some("admin");
                if key == "members" && admins.contains(&login.to_ascii_lowercase()) {
                    continue;
                }
                self.org_member(&org, login, email, admin, user, pointer);
            }
        }
        let memberships = document.get("memberships").and_then(Value::as_array);
        for (index, membership) in memberships.into_iter().flatten().enumerate() {
            self.membership(membership, format!("/memberships/{index}"), Some(&org));
        }
        for (index, team) in document
            .get("teams")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            self.team(&org, team, format!("/teams/{index}"));
        }
        let repositories = document.get("repositories").and_then(Value::as_array);
        for (index, repository) in repositories.into_iter().flatten().enumerate() {
            let pointer = format!("/repositories/{index}");
            let Some(name) = text_at(repository, "/full_name").or_else(|| {
                text_at(repository, "/name").map(|name| {
                    if name.contains('/') {
                        name
                    } else {
                        format!("{org}/{name}")
                    }
                })
            }) else {
                self.refuse(pointer, "repository without full_name or name; skipped".into());
                continue;
            };
            let collaborators = repository.get("collaborators").and_then(Value::as_array);
            for (at, collaborator) in collaborators.into_iter().flatten().enumerate() {
                self.collaborator(&name, collaborator, format!("{pointer}/collaborators/{at}"));
            }
        }
    }

    fn org_member(
        &mut self,
        org: &str,
        login: String,
        email: Option<String>,
        admin: bool,
        user: &Value,
        pointer: String,
    ) {
        let mut extra = Map::new();
        extra.insert(
            "site_admin".into(),
            user.get("site_admin").cloned().unwrap_or(Value::Null),
        );
        let what = if admin { "admin" } else { "member" };
        self.grant(
            Grant {
                principal: login,
                principal_type: "user",
                email,
                what: what.into(),
                place: format!("github:{org}"),
                reason: elevated(what),
                extra,
                ..Grant::default()
            },
            pointer,
        );
    }

    fn membership(&mut self, membership: &Value, pointer: String, org: Option<&str>) {
        let Some((login, email)) = self.user(membership, &pointer) else {
            return;
        };
        // An invitation not yet accepted gives no access: not a grant.
        if text_at(membership, "/state").is_some_and(|state| state.eq_ignore_ascii_case("pending")) {
            self.parsed.diagnostics.push(model::Diagnostic {
                warning: true,
                ..self.context.diagnostic(
                    None,
                    Some(pointer),
                    format!(
                    "`{}` has a pending invitation (role `{}`), not yet accepted: no access, not recorded as a grant",
                    crate::cut_text(&login, 256),
                        crate::cut_text(&text_at(membership, "/role").unwrap_or_default(), 64)
                    ),
                )
            });
            return;
        }
        let org = text_at(membership, "/organization/login")
            .or_else(|| org.map(str::to_string))
            .or_else(|| self.org_from_flag())
            .unwrap_or_else(|| "?".into());
        let admin = text_at(membership, "/role").as_deref() == Some("admin");
        let mut grant = Grant {
            principal: login,
            principal_type: "user",
            email,
            what: if admin { "admin" } else { "member" }.into(),
            place: format!("github:{org}"),
            reason: admin.then(|| "admin".to_string()),
            ..Grant::default()
        };
        grant.extra.insert(
            "state".into(),
            text_at(membership, "/state").map_or(Value::Null, Value::from),
        );
        self.grant(grant, pointer);
    }

    fn collaborator(&mut self, repo: &str, collaborator: &Value, pointer: String) {
        let Some((login, email)) = self.user(collaborator, &pointer) else {
            return;
        };
        let Some(what) = permission(collaborator) else {
            self.refuse(pointer, "collaborator without role_name or permissions; skipped".into());
            return;
        };
        self.grant(
            Grant {
                principal: login,
                principal_type: "user",
                email,
                reason: elevated(&what),
                what,
                place: repo.to_string(),
                ..Grant::default()
            },
            pointer,
        );
    }

    fn team(&mut self, org: &str, team: &Value, pointer: String) {
        let Some(slug) = text_at(team, "/slug").or_else(|| text_at(team, "/name")) else {
            self.refuse(pointer, "team without slug or name; skipped".into());
            return;
        };
        let members: Vec<(usize, &Value)> = team
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .collect();
        let repositories: Vec<(usize, &Value)> = team
            .get("repositories")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .collect();
        for (index, member) in members {
            let member_pointer = format!("{pointer}/members/{index}");
            let Some((login, email)) = self.user(member, &member_pointer) else {
                continue;
            };
            let maintainer = text_at(member, "/role").as_deref() == Some("maintainer");
            self.grant(
                Grant {
                    principal: login.clone(),
                    principal_type: "user",
                    email: email.clone(),
                    what: if maintainer { "team maintainer" } else { "team member" }.into(),
                    place: format!("github:{org}/team/{slug}"),
                    ..Grant::default()
                },
                member_pointer,
            );
            for (at, repository) in &repositories {
                let repo_pointer = format!("{pointer}/repositories/{at}");
                let (Some(name), Some(what)) = (
                    text_at(repository, "/full_name")
                        .or_else(|| text_at(repository, "/name").map(|name| format!("{org}/{name}"))),
                    permission(repository),
                ) else {
                    if index == 0 {
                        self.refuse(
                            repo_pointer,
                            "team repository without a name or permission; skipped".into(),
                        );
                    }
                    continue;
                };
                self.grant(
                    Grant {
                        principal: login.clone(),
                        principal_type: "user",
                        email: email.clone(),
                        reason: elevated(&what),
                        what,
                        place: name,
                        via: Some(format!("team/{slug}")),
                        ..Grant::default()
                    },
                    repo_pointer,
                );
            }
        }
    }

    /// One raw REST response: collaborators, memberships or members.
    fn raw_list(&mut self, items: &[Value]) {
        for (index, item) in items.iter().enumerate() {
            let pointer = format!("/{index}");
            if item.get("organization").is_some() && item.get("role").is_some() {
                self.membership(item, pointer, None);
            } else if item.get("permissions").is_some() || item.get("role_name").is_some() {
                match self.context.repo.clone().filter(|repo| repo.contains('/')) {
                    Some(repo) => self.collaborator(&repo, item, pointer),
                    None => {
                        self.refuse(
                            pointer,
                            "a list of collaborators does not name its repository: give --repo owner/name; nothing recorded"
                                .into(),
                        );
                        return;
                    }
                }
            } else {
                let Some(org) = self.org_from_flag() else {
                    self.refuse(
                        pointer,
                        "a list of members does not name its organisation: give --repo with the organisation as owner; \
                         nothing recorded"
                            .into(),
                    );
                    return;
                };
                let Some((login, email)) = self.user(item, &pointer) else {
                    continue;
                };
                let admin = text_at(item, "/role").as_deref() == Some("admin");
                self.org_member(&org, login, email, admin, item, pointer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, repo: Option<&str>) -> Parsed {
        let context = Context {
            origin: "org.json".into(),
            sha256: "00".into(),
            repo: repo.map(str::to_string),
            ..Context::default()
        };
        parse(value.to_string().as_bytes(), &context, &Limits::default())
    }

    fn grants(parsed: &Parsed) -> Vec<String> {
        parsed
            .evidence
            .iter()
            .map(|record| {
                let attrs = &record.attrs;
                format!(
                    "{} {} @ {} elevated={} reason={} via={}",
                    attrs["principal"].as_str().unwrap_or(""),
                    attrs["what"].as_str().unwrap_or(""),
                    attrs["where"].as_str().unwrap_or(""),
                    attrs["elevated"],
                    attrs["reason"],
                    attrs["via"]
                )
            })
            .collect()
    }

    #[test]
    fn export_gives_org_team_and_repository_grants() {
        let parsed = check(
            json!({
                "organization": {"login": "acme"},
                "exported_at": "2025-04-01T00:00:00Z",
                "members": [{"login": "octocat", "site_admin": false}, {"login": "boss"}],
                "admins": [{"login": "boss", "email": "boss@acme.example"}],
                "teams": [{"slug": "platform", "members": [{"login": "octocat", "role": "maintainer"}],
                           "repositories": [{"full_name": "acme/infra", "permissions": {"admin": false, "maintain": true, "push": true, "pull": true}}]}],
                "repositories": [{"full_name": "acme/api", "collaborators": [
                    {"login": "octocat", "role_name": "admin", "permissions": {"admin": true}},
                    {"login": "reader", "permissions": {"admin": false, "push": false, "pull": true}},
                    {"id": 3}]}]
            }),
            None,
        );
        assert_eq!(
            grants(&parsed),
            vec![
                "octocat member @ github:acme elevated=false reason=null via=null",
                "boss admin @ github:acme elevated=true reason=\"admin\" via=null",
                "octocat team maintainer @ github:acme/team/platform elevated=false reason=null via=null",
                "octocat maintain @ acme/infra elevated=true reason=\"maintain\" via=\"team/platform\"",
                "octocat admin @ acme/api elevated=true reason=\"admin\" via=null",
                "reader read @ acme/api elevated=false reason=null via=null",
            ]
        );
        assert_eq!(parsed.evidence[1].subject.person.as_deref(), Some("boss@acme.example"));
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(
            parsed.diagnostics[0].pointer.as_deref(),
            Some("/repositories/0/collaborators/2")
        );
    }

    #[test]
    fn a_login_in_another_case_is_the_same_principal() {
        let parsed = check(
            json!({"organization": "acme",
                   "members": [{"login": "Octocat", "email": "octo@example.com"}],
                   "memberships": [{"role": "member", "state": "active", "user": {"login": "octocat"}}]}),
            None,
        );
        assert_eq!(
            grants(&parsed),
            ["octocat member @ github:acme elevated=false reason=null via=null"; 2]
        );
    }

    #[test]
    fn a_pending_invitation_is_not_a_grant() {
        let membership = json!({"role": "admin", "state": "pending", "user": {"login": "invitee"},
                                "organization": {"login": "acme"}});
        for input in [
            json!({"organization": "acme", "memberships": [membership.clone()]}),
            json!([membership]),
        ] {
            let parsed = check(input, None);
            assert!(parsed.evidence.is_empty(), "{:?}", grants(&parsed));
            let [warning] = parsed.diagnostics.as_slice() else {
                panic!("{:?}", parsed.diagnostics)
            };
            assert!(warning.warning);
            assert!(warning.message.contains("pending invitation"), "{}", warning.message);
        }
    }

    #[test]
    fn raw_collaborators_need_the_repository() {
        let list = json!([{"login": "a", "role_name": "maintain"}]);
        assert_eq!(
            grants(&check(list.clone(), Some("acme/web"))),
            vec!["a maintain @ acme/web elevated=true reason=\"maintain\" via=null"]
        );
        let parsed = check(list, None);
        assert!(parsed.evidence.is_empty());
        assert!(parsed.diagnostics[0].message.contains("--repo"));
        let memberships = json!([{"url": "https://api.github.com/orgs/acme/memberships/x", "state": "active", "role": "admin",
                                  "organization": {"login": "acme"}, "user": {"login": "x"}}]);
        assert_eq!(
            grants(&check(memberships, None)),
            vec!["x admin @ github:acme elevated=true reason=\"admin\" via=null"]
        );
    }

    #[test]
    fn a_members_email_is_on_all_grants_of_that_login() {
        let parsed = check(
            json!({"organization": "acme",
                   "members": [{"login": "Dana", "email": "dana@acme.io"}, {"login": "eve"}],
                   "teams": [{"slug": "core",
                              "members": [{"login": "dana"}, {"login": "eve"}],
                              "repositories": [{"full_name": "acme/api", "role_name": "admin"}]}],
                   "repositories": [{"full_name": "acme/web", "collaborators": [{"login": "DANA", "role_name": "write"}]}]}),
            None,
        );
        let persons: Vec<(String, Value)> = parsed
            .evidence
            .iter()
            .map(|record| {
                (
                    format!(
                        "{} @ {}",
                        record.attrs["principal"].as_str().unwrap_or(""),
                        record.attrs["where"].as_str().unwrap_or("")
                    ),
                    record.attrs["person"].clone(),
                )
            })
            .collect();
        assert_eq!(
            persons,
            [
                ("dana @ github:acme".to_string(), json!("dana@acme.io")),
                ("eve @ github:acme".to_string(), Value::Null),
                ("dana @ github:acme/team/core".to_string(), json!("dana@acme.io")),
                ("dana @ acme/api".to_string(), json!("dana@acme.io")),
                ("eve @ github:acme/team/core".to_string(), Value::Null),
                ("eve @ acme/api".to_string(), Value::Null),
                ("dana @ acme/web".to_string(), json!("dana@acme.io")),
            ]
        );
        assert!(
            parsed
                .evidence
                .iter()
                .filter(|record| record.attrs["principal"]
                    .as_str()
                    .is_some_and(|login| login.eq_ignore_ascii_case("dana")))
                .all(|record| record.subject.person.as_deref() == Some("dana@acme.io"))
        );
    }
}
