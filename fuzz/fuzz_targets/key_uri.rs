#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::KeyUri;

fuzz_target!(|text: &str| {
    if let Ok(key) = KeyUri::parse(text) {
        let again = KeyUri::parse(&key.to_uri()).unwrap();
        assert_eq!(again.params, key.params);
    }
});
