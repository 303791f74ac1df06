//! Telling the pollers of a stats round that their polls are committed, one
//! message per batch and thread instead of one per poller.
//!
//! A round answers its 1,000 or 10,000 polls on the pollers' thread; the status
//! actor commits them on its own and then tells each poller. Sent one by one,
//! each of those messages wakes the pollers' thread from the other side (a
//! futex or eventfd write, then a context switch), over and over while the batch
//! is told. Inside [`gathering`], the status actor's thread keeps what it tells
//! and hands each thread's share to that thread's arbiter in one closure, which
//! delivers it there: one wake-up per batch.

use std::cell::RefCell;
use std::thread::ThreadId;

use actix::ArbiterHandle;
use actix::{Message, Recipient};

/// Where a message is to be delivered from: the arbiter of the thread that sent
/// the poll on its way, when it runs one.
pub struct Home {
    thread: ThreadId,
    arbiter: ArbiterHandle,
}

impl Home {
    /// The current thread's arbiter, if it has one.
    pub fn here() -> Option<Home> {
        Some(Home {
            thread: std::thread::current().id(),
            arbiter: actix::Arbiter::try_current()?,
        })
    }
}

/// One delivery kept until the end of a batch.
type Kept = Box<dyn FnOnce() + Send>;

/// The deliveries kept by the current [`gathering`], per home thread.
type Bag = Vec<(ThreadId, ArbiterHandle, Vec<Kept>)>;

thread_local! {
    static BAG: RefCell<Option<Bag>> = const { RefCell::new(None) };
}

/// Sends `msg` to `to`: kept for the end of the current [`gathering`] when there
/// is one and the message has a home, sent at once otherwise.
pub fn tell<M>(home: Option<Home>, to: Recipient<M>, msg: M)
where
    M: Message + Send + 'static,
    M::Result: Send,
{
    let Some(home) = home else {
        return to.do_send(msg);
    };
    let kept = BAG.with(|bag| {
        let mut bag = bag.borrow_mut();
        let Some(bag) = bag.as_mut() else {
            return Some((to, msg));
        };
        let send: Kept = Box::new(move || to.do_send(msg));
        match bag.iter_mut().find(|(t, ..)| *t == home.thread) {
            Some((.., list)) => list.push(send),
            None => bag.push((home.thread, home.arbiter, vec![send])),
        }
        None
    });
    if let Some((to, msg)) = kept {
        to.do_send(msg);
    }
}

/// Runs `f`, keeping what it [`tell`]s; then hands each home thread its share in
/// one closure, delivered there in the order told. Nested calls keep for the
/// outermost.
pub fn gathering<R>(f: impl FnOnce() -> R) -> R {
    let outer = BAG.with(|bag| {
        let mut bag = bag.borrow_mut();
        let outer = bag.is_none();
        if outer {
            *bag = Some(Vec::new());
        }
        outer
    });
    // Hands the kept deliveries on even if `f` unwinds.
    struct Flush(bool);
    impl Drop for Flush {
        fn drop(&mut self) {
            if !self.0 {
                return;
            }
            let bag = BAG.with(|bag| bag.borrow_mut().take()).unwrap_or_default();
            for (_, arbiter, list) in bag {
                // A stopped arbiter has no pollers left to tell.
                arbiter.spawn_fn(move || list.into_iter().for_each(|send| send()));
            }
        }
    }
    let _flush = Flush(outer);
    f()
}

/// How many deliveries the current thread keeps.
#[cfg(test)]
fn kept() -> usize {
    BAG.with(|bag| {
        let bag = bag.borrow();
        bag.iter().flatten().map(|(.., list)| list.len()).sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::{Actor, Context, Handler};
    use std::sync::{Arc, Mutex};

    #[derive(Message)]
    #[rtype(result = "()")]
    struct Note(u32);

    /// Records the notes it gets, with the thread it got them on.
    struct Ear(Arc<Mutex<Vec<(u32, ThreadId)>>>);
    impl Actor for Ear {
        type Context = Context<Self>;
    }
    impl Handler<Note> for Ear {
        type Result = ();
        fn handle(&mut self, msg: Note, _: &mut Context<Self>) {
            self.0
                .lock()
                .unwrap()
                .push((msg.0, std::thread::current().id()));
        }
    }

    #[actix::test]
    async fn kept_notes_reach_their_thread_in_order_once_the_batch_ends() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let ear = Ear(heard.clone()).start().recipient::<Note>();
        let home_thread = std::thread::current().id();
        let homes: Vec<_> = (0..3).map(|_| Home::here()).collect();
        assert!(
            homes.iter().all(Option::is_some),
            "an actix test runs an arbiter"
        );
        // The status actor's side: another thread, with no arbiter of its own.
        let sent = {
            let ear = ear.clone();
            std::thread::spawn(move || {
                let mut homes = homes.into_iter();
                let inside = gathering(|| {
                    for n in 0..3 {
                        tell(homes.next().flatten(), ear.clone(), Note(n));
                    }
                    // Kept, not sent, while the batch is told.
                    kept()
                });
                (inside, kept())
            })
            .join()
            .unwrap()
        };
        assert_eq!(sent, (3, 0), "kept while told, handed on at the end");
        let first: Vec<_> = (0..3).map(|n| (n, home_thread)).collect();
        assert_eq!(heard_when(&heard, 3).await, first);
        // Without a home a note goes at once.
        tell(None, ear.clone(), Note(3));
        assert_eq!(heard_when(&heard, 4).await[3], (3, home_thread));
    }

    /// What the ear has heard once it has heard `n` notes (or all it got while
    /// this thread's tasks ran a bounded number of times).
    async fn heard_when(heard: &Mutex<Vec<(u32, ThreadId)>>, n: usize) -> Vec<(u32, ThreadId)> {
        for _ in 0..10_000 {
            if heard.lock().unwrap().len() >= n {
                break;
            }
            tokio::task::yield_now().await;
        }
        heard.lock().unwrap().clone()
    }

    #[test]
    fn outside_an_arbiter_there_is_no_home() {
        assert!(std::thread::spawn(Home::here).join().unwrap().is_none());
    }
}
