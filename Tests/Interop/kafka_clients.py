#!/usr/bin/env python3
"""Drives a Kafka broker with a real Python client and checks what comes back.

    kafka_clients.py CLIENT BOOTSTRAP

CLIENT is kafka-python, confluent-kafka or aiokafka. The script creates a topic with three partitions,
produces 30 records with its client's defaults (idempotent for both here) including keys,
headers and a null value, reads them back from the beginning of every partition, checks
ListOffsets (earliest, latest, by time), commits an offset with metadata as an assign-mode
consumer and reads it back, reads the demo's `wiener` topic, checks that writing to `wiener`
and deleting the demo's topics are refused, and deletes its own topic. Exit status 0 means
every check passed; any failure prints what differed and exits 1.
"""
import sys
import time

CLIENT, BOOTSTRAP = sys.argv[1], sys.argv[2]
TOPIC = f"interop-{CLIENT}-{int(time.time() * 1000)}"
EXPECTED = [(str(i % 5).encode(), None if i == 7 else f"value-{i}".encode()) for i in range(30)]


def fail(message):
    print(f"{CLIENT}: FAILED: {message}", flush=True)
    sys.exit(1)


def check(records, wiener, offsets, refused):
    """records: (partition, offset, key, value, headers) of TOPIC; wiener: values read from it."""
    if len(records) != len(EXPECTED):
        fail(f"read {len(records)} records of {len(EXPECTED)}")
    by_key = {}
    for partition, offset, key, value, headers in records:
        by_key.setdefault(key, []).append((partition, offset, value))
        if value is not None and headers != [("source", CLIENT.encode())]:
            fail(f"headers {headers!r} on {value!r}")
    for key, items in by_key.items():
        if len({p for p, _, _ in items}) != 1:
            fail(f"key {key!r} spread over partitions")
        offsets_seen = [o for _, o, _ in items]
        if offsets_seen != sorted(offsets_seen):
            fail(f"key {key!r} out of order: {offsets_seen}")
    wanted = sorted((k, v or b"") for k, v in EXPECTED)
    got = sorted((k, v or b"") for _, _, k, v, _ in records)
    if wanted != got:
        fail(f"records differ: {got[:5]}…")
    if not any(v is None for _, _, _, v, _ in records):
        fail("the null value did not come back as null")
    if len(wiener) < 3 or not all(b'"device_id"' in v for v in wiener):
        fail(f"wiener records look wrong: {wiener[:2]}")
    earliest, latest, total = offsets
    if earliest != 0 or total != len(EXPECTED):
        fail(f"list offsets: earliest {earliest}, sum of latest {total} (want 0 and {len(EXPECTED)})")
    if not refused:
        fail("writing the app-owned topic wiener was not refused")
    print(f"{CLIENT}: ok: {len(records)} records back in order with keys, headers and a null; offsets {earliest}..{latest}; committed 5 'kept'; "
          f"{len(wiener)} wiener records; writes to wiener refused", flush=True)


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for key, value in EXPECTED:
        producer.send(TOPIC, key=key, value=value, headers=[] if value is None else [("source", CLIENT.encode())])
    producer.flush(30)
    refused = False
    try:
        producer.send("wiener", key=b"x", value=b"{}").get(timeout=30)
    except KafkaError:
        refused = True
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, consumer_timeout_ms=5000, enable_auto_commit=False, group_id=f"{TOPIC}-readers")
    partitions = [TopicPartition(TOPIC, p) for p in range(3)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    records = []
    for message in consumer:
        records.append((message.partition, message.offset, message.key, message.value, list(message.headers)))
        if len(records) == len(EXPECTED):
            break
    earliest = consumer.beginning_offsets(partitions)
    latest = consumer.end_offsets(partitions)
    used = TopicPartition(TOPIC, records[0][0]) if records else partitions[0]
    by_time = consumer.offsets_for_times({used: 0})
    if by_time[used] is None or by_time[used].offset != 0:
        fail(f"offsets_for_times(0) on partition {used.partition} gave {by_time}")
    from kafka.structs import OffsetAndMetadata
    consumer.commit({partitions[1]: OffsetAndMetadata(5, "kept", -1)})
    committed = consumer.committed(partitions[1], metadata=True)
    if committed is None or committed.offset != 5 or committed.metadata != "kept":
        fail(f"committed offset read back as {committed}")
    wiener_partition = TopicPartition("wiener", 0)
    consumer.assign([wiener_partition])
    consumer.seek_to_beginning()
    wiener = [m.value for _, m in zip(range(5), consumer)]
    consumer.close()
    check(records, wiener, (min(earliest.values()), max(latest.values()), sum(latest.values())), refused)
    for used in ("metronome", "wiener"):
        try:
            admin.delete_topics([used])
            fail(f"deleting {used}, which the demo uses, was not refused")
        except KafkaError:
            pass
    admin.delete_topics([TOPIC])
    topics = admin.list_topics()
    if TOPIC in topics or "metronome" not in topics:
        fail(f"after the deletes the topics are {sorted(topics)}")


def confluent_kafka():
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)]).values():
        future.result()
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True})
    failures = []
    for key, value in EXPECTED:
        producer.produce(TOPIC, key=key, value=value, headers=None if value is None else [("source", CLIENT.encode())],
                         on_delivery=lambda error, _: failures.append(error) if error else None)
    if producer.flush(30) != 0 or failures:
        fail(f"produce did not complete: {failures}")
    refusals = []
    producer.produce("wiener", key=b"x", value=b"{}", on_delivery=lambda error, _: refusals.append(error))
    producer.flush(30)
    refused = bool(refusals) and refusals[0] is not None
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"{TOPIC}-readers", "enable.auto.commit": False})
    consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(3)])
    records = []
    deadline = time.time() + 30
    while len(records) < len(EXPECTED) and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        records.append((message.partition(), message.offset(), message.key(), message.value(), message.headers() or []))
    watermarks = [consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10) for p in range(3)]
    used = records[0][0] if records else 0
    by_time = consumer.offsets_for_times([TopicPartition(TOPIC, used, 0)], timeout=10)
    if by_time[0].offset != 0:
        fail(f"offsets_for_times(0) on partition {used} gave {by_time[0].offset}")
    consumer.commit(offsets=[TopicPartition(TOPIC, 1, 5, metadata="kept")], asynchronous=False)
    committed = consumer.committed([TopicPartition(TOPIC, 1)], timeout=10)[0]
    if committed.offset != 5 or committed.metadata != "kept":
        fail(f"committed offset read back as {committed.offset} {committed.metadata!r}")
    consumer.assign([TopicPartition("wiener", 0, OFFSET_BEGINNING)])
    wiener = []
    while len(wiener) < 5 and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            wiener.append(message.value())
    consumer.close()
    headers = [(p, o, k, v, list(h)) for p, o, k, v, h in records]
    check(headers, wiener, (min(low for low, _ in watermarks), max(high for _, high in watermarks), sum(high for _, high in watermarks)), refused)
    for used in ("metronome", "wiener"):
        try:
            admin.delete_topics([used])[used].result()
            fail(f"deleting {used}, which the demo uses, was not refused")
        except KafkaException:
            pass
    for future in admin.delete_topics([TOPIC]).values():
        future.result()
    topics = admin.list_topics(timeout=10).topics
    if TOPIC in topics or "metronome" not in topics:
        fail(f"after the deletes the topics are {sorted(topics)}")


