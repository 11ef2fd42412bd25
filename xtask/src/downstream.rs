//! `cargo xtask downstream`: what a new user of `amili-payments` gets from a registry.
//!
//! 1. `cargo package` the crates `amili-payments` needs (the `.crate` files a registry would
//!    serve) and unpack them into a temporary directory outside the workspace;
//! 2. write a fresh crate there whose only dependencies are `amili-payments` (resolved to the
//!    unpacked packages through `[patch.crates-io]`, as if they came from crates.io) and
//!    `tokio`, with the quickstart of `amili-payments/README.md` as its `main.rs`;
//! 3. build it. The workspace's `Cargo.lock` seeds its lock file, so it resolves the same
//!    versions and works `--offline` once they are downloaded;
//! 4. build and run a neighbour crate with a `reqwest` of its own (no TLS features) that
//!    builds its own clients around an amili client: amili's TLS set-up must leave them
//!    working.

use std::path::Path;

use crate::util::{
    cargo, fresh_temp_dir, metadata, package_version, run_status, target_dir, toml_string,
    workspace_root, write,
};

/// `amili-payments` and the workspace crates it depends on, in dependency order.
const PACKAGES: [&str; 3] = ["amili-codegen", "amili-api", "amili-payments"];

/// The dependencies a quickstart may need: the crate itself and an async runtime.
const ALLOWED: [&str; 2] = ["amili-payments", "tokio"];

/// The runtime used when the README names none.
const DEFAULT_TOKIO: &str = r#"{ version = "1", features = ["macros", "rt-multi-thread"] }"#;

/// The quickstart of a README: its code and the `[dependencies]` it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quickstart {
    pub code: String,
    /// `(name, TOML value)` from the ```toml block before the code, if any.
    pub dependencies: Vec<(String, String)>,
}

