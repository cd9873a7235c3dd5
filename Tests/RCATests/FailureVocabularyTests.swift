import Foundation
@testable import RCAAnalysis
import RCACore
import Testing

@Suite("Failure vocabulary, catalog and identifiers")
struct FailureVocabularyTests {
    static let lexicon = try! Lexicon.bundled()
    static let catalog = try! Catalog.bundled()
    static let finder = IdentifierFinder(catalog: catalog, lexicon: lexicon)

    static func words(_ text: String) -> [String] {
        WordScanner.scan(text).words.map(\.text)
    }

    static func identifiers(_ text: String) -> [NamedIdentifier] {
        finder.identifiers(in: text, tokens: WordScanner.scan(text).tokens)
    }

    @Test("identifiers are read as the words they are made of; contractions are spelled out")
    func words() {
        #expect(Self.words("java.io.FileNotFoundException") == ["java", "io", "file", "not", "found", "exception"])
        #expect(Self.words("SQLServerException CAST_INVALID_INPUT") == ["sql", "server", "exception", "cast", "invalid", "input"])
        #expect(Self.words("The notebook doesn't exist; it can't run") == ["the", "notebook", "does", "not", "exist", "it", "cannot", "run"])
        #expect(Self.words("ADLSGen2OperationFailed") == ["adls", "gen2", "operation", "failed"])
    }

    @Test("stack frames and Data Factory's Source= assembly name are not read as prose")
    func skippedText() {
        let text = "java.lang.OutOfMemoryError: heap\n\tat org.apache.spark.Memory.acquire(Memory.scala:42)\n  File \"/x/etl.py\", line 3, in <module>\n... 12 more"
        #expect(Self.words(text) == ["java", "lang", "out", "of", "memory", "error", "heap"])
        #expect(Self.words("Message=Timed out,Source=Microsoft.DataTransfer.ClientLibrary,'") == ["message", "timed", "out"])
    }

    @Test("a storage or file path is one word, whatever its folders are called; an address's host and words like and/or are read")
    func paths() {
        #expect(Self.words("Path does not exist: dbfs:/mnt/timeout/orders.csv") == ["path", "does", "not", "exist", "path"])
        #expect(Self.words("abfss://raw@lake.dfs.core.windows.net/sales/2025 doesn't exist") == ["path", "does", "not", "exist"])
        #expect(Self.words("Process List(/databricks/python/bin/pip, install)") == ["process", "list", "path", "install"])
        #expect(Self.words("File file:/tmp/a.csv does not exist") == ["file", "path", "does", "not", "exist"])
        #expect(Self.words("read and/or write /tmp") == ["read", "and", "or", "write", "tmp"], "one segment is not a path")
        #expect(Self.words("No FileSystem for scheme: abfss") == ["no", "file", "system", "for", "scheme", "abfss"])
        #expect(Self.words("token from https://login.microsoftonline.com/t/oauth2/token failed").contains("login"))
    }

