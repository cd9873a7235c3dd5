import Foundation
import RCACore

/// The vocabulary of failures: short phrases ("connection refused", "no
/// module named", "token * expired") and the category each points to, with a
/// weight of 1 (a hint) to 3 (telling). Kept as data (`Resources/lexicon.json`)
/// and written for the words engineers and vendors use for a kind of failure,
/// never for one message. `*` in a phrase stands for up to five words
/// (`column * does not exist` matches "Column 'id' does not exist").
public struct Lexicon: Sendable {
    /// One phrase of the vocabulary.
    struct Phrase: Sendable {
        let text: String
        let words: [String]
        let category: FailureCategory
        let weight: Int
    }

    /// A phrase found in a text: the words it covered.
    struct Hit {
        let phrase: Phrase
        let firstWord: Int
        let lastWord: Int
    }

    static let gap = "*"
    static let maximumGap = 5

    let phrasesByFirstWord: [String: [Phrase]]
    let count: Int

    init(phrases: [Phrase]) {
        phrasesByFirstWord = Dictionary(grouping: phrases, by: { $0.words[0] })
        count = phrases.count
    }

    struct File: Decodable {
        let version: Int
        let phrases: [String: [String: Int]]
    }

    /// The vocabulary shipped with this build.
    public static func bundled() throws -> Lexicon {
        try decode(bundledResource("lexicon"))
    }

    static func decode(_ data: Data) throws -> Lexicon {
        let file = try JSONDecoder().decode(File.self, from: data)
        var phrases: [Phrase] = []
        for (name, entries) in file.phrases {
            guard let category = FailureCategory(rawValue: name) else {
                throw KnowledgeBaseError.invalidVocabulary("unknown category \(name)")
            }
            for (text, weight) in entries {
                let words = text.split(separator: " ").map(String.init)
                guard let first = words.first, first != gap, words.last != gap, (1...3).contains(weight) else {
                    throw KnowledgeBaseError.invalidVocabulary("phrase \"\(text)\" (\(name)) must start and end with a word and weigh 1 to 3")
                }
                phrases.append(Phrase(text: text, words: words, category: category, weight: weight))
            }
        }
        return Lexicon(phrases: phrases.sorted { ($0.category.rawValue, $0.text) < ($1.category.rawValue, $1.text) })
    }

    /// Every phrase occurrence in the words, in order. Work per word is
    /// bounded by the phrases that start with it and the gap length.
    func hits(in words: [Word]) -> [Hit] {
        var hits: [Hit] = []
        for start in words.indices {
            guard let candidates = phrasesByFirstWord[words[start].text] else { continue }
            for phrase in candidates {
                if let last = match(phrase.words, 1, in: words, at: start + 1) {
                    hits.append(Hit(phrase: phrase, firstWord: start, lastWord: last))
                }
            }
        }
        return hits
    }

    /// Matches `pattern[position...]` against the words from `index`; the
    /// index of the last word matched, or nil.
    private func match(_ pattern: [String], _ position: Int, in words: [Word], at index: Int) -> Int? {
        if position == pattern.count { return index - 1 }
        if pattern[position] == Self.gap {
            for skip in 0...Self.maximumGap {
                if let last = match(pattern, position + 1, in: words, at: index + skip) { return last }
            }
            return nil
        }
        guard index < words.count, words[index].text == pattern[position] else { return nil }
        return match(pattern, position + 1, in: words, at: index + 1)
    }

    /// The category a single identifier's own words point to, when they point
    /// to one clearly (weight 2 or more, ahead of any other category).
    func category(ofIdentifierWords words: [Word]) -> FailureCategory? {
        var scores: [FailureCategory: Int] = [:]
        var seen: Set<String> = []
        for hit in hits(in: words) where seen.insert(hit.phrase.text).inserted {
            scores[hit.phrase.category, default: 0] += hit.phrase.weight
        }
        let ranked = scores.sorted { $0.value > $1.value }
        guard let best = ranked.first, best.value >= 2 else { return nil }
        if ranked.count > 1, ranked[1].value == best.value { return nil }
        return best.key
    }
}
