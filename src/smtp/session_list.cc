// Session, the mailing-list half (session.h, "Mailing lists"; docs/PROTOCOL.md,
// "Mailing lists"): who may post to a list and which members get the post.
// Members at other onion servers get it through the relay, one remote
// transaction per server, opened here at the list's RCPT. DATA is the
// ordinary local delivery (session.cc) or, with remote members, the relayed
// one (session_fanout.cc), with the list's header fields after the trace
// fields.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "smtp/relay_outcome.h"
#include "smtp/session.h"

namespace onionmail::smtp {

std::optional<std::string> Session::ListRecipient(std::string_view local_part) const {
  if (lists_ == nullptr) return std::nullopt;
  return mail::ListNameOf(local_part);
}

std::optional<std::string> Session::RemoteMemberSender() const {
  if (auth_user_ || !tkim_domain_) return std::nullopt;
  std::string poster = AsciiLower(reverse_path_);
  if (!mail::ValidListMember(poster) || !mail::IsRemoteMember(poster)) return std::nullopt;
  const size_t at = poster.find('@');
  // Sent by the server that proved itself, and not by a list: a list posts
  // to a list never, so two lists that hold each other cannot loop.
  if (poster.substr(at + 1) != *tkim_domain_ || mail::ListNameOf(poster.substr(0, at))) {
    return std::nullopt;
  }
  return poster;
}

Result<Session::Next> Session::DoListRcpt(const std::string& name) {
  // Only a member writing as themselves: logged in here, or a user of
  // another server whose server proved itself (TKIM) and vouches for its own
  // users. The list is not a way for anyone else to reach its members.
  std::optional<std::string> remote_poster;
  if (!auth_user_ || !local_sender_) {
    remote_poster = RemoteMemberSender();
    if (!remote_poster) return Send(Reply::kListMembersOnly);
  }
  if (list_name_ == name) return Send(list_held_ ? Reply::kListHeld : Reply::kListAccepted);
  if (list_name_ || bot_request_ || !recipients_.empty() || !remotes_.empty()) {
    return Send(Reply::kOtherDestination);
  }
  auto post = lists_->Apply(mail::ListOp::kPost, name, remote_poster.value_or(""));
  if (!post.ok()) {
    switch (post.error().code) {
      case ErrorCode::kNotFound:
        return UnknownRecipient();
      case ErrorCode::kPermissionDenied:
        Log(false, "list: post refused, the sender is no member");
        return Send(Reply::kListMembersOnly);
      case ErrorCode::kFailedPrecondition:  // an announce list, and not its owner
        Log(false, "list: post refused, an announce list and the sender is not its owner");
        return Send(Reply::kListOwnerPostsOnly);
      case ErrorCode::kSealed:
        return Send(Reply::kSealed);
      default:
        Log(true, "list: members not known: " + std::string(ErrorCodeName(post.error().code)));
        return Send(Reply::kLocalError);
    }
  }
  // A moderated list holds a member's post for its owner (the record has
  // the owner as its only member then); the owner's own post goes out.
  const bool held = post->moderated && (remote_poster || *auth_user_ != post->owner);
  std::vector<std::string> kept;
  std::vector<std::string> remote_members;
  size_t skipped = 0;
  for (const std::string& member : post->members) {
    if (mail::IsRemoteMember(member)) {
      remote_members.push_back(member);
      continue;
    }
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
  // A member's post goes out from them; a remote member's from the list,
  // as this server vouches only for its own users (and TKIM lets it send
  // only as its own onion).
  skipped += OpenListRemotes(
      remote_members, remote_poster ? name + std::string(mail::kListSuffix) + "@" + config_.domain
                                    : *auth_user_ + "@" + config_.domain);
  const size_t remote_count = RemoteRecipientCount();
  if (kept.empty() && remote_count == 0) {
    remotes_.clear();
    Log(false, "list: no member can take the message, " + std::to_string(skipped) + " skipped");
    return Send(Reply::kListNoMemberCanTake);
  }
  if (held) {
    Log(false, "list: a post held for the owner's approval");
    recipients_ = std::move(kept);
    list_name_ = name;
    list_held_ = true;
    return Send(Reply::kListHeld);
  }
  Log(false, std::string(remote_poster ? "list: a member at another server posts: " : "list: ") +
                 std::to_string(kept.size() + remote_count) + " member(s) will get the message (" +
                 std::to_string(remote_count) + " on " + std::to_string(remotes_.size()) +
                 " other server(s)), " + std::to_string(skipped) + " skipped");
  recipients_ = std::move(kept);
  list_name_ = name;
  return Send(Reply::kListAccepted);
}

size_t Session::OpenListRemotes(const std::vector<std::string>& members,
                                const std::string& sender) {
  // The servers in the order of their first member, each with its members.
  std::vector<mail::RelayOpening> servers;
  for (const std::string& member : members) {
    std::string domain = member.substr(member.find('@') + 1);
    auto it = std::find_if(servers.begin(), servers.end(),
                           [&](const auto& server) { return server.domain == domain; });
    if (it == servers.end()) it = servers.insert(servers.end(), {std::move(domain), {}});
    it->forward_paths.push_back(member);
  }
  // No relay here, not to that many servers, or not a member at another
  // onion server (the key role stores none such; this is defence only).
  size_t skipped = 0;
  std::vector<mail::RelayOpening> tried;
  for (mail::RelayOpening& server : servers) {
    if (relay_ == nullptr || tried.size() >= config_.max_remote_servers ||
        !mail::IsV3OnionDomain(server.domain) || server.domain == config_.domain) {
      skipped += server.forward_paths.size();
    } else {
      tried.push_back(std::move(server));
    }
  }
  if (tried.empty()) return skipped;
  // Every server at once (with the IPC relay): an unreachable one costs its
  // own connect timeout, not the sum of all.
  std::vector<mail::RelayOpened> opened =
      relay_->OpenAll(tried, sender, {declared_size_, body_8bitmime_});
  for (size_t i = 0; i < tried.size(); ++i) {
    const mail::RelayOpening& server = tried[i];
    if (i >= opened.size() || !opened[i].begun.ok() || opened[i].begun->transaction == nullptr) {
      if (i < opened.size() && !opened[i].begun.ok()) {
        Log(true, "list: a member's server: relay failed: " +
                      FailureKeyword(RelayFailureReply(opened[i].begun.error().code, true)));
      }
      skipped += server.forward_paths.size();
      continue;
    }
    RemoteServer remote{server.domain, std::move(opened[i].begun->transaction), {}};
    const std::vector<Result<mail::RelayReply>>& answers = opened[i].rcpts;
    for (size_t m = 0; m < server.forward_paths.size(); ++m) {
      if (m >= answers.size() || !answers[m].ok() ||
          !IsUsableRemoteCode(RemoteStep::kRcpt, answers[m]->code)) {
        // The connection is lost: none of this server's members get the post.
        Log(true, "list: a member's server: relay failed: connection failed");
        remote.recipients.clear();
        break;
      }
      if (IsSuccessCode(answers[m]->code)) remote.recipients.push_back(server.forward_paths[m]);
    }
    skipped += server.forward_paths.size() - remote.recipients.size();
    if (!remote.recipients.empty()) remotes_.push_back(std::move(remote));
  }
  return skipped;
}

}  // namespace onionmail::smtp
