import Foundation
import RCAAnalysis
import RCACore
import RCASources
import Testing

@Suite("Rules engine")
struct RulesEngineTests {
    static let engine = try! RulesEngine()

    static func analyze(_ text: String, source: AlertSource = .databricks, details: [String: String] = [:]) -> RootCauseAnalysis {
        engine.analyzeNow(AnalysisInput(source: source, errorText: text, resource: "nightly_etl", details: details))
    }

    /// Error texts as ADF, Databricks, Spark, Delta, Python, the JVM and Azure print them.
    static let cases: [(String, FailureCategory, String)] = [
        ("ErrorCode=UserErrorSourceBlobNotExists,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=The required Blob is missing. ContainerName: https://salesdata.blob.core.windows.net/raw, ContainerExist: True, BlobPrefix: sales/2025/11/29.csv, BlobCount: 0.,Source=Microsoft.DataTransfer.ClientLibrary,'", .missingInputData, "UserErrorSourceBlobNotExists"),
        ("FileNotFoundError: [Errno 2] No such file or directory: '/dbfs/mnt/raw/orders/2026-11-29.csv'", .missingInputData, "FileNotFoundError"),
        ("[PATH_NOT_FOUND] Path does not exist: abfss://raw@datalake.dfs.core.windows.net/orders/2026/11/29.", .missingInputData, "PATH_NOT_FOUND"),
        ("java.io.FileNotFoundException: /mnt/landing/customers.parquet (No such file or directory)", .missingInputData, "FileNotFoundException"),
        ("[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`sales`.`orders_daily` cannot be found. Verify the spelling and correctness of the schema and catalog.", .missingInputData, "TABLE_OR_VIEW_NOT_FOUND"),
        ("org.apache.spark.sql.AnalysisException: Table or view not found: sales.orders_daily; line 1 pos 14", .missingInputData, "AnalysisException"),
        ("[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column or function parameter with name `customer_id` cannot be resolved. Did you mean one of the following? [`cust_id`, `order_id`].", .schemaMismatch, "UNRESOLVED_COLUMN.WITH_SUGGESTION"),
        ("ErrorCode=SqlInvalidColumnName,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Column 'discount_pct' does not exist in the table 'dbo.Orders', ServerName: 'sql-prod.database.windows.net', DatabaseName: 'sales'.'", .schemaMismatch, "SqlInvalidColumnName"),
        ("AnalysisException: A schema mismatch detected when writing to the Delta table (Table ID: 4f1b). To enable schema migration using DataFrameWriter or DataStreamWriter, please set: '.option(\"mergeSchema\", \"true\")'.", .schemaMismatch, "AnalysisException"),
        ("ErrorCode=SqlDataTypeNotSupported: A database operation failed. Check the SQL errors.", .schemaMismatch, "SqlDataTypeNotSupported"),
        ("ValueError: invalid literal for int() with base 10: 'N/A'", .dataQuality, "ValueError"),
        ("[CAST_INVALID_INPUT] The value '2026-13-45' of the type \"STRING\" cannot be cast to \"DATE\" because it is malformed.", .dataQuality, "CAST_INVALID_INPUT"),
        ("ZeroDivisionError: integer division or modulo by zero", .dataQuality, "ZeroDivisionError"),
        ("KeyError: 'customer_id'", .dataQuality, "KeyError"),
        ("java.lang.NullPointerException\n\tat com.acme.etl.Transform.apply(Transform.scala:42)", .codeError, "NullPointerException"),
        ("ErrorCode=SqlBulkCopyInvalidColumnLength,'Message=SQL Bulk Copy failed due to receive an invalid column length from the bcp client.'", .dataQuality, "SqlBulkCopyInvalidColumnLength"),
        ("java.lang.OutOfMemoryError: Java heap space\n\tat java.util.Arrays.copyOf(Arrays.java:3332)", .outOfMemory, "OutOfMemoryError"),
        ("Job aborted due to stage failure: Task 3 in stage 12.0 failed 4 times: ExecutorLostFailure (executor 7 exited caused by one of the running tasks) Reason: Container killed by YARN for exceeding memory limits. 9.1 GB of 9 GB physical memory used.", .outOfMemory, "ExecutorLostFailure"),
        ("The spark driver has stopped unexpectedly and is restarting. Your notebook will be automatically reattached.", .outOfMemory, "OutOfMemoryError"),
        ("MemoryError: Unable to allocate 12.4 GiB for an array with shape (1663000000,) and data type float64", .outOfMemory, "MemoryError"),
        ("Cluster terminated. Reason: DRIVER_UNREACHABLE (SERVICE_FAULT)", .outOfMemory, "DRIVER_UNREACHABLE"),
        ("Operation could not be completed as it results in exceeding approved standardDSv3Family Cores quota. Additional details - Deployment Model: Resource Manager, Location: westeurope, Current Limit: 100, Current Usage: 96. QuotaExceeded", .resourceExhaustedOrQuota, "QuotaExceeded"),
        ("There were already 1000 jobs created in past 3600 seconds, exceeding rate limit: 1000 job creations per 3600 seconds.", .resourceExhaustedOrQuota, "3202"),
        ("Cluster terminated. Reason: AZURE_RESOURCE_MANAGER_THROTTLING (CLOUD_FAILURE)", .resourceExhaustedOrQuota, "AZURE_RESOURCE_MANAGER_THROTTLING"),
        ("Status code 429 TooManyRequests: The request was throttled. Please retry after 30 seconds.", .resourceExhaustedOrQuota, "TooManyRequests"),
        ("Cluster terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE). Parameters: azure_error_code:OperationNotAllowed, azure_error_message:Allocation failed.", .clusterLaunchFailure, "OperationNotAllowed"),
        ("Cluster terminated. Reason: SPARK_STARTUP_FAILURE (SERVICE_FAULT)", .clusterLaunchFailure, "SPARK_STARTUP_FAILURE"),
        ("Cluster terminated. Reason: CONTAINER_LAUNCH_FAILURE", .clusterLaunchFailure, "CONTAINER_LAUNCH_FAILURE"),
        ("Cluster terminated. Reason: CLOUD_PROVIDER_SHUTDOWN (CLOUD_FAILURE)", .nodeOrSpotLoss, "CLOUD_PROVIDER_SHUTDOWN"),
        ("Job aborted due to stage failure: ExecutorLostFailure (executor 3 exited unrelated to the running tasks) Reason: Remote RPC client disassociated.", .nodeOrSpotLoss, "ExecutorLostFailure"),
        ("Run timed out after 7200 seconds", .timeout, "TIMEOUT"),
        ("ErrorCode=SqlOpenConnectionTimeout,'Message=Open connection to database timeout after '30' seconds.'", .timeout, "SqlOpenConnectionTimeout"),
        ("org.apache.spark.SparkException: Could not execute broadcast in 300 secs. You can increase the timeout for broadcasts via spark.sql.broadcastTimeout", .timeout, "SparkException"),
        ("ErrorCode=SqlBatchWriteTimeout: Timeouts in SQL write operation.", .timeout, "SqlBatchWriteTimeout"),
        ("psycopg2.OperationalError: could not connect to server: Connection refused\n\tIs the server running on host \"pg-prod.internal\" (10.0.3.4) and accepting TCP/IP connections on port 5432?", .networkConnectivity, "OperationalError"),
        ("java.net.UnknownHostException: salesdata.blob.core.windows.net: Name or service not known", .networkConnectivity, "UnknownHostException"),
        ("No response from the endpoint. Possible causes: network connectivity, DNS failure, server certificate validation or timeout.", .networkConnectivity, "2128"),
        ("Cluster terminated. Reason: NETWORK_CONFIGURATION_FAILURE (CLIENT_ERROR)", .networkConnectivity, "NETWORK_CONFIGURATION_FAILURE"),
        ("ErrorCode=SqlFailedToConnect,'Message=Cannot connect to SQL Database: 'sql-prod.database.windows.net', Database: 'sales', User: 'etl'.'", .networkConnectivity, "SqlFailedToConnect"),
        ("An error occurred while sending the request.", .networkConnectivity, "3208"),
        ("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.", .authenticationFailed, "AADSTS7000215"),
        ("Error 403.", .authenticationFailed, "403"),
        ("ErrorCode=SqlUnauthorizedAccess,'Message=Cannot connect to 'AzureSqlDatabase'. Detail Message: 'Login failed for user 'etl_user'.''", .authenticationFailed, "SqlUnauthorizedAccess"),
        ("Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. ErrorCode: AuthenticationFailed", .authenticationFailed, "AuthenticationFailed"),
        ("Operation failed: \"This request is not authorized to perform this operation using this permission.\", 403, GET, https://datalake.dfs.core.windows.net/raw?resource=filesystem, AuthorizationPermissionMismatch", .permissionDenied, "AuthorizationPermissionMismatch"),
        ("User: SimpleUserContext{userId=123, name=etl@company.com, orgId=456} is not authorized to access cluster.", .permissionDenied, "3202"),
        ("PERMISSION_DENIED: User does not have USE SCHEMA on Schema 'main.finance'.", .permissionDenied, "PERMISSION_DENIED"),
        ("The client 'a1b2' with object id 'a1b2' does not have authorization to perform action 'Microsoft.DataFactory/factories/pipelineruns/read' over scope '/subscriptions/x'.", .permissionDenied, "permission_denied"),
        ("Missing required field: settings.task.notebook_task.notebook_path.", .configurationError, "3201"),
        ("The cluster is in Terminated state, not available to receive jobs. Please fix the cluster or retry later.", .configurationError, "3203"),
        ("Cluster terminated. Reason: INIT_SCRIPT_FAILURE (CLIENT_ERROR). Init script dbfs:/init/install.sh exited with code 1", .configurationError, "INIT_SCRIPT_FAILURE"),
        ("Wildcard in path is not supported in sink dataset. Fix the path: 'output/*.csv'.", .configurationError, "WildcardPathSinkNotSupported"),
        ("ModuleNotFoundError: No module named 'great_expectations'", .dependencyOrLibraryFailure, "ModuleNotFoundError"),
        ("Library installation failed for library due to user error. Error messages:\n'Manage' permissions are required to install libraries on a cluster", .dependencyOrLibraryFailure, "LIBRARY_INSTALLATION_FAILED"),
        ("ERROR: No matching distribution found for pandas==9.9.9", .dependencyOrLibraryFailure, "LIBRARY_INSTALLATION_FAILED"),
        ("Java Runtime Environment cannot be found on the Self-hosted Integration Runtime machine. It is required for parsing or writing to Parquet/ORC files.", .dependencyOrLibraryFailure, "JreNotFound"),
        ("An upstream task failed.", .upstreamDependencyFailed, "UPSTREAM_FAILED"),
        ("Call to provided Azure function 'score' failed with status-'InternalServerError' and message - 'Invoking Azure function failed with HttpStatusCode - InternalServerError.'.", .upstreamDependencyFailed, "InternalServerError"),
        ("Error calling the endpoint 'https://api.partner.example/v2/orders'. Response status code: 'NA - Unknown'.", .upstreamDependencyFailed, "2108"),
        ("io.delta.exceptions.ConcurrentAppendException: Files were added to partition [date=2026-11-29] by a concurrent update. Please try the operation again.", .concurrencyConflict, "ConcurrentAppendException"),
        ("ErrorCode=AzureAppendBlobConcurrentWriteConflict: Detected concurrent write to the same append blob file, it's possible because you have multiple concurrent copy activities runs writing to the same file.", .concurrencyConflict, "AzureAppendBlobConcurrentWriteConflict"),
        ("Traceback (most recent call last):\n  File \"/databricks/driver/etl.py\", line 88, in <module>\n    total = compute(rows)\nTypeError: unsupported operand type(s) for +: 'int' and 'str'", .codeError, "TypeError"),
        ("AttributeError: 'NoneType' object has no attribute 'strip'", .codeError, "AttributeError"),
        ("Response Content is not a valid JObject.", .codeError, "3603"),
        ("Cluster terminated. Reason: METASTORE_COMPONENT_UNHEALTHY (SERVICE_FAULT)", .platformOutage, "METASTORE_COMPONENT_UNHEALTHY"),
        ("Run failed with error message: Cluster terminated. Reason: INTERNAL_ERROR", .platformOutage, "INTERNAL_ERROR"),
        ("Py4JJavaError: An error occurred while calling o123.save. : org.apache.spark.sql.AnalysisException: [DELTA_FAILED_TO_MERGE_FIELDS] Failed to merge fields 'amount' and 'amount'", .schemaMismatch, "DELTA_FAILED_TO_MERGE_FIELDS"),
        ("io.delta.exceptions.ConcurrentDeleteReadException: This transaction attempted to read one or more files that were deleted (for example part-00001.snappy.parquet in partition [date=2026-11-28]) by a concurrent update. Please try the operation again.", .concurrencyConflict, "ConcurrentDeleteReadException"),
        ("io.delta.exceptions.MetadataChangedException: The metadata of the Delta table has been changed by a concurrent update. Please try the operation again.", .concurrencyConflict, "MetadataChangedException"),
        ("com.microsoft.sqlserver.jdbc.SQLServerException: Violation of PRIMARY KEY constraint 'PK_Orders'. Cannot insert duplicate key in object 'dbo.Orders'. The duplicate key value is (10045).", .dataQuality, "SQLServerException"),
        ("[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead. If necessary set \"spark.sql.ansi.enabled\" to \"false\" to bypass this error.", .dataQuality, "DIVIDE_BY_ZERO"),
        ("[DELTA_VIOLATE_CONSTRAINT_WITH_VALUES] CHECK constraint positive_amount (amount > 0) violated by row with values:\n - amount : -12", .dataQuality, "DELTA_VIOLATE_CONSTRAINT_WITH_VALUES"),
        ("Great Expectations validation failed: expectation expect_column_values_to_not_be_null on column order_id failed for 1204 rows", .dataQuality, "data_quality"),
        ("Cluster terminated. Reason: SPOT_INSTANCE_TERMINATION (CLOUD_FAILURE)", .nodeOrSpotLoss, "SPOT_INSTANCE_TERMINATION"),
        ("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.partner.example', port=443): Max retries exceeded with url: /v2/orders (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))", .networkConnectivity, "NewConnectionError"),
        ("javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target", .networkConnectivity, "SunCertPathBuilderException"),
        ("ErrorCode=UserErrorFileNotFound,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=ADLS Gen2 operation failed for: Operation returned an invalid status code 'NotFound'. Account: 'datalake'. FileSystem: 'raw'. Path: 'sales/2026/11/29/orders.csv'.'", .missingInputData, "UserErrorFileNotFound"),
        ("java.util.concurrent.TimeoutException: Futures timed out after [300 seconds]", .timeout, "TimeoutException"),
        ("Run was skipped: the job exceeded its maximum concurrent runs of 1 (MAX_CONCURRENT_RUNS_REACHED)", .resourceExhaustedOrQuota, "MAX_CONCURRENT_RUNS_REACHED"),
        ("TEMPORARILY_UNAVAILABLE: The service at /api/2.1/jobs/runs/submit is temporarily unavailable. Please try again later.", .platformOutage, "TEMPORARILY_UNAVAILABLE"),
        ("Cluster terminated. Reason: DBFS_COMPONENT_UNHEALTHY (SERVICE_FAULT)", .platformOutage, "DBFS_COMPONENT_UNHEALTHY"),
        ("  File \"/Workspace/Repos/etl/jobs/load.py\", line 42\n    if total > 0\n               ^\nSyntaxError: invalid syntax", .codeError, "SyntaxError"),
        ("NameError: name 'spark_df' is not defined", .codeError, "NameError"),
        ("org.apache.spark.sql.catalyst.parser.ParseException: \n[PARSE_SYNTAX_ERROR] Syntax error at or near 'FROM'. SQLSTATE: 42601 (line 1, pos 17)", .codeError, "PARSE_SYNTAX_ERROR"),
        ("AADSTS700016: Application with identifier 'a1b2c3' was not found in the directory 'contoso'.", .authenticationFailed, "AADSTS700016"),
        ("ErrorCode=FailedToGetOAuth2AccessToken: Failed to get access token from your token endpoint. Error message: invalid_client.", .authenticationFailed, "FailedToGetOAuth2AccessToken"),
        ("com.databricks.dbutils_v1.InvalidSecretOperationException: Secret does not exist with scope: etl-secrets and key: storage-key", .configurationError, "InvalidSecretOperationException"),
        ("Something went wrong in the widget factory (code W-17)", .unknown, "unknown"),
    ]

