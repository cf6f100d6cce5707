//! Loader for the official DSOMM model file: the v4 multi-document `model.yaml` and the older
//! single-document v3 `generated.yaml`.
//!
//! Both files share one shape, `Dimension -> Sub-dimension -> Activity name -> fields`. The v4
//! file is preceded by a `meta` document (`meta: {version, released, publisher}`); the v3 file
//! has no `meta` document and carries per-activity team claims (`teamsImplemented`,
//! `teamsEvidence`).
//!
//! The loader takes bytes (no I/O here) and is written for hostile input: a size cap
//! ([`MAX_MODEL_BYTES`]), serde-saphyr budgets against alias bombs, deep nesting and document
//! storms, and every failure is a [`ModelError`] naming the origin, the line and column when
//! known, and what was expected. It never panics.
//!
//! Text is kept exactly as written: a reference such as `8.10` (a YAML float when unquoted) is
//! read from the scalar's own text, so it stays `"8.10"` and never becomes `"8.1"`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Largest model file accepted, in bytes (64 MiB; the 4.3.1 model is about 340 KiB).
pub const MAX_MODEL_BYTES: usize = 64 * 1024 * 1024;
/// Deepest nesting of YAML collections accepted (the model itself needs 7).
pub const MAX_NESTING_DEPTH: usize = 32;
/// Most YAML documents accepted in one model file (the v4 file has 2).
pub const MAX_DOCUMENTS: usize = 16;
/// Most alias (`*name`) uses accepted (the official files use none).
pub const MAX_ALIASES: usize = 1_000;
/// Most parser events that alias expansion may replay in total.
pub const MAX_REPLAYED_EVENTS: usize = 100_000;
/// Lowest DSOMM level.
pub const MIN_LEVEL: u8 = 1;
/// Highest DSOMM level.
pub const MAX_LEVEL: u8 = 5;

/// Which kind of file a [`DsommModel`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFormat {
    /// DSOMM 4.x `model.yaml`: a `meta` document, then the model document.
    V4,
    /// DSOMM 3.x `generated.yaml`: one document without `meta`, activities may carry
    /// `teamsImplemented` / `teamsEvidence`.
    V3Generated,
    /// The project's own embedded activity catalogue (facts only, no prose); see
    /// [`crate::catalogue::Catalogue::as_model`].
    Catalogue,
}

impl ModelFormat {
    /// A short stable name: `v4`, `v3-generated` or `catalogue`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFormat::V4 => "v4",
            ModelFormat::V3Generated => "v3-generated",
            ModelFormat::Catalogue => "catalogue",
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A loaded DSOMM model: its version and its activities in model order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DsommModel {
    /// Where the model came from (a path as given by the caller, or `catalogue`).
    pub origin: String,
    /// `meta.version` exactly as written (e.g. `4.3.1`); `None` for v3 files.
    pub version: Option<String>,
    /// `meta.released` exactly as written, when present.
    pub released: Option<String>,
    /// Which kind of file this was.
    pub format: ModelFormat,
    /// Every activity, in the order of the file (dimension, sub-dimension, activity).
    pub activities: Vec<Activity>,
}

/// Effort estimates of an activity (`difficultyOfImplementation`), each usually 1..5.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Difficulty {
    /// Knowledge needed.
    pub knowledge: Option<u8>,
    /// Time needed.
    pub time: Option<u8>,
    /// Resources needed.
    pub resources: Option<u8>,
}

/// A v3 `teamsImplemented` value: a yes/no flag, or a text (usually the date it was reached).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TeamImplementation {
    /// `true` / `false` as written in the file.
    Flag(bool),
    /// Any other scalar, as text (usually a `YYYY-MM-DD` date).
    Text(String),
}

/// One DSOMM activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// The activity's `uuid`, as written. Opaque: never check its form (two uuids of the
    /// official model are not RFC 4122).
    pub uuid: String,
    /// The activity name (its key in the model).
    pub name: String,
    /// The dimension it belongs to (e.g. `Build and Deployment`).
    pub dimension: String,
    /// The sub-dimension it belongs to (e.g. `Build`).
    pub subdimension: String,
    /// The DSOMM level, 1..5.
    pub level: u8,
    /// `description`, as written.
    pub description: Option<String>,
    /// `risk`, as written.
    pub risk: Option<String>,
    /// `measure`, as written.
    pub measure: Option<String>,
    /// `assessment`, as written.
    pub assessment: Option<String>,
    /// `meta.implementationGuide`, as written.
    pub implementation_guide: Option<String>,
    /// Names of the suggested tools and practices (`implementation`): list items that are
    /// strings are kept, mappings give their `name`; `""`, `[]` and null give an empty list.
    pub implementation: Vec<String>,
    /// `references`: framework name (`samm2`, `iso27001-2017`, `iso27001-2022`, `openCRE`,
    /// ...) to the references, each exactly as written in the file.
    pub references: BTreeMap<String, Vec<String>>,
    /// `dependsOn`: other activities, by name (v3) or uuid (v4), as given.
    pub depends_on: Vec<String>,
    /// `tags`, as given.
    pub tags: Vec<String>,
    /// `difficultyOfImplementation`, when present.
    pub difficulty: Option<Difficulty>,
    /// `usefulness`, when present.
    pub usefulness: Option<u8>,
    /// v3 `teamsImplemented`: team name to flag or date text (null entries are left out).
    pub teams_implemented: BTreeMap<String, TeamImplementation>,
    /// v3 `teamsEvidence`: team name to evidence text (null entries are left out).
    pub teams_evidence: BTreeMap<String, String>,
    /// 1-based line of the activity's name in the file, when read from a file.
    pub line: Option<u64>,
}

