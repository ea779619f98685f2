#include "v2/record.h"

namespace sc {
namespace v2 {

bool RecordWriter::finish(std::vector<uint8_t> &out) {
  if (!open()) return true;
  const size_t start = start_;
  start_ = kNone;
  const size_t plain = out.size() - start - kRecordHeaderSize;
  if (plain == 0) {
    out.resize(start);
    return true;
  }
  out.resize(out.size() + noise::kTagSize);
  uint8_t *rec = out.data() + start;
  store_le16(rec, static_cast<uint16_t>(plain + noise::kTagSize));
  // The length bytes are the associated data.
  if (!cipher_.encrypt_with_ad(rec, kRecordHeaderSize, rec + kRecordHeaderSize, plain, rec + kRecordHeaderSize)) {
    out.resize(start);
    return false;
  }
  return true;
}

bool RecordReader::open_record(const uint8_t *record, size_t len) {
  plain_.resize(len);
  if (!cipher_.decrypt_with_ad(record, kRecordHeaderSize, record + kRecordHeaderSize, len, plain_.data())) return false;
  plain_.resize(len - noise::kTagSize);
  // Atomic: every frame must parse before any takes effect.
  FrameReader frames(plain_.data(), plain_.size());
  Frame f;
  for (;;) {
    const FrameReader::Result r = frames.next(f);
    if (r == FrameReader::Result::kEnd) return true;
    if (r == FrameReader::Result::kError) return false;
  }
}

}  // namespace v2
}  // namespace sc