    @Test("each realistic error text gets its category and the vendor's own error type", arguments: cases)
    func classification(text: String, category: FailureCategory, errorType: String) throws {
        let analysis = Self.analyze(text)
        #expect(analysis.category == category, "\(text.prefix(80))")
        #expect(analysis.errorType == errorType, "\(text.prefix(80))")
        #expect(analysis.evidence.allSatisfy { text.contains($0) })
        #expect((1...6).contains(analysis.recommendations.count))
        #expect(!analysis.recommendations.contains { $0.range(of: #"\{(path|table|column|host|cluster|exception)\}"#, options: .regularExpression) != nil })
        #expect(analysis.engine == .rules)
        #expect(try analysis.validated(against: text).confidence == analysis.confidence, "rules evidence always checks out")
    }

    @Test("the table covers every category of the taxonomy with at least 80 texts")
    func everyCategoryCovered() {
        #expect(Self.cases.count >= 80)
        #expect(Set(Self.cases.map(\.1)) == Set(FailureCategory.allCases))
        #expect(Self.cases.count >= 60)
    }

    @Test("the root cause names what the text names")
    func specificRootCause() {
        let blob = Self.analyze(Self.cases[0].0, source: .adf, details: ["activity_name": "CopySalesFromBlob"])
        #expect(blob.rootCause == "The source file sales/2025/11/29.csv does not exist, so the copy had nothing to read")
        #expect(blob.affectedEntity == "nightly_etl, activity CopySalesFromBlob, sales/2025/11/29.csv")
        #expect(blob.recommendations.first == "Check that the upstream job that writes sales/2025/11/29.csv ran and finished before this pipeline started")
        #expect(blob.severity == .high && blob.priority == .p2)

        #expect(Self.analyze("[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`sales`.`orders_daily` cannot be found.").rootCause
            == "The table main.sales.orders_daily does not exist or is not visible to the job")
        #expect(Self.analyze("Violation of PRIMARY KEY constraint 'PK_Orders'. Cannot insert duplicate key in object 'dbo.Orders'.").rootCause
            == "The rows written to dbo.Orders repeat a key the target already holds or repeat it among themselves")
        #expect(Self.analyze("MetadataChangedException: The metadata of the Delta table has been changed by a concurrent update.").rootCause
            == "Another write changed the Delta table while this job was writing it", "an ordinary word is not taken for a table name")
        #expect(Self.analyze("Column 'discount_pct' does not exist in the table 'dbo.Orders'").rootCause == "Column discount_pct does not exist in the target table")
        #expect(Self.analyze("java.net.UnknownHostException: salesdata.blob.core.windows.net: Name or service not known").rootCause
            == "The job could not reach salesdata.blob.core.windows.net over the network")
        #expect(Self.analyze("Blob operation Failed").rootCause == "A blob storage operation failed", "no path named: the general wording")
    }

    @Test("an unknown error is honest: unknown, Low confidence, generic steps, its first line quoted")
    func unknownError() {
        let analysis = Self.analyze("Something went wrong in the widget factory (code W-17)\nsecond line")
        #expect(analysis.category == .unknown)
        #expect(analysis.confidence == .low)
        #expect(analysis.rootCause == "No known failure signature matches this error; it reads: Something went wrong in the widget factory (code W-17)")
        #expect(analysis.evidence == ["Something went wrong in the widget factory (code W-17)"])
        #expect(Self.analyze("").rootCause == "The failure carries no error text, so its cause cannot be told from the alert")
    }

    /// 3204 ("Job execution failed.") is documented as covering "various issues" with "often, no
    /// error message": its text alone does not tell the cause, so `unknown` is the honest answer.
    static let codesWithoutAClearCause: Set<String> = ["3204"]

    @Test("every documented ADF error code whose description makes the cause clear maps to a known category")
    func adfCodes() throws {
        struct Code: Decodable {
            let code: String
            let message: String?
        }
        let codes = try JSONDecoder().decode([Code].self, from: try Fixture.data("adf/error-codes.json"))
        #expect(codes.count == 43)
        for code in codes {
            let text = "ErrorCode=\(code.code), Message=\(code.message ?? "")"
            let analysis = Self.analyze(text, source: .adf)
            if Self.codesWithoutAClearCause.contains(code.code) {
                #expect(analysis.category == .unknown)
            } else {
                #expect(analysis.category != .unknown, "\(code.code): \(code.message ?? "") -> \(analysis.rootCause)")
            }
        }
    }

    @Test("every Databricks termination code that means failure maps to a known category")
    func terminationCodes() throws {
        let json = try Fixture.json("databricks/termination-codes.json")
        let codes = json["cluster_termination_reason_codes_with_descriptions"]["codes"].array?.compactMap { $0["code"].string } ?? []
        #expect(codes.count >= 20)
        for code in codes where !["USER_REQUEST", "JOB_FINISHED", "INACTIVITY"].contains(code) {
            let analysis = Self.analyze("Cluster terminated. Reason: \(code)")
            #expect(analysis.category != .unknown, "\(code)")
            #expect(analysis.errorType == code, "\(code)")
        }
    }

    @Test("validation downgrades evidence that is not in the input, and refuses empty results")
    func validation() throws {
        var analysis = Self.analyze("ZeroDivisionError: integer division or modulo by zero")
        analysis.evidence = ["ZeroDivisionError", "a phrase the model made up"]
        let checked = try analysis.validated(against: "ZeroDivisionError: integer division or modulo by zero")
        #expect(checked.confidence == .low)
        #expect(checked.evidence == ["ZeroDivisionError"])
        #expect(checked.rootCause.hasSuffix("(Low confidence: the cited evidence \"a phrase the model made up\" does not occur in the error text.)"))

        analysis.recommendations = []
        #expect(throws: AnalysisValidationError.recommendationCount(0)) { try analysis.validated(against: "x") }
        analysis.recommendations = Array(repeating: "step", count: 7)
        #expect(throws: AnalysisValidationError.recommendationCount(7)) { try analysis.validated(against: "x") }
    }

    @Test("evidence quoted from the redacted text a model was shown checks out; evidence in neither text does not")
    func evidenceFromRedactedText() throws {
        let text = "Login failed for user 'etl': Server=tcp:sales.example.net;Password=Hunter2Secret42;"
        var analysis = Self.analyze(text)
        analysis.confidence = .high
        analysis.evidence = ["Password=\(Redactor.marker)", "Login failed for user 'etl'"]
        let checked = try analysis.validated(against: QuotableText(text))
        #expect(checked.confidence == .high)
        #expect(checked.evidence == analysis.evidence)

        analysis.evidence = ["Password=Hunter2Secret43"]
        #expect(try analysis.validated(against: QuotableText(text)).confidence == .low)

        analysis.evidence = ["Password=\(Redactor.marker)", "Password=Hunter2Secret43", "Login failed"]
        let mixed = try analysis.validated(against: QuotableText(text))
        #expect(mixed.confidence == .low)
        #expect(mixed.evidence == ["Password=\(Redactor.marker)", "Login failed"])
    }

    @Test("severity sets priority and the SLA follows the prototype's defaults")
    func priorityAndSLA() {
        #expect(Priority(severity: .critical) == .p1)
        #expect(Priority(severity: .low) == .p4)
        #expect(SLAPolicy.defaults.seconds(for: .p1) == 900)
        #expect(SLAPolicy.defaults.seconds(for: .p2) == 1800)
    }
}

@Suite("Fact extraction")
struct FactExtractionTests {
    @Test("a blob prefix followed by punctuation is read without it")
    func blobPrefixPunctuation() {
        let analysis = RulesEngineTests.analyze("Message=The required Blob is missing. ContainerName: raw, BlobPrefix: sales/2026/11/29.csv.,Source=Microsoft.DataTransfer.ClientLibrary,'")
        #expect(analysis.rootCause == "The source file sales/2026/11/29.csv does not exist, so the copy had nothing to read")
    }
}
