import Testing

@testable import FirestreamConfig

@Suite struct NamesAndSuggestionsTests {
    @Test func suggestsTheIntendedKey() {
        let keys = ["name", "replicaCount", "image", "service", "resources", "ingress", "services", "topics", "apps"]
        #expect(Suggestion.closest(to: "replicas", in: keys) == "replicaCount")
        #expect(Suggestion.closest(to: "replica_count", in: keys) == "replicaCount")
        #expect(Suggestion.closest(to: "imgae", in: keys) == "image")
        #expect(Suggestion.closest(to: "resource", in: keys) == "resources")
        #expect(Suggestion.closest(to: "zzz", in: keys) == nil)
        #expect(Suggestion.closest(to: "name", in: ["service_name", "enabled"]) == "service_name")
    }

    @Test func editDistanceCountsTranspositionsOnce() {
        #expect(Suggestion.distance("kafak", "kafka") == 1)
        #expect(Suggestion.distance("", "abc") == 3)
        #expect(Suggestion.distance("kitten", "sitting") == 3)
    }

    @Test func dnsLabels() {
        #expect(NameRules.dns1123LabelProblem("my-project-2") == nil)
        #expect(NameRules.dns1123LabelProblem("-x") != nil)
        #expect(NameRules.dns1123LabelProblem("") != nil)
        #expect(NameRules.suggestedLabel(from: "My Project__2!") == "my-project-2")
        #expect(NameRules.suggestedLabel(from: "___") == "")
    }

    @Test func topicNames() {
        #expect(NameRules.topicNameProblem("metronome.v1_raw-events") == nil)
        #expect(NameRules.topicNameProblem("..") != nil)
        #expect(NameRules.topicNameProblem("a/b") != nil)
        #expect(NameRules.topicNameProblem(String(repeating: "t", count: 250)) != nil)
    }

    @Test func configPathsPrintAsWritten() {
        let path = ConfigPath.root / "services" / 1 / "resources" / "requests" / "cpu"
        #expect(path.description == "services[1].resources.requests.cpu")
        #expect(ConfigPath(parsing: "services[1].resources.requests.cpu") == path)
        #expect((ConfigPath.root / "values" / "a b").description == "values[\"a b\"]")
        #expect(ConfigPath.root.description == "(root)")
    }
}
