import FirestreamJSON
import KafkaWire
import VaporCSQLite

/// `records(topic)`: a topic as a table-valued function of SQLite (an eponymous virtual table),
/// read straight from the log. Conditions on `partition`, `offset` and `timestamp` become bounds
/// of the scan (``RecordsPlan``), so `WHERE offset >= 1000` reads no record before 1000.
enum RecordsTable {
    /// The columns; `topic` is hidden: it is the function's argument.
    static let schema =
        "CREATE TABLE x(partition INTEGER, offset INTEGER, timestamp INTEGER, key, value, headers TEXT, topic HIDDEN)"

    enum Column: Int32 { case partition, offset, timestamp, key, value, headers, topic }

    /// Makes `records` available on `database`, reading through `catalog`.
    static func register(on database: SQLiteDatabase, catalog: RecordsCatalog) throws(SQLiteError) {
        let context = Unmanaged.passRetained(CatalogBox(catalog)).toOpaque()
        let code = sqlite_nio_sqlite3_create_module_v2(database.handle, "records", module, context) { context in
            context.map { Unmanaged<CatalogBox>.fromOpaque($0).release() }
        }
        guard code == SQLITE_OK else { throw SQLiteError(message: database.lastMessage, code: code) }
    }

    final class CatalogBox {
        let catalog: RecordsCatalog
        init(_ catalog: RecordsCatalog) { self.catalog = catalog }
    }

    /// SQLite's structs for a table and a cursor, followed by a pointer to the Swift object.
    private static let tableSize = MemoryLayout<sqlite3_vtab>.stride + MemoryLayout<UnsafeMutableRawPointer>.size
    private static let cursorSize = MemoryLayout<sqlite3_vtab_cursor>.stride + MemoryLayout<UnsafeMutableRawPointer>.size

