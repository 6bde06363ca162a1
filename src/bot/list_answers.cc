// bot list answers: the LIST commands' texts (contract in bot/list_answers.h).
#include "bot/list_answers.h"

#include <algorithm>
#include <string>

#include "mail/backend.h"

namespace onionmail::bot {
namespace {

using mail::ListOp;

std::string Address(const ListAsked& a) {
  return std::string(a.name) + std::string(mail::kListSuffix) + "@" + std::string(a.domain);
}

// "LIST team LEAVE": a command on this list, as the user would send it.
std::string ListCommand(const ListAsked& a, std::string_view verb) {
  return "LIST " + std::string(a.name) + " " + std::string(verb);
}

// The owner: a user of this server.
std::string Shown(std::string_view name) {
  if (!mail::ValidLocalPart(name)) return "(a name that is not valid)";
  return std::string(name);
}

// A member: a user of this server ("bob") or of another onion server
// ("bob@<v3 onion>"), shown as it is.
std::string ShownMember(std::string_view member) {
  if (!mail::ValidListMember(member)) return "(a name that is not valid)";
  return std::string(member);
}

bool IsMember(const mail::ListRecord& record, std::string_view user) {
  return std::find(record.members.begin(), record.members.end(), user) != record.members.end();
}

// REMOVE of oneself is LEAVE.
bool Leaving(const ListAsked& a) {
  return a.op == ListOp::kLeave || (a.op == ListOp::kRemove && a.user == a.actor);
}

std::string ListShown(const ListAsked& a, const mail::ListRecord& record) {
  const std::string address = Address(a);
  std::string text = "Address: " + address + "\n";
  text += "Owner: " + Shown(record.owner) + "\n";
  text += "Members (" + std::to_string(record.members.size()) + " of " +
          std::to_string(mail::kMaxListMembers) + "):\n";
  for (const std::string& member : record.members) text += "  " + ShownMember(member) + "\n";
  const bool owner = record.owner == a.actor;
  if (record.announce) {
    text +=
        "\nThis is an announce list: only its owner writes to it, by sending mail\n"
        "to " +
        address + "; the members receive.\n";
  } else if (record.moderated) {
    text += "\nThis is a moderated list: mail a member sends to " + address +
            "\ngoes to its owner alone, held for approval; the owner sends on what it\n"
            "approves by posting it to the list (mail clients: Redirect or Resend).\n";
  } else {
    text +=
        "\n"
        "To write to every member, send your mail to " +
        address +
        "\n"
        "from your own address on this server, logged in (SMTP AUTH) as for any\n"
        "mail you send; only members can write to the list.\n";
  }
  if (owner) {
    text +=
        "\nYou own this list: " + ListCommand(a, "ADD <user>") + " adds a member,\n" +
        ListCommand(a, "REMOVE <user>") + " removes one and " + ListCommand(a, "DESTROY") +
        "\nends the list. The owner cannot leave the list. " +
        (record.announce || record.moderated
             ? ListCommand(a, "OPEN") + " lets every\nmember write to it again.\n"
             : ListCommand(a, "ANNOUNCE") +
                   " makes it an\nannounce list, to which only you write; " +
                   ListCommand(a, "MODERATE") + "\nholds the members' mail for your approval.\n");
  } else {
    text += "\nTo leave the list, send " + ListCommand(a, "LEAVE") + " to server@" +
            std::string(a.domain) + ".\n";
  }
  return text;
}

std::string WhatHappened(const ListAsked& a, const mail::ListRecord& record) {
  const std::string address = Address(a);
  switch (a.op) {
    case ListOp::kCreate:
      return "You created the mailing list " + address + ".\n";
    case ListOp::kAdd:
      if (!IsMember(record, a.user)) break;
      return std::string(a.user) + " is now a member of " + address + ".\n";
    case ListOp::kRemove:
    case ListOp::kLeave:
      if (Leaving(a)) {
        return "You are not a member of " + address +
               " now: you no longer\n"
               "receive its mail and cannot write to it. Its owner can add you again.\n";
      }
      return std::string(a.user) + " is not a member of " + address + " now.\n";
    case ListOp::kAnnounce:
      return address +
             " is an announce list now: only you, its owner, write to\n"
             "it; its members receive, and their mail to it is refused.\n";
    case ListOp::kOpen:
      return "Every member of " + address + " can write to it now.\n";
    case ListOp::kModerate:
      return address +
             " is a moderated list now: its members' mail to it comes\n"
             "to you alone, marked " +
             std::string(mail::kListHeldField) + "; post to the list what you approve.\n";
    case ListOp::kShow:
    case ListOp::kDestroy:
    case ListOp::kPost:
      break;
  }
  return "The mailing list " + address + ":\n";
}

}  // namespace

std::string ListChangedText(const ListAsked& asked, const mail::ListRecord& record) {
  if (asked.op == ListOp::kDestroy) {
    return "The mailing list " + Address(asked) +
           "\nwas destroyed: it is gone, with its members, and its address takes no\n"
           "more mail. " +
           ListCommand(asked, "CREATE") + " would make a new list of that name.\n";
  }
  std::string text = WhatHappened(asked, record);
  if (IsMember(record, asked.actor)) text += "\n" + ListShown(asked, record);
  return text;
}

bool ListRefusalCovers(ListOp op, ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kDataLoss:
      return true;
    case ErrorCode::kAlreadyExists:
      return op == ListOp::kCreate;
    case ErrorCode::kFailedPrecondition:
      return op == ListOp::kAdd || op == ListOp::kRemove || op == ListOp::kLeave;
    case ErrorCode::kResourceExhausted:
      return op == ListOp::kAdd || op == ListOp::kCreate;
    default:
      return false;
  }
}

