/// The end of a transaction in one partition: a control batch holding one record whose key says
/// commit or abort (Kafka's "transaction markers"). Readers never see it as a record.
public enum ControlMarker: Int16, Sendable, Equatable {
    case abort = 0
    case commit = 1
}

extension RecordBatch {
    /// Sets the transactional and control bits (for batches written as a transaction's marker).
    static let transactionalControl: Int16 = 0x30

    /// A transaction marker as a control batch: producer id and epoch of the transaction, one
    /// record with key (version 0, type) and value (version 0, coordinator epoch).
    public static func encodeMarker(
        _ marker: ControlMarker, producerId: Int64, producerEpoch: Int16, coordinatorEpoch: Int32 = 0, timestamp: Int64
    ) -> [UInt8] {
        var key = ByteWriter(capacity: 4)
        key.write(Int16(0))
        key.write(marker.rawValue)
        var value = ByteWriter(capacity: 6)
        value.write(Int16(0))
        value.write(coordinatorEpoch)
        var writer = ByteWriter(capacity: 96)
        encode(
            [ProducerRecord(key: key.bytes, value: value.bytes, timestamp: timestamp)], producerId: producerId, producerEpoch: producerEpoch,
            into: &writer)
        writer.patch(transactionalControl, at: RecordBatchHeader.attributesOffset)
        let crc = writer.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.attributesOffset...])) }
        writer.patch(crc, at: RecordBatchHeader.crcOffset)
        return writer.bytes
    }

    /// The marker a control batch carries; nil for other batches and for control records this
    /// codec does not know (their key is not version 0 with type abort or commit).
    public static func marker(_ batch: UnsafeRawBufferPointer, header: RecordBatchHeader) -> ControlMarker? {
        guard header.isControl, let record = try? records(batch, header: header).first, let key = record.key, key.count >= 4 else {
            return nil
        }
        guard key[0] == 0, key[1] == 0 else { return nil }
        return ControlMarker(rawValue: Int16(key[2]) << 8 | Int16(key[3]))
    }
}
