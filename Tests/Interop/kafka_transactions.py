#!/usr/bin/env python3
"""Transactions against Firestream's broker: confluent-kafka (librdkafka 2.16) and kafka-python.

    kafka_transactions.py BOOTSTRAP

For each client: a transactional producer commits, aborts and commits again; read_committed
consumers see exactly the committed records (in order), read_uncommitted ones see every record;
a transaction left open holds read_committed readers back until it commits; a second producer with
the same transactional id fences the first; and a consume-transform-produce loop commits its input
offsets in the transaction (send_offsets_to_transaction), so the group resumes after them.
Prints `<client>: ok` per client and exits 0, or prints what went wrong and exits 1.
"""
import sys
import time
import uuid

BOOTSTRAP = sys.argv[1]


def fail(message):
    print(f"FAILED: {message}", flush=True)
    sys.exit(1)


def expect(what, got, wanted):
    if got != wanted:
        fail(f"{what}: got {got}, wanted {wanted}")


# MARK: confluent-kafka

def ck_consume(topic, isolation, count, seconds=20, group=None):
    """Up to `count` values from the beginning (fewer when `seconds` pass first)."""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": group or f"reader-{uuid.uuid4()}", "enable.auto.commit": False,
        "isolation.level": isolation, "auto.offset.reset": "earliest",
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.time() + seconds
    while len(values) < count and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == -191:  # _PARTITION_EOF
                continue
            fail(f"consume {topic}: {message.error()}")
        values.append(message.value().decode())
    consumer.close()
    return values


def ck_producer(transactional_id):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": transactional_id, "transaction.timeout.ms": 60000})
    producer.init_transactions(30)
    return producer


def ck_transaction(producer, topic, values, commit):
    producer.begin_transaction()
    for value in values:
        producer.produce(topic, value=value.encode(), partition=0)
    if commit:
        producer.commit_transaction(30)
    else:
        producer.flush(30)
        producer.abort_transaction(30)


def confluent():
    from confluent_kafka import Consumer, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    topic, out = "tx-ck-in", "tx-ck-out"
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for name in (topic, out):
        admin.create_topics([NewTopic(name, 1)])[name].result(30)

    producer = ck_producer("tx-ck")
    ck_transaction(producer, topic, ["c1", "c2", "c3"], commit=True)
    ck_transaction(producer, topic, ["a1", "a2"], commit=False)
    ck_transaction(producer, topic, ["c4"], commit=True)
    expect("read_committed after commit, abort, commit", ck_consume(topic, "read_committed", 4), ["c1", "c2", "c3", "c4"])
    expect("read_uncommitted", ck_consume(topic, "read_uncommitted", 6), ["c1", "c2", "c3", "a1", "a2", "c4"])

    # An open transaction holds read_committed readers back until it commits.
    producer.begin_transaction()
    producer.produce(topic, value=b"o1", partition=0)
    producer.flush(30)
    expect("read_committed while a transaction is open", ck_consume(topic, "read_committed", 5, seconds=4), ["c1", "c2", "c3", "c4"])
    expect("read_uncommitted while a transaction is open", ck_consume(topic, "read_uncommitted", 7)[-1], "o1")
    producer.commit_transaction(30)
    expect("read_committed after the open transaction commits", ck_consume(topic, "read_committed", 5)[-1], "o1")

    # A second producer with the same transactional id fences the first.
    successor = ck_producer("tx-ck")
    try:
        ck_transaction(producer, topic, ["zombie"], commit=True)
        fail("a fenced producer committed")
    except KafkaException as error:
        if not (error.args[0].fatal() or "fenced" in str(error).lower()):
            fail(f"the fenced producer failed, but not as fenced: {error}")
    ck_transaction(successor, topic, ["c5"], commit=True)
    expect("after fencing", ck_consume(topic, "read_committed", 6)[-1], "c5")
    expect("the zombie's record", "zombie" in ck_consume(topic, "read_uncommitted", 9, seconds=4), False)

    # Consume, transform, produce: the input offsets commit with the outputs.
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP, "group.id": "tx-ck-group", "enable.auto.commit": False,
        "isolation.level": "read_committed", "auto.offset.reset": "earliest",
    })
    consumer.subscribe([topic])
    seen = []
    deadline = time.time() + 30
    while len(seen) < 6 and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        seen.append(message)
    expect("transform input", [m.value().decode() for m in seen], ["c1", "c2", "c3", "c4", "o1", "c5"])
    successor.begin_transaction()
    for message in seen:
        successor.produce(out, value=message.value().upper(), partition=0)
    successor.send_offsets_to_transaction([TopicPartition(topic, 0, seen[-1].offset() + 1)], consumer.consumer_group_metadata(), 30)
    successor.commit_transaction(30)
    committed = consumer.committed([TopicPartition(topic, 0)], 30)[0].offset
    expect("offset committed by the transaction", committed, seen[-1].offset() + 1)
    consumer.close()
    expect("transform output", ck_consume(out, "read_committed", 6), ["C1", "C2", "C3", "C4", "O1", "C5"])


# MARK: kafka-python

def kp_consume(topic, isolation, count, seconds=20):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, isolation_level=isolation, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=seconds * 1000)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    values = []
    for message in consumer:
        values.append(message.value.decode())
        if len(values) == count:
            break
    consumer.close()
    return values


def kafka_python():
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError
    topic = "tx-kp"
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()

    def producer():
        made = KafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id="tx-kp")
        made.init_transactions()
        return made

    first = producer()
    for values, commit in ((["c1", "c2"], True), (["a1"], False), (["c3"], True)):
        first.begin_transaction()
        for value in values:
            first.send(topic, value=value.encode(), partition=0)
        first.flush()
        first.commit_transaction() if commit else first.abort_transaction()
    expect("kafka-python read_committed", kp_consume(topic, "read_committed", 3), ["c1", "c2", "c3"])
    expect("kafka-python read_uncommitted", kp_consume(topic, "read_uncommitted", 4), ["c1", "c2", "a1", "c3"])

    second = producer()
    try:
        first.begin_transaction()
        first.send(topic, value=b"zombie", partition=0)
        first.flush()
        first.commit_transaction()
        fail("kafka-python: a fenced producer committed")
    except KafkaError:
        pass
    second.begin_transaction()
    second.send(topic, value=b"c4", partition=0)
    second.commit_transaction()
    expect("kafka-python after fencing", kp_consume(topic, "read_committed", 4), ["c1", "c2", "c3", "c4"])
    first.close(timeout=5)
    second.close(timeout=5)


for name, run in (("confluent-kafka", confluent), ("kafka-python", kafka_python)):
    run()
    print(f"{name}: ok", flush=True)