/// `readme`: the README whose quickstart is built (default `amili-payments/README.md`).
pub fn run(offline: bool, readme: Option<&Path>) -> Result<(), String> {
    let root = workspace_root();
    let readme_path = readme
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("amili-payments").join("README.md"));
    let readme = std::fs::read_to_string(&readme_path)
        .map_err(|e| format!("{}: {e}", readme_path.display()))?;
    let quickstart =
        extract_quickstart(&readme).map_err(|e| format!("{}: {e}", readme_path.display()))?;
    let tokio =
        tokio_requirement(&quickstart).map_err(|e| format!("{}: {e}", readme_path.display()))?;

    // 1. The packages, as a registry would serve them.
    let workspace = metadata(&["--no-deps"])?;
    let mut package = cargo();
    package.args(["package", "--locked", "--no-verify", "--allow-dirty"]);
    if offline {
        package.arg("--offline");
    }
    // amili-sandbox too: the others' dev-dependencies name it, and cargo resolves those.
    for name in PACKAGES.iter().chain(&["amili-sandbox"]) {
        package.args(["-p", name]);
    }
    run_status(&mut package, "cargo package")?;

    let dir = fresh_temp_dir("amili-downstream")?;
    let packages = dir.join("packages");
    std::fs::create_dir_all(&packages)
        .map_err(|e| format!("cannot create {}: {e}", packages.display()))?;
    let target = target_dir()?;
    let mut patches = String::new();
    let mut payments_version = String::new();
    for name in PACKAGES {
        let version = package_version(&workspace, name)?;
        let crate_file = target
            .join("package")
            .join(format!("{name}-{version}.crate"));
        unpack(&crate_file, &packages)?;
        let unpacked = packages.join(format!("{name}-{version}"));
        patches.push_str(&format!(
            "{name} = {{ path = {} }}\n",
            toml_string(&unpacked.to_string_lossy())
        ));
        if name == "amili-payments" {
            payments_version = version;
        }
    }

    // 2. The fresh crate.
    let app = dir.join("quickstart");
    write(
        &app.join("Cargo.toml"),
        &format!(
            "[package]\n\
             name = \"amili-quickstart\"\n\
             version = \"0.0.0\"\n\
             edition = \"2024\"\n\
             publish = false\n\n\
             [dependencies]\n\
             amili-payments = \"{payments_version}\"\n\
             tokio = {tokio}\n\n\
             # The packaged crates stand in for crates.io's.\n\
             [patch.crates-io]\n\
             {patches}\n\
             # Not part of any enclosing workspace.\n\
             [workspace]\n"
        ),
    )?;
    write(&app.join("src").join("main.rs"), &quickstart.code)?;
    let lock = root.join("Cargo.lock");
    std::fs::copy(&lock, app.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;

    // 3. Build it. Its own target directory is kept between runs, inside the workspace's.
    let mut build = cargo();
    build
        .current_dir(&app)
        .args(["build", "--quiet"])
        .env("CARGO_TARGET_DIR", target.join("downstream"))
        // The workspace's settings (aliases, target dir) must not apply out here.
        .env_remove("CARGO_BUILD_TARGET_DIR");
    if offline {
        build.arg("--offline");
    }
    println!(
        "building the quickstart of {} in {} (amili-payments {payments_version} from its .crate, tokio {tokio})",
        readme_path.display(),
        app.display()
    );
    if let Err(e) = run_status(&mut build, "building the quickstart") {
        return Err(format!("{e}; the crate is kept in {}", app.display()));
    }
    println!("the README quickstart compiles against the packaged amili-payments");

    // 4. A neighbour: a crate with a reqwest of its own, without TLS features, that builds its
    //    own client before (and after) an amili client. Cargo gives both the same reqwest, so
    //    amili's TLS set-up must not leave it panicking for want of a crypto provider.
    let neighbour = dir.join("neighbour");
    write(
        &neighbour.join("Cargo.toml"),
        &format!(
            "[package]\n\
             name = \"amili-neighbour\"\n\
             version = \"0.0.0\"\n\
             edition = \"2024\"\n\
             publish = false\n\n\
             [dependencies]\n\
             amili-payments = \"{payments_version}\"\n\
             reqwest = {{ version = \"0.13\", default-features = false }}\n\n\
             [patch.crates-io]\n\
             {patches}\n\
             [workspace]\n"
        ),
    )?;
    write(&neighbour.join("src").join("main.rs"), NEIGHBOUR)?;
    std::fs::copy(&lock, neighbour.join("Cargo.lock"))
        .map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;
    let mut run = cargo();
    run.current_dir(&neighbour)
        .args(["run", "--quiet"])
        .env("CARGO_TARGET_DIR", target.join("downstream"))
        .env_remove("CARGO_BUILD_TARGET_DIR");
    if offline {
        run.arg("--offline");
    }
    println!("running a crate with its own reqwest (no TLS features) beside amili-payments");
    match run_status(&mut run, "running the neighbour crate") {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&dir);
            println!("a downstream reqwest::Client::new() works next to an amili client");
            Ok(())
        }
        Err(e) => Err(format!("{e}; the crates are kept in {}", dir.display())),
    }
}

/// The neighbour crate's `main.rs`: its own reqwest clients around an amili client, the first
/// built before any amili code runs.
const NEIGHBOUR: &str = r#"fn main() {
    let mine = reqwest::Client::new();
    let amili = amili_payments::Client::builder()
        .environment(amili_payments::Environment::custom(
            "https://127.0.0.1:9/collection/v1",
            "https://127.0.0.1:9/token",
        ))
        .organization_id(amili_payments::Uuid::nil())
        .client_credentials("id", "secret")
        .build();
    if let Err(e) = &amili {
        eprintln!("no amili client: {e}");
        std::process::exit(1);
    }
    let after = reqwest::Client::new();
    drop((mine, amili, after));
    println!("own reqwest clients and an amili client built side by side");
}
"#;

fn unpack(crate_file: &Path, into: &Path) -> Result<(), String> {
    if !crate_file.is_file() {
        return Err(format!("{} is missing", crate_file.display()));
    }
    let mut tar = std::process::Command::new("tar");
    tar.arg("-xzf").arg(crate_file).arg("-C").arg(into);
    run_status(&mut tar, &format!("tar -xzf {}", crate_file.display()))
}

/// The TOML value for `tokio`: the README's, or a default. Any other dependency listed is an
/// error: the quickstart must compile with `amili-payments` and `tokio` alone.
fn tokio_requirement(quickstart: &Quickstart) -> Result<String, String> {
    let extra: Vec<&str> = quickstart
        .dependencies
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !ALLOWED.contains(name))
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "the quickstart lists dependencies besides amili-payments and tokio: {}. A new \
             user should need no others: use amili-payments' re-exports instead",
            extra.join(", ")
        ));
    }
    Ok(quickstart
        .dependencies
        .iter()
        .find(|(name, _)| name == "tokio")
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| DEFAULT_TOKIO.to_owned()))
}

