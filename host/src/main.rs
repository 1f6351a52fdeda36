//! The `wasgi` command: serve a guest app over HTTP, or build a guest crate into a component.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use wasgi_host::app::App;
use wasgi_host::config::Config;
use wasgi_host::limits::Limits;
use wasgi_host::mounts::Mounts;
use wasgi_host::{engine, guest_build, server};

/// A WebAssembly edge-function runtime with FastAPI's developer experience.
#[derive(Parser)]
#[command(name = "wasgi", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where compiled components are kept between runs.
#[derive(clap::Args)]
struct CacheArgs {
    /// The compile cache directory [default: $XDG_CACHE_HOME/wasgi or ~/.cache/wasgi].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Compile every time; keep nothing on disk.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl CacheArgs {
    fn dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache"))
                })?;
            Some(base.join("wasgi"))
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve an app (or the apps of a `wasgi.toml`) over HTTP, one fresh instance per request.
    Serve {
        /// A `.wasm` component, or a guest crate directory to build first.
        #[arg(required_unless_present = "config", conflicts_with = "config")]
        app: Option<PathBuf>,
        /// A `wasgi.toml` describing several apps; its limits override the flags'.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8000")]
        listen: SocketAddr,
        /// An environment variable for the app's instances, `NAME=VALUE`; repeatable.
        #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        cache: CacheArgs,
        /// Don't log each request.
        #[arg(long)]
        no_access_log: bool,
    },
    /// Print an app's OpenAPI document without starting a server.
    Openapi {
        /// A `.wasm` component, or a guest crate directory to build first.
        app: PathBuf,
        /// Where the app serves its document.
        #[arg(long, default_value = "/openapi.json")]
        path: String,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Build a guest crate into a component and print the `.wasm` path.
    Build {
        /// The guest crate directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WASGI_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build { dir } => {
            let component = guest_build::build_guest(&dir)?;
            println!("{}", component.display());
            Ok(())
        }
        Command::Openapi { app, path, cache } => {
            let app = Arc::new(load(&app, cache.dir().as_deref())?);
            let (status, body) = runtime()?.block_on(app.get(&path))?;
            if !status.is_success() {
                anyhow::bail!(
                    "the app answered `GET {path}` with {status}; does it serve its OpenAPI document there?"
                );
            }
            let document: serde_json::Value = serde_json::from_slice(&body)
                .with_context(|| format!("`GET {path}` did not answer JSON"))?;
            println!("{}", serde_json::to_string_pretty(&document)?);
            Ok(())
        }
        Command::Serve {
            app,
            config,
            listen,
            env,
            limits,
            cache,
            no_access_log,
        } => {
            let engine = engine::new_engine(cache.dir().as_deref())?;
            let linker = engine::new_linker(&engine)?;
            let (mounts, limits) = match (app, config) {
                (Some(app), _) => {
                    let component = resolve_app(&app)?;
                    let app = App::load(&app_name(&component), &component, &linker)?
                        .with_env(env)
                        .with_limits(limits.clone())
                        .with_access_log(!no_access_log);
                    (Mounts::single(Arc::new(app)), limits)
                }
                (None, Some(config)) => {
                    let config = Config::load(&config)?;
                    let limits = config.limits.apply(limits, "[limits]")?;
                    let mut apps = Vec::new();
                    for app in config.apps {
                        let component = resolve_app(&app.module)
                            .with_context(|| format!("app `{}`", app.name))?;
                        let app_limits = app
                            .limits
                            .apply(limits.clone(), &format!("app `{}`", app.name))?;
                        let mut app_env = env.clone();
                        app_env.extend(app.env);
                        let loaded = App::load(&app.name, &component, &linker)?
                            .with_env(app_env)
                            .with_limits(app_limits)
                            .with_access_log(!no_access_log);
                        apps.push((app.mount, app.hosts, Arc::new(loaded)));
                    }
                    (Mounts::new(apps), limits)
                }
                (None, None) => anyhow::bail!("give an APP or --config FILE"),
            };
            let mounts = Arc::new(mounts);
            runtime()?.block_on(async {
                let listener = TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("failed to listen on `{listen}`"))?;
                // Scripts and tests wait for this exact line to learn the bound port.
                println!("listening on http://{}", listener.local_addr()?);
                server::serve(listener, mounts, limits).await
            })
        }
    }
}

/// Loads `app`: a component file, or a guest crate directory built first.
fn load(app: &Path, cache_dir: Option<&Path>) -> Result<App> {
    let component = resolve_app(app)?;
    let engine = engine::new_engine(cache_dir)?;
    let linker = engine::new_linker(&engine)?;
    App::load(&app_name(&component), &component, &linker)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("failed to start the async runtime")
}

/// `NAME=VALUE`, for `--env`.
fn parse_env(pair: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{pair}` is not NAME=VALUE")),
    }
}

/// The component to serve for `app`: the file itself, or the build of a guest crate directory.
fn resolve_app(app: &Path) -> Result<PathBuf> {
    if app.is_dir() {
        guest_build::build_guest(app)
    } else if app.exists() {
        Ok(app.to_owned())
    } else {
        anyhow::bail!("`{}` does not exist", app.display())
    }
}

/// An app's name for logs: its component's file name without `.wasm`.
fn app_name(component: &Path) -> String {
    component.file_stem().map_or_else(
        || "app".to_owned(),
        |stem| stem.to_string_lossy().into_owned(),
    )
}