impl Activity {
    /// A bare activity holding only the catalogue facts (no prose, no references).
    pub fn from_facts(
        uuid: impl Into<String>,
        name: impl Into<String>,
        dimension: impl Into<String>,
        subdimension: impl Into<String>,
        level: u8,
    ) -> Self {
        Activity {
            uuid: uuid.into(),
            name: name.into(),
            dimension: dimension.into(),
            subdimension: subdimension.into(),
            level,
            description: None,
            risk: None,
            measure: None,
            assessment: None,
            implementation_guide: None,
            implementation: Vec::new(),
            references: BTreeMap::new(),
            depends_on: Vec::new(),
            tags: Vec::new(),
            difficulty: None,
            usefulness: None,
            teams_implemented: BTreeMap::new(),
            teams_evidence: BTreeMap::new(),
            line: None,
        }
    }
}

impl DsommModel {
    /// Number of activities.
    pub fn activity_count(&self) -> usize {
        self.activities.len()
    }

    /// Dimension names in model order (first appearance), without repeats.
    pub fn dimensions(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.activities
            .iter()
            .map(|activity| activity.dimension.as_str())
            .filter(|dimension| seen.insert(*dimension))
            .collect()
    }

    /// `(dimension, sub-dimension)` pairs in model order, without repeats. Sub-dimensions
    /// without any activity do not appear.
    pub fn subdimensions(&self) -> Vec<(&str, &str)> {
        let mut seen = HashSet::new();
        self.activities
            .iter()
            .map(|activity| (activity.dimension.as_str(), activity.subdimension.as_str()))
            .filter(|pair| seen.insert(*pair))
            .collect()
    }

    /// Number of distinct dimensions that hold at least one activity.
    pub fn dimension_count(&self) -> usize {
        self.dimensions().len()
    }

    /// Number of distinct `(dimension, sub-dimension)` pairs that hold at least one activity.
    pub fn subdimension_count(&self) -> usize {
        self.subdimensions().len()
    }

    /// Activity counts per dimension, in model order.
    pub fn activities_by_dimension(&self) -> Vec<(&str, usize)> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for activity in &self.activities {
            let dimension = activity.dimension.as_str();
            match index.get(dimension) {
                Some(&position) => {
                    if let Some(entry) = counts.get_mut(position) {
                        entry.1 += 1;
                    }
                }
                None => {
                    index.insert(dimension, counts.len());
                    counts.push((dimension, 1));
                }
            }
        }
        counts
    }

    /// The activities of one sub-dimension, in model order.
    pub fn activities_in<'a>(
        &'a self,
        dimension: &'a str,
        subdimension: &'a str,
    ) -> impl Iterator<Item = &'a Activity> + 'a {
        self.activities
            .iter()
            .filter(move |activity| activity.dimension == dimension && activity.subdimension == subdimension)
    }

    /// The activity with this uuid (compared as text, exactly).
    pub fn activity_by_uuid(&self, uuid: &str) -> Option<&Activity> {
        self.activities.iter().find(|activity| activity.uuid == uuid)
    }

    /// The first activity with this name.
    pub fn activity_by_name(&self, name: &str) -> Option<&Activity> {
        self.activities.iter().find(|activity| activity.name == name)
    }

    /// Resolve a `dependsOn` entry: by uuid first, then by name.
    pub fn resolve_dependency(&self, reference: &str) -> Option<&Activity> {
        self.activity_by_uuid(reference)
            .or_else(|| self.activity_by_name(reference))
    }

    /// Every `(activity uuid, dependsOn entry)` that names no activity of this model.
    pub fn unresolved_dependencies(&self) -> Vec<(&str, &str)> {
        self.activities
            .iter()
            .flat_map(|activity| {
                activity
                    .depends_on
                    .iter()
                    .map(move |reference| (activity.uuid.as_str(), reference.as_str()))
            })
            .filter(|(_, reference)| self.resolve_dependency(reference).is_none())
            .collect()
    }
}

/// Why a model file could not be loaded. Every variant names the file (`origin`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The file is larger than [`MAX_MODEL_BYTES`].
    #[error("{origin}: the model file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        origin: String,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The file is not UTF-8 text.
    #[error("{origin}:{line}:{column}: expected UTF-8 text, found an invalid byte sequence")]
    NotUtf8 {
        /// The file.
        origin: String,
        /// 1-based line of the first invalid byte.
        line: u64,
        /// 1-based column (in bytes) of the first invalid byte.
        column: u64,
    },
    /// The file is empty or holds no activity.
    #[error("{origin}: no DSOMM activities found (expected YAML `Dimension -> Sub-dimension -> Activity -> fields`)")]
    Empty {
        /// The file.
        origin: String,
    },
    /// The YAML is malformed (truncated, bad syntax) or a value has the wrong type.
    #[error("{}: {message}", position(.origin, .line, .column))]
    Syntax {
        /// The file.
        origin: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// What went wrong and what was expected.
        message: String,
    },
    /// The YAML was refused as hostile or too costly: alias bomb, deep nesting, too many
    /// documents, nodes or events.
    #[error("{}: refused: {message}", position(.origin, .line, .column))]
    Limit {
        /// The file.
        origin: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// Which limit was reached.
        message: String,
    },
    /// The YAML is well formed but breaks a model rule (missing uuid or level, level out of
    /// range, duplicate uuid, empty name).
    #[error("{}: {message}", position(.origin, .line, .column))]
    Invalid {
        /// The file.
        origin: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// The rule broken and what was expected.
        message: String,
    },
}

impl ModelError {
    /// The file the error is about.
    pub fn origin(&self) -> &str {
        match self {
            ModelError::TooLarge { origin, .. }
            | ModelError::NotUtf8 { origin, .. }
            | ModelError::Empty { origin }
            | ModelError::Syntax { origin, .. }
            | ModelError::Limit { origin, .. }
            | ModelError::Invalid { origin, .. } => origin,
        }
    }

