import MonCore

/// Makes what a source produced into batches the daemon stores whole: every series identity
/// within `SeriesLimits` (`SeriesKeyGuard`), and each batch's encoding within
/// `maxBatchBytes` — a larger one is split; a single record larger than that even alone is
/// dropped (it could never be sent). All of it counted in `counters`.
public struct BatchShaper: Sendable {
    /// `ingest.max_batch_bytes` (default 4 MiB): the largest BATCH payload; keep it at most
    /// the daemon's `ingest.max_frame_bytes` (default 16 MiB) minus one.
    public var maxBatchBytes: Int
    public let counters: ShippingCounters

    public static let defaultMaxBatchBytes = 4 << 20

    public init(maxBatchBytes: Int = BatchShaper.defaultMaxBatchBytes, counters: ShippingCounters = ShippingCounters())
    {
        self.maxBatchBytes = maxBatchBytes
        self.counters = counters
    }

    /// The batches to number and queue, in order (each with `batch`'s seq and creation time).
    public func shape(_ batch: Batch) -> [Batch] {
        var guarded = batch
        let truncated =
            Self.guardSeries(&guarded.samples, \.name, \.labels)
            + Self.guardSeries(&guarded.histograms, \.name, \.labels)
        counters.add(.truncatedSeries, truncated)
        guard BatchCodec.encodedSize(of: guarded) > maxBatchBytes || !fitsWire(guarded) else { return [guarded] }
        let split = Self.split(guarded, maxBytes: maxBatchBytes)
        counters.add(.oversizedRecords, split.dropped)
        if split.batches.count > 1 { counters.add(.splitBatches) }
        return split.batches
    }

    /// Fixes the series of `items` that break `SeriesLimits` (`SeriesKeyGuard`); how many.
    private static func guardSeries<T>(
        _ items: inout [T], _ name: WritableKeyPath<T, String>, _ labels: WritableKeyPath<T, Labels>
    ) -> Int {
        var fixedCount = 0
        for index in items.indices {
            guard
                let fixed = SeriesKeyGuard.fix(name: items[index][keyPath: name], labels: items[index][keyPath: labels])
            else { continue }
            items[index][keyPath: name] = fixed.name
            items[index][keyPath: labels] = fixed.labels
            fixedCount += 1
        }
        return fixedCount
    }

    private func fitsWire(_ batch: Batch) -> Bool {
        batch.events.allSatisfy(BatchCodec.fitsWire) && batch.logs.allSatisfy(BatchCodec.fitsWire)
            && batch.spans.allSatisfy(BatchCodec.fitsWire)
    }

    /// `batch` cut into batches of at most `maxBytes` encoded, keeping the order of each kind
    /// of record; records too large alone, or that the daemon's decoder would refuse, are
    /// left out and counted.
    public static func split(_ batch: Batch, maxBytes: Int) -> (batches: [Batch], dropped: Int) {
        var batches: [Batch] = []
        var dropped = 0
        var current = Batch(seq: batch.seq, createdMs: batch.createdMs, samples: [])
        var size = BatchCodec.headerBytes
        /// Adds a record of `bytes` (plus its section's header when it opens one).
        /// `fits`: false when the daemon's decoder would refuse the record (dropped).
        func place(_ bytes: Int, in section: Section, fits: Bool = true, _ add: (inout Batch) -> Void) {
            guard fits else {
                dropped += 1
                return
            }
            if size + section.headerBytes(current) + bytes > maxBytes, !current.isEmpty {
                batches.append(current)
                current = Batch(seq: batch.seq, createdMs: batch.createdMs, samples: [])
                size = BatchCodec.headerBytes
            }
            let needed = section.headerBytes(current) + bytes
            guard size + needed <= maxBytes else {
                dropped += 1
                return
            }
            size += needed
            add(&current)
        }
        for sample in batch.samples {
            place(BatchCodec.encodedSize(of: sample), in: .samples) { $0.samples.append(sample) }
        }
        for event in batch.events {
            place(BatchCodec.encodedSize(of: event), in: .events, fits: BatchCodec.fitsWire(event)) {
                $0.events.append(event)
            }
        }
        for histogram in batch.histograms {
            place(BatchCodec.encodedSize(of: histogram), in: .histograms) { $0.histograms.append(histogram) }
        }
        for log in batch.logs {
            place(BatchCodec.encodedSize(of: log), in: .logs, fits: BatchCodec.fitsWire(log)) { $0.logs.append(log) }
        }
        for span in batch.spans {
            place(BatchCodec.encodedSize(of: span), in: .spans, fits: BatchCodec.fitsWire(span)) {
                $0.spans.append(span)
            }
        }
        if !current.isEmpty { batches.append(current) }
        return (batches, dropped)
    }

    /// Where a record goes in the encoding: samples in the body, the rest in tagged sections.
    enum Section {
        case samples, events, histograms, logs, spans

        /// The section header's bytes if `batch` has no record of this kind yet.
        func headerBytes(_ batch: Batch) -> Int {
            let opens: Bool
            switch self {
            case .samples: opens = false
            case .events: opens = batch.events.isEmpty
            case .histograms: opens = batch.histograms.isEmpty
            case .logs: opens = batch.logs.isEmpty
            case .spans: opens = batch.spans.isEmpty
            }
            return opens ? BatchCodec.sectionBytes : 0
        }
    }
}
