//! Generates the client from the OpenAPI description this crate ships (`openapi.yaml`, a
//! symlink to the workspace's `openapi/autocollect.yaml` whose content `cargo package` stores
//! in the `.crate`) into `OUT_DIR`.
use std::path::PathBuf;

fn main() {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        println!("cargo::error=CARGO_MANIFEST_DIR is not set; run this through cargo");
        std::process::exit(1);
    };
    let spec = amili_codegen::crate_spec_path(&PathBuf::from(manifest_dir));
    println!("cargo::rerun-if-changed={}", spec.display());
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
