//! Secrets read from stdin or a file (`code --secret -`, `import -`) leave no copy
//! behind as the buffer grows: a global allocator searches every freed block for
//! the secret. (A global allocator is unsafe to implement: this test file alone
//! allows it; the product has no `unsafe`.)
#![allow(unsafe_code)]

#[allow(dead_code)]
#[path = "../src/wiped.rs"]
mod wiped;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;

const SECRET: &[u8] = b"IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN";

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static LEAKS: Cell<usize> = const { Cell::new(0) };
}

struct Searching;

unsafe impl GlobalAlloc for Searching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Zeroed, so that a freed block holds only what its user wrote.
        // SAFETY: forwards to the system allocator with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.try_with(Cell::get).unwrap_or(false) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until the dealloc below.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(SECRET.len()).any(|w| w == SECRET) {
                let _ = LEAKS.try_with(|n| n.set(n.get() + 1));
            }
        }
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Searching = Searching;

fn unwiped_frees(work: impl FnOnce()) -> usize {
    LEAKS.with(|n| n.set(0));
    WATCHING.with(|w| w.set(true));
    work();
    WATCHING.with(|w| w.set(false));
    LEAKS.with(Cell::get)
}

/// A reader that hands out its text a little at a time, as a pipe does.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(out.len()).min(1000);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// A secret first, then enough lines after it that every buffer must grow several times.
fn input() -> Vec<u8> {
    let mut text = Vec::with_capacity(300_000);
    text.extend_from_slice(SECRET);
    while text.len() < 290_000 {
        text.extend_from_slice(b"\notpauth://totp/x?secret=JBSWY3DPEHPK3PXP");
    }
    text
}

#[test]
fn reading_a_long_input_leaves_no_copy_of_the_secret() {
    let text = input();
    let leaks = unwiped_frees(|| {
        let read = wiped::read_to_string(Trickle(&text), 1 << 20).unwrap();
        assert_eq!(read.len(), text.len());
    });
    assert_eq!(leaks, 0, "freed blocks still holding the secret");
}

/// The test can fail: std's `read_to_string` into a wiped `String` (what `import -` and
/// `code --secret -` did) frees each outgrown buffer unwiped.
#[test]
fn reading_into_a_growing_string_is_caught() {
    let text = input();
    let leaks = unwiped_frees(|| {
        let mut read = zeroize::Zeroizing::new(String::new());
        Trickle(&text).read_to_string(&mut read).unwrap();
    });
    assert!(leaks > 0, "the search must see the outgrown buffers");
    println!("wiped: std's read_to_string left {leaks} unwiped copies of the secret");
}