    @Test("a name in quotes or backticks is one word but keeps its identifiers; quoted prose and contractions are read as before")
    func quotedNames() {
        #expect(Self.words("The integration runtime 'NewVMgateway' under data factory 'neptune-techop' does not exist")
                == ["the", "integration", "runtime", WordScanner.nameWord, "under", "data", "factory", WordScanner.nameWord, "does", "not", "exist"])
        #expect(Self.words("cannot resolve `old.id` in search condition") == ["cannot", "resolve", WordScanner.nameWord, "in", "search", "condition"])
        #expect(Self.words("Path does not exist: 'dbfs:/mnt/raw/x'").last == WordScanner.pathWord)
        #expect(Self.words("it can't be converted") == ["it", "cannot", "be", "converted"])
        #expect(Self.words("'Type=A,Message=Timed out,'") == ["type", "a", "message", "timed", "out"], "a quote with a space in it is prose")
        #expect(Self.identifiers("failed with HttpStatusCode - 'NotFound'").map(\.name).contains("NotFound"))
    }

    @Test("a phrase's * stands for up to five words, and phrases match only whole words in order")
    func gappedPhrases() {
        let hits = { (text: String) in
            Self.lexicon.hits(in: WordScanner.scan(text).words).map(\.phrase.text)
        }
        #expect(hits("Column 'customer_tier' does not exist").contains("column * does not exist"))
        #expect(hits("Column a b c d e does not exist").contains("column * does not exist"))
        #expect(!hits("Column a b c d e f does not exist").contains("column * does not exist"), "six words are more than a gap")
        #expect(!hits("exist does not").contains("does not exist"))
        #expect(hits("timeouts").contains("timeouts") && !hits("timeouts").contains("timeout"))
    }

    @Test("an identifier's own words give its meaning only when they are clear")
    func identifierWords() {
        let category = { (name: String) in Self.lexicon.category(ofIdentifierWords: WordScanner.scan(name).words) }
        #expect(category("SqlBatchWriteTimeout") == .timeout)
        #expect(category("SftpPermissionDenied") == .permissionDenied)
        #expect(category("UserErrorOdbcOperationFailed") == nil, "an operation that failed says nothing of why")
        #expect(category("HybridDeliveryException") == nil)
    }

    @Test("SQLSTATEs fall back to their class; Entra ID codes to their family; wrappers are known as such")
    func catalogLookups() {
        #expect(Self.catalog.category(ofSQLSTATE: "42P01") == .missingInputData)
        #expect(Self.catalog.category(ofSQLSTATE: "42601") == .codeError)
        #expect(Self.catalog.category(ofSQLSTATE: "08006") == .networkConnectivity)
        #expect(Self.catalog.category(ofSQLSTATE: "ZZ999") == nil)
        #expect(Self.catalog.sparkClass("UNRESOLVED_COLUMN.WITH_SUGGESTION") == .means(.schemaMismatch, because: "Spark error class UNRESOLVED_COLUMN (SQLSTATE 42703)"))
        #expect(Self.catalog.code("AADSTS7000222") == .means(.authenticationFailed, because: "Entra ID sign-in error AADSTS7000222"))
        #expect(Self.catalog.code("2200") == .wrapper)
        #expect(Self.catalog.exception("SparkException") == .wrapper)
        #expect(Self.catalog.code("NoSuchCode") == .unlisted)
        #expect(Self.identifiers("[NOT_NULL_CONSTRAINT_VIOLATION.EXISTING_FIELD] ...").first?.category == .dataQuality,
                "the catalog's own meaning of a class wins over its SQLSTATE (42000 reads as a query error)")
    }

    @Test("the catalog refuses a category that does not exist, and the vocabulary a phrase that starts with a gap")
    func malformedData() {
        #expect(throws: KnowledgeBaseError.self) {
            try Catalog.decode(Data(#"{"version":1,"sqlstate_categories":{"08":"networking"},"spark_error_classes":{},"codes":{},"exceptions":{},"generic_identifiers":[]}"#.utf8))
        }
        #expect(throws: KnowledgeBaseError.self) {
            try Lexicon.decode(Data(#"{"version":1,"phrases":{"timeout":{"* out":2}}}"#.utf8))
        }
        #expect(throws: KnowledgeBaseError.self) {
            try Lexicon.decode(Data(#"{"version":1,"phrases":{"timeout":{"timed out":5}}}"#.utf8))
        }
    }

    @Test("every category but unknown has words of its own, and no phrase is listed twice")
    func vocabularyCoverage() {
        let phrases = Self.lexicon.phrasesByFirstWord.values.flatMap { $0 }
        #expect(Set(phrases.map(\.category)) == Set(FailureCategory.allCases).subtracting([.unknown]))
        #expect(Set(phrases.map(\.text)).count == phrases.count)
    }

    @Test("identifiers are found with their kind and meaning, in the order they appear")
    func finding() {
        let found = Self.identifiers(
            "ErrorCode=SqlOperationFailed,'Type=System.Data.SqlClient.SqlException,Message=Timeout expired.' [CAST_INVALID_INPUT] ORA-12541 AADSTS50012 SQLSTATE: 42P01 status code 429"
        )
        #expect(found.map(\.name) == ["SqlOperationFailed", "SqlException", "CAST_INVALID_INPUT", "ORA-12541", "AADSTS50012", "429"])
        #expect(found.map(\.rank) == [1, 1, 4, 3, 3, 1])
        #expect(found[2].category == .dataQuality && found[3].category == .networkConnectivity && found[5].category == .resourceExhaustedOrQuota)
        #expect(Self.finder.statedSQLSTATEs(in: "SQLSTATE: 42P01").map(\.category) == [.missingInputData])
        #expect(Self.identifiers("[HY000] [PARSE_SYNTAX_ERROR]").map(\.name) == ["PARSE_SYNTAX_ERROR"], "a bracketed SQLSTATE is not an error class")
        let dataFlow = Self.identifiers("Job failed due to reason: DF-Executor-OutOfMemoryError at Sink 'sink1'")
        #expect(dataFlow.map(\.name) == ["DF-Executor-OutOfMemoryError"], "one code, not its parts")
        #expect(dataFlow.first?.category == .outOfMemory)
        #expect(Self.identifiers("databricks.sdk.errors.ResourceDoesNotExist: Cluster 1 does not exist").first?.category == .configurationError,
                "a code written as a class name is found under its constant name")
    }

    @Test("vendor formats: a database's number and SQLSTATE (Snowflake, MySQL), a PostgreSQL condition class, an HTTP status line, a Google API reason, a lower-case code name, a data flow code with an underscore")
    func vendorFormats() {
        let snowflake = "ProgrammingError: 000630 (57014): Statement reached its statement or warehouse timeout of 120 second(s) and was canceled."
        #expect(Self.identifiers(snowflake).map(\.name) == ["ProgrammingError", "000630"])
        #expect(Self.identifiers(snowflake).last?.category == .timeout)
        #expect(Self.finder.statedSQLSTATEs(in: snowflake).map(\.state) == ["57014"], "the SQLSTATE in parentheses is stated")
        #expect(Self.finder.statedSQLSTATEs(in: "at 000630 (57014) without the colon").isEmpty, "only the error line's own format")
        let mysql = Self.identifiers("ERROR 1045 (28000): Access denied for user 'etl'@'10.0.0.4' (using password: YES)")
        #expect(mysql.map(\.name) == ["1045"] && mysql.first?.category == .authenticationFailed)
        #expect(Self.finder.statedSQLSTATEs(in: "ERROR 1045 (28000): Access denied").map(\.category) == [.authenticationFailed])
        let postgres = Self.identifiers(#"psycopg2.errors.UndefinedTable: relation "staging.orders" does not exist"#)
        #expect(postgres.map(\.name) == ["UndefinedTable"] && postgres.first?.category == .missingInputData, "a PostgreSQL condition by its class name")

        let statusLine = Self.identifiers("HTTP/1.1 503 Service Unavailable\nContent-Type: text/plain\n\nFunction host is not running.")
        #expect(statusLine.map(\.name) == ["503"])
        #expect(statusLine.first?.kind == .httpStatus)

        let reason = Self.identifiers(#"{"code": 400, "errors": [{"message": "Job exceeded rate limits", "reason": "jobRateLimitExceeded"}]}"#)
        #expect(reason.contains { $0.name == "jobRateLimitExceeded" && $0.category == .resourceExhaustedOrQuota })
        let prose = Self.identifiers("Error 403: Exceeded rate limits: your table exceeded quota, rateLimitExceeded")
        #expect(prose.contains { $0.name == "rateLimitExceeded" && $0.kind == .name && $0.category == .resourceExhaustedOrQuota })
        #expect(Self.identifiers("the variable someValue was nil").isEmpty, "a lower-case name the catalog does not list is prose")

        #expect(Self.identifiers("errorMessage=DF-DRAFT_001 at Source 'xyz': Unresolved specification").map(\.name) == ["DF-DRAFT_001"])
    }

    @Test("the error type is the innermost most specific identifier; wrappers only when nothing else is named")
    func errorTypeConvention() {
        let type = { (text: String, rule: String?) in
            FailureClassifier.errorType(identifiers: Self.identifiers(text), ruleType: rule, category: .unknown)
        }
        #expect(type("Py4JJavaError: o1.save: AnalysisException: [DELTA_FAILED_TO_MERGE_FIELDS] Failed to merge", nil) == "DELTA_FAILED_TO_MERGE_FIELDS")
        #expect(type("ErrorCode=DynamicsFailedToConnect, AADSTS70002: bad. AADSTS50079: MFA required", nil) == "AADSTS50079")
        #expect(type("SparkException: Job aborted: java.lang.NullPointerException", nil) == "NullPointerException")
        #expect(type("ErrorCode=UserErrorOdbcOperationFailed,'Type=System.ArgumentOutOfRangeException,Message=bad hour'", nil) == "ArgumentOutOfRangeException")
        #expect(type("ErrorCode=FailedDbOperation,Type=System.Data.SqlClient.SqlException", nil) == "FailedDbOperation", "a code before an exception when both only carry")
        #expect(type("SparkException: Task failed while writing rows. Caused by: StorageException: 412", nil) == "StorageException")
        #expect(type("[TASK_WRITE_FAILED] Task failed while writing rows to abfss://x. Caused by: java.io.FileNotFoundException: gone", nil) == "FileNotFoundException",
                "an error class that only wraps the real error yields to it")
        #expect(type("[TASK_WRITE_FAILED] Task failed while writing rows to abfss://x.", nil) == "TASK_WRITE_FAILED")
        #expect(type("The cluster could not start", "CLUSTER_START") == "CLUSTER_START")
        #expect(type("The cluster could not start", nil) == "unknown")
    }

    @Test("when a text reports several tasks' failures, the error type comes from the task whose failure decided")
    func taskParts() throws {
        let engine = try RulesEngine()
        let text = "[Task: load] ZeroDivisionError: integer division or modulo by zero | [Task: publish] Library installation failed for library due to user error"
        let analysis = engine.analyzeNow(AnalysisInput(source: .databricks, errorText: text, resource: "job"))
        #expect(analysis.category == .dependencyOrLibraryFailure)
        #expect(analysis.errorType == "LIBRARY_INSTALLATION_FAILED")
        let one = "ZeroDivisionError: integer division or modulo by zero. Library installation failed for library due to user error"
        #expect(TaskFailures.part(of: one, around: one.startIndex) == one.startIndex..<one.endIndex)
    }

    @Test("a text that names a code, an exception class or an error class the catalog gives a meaning is never unknown")
    func catalogEntriesAreNeverUnknown() throws {
        let engine = try RulesEngine()
        var texts: [String] = []
        for (code, category) in Self.catalog.codes where category != nil && code != "AADSTS" {
            texts.append(code.hasPrefix("HTTP ") ? "The call failed with status code \(code.dropFirst(5))" : "ErrorCode=\(code), Message=the operation failed")
        }
        for (name, category) in Self.catalog.exceptions where category != nil {
            texts.append("Traceback: \(name): the operation failed")
        }
        for name in Self.catalog.sparkErrorClasses.keys where Self.catalog.sparkClass(name) != .unlisted && Self.catalog.code(name) != .wrapper {
            texts.append("org.apache.spark.SparkException: [\(name)] the operation failed")
        }
        #expect(texts.count > 700)
        for text in texts {
            let analysis = engine.analyzeNow(AnalysisInput(source: .generic, errorText: text, resource: "r"))
            #expect(analysis.category != .unknown, "\(text)")
            #expect(analysis.confidence != .low, "\(text): a catalog entry decided, \(analysis.decidedBy ?? "")")
        }
    }
}
