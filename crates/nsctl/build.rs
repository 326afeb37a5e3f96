//! Links the unwinder into nsctl instead of loading libgcc_s.so.1 at every
//! start: `link/libgcc_s.so` is a linker script that answers Rust's
//! `-lgcc_s` with libgcc_eh.a (see its comment, and docs/benchmarks.md,
//! "nsctl exec's start"). Only the gnu targets link with -lgcc_s.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/libgcc_s.so");
    let gnu = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "gnu");
    let os = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|o| o == "linux");
    if gnu && os {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link");
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
}
