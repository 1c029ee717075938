import Foundation
import PackagePlugin

/// Writes `BuildInfo+Generated.swift` into the executable it is applied to: the git revision
/// (`git rev-parse HEAD`), `git describe --tags --always --dirty` and the Swift compiler's
/// version, captured when the binary is built (`--version`, `mon_build_info`, HELLO).
///
/// A prebuild command (runs before every build, a few milliseconds of git) that rewrites the
/// file only when its text changes, so an unchanged tree recompiles nothing. It needs nothing
/// but `/bin/sh`: without git, or outside a git checkout of this package (a tarball, even one
/// unpacked inside another repository), the revision is "unknown".
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let swiftc = (try? context.tool(named: "swiftc").url.path()) ?? "swiftc"
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return [
            .prebuildCommand(
                displayName: "Capturing the git revision for \(target.name)",
                executable: URL(filePath: "/bin/sh"),
                arguments: [
                    "-c", Self.script, "build-info", context.package.directoryURL.path(),
                    output.appending(path: "BuildInfo+Generated.swift").path(), swiftc,
                ],
                environment: ["PATH": path, "LC_ALL": "C"],
                outputFilesDirectory: output)
        ]
    }

    /// `$1` the package directory, `$2` the file to write, `$3` the Swift compiler.
    static let script = #"""
        set -u
        package=$1 out=$2 swiftc=$3
        g() { git -c 'safe.directory=*' --no-optional-locks -C "$package" "$@"; }
        clean() { tr -cd 'A-Za-z0-9._+-' | cut -c1-80; }
        describe="" revision=""
        top=$(g rev-parse --show-toplevel 2>/dev/null) || top=""
        if [ -n "$top" ] && [ "$(cd "$top" && pwd -P)" = "$(cd "$package" && pwd -P)" ]; then
            describe=$(g describe --tags --always --dirty 2>/dev/null | clean)
            revision=$(g rev-parse HEAD 2>/dev/null | clean)
        fi
        swift=$("$swiftc" --version 2>/dev/null | sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p' | head -n 1 | clean)
        mkdir -p "$(dirname "$out")"
        cat >"$out.tmp" <<EOF
        // Generated at build time by Plugins/BuildInfoPlugin; not in git.
        import MonCore

        extension BuildInfo {
            /// This binary's version, revision and compiler.
            static let current = BuildInfo(describe: "$describe", revision: "$revision", swiftVersion: "$swift")
        }
        EOF
        if cmp -s "$out.tmp" "$out"; then rm -f "$out.tmp"; else mv "$out.tmp" "$out"; fi
        """#
}
