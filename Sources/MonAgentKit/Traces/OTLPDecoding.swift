import Foundation
import MonCore
import SwiftProtobuf

/// The OTLP/HTTP body encodings (`Content-Type`).
public enum OTLPEncoding: Sendable, Equatable {
    /// `application/x-protobuf`.
    case protobuf
    /// `application/json`: OTLP/JSON (proto3's JSON mapping, with ids in hex).
    case json

    /// The encoding a `Content-Type` names (parameters such as `charset` ignored), nil for any other.
    public init?(contentType: String?) {
        guard let contentType else { return nil }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        switch media {
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        case "application/json": self = .json
        default: return nil
        }
    }

    public var contentType: String {
        switch self {
        case .protobuf: return "application/x-protobuf"
        case .json: return "application/json"
        }
    }
}

/// A body that is not an `ExportTraceServiceRequest`, with the reason (answered 400).
public struct OTLPDecodeError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

public typealias OTLPExportRequest = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
public typealias OTLPExportResponse = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse
typealias OTLPSpan = Opentelemetry_Proto_Trace_V1_Span
typealias OTLPKeyValue = Opentelemetry_Proto_Common_V1_KeyValue
typealias OTLPAnyValue = Opentelemetry_Proto_Common_V1_AnyValue

/// Decodes an `ExportTraceServiceRequest` body in either encoding.
///
/// Protobuf goes through SwiftProtobuf (bounded recursion, lengths checked against the
/// body). OTLP/JSON departs from proto3's JSON mapping (ids are hex, not base64; enums are
/// integers), so it is read with MonCore's `JSONParser` into the same generated messages:
/// field names in lowerCamelCase or as in the `.proto`, 64-bit integers as strings or
/// numbers (a number above 2^53 keeps a double's precision: ~256 ns on a timestamp),
/// enums as integers or their names; unknown fields are skipped, as the specification asks.
public enum OTLPDecoder {
    public static func decode(_ body: [UInt8], encoding: OTLPEncoding) throws(OTLPDecodeError) -> OTLPExportRequest {
        switch encoding {
        case .protobuf:
            do {
                return try OTLPExportRequest(serializedBytes: body)
            } catch {
                throw OTLPDecodeError("invalid protobuf ExportTraceServiceRequest: \(error)")
            }
        case .json:
            let value: JSONValue
            do {
                value = try JSONParser.parse(body)
            } catch {
                throw OTLPDecodeError("invalid JSON: \(error)")
            }
            do {
                return try JSONReader.request(value)
            } catch let error as OTLPDecodeError {
                throw error
            } catch {
                throw OTLPDecodeError("\(error)")
            }
        }
    }

    /// Reads OTLP/JSON into the generated messages.
    enum JSONReader {
        typealias Fields = [(String, JSONValue)]

        static func request(_ value: JSONValue) throws -> OTLPExportRequest {
            var request = OTLPExportRequest()
            let fields = try object(value, "request")
            for item in try array(field(fields, "resourceSpans", "resource_spans"), "resourceSpans") {
                request.resourceSpans.append(try resourceSpans(item))
            }
            return request
        }

        static func resourceSpans(_ value: JSONValue) throws -> Opentelemetry_Proto_Trace_V1_ResourceSpans {
            var out = Opentelemetry_Proto_Trace_V1_ResourceSpans()
            let fields = try object(value, "resourceSpans[]")
            if let resource = field(fields, "resource"), resource != .null {
                let resourceFields = try object(resource, "resource")
                out.resource.attributes = try attributes(field(resourceFields, "attributes"), "resource.attributes")
            }
            for item in try array(field(fields, "scopeSpans", "scope_spans"), "scopeSpans") {
                var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
                let scopeFields = try object(item, "scopeSpans[]")
                if let info = field(scopeFields, "scope"), info != .null {
                    let infoFields = try object(info, "scope")
                    scope.scope.name = try string(field(infoFields, "name"), "scope.name")
                    scope.scope.version = try string(field(infoFields, "version"), "scope.version")
                }
                for span in try array(field(scopeFields, "spans"), "spans") { scope.spans.append(try self.span(span)) }
                out.scopeSpans.append(scope)
            }
            return out
        }

