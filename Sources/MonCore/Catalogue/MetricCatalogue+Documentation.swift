import Foundation

extension MetricCatalogue {
    /// docs/METRICS.md: every declared family by area, with type, unit, labels and help text.
    /// Written by `MON_WRITE_METRICS_DOC=1 swift test --filter documentationUpToDate`.
    public static func markdown() -> String {
        var text = """
            # Metrics

            Generated from the metric catalogue (`Sources/MonCore/Catalogue/`) by
            `MON_WRITE_METRICS_DOC=1 swift test --filter documentationUpToDate`; do not edit by hand.
            `/metrics` takes every `# HELP`, `# TYPE` and `# UNIT` line from these declarations.

            - Series shipped by monagent carry a `host` label first (a series label named `host`,
              `le` or `quantile` is exposed as `exported_host`, `exported_le`, `exported_quantile`).
            - Counters are named `…_total`; in OpenMetrics the family is named without `_total`.
            - Application metrics received over StatsD (`statsd.prefix`, default `app_`) are not
              declared here: their help text is generated from their kind, e.g.
              "StatsD counter `app_jobs_done_total` from the application, received by monagent."
              An application gauge named with a suffix only histograms and summaries write
              (`_count`, `_sum`, `_bucket`: StatsD `queue_count:5|g` → `app_queue_count`) is
              exposed as `<name>_value` (`app_queue_count_value`); stored and in the JSON API it
              keeps its name.
            - A family whose names (`x`/`x_total`, `_bucket`/`_count`/`_sum`/`_created`) collide
              with another family's is left out of the response and its series counted in
              `mon_query_metrics_series_dropped`.

            ## Renamed in issue 19

            | before | now | stored series |
            |---|---|---|
            | `mon_query_ingest_lag_seconds_total` (counter) | `mon_query_ingest_batch_lag_seconds` (summary `_sum`/`_count`) | daemon-only, not stored |
            | `mon_redis_cache_ttl_keys{le}` | `mon_redis_cache_ttl_keys{ttl_bucket}` | `/redis/keys` reads both labels; no migration |
            | `mon_redis_replication_offset` (counter) | `mon_redis_replication_offset_bytes` (gauge) | old rows age out with retention; no reader |

            """
        for area in areas {
            text += "\n## \(area.title)\n\n| name | type | unit | labels | help |\n|---|---|---|---|---|\n"
            for metric in area.metrics {
                let labels = metric.labels.map { "`\($0)`" }.joined(separator: ", ")
                let help = metric.help.replacingOccurrences(of: "|", with: "\\|")
                text += "| `\(metric.name)` | \(metric.type.rawValue) | \(metric.unit ?? "") | \(labels) | \(help) |\n"
            }
        }
        return text
    }
}
