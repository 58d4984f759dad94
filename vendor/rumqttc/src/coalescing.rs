//! Tributary patch: read coalescing in the TCP transport (see `MqttOptions::set_read_coalescing`).
//!
//! A broker writes each PUBLISH (and each PUBACK) as its own TCP segment. With the socket
//! registered for readability, every segment makes epoll return and wakes the runtime thread,
//! even while the event loop has decided not to read yet: waiting to read in batches saved the
//! reads, not the wake-ups, and on a busy connection those were most of the thread's sleeps and
//! wakes. So once a read returned data, this stream stops watching for readability until the
//! interval after that read has passed: the socket stays registered for writability only (a
//! segment arriving then wakes nobody), a timer ends the quiet period, and the stream then reads
//! what gathered without asking epoll. Only when that read finds nothing does it watch for
//! readability again, so data after a quiet spell is read at once.
//!
//! Changing what epoll watches means registering the socket again (two `epoll_ctl` calls); that
//! happens when a stream goes from idle to busy or back, not per packet.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream as StdTcpStream};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::framed::AsyncReadWrite;

/// `tcp`, reading with `interval` of coalescing; as it is when the interval is zero.
pub(crate) fn wrap(tcp: TcpStream, interval: Duration) -> io::Result<Box<dyn AsyncReadWrite>> {
    if interval.is_zero() {
        return Ok(Box::new(tcp));
    }
    Ok(Box::new(CoalescingTcp::new(tcp.into_std()?, interval)?))
}

pub(crate) struct CoalescingTcp {
    /// `None` only while being registered again, or once that failed.
    fd: Option<AsyncFd<StdTcpStream>>,
    interval: Duration,
    /// Whether epoll reports readability (no quiet period running).
    watching_reads: bool,
    /// Ends the quiet period that follows a read that returned data.
    quiet_until: Pin<Box<Sleep>>,
    /// A read within the current quiet period found nothing: none is tried again before it
    /// ends. The event loop polls its read on every turn (each request it writes, each event it
    /// hands out), and each of those reads would be a system call that finds nothing.
    drained: bool,
}

impl CoalescingTcp {
    fn new(stream: StdTcpStream, interval: Duration) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Ok(Self {
            fd: Some(register(stream, Interest::READABLE | Interest::WRITABLE)?),
            interval,
            watching_reads: true,
            quiet_until: Box::pin(tokio::time::sleep_until(Instant::now())),
            drained: false,
        })
    }

    /// The registered socket; an error once registering it again failed (the connection is
    /// then over, and rumqttc opens a new one).
    fn fd(&self) -> io::Result<&AsyncFd<StdTcpStream>> {
        self.fd
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "socket lost"))
    }

    /// Registers the socket again, for readability too or for writability only. A task waiting
    /// on the old registration is woken by its removal, and polls the new one.
    fn watch_reads(&mut self, watch: bool) -> io::Result<()> {
        let Some(registered) = self.fd.take() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "socket lost"));
        };
        let stream = registered.into_inner();
        let interest = if watch {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::WRITABLE
        };
        self.fd = Some(register(stream, interest)?);
        self.watching_reads = watch;
        Ok(())
    }

    /// One read without asking epoll: `Ready(n)` with data or end of stream, `Pending` for none.
    fn read_now(&self, buf: &mut ReadBuf<'_>) -> Poll<io::Result<usize>> {
        let fd = match self.fd() {
            Ok(fd) => fd,
            Err(error) => return Poll::Ready(Err(error)),
        };
        loop {
            match (&*fd.get_ref()).read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(n));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    /// Data was read: quiet until an interval from now.
    fn start_quiet_period(&mut self) -> io::Result<()> {
        self.quiet_until
            .as_mut()
            .reset(Instant::now() + self.interval);
        self.drained = false;
        if self.watching_reads {
            self.watch_reads(false)?;
        }
        Ok(())
    }
}

/// Registers `stream` with the runtime's reactor for `interest`.
fn register(stream: StdTcpStream, interest: Interest) -> io::Result<AsyncFd<StdTcpStream>> {
    // SAFETY: the `AsyncFd` owns the `TcpStream`, which owns its file descriptor: it stays open
    // and the same until the `AsyncFd` is dropped or `into_inner` gives the stream back, and
    // nothing here swaps the stream behind it.
    Ok(unsafe { AsyncFd::register_with_interest(stream, interest) }?)
}

impl AsyncRead for CoalescingTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.watching_reads {
            let ended = this.quiet_until.is_elapsed();
            if ended || !this.drained {
                match this.read_now(buf) {
                    // What gathered over the period: the next one starts now. Within a period,
                    // what has arrived is still read (a packet may be split over reads) until a
                    // read finds nothing, and no more is waited for.
                    Poll::Ready(Ok(n)) if n > 0 => {
                        if ended {
                            this.start_quiet_period()?;
                        }
                        return Poll::Ready(Ok(()));
                    }
                    Poll::Ready(result) => return Poll::Ready(result.map(drop)),
                    Poll::Pending => this.drained = true,
                }
            }
            ready!(this.quiet_until.as_mut().poll(cx));
            // Over, and nothing came since the last read: watch for the next data (registering
            // reports data that arrived in between at once).
            this.watch_reads(true)?;
        }
        loop {
            let mut guard = ready!(this.fd()?.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| (&*fd.get_ref()).read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    if n > 0 {
                        this.start_quiet_period()?;
                    }
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(error)) => return Poll::Ready(Err(error)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for CoalescingTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            // Tried first: the registration's readiness may be stale after registering again.
            match (&*self.fd()?.get_ref()).write(data) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => return Poll::Ready(result),
            }
            let mut guard = ready!(self.fd()?.poll_write_ready(cx))?;
            guard.clear_ready();
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.fd()?.get_ref().shutdown(Shutdown::Write))
    }
}
