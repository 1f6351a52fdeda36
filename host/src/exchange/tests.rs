//! The exchange's protocol rules, checked without a network or a guest.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Body as _, Frame};

use super::*;

fn request_body(chunks: &[&'static [u8]]) -> RequestBodyStream {
    let frames: Vec<Result<Frame<Bytes>, Box<dyn StdError + Send + Sync>>> = chunks
        .iter()
        .map(|c| Ok(Frame::data(Bytes::from_static(c))))
        .collect();
    StreamBody::new(futures_util::stream::iter(frames)).boxed()
}

fn empty() -> RequestBodyStream {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn start(status: u16, headers: &[(&str, &str)]) -> SendEvent {
    SendEvent::HttpResponseStart(ResponseStart {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
    })
}

fn body(data: &[u8], more_body: bool) -> SendEvent {
    SendEvent::HttpResponseBody(ResponseBody {
        body: data.to_vec(),
        more_body,
    })
}

fn invalid_event(result: Result<(), SendError>) -> String {
    match result {
        Err(SendError::InvalidEvent(why)) => why,
        other => panic!("expected invalid-event, got {other:?}"),
    }
}

fn chunk(event: ReceiveEvent) -> (Vec<u8>, bool) {
    match event {
        ReceiveEvent::HttpRequest(RequestBody { body, more_body }) => (body, more_body),
        ReceiveEvent::HttpDisconnect => panic!("expected a body chunk, got a disconnect"),
    }
}

#[tokio::test]
async fn request_chunks_arrive_in_order_and_the_last_says_so() {
    let (mut exchange, _response) = Exchange::new(request_body(&[b"ab", b"cd"]), u64::MAX);
    assert_eq!(chunk(exchange.receive().await), (b"ab".to_vec(), true));
    assert_eq!(chunk(exchange.receive().await).0, b"cd");
    // A stream of unknown length ends with an empty last chunk if the data didn't say so.
    let mut last = chunk(exchange.receive().await);
    while last.1 {
        last = chunk(exchange.receive().await);
    }
    assert_eq!(last, (Vec::new(), false));
}

#[tokio::test]
async fn a_one_chunk_response_is_sent_whole_with_its_length() {
    let (mut exchange, response) = Exchange::new(empty(), u64::MAX);
    exchange
        .send(start(201, &[("content-type", "text/plain")]))
        .await
        .unwrap();
    exchange.send(body(b"hello", false)).await.unwrap();
    assert_eq!(exchange.finish(None), Outcome::Complete);
    let response = response.await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.body().size_hint().exact(), Some(5));
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "hello"
    );
}

#[tokio::test]
async fn a_streamed_response_arrives_chunk_by_chunk_and_ends_cleanly() {
    let (mut exchange, response) = Exchange::new(empty(), u64::MAX);
    exchange.send(start(200, &[])).await.unwrap();
    exchange.send(body(b"a", true)).await.unwrap();
    let response = response.await.unwrap();
    let reader = tokio::spawn(async move { response.into_body().collect().await });
    exchange.send(body(b"b", true)).await.unwrap();
    exchange.send(body(b"c", false)).await.unwrap();
    assert_eq!(exchange.finish(None), Outcome::Complete);
    assert_eq!(reader.await.unwrap().unwrap().to_bytes(), "abc");
}

#[tokio::test]
async fn a_guest_that_stops_mid_body_aborts_the_response() {
    let (mut exchange, response) = Exchange::new(empty(), u64::MAX);
    exchange.send(start(200, &[])).await.unwrap();
    exchange.send(body(b"partial", true)).await.unwrap();
    assert_eq!(exchange.finish(None), Outcome::Truncated);
    let error = response
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the guest stopped before completing its response body"
    );
}

#[tokio::test]
async fn no_response_or_only_a_start_is_a_500() {
    for events in [vec![], vec![start(200, &[])]] {
        let (mut exchange, response) = Exchange::new(empty(), u64::MAX);
        for event in events {
            exchange.send(event).await.unwrap();
        }
        assert_eq!(exchange.finish(None), Outcome::NoResponse);
        let response = response.await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "Internal Server Error"
        );
    }
}

