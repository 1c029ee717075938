"""Sends traces to monagent with the real OpenTelemetry Python SDK (TraceIntakeTests).

usage: send_spans.py ENDPOINT TRACES [gzip]

Each trace is a server span (GET /items, with an authorization header attribute and a
token in its URL) with a client child (a SELECT with literals). The exporter is the
official OTLP/HTTP protobuf one behind a BatchSpanProcessor, as an instrumented app
would use it. Prints one JSON line: the trace ids and the export results.
"""

import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

endpoint, count = sys.argv[1], int(sys.argv[2])
compression = Compression.Gzip if len(sys.argv) > 3 and sys.argv[3] == "gzip" else Compression.NoCompression


class Recording(OTLPSpanExporter):
    """The official exporter, remembering what each export returned."""

    results: list[str] = []

    def export(self, spans):
        result = super().export(spans)
        Recording.results.append(("ok" if result == SpanExportResult.SUCCESS else "failed") + f":{len(spans)}")
        return result


provider = TracerProvider(resource=Resource.create({"service.name": "otlp-it", "deployment.environment": "test"}))
provider.add_span_processor(
    BatchSpanProcessor(Recording(endpoint=endpoint, compression=compression), max_export_batch_size=64)
)
tracer = provider.get_tracer("mon.tests.send_spans", "1.0")
trace_ids = []
for index in range(count):
    with tracer.start_as_current_span("GET /items", kind=trace.SpanKind.SERVER) as root:
        root.set_attribute("http.request.header.authorization", ["Bearer sk-live-secret"])
        root.set_attribute("url.full", f"http://app.local/items?page={index}&access_token=tok-{index}")
        with tracer.start_as_current_span("SELECT items", kind=trace.SpanKind.CLIENT) as child:
            child.set_attribute("db.statement", f"SELECT * FROM items WHERE owner = 'alice' AND id = {index}")
        trace_ids.append(format(root.get_span_context().trace_id, "032x"))
flushed = provider.force_flush(30_000)
provider.shutdown()
print(json.dumps({"trace_ids": trace_ids, "flushed": flushed, "exports": Recording.results}))
