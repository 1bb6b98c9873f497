//! A small stable-toolchain fuzzer: random inputs and mutations of valid seeds,
//! fed to a parser; a panic fails the test that runs it.

use crate::Cases;
use std::time::{Duration, Instant};

/// Inputs per target: a million in an optimised build (as CI runs it), fewer in a debug build.
pub fn budget() -> usize {
    if cfg!(debug_assertions) {
        20_000
    } else {
        1_000_000
    }
}

/// Fragments that parsers treat specially, spliced into inputs.
const TOKENS: &[&[u8]] = &[
    b"%",
    b"%2",
    b"%FF",
    b"%3A",
    b"=",
    b"==",
    b"&",
    b"?",
    b":",
    b"/",
    b"//",
    b"otpauth://",
    b"otpauth-migration://offline?data=",
    b"totp/",
    b"hotp/",
    b"secret=",
    b"digits=",
    b"period=",
    b"counter=",
    b"issuer=",
    b"algorithm=SHA512",
    b" ",
    b"-",
    "\u{3000}".as_bytes(),
    "\u{FF10}".as_bytes(),
    "\u{FF33}".as_bytes(),
    b"\n",
    b"\0",
    b"\xff",
    b"\xc3",
    b"18446744073709551616",
    b"softtoken-vault 1 sha256=",
    b"{\"tokens\":[",
    b"\"secret\":\"",
    b"SSTA",
    b"SYMC",
];

fn mutate(input: &mut Vec<u8>, seeds: &[&[u8]], r: &mut Cases) {
    mutate_with_limit(input, seeds, r, 4096);
}

/// A few random edits of `input` (splicing from `seeds` when there are any), cut to `limit` bytes.
fn mutate_with_limit(input: &mut Vec<u8>, seeds: &[&[u8]], r: &mut Cases, limit: usize) {
    for _ in 0..=r.range(0, 3) {
        let len = input.len();
        match r.range(0, 9) {
            0 if len > 0 => {
                let i = r.range(0, len as u64 - 1) as usize;
                input[i] ^= 1 << r.range(0, 7);
            }
            1 if len > 0 => {
                let i = r.range(0, len as u64 - 1) as usize;
                input[i] = r.next_u64() as u8;
            }
            2 => {
                let i = r.range(0, len as u64) as usize;
                input.insert(i, r.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = r.range(0, len as u64 - 1) as usize;
                input.remove(i);
            }
            4 if len > 0 => {
                let i = r.range(0, len as u64) as usize;
                input.truncate(i);
            }
            5 => {
                let token = TOKENS[r.range(0, TOKENS.len() as u64 - 1) as usize];
                let i = r.range(0, len as u64) as usize;
                input.splice(i..i, token.iter().copied());
            }
            6 if len > 1 => {
                let a = r.range(0, len as u64 - 1) as usize;
                let b = r.range(a as u64, len as u64) as usize;
                let chunk = input[a..b].to_vec();
                let at = r.range(0, len as u64) as usize;
                input.splice(at..at, chunk);
            }
            7 if !seeds.is_empty() => {
                let other = seeds[r.range(0, seeds.len() as u64 - 1) as usize];
                let cut = r.range(0, other.len() as u64) as usize;
                let at = r.range(0, len as u64) as usize;
                input.truncate(at);
                input.extend_from_slice(&other[cut..]);
            }
            _ => {
                let n = r.range(0, 40) as usize;
                *input = (0..n).map(|_| (r.next_u64() % 96 + 32) as u8).collect();
            }
        }
        if input.len() > limit {
            input.truncate(limit);
        }
    }
}

/// Feeds `budget()` inputs (mutated seeds and random bytes) to `target`; returns how many.
pub fn run(name: &str, seeds: &[&[u8]], mut target: impl FnMut(&[u8])) -> usize {
    let mut r = Cases::new(name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }));
    let n = budget();
    let mut input = Vec::new();
    for i in 0..n {
        if i % 16 == 0 {
            input = seeds[i / 16 % seeds.len()].to_vec();
        }
        mutate(&mut input, seeds, &mut r);
        target(&input);
    }
    for seed in seeds {
        target(seed);
    }
    println!("fuzz: {name}: {} inputs, no panic", n + seeds.len());
    n + seeds.len()
}

