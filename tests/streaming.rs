//! End to end: bodies stream through the host and the guest in chunks, in constant memory.

mod support;

use futures_util::StreamExt as _;
use support::{Host, client};

const MIB: u64 = 1024 * 1024;

/// A deterministic, non-repeating-looking byte pattern, so a reordered or dropped chunk shows.
fn pattern_byte(offset: u64) -> u8 {
    (offset.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// `total` bytes of the pattern, in `chunk`-sized pieces, generated on the fly.
fn pattern_stream(
    total: u64,
    chunk: u64,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::iter((0..total).step_by(chunk as usize)).map(move |start| {
        let end = (start + chunk).min(total);
        Ok((start..end).map(pattern_byte).collect())
    })
}

#[tokio::test]
async fn a_200_mb_upload_is_echoed_byte_identical_in_bounded_memory() {
    let host = Host::serve_guest("examples/hello");
    let total = 200 * MIB;
    let body = reqwest::Body::wrap_stream(pattern_stream(total, 256 * 1024));
    let response = client()
        .post(host.url("/echo"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let mut received = 0u64;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        for (i, byte) in chunk.iter().enumerate() {
            let offset = received + i as u64;
            assert_eq!(*byte, pattern_byte(offset), "byte {offset} differs");
        }
        received += chunk.len() as u64;
    }
    assert_eq!(received, total);

    let peak = host.peak_rss();
    eprintln!(
        "host peak RSS after echoing {} MiB: {} MiB",
        total / MIB,
        peak / MIB
    );
    assert!(
        peak < 100 * MIB,
        "the host's peak RSS was {} MiB",
        peak / MIB
    );
}

#[tokio::test]
async fn a_body_with_content_length_is_echoed_over_http2() {
    let host = Host::serve_guest("examples/hello");
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let body: Vec<u8> = (0..3 * MIB).map(pattern_byte).collect();
    let response = client
        .post(host.url("/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), body);
}

#[tokio::test]
async fn an_empty_body_is_echoed_as_empty() {
    let host = Host::serve_guest("examples/hello");
    let response = client().post(host.url("/echo")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().len(), 0);
}
