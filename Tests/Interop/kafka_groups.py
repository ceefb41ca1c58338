#!/usr/bin/env python3
"""Consumer groups on a Kafka broker, with real clients as separate processes.

    kafka_groups.py CLIENT BOOTSTRAP        one client's group scenario
    kafka_groups.py mixed BOOTSTRAP         confluent-kafka, kafka-python and aiokafka in one group

CLIENT is kcat, confluent-kafka, kafka-python or aiokafka. The scenario, on a fresh topic of three
partitions:
  1. a member with the client's default settings gets its first record in under 5 s, reads all 30,
     commits and leaves;
  2. a new member of the same group resumes after the committed offsets (reads none of them again);
  3. a second member joins: the two assignments are disjoint and cover the three partitions, and
     30 new records reach the member that owns their partition;
  4. a third member joins (three single partitions), then leaves (back to two);
  5. the second member is killed with SIGKILL: after its session timeout the first owns all three
     partitions and gets 30 more records;
  6. the first member leaves; the group's committed offsets are the ends of the partitions.
No produced record is missed anywhere. Members run as child processes of this script
(`kafka_groups.py member CLIENT BOOTSTRAP TOPIC GROUP SETTINGS`), which print
`assigned 0,2` on every assignment and `record P O` for every record. Exit status 0 means every
check passed; a failure prints what differed and exits 1.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

PARTITIONS = 3
# Members after the first use short sessions so that a killed one is noticed in seconds.
FAST = {"session": 6000, "heartbeat": 500}


def out(*parts):
    print(*parts, flush=True)


# ---- members: one process each ----------------------------------------------------------------

def member(client, bootstrap, topic, group, settings):
    fast = settings == "fast"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if client == "kafka-python":
        from kafka import ConsumerRebalanceListener, KafkaConsumer

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                out("assigned")

            def on_partitions_assigned(self, assigned):
                out("assigned", ",".join(str(p.partition) for p in sorted(assigned)))

        extra = {"session_timeout_ms": FAST["session"], "heartbeat_interval_ms": FAST["heartbeat"]} if fast else {}
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                 enable_auto_commit=False, **extra)
        consumer.subscribe([topic], listener=Listener())
        while not stop.is_set():
            batch = consumer.poll(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    out("record", record.partition, record.offset)
            if batch:
                consumer.commit()
        consumer.close()
    elif client == "confluent-kafka":
        from confluent_kafka import Consumer
        config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
        if fast:
            config.update({"session.timeout.ms": FAST["session"], "heartbeat.interval.ms": FAST["heartbeat"]})
        consumer = Consumer(config)
        consumer.subscribe([topic], on_assign=lambda c, ps: out("assigned", ",".join(str(p.partition) for p in sorted(ps, key=lambda p: p.partition))),
                           on_revoke=lambda c, ps: out("assigned"))
        while not stop.is_set():
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            out("record", message.partition(), message.offset())
            consumer.commit(message=message, asynchronous=False)
        consumer.close()
    elif client == "aiokafka":
        import asyncio
        from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

        class Listener(ConsumerRebalanceListener):
            async def on_partitions_revoked(self, revoked):
                out("assigned")

            async def on_partitions_assigned(self, assigned):
                out("assigned", ",".join(str(p.partition) for p in sorted(assigned)))

        async def run():
            extra = {"session_timeout_ms": FAST["session"], "heartbeat_interval_ms": FAST["heartbeat"]} if fast else {}
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                        enable_auto_commit=False, **extra)
            consumer.subscribe([topic], listener=Listener())
            await consumer.start()
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        out("record", record.partition, record.offset)
                if batch:
                    await consumer.commit()
            await consumer.stop()

        asyncio.run(run())
    elif client == "kcat":
        # kcat commits automatically (every 5 s and when it closes) and reports its assignments
        # on stderr: "% Group g rebalanced (memberid …): assigned: t [0], t [2]".
        command = ["kcat", "-u", "-b", bootstrap, "-G", group, "-X", "auto.offset.reset=earliest", "-f", "record %p %o\n"]
        if fast:
            command += ["-X", f"session.timeout.ms={FAST['session']}", "-X", f"heartbeat.interval.ms={FAST['heartbeat']}"]
        kcat = subprocess.Popen(command + [topic], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        signal.signal(signal.SIGTERM, lambda *_: kcat.send_signal(signal.SIGINT))

        def assignments():
            for line in kcat.stderr:
                found = re.search(r"rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)", line)
                if found and found.group(1) == "assigned":
                    out("assigned", ",".join(re.findall(r"\[(\d+)\]", found.group(2))))
                elif found:
                    out("assigned")

        threading.Thread(target=assignments, daemon=True).start()
        for line in kcat.stdout:
            out(line.strip())
        kcat.wait()
    out("closed")


# ---- the scenario --------------------------------------------------------------------------------

class Member:
    """A member process and what it has said."""

    def __init__(self, client, bootstrap, topic, group, settings="fast"):
        self.client = client
        self.started = time.time()
        self.first_record = None
        self.assigned = None
        self.records = []
        self.lock = threading.Lock()
        self.process = subprocess.Popen([sys.executable, __file__, "member", client, bootstrap, topic, group, settings],
                                        stdout=subprocess.PIPE, text=True, bufsize=1, start_new_session=True)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            words = line.split()
            with self.lock:
                if words[:1] == ["assigned"]:
                    self.assigned = frozenset(int(p) for p in words[1].split(",") if p) if len(words) > 1 else frozenset()
                elif words[:1] == ["record"]:
                    if self.first_record is None:
                        self.first_record = time.time() - self.started
                    self.records.append((int(words[1]), int(words[2])))

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def kill(self):
        # The whole process group: kcat runs as a child of its member process.
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def fail(label, message, members=()):
    for m in members:
        if m.process.poll() is None:
            m.kill()
    out(f"{label}: FAILED: {message}")
    sys.exit(1)


def wait_until(label, what, condition, members, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        for m in members:
            if m.process.poll() is not None and m.process.returncode not in (0, -9):
                fail(label, f"a {m.client} member exited with {m.process.returncode} while waiting until {what}", members)
        time.sleep(0.05)
    state = "; ".join(f"{m.client}: assigned {sorted(m.assigned) if m.assigned is not None else None}, {len(m.records)} records" for m in members)
    fail(label, f"timed out after {timeout} s waiting until {what} ({state})", members)


def covering(members):
    """The members' assignments are disjoint, non-empty where possible, and cover every partition."""
    sets = [m.assigned for m in members]
    if any(s is None for s in sets):
        return False
    union = frozenset().union(*sets)
    return union == frozenset(range(PARTITIONS)) and sum(len(s) for s in sets) == PARTITIONS and all(sets)