#[tokio::test]
async fn protocol_violations_are_refused_and_leave_the_exchange_usable() {
    let (mut exchange, response) = Exchange::new(empty(), u64::MAX);
    assert_eq!(
        invalid_event(exchange.send(body(b"x", false)).await),
        "http-response-body before http-response-start"
    );
    assert_eq!(
        invalid_event(exchange.send(start(1000, &[])).await),
        "`1000` is not an HTTP status code"
    );
    assert_eq!(
        invalid_event(exchange.send(start(200, &[("bad name", "x")])).await),
        "`bad name` is not a valid header name"
    );
    exchange.send(start(200, &[])).await.unwrap();
    assert_eq!(
        invalid_event(exchange.send(start(200, &[])).await),
        "http-response-start was already sent"
    );
    exchange.send(body(b"ok", false)).await.unwrap();
    assert_eq!(
        invalid_event(exchange.send(body(b"more", false)).await),
        "the response is already complete"
    );
    assert_eq!(exchange.finish(None), Outcome::Complete);
    assert_eq!(response.await.unwrap().status(), 200);
}

#[tokio::test]
async fn sending_to_a_client_that_left_is_disconnected() {
    let (mut exchange, response) = Exchange::new(empty(), u64::MAX);
    drop(response);
    exchange.send(start(200, &[])).await.unwrap();
    assert!(matches!(
        exchange.send(body(b"x", true)).await,
        Err(SendError::Disconnected)
    ));
    assert!(matches!(
        exchange.send(body(b"y", false)).await,
        Err(SendError::Disconnected)
    ));
    assert_eq!(exchange.finish(None), Outcome::ClientGone);
}

#[tokio::test]
async fn receive_after_the_body_waits_for_the_client_to_leave() {
    let (mut exchange, response) = Exchange::new(empty(), u64::MAX);
    assert_eq!(chunk(exchange.receive().await), (Vec::new(), false));
    drop(response);
    assert!(matches!(
        exchange.receive().await,
        ReceiveEvent::HttpDisconnect
    ));
}

#[tokio::test]
async fn receive_after_a_complete_response_is_an_immediate_disconnect() {
    let (mut exchange, _response) = Exchange::new(empty(), u64::MAX);
    let _ = exchange.receive().await;
    exchange.send(start(204, &[])).await.unwrap();
    exchange.send(body(b"", false)).await.unwrap();
    assert!(matches!(
        exchange.receive().await,
        ReceiveEvent::HttpDisconnect
    ));
    assert!(matches!(
        exchange.receive().await,
        ReceiveEvent::HttpDisconnect
    ));
}

#[tokio::test]
async fn a_request_body_that_fails_is_a_disconnect() {
    let failing: Vec<Result<Frame<Bytes>, Box<dyn StdError + Send + Sync>>> = vec![
        Ok(Frame::data(Bytes::from_static(b"a"))),
        Err("connection reset".into()),
    ];
    let (mut exchange, _response) = Exchange::new(
        StreamBody::new(futures_util::stream::iter(failing)).boxed(),
        u64::MAX,
    );
    assert_eq!(chunk(exchange.receive().await).0, b"a");
    assert!(matches!(
        exchange.receive().await,
        ReceiveEvent::HttpDisconnect
    ));
    assert!(matches!(
        exchange.send(start(200, &[])).await,
        Err(SendError::Disconnected)
    ));
}

#[tokio::test]
async fn a_body_past_the_limit_is_a_disconnect_and_a_413() {
    let (mut exchange, response) = Exchange::new(request_body(&[b"abc", b"def"]), 4);
    assert_eq!(chunk(exchange.receive().await).0, b"abc");
    assert!(matches!(
        exchange.receive().await,
        ReceiveEvent::HttpDisconnect
    ));
    assert!(matches!(
        exchange.send(start(200, &[])).await,
        Err(SendError::Disconnected)
    ));
    assert_eq!(exchange.finish(None), Outcome::TooLarge);
    let response = response.await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "Payload Too Large"
    );
}

#[tokio::test]
async fn a_guest_past_its_deadline_before_answering_is_a_504() {
    let (exchange, response) = Exchange::new(empty(), u64::MAX);
    assert_eq!(exchange.finish(Some(Failure::Timeout)), Outcome::NoResponse);
    let response = response.await.unwrap();
    assert_eq!(response.status(), 504);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "Gateway Timeout"
    );
}
