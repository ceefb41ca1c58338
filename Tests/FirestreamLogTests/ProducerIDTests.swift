import FirestreamTesting
import Foundation
import Testing

@testable import FirestreamLog

@Suite struct ProducerIDTests {
    @Test func idsAreNeverGivenTwiceAcrossPowerCuts() throws {
        let disk = SimulatedDisk()
        var given: Set<Int64> = []
        for round in 0..<3 {
            let log = try Log(directory: "/data", fileSystem: disk.mount())
            for _ in 0..<(ProducerIDs.blockSize + 7) {
                let id = try log.newProducerID()
                #expect(id > 0)
                #expect(given.insert(id).inserted, "round \(round): \(id) was given before")
            }
            // Power goes: whatever was not synced is gone, and nothing was closed.
            disk.powerCut()
        }
    }

    @Test func aDamagedIdFileStopsTheLogFromOpening() throws {
        let disk = SimulatedDisk()
        let log = try Log(directory: "/data", fileSystem: disk.mount())
        _ = try log.newProducerID()
        log.close()
        let file = try disk.mount().open("/data/kafka/producer-ids", create: false, readOnly: false)
        try file.write(Array("x".utf8), at: 0)
        try file.sync()
        #expect(throws: LogError.self) { try Log(directory: "/data", fileSystem: disk.mount()) }
    }
}
