import ArgumentParser
import Foundation
import MonCore
import MonQueryKit

extension MonQueryCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write a PDF report of the last 24h or 7d: health cards, alerts, regressions against the previous period, the slowest endpoints and statements, anomalies and charts.",
            discussion: """
                Reads the database of `database.url` (the configuration file and MONQUERY_* variables, as `serve`);
                drawn with cairo (libcairo2, fonts-dejavu-core).
                """
        )

        @OptionGroup var options: ConfigOptions

        @Option(name: .long, help: "The period before now: 24h or 7d (compared with the one before it).")
        var period: String

        @Option(name: .long, help: "One host's report (default: all hosts).")
        var host: String?

        @Option(name: .long, help: "The PDF file to write (replaced if it exists).")
        var out: String

        func validate() throws {
            do {
                _ = try ReportBuilder.seconds(of: period)
            } catch let error as ReportError {
                throw ValidationError("--period: \(error.message)")
            }
            if let host {
                guard !host.isEmpty, host.count <= 253,
                    host.unicodeScalars.allSatisfy({
                        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                            || ".-_".unicodeScalars.contains($0)
                    })
                else { throw ValidationError("--host: '\(host.prefix(40))' is not a host name") }
            }
            guard !out.isEmpty else { throw ValidationError("--out: empty path") }
        }

        func run() async throws {
            let config = try options.load()
            let logger = makeLogger(config.log)
            try Self.checkWritable(out)
            let builder = ReportBuilder(
                databaseURL: config.databaseURL, password: config.databasePassword, anomalies: config.anomalies,
                logger: logger)
            let pdf: (bytes: [UInt8], pages: Int)
            do {
                pdf = try await builder.pdf(period: period, host: host, nowMs: WallClock.nowMs())
            } catch let error as ReportError {
                throw error
            } catch {
                // PostgresError names the server with its URL redacted; the password never shows.
                throw ReportError(
                    "database",
                    "cannot read the report's figures from \(SecretRedaction.redactURL(config.databaseURL)): \(error)")
            }
            do {
                try Data(pdf.bytes).write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ReportError("output", "cannot write the report to '\(out)': \(error.localizedDescription)")
            }
            print(
                "wrote \(out): \(pdf.pages) page(s), \(pdf.bytes.count) bytes (last \(period), \(host ?? "all hosts"))")
        }

        /// Refuses an output path whose directory is missing or not writable, or that is a
        /// directory, before any database work.
        static func checkWritable(_ path: String) throws {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw ReportError("output", "cannot write the report to '\(path)': no directory '\(folder)'")
            }
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw ReportError("output", "cannot write the report to '\(path)': it is a directory")
            }
            // A device, pipe or socket: the atomic write renames its temp file over it. Run as
            // root, `--out /dev/full` replaced the device with the PDF and said "wrote" (the
            // hostile pass of stop 39).
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                throw ReportError(
                    "output", "cannot write the report to '\(path)': not a regular file (a device, pipe or socket)")
            }
            guard access(folder, W_OK) == 0 else {
                throw ReportError(
                    "output", "cannot write the report to '\(path)': \(String(cString: strerror(errno))) ('\(folder)')")
            }
        }
    }
}
