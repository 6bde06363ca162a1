// Session, the mailing-list half (session.h, "Mailing lists"; docs/PROTOCOL.md,
// "Mailing lists"): who may post to a list and which members get the post.
// DATA is the ordinary local delivery (session.cc) with the list's header
// fields after the trace fields.
#include <string>
#include <vector>

#include "smtp/session.h"

namespace onionmail::smtp {

std::optional<std::string> Session::ListRecipient(std::string_view local_part) const {
  if (lists_ == nullptr) return std::nullopt;
  return mail::ListNameOf(local_part);
}

Result<Session::Next> Session::DoListRcpt(const std::string& name) {
  // Only a member logged in here, writing as themselves: the list is not a
  // way for anyone else to reach its members at once.
  if (!auth_user_ || !local_sender_) return Send(Reply::kListMembersOnly);
  if (list_name_ == name) return Send(Reply::kListAccepted);
  if (list_name_ || bot_request_ || !recipients_.empty() || !remotes_.empty()) {
    return Send(Reply::kOtherDestination);
  }
  auto post = lists_->Apply(mail::ListOp::kPost, name, "");
  if (!post.ok()) {
    switch (post.error().code) {
      case ErrorCode::kNotFound:
        return Send(Reply::kUserUnknown);
      case ErrorCode::kPermissionDenied:
        return Send(Reply::kListMembersOnly);
      case ErrorCode::kSealed:
        return Send(Reply::kSealed);
      default:
        Log(true, "list: members not known: " + std::string(ErrorCodeName(post.error().code)));
        return Send(Reply::kLocalError);
    }
  }
  std::vector<std::string> kept;
  size_t skipped = 0;
  for (const std::string& member : post->members) {
    auto checked = backend_.CheckRecipient(member, declared_size_, reverse_path_);
    if (checked.ok()) {
      kept.push_back(member);
      continue;
    }
    switch (checked.error().code) {
      case ErrorCode::kNotFound:     // deleted since it joined
      case ErrorCode::kRefused:      // its block list holds the poster
      case ErrorCode::kMailboxFull:  // its own quota: the others still get the post
        ++skipped;
        break;
      case ErrorCode::kSealed:
        return Send(Reply::kSealed);
      case ErrorCode::kResourceExhausted:
        return Send(Reply::kInsufficientStorage);
      default:
        return Send(Reply::kLocalError);
    }
  }
  if (kept.empty()) {
    Log(false, "list: no member can take the message, " + std::to_string(skipped) + " skipped");
    return Send(Reply::kListNoMemberCanTake);
  }
  Log(false, "list: " + std::to_string(kept.size()) + " member(s) will get the message, " +
                 std::to_string(skipped) + " skipped");
  recipients_ = std::move(kept);
  list_name_ = name;
  return Send(Reply::kListAccepted);
}

}  // namespace onionmail::smtp
