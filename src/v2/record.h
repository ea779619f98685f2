// Version 2 records on one connection, one direction each: the writer builds
// a record's frames straight into the buffer handed to the socket and seals
// them there, in place; the reader takes input in any pieces, opens each
// record and checks all of its frames before any of them takes effect.
#ifndef SC_V2_RECORD_H
#define SC_V2_RECORD_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "noise/noise.h"
#include "v2/wire.h"

namespace sc {
namespace v2 {

class RecordWriter {
 public:
  noise::CipherState &cipher() { return cipher_; }
  bool open() const { return start_ != kNone; }

  // Starts a record at the end of `out`.
  void begin(std::vector<uint8_t> &out) {
    start_ = out.size();
    out.resize(start_ + kRecordHeaderSize);
  }
  // Plaintext bytes the current record can still take.
  size_t room(const std::vector<uint8_t> &out) const {
    return kMaxRecordPlaintext - (out.size() - start_ - kRecordHeaderSize);
  }
  bool empty(const std::vector<uint8_t> &out) const { return out.size() == start_ + kRecordHeaderSize; }
  // Room for `n` more plaintext bytes at the end of `out`; returns where they go.
  uint8_t *extend(std::vector<uint8_t> &out, size_t n) {
    const size_t at = out.size();
    out.resize(at + n);
    return out.data() + at;
  }
  // Seals the current record in place. False if the cipher failed (the
  // connection is then unusable); an empty record is dropped.
  bool finish(std::vector<uint8_t> &out);

 private:
  static constexpr size_t kNone = ~size_t{0};
  noise::CipherState cipher_;
  size_t start_ = kNone;
};

class RecordReader {
 public:
  enum class Result { kOk, kError };

  noise::CipherState &cipher() { return cipher_; }

  // Reads input. Every record that opens and whose frames all parse is
  // handed to `on_record(const uint8_t *plain, size_t n)`, which returns
  // false to stop reading (the rest of the input is then left unread).
  // kError: a record did not verify or parse, nothing of it was handed on,
  // and the connection must be closed.
  template <typename OnRecord>
  Result read(const uint8_t *p, size_t n, OnRecord &&on_record);

  // Bytes of a record started but not complete.
  size_t partial() const { return have_; }

 private:
  bool open_record(const uint8_t *record, size_t len);

  noise::CipherState cipher_;
  uint8_t header_[kRecordHeaderSize] = {};
  std::vector<uint8_t> body_;   // a record arriving in pieces
  std::vector<uint8_t> plain_;  // the opened plaintext
  size_t have_ = 0;             // header and body bytes held
  size_t len_ = 0;              // the record's len, once the header is in
};

template <typename OnRecord>
RecordReader::Result RecordReader::read(const uint8_t *p, size_t n, OnRecord &&on_record) {
  while (n > 0) {
    if (have_ < kRecordHeaderSize) {
      // A whole record in the input is opened where it lies.
      if (have_ == 0 && n >= kRecordHeaderSize) {
        len_ = load_le16(p);
        if (len_ < kMinRecordLen) return Result::kError;
        if (n >= kRecordHeaderSize + len_) {
          if (!open_record(p, len_)) return Result::kError;
          p += kRecordHeaderSize + len_;
          n -= kRecordHeaderSize + len_;
          goto deliver;
        }
      }
      while (n > 0 && have_ < kRecordHeaderSize) {
        header_[have_++] = *p++;
        --n;
      }
      if (have_ < kRecordHeaderSize) return Result::kOk;
      len_ = load_le16(header_);
      if (len_ < kMinRecordLen) return Result::kError;
      body_.resize(kRecordHeaderSize + len_);
      body_[0] = header_[0];
      body_[1] = header_[1];
    }
    {
      const size_t want = kRecordHeaderSize + len_ - have_;
      const size_t take = want < n ? want : n;
      std::copy(p, p + take, body_.data() + have_);
      have_ += take;
      p += take;
      n -= take;
      if (have_ < kRecordHeaderSize + len_) return Result::kOk;
      have_ = 0;
      if (!open_record(body_.data(), len_)) return Result::kError;
    }
  deliver:
    // The record verified and its frames are all well formed.
    if (!on_record(static_cast<const uint8_t *>(plain_.data()), plain_.size())) return Result::kOk;
  }
  return Result::kOk;
}

}  // namespace v2
}  // namespace sc

#endif
