//! The one generator for `amili-api`.
//!
//! `amili-api`'s build script, its snapshot test and `cargo xtask regen` all call
//! [`generate_file`], so the settings below exist exactly once and the code that is compiled
//! cannot drift from the code that is reviewed in the snapshot.
//!
//! Generation never panics out of this crate: a spec that does not load, that progenitor
//! rejects, or that makes progenitor panic (it does for some unsupported shapes) becomes one
//! [`CodegenError`] naming the file and the problem.
//!
//! ```no_run
//! use std::path::Path;
//!
//! // In a build script: the spec the crate ships, next to its Cargo.toml.
//! let spec = amili_codegen::crate_spec_path(Path::new(env!("CARGO_MANIFEST_DIR")));
//! let generated = amili_codegen::generate_file(&spec)?;
//! println!("{} operations, {} lines", generated.operations, generated.lines);
//! # Ok::<(), amili_codegen::CodegenError>(())
//! ```
//!
//! # Where the spec lives
//!
//! The OpenAPI description is hand-maintained in one file of the workspace,
//! [`WORKSPACE_SPEC_PATH`]. Each crate that reads it at build time ships it as
//! [`SPEC_FILE_NAME`] next to its `Cargo.toml` — in the repository a symlink to that one file,
//! in the published `.crate` its content (`cargo package` follows the link) — so the crate
//! builds from its package alone and there is no second copy that could drift.
#![warn(missing_docs)]

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};

/// Where the workspace keeps the one hand-maintained API description, relative to the
/// workspace root.
pub const WORKSPACE_SPEC_PATH: &str = "openapi/autocollect.yaml";

/// The name under which a crate ships the spec, next to its `Cargo.toml`.
pub const SPEC_FILE_NAME: &str = "openapi.yaml";

/// The spec a crate ships: `manifest_dir/`[`SPEC_FILE_NAME`].
pub fn crate_spec_path(manifest_dir: &Path) -> PathBuf {
    manifest_dir.join(SPEC_FILE_NAME)
}

/// The file name the build script writes into `OUT_DIR` and `lib.rs` includes.
pub const GENERATED_FILE_NAME: &str = "amili_api_generated.rs";

/// Generated source plus a short description of it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The formatted Rust source.
    pub source: String,
    /// How many operations the spec describes.
    pub operations: usize,
    /// How many named component schemas the spec has.
    pub types: usize,
    /// Lines of generated source.
    pub lines: usize,
}

/// Why generation failed. Display gives one readable sentence naming the file.
#[derive(Debug)]
pub struct CodegenError {
    path: PathBuf,
    problem: String,
}

impl CodegenError {
    fn new(path: &Path, problem: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// The spec file the problem is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is wrong, without the file name.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot generate the client from {}: {}",
            self.path.display(),
            self.problem
        )
    }
}

impl std::error::Error for CodegenError {}

/// Progenitor's settings for `amili-api`. The `crate::…` paths name the hand-written types in
/// `amili-api` that replace generated ones (open enums, money, batch items).
pub fn settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // The hooks impl lives in amili-api (orphan rule); forgetting it is one compile error.
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote_path("crate::hooks::Inner"))
        // Enums the server sends are open: an unknown value must not fail a whole response.
        .with_replacement("PaymentType", "crate::PaymentType", no_impls())
        .with_replacement("BatchStatus", "crate::BatchStatus", no_impls())
        .with_replacement("BatchType", "crate::BatchType", no_impls())
        .with_replacement("InvoiceStatus", "crate::InvoiceStatus", no_impls())
        .with_replacement("InvoiceType", "crate::InvoiceType", no_impls())
        .with_replacement("CollectionType", "crate::CollectionType", no_impls())
        // Money is a decimal in major units, written and read as a JSON number.
        .with_replacement("Amount", "crate::Amount", no_impls())
        .with_replacement("SignedAmount", "crate::Amount", no_impls())
        // Batch items have an undocumented, growing shape: keep the whole JSON object.
        .with_replacement("BatchItem", "crate::BatchItem", no_impls());
    settings
}

fn no_impls() -> std::iter::Empty<TypeImpl> {
    std::iter::empty()
}

fn quote_path(path: &str) -> proc_macro2::TokenStream {
    path.parse()
        .unwrap_or_else(|_| unreachable!("{path} is a constant, valid Rust path"))
}

/// Parses the spec file, generates the client and formats it.
///
/// # Errors
///
/// A [`CodegenError`] naming `path` when the file cannot be read, is not YAML, is not an
/// OpenAPI 3.0.x document, has an operation without `operationId`, or has a shape progenitor
/// rejects or panics on.
pub fn generate_file(path: &Path) -> Result<Generated, CodegenError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CodegenError::new(path, format!("cannot read the file: {e}")))?;
    generate_str(path, &text)
}

