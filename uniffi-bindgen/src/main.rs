//! `cargo uniffi-bindgen generate --library target/release/libsofttoken_ffi.so --language kotlin --out-dir …`
//!
//! uniffi's own generator, then one adjustment to the Kotlin it wrote (see `kotlin`).

mod kotlin;

fn main() {
    uniffi::uniffi_bindgen_main();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(dir) = kotlin::kotlin_out_dir(&args) {
        if let Err(e) = kotlin::adjust_dir(&dir) {
            eprintln!("uniffi-bindgen: {e}");
            std::process::exit(1);
        }
    }
}
