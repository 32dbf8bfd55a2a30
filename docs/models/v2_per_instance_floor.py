"""A model, not a measurement: how close to the rate bound a tracker that polls each
instance separately (API 2.0) can finish 200 rollbacks of 2.5-7.5 s at 20 polls a second.

    python3 docs/models/v2_per_instance_floor.py

Every task is submitted at 0 s and ends at a time drawn uniformly from 2.5-7.5 s. One poll
per 1/20 s. The tracker is greedy: a task whose end it knows is polled as soon as that end has
come; otherwise it polls a task never seen, and only idles when there is none. The rate
bound is the harness's: polls in order of the ends, each after its end, 20 a second.

What one poll tells, three ways:
- "perfect": the task's exact end;
- "share known": the sandbox's model of a task (it waits a tenth of its life, then reports
  whole-percent progress); the share is known, so a running task's end is estimated from one
  poll; a waiting task tells nothing and is polled again later;
- "share unknown": the same, read as if the task never waited (the latest it may end);
  an end further than 12 s off gets a check 12 s later.
"""

import random
import statistics

RATE = 20.0
N = 200
WAIT = 0.1


def bound(ends):
    t = 0.0
    for e in sorted(ends):
        t = max(t + 1 / RATE, e)
    return t


def run(seed, mode):
    rnd = random.Random(seed)
    ends = [rnd.uniform(2.5, 7.5) for _ in range(N)]
    never = list(range(N))
    again = []  # (due, task): seen waiting
    planned = []  # (due, task): a poll planned from an estimate
    pending = set(range(N))
    slot = 0
    now = 0.0
    while pending:
        now = slot / RATE
        slot += 1
        due = [x for x in planned if x[0] <= now]
        if due:
            pick = min(due)
            planned.remove(pick)
        elif never:
            pick = (now, never.pop())
        elif again and min(again)[0] <= now:
            pick = min(again)
            again.remove(pick)
        else:
            continue
        task = pick[1]
        end = ends[task]
        if end <= now:
            pending.discard(task)
            continue
        if mode == "perfect":
            planned.append((end, task))
            continue
        if now < WAIT * end:
            again.append((now + 3.0, task))
            continue
        p = int(100 * (now - WAIT * end) / ((1 - WAIT) * end))
        share = WAIT if mode == "share known" else 0.0
        estimate = now / (share + (1 - share) * (p + 0.5) / 100)
        if estimate - now > 12:
            planned.append((now + 12, task))
        else:
            planned.append((now + (estimate - now) * 1.03 + 0.02, task))
    return now / bound(ends)


for mode in ("perfect", "share known", "share unknown"):
    ratios = sorted(run(seed, mode) for seed in range(200))
    print(
        f"{mode:14} wall / bound: mean {statistics.mean(ratios):.3f}"
        f"  p90 {ratios[179]:.3f}  max {ratios[-1]:.3f}"
    )