    private static func scan(_ cursor: UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> RecordsScan {
        let raw = UnsafeMutableRawPointer(cursor!)
        let object = raw.load(fromByteOffset: MemoryLayout<sqlite3_vtab_cursor>.stride, as: UnsafeMutableRawPointer.self)
        return Unmanaged<RecordsScan>.fromOpaque(object).takeUnretainedValue()
    }

    private static func catalog(_ table: UnsafeMutablePointer<sqlite3_vtab>?) -> RecordsCatalog {
        let raw = UnsafeMutableRawPointer(table!)
        let object = raw.load(fromByteOffset: MemoryLayout<sqlite3_vtab>.stride, as: UnsafeMutableRawPointer.self)
        return Unmanaged<CatalogBox>.fromOpaque(object).takeUnretainedValue().catalog
    }

    /// Reports `message` as the statement's error.
    static func fail(_ table: UnsafeMutablePointer<sqlite3_vtab>?, _ message: String) -> Int32 {
        guard let table else { return SQLITE_ERROR }
        sqlite_nio_sqlite3_free(table.pointee.zErrMsg)
        table.pointee.zErrMsg = sqliteCopy(message)
        return SQLITE_ERROR
    }

    // Eponymous only (no xCreate): the table exists in every schema without CREATE VIRTUAL TABLE.
    nonisolated(unsafe) private static let module: UnsafeMutablePointer<sqlite3_module> = {
        var module = sqlite3_module()
        module.iVersion = 1
        module.xConnect = { database, context, _, _, table, _ in
            let code = sqlite_nio_sqlite3_declare_vtab(database, RecordsTable.schema)
            guard code == SQLITE_OK, let table, let context else { return code == SQLITE_OK ? SQLITE_MISUSE : code }
            let raw = UnsafeMutableRawPointer.allocate(byteCount: RecordsTable.tableSize, alignment: 16)
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: RecordsTable.tableSize)
            raw.storeBytes(of: context, toByteOffset: MemoryLayout<sqlite3_vtab>.stride, as: UnsafeMutableRawPointer.self)
            table.pointee = raw.assumingMemoryBound(to: sqlite3_vtab.self)
            return SQLITE_OK
        }
        module.xDisconnect = { table in
            sqlite_nio_sqlite3_free(table?.pointee.zErrMsg)
            table.map { UnsafeMutableRawPointer($0).deallocate() }
            return SQLITE_OK
        }
        module.xBestIndex = { _, info in
            guard let info else { return SQLITE_MISUSE }
            RecordsIndex.choose(info)
            return SQLITE_OK
        }
        module.xOpen = { table, cursor in
            guard let cursor else { return SQLITE_MISUSE }
            let scan = RecordsScan(topics: RecordsTable.catalog(table))
            let raw = UnsafeMutableRawPointer.allocate(byteCount: RecordsTable.cursorSize, alignment: 16)
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: RecordsTable.cursorSize)
            raw.storeBytes(
                of: Unmanaged.passRetained(scan).toOpaque(), toByteOffset: MemoryLayout<sqlite3_vtab_cursor>.stride, as: UnsafeMutableRawPointer.self)
            cursor.pointee = raw.assumingMemoryBound(to: sqlite3_vtab_cursor.self)
            return SQLITE_OK
        }
        module.xClose = { cursor in
            guard let cursor else { return SQLITE_OK }
            Unmanaged.passUnretained(RecordsTable.scan(cursor)).release()
            UnsafeMutableRawPointer(cursor).deallocate()
            return SQLITE_OK
        }
        module.xFilter = { cursor, chosen, _, count, arguments in
            let plan = RecordsIndex.plan(chosen, Array(UnsafeBufferPointer(start: arguments, count: Int(count))))
            do throws(RecordsError) {
                try RecordsTable.scan(cursor).start(plan)
                return SQLITE_OK
            } catch {
                return RecordsTable.fail(cursor?.pointee.pVtab, error.description)
            }
        }
        module.xNext = { cursor in
            do throws(RecordsError) {
                try RecordsTable.scan(cursor).advance()
                return SQLITE_OK
            } catch {
                return RecordsTable.fail(cursor?.pointee.pVtab, error.description)
            }
        }
        module.xEof = { cursor in RecordsTable.scan(cursor).current == nil ? 1 : 0 }
        module.xColumn = { cursor, result, column in
            let scan = RecordsTable.scan(cursor)
            guard let record = scan.current, let column = Column(rawValue: column) else { return SQLITE_OK }
            RecordsTable.result(result, column, record, scan)
            return SQLITE_OK
        }
        module.xRowid = { cursor, rowid in
            rowid?.pointee = RecordsTable.scan(cursor).row
            return SQLITE_OK
        }
        let pointer = UnsafeMutablePointer<sqlite3_module>.allocate(capacity: 1)
        pointer.initialize(to: module)
        return pointer
    }()

    private static func result(_ result: OpaquePointer?, _ column: Column, _ record: ConsumerRecord, _ scan: RecordsScan) {
        switch column {
        case .partition: sqlite_nio_sqlite3_result_int64(result, Int64(scan.partition))
        case .offset: sqlite_nio_sqlite3_result_int64(result, record.offset)
        case .timestamp: sqlite_nio_sqlite3_result_int64(result, record.timestamp)
        case .key: bytes(result, record.key)
        case .value: bytes(result, record.value)
        case .headers: text(result, headersJSON(record.headers))
        case .topic: text(result, scan.topic)
        }
    }

    /// Text when the bytes are UTF-8 (so JSON functions and `->>` apply), else a blob.
    private static func bytes(_ result: OpaquePointer?, _ bytes: [UInt8]?) {
        guard let bytes else { return sqlite_nio_sqlite3_result_null(result) }
        bytes.withUnsafeBufferPointer { buffer in
            if isUTF8(buffer) {
                textBytes(result, buffer)
            } else {
                sqlite_nio_sqlite3_result_blob(result, buffer.baseAddress, Int32(buffer.count), sqliteTransient)
            }
        }
    }

    private static func text(_ result: OpaquePointer?, _ text: String) {
        var text = text
        text.withUTF8 { textBytes(result, $0) }
    }

    private static func textBytes(_ result: OpaquePointer?, _ buffer: UnsafeBufferPointer<UInt8>) {
        guard let start = buffer.baseAddress, !buffer.isEmpty else { return sqlite_nio_sqlite3_result_text(result, "", 0, sqliteTransient) }
        start.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
            sqlite_nio_sqlite3_result_text(result, $0, Int32(buffer.count), sqliteTransient)
        }
    }

    static func isUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if bytes.allSatisfy({ $0 < 0x80 }) { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }

    /// `{"name": "value"}`; a name that repeats maps to the list of its values, in order.
    static func headersJSON(_ headers: [RecordHeader]) -> String {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for header in headers {
            if values[header.key] == nil { order.append(header.key) }
            values[header.key, default: []].append(header.value.map { JSONText.quote(String(decoding: $0, as: UTF8.self)) } ?? "null")
        }
        let fields = order.map { name -> String in
            let list = values[name] ?? []
            return JSONText.quote(name) + ":" + (list.count == 1 ? list[0] : "[" + list.joined(separator: ",") + "]")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// A copy of `text` in memory SQLite frees (error messages it takes ownership of).
func sqliteCopy(_ text: String) -> UnsafeMutablePointer<CChar>? {
    let bytes = Array(text.utf8)
    guard let memory = sqlite_nio_sqlite3_malloc(Int32(bytes.count + 1)) else { return nil }
    let target = memory.assumingMemoryBound(to: CChar.self)
    bytes.withUnsafeBytes { source in
        if let start = source.baseAddress { UnsafeMutableRawPointer(target).copyMemory(from: start, byteCount: source.count) }
    }
    target[bytes.count] = 0
    return target
}
