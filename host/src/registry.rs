//! The apps a host serves and how they change while it runs. A deploy, replacement or removal
//! builds a new routing table and swaps it in atomically: a new version is compiled, linked and
//! smoke-checked first, and requests in flight finish on the version they started on.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use arc_swap::ArcSwap;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use wasmtime::component::Linker;

use crate::admin;
use crate::app::App;
use crate::config::{LimitsOverride, normalize_mount};
use crate::data_dir::{DataDir, Record, State, is_sha256_hex, sha256_hex};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::mounts::{self, Mounts};
use crate::state::InstanceState;

/// Where and how an app is mounted: everything about it but its module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Its name, in logs, metrics and the admin API.
    pub name: String,
    /// The path prefix it is mounted under.
    pub mount: String,
    /// The host names it answers; any host when empty.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Its instances' environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Limits of its own, over the host's.
    #[serde(default)]
    pub limits: LimitsOverride,
}

impl AppSpec {
    /// An app called `name` at `/name`, for any host, with the host's limits.
    pub fn named(name: &str) -> AppSpec {
        AppSpec {
            name: name.to_owned(),
            mount: format!("/{name}"),
            hosts: Vec::new(),
            env: BTreeMap::new(),
            limits: LimitsOverride::default(),
        }
    }
}

/// The settings a deploy changes; the others stay as the serving version has them (or as
/// [`AppSpec::named`] has them, for a new app).
#[derive(Debug, Default, Clone)]
pub struct SpecChange {
    /// A new mount prefix.
    pub mount: Option<String>,
    /// New host names, replacing the old.
    pub hosts: Option<Vec<String>>,
    /// A new environment, replacing the old.
    pub env: Option<BTreeMap<String, String>>,
    /// New limits, replacing the old.
    pub limits: Option<LimitsOverride>,
}

impl SpecChange {
    fn apply(self, mut spec: AppSpec) -> AppSpec {
        if let Some(mount) = self.mount {
            spec.mount = mount;
        }
        if let Some(hosts) = self.hosts {
            spec.hosts = hosts;
        }
        if let Some(env) = self.env {
            spec.env = env;
        }
        if let Some(limits) = self.limits {
            spec.limits = limits;
        }
        spec
    }
}

/// Where an app came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The command line or the `wasgi.toml`.
    Config,
    /// The admin API; kept in the data directory.
    Deployed,
}

/// A change refused, with the HTTP status that says why.
#[derive(Debug)]
pub struct Refused {
    /// 400 for a malformed request, 404 for an unknown app, 409 for a clash, 422 for a module
    /// that fails to compile, link or pass its smoke check, 500 for the host's own failure.
    pub status: StatusCode,
    /// What is wrong, for the operator.
    pub reason: String,
}

impl Refused {
    fn new(status: StatusCode, reason: impl Into<String>) -> Refused {
        Refused {
            status,
            reason: reason.into(),
        }
    }

    /// A malformed request.
    pub fn bad_request(reason: impl Into<String>) -> Refused {
        Refused::new(StatusCode::BAD_REQUEST, reason)
    }
}

/// What `GET /apps` shows of an app.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    /// Where and how it is mounted.
    #[serde(flatten)]
    pub spec: AppSpec,
    /// Where it came from.
    pub origin: Origin,
    /// The hash of the module it serves.
    pub sha256: String,
    /// When the version serving now was loaded, in seconds since the Unix epoch.
    pub deployed_at: u64,
}

struct Entry {
    info: AppInfo,
    app: Arc<App>,
}

/// How apps are built: the settings every app of the host shares.
pub struct Loader {
    /// The linker with the host's imports.
    pub linker: Linker<InstanceState>,
    /// The host's limits, which apps' own limits override.
    pub limits: Limits,
    /// The environment every app sees under its own.
    pub env: Vec<(String, String)>,
    /// Whether requests are logged.
    pub access_log: bool,
    /// Where requests are counted.
    pub metrics: Arc<Metrics>,
}

impl Loader {
    /// Compiles and links `bytes` into app `spec.name`, with its limits and environment.
    pub fn build(&self, spec: &AppSpec, bytes: &[u8], shown: &str) -> Result<App> {
        let limits = spec
            .limits
            .apply(self.limits.clone(), &format!("app `{}`", spec.name))?;
        let mut env = self.env.clone();
        env.extend(spec.env.clone());
        Ok(App::from_bytes(&spec.name, bytes, shown, &self.linker)?
            .with_env(env)
            .with_limits(limits)
            .with_access_log(self.access_log)
            .with_metrics(&self.metrics))
    }
}

