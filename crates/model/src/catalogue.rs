//! The project's own DSOMM activity catalogue (`rubric/catalogue.tsv`, embedded at build time),
//! its diff against a loaded model, and the `model` report.
//!
//! The catalogue holds facts only — uuid, dimension, sub-dimension, level and name of every
//! activity of one model version — so that commands work without the official (GPL-3.0) model
//! file, and so that a newer model can be compared with the version the rubric was written
//! for. File format and regeneration: `docs/model.md`.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::dsomm::{Activity, DsommModel, MAX_LEVEL, MIN_LEVEL, ModelFormat};

/// The embedded catalogue file, as committed in `rubric/catalogue.tsv`.
pub const EMBEDDED_CATALOGUE: &str = include_str!("../../../rubric/catalogue.tsv");
/// The name the embedded catalogue goes by in errors and reports.
pub const EMBEDDED_ORIGIN: &str = "rubric/catalogue.tsv";
/// The `source` of a report made from the catalogue alone.
pub const CATALOGUE_SOURCE: &str = "catalogue";
/// The column header line of the catalogue file.
pub const HEADER: &str = "uuid\tdimension\tsubdimension\tlevel\tname";
/// The comment that carries the model version: `# model-version: 4.3.1`.
pub const VERSION_PREFIX: &str = "# model-version:";
/// The version written when the model gave none (v3 files).
pub const UNKNOWN_VERSION: &str = "unknown";

/// The facts of one catalogued activity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CatalogueActivity {
    /// The activity's uuid, as in the model (opaque text).
    pub uuid: String,
    /// Activity name.
    pub name: String,
    /// Dimension.
    pub dimension: String,
    /// Sub-dimension.
    pub subdimension: String,
    /// DSOMM level, 1..5.
    pub level: u8,
}

impl CatalogueActivity {
    /// The catalogue facts of a model activity.
    pub fn from_activity(activity: &Activity) -> Self {
        CatalogueActivity {
            uuid: activity.uuid.clone(),
            name: activity.name.clone(),
            dimension: activity.dimension.clone(),
            subdimension: activity.subdimension.clone(),
            level: activity.level,
        }
    }
}

/// The activity catalogue of one model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    /// The model version the catalogue was generated from (e.g. `4.3.1`).
    pub version: String,
    /// The activities, in model order.
    pub activities: Vec<CatalogueActivity>,
}

/// Why a catalogue file could not be read. Lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// No `# model-version: X` comment before the header.
    #[error("{origin}: missing `{VERSION_PREFIX} <version>` comment before the header")]
    MissingVersion {
        /// The catalogue file.
        origin: String,
    },
    /// No header line, or a different one.
    #[error("{origin}:{line}: expected the header `{}`, found `{found}`", HEADER.replace('\t', "\\t"))]
    BadHeader {
        /// The catalogue file.
        origin: String,
        /// Line of the offending text (or the last line when the header is missing).
        line: usize,
        /// What was there instead (escaped).
        found: String,
    },
    /// A data row is malformed.
    #[error("{origin}:{line}: {message}")]
    Malformed {
        /// The catalogue file.
        origin: String,
        /// Line of the row.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A uuid appears twice.
    #[error("{origin}:{line}: uuid `{uuid}` already listed at line {first_line}")]
    DuplicateUuid {
        /// The catalogue file.
        origin: String,
        /// Line of the repeat.
        line: usize,
        /// The repeated uuid.
        uuid: String,
        /// Line of the first listing.
        first_line: usize,
    },
    /// The header is there but no activity follows.
    #[error("{origin}: the catalogue lists no activity")]
    Empty {
        /// The catalogue file.
        origin: String,
    },
}

