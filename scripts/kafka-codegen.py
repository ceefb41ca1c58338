#!/usr/bin/env python3
"""Generates Sources/KafkaProtocol/Generated/*.swift from Apache Kafka's JSON message specs.

    scripts/kafka-codegen.py [--specs DIR] [--out DIR] [--check]

--check writes nothing and exits 1 when a generated file differs from what the specs give
(the test suite runs it, so stale generated code fails the build). The specs default to
scripts/kafka-specs/ (Apache Kafka's JSON message definitions, committed), or $KAFKA_SPECS.

Rules (each one a bug a peer broker shipped; see docs/kafka.md):
- a field absent in a version decodes to its spec default, and is not written in that version;
- a tagged field is written only when it differs from its default, and only in its taggedVersions;
- unknown tags are skipped by their length;
- every message has both encodings: non-flexible (int16/int32 lengths) and flexible (compact
  lengths, tagged-field sections), chosen by the version.
"""

import json
import os
import re
import sys

# The APIs the broker implements (key order is the order of generated files' listing).
APIS = [
    "Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch", "FindCoordinator",
    "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups",
    "SaslHandshake", "ApiVersions", "CreateTopics", "DeleteTopics", "DeleteRecords", "InitProducerId",
    "DescribeConfigs", "SaslAuthenticate", "CreatePartitions", "DeleteGroups", "OffsetDelete",
    "DescribeCluster", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit",
]

SWIFT_KEYWORDS = {
    "protocol", "default", "internal", "operator", "repeat", "return", "self", "static", "struct",
    "subscript", "switch", "throw", "true", "false", "try", "var", "where", "while", "as", "case",
    "catch", "class", "continue", "defer", "do", "else", "enum", "extension", "for", "func", "if",
    "import", "in", "init", "inout", "is", "let", "nil", "private", "public", "rethrows", "super",
    "Type", "guard", "break", "fallthrough", "deinit", "associatedtype", "typealias", "any", "some",
}

PRIMITIVES = {
    "int8": ("Int8", "0", "int8"), "int16": ("Int16", "0", "int16"), "int32": ("Int32", "0", "int32"),
    "int64": ("Int64", "0", "int64"), "uint16": ("UInt16", "0", "uint16"), "uint32": ("UInt32", "0", "uint32"),
    "float64": ("Double", "0", "float64"), "bool": ("Bool", "false", "bool"), "uuid": ("KafkaUUID", ".zero", "uuid"),
}


def load(path):
    text = open(path).read()
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return json.loads(text)


class Versions:
    """A spec version range: "3+", "0-4", "5" or "none"."""

    def __init__(self, text, default_high=None):
        text = (text or "none").strip()
        if text == "none":
            self.low, self.high = None, None
        elif text.endswith("+"):
            self.low, self.high = int(text[:-1]), default_high
        elif "-" in text:
            low, high = text.split("-")
            self.low, self.high = int(low), int(high)
        else:
            self.low = self.high = int(text)

    def empty(self):
        return self.low is None

    def condition(self, var, within):
        """A Swift condition for `var` in this range, given it is already within `within`."""
        if self.empty():
            return "false"
        parts = []
        if self.low > within[0]:
            parts.append(f"{var} >= {self.low}")
        if self.high is not None and self.high < within[1]:
            parts.append(f"{var} <= {self.high}")
        return " && ".join(parts) if parts else "true"

    def intersect(self, within):
        if self.empty():
            return None
        low = max(self.low, within[0])
        high = within[1] if self.high is None else min(self.high, within[1])
        return (low, high) if low <= high else None


def camel(name):
    result = name[0].lower() + name[1:]
    if name.isupper():
        result = name.lower()
    return f"`{result}`" if result in SWIFT_KEYWORDS else result


def plain(name):
    return name.strip("`")


