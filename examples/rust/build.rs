// Links libsparse: from SPARSE_LIB_DIR if set (a build tree or an install),
// else from the system's library path.
fn main() {
    println!("cargo:rerun-if-env-changed=SPARSE_LIB_DIR");
    if let Ok(dir) = std::env::var("SPARSE_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir);
    }
    println!("cargo:rustc-link-lib=dylib=sparse");
}
