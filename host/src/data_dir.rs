//! The data directory: deployed modules and the list of deployed apps, kept on disk so a
//! restart brings every app back. Files are replaced by rename, so a crash mid-write leaves
//! the previous state, never a torn one.
//!
//! ```text
//! DATA_DIR/
//!   lock                  held by the running host: one host per directory
//!   apps.json             the deployed apps (State)
//!   modules/<sha256>.wasm each deployed component, named by its content's hash
//! ```
//!
//! Nothing else in the directory is touched: a data directory shared with other files (`.`,
//! or a project's directory) keeps them. Temporary files are `.wasgi-*.tmp`, and only
//! `modules/<sha256>.wasm` files no app uses are removed.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::registry::AppSpec;

/// What the data directory remembers.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Apps deployed over the admin API, in deploy order.
    #[serde(default)]
    pub apps: Vec<Record>,
    /// Apps of the host's configuration that were removed over the admin API: they stay
    /// removed after a restart.
    #[serde(default)]
    pub removed: BTreeSet<String>,
}

/// One deployed app.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Where and how it is mounted.
    pub spec: AppSpec,
    /// The hash of its module, which names the file in `modules/`.
    pub sha256: String,
    /// When it was deployed, in seconds since the Unix epoch.
    pub deployed_at: u64,
}

/// An open data directory, locked against other hosts while this value lives.
pub struct DataDir {
    root: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Opens (creating it if needed) the data directory at `root` and takes its lock.
    pub fn open(root: &Path) -> Result<DataDir> {
        let modules = root.join("modules");
        std::fs::create_dir_all(&modules)
            .with_context(|| format!("failed to create the data directory `{}`", root.display()))?;
        let lock_path = root.join("lock");
        // Not truncated: a `lock` that is not wasgi's keeps its contents.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("failed to open `{}`", lock_path.display()))?;
        if lock.try_lock().is_err() {
            bail!(
                "the data directory `{}` is in use by another wasgi host",
                root.display()
            );
        }
        Ok(DataDir {
            root: root.to_owned(),
            _lock: lock,
        })
    }

    /// The state on disk; empty when nothing was deployed yet. A file that cannot be read is
    /// an error, never silently replaced.
    pub fn load(&self) -> Result<State> {
        let path = self.root.join("apps.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "`{}` is damaged; fix or move it away to start without the deployed apps",
                    path.display()
                )
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(error) => {
                Err(error).with_context(|| format!("failed to read `{}`", path.display()))
            }
        }
    }

    /// Replaces the state on disk, then forgets modules no app uses any more.
    pub fn save(&self, state: &State) -> Result<()> {
        let json = serde_json::to_vec_pretty(state)?;
        self.write_atomically(&self.root.join("apps.json"), &json)?;
        let used: BTreeSet<String> = state
            .apps
            .iter()
            .map(|record| format!("{}.wasm", record.sha256))
            .collect();
        if let Ok(entries) = std::fs::read_dir(self.root.join("modules")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_module_file(&name) && !used.contains(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Stores a module and returns its hash. Storing the same bytes twice keeps one file; a
    /// stored file that no longer matches its hash is written again.
    pub fn put_module(&self, bytes: &[u8]) -> Result<String> {
        let sha256 = sha256_hex(bytes);
        if self.module(&sha256).is_err() {
            self.write_atomically(&self.module_path(&sha256), bytes)?;
        }
        Ok(sha256)
    }

    /// A stored module's bytes, checked against its hash.
    pub fn module(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.module_path(sha256);
        let bytes =
            std::fs::read(&path).with_context(|| format!("failed to read `{}`", path.display()))?;
        if sha256_hex(&bytes) != sha256 {
            bail!(
                "`{}` does not match its hash: it was damaged",
                path.display()
            );
        }
        Ok(bytes)
    }

    fn module_path(&self, sha256: &str) -> PathBuf {
        self.root.join("modules").join(format!("{sha256}.wasm"))
    }

    /// Writes `bytes` beside `path` (as `.wasgi-NAME.tmp`, a name no one else's file has),
    /// flushes them to disk, and renames them into place.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let temporary = path.with_file_name(format!(".wasgi-{name}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)?;
            // The rename itself is durable once the directory is.
            File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
        };
        write().with_context(|| format!("failed to write `{}`", path.display()))
    }
}