class Field:
    def __init__(self, spec, valid, structs, owner):
        self.name = spec["name"]
        self.swift_name = camel(self.name)
        self.type = spec["type"]
        self.about = spec.get("about", "")
        self.versions = Versions(spec.get("versions"), valid[1])
        self.nullable = Versions(spec.get("nullableVersions"), valid[1])
        self.tag = spec.get("tag")
        self.tagged = Versions(spec.get("taggedVersions"), valid[1]) if self.tag is not None else None
        self.default = spec.get("default")
        self.is_array = self.type.startswith("[]")
        self.element = self.type[2:] if self.is_array else self.type
        self.is_struct = self.element not in PRIMITIVES and self.element not in ("string", "bytes", "records")
        if self.is_struct and "fields" in spec:
            structs.append(Struct(self.element, spec["fields"], valid, structs, owner))

    def swift_type(self):
        if self.is_struct:
            base = self.element
        elif self.element in PRIMITIVES:
            base = PRIMITIVES[self.element][0]
        elif self.element == "string":
            base = "String"
        else:
            base = "[UInt8]"
        if self.is_array:
            base = f"[{base}]"
        optional = not self.nullable.empty() and (self.element in ("string", "bytes", "records") or self.is_array)
        return base + ("?" if optional else "")

    def optional(self):
        return self.swift_type().endswith("?")

    def default_value(self):
        if self.is_array:
            return "nil" if self.default == "null" else "[]"
        if self.is_struct:
            return f"{self.element}()"
        if self.element in ("string",):
            if self.default == "null":
                return "nil"
            return json.dumps(self.default) if self.default else '""'
        if self.element in ("bytes", "records"):
            return "nil" if self.optional() else "[]"
        if self.element == "bool":
            return "true" if str(self.default).lower() == "true" else "false"
        if self.element == "uuid":
            return ".zero"
        if self.default is None or self.default == "":
            return "0"
        text = str(self.default)
        if text.startswith("0x"):
            return text
        return text

    # Decoding -----------------------------------------------------------------------------

    def decode_expr(self, version, flexible):
        nullable_cond = self.nullable.condition(version, (0, 32767)) if not self.nullable.empty() else "false"
        if self.is_array:
            element = self.element_decode("r", version, flexible)
            call = f"try reader.array(flexible: {flexible}) {{ (r: inout ProtocolReader) throws(ProtocolError) in {element} }}"
            if self.optional():
                return f"try reader.nullableArray(flexible: {flexible}, nullable: {nullable_cond}) {{ (r: inout ProtocolReader) throws(ProtocolError) in {element} }}"
            return call
        if self.is_struct:
            return f"try {self.element}(from: &reader, version: {version})"
        if self.element == "string":
            if self.optional():
                return f"try reader.nullableString(flexible: {flexible}, nullable: {nullable_cond})"
            return f"try reader.string(flexible: {flexible})"
        if self.element in ("bytes", "records"):
            if self.optional():
                return f"try reader.nullableBytes(flexible: {flexible}, nullable: {nullable_cond})"
            return f"try reader.bytes(flexible: {flexible})"
        return f"try reader.{PRIMITIVES[self.element][2]}()"

    def element_decode(self, reader, version, flexible):
        if self.is_struct:
            return f"try {self.element}(from: &{reader}, version: {version})"
        if self.element == "string":
            return f"try {reader}.string(flexible: {flexible})"
        return f"try {reader}.{PRIMITIVES[self.element][2]}()"

    # Encoding -----------------------------------------------------------------------------

    def encode_stmt(self, value, writer, version, flexible):
        if self.is_array:
            element = self.element_encode("w", "element", version, flexible)
            if self.optional():
                return f"{writer}.writeNullableArray({value}, flexible: {flexible}) {{ w, element in {element} }}"
            return f"{writer}.writeArray({value}, flexible: {flexible}) {{ w, element in {element} }}"
        if self.is_struct:
            return f"{value}.write(to: &{writer}, version: {version})"
        if self.element == "string":
            if self.optional():
                return f"{writer}.writeNullableString({value}, flexible: {flexible})"
            return f"{writer}.writeString({value}, flexible: {flexible})"
        if self.element in ("bytes", "records"):
            if self.optional():
                return f"{writer}.writeNullableBytes({value}, flexible: {flexible})"
            return f"{writer}.writeBytes({value}, flexible: {flexible})"
        return f"{writer}.write{PRIMITIVES[self.element][2].capitalize()}({value})"

    def element_encode(self, writer, value, version, flexible):
        if self.is_struct:
            return f"{value}.write(to: &{writer}, version: {version})"
        if self.element == "string":
            return f"{writer}.writeString({value}, flexible: {flexible})"
        return f"{writer}.write{PRIMITIVES[self.element][2].capitalize()}({value})"

    def non_default(self, value):
        default = self.default_value()
        if self.is_array and default == "[]":
            return f"!({value} ?? []).isEmpty" if self.optional() else f"!{value}.isEmpty"
        return f"{value} != {default}"


