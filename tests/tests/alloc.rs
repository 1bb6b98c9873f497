//! Making a code allocates nothing once the key is prepared: a counting global
//! allocator watches the hot path. (A global allocator is unsafe to implement:
//! this test file alone allows it.)
#![allow(unsafe_code)]

use softtoken_core::otp::{Algorithm, Digits, OtpKey, Totp};
use softtoken_core::Secret;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: forwards to the system allocator with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn codes_allocate_nothing_after_setup() {
    // The counter sees allocations at all.
    let probe = ALLOCATIONS.load(Ordering::SeqCst);
    drop(std::hint::black_box(vec![1u8; 16]));
    assert!(ALLOCATIONS.load(Ordering::SeqCst) > probe);
    for algorithm in Algorithm::ALL {
        for digits in [6, 7, 8] {
            let secret = Secret::from_bytes(&[7u8; 40]).unwrap();
            let totp = Totp::new(&secret, algorithm, Digits::new(digits).unwrap(), 30).unwrap();
            let key = OtpKey::new(&secret, algorithm);
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            let mut sink = 0usize;
            for i in 0..10_000u64 {
                let t = 1_700_000_000 + i * 7;
                sink += totp.value_at(t).as_str().len();
                let code = totp.at(t).unwrap();
                sink += code.value.as_str().len() + code.next.as_str().len();
                sink += key.hotp(i, Digits::SIX).as_str().len();
                sink += usize::from(code.value.matches(b"000000"));
            }
            let after = ALLOCATIONS.load(Ordering::SeqCst);
            assert!(sink > 0);
            assert_eq!(
                after - before,
                0,
                "{algorithm} with {digits} digits allocated {} times in 40,000 codes",
                after - before
            );
        }
    }
}