    /// The 1-based line the error is about, when known.
    pub fn line(&self) -> Option<u64> {
        match self {
            ModelError::NotUtf8 { line, .. } => Some(*line),
            ModelError::Syntax { line, .. } | ModelError::Limit { line, .. } | ModelError::Invalid { line, .. } => {
                *line
            }
            ModelError::TooLarge { .. } | ModelError::Empty { .. } => None,
        }
    }

    /// The 1-based column the error is about, when known.
    pub fn column(&self) -> Option<u64> {
        match self {
            ModelError::NotUtf8 { column, .. } => Some(*column),
            ModelError::Syntax { column, .. }
            | ModelError::Limit { column, .. }
            | ModelError::Invalid { column, .. } => *column,
            ModelError::TooLarge { .. } | ModelError::Empty { .. } => None,
        }
    }
}

/// `origin:line:column`, `origin:line` or `origin`.
fn position(origin: &str, line: &Option<u64>, column: &Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("{origin}:{line}:{column}"),
        (Some(line), None) => format!("{origin}:{line}"),
        _ => origin.to_string(),
    }
}

/// Load a DSOMM model from the bytes of `model.yaml` (v4) or `generated.yaml` (v3).
///
/// `origin` names the file in errors and in [`DsommModel::origin`]. A file with a `meta`
/// document is read as [`ModelFormat::V4`], a file without one as
/// [`ModelFormat::V3Generated`]; when several documents hold dimensions, the last one is the
/// model.
pub fn load_model(bytes: &[u8], origin: &str) -> Result<DsommModel, ModelError> {
    if bytes.len() > MAX_MODEL_BYTES {
        return Err(ModelError::TooLarge {
            origin: origin.to_string(),
            size: bytes.len(),
            limit: MAX_MODEL_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = line_and_column(bytes, error.valid_up_to());
        ModelError::NotUtf8 {
            origin: origin.to_string(),
            line,
            column,
        }
    })?;
    let empty = || ModelError::Empty {
        origin: origin.to_string(),
    };
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(empty());
    }

    let documents: Vec<Document> =
        serde_saphyr::from_str_multiple_with_options::<Document, Vec<Document>>(text, BUDGET.options())
            .map_err(|error| yaml_error(origin, &error))?;

    let mut meta = None;
    let mut body = None;
    for document in documents {
        if document.meta.is_some() {
            meta = document.meta;
        }
        if !document.dimensions.is_empty() {
            body = Some(document.dimensions);
        }
    }
    let format = if meta.is_some() {
        ModelFormat::V4
    } else {
        ModelFormat::V3Generated
    };
    let meta = meta.unwrap_or_default();
    let body = body.ok_or_else(empty)?;

    let activities = build_activities(body, text, origin)?;
    if activities.is_empty() {
        return Err(empty());
    }
    Ok(DsommModel {
        origin: origin.to_string(),
        version: meta.version,
        released: meta.released,
        format,
        activities,
    })
}

/// The budget the model is parsed under.
const BUDGET: crate::yaml::YamlBudget = crate::yaml::YamlBudget {
    max_bytes: MAX_MODEL_BYTES,
    max_depth: MAX_NESTING_DEPTH,
    max_documents: MAX_DOCUMENTS,
    max_aliases: MAX_ALIASES,
    max_replayed_events: MAX_REPLAYED_EVENTS,
    max_nodes: 2_000_000,
};

/// 1-based line and column (in bytes) of byte `offset`.
fn line_and_column(bytes: &[u8], offset: usize) -> (u64, u64) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |newline| newline + 1);
    (line as u64, (offset - line_start) as u64 + 1)
}

/// Turn a serde-saphyr error into a [`ModelError`] with the location and a plain message.
fn yaml_error(origin: &str, error: &serde_saphyr::Error) -> ModelError {
    let problem = BUDGET.describe(error);
    let origin = origin.to_string();
    if problem.limit {
        ModelError::Limit {
            origin,
            line: problem.line,
            column: problem.column,
            message: problem.message,
        }
    } else {
        ModelError::Syntax {
            origin,
            line: problem.line,
            column: problem.column,
            message: problem.message,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw shapes read from YAML.

/// `meta: {version, released, ...}` of a v4 file.
#[derive(Debug, Default, serde::Deserialize)]
struct RawMeta {
    version: Option<String>,
    released: Option<String>,
}

/// One YAML document: an optional `meta` and the dimensions, in order.
struct Document {
    meta: Option<RawMeta>,
    dimensions: Vec<(Spanned<String>, Option<Dimension>)>,
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocumentVisitor;
        impl<'de> Visitor<'de> for DocumentVisitor {
            type Value = Document;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a DSOMM model document: a mapping of dimensions (or a `meta` mapping)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
                let mut meta = None;
                let mut dimensions = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.value == "meta" {
                        meta = Some(map.next_value::<Option<RawMeta>>()?.unwrap_or_default());
                    } else {
                        let dimension = map.next_value::<Option<Dimension>>()?;
                        dimensions.push((key, dimension));
                    }
                }
                Ok(Document { meta, dimensions })
            }
        }
        deserializer.deserialize_any(DocumentVisitor)
    }
}

/// What an ordered mapping holds, for the "expected ..." part of error messages.
trait EntryKind {
    /// The text after "expected".
    const EXPECTING: &'static str;
}

/// A YAML mapping read into a vector, keeping the file's order and each key's location.
struct Entries<V, K> {
    entries: Vec<(Spanned<String>, V)>,
    kind: PhantomData<K>,
}

