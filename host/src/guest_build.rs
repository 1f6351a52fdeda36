//! Builds a guest crate directory into a Wasm component (`cargo build --target wasm32-wasip2`).

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use cargo_metadata::{Message, MetadataCommand, TargetKind};

/// The target guests are built for: it emits a component directly.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// Builds the guest crate in `dir` (release profile) and returns the path of its component.
///
/// The crate must have a `cdylib` library target. Cargo's progress and compiler errors go to
/// this process's stderr, as they would for `cargo build`.
pub fn build_guest(dir: &Path) -> Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "`{}` is not a guest crate: it has no Cargo.toml",
            dir.display()
        );
    }
    let metadata = MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .with_context(|| format!("failed to read the crate at `{}`", dir.display()))?;
    let manifest = manifest.canonicalize()?;
    let Some(package) = metadata
        .packages
        .iter()
        .find(|package| package.manifest_path.as_std_path() == manifest)
    else {
        bail!(
            "`{}` is a workspace, not a guest crate: name one of its members",
            dir.display()
        );
    };
    if !package
        .targets
        .iter()
        .any(|target| target.kind.contains(&TargetKind::CDyLib))
    {
        bail!(
            "crate `{}` is not a guest crate: it needs `[lib] crate-type = [\"cdylib\"]`",
            package.name
        );
    }
    ensure_target_installed(dir)?;

    let mut child = Command::new(cargo())
        .current_dir(dir)
        .args(["build", "--lib", "--release", "--target", GUEST_TARGET])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdout(Stdio::piped())
        .spawn()
        .context("failed to run cargo")?;
    let mut component = None;
    let stdout = child.stdout.take().expect("stdout is piped");
    for message in Message::parse_stream(BufReader::new(stdout)) {
        if let Message::CompilerArtifact(artifact) =
            message.context("failed to read cargo's output")?
            && artifact.package_id == package.id
        {
            component = artifact
                .filenames
                .into_iter()
                .find(|file| file.extension() == Some("wasm"))
                .or(component);
        }
    }
    let status = child.wait().context("failed to wait for cargo")?;
    if !status.success() {
        bail!("failed to build guest crate `{}` ({status})", package.name);
    }
    component
        .map(Into::into)
        .with_context(|| format!("building `{}` produced no .wasm component", package.name))
}

/// Installs the guest target with rustup when the toolchain lacks it, so that a fresh machine
/// with only Rust can build guests.
fn ensure_target_installed(dir: &Path) -> Result<()> {
    // Asked in the crate's directory, so a rust-toolchain file there is honoured.
    let sysroot = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .current_dir(dir)
        .args(["--print", "sysroot"])
        .output()
        .context("failed to run rustc")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(GUEST_TARGET).is_dir() {
        return Ok(());
    }
    eprintln!("wasgi: the `{GUEST_TARGET}` target is missing; installing it with rustup");
    let status = Command::new("rustup")
        .current_dir(dir)
        .args(["target", "add", GUEST_TARGET])
        .status()
        .with_context(|| {
            format!("the `{GUEST_TARGET}` target is missing and rustup could not be run to add it")
        })?;
    if !status.success() {
        bail!("`rustup target add {GUEST_TARGET}` failed ({status})");
    }
    Ok(())
}

/// The cargo to build with: the one running us under `cargo run`, else the one on `PATH`.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}
