//! Lingering after a refusal: the rest of a request body is read and dropped, within bounds, so
//! that a client still sending reads the answer instead of a connection reset.
//!
//! A server that closes a connection with unread request bytes makes the kernel reset it, and a
//! client still writing its body then sees the reset, not the 413 or 401 already sent (nginx's
//! "lingering close" exists for the same reason).

use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::Body;

/// How long a refused body is read for at most.
pub const LINGER_TIME: Duration = Duration::from_secs(30);

/// How much of a request body refused for its size (413) is read after the answer; past this
/// the connection is closed.
pub const REFUSED_BODY_LIMIT: u64 = 4 << 20;

/// Reads and drops the rest of `body`, refused for its size, in the background (see
/// [`discard`]), so that the 413 already sent is what the client reads. Outside a Tokio
/// runtime the body is simply dropped.
pub fn discard_refused<B>(body: B)
where
    B: Body + Unpin + Send + 'static,
    B::Data: bytes::Buf + Send,
    B::Error: Send,
{
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(discard(body, REFUSED_BODY_LIMIT));
    }
}

/// Reads and drops `body` until it ends, `limit` more bytes have come, an error, or
/// [`LINGER_TIME`] has passed, whichever is first.
pub async fn discard<B>(mut body: B, limit: u64)
where
    B: Body + Unpin,
    B::Data: bytes::Buf,
{
    let read = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame
                .data_ref()
                .map_or(0, |data| bytes::Buf::remaining(data) as u64);
            if seen > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, read).await;
}