impl<'de, V: Deserialize<'de>, K: EntryKind> Deserialize<'de> for Entries<V, K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V, K>(PhantomData<(V, K)>);
        impl<'de, V: Deserialize<'de>, K: EntryKind> Visitor<'de> for EntriesVisitor<V, K> {
            type Value = Entries<V, K>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(K::EXPECTING)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                Ok(Entries {
                    entries,
                    kind: PhantomData,
                })
            }
        }
        deserializer.deserialize_any(EntriesVisitor(PhantomData))
    }
}

/// Marker: the value of a dimension.
struct SubDimensionsKind;
impl EntryKind for SubDimensionsKind {
    const EXPECTING: &'static str = "a dimension: a mapping of sub-dimension names to activities";
}

/// Marker: the value of a sub-dimension.
struct ActivitiesKind;
impl EntryKind for ActivitiesKind {
    const EXPECTING: &'static str = "a sub-dimension: a mapping of activity names to activity fields";
}

/// A dimension: sub-dimension name to its activities (null when empty).
type Dimension = Entries<Option<SubDimension>, SubDimensionsKind>;
/// A sub-dimension: activity name to its fields.
type SubDimension = Entries<ActivityFields, ActivitiesKind>;

/// The fields of one activity, with a clear "expected" message when it is not a mapping.
struct ActivityFields(RawActivity);

impl<'de> Deserialize<'de> for ActivityFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = ActivityFields;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an activity: a mapping of fields (uuid, level, description, risk, measure, ...)")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ActivityFields, A::Error> {
                RawActivity::deserialize(de::value::MapAccessDeserializer::new(map)).map(ActivityFields)
            }
        }
        deserializer.deserialize_any(FieldsVisitor)
    }
}

/// `meta` of an activity.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawActivityMeta {
    implementation_guide: Option<String>,
}

/// The fields of one activity as read; checked and normalised in [`build_activities`].
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawActivity {
    uuid: Option<String>,
    level: Option<Level>,
    description: Option<String>,
    risk: Option<String>,
    measure: Option<String>,
    assessment: Option<String>,
    meta: Option<RawActivityMeta>,
    difficulty_of_implementation: Option<Difficulty>,
    usefulness: Option<u8>,
    implementation: Option<ImplementationList>,
    references: Option<BTreeMap<String, Spanned<TextList>>>,
    depends_on: Option<Spanned<TextList>>,
    tags: Option<Spanned<TextList>>,
    teams_implemented: Option<BTreeMap<String, Option<TeamImplementation>>>,
    teams_evidence: Option<BTreeMap<String, Option<String>>>,
}

/// A DSOMM level, checked to be 1..5.
struct Level(u8);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LevelVisitor;
        const EXPECTED: &str = "a DSOMM level: a whole number from 1 to 5";
        impl LevelVisitor {
            fn check<E: de::Error>(value: u64, unexpected: de::Unexpected<'_>) -> Result<Level, E> {
                u8::try_from(value)
                    .ok()
                    .filter(|level| (MIN_LEVEL..=MAX_LEVEL).contains(level))
                    .map(Level)
                    .ok_or_else(|| E::invalid_value(unexpected, &EXPECTED))
            }
        }
        impl<'de> Visitor<'de> for LevelVisitor {
            type Value = Level;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(EXPECTED)
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Level, E> {
                Self::check(value, de::Unexpected::Unsigned(value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Level, E> {
                let unexpected = de::Unexpected::Signed(value);
                let value = u64::try_from(value).map_err(|_| E::invalid_value(unexpected, &EXPECTED))?;
                Self::check(value, unexpected)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Level, E> {
                let unexpected = de::Unexpected::Str(value);
                let trimmed = value.trim();
                if trimmed.is_empty() || !trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(E::invalid_value(unexpected, &EXPECTED));
                }
                let number = trimmed
                    .parse::<u64>()
                    .map_err(|_| E::invalid_value(unexpected, &EXPECTED))?;
                Self::check(number, unexpected)
            }
        }
        deserializer.deserialize_any(LevelVisitor)
    }
}

/// The `implementation` field: a list of tool names or tool mappings, `""`, or null.
struct ImplementationList(Vec<String>);

impl<'de> Deserialize<'de> for ImplementationList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = ImplementationList;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list of implementations (tool names or mappings with `name`)")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ImplementationList(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ImplementationList(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                let names = if value.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![value.to_string()]
                };
                Ok(ImplementationList(names))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(item) = seq.next_element::<Option<ImplementationItem>>()? {
                    if let Some(ImplementationItem(name)) = item
                        && !name.trim().is_empty()
                    {
                        names.push(name);
                    }
                }
                Ok(ImplementationList(names))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// One implementation: a name, or a mapping whose `name` is taken.
struct ImplementationItem(String);

