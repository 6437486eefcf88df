import Foundation
import RestoreCore

/// Every task by name. A new task is one file and one line here.
public enum TaskRegistry {
    public static let all: [any RestoreTask.Type] = [
        BandwidthExtension.self,
        FillGap.self,
        Generate.self,
        Embed.self,
        Repair.self,
    ]

    public static func task(named name: String) -> (any RestoreTask.Type)? {
        all.first { $0.name == name }
    }

    public static var names: [String] { all.map { $0.name } }
}