impl Catalogue {
    /// The catalogue embedded in the binary (`rubric/catalogue.tsv`).
    pub fn embedded() -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(EMBEDDED_CATALOGUE, EMBEDDED_ORIGIN)
    }

    /// Read a catalogue file (format in `docs/model.md`). `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Catalogue, CatalogueError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut version = None;
        let mut header_seen = false;
        let mut activities = Vec::new();
        let mut first_lines: HashMap<String, usize> = HashMap::new();
        let mut last_line = 0;
        for (index, raw_line) in text.split('\n').enumerate() {
            let line_number = index + 1;
            last_line = line_number;
            // A raw carriage return can only come from a CRLF checkout: fields escape theirs.
            let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
            if !header_seen {
                if let Some(rest) = line.strip_prefix(VERSION_PREFIX) {
                    let value = rest.trim();
                    if !value.is_empty() {
                        version = Some(value.to_string());
                    }
                } else if line.starts_with('#') || line.trim().is_empty() {
                    // Comment or blank line before the header.
                } else if line == HEADER {
                    header_seen = true;
                } else {
                    return Err(CatalogueError::BadHeader {
                        origin: origin.to_string(),
                        line: line_number,
                        found: line.escape_debug().to_string(),
                    });
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let activity = parse_row(line).map_err(|message| CatalogueError::Malformed {
                origin: origin.to_string(),
                line: line_number,
                message,
            })?;
            if let Some(&first_line) = first_lines.get(&activity.uuid) {
                return Err(CatalogueError::DuplicateUuid {
                    origin: origin.to_string(),
                    line: line_number,
                    uuid: activity.uuid,
                    first_line,
                });
            }
            first_lines.insert(activity.uuid.clone(), line_number);
            activities.push(activity);
        }
        if !header_seen {
            return Err(CatalogueError::BadHeader {
                origin: origin.to_string(),
                line: last_line,
                found: "end of file".to_string(),
            });
        }
        let version = version.ok_or_else(|| CatalogueError::MissingVersion {
            origin: origin.to_string(),
        })?;
        if activities.is_empty() {
            return Err(CatalogueError::Empty {
                origin: origin.to_string(),
            });
        }
        Ok(Catalogue { version, activities })
    }

    /// The catalogue of a loaded model (its version, or `unknown` when it has none).
    pub fn from_model(model: &DsommModel) -> Catalogue {
        Catalogue {
            version: model
                .version
                .clone()
                .filter(|version| !version.trim().is_empty())
                .unwrap_or_else(|| UNKNOWN_VERSION.to_string()),
            activities: model.activities.iter().map(CatalogueActivity::from_activity).collect(),
        }
    }

    /// The catalogue file text: comments, version, header, one escaped row per activity.
    /// [`Catalogue::parse`] reads it back to an equal catalogue.
    pub fn to_tsv(&self) -> String {
        let mut text = String::new();
        text.push_str("# dsomm-audit activity catalogue: facts (uuid, dimension, sub-dimension, level, name)\n");
        text.push_str("# of every activity of the OWASP DevSecOps Maturity Model (https://dsomm.owasp.org/).\n");
        text.push_str("# Generated from the official model.yaml by tools/regenerate-catalogue.sh; do not edit.\n");
        text.push_str("# One row per activity, fields separated by a tab; in fields a tab, newline, carriage\n");
        text.push_str("# return and backslash are written \\t, \\n, \\r and \\\\. Format: docs/model.md.\n");
        let _ = writeln!(text, "{VERSION_PREFIX} {}", escape_field(&self.version));
        text.push_str(HEADER);
        text.push('\n');
        for activity in &self.activities {
            let _ = writeln!(
                text,
                "{}\t{}\t{}\t{}\t{}",
                escape_field(&activity.uuid),
                escape_field(&activity.dimension),
                escape_field(&activity.subdimension),
                activity.level,
                escape_field(&activity.name),
            );
        }
        text
    }

    /// The catalogue standing in for the official model: the same activities with their
    /// facts and no prose, [`ModelFormat::Catalogue`], origin `catalogue`.
    pub fn as_model(&self) -> DsommModel {
        DsommModel {
            origin: CATALOGUE_SOURCE.to_string(),
            version: Some(self.version.clone()),
            released: None,
            format: ModelFormat::Catalogue,
            activities: self
                .activities
                .iter()
                .map(|activity| {
                    Activity::from_facts(
                        activity.uuid.clone(),
                        activity.name.clone(),
                        activity.dimension.clone(),
                        activity.subdimension.clone(),
                        activity.level,
                    )
                })
                .collect(),
        }
    }

    /// The catalogued activity with this uuid.
    pub fn activity_by_uuid(&self, uuid: &str) -> Option<&CatalogueActivity> {
        self.activities.iter().find(|activity| activity.uuid == uuid)
    }

    /// What changed from this catalogue to `model`, matching activities by uuid.
    ///
    /// - `new`: in the model, not in the catalogue (model order);
    /// - `removed`: in the catalogue, not in the model (catalogue order);
    /// - `renamed`: same uuid, different name;
    /// - `relevelled`: same uuid, different level;
    /// - `moved`: same uuid, different dimension or sub-dimension.
    ///
    /// One activity can be in several of `renamed`, `relevelled` and `moved`. When the model
    /// repeats a uuid (the loader refuses that), its first activity is used.
    pub fn diff(&self, model: &DsommModel) -> CatalogueDiff {
        let mut in_model: HashMap<&str, &Activity> = HashMap::new();
        for activity in &model.activities {
            in_model.entry(activity.uuid.as_str()).or_insert(activity);
        }
        let catalogued: HashSet<&str> = self.activities.iter().map(|activity| activity.uuid.as_str()).collect();

        let mut diff = CatalogueDiff::default();
        let mut reported_new = HashSet::new();
        for activity in &model.activities {
            if !catalogued.contains(activity.uuid.as_str()) && reported_new.insert(activity.uuid.as_str()) {
                diff.new.push(CatalogueActivity::from_activity(activity));
            }
        }
        for old in &self.activities {
            let Some(new) = in_model.get(old.uuid.as_str()) else {
                diff.removed.push(old.clone());
                continue;
            };
            if old.name != new.name {
                diff.renamed.push(Change {
                    uuid: old.uuid.clone(),
                    name: new.name.clone(),
                    old: old.name.clone(),
                    new: new.name.clone(),
                });
            }
            if old.level != new.level {
                diff.relevelled.push(Change {
                    uuid: old.uuid.clone(),
                    name: new.name.clone(),
                    old: old.level,
                    new: new.level,
                });
            }
            if old.dimension != new.dimension || old.subdimension != new.subdimension {
                diff.moved.push(Change {
                    uuid: old.uuid.clone(),
                    name: new.name.clone(),
                    old: Placement {
                        dimension: old.dimension.clone(),
                        subdimension: old.subdimension.clone(),
                    },
                    new: Placement {
                        dimension: new.dimension.clone(),
                        subdimension: new.subdimension.clone(),
                    },
                });
            }
        }
        diff
    }
}