def produce(producer, topic, count):
    futures = [producer.send(topic, value=f"v{i}".encode(), partition=i % PARTITIONS) for i in range(count)]
    producer.flush()
    return {(f.get(timeout=30).partition, f.get(timeout=30).offset) for f in futures}


def read_by_owner(members, produced):
    """Every produced record was read by some member."""
    seen = set()
    for m in members:
        with m.lock:
            seen.update(m.records)
    return produced <= seen


def scenario(client, bootstrap):
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    label = client
    topic = f"groups-{client}-{int(time.time() * 1000)}"
    group = f"group-{topic}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    produced = produce(producer, topic, 30)
    everyone = []

    def start(settings="fast"):
        m = Member(client, bootstrap, topic, group, settings)
        everyone.append(m)
        return m

    # 1. Default settings: the first record within 5 s.
    first = start("defaults")
    wait_until(label, "the first member read all 30 records", lambda: read_by_owner([first], produced), everyone, timeout=30)
    if first.first_record > 5:
        fail(label, f"the first record took {first.first_record:.1f} s with default settings", everyone)
    first.stop()
    timings = f"first record after {first.first_record:.1f} s"

    # 2. A new member resumes after the committed offsets.
    a = start()
    wait_until(label, "a second-generation member is assigned everything", lambda: a.assigned == frozenset(range(PARTITIONS)), everyone)
    more = produce(producer, topic, 3)
    wait_until(label, "the resumed member reads the new records", lambda: read_by_owner([a], more), everyone)
    if set(a.records) & produced:
        fail(label, f"the resumed member read committed records again: {sorted(set(a.records) & produced)[:5]}", everyone)
    produced |= more

    # 3. A second member: disjoint cover, new records reach their partition's owner.
    b = start()
    wait_until(label, "two members share the partitions", lambda: covering([a, b]), everyone)
    batch = produce(producer, topic, 30)
    wait_until(label, "two members read 30 new records", lambda: read_by_owner([a, b], batch), everyone)
    for m in (a, b):
        strays = {(p, o) for p, o in batch if (p, o) in set(m.records) and p not in m.assigned}
        if strays:
            fail(label, f"a member read partitions it was not assigned: {sorted(strays)[:5]}", everyone)
    produced |= batch

    # 4. A third member joins, then leaves.
    c = start()
    wait_until(label, "three members hold one partition each", lambda: covering([a, b, c]), everyone)
    c.stop()
    wait_until(label, "two members share the partitions again", lambda: covering([a, b]), everyone)

    # 5. The second member is killed: after its session timeout the first owns everything.
    killed_at = time.time()
    b.kill()
    wait_until(label, "the survivor owns every partition", lambda: a.assigned == frozenset(range(PARTITIONS)), everyone, timeout=30)
    moved = time.time() - killed_at
    batch = produce(producer, topic, 30)
    wait_until(label, "the survivor reads 30 new records", lambda: read_by_owner([a], batch), everyone)
    produced |= batch
    if not read_by_owner(everyone, produced):
        fail(label, "a produced record was read by no member", everyone)

    # 6. Committed offsets are the partitions' ends once the last member leaves.
    a.stop()
    committed = {tp.partition: meta.offset for tp, meta in admin.list_group_offsets(group)[group].items()}
    ends = {p: max(o for q, o in produced if q == p) + 1 for p in range(PARTITIONS)}
    if committed != ends:
        fail(label, f"committed offsets {committed}, partition ends {ends}", everyone)
    admin.delete_topics([topic])
    out(f"{label}: ok: {timings}; 1→2→3→2 members with disjoint covers; a killed member's partitions moved after "
        f"{moved:.1f} s (session {FAST['session'] / 1000:.0f} s); {len(produced)} records, none missed; committed {committed}")


def mixed(bootstrap):
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"groups-mixed-{int(time.time() * 1000)}"
    group = f"group-{topic}"
    KafkaAdminClient(bootstrap_servers=bootstrap).create_topics([NewTopic(topic, PARTITIONS, 1)])
    members = [Member(client, bootstrap, topic, group) for client in ("confluent-kafka", "kafka-python", "aiokafka")]
    wait_until("mixed", "three clients hold one partition each", lambda: covering(members), members)
    shares = ", ".join(f"{m.client} {sorted(m.assigned)}" for m in members)
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    produced = produce(producer, topic, 30)
    wait_until("mixed", "the three members read 30 records", lambda: read_by_owner(members, produced), members)
    for m in members:
        m.stop()
    out(f"mixed: ok: confluent-kafka, kafka-python and aiokafka shared {PARTITIONS} partitions ({shares}) and read all 30 records")


if __name__ == "__main__":
    # A parent may block these (a test runner does); members must hear them, and kcat inherits the mask.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.argv[1] == "member":
        member(*sys.argv[2:7])
    elif sys.argv[1] == "mixed":
        mixed(sys.argv[2])
    else:
        scenario(sys.argv[1], sys.argv[2])
    os._exit(0)
