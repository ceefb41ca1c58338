#!/usr/bin/env python3
"""What a read_committed consumer sees of transactions that ended each way, through confluent-kafka.

    read_committed_probe.py BOOTSTRAP TOPIC

Creates TOPIC (one partition), then writes with transactional producers: a committed
transaction, an aborted one, another committed one, a transaction left open by a producer that a
new instance with the same transactional id fences (its records are aborted), and the new
instance's committed transaction. Reads the partition from the start with
isolation.level=read_committed for 5 s and prints the values seen, one per line, then `done`.
A broker that hides aborted records shows committed-*, committed2-* and successor-* only.
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def transaction(producer, topic, prefix, commit=True):
    producer.begin_transaction()
    for index in range(3):
        producer.produce(topic, value=f"{prefix}-{index}")
    if commit:
        producer.commit_transaction(30)
    else:
        producer.flush(30)


def main(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{topic}-1"})
    producer.init_transactions(30)
    transaction(producer, topic, "committed")
    transaction(producer, topic, "aborted", commit=False)
    producer.abort_transaction(30)
    transaction(producer, topic, "committed2")
    zombie = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{topic}-2"})
    zombie.init_transactions(30)
    transaction(zombie, topic, "zombie", commit=False)
    successor = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{topic}-2"})
    successor.init_transactions(30)
    transaction(successor, topic, "successor")

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader", "isolation.level": "read_committed",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    end = time.time() + 5
    while time.time() < end:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            print(message.value().decode(), flush=True)
    consumer.close()
    print("done", flush=True)


main(sys.argv[1], sys.argv[2])
