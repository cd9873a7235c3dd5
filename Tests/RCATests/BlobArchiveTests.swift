import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RCACore
import RCANotify
import RCASources
import RCAServer
import RCATesting
import Synchronization
import Testing

/// A Blob Storage container and an Entra ID token endpoint on 127.0.0.1 that
/// keep every request they were sent.
final class FakeBlobStorage: Sendable {
    struct Put: Sendable {
        let path: String
        let query: String
        let headers: [(String, String)]
        let body: String
    }

    let puts = Mutex<[Put]>([])
    let tokenRequests = Mutex<[String]>([])
    private let running = Mutex<LocalHTTPServer?>(nil)
    var server: LocalHTTPServer { running.withLock { $0! } }

    static func start() async throws -> FakeBlobStorage {
        let fake = FakeBlobStorage()
        let router = Router()
        router.put("/rcatest/rca-archive/:day/:name") { request, _ in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
            let headers = request.headers.map { ($0.name.canonicalName, $0.value) }
            fake.puts.withLock { $0.append(Put(path: request.uri.path, query: request.uri.query ?? "", headers: headers, body: body)) }
            return Response(status: .created)
        }
        router.post("/login/:tenant/oauth2/v2.0/token") { request, _ in
            var request = request
            let form = String(buffer: try await request.collectBody(upTo: 1 << 16))
            fake.tokenRequests.withLock { $0.append(form) }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"storage-token"}"#)))
        }
        fake.running.withLock { $0 = nil }
        let server = try await LocalHTTPServer.start(router)
        fake.running.withLock { $0 = server }
        return fake
    }
}

@Suite("Blob archive: SAS, connection string and Entra ID", .serialized)
struct BlobArchiveTests {
    static let accountKey = "cmNhLWFzc2lzdGFudC10ZXN0LWFjY291bnQta2V5LTAxMjM0NTY3ODlhYmNkZWY="

