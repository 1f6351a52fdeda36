//! The ASGI-shaped protocol an [`App`](crate::App) speaks: the scope, and the events it
//! receives and sends. On Wasm these are the WIT imports; in tests, the [`TestClient`](crate::TestClient).

/// One raw header: (name, value). Names are lower-case; repeats are kept.
pub type RawHeader = (Vec<u8>, Vec<u8>);

/// Everything known about a request before its body, as in ASGI's HTTP connection scope.
///
/// # Example
///
/// ```
/// let scope = wasgi::asgi::Scope::get("/items/5?q=x");
/// assert_eq!(scope.method, "GET");
/// assert_eq!(scope.path, "/items/5");
/// assert_eq!(scope.query_string, b"q=x");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `"1.0"`, `"1.1"` or `"2"`.
    pub http_version: String,
    /// The request method, upper-case.
    pub method: String,
    /// `"http"` or `"https"`.
    pub scheme: String,
    /// The percent-decoded path, without `root_path`.
    pub path: String,
    /// The path as it arrived, still percent-encoded.
    pub raw_path: Vec<u8>,
    /// The query string, without `?`, still percent-encoded.
    pub query_string: Vec<u8>,
    /// The prefix the app is mounted under; `""` at the root.
    pub root_path: String,
    /// The request headers, raw, repeats kept.
    pub headers: Vec<RawHeader>,
    /// The client's (host, port), when known.
    pub client: Option<(String, u16)>,
    /// The server's (host, port), when known.
    pub server: Option<(String, u16)>,
}

impl Scope {
    /// A scope for `method` and `target` (a path with an optional `?query`), as an HTTP/1.1
    /// request from a test client would have. The path is percent-decoded like a server does.
    ///
    /// # Example
    ///
    /// ```
    /// let scope = wasgi::asgi::Scope::new("POST", "/a%20b");
    /// assert_eq!(scope.path, "/a b");
    /// assert_eq!(scope.raw_path, b"/a%20b");
    /// ```
    pub fn new(method: &str, target: &str) -> Self {
        let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
        Scope {
            http_version: "1.1".to_owned(),
            method: method.to_ascii_uppercase(),
            scheme: "http".to_owned(),
            path: percent_encoding::percent_decode_str(raw_path)
                .decode_utf8_lossy()
                .into_owned(),
            raw_path: raw_path.as_bytes().to_vec(),
            query_string: query.as_bytes().to_vec(),
            root_path: String::new(),
            headers: vec![(b"host".to_vec(), b"testserver".to_vec())],
            client: Some(("testclient".to_owned(), 50000)),
            server: Some(("testserver".to_owned(), 80)),
        }
    }

    /// Shorthand for [`Scope::new`] with `GET`.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(wasgi::asgi::Scope::get("/").method, "GET");
    /// ```
    pub fn get(target: &str) -> Self {
        Self::new("GET", target)
    }
}

/// What [`Receiver::receive`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveEvent {
    /// A chunk of the request body; the last has `more_body: false`.
    Request {
        /// The chunk's bytes.
        body: Vec<u8>,
        /// Whether more chunks follow.
        more_body: bool,
    },
    /// The client is gone, or the response is complete.
    Disconnect,
}

/// What a [`Sender`] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendEvent {
    /// The status and headers; first, exactly once.
    ResponseStart {
        /// The status code.
        status: u16,
        /// The headers, raw.
        headers: Vec<RawHeader>,
    },
    /// A chunk of the response body; the last has `more_body: false`.
    ResponseBody {
        /// The chunk's bytes.
        body: Vec<u8>,
        /// Whether more chunks follow.
        more_body: bool,
    },
}

/// Why a [`SendEvent`] was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The client went away.
    Disconnected,
    /// The event broke the protocol; the text says how.
    InvalidEvent(String),
}

/// The source of request events: ASGI's `receive`.
pub trait Receiver {
    /// Waits for the next event.
    fn receive(&mut self) -> ReceiveEvent;
}

/// The sink of response events: ASGI's `send`.
pub trait Sender {
    /// Sends one event, waiting while the client is not ready for more.
    fn send(&mut self, event: SendEvent) -> Result<(), SendError>;
}
