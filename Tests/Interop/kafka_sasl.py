#!/usr/bin/env python3
"""SASL against `firestream up` with tokens: every client, every mechanism, and the refusals.

    kafka_sasl.py BOOTSTRAP WRITER_TOKEN READER_TOKEN

The project declares two tokens (made by `firestream token create`): "writer" with
topic:sasl-*:admin and "reader" with topic:sasl-*:read. For each client (kcat, confluent-kafka,
kafka-python, aiokafka) and mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): the writer produces
three records into sasl-<client>-<mechanism> (auto-creating it), and the reader consumes them in a
consumer group, committing. Then, per client: a wrong password is refused; the reader's produce is
refused; and a client without credentials gets nothing. Prints `<client>: ok` per client, exits 0;
or prints what went wrong and exits 1.
"""
import asyncio
import subprocess
import sys
import time

BOOTSTRAP, WRITER, READER = sys.argv[1], sys.argv[2], sys.argv[3]
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def fail(message):
    print(f"FAILED: {message}", flush=True)
    sys.exit(1)


def topic_for(client, mechanism):
    return f"sasl-{client}-{mechanism.lower()}"


def values(client, mechanism):
    return [f"{client}/{mechanism}/{i}" for i in range(3)]


# MARK: kcat (librdkafka 2.0.2)

def kcat(arguments, user, password, mechanism="PLAIN", data=None):
    security = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanism={mechanism}",
                "-X", f"sasl.username={user}", "-X", f"sasl.password={password}"] if user else []
    return subprocess.run(["kcat", "-b", BOOTSTRAP] + security + arguments, input=data, text=True, capture_output=True, timeout=60)


def kcat_round(mechanism):
    topic = topic_for("kcat", mechanism)
    produced = kcat(["-P", "-t", topic], "writer", WRITER, mechanism, "\n".join(values("kcat", mechanism)) + "\n")
    if produced.returncode != 0:
        fail(f"kcat {mechanism} produce: {produced.stderr}")
    consumed = kcat(["-C", "-t", topic, "-o", "beginning", "-e", "-G", f"g-{topic}", topic], "reader", READER, mechanism)
    got = [line for line in consumed.stdout.splitlines() if line]
    if got != values("kcat", mechanism):
        fail(f"kcat {mechanism} consumed {got}: {consumed.stderr}")


def kcat_refusals():
    topic = topic_for("kcat", "PLAIN")
    wrong = kcat(["-L", "-m", "5"], "writer", "fst_wrong", "SCRAM-SHA-256")
    if wrong.returncode == 0 or "Authentication failure" not in wrong.stderr and "authentication failed" not in wrong.stderr:
        fail(f"kcat with a wrong password: {wrong.returncode} {wrong.stderr}")
    denied = kcat(["-P", "-t", topic, "-p", "0"], "reader", READER, "PLAIN", "refused\n")
    if denied.returncode == 0 or "authoriz" not in denied.stderr.lower():
        fail(f"kcat as reader produced: {denied.returncode} {denied.stderr}")
    anonymous = kcat(["-L", "-m", "5"], None, None)
    if anonymous.returncode == 0:
        fail(f"kcat without credentials listed topics: {anonymous.stdout}")


# MARK: confluent-kafka (librdkafka 2.16)

def confluent_config(user, password, mechanism, **extra):
    return {"bootstrap.servers": BOOTSTRAP, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password, **extra}


