//! How `wasgi serve` serves: a `wasgi.toml`'s `[server]` and `[admin]` tables, merged with
//! the command line's flags, which may repeat a setting of the file but not contradict it.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use bytesize::ByteSize;
use serde::Deserialize;

use crate::engine::COMPILED_SUBDIR;
use crate::limits::parse_size;

/// The largest module a deploy may upload unless `--admin-max-module-size` or
/// `max_module_size` in `[admin]` says otherwise.
pub const DEFAULT_MAX_MODULE_SIZE: ByteSize = ByteSize::mib(64);

/// `[server]`: the settings `wasgi serve` also takes as flags (`--listen`, `--workers`,
/// `--pin-workers`, `--no-access-log`, `--cache-dir`, `--no-cache`), so that a file can
/// describe a whole deployment. Each is `None` where neither said anything.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// The address to listen on.
    pub listen: Option<SocketAddr>,
    /// How many serving threads.
    #[serde(default, deserialize_with = "at_least_one")]
    pub workers: Option<NonZeroUsize>,
    /// Whether serving threads are pinned to CPUs.
    pub pin_workers: Option<bool>,
    /// Whether each request is logged.
    pub access_log: Option<bool>,
    /// Where compiled components are kept between runs.
    pub cache_dir: Option<PathBuf>,
    /// Whether compiled components are kept at all (`false`: compile every time).
    pub cache: Option<bool>,
}

/// `[admin]`: the admin listener's settings, which `wasgi serve` also takes as flags
/// (`--admin-listen`, `--admin-token-file`, `--admin-max-module-size`, `--data-dir`). The
/// listener is off unless `listen` is given, and the other settings need it.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Where the admin listener listens.
    pub listen: Option<SocketAddr>,
    /// A file whose first line is the admin token.
    pub token_file: Option<PathBuf>,
    /// The largest module a deploy may upload (`"64MiB"` in the file).
    #[serde(default, deserialize_with = "size")]
    pub max_module_size: Option<ByteSize>,
    /// Where deployed apps are kept across restarts.
    pub data_dir: Option<PathBuf>,
}

/// A setting's value as the merge compares it and an error shows it.
trait Setting: Clone {
    /// Whether `self` and `other` say the same.
    fn same(&self, other: &Self) -> bool;
    /// The value as an error message quotes it.
    fn shown(&self) -> String;
    /// Whether the value says nothing (an empty path), which is refused.
    fn is_empty(&self) -> bool {
        false
    }
}

