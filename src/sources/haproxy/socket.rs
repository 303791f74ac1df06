//! A Runtime API client: one command per connection over a unix socket or
//! `tcp://host:port`, read to the end, checked for the closing empty line and for
//! HAProxy's one-line error answers.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::runtime;
use crate::sources::{FetchError, FetchErrorKind};

/// Largest Runtime API answer read.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// How much of an answer is read at a time.
const READ_CHUNK: usize = 64 * 1024;

/// What the checks made once an answer is read need of it: its first bytes (for
/// HAProxy's error lines), its last bytes (for the closing empty line), its size.
#[derive(Default)]
struct Ends {
    head: Vec<u8>,
    tail: Vec<u8>,
    total: usize,
}

impl Ends {
    fn note(&mut self, chunk: &[u8]) {
        self.total += chunk.len();
        let room = runtime::ERROR_HEAD_BYTES.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let keep = runtime::COMPLETE_TAIL_BYTES;
        self.tail
            .extend_from_slice(&chunk[chunk.len().saturating_sub(keep)..]);
        let extra = self.tail.len().saturating_sub(keep);
        self.tail.drain(..extra);
    }
}

/// Where the Runtime API listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeAddr {
    Unix(PathBuf),
    Tcp(String),
}

impl RuntimeAddr {
    /// Reads `tcp://host:port` or a unix socket path.
    pub fn parse(text: &str) -> RuntimeAddr {
        match text.strip_prefix("tcp://") {
            Some(hostport) => RuntimeAddr::Tcp(hostport.to_string()),
            None => RuntimeAddr::Unix(PathBuf::from(text)),
        }
    }

    fn describe(&self) -> String {
        match self {
            RuntimeAddr::Unix(p) => p.display().to_string(),
            RuntimeAddr::Tcp(h) => format!("tcp://{h}"),
        }
    }
}

/// A Runtime API endpoint with the words naming it in errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeApi {
    pub addr: RuntimeAddr,
    /// e.g. `haproxy lb1 (/run/haproxy/admin.sock)`.
    pub label: String,
}

impl RuntimeApi {
    pub fn new(name: &str, addr: RuntimeAddr) -> RuntimeApi {
        let label = format!("haproxy {name} ({})", addr.describe());
        RuntimeApi { addr, label }
    }

    /// Sends one command and returns its complete answer. An error line such as
    /// `No such proxy.` is a permanent error; a connection problem is transient.
    pub async fn command(&self, cmd: &str, timeout: Duration) -> Result<Vec<u8>, FetchError> {
        self.command_sized(cmd, timeout, 0).await
    }

    /// [`RuntimeApi::command`] for an answer expected to be about `expected` bytes
    /// (the size of the last one): the buffer is sized once instead of doubling.
    pub async fn command_sized(
        &self,
        cmd: &str,
        timeout: Duration,
        expected: usize,
    ) -> Result<Vec<u8>, FetchError> {
        // A little room over the expected size, so an answer that grew a bit still
        // fits without a copy.
        let expected = expected.min(MAX_ANSWER);
        let mut answer = Vec::with_capacity(expected + expected / 16);
        self.command_streamed(cmd, timeout, &mut |chunk| answer.extend_from_slice(chunk))
            .await?;
        Ok(answer)
    }

    /// Sends one command and hands its answer to `feed` as it arrives, chunk by
    /// chunk, so that the caller never holds it whole. The answer is checked as
    /// [`RuntimeApi::command`] checks it, once it has been read: `feed` may have
    /// seen an error line or a cut answer when an error is returned.
    pub async fn command_streamed(
        &self,
        cmd: &str,
        timeout: Duration,
        feed: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<(), FetchError> {
        let exchange = self.exchange(cmd, feed);
        let ends = match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r?,
            Err(_) => {
                let t = humantime::format_duration(timeout);
                let message = format!("timeout after {t} waiting for {}", self.label);
                return Err(FetchError::new(FetchErrorKind::Timeout, message));
            }
        };
        let whole = ends.total == ends.head.len();
        if let Some(line) = runtime::error_line_of_head(&ends.head, whole) {
            let message = format!("{} answered \"{line}\" to `{}`", self.label, cmd.trim());
            let kind = if runtime::names_missing_object(&line) {
                FetchErrorKind::NotFound
            } else {
                FetchErrorKind::Reported { code: None }
            };
            return Err(FetchError::new(kind, message));
        }
        let whole = ends.total == ends.tail.len();
        if !runtime::answer_complete_tail(&ends.tail, whole) {
            let message = format!(
                "{} closed the connection before the end of the answer",
                self.label
            );
            return Err(FetchError::new(FetchErrorKind::Transport, message));
        }
        Ok(())
    }

