import RCACore

/// The instructions and question sent to a model for one failure: the
/// platform's context, the taxonomy, severity guidelines, the rules engine's
/// reading as a candidate, and the demand that evidence be quoted verbatim.
public enum AnalysisPrompt {
    /// Builds the first request. `errorText` and `details` must already be redacted.
    public static func request(source: AlertSource, resource: String, errorText: String, details: [String: String], candidate: RootCauseAnalysis) -> ModelRequest {
        var question = ["Failed resource: \(resource.isEmpty ? "(not named)" : resource)"]
        let context = details.filter { !$0.value.isEmpty && $0.value.count < 300 }.sorted { $0.key < $1.key }
        if !context.isEmpty {
            question.append("Context:\n" + context.map { "- \($0.key): \($0.value)" }.joined(separator: "\n"))
        }
        question.append(
            """
            The built-in rules engine's reading (confirm it or correct it): category \(candidate.category.rawValue), \
            error_type \(candidate.errorType), "\(candidate.rootCause)"
            """
        )
        question.append("Error text:\n\"\"\"\n\(errorText)\n\"\"\"")
        return ModelRequest(instructions: instructions(for: source), messages: [ModelMessage(.user, question.joined(separator: "\n\n"))])
    }

    /// The same conversation, with the rejected answer and what was wrong with it.
    public static func repair(_ request: ModelRequest, rejectedAnswer: String, problem: String) -> ModelRequest {
        var repaired = request
        repaired.messages.append(ModelMessage(.assistant, String(rejectedAnswer.prefix(8000))))
        repaired.messages.append(ModelMessage(
            .user,
            "That answer was rejected: \(problem). Answer again with one JSON object that follows the schema exactly; quote evidence only as exact phrases copied from the error text."
        ))
        return repaired
    }

    static func instructions(for source: AlertSource) -> String {
        """
        You are a root-cause analysis assistant for data-platform on-call engineers. \(context(for: source))

        Explain the failure below. Answer with one JSON object and nothing else.
        - root_cause: one or two sentences naming the specific file, table, column, host, setting or limit involved. Do not guess beyond the text.
        - error_type: the vendor's own code exactly as the text writes it (\(codeExamples(for: source))); else the exception class (FileNotFoundError, AnalysisException, OutOfMemoryError); else a Spark error class without brackets (TABLE_OR_VIEW_NOT_FOUND); else the category.
        - category: one of \(FailureCategory.allCases.map(\.rawValue).joined(separator: ", ")). Use unknown when the text does not say.
        - severity: Critical for production data loss or a complete outage; High when a major pipeline or its data is broken; Medium when part of the work is affected or a retry is likely to pass; Low for minor issues.
        - confidence: Very High, High, Medium or Low; Low when the text is too vague to be sure.
        - evidence: one to three short phrases copied character for character from the error text that prove the conclusion. Never paraphrase them.
        - recommendations: one to six concrete steps an engineer can take now, most useful first.
        - auto_heal_possible: true only when re-running without any change is likely to succeed (throttling, a transient outage, lost spot capacity).
        Text marked [REDACTED] or [EMAIL] was removed on purpose; do not ask for it.
        """
    }

    private static func context(for source: AlertSource) -> String {
        switch source {
        case .adf:
            "The failure comes from an Azure Data Factory pipeline run: copy, data flow, notebook, stored procedure or web activities, integration runtimes and linked services."
        case .databricks:
            "The failure comes from Azure Databricks: a job run or task (Spark, Delta Lake, Python or JVM code), a cluster, or a library installation."
        case .azureMonitor:
            "The failure was raised by Azure Monitor about an Azure resource (Data Factory, Databricks, storage, SQL or another service)."
        case .alertmanager:
            "The failure was raised by a Prometheus Alertmanager alert about a data-platform service."
        case .generic:
            "The failure was reported by a data pipeline or a platform service through a generic webhook."
        }
    }

    private static func codeExamples(for source: AlertSource) -> String {
        switch source {
        case .adf, .azureMonitor: "an ADF code such as UserErrorSourceBlobNotExists, 2200 or 3208"
        case .databricks: "a termination or state code such as CLOUD_PROVIDER_LAUNCH_FAILURE, DRIVER_UNREACHABLE or INTERNAL_ERROR"
        case .alertmanager, .generic: "for example an ADF code, a Databricks termination code or an HTTP status name"
        }
    }
}
