#!/usr/bin/env python3
"""The Wiener app on a Kafka cluster: `firestream worker` × 1, 2, 3, with and without transactions.

    bench_workers.py FIRESTREAM EVENTS RATE [SECONDS]

For each worker count and mode, on a fresh cluster (`firestream up --no-apps --no-http`, fsync on, in a
temporary directory) with topic `readings` (4 partitions): the workers start, and once the group
has settled (every worker owns a partition), EVENTS readings of 16 devices are produced as fast
as the producer goes. Throughput is EVENTS over the time from the first reading sent to the last
output read (read_committed). Then readings arrive at RATE events/s for SECONDS (default 10),
each stamped with the wall clock; latency is, per output, when it was read minus its reading's
stamp: p50 and p99. Prints one table row per run.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

FIRESTREAM, EVENTS, RATE = os.path.abspath(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
SECONDS = int(sys.argv[4]) if len(sys.argv) > 4 else 10
DEVICES = 16
CONFIG = '{"name": "bench", "apps": [{"name": "wiener", "kind": "wiener", "settings": {"input": "readings", "output": "points"}}]}'


def reading(device, index, stamp):
    return f"device-{device}", json.dumps({"device_id": f"device-{device}", "event_time": stamp, "magnitude": ((index * 7 + device) % 13) / 10,
                                           "direction": (index + device) % 2})


def wait_for(what, condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


class Outputs(threading.Thread):
    """Reads `points` (read_committed) in the background: when each output arrived, its stamp."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-reader", "isolation.level": "read_committed",
                                  "enable.auto.commit": False})
        self.consumer.assign([TopicPartition("points", p, 0) for p in range(4)])
        self.seen = []
        self.running = True

    def run(self):
        while self.running:
            for message in self.consumer.consume(1000, 0.005):
                if not message.error():
                    self.seen.append((time.time(), json.loads(message.value())["event_time"]))

    def stop(self):
        self.running = False
        self.join()
        self.consumer.close()


def run(workers, exactly_once):
    with tempfile.TemporaryDirectory() as cluster_dir, tempfile.TemporaryDirectory() as project:
        up_log = os.path.join(cluster_dir, "up.log")
        cluster = subprocess.Popen([FIRESTREAM, "up", "--no-apps", "--no-http", "--kafka-port", "0", "--status-interval", "0"], cwd=cluster_dir,
                                   stdout=open(up_log, "w"), stderr=subprocess.STDOUT)
        running = []
        try:
            port = wait_for("the cluster's port", lambda: re.search(r"kafka:  127\.0\.0\.1:(\d+)", open(up_log).read()), 30).group(1)
            bootstrap = f"127.0.0.1:{port}"
            admin = AdminClient({"bootstrap.servers": bootstrap})
            admin.create_topics([NewTopic("readings", 4)])["readings"].result(30)
            open(os.path.join(project, "firestream.json"), "w").write(CONFIG)
            flags = [] if exactly_once else ["--at-least-once"]
            logs = [os.path.join(project, f"worker-{n}.log") for n in range(workers)]
            for log in logs:
                running.append(subprocess.Popen([FIRESTREAM, "worker", "--kafka", bootstrap, "--status-interval", "1"] + flags, cwd=project,
                                                stdout=open(log, "w"), stderr=subprocess.STDOUT))

            def settled():
                owned = []
                for log in logs:
                    lines = [line for line in open(log).read().splitlines() if line.startswith("status:")]
                    found = re.search(r"partitions \[([\d, ]*)\]", lines[-1]) if lines else None
                    owned.append(len([p for p in found.group(1).split(",") if p.strip()]) if found and "joining" not in lines[-1] else 0)
                return all(count > 0 for count in owned) and sum(owned) == 4
            wait_for("the group to settle", settled, 180)

            outputs = Outputs(bootstrap)
            outputs.start()
            producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
            ticks = EVENTS // DEVICES
            started = time.time()
            for index in range(ticks):
                for device in range(DEVICES):
                    key, value = reading(device, index, 1_000_000_000_000 + index * 1000)
                    producer.produce("readings", key=key, value=value)
                if index % 500 == 0:
                    producer.poll(0)
            producer.flush(60)
            wanted = ticks * DEVICES - DEVICES  # a device's first reading has no output
            wait_for("every output of the backlog", lambda: len(outputs.seen) >= wanted, 600)
            throughput = wanted / (outputs.seen[wanted - 1][0] - started)

            stamp_start = int(time.time() * 1000)
            phase = time.time()
            sent = 0
            index = ticks
            while time.time() < phase + SECONDS:
                for device in range(DEVICES):
                    key, value = reading(device, index, int(time.time() * 1000))
                    producer.produce("readings", key=key, value=value)
                sent += DEVICES
                index += 1
                producer.poll(0)
                pause = sent / RATE - (time.time() - phase)
                if pause > 0:
                    time.sleep(pause)
            producer.flush(30)
            wait_for("the steady outputs", lambda: len(outputs.seen) >= wanted + sent, 60)
            outputs.stop()
            latencies = sorted((arrived * 1000 - stamp) for arrived, stamp in outputs.seen[wanted:] if stamp >= stamp_start)
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[int(len(latencies) * 0.99)]
            mode = "exactly once" if exactly_once else "at least once"
            print(f"| {workers} | {mode} | {wanted:,} | {throughput:,.0f} events/s | {RATE:,}/s, {len(latencies):,} outputs | {p50:.0f} ms | {p99:.0f} ms |",
                  flush=True)
            del producer, admin
        finally:
            for worker in running:
                worker.send_signal(signal.SIGINT)
            for worker in running:
                worker.wait(60)
            cluster.send_signal(signal.SIGINT)
            cluster.wait(60)


print("| workers | mode | backlog outputs | throughput | steady input | p50 latency | p99 latency |")
print("|---|---|---|---|---|---|---|")
for workers in (1, 2, 3):
    for exactly_once in (True, False):
        run(workers, exactly_once)
