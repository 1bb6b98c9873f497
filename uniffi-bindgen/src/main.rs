//! `cargo uniffi-bindgen generate --library target/release/libsofttoken_ffi.so --language kotlin --out-dir …`

fn main() {
    uniffi::uniffi_bindgen_main()
}