/// Escape one field: `\` `\t` `\n` `\r` become `\\` `\t` `\n` `\r`.
pub fn escape_field(field: &str) -> String {
    let mut escaped = String::with_capacity(field.len());
    for character in field.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Undo [`escape_field`]; any other backslash sequence is an error.
pub fn unescape_field(field: &str) -> Result<String, String> {
    let mut text = String::with_capacity(field.len());
    let mut characters = field.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            text.push(character);
            continue;
        }
        match characters.next() {
            Some('\\') => text.push('\\'),
            Some('t') => text.push('\t'),
            Some('n') => text.push('\n'),
            Some('r') => text.push('\r'),
            Some(other) => {
                return Err(format!(
                    "unknown escape `\\{}`; expected \\t, \\n, \\r or \\\\",
                    other.escape_debug()
                ));
            }
            None => return Err("a lone `\\` ends the field; expected \\t, \\n, \\r or \\\\".into()),
        }
    }
    Ok(text)
}

/// Read one data row.
fn parse_row(line: &str) -> Result<CatalogueActivity, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [uuid, dimension, subdimension, level, name] = fields.as_slice() else {
        return Err(format!(
            "expected 5 tab-separated fields (uuid, dimension, subdimension, level, name), found {}",
            fields.len()
        ));
    };
    let field = |column: &str, raw: &str| -> Result<String, String> {
        let text = unescape_field(raw).map_err(|message| format!("column {column}: {message}"))?;
        if text.trim().is_empty() {
            return Err(format!("column {column}: expected a value, found nothing"));
        }
        Ok(text)
    };
    let level_value = level
        .parse::<u8>()
        .ok()
        .filter(|value| (MIN_LEVEL..=MAX_LEVEL).contains(value))
        .ok_or_else(|| {
            format!(
                "column level: expected a whole number from {MIN_LEVEL} to {MAX_LEVEL}, found `{}`",
                level.escape_debug()
            )
        })?;
    Ok(CatalogueActivity {
        uuid: field("uuid", uuid)?,
        name: field("name", name)?,
        dimension: field("dimension", dimension)?,
        subdimension: field("subdimension", subdimension)?,
        level: level_value,
    })
}

