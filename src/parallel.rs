//! Independent pieces of one job, run on the machine's cores at once: the value walk and the
//! validator of decoding, the check families of a manifest and the checks on its lowered stack
//! (the routing check's Prometheus and Loki rules), the targets of a build (the Kubernetes
//! tree's parts on that platform) beside STACK.md's chart, the generated files' headers and
//! hashes. Results come back in the order of the pieces whatever finishes first, so what
//! sightline prints and writes never depends on the timing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// A worker's stack: what the manifest parser's thread has (`manifest::parse`), so a check that
/// recurses over a user's expression is no less safe on a worker than on the main thread.
const WORKER_STACK: usize = 64 << 20;

/// `f` of every item, in the items' order. One worker per core (no more than there are items,
/// this thread one of them) takes the next item until none is left, so memory stays that of a
/// few items' work in flight. A panic in `f` is raised again here, as if `f` had run on this
/// thread; a worker that cannot be started leaves its share to the others.
pub fn map<T: Send, R: Send>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    // Each slot is taken once, by the worker that drew its index.
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(slots.len());
    let next = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { break mine };
            if let Some(item) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                mine.push((i, f(item)));
            }
        }
    };
    let mut done: Vec<(usize, R)> = if workers <= 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let running: Vec<_> = (1..workers)
                .filter_map(|_| std::thread::Builder::new().stack_size(WORKER_STACK).spawn_scoped(scope, work).ok())
                .collect();
            let mut all = work();
            for h in running {
                all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            all
        })
    };
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// `a` and `b` at once, as [`map`] runs two pieces: both results.
pub fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    enum Either<L, R> {
        Left(L),
        Right(R),
    }
    let mut done = map([Either::Left(a), Either::Right(b)], |piece| match piece {
        Either::Left(a) => Either::Left(a()),
        Either::Right(b) => Either::Right(b()),
    });
    match (done.pop(), done.pop()) {
        (Some(Either::Right(b)), Some(Either::Left(a))) => (a, b),
        _ => unreachable!("map returns one result per piece, in their order"),
    }
}

#[cfg(test)]
mod tests {
    use super::{join, map};

    #[test]
    fn results_come_in_the_items_order_whatever_finishes_first() {
        let items: Vec<u64> = (0..64).collect();
        // Earlier items take longer, so the workers finish them last.
        let out = map(&items, |&i| {
            std::thread::sleep(std::time::Duration::from_micros((64 - i) * 50));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(map(Vec::<u8>::new(), |_| 0).is_empty());
        // Owned items are moved into `f`.
        assert_eq!(map(vec![String::from("a"), String::from("b")], |s| s + "!"), ["a!", "b!"]);
    }

    #[test]
    fn join_returns_both_results_in_their_places() {
        let (a, b) = join(|| 1u8, || String::from("two"));
        assert_eq!((a, b.as_str()), (1, "two"));
    }

    #[test]
    fn a_panic_in_a_piece_is_raised_again() {
        let r = std::panic::catch_unwind(|| map(&[1, 2, 3], |&i| if i == 2 { panic!("two") } else { i }));
        assert!(r.is_err());
    }
}
