#include "oic/codec/presence_filter.h"

#include <cstring>

namespace gw::oic {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// True if the raw attribute text of a start tag (everything after the element name) has an
// attribute named exactly `type`.
bool has_type_attribute(std::string_view a) {
  std::size_t i = 0, n = a.size();
  while (i < n) {
    while (i < n && (is_space(a[i]) || a[i] == '/')) ++i;
    std::size_t name_start = i;
    while (i < n && a[i] != '=' && !is_space(a[i])) ++i;
    std::string_view name = a.substr(name_start, i - name_start);
    while (i < n && is_space(a[i])) ++i;
    if (i >= n || a[i] != '=') return false;  // malformed: leave it to gloox
    ++i;
    while (i < n && is_space(a[i])) ++i;
    if (i >= n || (a[i] != '\'' && a[i] != '"')) return false;
    char q = a[i++];
    while (i < n && a[i] != q) ++i;
    ++i;
    if (name == "type") return true;
  }
  return false;
}

}  // namespace

void PresenceFilter::give_up(std::string& out) {
  passthrough_ = true;
  out += held_;
  held_.clear();
  held_.shrink_to_fit();
  capturing_ = false;
  drop_ = false;
}

std::string PresenceFilter::feed(std::string_view in) {
  std::string out;
  if (passthrough_) return std::string(in);
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (passthrough_) {
      out.append(in.substr(i));
      break;
    }
    // Fast path: plain text outside anything held.
    if (s_ == S::Text && held_.empty()) {
      const void* lt = std::memchr(in.data() + i, '<', in.size() - i);
      std::size_t j = lt ? static_cast<std::size_t>(static_cast<const char*>(lt) - in.data()) : in.size();
      out.append(in.substr(i, j - i));
      if (j == in.size()) break;
      i = j;
    }
    char c = in[i];
    bool hold = !held_.empty() || capturing_;
    switch (s_) {
      case S::Text:
        if (c == '<') {
          s_ = S::Lt;
          end_tag_ = slash_ = false;
          name_.clear();
          if (depth_ == 1 && !capturing_) hold = true;  // a stanza starts: hold until its name is known
        }
        break;
      case S::Lt:
        if (c == '/') {
          end_tag_ = true;
          s_ = S::Name;
        } else if (c == '?') {
          // Only the XML declaration of a stream (re)start, between stanzas.
          if (capturing_ || depth_ > 1) {
            held_ += c;
            give_up(out);
            continue;
          }
          out += held_;
          held_.clear();
          hold = false;
          s_ = S::Pi;
          cdata_match_ = 0;
        } else if (c == '!') {
          s_ = S::Cdata;  // must be "<![CDATA[", matched below
          cdata_match_ = 2;
        } else {
          name_ = c;
          s_ = S::Name;
        }
        break;
      case S::Name:
        if (is_space(c) || c == '/' || c == '>') {
          if (depth_ == 1 && !capturing_ && !end_tag_ && name_ == "presence") {
            capturing_ = true;
            attrs_.clear();
          } else if (!capturing_ && !held_.empty()) {
            out += held_;  // not a top-level presence: release the held '<name'
            held_.clear();
          }
          // A stream (re)start — after SASL without closing the old one: its children are depth 1.
          if (!end_tag_ && name_ == "stream:stream") depth_ = 0;
          s_ = S::Tag;
          --i;  // let Tag see this character
          continue;
        }
        if (name_.size() < 32) name_ += c;
        break;
      case S::Tag:
        if (c == '"' || c == '\'') {
          quote_ = c;
          s_ = S::Quote;
          slash_ = false;
        } else if (c == '>') {
          s_ = S::Text;
          bool presence_tag = capturing_ && depth_ == 1;  // the <presence ...> start tag itself
          if (end_tag_) {
            --depth_;
          } else if (!slash_) {
            ++depth_;
          }
          if (presence_tag && !end_tag_) {
            held_ += c;
            hold = false;
            bool drop = !has_type_attribute(attrs_);
            if (!drop) {  // typed presence: let it through, stop capturing
              capturing_ = false;
              out += held_;
              held_.clear();
            } else if (slash_) {  // <presence .../>: complete
              capturing_ = false;
              held_.clear();
              ++dropped_;
            } else {
              drop_ = true;
            }
            continue;
          }
          if (capturing_ && depth_ == 1) {  // the presence element closed
            held_ += c;
            hold = false;
            capturing_ = false;
            if (drop_) ++dropped_;
            else out += held_;
            drop_ = false;
            held_.clear();
            continue;
          }
          if (depth_ < 0) {
            held_ += c;
            give_up(out);
            continue;
          }
        } else if (!is_space(c)) {
          slash_ = c == '/';
        }
        if (capturing_ && depth_ == 1 && !end_tag_) attrs_ += c;
        break;
      case S::Quote:
        if (c == quote_) s_ = S::Tag;
        if (capturing_ && depth_ == 1 && !end_tag_) attrs_ += c;
        break;
      case S::Pi:
        if (cdata_match_ == 1 && c == '>') s_ = S::Text;
        cdata_match_ = c == '?' ? 1 : 0;
        break;
      case S::Cdata: {
        static constexpr std::string_view kOpen = "<![CDATA[";
        if (cdata_match_ < kOpen.size()) {
          if (c != kOpen[cdata_match_]) {  // a comment or DOCTYPE: not in an XMPP stream
            held_ += c;
            give_up(out);
            continue;
          }
          ++cdata_match_;
          if (cdata_match_ == kOpen.size()) quote_ = 0;  // quote_ counts ']' seen
          break;
        }
        if (c == ']') {
          if (quote_ < 2) ++quote_;
        } else if (c == '>' && quote_ == 2) {
          s_ = S::Text;
          cdata_match_ = 0;
        } else {
          quote_ = 0;
        }
        break;
      }
    }
    if (hold) {
      held_ += c;
      if (held_.size() > max_presence_) give_up(out);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace gw::oic
