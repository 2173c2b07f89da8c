//! The sync and channel shapes of the Tokio peer: the same work as Keel's
//! benchmarks/micro/sync_shapes.cc, shape by shape. Every shape runs on the 2-worker
//! multi_thread runtime; ns/op is the driver task's measured time divided by the op count given
//! with each shape. Timing rules are the crate's (see main.rs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot, Mutex, Notify, Semaphore};

use super::{multi_thread_runtime, run_driver, Measurement};

const MPSC_CAPACITY: usize = 1024;
const MPSC_MESSAGES: u64 = 10_000_000;
const CONTENDED_PRODUCERS: u64 = 4;
const CONTENDED_PER_PRODUCER: u64 = 2_500_000;
const PINGPONG_ROUND_TRIPS: u64 = 1_000_000;
const MUTEX_TASKS: u64 = 4;
const MUTEX_LOCKS_PER_TASK: u64 = 1_000_000;
const BROADCAST_RECEIVERS: usize = 8;
const BROADCAST_MESSAGES: u64 = 1_000_000;
/// Larger than the message count, so no receiver ever lags and every one sees every value:
/// the shape measures fan-out, not the lag path.
const BROADCAST_CAPACITY: usize = 1 << 20;
const SEMAPHORE_TASKS: u64 = 4;
const SEMAPHORE_ACQUIRES_PER_TASK: u64 = 1_000_000;
/// Fewer permits than tasks, so that acquirers sometimes wait.
const SEMAPHORE_PERMITS: usize = 2;

fn measured(elapsed: Duration, ops: u64) -> Measurement {
    Measurement {
        elapsed,
        ops,
        lateness_us: None,
    }
}

/// One producer task sends 0..n into a bounded channel; the driver receives and sums them.
pub fn run_mpsc_bounded() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let (tx, mut rx) = mpsc::channel::<u64>(MPSC_CAPACITY);
        let start = Instant::now();
        tokio::spawn(async move {
            for i in 0..MPSC_MESSAGES {
                tx.send(i).await.expect("the receiver is gone");
            }
        });
        let mut sum = 0u64;
        while let Some(v) = rx.recv().await {
            sum = sum.wrapping_add(v);
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, MPSC_MESSAGES * (MPSC_MESSAGES - 1) / 2);
        elapsed
    });
    measured(elapsed, MPSC_MESSAGES)
}

/// Four producer tasks send into one bounded channel; the driver receives every value.
pub fn run_mpsc_contended() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let (tx, mut rx) = mpsc::channel::<u64>(MPSC_CAPACITY);
        let start = Instant::now();
        for _ in 0..CONTENDED_PRODUCERS {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..CONTENDED_PER_PRODUCER {
                    tx.send(i).await.expect("the receiver is gone");
                }
            });
        }
        drop(tx);
        let mut count = 0u64;
        while rx.recv().await.is_some() {
            count += 1;
        }
        let elapsed = start.elapsed();
        assert_eq!(count, CONTENDED_PRODUCERS * CONTENDED_PER_PRODUCER);
        elapsed
    });
    measured(elapsed, CONTENDED_PRODUCERS * CONTENDED_PER_PRODUCER)
}

/// The ball of oneshot_pingpong: the sender on which the other side answers.
struct Ball(oneshot::Sender<Ball>);

/// Two tasks pass a ball back and forth; every hop is a fresh oneshot channel, created by the
/// side that will receive on it. One op is a round trip (two hops).
pub fn run_oneshot_pingpong() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let (to_ponger, mut ponger_rx) = oneshot::channel::<Ball>();
        let ponger = tokio::spawn(async move {
            for _ in 0..PINGPONG_ROUND_TRIPS {
                let Ball(reply) = ponger_rx.await.expect("the pinger is gone");
                let (tx, rx) = oneshot::channel();
                ponger_rx = rx;
                if reply.send(Ball(tx)).is_err() {
                    panic!("the pinger stopped listening");
                }
            }
        });
        let start = Instant::now();
        let mut to_ponger = to_ponger;
        for _ in 0..PINGPONG_ROUND_TRIPS {
            let (tx, rx) = oneshot::channel();
            if to_ponger.send(Ball(tx)).is_err() {
                panic!("the ponger stopped listening");
            }
            let Ball(next) = rx.await.expect("the ponger is gone");
            to_ponger = next;
        }
        let elapsed = start.elapsed();
        ponger.await.expect("the ponger panicked");
        elapsed
    });
    measured(elapsed, PINGPONG_ROUND_TRIPS)
}

