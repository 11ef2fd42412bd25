//! `cargo xtask msrv-check`: the `rust-version` each workspace crate declares is at least the
//! highest `rust-version` any locked dependency declares, so the claim is true.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use crate::util::metadata;

/// A `rust-version` value: `1.89` or `1.89.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RustVersion(u64, u64, u64);

impl RustVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self(major, minor, patch))
    }
}

impl fmt::Display for RustVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.2 == 0 {
            write!(f, "{}.{}", self.0, self.1)
        } else {
            write!(f, "{}.{}.{}", self.0, self.1, self.2)
        }
    }
}

/// A package and the rust-version it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    pub version: String,
    pub rust_version: Option<RustVersion>,
}

pub fn run() -> Result<(), String> {
    // Every locked package, for every platform (a Windows user compiles the Windows ones).
    let metadata = metadata(&["--locked"])?;
    let (members, dependencies) = split(&metadata)?;
    let problems = check(&members, &dependencies);
    let highest = highest(&dependencies);
    if let Some(top) = highest.first() {
        let names: Vec<String> = highest
            .iter()
            .take(5)
            .map(|d| format!("{} {}", d.name, d.version))
            .collect();
        println!(
            "highest rust-version among {} locked dependencies: {} ({})",
            dependencies.len(),
            top.rust_version.map(|v| v.to_string()).unwrap_or_default(),
            names.join(", ")
        );
    }
    if problems.is_empty() {
        for member in &members {
            println!(
                "{} {}: rust-version {} holds",
                member.name,
                member.version,
                member
                    .rust_version
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            );
        }
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Workspace members and every other package of the metadata.
fn split(metadata: &Value) -> Result<(Vec<Declared>, Vec<Declared>), String> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let mut inside = Vec::new();
    let mut outside = Vec::new();
    for package in packages {
        let rust_version =
            match package["rust_version"].as_str() {
                Some(text) => Some(RustVersion::parse(text).ok_or_else(|| {
                    format!("{}: unreadable rust-version {text:?}", package["name"])
                })?),
                None => None,
            };
        let declared = Declared {
            name: package["name"].as_str().unwrap_or("?").to_owned(),
            version: package["version"].as_str().unwrap_or("?").to_owned(),
            rust_version,
        };
        let id = package["id"].as_str().unwrap_or_default();
        if members.contains(&id) {
            inside.push(declared);
        } else {
            outside.push(declared);
        }
    }
    Ok((inside, outside))
}

/// The dependencies that declare a rust-version, highest first.
fn highest(dependencies: &[Declared]) -> Vec<&Declared> {
    let mut declared: Vec<&Declared> = dependencies
        .iter()
        .filter(|d| d.rust_version.is_some())
        .collect();
    declared.sort_by(|a, b| match b.rust_version.cmp(&a.rust_version) {
        Ordering::Equal => a.name.cmp(&b.name),
        other => other,
    });
    declared
}

/// One line per member whose rust-version is missing or below a dependency's.
pub fn check(members: &[Declared], dependencies: &[Declared]) -> Vec<String> {
    let highest = highest(dependencies);
    let Some(required) = highest.first().and_then(|d| d.rust_version) else {
        return members
            .iter()
            .filter(|m| m.rust_version.is_none())
            .map(|m| format!("{} declares no rust-version", m.name))
            .collect();
    };
    let above = |declared: RustVersion| -> String {
        highest
            .iter()
            .filter(|d| d.rust_version.is_some_and(|v| v > declared))
            .map(|d| {
                format!(
                    "{} {} ({})",
                    d.name,
                    d.version,
                    d.rust_version.map(|v| v.to_string()).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    members
        .iter()
        .filter_map(|member| match member.rust_version {
            None => Some(format!(
                "{} declares no rust-version; the locked dependencies need {required}",
                member.name
            )),
            Some(declared) if declared < required => Some(format!(
                "{} declares rust-version {declared}, but locked dependencies need more: {}. \
                 Raise `rust-version` in the workspace Cargo.toml to {required}.",
                member.name,
                above(declared)
            )),
            Some(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(name: &str, rust_version: Option<&str>) -> Declared {
        Declared {
            name: name.to_owned(),
            version: "1.0.0".to_owned(),
            rust_version: rust_version.and_then(RustVersion::parse),
        }
    }

    #[test]
    fn versions_compare_numerically_and_patch_defaults_to_zero() {
        assert!(RustVersion::parse("1.89").unwrap() < RustVersion::parse("1.100").unwrap());
        assert_eq!(RustVersion::parse("1.89"), RustVersion::parse("1.89.0"));
        assert!(RustVersion::parse("1.89.1").unwrap() > RustVersion::parse("1.89").unwrap());
        assert_eq!(RustVersion::parse("1.x"), None);
        assert_eq!(RustVersion::parse("1.2.3.4"), None);
    }

    #[test]
    fn a_dependency_above_the_declared_version_is_named() {
        let members = [declared("amili-payments", Some("1.85"))];
        let deps = [
            declared("old", Some("1.60")),
            declared("new", Some("1.88")),
            declared("none", None),
        ];
        let problems = check(&members, &deps);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("new 1.0.0 (1.88)"), "{}", problems[0]);
        assert!(!problems[0].contains("old"), "{}", problems[0]);
        assert!(problems[0].contains("to 1.88"), "{}", problems[0]);
    }

    #[test]
    fn equal_or_higher_declared_versions_pass() {
        let deps = [declared("new", Some("1.88"))];
        assert!(check(&[declared("a", Some("1.88"))], &deps).is_empty());
        assert!(check(&[declared("a", Some("1.90"))], &deps).is_empty());
    }

    #[test]
    fn a_member_without_rust_version_fails() {
        let deps = [declared("new", Some("1.88"))];
        assert_eq!(check(&[declared("a", None)], &deps).len(), 1);
    }
}
