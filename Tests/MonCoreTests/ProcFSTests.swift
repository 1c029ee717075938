import Foundation
import MonTestSupport
import Testing

@testable import MonCore

@Suite struct ProcFSTests {
    @Test func readsAFileAsBytes() throws {
        let procFS = try ProcFixtures.root()
        #expect(try procFS.read("loadavg") == ProcFixtures.bytes("loadavg"))
        #expect(try procFS.read("/net/sockstat") == ProcFixtures.bytes("net/sockstat"))
    }

    @Test func missingFileIsATypedErrorNamingThePath() throws {
        let procFS = try ProcFixtures.root()
        let error = #expect(throws: ProcError.self) { try procFS.read("no/such/file") }
        #expect(error?.code == .notFound)
        #expect(error?.path == procFS.root + "/no/such/file")
        #expect(error?.message.contains("/no/such/file") == true)
        #expect(try procFS.readIfPresent("pressure/nothing") == nil)
        #expect(try procFS.readIfPresent("pressure/cpu") != nil)
    }

    @Test func readingADirectoryFails() throws {
        let procFS = try ProcFixtures.root()
        #expect(throws: ProcError.self) { try procFS.read("net") }
    }

    @Test func listsNumericDirectoriesAsPids() throws {
        #expect(try ProcFixtures.root().pids() == [101, 102, 202, 303, 404])
    }

    @Test func countsDirectoryEntries() throws {
        let procFS = try ProcFixtures.root()
        #expect(try procFS.countEntries("101/fd") == 3)
        #expect(try procFS.countEntries("102/fd") == 4)
        let error = #expect(throws: ProcError.self) { try procFS.countEntries("303/fd") }
        #expect(error?.code == .notFound)
    }

    @Test func rootTrailingSlashIsIgnored() {
        #expect(ProcFS(root: "/proc/").path("stat") == "/proc/stat")
        #expect(ProcFS().path("1/stat") == "/proc/1/stat")
    }

    @Test func readsTheLiveProcOfThisProcess() throws {
        let procFS = ProcFS()
        let stat = try ProcessStatParser.parse(procFS.read("self/stat"))
        #expect(stat.pid == getpid())
        #expect(stat.threads >= 1)
        #expect(try procFS.pids().contains(getpid()))
        #expect(try procFS.countEntries("self/fd") >= 3)
    }

    @Test func statvfsOfRootAndOfAMissingPath() throws {
        let usage = try ProcFS.filesystemUsage(atPath: "/")
        #expect(usage.sizeBytes > 0)
        #expect(usage.freeBytes <= usage.sizeBytes)
        let error = #expect(throws: ProcError.self) {
            try ProcFS.filesystemUsage(atPath: "/nonexistent-mon-\(getpid())")
        }
        #expect(error?.code == .notFound)
    }

    @Test func systemConstantsArePositive() {
        #expect(ProcFS.clockTicksPerSecond > 0)
        #expect(ProcFS.pageSize >= 4096)
    }
}
