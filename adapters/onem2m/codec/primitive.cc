#include "onem2m/codec/primitive.h"

#include <cmath>
#include <limits>
#include <string_view>

#include "onem2m/codec/value_access.h"

namespace gw::onem2m {

namespace {

using detail::as_bool;
using detail::as_int;
using detail::as_int64;
using detail::as_int_list;
using detail::as_string;
using detail::as_string_list;

// Writes an absRelTimestamp: relative times (digits only) as integers, timestamps as strings.
Tree abs_rel(const std::string& s) {
  if (is_relative_time(s) && s.size() <= 18) return Tree(static_cast<int64_t>(std::stoll(s)));
  return Tree(s);
}

gw::Result<std::string> as_abs_rel(const Tree& v, std::string_view name) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
    int64_t n = v.get<int64_t>();
    if (n < 0) return gw::make_error("'" + std::string(name) + "' must not be negative");
    return std::to_string(n);
  }
  return as_string(v, name, false);
}

#define GW_ASSIGN(lhs, expr)          \
  do {                                \
    auto gw_r_ = (expr);              \
    if (!gw_r_) return gw_r_.error(); \
    (lhs) = std::move(gw_r_).value(); \
  } while (0)

gw::Result<FilterCriteria> fc_from_tree(const Tree& t) {
  if (!t.is_object()) return gw::make_error("'fc' must be an object (got " + detail::describe(t) + ")");
  FilterCriteria fc;
  for (auto it = t.begin(); it != t.end(); ++it) {
    const std::string& k = it.key();
    const Tree& v = it.value();
    if (k == "crb")
      GW_ASSIGN(fc.crb, as_string(v, "fc/crb", false));
    else if (k == "cra")
      GW_ASSIGN(fc.cra, as_string(v, "fc/cra", false));
    else if (k == "ms")
      GW_ASSIGN(fc.ms, as_string(v, "fc/ms", false));
    else if (k == "us")
      GW_ASSIGN(fc.us, as_string(v, "fc/us", false));
    else if (k == "sts")
      GW_ASSIGN(fc.sts, as_int64(v, "fc/sts"));
    else if (k == "stb")
      GW_ASSIGN(fc.stb, as_int64(v, "fc/stb"));
    else if (k == "exb")
      GW_ASSIGN(fc.exb, as_string(v, "fc/exb", false));
    else if (k == "exa")
      GW_ASSIGN(fc.exa, as_string(v, "fc/exa", false));
    else if (k == "lbl")
      GW_ASSIGN(fc.lbl, as_string_list(v, "fc/lbl"));
    else if (k == "ty")
      GW_ASSIGN(fc.ty, as_int_list(v, "fc/ty"));
    else if (k == "sza")
      GW_ASSIGN(fc.sza, as_int64(v, "fc/sza"));
    else if (k == "szb")
      GW_ASSIGN(fc.szb, as_int64(v, "fc/szb"));
    else if (k == "cty")
      GW_ASSIGN(fc.cty, as_string_list(v, "fc/cty"));
    else if (k == "fu")
      GW_ASSIGN(fc.fu, as_int(v, "fc/fu"));
    else if (k == "lim")
      GW_ASSIGN(fc.lim, as_int(v, "fc/lim"));
    else if (k == "fo")
      GW_ASSIGN(fc.fo, as_int(v, "fc/fo"));
    else if (k == "lvl")
      GW_ASSIGN(fc.lvl, as_int(v, "fc/lvl"));
    else if (k == "ofst")
      GW_ASSIGN(fc.ofst, as_int(v, "fc/ofst"));
    else
      fc.other[k] = v;
  }
  return fc;
}

Tree fc_to_tree(const FilterCriteria& fc) {
  Tree t = Tree::object();
  if (fc.crb) t["crb"] = *fc.crb;
  if (fc.cra) t["cra"] = *fc.cra;
  if (fc.ms) t["ms"] = *fc.ms;
  if (fc.us) t["us"] = *fc.us;
  if (fc.sts) t["sts"] = *fc.sts;
  if (fc.stb) t["stb"] = *fc.stb;
  if (fc.exb) t["exb"] = *fc.exb;
  if (fc.exa) t["exa"] = *fc.exa;
  if (!fc.lbl.empty()) t["lbl"] = fc.lbl;
  if (!fc.ty.empty()) t["ty"] = fc.ty;
  if (fc.sza) t["sza"] = *fc.sza;
  if (fc.szb) t["szb"] = *fc.szb;
  if (!fc.cty.empty()) t["cty"] = fc.cty;
  if (fc.fu) t["fu"] = *fc.fu;
  if (fc.lim) t["lim"] = *fc.lim;
  if (fc.fo) t["fo"] = *fc.fo;
  if (fc.lvl) t["lvl"] = *fc.lvl;
  if (fc.ofst) t["ofst"] = *fc.ofst;
  if (fc.other.is_object())
    for (auto it = fc.other.begin(); it != fc.other.end(); ++it)
      if (!t.contains(it.key())) t[it.key()] = it.value();
  return t;
}

