//! A poll's wait for its commit. 10,000 backends of one stats round wait for
//! their commits at the same moment, so what waits is a pointer's worth of state
//! (the answer's receiver) rather than a queued send; the send is only boxed
//! when the inbox is full.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::{CommitFailed, Done, Msg};
use crate::model::Observation;

type Answer = oneshot::Receiver<Result<(), CommitFailed>>;
type Sending = Pin<Box<dyn Future<Output = Result<(), CommitFailed>> + Send>>;

/// Observations on their way to a commit: resolves once they are committed and
/// published, or with why not.
pub enum Commit {
    /// Queued: waiting for the status actor's answer.
    Queued(Answer),
    /// The inbox was full: still being sent.
    Sending(Sending),
    /// The status actor has stopped.
    Stopped,
}

impl Commit {
    /// Queues `observations` to the status actor's inbox.
    pub(super) fn queue(inbox: &mpsc::Sender<Msg>, observations: Vec<Observation>) -> Commit {
        let (done, answer) = oneshot::channel();
        match inbox.try_send(Msg::observing(observations, Done::Answer(done))) {
            Ok(()) => Commit::Queued(answer),
            Err(mpsc::error::TrySendError::Closed(_)) => Commit::Stopped,
            Err(mpsc::error::TrySendError::Full(msg)) => {
                let inbox = inbox.clone();
                Commit::Sending(Box::pin(async move {
                    inbox.send(msg).await.map_err(|_| CommitFailed::Stopped)?;
                    answer.await.unwrap_or(Err(CommitFailed::Stopped))
                }))
            }
        }
    }
}

impl Commit {
    /// Queues `observations` with `then` told of their commit; a full inbox is
    /// waited for on a task of its own, a stopped actor is told at once.
    pub(super) fn queue_then(
        inbox: &mpsc::Sender<Msg>,
        observations: Vec<Observation>,
        then: Box<dyn FnOnce(Result<(), CommitFailed>) + Send>,
    ) {
        match inbox.try_send(Msg::observing(observations, Done::Then(then))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Closed(msg)) => stopped(msg),
            Err(mpsc::error::TrySendError::Full(msg)) => {
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    if let Err(mpsc::error::SendError(msg)) = inbox.send(msg).await {
                        stopped(msg);
                    }
                });
            }
        }
    }
}

/// Tells the waiter of a message the status actor will never take.
fn stopped(msg: Msg) {
    if let Some(done) = msg.done {
        done.send(Err(CommitFailed::Stopped));
    }
}

impl Future for Commit {
    type Output = Result<(), CommitFailed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Commit::Queued(answer) => Pin::new(answer)
                .poll(cx)
                .map(|r| r.unwrap_or(Err(CommitFailed::Stopped))),
            Commit::Sending(sending) => sending.as_mut().poll(cx),
            Commit::Stopped => Poll::Ready(Err(CommitFailed::Stopped)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(msg: Msg, result: Result<(), CommitFailed>) {
        msg.done.expect("a poll waits for its commit").send(result);
    }

    #[tokio::test]
    async fn queued_and_sent_commits_get_their_answers_in_order() {
        let (inbox, mut rx) = mpsc::channel(1);
        let first = Commit::queue(&inbox, Vec::new());
        let second = Commit::queue(&inbox, Vec::new());
        assert!(matches!(first, Commit::Queued(_)));
        assert!(matches!(second, Commit::Sending(_)), "the inbox was full");
        let waiting = tokio::spawn(second);
        answer(rx.recv().await.unwrap(), Ok(()));
        assert!(first.await.is_ok());
        let stopped = CommitFailed::Stopped;
        answer(rx.recv().await.unwrap(), Err(stopped));
        assert!(matches!(waiting.await.unwrap(), Err(CommitFailed::Stopped)));
    }

    #[tokio::test]
    async fn a_stopped_status_actor_is_an_error_not_a_wait() {
        let (inbox, rx) = mpsc::channel(4);
        let queued = Commit::queue(&inbox, Vec::new());
        drop(rx);
        assert!(matches!(queued.await, Err(CommitFailed::Stopped)));
        assert!(matches!(Commit::queue(&inbox, Vec::new()), Commit::Stopped));
    }
}
