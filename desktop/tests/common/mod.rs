//! What the desktop's tests share: a store directory of the test's own and the
//! real `softtoken` binary run on it, hermetic (no token service unless named).

#![allow(dead_code)] // each test file uses part of it

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_softtoken");

/// A directory of the test's own (`softtoken-SUITE-NAME-PID` in the temp dir), removed when dropped.
pub struct Store(pub PathBuf);

impl Store {
    /// A fresh directory for test `name` of `suite`.
    pub fn new(suite: &str, name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("softtoken-{suite}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store(dir)
    }

    /// The vault file softtoken keeps in it.
    pub fn vault(&self) -> PathBuf {
        self.0.join("softtoken.vault")
    }

    /// Starts `softtoken ARGS` on this store with `input` on stdin.
    pub fn spawn(&self, args: &[&str], input: Option<&str>) -> Child {
        spawn(Some(&self.0), args, input)
    }

    /// Runs `softtoken ARGS` on this store with nothing on stdin.
    pub fn run(&self, args: &[&str]) -> Output {
        run_with(Some(&self.0), args, None)
    }

    /// Runs `softtoken ARGS` on this store with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        run_with(Some(&self.0), args, Some(input))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `softtoken ARGS` with `store` as SOFTTOKEN_STORE (none: the default place) and `service` as
/// SOFTTOKEN_SERVICE (none: unset), whatever the environment running the tests says.
pub fn command(store: Option<&Path>, service: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("SOFTTOKEN_STORE")
        .env_remove("SOFTTOKEN_SERVICE")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(store) = store {
        cmd.env("SOFTTOKEN_STORE", store);
    }
    if let Some(url) = service {
        cmd.env("SOFTTOKEN_SERVICE", url);
    }
    cmd
}

/// Starts `softtoken ARGS` on `store` with `input` on stdin, then stdin closed.
pub fn spawn(store: Option<&Path>, args: &[&str], input: Option<&str>) -> Child {
    let mut child = command(store, None, args)
        .spawn()
        .expect("softtoken starts");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).expect("stdin written");
    }
    drop(stdin);
    child
}

/// Runs `softtoken ARGS` on `store` with `input` on stdin, to its end.
pub fn run_with(store: Option<&Path>, args: &[&str], input: Option<&str>) -> Output {
    spawn(store, args, input)
        .wait_with_output()
        .expect("softtoken finishes")
}

/// Asserts success; returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}
