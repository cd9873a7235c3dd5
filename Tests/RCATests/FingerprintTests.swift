import RCACore
import Testing

@Suite("Failure fingerprints")
struct FingerprintTests {
    @Test("the same failure in different runs has one fingerprint")
    func volatilePartsIgnored() {
        let first = "FileNotFoundError: [Errno 2] No such file or directory: '/dbfs/mnt/raw/2026/11/29/orders.csv' (run 6cd1f2b8-7b0a-4d2f-9a53-3f1e2f0b9c11 at 2026-11-29T06:00:05Z on 1121-055905-q5xcz4bm, attempt 1)"
        let second = "FileNotFoundError: [Errno 2] No such file or directory: '/dbfs/mnt/raw/2026/11/30/orders.csv' (run 0a9e2d31-5c44-4f0e-8a11-77b0c3d2e9f4 at 2026-11-30T06:00:07Z on 1130-061500-zz99yy88, attempt 2)"
        #expect(Fingerprint.of(source: .databricks, errorText: first) == Fingerprint.of(source: .databricks, errorText: second))
        #expect(Fingerprint.normalize("host salesdata.blob.core.windows.net port 443") == "host <host> port <n>")
    }

    @Test("different failures, or the same text from another source, differ")
    func distinct() {
        let missing = Fingerprint.of(source: .databricks, errorText: "FileNotFoundError: /mnt/raw/orders.csv")
        #expect(missing != Fingerprint.of(source: .databricks, errorText: "KeyError: 'customer_id'"))
        #expect(missing != Fingerprint.of(source: .adf, errorText: "FileNotFoundError: /mnt/raw/orders.csv"))
        #expect(missing.count == 16)
    }
}