/// Where an activity sits: dimension and sub-dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Placement {
    /// Dimension.
    pub dimension: String,
    /// Sub-dimension.
    pub subdimension: String,
}

impl fmt::Display for Placement {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} / {}", self.dimension, self.subdimension)
    }
}

/// One changed value of an activity between the catalogue (`old`) and the model (`new`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Change<T> {
    /// The activity's uuid.
    pub uuid: String,
    /// The activity's name in the model.
    pub name: String,
    /// The value in the catalogue.
    pub old: T,
    /// The value in the model.
    pub new: T,
}

/// Differences between the catalogue and a model; see [`Catalogue::diff`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogueDiff {
    /// Activities of the model missing from the catalogue.
    pub new: Vec<CatalogueActivity>,
    /// Catalogued activities missing from the model.
    pub removed: Vec<CatalogueActivity>,
    /// Same uuid, different name.
    pub renamed: Vec<Change<String>>,
    /// Same uuid, different level.
    pub relevelled: Vec<Change<u8>>,
    /// Same uuid, different dimension or sub-dimension.
    pub moved: Vec<Change<Placement>>,
}

impl CatalogueDiff {
    /// True when catalogue and model agree on every activity.
    pub fn is_empty(&self) -> bool {
        self.new.is_empty()
            && self.removed.is_empty()
            && self.renamed.is_empty()
            && self.relevelled.is_empty()
            && self.moved.is_empty()
    }
}

/// Counts under names, serialised as a JSON object in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderedCounts(pub Vec<(String, usize)>);

impl OrderedCounts {
    /// The count under `name`.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, count)| *count)
    }
}

impl Serialize for OrderedCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, count) in &self.0 {
            map.serialize_entry(name, count)?;
        }
        map.end()
    }
}

/// One dimension's line of the table: sub-dimensions, activities, activities per level.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DimensionRow {
    name: String,
    subdimensions: usize,
    activities: usize,
    by_level: [usize; MAX_LEVEL as usize],
}

/// The `model` report: what the model (or the catalogue alone) holds, and how the catalogue
/// differs from the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelReport {
    /// The model version (`meta.version`), or the catalogue's version without a model.
    pub version: Option<String>,
    /// `catalogue`, or the origin of the model file.
    pub source: String,
    /// Kind of source: `v4`, `v3-generated` or `catalogue`.
    pub format: ModelFormat,
    /// The version of the embedded catalogue.
    pub catalogue_version: String,
    /// Number of dimensions.
    pub dimensions: usize,
    /// Number of sub-dimensions.
    pub subdimensions: usize,
    /// Number of activities.
    pub activities: usize,
    /// Activities per dimension, in model order.
    pub by_dimension: OrderedCounts,
    /// Activities per DSOMM level, `"1"` to `"5"`.
    pub by_level: OrderedCounts,
    /// Catalogue against the model; empty when there is no model.
    pub catalogue_diff: CatalogueDiff,
    /// Whether a model was compared with the catalogue.
    pub compared: bool,
    #[serde(skip)]
    rows: Vec<DimensionRow>,
}

