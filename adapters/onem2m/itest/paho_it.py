#!/usr/bin/python3
"""Black-box tests of the oneM2M CSE (gw_onem2m in a real gatewayd) driven by an independent MQTT
client: python3-paho-mqtt, primitives built here as JSON (json), CBOR (python3-cbor2) and XML
(literal text, read back with xml.etree) -- nothing of the gateway's codec.

  paho_it.py binding --gatewayd BIN --module-dir DIR
      mosquitto started here; AE registration over reg_req (assigned AE-ID) and req (chosen AE-ID),
      container / contentInstance CRUD, discovery, expired request, subscription + NOTIFY received
      and answered by this client, the three serializations, Mcc registration of a second gatewayd
      (MN -> IN) with a retargeted RETRIEVE, and a restart of the MN keeping its tree.
  paho_it.py local-broker --gatewayd BIN --module-dir DIR
      the gateway runs its own mosquitto (local_broker): accounts and the topic ACL of Y.4500.10
      8.4 -- an AE reaches only its own request/response topics; the broker is restarted when it
      dies and stopped (by PID) with the gateway.

Every server runs on 127.0.0.1 on a port chosen free at run time and is stopped by PID.
Exit status 0 when every check passed; failures are printed one per line.
"""
import argparse
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import cbor2
import paho.mqtt.client as mqtt

