import Foundation
import XCTest

/// Runs the built `restore` binary as a user would, capturing both streams.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// stdout as bytes (audio, with `-o -`).
    var stdoutData = Data()
}

enum CLI {
    /// The checkout these tests belong to.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let binary: URL = {
        // xctest runs from the products folder that also holds `restore`.
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("restore")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/restore")
    }()

    /// `stdin`: bytes fed to the command (nil: it inherits none, an empty pipe).
    static func run(_ args: [String], environment: [String: String] = [:], stdin: Data? = nil) throws -> CLIResult {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "80"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        // Fed from another thread, and both outputs read before waiting, so that no full pipe
        // can block the child (or this process).
        let feeding = DispatchGroup()
        DispatchQueue.global().async(group: feeding) {
            if let stdin { try? input.fileHandleForWriting.write(contentsOf: stdin) }
            try? input.fileHandleForWriting.close()
        }
        nonisolated(unsafe) var e = Data()
        let reading = DispatchGroup()
        DispatchQueue.global().async(group: reading) { e = err.fileHandleForReading.readDataToEndOfFile() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        reading.wait()
        feeding.wait()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self),
                         stdoutData: o)
    }
}

extension CLIResult {
    /// stdout's JSON lines (the `--json` contract: one object per line).
    var jsonLines: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The `report` of each JSON line as `T`, whose properties are the report's snake_case keys
    /// in camelCase (`mel_l1` → `melL1`).
    func reports<T: Decodable>(_ type: T.Type) throws -> [T] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try jsonLines.map { line in
            try decoder.decode(T.self, from: JSONSerialization.data(withJSONObject: line["report"] ?? [String: Any]()))
        }
    }
}
