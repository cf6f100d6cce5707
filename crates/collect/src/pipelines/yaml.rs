//! A YAML tree that remembers the line of every node, for CI configuration.
//!
//! Built from granit-parser's events (the parser serde-saphyr uses) rather than
//! through serde, because the pipeline linter must cite the exact line of each
//! step and of each key that decides its mode, keep custom tags such as
//! GitLab's `!reference`, and resolve anchors and `<<` merge keys the way CI
//! platforms do. Hostile input is bounded: nesting depth, total nodes
//! (including those produced by expanding aliases) and input size.

use granit_parser::{Event, Parser};
use std::collections::HashMap;

/// Most nodes a document may expand to, counting every alias expansion.
pub const MAX_NODES: usize = 2_000_000;

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// 1-based line of the node's first character.
    pub line: u64,
    /// Which input the node came from (an index the caller assigns; 0 for the first).
    pub source: u16,
    /// The tag as written (`!reference`), when the node has a custom one.
    pub tag: Option<String>,
    /// The content.
    pub value: Value,
}

/// The content of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar, as text; `plain` is false for quoted and block scalars.
    Scalar {
        /// The text after escape processing.
        text: String,
        /// Whether it was written plain (unquoted), so `true`/`null` mean booleans and null.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, merge keys already applied.
    Map(Vec<(Node, Node)>),
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl Node {
    /// The text of a scalar node (any style).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A YAML 1.2 core-schema boolean; quoted `"true"` counts too, since CI
    /// platforms read strings there.
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()?.trim() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// Whether the node is null (`~`, `null`, or an empty plain scalar).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    /// The key node and value under `key` in a mapping (the key carries the line).
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(name, _)| name.as_str() == Some(key))
                .map(|(name, value)| (name, value)),
            _ => None,
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a sequence (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// Whether the node is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// A scalar or the scalars of a sequence, as strings (`on: push` and
    /// `on: [push, pull_request]` alike).
    pub fn strings(&self) -> Vec<&str> {
        match &self.value {
            Value::Scalar { text, .. } => vec![text.as_str()],
            Value::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
            Value::Map(_) => Vec::new(),
        }
    }

    fn count(&self) -> usize {
        match &self.value {
            Value::Scalar { .. } => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::count).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(key, value)| key.count() + value.count())
                    .sum::<usize>()
            }
        }
    }
}

