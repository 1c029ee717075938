/// A report that cannot be made: the part at fault and what went wrong, for the operator.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    /// `pdf` (cairo), `period`, `output`, `database`, `schedule` (`reports.daily`/`weekly`).
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
