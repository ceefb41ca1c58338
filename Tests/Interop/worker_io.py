#!/usr/bin/env python3
"""The input and output side of the worker tests, through confluent-kafka (librdkafka 2.16).

    worker_io.py produce BOOTSTRAP DEVICES TICKS [USERS]
        Creates topic `readings` (4 partitions) if missing, prints `ready`, then produces TICKS readings per device,
        paced: 40 ticks, a flush, 0.7 s. Reading i of device d is the test's own formula (see
        WorkerTests.reading). With USERS, also topic `clicks` (4 partitions): with every 40 ticks,
        USERS new users click 5 pages each, at once, and never again. Prints `produced N` at the end.
    worker_io.py read BOOTSTRAP TOTAL [CLICKS]
        Reads topic `points` from the beginning with isolation.level=read_committed, printing
        `count N` as it goes; once TOTAL records are read (and, with CLICKS, sessions of topic
        `sessions` summing CLICKS clicks) it reads 3 s more (a duplicate would show up there),
        prints every record as `record<TAB>key<TAB>value` and every session as
        `session<TAB>user<TAB>clicks`, then `done N`.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def reading(device, index):
    magnitude = ((index * 7 + device) % 13) / 10
    value = (f'{{"device_id":"device-{device}","event_time":{1_700_000_000_000 + index * 1000},'
             f'"magnitude":{magnitude},"direction":{(index + device) % 2}}}')
    return f"device-{device}", value


def produce(bootstrap, devices, ticks, users):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=30).topics
    for topic in ["readings"] + (["clicks"] if users else []):
        if topic not in existing:
            admin.create_topics([NewTopic(topic, 4)])[topic].result(30)
    print("ready", flush=True)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for index in range(ticks):
        for device in range(devices):
            key, value = reading(device, index)
            producer.produce("readings", key=key, value=value)
        if index % 40 == 0:
            for user in range(users):
                name = f"user-{index // 40}-{user}"
                for page in range(5):
                    producer.produce("clicks", key=name, value=json.dumps({"user": name, "page": f"p{page}"}))
        if index % 40 == 39:
            producer.flush(30)
            time.sleep(0.7)
    producer.flush(30)
    print(f"produced {devices * ticks}", flush=True)


def read(bootstrap, total, clicks):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "worker-test-reader", "isolation.level": "read_committed",
                         "enable.auto.commit": False})
    topics = ["points"] + (["sessions"] if clicks else [])
    consumer.assign([TopicPartition(topic, partition, 0) for topic in topics for partition in range(4)])
    records = []
    sessions = []
    reported = 0
    settle = None
    while settle is None or time.time() < settle:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            if message.topic() == "points":
                records.append((message.key().decode(), message.value().decode()))
            else:
                session = json.loads(message.value())
                sessions.append((session["user"], session["clicks"]))
        if len(records) >= reported + 100:
            reported = len(records)
            print(f"count {reported}", flush=True)
        if settle is None and len(records) >= total and sum(count for _, count in sessions) >= clicks:
            settle = time.time() + 3
    for key, value in records:
        print(f"record\t{key}\t{value}")
    for user, count in sessions:
        print(f"session\t{user}\t{count}")
    print(f"done {len(records)}", flush=True)
    consumer.close()


if sys.argv[1] == "produce":
    produce(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 0)
else:
    read(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
