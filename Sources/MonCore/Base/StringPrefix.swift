extension String {
    /// At most `count` UTF-8 bytes, cut at a character boundary (never inside a scalar).
    public func prefix(utf8Bytes count: Int) -> String {
        guard utf8.count > count else { return self }
        var end = utf8.index(utf8.startIndex, offsetBy: count)
        while end > startIndex, end.samePosition(in: unicodeScalars) == nil {
            end = utf8.index(before: end)
        }
        return String(self[..<end])
    }
}
