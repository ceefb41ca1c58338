import VaporCSQLite

/// How `records()` answers SQLite's planner: which WHERE conditions it uses as scan bounds
/// (xBestIndex), and the ``RecordsPlan`` they make once their values are known (xFilter).
///
/// No condition is marked "omit": SQLite checks each on every row as well, so a value the scan
/// cannot use (text, NULL, NaN) only widens the scan and never changes a result.
enum RecordsIndex {
    /// The conditions the scan can use, in the order their values are passed to xFilter; the
    /// chosen index number has bit `rawValue` set for each one used.
    enum Slot: Int, CaseIterable {
        case topic, partition, offsetEqual, offsetAbove, offsetAtLeast, offsetBelow, offsetAtMost
        case timestampEqual, timestampAbove, timestampAtLeast

        init?(column: Int32, operation: Int32) {
            switch (RecordsTable.Column(rawValue: column), operation) {
            case (.topic, SQLITE_INDEX_CONSTRAINT_EQ): self = .topic
            case (.partition, SQLITE_INDEX_CONSTRAINT_EQ): self = .partition
            case (.offset, SQLITE_INDEX_CONSTRAINT_EQ): self = .offsetEqual
            case (.offset, SQLITE_INDEX_CONSTRAINT_GT): self = .offsetAbove
            case (.offset, SQLITE_INDEX_CONSTRAINT_GE): self = .offsetAtLeast
            case (.offset, SQLITE_INDEX_CONSTRAINT_LT): self = .offsetBelow
            case (.offset, SQLITE_INDEX_CONSTRAINT_LE): self = .offsetAtMost
            case (.timestamp, SQLITE_INDEX_CONSTRAINT_EQ): self = .timestampEqual
            case (.timestamp, SQLITE_INDEX_CONSTRAINT_GT): self = .timestampAbove
            case (.timestamp, SQLITE_INDEX_CONSTRAINT_GE): self = .timestampAtLeast
            default: return nil
            }
        }
    }

    /// Picks the usable conditions, one per slot, and prices the plan: without a topic the scan
    /// cannot run, so such a plan costs so much that SQLite takes it only when nothing else exists.
    static func choose(_ info: UnsafeMutablePointer<sqlite3_index_info>) {
        var chosen: [Slot: Int] = [:]
        for index in 0..<Int(info.pointee.nConstraint) {
            let constraint = info.pointee.aConstraint[index]
            guard constraint.usable != 0, let slot = Slot(column: constraint.iColumn, operation: Int32(constraint.op)), chosen[slot] == nil else {
                continue
            }
            chosen[slot] = index
        }
        var argument: Int32 = 0
        var mask: Int32 = 0
        for slot in Slot.allCases {
            guard let index = chosen[slot] else { continue }
            argument += 1
            mask |= 1 << slot.rawValue
            info.pointee.aConstraintUsage[index].argvIndex = argument
            info.pointee.aConstraintUsage[index].omit = 0
        }
        info.pointee.idxNum = mask
        var cost = chosen[.topic] == nil ? 1e15 : 1e6
        if chosen[.partition] != nil { cost /= 4 }
        if chosen[.offsetEqual] != nil { cost /= 1e5 }
        if chosen[.offsetAbove] != nil || chosen[.offsetAtLeast] != nil { cost /= 8 }
        if chosen[.offsetBelow] != nil || chosen[.offsetAtMost] != nil { cost /= 8 }
        if chosen[.timestampAbove] != nil || chosen[.timestampAtLeast] != nil || chosen[.timestampEqual] != nil { cost /= 8 }
        info.pointee.estimatedCost = cost
        info.pointee.estimatedRows = Int64(cost)
        info.pointee.orderByConsumed = readsInOrder(info, onePartition: chosen[.partition] != nil) ? 1 : 0
    }

    /// True when the ORDER BY is the scan's own order: partition, then offset, ascending.
    private static func readsInOrder(_ info: UnsafeMutablePointer<sqlite3_index_info>, onePartition: Bool) -> Bool {
        let terms = (0..<Int(info.pointee.nOrderBy)).map { info.pointee.aOrderBy[$0] }
        guard !terms.isEmpty, terms.allSatisfy({ $0.desc == 0 }) else { return false }
        let columns = terms.map(\.iColumn)
        let partition = RecordsTable.Column.partition.rawValue
        let offset = RecordsTable.Column.offset.rawValue
        return columns == [partition] || columns == [partition, offset] || (onePartition && columns == [offset])
    }

    /// The plan for the slots in `chosen` with their values.
    static func plan(_ chosen: Int32, _ values: [OpaquePointer?]) -> RecordsPlan {
        var plan = RecordsPlan()
        var remaining = values[...]
        for slot in Slot.allCases where chosen & (1 << slot.rawValue) != 0 {
            guard let value = remaining.popFirst() else { break }
            let number = Number(value)
            switch slot {
            case .topic:
                if sqlite_nio_sqlite3_value_type(value) == SQLITE_TEXT, let text = sqlite_nio_sqlite3_value_text(value) {
                    plan.topic = String(cString: text)
                }
            case .partition:
                if case .integer(let index)? = number, let index = Int(exactly: index) { plan.partition = index }
            case .offsetEqual:
                if let number {
                    plan.lowerOffset = max(plan.lowerOffset, number.firstAtLeast)
                    plan.upperOffset = min(plan.upperOffset, number.firstAbove)
                }
            case .offsetAbove: if let number { plan.lowerOffset = max(plan.lowerOffset, number.firstAbove) }
            case .offsetAtLeast: if let number { plan.lowerOffset = max(plan.lowerOffset, number.firstAtLeast) }
            case .offsetBelow: if let number { plan.upperOffset = min(plan.upperOffset, number.firstAtLeast) }
            case .offsetAtMost: if let number { plan.upperOffset = min(plan.upperOffset, number.firstAbove) }
            case .timestampAbove: if let number { plan.earliestTimestamp = max(plan.earliestTimestamp ?? .min, number.firstAbove) }
            case .timestampAtLeast, .timestampEqual:
                if let number { plan.earliestTimestamp = max(plan.earliestTimestamp ?? .min, number.firstAtLeast) }
            }
        }
        return plan
    }

    /// A condition's numeric value; nil for text, blobs, NULL and NaN, which give no bound.
    enum Number: Equatable {
        case integer(Int64)
        case real(Double)

        init?(_ value: OpaquePointer?) {
            switch sqlite_nio_sqlite3_value_type(value) {
            case SQLITE_INTEGER: self = .integer(sqlite_nio_sqlite3_value_int64(value))
            case SQLITE_FLOAT:
                let number = sqlite_nio_sqlite3_value_double(value)
                guard !number.isNaN else { return nil }
                self = .real(number)
            default: return nil
            }
        }

        /// The smallest integer not below the value (clamped to Int64).
        var firstAtLeast: Int64 {
            switch self {
            case .integer(let number): return number
            case .real(let number): return Self.clamped(number.rounded(.up))
            }
        }

        /// The smallest integer above the value (clamped to Int64).
        var firstAbove: Int64 {
            switch self {
            case .integer(let number): return number == .max ? .max : number + 1
            case .real(let number): return Self.clamped(number.rounded(.down) + 1)
            }
        }

        private static func clamped(_ number: Double) -> Int64 {
            if number >= 9.223_372_036_854_775e18 { return .max }
            if number <= -9.223_372_036_854_775e18 { return .min }
            return Int64(number)
        }
    }
}