FAILURES = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        FAILURES.append(what)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def children(pid):
    """PIDs whose parent is pid (from /proc/*/stat)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rfind(")") + 2] != "Z"
    except OSError:
        return False


class Proc:
    """A child process with its output in a log file; stopped by PID."""

    def __init__(self, argv, log):
        self.log = log
        self.f = open(log, "ab")
        self.p = subprocess.Popen(argv, stdout=self.f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.f.close()
        return self.p.returncode

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Gatewayd:
    def __init__(self, args, work, name, cse_cfg):
        self.args, self.work, self.name = args, work, name
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "maps"), exist_ok=True)
        open(os.path.join(self.dir, "maps", "m.textproto"), "w").close()
        self.cfg = os.path.join(self.dir, "gw.textproto")
        with open(self.cfg, "w") as f:
            f.write('gateway_id: "%s"\nmapping_file: "maps"\nshutdown_grace_ms: 8000\n'
                    'adapter { name: "onem2m" module: "onem2m" config { '
                    '[type.googleapis.com/gw.onem2m.v1.OneM2MConfig] { %s } } }\n' % (name, cse_cfg))
        self.proc = None

    def start(self):
        self.proc = Proc([self.args.gatewayd, "--config", self.cfg, "--module-dir", self.args.module_dir,
                          "--state-dir", os.path.join(self.dir, "state")], os.path.join(self.dir, "gatewayd.log"))
        return self

    def stop(self):
        return self.proc.stop() if self.proc else None

    @property
    def pid(self):
        return self.proc.p.pid


class Peer:
    """An MQTT client (paho, own network thread) that queues everything it receives."""

    def __init__(self, port, client_id, username=None, password=None, subs=(), responder=None):
        self.q = queue.Queue()
        self.kept = []
        self.responder = responder
        self.c = mqtt.Client(client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311)
        if username is not None:
            self.c.username_pw_set(username, password)
        self.connack = queue.Queue()
        self.subacks = queue.Queue()
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda c, u, mid, granted: self.subacks.put((mid, granted))
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", port, 30)
        self.c.loop_start()
        try:
            self.rc = self.connack.get(timeout=5)
        except queue.Empty:
            self.rc = -1
        if self.rc == 0:
            for t in subs:
                self.subscribe(t)

    def _on_connect(self, c, u, flags, rc):
        if rc != 0:
            c.disconnect()  # refused: no reconnect attempts (loop_stop would wait for them)
        self.connack.put(rc)

    def _on_message(self, c, u, m):
        if self.responder:
            r = self.responder(m.topic, m.payload)
            if r:
                c.publish(r[0], r[1], qos=1)
        self.q.put((m.topic, m.payload))

    def subscribe(self, topic):
        rc, mid = self.c.subscribe(topic, 1)
        while True:
            got, granted = self.subacks.get(timeout=5)
            if got == mid:
                return granted[0]

    def publish(self, topic, payload):
        info = self.c.publish(topic, payload, qos=1)
        info.wait_for_publish(5)

    def take(self, pred, timeout=3.0):
        """The first received message (topic, payload) with pred true, waiting up to timeout."""
        for i, m in enumerate(self.kept):
            if pred(*m):
                return self.kept.pop(i)
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return None
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                return None
            if pred(*m):
                return m
            self.kept.append(m)

    def drain(self, wait=0.0):
        time.sleep(wait)
        while True:
            try:
                self.kept.append(self.q.get_nowait())
            except queue.Empty:
                break
        out, self.kept = self.kept, []
        return out

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


# ---- primitives (built here, not by the gateway's codec) ----

def encode(prim, fmt):
    if fmt == "json":
        return json.dumps(prim).encode()
    if fmt == "cbor":
        return cbor2.dumps(prim)
    raise ValueError(fmt)


def decode(payload, fmt):
    try:
        if fmt == "cbor":
            return cbor2.loads(payload)
        if fmt == "xml":
            root = ET.fromstring(payload)
            return {"__xml": root, "rqi": root.findtext("rqi"), "rsc": int(root.findtext("rsc") or -1)}
        return json.loads(payload)
    except Exception:
        return None


class Ae:
    """One oneM2M originator on a Peer: sends requests to a CSE, matches responses by rqi."""
    seq = 0

    def __init__(self, peer, cse_topic, level):
        self.peer, self.cse, self.level = peer, cse_topic, level

    def request(self, prim, fmt="json", kind="req", timeout=3.0, level=None, receiver=None):
        Ae.seq += 1
        prim = dict(prim)
        prim.setdefault("rqi", "py-%d" % Ae.seq)
        prim.setdefault("rvi", "3")
        rqi = prim["rqi"]
        lvl = level or self.level
        rcv = receiver or self.cse
        self.peer.publish("/oneM2M/%s/%s/%s/%s" % (kind, lvl, rcv, fmt), encode(prim, fmt))
        return self.wait(rqi, fmt, timeout)

    def wait(self, rqi, fmt, timeout=3.0):
        def match(topic, payload):
            if not (topic.startswith("/oneM2M/resp/") or topic.startswith("/oneM2M/reg_resp/")):
                return False
            if not topic.endswith("/" + fmt):
                return False
            d = decode(payload, fmt)
            return isinstance(d, dict) and d.get("rqi") == rqi
        m = self.peer.take(match, timeout)
        if not m:
            return {"rsc": -1}
        d = decode(m[1], fmt)
        d["__topic"] = m[0]
        return d


def rsc(r):
    return r.get("rsc", -1)


def wait_cse(ae, fr, timeout=15.0):
    """Until the CSE answers (any status) a RETRIEVE of its CSEBase."""
    end = time.time() + timeout
    while time.time() < end:
        r = ae.request({"op": 2, "fr": fr, "to": "-"}, timeout=0.3)
        if rsc(r) != -1:
            return True
    return False


def notify_responder(cse_topic):
    """Answers every request of the CSE to an AE (notifications) with 2000, from the client."""
    def respond(topic, payload):
        parts = topic.split("/")
        if len(parts) < 5 or parts[2] != "req" or parts[3] != cse_topic or not parts[4].startswith("C"):
            return None  # only requests to AEs (C...), never to other CSEs on the broker
        fmt = parts[5] if len(parts) > 5 else "json"
        if fmt not in ("json", "cbor"):
            return None
        d = decode(payload, fmt)
        if not isinstance(d, dict):
            return None
        return ("/oneM2M/resp/%s/%s/%s" % (cse_topic, parts[4], fmt),
                encode({"rsc": 2000, "rqi": d.get("rqi"), "to": d.get("fr"), "fr": parts[4]}, fmt))
    return respond


# ---- binding: an external broker, two gateways ----

def test_binding(args):
    work = tempfile.mkdtemp(prefix="camgw-paho-")
    port = free_port()
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n"
                "max_inflight_messages 1000\n" % port)
    broker = Proc(["/usr/sbin/mosquitto", "-c", conf], os.path.join(work, "mosquitto.log"))
    gws = []
    peer = None
    try:
        if not check(wait_port(port), "mosquitto listens on %d" % port):
            return
        url = "mqtt://127.0.0.1:%d" % port
        common = 'broker { url: "%s" } request_timeout_ms: 1500 reconnect_min_ms: 100' % url
        mn = Gatewayd(args, work, "mn", 'cse_id: "/id-mn" cse_name: "cse-mn" role: MN ' + common).start()
        gws.append(mn)
        peer = Peer(port, "A::py", subs=["/oneM2M/resp/#", "/oneM2M/reg_resp/#", "/oneM2M/req/id-mn/#"],
                    responder=notify_responder("id-mn"))
        check(peer.rc == 0, "paho client connected")
        boot = Ae(peer, "id-mn", "Cboot")
        if not check(wait_cse(boot, "Cboot"), "the MN-CSE answers"):
            return

        # AE registration over reg_req: Credential-ID in the topic, AE-ID assigned by the CSE.
        cred = Ae(peer, "id-mn", "cred-py1")
        r = cred.request({"op": 1, "fr": "C", "to": "cse-mn", "ty": 2,
                          "pc": {"m2m:ae": {"rn": "pyreg", "api": "Npy", "rr": True, "csz": ["application/json"]}}},
                         kind="reg_req")
        check(rsc(r) == 2001, "reg_req registration: 2001 (got %s)" % rsc(r))
        check(r.get("__topic") == "/oneM2M/reg_resp/cred-py1/id-mn/json", "answered on reg_resp: %s" % r.get("__topic"))
        aei = r.get("pc", {}).get("m2m:ae", {}).get("aei", "")
        check(aei.startswith("C") and len(aei) > 1, "assigned AE-ID %r" % aei)
        # ... and over req with a chosen AE-ID.
        ae = Ae(peer, "id-mn", "Cpy1")
        r = ae.request({"op": 1, "fr": "Cpy1", "to": "cse-mn", "ty": 2,
                        "pc": {"m2m:ae": {"rn": "py1", "api": "Npy1", "rr": True}}})
        check(rsc(r) == 2001 and r["pc"]["m2m:ae"]["aei"] == "Cpy1", "req registration with a chosen AE-ID")
        check(r.get("__topic") == "/oneM2M/resp/Cpy1/id-mn/json", "answered on resp: %s" % r.get("__topic"))
        # The payload's originator must be the topic's.
        r = ae.request({"op": 2, "fr": "Cother", "to": "cse-mn"})
        check(rsc(r) == 4103, "fr differing from the topic's originator: 4103 (got %s)" % rsc(r))

        # CRUD: container, contentInstance.
        r = ae.request({"op": 1, "fr": "Cpy1", "to": "cse-mn/py1", "ty": 3,
                        "pc": {"m2m:cnt": {"rn": "c1", "mni": 5, "lbl": ["py:test"]}}})
        check(rsc(r) == 2001, "CREATE container: %s" % rsc(r))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/c1"})
        check(rsc(r) == 2000 and r["pc"]["m2m:cnt"]["mni"] == 5, "RETRIEVE container")
        r = ae.request({"op": 3, "fr": "Cpy1", "to": "cse-mn/py1/c1", "pc": {"m2m:cnt": {"mni": 10}}})
        check(rsc(r) == 2004 and r["pc"]["m2m:cnt"]["mni"] == 10, "UPDATE container: %s" % rsc(r))

        # Subscription by the AE itself; a new contentInstance is notified to this client.
        r = ae.request({"op": 1, "fr": "Cpy1", "to": "cse-mn/py1/c1", "ty": 23,
                        "pc": {"m2m:sub": {"rn": "s1", "nu": ["Cpy1"], "enc": {"net": [3]}}}})
        check(rsc(r) == 2001, "CREATE subscription: %s" % rsc(r))
        r = ae.request({"op": 1, "fr": "Cpy1", "to": "cse-mn/py1/c1", "ty": 4,
                        "pc": {"m2m:cin": {"cnf": "text/plain:0", "con": "hello"}}})
        check(rsc(r) == 2001, "CREATE contentInstance: %s" % rsc(r))

        def is_notify(topic, payload):
            if topic != "/oneM2M/req/id-mn/Cpy1/json":
                return False
            d = decode(payload, "json")
            return isinstance(d, dict) and d.get("op") == 5
        n = peer.take(is_notify, 3)
        check(n is not None, "NOTIFY received on /oneM2M/req/id-mn/Cpy1/json")
        if n:
            sgn = json.loads(n[1])["pc"]["m2m:sgn"]
            check(sgn.get("nev", {}).get("rep", {}).get("m2m:cin", {}).get("con") == "hello", "NOTIFY carries the instance")
            check(sgn.get("sur") == "cse-mn/py1/c1/s1", "NOTIFY names the subscription: %s" % sgn.get("sur"))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/c1/la"})
        check(rsc(r) == 2000 and r["pc"]["m2m:cin"]["con"] == "hello", "RETRIEVE la")

        # Subscription RETRIEVE / UPDATE.
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/c1/s1"})
        check(rsc(r) == 2000 and r["pc"]["m2m:sub"]["nu"] == ["Cpy1"], "RETRIEVE subscription")
        r = ae.request({"op": 3, "fr": "Cpy1", "to": "cse-mn/py1/c1/s1", "pc": {"m2m:sub": {"enc": {"net": [1, 3]}}}})
        check(rsc(r) == 2004, "UPDATE subscription: %s" % rsc(r))

        # flexContainer CRUD.
        r = ae.request({"op": 1, "fr": "Cpy1", "to": "cse-mn/py1", "ty": 28,
                        "pc": {"cod:binSw": {"rn": "sw", "cnd": "org.onem2m.home.moduleclass.binarySwitch", "state": False}}})
        check(rsc(r) == 2001, "CREATE flexContainer: %s" % rsc(r))
        r = ae.request({"op": 3, "fr": "Cpy1", "to": "cse-mn/py1/sw", "pc": {"cod:binSw": {"state": True}}})
        check(rsc(r) == 2004, "UPDATE flexContainer: %s" % rsc(r))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/sw"})
        check(rsc(r) == 2000 and r["pc"]["cod:binSw"]["state"] is True, "RETRIEVE flexContainer")
        r = ae.request({"op": 4, "fr": "Cpy1", "to": "cse-mn/py1/sw"})
        check(rsc(r) == 2002, "DELETE flexContainer: %s" % rsc(r))

        # accessControlPolicy: another AE is refused until a policy grants RETRIEVE.
        ae2 = Ae(peer, "id-mn", "Cpy2")
        r = ae2.request({"op": 1, "fr": "Cpy2", "to": "cse-mn", "ty": 2, "pc": {"m2m:ae": {"rn": "py2", "api": "Npy2", "rr": False}}})
        check(rsc(r) == 2001, "second AE registered: %s" % rsc(r))
        r = ae2.request({"op": 2, "fr": "Cpy2", "to": "cse-mn/py1/c1"})
        check(rsc(r) == 4103, "another AE refused without a policy: %s" % rsc(r))
        r = ae.request({"op": 1, "fr": "Cpy1", "to": "cse-mn/py1", "ty": 1,
                        "pc": {"m2m:acp": {"rn": "acp", "pv": {"acr": [{"acor": ["Cpy2"], "acop": 2}, {"acor": ["Cpy1"], "acop": 63}]},
                                           "pvs": {"acr": [{"acor": ["Cpy1"], "acop": 63}]}}}})
        check(rsc(r) == 2001, "CREATE accessControlPolicy: %s" % rsc(r))
        r = ae.request({"op": 3, "fr": "Cpy1", "to": "cse-mn/py1/c1", "pc": {"m2m:cnt": {"acpi": ["cse-mn/py1/acp"]}}})
        check(rsc(r) == 2004, "container governed by the policy: %s" % rsc(r))
        r = ae2.request({"op": 2, "fr": "Cpy2", "to": "cse-mn/py1/c1"})
        check(rsc(r) == 2000, "RETRIEVE granted by the policy: %s" % rsc(r))
        r = ae2.request({"op": 4, "fr": "Cpy2", "to": "cse-mn/py1/c1"})
        check(rsc(r) == 4103, "DELETE not granted: %s" % rsc(r))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/acp"})
        check(rsc(r) == 2000 and r["pc"]["m2m:acp"]["pv"]["acr"][0]["acor"] == ["Cpy2"], "RETRIEVE accessControlPolicy")

        # AE RETRIEVE / UPDATE / DELETE.
        r = ae2.request({"op": 3, "fr": "Cpy2", "to": "cse-mn/py2", "pc": {"m2m:ae": {"lbl": ["py:ae2"]}}})
        check(rsc(r) == 2004, "UPDATE AE: %s" % rsc(r))
        r = ae2.request({"op": 2, "fr": "Cpy2", "to": "cse-mn/py2"})
        check(rsc(r) == 2000 and r["pc"]["m2m:ae"]["lbl"] == ["py:ae2"], "RETRIEVE AE")
        r = ae2.request({"op": 4, "fr": "Cpy2", "to": "cse-mn/py2"})
        check(rsc(r) == 2002, "DELETE AE: %s" % rsc(r))

        # Discovery; an expired request.
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn", "fc": {"fu": 1, "lbl": ["py:test"]}})
        check(rsc(r) == 2000 and r["pc"].get("m2m:uril") == ["cse-mn/py1/c1"], "discovery by label: %s" % r.get("pc"))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn", "rqet": "20000101T000000"})
        check(rsc(r) == 4008, "expired request: 4008 (got %s)" % rsc(r))

        # Serializations: CBOR and XML, answered in kind on the matching topic.
        r = ae.request({"op": 1, "fr": "Cpy1", "to": "cse-mn/py1/c1", "ty": 4,
                        "pc": {"m2m:cin": {"con": "from-cbor"}}}, fmt="cbor")
        check(rsc(r) == 2001 and r.get("__topic") == "/oneM2M/resp/Cpy1/id-mn/cbor", "CBOR CREATE: %s" % rsc(r))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/c1/la"}, fmt="cbor")
        check(rsc(r) == 2000 and r["pc"]["m2m:cin"]["con"] == "from-cbor", "CBOR RETRIEVE")
        # An AE whose csz asks for CBOR gets its NOTIFY in CBOR (and the client answers in CBOR).
        ae3 = Ae(peer, "id-mn", "Cpy3")
        r = ae3.request({"op": 1, "fr": "Cpy3", "to": "cse-mn", "ty": 2,
                         "pc": {"m2m:ae": {"rn": "py3", "api": "Npy3", "rr": True, "csz": ["application/cbor"]}}}, fmt="cbor")
        check(rsc(r) == 2001, "CBOR AE registration: %s" % rsc(r))
        r = ae3.request({"op": 1, "fr": "Cpy3", "to": "cse-mn/py3", "ty": 23,
                         "pc": {"m2m:sub": {"rn": "s", "nu": ["Cpy3"], "enc": {"net": [1]}}}}, fmt="cbor")
        check(rsc(r) == 2001, "CBOR subscription: %s" % rsc(r))
        r = ae3.request({"op": 3, "fr": "Cpy3", "to": "cse-mn/py3", "pc": {"m2m:ae": {"lbl": ["cbor"]}}}, fmt="cbor")
        check(rsc(r) == 2004, "CBOR UPDATE: %s" % rsc(r))
        n = peer.take(lambda t, p: t == "/oneM2M/req/id-mn/Cpy3/cbor", 3)
        d = decode(n[1], "cbor") if n else None
        check(isinstance(d, dict) and d.get("op") == 5 and d["pc"]["m2m:sgn"]["nev"]["rep"]["m2m:ae"]["lbl"] == ["cbor"],
              "NOTIFY in CBOR on /oneM2M/req/id-mn/Cpy3/cbor")

        xml_create = ('<m2m:rqp xmlns:m2m="http://www.onem2m.org/xml/protocols"><op>1</op><to>cse-mn/py1/c1</to>'
                      '<fr>Cpy1</fr><rqi>py-x1</rqi><ty>4</ty><pc><m2m:cin><con>from-xml</con></m2m:cin></pc>'
                      '<rvi>3</rvi></m2m:rqp>')
        peer.publish("/oneM2M/req/Cpy1/id-mn/xml", xml_create.encode())
        r = ae.wait("py-x1", "xml")
        check(rsc(r) == 2001 and r.get("__topic") == "/oneM2M/resp/Cpy1/id-mn/xml", "XML CREATE: %s" % rsc(r))
        peer.publish("/oneM2M/req/Cpy1/id-mn/xml",
                     b'<m2m:rqp xmlns:m2m="http://www.onem2m.org/xml/protocols"><op>2</op><to>cse-mn/py1/c1/la</to>'
                     b'<fr>Cpy1</fr><rqi>py-x2</rqi><rvi>3</rvi></m2m:rqp>')
        r = ae.wait("py-x2", "xml")
        con = r["__xml"].findtext(".//con") if "__xml" in r else None
        check(rsc(r) == 2000 and con == "from-xml", "XML RETRIEVE: %s %r" % (rsc(r), con))

        # Mcc: a second gatewayd as IN; the MN (restarted with a registrar) registers and retargets.
        inn = Gatewayd(args, work, "in", 'cse_id: "/id-in" cse_name: "cse-in" role: IN ' + common).start()
        gws.append(inn)
        adm_in = Ae(peer, "id-in", "CAdmin")
        check(wait_cse(adm_in, "CAdmin"), "the IN-CSE answers")
        mn.stop()
        mn2 = Gatewayd(args, work, "mn", 'cse_id: "/id-mn" cse_name: "cse-mn" role: MN ' + common +
                       ' registrar { cse_id: "/id-in" cse_name: "cse-in" }').start()
        gws.append(mn2)
        r = {"rsc": -1}
        end = time.time() + 15
        while rsc(r) != 2000 and time.time() < end:
            r = adm_in.request({"op": 2, "fr": "CAdmin", "to": "cse-in/id-mn"}, timeout=0.5)
            if rsc(r) != 2000:
                time.sleep(0.1)
        check(rsc(r) == 2000 and r["pc"]["m2m:csr"]["csi"] == "/id-mn", "IN holds the MN's remoteCSE: %s" % rsc(r))
        r = ae.request({"op": 2, "fr": "CAdmin", "to": "cse-mn/id-in"}, level="CAdmin")
        check(rsc(r) == 2000 and r["pc"]["m2m:csr"]["csi"] == "/id-in", "MN holds the IN's remoteCSE: %s" % rsc(r))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "/id-in/cse-in"})
        check(rsc(r) == 2000 and r["pc"]["m2m:cb"]["csi"] == "/id-in", "retargeted RETRIEVE through the MN: %s" % rsc(r))

        # The restarted MN kept its tree.
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/c1/la"})
        check(rsc(r) == 2000 and r["pc"]["m2m:cin"]["con"] == "from-xml", "tree kept across the restart")
        r = ae.request({"op": 4, "fr": "Cpy1", "to": "cse-mn/py1/c1/s1"})
        check(rsc(r) == 2002, "DELETE subscription: %s" % rsc(r))
        n = peer.take(lambda t, p: t == "/oneM2M/req/id-mn/Cpy1/json" and b'"sud"' in p, 3)
        check(n is not None and json.loads(n[1])["pc"]["m2m:sgn"].get("sud") is True, "deletion notified (sud)")
        r = ae.request({"op": 4, "fr": "Cpy1", "to": "cse-mn/py1/c1"})
        check(rsc(r) == 2002, "DELETE container: %s" % rsc(r))
        r = ae.request({"op": 2, "fr": "Cpy1", "to": "cse-mn/py1/c1"})
        check(rsc(r) == 4004, "deleted container: 4004")
    finally:
        if FAILURES:
            for g in gws:
                print("---- %s ----\n%s" % (g.name, g.proc.output()[-3000:]))
        if peer:
            peer.close()
        for g in reversed(gws):
            rc = g.stop()
            if rc not in (0, None):
                check(False, "gatewayd %s exit status %s:\n%s" % (g.name, rc, g.proc.output()[-3000:]))
        broker.stop()
        if not FAILURES:
            shutil.rmtree(work, ignore_errors=True)


# ---- local-broker: the gateway's own mosquitto with the 8.4 ACL ----

def test_local_broker(args):
    work = tempfile.mkdtemp(prefix="camgw-paho-lb-")
    port = free_port()
    gw = Gatewayd(args, work, "gw",
                  'cse_id: "/id-mn" cse_name: "cse-mn" request_timeout_ms: 1500 reconnect_min_ms: 100 '
                  'local_broker { listen: "127.0.0.1:%d" restart_min_ms: 200 '
                  'account { username: "Cae1" password: "pw-one" } account { username: "Cae2" password: "pw-two" } }'
                  % port).start()
    peers = []
    broker_pid = -1
    try:
        if not check(wait_port(port), "the gateway's mosquitto listens on %d" % port):
            print(gw.proc.output()[-3000:])
            return
        kids = [p for p in children(gw.pid) if alive(p)]
        check(len(kids) == 1, "one broker child of gatewayd: %s" % kids)
        broker_pid = kids[0] if kids else -1

        # Authentication: no anonymous clients, no wrong passwords.
        anon = Peer(port, "A::anon")
        check(anon.rc == 5, "anonymous client refused (CONNACK %s)" % anon.rc)
        anon.close()
        bad = Peer(port, "A::Cae1", "Cae1", "wrong")
        check(bad.rc == 5, "wrong password refused (CONNACK %s)" % bad.rc)
        bad.close()

        ae1p = Peer(port, "A::Cae1", "Cae1", "pw-one", subs=["/oneM2M/resp/Cae1/#", "/oneM2M/req/id-mn/Cae1/#"])
        ae2p = Peer(port, "A::Cae2", "Cae2", "pw-two",
                    subs=["/oneM2M/resp/Cae2/#", "/oneM2M/reg_resp/Cae2/#", "/oneM2M/req/id-mn/Cae2/#"],
                    responder=notify_responder("id-mn"))
        # ae1 again (another client id, same account) trying to read everything.
        spy = Peer(port, "A::Cae1-spy", "Cae1", "pw-one",
                   subs=["/oneM2M/req/#", "/oneM2M/resp/#", "/oneM2M/reg_resp/#", "/oneM2M/resp/Cae2/#", "#"])
        peers += [ae1p, ae2p, spy]
        check(ae1p.rc == 0 and ae2p.rc == 0 and spy.rc == 0, "AE accounts connect")
        ae1 = Ae(ae1p, "id-mn", "Cae1")
        ae2 = Ae(ae2p, "id-mn", "Cae2")
        if not check(wait_cse(ae1, "Cae1"), "the CSE answers on its local broker"):
            return

        r = ae1.request({"op": 1, "fr": "Cae1", "to": "cse-mn", "ty": 2,
                         "pc": {"m2m:ae": {"rn": "app1", "api": "Na1", "rr": True}}})
        check(rsc(r) == 2001, "Cae1 registers over /oneM2M/req/Cae1/id-mn/json: %s" % rsc(r))
        r = ae2.request({"op": 1, "fr": "Cae2", "to": "cse-mn", "ty": 2,
                         "pc": {"m2m:ae": {"rn": "app2", "api": "Na2", "rr": True}}}, kind="reg_req")
        check(rsc(r) == 2001 and r.get("__topic") == "/oneM2M/reg_resp/Cae2/id-mn/json",
              "Cae2 registers over reg_req with its Credential-ID: %s" % rsc(r))
        r = ae2.request({"op": 1, "fr": "Cae2", "to": "cse-mn/app2", "ty": 3, "pc": {"m2m:cnt": {"rn": "c"}}})
        check(rsc(r) == 2001, "Cae2 creates a container: %s" % rsc(r))
        r = ae2.request({"op": 1, "fr": "Cae2", "to": "cse-mn/app2/c", "ty": 23,
                         "pc": {"m2m:sub": {"rn": "s", "nu": ["Cae2"], "enc": {"net": [3]}}}})
        check(rsc(r) == 2001, "Cae2 subscribes: %s" % rsc(r))
        r = ae2.request({"op": 1, "fr": "Cae2", "to": "cse-mn/app2/c", "ty": 4, "pc": {"m2m:cin": {"con": "secret-2"}}})
        check(rsc(r) == 2001, "Cae2 creates an instance: %s" % rsc(r))
        n = ae2p.take(lambda t, p: t == "/oneM2M/req/id-mn/Cae2/json" and b'"op":5' in p.replace(b" ", b""), 3)
        check(n is not None, "Cae2 receives its NOTIFY")

        # Cae1 publishing as another originator does not reach the CSE.
        r = ae1.request({"op": 1, "fr": "Cae2", "to": "cse-mn/app2/c", "ty": 4, "pc": {"m2m:cin": {"con": "forged"}}},
                        level="Cae2", timeout=0.5)
        stray = ae2p.take(lambda t, p: b"forged" in p, 0.2)
        check(rsc(r) == -1 and stray is None, "Cae1 publishing on /oneM2M/req/Cae2/id-mn/json: dropped by the broker")
        r = ae1.request({"op": 1, "fr": "Cae2", "to": "cse-mn/app2/c", "ty": 4, "pc": {"m2m:cin": {"con": "forged"}}})
        check(rsc(r) == 4103, "Cae1 on its own topic claiming fr Cae2: 4103 (got %s)" % rsc(r))
        r = ae2.request({"op": 2, "fr": "Cae2", "to": "cse-mn/app2/c"})
        check(rsc(r) == 2000 and r["pc"]["m2m:cnt"]["cni"] == 1, "Cae2's container unchanged (cni %s)" %
              r.get("pc", {}).get("m2m:cnt", {}).get("cni"))

        # What the spy got: nothing of Cae2's traffic, nothing of anybody's but Cae1's.
        got = spy.drain(0.2)
        leaked = [t for t, p in got if "Cae2" in t or b"secret-2" in p]
        check(not leaked, "subscriptions to /oneM2M/req/#, /oneM2M/resp/#, /oneM2M/resp/Cae2/#, # got none of "
              "Cae2's traffic (%d messages, leaked %s)" % (len(got), leaked[:3]))
        others = [t for t, p in got if not (t.startswith("/oneM2M/resp/Cae1/id-mn") or t.startswith("/oneM2M/req/id-mn/Cae1"))]
        check(not others, "the spy saw only Cae1's own topics: %s" % others[:3])

        # Supervision: a dead broker is restarted; the CSE and the AEs come back.
        os.kill(broker_pid, signal.SIGKILL)
        end = time.time() + 10
        new = []
        while time.time() < end and not new:
            new = [p for p in children(gw.pid) if p != broker_pid and alive(p)]
            time.sleep(0.05)
        check(len(new) == 1, "a killed broker is restarted (old pid %d, new %s)" % (broker_pid, new))
        for p in peers:
            p.close()
        peers = []
        wait_port(port)
        ae1p = None
        end = time.time() + 10
        while time.time() < end:
            ae1p = Peer(port, "A::Cae1", "Cae1", "pw-one", subs=["/oneM2M/resp/Cae1/#"])
            if ae1p.rc == 0:
                break
            ae1p.close()
            time.sleep(0.1)
        peers.append(ae1p)
        ae1 = Ae(ae1p, "id-mn", "Cae1")
        check(wait_cse(ae1, "Cae1"), "the CSE reconnected to the restarted broker")
        r = ae1.request({"op": 2, "fr": "Cae1", "to": "cse-mn/app1"})
        check(rsc(r) == 2000, "Cae1 served after the broker restart: %s" % rsc(r))
        broker_pid = new[0] if new else -1
    finally:
        for p in peers:
            p.close()
        rc = gw.stop()
        check(rc == 0, "gatewayd stopped cleanly (exit %s)" % rc)
        if broker_pid > 0:
            end = time.time() + 3
            while time.time() < end and alive(broker_pid):
                time.sleep(0.05)
            check(not alive(broker_pid), "the broker (pid %d) stopped with the gateway" % broker_pid)
        if FAILURES:
            print(gw.proc.output()[-4000:])
            try:
                with open(os.path.join(gw.dir, "state", "onem2m", "mosquitto", "mosquitto.log")) as f:
                    print(f.read()[-2000:])
            except OSError:
                pass
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=["binding", "local-broker"])
    ap.add_argument("--gatewayd", required=True)
    ap.add_argument("--module-dir", required=True)
    args = ap.parse_args()
    t0 = time.time()
    {"binding": test_binding, "local-broker": test_local_broker}[args.test](args)
    print("%s: %d failed, %.1f s" % (args.test, len(FAILURES), time.time() - t0))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
