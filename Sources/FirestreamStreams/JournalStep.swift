public import KafkaWire

/// One step of an app task, as one record in the task's journal partition. Appending it is the
/// commit: it carries the new input positions, the final state of every key the step changed,
/// timer changes, and the step's outputs as the exact record batches (producer id and sequence
/// included) to append to each output partition. Recovery replays steps and appends those same
/// batches again; the log drops the ones it has, so a crash anywhere loses and duplicates nothing.
@usableFromInline
struct JournalStep: Equatable {
    @usableFromInline
    struct Batch: Equatable {
        /// 0: the app's output topic, 1: its dead-letter topic.
        @usableFromInline var topic: UInt8
        @usableFromInline var partition: Int
        /// A complete record batch, encoded once when the step ran.
        @usableFromInline var bytes: [UInt8]

        @usableFromInline
        init(topic: UInt8, partition: Int, bytes: [UInt8]) {
            self.topic = topic
            self.partition = partition
            self.bytes = bytes
        }
    }

    /// A snapshot step holds the task's complete state, timers and producer sequences, so
    /// recovery can start from it and the journal before it can be deleted.
    @usableFromInline var snapshot = false
    /// For snapshots: the next producer sequence of every output partition written so far.
    @usableFromInline var sequences: [(topic: UInt8, partition: Int, next: Int32)] = []
    /// Next offset to read per input topic (by index in `inputTopics`).
    @usableFromInline var inputNext: [Int64]
    /// The newest journal offset whose outputs were known durable when this step was written.
    @usableFromInline var publishedThrough: Int64
    /// Key → encoded state (nil: removed).
    @usableFromInline var states: [(key: String, value: [UInt8]?)]
    /// Key → timeout deadline (nil: cleared).
    @usableFromInline var timers: [(key: String, deadline: Int64?)]
    @usableFromInline var batches: [Batch]

    @usableFromInline
    static func == (a: JournalStep, b: JournalStep) -> Bool {
        a.inputNext == b.inputNext && a.publishedThrough == b.publishedThrough
            && a.states.map(\.key) == b.states.map(\.key) && a.states.map(\.value) == b.states.map(\.value)
            && a.timers.map(\.key) == b.timers.map(\.key) && a.timers.map(\.deadline) == b.timers.map(\.deadline)
            && a.batches == b.batches && a.snapshot == b.snapshot
            && a.sequences.map(\.topic) == b.sequences.map(\.topic) && a.sequences.map(\.partition) == b.sequences.map(\.partition)
            && a.sequences.map(\.next) == b.sequences.map(\.next)
    }

    @usableFromInline
    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + states.count * 64 + batches.reduce(0) { $0 + $1.bytes.count + 8 })
        writer.write(UInt8(2))
        writer.write(UInt8(snapshot ? 1 : 0))
        writer.writeVarint(Int64(sequences.count))
        for sequence in sequences {
            writer.write(sequence.topic)
            writer.writeVarint(Int64(sequence.partition))
            writer.writeVarint(Int64(sequence.next))
        }
        writer.writeVarint(Int64(inputNext.count))
        for next in inputNext { writer.writeVarint(next) }
        writer.writeVarint(publishedThrough)
        writer.writeVarint(Int64(states.count))
        for (key, value) in states {
            writeBytes(Array(key.utf8), &writer)
            writeBytes(value, &writer)
        }
        writer.writeVarint(Int64(timers.count))
        for (key, deadline) in timers {
            writeBytes(Array(key.utf8), &writer)
            writer.writeVarint(deadline ?? -1)
        }
        writer.writeVarint(Int64(batches.count))
        for batch in batches {
            writer.write(batch.topic)
            writer.writeVarint(Int64(batch.partition))
            writeBytes(batch.bytes, &writer)
        }
        return writer.bytes
    }

    @usableFromInline
    init(
        inputNext: [Int64], publishedThrough: Int64, states: [(key: String, value: [UInt8]?)],
        timers: [(key: String, deadline: Int64?)], batches: [Batch]
    ) {
        self.inputNext = inputNext
        self.publishedThrough = publishedThrough
        self.states = states
        self.timers = timers
        self.batches = batches
    }

    init(decoding bytes: [UInt8]) throws(WireError) {
        var step = JournalStep(inputNext: [], publishedThrough: -1, states: [], timers: [], batches: [])
        let failure: WireError? = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            do throws(WireError) {
                guard try reader.read(UInt8.self) == 2 else { throw WireError("not a journal step of this Firestream version", at: 0) }
                step.snapshot = try reader.read(UInt8.self) & 1 == 1
                for _ in 0..<(try count(&reader)) {
                    step.sequences.append(
                        (try reader.read(UInt8.self), Int(try reader.readVarint()), Int32(truncatingIfNeeded: try reader.readVarint())))
                }
                for _ in 0..<(try count(&reader)) { step.inputNext.append(try reader.readVarint()) }
                step.publishedThrough = try reader.readVarint()
                for _ in 0..<(try count(&reader)) {
                    let key = String(decoding: try readBytes(&reader) ?? [], as: UTF8.self)
                    step.states.append((key, try readBytes(&reader)))
                }
                for _ in 0..<(try count(&reader)) {
                    let key = String(decoding: try readBytes(&reader) ?? [], as: UTF8.self)
                    let deadline = try reader.readVarint()
                    step.timers.append((key, deadline < 0 ? nil : deadline))
                }
                for _ in 0..<(try count(&reader)) {
                    let topic = try reader.read(UInt8.self)
                    let partition = try reader.readVarint()
                    guard topic <= 1, partition >= 0, partition <= Int64(Int32.max) else {
                        throw WireError("batch for output \(topic), partition \(partition): no such output", at: reader.position)
                    }
                    step.batches.append(Batch(topic: topic, partition: Int(partition), bytes: try readBytes(&reader) ?? []))
                }
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        self = step
    }
}

private func count(_ reader: inout ByteReader) throws(WireError) -> Int {
    let value = try reader.readVarint()
    guard value >= 0, value <= Int64(reader.remaining) + 1 else { throw WireError("bad count \(value)", at: reader.position) }
    return Int(value)
}

private func writeBytes(_ bytes: [UInt8]?, _ writer: inout ByteWriter) {
    guard let bytes else {
        writer.writeVarint(-1)
        return
    }
    writer.writeVarint(Int64(bytes.count))
    writer.write(bytes)
}

private func readBytes(_ reader: inout ByteReader) throws(WireError) -> [UInt8]? {
    let length = try reader.readVarint()
    return length < 0 ? nil : try reader.readBytes(Int(length))
}
