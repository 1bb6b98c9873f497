#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::Serial;

fuzz_target!(|text: &str| {
    if let Ok(serial) = Serial::parse(text) {
        assert_eq!(Serial::parse(&serial.grouped()).unwrap(), serial);
    }
    let _ = Serial::foreign(text);
});
