//! The camt fixtures are valid against the official ISO 20022 XSDs of their versions
//! (validated by Python `xmlschema`; see `tests/validate_xsd.py`). Needs
//! `bash scripts/second-opinions.sh` (fails, never skips, without it).

mod support;

use std::ffi::OsStr;
use std::process::Command;

fn validator() -> &'static OsStr {
    OsStr::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/validate_xsd.py"
    ))
}

#[test]
fn the_camt_fixtures_validate_against_their_xsds() {
    let names = ["camt054-v02.xml", "camt054-v08.xml", "camt053-v02.xml"];
    let paths: Vec<_> = names.iter().map(|n| support::fixture(n)).collect();
    let mut args = vec![validator()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let out = support::run_python(&args);
    for (name, version) in
        names
            .iter()
            .zip(["camt.054.001.02", "camt.054.001.08", "camt.053.001.02"])
    {
        assert!(
            out.lines()
                .any(|l| l.starts_with("ok ") && l.contains(name) && l.ends_with(version)),
            "{name} ({version}) not validated:\n{out}"
        );
    }
}

#[test]
fn the_validator_rejects_an_invalid_file() {
    // The check above means something only if a wrong file fails: a .08 status written the
    // .02 way.
    let text = std::fs::read_to_string(support::fixture("camt054-v08.xml")).expect("fixture");
    let broken = text.replacen("<Cd>BOOK</Cd>", "BOOK", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.xml");
    std::fs::write(&path, broken).expect("write");
    let output = Command::new(support::python())
        .arg(validator())
        .arg(&path)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success() && stdout.starts_with("invalid "),
        "{stdout}"
    );
}
