import Foundation
import RCASources
import Testing

@Suite("JSON reading")
struct JSONValueTests {
    @Test("values of every kind, escapes, surrogate pairs and 64-bit integers are read exactly")
    func values() throws {
        let text = #"{"s":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00","i":9007199254740993,"n":-1.5e3,"t":true,"f":false,"z":null,"a":[1,"1",[]],"o":{}}"#
        let value = try JSONValue.parse(Data(text.utf8))
        #expect(value["s"] == .string("a\"b\\c/d\n\té😀"))
        #expect(value["i"] == .integer(9_007_199_254_740_993))
        #expect(value["n"] == .number(-1500))
        #expect(value["t"] == .bool(true))
        #expect(value["f"].bool == false)
        #expect(value["z"].isNull)
        #expect(value["a"].array?.count == 3)
        #expect(value["o"] == .object([:]))
        #expect(value["a"][0].string == "1" && value["a"][1].double == 1)
    }

    @Test("the lenient accessors read numbers written as strings and JSON inside strings")
    func lenient() throws {
        let value = try JSONValue.parse(Data(#"{"count":"42","flag":"True","inner":"{\"cluster_id\":\"c-1\"}"}"#.utf8))
        #expect(value["count"].double == 42)
        #expect(value["flag"].bool == true)
        #expect(value["inner"].decodingEmbeddedJSON["cluster_id"].string == "c-1")
        #expect(value.member("COUNT").string == "42")
    }

    @Test("invalid documents are refused with where the problem is", arguments: [
        #"{"a":1"#, #"{"a" 1}"#, "[1,]", #"{"a":tru}"#, "01x", #""unterminated"#, #"{"a":"\x"}"#, "{} {}", "-", #""\u12G4""#,
    ])
    func invalid(text: String) {
        #expect { try JSONValue.parse(Data(text.utf8)) } throws: { error in
            if case .malformed(let detail) = error as? JSONValue.ParseError { return detail.contains("at byte") }
            return false
        }
    }

    @Test("nesting deeper than the limit is refused without deep recursion")
    func depth() throws {
        let allowed = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue.parse(Data(allowed.utf8)) }
        let tooDeep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONValue.ParseError.tooDeep(limit: 64)) { try JSONValue.parse(Data(tooDeep.utf8)) }
    }

    @Test("encoding gives compact JSON back")
    func encoding() throws {
        let value = try JSONValue.parse(Data(#"{"b":[1,2.5,"x"],"a":null}"#.utf8))
        #expect(value.jsonText == #"{"a":null,"b":[1,2.5,"x"]}"#)
    }
}
