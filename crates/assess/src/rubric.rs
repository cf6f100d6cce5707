//! The rubric (`rubric/rubric.tsv`): every activity of the catalogue mapped to
//! an archetype, the scanner categories a gate concerns, the required grade
//! and the ladder of probes that decides each grade. The file is the
//! project's own data and is embedded; docs/rubric.md is generated from it.

use std::collections::BTreeMap;

/// The embedded rubric.
pub const EMBEDDED: &str = include_str!("../../../rubric/rubric.tsv");

/// The kinds of activity, each with a default ladder of probes.
pub const ARCHETYPES: &[&str] = &[
    "gate",
    "detection",
    "inventory",
    "people",
    "design",
    "provenance",
    "manual",
];

/// The scanner categories.
pub const CATEGORIES: &[&str] = &["sast", "sca", "secrets", "iac", "container", "dast", "license"];

/// The default ladder of an archetype: grade -> probes (DESIGN.md section 5).
pub fn default_ladder(archetype: &str) -> BTreeMap<u8, Vec<String>> {
    let ladder: &[(u8, &[&str])] = match archetype {
        "gate" => &[
            (1, &["scanner-ran"]),
            (2, &["gate-can-block"]),
            (
                3,
                &[
                    "gate-blocks-on-coverage",
                    "gate-block-observed",
                    "overrides-disciplined",
                    "evidence-covers-lookback",
                ],
            ),
            (4, &["override-volume-trend"]),
        ],
        "detection" => &[
            (1, &["runtime-alerts-exist"]),
            (2, &["alerts-routed-to-tickets"]),
            (3, &["alerts-remediated-within-sla"]),
            (4, &["remediation-time-trend"]),
        ],
        "inventory" => &[
            (1, &["inventory-exists"]),
            (2, &["inventory-refreshed"]),
            (3, &["inventory-reconstructable", "services-owned-and-reviewed"]),
            (4, &["inventory-drift-tracked"]),
        ],
        "people" => &[
            (1, &["training-records-exist"]),
            (2, &["training-coverage"]),
            (3, &["elevated-access-trained"]),
            (4, &["training-trend"]),
        ],
        "design" => &[
            (1, &["threat-model-exists"]),
            (2, &["threat-models-for-services"]),
            (3, &["threat-model-before-deploy"]),
            (4, &["threat-models-revisited"]),
        ],
        "provenance" => &[
            (1, &["artefacts-signed"]),
            (2, &["prod-artefacts-verified"]),
            (3, &["admission-verifies-in-enforce", "admission-observed-for-latest"]),
            (4, &["provenance-continuous"]),
        ],
        _ => &[(1, &["attested"]), (3, &["attestation-reviewed"])],
    };
    ladder
        .iter()
        .map(|(grade, probes)| (*grade, probes.iter().map(|probe| probe.to_string()).collect()))
        .collect()
}

/// One activity's rubric entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The activity's uuid.
    pub uuid: String,
    /// `gate`, `detection`, `inventory`, `people`, `design`, `provenance` or `manual`.
    pub archetype: String,
    /// Scanner categories (gate activities).
    pub categories: Vec<String>,
    /// The grade the activity needs to count as implemented (default 3).
    pub required_grade: u8,
    /// Grade -> probes; grades not listed add no condition; grades above the
    /// highest listed cannot be reached.
    pub ladder: BTreeMap<u8, Vec<String>>,
    /// Whether `ladder` is the archetype's default.
    pub default_ladder: bool,
    /// The name, for people.
    pub name: String,
}

impl Entry {
    /// The highest grade the ladder can give.
    pub fn max_grade(&self) -> u8 {
        self.ladder.keys().copied().max().unwrap_or(0)
    }
}

/// The whole rubric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rubric {
    /// `rubric-version` from the header (or `unversioned`).
    pub version: String,
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

impl Rubric {
    /// The embedded rubric.
    pub fn embedded() -> Result<Rubric, String> {
        Rubric::parse(EMBEDDED)
    }

    /// Parse a rubric; errors name the line.
    pub fn parse(text: &str) -> Result<Rubric, String> {
        let mut version = "unversioned".to_string();
        let mut entries = Vec::new();
        let mut header_seen = false;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(value) = comment.trim().strip_prefix("rubric-version:") {
                    version = value.trim().to_string();
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            if !header_seen {
                if fields.first() != Some(&"uuid") {
                    return Err(format!("line {number}: expected the header line starting with `uuid`"));
                }
                header_seen = true;
                continue;
            }
            if fields.len() != 6 {
                return Err(format!(
                    "line {number}: expected 6 tab-separated fields, found {}",
                    fields.len()
                ));
            }
            let archetype = fields[1].to_string();
            if !ARCHETYPES.contains(&archetype.as_str()) {
                return Err(format!("line {number}: unknown archetype `{archetype}`"));
            }
            let categories: Vec<String> = if fields[2] == "-" {
                Vec::new()
            } else {
                fields[2].split(',').map(str::to_string).collect()
            };
            if let Some(bad) = categories
                .iter()
                .find(|category| !CATEGORIES.contains(&category.as_str()))
            {
                return Err(format!("line {number}: unknown category `{bad}`"));
            }
            let required_grade: u8 = fields[3]
                .parse()
                .ok()
                .filter(|grade| (1..=4).contains(grade))
                .ok_or_else(|| format!("line {number}: required grade `{}` is not 1..4", fields[3]))?;
            let (ladder, default) = if fields[4] == "-" {
                (default_ladder(&archetype), true)
            } else {
                (
                    parse_ladder(fields[4]).map_err(|message| format!("line {number}: {message}"))?,
                    false,
                )
            };
            entries.push(Entry {
                uuid: fields[0].to_string(),
                archetype,
                categories,
                required_grade,
                ladder,
                default_ladder: default,
                name: fields[5].to_string(),
            });
        }
        Ok(Rubric { version, entries })
    }

