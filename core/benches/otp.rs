//! Nanoseconds per TOTP code, measured in one run for: softtoken (the `hmac`
//! crate's `HmacCore`, keyed once, copied per code and driven through the
//! block API); totp-rs; the RustCrypto `Hmac` with its key schedule done once
//! (clone + update + finalize per code); and the limit: exactly two compression-function calls per code
//! with the inner and outer states precomputed. Prints figures and ratios,
//! and beside them totp-rs/limit: the most any HMAC implementation can be
//! faster than totp-rs on this machine (a code needs the two compressions).

use hmac::{Hmac, Mac};
use sha1::digest::generic_array::GenericArray;
use softtoken_core::otp::{Algorithm, Digits, Totp};
use softtoken_core::Secret;
use std::hint::black_box;
use std::time::Instant;

const ITERATIONS: u64 = 200_000;
const REPEATS: usize = 41;
const T0: u64 = 1_700_000_000;

/// One way of making a code from a time.
type Path = Box<dyn FnMut(u64) -> u32>;

/// Nanoseconds per call of each path: the paths take turns, `REPEATS` rounds of
/// `ITERATIONS` calls after a warm-up round, and each path's median is kept, so
/// clock-speed changes hit every path alike.
fn measure(paths: &mut [&mut dyn FnMut(u64) -> u32]) -> Vec<f64> {
    let mut runs = vec![Vec::with_capacity(REPEATS); paths.len()];
    for round in 0..=REPEATS {
        for (path, samples) in paths.iter_mut().zip(runs.iter_mut()) {
            let began = Instant::now();
            let mut sink = 0u32;
            for i in 0..ITERATIONS {
                sink ^= path(black_box(T0 + i * 30));
            }
            black_box(sink);
            if round > 0 {
                samples.push(began.elapsed().as_nanos() as f64 / ITERATIONS as f64);
            }
        }
    }
    runs.into_iter()
        .map(|mut r| {
            r.sort_by(f64::total_cmp);
            r[REPEATS / 2]
        })
        .collect()
}

fn truncate(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    (u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff)
        % 1_000_000
}

fn padded<const B: usize>(key: &[u8], pad: u8) -> [u8; B] {
    let mut out = [pad; B];
    for (o, k) in out.iter_mut().zip(key) {
        *o ^= k;
    }
    out
}

/// A hash's state word: 32 bits for SHA-1 and SHA-256, 64 for SHA-512.
trait Word: Copy {
    const BYTES: usize;
    fn write_be(self, out: &mut [u8]);
}

impl Word for u32 {
    const BYTES: usize = 4;
    fn write_be(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_be_bytes());
    }
}

impl Word for u64 {
    const BYTES: usize = 8;
    fn write_be(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_be_bytes());
    }
}

/// The limit: the inner and outer states precomputed from `iv`, then exactly
/// two calls of `compress` (one `B`-byte block each) per code, with the two
/// padding blocks laid out directly.
fn limit<W: Word, const N: usize, const B: usize>(
    key: &[u8],
    iv: [W; N],
    compress: impl Fn(&mut [W; N], &[u8; B]),
) -> impl FnMut(u64) -> u32 {
    let (mut inner, mut outer) = (iv, iv);
    compress(&mut inner, &padded(key, 0x36));
    compress(&mut outer, &padded(key, 0x5c));
    let digest = N * W::BYTES;
    let bits = |len: usize| (((B + len) * 8) as u16).to_be_bytes();
    move |time| {
        let mut block = [0u8; B];
        block[..8].copy_from_slice(&(time / 30).to_be_bytes());
        block[8] = 0x80;
        block[B - 2..].copy_from_slice(&bits(8));
        let mut state = inner;
        compress(&mut state, &block);
        let mut block = [0u8; B];
        for (c, w) in block.chunks_exact_mut(W::BYTES).zip(state) {
            w.write_be(c);
        }
        block[digest] = 0x80;
        block[B - 2..].copy_from_slice(&bits(digest));
        let mut state = outer;
        compress(&mut state, &block);
        let mut mac = [0u8; 64];
        for (c, w) in mac.chunks_exact_mut(W::BYTES).zip(state) {
            w.write_be(c);
        }
        truncate(&mac[..digest])
    }
}

fn limit_sha1(key: &[u8]) -> impl FnMut(u64) -> u32 {
    let iv = [
        0x6745_2301u32,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    limit(key, iv, |state, block: &[u8; 64]| {
        sha1::compress(state, std::slice::from_ref(GenericArray::from_slice(block)))
    })
}

fn limit_sha256(key: &[u8]) -> impl FnMut(u64) -> u32 {
    let iv = [
        0x6a09_e667u32,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    limit(key, iv, |state, block: &[u8; 64]| {
        sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)))
    })
}

fn limit_sha512(key: &[u8]) -> impl FnMut(u64) -> u32 {
    let iv = [
        0x6a09_e667_f3bc_c908u64,
        0xbb67_ae85_84ca_a73b,
        0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1,
        0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b,
        0x5be0_cd19_137e_2179,
    ];
    limit(key, iv, |state, block: &[u8; 128]| {
        sha2::compress512(state, std::slice::from_ref(GenericArray::from_slice(block)))
    })
}

