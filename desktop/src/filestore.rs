//! The file store: the core's storage hook over a directory, one file per key,
//! written atomically (temporary file, fsync, rename) and readable by the
//! owner alone. Changes are made one process at a time under an advisory lock
//! ([`FileStore::exclusive`]); readers never take it, as a rename never leaves a
//! torn file to read.

use softtoken_core::{SecureStore, StoreError};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// On systems other than Unix, the file whose advisory lock every change to the store is made
/// under (on Unix the store directory itself is locked, so no file is added).
#[cfg(not(unix))]
pub const LOCK_FILE: &str = ".softtoken.lock";

/// A directory that holds one file per stored key.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file that holds `key`.
    pub fn path_of(&self, key: &str) -> PathBuf {
        let name: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(name)
    }

    /// The platform's data directory for softtoken (XDG on Linux, Application Support on macOS, AppData on Windows).
    pub fn default_dir() -> Option<PathBuf> {
        let env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let base = if cfg!(windows) {
            env("APPDATA")
        } else if cfg!(target_os = "macos") {
            env("HOME").map(|h| h.join("Library").join("Application Support"))
        } else {
            env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local").join("share")))
        };
        base.map(|b| b.join("softtoken"))
    }

    fn create_dir(&self) -> Result<(), StoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|e| failure("cannot create the store directory", &self.dir, &e))?;
        owner_only_path(&self.dir, 0o700).map(drop)
    }

    /// Makes the store directory the owner's alone when others may read or change it (Unix),
    /// returning the permissions it had when it was open to them.
    pub fn make_private(&self) -> Result<Option<u32>, StoreError> {
        owner_only_path(&self.dir, 0o700)
    }

    /// Runs `change` while no other process changes the store: an advisory lock on the store
    /// directory (on Unix; elsewhere on its `LOCK_FILE`), waited for and held until `change`
    /// returns. Open the vault inside `change`, so that the record it changes is the one stored now.
    pub fn exclusive<T, E: From<StoreError>>(
        &self,
        change: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.create_dir()?;
        #[cfg(unix)]
        let (path, opened) = (self.dir.clone(), File::open(&self.dir));
        #[cfg(not(unix))]
        let (path, opened) = {
            let path = self.dir.join(LOCK_FILE);
            let opened = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path);
            (path, opened)
        };
        let file = opened.map_err(|e| failure("cannot open for locking", &path, &e))?;
        let mut lock = fd_lock::RwLock::new(file);
        let _held = lock
            .write()
            .map_err(|e| failure("cannot lock", &path, &e))?;
        change()
    }
}

/// Narrows `path`'s permissions to `mode` (the owner's alone) when they are wider, returning
/// the permissions it had then; refuses with a message when that cannot be done (another
/// user's directory, for instance).
#[cfg(unix)]
fn owner_only_path(path: &Path, mode: u32) -> Result<Option<u32>, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let current = match fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o777,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failure("cannot read the permissions of", path, &e)),
    };
    if current & 0o077 == 0 {
        return Ok(None);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(current & mode))
        .map(|()| Some(current))
        .map_err(|e| {
            StoreError(format!(
                "{} is open to other users (mode {current:o}) and cannot be made private: {e}; \
             run chmod 700 on it, or choose another place with --store or SOFTTOKEN_STORE",
                path.display()
            ))
        })
}

/// Other systems keep the data directory's own access rules.
#[cfg(not(unix))]
fn owner_only_path(_path: &Path, _mode: u32) -> Result<Option<u32>, StoreError> {
    Ok(None)
}

fn failure(what: &str, path: &Path, e: &std::io::Error) -> StoreError {
    let hint = if what.starts_with("cannot read") {
        ""
    } else {
        "; choose a writable place with --store or SOFTTOKEN_STORE"
    };
    StoreError(format!("{what} {}: {e}{hint}", path.display()))
}

fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

impl SecureStore for FileStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // A directory or file others may change is made private before it is trusted:
        // in a directory open to all, anyone could delete the vault or put another in its place.
        owner_only_path(&self.dir, 0o700)?;
        let path = self.path_of(key);
        owner_only_path(&path, 0o600)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failure("cannot read", &path, &e)),
        }
    }

    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.create_dir()?;
        let path = self.path_of(key);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&temp);
        let written = (|| {
            let mut file: File = owner_only().open(&temp)?;
            file.write_all(value)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&temp, &path)?;
            // Make the rename itself durable.
            #[cfg(unix)]
            File::open(&self.dir)?.sync_all()?;
            Ok::<(), std::io::Error>(())
        })();
        written.map_err(|e| {
            let _ = fs::remove_file(&temp);
            failure("cannot write", &path, &e)
        })
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(failure("cannot delete", &path, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("softtoken-filestore-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn write_read_delete() {
        let dir = temp_dir("rw");
        let store = FileStore::new(dir.join("nested"));
        assert_eq!(store.read("softtoken.vault").unwrap(), None);
        store.write("softtoken.vault", b"one").unwrap();
        store.write("softtoken.vault", b"two").unwrap();
        assert_eq!(store.read("softtoken.vault").unwrap().unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path_of("softtoken.vault"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(dir.join("nested"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.join("nested")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        store.delete("softtoken.vault").unwrap();
        store.delete("softtoken.vault").unwrap();
        assert_eq!(store.read("softtoken.vault").unwrap(), None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn keys_cannot_escape_the_directory() {
        let store = FileStore::new("/tmp/x");
        assert_eq!(
            store.path_of("../../etc/passwd"),
            PathBuf::from("/tmp/x/.._.._etc_passwd")
        );
    }
}
