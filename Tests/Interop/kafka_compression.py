#!/usr/bin/env python3
"""Compressed batches across clients: every client produces with every codec, every client reads all.

    kafka_compression.py BOOTSTRAP

Producers and consumers: kcat (librdkafka 2.0.2), confluent-kafka (librdkafka 2.16), kafka-python,
aiokafka. Codecs: gzip, snappy (librdkafka writes it raw, the Python clients xerial-framed), lz4,
zstd. Each producer writes 20 records with one codec into topic `codec-<producer>-<codec>` (one
partition), lingering so that they share batches; then each consumer reads every such topic
from the beginning and must see the 20 values in order. Prints one `ok` line per consumer and
exits 0, or prints what differed and exits 1.
"""
import asyncio
import subprocess
import sys
import time

BOOTSTRAP = sys.argv[1]
CLIENTS = ["kcat", "confluent-kafka", "kafka-python", "aiokafka"]
CODECS = ["gzip", "snappy", "lz4", "zstd"]
COUNT = 20


def values(producer, codec):
    return [f"{producer}/{codec}/{i}/" + "x" * (i * 7) for i in range(COUNT)]


def fail(message):
    print(f"FAILED: {message}", flush=True)
    sys.exit(1)


def produce(client, codec, topic):
    items = values(client, codec)
    if client == "kcat":
        done = subprocess.run(["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-p", "0", "-z", codec, "-X", "linger.ms=100"],
                              input="\n".join(items) + "\n", text=True, capture_output=True, timeout=60)
        if done.returncode != 0:
            fail(f"kcat could not produce {codec}: {done.stderr}")
    elif client == "confluent-kafka":
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": BOOTSTRAP, "compression.type": codec, "linger.ms": 100})
        for item in items:
            producer.produce(topic, value=item.encode(), partition=0)
        if producer.flush(30) != 0:
            fail(f"confluent-kafka could not produce {codec}")
    elif client == "kafka-python":
        from kafka import KafkaProducer
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, compression_type=codec, linger_ms=100)
        futures = [producer.send(topic, value=item.encode(), partition=0) for item in items]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
        producer.close()
    else:
        from aiokafka import AIOKafkaProducer

        async def run():
            producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, compression_type=codec, linger_ms=100)
            await producer.start()
            try:
                sent = [await producer.send(topic, value=item.encode(), partition=0) for item in items]
                await asyncio.gather(*sent)
            finally:
                await producer.stop()

        asyncio.run(run())


def consume(client, topic):
    if client == "kcat":
        done = subprocess.run(["kcat", "-C", "-b", BOOTSTRAP, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n"],
                              text=True, capture_output=True, timeout=60)
        if done.returncode != 0:
            fail(f"kcat could not read {topic}: {done.stderr}")
        return done.stdout.splitlines()
    if client == "confluent-kafka":
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
        consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "unused", "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got, deadline = [], time.time() + 30
        while len(got) < COUNT and time.time() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                got.append(message.value().decode())
            elif message is not None and message.error():
                fail(f"confluent-kafka could not read {topic}: {message.error()}")
        consumer.close()
        return got
    if client == "kafka-python":
        from kafka import KafkaConsumer, TopicPartition
        consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        got, deadline = [], time.time() + 30
        while len(got) < COUNT and time.time() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got += [r.value.decode() for r in records]
        consumer.close()
        return got
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run():
        consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0)])
            await consumer.seek_to_beginning()
            got, deadline = [], time.time() + 30
            while len(got) < COUNT and time.time() < deadline:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    got += [r.value.decode() for r in records]
            return got
        finally:
            await consumer.stop()

    return asyncio.run(run())


def main():
    from kafka.admin import KafkaAdminClient, NewTopic
    topics = {(p, c): f"codec-{p}-{c}" for p in CLIENTS for c in CODECS}
    KafkaAdminClient(bootstrap_servers=BOOTSTRAP).create_topics([NewTopic(t, 1, 1) for t in topics.values()])
    for (producer, codec), topic in topics.items():
        produce(producer, codec, topic)
    for consumer in CLIENTS:
        for (producer, codec), topic in topics.items():
            got = consume(consumer, topic)
            if got != values(producer, codec):
                fail(f"{consumer} read {len(got)} records of {producer}'s {codec} batches; first differences: "
                     f"{[g for g in got if g not in values(producer, codec)][:2]}")
        print(f"{consumer}: ok: read every client's gzip, snappy, lz4 and zstd batches ({len(topics)} topics)", flush=True)


if __name__ == "__main__":
    main()