std::string ListRefusedText(const ListAsked& a, ErrorCode code) {
  const std::string address = Address(a);
  const std::string user(a.user);
  std::string text;
  switch (code) {
    case ErrorCode::kNotFound:
      text = "There is no mailing list " + address + ".\n" + ListCommand(a, "CREATE") +
             " would make one.\n";
      break;
    case ErrorCode::kPermissionDenied:
      if (a.op == ListOp::kShow) {
        text = "Only the members of " + address + " may see it.\n";
      } else if (a.op == ListOp::kCreate) {
        text = "Only users logged in on this server may create lists.\n";
      } else if (Leaving(a)) {
        text = "You are not a member of " + address + ".\n";
      } else {
        text = "Only the owner of " + address +
               " may do that (a member may only\n"
               "leave, with " +
               ListCommand(a, "LEAVE") + ").\n";
      }
      break;
    case ErrorCode::kAlreadyExists:
      text = "The address " + address +
             " is taken: a mailing list of that name\n"
             "exists already, or it is a user's address. Choose another name.\n";
      break;
    case ErrorCode::kFailedPrecondition:
      if (a.op == ListOp::kAdd) {
        text = "There is no user " + user +
               " on this server. A user of another onion server is\n"
               "added by the full address, such as bob@<its .onion name>.\n";
      } else {
        text = (Leaving(a) ? "You own " + address + ", and the owner"
                           : user + " owns " + address + ", and the owner") +
               " cannot leave the list.\n"
               "The owner ends the list instead, with " +
               ListCommand(a, "DESTROY") + ".\n";
      }
      break;
    case ErrorCode::kResourceExhausted:
      if (a.op == ListOp::kAdd) {
        // A user of another server may also be one server too many.
        const std::string servers = mail::IsRemoteMember(user)
                                        ? ", or members at " +
                                              std::to_string(mail::kMaxListRemoteServers) +
                                              " other\nonion servers"
                                        : "";
        text = address + " is full: it has " + std::to_string(mail::kMaxListMembers) + " members" +
               servers + ", the most a list can have, so\n" + user +
               " was not added. Remove a member first, with " + ListCommand(a, "REMOVE <user>") +
               ".\n";
      } else {
        text = "This server holds as many mailing lists as it can (" +
               std::to_string(mail::kMaxLists) + "), so " + address +
               "\nwas not created. Destroy a list you no longer need, or ask the operator\n"
               "of this server.\n";
      }
      break;
    case ErrorCode::kDataLoss:
      text = "The record of " + address +
             " on this server is damaged: the list\n"
             "cannot be read or changed. Please tell the operator of this server.\n";
      break;
    default:
      text = "The mailing list " + address + " could not be changed.\n";
      break;
  }
  return text + "\nNothing was changed.\n";
}

std::string ListUsageText(const ServerFacts& facts) {
  const std::string& d = facts.domain;
  return "The LIST commands manage mailing lists: an address <name>.list@" + d +
         "\n"
         "whose mail goes to every member of the list. Members are users of this\n"
         "server or of other onion servers; only members that are users of this\n"
         "server, logged in (SMTP AUTH), can write to a list.\n"
         "Send a mail to server@" +
         d +
         " with one of these as the Subject:\n"
         "\n"
         "  LIST <name> CREATE          make a list; you are its owner and first\n"
         "                              member, e.g. LIST team CREATE\n"
         "  LIST <name> ADD <user>      add a member (the owner only),\n"
         "                              e.g. LIST team ADD bob (INVITE works too)\n"
         "  LIST <name> REMOVE <user>   remove a member (the owner only),\n"
         "                              e.g. LIST team REMOVE bob (DEL and DELETE\n"
         "                              work too)\n"
         "  LIST <name> LEAVE           leave a list (UNSUBSCRIBE works too)\n"
         "  LIST <name> MEMBERS         show a list's owner and members (members\n"
         "                              only; SHOW and LIST work too)\n"
         "  LIST <name> DESTROY         end a list (the owner only)\n"
         "  LIST <name> ANNOUNCE        make it an announce list: only the owner\n"
         "                              writes to it, the members receive (the\n"
         "                              owner only)\n"
         "  LIST <name> MODERATE        hold the members' mail to it for the\n"
         "                              owner's approval (the owner only)\n"
         "  LIST <name> OPEN            let every member write to it again (the\n"
         "                              owner only)\n"
         "\n"
         "<name> is the list's name: team for team.list@" +
         d +
         "\n"
         "(team.list and the whole address work too), at most " +
         std::to_string(mail::kMaxListNameBytes) +
         " letters, digits,\n"
         "dots, \"_\" or \"-\". <user> is a user's name on this server, such as bob\n"
         "(or bob@" +
         d +
         "), or the address of a user of another onion server,\n"
         "such as bob@<its .onion name> (a v3 onion address).\n"
         "The words are not case-sensitive, and a list has at most " +
         std::to_string(mail::kMaxListMembers) + " members,\nat most " +
         std::to_string(mail::kMaxListRemoteServers) +
         " other servers among them.\n"
         "Your mail was not one of these forms, so nothing was changed.\n";
}

}  // namespace onionmail::bot
