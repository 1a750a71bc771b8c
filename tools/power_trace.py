#!/usr/bin/env python3
"""What the GPU's clock and power were while each prefill ran.

  python3 tools/power_trace.py DIR            (DIR holds clocks.csv and marks.txt from
                                               `tools/device_session.sh power`)

clocks.csv: nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu every 100 ms.
marks.txt:  "<label> start|end <timestamp>" around each benchmark (claa_N, hf_N).
Prints, per span, the samples' median and mean SM clock, mean power and the share of samples
within 5% of the highest clock seen, and writes DIR/power.json. Samples in the first second of a
span (process start, weight set-up) are left out.
"""
import json
import statistics
import sys
from datetime import datetime


def parse_time(text):
    return datetime.strptime(text.strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()


def read_clocks(path):
    rows = []
    for line in open(path):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4 or "MHz" not in parts[1]:
            continue
        rows.append((parse_time(parts[0]), float(parts[1].split()[0]), float(parts[2].split()[0]),
                     float(parts[3])))
    return rows


def read_spans(path):
    starts, spans = {}, []
    for line in open(path):
        label, kind, day, clock = line.split()
        t = parse_time(day + " " + clock)
        if kind == "start":
            starts[label] = t
        else:
            spans.append((label, starts.pop(label), t))
    return spans


def main():
    folder = sys.argv[1]
    clocks = read_clocks(f"{folder}/clocks.csv")
    top = max(c[1] for c in clocks)
    result = {"max_sm_clock_mhz": top, "spans": []}
    for label, begin, end in read_spans(f"{folder}/marks.txt"):
        inside = [c for c in clocks if begin + 1.0 <= c[0] <= end]
        busy = [c for c in inside if c[2] > 300]  # the GPU computing, not idling between runs
        if not busy:
            continue
        mhz = [c[1] for c in busy]
        row = {"span": label, "seconds": round(end - begin, 1), "samples": len(busy),
               "sm_clock_median_mhz": statistics.median(mhz), "sm_clock_mean_mhz": round(statistics.mean(mhz)),
               "power_mean_w": round(statistics.mean(c[2] for c in busy), 1),
               "share_near_max_clock": round(sum(m >= 0.95 * top for m in mhz) / len(mhz), 3),
               "temperature_max_c": max(c[3] for c in busy)}
        result["spans"].append(row)
        print(json.dumps(row))
    json.dump(result, open(f"{folder}/power.json", "w"), indent=1)


if __name__ == "__main__":
    main()
