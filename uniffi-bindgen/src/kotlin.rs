//! One adjustment to the Kotlin uniffi writes: the call status each call hands Rust is reused.
//!
//! uniffi 0.32's Kotlin allocates a fresh JNA `Structure` for the call status of every call
//! (native memory, a cleaner registration and reflection over its fields), which is most of
//! what a call costs: `formatSerial` makes three such calls (allocate the argument's buffer,
//! the call, free the result's buffer). Measured on the development machine, a bare JNA call
//! costs 0.1 µs and a call with a fresh status about 8 µs. Here each thread keeps one status
//! per nesting depth (a Kotlin callback may call into Rust while Rust waits for it) and resets
//! it before each call. The replaced text is matched exactly: when uniffi's template changes,
//! generation fails and says so, rather than shipping bindings no one has looked at.

use std::fmt;
use std::path::{Path, PathBuf};

/// The helper as uniffi 0.32's Kotlin template writes it.
const ORIGINAL: &str = "private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    return return_value
}";

/// The same helper with the call status reused per thread and nesting depth.
const REUSING: &str = "// softtoken (uniffi-bindgen/src/kotlin.rs): one call status per thread and nesting depth,
// reset and reused, instead of a new JNA Structure for every call.
internal class UniffiCallStatuses {
    val statuses = ArrayList<UniffiRustCallStatus>()
    var depth = 0
}

internal val uniffiCallStatuses: ThreadLocal<UniffiCallStatuses> = ThreadLocal.withInitial { UniffiCallStatuses() }

private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    val calls = uniffiCallStatuses.get()
    if (calls.depth == calls.statuses.size) {
        calls.statuses.add(UniffiRustCallStatus())
    }
    val status = calls.statuses[calls.depth]
    status.code = UNIFFI_CALL_SUCCESS
    status.error_buf.capacity = 0
    status.error_buf.len = 0
    status.error_buf.data = null
    calls.depth += 1
    try {
        val return_value = callback(status)
        uniffiCheckCallStatus(errorHandler, status)
        return return_value
    } finally {
        calls.depth -= 1
    }
}";

/// Why the Kotlin bindings could not be adjusted.
#[derive(Debug)]
pub enum AdjustError {
    /// A generated file names the helper but not in the shape this adjustment was written for.
    TemplateChanged(PathBuf),
    /// A file could not be read or written.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for AdjustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdjustError::TemplateChanged(path) => write!(
                f,
                "{}: uniffi's Kotlin no longer writes uniffiRustCallWithError as uniffi-bindgen/src/kotlin.rs expects; \
                 review that adjustment against the new template (or drop it if uniffi reuses call statuses itself)",
                path.display()
            ),
            AdjustError::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for AdjustError {}

/// The Kotlin source with the call-status helper replaced; `None` when the source has no such
/// helper or has it adjusted already.
pub fn reuse_call_status(source: &str) -> Option<Result<String, ()>> {
    if !source.contains("fun <U, E: kotlin.Exception> uniffiRustCallWithError(")
        || source.contains(REUSING)
    {
        return None;
    }
    Some(match source.matches(ORIGINAL).count() {
        1 => Ok(source.replacen(ORIGINAL, REUSING, 1)),
        _ => Err(()),
    })
}

/// Adjusts every `.kt` file under `dir`; returns the files changed.
pub fn adjust_dir(dir: &Path) -> Result<Vec<PathBuf>, AdjustError> {
    let mut changed = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let entries = std::fs::read_dir(&next).map_err(|e| AdjustError::Io(next.clone(), e))?;
        for entry in entries {
            let path = entry.map_err(|e| AdjustError::Io(next.clone(), e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "kt") {
                let source =
                    std::fs::read_to_string(&path).map_err(|e| AdjustError::Io(path.clone(), e))?;
                match reuse_call_status(&source) {
                    None => {}
                    Some(Err(())) => return Err(AdjustError::TemplateChanged(path)),
                    Some(Ok(adjusted)) => {
                        std::fs::write(&path, adjusted)
                            .map_err(|e| AdjustError::Io(path.clone(), e))?;
                        changed.push(path);
                    }
                }
            }
        }
    }
    Ok(changed)
}

