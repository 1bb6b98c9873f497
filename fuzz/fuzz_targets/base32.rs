#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::base32;

fuzz_target!(|text: &str| {
    if let Ok(bytes) = base32::decode(text) {
        assert_eq!(base32::decode(&base32::encode(&bytes)).unwrap(), bytes);
    }
});