        static func span(_ value: JSONValue) throws -> OTLPSpan {
            var span = OTLPSpan()
            let fields = try object(value, "span")
            span.traceID = try hex(field(fields, "traceId", "trace_id"), "traceId")
            span.spanID = try hex(field(fields, "spanId", "span_id"), "spanId")
            span.parentSpanID = try hex(field(fields, "parentSpanId", "parent_span_id"), "parentSpanId")
            span.traceState = try string(field(fields, "traceState", "trace_state"), "traceState")
            span.name = try string(field(fields, "name"), "name")
            let kind = try enumValue(field(fields, "kind"), "kind", prefix: "SPAN_KIND_")
            span.kind = OTLPSpan.SpanKind(rawValue: kind) ?? .UNRECOGNIZED(kind)
            span.startTimeUnixNano = try uint64(
                field(fields, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano")
            span.endTimeUnixNano = try uint64(field(fields, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
            span.attributes = try attributes(field(fields, "attributes"), "span.attributes")
            span.droppedAttributesCount = UInt32(
                clamping: try uint64(
                    field(fields, "droppedAttributesCount", "dropped_attributes_count"), "droppedAttributesCount"))
            for item in try array(field(fields, "events"), "events") {
                var event = OTLPSpan.Event()
                let eventFields = try object(item, "event")
                event.timeUnixNano = try uint64(field(eventFields, "timeUnixNano", "time_unix_nano"), "timeUnixNano")
                event.name = try string(field(eventFields, "name"), "event.name")
                event.attributes = try attributes(field(eventFields, "attributes"), "event.attributes")
                span.events.append(event)
            }
            span.droppedEventsCount = UInt32(
                clamping: try uint64(field(fields, "droppedEventsCount", "dropped_events_count"), "droppedEventsCount"))
            if let status = field(fields, "status"), status != .null {
                let statusFields = try object(status, "status")
                span.status.message = try string(field(statusFields, "message"), "status.message")
                let code = try enumValue(field(statusFields, "code"), "status.code", prefix: "STATUS_CODE_")
                span.status.code = Opentelemetry_Proto_Trace_V1_Status.StatusCode(rawValue: code) ?? .UNRECOGNIZED(code)
            }
            return span
        }

        static func attributes(_ value: JSONValue?, _ what: String) throws -> [OTLPKeyValue] {
            try array(value, what).map { item in
                let fields = try object(item, what)
                var pair = OTLPKeyValue()
                pair.key = try string(field(fields, "key"), "\(what) key")
                if let value = field(fields, "value"), value != .null { pair.value = try anyValue(value, depth: 0) }
                return pair
            }
        }

        /// `AnyValue`: an object with one of the value fields (nested arrays and maps at most
        /// `JSONParser.maxDepth` deep, as the parser already bounds).
        static func anyValue(_ value: JSONValue, depth: Int) throws -> OTLPAnyValue {
            var out = OTLPAnyValue()
            let fields = try object(value, "attribute value")
            if let text = field(fields, "stringValue", "string_value") {
                out.stringValue = try string(text, "stringValue")
            } else if let flag = field(fields, "boolValue", "bool_value") {
                guard case .bool(let bool) = flag else { throw OTLPDecodeError("boolValue is not a boolean") }
                out.boolValue = bool
            } else if let number = field(fields, "intValue", "int_value") {
                out.intValue = try int64(number, "intValue")
            } else if let number = field(fields, "doubleValue", "double_value") {
                out.doubleValue = try double(number, "doubleValue")
            } else if let list = field(fields, "arrayValue", "array_value") {
                var array = Opentelemetry_Proto_Common_V1_ArrayValue()
                let listFields = try object(list, "arrayValue")
                array.values = try self.array(field(listFields, "values"), "arrayValue.values").map {
                    try anyValue($0, depth: depth + 1)
                }
                out.arrayValue = array
            } else if let map = field(fields, "kvlistValue", "kvlist_value") {
                var list = Opentelemetry_Proto_Common_V1_KeyValueList()
                let mapFields = try object(map, "kvlistValue")
                list.values = try attributes(field(mapFields, "values"), "kvlistValue.values")
                out.kvlistValue = list
            } else if let bytes = field(fields, "bytesValue", "bytes_value") {
                let text = try string(bytes, "bytesValue")
                guard let data = Data(base64Encoded: text) else { throw OTLPDecodeError("bytesValue is not base64") }
                out.bytesValue = data
            }
            return out
        }

        // MARK: Scalars

        static func field(_ fields: Fields, _ names: String...) -> JSONValue? {
            for (key, value) in fields where names.contains(key) { return value }
            return nil
        }

        static func object(_ value: JSONValue, _ what: String) throws -> Fields {
            guard case .object(let fields) = value else { throw OTLPDecodeError("\(what) is not an object") }
            return fields
        }

        /// An array, or empty when absent or null.
        static func array(_ value: JSONValue?, _ what: String) throws -> [JSONValue] {
            switch value {
            case nil, .null?: return []
            case .array(let items)?: return items
            default: throw OTLPDecodeError("\(what) is not an array")
            }
        }

        static func string(_ value: JSONValue?, _ what: String) throws -> String {
            switch value {
            case nil, .null?: return ""
            case .string(let text)?: return text
            default: throw OTLPDecodeError("\(what) is not a string")
            }
        }

        /// A trace or span id: hex digits (either case), or empty.
        static func hex(_ value: JSONValue?, _ what: String) throws -> Data {
            let text = try string(value, what)
            guard text.utf8.count % 2 == 0, text.utf8.count <= 64 else {
                throw OTLPDecodeError("\(what) is not hex: '\(text.prefix(64))'")
            }
            var out = Data(capacity: text.utf8.count / 2)
            var high: UInt8? = nil
            for byte in text.utf8 {
                guard let nibble = Self.nibble(byte) else {
                    throw OTLPDecodeError("\(what) is not hex: '\(text.prefix(64))'")
                }
                if let first = high {
                    out.append(first << 4 | nibble)
                    high = nil
                } else {
                    high = nibble
                }
            }
            return out
        }

        static func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }

        static func uint64(_ value: JSONValue?, _ what: String) throws -> UInt64 {
            switch value {
            case nil, .null?: return 0
            case .string(let text)?:
                guard let number = UInt64(text) else { throw OTLPDecodeError("\(what) is not an unsigned integer") }
                return number
            case .number(let number)?:
                guard number >= 0, number < 18_446_744_073_709_551_616.0, number.rounded() == number else {
                    throw OTLPDecodeError("\(what) is not an unsigned integer")
                }
                return UInt64(number)
            default: throw OTLPDecodeError("\(what) is not an unsigned integer")
            }
        }

        static func int64(_ value: JSONValue, _ what: String) throws -> Int64 {
            switch value {
            case .string(let text):
                guard let number = Int64(text) else { throw OTLPDecodeError("\(what) is not an integer") }
                return number
            case .number(let number):
                guard number >= -9_223_372_036_854_775_808.0, number < 9_223_372_036_854_775_808.0,
                    number.rounded() == number
                else { throw OTLPDecodeError("\(what) is not an integer") }
                return Int64(number)
            default: throw OTLPDecodeError("\(what) is not an integer")
            }
        }

        static func double(_ value: JSONValue, _ what: String) throws -> Double {
            switch value {
            case .number(let number): return number
            case .string("NaN"): return .nan
            case .string("Infinity"): return .infinity
            case .string("-Infinity"): return -.infinity
            case .string(let text):
                guard let number = Double(text) else { throw OTLPDecodeError("\(what) is not a number") }
                return number
            default: throw OTLPDecodeError("\(what) is not a number")
            }
        }

        /// An enum: its number, or its name (with or without `prefix`).
        static func enumValue(_ value: JSONValue?, _ what: String, prefix: String) throws -> Int {
            switch value {
            case nil, .null?: return 0
            case .number(let number)?:
                guard number.rounded() == number, abs(number) < 2_147_483_648 else {
                    throw OTLPDecodeError("\(what) is not an enum value")
                }
                return Int(number)
            case .string(let text)?:
                let names: [String] =
                    prefix == "SPAN_KIND_"
                    ? ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
                    : ["UNSET", "OK", "ERROR"]
                let bare = text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
                if let index = names.firstIndex(of: bare) { return index }
                if let number = Int(text) { return number }
                throw OTLPDecodeError("\(what) '\(text.prefix(64))' is not a known value")
            default: throw OTLPDecodeError("\(what) is not an enum value")
            }
        }
    }
}