/// Whether `name` is one of wasgi's module files (`<sha256>.wasm`) or a leftover of writing one
/// (`.wasgi-<sha256>.wasm.tmp`), the only files of `modules/` wasgi may remove.
fn is_module_file(name: &str) -> bool {
    let name = name
        .strip_prefix(".wasgi-")
        .and_then(|name| name.strip_suffix(".tmp"))
        .unwrap_or(name);
    name.strip_suffix(".wasm").is_some_and(is_sha256_hex)
}

/// Whether `text` is a SHA-256 as [`sha256_hex`] writes it: 64 lower-case hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A hash in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_modules_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let sha256 = {
            let data = DataDir::open(dir.path()).unwrap();
            let sha256 = data.put_module(b"module bytes").unwrap();
            let mut state = State::default();
            state.apps.push(Record {
                spec: AppSpec::named("a"),
                sha256: sha256.clone(),
                deployed_at: 1,
            });
            state.removed.insert("b".to_owned());
            data.save(&state).unwrap();
            sha256
        };
        let data = DataDir::open(dir.path()).unwrap();
        let state = data.load().unwrap();
        assert_eq!(state.apps[0].spec.name, "a");
        assert!(state.removed.contains("b"));
        assert_eq!(data.module(&sha256).unwrap(), b"module bytes");
    }

    #[test]
    fn files_that_are_not_wasgis_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let modules = dir.path().join("modules");
        std::fs::create_dir_all(&modules).unwrap();
        let theirs = [
            (dir.path().join("lock"), "their lock"),
            (dir.path().join("apps.tmp"), "their notes"),
            (modules.join("README.md"), "their readme"),
            (
                modules.join(format!("{}.wasm", "0".repeat(63))),
                "not a hash",
            ),
        ];
        for (path, text) in &theirs {
            std::fs::write(path, text).unwrap();
        }
        let stale = modules.join(format!("{}.wasm", "a".repeat(64)));
        std::fs::write(&stale, "an old module").unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        data.put_module(b"module bytes").unwrap();
        data.save(&State::default()).unwrap();
        for (path, text) in &theirs {
            assert_eq!(&std::fs::read_to_string(path).unwrap(), text, "{path:?}");
        }
        assert!(!stale.exists(), "a module no app uses is removed");
    }

    #[test]
    fn storing_a_module_again_repairs_a_damaged_copy() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let sha256 = data.put_module(b"module bytes").unwrap();
        std::fs::write(data.module_path(&sha256), b"tampered").unwrap();
        assert!(data.module(&sha256).is_err());
        assert_eq!(data.put_module(b"module bytes").unwrap(), sha256);
        assert_eq!(data.module(&sha256).unwrap(), b"module bytes");
    }

    #[test]
    fn one_host_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let _first = DataDir::open(dir.path()).unwrap();
        let error = DataDir::open(dir.path()).err().unwrap();
        assert!(format!("{error:#}").contains("in use by another wasgi host"));
    }

    #[test]
    fn damage_is_reported_not_papered_over() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("apps.json"), "{not json").unwrap();
        assert!(format!("{:#}", data.load().unwrap_err()).contains("is damaged"));
        let sha256 = data.put_module(b"module").unwrap();
        std::fs::write(data.module_path(&sha256), b"tampered").unwrap();
        assert!(format!("{:#}", data.module(&sha256).unwrap_err()).contains("damaged"));
    }

    #[test]
    fn unused_modules_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let sha256 = data.put_module(b"old").unwrap();
        data.save(&State::default()).unwrap();
        assert!(!data.module_path(&sha256).exists());
    }
}