enum Frame {
    Seq {
        line: u64,
        tag: Option<String>,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: u64,
        tag: Option<String>,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        merged: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parse every document of a YAML stream into trees, refusing nesting deeper
/// than `max_depth` and streams that expand to more than [`MAX_NODES`] nodes.
pub fn parse_documents(text: &str, max_depth: usize, source: u16) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text).keep_tags(true);
    let mut documents = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    let mut root: Option<Node> = None;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|error| YamlError {
            line: error.marker().line() as u64,
            column: error.marker().col() as u64 + 1,
            message: error.info(),
        })?;
        let line = span.start.line() as u64;
        let at = |message: String| YamlError {
            line,
            column: span.start.col() as u64 + 1,
            message,
        };
        let finished: Option<(Node, usize)> = match event {
            Event::DocumentStart(..) => {
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                documents.push(root.take().unwrap_or(Node {
                    line,
                    source,
                    tag: None,
                    value: Value::Scalar {
                        text: String::new(),
                        plain: true,
                    },
                }));
                None
            }
            Event::Scalar(text, style, anchor, tag) => {
                nodes += 1;
                Some((
                    Node {
                        line,
                        source,
                        tag: tag.filter(|tag| tag.is_custom()).map(|tag| tag.original()),
                        value: Value::Scalar {
                            text: text.into_owned(),
                            plain: matches!(style, granit_parser::ScalarStyle::Plain),
                        },
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                let is_seq = matches!(event, Event::SequenceStart(..));
                nodes += 1;
                if stack.len() >= max_depth {
                    return Err(at(format!("nesting deeper than {max_depth} levels")));
                }
                let tag = tag.as_ref().filter(|tag| tag.is_custom()).map(|tag| tag.original());
                stack.push(if is_seq {
                    Frame::Seq {
                        line,
                        tag,
                        anchor,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        line,
                        tag,
                        anchor,
                        entries: Vec::new(),
                        merged: Vec::new(),
                        key: None,
                    }
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    line,
                    tag,
                    anchor,
                    items,
                }) => Some((
                    Node {
                        line,
                        source,
                        tag,
                        value: Value::Seq(items),
                    },
                    anchor,
                )),
                _ => return Err(at("unbalanced sequence end".to_string())),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    line,
                    tag,
                    anchor,
                    mut entries,
                    merged,
                    ..
                }) => {
                    for (key, value) in merged {
                        if !entries.iter().any(|(existing, _)| existing.as_str() == key.as_str()) {
                            entries.push((key, value));
                        }
                    }
                    Some((
                        Node {
                            line,
                            source,
                            tag,
                            value: Value::Map(entries),
                        },
                        anchor,
                    ))
                }
                _ => return Err(at("unbalanced mapping end".to_string())),
            },
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(at(
                        "alias to an anchor that is not complete (a recursive alias)".to_string()
                    ));
                };
                nodes = nodes.saturating_add(target.count());
                if nodes > MAX_NODES {
                    return Err(at(format!(
                        "aliases expand to more than {MAX_NODES} nodes (an alias bomb?)"
                    )));
                }
                let mut copy = target.clone();
                copy.line = line;
                Some((copy, 0))
            }
            _ => None,
        };
        if nodes > MAX_NODES {
            return Err(at(format!("more than {MAX_NODES} nodes")));
        }
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, merged, key, ..
            }) => match key.take() {
                None => *key = Some(node),
                Some(name) if name.as_str() == Some("<<") && name.tag.is_none() => match node.value {
                    Value::Map(more) => merged.extend(more),
                    Value::Seq(maps) => {
                        for map in maps {
                            if let Value::Map(more) = map.value {
                                merged.extend(more);
                            }
                        }
                    }
                    Value::Scalar { .. } => entries.push((name, node)),
                },
                Some(name) => entries.push((name, node)),
            },
        }
    }
    if let Some(node) = root.take() {
        documents.push(node);
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        match parse_documents(text, 64, 0) {
            Ok(mut documents) if !documents.is_empty() => documents.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lines_tags_and_merges() {
        let root = one(
            "a: 1\nlist:\n  - name: x\n    run: y\nref: !reference [.x, rules]\nbase: &b\n  k: 1\n  j: 2\nuse:\n  <<: *b\n  j: 3\n",
        );
        assert_eq!(root.entry("list").map(|(key, _)| key.line), Some(2));
        assert_eq!(root.get("list").map(|list| list.items()[0].line), Some(3));
        assert_eq!(
            root.get("ref").and_then(|node| node.tag.clone()).as_deref(),
            Some("!reference")
        );
        let used = root.get("use").cloned().unwrap_or(root.clone());
        assert_eq!(used.get("j").and_then(Node::as_str), Some("3"));
        assert_eq!(used.get("k").and_then(Node::as_str), Some("1"));
    }

    #[test]
    fn hostile_documents_are_refused() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = level - 1;
            bomb.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
            ));
        }
        let error = parse_documents(&bomb, 64, 0)
            .err()
            .map(|error| error.message)
            .unwrap_or_default();
        assert!(error.contains("alias"), "{error}");
        let deep = "[".repeat(100) + &"]".repeat(100);
        let error = parse_documents(&deep, 64, 0)
            .err()
            .map(|error| error.message)
            .unwrap_or_default();
        assert!(error.contains("nesting"), "{error}");
        let broken = parse_documents("a: [1, 2\nb: 3\n", 64, 0).err();
        assert!(broken.is_some_and(|error| error.line >= 1));
    }
}