    /// Opens a connection, sends `cmd` and hands back the stream to read its
    /// answer as it comes (for `show events <ring> -w`, which does not end).
    pub async fn open(
        &self,
        cmd: &str,
        timeout: Duration,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, FetchError> {
        let line = format!("{}\n", cmd.trim_end());
        let io = |e: std::io::Error| {
            FetchError::new(FetchErrorKind::Transport, format!("{}: {e}", self.label))
        };
        let connect = async {
            let stream: Box<dyn AsyncRead + Send + Unpin> = match &self.addr {
                RuntimeAddr::Unix(path) => {
                    let mut s = tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(|e| self.connect_error(e))?;
                    s.write_all(line.as_bytes()).await.map_err(io)?;
                    Box::new(s)
                }
                RuntimeAddr::Tcp(hostport) => {
                    let mut s = tokio::net::TcpStream::connect(hostport)
                        .await
                        .map_err(|e| self.connect_error(e))?;
                    s.write_all(line.as_bytes()).await.map_err(io)?;
                    Box::new(s)
                }
            };
            Ok(stream)
        };
        tokio::time::timeout(timeout, connect)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::new(
                    FetchErrorKind::Timeout,
                    format!("timeout connecting to {}", self.label),
                ))
            })
    }

    async fn exchange(
        &self,
        cmd: &str,
        feed: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<Ends, FetchError> {
        match &self.addr {
            RuntimeAddr::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| self.connect_error(e))?;
                self.talk(stream, cmd, feed).await
            }
            RuntimeAddr::Tcp(hostport) => {
                let stream = tokio::net::TcpStream::connect(hostport)
                    .await
                    .map_err(|e| self.connect_error(e))?;
                self.talk(stream, cmd, feed).await
            }
        }
    }

    async fn talk<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        cmd: &str,
        feed: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<Ends, FetchError> {
        let io = |e: std::io::Error| {
            FetchError::new(FetchErrorKind::Transport, format!("{}: {e}", self.label))
        };
        let line = if cmd.ends_with('\n') {
            cmd.to_string()
        } else {
            format!("{cmd}\n")
        };
        stream.write_all(line.as_bytes()).await.map_err(io)?;
        let mut buf = vec![0; READ_CHUNK];
        let mut ends = Ends::default();
        loop {
            let n = stream.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                return Ok(ends);
            }
            if ends.total + n > MAX_ANSWER {
                let message = format!(
                    "{} sent an answer larger than {} MiB",
                    self.label,
                    MAX_ANSWER >> 20
                );
                return Err(FetchError::new(FetchErrorKind::TooLarge, message));
            }
            ends.note(&buf[..n]);
            feed(&buf[..n]);
        }
    }

    fn connect_error(&self, e: std::io::Error) -> FetchError {
        let kind = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => FetchErrorKind::Refused,
            _ => FetchErrorKind::Connect,
        };
        let message = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                format!("connection refused to {}", self.label)
            }
            std::io::ErrorKind::NotFound => format!(
                "{}: the socket does not exist (is HAProxy running?)",
                self.label
            ),
            std::io::ErrorKind::PermissionDenied => {
                format!("{}: permission denied on the socket", self.label)
            }
            _ => format!("cannot connect to {}: {e}", self.label),
        };
        FetchError::new(kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;

    async fn fake_haproxy(answer: &'static [u8]) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            tokio::io::BufReader::new(read)
                .read_line(&mut line)
                .await
                .unwrap();
            write.write_all(answer).await.unwrap();
        });
        format!("tcp://{addr}")
    }

    fn api(addr: &str) -> RuntimeApi {
        RuntimeApi::new("lb1", RuntimeAddr::parse(addr))
    }

    #[tokio::test]
    async fn complete_answers_error_lines_and_cut_answers() {
        let ok = api(&fake_haproxy(b"# pxname,svname,\nbe,s1,\n\n").await);
        assert!(
            ok.command("show stat be -1 -1", Duration::from_secs(5))
                .await
                .is_ok()
        );
        let err = api(&fake_haproxy(b"No such proxy.\n\n").await);
        let e = err
            .command("show stat nope -1 -1", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("No such proxy.") && e.kind == FetchErrorKind::NotFound,
            "{e}"
        );
        let cut = api(&fake_haproxy(b"# pxname,svname,\nbe,s1,\n").await);
        let e = cut
            .command("show stat be -1 -1", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("before the end") && e.kind == FetchErrorKind::Transport,
            "{e}"
        );
    }

    /// A Runtime API that sends `answer` in pieces of `piece` bytes, ignoring a
    /// reader that hangs up.
    async fn piecewise_haproxy(answer: Vec<u8>, piece: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let _ = tokio::io::BufReader::new(read).read_line(&mut line).await;
            for chunk in answer.chunks(piece) {
                if write.write_all(chunk).await.is_err() {
                    return;
                }
                let _ = write.flush().await;
            }
        });
        format!("tcp://{addr}")
    }

    #[tokio::test]
    async fn a_streamed_answer_is_fed_whole_and_checked_like_a_read_one() {
        let answer = b"# pxname,svname,\nbe,s1,\nbe,s2,\n\n".to_vec();
        let ok = api(&piecewise_haproxy(answer.clone(), 3).await);
        let mut fed = Vec::new();
        let mut feed = |chunk: &[u8]| fed.extend_from_slice(chunk);
        ok.command_streamed("show stat -1 6 -1", Duration::from_secs(5), &mut feed)
            .await
            .unwrap();
        assert_eq!(fed, answer);
        // An error line split over pieces is still HAProxy's error.
        let err = api(&piecewise_haproxy(b"No such proxy.\n\n".to_vec(), 2).await);
        let e = err
            .command_streamed("show stat nope -1 -1", Duration::from_secs(5), &mut |_| {})
            .await
            .unwrap_err();
        assert_eq!(e.kind, FetchErrorKind::NotFound, "{e}");
        let cut = api(&piecewise_haproxy(b"# pxname,svname,\nbe,s1,\n".to_vec(), 1).await);
        let e = cut
            .command_streamed("show stat -1 6 -1", Duration::from_secs(5), &mut |_| {})
            .await
            .unwrap_err();
        assert_eq!(e.kind, FetchErrorKind::Transport, "{e}");
    }

    #[tokio::test]
    async fn an_answer_past_the_cap_is_refused_without_being_kept() {
        let garbage = vec![b'x'; MAX_ANSWER + 100];
        let huge = api(&piecewise_haproxy(garbage, 1 << 20).await);
        let mut seen = 0;
        let mut feed = |chunk: &[u8]| seen += chunk.len();
        let e = huge
            .command_streamed("show stat -1 6 -1", Duration::from_secs(30), &mut feed)
            .await
            .unwrap_err();
        assert_eq!(e.kind, FetchErrorKind::TooLarge, "{e}");
        assert!(e.message.contains("larger than 64 MiB"), "{e}");
        assert!(seen <= MAX_ANSWER, "fed {seen} bytes");
    }

    #[tokio::test]
    async fn missing_socket_and_refused_port_are_clear() {
        let e = api("/nonexistent/haproxy.sock")
            .command("show info", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(e.message.contains("does not exist"), "{e}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = api(&format!("tcp://127.0.0.1:{port}"))
            .command("show info", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            e.message.starts_with("connection refused to haproxy lb1"),
            "{e}"
        );
    }
}
