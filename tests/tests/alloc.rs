//! Making or checking a code allocates nothing once the key is prepared: a
//! counting global allocator watches the hot path. It counts per thread, so
//! the test harness's own threads cannot be mistaken for the code's. (A global
//! allocator is unsafe to implement: this test file alone allows it.)
#![allow(unsafe_code)]

use softtoken_core::otp::{Algorithm, Digits, OtpKey, Totp};
use softtoken_core::Secret;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Allocations made so far on this thread.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Not while the thread's storage is being torn down.
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
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
    let probe = allocations();
    drop(std::hint::black_box(vec![1u8; 16]));
    assert!(allocations() > probe);
    for algorithm in Algorithm::ALL {
        for digits in [6, 7, 8] {
            let secret = Secret::from_bytes(&[7u8; 40]).unwrap();
            let totp = Totp::new(&secret, algorithm, Digits::new(digits).unwrap(), 30).unwrap();
            let key = OtpKey::new(&secret, algorithm);
            let before = allocations();
            let mut sink = 0usize;
            for i in 0..10_000u64 {
                let t = 1_700_000_000 + i * 7;
                sink += totp.value_at(t).as_str().len();
                let code = totp.at(t).unwrap();
                sink += code.value.as_str().len() + code.next.as_str().len();
                sink += key.hotp(i, Digits::SIX).as_str().len();
                sink += usize::from(code.value.matches(b"000000"));
                sink += usize::from(totp.verify(b"000000", t, 1, 1).is_some());
            }
            let after = allocations();
            assert!(sink > 0);
            assert_eq!(
                after - before,
                0,
                "{algorithm} with {digits} digits allocated {} times in 40,000 codes and 10,000 checks",
                after - before
            );
        }
    }
}
