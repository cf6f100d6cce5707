//! YAML under budgets: serde-saphyr options that refuse alias bombs, deep
//! nesting, too many documents and oversized input, and plain messages for its
//! errors. Used by the DSOMM model loader and by the YAML collectors.

use serde_saphyr::MessageFormatter;
use serde_saphyr::budget::BudgetBreach;

/// The limits one YAML input is parsed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlBudget {
    /// Largest input, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of block and flow collections.
    pub max_depth: usize,
    /// Most documents in one stream.
    pub max_documents: usize,
    /// Most aliases (and anchors).
    pub max_aliases: usize,
    /// Most events replayed through aliases in total.
    pub max_replayed_events: usize,
    /// Most nodes (mappings, sequences and scalars as written; aliases are
    /// counted by `max_aliases` and `max_replayed_events`) in one document.
    pub max_nodes: usize,
}

/// What went wrong reading YAML: where, and whether a budget stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlProblem {
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// Whether a budget (size, depth, aliases, ...) stopped the parser, rather
    /// than a syntax or type error.
    pub limit: bool,
    /// A plain message without the location.
    pub message: String,
}

impl YamlBudget {
    /// The serde-saphyr options for this budget, without snippets in messages.
    pub fn options(&self) -> serde_saphyr::Options {
        serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_reader_input_bytes: Some(self.max_bytes),
                max_depth: self.max_depth,
                flow_nesting_limit: self.max_depth,
                max_documents: self.max_documents,
                max_aliases: self.max_aliases,
                max_anchors: self.max_aliases,
                max_nodes: self.max_nodes,
                max_events: self.max_nodes.saturating_mul(2),
            },
            alias_limits: serde_saphyr::alias_limits! {
                max_total_replayed_events: self.max_replayed_events,
                max_replay_stack_depth: self.max_depth,
            },
            with_snippet: false,
        }
    }

    /// Describe a serde-saphyr error: location, whether a budget stopped it, message.
    pub fn describe(&self, error: &serde_saphyr::Error) -> YamlProblem {
        let location = error.location().filter(|location| location.line() > 0);
        let line = location.map(|location| location.line());
        let column = location.map(|location| location.column()).filter(|&column| column > 0);
        let inner = innermost(error);
        let (limit, message) = match inner {
            serde_saphyr::Error::Budget { breach, .. } => (true, self.describe_breach(breach)),
            serde_saphyr::Error::AliasReplayCounterOverflow { .. }
            | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
            | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
            | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. } => (
                true,
                format!(
                    "alias expansion too large (possible alias bomb): {}",
                    plain_message(inner)
                ),
            ),
            other => {
                let message = plain_message(other);
                if message.contains("recursion limit") {
                    (
                        true,
                        format!(
                            "YAML nested too deeply (more than {} levels): {message}",
                            self.max_depth
                        ),
                    )
                } else {
                    (false, message)
                }
            }
        };
        YamlProblem {
            line,
            column,
            limit,
            message,
        }
    }

    /// A person-readable text for a budget breach.
    fn describe_breach(&self, breach: &BudgetBreach) -> String {
        match breach {
            BudgetBreach::Depth { depth } => {
                format!("YAML nested too deeply ({depth} levels, limit {})", self.max_depth)
            }
            BudgetBreach::Aliases { aliases } => {
                format!(
                    "too many YAML aliases ({aliases}, limit {}; possible alias bomb)",
                    self.max_aliases
                )
            }
            BudgetBreach::Anchors { anchors } => {
                format!("too many YAML anchors ({anchors}, limit {})", self.max_aliases)
            }
            BudgetBreach::AliasAnchorRatio { aliases, anchors } => {
                format!("too many aliases per anchor ({aliases} aliases for {anchors} anchors; possible alias bomb)")
            }
            BudgetBreach::Documents { documents } => {
                format!("too many YAML documents ({documents}, limit {})", self.max_documents)
            }
            // Nodes and events are counted as written: aliases are refused
            // by their own budgets, so these are plain large documents.
            BudgetBreach::Nodes { nodes } => {
                format!("too many YAML nodes ({nodes}, limit {})", self.max_nodes)
            }
            BudgetBreach::Events { events } => {
                format!(
                    "too many YAML events ({events}, limit {})",
                    self.max_nodes.saturating_mul(2)
                )
            }
            other => format!("YAML too large or too complex ({other:?})"),
        }
    }
}

/// The error under any alias or snippet wrappers.
fn innermost(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error: inner, .. }
    | serde_saphyr::Error::WithSnippet { error: inner, .. } = error
    {
        error = inner;
    }
    error
}

/// The error's message without location suffix, control characters replaced by spaces.
fn plain_message(error: &serde_saphyr::Error) -> String {
    let message = serde_saphyr::UserMessageFormatter.format_message(error);
    if message == "expected string scalar" {
        return "expected a text value (a string scalar), found a list or a mapping".to_string();
    }
    message
        .chars()
        .map(|character| if character.is_control() { ' ' } else { character })
        .collect()
}
