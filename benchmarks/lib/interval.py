"""How sure a benchmark's ratio is: a bootstrap interval for the ratio of two servers'
medians over interleaved rounds. Used by the Python parts of benchmarks/*.sh:

    PYTHONPATH="$script_dir/lib" python3 - ... <<'PY'
    from interval import interval_text, ratio_interval
    lo, hi = ratio_interval({"1": 91.0e3, "2": 88.5e3, ...}, {"1": 87.2e3, ...})
    cell = f"{ratio:.2f}" + interval_text(a, b)   # "1.03 [0.94-1.08]", or "1.03" too few
    PY

Why: on a shared VM one round's ratio moves by 10-20%, so a ratio of medians near a target
(1.0x Redis, 0.9x in-memory) can land on either side of it from one set of rounds to the next.
The interval says how far the rounds' own spread lets it move: a target inside it is not
settled by these rounds either way.

How: the rounds are resampled with replacement, keeping each round's two measurements
together (they ran back to back and shared the machine's state of the moment), and the ratio
of the medians is taken for each resample; the interval is the middle `level` of those ratios
(the percentile bootstrap). The generator is seeded, so a report of the same results prints
the same interval every time.
"""

import random
import statistics

# Fewer paired rounds than this give too few distinct resamples for an interval to mean much.
MIN_ROUNDS = 6


def ratio_interval(a, b, level=0.90, resamples=4000, seed=1):
    """a and b map a round's name to its measurement. Returns (low, high) of the ratio
    median(a) / median(b) over the rounds both measured, or None with fewer than MIN_ROUNDS."""
    rounds = sorted(r for r in a if r in b and b[r])
    if len(rounds) < MIN_ROUNDS:
        return None
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        picked = [rng.choice(rounds) for _ in rounds]
        ratios.append(statistics.median(a[r] for r in picked) /
                      statistics.median(b[r] for r in picked))
    ratios.sort()
    tail = (1.0 - level) / 2.0
    low = ratios[int(tail * (resamples - 1))]
    high = ratios[int((1.0 - tail) * (resamples - 1))]
    return low, high


def interval_text(a, b):
    """ratio_interval(a, b) as a table cell's suffix, " [0.94-1.08]"; "" with too few rounds."""
    interval = ratio_interval(a, b)
    return "" if interval is None else f" [{interval[0]:.2f}-{interval[1]:.2f}]"