/// The apps of a running host.
pub struct Registry {
    routes: ArcSwap<Mounts>,
    /// The apps serving now, by name, for listing: published with `routes`, so that a listing
    /// never waits for a deploy still being compiled or checked under the lock below.
    listing: ArcSwap<Vec<AppInfo>>,
    /// The apps by name; the lock also serialises changes.
    apps: tokio::sync::Mutex<BTreeMap<String, Entry>>,
    /// Replaced and removed versions that may still be finishing requests.
    retired: Mutex<Vec<Weak<App>>>,
    loader: Arc<Loader>,
    data: Option<Arc<DataDir>>,
    /// What the data directory holds, kept in step with it.
    state: Arc<Mutex<State>>,
    /// The names of the configured apps: removing one is remembered across restarts.
    configured: std::collections::BTreeSet<String>,
    ready: AtomicBool,
}

/// An app the host starts with, from the command line or `wasgi.toml`.
#[derive(Debug)]
pub struct Configured {
    /// Its name, mount, host names, environment and limits.
    pub spec: AppSpec,
    /// The component.
    pub bytes: Vec<u8>,
    /// Where the component came from, to name it in errors (its path).
    pub source: String,
}

impl Registry {
    /// A host serving `apps` (from the command line or `wasgi.toml`), then what the data directory `data` remembers: apps
    /// deployed before, which win over configured apps of the same name, and configured apps
    /// removed before, which stay removed.
    pub fn start(loader: Loader, apps: Vec<Configured>, data: Option<DataDir>) -> Result<Registry> {
        let state = match &data {
            Some(data) => data.load()?,
            None => State::default(),
        };
        let mut entries = BTreeMap::new();
        let configured = apps.iter().map(|app| app.spec.name.clone()).collect();
        for Configured {
            spec,
            bytes,
            source,
        } in apps
        {
            if state.removed.contains(&spec.name) {
                tracing::info!(app = %spec.name, "not serving: it was removed over the admin API");
                continue;
            }
            let app = loader.build(&spec, &bytes, &source)?;
            let info = AppInfo {
                sha256: sha256_hex(&bytes),
                deployed_at: now(),
                origin: Origin::Config,
                spec,
            };
            entries.insert(
                info.spec.name.clone(),
                Entry {
                    info,
                    app: Arc::new(app),
                },
            );
        }
        if let Some(data) = &data {
            for record in &state.apps {
                let name = &record.spec.name;
                // One app that no longer loads must not keep the others down.
                let restored = check_record(record, &entries)
                    .and_then(|()| data.module(&record.sha256))
                    .and_then(|bytes| {
                        loader.build(&record.spec, &bytes, &format!("deployed app `{name}`"))
                    });
                match restored {
                    Ok(app) => {
                        tracing::info!(app = %name, mount = %record.spec.mount, "restored deployed app");
                        let info = AppInfo {
                            spec: record.spec.clone(),
                            origin: Origin::Deployed,
                            sha256: record.sha256.clone(),
                            deployed_at: record.deployed_at,
                        };
                        entries.insert(
                            name.clone(),
                            Entry {
                                info,
                                app: Arc::new(app),
                            },
                        );
                    }
                    Err(error) => {
                        tracing::error!(app = %name, "failed to restore deployed app: {error:#}")
                    }
                }
            }
        }
        Ok(Registry {
            routes: ArcSwap::from_pointee(routes(&entries)),
            listing: ArcSwap::from_pointee(listing(&entries)),
            apps: tokio::sync::Mutex::new(entries),
            retired: Mutex::new(Vec::new()),
            loader: Arc::new(loader),
            data: data.map(Arc::new),
            state: Arc::new(Mutex::new(state)),
            configured,
            ready: AtomicBool::new(true),
        })
    }

    /// The routing table now; a request holds on to the one it started with.
    pub fn routes(&self) -> arc_swap::Guard<Arc<Mounts>> {
        self.routes.load()
    }

    /// The apps serving now, by name. A deploy in progress is not waited for: it shows once it
    /// takes traffic.
    pub fn list(&self) -> Vec<AppInfo> {
        self.listing.load().as_ref().clone()
    }

