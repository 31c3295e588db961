//! A minimal HTTP/1.1 keep-alive server for the benches' fakes of the CRM and the Graph API:
//! fast enough never to be what a bench measures (wiremock would be), and just enough HTTP for
//! reqwest's requests (a `Content-Length` body, no chunking). A [`Handler`] turns each request
//! into the exact bytes of its answer.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the fake read it.
pub(crate) struct Request {
    /// `POST /path HTTP/1.1`, without the line break.
    pub(crate) line: String,
    /// Header names (as sent) and trimmed values.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// When the whole request had been read.
    pub(crate) arrived: Instant,
}

impl Request {
    /// The value of header `name` (case-insensitive), if sent.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What a fake does with each request: the full answer, status line to body.
pub(crate) trait Handler: Send + Sync + 'static {
    fn answer(&self, request: Request) -> impl Future<Output = Vec<u8>> + Send;
}

/// A running fake; stops accepting when dropped.
pub(crate) struct Server {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    accept: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Serves `handler` on a free loopback port.
pub(crate) async fn serve<H: Handler>(handler: Arc<H>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                // A connection the client closes ends here; nothing to report.
                let _ = serve_connection(stream, handler.as_ref()).await;
            });
        }
    });
    Server { url, accept }
}

/// Reads requests off one keep-alive connection and answers each.
async fn serve_connection<H: Handler>(stream: TcpStream, handler: &H) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let request_line = line.trim_end().to_owned();
        let (mut length, mut headers) = (0_usize, Vec::new());
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap();
                }
                assert!(
                    !name.eq_ignore_ascii_case("transfer-encoding"),
                    "the fake reads Content-Length bodies only"
                );
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let request = Request {
            line: request_line,
            headers,
            body,
            arrived: Instant::now(),
        };
        let answer = handler.answer(request).await;
        write.write_all(&answer).await?;
    }
}