/// The largest input the large-input runs make: 1 MB.
pub const LARGE: usize = 1 << 20;

/// The longest one input may take. A linear parser reads a megabyte in milliseconds (tens of
/// them in a debug build); a quadratic one takes minutes. The bound is loose enough for a
/// loaded machine and still catches that.
pub fn time_bound() -> Duration {
    if cfg!(debug_assertions) {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(2)
    }
}

/// A shape of large input: its name and how to make it at about `n` bytes.
pub type Shape<'a> = (&'a str, &'a dyn Fn(usize) -> Vec<u8>);

/// What a large-input run saw.
#[derive(Debug, Clone)]
pub struct Large {
    /// Inputs fed.
    pub inputs: usize,
    /// The longest one input took.
    pub slowest: Duration,
    /// Which input that was: shape and size.
    pub slowest_input: String,
    /// The largest ratio, over the shapes slow enough to time, of the time at 1 MB to the time
    /// at 256 KB (about 4 for a linear parser, 16 for a quadratic one; 0 when none was).
    pub growth: f64,
    /// The shape with that ratio.
    pub growth_shape: String,
}

/// `text` repeated to at least `n` bytes.
pub fn repeat_to(text: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + text.len());
    while out.len() < n {
        out.extend_from_slice(text);
    }
    out
}

/// Feeds each shape at 16 KB, 64 KB, 256 KB and 1 MB, and two mutated copies of each, to
/// `target`, timing every input; fails when one takes longer than [`time_bound`]. (The 256 KB
/// and 1 MB inputs are read twice more for the growth ratio, which leaves out shapes read in
/// under 5 ms at 256 KB.)
pub fn run_large(name: &str, shapes: &[Shape], mut target: impl FnMut(&[u8])) -> Large {
    let mut r = Cases::new(name.len() as u64 ^ 0x5eed_1a26e);
    let bound = time_bound();
    let mut report = Large {
        inputs: 0,
        slowest: Duration::ZERO,
        slowest_input: String::new(),
        growth: 0.0,
        growth_shape: String::new(),
    };
    for (shape, make) in shapes {
        let mut at = [Duration::ZERO; 2];
        for (k, size) in [LARGE / 64, LARGE / 16, LARGE / 4, LARGE]
            .into_iter()
            .enumerate()
        {
            let mut input = make(size);
            input.truncate(LARGE);
            for copy in 0..3 {
                if copy > 0 {
                    mutate_with_limit(&mut input, &[], &mut r, LARGE);
                }
                let start = Instant::now();
                target(&input);
                let took = start.elapsed();
                report.inputs += 1;
                let label = format!("{shape} at {} bytes", input.len());
                assert!(
                    took <= bound,
                    "fuzz: {name}: {label} took {took:?}, more than {bound:?}: not linear"
                );
                if took > report.slowest {
                    report.slowest = took;
                    report.slowest_input = label;
                }
                if copy == 0 && k >= 2 {
                    // The fastest of three reads, for the growth ratio: one read on a busy
                    // machine may be slowed by anything.
                    let again = (0..2).map(|_| {
                        let start = Instant::now();
                        target(&input);
                        start.elapsed()
                    });
                    at[k - 2] = again.fold(took, Duration::min);
                }
            }
        }
        // Reads of a few milliseconds say more about the machine than about the parser.
        let growth = at[1].as_secs_f64() / at[0].as_secs_f64();
        if at[0] >= Duration::from_millis(5) && growth > report.growth {
            report.growth = growth;
            report.growth_shape = shape.to_string();
        }
    }
    println!(
        "fuzz: {name}: {} inputs up to {LARGE} bytes, slowest {:?} ({}), 1 MB / 256 KB time ratio at most {:.1} ({})",
        report.inputs, report.slowest, report.slowest_input, report.growth, report.growth_shape
    );
    report
}