    @Test("the Shared Key signature is the one Azure's Python SDK (azure-storage-blob 12.31.1) sent for the same request")
    func sharedKeyVector() throws {
        let url = try #require(URL(string: "http://127.0.0.1:37573/rcatest/rca-archive/2026-12-07/ADF-20261207T010203-0a1b2c3d-payload.json"))
        let headers = [
            ("User-Agent", "azsdk-python-storage-blob/12.31.1 Python/3.11.7 (Linux-6.18.44-fc-v1272-x86_64-with-glibc2.36)"),
            ("Accept-Encoding", "gzip, deflate"), ("Accept", "application/xml"), ("Connection", "keep-alive"), ("Content-Length", "13"),
            ("x-ms-blob-type", "BlockBlob"), ("x-ms-version", "2026-10-06"), ("Content-Type", "application/octet-stream"),
            ("x-ms-date", "Mon, 07 Dec 2026 02:32:14 GMT"), ("x-ms-client-request-id", "69bb34b2-f1e6-11f1-bf8a-02fc00000001"),
        ]
        let signed = BlobSharedKey.authorization(account: "rcatest", key: try #require(Data(base64Encoded: Self.accountKey)), method: "PUT", url: url, headers: headers)
        #expect(signed == "SharedKey rcatest:sVCgJ3ulgTCIzHnxmoOx7mkvnOS0Ky4XJCbG9nqiSL4=")
    }

    static func ticket() -> TicketSnapshot {
        var ticket = NotifierCase.ticket
        ticket.id = "ADF-20261207T010203-0a1b2c3d"
        ticket.firstSeen = "2026-12-07T01:02:03.000Z"
        ticket.rootCause = "The source blob is missing"
        ticket.recommendations = ["Check the upstream export"]
        return ticket
    }

    @Test("a connection string's account key signs both blobs (payload and analysis); the kept URL carries no credential")
    func connectionString() async throws {
        let storage = try await FakeBlobStorage.start()
        defer { Task { await storage.server.stop() } }
        let connection = "DefaultEndpointsProtocol=http;AccountName=rcatest;AccountKey=\(Self.accountKey);BlobEndpoint=\(storage.server.baseURL)/rcatest;"
        let configuration = try ServerConfiguration(environment: ["AZURE_STORAGE_CONNECTION_STRING": connection, "AZURE_BLOB_CONTAINER": "rca-archive"])
        let target = try #require(configuration.notifications.blobArchive?.target)
        let archiver = BlobArchiver(target: target, httpClient: VendorHTTP.sharedClient, timeout: .seconds(5))
        let reference = try await archiver.deliver(Self.ticket(), reason: .opened, existing: nil, payload: Data(#"{"alert":"raw"}"#.utf8))
        #expect(reference.id == "\(storage.server.baseURL)/rcatest/rca-archive/2026-12-07/ADF-20261207T010203-0a1b2c3d-payload.json")
        let puts = storage.puts.withLock { $0 }
        #expect(puts.map(\.path) == ["/rcatest/rca-archive/2026-12-07/ADF-20261207T010203-0a1b2c3d-payload.json", "/rcatest/rca-archive/2026-12-07/ADF-20261207T010203-0a1b2c3d-analysis.json"])
        #expect(puts.first?.body == #"{"alert":"raw"}"#)
        let analysis = try #require(try JSONSerialization.jsonObject(with: Data((puts.last?.body ?? "").utf8)) as? [String: Any])
        #expect(analysis["rca_result"] as? String == "The source blob is missing" && analysis["recommendations"] as? [String] == ["Check the upstream export"])
        for put in puts {
            let url = try #require(URL(string: "\(storage.server.baseURL)\(put.path)"))
            let sent = Dictionary(put.headers.map { ($0.0.lowercased(), $0.1) }) { first, _ in first }
            #expect(sent["x-ms-date"] != nil && sent["x-ms-version"] == "2021-08-06" && put.query.isEmpty)
            let expected = BlobSharedKey.authorization(account: "rcatest", key: Data(base64Encoded: Self.accountKey)!, method: "PUT", url: url, headers: put.headers.filter { $0.0.lowercased() != "authorization" })
            #expect(sent["authorization"] == expected, "the signature covers the headers that were sent, Content-Length included")
        }
    }

    @Test("the service principal's token for https://storage.azure.com/.default authorizes the puts, and is fetched once")
    func entraID() async throws {
        let storage = try await FakeBlobStorage.start()
        defer { Task { await storage.server.stop() } }
        let configuration = try ServerConfiguration(environment: [
            "AZURE_BLOB_CONTAINER_URL": "\(storage.server.baseURL)/rcatest/rca-archive",
            "AZURE_TENANT_ID": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000abcd", "AZURE_CLIENT_SECRET": "s3cret-value",
            "AZURE_AUTHORITY_HOST": "\(storage.server.baseURL)/login",
        ])
        let archive = try #require(configuration.notifications.blobArchive)
        #expect(archive.variable == "AZURE_BLOB_CONTAINER_URL")
        let archiver = BlobArchiver(target: archive.target, httpClient: VendorHTTP.sharedClient, timeout: .seconds(5))
        _ = try await archiver.deliver(Self.ticket(), reason: .opened, existing: nil, payload: Data("{}".utf8))
        let puts = storage.puts.withLock { $0 }
        #expect(puts.count == 2)
        #expect(puts.allSatisfy { put in put.headers.contains { $0.0.lowercased() == "authorization" && $0.1 == "Bearer storage-token" } })
        let forms = storage.tokenRequests.withLock { $0 }
        #expect(forms.count == 1 && forms.first?.contains("scope=https%3A%2F%2Fstorage.azure.com%2F.default") == true)
        #expect(forms.first?.contains("grant_type=client_credentials") == true)
    }

    @Test("through the pipeline, the analysis blob holds the root cause and the audit trail so far", arguments: TestBackend.enabled)
    func archivedAnalysisAndAudit(backend: TestBackend) async throws {
        let storage = try await FakeBlobStorage.start()
        defer { Task { await storage.server.stop() } }
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: [
                "AZURE_BLOB_CONTAINER_SAS_URL": "\(storage.server.baseURL)/rcatest/rca-archive?sv=2022-11-02&sr=c&sp=cwl&sig=abc",
            ])
            let id = try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "sales_load", "error_message": "java.lang.OutOfMemoryError: Java heap space"])
                try await harness.settle(id)
                try await eventually(20, "both blobs are written") { storage.puts.withLock { $0.count } == 2 }
                return id
            }
            let analysisPut = try #require(storage.puts.withLock { $0.last })
            #expect(analysisPut.path.hasSuffix("/\(id)-analysis.json") && analysisPut.query.contains("sig=abc"))
            let document = try #require(try JSONSerialization.jsonObject(with: Data(analysisPut.body.utf8)) as? [String: Any])
            #expect((document["rca_result"] as? String)?.isEmpty == false)
            let actions = (document["audit_trail"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
            #expect(actions.first == "Ticket Created" && actions.count >= 2, "\(actions)")
        }
    }

