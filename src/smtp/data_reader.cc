#include "smtp/data_reader.h"

#include <span>

#include "base/ascii.h"

namespace onionmail::smtp {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

}  // namespace

DataReader::DataReader(net::Connection& conn, size_t max_text_line, uint64_t max_message_bytes,
                       size_t max_received_headers)
    : conn_(conn),
      max_text_line_(max_text_line),
      max_message_bytes_(max_message_bytes),
      max_received_headers_(max_received_headers) {}

bool DataReader::IsReceivedField(std::string_view line) { return IsField(line, "received"); }

bool DataReader::IsField(std::string_view line, std::string_view name) {
  if (name.empty() || line.size() <= name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (AsciiLower(line[i]) != AsciiLower(name[i])) return false;
  }
  std::string_view rest = line.substr(name.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  return !rest.empty() && rest.front() == ':';
}

void DataReader::FlushChunk(mail::MessageWriter* writer, DataOutcome& outcome) {
  if (chunk_.empty()) return;
  if (writer != nullptr && outcome.status == DataStatus::kOk) {
    auto bytes =
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(chunk_.data()), chunk_.size());
    if (!writer->Append(bytes).ok()) outcome.status = DataStatus::kWriteFailed;
  }
  chunk_.clear();
}

Result<DataOutcome> DataReader::Read(mail::MessageWriter* writer) {
  DataOutcome outcome;
  chunk_.clear();
  bool in_header = true;
  bool dropping = false;  // inside a field named drop_field_
  for (;;) {
    ONIONMAIL_RETURN_IF_ERROR(conn_.Flush());
    auto line = conn_.ReadLine(max_text_line_);
    if (!line.ok()) {
      chunk_.clear();
      return line.error();
    }
    if (line->ending == net::LineEnding::kTooLong) {
      chunk_.clear();
      outcome.status = DataStatus::kLineTooLong;
      return outcome;
    }
    std::string_view text = line->text;
    if (line->ending == net::LineEnding::kBareLf || text.find('\r') != std::string_view::npos) {
      chunk_.clear();
      outcome.status = DataStatus::kBareLineEnding;
      return outcome;
    }
    if (text == ".") break;
    if (!text.empty() && text.front() == '.') text.remove_prefix(1);  // dot-unstuffing

    outcome.message_bytes += text.size() + 2;
    if (in_header) {
      const bool continuation = !text.empty() && (text.front() == ' ' || text.front() == '\t');
      if (text.empty()) {
        in_header = false;
      } else if (IsReceivedField(text)) {
        ++outcome.received_headers;
      }
      if (!continuation) dropping = in_header && !drop_field_.empty() && IsField(text, drop_field_);
    }
    if (outcome.status != DataStatus::kOk) continue;  // already faulty: discard
    if (outcome.received_headers > max_received_headers_) {
      outcome.status = DataStatus::kTooManyHops;
      chunk_.clear();
      continue;
    }
    if (text.find('\0') != std::string_view::npos) {
      outcome.status = DataStatus::kNulByte;
      chunk_.clear();
      continue;
    }
    if (outcome.message_bytes > max_message_bytes_) {
      outcome.status = DataStatus::kTooBig;
      chunk_.clear();
      continue;
    }
    if (dropping) continue;
    chunk_.append(text);
    chunk_.append("\r\n");
    if (chunk_.size() >= kChunkBytes) FlushChunk(writer, outcome);
  }
  FlushChunk(writer, outcome);
  return outcome;
}

}  // namespace onionmail::smtp
