//! Polite edges of the HTTP server, with raw TCP clients that do exactly what a
//! misbehaving or careful peer does: a request body that stalls half-way is
//! answered 408 (and the server goes on serving), and a WebSocket client's close
//! frame is answered with a close frame (once it was not, and clients saw 1006).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// How long the daemon waits for a request body (`BODY_TIMEOUT` in
/// `src/http/admin.rs`), plus the usual deadline for the answer to come.
const BODY_WAIT: Duration = Duration::from_secs(10);

/// Reads from `tcp` into `got` until `done(got)` or the end of the stream; fails
/// the test after `wait`.
async fn read_into(
    tcp: &mut TcpStream,
    got: &mut Vec<u8>,
    wait: Duration,
    done: impl Fn(&[u8]) -> bool,
) {
    let read = async {
        let mut buf = [0u8; 4096];
        while !done(got) {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    if tokio::time::timeout(wait, read).await.is_err() {
        panic!(
            "no answer within {wait:?}; read {:?}",
            String::from_utf8_lossy(got)
        );
    }
}

/// [`read_into`] a new buffer.
async fn read_until(tcp: &mut TcpStream, wait: Duration, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut got = Vec::new();
    read_into(tcp, &mut got, wait, done).await;
    got
}

fn has_head(b: &[u8]) -> bool {
    b.windows(4).any(|w| w == b"\r\n\r\n")
}

#[actix_web::test]
async fn a_request_body_that_stalls_half_way_is_answered_408() {
    let td = start_daemon(config()).await;
    let mut tcp = TcpStream::connect(td.daemon.addr).await.unwrap();
    let part = r#"{"matchers": {"target": "hapr"#;
    let head = format!(
        "POST /api/admin/silences HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{part}"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // The rest of the body never comes; the connection stays open.
    let answer = read_until(&mut tcp, BODY_WAIT + DEADLINE, |b| {
        has_head(b) && String::from_utf8_lossy(b).contains("body_timeout")
    })
    .await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"body_timeout\""), "{text}");

    let (status, body) = td.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let silence = r#"{"matchers": {"target": "haproxy/*"}, "duration": "1h", "comment": "c", "created_by": "t"}"#;
    let (status, body) = td.admin("/api/admin/silences", silence).await;
    assert_eq!(status, 201, "other requests are served as ever: {body}");
}

/// One WebSocket frame from the server (never masked): opcode and payload, once
/// `b` holds it all.
fn frame(b: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&b0, &b1) = (b.first()?, b.get(1)?);
    let (len, start) = match b1 & 0x7f {
        126 => (u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize, 4),
        127 => (
            u64::from_be_bytes(b.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = b.get(start..start + len)?;
    Some((b0 & 0x0f, payload, start + len))
}

/// The close frame among the frames of `b`, if it is complete: its code.
fn close_code(b: &[u8]) -> Option<Option<u16>> {
    let mut at = 0;
    while let Some((opcode, payload, used)) = frame(&b[at..]) {
        if opcode == 8 {
            return Some(payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])));
        }
        at += used;
    }
    None
}

#[actix_web::test]
async fn a_client_close_frame_is_answered_with_a_close_frame() {
    let td = start_daemon(config()).await;
    let mut tcp = TcpStream::connect(td.daemon.addr).await.unwrap();
    let upgrade = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
                   Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                   Sec-WebSocket-Version: 13\r\n\r\n";
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    let got = read_until(&mut tcp, DEADLINE, has_head).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");

    // Close 4000 "bye", masked as every client frame must be.
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let payload = [&4000u16.to_be_bytes()[..], b"bye"].concat();
    let mut close = vec![0x88, 0x80 | payload.len() as u8];
    close.extend_from_slice(&mask);
    close.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&close).await.unwrap();

    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut frames = got[end..].to_vec();
    read_into(&mut tcp, &mut frames, DEADLINE, |b| close_code(b).is_some()).await;
    let code = close_code(&frames).expect("a close frame before the connection ended");
    assert_eq!(
        code,
        Some(4000),
        "the close is answered with the client's code"
    );
    let rest = read_until(&mut tcp, DEADLINE, |_| false).await;
    assert!(rest.is_empty(), "nothing after the close: {rest:?}");
}
