//! Tokio peer of Keel's micro benchmarks (benchmarks/micro). Each shape does the same work as
//! the Keel benchmark of the same name, and every run prints one line on stdout:
//!
//! ```text
//! name<TAB>ns_per_op<TAB>lateness_us
//! ```
//!
//! `ns_per_op` is the wall-clock time of the measured work divided by its operation count;
//! `lateness_us` is the mean timer lateness for `timers` and `-` for every other shape.
//! Progress goes to stderr so that stdout stays machine-readable.
//!
//! Timing rules, the same for every shape:
//! - The runtime is built before the clock starts and dropped after it stops: neither thread
//!   start-up nor shutdown is measured. Inputs (the `Vec` of handles, the timer delays) are
//!   allocated or drawn before the clock starts too.
//! - The clock runs inside one driver task spawned onto the runtime, so it covers only the
//!   measured work, and the driver's spawns take the path a spawn from inside a runtime takes
//!   (the worker's local queue), not the injection queue that `block_on` on the main thread
//!   would use.
//! - No warm-up run. Keel's Google Benchmark side runs each shape once (`iterations:1`) in a
//!   fresh process; a warmed-up Tokio would start with its heap already faulted in and its pools
//!   grown, which Keel does not get. The one-time costs left in (a worker's first wake-up, the
//!   first blocking-pool thread) are microseconds against runs of 100 ms and more. compare.sh
//!   repeats whole processes and takes the median instead.

use std::future::Future;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use regex::Regex;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::oneshot;

mod sync_shapes;

/// Worker threads of every multi_thread runtime, as in Keel's benchmarks (and this machine's
/// core count, which the comparison is run on).
const WORKERS: usize = 2;

const SPAWN_JOIN_TASKS: u64 = 1_000_000;
const YIELDS: u64 = 10_000_000;
const CHAINS: u64 = 1_000;
const CHAIN_DEPTH: u64 = 1_000;
const TIMER_TASKS: u64 = 1_000_000;
/// Each timer task sleeps a uniform random 0..=TIMER_MAX_DELAY_MS milliseconds.
const TIMER_MAX_DELAY_MS: u64 = 1_000;
/// Fixed so that every run sleeps the same delays and runs stay comparable.
const TIMER_SEED: u64 = 0x6b65_656c; // "keel"
const BLOCKING_ROUND_TRIPS: u64 = 100_000;

const USAGE: &str = "usage: tokio_micro [--filter REGEX_OR_SUBSTRING] [--repetitions N]

Runs the Tokio side of Keel's micro benchmarks and prints one line per run on stdout:
  name<TAB>ns_per_op<TAB>lateness_us     (lateness_us is '-' for shapes without timers)

  --filter F        run only the shapes whose name matches the regex F (searched anywhere in
                    the name, like --benchmark_filter); F is taken literally if it is not a
                    valid regex
  --repetitions N   run the selected shapes N times (default 1)";

/// The result of one run of one shape.
struct Measurement {
    elapsed: Duration,
    ops: u64,
    /// Mean timer lateness in microseconds; only `timers` has one.
    lateness_us: Option<f64>,
}

struct Shape {
    name: &'static str,
    run: fn() -> Measurement,
}

/// All shapes, in the order they run. The names are the Keel benchmark names.
const SHAPES: &[Shape] = &[
    Shape {
        name: "spawn_join",
        run: run_spawn_join,
    },
    Shape {
        name: "spawn_join_current_thread",
        run: run_spawn_join_current_thread,
    },
    Shape {
        name: "yield",
        run: run_yield,
    },
    Shape {
        name: "chained_spawn",
        run: run_chained_spawn,
    },
    Shape {
        name: "timers",
        run: run_timers,
    },
    Shape {
        name: "blocking",
        run: run_blocking,
    },
    Shape {
        name: "mpsc_bounded",
        run: sync_shapes::run_mpsc_bounded,
    },
    Shape {
        name: "mpsc_contended",
        run: sync_shapes::run_mpsc_contended,
    },
    Shape {
        name: "oneshot_pingpong",
        run: sync_shapes::run_oneshot_pingpong,
    },
    Shape {
        name: "mutex",
        run: sync_shapes::run_mutex,
    },
    Shape {
        name: "notify_pingpong",
        run: sync_shapes::run_notify_pingpong,
    },
    Shape {
        name: "broadcast_fanout",
        run: sync_shapes::run_broadcast_fanout,
    },
    Shape {
        name: "semaphore",
        run: sync_shapes::run_semaphore,
    },
];

