// A small JSON reader for the test vectors: objects, arrays, strings (with
// simple escapes), numbers, true/false/null. Throws std::runtime_error on
// malformed input.
#ifndef SC_TESTS_JSON_H
#define SC_TESTS_JSON_H

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace testjson {

struct Value {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  const Value &operator[](const std::string &key) const {
    auto it = object.find(key);
    if (type != Type::kObject || it == object.end()) throw std::runtime_error("missing key " + key);
    return it->second;
  }
  const Value &operator[](size_t k) const { return array.at(k); }
  bool has(const std::string &key) const { return type == Type::kObject && object.count(key) != 0; }
  size_t size() const { return array.size(); }
  const std::string &str() const { return string; }
  int as_int() const { return static_cast<int>(number); }
};

class Parser {
 public:
  explicit Parser(const std::string &text) : s_(text) {}

  Value parse() {
    Value v = value();
    skip_space();
    if (p_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const char *what) const {
    throw std::runtime_error(std::string("json: ") + what + " at offset " + std::to_string(p_));
  }
  void skip_space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) ++p_;
  }
  char peek() {
    skip_space();
    if (p_ >= s_.size()) fail("unexpected end");
    return s_[p_];
  }
  void expect(char c) {
    if (peek() != c) fail("unexpected character");
    ++p_;
  }
  bool literal(const char *word) {
    const std::string w(word);
    if (s_.compare(p_, w.size(), w) != 0) return false;
    p_ += w.size();
    return true;
  }

  Value value() {
    Value v;
    const char c = peek();
    if (c == '{') {
      v.type = Value::Type::kObject;
      ++p_;
      if (peek() == '}') {
        ++p_;
        return v;
      }
      for (;;) {
        Value key = value();
        if (key.type != Value::Type::kString) fail("object key is not a string");
        expect(':');
        v.object[key.string] = value();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.type = Value::Type::kArray;
      ++p_;
      if (peek() == ']') {
        ++p_;
        return v;
      }
      for (;;) {
        v.array.push_back(value());
        if (peek() == ',') {
          ++p_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.type = Value::Type::kString;
      ++p_;
      while (p_ < s_.size() && s_[p_] != '"') {
        char ch = s_[p_++];
        if (ch == '\\') {
          if (p_ >= s_.size()) fail("bad escape");
          const char e = s_[p_++];
          switch (e) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case '"': case '\\': case '/': ch = e; break;
            default: fail("unsupported escape");
          }
        }
        v.string.push_back(ch);
      }
      if (p_ >= s_.size()) fail("unterminated string");
      ++p_;
      return v;
    }
    if (literal("true")) {
      v.type = Value::Type::kBool;
      v.boolean = true;
      return v;
    }
    if (literal("false")) {
      v.type = Value::Type::kBool;
      return v;
    }
    if (literal("null")) return v;
    const size_t start = p_;
    while (p_ < s_.size() && (isdigit(static_cast<unsigned char>(s_[p_])) || s_[p_] == '-' || s_[p_] == '+' ||
                              s_[p_] == '.' || s_[p_] == 'e' || s_[p_] == 'E'))
      ++p_;
    if (start == p_) fail("unexpected character");
    v.type = Value::Type::kNumber;
    v.number = std::stod(s_.substr(start, p_ - start));
    return v;
  }

  const std::string &s_;
  size_t p_ = 0;
};

inline Value load_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  return Parser(text).parse();
}

// "0x..." -> integer.
inline uint64_t hex_u64(const std::string &s) { return std::stoull(s, nullptr, 16); }

// "a1b2..." -> bytes.
inline std::vector<uint8_t> hex_bytes(const std::string &s) {
  if (s.size() % 2) throw std::runtime_error("odd hex string");
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<uint8_t>(std::stoul(s.substr(2 * k, 2), nullptr, 16));
  return out;
}

}  // namespace testjson

#endif
