"""A small FastAPI + uvicorn application fed to monagent the way real apps are (RealClientTests).

structlog writes JSON lines to LOG_FILE (one `request_completed` event per request with path,
method, status_code, duration_ms); the official `datadog` DogStatsd client sends the request
timer `api.request.duration` tagged endpoint/method/status, and cache.hit / cache.miss tagged
cache:<type> (CACHE_CLIENT=statsd: the plain `statsd` client's tag-less cache.hit.<prefix>).
Redis caches under search:, emb:, graph:; PostgreSQL answers every uncached lookup. Every
SEARCH_ERROR_EVERY-th search fails with 503 and an error-level log line.

The duration is measured once per request and the same number goes to StatsD, to the log
and to the app's own truth (GET /__truth).

With OTEL_EXPORTER_OTLP_ENDPOINT set (TraceTests), the app is instrumented the way an
OpenTelemetry user does it: the SDK's TracerProvider with the OTLP/HTTP protobuf exporter,
opentelemetry-instrumentation-fastapi, -redis and -psycopg, and log correlation (each structlog
line carries the current span's trace_id as 32 hex digits). GET /v1/traced/{id} does exactly one
Redis GET and one PostgreSQL query; POST /__flush flushes the span processor.
"""

import logging
import os
import threading
import time

import psycopg
import redis
import structlog
from datadog import DogStatsd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from statsd import StatsClient

LOG_FILE = os.environ["LOG_FILE"]
STATSD_PORT = int(os.environ.get("STATSD_PORT", "0"))  # 0: no StatsD at all
CACHE_CLIENT = os.environ.get("CACHE_CLIENT", "datadog")
REDIS_URL = os.environ["REDIS_URL"]
PG_URL = os.environ["PG_URL"]
SEARCH_ERROR_EVERY = int(os.environ.get("SEARCH_ERROR_EVERY", "7"))
# A secret the app knows and logs carelessly; it must never come out of the API.
SECRET = os.environ.get("APP_SECRET", "s3cr3t-never-shown")
OTLP = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")

tracer_provider = None
if OTLP:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "mnemolite"}))
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    RedisInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)


def add_trace_id(logger, method, event):
    """Log correlation: the current span's ids, as OTLP/JSON and W3C spell them."""
    if OTLP:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event["trace_id"] = format(context.trace_id, "032x")
            event["span_id"] = format(context.span_id, "016x")
    return event


handler = logging.FileHandler(LOG_FILE)
handler.setFormatter(logging.Formatter("%(message)s"))
root = logging.getLogger()
root.addHandler(handler)
root.setLevel(logging.INFO)
structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        add_trace_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(),
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
)
log = structlog.get_logger("realapp")

dogstatsd = DogStatsd(host="127.0.0.1", port=STATSD_PORT, disable_telemetry=True) if STATSD_PORT else None
plain = StatsClient("127.0.0.1", STATSD_PORT) if STATSD_PORT else None
cache = redis.Redis.from_url(REDIS_URL)
local = threading.local()

PREFIXES = {"search": "search_results", "emb": "embeddings", "graph": "graph_traversal"}

lock = threading.Lock()
truth = {"durations_ms": {}, "statuses": {}, "cache": {t: {"hits": 0, "misses": 0} for t in PREFIXES.values()},
         "error_lines": 0}
search_calls = 0

app = FastAPI()
if OTLP:
    FastAPIInstrumentor.instrument_app(app)


def db():
    if getattr(local, "conn", None) is None:
        local.conn = psycopg.connect(PG_URL, autocommit=True)
    return local.conn


def cached(prefix, key, compute):
    """Redis lookup under prefix:key; counts the hit or miss the way the app reports it."""
    type_name = PREFIXES[prefix]
    value = cache.get(f"{prefix}:{key}")
    outcome = "hit" if value is not None else "miss"
    if value is None:
        value = compute()
        cache.set(f"{prefix}:{key}", value, ex=30)
    with lock:
        truth["cache"][type_name]["hits" if outcome == "hit" else "misses"] += 1
    if CACHE_CLIENT == "statsd" and plain:
        plain.incr(f"cache.{outcome}.{prefix}")
    elif dogstatsd:
        dogstatsd.increment(f"cache.{outcome}", tags=[f"cache:{type_name}"])
    return value


def query(sql, *args):
    with db().cursor() as cursor:
        cursor.execute(sql, args)
        return str(cursor.fetchone()[0])


@app.middleware("http")
async def measure(request: Request, call_next):
    start = time.perf_counter()
    response = await call_next(request)
    if request.url.path.startswith("/__"):
        return response
    ms = round((time.perf_counter() - start) * 1000, 3)
    route = request.scope.get("route")
    template = route.path if route is not None else request.url.path
    status = response.status_code
    with lock:
        truth["durations_ms"].setdefault(template, []).append(ms)
        codes = truth["statuses"].setdefault(template, {})
        codes[str(status)] = codes.get(str(status), 0) + 1
    if dogstatsd:
        dogstatsd.timing(
            "api.request.duration", ms,
            tags=[f"endpoint:{request.url.path}", f"method:{request.method}", f"status:{status}"])
    log.info("request_completed", path=request.url.path, method=request.method, status_code=status,
             duration_ms=ms)
    return response


@app.get("/v1/search")
def search(q: str):
    global search_calls
    with lock:
        search_calls += 1
        failing = search_calls % SEARCH_ERROR_EVERY == 0
    if failing:
        with lock:
            truth["error_lines"] += 1
        log.error("search_failed", error_type="UpstreamTimeout", query=q,
                  db_password=SECRET, detail=f"retry with token={SECRET}")
        return JSONResponse({"error": "upstream timeout"}, status_code=503)
    return {"q": q, "result": cached("search", q, lambda: query("SELECT count(*) FROM generate_series(1, %s)",
                                                                  100 + len(q)))}


@app.get("/v1/memories/{id}")
def memory(id: int):
    return {"id": id, "embedding": cached("emb", id, lambda: query("SELECT md5(%s::text)", id))}


@app.get("/v1/graph/{id}")
def graph(id: int):
    return {"id": id, "nodes": cached("graph", id, lambda: query("SELECT %s::int * 2", id))}


@app.get("/v1/traced/{id}")
def traced(id: int):
    """One Redis GET, one PostgreSQL query: the request TraceTests follows."""
    cached_value = cache.get(f"traced:{id}")
    return {"id": id, "cached": cached_value is not None, "value": query("SELECT %s::int + 1", id)}


@app.post("/__flush")
def flush():
    return {"flushed": tracer_provider.force_flush() if tracer_provider else False}


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/__truth")
def get_truth():
    with lock:
        return truth
