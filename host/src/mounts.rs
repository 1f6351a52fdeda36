//! Which app answers a request: among the apps for its host name, the one with the longest
//! mount prefix that the path is under (at a segment boundary: `/api` takes `/api/x`, not
//! `/apix`).

use std::sync::Arc;

use crate::app::App;
use crate::config::normalize_mount;

/// The apps of a host and where they are mounted.
pub struct Mounts {
    /// Longest prefix first (host-specific before catch-all), so the first match wins.
    mounts: Vec<Mount>,
}

struct Mount {
    /// Without a trailing slash; `""` at the root.
    prefix: String,
    /// Lower-case; empty for any host.
    hosts: Vec<String>,
    app: Arc<App>,
}

impl Mounts {
    /// One app at the root, for any host.
    pub fn single(app: Arc<App>) -> Self {
        Mounts {
            mounts: vec![Mount {
                prefix: String::new(),
                hosts: Vec::new(),
                app,
            }],
        }
    }

    /// Apps with their mount prefixes and host names.
    pub fn new(apps: Vec<(String, Vec<String>, Arc<App>)>) -> Self {
        let mut mounts: Vec<Mount> = apps
            .into_iter()
            .map(|(mount, hosts, app)| Mount {
                prefix: normalize_mount(&mount),
                hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
                app,
            })
            .collect();
        // Longest prefix first; at equal length, an app for named hosts before a catch-all.
        mounts.sort_by_key(|m| (std::cmp::Reverse(m.prefix.len()), m.hosts.is_empty()));
        Mounts { mounts }
    }

    /// The app for a request to `host` (the `Host` header, port ignored) and `path`, and its
    /// mount prefix: ASGI's `root_path`.
    pub fn select(&self, host: Option<&str>, path: &str) -> Option<(&Arc<App>, &str)> {
        let host = host.map(|h| {
            h.rsplit_once(':')
                .map_or(h, |(name, _)| name)
                .to_ascii_lowercase()
        });
        self.mounts
            .iter()
            .filter(|m| m.hosts.is_empty() || host.as_ref().is_some_and(|h| m.hosts.contains(h)))
            .find(|m| {
                m.prefix.is_empty()
                    || path == m.prefix
                    || path
                        .strip_prefix(&m.prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|m| (&m.app, m.prefix.as_str()))
    }

    /// Every app, once.
    pub fn apps(&self) -> impl Iterator<Item = &Arc<App>> {
        self.mounts.iter().map(|m| &m.app)
    }
}

/// Whether two apps, each a mount prefix and host names, would answer the same requests: the
/// same prefix, and both for any host or for a host name in common. A host-specific app beside
/// a catch-all at one prefix is fine.
pub fn clash(a: (&str, &[String]), b: (&str, &[String])) -> bool {
    let ((a_mount, a_hosts), (b_mount, b_hosts)) = (a, b);
    normalize_mount(a_mount) == normalize_mount(b_mount)
        && ((a_hosts.is_empty() && b_hosts.is_empty())
            || a_hosts.iter().any(|host| b_hosts.contains(host)))
}
