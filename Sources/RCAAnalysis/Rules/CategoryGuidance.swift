import RCACore

/// What to say about a failure when no curated rule of the knowledge base
/// describes it but its category is clear: a plain explanation, the usual
/// severity, whether a rerun tends to succeed, and the first steps a
/// responder takes for that kind of failure.
struct CategoryGuidance {
    let summary: String
    let severity: Severity
    let autoHeal: Bool
    let recommendations: [String]

    static func of(_ category: FailureCategory) -> CategoryGuidance {
        switch category {
        case .missingInputData:
            CategoryGuidance(summary: "An input the job reads is not there", severity: .high, autoHeal: false, recommendations: [
                "Check that the upstream job or export that produces the input ran and finished before this run",
                "Compare the path, table or file the job asks for with what exists (dates and partitions in paths are a common mismatch)",
                "Add a check that waits for the input, or fails early with a clear message, before the main step",
            ])
        case .schemaMismatch:
            CategoryGuidance(summary: "The data's structure does not match what the job expects: a column, a type or the schema differs", severity: .high, autoHeal: false, recommendations: [
                "Compare the source's current schema with the one the job or the target table expects",
                "Find the upstream change that added, renamed or retyped a column",
                "Update the mapping or the table definition, or allow schema evolution where it is intended",
            ])
        case .dataQuality:
            CategoryGuidance(summary: "Some values in the data are invalid for the operation: malformed, out of range, null or duplicated", severity: .high, autoHeal: false, recommendations: [
                "Find the rows or values the error names and check them at the source",
                "Validate or quarantine bad rows before the failing step",
                "Agree with the data's owner whether to fix the source or tolerate such values",
            ])
        case .outOfMemory:
            CategoryGuidance(summary: "The job ran out of memory", severity: .high, autoHeal: false, recommendations: [
                "Check the driver's and executors' memory in the failed run",
                "Use larger or memory-optimized nodes, or more partitions so that each task holds less",
                "Look for collects, broadcasts or skewed keys that pull too much data into one place",
            ])
        case .resourceExhaustedOrQuota:
            CategoryGuidance(summary: "A limit was reached: a quota, a rate limit, disk space or another capacity", severity: .medium, autoHeal: true, recommendations: [
                "Find which limit the error names and how much of it is in use",
                "Spread or slow the work (retries with backoff, fewer concurrent runs), or free the resource",
                "Ask for a higher quota or more capacity if the demand is expected to stay",
            ])
        case .clusterLaunchFailure:
            CategoryGuidance(summary: "The cluster or compute for the job could not start", severity: .high, autoHeal: true, recommendations: [
                "Read the cluster's event log for the launch error",
                "Check the cloud provider's capacity and quota in the region, and the init scripts and images the cluster uses",
                "Retry, or use another instance type or a pool",
            ])
        case .nodeOrSpotLoss:
            CategoryGuidance(summary: "A node running the job was lost: a spot reclaim, a preemption or a worker that died", severity: .medium, autoHeal: true, recommendations: [
                "Check whether the lost nodes were spot instances reclaimed by the provider",
                "Rerun; consider on-demand nodes for the driver or for critical jobs",
                "If nodes keep dying, check their memory and disk use",
            ])
        case .timeout:
            CategoryGuidance(summary: "An operation took longer than its time limit", severity: .medium, autoHeal: true, recommendations: [
                "Find the step that timed out and how long it usually takes",
                "Check the service it waited on for slowness, locks or throttling",
                "Raise the limit only if the work legitimately grew; otherwise make the work faster or smaller",
            ])
        case .networkConnectivity:
            CategoryGuidance(summary: "The job could not reach a service over the network", severity: .high, autoHeal: true, recommendations: [
                "Check that the host and port are right and that the service is up",
                "Check firewalls, private endpoints, DNS and TLS certificates between the job and the service",
                "Rerun once the connection works; passing network errors often clear",
            ])
        case .authenticationFailed:
            CategoryGuidance(summary: "A sign-in was refused: a credential is wrong, expired or missing", severity: .high, autoHeal: false, recommendations: [
                "Check which identity the job used and whether its secret, password or token expired or was rotated",
                "Update the credential where the job reads it (linked service, secret scope, Key Vault)",
                "Confirm that the identity still exists and is enabled",
            ])
        case .permissionDenied:
            CategoryGuidance(summary: "The job's identity is not allowed to do what it tried", severity: .high, autoHeal: false, recommendations: [
                "Find the identity and the resource the error names",
                "Grant the missing role, ACL or privilege at the narrowest scope that works",
                "Check recent changes to roles, policies or network rules on the resource",
            ])
        case .configurationError:
            CategoryGuidance(summary: "A setting of the job or of its connections is wrong or unsupported", severity: .medium, autoHeal: false, recommendations: [
                "Read the setting the error names and compare it with the vendor's documentation",
                "Check recent changes to the pipeline, linked services, cluster or job definition",
                "Test the connection or activity on its own after correcting it",
            ])
        case .dependencyOrLibraryFailure:
            CategoryGuidance(summary: "A library, package or runtime the job needs is missing or incompatible", severity: .high, autoHeal: false, recommendations: [
                "Check which library and version the error names and what the cluster or runtime provides",
                "Pin compatible versions and install them on the cluster or environment",
                "Check whether a runtime upgrade changed what is available",
            ])
        case .upstreamDependencyFailed:
            CategoryGuidance(summary: "The job did not run because something it depends on failed", severity: .medium, autoHeal: true, recommendations: [
                "Open the failed upstream task or service and fix that failure first",
                "Rerun this job once the upstream has succeeded",
            ])
        case .concurrencyConflict:
            CategoryGuidance(summary: "Another operation changed or held the same resource at the same time", severity: .medium, autoHeal: true, recommendations: [
                "Find the other job or write that ran at the same time",
                "Retry; make writers to the same table or file run one at a time, or split their work by partition",
                "Use the isolation or locking features meant for concurrent writers",
            ])
        case .codeError:
            CategoryGuidance(summary: "The job's own code or query is wrong", severity: .high, autoHeal: false, recommendations: [
                "Open the failing line or query the error names",
                "Reproduce it with the same input in a notebook or a test",
                "Fix and deploy the code; rerunning it unchanged fails the same way",
            ])
        case .platformOutage:
            CategoryGuidance(summary: "The platform or a service it depends on failed on its side", severity: .high, autoHeal: true, recommendations: [
                "Check the provider's status page and service health for the region",
                "Retry after a short wait; such failures are usually passing",
                "Open a support case with the request id if it persists",
            ])
        case .unknown:
            CategoryGuidance(summary: "The cause cannot be told from the error text", severity: .medium, autoHeal: false, recommendations: [
                "Open the run's full logs; the first error in them usually names the cause",
            ])
        }
    }
}

extension FailureCategory {
    /// The first steps a responder takes for this kind of failure, for a
    /// correction that names none of its own.
    public var firstSteps: [String] { CategoryGuidance.of(self).recommendations }
}
