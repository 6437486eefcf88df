import ArgumentParser
import Foundation
import RestoreCore
import Tasks

struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest",
        abstract: "Summarise or merge the manifests of a batch output folder.",
        discussion: """
        A sharded run (`restore run --shard K/N`) writes one manifest per shard,
        restore-manifest.K-of-N.jsonl, beside restore-manifest.jsonl. Every run,
        `status` and `merge` read them all as one: the latest record of each file
        wins, unreadable lines are skipped with a warning.

        Examples:
          restore manifest status out/                 # done, failed, hours, throughput
          restore manifest status out/ --inputs in/    # … and what is still pending
          restore manifest merge out/                  # one restore-manifest.jsonl
        """,
        subcommands: [Status.self, Merge.self]
    )

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Done, failed, pending and in-progress files, audio hours and throughput.",
            discussion: """
            Pending needs the inputs the runs were given (--inputs, as given to
            `restore run`): files no manifest mentions yet. In progress counts claims
            held by runs that may still be working. Throughput is audio hours per hour
            from the first file's start to the last file's finish, all shards together.
            The exit code is 0 when nothing failed or is pending, 1 otherwise.
            """
        )
        @Argument(help: "The output folder of `restore run`.") var folder: String
        @Option(parsing: .upToNextOption, help: "The inputs given to `restore run` (files and folders).") var inputs: [String] = []
        @Flag(help: "Print the report as one JSON line (see the README's JSON output).") var json = false

        func run() throws {
            guard FileManager.default.fileExists(atPath: folder) else { throw RestoreError.fileNotFound(path: folder) }
            let listing = inputs.isEmpty ? nil : try BatchInputs.collect(inputs, excluding: [folder])
            let t0 = Date()
            let r = try BatchStatus.report(outputFolder: folder, inputs: listing)
            for w in r.warnings { FileHandle.standardError.write(Data("restore: warning: \(w)\n".utf8)) }
            if json {
                OutputRecord(command: "manifest status", input: folder, seconds: Date().timeIntervalSince(t0),
                             settings: ["inputs": .array(inputs.map { .string($0) })], report: try JSONValue.encodingFields(r)).print()
            } else {
                let pending = r.pending.map { "\($0) pending, " } ?? ""
                print("\(folder): \(r.done) done, \(r.failed) failed, \(pending)\(r.inProgress) in progress (\(r.manifests.count) manifest\(r.manifests.count == 1 ? "" : "s"))")
                print("audio \(Self.duration(r.audioHours)), processing \(Self.duration(r.cpuHours)) over \(Self.duration(r.wallHours)) wall, "
                      + String(format: "throughput %.2f audio h/h", r.throughput))
                for f in r.failures { print("failed: \(f)") }
            }
            if r.failed > 0 || (r.pending ?? 0) > 0 { throw ExitCode(1) }
        }

        /// "12.5 h", "42.0 min" or "7.3 s".
        static func duration(_ hours: Double) -> String {
            hours >= 1 ? String(format: "%.1f h", hours) : hours * 60 >= 1 ? String(format: "%.1f min", hours * 60) : String(format: "%.1f s", hours * 3600)
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite a folder's manifests as one restore-manifest.jsonl.",
            discussion: """
            Keeps the latest record of each file (and its last done record when a
            failure followed it), sorted by file; the per-shard manifests are removed.
            Safe while shards still run: they wait for the merge, then append to a
            fresh manifest of their own.
            """
        )
        @Argument(help: "The output folder of `restore run`.") var folder: String

        func run() throws {
            guard FileManager.default.fileExists(atPath: folder) else { throw RestoreError.fileNotFound(path: folder) }
            let r = try BatchStatus.merge(outputFolder: folder)
            for w in r.warnings { FileHandle.standardError.write(Data("restore: warning: \(w)\n".utf8)) }
            print("merged \(r.files.count) manifest\(r.files.count == 1 ? "" : "s") into \((folder as NSString).appendingPathComponent(BatchManifest.fileName)): \(r.records) records")
        }
    }
}
