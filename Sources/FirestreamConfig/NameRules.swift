/// Naming rules for things that become Kubernetes objects or Kafka topics.
public enum NameRules {
    /// Why `name` is not a DNS-1123 label (lower-case alphanumerics and '-', 1–63 characters,
    /// starting and ending alphanumeric), or nil when it is one.
    public static func dns1123LabelProblem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.count > 63 { return "it has \(name.count) characters; at most 63 are allowed" }
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        if !allowed { return "use only lower-case letters, digits and '-'" }
        if name.hasPrefix("-") || name.hasSuffix("-") { return "it must start and end with a letter or digit" }
        return nil
    }

    /// Why `name` is not a DNS-1123 subdomain (labels joined by dots, at most 253 characters),
    /// or nil when it is one.
    public static func dns1123SubdomainProblem(_ name: String) -> String? {
        if name.count > 253 { return "it has \(name.count) characters; at most 253 are allowed" }
        return name.split(separator: ".", omittingEmptySubsequences: false).lazy.compactMap { dns1123LabelProblem(String($0)) }.first
    }

    /// The closest DNS-1123 label to `text` (`My_Project` → `my-project`); empty when nothing is left.
    public static func suggestedLabel(from text: String) -> String {
        var label = ""
        for scalar in text.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                label.unicodeScalars.append(scalar)
            } else if !label.isEmpty, !label.hasSuffix("-") {
                label += "-"
            }
        }
        while label.hasSuffix("-") { label.removeLast() }
        return String(label.prefix(63)).trimmingSuffix("-")
    }

    /// Why `name` is not a legal Kafka topic name (ASCII letters, digits, '.', '_', '-'; at most
    /// 249 characters; not "." or ".."), or nil when it is one.
    public static func topicNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name == "." || name == ".." { return "\".\" and \"..\" are reserved" }
        if name.count > 249 { return "it has \(name.count) characters; at most 249 are allowed" }
        let allowed = name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-"
        }
        if !allowed { return "use only ASCII letters, digits, '.', '_' and '-'" }
        return nil
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
