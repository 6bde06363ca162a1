#include "pop3/reply.h"

#include <string>

namespace onionmail::pop3::reply {

std::string Greeting(std::string_view hostname) {
  std::string out = "+OK ";
  out.append(hostname);
  out.append(" POP3 onionmaild ready\r\n");
  return out;
}

std::string Capabilities(bool offer_stls, bool offer_login, unsigned expire_days, bool offer_rqus) {
  std::string out = "+OK Capability list follows\r\n";
  out.append("CAPA\r\n");
  if (offer_stls) out.append("STLS\r\n");
  if (offer_login) out.append("USER\r\nSASL PLAIN\r\n");
  if (offer_rqus) out.append("RQUS\r\n");
  // PIPELINING (RFC 2449, 6.6): commands are read from one buffer and
  // answered in order; the replies to a group leave together
  // (net/connection.h). Commands sent after STLS are still discarded.
  out.append("UIDL\r\nTOP\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n");
  out.append("EXPIRE " + std::to_string(expire_days) + "\r\n");
  out.append("IMPLEMENTATION onionmaild\r\n");
  out.append(kMultiLineEnd);
  return out;
}

std::string Registered(std::string_view address, std::string_view smtp_password,
                       std::string_view pop3_password) {
  std::string out = "+OK Account created: keep these passwords, they are not shown again\r\n";
  out.append("address: ").append(address).append("\r\n");
  out.append("smtp-password: ").append(smtp_password).append("\r\n");
  out.append("pop3-password: ").append(pop3_password).append("\r\n");
  out.append(kMultiLineEnd);
  return out;
}

std::string MaildropSummary(size_t messages, uint64_t octets) {
  return "+OK maildrop has " + std::to_string(messages) + " messages (" + std::to_string(octets) +
         " octets)\r\n";
}

std::string Stat(size_t messages, uint64_t octets) {
  return "+OK " + std::to_string(messages) + " " + std::to_string(octets) + "\r\n";
}

std::string ScanListingLine(size_t number, uint64_t octets) {
  return std::to_string(number) + " " + std::to_string(octets) + "\r\n";
}

std::string ScanListingSingle(size_t number, uint64_t octets) {
  return "+OK " + ScanListingLine(number, octets);
}

std::string UidListingLine(size_t number, std::string_view uid) {
  std::string out = std::to_string(number) + " ";
  out.append(uid);
  out.append("\r\n");
  return out;
}

std::string UidListingSingle(size_t number, std::string_view uid) {
  return "+OK " + UidListingLine(number, uid);
}

std::string RetrFollows(uint64_t octets) { return "+OK " + std::to_string(octets) + " octets\r\n"; }

std::string Deleted(size_t number) {
  return "+OK Message " + std::to_string(number) + " deleted\r\n";
}

std::string SigningOff(std::string_view hostname) {
  std::string out = "+OK ";
  out.append(hostname);
  out.append(" POP3 onionmaild signing off\r\n");
  return out;
}

}  // namespace onionmail::pop3::reply
