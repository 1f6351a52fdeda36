//! `wasgi serve --reload`: rebuilds a guest crate when its sources change and swaps the new
//! version in; a build that fails leaves the previous version serving.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::guest_build;
use crate::registry::Registry;

/// How long to wait for more changes before rebuilding: an editor's save is often several
/// file events.
const SETTLE: Duration = Duration::from_millis(300);

/// Watches each `(app name, crate directory)` and reloads the app when a file of its crate
/// changes. Watching stops when the returned watcher is dropped.
pub fn watch(
    registry: Arc<Registry>,
    crates: Vec<(String, PathBuf)>,
) -> Result<notify::RecommendedWatcher> {
    let (changed, mut changes) = mpsc::unbounded_channel::<usize>();
    let dirs: Vec<PathBuf> = crates
        .iter()
        .map(|(_, dir)| dir.canonicalize().unwrap_or_else(|_| dir.clone()))
        .collect();
    let watched = dirs.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            return;
        }
        for path in &event.paths {
            // Judged inside the crate, so a crate that itself lives under a `target/` works.
            let crate_of = |dir: &PathBuf| path.strip_prefix(dir).is_ok_and(is_source);
            if let Some(index) = watched.iter().position(crate_of) {
                let _ = changed.send(index);
            }
        }
    })
    .context("failed to watch the guest sources")?;
    for dir in &dirs {
        // The crate's own files (Cargo.toml, build.rs) and everything under src/, but not a
        // target/ directory inside the crate, whose thousands of directories would each take
        // an inotify watch.
        let src = dir.join("src");
        let mut watch = |path: &Path, mode| {
            watcher
                .watch(path, mode)
                .with_context(|| format!("failed to watch `{}`", path.display()))
        };
        watch(dir, RecursiveMode::NonRecursive)?;
        if src.is_dir() {
            watch(&src, RecursiveMode::Recursive)?;
        }
        tracing::info!(dir = %dir.display(), "watching for changes");
    }
    tokio::spawn(async move {
        while let Some(first) = changes.recv().await {
            let mut pending = BTreeSet::from([first]);
            // Let the burst of events settle, then rebuild each changed crate once.
            tokio::time::sleep(SETTLE).await;
            while let Ok(index) = changes.try_recv() {
                pending.insert(index);
            }
            for index in pending {
                let (name, dir) = &crates[index];
                rebuild(&registry, name, dir).await;
            }
        }
    });
    Ok(watcher)
}

async fn rebuild(registry: &Registry, name: &str, dir: &Path) {
    tracing::info!(app = %name, "sources changed: rebuilding");
    let dir = dir.to_owned();
    let built = tokio::task::spawn_blocking(move || {
        let component = guest_build::build_guest(&dir)?;
        std::fs::read(&component)
            .with_context(|| format!("failed to read `{}`", component.display()))
    })
    .await
    .map_err(anyhow::Error::from)
    .and_then(|built| built);
    let reloaded = match built {
        Ok(bytes) => registry.reload(name, bytes).await,
        Err(error) => Err(error),
    };
    match reloaded {
        Ok(()) => tracing::info!(app = %name, "reloaded"),
        Err(error) => {
            tracing::error!(app = %name, "reload failed, the previous version keeps serving: {error:#}")
        }
    }
}

/// Whether a change to `path` (relative to the crate) can change the build: not build output,
/// version control or the lock file cargo itself rewrites.
fn is_source(path: &Path) -> bool {
    let ignored = path.components().any(|component| {
        matches!(component, Component::Normal(name) if name == "target" || name == ".git")
    });
    !ignored && path.file_name().is_some_and(|name| name != "Cargo.lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_is_not_a_source() {
        // Paths relative to the crate's directory.
        assert!(is_source(Path::new("src/lib.rs")));
        assert!(is_source(Path::new("src/routes/items.rs")));
        assert!(is_source(Path::new("Cargo.toml")));
        assert!(!is_source(Path::new("target/release/x.wasm")));
        assert!(!is_source(Path::new(".git/index")));
        assert!(!is_source(Path::new("Cargo.lock")));
    }
}