def aiokafka():
    import asyncio
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError
    from aiokafka.structs import OffsetAndMetadata

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        await admin.start()
        await admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
        # aiokafka's idempotent producer uses InitProducerId v0 (no producer id fields).
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True)
        await producer.start()
        sent = [await producer.send(TOPIC, key=key, value=value, headers=[] if value is None else [("source", CLIENT.encode())])
                for key, value in EXPECTED]
        await asyncio.gather(*sent)
        refused = False
        try:
            await (await producer.send("wiener", key=b"x", value=b"{}"))
        except KafkaError:
            refused = True
        await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, group_id=f"{TOPIC}-readers")
        await consumer.start()
        partitions = [TopicPartition(TOPIC, p) for p in range(3)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning()
        records = []
        deadline = time.time() + 30
        while len(records) < len(EXPECTED) and time.time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records += [(m.partition, m.offset, m.key, m.value, [(k, bytes(v)) for k, v in m.headers]) for m in batch]
        earliest = await consumer.beginning_offsets(partitions)
        latest = await consumer.end_offsets(partitions)
        used = TopicPartition(TOPIC, records[0][0]) if records else partitions[0]
        by_time = await consumer.offsets_for_times({used: 0})
        if by_time[used] is None or by_time[used].offset != 0:
            fail(f"offsets_for_times(0) on partition {used.partition} gave {by_time}")
        await consumer.commit({partitions[1]: OffsetAndMetadata(5, "kept")})
        committed = await consumer.committed(partitions[1])
        if committed != 5:
            fail(f"committed offset read back as {committed}")
        wiener_partition = TopicPartition("wiener", 0)
        consumer.assign([wiener_partition])
        await consumer.seek_to_beginning(wiener_partition)
        wiener = []
        while len(wiener) < 5 and time.time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                wiener += [m.value for m in batch]
        await consumer.stop()
        check(records, wiener[:5], (min(earliest.values()), max(latest.values()), sum(latest.values())), refused)
        for used in ("metronome", "wiener"):
            result = await admin.delete_topics([used])
            codes = [code for _, code in result.topic_error_codes]
            if codes == [0]:
                fail(f"deleting {used}, which the demo uses, was not refused")
        await admin.delete_topics([TOPIC])
        topics = await admin.list_topics()
        await admin.close()
        if TOPIC in topics or "metronome" not in topics:
            fail(f"after the deletes the topics are {sorted(topics)}")

    asyncio.run(run())


try:
    {"kafka-python": kafka_python, "confluent-kafka": confluent_kafka, "aiokafka": aiokafka}[CLIENT]()
except SystemExit:
    raise
except Exception as error:  # noqa: BLE001 - any client error fails the check, with its text
    fail(f"{type(error).__name__}: {error}")
