//! The `wasgi` command: serve a guest app over HTTP, or build a guest crate into a component.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use reqwest::Method;
use tokio::net::TcpListener;
use wasgi_host::admin::{self, Admin};
use wasgi_host::admin_client::{AdminTarget, read_token};
use wasgi_host::app::App;
use wasgi_host::config::Config;
use wasgi_host::data_dir::DataDir;
use wasgi_host::limits::{Limits, parse_size};
use wasgi_host::metrics::Metrics;
use wasgi_host::registry::{AppSpec, Configured, Loader, Registry};
use wasgi_host::serving::{AdminSettings, ServerSettings, check_apart};
use wasgi_host::workers::Workers;
use wasgi_host::{engine, guest_build, reload, server, shutdown};

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
    /// The compile cache directory (or `cache_dir` in a config's `[server]`); wasmtime keeps
    /// its files in its `wasmtime/` subdirectory [default: $XDG_CACHE_HOME/wasgi or
    /// ~/.cache/wasgi].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Compile every time; keep nothing on disk (or `cache = false` in `[server]`).
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl CacheArgs {
    /// The flags as `[server]` settings.
    fn settings(&self) -> ServerSettings {
        ServerSettings {
            cache_dir: self.cache_dir.clone(),
            cache: self.no_cache.then_some(false),
            ..ServerSettings::default()
        }
    }
}

/// The admin listener: deploys, metrics and health checks.
#[derive(clap::Args)]
struct AdminArgs {
    /// Where the admin listener listens (or `listen` in a config's `[admin]`); off when
    /// absent. Needs a token; the other admin settings need it.
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// A file whose first line is the admin token (or `token_file` in `[admin]`) [default:
    /// the `WASGI_ADMIN_TOKEN` variable].
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// The largest module a deploy may upload (or `max_module_size` in `[admin]`) [default:
    /// 64MiB].
    #[arg(long, value_parser = parse_size)]
    admin_max_module_size: Option<u64>,
    /// Where deployed apps are kept across restarts (or `data_dir` in `[admin]`) [default:
    /// $XDG_DATA_HOME/wasgi or ~/.local/share/wasgi].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl AdminArgs {
    /// The flags as `[admin]` settings.
    fn settings(self) -> AdminSettings {
        AdminSettings {
            listen: self.admin_listen,
            token_file: self.admin_token_file,
            max_module_size: self.admin_max_module_size.map(bytesize::ByteSize),
            data_dir: self.data_dir,
        }
    }
}

/// The admin token from `--admin-token-file` (or `token_file` in `[admin]`), else from
/// `WASGI_ADMIN_TOKEN`: long enough to resist guessing.
fn admin_token(settings: &AdminSettings) -> Result<String> {
    let token = read_token(
        settings.token_file.as_ref(),
        "--admin-token-file FILE (or `token_file` in [admin])",
    )?;
    if token.len() < admin::MIN_TOKEN_LEN {
        let source = match &settings.token_file {
            Some(file) => format!("the first line of `{}`", file.display()),
            None => "WASGI_ADMIN_TOKEN".to_owned(),
        };
        anyhow::bail!(
            "the admin token ({source}) must be at least {} characters",
            admin::MIN_TOKEN_LEN
        );
    }
    Ok(token)
}

/// Per-app limits for `wasgi deploy`; the host checks them.
#[derive(clap::Args)]
struct DeployLimits {
    /// Memory per instance, e.g. `64MiB`.
    #[arg(long)]
    memory_limit: Option<String>,
    /// Deadline per request, e.g. `5s`.
    #[arg(long)]
    timeout: Option<String>,
    /// The largest request body, e.g. `1MiB`.
    #[arg(long)]
    max_body_size: Option<String>,
    /// Requests in flight at once.
    #[arg(long)]
    max_concurrency: Option<String>,
}

