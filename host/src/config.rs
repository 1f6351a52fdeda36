//! `wasgi.toml`: several apps in one host, each with its module, mount prefix, host names,
//! limits and environment.
//!
//! ```toml
//! [server]                      # how the host serves; a flag may repeat a key, not contradict it
//! listen = "0.0.0.0:8000"       # [default: 127.0.0.1:8000]
//! workers = 2                   # serving threads [default: one per core]
//! pin_workers = true
//! access_log = false
//! cache_dir = "/var/cache/wasgi" # compiled components, in its `wasmtime/` [default:
//!                               # $XDG_CACHE_HOME/wasgi or ~/.cache/wasgi]; `cache = false`: none
//!
//! [admin]                       # the admin listener: off unless `listen` is given, and the
//! listen = "127.0.0.1:9000"     # other keys need it
//! token_file = "/etc/wasgi/admin.token" # its first line, 16 characters or more [default: the
//!                               # WASGI_ADMIN_TOKEN variable]
//! max_module_size = "64MiB"     # the largest deploy [default: 64MiB]
//! data_dir = "/var/lib/wasgi"   # deployed apps [default: $XDG_DATA_HOME/wasgi or
//!                               # ~/.local/share/wasgi]
//!
//! [limits]                      # host-wide; same names and units as the command-line flags
//! timeout = "30s"
//!
//! [[app]]
//! name = "hello"
//! module = "examples/hello"     # a .wasm or a guest crate directory; paths are relative to this
//!                               # file (`~` is not expanded), and none may be empty
//!
//! [[app]]
//! name = "params"
//! module = "target/wasm32-wasip2/release/params.wasm"
//! mount = "/api"                # the guest sees `root_path = "/api"` and paths without it
//! hosts = ["api.example.com"]   # only requests for these hosts (any host when absent)
//! env = { GREETING = "hi" }     # the guest's environment
//! limits = { memory_limit = "64MiB", max_body_size = "1MiB" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use crate::limits::{Limits, parse_size};
use crate::serving::{AdminSettings, ServerSettings};

/// A parsed `wasgi.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// How the host listens and serves.
    #[serde(default)]
    pub server: ServerSettings,
    /// The admin listener, off unless it has a `listen` address.
    #[serde(default)]
    pub admin: AdminSettings,
    /// Host-wide limits; apps may lower or raise their own.
    #[serde(default)]
    pub limits: LimitsOverride,
    /// The apps, at least one.
    #[serde(rename = "app", default)]
    pub apps: Vec<AppConfig>,
}

/// One app of the host.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Its name, in logs and metrics.
    pub name: String,
    /// A `.wasm` component or a guest crate directory; relative paths are relative to the file.
    pub module: PathBuf,
    /// The path prefix it is mounted under.
    #[serde(default = "root")]
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

fn root() -> String {
    "/".to_owned()
}

/// Limits to set, each optional; units as on the command line (`64MiB`, `5s`).
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_concurrency: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_instances: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shutdown_grace: Option<String>,
}

impl LimitsOverride {
    /// The limit names an app may set for itself (the others are the host's).
    pub const PER_APP: [&str; 4] = [
        "memory_limit",
        "timeout",
        "max_body_size",
        "max_concurrency",
    ];

    /// Sets the per-app limit `key` from its text, checked as [`Self::apply`] would.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "memory_limit" => self.memory_limit = Some(value.to_owned()),
            "timeout" => self.timeout = Some(value.to_owned()),
            "max_body_size" => self.max_body_size = Some(value.to_owned()),
            "max_concurrency" => {
                let n =
                    value.parse().ok().filter(|&n| n > 0).with_context(|| {
                        format!("`max_concurrency={value}` is not a count above 0")
                    })?;
                self.max_concurrency = Some(n);
            }
            _ => bail!(
                "`{key}` is not a per-app limit (those are {:?})",
                Self::PER_APP
            ),
        }
        self.apply(Limits::default(), "limits").map(drop)
    }

    /// `base` with these limits set; `what` names the table in errors.
    pub fn apply(&self, mut base: Limits, what: &str) -> Result<Limits> {
        let size = |key: &str, text: &Option<String>, into: &mut u64| -> Result<()> {
            if let Some(text) = text {
                *into = parse_size(text)
                    .map_err(|error| anyhow::anyhow!("{what}: `{key}`: {error}"))?;
            }
            Ok(())
        };
        let duration = |key: &str, text: &Option<String>, into: &mut Duration| -> Result<()> {
            if let Some(text) = text {
                *into = humantime::parse_duration(text).with_context(|| {
                    format!("{what}: `{key} = \"{text}\"` is not a duration such as 30s")
                })?;
            }
            Ok(())
        };
        size("memory_limit", &self.memory_limit, &mut base.memory)?;
        size("max_body_size", &self.max_body_size, &mut base.max_body)?;
        duration("timeout", &self.timeout, &mut base.timeout)?;
        duration(
            "header_timeout",
            &self.header_timeout,
            &mut base.header_timeout,
        )?;
        duration(
            "shutdown_grace",
            &self.shutdown_grace,
            &mut base.shutdown_grace,
        )?;
        if let Some(n) = self.max_concurrency {
            base.max_concurrency = n;
        }
        if let Some(n) = self.max_connections {
            base.max_connections = n;
        }
        if let Some(n) = self.max_instances {
            base.max_instances = crate::limits::check_max_instances(n)
                .map_err(|error| anyhow::anyhow!("{what}: `max_instances`: {error}"))?;
        }
        Ok(base)
    }
}