    /// What `GET /apps/NAME` shows of app `name`, if one is deployed under that name.
    pub fn info(&self, name: &str) -> Option<AppInfo> {
        let listing = self.listing.load();
        listing.iter().find(|app| app.spec.name == name).cloned()
    }

    /// Deploys `bytes` as app `name`, or replaces its module, with `change` made to its
    /// settings. The module is compiled,
    /// linked and answered `GET smoke_path` before it takes any request; it is stored in the
    /// data directory before it is swapped in. Returns the app and whether it is new.
    pub async fn deploy(
        &self,
        name: &str,
        change: SpecChange,
        bytes: Vec<u8>,
        smoke_path: &str,
    ) -> Result<(AppInfo, bool), Refused> {
        let mut apps = self.apps.lock().await;
        self.refuse_when_shutting_down()?;
        let existing = apps.get(name).map(|entry| entry.info.spec.clone());
        let created = existing.is_none();
        let spec = change.apply(existing.unwrap_or_else(|| AppSpec::named(name)));
        check_clash(&apps, &spec)?;

        let loader = self.loader.clone();
        let (built_spec, shown) = (spec.clone(), "the uploaded module".to_owned());
        let (app, bytes) =
            tokio::task::spawn_blocking(move || (loader.build(&built_spec, &bytes, &shown), bytes))
                .await
                .map_err(|error| {
                    Refused::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
                })?;
        let app = Arc::new(app.map_err(|error| {
            Refused::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{error:#}"))
        })?);
        app.clone()
            .smoke_check(&normalize_mount(&spec.mount), smoke_path)
            .await
            .map_err(|error| {
                Refused::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{error:#}"))
            })?;

        let record = Record {
            spec: spec.clone(),
            sha256: sha256_hex(&bytes),
            deployed_at: now(),
        };
        let (owned_name, stored) = (name.to_owned(), record.clone());
        self.persist(
            move |state| {
                state.apps.retain(|other| other.spec.name != owned_name);
                state.removed.remove(&owned_name);
                state.apps.push(stored);
            },
            Some(bytes),
        )
        .await
        .map_err(|error| Refused::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")))?;

        let info = AppInfo {
            spec,
            origin: Origin::Deployed,
            sha256: record.sha256,
            deployed_at: record.deployed_at,
        };
        let entry = Entry {
            info: info.clone(),
            app,
        };
        if let Some(old) = apps.insert(name.to_owned(), entry) {
            self.retire(old.app);
        }
        self.publish(&apps);
        tracing::info!(app = %name, mount = %info.spec.mount, sha256 = %info.sha256,
            "{}", if created { "deployed" } else { "replaced" });
        Ok((info, created))
    }

    /// Replaces the module of a configured app, for `--reload`; not kept in the data directory.
    pub async fn reload(&self, name: &str, bytes: Vec<u8>) -> Result<()> {
        let mut apps = self.apps.lock().await;
        let spec = apps
            .get(name)
            .with_context(|| format!("app `{name}` is not served"))?
            .info
            .spec
            .clone();
        let loader = self.loader.clone();
        let built_spec = spec.clone();
        let (app, bytes) = tokio::task::spawn_blocking(move || {
            (
                loader.build(&built_spec, &bytes, "the rebuilt module"),
                bytes,
            )
        })
        .await?;
        let app = Arc::new(app?);
        let info = AppInfo {
            spec,
            origin: Origin::Config,
            sha256: sha256_hex(&bytes),
            deployed_at: now(),
        };
        if let Some(old) = apps.insert(name.to_owned(), Entry { info, app }) {
            self.retire(old.app);
        }
        self.publish(&apps);
        Ok(())
    }

    /// Stops serving app `name`; its requests in flight finish.
    pub async fn remove(&self, name: &str) -> Result<AppInfo, Refused> {
        let mut apps = self.apps.lock().await;
        self.refuse_when_shutting_down()?;
        if !apps.contains_key(name) {
            return Err(Refused::new(
                StatusCode::NOT_FOUND,
                format!("no app is named `{name}`"),
            ));
        }
        let configured = self.configured.contains(name);
        let owned_name = name.to_owned();
        self.persist(
            move |state| {
                state.apps.retain(|other| other.spec.name != owned_name);
                if configured {
                    state.removed.insert(owned_name);
                }
            },
            None,
        )
        .await
        .map_err(|error| Refused::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")))?;
        let entry = apps.remove(name).expect("the app was just found");
        self.publish(&apps);
        self.retire(entry.app);
        tracing::info!(app = %name, "removed");
        Ok(entry.info)
    }

    fn refuse_when_shutting_down(&self) -> Result<(), Refused> {
        if self.ready() {
            Ok(())
        } else {
            Err(Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the host is shutting down",
            ))
        }
    }

    /// Whether the host takes requests: false once it is shutting down.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Marks the host as shutting down: `/readyz` answers 503, and deploys and removals are
    /// refused.
    pub fn shutting_down(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }

    /// Marks the host as shutting down, then waits until every request in flight has
    /// finished, on current and retired versions alike.
    pub async fn drain(&self) {
        self.shutting_down();
        let current: Vec<Arc<App>> = self.routes().apps().cloned().collect();
        let retired: Vec<Arc<App>> = self
            .retired
            .lock()
            .expect("not poisoned")
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for app in current.iter().chain(&retired) {
            app.drain().await;
        }
    }

    /// Applies `change` to the remembered state and writes it, with `module` stored first.
    /// Without a data directory, nothing is written.
    async fn persist(
        &self,
        change: impl FnOnce(&mut State) + Send + 'static,
        module: Option<Vec<u8>>,
    ) -> Result<()> {
        let Some(data) = self.data.clone() else {
            return Ok(());
        };
        let state = self.state.clone();
        // Writing and syncing a module of up to the upload limit takes the disk's time: off the
        // thread that accepts connections.
        tokio::task::spawn_blocking(move || {
            if let Some(module) = module {
                data.put_module(&module)?;
            }
            let mut state = state.lock().expect("not poisoned");
            let mut next = state.clone();
            change(&mut next);
            data.save(&next)?;
            *state = next;
            Ok(())
        })
        .await
        .context("the data directory's writer failed")?
    }

    /// Makes `apps` the ones requests are routed to and the listing shows.
    fn publish(&self, apps: &BTreeMap<String, Entry>) {
        self.routes.store(Arc::new(routes(apps)));
        self.listing.store(Arc::new(listing(apps)));
    }

    fn retire(&self, app: Arc<App>) {
        let mut retired = self.retired.lock().expect("not poisoned");
        retired.retain(|old| old.strong_count() > 0);
        retired.push(Arc::downgrade(&app));
    }
}

/// What `list` shows of `apps`.
fn listing(apps: &BTreeMap<String, Entry>) -> Vec<AppInfo> {
    apps.values().map(|entry| entry.info.clone()).collect()
}

/// The routing table of `apps`.
fn routes(apps: &BTreeMap<String, Entry>) -> Mounts {
    Mounts::new(
        apps.values()
            .map(|entry| {
                let spec = &entry.info.spec;
                (spec.mount.clone(), spec.hosts.clone(), entry.app.clone())
            })
            .collect(),
    )
}

/// Refuses a remembered deploy that the admin API would not take now: `apps.json` edited by
/// hand, or a configured app that has since taken its mount. Its name, hash, mount, hosts and
/// environment are checked as a deploy's are, and its mount against the apps already loaded.
fn check_record(record: &Record, apps: &BTreeMap<String, Entry>) -> Result<()> {
    let refused = |refused: Refused| anyhow::anyhow!(refused.reason);
    let spec = &record.spec;
    admin::check_name(&spec.name).map_err(refused)?;
    let hash = &record.sha256;
    if !is_sha256_hex(hash) {
        anyhow::bail!("`{}` is not a module's SHA-256", hash.escape_debug());
    }
    admin::check_mount(&spec.mount).map_err(refused)?;
    for host in &spec.hosts {
        admin::check_host(host).map_err(refused)?;
    }
    for (key, value) in &spec.env {
        admin::check_env(&format!("{key}={value}")).map_err(refused)?;
    }
    check_clash(apps, spec).map_err(refused)
}

/// Refuses `spec` if another app is mounted at the same prefix for an overlapping set of hosts.
fn check_clash(apps: &BTreeMap<String, Entry>, spec: &AppSpec) -> Result<(), Refused> {
    for other in apps.values().map(|entry| &entry.info.spec) {
        if other.name != spec.name
            && mounts::clash((&spec.mount, &spec.hosts), (&other.mount, &other.hosts))
        {
            return Err(Refused::new(
                StatusCode::CONFLICT,
                format!(
                    "app `{}` is already mounted at `{}`",
                    other.name, spec.mount
                ),
            ));
        }
    }
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
