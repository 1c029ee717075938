/// What a binary was built from: its version, git revision and Swift compiler.
///
/// Each executable gets a `BuildInfo.current` generated at build time by
/// `Plugins/BuildInfoPlugin` (git describe, git rev-parse HEAD, swiftc --version); this type
/// turns those raw strings into what `--version`, `mon_build_info` and HELLO show.
public struct BuildInfo: Sendable, Equatable {
    /// `0.1.0` (`MonCoreVersion.string`), or the tag's when built from a tagged tree
    /// (`v0.2.0` → `0.2.0`, three commits later `0.2.0-3-g89d9af8`).
    public var version: String
    /// The full commit hash, `-dirty` appended when the tree had uncommitted changes;
    /// "unknown" when not built from a git checkout (a tarball) or without git.
    public var revision: String
    /// `6.3.1`, from `swiftc --version`; the language version the compiler accepts when
    /// that could not be run.
    public var swiftVersion: String
}

extension BuildInfo {
    /// From the plugin's raw strings (any of them may be empty).
    public init(describe: String, revision: String, swiftVersion: String) {
        let dirty = describe.hasSuffix("-dirty")
        let description = dirty ? String(describe.dropLast(6)) : describe
        var tag = description[...]
        if tag.first == "v" { tag = tag.dropFirst() }
        let isTag = tag.first?.isNumber == true && tag.contains(".")
        self.init(
            version: isTag ? String(tag) : MonCoreVersion.string,
            revision: revision.isEmpty ? "unknown" : revision + (dirty ? "-dirty" : ""),
            swiftVersion: swiftVersion.isEmpty ? Self.compilerLanguageVersion : swiftVersion)
    }

    /// `monagent 0.1.0 (revision 89d9af8e…, Swift 6.3.1)`: the `--version` line.
    public func versionLine(program: String) -> String {
        "\(program) \(version) (revision \(revision), Swift \(swiftVersion))"
    }

    /// What the agent sends as HELLO's `agent_version`: `0.1.0+89d9af8e1234` (semver build
    /// metadata: the first 12 hex digits, `.dirty` when so), or the bare version when the
    /// revision is unknown. A daemon of any release stores it as one string.
    public var helloVersion: String {
        guard revision != "unknown" else { return version }
        let dirty = revision.hasSuffix("-dirty")
        return version + "+" + revision.prefix(12) + (dirty ? ".dirty" : "")
    }

    /// Splits a HELLO `agent_version` into the version and the revision (nil when the agent
    /// sent none: releases before the revision was added send `0.1.0`).
    public static func parseHelloVersion(_ text: String) -> (version: String, revision: String?) {
        guard let plus = text.lastIndex(of: "+"), plus != text.startIndex, text.index(after: plus) != text.endIndex
        else { return (text, nil) }
        return (String(text[..<plus]), String(text[text.index(after: plus)...]))
    }

    static var compilerLanguageVersion: String {
        #if compiler(>=6.4)
            "6.4+"
        #elseif compiler(>=6.3)
            "6.3"
        #elseif compiler(>=6.2)
            "6.2"
        #elseif compiler(>=6.1)
            "6.1"
        #else
            "6.0"
        #endif
    }
}