/// Four tasks each lock, increment and unlock one Mutex<u64> a million times.
pub fn run_mutex() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let counter = Arc::new(Mutex::new(0u64));
        let start = Instant::now();
        let mut handles = Vec::with_capacity(MUTEX_TASKS as usize);
        for _ in 0..MUTEX_TASKS {
            let counter = counter.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..MUTEX_LOCKS_PER_TASK {
                    *counter.lock().await += 1;
                }
            }));
        }
        for handle in handles {
            handle.await.expect("a mutex task panicked");
        }
        let elapsed = start.elapsed();
        assert_eq!(*counter.lock().await, MUTEX_TASKS * MUTEX_LOCKS_PER_TASK);
        elapsed
    });
    measured(elapsed, MUTEX_TASKS * MUTEX_LOCKS_PER_TASK)
}

/// Two tasks wake each other through two Notify: one op is a round trip.
pub fn run_notify_pingpong() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let ping = Arc::new(Notify::new());
        let pong = Arc::new(Notify::new());
        let ponger = {
            let (ping, pong) = (ping.clone(), pong.clone());
            tokio::spawn(async move {
                for _ in 0..PINGPONG_ROUND_TRIPS {
                    ping.notified().await;
                    pong.notify_one();
                }
            })
        };
        let start = Instant::now();
        for _ in 0..PINGPONG_ROUND_TRIPS {
            ping.notify_one();
            pong.notified().await;
        }
        let elapsed = start.elapsed();
        ponger.await.expect("the ponger panicked");
        elapsed
    });
    measured(elapsed, PINGPONG_ROUND_TRIPS)
}

/// One sender (the driver) sends a million values; eight receiver tasks each receive all of
/// them. One op is one value sent (and delivered to eight receivers).
pub fn run_broadcast_fanout() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let (tx, _) = broadcast::channel::<u64>(BROADCAST_CAPACITY);
        let mut receivers = Vec::with_capacity(BROADCAST_RECEIVERS);
        for _ in 0..BROADCAST_RECEIVERS {
            receivers.push(tx.subscribe());
        }
        let start = Instant::now();
        let mut handles = Vec::with_capacity(BROADCAST_RECEIVERS);
        for mut rx in receivers {
            handles.push(tokio::spawn(async move {
                let mut count = 0u64;
                loop {
                    match rx.recv().await {
                        Ok(_) => count += 1,
                        Err(broadcast::error::RecvError::Closed) => return count,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            panic!("a receiver lagged by {n}")
                        }
                    }
                }
            }));
        }
        for i in 0..BROADCAST_MESSAGES {
            tx.send(i).expect("every receiver is gone");
        }
        drop(tx);
        for handle in handles {
            let count = handle.await.expect("a receiver panicked");
            assert_eq!(count, BROADCAST_MESSAGES);
        }
        start.elapsed()
    });
    measured(elapsed, BROADCAST_MESSAGES)
}

/// Four tasks each acquire and release a permit of a 2-permit semaphore a million times.
pub fn run_semaphore() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let semaphore = Arc::new(Semaphore::new(SEMAPHORE_PERMITS));
        let start = Instant::now();
        let mut handles = Vec::with_capacity(SEMAPHORE_TASKS as usize);
        for _ in 0..SEMAPHORE_TASKS {
            let semaphore = semaphore.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..SEMAPHORE_ACQUIRES_PER_TASK {
                    let permit = semaphore.acquire().await.expect("the semaphore closed");
                    drop(permit);
                }
            }));
        }
        for handle in handles {
            handle.await.expect("a semaphore task panicked");
        }
        start.elapsed()
    });
    measured(elapsed, SEMAPHORE_TASKS * SEMAPHORE_ACQUIRES_PER_TASK)
}