impl Config {
    /// Reads and checks the file at `path`: apps have distinct names, and no two share a mount
    /// and a host; mounts start with `/`; module paths become relative to the file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let mut config: Config = toml::from_str(&text)
            .with_context(|| format!("`{}` is not a valid wasgi config", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if config.apps.is_empty() {
            bail!("`{}` has no `[[app]]`", path.display());
        }
        config.server.resolve(base);
        config.admin.resolve(base);
        for app in &mut config.apps {
            if !app.mount.starts_with('/') {
                bail!(
                    "app `{}`: mount `{}` must start with `/`",
                    app.name,
                    app.mount
                );
            }
            if app.module.is_relative() {
                app.module = base.join(&app.module);
            }
        }
        for (i, app) in config.apps.iter().enumerate() {
            for other in &config.apps[..i] {
                if other.name == app.name {
                    bail!("two apps are named `{}`", app.name);
                }
                if crate::mounts::clash((&app.mount, &app.hosts), (&other.mount, &other.hosts)) {
                    bail!(
                        "apps `{}` and `{}` are both mounted at `{}`",
                        other.name,
                        app.name,
                        app.mount
                    );
                }
            }
        }
        Ok(config)
    }
}

/// A mount prefix without its trailing slash (`/` becomes the empty prefix).
pub fn normalize_mount(mount: &str) -> String {
    mount.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroUsize;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wasgi.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    #[test]
    fn a_full_config_parses_and_paths_are_relative_to_it() {
        let config = load(
            r#"
            [limits]
            timeout = "5s"
            [[app]]
            name = "a"
            module = "a.wasm"
            [[app]]
            name = "b"
            module = "/abs/b.wasm"
            mount = "/api/"
            hosts = ["example.com"]
            env = { KEY = "value" }
            limits = { memory_limit = "64MiB" }
            "#,
        )
        .unwrap();
        assert_eq!(config.apps.len(), 2);
        assert!(config.apps[0].module.ends_with("a.wasm") && config.apps[0].module.is_absolute());
        assert_eq!(config.apps[1].module, PathBuf::from("/abs/b.wasm"));
        let host = config.limits.apply(Limits::default(), "[limits]").unwrap();
        assert_eq!(host.timeout, Duration::from_secs(5));
        let b = config.apps[1].limits.apply(host, "app `b`").unwrap();
        assert_eq!(
            (b.memory, b.timeout),
            (64 * 1024 * 1024, Duration::from_secs(5))
        );
    }

    #[test]
    fn server_settings_come_from_the_file_or_the_flags_which_may_not_disagree() {
        let config = load(
            "[server]\nlisten = \"0.0.0.0:9000\"\nworkers = 3\npin_workers = true\n\
             [[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n",
        )
        .unwrap();
        let flags = ServerSettings {
            access_log: Some(false),
            ..ServerSettings::default()
        };
        let merged = config.server.with_flags(&flags).unwrap();
        assert_eq!(merged.listen, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(merged.workers, NonZeroUsize::new(3));
        assert_eq!(merged.pin_workers, Some(true));
        assert_eq!(merged.access_log, Some(false));

        let twice = ServerSettings {
            workers: NonZeroUsize::new(1),
            ..ServerSettings::default()
        };
        let error = format!("{:#}", config.server.with_flags(&twice).unwrap_err());
        assert_eq!(
            error,
            "`workers` is 3 in [server] but `--workers` says 1; give it in one place"
        );
        // A flag that repeats the file is no contradiction.
        let agreeing = ServerSettings {
            workers: NonZeroUsize::new(3),
            pin_workers: Some(true),
            ..ServerSettings::default()
        };
        assert_eq!(config.server.with_flags(&agreeing).unwrap(), config.server);
        // A file without [server] leaves every flag as given.
        let bare = load("[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n").unwrap();
        assert_eq!(bare.server.with_flags(&twice).unwrap(), twice);
    }

    #[test]
    fn the_admin_table_and_the_cache_parse_with_paths_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wasgi.toml");
        std::fs::write(
            &path,
            "[server]\ncache_dir = \"cache\"\n\
             [admin]\nlisten = \"127.0.0.1:9000\"\ntoken_file = \"admin.token\"\n\
             max_module_size = \"1MiB\"\ndata_dir = \"/var/lib/wasgi\"\n\
             [[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.server.cache_dir, Some(dir.path().join("cache")));
        assert_eq!(
            config.admin,
            AdminSettings {
                listen: Some("127.0.0.1:9000".parse().unwrap()),
                token_file: Some(dir.path().join("admin.token")),
                max_module_size: Some(bytesize::ByteSize::mib(1)),
                data_dir: Some(PathBuf::from("/var/lib/wasgi")),
            }
        );
    }

    #[test]
    fn bad_server_and_admin_settings_say_what_is_wrong() {
        let error = |table: &str| {
            let text = format!("{table}\n[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n");
            format!("{:#}", load(&text).unwrap_err())
        };
        for (table, says) in [
            (
                "[server]\nlisten = \"localhost\"",
                "invalid socket address syntax",
            ),
            ("[server]\nlisten = 8000", "expected socket address"),
            ("[server]\nworkers = 0", "0 is not a count of at least 1"),
            ("[server]\nworkers = -1", "-1 is not a count of at least 1"),
            (
                "[server]\nworkers = \"two\"",
                "expected a count of at least 1",
            ),
            ("[server]\nworkers = 2.5", "expected a count of at least 1"),
            ("[server]\npin_workers = \"yes\"", "expected a boolean"),
            ("[server]\nthreads = 2", "unknown field `threads`"),
            (
                "[admin]\nlisten = \"9000\"",
                "invalid socket address syntax",
            ),
            (
                "[admin]\nmax_module_size = \"lots\"",
                "`lots` is not a size such as 128MiB",
            ),
            (
                "[admin]\nmax_module_size = 1024",
                "expected a size such as \"64MiB\"",
            ),
            ("[admin]\ntoken = \"hunter2\"", "unknown field `token`"),
            ("[admin]\ndata_dir = 7", "invalid type: integer `7`"),
            ("[server]\ncache = \"no\"", "expected a boolean"),
            ("[server]\ncache_dir = [\"a\"]", "invalid type: sequence"),
        ] {
            let error = error(table);
            assert!(error.contains(says), "{table}: {error}");
        }
    }

    #[test]
    fn a_host_specific_app_may_share_a_mount_with_a_catch_all() {
        let config = "[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n[[app]]\nname = \"b\"\nmodule = \"b.wasm\"\nhosts = [\"b.test\"]\n";
        assert!(load(config).is_ok());
        let clash =
            format!("{config}[[app]]\nname = \"c\"\nmodule = \"c.wasm\"\nhosts = [\"b.test\"]\n");
        assert!(
            format!("{:#}", load(&clash).unwrap_err())
                .contains("apps `b` and `c` are both mounted at `/`")
        );
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let error = |text: &str| format!("{:#}", load(text).unwrap_err());
        assert!(error("").contains("has no `[[app]]`"));
        assert!(error("[[app]]\nname = \"a\"\n").contains("missing field `module`"));
        assert!(
            error("[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\ncolour = 1\n")
                .contains("unknown field `colour`")
        );
        assert!(
            error("[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n[[app]]\nname = \"a\"\nmodule = \"b.wasm\"\nmount = \"/b\"\n")
                .contains("two apps are named `a`")
        );
        assert!(
            error("[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n[[app]]\nname = \"b\"\nmodule = \"b.wasm\"\n")
                .contains("apps `a` and `b` are both mounted at `/`")
        );
        assert!(
            error("[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\nmount = \"api\"\n")
                .contains("must start with `/`")
        );
        let limits =
            load("[limits]\nmemory_limit = \"lots\"\n[[app]]\nname = \"a\"\nmodule = \"a.wasm\"\n")
                .unwrap();
        let error = format!(
            "{:#}",
            limits
                .limits
                .apply(Limits::default(), "[limits]")
                .unwrap_err()
        );
        assert!(
            error.contains("[limits]: `memory_limit`: `lots` is not a size such as 128MiB"),
            "{error}"
        );
    }
}