impl<'de> Deserialize<'de> for ImplementationItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = ImplementationItem;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an implementation: a tool name or a mapping with `name`")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(ImplementationItem(value.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut name = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "name" {
                        name = Some(map.next_value::<String>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                name.map(ImplementationItem)
                    .ok_or_else(|| de::Error::missing_field("name"))
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

/// A list of texts (`references` values, `dependsOn`, `tags`): a sequence of scalars, one
/// scalar, or null. Sequence items are read as strings, so their text is exact; a lone
/// non-string scalar is marked `inexact` and its text recovered from the source later.
struct TextList {
    items: Vec<String>,
    inexact: bool,
}

impl TextList {
    fn exact(items: Vec<String>) -> Self {
        TextList { items, inexact: false }
    }

    fn approximate(text: String) -> Self {
        TextList {
            items: vec![text],
            inexact: true,
        }
    }
}

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextListVisitor;
        impl<'de> Visitor<'de> for TextListVisitor {
            type Value = TextList;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a list of texts")
            }
            fn visit_unit<E: de::Error>(self) -> Result<TextList, E> {
                Ok(TextList::exact(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<TextList, E> {
                Ok(TextList::exact(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<TextList, E> {
                let items = if value.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![value.to_string()]
                };
                Ok(TextList::exact(items))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<TextList, E> {
                Ok(TextList::approximate(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<TextList, E> {
                Ok(TextList::approximate(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<TextList, E> {
                Ok(TextList::approximate(value.to_string()))
            }
            fn visit_i128<E: de::Error>(self, value: i128) -> Result<TextList, E> {
                Ok(TextList::approximate(value.to_string()))
            }
            fn visit_u128<E: de::Error>(self, value: u128) -> Result<TextList, E> {
                Ok(TextList::approximate(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<TextList, E> {
                Ok(TextList::approximate(value.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextList, A::Error> {
                let mut items = Vec::new();
                // Items are read as `String`: serde-saphyr then hands over the scalar's own
                // text, so `8.10` stays `8.10` and `0x1F` stays `0x1F`.
                while let Some(item) = seq.next_element::<Option<String>>()? {
                    if let Some(text) = item
                        && !text.trim().is_empty()
                    {
                        items.push(text);
                    }
                }
                Ok(TextList::exact(items))
            }
        }
        deserializer.deserialize_any(TextListVisitor)
    }
}

/// The items of a [`TextList`]; a lone non-string scalar gets its text from the source.
fn resolve_texts(list: Spanned<TextList>, source: &str) -> Vec<String> {
    let Spanned { value, referenced, .. } = list;
    if !value.inexact {
        return value.items;
    }
    let span = referenced.span();
    let original = span.byte_offset().zip(span.byte_len()).and_then(|(offset, length)| {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(length).ok()?)?;
        source.get(start..end)
    });
    match original {
        Some(text) if !text.trim().is_empty() => vec![text.trim().to_string()],
        // No source text available: keep the value as formatted by Rust (may drop trailing
        // zeros of a float).
        _ => value.items,
    }
}

impl<'de> Deserialize<'de> for TeamImplementation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TeamVisitor;
        impl<'de> Visitor<'de> for TeamVisitor {
            type Value = TeamImplementation;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("true, false or a date")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(TeamImplementation::Flag(value))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(TeamImplementation::Text(value.to_string()))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(TeamImplementation::Text(value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(TeamImplementation::Text(value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Ok(TeamImplementation::Text(value.to_string()))
            }
        }
        deserializer.deserialize_any(TeamVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// From raw shapes to checked activities.

/// An [`ModelError::Invalid`] at a key's location.
fn invalid(origin: &str, at: &Spanned<String>, message: String) -> ModelError {
    ModelError::Invalid {
        origin: origin.to_string(),
        line: Some(at.referenced.line()).filter(|&line| line > 0),
        column: Some(at.referenced.column()).filter(|&column| column > 0),
        message,
    }
}

/// Flatten the dimensions into activities, checking names, uuids and levels.
fn build_activities(
    dimensions: Vec<(Spanned<String>, Option<Dimension>)>,
    source: &str,
    origin: &str,
) -> Result<Vec<Activity>, ModelError> {
    let mut activities = Vec::new();
    let mut uuid_lines: HashMap<String, u64> = HashMap::new();
    for (dimension_key, dimension) in dimensions {
        if dimension_key.value.trim().is_empty() {
            return Err(invalid(
                origin,
                &dimension_key,
                "expected a dimension name, found an empty key".to_string(),
            ));
        }
        for (subdimension_key, subdimension) in dimension.map(|d| d.entries).unwrap_or_default() {
            if subdimension_key.value.trim().is_empty() {
                return Err(invalid(
                    origin,
                    &subdimension_key,
                    format!(
                        "expected a sub-dimension name in dimension `{}`, found an empty key",
                        dimension_key.value
                    ),
                ));
            }
            for (name_key, ActivityFields(raw)) in subdimension.map(|s| s.entries).unwrap_or_default() {
                let activity = build_activity(
                    &dimension_key.value,
                    &subdimension_key.value,
                    &name_key,
                    raw,
                    source,
                    origin,
                )?;
                let line = name_key.referenced.line();
                if let Some(first_line) = uuid_lines.insert(activity.uuid.clone(), line) {
                    return Err(invalid(
                        origin,
                        &name_key,
                        format!(
                            "activity `{}` repeats uuid `{}` already used at line {first_line}; expected every uuid once",
                            activity.name, activity.uuid
                        ),
                    ));
                }
                activities.push(activity);
            }
        }
    }
    Ok(activities)
}

/// Check and normalise one activity.
fn build_activity(
    dimension: &str,
    subdimension: &str,
    name_key: &Spanned<String>,
    raw: RawActivity,
    source: &str,
    origin: &str,
) -> Result<Activity, ModelError> {
    let name = name_key.value.clone();
    if name.trim().is_empty() {
        return Err(invalid(
            origin,
            name_key,
            format!("expected an activity name in `{dimension} / {subdimension}`, found an empty key"),
        ));
    }
    let uuid = raw.uuid.filter(|uuid| !uuid.trim().is_empty()).ok_or_else(|| {
        invalid(
            origin,
            name_key,
            format!("activity `{name}` has no `uuid`; expected a non-empty uuid"),
        )
    })?;
    let Level(level) = raw.level.ok_or_else(|| {
        invalid(
            origin,
            name_key,
            format!("activity `{name}` has no `level`; expected a whole number from 1 to 5"),
        )
    })?;
    let references = raw
        .references
        .unwrap_or_default()
        .into_iter()
        .map(|(framework, list)| (framework, resolve_texts(list, source)))
        .collect();
    let texts = |list: Option<Spanned<TextList>>| list.map(|list| resolve_texts(list, source)).unwrap_or_default();
    Ok(Activity {
        uuid,
        name,
        dimension: dimension.to_string(),
        subdimension: subdimension.to_string(),
        level,
        description: raw.description,
        risk: raw.risk,
        measure: raw.measure,
        assessment: raw.assessment,
        implementation_guide: raw.meta.and_then(|meta| meta.implementation_guide),
        implementation: raw.implementation.map(|list| list.0).unwrap_or_default(),
        references,
        depends_on: texts(raw.depends_on),
        tags: texts(raw.tags),
        difficulty: raw.difficulty_of_implementation,
        usefulness: raw.usefulness,
        teams_implemented: raw
            .teams_implemented
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(team, state)| state.map(|state| (team, state)))
            .collect(),
        teams_evidence: raw
            .teams_evidence
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(team, text)| text.map(|text| (team, text)))
            .collect(),
        line: Some(name_key.referenced.line()).filter(|&line| line > 0),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A small v4 file in the real shape: `meta` document, then the model.
    const V4_SAMPLE: &str = r#"---
meta:
  version: 4.3.1
  released: "2026-05-19"
---
Build and Deployment:
  Build:
    Defined build process:
      uuid: 11111111-1111-4111-8111-111111111111
      description: |
        A build process.
      risk: Mistakes.
      measure: Automate it.
      level: 1
      difficultyOfImplementation:
        knowledge: 2
        time: 3
        resources: 2
      usefulness: 4
      implementation:
      - uuid: 42ddb49f-48f2-4a3a-b76a-e73104ac6971
        name: Jenkins
        tags: []
        url: https://www.jenkins.io/
      - Plain tool name
      references:
        samm2:
        - I-SB-A-1
        iso27001-2017:
        - 12.1.1
        - 8.10
        iso27001-2022:
        - 8.10
        - '8.10'
        - "5.37"
        - 8.1
        - Not explicitly covered by ISO 27001
      tags:
      - none
    Pinning of artifacts:
      uuid: not-a-uuid-at-all
      risk: Unpinned.
      measure: Pin.
      level: 2
      implementation: ""
      meta:
        implementationGuide: Use digests.
      dependsOn:
      - 11111111-1111-4111-8111-111111111111
      references:
        iso27001-2022: 8.10
  Deployment:
    Blue/Green Deployment:
      uuid: 33333333-3333-4333-8333-333333333333
      level: 5
      implementation:
      dependsOn:
      - Defined build process
Culture and Organization:
  Design:
    Threat modeling:
      uuid: 44444444-4444-4444-8444-444444444444
      level: "3"
      implementation: []
"#;

    /// A small v3 `generated.yaml`: one document, team claims on activities.
    const V3_SAMPLE: &str = r#"---
Build and Deployment:
  Build:
    Defined build process:
      uuid: f6f7737f-25a9-4317-8de2-09bf59f29b5b
      risk: Performing builds without a defined process is error prone.
      measure: A well defined build process lowers the possibility of errors.
      level: 1
      references:
        samm2:
        - I-SB-1-A
        iso27001-2017:
        - 12.1.1
      isImplemented: false
      comments: ""
      tags:
      - none
      teamsImplemented:
        Default: false
        B: true
        C: 2023-05-01
        D:
      teamsEvidence:
        B: |
          Jenkinsfile in every repository.
        C:
  Deployment:
    Blue/Green Deployment:
      uuid: 0cb2626b-fb0d-4a0f-9688-57f787310d97
      level: 5
      dependsOn:
      - Defined build process
      teamsImplemented:
        Default: false
"#;

    fn load(text: &str) -> Result<DsommModel, ModelError> {
        load_model(text.as_bytes(), "sample.yaml")
    }

    /// Load `text`, expecting an error; check its variant name and line.
    fn check_error(text: &str, variant: &str, line: Option<u64>, message_part: &str) {
        let error = load(text).expect_err("expected an error");
        let debug = format!("{error:?}");
        assert!(debug.starts_with(variant), "{variant} expected, got {debug}");
        if line.is_some() {
            assert_eq!(error.line(), line, "{error}");
        }
        let shown = error.to_string();
        assert!(shown.starts_with("sample.yaml"), "{shown}");
        assert!(shown.contains(message_part), "`{message_part}` not in `{shown}`");
    }

    #[test]
    fn v4_sample_loads_in_model_order() {
        let model = load(V4_SAMPLE).unwrap();
        assert_eq!(model.format, ModelFormat::V4);
        assert_eq!(model.version.as_deref(), Some("4.3.1"));
        assert_eq!(model.released.as_deref(), Some("2026-05-19"));
        assert_eq!(model.activity_count(), 4);
        assert_eq!(
            model.dimensions(),
            vec!["Build and Deployment", "Culture and Organization"]
        );
        assert_eq!(
            model.subdimensions(),
            vec![
                ("Build and Deployment", "Build"),
                ("Build and Deployment", "Deployment"),
                ("Culture and Organization", "Design"),
            ]
        );
        assert_eq!(
            model.activities_by_dimension(),
            vec![("Build and Deployment", 3), ("Culture and Organization", 1)]
        );
        let names: Vec<&str> = model.activities.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "Defined build process",
                "Pinning of artifacts",
                "Blue/Green Deployment",
                "Threat modeling"
            ]
        );
        assert_eq!(model.activities_in("Build and Deployment", "Build").count(), 2);
    }

    #[test]
    fn v4_fields_are_read_and_normalised() {
        let model = load(V4_SAMPLE).unwrap();
        let build = model.activity_by_name("Defined build process").unwrap();
        assert_eq!(build.level, 1);
        assert_eq!(build.line, Some(8));
        assert_eq!(build.description.as_deref(), Some("A build process.\n"));
        assert_eq!(build.risk.as_deref(), Some("Mistakes."));
        assert_eq!(build.implementation, vec!["Jenkins", "Plain tool name"]);
        assert_eq!(
            build.difficulty,
            Some(Difficulty {
                knowledge: Some(2),
                time: Some(3),
                resources: Some(2)
            })
        );
        assert_eq!(build.usefulness, Some(4));
        assert_eq!(build.tags, vec!["none"]);

        let pinning = model.activity_by_uuid("not-a-uuid-at-all").unwrap();
        assert!(pinning.implementation.is_empty());
        assert_eq!(pinning.implementation_guide.as_deref(), Some("Use digests."));
        assert_eq!(pinning.depends_on, vec!["11111111-1111-4111-8111-111111111111"]);

        let blue_green = model.activity_by_name("Blue/Green Deployment").unwrap();
        assert!(blue_green.implementation.is_empty());
        assert!(blue_green.description.is_none());
        assert!(blue_green.references.is_empty());
        // Quoted level "3" is read as 3.
        assert_eq!(model.activity_by_name("Threat modeling").unwrap().level, 3);
        assert!(model.unresolved_dependencies().is_empty());
        assert_eq!(
            model.resolve_dependency("Defined build process").map(|a| a.level),
            Some(1)
        );
    }

    #[test]
    fn reference_texts_are_kept_exactly_as_written() {
        let model = load(V4_SAMPLE).unwrap();
        let build = model.activity_by_name("Defined build process").unwrap();
        assert_eq!(build.references["samm2"], vec!["I-SB-A-1"]);
        assert_eq!(build.references["iso27001-2017"], vec!["12.1.1", "8.10"]);
        assert_eq!(
            build.references["iso27001-2022"],
            vec!["8.10", "8.10", "5.37", "8.1", "Not explicitly covered by ISO 27001"]
        );
        // A lone unquoted float (not in a list) is recovered from the source text too.
        let pinning = model.activity_by_uuid("not-a-uuid-at-all").unwrap();
        assert_eq!(pinning.references["iso27001-2022"], vec!["8.10"]);
    }

    #[test]
    fn v3_generated_sample_loads_with_team_claims() {
        let model = load(V3_SAMPLE).unwrap();
        assert_eq!(model.format, ModelFormat::V3Generated);
        assert_eq!(model.version, None);
        assert_eq!(model.activity_count(), 2);
        let build = &model.activities[0];
        assert_eq!(build.references["iso27001-2017"], vec!["12.1.1"]);
        assert_eq!(
            build.teams_implemented,
            BTreeMap::from([
                ("Default".to_string(), TeamImplementation::Flag(false)),
                ("B".to_string(), TeamImplementation::Flag(true)),
                ("C".to_string(), TeamImplementation::Text("2023-05-01".into())),
            ])
        );
        assert_eq!(
            build.teams_evidence,
            BTreeMap::from([("B".to_string(), "Jenkinsfile in every repository.\n".to_string())])
        );
        let blue_green = &model.activities[1];
        assert_eq!(blue_green.depends_on, vec!["Defined build process"]);
        assert_eq!(
            model
                .resolve_dependency(&blue_green.depends_on[0])
                .map(|a| a.uuid.as_str()),
            Some("f6f7737f-25a9-4317-8de2-09bf59f29b5b")
        );
        let json = serde_json::to_value(&build.teams_implemented).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"B": true, "C": "2023-05-01", "Default": false})
        );
    }

    #[test]
    fn last_model_document_wins() {
        let text = "meta:\n  version: 1.0\n---\nA:\n  B:\n    Old:\n      uuid: u1\n      level: 1\n---\nA:\n  B:\n    New:\n      uuid: u2\n      level: 2\n";
        let model = load(text).unwrap();
        assert_eq!(model.version.as_deref(), Some("1.0"));
        assert_eq!(model.activities.len(), 1);
        assert_eq!(model.activities[0].name, "New");
    }

    #[test]
    fn empty_inputs_are_refused() {
        for text in ["", "   \n\n", "---\n", "---\n...\n", "# only a comment\n"] {
            assert!(
                matches!(load(text), Err(ModelError::Empty { .. })),
                "{text:?}: {:?}",
                load(text)
            );
        }
        check_error("meta:\n  version: 4.3.1\n", "Empty", None, "no DSOMM activities");
        check_error("A:\n  B:\n", "Empty", None, "no DSOMM activities");
        check_error("progress:\n", "Empty", None, "no DSOMM activities");
    }

    #[test]
    fn truncated_file_is_refused_with_its_line() {
        // Cut the sample inside a quoted scalar and inside a flow list.
        let cut = V4_SAMPLE.find("\"2026-05").unwrap() + 5;
        check_error(&V4_SAMPLE[..cut], "Syntax", Some(4), "");
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: 1\n      tags: [a, b\n",
            "Syntax",
            None,
            "",
        );
    }

    #[test]
    fn wrong_types_are_refused_with_what_was_expected() {
        check_error(
            "A:\n  B:\n    An activity:\n    - uuid: u\n    - level: 1\n",
            "Syntax",
            Some(3),
            "expected an activity: a mapping of fields",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: high\n",
            "Syntax",
            Some(5),
            "expected a DSOMM level: a whole number from 1 to 5",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: 7\n",
            "Syntax",
            None,
            "whole number from 1 to 5",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: 2.5\n",
            "Syntax",
            None,
            "whole number from 1 to 5",
        );
        check_error("A:\n  - 1\n  - 2\n", "Syntax", Some(1), "expected a dimension");
        check_error("A:\n  B: 3\n", "Syntax", Some(2), "expected a sub-dimension");
        check_error("- a\n- b\n", "Syntax", None, "expected a DSOMM model document");
        check_error("just text\n", "Syntax", None, "expected a DSOMM model document");
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: 1\n      references:\n        iso: [[1]]\n",
            "Syntax",
            Some(7),
            "expected a text value",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: 1\n      implementation:\n      - url: x\n",
            "Syntax",
            Some(7),
            "name",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: 1\n      description:\n        nested: map\n",
            "Syntax",
            Some(7),
            "expected a text value",
        );
    }

    #[test]
    fn model_rules_are_checked() {
        check_error(
            "A:\n  B:\n    C:\n      level: 1\n",
            "Invalid",
            Some(3),
            "activity `C` has no `uuid`",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n",
            "Invalid",
            Some(3),
            "activity `C` has no `level`",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: same\n      level: 1\n    D:\n      uuid: same\n      level: 2\n",
            "Invalid",
            Some(6),
            "repeats uuid `same` already used at line 3",
        );
        check_error(
            "A:\n  B:\n    C:\n      uuid: u\n      level: 1\n    C:\n      uuid: v\n      level: 1\n",
            "Syntax",
            Some(6),
            "duplicate",
        );
        check_error(
            "A:\n  B:\n    '':\n      uuid: u\n      level: 1\n",
            "Invalid",
            Some(3),
            "empty key",
        );
    }

    /// A valid model whose one activity carries `payload` under an unknown (skipped) field,
    /// so that the hostile part is really walked by the deserializer.
    fn with_payload(payload: &str) -> String {
        format!("A:\n  B:\n    C:\n      uuid: u\n      level: 1\n{payload}")
    }

    #[test]
    fn alias_bomb_is_refused() {
        // Billion laughs: 10^9 expansions of one `x` if nothing stopped it.
        let mut bomb = String::from("      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let refs = vec![format!("*l{}", level - 1); 10].join(", ");
            bomb.push_str(&format!("      l{level}: &l{level} [{refs}]\n"));
        }
        let error = load(&with_payload(&bomb)).unwrap_err();
        assert!(matches!(error, ModelError::Limit { .. }), "{error:?}");
        assert!(error.to_string().starts_with("sample.yaml:"), "{error}");

        // Thousands of aliases of one small anchor: refused by the alias budgets.
        let mut many = String::from("      x: &x 1\n      l: [");
        many.push_str(&vec!["*x"; 5_000].join(", "));
        many.push_str("]\n");
        let error = load(&with_payload(&many)).unwrap_err();
        assert!(matches!(error, ModelError::Limit { .. }), "{error:?}");

        // At the top of the file, the bomb is refused too (as a type error or a limit).
        let top = bomb.replace("      ", "");
        assert!(load(&top).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let flow = format!("      x: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let error = load(&with_payload(&flow)).unwrap_err();
        assert!(matches!(error, ModelError::Limit { .. }), "{error:?}");
        assert!(error.to_string().contains("nested too deeply"), "{error}");

        let mut block = String::new();
        for depth in 0..200 {
            block.push_str(&"  ".repeat(depth + 3));
            block.push_str("k:\n");
        }
        let error = load(&with_payload(&block)).unwrap_err();
        assert!(matches!(error, ModelError::Limit { .. }), "{error:?}");
        assert!(error.to_string().contains("nested too deeply"), "{error}");

        let flow_maps = format!("      x: {}{}\n", "{a: ".repeat(500), "}".repeat(500));
        assert!(matches!(load(&with_payload(&flow_maps)), Err(ModelError::Limit { .. })));
    }

    #[test]
    fn too_many_documents_are_refused() {
        let storm = "---\n{}\n".repeat(MAX_DOCUMENTS + 5);
        assert!(
            matches!(load(&storm), Err(ModelError::Limit { .. })),
            "{:?}",
            load(&storm)
        );
    }

    #[test]
    fn oversized_and_non_utf8_input_is_refused() {
        let big = vec![b' '; MAX_MODEL_BYTES + 1];
        assert!(matches!(
            load_model(&big, "big.yaml"),
            Err(ModelError::TooLarge { size, .. }) if size == MAX_MODEL_BYTES + 1
        ));
        let bytes = b"A:\n  B:\n    \xff\xfe: 1\n";
        let error = load_model(bytes, "bad.yaml").unwrap_err();
        assert_eq!(
            error,
            ModelError::NotUtf8 {
                origin: "bad.yaml".into(),
                line: 3,
                column: 5
            }
        );
        assert_eq!(
            error.to_string(),
            "bad.yaml:3:5: expected UTF-8 text, found an invalid byte sequence"
        );
    }

    #[test]
    fn byte_order_mark_is_accepted() {
        let text = format!("\u{feff}{V3_SAMPLE}");
        assert_eq!(load(&text).unwrap().activity_count(), 2);
    }

    #[test]
    fn errors_render_as_file_line_column() {
        let error = ModelError::Syntax {
            origin: "m.yaml".into(),
            line: Some(3),
            column: Some(7),
            message: "bad".into(),
        };
        assert_eq!(error.to_string(), "m.yaml:3:7: bad");
        assert_eq!(
            (error.origin(), error.line(), error.column()),
            ("m.yaml", Some(3), Some(7))
        );
        let error = ModelError::Invalid {
            origin: "m.yaml".into(),
            line: None,
            column: None,
            message: "bad".into(),
        };
        assert_eq!(error.to_string(), "m.yaml: bad");
    }

    #[test]
    fn activities_serialise_to_json() {
        let model = load(V4_SAMPLE).unwrap();
        let json = serde_json::to_value(&model).unwrap();
        assert_eq!(json["format"], "v4");
        assert_eq!(json["activities"][0]["references"]["iso27001-2017"][1], "8.10");
    }
}
