//! What `cargo publish` would put on a registry: no placeholder URL (a `repository` of
//! `example.invalid` would be published as the crates' home).

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

#[test]
fn no_manifest_or_changelog_names_a_placeholder_url() {
    let root = workspace_root();
    let mut files = vec![root.join("Cargo.toml"), root.join("CHANGELOG.md")];
    let entries = std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        if manifest.is_file() {
            files.push(manifest);
        }
    }
    assert!(files.len() > 5, "the members were found: {files:?}");
    for file in files {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for placeholder in ["example.invalid", "example.com", "example.org"] {
            assert!(
                !text.contains(placeholder),
                "{} names the placeholder {placeholder}",
                file.display()
            );
        }
    }
}