/// The first ```rust block under a "Quickstart" heading, and the ```toml block before it.
pub fn extract_quickstart(readme: &str) -> Result<Quickstart, String> {
    let mut lines = readme.lines();
    lines
        .by_ref()
        .find(|line| {
            let line = line.trim();
            line.starts_with('#')
                && line
                    .trim_start_matches('#')
                    .trim()
                    .eq_ignore_ascii_case("quickstart")
        })
        .ok_or("no `Quickstart` heading")?;

    let mut dependencies = Vec::new();
    while let Some(line) = lines.next() {
        let fence = line.trim();
        if fence.starts_with('#') {
            break; // the next section: no code under the heading
        }
        let Some(info) = fence.strip_prefix("```") else {
            continue;
        };
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let lang = info.split(',').next().unwrap_or_default().trim();
        match lang {
            "toml" => dependencies = toml_dependencies(&block),
            "rust" => {
                let code = rustdoc_visible_and_hidden(&block);
                if !code.contains("fn main") {
                    return Err("the quickstart's rust block has no `fn main`".to_owned());
                }
                return Ok(Quickstart { code, dependencies });
            }
            _ => {}
        }
    }
    Err("no ```rust block under the `Quickstart` heading".to_owned())
}

/// `name = value` lines of a `[dependencies]` table (the whole block when it has no header).
fn toml_dependencies(block: &[&str]) -> Vec<(String, String)> {
    let mut in_dependencies = !block.iter().any(|l| l.trim().starts_with('['));
    let mut found = Vec::new();
    for line in block {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if !in_dependencies || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            found.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    found
}

/// The code as rustdoc compiles it: `# ` hides a line from the reader, not from the compiler.
fn rustdoc_visible_and_hidden(block: &[&str]) -> String {
    let mut code = String::new();
    for line in block {
        let trimmed = line.trim_start();
        let line = if trimmed == "#" {
            ""
        } else if let Some(rest) = trimmed.strip_prefix("# ") {
            rest
        } else {
            line
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "# amili-payments\n\nIntro.\n\n```rust\nfn not_this() {}\n```\n\n\
        ## Quickstart\n\n```toml\n[dependencies]\namili-payments = { path = \"../amili-payments\" }\n\
        tokio = { version = \"1\", features = [\"macros\"] }\n```\n\n```rust\n\
        # use std::fmt;\n#[tokio::main]\nasync fn main() {}\n```\n\n```rust\nfn later() {}\n```\n";

    #[test]
    fn the_first_rust_block_under_the_heading_with_its_dependencies() {
        let quickstart = extract_quickstart(README).map_err(|e| e.to_string());
        let quickstart = quickstart.as_ref().map_err(String::as_str);
        assert_eq!(
            quickstart,
            Ok(&Quickstart {
                code: "use std::fmt;\n#[tokio::main]\nasync fn main() {}\n".to_owned(),
                dependencies: vec![
                    (
                        "amili-payments".to_owned(),
                        "{ path = \"../amili-payments\" }".to_owned()
                    ),
                    (
                        "tokio".to_owned(),
                        "{ version = \"1\", features = [\"macros\"] }".to_owned()
                    ),
                ],
            })
        );
    }

    #[test]
    fn tokio_comes_from_the_readme_and_others_are_refused() {
        let mut quickstart = extract_quickstart(README).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tokio_requirement(&quickstart).as_deref(),
            Ok("{ version = \"1\", features = [\"macros\"] }")
        );
        quickstart
            .dependencies
            .push(("rust_decimal".to_owned(), "\"1\"".to_owned()));
        let err = tokio_requirement(&quickstart).err().unwrap_or_default();
        assert!(err.contains("rust_decimal"), "{err}");
        quickstart.dependencies.clear();
        assert_eq!(tokio_requirement(&quickstart).as_deref(), Ok(DEFAULT_TOKIO));
    }

    #[test]
    fn no_heading_or_no_code_is_an_error() {
        assert!(extract_quickstart("# x\n```rust\nfn main() {}\n```\n").is_err());
        assert!(
            extract_quickstart("## Quickstart\ntext\n## Next\n```rust\nfn main() {}\n```\n")
                .is_err()
        );
        assert!(extract_quickstart("## Quickstart\n```rust\nlet x = 1;\n```\n").is_err());
    }
}
