#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::json;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(value) = json::parse(bytes) {
        assert_eq!(json::parse(&value.to_pretty()).unwrap(), value);
    }
});
