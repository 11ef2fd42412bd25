//! `cargo xtask regen [--check]`.

use std::path::Path;

use crate::util::{cargo, workspace_root};

const SNAPSHOT: &str = "amili-api/tests/snapshots/generated_client.snap";

/// The crates that ship the spec (as `openapi.yaml`, a symlink to the workspace's one file).
const SPEC_SHIPPING_CRATES: [&str; 2] = ["amili-api", "amili-sandbox"];

pub fn run(check: bool) -> Result<(), String> {
    let root = workspace_root();
    check_shipped_specs(&root)?;

    // Generate here first: a broken spec gives one readable line instead of a failed build.
    let spec = root.join(amili_codegen::WORKSPACE_SPEC_PATH);
    let generated = amili_codegen::generate_file(&spec).map_err(|e| e.to_string())?;
    println!(
        "generated amili-api: {} operations, {} schemas, {} lines",
        generated.operations, generated.types, generated.lines
    );

    // The snapshot test compares with the same generator; insta owns the file format.
    let mut test = cargo();
    test.args([
        "test",
        "--quiet",
        "-p",
        "amili-api",
        "--test",
        "generated_snapshot",
    ]);
    // insta's diff is the readable part; a panic backtrace would bury it.
    test.env("RUST_BACKTRACE", "0");
    if check {
        test.env("CI", "true").env("INSTA_UPDATE", "no");
    } else {
        test.env_remove("CI").env("INSTA_UPDATE", "always");
    }
    let status = test
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    if !status.success() {
        return Err(if check {
            format!(
                "{SNAPSHOT} is stale: the spec or the generator changed. Run `cargo xtask regen` and commit the snapshot."
            )
        } else {
            "the snapshot test failed; see the output above".to_owned()
        });
    }
    if check {
        println!("{SNAPSHOT} is up to date");
    } else {
        println!("accepted {SNAPSHOT}; review it with `git diff {SNAPSHOT}`");
    }
    Ok(())
}

/// Each crate's `openapi.yaml` must be the workspace's spec itself (a symlink resolving to
/// it), not a copy that could drift. A checkout without symlink support (git's
/// `core.symlinks=false`) writes the link as a small text file: that fails here too.
fn check_shipped_specs(root: &Path) -> Result<(), String> {
    let spec = root.join(amili_codegen::WORKSPACE_SPEC_PATH);
    let canonical = spec
        .canonicalize()
        .map_err(|e| format!("{}: {e}", spec.display()))?;
    for krate in SPEC_SHIPPING_CRATES {
        let shipped = amili_codegen::crate_spec_path(&root.join(krate));
        let link = std::fs::symlink_metadata(&shipped)
            .map_err(|e| format!("{}: {e}", shipped.display()))?;
        let resolved = shipped.canonicalize().ok();
        if !link.file_type().is_symlink() || resolved.as_deref() != Some(canonical.as_path()) {
            return Err(format!(
                "{} must be a symlink to ../{} (the one hand-maintained spec), not a copy: \
                 `ln -sf ../{} {}`",
                shipped.display(),
                amili_codegen::WORKSPACE_SPEC_PATH,
                amili_codegen::WORKSPACE_SPEC_PATH,
                shipped.display()
            ));
        }
    }
    println!(
        "{} ship {} through symlinks",
        SPEC_SHIPPING_CRATES.join(" and "),
        amili_codegen::WORKSPACE_SPEC_PATH
    );
    Ok(())
}
