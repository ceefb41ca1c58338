public import FirestreamStreams

/// Groups each user's clicks into sessions: a session ends when the user has been idle for
/// `gapMilliseconds`, and then one summary is written to the output topic.
///
/// It shows the whole app API: Codable input and output (JSON by default), a key, per-key
/// state, and a wall-clock timeout that fires even when no more input arrives.
public struct ClickSessions: StreamApp {
    public struct Click: Codable, Sendable {
        public var user: String
        public var page: String

        public init(user: String, page: String) {
            self.user = user
            self.page = page
        }
    }

    public struct Session: Codable, Sendable, Equatable {
        public var user: String
        public var clicks: Int
        public var pages: [String]
        public var start: Int64
        public var end: Int64

        public init(user: String, clicks: Int, pages: [String], start: Int64, end: Int64) {
            (self.user, self.clicks, self.pages, self.start, self.end) = (user, clicks, pages, start, end)
        }
    }

    public struct State: Codable, Sendable {
        var clicks = 0
        var pages: [String] = []
        var start: Int64 = 0
        var end: Int64 = 0
    }

    public let name: String
    public let inputTopics: [String]
    public let outputTopic: String
    public let gapMilliseconds: Int64

    public init(name: String = "sessions", input: String = "clicks", output: String = "sessions", gapMilliseconds: Int64 = 30_000) {
        self.name = name
        self.inputTopics = [input]
        self.outputTopic = output
        self.gapMilliseconds = gapMilliseconds
    }

    public func key(for click: Click) -> String? { click.user }
    public func key(for session: Session) -> String? { session.user }

    public func process(_ click: Click, state: inout State?, context: inout ProcessingContext) -> [Session] {
        var session = state ?? State(start: context.timestamp)
        session.clicks += 1
        session.end = context.timestamp
        if !session.pages.contains(click.page) { session.pages.append(click.page) }
        state = session
        context.setTimeout(afterMilliseconds: gapMilliseconds)
        return []
    }

    public func timedOut(key: String, state: inout State?, context: inout ProcessingContext) -> [Session] {
        defer { state = nil }
        guard let session = state else { return [] }
        return [Session(user: key, clicks: session.clicks, pages: session.pages, start: session.start, end: session.end)]
    }
}
