//! Severity names normalised across scanners.

use serde::{Deserialize, Serialize};

/// A finding's severity, normalised across tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// No severity could be determined.
    Unknown,
    /// Informational only.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Every severity, most severe first (the order reports use).
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
        Severity::Unknown,
    ];

    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
            Severity::Unknown => "unknown",
        }
    }

    /// GitHub's convention for a CVSS-like `security-severity` score:
    /// >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low, otherwise none.
    pub fn from_security_severity(score: f64) -> Option<Severity> {
        if !score.is_finite() {
            return None;
        }
        if score >= 9.0 {
            Some(Severity::Critical)
        } else if score >= 7.0 {
            Some(Severity::High)
        } else if score >= 4.0 {
            Some(Severity::Medium)
        } else if score > 0.0 {
            Some(Severity::Low)
        } else {
            None
        }
    }

    /// Map a tool's own severity word (any case) to a normalised severity:
    /// `CRITICAL`, `High`, `moderate`, `negligible`, `informational`, SARIF levels
    /// (`error` -> high, `warning` -> medium, `note` -> low, `none` -> info).
    pub fn from_name(name: &str) -> Severity {
        match name.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "blocker" => Severity::Critical,
            "high" | "error" | "major" | "important" => Severity::High,
            "medium" | "moderate" | "warning" | "warn" => Severity::Medium,
            "low" | "minor" | "note" => Severity::Low,
            "info" | "informational" | "negligible" | "none" | "notice" => Severity::Info,
            _ => Severity::Unknown,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_severity_thresholds() {
        let cases = [
            (9.8, Some(Severity::Critical)),
            (9.0, Some(Severity::Critical)),
            (8.9, Some(Severity::High)),
            (7.0, Some(Severity::High)),
            (5.3, Some(Severity::Medium)),
            (4.0, Some(Severity::Medium)),
            (0.1, Some(Severity::Low)),
            (0.0, None),
            (f64::NAN, None),
        ];
        for (score, expected) in cases {
            assert_eq!(Severity::from_security_severity(score), expected, "{score}");
        }
    }

    #[test]
    fn names_normalise() {
        assert_eq!(Severity::from_name("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::from_name("Negligible"), Severity::Info);
        assert_eq!(Severity::from_name("error"), Severity::High);
        assert_eq!(Severity::from_name("bogus"), Severity::Unknown);
    }
}