macro_rules! displayed_setting {
    ($($ty:ty),*) => {$(
        impl Setting for $ty {
            fn same(&self, other: &Self) -> bool {
                self == other
            }
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

displayed_setting!(SocketAddr, NonZeroUsize, bool, ByteSize);

/// Paths are the same where they are the same absolute path (`..` and links left as they are):
/// a file's paths are already relative to the file ([`ServerSettings::resolve`]), a flag's to
/// where the command ran.
impl Setting for PathBuf {
    fn same(&self, other: &Self) -> bool {
        let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        absolute(self) == absolute(other)
    }
    fn shown(&self) -> String {
        format!("`{}`", self.display())
    }
    fn is_empty(&self) -> bool {
        self.as_os_str().is_empty()
    }
}

/// Where a setting is given: its key in `table` and its flag.
struct Names<'a> {
    table: &'a str,
    key: &'a str,
    flag: &'a str,
}

/// The file's value, else the flag's; fails, naming both, where both are given and differ, and
/// where either is empty.
fn merge<T: Setting>(file: &Option<T>, flag: &Option<T>, names: Names) -> Result<Option<T>> {
    if file.as_ref().is_some_and(T::is_empty) {
        bail!("`{}` in {} is empty", names.key, names.table);
    }
    if flag.as_ref().is_some_and(T::is_empty) {
        bail!("`{}` is empty", names.flag);
    }
    match (file, flag) {
        (Some(file), Some(flag)) if !file.same(flag) => bail!(
            "`{}` is {} in {} but `{}` says {}; give it in one place",
            names.key,
            file.shown(),
            names.table,
            names.flag,
            flag.shown()
        ),
        (file, flag) => Ok(file.clone().or_else(|| flag.clone())),
    }
}

impl ServerSettings {
    /// These settings with the command line's: `flags` holds what was given there (a switch
    /// given is `Some`, one left out `None`). Fails where a flag and the file disagree, or
    /// where the result turns the compile cache off and names a directory for it.
    ///
    /// ```
    /// # use wasgi_host::serving::ServerSettings;
    /// let file = ServerSettings { workers: std::num::NonZeroUsize::new(2), ..Default::default() };
    /// let flags = ServerSettings { pin_workers: Some(true), ..Default::default() };
    /// let merged = file.with_flags(&flags).unwrap();
    /// assert_eq!((merged.workers.unwrap().get(), merged.pin_workers), (2, Some(true)));
    /// ```
    pub fn with_flags(&self, flags: &ServerSettings) -> Result<ServerSettings> {
        let names = |key, flag| Names {
            table: "[server]",
            key,
            flag,
        };
        let merged = ServerSettings {
            listen: merge(&self.listen, &flags.listen, names("listen", "--listen"))?,
            workers: merge(&self.workers, &flags.workers, names("workers", "--workers"))?,
            pin_workers: merge(
                &self.pin_workers,
                &flags.pin_workers,
                names("pin_workers", "--pin-workers"),
            )?,
            access_log: merge(
                &self.access_log,
                &flags.access_log,
                names("access_log", "--no-access-log"),
            )?,
            cache_dir: merge(
                &self.cache_dir,
                &flags.cache_dir,
                names("cache_dir", "--cache-dir"),
            )?,
            cache: merge(&self.cache, &flags.cache, names("cache", "--no-cache"))?,
        };
        if let (Some(false), Some(dir)) = (merged.cache, &merged.cache_dir) {
            bail!(
                "the compile cache is off (`cache = false` in [server] or `--no-cache`) but \
                 `{}` is named as its directory; give one or the other",
                dir.display()
            );
        }
        Ok(merged)
    }

    /// Makes the file's relative paths relative to `base`, the file's directory.
    pub fn resolve(&mut self, base: &Path) {
        resolve(&mut self.cache_dir, base);
    }

    /// The compile cache directory: the one given, else `$XDG_CACHE_HOME/wasgi` or
    /// `~/.cache/wasgi`; `None` when the cache is off or there is no home to put it in.
    pub fn cache_dir_or_default(&self) -> Option<PathBuf> {
        if self.cache == Some(false) {
            return None;
        }
        self.cache_dir
            .clone()
            .or_else(|| user_dir("XDG_CACHE_HOME", ".cache"))
    }
}

impl AdminSettings {
    /// These settings with the command line's, as [`ServerSettings::with_flags`]. Fails where
    /// a flag and the file disagree, or where a setting is given without the listener it is
    /// for.
    ///
    /// ```
    /// # use wasgi_host::serving::AdminSettings;
    /// let flags = AdminSettings { data_dir: Some("/var/lib/wasgi".into()), ..Default::default() };
    /// let error = AdminSettings::default().with_flags(&flags).unwrap_err();
    /// assert!(error.to_string().contains("needs the admin listener"));
    /// ```
    pub fn with_flags(&self, flags: &AdminSettings) -> Result<AdminSettings> {
        let names = |key, flag| Names {
            table: "[admin]",
            key,
            flag,
        };
        let (token_file, max_module_size, data_dir) = (
            names("token_file", "--admin-token-file"),
            names("max_module_size", "--admin-max-module-size"),
            names("data_dir", "--data-dir"),
        );
        // What needs the listener, and whether the file or the flags gave it.
        let needs_listener = [
            (
                &token_file,
                self.token_file.is_some(),
                flags.token_file.is_some(),
            ),
            (
                &max_module_size,
                self.max_module_size.is_some(),
                flags.max_module_size.is_some(),
            ),
            (&data_dir, self.data_dir.is_some(), flags.data_dir.is_some()),
        ]
        .into_iter()
        .find_map(|(names, in_file, as_flag)| match (in_file, as_flag) {
            (true, _) => Some(format!("`{}` in {}", names.key, names.table)),
            (false, true) => Some(format!("`{}`", names.flag)),
            (false, false) => None,
        });
        let merged = AdminSettings {
            listen: merge(
                &self.listen,
                &flags.listen,
                names("listen", "--admin-listen"),
            )?,
            token_file: merge(&self.token_file, &flags.token_file, token_file)?,
            max_module_size: merge(
                &self.max_module_size,
                &flags.max_module_size,
                max_module_size,
            )?,
            data_dir: merge(&self.data_dir, &flags.data_dir, data_dir)?,
        };
        if let (None, Some(what)) = (merged.listen, needs_listener) {
            bail!(
                "{what} needs the admin listener: give `--admin-listen ADDR` or `listen` in \
                 [admin]"
            );
        }
        if merged.max_module_size == Some(ByteSize(0)) {
            bail!("the largest module a deploy may upload is 0 bytes: no deploy could succeed");
        }
        Ok(merged)
    }

    /// Makes the file's relative paths relative to `base`, the file's directory.
    pub fn resolve(&mut self, base: &Path) {
        resolve(&mut self.token_file, base);
        resolve(&mut self.data_dir, base);
    }

    /// The largest module a deploy may upload, in bytes.
    pub fn max_module_size_or_default(&self) -> u64 {
        self.max_module_size
            .unwrap_or(DEFAULT_MAX_MODULE_SIZE)
            .as_u64()
    }

    /// The data directory: the one given, else `$XDG_DATA_HOME/wasgi` or
    /// `~/.local/share/wasgi`.
    pub fn data_dir_or_default(&self) -> Result<PathBuf> {
        self.data_dir
            .clone()
            .or_else(|| user_dir("XDG_DATA_HOME", ".local/share"))
            .ok_or_else(|| {
                anyhow::anyhow!("no data directory: give --data-dir or `data_dir` in [admin]")
            })
    }
}

/// Refuses a data directory or token file inside the compile cache's own directory, whose
/// cleanup deletes files it does not recognise.
///
/// ```
/// # use wasgi_host::serving::{AdminSettings, ServerSettings, check_apart};
/// let server = ServerSettings { cache_dir: Some("/var/cache/wasgi".into()), ..Default::default() };
/// let admin = AdminSettings { data_dir: Some("/var/cache/wasgi/wasmtime/apps".into()), ..Default::default() };
/// assert!(check_apart(&server, &admin).is_err());
/// ```
pub fn check_apart(server: &ServerSettings, admin: &AdminSettings) -> Result<()> {
    let Some(cache) = server.cache_dir_or_default() else {
        return Ok(());
    };
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let compiled = absolute(&cache.join(COMPILED_SUBDIR));
    for (what, path) in [
        ("the data directory", &admin.data_dir),
        ("the admin token file", &admin.token_file),
    ] {
        if let Some(path) = path
            .as_deref()
            .filter(|p| absolute(p).starts_with(&compiled))
        {
            bail!(
                "{what} `{}` is inside `{}`, where the compile cache deletes what it does not \
                 know; put it elsewhere",
                path.display(),
                compiled.display()
            );
        }
    }
    Ok(())
}

/// wasgi's directory under the XDG base directory `variable` names, else under `home_dir` in
/// `$HOME`; `None` when neither variable is set.
fn user_dir(variable: &str, home_dir: &str) -> Option<PathBuf> {
    let base = std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(home_dir)))?;
    Some(base.join("wasgi"))
}

/// `path` relative to `base` where it is relative; an empty one stays empty, for the merge to
/// refuse.
fn resolve(path: &mut Option<PathBuf>, base: &Path) {
    let relative = |path: &&mut PathBuf| path.is_relative() && !path.as_os_str().is_empty();
    if let Some(path) = path.as_mut().filter(relative) {
        *path = base.join(&*path);
    }
}

/// `workers`: a count of at least 1, said in those words rather than serde's "nonzero usize".
fn at_least_one<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NonZeroUsize>, D::Error> {
    struct Count;
    impl serde::de::Visitor<'_> for Count {
        type Value = NonZeroUsize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a count of at least 1")
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<NonZeroUsize, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("{n} is not a count of at least 1"))),
            }
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<NonZeroUsize, E> {
            usize::try_from(n)
                .ok()
                .and_then(NonZeroUsize::new)
                .ok_or_else(|| E::custom(format!("{n} is not a count of at least 1")))
        }
    }
    deserializer.deserialize_u64(Count).map(Some)
}