/// The output directory of a `generate … --language kotlin …` command line, if it is one.
pub fn kotlin_out_dir(args: &[String]) -> Option<PathBuf> {
    let mut kotlin = false;
    let mut out = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let value = |name: &str| -> Option<String> {
            arg.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        };
        match arg {
            "--language" | "-l" => {
                kotlin |= args.get(i + 1).is_some_and(|l| l == "kotlin");
                i += 1;
            }
            "--out-dir" | "-o" => {
                out = args.get(i + 1).map(PathBuf::from);
                i += 1;
            }
            _ => {
                if let Some(l) = value("--language") {
                    kotlin |= l == "kotlin";
                }
                if let Some(o) = value("--out-dir") {
                    out = Some(PathBuf::from(o));
                }
            }
        }
        i += 1;
    }
    let generate = args.first().is_some_and(|a| a == "generate");
    (generate && kotlin).then_some(out).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_helper_is_replaced_once_and_the_rest_kept() {
        let source = format!("// before\n{ORIGINAL}\n// after\n");
        let adjusted = reuse_call_status(&source)
            .expect("has the helper")
            .expect("matches");
        assert!(adjusted.starts_with("// before\n") && adjusted.ends_with("\n// after\n"));
        assert!(adjusted.contains("uniffiCallStatuses.get()"));
        assert!(!adjusted.contains("var status = UniffiRustCallStatus()"));
        // Adjusting twice changes nothing more and is not mistaken for a changed template.
        assert_eq!(reuse_call_status(&adjusted), None);
    }

    #[test]
    fn a_changed_template_is_refused_and_other_files_left_alone() {
        let changed = ORIGINAL.replace("var status", "val status");
        assert_eq!(reuse_call_status(&changed), Some(Err(())));
        assert_eq!(reuse_call_status("package dev.softtoken.tests\n"), None);
    }

    #[test]
    fn only_kotlin_generation_is_adjusted() {
        let dir = Some(PathBuf::from("out/k"));
        for line in [
            "generate --no-format --library lib.a --language kotlin --out-dir out/k",
            "generate -l kotlin -o out/k --library lib.a",
            "generate --language=kotlin --out-dir=out/k lib.a",
        ] {
            assert_eq!(kotlin_out_dir(&args(line)), dir, "{line}");
        }
        for line in [
            "generate --library lib.a --language swift --out-dir out/s",
            "print-repr lib.a --language kotlin --out-dir out/k",
            "generate --library lib.a --language kotlin",
        ] {
            assert_eq!(kotlin_out_dir(&args(line)), None, "{line}");
        }
    }

    #[test]
    fn the_files_of_a_directory_are_adjusted_and_a_changed_one_stops_it() {
        let dir = std::env::temp_dir().join(format!("softtoken-bindgen-{}", std::process::id()));
        let nested = dir.join("dev/softtoken");
        std::fs::create_dir_all(&nested).expect("dir");
        std::fs::write(nested.join("a.kt"), format!("x\n{ORIGINAL}\n")).expect("write");
        std::fs::write(nested.join("b.kt"), "no helper here\n").expect("write");
        let changed = adjust_dir(&dir).expect("adjusted");
        assert_eq!(changed, vec![nested.join("a.kt")]);
        let text = std::fs::read_to_string(nested.join("a.kt")).expect("read");
        assert!(text.contains("uniffiCallStatuses"));
        std::fs::write(
            nested.join("c.kt"),
            ORIGINAL.replace("var status", "val status"),
        )
        .expect("write");
        assert!(matches!(
            adjust_dir(&dir),
            Err(AdjustError::TemplateChanged(_))
        ));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