def confluent_round(mechanism):
    from confluent_kafka import Consumer, Producer
    topic = topic_for("confluent-kafka", mechanism)
    producer = Producer(confluent_config("writer", WRITER, mechanism))
    for value in values("confluent-kafka", mechanism):
        producer.produce(topic, value=value.encode())
    if producer.flush(30) != 0:
        fail(f"confluent-kafka {mechanism}: records left unsent")
    consumer = Consumer(confluent_config("reader", READER, mechanism, **{"group.id": f"g-{topic}", "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    got = []
    deadline = time.time() + 30
    while len(got) < 3 and time.time() < deadline:
        message = consumer.poll(1)
        if message is not None and message.error() is None:
            got.append(message.value().decode())
    consumer.commit(asynchronous=False)
    consumer.close()
    if got != values("confluent-kafka", mechanism):
        fail(f"confluent-kafka {mechanism} consumed {got}")


def confluent_refusals():
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient
    errors = []
    wrong = AdminClient(confluent_config("writer", "fst_wrong", "SCRAM-SHA-512", error_cb=lambda e: errors.append(e)))
    try:
        wrong.list_topics(timeout=5)
        fail("confluent-kafka listed topics with a wrong password")
    except KafkaException:
        pass
    wrong.poll(1)  # serves error_cb
    if not any("uthentication" in str(error) for error in errors):
        fail(f"confluent-kafka with a wrong password reported {errors}")
    reports = []
    denied = Producer(confluent_config("reader", READER, "SCRAM-SHA-256"))
    denied.produce(topic_for("confluent-kafka", "PLAIN"), value=b"refused", on_delivery=lambda error, _: reports.append(error))
    denied.flush(30)
    if len(reports) != 1 or reports[0] is None or "AUTHORIZATION" not in reports[0].name():
        fail(f"confluent-kafka as reader: {reports}")
    anonymous = AdminClient({"bootstrap.servers": BOOTSTRAP})
    try:
        anonymous.list_topics(timeout=5)
        fail("confluent-kafka without credentials listed topics")
    except KafkaException:
        pass


# MARK: kafka-python

def python_config(user, password, mechanism):
    """kafka-python and aiokafka take the same settings."""
    return dict(bootstrap_servers=BOOTSTRAP, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                sasl_plain_username=user, sasl_plain_password=password)


def kafka_python_round(mechanism):
    from kafka import KafkaConsumer, KafkaProducer
    topic = topic_for("kafka-python", mechanism)
    producer = KafkaProducer(**python_config("writer", WRITER, mechanism))
    for value in values("kafka-python", mechanism):
        producer.send(topic, value.encode()).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, group_id=f"g-{topic}", auto_offset_reset="earliest", consumer_timeout_ms=20000,
                             **python_config("reader", READER, mechanism))
    got = []
    for message in consumer:
        got.append(message.value.decode())
        if len(got) == 3:
            break
    consumer.commit()
    consumer.close()
    if got != values("kafka-python", mechanism):
        fail(f"kafka-python {mechanism} consumed {got}")


def kafka_python_refusals():
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    try:
        KafkaProducer(bootstrap_timeout_ms=5000, **python_config("writer", "fst_wrong", "PLAIN"))
        fail("kafka-python connected with a wrong password")
    except KafkaError:
        pass
    # Idempotent by default: a reader gets no producer id (CLUSTER_AUTHORIZATION_FAILED), and
    # without idempotence its records are refused (TOPIC_AUTHORIZATION_FAILED).
    for idempotent in [True, False]:
        try:
            producer = KafkaProducer(enable_idempotence=idempotent, **python_config("reader", READER, "SCRAM-SHA-512"))
            producer.send(topic_for("kafka-python", "PLAIN"), b"refused").get(timeout=30)
            fail(f"kafka-python as reader produced (idempotence {idempotent})")
        except KafkaError as error:
            if "Authorization" not in repr(error):
                fail(f"kafka-python as reader: {error!r}")
    try:
        KafkaProducer(bootstrap_servers=BOOTSTRAP, bootstrap_timeout_ms=5000)
        fail("kafka-python connected without credentials")
    except KafkaError:
        pass


# MARK: aiokafka

async def aiokafka_round(mechanism):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    topic = topic_for("aiokafka", mechanism)
    producer = AIOKafkaProducer(**python_config("writer", WRITER, mechanism))
    await producer.start()
    try:
        for value in values("aiokafka", mechanism):
            await producer.send_and_wait(topic, value.encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, group_id=f"g-{topic}", auto_offset_reset="earliest", **python_config("reader", READER, mechanism))
    await consumer.start()
    got = []
    try:
        while len(got) < 3:
            message = await asyncio.wait_for(consumer.getone(), 30)
            got.append(message.value.decode())
        await consumer.commit()
    finally:
        await consumer.stop()
    if got != values("aiokafka", mechanism):
        fail(f"aiokafka {mechanism} consumed {got}")


async def aiokafka_refusals():
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
    wrong = AIOKafkaProducer(**python_config("writer", "fst_wrong", "SCRAM-SHA-256"))
    try:
        await wrong.start()
        fail("aiokafka connected with a wrong password")
    except KafkaConnectionError:
        pass
    finally:
        await wrong.stop()
    reader = AIOKafkaProducer(**python_config("reader", READER, "PLAIN"))
    await reader.start()
    try:
        await reader.send_and_wait(topic_for("aiokafka", "PLAIN"), b"refused")
        fail("aiokafka as reader produced")
    except TopicAuthorizationFailedError:
        pass
    finally:
        await reader.stop()
    anonymous = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(anonymous.start(), 20)
        fail("aiokafka connected without credentials")
    except (KafkaConnectionError, asyncio.TimeoutError):
        pass
    finally:
        await anonymous.stop()


def main():
    import logging
    logging.disable(logging.CRITICAL)
    for mechanism in MECHANISMS:
        kcat_round(mechanism)
    kcat_refusals()
    print("kcat: ok", flush=True)
    for mechanism in MECHANISMS:
        confluent_round(mechanism)
    confluent_refusals()
    print("confluent-kafka: ok", flush=True)
    for mechanism in MECHANISMS:
        kafka_python_round(mechanism)
    kafka_python_refusals()
    print("kafka-python: ok", flush=True)

    async def aiokafka_all():
        for mechanism in MECHANISMS:
            await aiokafka_round(mechanism)
        await aiokafka_refusals()
    asyncio.run(aiokafka_all())
    print("aiokafka: ok", flush=True)

    # Nothing the refused clients sent arrived: each topic holds its three records.
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer(confluent_config("writer", WRITER, "PLAIN", **{"group.id": "sasl-check"}))
    for client in ["kcat", "confluent-kafka", "kafka-python", "aiokafka"]:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic_for(client, "PLAIN"), 0), timeout=10)
        if (low, high) != (0, 3):
            fail(f"{topic_for(client, 'PLAIN')} holds offsets {low}..{high}, not the three records")
    consumer.close()


if __name__ == "__main__":
    main()
