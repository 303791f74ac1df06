//! A tiny HTTP server on 127.0.0.1 standing in for an application server behind
//! HAProxy: it answers `HTTP/1.1 200 OK` to every request (HAProxy's `GET /` health
//! check), and can be stopped and started again on the same port.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::try_wait_for;

/// A backend listener; stopped when dropped.
pub struct Listener {
    pub port: u16,
    task: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens on a free port.
    pub async fn start() -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let task = Some(tokio::spawn(serve(listener)));
        Listener { port, task }
    }

    /// `n` listeners.
    pub async fn start_many(n: usize) -> Vec<Listener> {
        let mut all = Vec::new();
        for _ in 0..n {
            all.push(Listener::start().await);
        }
        all
    }

    /// Closes the port: new connections are refused from the moment this returns.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens on the same port again.
    pub async fn resume(&mut self) {
        assert!(self.task.is_none(), "resume after stop");
        let addr = format!("127.0.0.1:{}", self.port);
        let bound = try_wait_for(crate::common::DEADLINE, async || {
            TcpListener::bind(&addr).await.ok()
        })
        .await;
        let listener = bound.unwrap_or_else(|| panic!("cannot listen on {addr} again"));
        self.task = Some(tokio::spawn(serve(listener)));
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn serve(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(answer(stream));
    }
}

/// Reads the request head (bounded in size and time) and answers 200.
async fn answer(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read_head = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    let complete = tokio::time::timeout(Duration::from_secs(5), read_head).await;
    if complete != Ok(true) {
        return;
    }
    let response = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
