//! A backend's answer body with a bound on the backend's silence.

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A backend's response body that fails once the backend has sent nothing for `limit`: a
/// download may take longer than the destination's `timeout` in total, but may not stall.
pub(super) struct IdleTimeout {
    inner: hyper::body::Incoming,
    limit: Duration,
    last_frame: Instant,
    /// Created on the first wait, and moved only when it fires: a frame costs a clock read, not
    /// a timer update.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl IdleTimeout {
    pub(super) fn new(inner: hyper::body::Incoming, limit: Duration) -> Self {
        IdleTimeout {
            inner,
            limit,
            last_frame: Instant::now(),
            sleep: None,
        }
    }
}

impl http_body::Body for IdleTimeout {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.last_frame = Instant::now();
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        loop {
            let deadline = this.last_frame + this.limit;
            let sleep = this.sleep.get_or_insert_with(|| {
                Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
                    deadline,
                )))
            });
            if sleep.deadline().into_std() != deadline {
                sleep
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(deadline));
            }
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if Instant::now() >= this.last_frame + this.limit => {
                    return Poll::Ready(Some(Err(format!(
                        "the backend sent nothing for {} ms",
                        this.limit.as_millis()
                    )
                    .into())));
                }
                // A frame came in after this sleep was set: wait for the new deadline.
                Poll::Ready(()) => continue,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