class Struct:
    def __init__(self, name, fields, valid, structs, owner):
        self.name = name
        self.fields = [Field(f, valid, structs, owner) for f in fields]


def swift_doc(text, indent):
    text = " ".join(text.split())
    if not text:
        return []
    return [f"{indent}/// {text}"]


def emit_struct(lines, name, fields, valid, flexible_from, indent, conforms, extra=None):
    lines.append(f"{indent}public struct {name}: {conforms} {{")
    inner = indent + "    "
    for line in extra or []:
        lines.append(inner + line if line else "")
    for field in fields:
        lines.extend(swift_doc(field.about, inner))
        lines.append(f"{inner}public var {field.swift_name}: {field.swift_type()} = {field.default_value()}")
    lines.append("")
    lines.append(f"{inner}public init() {{}}")
    lines.append("")
    emit_decode(lines, fields, valid, flexible_from, inner)
    lines.append("")
    emit_encode(lines, fields, valid, flexible_from, inner)
    return inner


def flexible_condition(flexible_from, valid):
    if flexible_from is None:
        return "false"
    if flexible_from <= valid[0]:
        return "true"
    return f"version >= {flexible_from}"


def emit_function(lines, fields, valid, flexible_from, indent, signature, statement, tagged_section):
    """One decode or encode function: the untagged fields in order, each in the versions that
    have it, then (in flexible versions) the tagged-field section."""
    body = indent + "    "
    lines.append(f"{indent}{signature} {{")
    flex = flexible_condition(flexible_from, valid)
    if flex not in ("true", "false"):
        lines.append(f"{body}let flexible = {flex}")
        flex = "flexible"
    for field in fields:
        cond = field.versions.condition("version", valid)
        if field.tag is not None or cond == "false":
            continue
        stmt = statement(field, flex)
        lines.append(f"{body}{stmt}" if cond == "true" else f"{body}if {cond} {{ {stmt} }}")
    if flex != "false":
        lines.append(f"{body}do {{" if flex == "true" else f"{body}if {flex} {{")
        tagged_section(body + "    ", [f for f in fields if f.tag is not None])
        lines.append(f"{body}}}")
    lines.append(f"{indent}}}")


def emit_decode(lines, fields, valid, flexible_from, indent):
    def tagged_section(inner, tagged):
        if not tagged:
            lines.append(f"{inner}try reader.taggedFields {{ _, _ throws(ProtocolError) in false }}")
            return
        lines.append(f"{inner}try reader.taggedFields {{ (reader: inout ProtocolReader, tag: UInt32) throws(ProtocolError) -> Bool in")
        lines.append(f"{inner}    switch tag {{")
        for field in tagged:
            cond = field.tagged.condition("version", valid)
            where = "" if cond == "true" else f" where {cond}"
            lines.append(f"{inner}    case {field.tag}{where}: {field.swift_name} = {field.decode_expr('version', 'true')}")
        lines.append(f"{inner}    default: return false")
        lines.append(f"{inner}    }}")
        lines.append(f"{inner}    return true")
        lines.append(f"{inner}}}")

    emit_function(
        lines, fields, valid, flexible_from, indent,
        "public init(from reader: inout ProtocolReader, version: Int16) throws(ProtocolError)",
        lambda field, flex: f"{field.swift_name} = {field.decode_expr('version', flex)}", tagged_section)


def emit_encode(lines, fields, valid, flexible_from, indent):
    def tagged_section(inner, tagged):
        if not tagged:
            lines.append(f"{inner}writer.writeUnsignedVarint(0)")
            return
        lines.append(f"{inner}var tagged = TaggedFieldsWriter()")
        for field in sorted(tagged, key=lambda f: f.tag):
            cond = field.tagged.condition("version", valid)
            present = field.non_default(field.swift_name)
            test = present if cond == "true" else f"{cond}, {present}"
            stmt = field.encode_stmt(field.swift_name, "w", "version", "true")
            lines.append(f"{inner}if {test} {{ tagged.add({field.tag}) {{ w in {stmt} }} }}")
        lines.append(f"{inner}tagged.write(to: &writer)")

    emit_function(
        lines, fields, valid, flexible_from, indent, "public func write(to writer: inout ByteWriter, version: Int16)",
        lambda field, flex: field.encode_stmt(field.swift_name, "writer", "version", flex), tagged_section)


