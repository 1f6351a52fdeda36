//! Builds the ASGI-shaped `scope` record a guest receives from an HTTP request's head.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Version, header};
use percent_encoding::percent_decode;

use crate::bindings::wasgi::asgi::types::{Address, Scope, ScopeType};

/// A request's head, owned, as it travels to the task that runs its guest: the guest's
/// [`Scope`] borrows from it ([`RequestHead::scope_parts`]) rather than copying every string.
pub struct RequestHead {
    /// Method, URI, version and headers, as hyper parsed them.
    pub parts: http::request::Parts,
    /// The connection the request came on.
    pub connection: Arc<Connection>,
    /// The app's mount prefix (`""` at the root).
    pub root_path: String,
}

/// The two ends of a connection as a scope names them, formatted once per connection rather
/// than once per request.
pub struct Connection {
    /// The client's address as accepted, for the access log.
    peer: SocketAddr,
    client: (String, u16),
    server: (String, u16),
}

impl Connection {
    /// A connection from `client` to `server`.
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        let end = |addr: SocketAddr| (addr.ip().to_string(), addr.port());
        Connection {
            peer: client,
            client: end(client),
            server: end(server),
        }
    }

    /// The client's address.
    pub fn client(&self) -> SocketAddr {
        self.peer
    }
}

/// What a [`Scope`] borrows besides the head itself: the decoded path and the header list.
pub struct ScopeParts<'h> {
    head: &'h RequestHead,
    decoded_path: Cow<'h, str>,
    headers: Vec<(&'h [u8], &'h [u8])>,
}

impl RequestHead {
    /// The pieces the scope borrows. `path` is percent-decoded (invalid UTF-8 becomes U+FFFD,
    /// as uvicorn does) and `raw_path` keeps the bytes as sent. HTTP/2 carries the host in
    /// `:authority`, which hyper keeps in the URI, so it is added as a `host` header there, as
    /// ASGI servers do.
    pub fn scope_parts(&self) -> ScopeParts<'_> {
        let parts = &self.parts;
        let mut headers = Vec::with_capacity(parts.headers.len() + 1);
        if !parts.headers.contains_key(header::HOST)
            && let Some(authority) = parts.uri.authority()
        {
            headers.push((&b"host"[..], authority.as_str().as_bytes()));
        }
        headers.extend(
            parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes())),
        );
        ScopeParts {
            head: self,
            decoded_path: percent_decode(parts.uri.path().as_bytes()).decode_utf8_lossy(),
            headers,
        }
    }
}

impl ScopeParts<'_> {
    /// The scope for the request, as the guest's `handle` receives it.
    pub fn scope(&self) -> Scope<'_> {
        let RequestHead {
            parts,
            connection,
            root_path,
        } = self.head;
        Scope {
            type_: ScopeType::Http,
            http_version: http_version(parts.version),
            method: parts.method.as_str(),
            scheme: "http",
            path: strip_root(&self.decoded_path, root_path),
            raw_path: parts.uri.path().as_bytes(),
            query_string: parts.uri.query().unwrap_or("").as_bytes(),
            root_path,
            headers: &self.headers,
            client: Some(address(&connection.client)),
            server: Some(address(&connection.server)),
        }
    }
}

/// A connection's end as a scope's `client` or `server`.
fn address((host, port): &(String, u16)) -> Address<'_> {
    Address { host, port: *port }
}

/// The path below the mount prefix: `/api/items` under `/api` is `/items`; the prefix itself
/// is `/`.
fn strip_root<'p>(path: &'p str, root_path: &str) -> &'p str {
    match path.strip_prefix(root_path) {
        Some("") => "/",
        Some(rest) if !root_path.is_empty() => rest,
        _ => path,
    }
}

fn http_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of `request` on a connection from `client` to `server`, under `root_path`.
    fn head(
        request: http::Request<()>,
        client: &str,
        server: &str,
        root_path: &str,
    ) -> RequestHead {
        RequestHead {
            parts: request.into_parts().0,
            connection: Arc::new(Connection::new(
                client.parse().unwrap(),
                server.parse().unwrap(),
            )),
            root_path: root_path.to_owned(),
        }
    }

    fn get(uri: &str) -> http::Request<()> {
        http::Request::get(uri).body(()).unwrap()
    }

    #[test]
    fn path_is_decoded_and_raw_path_kept() {
        let head = head(
            get("/files/a%20b/%E2%9C%93?q=a%20b&x=1"),
            "127.0.0.1:5000",
            "127.0.0.1:8000",
            "",
        );
        let parts = head.scope_parts();
        let scope = parts.scope();
        assert_eq!(scope.path, "/files/a b/✓");
        assert_eq!(scope.raw_path, b"/files/a%20b/%E2%9C%93");
        assert_eq!(scope.query_string, b"q=a%20b&x=1");
        assert_eq!(scope.method, "GET");
        assert_eq!(scope.http_version, "1.1");
        assert_eq!(scope.client.unwrap().port, 5000);
        assert_eq!(scope.server.unwrap().host, "127.0.0.1");
    }

    #[test]
    fn a_mount_prefix_is_the_root_path_and_leaves_the_path() {
        let mounted = head(
            get("/api/items/5?x=1"),
            "127.0.0.1:1",
            "127.0.0.1:2",
            "/api",
        );
        let parts = mounted.scope_parts();
        let scope = parts.scope();
        assert_eq!((scope.root_path, scope.path), ("/api", "/items/5"));
        assert_eq!(scope.raw_path, b"/api/items/5");
        let prefix = head(get("/api"), "127.0.0.1:1", "127.0.0.1:2", "/api");
        assert_eq!(prefix.scope_parts().scope().path, "/");
    }

    #[test]
    fn invalid_utf8_in_path_becomes_replacement_character() {
        let head = head(get("/x%FFy"), "[::1]:1", "[::1]:2", "");
        let parts = head.scope_parts();
        let scope = parts.scope();
        assert_eq!(scope.path, "/x\u{FFFD}y");
        assert_eq!(scope.client.unwrap().host, "::1");
    }

    #[test]
    fn repeated_headers_are_kept_in_order() {
        let request = http::Request::get("/")
            .header("x-token", "a")
            .header("Accept", "*/*")
            .header("x-token", "b")
            .body(())
            .unwrap();
        let head = head(request, "127.0.0.1:1", "127.0.0.1:2", "");
        let parts = head.scope_parts();
        let scope = parts.scope();
        let tokens: Vec<_> = scope
            .headers
            .iter()
            .filter(|(name, _)| *name == b"x-token")
            .collect();
        assert_eq!(
            tokens,
            [&(&b"x-token"[..], &b"a"[..]), &(&b"x-token"[..], &b"b"[..])]
        );
        assert!(scope.headers.iter().any(|(name, _)| *name == b"accept"));
    }

    #[test]
    fn http2_authority_becomes_host_header() {
        let request = http::Request::get("http://example.com:8000/x")
            .version(Version::HTTP_2)
            .body(())
            .unwrap();
        let head = head(request, "127.0.0.1:1", "127.0.0.1:2", "");
        let parts = head.scope_parts();
        let scope = parts.scope();
        assert_eq!(scope.http_version, "2");
        assert_eq!(scope.headers[0], (&b"host"[..], &b"example.com:8000"[..]));
        assert_eq!(scope.path, "/x");
    }
}
