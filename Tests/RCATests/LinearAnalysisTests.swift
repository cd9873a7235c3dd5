import Foundation
@testable import RCAAnalysis
@testable import RCACore
import Testing

/// Analysis time must grow no faster than the text: before, 20 KB of
/// `a.a.a.…` took 13 s in the rules engine and 1 MB was never analysed.
@Suite("Linear-time analysis")
struct LinearAnalysisTests {
    @Test("patterns whose matching can grow faster than the text are refused with a reason", arguments: [
        (#"Cluster\S* does not exist"#, "without bound"),
        (#"\b3200\b.*403"#, "without bound"),
        (#"(?:[a-z_][\w]{0,50}\.){0,20}Error"#, "repeated group"),
        (#"(a{1,5}){1,9}"#, "repeated group"),
        (#"x{2,}"#, "without bound"),
        (#"(a)\1"#, "back-reference"),
        (#".{0,300}a.{0,300}b"#, "combine"),
        (#"a{0,20000}"#, "exceeds the limit"),
        (#"(unclosed"#, "never closed"),
    ])
    func refused(pattern: String, reason: String) {
        #expect(throws: PatternError.self) { try LinearPattern(pattern) }
        do {
            _ = try LinearPattern(pattern)
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test("bounded, possessive, look-around and alternation forms are accepted", arguments: [
        #"\b3200\b.{0,300}403"#,
        #"Cluster\S{0,300}+ does not exist"#,
        #"(?:RSA |EC )?PRIVATE KEY"#,
        #"(?<=/)\d{4}/\d{1,2}(?:/\d{1,2})?(?=/|\b)"#,
        #"`[^`\s]{1,256}+`(?:\.`[^`\s]{1,256}+`){1,4}"#,
        #"(?i)error code[=:] ?\d{1,6}"#,
        #"a{2}b{3}"#,
    ])
    func accepted(pattern: String) throws {
        _ = try LinearPattern(pattern)
    }

    @Test("a knowledge base with an unbounded pattern is refused, naming the rule")
    func knowledgeBaseRefusesUnbounded() throws {
        let json = """
        {"version": 1, "rules": [{"id": "greedy-rule", "patterns": ["KeyError: .*"], "error_type": "KeyError",
          "category": "code_error", "severity": "High", "confidence": "High", "root_cause": "r",
          "recommendations": [], "auto_heal": false}]}
        """
        let knowledgeBase = try JSONDecoder().decode(KnowledgeBase.self, from: Data(json.utf8))
        #expect {
            _ = try RulesEngine(knowledgeBase: knowledgeBase)
        } throws: { error in
            String(describing: error).contains("greedy-rule") && String(describing: error).contains("without bound")
        }
    }

    /// Every pattern the analysis runs, with where it comes from.
    static func builtInPatterns() throws -> [(String, LinearPattern)] {
        let engine = try RulesEngine()
        var all: [(String, LinearPattern)] = []
        for compiled in engine.rules { all += compiled.patterns.map { ("rule \(compiled.rule.id)", $0) } }
        all += FactExtractor.allPatterns.map { ("fact extractor", $0) }
        all += IdentifierFinder.allPatterns.map { ("identifier finder", $0) }
        all += Fingerprint.replacements.map { ("fingerprint", $0.0) }
        all += Redactor.replacements.map { ("redactor", $0.pattern) }
        all += RunReference.patterns.map { ("run reference", $0) }
        return all
    }

    /// Texts built to make backtracking patterns try every length from every
    /// start: repeated separators, long runs without the character a pattern
    /// waits for, nested quotes, and each pattern's own leading words repeated.
    static func adversarialTexts(size: Int) -> [(String, String)] {
        func repeated(_ unit: String) -> String {
            String(String(repeating: unit, count: size / unit.utf8.count + 1).prefix(size))
        }
        return [
            ("a.", repeated("a.")), ("a-", repeated("a-")), ("a", repeated("a")), ("digits", repeated("7")),
            ("spaces", repeated(" ")), ("quotes", repeated("'\"`")), ("colons", repeated("a:")),
            ("slashes", repeated("/a")), ("hex", repeated("0a1b2c3d")), ("at signs", repeated("a@a.")),
            ("words", repeated("Error: KeyError: Cluster ")), ("backticks", repeated("`a`.")),
            ("path", repeated("path=a/")), ("brackets", repeated("[A_B")), ("host", repeated("host: a.b.")),
            ("begin key", repeated("-----BEGIN RSA PRIVATE KEY-----\n")), ("run ids", repeated("run_id: 123")),
            ("tokens", repeated("Bearer eyJabcde.")), ("secret names", repeated("password: 1")),
            ("gapped phrases", repeated("column table file token ")), ("identifiers", repeated("ErrorCode=A_B [C_D] ORA-12345 ")),
            ("camel case", repeated("AbCdEfException")), ("contractions", repeated("doesn't can't ")), ("frames", repeated("\tat a.b(C.java:1)\n")),
            ("path starts", repeated("=/")), ("scheme starts", repeated("dbfs:/=")), ("open quotes", repeated(" 'a")),
        ]
    }

    static func seconds(_ work: () -> Void) -> Double {
        let start = ContinuousClock.now
        work()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Whether `work` on the large text takes at most `bound` times its time
    /// on the small one. The fastest of five alternating runs of each counts,
    /// so that both sizes see the same load from the tests beside this one;
    /// a measurement over the bound is taken again, up to three times, since
    /// a burst of load rarely repeats while a quadratic cost always does.
    static func growsAtMost(_ bound: Double, small: () -> Void, large: () -> Void) -> (Bool, Double, Double) {
        var last = (false, 0.0, 0.0)
        for _ in 0..<3 {
            var smallTimes: [Double] = []
            var largeTimes: [Double] = []
            for _ in 0..<5 {
                smallTimes.append(seconds(small))
                largeTimes.append(seconds(large))
            }
            let (smallTime, largeTime) = (smallTimes.min()!, largeTimes.min()!)
            last = (largeTime <= bound * smallTime + 0.02, smallTime, largeTime)
            if last.0 { return last }
        }
        return last
    }

    // 4 KB against 32 KB: linear work grows 8x, quadratic 64x; 24x leaves room for a noisy machine.
    @Test("every built-in pattern's work grows at most about linearly when an adversarial text grows eightfold")
    func everyPatternScalesLinearly() throws {
        let patterns = try Self.builtInPatterns()
        #expect(patterns.count > 250)
        for ((name, smallText), (_, largeText)) in zip(Self.adversarialTexts(size: 4 * 1024), Self.adversarialTexts(size: 32 * 1024)) {
            let (holds, smallTime, largeTime) = Self.growsAtMost(
                24,
                small: { for (_, pattern) in patterns { _ = pattern.matches(in: smallText) } },
                large: { for (_, pattern) in patterns { _ = pattern.matches(in: largeText) } }
            )
            #expect(holds, "\(name): 4 KB took \(smallTime) s, 32 KB took \(largeTime) s")
        }
    }

    @Test("a whole analysis's work grows at most about linearly when an adversarial text grows eightfold")
    func analysisScalesLinearly() throws {
        let engine = try RulesEngine()
        for ((name, smallText), (_, largeText)) in zip(Self.adversarialTexts(size: 4 * 1024), Self.adversarialTexts(size: 32 * 1024)) {
            let (holds, smallTime, largeTime) = Self.growsAtMost(
                24,
                small: { _ = engine.analyzeNow(AnalysisInput(source: .generic, errorText: smallText, resource: "r")) },
                large: { _ = engine.analyzeNow(AnalysisInput(source: .generic, errorText: largeText, resource: "r")) }
            )
            #expect(holds, "\(name): 4 KB took \(smallTime) s, 32 KB took \(largeTime) s")
        }
    }

    @Test("a megabyte of error text of any of these shapes is analysed, fingerprinted and redacted within seconds")
    func megabyteTexts() throws {
        let engine = try RulesEngine()
        for (name, text) in Self.adversarialTexts(size: 1 << 20) {
            let start = ContinuousClock.now
            let analysis = engine.analyzeNow(AnalysisInput(source: .generic, errorText: text, resource: "r"))
            _ = Fingerprint.of(source: .generic, errorText: text)
            _ = Redactor.redact(TextWindow.bounded(text))
            _ = RunReference.databricksRunIDs(in: text)
            let elapsed = ContinuousClock.now - start
            // A quadratic pattern on the 48 KB window alone took minutes before; 10 s is far above linear work on a loaded machine.
            #expect(elapsed < .seconds(10), "\(name): \(elapsed)")
            #expect(!analysis.rootCause.isEmpty)
        }
    }

    @Test("the window keeps a text's start and end, says what it left out, and cuts between characters")
    func window() {
        let text = String(repeating: "é", count: 40_000) + "Caused by: java.net.ConnectException: Connection refused"
        let bounded = TextWindow.bounded(text)
        #expect(bounded.utf8.count < TextWindow.headBytes + TextWindow.tailBytes + 64)
        #expect(bounded.hasPrefix("éé"))
        #expect(bounded.hasSuffix("Connection refused"))
        #expect(bounded.contains("bytes omitted"))
        #expect(!bounded.contains("\u{FFFD}"))
        #expect(TextWindow.bounded("short") == "short")
    }

    @Test("an error named only at the end of a long log is still classified")
    func causeAtTheEnd() throws {
        let log = String(repeating: "INFO spark.scheduler: task finished\n", count: 30_000)
            + "java.lang.OutOfMemoryError: Java heap space"
        let analysis = try RulesEngine().analyzeNow(AnalysisInput(source: .databricks, errorText: log, resource: "r"))
        #expect(analysis.category == .outOfMemory)
    }
}
