// Finds the boundaries of consecutive XML documents in a byte stream (the reassembly rule for
// <rest> payloads carried over one In-Band Bytestream; see PROTOCOL.md "Message boundaries").
//
// The framer is a byte-at-a-time scanner, so a document may be split across any number of feed()
// calls at any byte, and one feed() may complete several documents. A document is complete when
// its root element closes. White space between documents is dropped; a prolog (XML declaration,
// processing instructions, comments) before a root belongs to the following document. It does not
// validate XML (tinyxml2 does that later); it rejects what would make the boundaries ambiguous:
// character data outside a root element, end tags without a start, DOCTYPE and other <! >
// declarations, CDATA outside a root, element nesting beyond max_depth, and a pending (incomplete)
// document larger than max_pending bytes. After an error the framer is unusable (the stream is
// broken; the session must be closed).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gw/result.h"

namespace gw::oic {

class XmlFramer {
 public:
  explicit XmlFramer(std::size_t max_pending = 1 << 20, std::size_t max_depth = 256)
      : max_pending_(max_pending), max_depth_(max_depth) {}

  // Appends bytes; returns the documents completed by them (possibly none), in order.
  // Errors are prefixed "framing: ".
  gw::Result<std::vector<std::string>> feed(std::string_view bytes);

  // Bytes held for the document in progress (0 between documents).
  std::size_t pending() const { return buf_.size(); }
  bool failed() const { return failed_; }
  // True if the failure was the max_pending limit (not malformed framing).
  bool overflowed() const { return overflowed_; }

 private:
  enum class State { Outside, Content, Lt, Pi, Bang, Comment, Cdata, EndTag, StartTag };
  gw::Error fail(std::string msg);

  std::size_t max_pending_;
  std::size_t max_depth_;
  std::string buf_;  // the document in progress, from its first '<'
  State state_ = State::Outside;
  std::size_t depth_ = 0;
  char quote_ = 0;      // StartTag: open attribute quote
  char last_ = 0;       // StartTag: last non-space character outside quotes
  int run_ = 0;         // Pi: saw '?'; Comment: consecutive '-'; Cdata: consecutive ']'
  std::string bang_;    // Bang: characters after "<!"
  bool failed_ = false;
  bool overflowed_ = false;
};

}  // namespace gw::oic
