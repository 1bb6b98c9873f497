import Foundation
import SoftToken

/// The core's HTTP hook over URLSession. The core calls it synchronously on the thread
/// that called `provision` / `syncTime` (never the main thread: the app calls them in a
/// detached task), so each request waits for its answer. No answer at all (offline,
/// refused, timed out, TLS refused by ATS) is a `HostError`, which the core reports as
/// "cannot reach the service"; any answer goes back to the core to judge, whatever its status.
final class URLSessionTransport: NSObject, HttpTransport, URLSessionTaskDelegate, @unchecked Sendable {
    private let maxBodyBytes: Int
    private lazy var session: URLSession = {
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 15
        config.timeoutIntervalForResource = 30
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        config.httpCookieStorage = nil
        config.waitsForConnectivity = false
        return URLSession(configuration: config, delegate: self, delegateQueue: nil)
    }()

    init(maxBodyBytes: Int = 64 * 1024) {
        self.maxBodyBytes = maxBodyBytes
    }

    func post(url: String, body: Data) throws -> HttpResponse {
        var request = try makeRequest(url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        return try send(request)
    }

    func get(url: String) throws -> HttpResponse {
        var request = try makeRequest(url)
        request.httpMethod = "GET"
        return try send(request)
    }

    /// Redirects are not followed: the service never sends one, and a redirect could lead off HTTPS.
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    private func makeRequest(_ url: String) throws -> URLRequest {
        guard let u = URL(string: url) else { throw HostError.Failed(reason: "cannot open \(url): not a URL") }
        var request = URLRequest(url: u)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        return request
    }

    private func send(_ request: URLRequest) throws -> HttpResponse {
        let url = request.url?.absoluteString ?? ""
        let done = DispatchSemaphore(value: 0)
        var outcome: Result<(Data, HTTPURLResponse), Error> = .failure(HostError.Failed(reason: "no answer from \(url)"))
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                outcome = .failure(HostError.Failed(reason: "no answer from \(url): \(error.localizedDescription)"))
            } else if let http = response as? HTTPURLResponse {
                outcome = .success((data ?? Data(), http))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        let (data, http) = try outcome.get()
        let retryAfter = http.value(forHTTPHeaderField: "Retry-After").flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        return HttpResponse(status: UInt16(clamping: http.statusCode), body: data.prefix(maxBodyBytes), retryAfterSeconds: retryAfter)
    }
}
