// Drops available-presence stanzas from an XMPP stream's bytes before gloox parses them.
//
// Why: OIC RA puts every bridged device on the user's one account (§7.2), so each device session
// receives the available presence of every other resource of the account — N² stanzas when N
// cameras log in (10⁶ for 1,000). A device session only acts on `unavailable` presence (a peer
// gone ends its IBB sessions and observations); gloox parsing the rest into Tag trees was the
// gateway's dominant login cost (oic_bench: 100 % of a core for 164 s at 1,000 devices). This
// scanner passes the stream through byte-exact and removes each top-level <presence> element whose
// start tag has no `type` attribute (= available, RFC 6121 §4.7.1); every other stanza, including
// presence of any other type, is untouched.
//
// It is a scanner, not a parser (gloox still parses and rejects bad XML): it tracks tags, quoted
// attribute values, CDATA sections and element depth with the XMPP restrictions of RFC 6120 §11.1
// (no comments, PIs other than the XML declaration, or DTDs). Anything it does not expect —
// a comment, a DOCTYPE, a presence larger than max_presence bytes — makes it give up and pass
// everything through unchanged from then on (fail-open: filtering is an optimisation, never a
// change of meaning). A new stream header (the restarts after STARTTLS and SASL) is fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gw::oic {

class PresenceFilter {
 public:
  explicit PresenceFilter(std::size_t max_presence = 64 * 1024) : max_presence_(max_presence) {}

  // Appends the stream bytes `in` (any split) and returns what gloox should see now.
  std::string feed(std::string_view in);

  std::uint64_t dropped() const { return dropped_; }
  bool passthrough() const { return passthrough_; }

 private:
  enum class S { Text, Lt, Name, Tag, Quote, Cdata, Pi };
  void give_up(std::string& out);

  std::size_t max_presence_;
  S s_ = S::Text;
  char quote_ = 0;
  int depth_ = 0;              // element depth; the stream element is depth 1 once opened
  bool end_tag_ = false;       // the tag being scanned is an end tag
  bool slash_ = false;         // last non-space char in the tag was '/'
  std::string name_;           // element name of the tag being scanned (up to a few chars needed)
  std::string attrs_;          // attribute text of a <presence> start tag at depth 1
  bool capturing_ = false;     // inside a top-level <presence>
  bool drop_ = false;          // ... without a type attribute: dropped when it closes
  std::size_t cdata_match_ = 0;  // progress through "<![CDATA[" / "]]>"
  std::string held_;           // bytes of the captured presence (or of a pending '<...' at depth 1)
  std::uint64_t dropped_ = 0;
  bool passthrough_ = false;
};

}  // namespace gw::oic