    /// The entry for an activity.
    pub fn entry(&self, uuid: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.uuid == uuid)
    }

    /// The entry for an activity the rubric does not map (a model newer than
    /// the rubric): graded as a manual activity, by attestation, so that it
    /// still counts in its sub-dimension's level instead of vanishing.
    pub fn manual_entry(uuid: &str, name: &str) -> Entry {
        Entry {
            uuid: uuid.to_string(),
            archetype: "manual".to_string(),
            categories: Vec::new(),
            required_grade: 3,
            ladder: default_ladder("manual"),
            default_ladder: true,
            name: name.to_string(),
        }
    }

    /// The activities of `catalogue` the rubric does not map.
    pub fn unmapped<'a>(
        &self,
        catalogue: &'a model::catalogue::Catalogue,
    ) -> Vec<&'a model::catalogue::CatalogueActivity> {
        catalogue
            .activities
            .iter()
            .filter(|activity| self.entry(&activity.uuid).is_none())
            .collect()
    }
}

fn parse_ladder(text: &str) -> Result<BTreeMap<u8, Vec<String>>, String> {
    let mut ladder = BTreeMap::new();
    for part in text.split(';') {
        let (grade, probes) = part
            .split_once('=')
            .ok_or_else(|| format!("ladder part `{part}` is not `grade=probe,...`"))?;
        let grade: u8 = grade
            .trim()
            .parse()
            .ok()
            .filter(|grade| (1..=4).contains(grade))
            .ok_or_else(|| format!("ladder grade `{grade}` is not 1..4"))?;
        ladder.insert(grade, probes.split(',').map(|probe| probe.trim().to_string()).collect());
    }
    Ok(ladder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::catalogue::Catalogue;

    #[test]
    fn every_catalogue_activity_has_one_entry_in_order() {
        let rubric = Rubric::embedded().unwrap_or_else(|error| panic!("{error}"));
        let catalogue = Catalogue::embedded().unwrap_or_else(|error| panic!("{error:?}"));
        let uuids: Vec<&str> = rubric.entries.iter().map(|entry| entry.uuid.as_str()).collect();
        let expected: Vec<&str> = catalogue
            .activities
            .iter()
            .map(|activity| activity.uuid.as_str())
            .collect();
        assert_eq!(uuids, expected);
        for entry in &rubric.entries {
            let activity = catalogue
                .activity_by_uuid(&entry.uuid)
                .unwrap_or_else(|| panic!("{}", entry.uuid));
            assert_eq!(entry.name, activity.name, "{}", entry.uuid);
            assert_eq!(
                entry.archetype == "gate",
                !entry.categories.is_empty(),
                "{}: categories only for gates",
                entry.name
            );
            assert!(
                entry.required_grade <= entry.max_grade(),
                "{}: required grade above the ladder",
                entry.name
            );
        }
    }

    #[test]
    fn every_probe_referenced_is_registered_and_every_probe_is_used() {
        let rubric = Rubric::embedded().unwrap_or_else(|error| panic!("{error}"));
        let mut used = std::collections::BTreeSet::new();
        for entry in &rubric.entries {
            for probe in entry.ladder.values().flatten() {
                assert!(
                    probes::probe(probe).is_some(),
                    "{}: probe `{probe}` is not registered",
                    entry.name
                );
                used.insert(probe.as_str());
            }
        }
        for archetype in ARCHETYPES {
            for probe in default_ladder(archetype).values().flatten() {
                assert!(probes::probe(probe).is_some(), "{archetype}: `{probe}`");
            }
        }
        for probe in probes::REGISTRY {
            assert!(
                used.contains(probe.id),
                "probe `{}` is registered but no activity uses it",
                probe.id
            );
        }
    }

    #[test]
    fn ladders_and_errors() {
        assert!(parse_ladder("1=a,b;3=c").is_ok_and(|ladder| ladder.len() == 2));
        assert!(parse_ladder("5=a").is_err());
        assert!(Rubric::parse("uuid\tx\n").is_ok());
        assert!(Rubric::parse("uuid\na\tgate\tsast\t3\t-\n").is_err());
        assert!(Rubric::parse("uuid\na\tgate\tnope\t3\t-\tn\n").is_err());
    }
}
