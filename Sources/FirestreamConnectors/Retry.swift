public import Foundation

/// Exponential back-off with equal jitter (half fixed, half random), and how long a server asked us to wait.
public struct RetrySchedule: Sendable {
    public var initialMilliseconds: Int64
    public var maxMilliseconds: Int64

    public init(initialMilliseconds: Int64, maxMilliseconds: Int64) {
        self.initialMilliseconds = initialMilliseconds
        self.maxMilliseconds = maxMilliseconds
    }

    /// The ceiling before attempt `attempt + 1` (attempt counts from 1): initial·2^(attempt-1), capped.
    public func ceiling(afterAttempt attempt: Int) -> Int64 {
        let shift = min(max(attempt - 1, 0), 40)
        let (scaled, overflow) = initialMilliseconds.multipliedReportingOverflow(by: Int64(1) << shift)
        return overflow ? maxMilliseconds : min(scaled, maxMilliseconds)
    }

    /// A random delay in [ceiling/2, ceiling] ("equal jitter": spread out, never near zero).
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0...1)) -> Int64 {
        let ceiling = ceiling(afterAttempt: attempt)
        return ceiling / 2 + Int64(Double(ceiling - ceiling / 2) * random)
    }

    /// The longest wait a server can ask for; longer requests are clamped to it.
    public static let maxRetryAfterMilliseconds: Int64 = 86_400_000

    /// `Retry-After` as milliseconds: delta seconds, or an HTTP date relative to `now`; at most a day.
    public static func retryAfter(_ value: String?, now: Date = Date()) -> Int64? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.allSatisfy({ $0.isASCII && $0.isNumber }) {
            // Digits of any length: anything past a day is a day (no overflow, no trap).
            guard let seconds = Int64(value), seconds <= maxRetryAfterMilliseconds / 1000 else { return maxRetryAfterMilliseconds }
            return seconds * 1000
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        let milliseconds = date.timeIntervalSince(now) * 1000
        guard milliseconds.isFinite else { return nil }
        return Int64(max(0, min(milliseconds, Double(maxRetryAfterMilliseconds))))
    }
}
