import MonCore
import Synchronization

/// The API's read side: several `QueryStore`s, each one PostgreSQL session on its own thread.
///
/// One store serialises every request behind one connection: at 4 concurrent requests each
/// waited for the other three (the issue-21 baseline measured ≈ 4× the one-connection
/// latency on every database-backed route). `store` hands out the member with the fewest
/// jobs queued on its thread, the next in turn among equals, so a slow query holds one
/// connection while the others keep answering.
public final class QueryStorePool: Sendable {
    public let stores: [QueryStore]
    private let turn = Atomic<Int>(0)

    /// `connections` stores (at least one) on `databaseURL`; threads are named `name-1`, `name-2`…
    public init(databaseURL: String, password: String? = nil, connections: Int, name: String = "pg-query") {
        stores = (1...max(1, connections)).map {
            QueryStore(databaseURL: databaseURL, password: password, name: "\(name)-\($0)")
        }
    }

    /// A pool of the given stores (tests).
    public init(_ stores: [QueryStore]) {
        precondition(!stores.isEmpty, "a QueryStorePool needs at least one store")
        self.stores = stores
    }

    /// The least busy store; among equally busy ones, the next in turn.
    public var store: QueryStore {
        let start = turn.wrappingAdd(1, ordering: .relaxed).newValue & Int.max
        var best = stores[start % stores.count]
        var bestLoad = best.load
        guard bestLoad > 0 else { return best }
        for offset in 1..<stores.count {
            let candidate = stores[(start + offset) % stores.count]
            let load = candidate.load
            if load < bestLoad {
                best = candidate
                bestLoad = load
                if load == 0 { break }
            }
        }
        return best
    }
}
