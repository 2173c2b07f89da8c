//! Tokio peer of Keel's TCP echo server (apps/echo), run by benchmarks/echo.sh.
//!
//! The ordinary Tokio echo server: a multi_thread runtime (2 workers by default), one accept
//! loop, and per connection a spawned task that reads into a 16 KiB buffer and `write_all`s
//! what it read back. Accepted sockets get TCP_NODELAY, as Keel's server sets it, so that
//! small echoes are not held back by Nagle's algorithm on either side.
//!
//! Prints `tokio_echo listening on ADDR` to stderr once the listener is bound (ADDR is the
//! bound address, so `--listen 127.0.0.1:0` reports the port chosen), and exits 0 on SIGTERM
//! or SIGINT.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Builder;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Worker threads by default: this machine's core count, and what Keel's server and the Asio
/// peer use in echo.sh.
const DEFAULT_THREADS: usize = 2;
/// Read buffer per connection: large enough that one read takes a whole 4 KiB message (or
/// several pipelined ones), the same size as Keel's server and the Asio peer use.
const BUFFER_BYTES: usize = 16 * 1024;
/// Pause after a failed accept (EMFILE, ENFILE, ...): retrying at once would spin a worker
/// while no descriptor is free.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

const USAGE: &str = "usage: tokio_echo --listen HOST:PORT [--threads N]

Tokio TCP echo server, the peer of Keel's apps/echo in benchmarks/echo.sh.

  --listen HOST:PORT  address to listen on (port 0: any free port)
  --threads N         worker threads of the multi_thread runtime (default 2)";

struct Options {
    listen: SocketAddr,
    threads: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut listen = None;
    let mut threads = DEFAULT_THREADS;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--listen" => {
                let v = value("--listen")?;
                listen = Some(
                    v.parse::<SocketAddr>()
                        .map_err(|e| format!("--listen {v}: {e}"))?,
                );
            }
            "--threads" => {
                let v = value("--threads")?;
                threads = match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--threads needs a positive integer, got '{v}'")),
                };
            }
            _ => return Err(format!("unknown argument: {arg}")),
        }
    }
    let listen = listen.ok_or_else(|| "--listen is required".to_string())?;
    Ok(Options { listen, threads })
}

/// Echoes until the peer closes or an error (a reset at the end of a benchmark is normal).
async fn echo(mut stream: TcpStream) {
    let mut buf = vec![0u8; BUFFER_BYTES];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                // A socket that refuses NODELAY still echoes; ignore the error as Tokio's
                // examples do.
                let _ = stream.set_nodelay(true);
                tokio::spawn(echo(stream));
            }
            Err(e) => {
                eprintln!("tokio_echo: accept: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Completes when either signal arrives. A hand-written future, not `std::future::poll_fn`
/// (Rust 1.64) or `select!` (the `macros` feature): Debian 12's rustc is 1.63.
struct EitherSignal {
    a: Signal,
    b: Signal,
}

impl Future for EitherSignal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.a.poll_recv(cx).is_ready() || this.b.poll_recv(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tokio_echo: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio_echo: build runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result: std::io::Result<()> = runtime.block_on(async {
        // Signal handlers first, so that a SIGTERM sent right after the ready line is seen.
        let term = signal(SignalKind::terminate())?;
        let int = signal(SignalKind::interrupt())?;
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("listen {}: {e}", options.listen)))?;
        eprintln!("tokio_echo listening on {}", listener.local_addr()?);
        tokio::spawn(accept_loop(listener));
        EitherSignal { a: term, b: int }.await;
        Ok(())
    });
    // Cancels the accept loop and the connections' tasks without waiting for them.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_echo: {e}");
            ExitCode::from(1)
        }
    }
}