/// Describe `model`, or the catalogue alone when `model` is `None`, for the `model` command.
pub fn describe(catalogue: &Catalogue, model: Option<&DsommModel>) -> ModelReport {
    let stand_in;
    let (described, catalogue_diff, compared) = match model {
        Some(model) => (model, catalogue.diff(model), true),
        None => {
            stand_in = catalogue.as_model();
            (&stand_in, CatalogueDiff::default(), false)
        }
    };
    let source = if described.format == ModelFormat::Catalogue {
        CATALOGUE_SOURCE.to_string()
    } else {
        described.origin.clone()
    };

    let mut rows: Vec<DimensionRow> = Vec::new();
    for dimension in described.dimensions() {
        rows.push(DimensionRow {
            name: dimension.to_string(),
            subdimensions: 0,
            activities: 0,
            by_level: [0; MAX_LEVEL as usize],
        });
    }
    let row_index: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| (row.name.clone(), index))
        .collect();
    for (dimension, _) in described.subdimensions() {
        if let Some(row) = row_index.get(dimension).and_then(|&index| rows.get_mut(index)) {
            row.subdimensions += 1;
        }
    }
    let mut by_level = [0usize; MAX_LEVEL as usize];
    for activity in &described.activities {
        let level_slot = usize::from(activity.level.saturating_sub(MIN_LEVEL));
        if let Some(count) = by_level.get_mut(level_slot) {
            *count += 1;
        }
        if let Some(row) = row_index
            .get(activity.dimension.as_str())
            .and_then(|&index| rows.get_mut(index))
        {
            row.activities += 1;
            if let Some(count) = row.by_level.get_mut(level_slot) {
                *count += 1;
            }
        }
    }

    ModelReport {
        version: described.version.clone(),
        source,
        format: described.format,
        catalogue_version: catalogue.version.clone(),
        dimensions: rows.len(),
        subdimensions: described.subdimension_count(),
        activities: described.activity_count(),
        by_dimension: OrderedCounts(rows.iter().map(|row| (row.name.clone(), row.activities)).collect()),
        by_level: OrderedCounts(
            by_level
                .iter()
                .enumerate()
                .map(|(index, count)| ((index + 1).to_string(), *count))
                .collect(),
        ),
        catalogue_diff,
        compared,
        rows,
    }
}

/// Text safe for a terminal: control characters shown escaped.
fn printable(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_control() {
                character.escape_debug().to_string()
            } else {
                character.to_string()
            }
        })
        .collect()
}

/// Pad `text` on the right to `width` characters.
fn pad_right(text: &str, width: usize) -> String {
    let length = text.chars().count();
    let mut padded = text.to_string();
    padded.extend(std::iter::repeat_n(' ', width.saturating_sub(length)));
    padded
}

impl ModelReport {
    /// A plain-text table for a person: counts per dimension and level, then the catalogue
    /// differences.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        let version = self.version.as_deref().unwrap_or("(no version)");
        let _ = writeln!(
            out,
            "DSOMM model {} ({}, source: {})",
            printable(version),
            self.format,
            printable(&self.source)
        );
        let _ = writeln!(
            out,
            "{} dimensions, {} sub-dimensions, {} activities",
            self.dimensions, self.subdimensions, self.activities
        );
        out.push('\n');

        let mut headers = vec![
            "Dimension".to_string(),
            "Sub-dimensions".to_string(),
            "Activities".to_string(),
        ];
        headers.extend((MIN_LEVEL..=MAX_LEVEL).map(|level| format!("L{level}")));
        let mut table: Vec<Vec<String>> = vec![headers];
        for row in &self.rows {
            let mut cells = vec![
                printable(&row.name),
                row.subdimensions.to_string(),
                row.activities.to_string(),
            ];
            cells.extend(row.by_level.iter().map(ToString::to_string));
            table.push(cells);
        }
        let mut total = vec![
            "Total".to_string(),
            self.subdimensions.to_string(),
            self.activities.to_string(),
        ];
        total.extend(self.by_level.0.iter().map(|(_, count)| count.to_string()));
        table.push(total);

