#!/usr/bin/env python3
"""The input and output side of the worker tests, through confluent-kafka (librdkafka 2.16).

    worker_io.py produce BOOTSTRAP DEVICES TICKS
        Creates topic `readings` (4 partitions) if missing, prints `ready`, then produces TICKS readings per device,
        paced: 40 ticks, a flush, 0.7 s. Reading i of device d is the test's own formula (see
        WorkerTests.reading). Prints `produced N` at the end.
    worker_io.py read BOOTSTRAP TOTAL
        Reads topic `points` from the beginning with isolation.level=read_committed, printing
        `count N` as it goes; once TOTAL records are read it reads 3 s more (a duplicate would
        show up there), prints every record as `record<TAB>key<TAB>value`, then `done N`.
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def reading(device, index):
    magnitude = ((index * 7 + device) % 13) / 10
    value = (f'{{"device_id":"device-{device}","event_time":{1_700_000_000_000 + index * 1000},'
             f'"magnitude":{magnitude},"direction":{(index + device) % 2}}}')
    return f"device-{device}", value


def produce(bootstrap, devices, ticks):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if "readings" not in admin.list_topics(timeout=30).topics:
        admin.create_topics([NewTopic("readings", 4)])["readings"].result(30)
    print("ready", flush=True)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for index in range(ticks):
        for device in range(devices):
            key, value = reading(device, index)
            producer.produce("readings", key=key, value=value)
        if index % 40 == 39:
            producer.flush(30)
            time.sleep(0.7)
    producer.flush(30)
    print(f"produced {devices * ticks}", flush=True)


def read(bootstrap, total):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "worker-test-reader", "isolation.level": "read_committed",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition("points", partition, 0) for partition in range(4)])
    records = []
    reported = 0
    settle = None
    while settle is None or time.time() < settle:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            records.append((message.key().decode(), message.value().decode()))
        if len(records) >= reported + 100:
            reported = len(records)
            print(f"count {reported}", flush=True)
        if settle is None and len(records) >= total:
            settle = time.time() + 3
    for key, value in records:
        print(f"record\t{key}\t{value}")
    print(f"done {len(records)}", flush=True)
    consumer.close()


if sys.argv[1] == "produce":
    produce(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
else:
    read(sys.argv[2], int(sys.argv[3]))
