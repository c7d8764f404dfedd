"""A rollout's timeline as a picture: load probe (requests per second, failures, p99 latency per second) with each
unit's steps (drain, maint, swap, ready, restore) from baton.docker.rollout's ``timeline`` result marked."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.patches as mpatches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from bench.loadgen import percentile  # noqa: E402

COLORS = {"drain": "#f2c14e", "maint": "#f78154", "swap": "#b33f62", "ready": "#4d9078", "restore": "#5b8ea6"}


def per_second(records, origin):
    """{second: (requests, failures, p99 ms)} of load records (start, latency, ok, detail), ``origin`` = second 0."""
    buckets = {}
    for start, latency, ok, _detail in records:
        buckets.setdefault(int(start - origin), []).append((latency, ok))
    rows = {}
    for second, items in sorted(buckets.items()):
        latencies = [lat * 1000.0 for lat, ok in items if ok]
        rows[second] = (len(items), sum(1 for _lat, ok in items if not ok), percentile(latencies, 99) or 0.0)
    return rows


def draw(path, records, timeline, origin, title):
    """Write the PNG at ``path``. ``records``: load records on the monotonic clock; ``timeline``: the rollout
    module's, on the epoch clock; ``origin``: (monotonic, epoch) of the same instant, second 0 of the picture."""
    mono0, epoch0 = origin
    rows = per_second(records, mono0)
    seconds = sorted(rows)[:-1]  # the last second is cut short by the end of the probe
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.plot(seconds, [rows[s][0] for s in seconds], color="#2a6f97", label="requests/s")
    top.bar(seconds, [rows[s][1] for s in seconds], color="#d62828", label="failed/s", width=0.8)
    top.set_ylabel("requests per second")
    bottom.plot(seconds, [rows[s][2] for s in seconds], color="#6c757d", label="p99 latency (ms)")
    bottom.set_ylabel("p99 ms")
    bottom.set_xlabel("seconds")
    top.set_ylim(0, max([rows[s][0] for s in seconds] + [1]) * 1.35)
    for lane, unit in enumerate(timeline):
        low, high = 0.88 - 0.1 * lane, 0.96 - 0.1 * lane
        for step in unit["steps"]:
            begin = step["started"] - epoch0
            for axis in (top, bottom):
                axis.axvspan(begin, begin + max(step["seconds"], 0.05), ymin=low, ymax=high,
                             color=COLORS.get(step["action"], "#999999"), alpha=0.9)
        first = unit["steps"][0]["started"] - epoch0
        top.text(first - 0.1, top.get_ylim()[1] * (low + high) / 2, unit["unit"], fontsize=8, ha="right",
                 va="center")
    handles, _labels = top.get_legend_handles_labels()
    handles += [mpatches.Patch(color=color, label=action) for action, color in COLORS.items()]
    top.legend(handles=handles, loc="lower left", fontsize=8, ncol=4)
    top.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
