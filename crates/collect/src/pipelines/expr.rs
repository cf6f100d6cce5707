//! Three-valued evaluation of GitHub Actions expressions (`if:`,
//! `continue-on-error: ${{ ... }}`) and GitLab `rules: if:` expressions, for a
//! pull-request context: what is known about a pull request run is known
//! (`github.event_name`, `github.ref`, `$CI_PIPELINE_SOURCE`, ...), anything
//! else is `Unknown`, and `Unknown` spreads through comparisons.

use std::collections::HashMap;

/// A value, or the fact that it cannot be known from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `null`, or an unset GitLab variable.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// Not knowable from the file.
    Unknown,
}

impl Val {
    /// JavaScript-like truthiness; `None` when unknown.
    pub fn truthy(&self) -> Option<bool> {
        match self {
            Val::Null => Some(false),
            Val::Bool(value) => Some(*value),
            Val::Num(value) => Some(*value != 0.0 && !value.is_nan()),
            Val::Str(value) => Some(!value.is_empty()),
            Val::Unknown => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Ident(String),
    Var(String),
    Regex(String),
    Op(&'static str),
}

fn lex(text: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let character = chars[index];
        if character.is_whitespace() {
            index += 1;
            continue;
        }
        let two: String = chars[index..(index + 2).min(chars.len())].iter().collect();
        if let Some(op) = ["&&", "||", "==", "!=", "<=", ">=", "=~", "!~"]
            .iter()
            .find(|op| **op == two)
        {
            tokens.push(Tok::Op(op));
            index += 2;
            continue;
        }
        match character {
            '!' => tokens.push(Tok::Op("!")),
            '(' => tokens.push(Tok::Op("(")),
            ')' => tokens.push(Tok::Op(")")),
            ',' => tokens.push(Tok::Op(",")),
            '<' => tokens.push(Tok::Op("<")),
            '>' => tokens.push(Tok::Op(">")),
            '[' => tokens.push(Tok::Op("[")),
            ']' => tokens.push(Tok::Op("]")),
            '.' if tokens
                .last()
                .is_some_and(|token| matches!(token, Tok::Ident(_) | Tok::Op("]"))) =>
            {
                tokens.push(Tok::Op("."))
            }
            '\'' | '"' => {
                let quote = character;
                let mut value = String::new();
                index += 1;
                while index < chars.len() {
                    if chars[index] == quote {
                        if quote == '\'' && chars.get(index + 1) == Some(&'\'') {
                            value.push('\'');
                            index += 2;
                            continue;
                        }
                        break;
                    }
                    value.push(chars[index]);
                    index += 1;
                }
                tokens.push(Tok::Str(value));
            }
            '/' => {
                let mut value = String::new();
                index += 1;
                while index < chars.len() && chars[index] != '/' {
                    if chars[index] == '\\' && index + 1 < chars.len() {
                        value.push(chars[index]);
                        index += 1;
                    }
                    value.push(chars[index]);
                    index += 1;
                }
                index += 1;
                while index < chars.len() && chars[index].is_ascii_alphabetic() {
                    if chars[index] == 'i' {
                        value.insert_str(0, "(?i)");
                    }
                    index += 1;
                }
                tokens.push(Tok::Regex(value));
                continue;
            }
            '$' => {
                let mut name = String::new();
                index += 1;
                let braced = chars.get(index) == Some(&'{');
                if braced {
                    index += 1;
                }
                while index < chars.len() && (chars[index].is_ascii_alphanumeric() || chars[index] == '_') {
                    name.push(chars[index]);
                    index += 1;
                }
                if braced && chars.get(index) == Some(&'}') {
                    index += 1;
                }
                tokens.push(Tok::Var(name));
                continue;
            }
            _ if character.is_ascii_digit()
                || (character == '-' && chars.get(index + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = index;
                index += 1;
                while index < chars.len() && (chars[index].is_ascii_alphanumeric() || chars[index] == '.') {
                    index += 1;
                }
                let text: String = chars[start..index].iter().collect();
                tokens.push(text.parse().map(Tok::Num).unwrap_or(Tok::Str(text)));
                continue;
            }
            _ if character.is_alphabetic() || character == '_' || character == '*' => {
                let start = index;
                while index < chars.len() && (chars[index].is_alphanumeric() || matches!(chars[index], '_' | '-' | '*'))
                {
                    index += 1;
                }
                tokens.push(Tok::Ident(chars[start..index].iter().collect()));
                continue;
            }
            _ => return None,
        }
        index += 1;
    }
    Some(tokens)
}

/// What the evaluator knows.
pub struct Scope<'a> {
    /// Known context paths (`github.event_name`) or variables (`CI_PIPELINE_SOURCE`) and their values.
    pub known: &'a HashMap<String, Val>,
    /// GitLab semantics: an unknown `$VARIABLE` is unset (null), not unknown.
    pub unset_is_null: bool,
}

struct Eval<'a> {
    tokens: Vec<Tok>,
    index: usize,
    scope: &'a Scope<'a>,
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.index)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(found)) if *found == op) {
            self.index += 1;
            return true;
        }
        false
    }

    fn or(&mut self) -> Option<Val> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = match (left.truthy(), right.truthy()) {
                (Some(true), _) => left,
                (Some(false), _) => right,
                (None, Some(true)) => Val::Bool(true),
                (None, _) => Val::Unknown,
            };
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Val> {
        let mut left = self.compare()?;
        while self.eat("&&") {
            let right = self.compare()?;
            left = match (left.truthy(), right.truthy()) {
                (Some(false), _) => left,
                (Some(true), _) => right,
                (None, Some(false)) => Val::Bool(false),
                (None, _) => Val::Unknown,
            };
        }
        Some(left)
    }

    fn compare(&mut self) -> Option<Val> {
        let left = self.unary()?;
        let op = match self.peek() {
            Some(Tok::Op(op)) if matches!(*op, "==" | "!=" | "<" | ">" | "<=" | ">=" | "=~" | "!~") => *op,
            _ => return Some(left),
        };
        self.index += 1;
        if matches!(op, "=~" | "!~") {
            let pattern = match self.peek() {
                Some(Tok::Regex(pattern)) => pattern.clone(),
                _ => return None,
            };
            self.index += 1;
            let matched = match &left {
                Val::Unknown => return Some(Val::Unknown),
                Val::Str(text) => regex::Regex::new(&pattern).ok().map(|regex| regex.is_match(text)),
                _ => Some(false),
            };
            return Some(match matched {
                Some(matched) => Val::Bool(matched == (op == "=~")),
                None => Val::Unknown,
            });
        }
        let right = self.unary()?;
        if left == Val::Unknown || right == Val::Unknown {
            return Some(Val::Unknown);
        }
        let equal = match (&left, &right) {
            (Val::Str(a), Val::Str(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a == b,
        };
        Some(Val::Bool(match op {
            "==" => equal,
            "!=" => !equal,
            _ => return Some(Val::Unknown),
        }))
    }

    fn unary(&mut self) -> Option<Val> {
        if self.eat("!") {
            let value = self.unary()?;
            return Some(match value.truthy() {
                Some(truth) => Val::Bool(!truth),
                None => Val::Unknown,
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Option<Val> {
        let token = self.peek()?.clone();
        self.index += 1;
        match token {
            Tok::Op("(") => {
                let value = self.or()?;
                self.eat(")").then_some(value)
            }
            Tok::Str(text) => Some(Val::Str(text)),
            Tok::Num(number) => Some(Val::Num(number)),
            Tok::Regex(_) => None,
            Tok::Var(name) => Some(match self.scope.known.get(&name) {
                Some(value) => value.clone(),
                None if self.scope.unset_is_null => Val::Null,
                None => Val::Unknown,
            }),
            Tok::Ident(name) => match name.as_str() {
                "true" => Some(Val::Bool(true)),
                "false" => Some(Val::Bool(false)),
                "null" => Some(Val::Null),
                _ if matches!(self.peek(), Some(Tok::Op("("))) => {
                    self.index += 1;
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.or()?);
                            if self.eat(")") {
                                break;
                            }
                            if !self.eat(",") {
                                return None;
                            }
                        }
                    }
                    Some(call(&name, &args))
                }
                _ => {
                    let mut path = name;
                    loop {
                        if self.eat(".") {
                            match self.peek().cloned() {
                                Some(Tok::Ident(part)) => {
                                    self.index += 1;
                                    path.push('.');
                                    path.push_str(&part);
                                }
                                _ => return None,
                            }
                        } else if self.eat("[") {
                            let key = self.or()?;
                            if !self.eat("]") {
                                return None;
                            }
                            path.push('.');
                            match key {
                                Val::Str(text) => path.push_str(&text),
                                _ => path.push('*'),
                            }
                        } else {
                            break;
                        }
                    }
                    Some(
                        self.scope
                            .known
                            .get(&path.to_ascii_lowercase())
                            .cloned()
                            .unwrap_or(Val::Unknown),
                    )
                }
            },
            Tok::Op(_) => None,
        }
    }
}

fn call(name: &str, args: &[Val]) -> Val {
    let text = |index: usize| match args.get(index) {
        Some(Val::Str(text)) => Some(text.to_ascii_lowercase()),
        Some(Val::Unknown) | None => None,
        Some(Val::Null) => Some(String::new()),
        Some(Val::Bool(value)) => Some(value.to_string()),
        Some(Val::Num(value)) => Some(value.to_string()),
    };
    match name.to_ascii_lowercase().as_str() {
        "success" | "always" => Val::Bool(true),
        "failure" | "cancelled" => Val::Bool(false),
        "startswith" => match (text(0), text(1)) {
            (Some(a), Some(b)) => Val::Bool(a.starts_with(&b)),
            _ => Val::Unknown,
        },
        "endswith" => match (text(0), text(1)) {
            (Some(a), Some(b)) => Val::Bool(a.ends_with(&b)),
            _ => Val::Unknown,
        },
        "contains" => match (text(0), text(1)) {
            (Some(a), Some(b)) => Val::Bool(a.contains(&b)),
            _ => Val::Unknown,
        },
        _ => Val::Unknown,
    }
}

/// Evaluate an expression; `None` when it does not parse.
pub fn evaluate(text: &str, scope: &Scope<'_>) -> Option<Val> {
    let text = text.trim();
    let text = text
        .strip_prefix("${{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .unwrap_or(text);
    let tokens = lex(text)?;
    let mut eval = Eval {
        tokens,
        index: 0,
        scope,
    };
    let value = eval.or()?;
    (eval.index == eval.tokens.len()).then_some(value)
}

/// The GitHub context of a pull-request run triggered by `event`.
pub fn github_pull_request(event: &str) -> HashMap<String, Val> {
    let mut known = HashMap::new();
    known.insert("github.event_name".to_string(), Val::Str(event.to_string()));
    let reference = if event == "pull_request_target" {
        Val::Unknown
    } else if event == "merge_group" {
        Val::Str("refs/heads/gh-readonly-queue/main/pr-1".into())
    } else {
        Val::Str("refs/pull/1/merge".into())
    };
    // `github.ref_name` is the short form: `1/merge` on a pull request.
    let short = match &reference {
        Val::Str(full) => Val::Str(
            full.strip_prefix("refs/heads/")
                .or_else(|| full.strip_prefix("refs/pull/"))
                .unwrap_or(full)
                .to_string(),
        ),
        _ => Val::Unknown,
    };
    known.insert("github.ref".to_string(), reference);
    known.insert("github.ref_name".to_string(), short);
    known.insert("github.ref_type".to_string(), Val::Str("branch".into()));
    known.insert("github.ref_protected".to_string(), Val::Bool(false));
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(text: &str) -> Option<Val> {
        let known = github_pull_request("pull_request");
        evaluate(
            text,
            &Scope {
                known: &known,
                unset_is_null: false,
            },
        )
    }

    fn gitlab(text: &str, vars: &[(&str, &str)]) -> Option<Val> {
        let known = vars
            .iter()
            .map(|(name, value)| (name.to_string(), Val::Str(value.to_string())))
            .collect();
        evaluate(
            text,
            &Scope {
                known: &known,
                unset_is_null: true,
            },
        )
    }

    #[test]
    fn github_pull_request_context() {
        assert_eq!(github("github.event_name == 'push'"), Some(Val::Bool(false)));
        assert_eq!(
            github("${{ github.event_name == 'pull_request' }}"),
            Some(Val::Bool(true))
        );
        assert_eq!(github("github.ref == 'refs/heads/main'"), Some(Val::Bool(false)));
        assert_eq!(github("github.ref_name == 'main'"), Some(Val::Bool(false)));
        assert_eq!(github("github.ref_name != 'main'"), Some(Val::Bool(true)));
        assert_eq!(github("github.actor != 'dependabot[bot]'"), Some(Val::Unknown));
        assert_eq!(
            github(
                "(github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository) && github.actor != 'dependabot[bot]'"
            ),
            Some(Val::Unknown)
        );
        assert_eq!(github("startsWith(github.ref, 'refs/tags/')"), Some(Val::Bool(false)));
        assert_eq!(github("failure()"), Some(Val::Bool(false)));
        assert_eq!(github("github.repository == 'a/b' || true"), Some(Val::Bool(true)));
        assert_eq!(github("github.event_name == "), None);
    }

    #[test]
    fn gitlab_rules() {
        let mr = [
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_MERGE_REQUEST_IID", "1"),
            ("CI_DEFAULT_BRANCH", "main"),
        ];
        assert_eq!(
            gitlab("$CI_MERGE_REQUEST_IID", &mr).and_then(|value| value.truthy()),
            Some(true)
        );
        assert_eq!(gitlab("$CI_COMMIT_BRANCH == \"main\"", &mr), Some(Val::Bool(false)));
        assert_eq!(
            gitlab("$CI_COMMIT_BRANCH && $CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH", &mr)
                .and_then(|value| value.truthy()),
            Some(false)
        );
        assert_eq!(gitlab("$CI_PIPELINE_SOURCE =~ /^merge/", &mr), Some(Val::Bool(true)));
        assert_eq!(
            gitlab("$SECRET_DETECTION_DISABLED", &mr).and_then(|value| value.truthy()),
            Some(false)
        );
    }
}
