//! The request body: chunks pulled from the host on demand, never more than one at a time.

use std::fmt;

use crate::asgi::{ReceiveEvent, Receiver};

/// A request body, read chunk by chunk as the handler asks for it.
///
/// Iterating yields each non-empty chunk as it arrives from the client, so a handler can
/// process an upload of any size in constant memory; [`Body::bytes`] collects it all.
///
/// # Example
///
/// ```
/// use wasgi::Body;
///
/// let body = Body::from_chunks(vec![b"hello ".to_vec(), b"world".to_vec()]);
/// let mut total = 0;
/// for chunk in body {
///     total += chunk.unwrap().len();
/// }
/// assert_eq!(total, 11);
/// ```
pub struct Body {
    source: Option<Box<dyn Receiver>>,
}

impl Body {
    /// A body read from `source`, ASGI's `receive`.
    pub fn new(source: Box<dyn Receiver>) -> Self {
        Body {
            source: Some(source),
        }
    }

    /// An empty body.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(wasgi::Body::empty().bytes().unwrap(), b"");
    /// ```
    pub fn empty() -> Self {
        Body { source: None }
    }

    /// A body made of `chunks`, delivered one by one; for tests.
    ///
    /// # Example
    ///
    /// ```
    /// let body = wasgi::Body::from_chunks(vec![b"a".to_vec(), b"b".to_vec()]);
    /// assert_eq!(body.bytes().unwrap(), b"ab");
    /// ```
    pub fn from_chunks(chunks: Vec<Vec<u8>>) -> Self {
        Body::new(Box::new(Chunks(chunks.into_iter())))
    }

    /// Reads the whole body into memory.
    ///
    /// # Example
    ///
    /// ```
    /// let body = wasgi::Body::from_chunks(vec![b"{}".to_vec()]);
    /// assert_eq!(body.bytes().unwrap(), b"{}");
    /// ```
    pub fn bytes(self) -> Result<Vec<u8>, Disconnected> {
        let mut all = Vec::new();
        for chunk in self {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }
}

impl Iterator for Body {
    type Item = Result<Vec<u8>, Disconnected>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let source = self.source.as_mut()?;
            match source.receive() {
                ReceiveEvent::Request { body, more_body } => {
                    if !more_body {
                        self.source = None;
                    }
                    if !body.is_empty() {
                        return Some(Ok(body));
                    }
                }
                ReceiveEvent::Disconnect => {
                    self.source = None;
                    return Some(Err(Disconnected));
                }
            }
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("finished", &self.source.is_none())
            .finish()
    }
}

/// The client went away before the whole request body arrived.
///
/// # Example
///
/// ```
/// assert_eq!(wasgi::Disconnected.to_string(), "the client disconnected");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the client disconnected")
    }
}

impl std::error::Error for Disconnected {}

/// A receiver replaying fixed chunks, then the end of the body.
struct Chunks(std::vec::IntoIter<Vec<u8>>);

impl Receiver for Chunks {
    fn receive(&mut self) -> ReceiveEvent {
        let body = self.0.next().unwrap_or_default();
        ReceiveEvent::Request {
            body,
            more_body: self.0.len() > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script(Vec<ReceiveEvent>);

    impl Receiver for Script {
        fn receive(&mut self) -> ReceiveEvent {
            if self.0.is_empty() {
                ReceiveEvent::Disconnect
            } else {
                self.0.remove(0)
            }
        }
    }

    fn chunk(body: &[u8], more_body: bool) -> ReceiveEvent {
        ReceiveEvent::Request {
            body: body.to_vec(),
            more_body,
        }
    }

    #[test]
    fn empty_chunks_are_skipped_and_the_last_ends_the_body() {
        let body = Body::new(Box::new(Script(vec![
            chunk(b"", true),
            chunk(b"ab", true),
            chunk(b"", true),
            chunk(b"c", false),
            chunk(b"never read", false),
        ])));
        let chunks: Vec<_> = body.map(Result::unwrap).collect();
        assert_eq!(chunks, [b"ab".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn disconnect_mid_body_is_an_error_once_then_the_end() {
        let mut body = Body::new(Box::new(Script(vec![chunk(b"ab", true)])));
        assert_eq!(body.next(), Some(Ok(b"ab".to_vec())));
        assert_eq!(body.next(), Some(Err(Disconnected)));
        assert_eq!(body.next(), None);
    }

    #[test]
    fn bytes_fails_when_the_client_leaves() {
        let body = Body::new(Box::new(Script(vec![chunk(b"ab", true)])));
        assert_eq!(body.bytes(), Err(Disconnected));
    }

    #[test]
    fn a_body_with_no_chunks_is_empty() {
        assert_eq!(Body::from_chunks(Vec::new()).bytes(), Ok(Vec::new()));
    }
}
