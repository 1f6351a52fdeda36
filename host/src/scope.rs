//! Builds the ASGI-shaped `scope` record a guest receives from an HTTP request's head.

use std::net::SocketAddr;

use http::{Version, header};
use percent_encoding::percent_decode;

use crate::bindings::wasgi::asgi::types::{Address, Scope, ScopeType};

/// The scope for a request with head `parts`, received from `client` on `server`, for an app
/// mounted at `root_path` (`""` at the root).
///
/// `path` is percent-decoded (invalid UTF-8 becomes U+FFFD, as uvicorn does) and `raw_path`
/// keeps the bytes as sent. HTTP/2 carries the host in `:authority`, which hyper keeps in the
/// URI, so it is added as a `host` header there, as ASGI servers do.
pub fn scope(
    parts: &http::request::Parts,
    client: SocketAddr,
    server: SocketAddr,
    root_path: &str,
) -> Scope {
    let raw_path = parts.uri.path();
    let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(parts.headers.len() + 1);
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        headers.push((b"host".to_vec(), authority.as_str().as_bytes().to_vec()));
    }
    headers.extend(
        parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().as_bytes().to_vec(), value.as_bytes().to_vec())),
    );
    Scope {
        type_: ScopeType::Http,
        http_version: http_version(parts.version).to_owned(),
        method: parts.method.as_str().to_owned(),
        scheme: "http".to_owned(),
        path: strip_root(
            &percent_decode(raw_path.as_bytes()).decode_utf8_lossy(),
            root_path,
        ),
        raw_path: raw_path.as_bytes().to_vec(),
        query_string: parts.uri.query().unwrap_or("").as_bytes().to_vec(),
        root_path: root_path.to_owned(),
        headers,
        client: Some(address(client)),
        server: Some(address(server)),
    }
}

/// The path below the mount prefix: `/api/items` under `/api` is `/items`; the prefix itself
/// is `/`.
fn strip_root(path: &str, root_path: &str) -> String {
    match path.strip_prefix(root_path) {
        Some("") => "/".to_owned(),
        Some(rest) if !root_path.is_empty() => rest.to_owned(),
        _ => path.to_owned(),
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

fn address(addr: SocketAddr) -> Address {
    Address {
        host: addr.ip().to_string(),
        port: addr.port(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(request: http::Request<()>) -> http::request::Parts {
        request.into_parts().0
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn path_is_decoded_and_raw_path_kept() {
        let head = parts(
            http::Request::get("/files/a%20b/%E2%9C%93?q=a%20b&x=1")
                .body(())
                .unwrap(),
        );
        let scope = scope(&head, addr("127.0.0.1:5000"), addr("127.0.0.1:8000"), "");
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
        let head = parts(http::Request::get("/api/items/5?x=1").body(()).unwrap());
        let mounted = scope(&head, addr("127.0.0.1:1"), addr("127.0.0.1:2"), "/api");
        assert_eq!(
            (mounted.root_path.as_str(), mounted.path.as_str()),
            ("/api", "/items/5")
        );
        assert_eq!(mounted.raw_path, b"/api/items/5");
        let head = parts(http::Request::get("/api").body(()).unwrap());
        assert_eq!(
            scope(&head, addr("127.0.0.1:1"), addr("127.0.0.1:2"), "/api").path,
            "/"
        );
    }

    #[test]
    fn invalid_utf8_in_path_becomes_replacement_character() {
        let head = parts(http::Request::get("/x%FFy").body(()).unwrap());
        let scope = scope(&head, addr("[::1]:1"), addr("[::1]:2"), "");
        assert_eq!(scope.path, "/x\u{FFFD}y");
        assert_eq!(scope.client.unwrap().host, "::1");
    }

    #[test]
    fn repeated_headers_are_kept_in_order() {
        let head = parts(
            http::Request::get("/")
                .header("x-token", "a")
                .header("Accept", "*/*")
                .header("x-token", "b")
                .body(())
                .unwrap(),
        );
        let scope = scope(&head, addr("127.0.0.1:1"), addr("127.0.0.1:2"), "");
        let tokens: Vec<_> = scope
            .headers
            .iter()
            .filter(|(name, _)| name == b"x-token")
            .collect();
        assert_eq!(
            tokens,
            [
                &(b"x-token".to_vec(), b"a".to_vec()),
                &(b"x-token".to_vec(), b"b".to_vec())
            ]
        );
        assert!(scope.headers.iter().any(|(name, _)| name == b"accept"));
    }

    #[test]
    fn http2_authority_becomes_host_header() {
        let head = parts(
            http::Request::get("http://example.com:8000/x")
                .version(Version::HTTP_2)
                .body(())
                .unwrap(),
        );
        let scope = scope(&head, addr("127.0.0.1:1"), addr("127.0.0.1:2"), "");
        assert_eq!(scope.http_version, "2");
        assert_eq!(
            scope.headers[0],
            (b"host".to_vec(), b"example.com:8000".to_vec())
        );
        assert_eq!(scope.path, "/x");
    }
}
