#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::uri::migration;

fuzz_target!(|bytes: &[u8]| {
    let _ = migration::decode_payload(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = softtoken_core::uri::parse_any(text);
    }
});
