// Links libsparse. Where from, in this order:
// - SPARSE_LIB_DIR, a directory holding libsparse.so (a build tree);
// - pkg-config's `--libs sparse`, which honours PKG_CONFIG_PATH and
//   PKG_CONFIG_SYSROOT_DIR, so an install under a staging directory works
//   too (tests/examples/test_rust.sh builds against one);
// - the system's library path.
// No third-party crates (the pkg-config crate would do the same), so the
// example builds offline.
use std::env;
use std::process::Command;

fn main() {
    for var in ["SPARSE_LIB_DIR", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_SYSROOT_DIR", "PKG_CONFIG_LIBDIR"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }
    if let Ok(dir) = env::var("SPARSE_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-lib=dylib=sparse");
        return;
    }
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    match Command::new(&pkg_config).args(["--libs", "sparse"]).output() {
        Ok(out) if out.status.success() => {
            let flags = String::from_utf8_lossy(&out.stdout);
            for flag in flags.split_whitespace() {
                if let Some(dir) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={}", dir);
                } else if let Some(lib) = flag.strip_prefix("-l") {
                    println!("cargo:rustc-link-lib=dylib={}", lib);
                }
            }
        }
        // Without pkg-config or sparse.pc the linker may still find the library.
        _ => {
            println!("cargo:warning=`{} --libs sparse` failed; linking -lsparse from the system path", pkg_config);
            println!("cargo:rustc-link-lib=dylib=sparse");
        }
    }
}