// Every runtime enables the time driver, even for shapes that use no timer: Keel's runtime
// always has its timer, and Tokio's idle workers then park on the same driver in every shape.

fn multi_thread_runtime() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_time()
        .build()
        .expect("failed to build the multi_thread runtime")
}

fn current_thread_runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("failed to build the current_thread runtime")
}

/// Runs `driver` as a task on `rt` and returns its output (see the module comment for why it
/// is a task and not the `block_on` future itself).
fn run_driver<F>(rt: &Runtime, driver: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(rt.spawn(driver))
        .expect("the driver task panicked")
}

fn run_spawn_join() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, spawn_join(SPAWN_JOIN_TASKS));
    Measurement {
        elapsed,
        ops: SPAWN_JOIN_TASKS,
        lateness_us: None,
    }
}

fn run_spawn_join_current_thread() -> Measurement {
    let rt = current_thread_runtime();
    let elapsed = run_driver(&rt, spawn_join(SPAWN_JOIN_TASKS));
    Measurement {
        elapsed,
        ops: SPAWN_JOIN_TASKS,
        lateness_us: None,
    }
}

/// Spawns `tasks` empty tasks, keeping every JoinHandle, then awaits them all.
async fn spawn_join(tasks: u64) -> Duration {
    // Sized up front so that growing the Vec is not part of the measurement.
    let mut handles = Vec::with_capacity(tasks as usize);
    let start = Instant::now();
    for _ in 0..tasks {
        handles.push(tokio::spawn(async {}));
    }
    for handle in handles {
        handle.await.expect("an empty task panicked");
    }
    start.elapsed()
}

/// Note: Tokio 1.24's `yield_now` defers the wake-up until the scheduler has polled its driver
/// (so that a yielding task lets I/O and timers run). With one task and the time driver enabled,
/// each yield therefore includes a zero-timeout poll of the time driver. That is Tokio's real
/// behaviour in its usual configuration, so it is measured as is.
fn run_yield() -> Measurement {
    let rt = current_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let start = Instant::now();
        for _ in 0..YIELDS {
            tokio::task::yield_now().await;
        }
        start.elapsed()
    });
    Measurement {
        elapsed,
        ops: YIELDS,
        lateness_us: None,
    }
}

fn run_chained_spawn() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let start = Instant::now();
        for _ in 0..CHAINS {
            let (done_tx, done_rx) = oneshot::channel();
            spawn_chain(CHAIN_DEPTH, done_tx);
            done_rx
                .await
                .expect("a chain dropped its completion sender");
        }
        start.elapsed()
    });
    Measurement {
        elapsed,
        ops: CHAINS * CHAIN_DEPTH,
        lateness_us: None,
    }
}

/// Spawns a chain of `remaining` tasks, each spawning the next one; the last one signals `done`.
/// Each link is detached rather than awaited by its parent (the shape of Tokio's own
/// `chained_spawn` bench), so the chain measures spawn plus schedule, with no pile of 1,000
/// suspended parents waiting on their children.
fn spawn_chain(remaining: u64, done: oneshot::Sender<()>) {
    tokio::spawn(async move {
        if remaining == 1 {
            done.send(()).expect("the chain's driver stopped waiting");
        } else {
            spawn_chain(remaining - 1, done);
        }
    });
}

