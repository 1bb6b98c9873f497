#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::store::Record;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(record) = Record::decode(bytes) {
        assert_eq!(Record::decode(&record.encode()).unwrap(), record);
    }
});