impl DeployLimits {
    /// The admin API's query pairs for the limits given.
    fn query(self) -> impl Iterator<Item = (&'static str, String)> {
        [
            ("memory_limit", self.memory_limit),
            ("timeout", self.timeout),
            ("max_body_size", self.max_body_size),
            ("max_concurrency", self.max_concurrency),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve an app (or the apps of a `wasgi.toml`) over HTTP, one fresh instance per request.
    Serve {
        /// A `.wasm` component, or a guest crate directory to build first.
        #[arg(required_unless_present = "config", conflicts_with = "config")]
        app: Option<PathBuf>,
        /// A `wasgi.toml` describing several apps; its `[limits]` override the limit flags, and
        /// a flag may repeat its `[server]` and `[admin]` settings but not contradict them.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The address to listen on (or `listen` in a config's `[server]`); port 0 picks a free
        /// port [default: 127.0.0.1:8000].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// An environment variable for the app's instances, `NAME=VALUE`; repeatable.
        #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        #[command(flatten)]
        limits: Limits,
        #[command(flatten)]
        cache: CacheArgs,
        /// Don't log each request (or `access_log = false` in `[server]`).
        #[arg(long)]
        no_access_log: bool,
        #[command(flatten)]
        admin: AdminArgs,
        /// Rebuild and swap in a guest crate (APP, or a `module` of the config that is a
        /// directory) whenever its sources change.
        #[arg(long)]
        reload: bool,
        /// Threads serving connections, each running its connections' requests and guests
        /// start to finish (or `workers` in `[server]`) [default: one per core].
        #[arg(long)]
        workers: Option<NonZeroUsize>,
        /// Pin each serving thread to a CPU (in turn over the CPUs the process may use) and
        /// give a new connection to the thread on the CPU where the kernel processes its
        /// packets, unless that thread already serves 2 connections more than the least busy:
        /// a connection's packets and requests then stay on one core. For cores that are the
        /// host's own; a pinned thread cannot leave a core that something else keeps busy (or
        /// `pin_workers = true` in `[server]`).
        #[arg(long)]
        pin_workers: bool,
    },
    /// Deploy a component (or a guest crate, built first) to a running host, or replace the
    /// app of that name.
    Deploy {
        /// A `.wasm` component, or a guest crate directory to build first.
        app: PathBuf,
        /// The app's name on the host.
        #[arg(long)]
        name: String,
        /// Where to mount it [default: `/NAME` for a new app, unchanged for a replacement].
        #[arg(long)]
        mount: Option<String>,
        /// A host name it answers (any host when none); repeatable; replaces the old ones.
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// An environment variable for its instances, `NAME=VALUE`; repeatable; replaces the
        /// old environment.
        #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// The path the host requests in-process before the new version takes traffic; it
        /// must answer without failing and with a status under 500.
        #[arg(long, default_value = "/")]
        smoke: String,
        /// The app's limits, as `wasgi serve` takes them [default: the host's, or unchanged
        /// for a replacement].
        #[command(flatten)]
        limits: DeployLimits,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// List the apps of a running host.
    Apps {
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Stop serving an app on a running host.
    Remove {
        /// The app's name.
        name: String,
        #[command(flatten)]
        target: AdminTarget,
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

/// Where `wasgi serve` listens unless `--listen` or `[server]` says otherwise.
const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    8000,
));

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
            let app = Arc::new(load(
                &app,
                cache.settings().cache_dir_or_default().as_deref(),
            )?);
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
            admin,
            reload,
            workers,
            pin_workers,
        } => {
            let flags = ServerSettings {
                listen,
                workers,
                pin_workers: pin_workers.then_some(true),
                access_log: no_access_log.then_some(false),
                ..cache.settings()
            };
            let admin_flags = admin.settings();
            let config = match &config {
                Some(path) => Some((path, Config::load(path)?)),
                None => None,
            };
            let (serving, admin) = match &config {
                Some((path, config)) => {
                    let in_file =
                        |error: anyhow::Error| error.context(format!("`{}`", path.display()));
                    (
                        config.server.with_flags(&flags).map_err(in_file)?,
                        config.admin.with_flags(&admin_flags).map_err(in_file)?,
                    )
                }
                None => (
                    ServerSettings::default().with_flags(&flags)?,
                    AdminSettings::default().with_flags(&admin_flags)?,
                ),
            };
            check_apart(&serving, &admin)?;
            // The admin listener's token and data directory are checked before any app is
            // built, so that a mistake in them costs no compile.
            let admin_settings = match admin.listen {
                Some(address) => {
                    Some((address, admin_token(&admin)?, admin.data_dir_or_default()?))
                }
                None => None,
            };
            let data = match &admin_settings {
                Some((_, _, dir)) => Some(DataDir::open(dir)?),
                None => None,
            };
            let engine = engine::new_engine(serving.cache_dir_or_default().as_deref())?;
            let linker = engine::new_linker(&engine)?;
            let metrics = Metrics::new();
            let mut apps = Vec::new();
            // Apps given as crate directories, which --reload watches.
            let mut crates = Vec::new();
            let limits = match (app, config) {
                (Some(app), _) => {
                    let component = resolve_app(&app)?;
                    let name = app_name(&component);
                    if app.is_dir() {
                        crates.push((name.clone(), app));
                    }
                    let mut spec = AppSpec::named(&name);
                    spec.mount = "/".to_owned();
                    apps.push(configured(spec, &component)?);
                    limits
                }
                (None, Some((_, config))) => {
                    for app in config.apps {
                        let component = resolve_app(&app.module)
                            .with_context(|| format!("app `{}`", app.name))?;
                        if app.module.is_dir() {
                            crates.push((app.name.clone(), app.module));
                        }
                        let spec = AppSpec {
                            name: app.name,
                            mount: app.mount,
                            hosts: app.hosts,
                            env: app.env,
                            limits: app.limits,
                        };
                        apps.push(configured(spec, &component)?);
                    }
                    config.limits.apply(limits, "[limits]")?
                }
                (None, None) => anyhow::bail!("give an APP or --config FILE"),
            };
            if reload && crates.is_empty() {
                anyhow::bail!("--reload needs an app given as a guest crate directory");
            }
            let loader = Loader {
                linker,
                limits: limits.clone(),
                env,
                access_log: serving.access_log.unwrap_or(true),
                metrics: metrics.clone(),
            };
            let registry = Arc::new(Registry::start(loader, apps, data)?);
            let listen = serving.listen.unwrap_or(DEFAULT_LISTEN);
            serve_runtime()?.block_on(async {
                let shutdown = shutdown::on_signal();
                let listener = TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("failed to listen on `{listen}` for requests"))?;
                if let Some((address, token, _)) = admin_settings {
                    let admin_listener = TcpListener::bind(address).await.with_context(|| {
                        format!("failed to listen on `{address}` for the admin API")
                    })?;
                    println!("admin listening on http://{}", admin_listener.local_addr()?);
                    let admin = Arc::new(Admin {
                        registry: registry.clone(),
                        metrics: metrics.clone(),
                        token,
                        max_module_size: admin.max_module_size_or_default(),
                    });
                    tokio::spawn(admin::serve(admin_listener, admin));
                }
                let _watcher = if reload {
                    Some(reload::watch(registry.clone(), crates)?)
                } else {
                    None
                };
                // Scripts and tests wait for this exact line to learn the bound port.
                println!("listening on http://{}", listener.local_addr()?);
                let workers = serving.workers.unwrap_or_else(Workers::default_count);
                server::serve(
                    listener,
                    registry,
                    limits,
                    metrics,
                    shutdown,
                    workers,
                    serving.pin_workers.unwrap_or(false),
                )
                .await
            })
        }
        Command::Deploy {
            app,
            name,
            mount,
            hosts,
            env,
            smoke,
            limits,
            target,
        } => {
            let component = resolve_app(&app)?;
            let bytes = read(&component)?;
            let mut query = vec![("smoke", smoke)];
            query.extend(limits.query());
            query.extend(mount.map(|mount| ("mount", mount)));
            query.extend(hosts.into_iter().map(|host| ("host", host)));
            query.extend(
                env.into_iter()
                    .map(|(key, value)| ("env", format!("{key}={value}"))),
            );
            check_app_name(&name)?;
            let answer = runtime()?.block_on(target.call(
                Method::PUT,
                &["apps", &name],
                &query,
                Some(bytes),
            ))?;
            eprintln!(
                "deployed `{name}` at `{}` (sha256 {})",
                answer["mount"].as_str().unwrap_or("?"),
                answer["sha256"].as_str().unwrap_or("?")
            );
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Apps { target } => {
            let answer = runtime()?.block_on(target.call(Method::GET, &["apps"], &[], None))?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Remove { name, target } => {
            check_app_name(&name)?;
            let answer =
                runtime()?.block_on(target.call(Method::DELETE, &["apps", &name], &[], None))?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
    }
}

/// Refuses, before anything is sent, an app name the host would refuse.
fn check_app_name(name: &str) -> Result<()> {
    admin::check_name(name).map_err(|refused| anyhow::anyhow!(refused.reason))
}

/// A component's bytes.
fn read(component: &Path) -> Result<Vec<u8>> {
    std::fs::read(component).with_context(|| format!("failed to read `{}`", component.display()))
}

/// App `spec` with the component at `component`.
fn configured(spec: AppSpec, component: &Path) -> Result<Configured> {
    Ok(Configured {
        spec,
        bytes: read(component)?,
        source: component.display().to_string(),
    })
}

/// Loads `app`: a component file, or a guest crate directory built first.
fn load(app: &Path, cache_dir: Option<&Path>) -> Result<App> {
    let component = resolve_app(app)?;
    let engine = engine::new_engine(cache_dir)?;
    let linker = engine::new_linker(&engine)?;
    App::load(&app_name(&component), &component, &linker)
}

/// The runtime `wasgi serve` accepts connections and runs the admin API on: one thread, as
/// requests are served on the serving threads (`server::serve`) and compiles run on threads
/// of their own.
fn serve_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
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
