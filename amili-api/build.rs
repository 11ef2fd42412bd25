//! Generates the client from the workspace's OpenAPI description into `OUT_DIR`.
use std::path::PathBuf;

fn main() {
    let spec = amili_codegen::default_spec_path();
    println!("cargo:rerun-if-changed={}", spec.display());
    let generated = match amili_codegen::generate_file(&spec) {
        Ok(generated) => generated,
        Err(e) => {
            // One readable line instead of a build-script panic backtrace.
            println!("cargo::error={e}");
            std::process::exit(1);
        }
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        println!("cargo::error=OUT_DIR is not set; run this through cargo");
        std::process::exit(1);
    };
    let out = PathBuf::from(out_dir).join(amili_codegen::GENERATED_FILE_NAME);
    if let Err(e) = std::fs::write(&out, generated.source) {
        println!("cargo::error=cannot write {}: {e}", out.display());
        std::process::exit(1);
    }
}
