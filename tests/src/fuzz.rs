//! A small stable-toolchain fuzzer: random inputs and mutations of valid seeds,
//! fed to a parser; a panic fails the test that runs it.

use crate::Cases;

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
            7 => {
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
        if input.len() > 4096 {
            input.truncate(4096);
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