def generate(spec):
    name = spec["name"]
    valid_versions = Versions(spec["validVersions"])
    valid = (valid_versions.low, valid_versions.high)
    flexible = Versions(spec.get("flexibleVersions"), valid[1])
    flexible_from = flexible.low
    structs = []
    for common in spec.get("commonStructs", []):
        structs.append(Struct(common["name"], common["fields"], valid, structs, name))
    top = [Field(f, valid, structs, name) for f in spec["fields"]]
    lines = [
        "// swift-format-ignore-file",
        f"// Generated by scripts/kafka-codegen.py from {name}.json. Do not edit.",
        "",
        "public import KafkaWire",
        "",
    ]
    role = "KafkaRequest" if spec["type"] == "request" else "KafkaResponse"
    extra = [
        f"public static let apiKey: Int16 = {spec['apiKey']}",
        f"public static let versions: ClosedRange<Int16> = {valid[0]}...{valid[1]}",
        f"public static let flexibleFrom: Int16? = {'nil' if flexible_from is None else flexible_from}",
        "",
    ]
    inner = emit_struct(lines, name, top, valid, flexible_from, "", f"{role}, Equatable", extra)
    seen = set()
    for struct in structs:
        if struct.name in seen:
            continue
        seen.add(struct.name)
        lines.append("")
        emit_struct(lines, struct.name, struct.fields, valid, flexible_from, inner, "Sendable, Equatable")
        lines.append(f"{inner}}}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def generate_registry(specs):
    lines = [
        "// swift-format-ignore-file",
        "// Generated by scripts/kafka-codegen.py. Do not edit.",
        "",
        "/// Every generated request type, by API key.",
        "public enum KafkaRequests {",
        "    public static let types: [Int16: any KafkaRequest.Type] = [",
    ]
    for spec in sorted(specs, key=lambda spec: spec["apiKey"]):
        lines.append(f"        {spec['apiKey']}: {spec['name']}.self,")
    lines += ["    ]", "}", ""]
    return "\n".join(lines)


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    specs = os.environ.get("KAFKA_SPECS") or os.path.join(root, "scripts", "kafka-specs")
    out = os.path.join(root, "Sources", "KafkaProtocol", "Generated")
    check = False
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag == "--specs":
            specs = args.pop(0)
        elif flag == "--out":
            out = args.pop(0)
        elif flag == "--check":
            check = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if not os.path.isdir(specs):
        print(f"kafka-codegen: no specs at {specs} (pass --specs DIR or set KAFKA_SPECS)", file=sys.stderr)
        return 2
    stale = []
    wanted = set()
    for api in APIS:
        for kind in ("Request", "Response"):
            spec = load(os.path.join(specs, f"{api}{kind}.json"))
            text = generate(spec)
            path = os.path.join(out, f"{api}{kind}.swift")
            wanted.add(os.path.basename(path))
            current = open(path).read() if os.path.exists(path) else None
            if current != text:
                stale.append(path)
                if not check:
                    os.makedirs(out, exist_ok=True)
                    with open(path, "w") as handle:
                        handle.write(text)
    registry = generate_registry([load(os.path.join(specs, f"{api}Request.json")) for api in APIS])
    path = os.path.join(out, "KafkaRequests.swift")
    wanted.add(os.path.basename(path))
    if (open(path).read() if os.path.exists(path) else None) != registry:
        stale.append(path)
        if not check:
            with open(path, "w") as handle:
                handle.write(registry)
    extra = [f for f in (os.listdir(out) if os.path.isdir(out) else []) if f.endswith(".swift") and f not in wanted]
    if check:
        for path in stale:
            print(f"stale: {os.path.relpath(path, root)}", file=sys.stderr)
        for name in extra:
            print(f"not generated by this script: {name}", file=sys.stderr)
        return 1 if stale or extra else 0
    for name in extra:
        os.remove(os.path.join(out, name))
    print(f"kafka-codegen: {len(stale)} of {2 * len(APIS) + 1} files written to {os.path.relpath(out, root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