gw::Result<ResponseTypeInfo> rt_from_tree(const Tree& t) {
  ResponseTypeInfo rt;
  if (!t.is_object()) {
    // Tolerated: a bare responseTypeValue ("rt": 3).
    GW_ASSIGN(rt.rtv, as_int(t, "rt"));
    return rt;
  }
  bool have_rtv = false;
  for (auto it = t.begin(); it != t.end(); ++it) {
    if (it.key() == "rtv") {
      GW_ASSIGN(rt.rtv, as_int(it.value(), "rt/rtv"));
      have_rtv = true;
    } else if (it.key() == "nu") {
      GW_ASSIGN(rt.nu, as_string_list(it.value(), "rt/nu"));
    }
  }
  if (!have_rtv) return gw::make_error("'rt' has no 'rtv'");
  return rt;
}

void append_other(Tree& t, const Tree& other) {
  if (!other.is_object()) return;
  for (auto it = other.begin(); it != other.end(); ++it)
    if (!t.contains(it.key())) t[it.key()] = it.value();
}

}  // namespace

bool is_relative_time(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

gw::Result<RequestPrimitive> request_from_tree(const Tree& t) {
  if (!t.is_object()) return gw::make_error("request primitive must be an object (got " + detail::describe(t) + ")");
  RequestPrimitive r;
  bool have_op = false, have_to = false, have_rqi = false;
  for (auto it = t.begin(); it != t.end(); ++it) {
    const std::string& k = it.key();
    const Tree& v = it.value();
    if (k == "op") {
      int op = 0;
      GW_ASSIGN(op, as_int(v, "op"));
      if (op < 1 || op > 5) return gw::make_error("'op' must be 1..5 (got " + std::to_string(op) + ")");
      r.op = static_cast<Operation>(op);
      have_op = true;
    } else if (k == "to") {
      GW_ASSIGN(r.to, as_string(v, "to", false));
      have_to = true;
    } else if (k == "fr") {
      GW_ASSIGN(r.fr, as_string(v, "fr", false));
    } else if (k == "rqi") {
      GW_ASSIGN(r.rqi, as_string(v, "rqi", true));
      have_rqi = true;
    } else if (k == "ty")
      GW_ASSIGN(r.ty, as_int(v, "ty"));
    else if (k == "pc")
      r.pc = v;
    else if (k == "rol")
      GW_ASSIGN(r.rol, as_string(v, "rol", false));
    else if (k == "ot")
      GW_ASSIGN(r.ot, as_string(v, "ot", false));
    else if (k == "rqet")
      GW_ASSIGN(r.rqet, as_abs_rel(v, "rqet"));
    else if (k == "rset")
      GW_ASSIGN(r.rset, as_abs_rel(v, "rset"));
    else if (k == "oet")
      GW_ASSIGN(r.oet, as_abs_rel(v, "oet"));
    else if (k == "rt")
      GW_ASSIGN(r.rt, rt_from_tree(v));
    else if (k == "rp")
      GW_ASSIGN(r.rp, as_abs_rel(v, "rp"));
    else if (k == "rcn")
      GW_ASSIGN(r.rcn, as_int(v, "rcn"));
    else if (k == "ec")
      GW_ASSIGN(r.ec, as_int(v, "ec"));
    else if (k == "da")
      GW_ASSIGN(r.da, as_bool(v, "da"));
    else if (k == "gid")
      GW_ASSIGN(r.gid, as_string(v, "gid", false));
    else if (k == "fc")
      GW_ASSIGN(r.fc, fc_from_tree(v));
    else if (k == "drt")
      GW_ASSIGN(r.drt, as_int(v, "drt"));
    else if (k == "tqi")
      GW_ASSIGN(r.tqi, as_bool(v, "tqi"));
    else if (k == "tids")
      r.tids = v;
    else if (k == "rvi")
      GW_ASSIGN(r.rvi, as_string(v, "rvi", true));
    else if (k == "vsi")
      GW_ASSIGN(r.vsi, as_string(v, "vsi", false));
    else if (k == "sqi")
      GW_ASSIGN(r.sqi, as_bool(v, "sqi"));
    else
      r.other[k] = v;
  }
  if (!have_rqi) return gw::make_error("request primitive has no 'rqi'");
  if (!have_op) return gw::make_error("request primitive has no 'op'");
  if (!have_to) return gw::make_error("request primitive has no 'to'");
  if (r.rqi.empty()) return gw::make_error("'rqi' is empty");
  if (r.to.empty()) return gw::make_error("'to' is empty");
  return r;
}

gw::Result<ResponsePrimitive> response_from_tree(const Tree& t) {
  if (!t.is_object()) return gw::make_error("response primitive must be an object (got " + detail::describe(t) + ")");
  ResponsePrimitive r;
  bool have_rsc = false, have_rqi = false;
  for (auto it = t.begin(); it != t.end(); ++it) {
    const std::string& k = it.key();
    const Tree& v = it.value();
    if (k == "rsc") {
      GW_ASSIGN(r.rsc, as_int(v, "rsc"));
      have_rsc = true;
    } else if (k == "rqi") {
      GW_ASSIGN(r.rqi, as_string(v, "rqi", true));
      have_rqi = true;
    } else if (k == "pc")
      r.pc = v;
    else if (k == "to")
      GW_ASSIGN(r.to, as_string(v, "to", false));
    else if (k == "fr")
      GW_ASSIGN(r.fr, as_string(v, "fr", false));
    else if (k == "ot")
      GW_ASSIGN(r.ot, as_string(v, "ot", false));
    else if (k == "rset")
      GW_ASSIGN(r.rset, as_abs_rel(v, "rset"));
    else if (k == "ec")
      GW_ASSIGN(r.ec, as_int(v, "ec"));
    else if (k == "cts")
      GW_ASSIGN(r.cts, as_int(v, "cts"));
    else if (k == "cto")
      GW_ASSIGN(r.cto, as_int(v, "cto"));
    else if (k == "rvi")
      GW_ASSIGN(r.rvi, as_string(v, "rvi", true));
    else if (k == "vsi")
      GW_ASSIGN(r.vsi, as_string(v, "vsi", false));
    else
      r.other[k] = v;
  }
  if (!have_rqi) return gw::make_error("response primitive has no 'rqi'");
  if (!have_rsc) return gw::make_error("response primitive has no 'rsc'");
  if (r.rqi.empty()) return gw::make_error("'rqi' is empty");
  return r;
}

Tree to_tree(const RequestPrimitive& r) {
  Tree t = Tree::object();
  t["op"] = static_cast<int>(r.op);
  t["to"] = r.to;
  if (!r.fr.empty()) t["fr"] = r.fr;
  t["rqi"] = r.rqi;
  if (r.ty) t["ty"] = *r.ty;
  if (r.pc) t["pc"] = *r.pc;
  if (r.rol) t["rol"] = *r.rol;
  if (r.ot) t["ot"] = *r.ot;
  if (r.rqet) t["rqet"] = abs_rel(*r.rqet);
  if (r.rset) t["rset"] = abs_rel(*r.rset);
  if (r.oet) t["oet"] = abs_rel(*r.oet);
  if (r.rt) {
    Tree rt = Tree::object();
    rt["rtv"] = r.rt->rtv;
    if (!r.rt->nu.empty()) rt["nu"] = r.rt->nu;
    t["rt"] = std::move(rt);
  }
  if (r.rp) t["rp"] = abs_rel(*r.rp);
  if (r.rcn) t["rcn"] = *r.rcn;
  if (r.ec) t["ec"] = *r.ec;
  if (r.da) t["da"] = *r.da;
  if (r.gid) t["gid"] = *r.gid;
  if (r.fc) t["fc"] = fc_to_tree(*r.fc);
  if (r.drt) t["drt"] = *r.drt;
  if (r.tqi) t["tqi"] = *r.tqi;
  if (r.tids) t["tids"] = *r.tids;
  if (r.rvi) t["rvi"] = *r.rvi;
  if (r.vsi) t["vsi"] = *r.vsi;
  if (r.sqi) t["sqi"] = *r.sqi;
  append_other(t, r.other);
  return t;
}

ResponsePrimitive answer_to(const RequestPrimitive& req, int rsc, std::string_view receiver_id) {
  ResponsePrimitive r;
  r.rsc = rsc;
  r.rqi = req.rqi;
  r.to = req.fr;
  r.fr = std::string(receiver_id);
  r.rvi = req.rvi;
  return r;
}

Tree to_tree(const ResponsePrimitive& r) {
  Tree t = Tree::object();
  t["rsc"] = r.rsc;
  t["rqi"] = r.rqi;
  if (r.pc) t["pc"] = *r.pc;
  if (!r.to.empty()) t["to"] = r.to;
  if (!r.fr.empty()) t["fr"] = r.fr;
  if (r.ot) t["ot"] = *r.ot;
  if (r.rset) t["rset"] = abs_rel(*r.rset);
  if (r.ec) t["ec"] = *r.ec;
  if (r.cts) t["cts"] = *r.cts;
  if (r.cto) t["cto"] = *r.cto;
  if (r.rvi) t["rvi"] = *r.rvi;
  if (r.vsi) t["vsi"] = *r.vsi;
  append_other(t, r.other);
  return t;
}

}  // namespace gw::onem2m