/// Like [`generate_file`] for spec text already in memory; `path` only names it in errors.
///
/// # Errors
///
/// As [`generate_file`], except that nothing is read from disk.
pub fn generate_str(path: &Path, text: &str) -> Result<Generated, CodegenError> {
    let spec = load_spec(path, text)?;
    let operations = spec.operations().count();
    let types = spec
        .components
        .as_ref()
        .map(|c| c.schemas.len())
        .unwrap_or(0);

    let source = catch_panics(path, || {
        let mut generator = Generator::new(&settings());
        let tokens = generator
            .generate_tokens(&spec)
            .map_err(|e| CodegenError::new(path, format!("progenitor rejected the spec: {e}")))?;
        let file = syn::parse2::<syn::File>(tokens).map_err(|e| {
            CodegenError::new(path, format!("progenitor produced unparsable code: {e}"))
        })?;
        Ok(prettyplease::unparse(&file))
    })?;
    // progenitor's usage snippets are fragments, not examples: show them as text rather than
    // as doctests that are always ignored.
    let source = source.replace("```ignore", "```text");
    let source = format!(
        "// @generated by amili-codegen from openapi/autocollect.yaml. Do not edit by hand:\n\
         // change the spec and run `cargo xtask regen`.\n\n{source}"
    );
    let lines = source.lines().count();
    Ok(Generated {
        source,
        operations,
        types,
        lines,
    })
}

/// Reads YAML into an OpenAPI 3.0 document, checking the things progenitor would otherwise
/// panic on or silently ignore.
fn load_spec(path: &Path, text: &str) -> Result<openapiv3::OpenAPI, CodegenError> {
    // Look at the version first: a 3.1 document often fails to parse as 3.0 with a message
    // about some unrelated field.
    let raw: serde_norway::Value = serde_norway::from_str(text)
        .map_err(|e| CodegenError::new(path, format!("not valid YAML: {e}")))?;
    match raw.get("openapi").and_then(|v| v.as_str()) {
        Some(v) if v.trim().starts_with("3.0.") => {}
        Some(v) => {
            return Err(CodegenError::new(
                path,
                format!("`openapi: {v}` is not supported; progenitor reads OpenAPI 3.0.x only"),
            ));
        }
        None => {
            return Err(CodegenError::new(
                path,
                "the top-level `openapi` version field is missing",
            ));
        }
    }
    let spec: openapiv3::OpenAPI = serde_norway::from_value(raw)
        .map_err(|e| CodegenError::new(path, format!("not a valid OpenAPI 3.0 document: {e}")))?;
    for (route, method, operation) in spec.operations() {
        if operation.operation_id.as_deref().is_none_or(str::is_empty) {
            return Err(CodegenError::new(
                path,
                format!(
                    "the operation `{} {route}` has no operationId (method names derive from it)",
                    method.to_uppercase()
                ),
            ));
        }
    }
    Ok(spec)
}

/// Runs `f`, turning a panic into a [`CodegenError`] without printing the default panic
/// message and backtrace note.
fn catch_panics<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, CodegenError>,
) -> Result<T, CodegenError> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    match result {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(CodegenError::new(
                path,
                format!("progenitor cannot handle a shape in the spec: {message}"),
            ))
        }
    }
}

// Every Rust block of the README compiles (and runs, unless marked `no_run`) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace's spec (these tests run in the workspace, not from the `.crate`).
    fn workspace_spec_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(WORKSPACE_SPEC_PATH)
    }

    fn spec() -> String {
        std::fs::read_to_string(workspace_spec_path()).unwrap_or_default()
    }

    #[test]
    fn the_workspace_spec_generates() {
        let generated = generate_file(&workspace_spec_path()).map_err(|e| e.to_string());
        let generated = match generated {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(generated.operations, 8);
        for method in [
            "pub fn create_payments",
            "pub fn create_corrections",
            "pub fn get_invoices_by_organization",
            "pub fn get_invoice_by_id",
            "pub fn get_settlements",
            "pub fn get_settlement_by_id",
        ] {
            assert!(generated.source.contains(method), "{method} missing");
        }
    }

    #[test]
    fn openapi_3_1_is_one_readable_error() {
        let text = spec().replacen("openapi: 3.0.3", "openapi: 3.1.0", 1);
        let err = generate_str(Path::new("x.yaml"), &text)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "cannot generate the client from x.yaml: `openapi: 3.1.0` is not supported; \
                 progenitor reads OpenAPI 3.0.x only"
            )
        );
    }

    #[test]
    fn missing_operation_id_is_named() {
        let text = spec().replacen("operationId: GetBatchById", "x-was-operation-id: x", 1);
        let err = generate_str(Path::new("x.yaml"), &text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("`GET /orgs/{organizationId}/batches/{batchId}` has no operationId"),
            "{err}"
        );
    }

    #[test]
    fn a_progenitor_panic_becomes_an_error() {
        // Two different error body types on one operation make progenitor panic.
        let text = spec().replacen(
            "\"401\":\n          $ref: \"#/components/responses/Unauthorized\"",
            "\"401\":\n          description: x\n          content:\n            application/json:\n              schema:\n                type: string",
            1,
        );
        assert_ne!(text, spec());
        let err = generate_str(Path::new("x.yaml"), &text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("cannot generate the client from x.yaml: progenitor"),
            "{err}"
        );
    }

    #[test]
    fn invalid_yaml_is_named() {
        let err = generate_str(Path::new("x.yaml"), "openapi: [")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("cannot generate the client from x.yaml: not valid YAML"),
            "{err}"
        );
    }
}