        let columns = table.first().map_or(0, Vec::len);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                table
                    .iter()
                    .filter_map(|cells| cells.get(column))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let rule: Vec<String> = widths.iter().map(|&width| "-".repeat(width)).collect();
        let last = table.len().saturating_sub(1);
        for (index, cells) in table.iter().enumerate() {
            if index == last {
                let _ = writeln!(out, "{}", rule.join("  ").trim_end());
            }
            let line: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(column, (cell, &width))| {
                    if column == 0 {
                        pad_right(cell, width)
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
            if index == 0 {
                let _ = writeln!(out, "{}", rule.join("  ").trim_end());
            }
        }
        out.push('\n');
        self.render_diff(&mut out);
        out
    }

    /// The catalogue-diff part of [`ModelReport::render_table`].
    fn render_diff(&self, out: &mut String) {
        let catalogue = printable(&self.catalogue_version);
        if !self.compared {
            let _ = writeln!(
                out,
                "Catalogue {catalogue}: not compared (no model file given; the catalogue stands in for the model)."
            );
            return;
        }
        let diff = &self.catalogue_diff;
        if diff.is_empty() {
            let _ = writeln!(
                out,
                "Catalogue {catalogue}: matches the model (same uuids, names, levels and places)."
            );
            return;
        }
        let _ = writeln!(
            out,
            "Catalogue {catalogue} against the model: {} new, {} removed, {} renamed, {} relevelled, {} moved",
            diff.new.len(),
            diff.removed.len(),
            diff.renamed.len(),
            diff.relevelled.len(),
            diff.moved.len()
        );
        for activity in &diff.new {
            let _ = writeln!(
                out,
                "  new         {}  {} ({} / {}, level {})",
                printable(&activity.uuid),
                printable(&activity.name),
                printable(&activity.dimension),
                printable(&activity.subdimension),
                activity.level
            );
        }
        for activity in &diff.removed {
            let _ = writeln!(
                out,
                "  removed     {}  {} ({} / {}, level {})",
                printable(&activity.uuid),
                printable(&activity.name),
                printable(&activity.dimension),
                printable(&activity.subdimension),
                activity.level
            );
        }
        for change in &diff.renamed {
            let _ = writeln!(
                out,
                "  renamed     {}  \"{}\" -> \"{}\"",
                printable(&change.uuid),
                printable(&change.old),
                printable(&change.new)
            );
        }
        for change in &diff.relevelled {
            let _ = writeln!(
                out,
                "  relevelled  {}  {}: level {} -> {}",
                printable(&change.uuid),
                printable(&change.name),
                change.old,
                change.new
            );
        }
        for change in &diff.moved {
            let _ = writeln!(
                out,
                "  moved       {}  {}: {} -> {}",
                printable(&change.uuid),
                printable(&change.name),
                printable(&change.old.to_string()),
                printable(&change.new.to_string())
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::dsomm::load_model;

    const SAMPLE: &str = "# a comment\n# model-version: 9.9\nuuid\tdimension\tsubdimension\tlevel\tname\n\
        u1\tBuild and Deployment\tBuild\t1\tDefined build process\n\
        u2\tBuild and Deployment\tDeployment\t2\tBlue/Green\n\
        u3\tCulture and Organization\tDesign\t3\tThreat modeling\n\
        u4\tCulture and Organization\tDesign\t4\tTo be removed\n";

    const MODEL: &str = "meta:\n  version: 10.0\n---\n\
        Build and Deployment:\n  Build:\n    Defined build process:\n      uuid: u1\n      level: 1\n\
        \x20   Brand new:\n      uuid: u5\n      level: 2\n\
        \x20 Patch Management:\n    Blue/Green Deployment:\n      uuid: u2\n      level: 3\n\
        Culture and Organization:\n  Design:\n    Threat modeling:\n      uuid: u3\n      level: 3\n";

    fn sample() -> Catalogue {
        Catalogue::parse(SAMPLE, "sample.tsv").unwrap()
    }

    fn check_parse_error(text: &str, expected: &str) {
        let error = Catalogue::parse(text, "c.tsv").unwrap_err();
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn embedded_catalogue_parses_and_is_4_3_1() {
        let catalogue = Catalogue::embedded().unwrap();
        assert_eq!(catalogue.version, "4.3.1");
        assert_eq!(catalogue.activities.len(), 194);
        let model = catalogue.as_model();
        assert_eq!(
            (
                model.dimension_count(),
                model.subdimension_count(),
                model.activity_count()
            ),
            (5, 19, 194)
        );
        let waf = catalogue
            .activity_by_uuid("f0e01814-3b88-4bd0-a3a9-f91db001d20b-medium")
            .unwrap();
        assert_eq!((waf.name.as_str(), waf.level), ("WAF medium", 4));
        // The file is exactly what the generator writes for its own content.
        assert_eq!(catalogue.to_tsv(), EMBEDDED_CATALOGUE);
    }

    #[test]
    fn sample_parses_in_order() {
        let catalogue = sample();
        assert_eq!(catalogue.version, "9.9");
        let uuids: Vec<&str> = catalogue.activities.iter().map(|a| a.uuid.as_str()).collect();
        assert_eq!(uuids, vec!["u1", "u2", "u3", "u4"]);
        assert_eq!(catalogue.activities[1].subdimension, "Deployment");
        assert_eq!(catalogue.activities[2].level, 3);
    }

    #[test]
    fn escaping_round_trips() {
        let tricky = Catalogue {
            version: "1.0".into(),
            activities: vec![CatalogueActivity {
                uuid: "#not-a-comment".into(),
                name: "Tab\there, newline\nthere, back\\slash, cr\r, ünïcödé".into(),
                dimension: "D".into(),
                subdimension: "S".into(),
                level: 5,
            }],
        };
        let text = tricky.to_tsv();
        assert!(text.contains("Tab\\there, newline\\nthere, back\\\\slash, cr\\r"));
        assert_eq!(Catalogue::parse(&text, "t").unwrap(), tricky);
        // A CRLF checkout reads the same.
        assert_eq!(Catalogue::parse(&text.replace('\n', "\r\n"), "t").unwrap(), tricky);
        assert_eq!(
            unescape_field("a\\qb"),
            Err("unknown escape `\\q`; expected \\t, \\n, \\r or \\\\".into())
        );
        assert!(unescape_field("ends\\").is_err());
    }

    #[test]
    fn malformed_catalogues_are_refused_with_their_line() {
        let header = "# model-version: 1\nuuid\tdimension\tsubdimension\tlevel\tname\n";
        check_parse_error(
            &format!("{header}u1\tD\tS\t1\n"),
            "c.tsv:3: expected 5 tab-separated fields (uuid, dimension, subdimension, level, name), found 4",
        );
        check_parse_error(
            &format!("{header}u1\tD\tS\t6\tN\n"),
            "c.tsv:3: column level: expected a whole number from 1 to 5, found `6`",
        );
        check_parse_error(
            &format!("{header}u1\tD\tS\tone\tN\n"),
            "c.tsv:3: column level: expected a whole number from 1 to 5, found `one`",
        );
        check_parse_error(
            &format!("{header}u1\t\tS\t1\tN\n"),
            "c.tsv:3: column dimension: expected a value, found nothing",
        );
        check_parse_error(
            &format!("{header}u1\tD\tS\t1\tN\nu1\tD\tS\t2\tM\n"),
            "c.tsv:4: uuid `u1` already listed at line 3",
        );
        check_parse_error(
            &format!("{header}u1\tD\tS\t1\tN\\x\n"),
            "c.tsv:3: column name: unknown escape `\\x`; expected \\t, \\n, \\r or \\\\",
        );
        check_parse_error(header, "c.tsv: the catalogue lists no activity");
        check_parse_error(
            "uuid\tdimension\tsubdimension\tlevel\tname\nu1\tD\tS\t1\tN\n",
            "c.tsv: missing `# model-version: <version>` comment before the header",
        );
        check_parse_error(
            "# model-version: 1\nuuid,dimension\n",
            "c.tsv:2: expected the header `uuid\\tdimension\\tsubdimension\\tlevel\\tname`, found `uuid,dimension`",
        );
        check_parse_error(
            "# model-version: 1\n",
            "c.tsv:2: expected the header `uuid\\tdimension\\tsubdimension\\tlevel\\tname`, found `end of file`",
        );
    }

    #[test]
    fn diff_finds_new_removed_renamed_relevelled_and_moved() {
        let model = load_model(MODEL.as_bytes(), "model.yaml").unwrap();
        let diff = sample().diff(&model);
        let new: Vec<&str> = diff.new.iter().map(|a| a.uuid.as_str()).collect();
        assert_eq!(new, vec!["u5"]);
        let removed: Vec<&str> = diff.removed.iter().map(|a| a.uuid.as_str()).collect();
        assert_eq!(removed, vec!["u4"]);
        assert_eq!(
            diff.renamed,
            vec![Change {
                uuid: "u2".into(),
                name: "Blue/Green Deployment".into(),
                old: "Blue/Green".into(),
                new: "Blue/Green Deployment".into(),
            }]
        );
        assert_eq!(
            diff.relevelled,
            vec![Change {
                uuid: "u2".into(),
                name: "Blue/Green Deployment".into(),
                old: 2,
                new: 3,
            }]
        );
        assert_eq!(diff.moved.len(), 1);
        assert_eq!(diff.moved[0].old.to_string(), "Build and Deployment / Deployment");
        assert_eq!(diff.moved[0].new.to_string(), "Build and Deployment / Patch Management");
        assert!(!diff.is_empty());

        let same = sample().diff(&sample().as_model());
        assert!(same.is_empty());
    }

    #[test]
    fn report_without_model_describes_the_catalogue() {
        let report = describe(&sample(), None);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["version"], "9.9");
        assert_eq!(json["source"], "catalogue");
        assert_eq!(json["dimensions"], 2);
        assert_eq!(json["subdimensions"], 3);
        assert_eq!(json["activities"], 4);
        assert_eq!(
            serde_json::to_string(&json["by_dimension"]).unwrap(),
            r#"{"Build and Deployment":2,"Culture and Organization":2}"#
        );
        assert_eq!(
            json["catalogue_diff"],
            serde_json::json!({"new": [], "removed": [], "renamed": [], "relevelled": [], "moved": []})
        );
        assert_eq!(json["compared"], false);
        for key in [
            "version",
            "dimensions",
            "subdimensions",
            "activities",
            "by_dimension",
            "catalogue_diff",
            "source",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        let table = report.render_table();
        assert!(
            table.starts_with("DSOMM model 9.9 (catalogue, source: catalogue)\n"),
            "{table}"
        );
        assert!(table.contains("not compared"), "{table}");
    }

    #[test]
    fn report_with_model_carries_the_diff() {
        let model = load_model(MODEL.as_bytes(), "path/model.yaml").unwrap();
        let report = describe(&sample(), Some(&model));
        assert_eq!(report.version.as_deref(), Some("10.0"));
        assert_eq!(report.source, "path/model.yaml");
        assert_eq!(report.format, ModelFormat::V4);
        assert_eq!(report.activities, 4);
        assert_eq!(report.by_dimension.get("Build and Deployment"), Some(3));
        assert_eq!(report.by_level.get("3"), Some(2));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["catalogue_diff"]["renamed"][0]["old"], "Blue/Green");
        assert_eq!(json["catalogue_diff"]["relevelled"][0]["new"], 3);
        assert_eq!(
            json["catalogue_diff"]["moved"][0]["new"],
            serde_json::json!({"dimension": "Build and Deployment", "subdimension": "Patch Management"})
        );
        assert_eq!(json["catalogue_diff"]["new"][0]["name"], "Brand new");
        assert_eq!(json["catalogue_diff"]["removed"][0]["level"], 4);
    }

    #[test]
    fn table_is_aligned_and_lists_changes() {
        let model = load_model(MODEL.as_bytes(), "model.yaml").unwrap();
        let table = describe(&sample(), Some(&model)).render_table();
        let expected = "\
DSOMM model 10.0 (v4, source: model.yaml)
2 dimensions, 3 sub-dimensions, 4 activities

Dimension                 Sub-dimensions  Activities  L1  L2  L3  L4  L5
------------------------  --------------  ----------  --  --  --  --  --
Build and Deployment                   2           3   1   1   1   0   0
Culture and Organization               1           1   0   0   1   0   0
------------------------  --------------  ----------  --  --  --  --  --
Total                                  3           4   1   1   2   0   0

Catalogue 9.9 against the model: 1 new, 1 removed, 1 renamed, 1 relevelled, 1 moved
  new         u5  Brand new (Build and Deployment / Build, level 2)
  removed     u4  To be removed (Culture and Organization / Design, level 4)
  renamed     u2  \"Blue/Green\" -> \"Blue/Green Deployment\"
  relevelled  u2  Blue/Green Deployment: level 2 -> 3
  moved       u2  Blue/Green Deployment: Build and Deployment / Deployment -> Build and Deployment / Patch Management
";
        assert_eq!(table, expected);

        let same = describe(&sample(), Some(&sample().as_model())).render_table();
        assert!(same.contains("Catalogue 9.9: matches the model"), "{same}");
    }

    #[test]
    fn table_escapes_control_characters() {
        let mut catalogue = sample();
        catalogue.activities[0].dimension = "Evil\u{1b}[31m".into();
        let table = describe(&catalogue, None).render_table();
        assert!(!table.contains('\u{1b}'));
        assert!(table.contains("Evil\\u{1b}[31m"));
    }
}