fn run_timers() -> Measurement {
    let mut rng = SmallRng::seed_from_u64(TIMER_SEED);
    let delays: Vec<Duration> = (0..TIMER_TASKS)
        .map(|_| Duration::from_millis(rng.gen_range(0..=TIMER_MAX_DELAY_MS)))
        .collect();
    let rt = multi_thread_runtime();
    let (elapsed, total_lateness_ns) = run_driver(&rt, async move {
        let mut handles = Vec::with_capacity(delays.len());
        let start = Instant::now();
        for delay in delays {
            handles.push(tokio::spawn(sleep_and_measure(delay)));
        }
        // i64 nanoseconds overflow only if 1,000,000 tasks were each ~2.5 hours late.
        let mut total_lateness_ns: i64 = 0;
        for handle in handles {
            total_lateness_ns += handle.await.expect("a timer task panicked");
        }
        (start.elapsed(), total_lateness_ns)
    });
    let mean_lateness_us = total_lateness_ns as f64 / TIMER_TASKS as f64 / 1_000.0;
    Measurement {
        elapsed,
        ops: TIMER_TASKS,
        lateness_us: Some(mean_lateness_us),
    }
}

/// Sleeps `delay` counted from when the task starts, and returns how late it woke in
/// nanoseconds. The deadline is taken inside the task so that the lateness is the timer's own,
/// not the time the task waited in a run queue before it started sleeping. The result is signed
/// so that an early wake-up would show rather than be clamped to 0 (Tokio rounds deadlines up to
/// its 1 ms tick, so it should not happen).
async fn sleep_and_measure(delay: Duration) -> i64 {
    let deadline = tokio::time::Instant::now() + delay;
    tokio::time::sleep_until(deadline).await;
    let woke = tokio::time::Instant::now();
    match woke.checked_duration_since(deadline) {
        Some(late) => late.as_nanos() as i64,
        None => -((deadline - woke).as_nanos() as i64),
    }
}

fn run_blocking() -> Measurement {
    let rt = multi_thread_runtime();
    let elapsed = run_driver(&rt, async {
        let start = Instant::now();
        for _ in 0..BLOCKING_ROUND_TRIPS {
            tokio::task::spawn_blocking(|| ())
                .await
                .expect("an empty blocking closure panicked");
        }
        start.elapsed()
    });
    Measurement {
        elapsed,
        ops: BLOCKING_ROUND_TRIPS,
        lateness_us: None,
    }
}

struct Options {
    filter: Option<Regex>,
    repetitions: u32,
}

/// Parses `--filter F`, `--repetitions N` (also as `--flag=value`). `Ok(None)` means help was
/// asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        filter: None,
        repetitions: 1,
    };
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        if flag != "--filter" && flag != "--repetitions" {
            return Err(format!("unknown argument: {flag}"));
        }
        let value = match inline_value.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{flag} needs a value")),
        };
        if flag == "--filter" {
            // A plain substring is already a regex; anything that does not compile is taken
            // literally, so "REGEX_OR_SUBSTRING" holds for every input.
            let regex = Regex::new(&value).or_else(|_| Regex::new(&regex::escape(&value)));
            options.filter = Some(regex.expect("an escaped literal is always a valid regex"));
        } else {
            options.repetitions = match value.parse() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(format!(
                        "--repetitions needs a positive integer, got {value:?}"
                    ))
                }
            };
        }
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("tokio_micro: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<&Shape> = SHAPES
        .iter()
        .filter(|shape| match &options.filter {
            Some(re) => re.is_match(shape.name),
            None => true,
        })
        .collect();
    if selected.is_empty() {
        eprintln!("tokio_micro: no benchmark matches the filter");
        return ExitCode::FAILURE;
    }

    let mut stdout = std::io::stdout().lock();
    for repetition in 1..=options.repetitions {
        for shape in &selected {
            eprintln!(
                "tokio_micro: running {} (repetition {repetition}/{})",
                shape.name, options.repetitions
            );
            let m = (shape.run)();
            let ns_per_op = m.elapsed.as_nanos() as f64 / m.ops as f64;
            let lateness = m
                .lateness_us
                .map_or_else(|| "-".to_string(), |us| format!("{us:.1}"));
            // Flushed per line so that a caller sees each result as soon as it exists.
            writeln!(stdout, "{}\t{ns_per_op:.2}\t{lateness}", shape.name)
                .and_then(|()| stdout.flush())
                .expect("failed to write to stdout");
            eprintln!(
                "tokio_micro: {} took {:.3} s for {} ops",
                shape.name,
                m.elapsed.as_secs_f64(),
                m.ops
            );
        }
    }
    ExitCode::SUCCESS
}