/// `max_module_size`: a size with its unit, `"64MiB"`, as the flag and `[limits]` take it.
fn size<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<ByteSize>, D::Error> {
    struct Size;
    impl serde::de::Visitor<'_> for Size {
        type Value = ByteSize;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a size such as \"64MiB\"")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ByteSize, E> {
            parse_size(text).map(ByteSize).map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Size).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(result: Result<impl std::fmt::Debug>) -> String {
        format!("{:#}", result.unwrap_err())
    }

    #[test]
    fn a_path_given_twice_may_be_spelled_differently_but_must_name_one_place() {
        let here = std::env::current_dir().unwrap();
        let file = ServerSettings {
            cache_dir: Some(here.join("cache")),
            ..ServerSettings::default()
        };
        let same = ServerSettings {
            cache_dir: Some("cache".into()),
            ..ServerSettings::default()
        };
        assert_eq!(file.with_flags(&same).unwrap(), file);
        let elsewhere = ServerSettings {
            cache_dir: Some("/elsewhere".into()),
            ..ServerSettings::default()
        };
        assert_eq!(
            error(file.with_flags(&elsewhere)),
            format!(
                "`cache_dir` is `{}` in [server] but `--cache-dir` says `/elsewhere`; give it \
                 in one place",
                here.join("cache").display()
            )
        );
    }

    #[test]
    fn the_cache_cannot_be_off_and_have_a_directory() {
        let off = ServerSettings {
            cache: Some(false),
            ..ServerSettings::default()
        };
        let dir = ServerSettings {
            cache_dir: Some("/var/cache/wasgi".into()),
            ..ServerSettings::default()
        };
        for (file, flags) in [(&off, &dir), (&dir, &off)] {
            assert!(error(file.with_flags(flags)).contains(
                "the compile cache is off (`cache = false` in [server] or `--no-cache`) but \
                     `/var/cache/wasgi` is named as its directory"
            ));
        }
        assert_eq!(off.with_flags(&off).unwrap().cache_dir_or_default(), None);
        assert_eq!(
            dir.with_flags(&ServerSettings::default())
                .unwrap()
                .cache_dir_or_default(),
            Some(PathBuf::from("/var/cache/wasgi"))
        );
    }

    #[test]
    fn admin_settings_need_the_listener_and_say_where_they_were_given() {
        let no_listener = AdminSettings::default();
        let data_dir = AdminSettings {
            data_dir: Some("/var/lib/wasgi".into()),
            ..AdminSettings::default()
        };
        assert_eq!(
            error(no_listener.with_flags(&data_dir)),
            "`--data-dir` needs the admin listener: give `--admin-listen ADDR` or `listen` in \
             [admin]"
        );
        let size = AdminSettings {
            max_module_size: Some(ByteSize::mib(1)),
            ..AdminSettings::default()
        };
        assert!(
            error(size.with_flags(&no_listener))
                .starts_with("`max_module_size` in [admin] needs the admin listener")
        );
        // With the listener from the flags, the file may hold the rest.
        let listener = AdminSettings {
            listen: Some("127.0.0.1:9000".parse().unwrap()),
            ..AdminSettings::default()
        };
        let merged = size.with_flags(&listener).unwrap();
        assert_eq!(
            (merged.listen, merged.max_module_size_or_default()),
            (listener.listen, 1 << 20)
        );
        assert_eq!(
            no_listener
                .with_flags(&no_listener)
                .unwrap()
                .max_module_size_or_default(),
            64 << 20
        );
        let bigger = AdminSettings {
            max_module_size: Some(ByteSize::mib(2)),
            ..listener.clone()
        };
        assert_eq!(
            error(size.with_flags(&bigger)),
            "`max_module_size` is 1.0 MiB in [admin] but `--admin-max-module-size` says 2.0 \
             MiB; give it in one place"
        );
        let nothing = AdminSettings {
            max_module_size: Some(ByteSize(0)),
            ..listener
        };
        assert!(error(no_listener.with_flags(&nothing)).contains("0 bytes"));
    }

    #[test]
    fn empty_paths_are_refused() {
        let empty = ServerSettings {
            cache_dir: Some(PathBuf::new()),
            ..ServerSettings::default()
        };
        assert_eq!(
            error(empty.with_flags(&ServerSettings::default())),
            "`cache_dir` in [server] is empty"
        );
        assert_eq!(
            error(ServerSettings::default().with_flags(&empty)),
            "`--cache-dir` is empty"
        );
        let empty = AdminSettings {
            listen: Some("127.0.0.1:9000".parse().unwrap()),
            data_dir: Some(PathBuf::new()),
            ..AdminSettings::default()
        };
        assert_eq!(
            error(empty.with_flags(&AdminSettings::default())),
            "`data_dir` in [admin] is empty"
        );
    }

    #[test]
    fn nothing_of_the_admins_may_live_where_the_cache_cleans_up() {
        let server = ServerSettings {
            cache_dir: Some("/srv/wasgi".into()),
            ..ServerSettings::default()
        };
        let beside = AdminSettings {
            data_dir: Some("/srv/wasgi".into()),
            token_file: Some("/srv/wasgi/admin.token".into()),
            ..AdminSettings::default()
        };
        check_apart(&server, &beside).unwrap();
        let inside = AdminSettings {
            token_file: Some("/srv/wasgi/wasmtime/admin.token".into()),
            ..AdminSettings::default()
        };
        assert_eq!(
            error(check_apart(&server, &inside)),
            "the admin token file `/srv/wasgi/wasmtime/admin.token` is inside \
             `/srv/wasgi/wasmtime`, where the compile cache deletes what it does not know; put \
             it elsewhere"
        );
        let off = ServerSettings {
            cache: Some(false),
            ..ServerSettings::default()
        };
        check_apart(&off, &inside).unwrap();
    }

    #[test]
    fn relative_paths_of_a_file_are_relative_to_it() {
        let mut admin = AdminSettings {
            token_file: Some("admin.token".into()),
            data_dir: Some("/var/lib/wasgi".into()),
            ..AdminSettings::default()
        };
        admin.resolve(Path::new("/etc/wasgi"));
        assert_eq!(
            admin.token_file.as_deref(),
            Some(Path::new("/etc/wasgi/admin.token"))
        );
        assert_eq!(admin.data_dir.as_deref(), Some(Path::new("/var/lib/wasgi")));
    }
}