/// A check over the window ±1 made of a code path: the current step first, like ours.
fn window(path: &mut dyn FnMut(u64) -> u32, typed: u32) -> impl FnMut(u64) -> u32 + '_ {
    move |t| u32::from([t, t - 30, t + 30].iter().any(|&s| path(s) == typed))
}

fn hmac_path<M: Mac + Clone>(mac: M) -> impl FnMut(u64) -> u32 {
    move |time| {
        let mut m = mac.clone();
        m.update(&(time / 30).to_be_bytes());
        truncate(&m.finalize().into_bytes())
    }
}

/// One table row: the four paths' ns and their ratios.
fn row(name: &str, ns: &[f64]) -> String {
    let (ours, totp_rs, hmac, limit) = (ns[0], ns[1], ns[2], ns[3]);
    format!(
        "{:<8} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>11.2}x {:>11.2}x {:>13.2}x {:>14.2}x",
        name,
        ours,
        totp_rs,
        hmac,
        limit,
        ours / limit,
        hmac / limit,
        totp_rs / ours,
        totp_rs / limit
    )
}

fn header(title: &str) {
    println!("{title}");
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>14} {:>15}",
        "hash",
        "softtoken",
        "totp-rs",
        "Hmac",
        "limit",
        "ours/limit",
        "Hmac/limit",
        "totp-rs/ours",
        "totp-rs/limit"
    );
}

/// A code no step of the benchmark's times has, so a check computes the whole window.
const WRONG: &str = "000000";

fn main() {
    let mut codes = Vec::new();
    let mut checks = Vec::new();
    for (alg, key) in [
        (Algorithm::Sha1, &b"12345678901234567890"[..]),
        (Algorithm::Sha256, &b"12345678901234567890123456789012"[..]),
        (
            Algorithm::Sha512,
            &b"1234567890123456789012345678901234567890123456789012345678901234"[..],
        ),
    ] {
        let secret = Secret::from_bytes(key).expect("key");
        let totp = Totp::new(&secret, alg, Digits::SIX, 30).expect("totp");
        let theirs_alg = match alg {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        };
        // Skew 1: totp-rs's check covers the step before and after, like ours below.
        let theirs = totp_rs::TOTP::new_unchecked(theirs_alg, 6, 1, 30, key.to_vec());
        let (mut hmac, mut limit): (Path, Path) = match alg {
            Algorithm::Sha1 => (
                Box::new(hmac_path(
                    Hmac::<sha1::Sha1>::new_from_slice(key).expect("key"),
                )),
                Box::new(limit_sha1(key)),
            ),
            Algorithm::Sha256 => (
                Box::new(hmac_path(
                    Hmac::<sha2::Sha256>::new_from_slice(key).expect("key"),
                )),
                Box::new(limit_sha256(key)),
            ),
            Algorithm::Sha512 => (
                Box::new(hmac_path(
                    Hmac::<sha2::Sha512>::new_from_slice(key).expect("key"),
                )),
                Box::new(limit_sha512(key)),
            ),
        };
        // Every path gives the same code and the same verdict: the comparison is between equals.
        for t in [59u64, 1_111_111_109, 2_000_000_000] {
            let want = totp.value_at(t).number();
            assert_eq!(theirs.generate(t).parse::<u32>().expect("digits"), want);
            assert_eq!(hmac(t), want);
            assert_eq!(limit(t), want);
            let typed = format!("{:06}", totp.value_at(t + 30).number());
            assert!(totp.verify(typed.as_bytes(), t, 1, 1).is_some());
            assert!(theirs.check(&typed, t));
            for (code, found) in [(typed.as_str(), true), (WRONG, false)] {
                assert_eq!(totp.verify(code.as_bytes(), t, 1, 1).is_some(), found);
                assert_eq!(theirs.check(code, t), found);
            }
        }

        // Ours yields the zero-padded ASCII digits (one is read); the others
        // stop at the number or a String.
        let mut ours = |t| u32::from(totp.value_at(t).as_bytes()[5]);
        let mut totp_rs_path = |t| theirs.generate(t).len() as u32;
        codes.push(row(
            alg.name(),
            &measure(&mut [&mut ours, &mut totp_rs_path, &mut *hmac, &mut *limit]),
        ));

        // A login check, window ±1, with a wrong code: every path computes all three steps.
        let wrong: u32 = WRONG.parse().expect("digits");
        let mut ours = |t| u32::from(totp.verify(WRONG.as_bytes(), t, 1, 1).is_some());
        let mut totp_rs_path = |t| u32::from(theirs.check(WRONG, t));
        let mut hmac_window = window(&mut *hmac, wrong);
        let mut limit_window = window(&mut *limit, wrong);
        checks.push(row(
            alg.name(),
            &measure(&mut [
                &mut ours,
                &mut totp_rs_path,
                &mut hmac_window,
                &mut limit_window,
            ]),
        ));
    }
    header(&format!(
        "TOTP, 6 digits, 30 s; ns per code (median of {REPEATS} runs of {ITERATIONS} codes)"
    ));
    for line in &codes {
        println!("{line}");
    }
    println!();
    header(&format!(
        "Checking a typed code, window ±1, a wrong code (three steps computed); ns per check (median of {REPEATS} runs of {ITERATIONS})"
    ));
    for line in &checks {
        println!("{line}");
    }
}