    @Test("the archive's settings: each form, and the mistakes each one names", arguments: [
        (["AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=\(accountKey)"], "AZURE_BLOB_CONTAINER: is required with AZURE_STORAGE_CONNECTION_STRING (the container's name)"),
        (["AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=\(accountKey)", "AZURE_BLOB_CONTAINER": "Bad_Name"],
         "AZURE_BLOB_CONTAINER: expected a container name of 3-63 lower-case letters, digits and single hyphens"),
        (["AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;EndpointSuffix=core.windows.net", "AZURE_BLOB_CONTAINER": "rca"],
         "AZURE_STORAGE_CONNECTION_STRING: holds neither AccountName with a base64 AccountKey nor a SharedAccessSignature"),
        (["AZURE_BLOB_CONTAINER_URL": "https://a.blob.core.windows.net/rca"],
         "AZURE_CLIENT_ID: AZURE_BLOB_CONTAINER_URL needs the service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET"),
        (["AZURE_BLOB_CONTAINER_SAS_URL": "https://a.blob.core.windows.net/c?sv=1&sig=x", "AZURE_BLOB_CONTAINER_URL": "https://a.blob.core.windows.net/c"],
         "AZURE_BLOB_CONTAINER_URL: set only one of AZURE_BLOB_CONTAINER_SAS_URL, AZURE_STORAGE_CONNECTION_STRING and AZURE_BLOB_CONTAINER_URL"),
    ])
    func settings(environment: [String: String], message: String) {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(environment: environment) }
        do {
            _ = try ServerConfiguration(environment: environment)
        } catch {
            #expect("\(error.variable): \(error.problem)" == message)
        }
    }

    @Test("the portal's connection string and one with a SharedAccessSignature name the right container and credential")
    func connectionStringForms() throws {
        let portal = try BlobArchiveTarget(connectionString: "DefaultEndpointsProtocol=https;AccountName=rcadata;AccountKey=\(Self.accountKey);EndpointSuffix=core.windows.net", container: "rca-archive")
        #expect(portal.containerURL == "https://rcadata.blob.core.windows.net/rca-archive")
        guard case .sharedKey(let account, _) = portal.credential else { Issue.record("expected Shared Key"); return }
        #expect(account == "rcadata")
        let sas = try BlobArchiveTarget(connectionString: "BlobEndpoint=https://rcadata.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sp=rwl&sig=abc", container: "rca-archive")
        #expect(sas.containerURL == "https://rcadata.blob.core.windows.net/rca-archive")
        guard case .sas(let query) = sas.credential else { Issue.record("expected a SAS"); return }
        #expect(query == "sv=2022-11-02&sp=rwl&sig=abc")
    }
}
