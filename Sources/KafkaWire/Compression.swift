import CCompression

/// The codecs of Kafka record batches (the low three bits of a batch's attributes). The records
/// after the batch header are compressed as one block; the header itself never is.
public enum CompressionCodec: Int, Sendable, CaseIterable {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    public var name: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }
}

/// Compression and decompression of a batch's records with the system's zlib, snappy, lz4 and
/// zstd. Decompression is bounded (``maxDecompressedBytes``): a small hostile batch cannot make
/// the process allocate gigabytes.
public enum BatchCompression {
    /// The most a batch's records may take once decompressed (64 MiB: 64 times Kafka's default
    /// largest batch).
    public static let maxDecompressedBytes = 64 << 20

    /// The xerial framing that Java-descended clients (kafka-python, aiokafka) put around snappy.
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]

    public static func decompress(
        _ input: UnsafeRawBufferPointer, codec: CompressionCodec, limit: Int = maxDecompressedBytes
    ) throws(WireError) -> [UInt8] {
        switch codec {
        case .none: return Array(input)
        case .gzip: return try gunzip(input, limit: limit)
        case .snappy: return try unsnappy(input, limit: limit)
        case .lz4: return try unlz4(input, limit: limit)
        case .zstd: return try unzstd(input, limit: limit)
        }
    }

    /// Compresses `input` as Kafka clients do: gzip with a gzip header, raw snappy (as
    /// librdkafka writes it), an LZ4 frame, a zstd frame.
    public static func compress(_ input: [UInt8], codec: CompressionCodec) throws(WireError) -> [UInt8] {
        switch codec {
        case .none: return input
        case .gzip: return try gzip(input)
        case .snappy:
            var length = snappy_max_compressed_length(input.count)
            var output = [UInt8](repeating: 0, count: length)
            let status = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    source.withMemoryRebound(to: CChar.self) { source in
                        target.withMemoryRebound(to: CChar.self) { snappy_compress(source.baseAddress, source.count, $0.baseAddress, &length) }
                    }
                }
            }
            guard status == SNAPPY_OK else { throw WireError("snappy compression failed (\(status.rawValue))", at: 0) }
            return Array(output.prefix(length))
        case .lz4:
            var output = [UInt8](repeating: 0, count: LZ4F_compressFrameBound(input.count, nil))
            let written = output.withUnsafeMutableBytes { target in
                input.withUnsafeBytes { source in LZ4F_compressFrame(target.baseAddress, target.count, source.baseAddress, source.count, nil) }
            }
            guard LZ4F_isError(written) == 0 else { throw WireError("lz4 compression failed: \(String(cString: LZ4F_getErrorName(written)))", at: 0) }
            return Array(output.prefix(written))
        case .zstd:
            var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
            let written = output.withUnsafeMutableBytes { target in
                input.withUnsafeBytes { source in ZSTD_compress(target.baseAddress, target.count, source.baseAddress, source.count, 3) }
            }
            guard ZSTD_isError(written) == 0 else {
                throw WireError("zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))", at: 0)
            }
            return Array(output.prefix(written))
        }
    }

    // MARK: - Decompression, one codec each

    /// Grows `output` for a streaming decoder: more room, never past `limit`.
    private static func grow(_ output: inout [UInt8], limit: Int, codec: String) throws(WireError) {
        guard output.count < limit else {
            throw WireError("\(codec) batch decompresses to more than \(limit) bytes", at: 0)
        }
        output.append(contentsOf: repeatElement(0, count: min(max(output.count, 4096), limit - output.count)))
    }

    private static func initialCapacity(_ input: Int, limit: Int) -> Int { min(limit, max(4096, input * 4)) }

    /// gzip (or zlib) members, one after another, as Java's GZIPInputStream reads them.
    private static func gunzip(_ input: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> [UInt8] {
        guard input.count > 0 else { throw WireError("gzip data is empty", at: 0) }
        var output = [UInt8](repeating: 0, count: initialCapacity(input.count, limit: limit))
        var produced = 0
        var consumed = 0
        while consumed < input.count {
            var stream = z_stream()
            // 15 + 32: any window, and detect a gzip or a zlib header.
            guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw WireError("zlib could not start", at: 0)
            }
            defer { inflateEnd(&stream) }
            var status = Z_OK
            while status != Z_STREAM_END {
                if produced == output.count { try grow(&output, limit: limit, codec: "gzip") }
                let (read, wrote, result) = output.withUnsafeMutableBytes { target in
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: consumed).assumingMemoryBound(to: Bytef.self))
                    stream.avail_in = uInt(input.count - consumed)
                    stream.next_out = target.baseAddress!.advanced(by: produced).assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(target.count - produced)
                    let result = inflate(&stream, Z_NO_FLUSH)
                    return (input.count - consumed - Int(stream.avail_in), target.count - produced - Int(stream.avail_out), result)
                }
                consumed += read
                produced += wrote
                status = result
                if status == Z_BUF_ERROR && read == 0 && wrote == 0 && consumed == input.count {
                    throw WireError("gzip data is cut short", at: consumed)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw WireError("gzip data is damaged (zlib \(status))", at: consumed)
                }
            }
        }
        return Array(output.prefix(produced))
    }

    private static func unsnappy(_ input: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> [UInt8] {
        guard input.count >= 16, input.prefix(8).elementsEqual(xerialMagic) else { return try snappyBlock(input, limit: limit) }
        // Xerial framing: magic, version, compatible version, then (big-endian length, block)*.
        var output: [UInt8] = []
        var position = 16
        while position < input.count {
            guard input.count - position >= 4 else { throw WireError("xerial snappy block length cut short", at: position) }
            let length = input[position..<position + 4].reduce(0) { $0 << 8 | Int($1) }
            position += 4
            guard length <= input.count - position else { throw WireError("xerial snappy block of \(length) bytes overruns the batch", at: position) }
            output += try snappyBlock(UnsafeRawBufferPointer(rebasing: input[position..<position + length]), limit: limit - output.count)
            position += length
        }
        return output
    }

    private static func snappyBlock(_ input: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> [UInt8] {
        let source = input.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) }
        var length = 0
        guard snappy_uncompressed_length(source, input.count, &length) == SNAPPY_OK else {
            throw WireError("snappy data is damaged (no length)", at: 0)
        }
        guard length <= limit else { throw WireError("snappy batch decompresses to \(length) bytes, more than \(limit)", at: 0) }
        var output = [UInt8](repeating: 0, count: length)
        let status = output.withUnsafeMutableBytes { target in
            snappy_uncompress(source, input.count, target.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
        }
        guard status == SNAPPY_OK else { throw WireError("snappy data is damaged", at: 0) }
        return Array(output.prefix(length))
    }

    private static func unlz4(_ input: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> [UInt8] {
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0 else {
            throw WireError("lz4 could not start", at: 0)
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var output = [UInt8](repeating: 0, count: initialCapacity(input.count, limit: limit))
        var produced = 0
        var consumed = 0
        while true {
            if produced == output.count { try grow(&output, limit: limit, codec: "lz4") }
            var read = input.count - consumed
            var wrote = output.count - produced
            let hint = output.withUnsafeMutableBytes { target in
                LZ4F_decompress(context, target.baseAddress! + produced, &wrote, input.baseAddress.map { $0 + consumed }, &read, nil)
            }
            guard LZ4F_isError(hint) == 0 else { throw WireError("lz4 data is damaged: \(String(cString: LZ4F_getErrorName(hint)))", at: consumed) }
            consumed += read
            produced += wrote
            if hint == 0 && consumed == input.count { break }  // the last frame is complete
            if read == 0 && wrote == 0 && consumed == input.count { throw WireError("lz4 frame is cut short", at: consumed) }
        }
        return Array(output.prefix(produced))
    }

    private static func unzstd(_ input: UnsafeRawBufferPointer, limit: Int) throws(WireError) -> [UInt8] {
        guard let context = ZSTD_createDCtx() else { throw WireError("zstd could not start", at: 0) }
        defer { ZSTD_freeDCtx(context) }
        // A frame may ask for a window up to 2^27; batches are small, so 16 MiB is plenty and bounds memory.
        _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 24)
        var output = [UInt8](repeating: 0, count: initialCapacity(input.count, limit: limit))
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var produced = 0
        var remaining = 1
        while remaining != 0 || inBuffer.pos < inBuffer.size {
            if produced == output.count { try grow(&output, limit: limit, codec: "zstd") }
            let before = (inBuffer.pos, produced)
            remaining = output.withUnsafeMutableBytes { target in
                var outBuffer = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: produced)
                defer { produced = outBuffer.pos }
                return ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            }
            guard ZSTD_isError(remaining) == 0 else {
                throw WireError("zstd data is damaged: \(String(cString: ZSTD_getErrorName(remaining)))", at: inBuffer.pos)
            }
            if before == (inBuffer.pos, produced) && produced < output.count { throw WireError("zstd frame is cut short", at: inBuffer.pos) }
        }
        return Array(output.prefix(produced))
    }

    private static func gzip(_ input: [UInt8]) throws(WireError) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: a gzip header and trailer, as Kafka's clients write.
        guard
            deflateInit2_(
                &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { throw WireError("zlib could not start", at: 0) }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw WireError("gzip compression failed (zlib \(status))", at: 0) }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
