public import KafkaWire

/// A transaction's batch, as a transactional producer sends it: the records with the
/// transactional bit set, under the producer's id, epoch and sequence.
public func transactionalBatch(_ values: [String], producerId: Int64, epoch: Int16 = 0, sequence: Int32) -> [UInt8] {
    var writer = ByteWriter(capacity: 0)
    writer.bytes = RecordBatch.encode(
        values.map { ProducerRecord(key: nil, value: Array($0.utf8), timestamp: 1_700_000_000_000) }, producerId: producerId,
        producerEpoch: epoch, baseSequence: sequence)
    writer.patch(Int16(0x10), at: RecordBatchHeader.attributesOffset)
    let crc = writer.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.attributesOffset...])) }
    writer.patch(crc, at: RecordBatchHeader.crcOffset)
    return writer.bytes
}
