#include "oic/codec/xml_framer.h"

#include "oic/codec/text_util.h"

namespace gw::oic {

gw::Error XmlFramer::fail(std::string msg) {
  failed_ = true;
  buf_.clear();
  return make_error("framing: " + msg);
}

gw::Result<std::vector<std::string>> XmlFramer::feed(std::string_view bytes) {
  if (failed_) return make_error("framing: stream already failed");
  std::vector<std::string> done;
  static constexpr std::string_view kComment = "--";
  static constexpr std::string_view kCdata = "[CDATA[";
  for (char c : bytes) {
    if (state_ == State::Outside) {
      if (is_xml_space(c)) {
        if (!buf_.empty()) buf_.push_back(c);  // inside a prolog: keep
        continue;
      }
      if (c != '<') return fail("character data outside a document");
      buf_.push_back(c);
      state_ = State::Lt;
      continue;
    }
    buf_.push_back(c);
    if (buf_.size() > max_pending_)
    {
      overflowed_ = true;
      return fail("document exceeds " + std::to_string(max_pending_) + " bytes");
    }
    switch (state_) {
      case State::Outside:
        break;  // handled above
      case State::Content:
        if (c == '<') state_ = State::Lt;
        break;
      case State::Lt:
        if (c == '?') {
          state_ = State::Pi;
          run_ = 0;
        } else if (c == '!') {
          state_ = State::Bang;
          bang_.clear();
        } else if (c == '/') {
          if (depth_ == 0) return fail("end tag outside an element");
          state_ = State::EndTag;
        } else if (is_xml_space(c) || c == '>' || c == '<' || c == '=' || c == '"' || c == '\'') {
          return fail("malformed tag");
        } else {
          state_ = State::StartTag;
          quote_ = 0;
          last_ = c;
        }
        break;
      case State::Pi:
        if (c == '>' && run_) state_ = depth_ ? State::Content : State::Outside;
        run_ = (c == '?');
        break;
      case State::Bang:
        bang_.push_back(c);
        if (bang_ == kComment) {
          state_ = State::Comment;
          run_ = 0;
        } else if (bang_ == kCdata) {
          if (depth_ == 0) return fail("CDATA outside an element");
          state_ = State::Cdata;
          run_ = 0;
        } else if (kComment.substr(0, bang_.size()) != bang_ && kCdata.substr(0, bang_.size()) != bang_) {
          return fail("DOCTYPE and other <! declarations are not allowed");
        }
        break;
      case State::Comment:
        if (c == '>' && run_ >= 2) {
          state_ = depth_ ? State::Content : State::Outside;
          run_ = 0;
        } else {
          run_ = (c == '-') ? run_ + 1 : 0;
        }
        break;
      case State::Cdata:
        if (c == '>' && run_ >= 2) {
          state_ = State::Content;
          run_ = 0;
        } else {
          run_ = (c == ']') ? run_ + 1 : 0;
        }
        break;
      case State::EndTag:
        if (c == '>') {
          --depth_;
          if (depth_ == 0) {
            done.push_back(std::move(buf_));
            buf_.clear();
            state_ = State::Outside;
          } else {
            state_ = State::Content;
          }
        }
        break;
      case State::StartTag:
        if (quote_) {
          if (c == quote_) {
            quote_ = 0;
            last_ = c;
          }
        } else if (c == '"' || c == '\'') {
          quote_ = c;
          last_ = c;
        } else if (c == '<') {
          return fail("'<' inside a tag");
        } else if (c == '>') {
          if (last_ == '/') {  // empty-element tag
            if (depth_ == 0) {
              done.push_back(std::move(buf_));
              buf_.clear();
              state_ = State::Outside;
            } else {
              state_ = State::Content;
            }
          } else {
            if (++depth_ > max_depth_) return fail("elements nested deeper than " + std::to_string(max_depth_));
            state_ = State::Content;
          }
        } else if (!is_xml_space(c)) {
          last_ = c;
        }
        break;
    }
  }
  return done;
}

}  // namespace gw::oic
