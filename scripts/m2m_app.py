#!/usr/bin/python3
"""m2m_app: a small oneM2M application (ADN-AE) on the MQTT binding (TS-0010), written with paho-mqtt.

It is an independent peer of the gateway's CSE (hand-built JSON primitives, not the gateway's codec).
As a tool (used by scripts/demo.sh):

    m2m_app.py --broker 127.0.0.1:1883 [--cse-id /id-mn --cse-name cse-mn --ae Cdemo-app]
               [--watch] [--set-after S --set MODULE.ATTR=VALUE] [--duration S]

registers the AE, discovers the bridged cameras (flexContainers under cse-mn/camgw), subscribes to
their motion event containers and their online state, prints every NOTIFY as it arrives, and after S
seconds flips a camera setting with an UPDATE. As a library: `App` (used by tests/e2e and tests/bench).
"""
import argparse
import itertools
import json
import queue
import sys
import threading
import time

import paho.mqtt.client as mqtt


def topic_id(i):
    return i.lstrip('/').replace('/', ':')


class App:
    def __init__(self, host, port, ae='Cdemo-app', cse_id='/id-mn', cse_name='cse-mn', on_notify=None, log=None):
        self.ae, self.cse_id, self.cse_name = ae, cse_id, cse_name
        self.base = cse_name
        self.on_notify = on_notify
        self.log = log or (lambda s: None)
        self.pending = {}
        self.lock = threading.Lock()
        self.seq = itertools.count(1)
        self.notifications = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.c = mqtt.Client(client_id='A::' + topic_id(ae), clean_session=True)
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_message = self._on_message
        self.c.max_inflight_messages_set(1000)
        self.c.connect(host, port, keepalive=60)
        try:  # TCP_NODELAY (ENGINEERING-NOTES: Nagle costs ~40 ms per round trip)
            import socket
            self.c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except Exception:
            pass
        self.c.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError('m2m_app: no CONNACK/SUBACK from the broker at %s:%d' % (host, port))

    def _on_connect(self, c, u, flags, rc):
        me = topic_id(self.ae)
        c.subscribe([('/oneM2M/req/+/%s/#' % me, 1), ('/oneM2M/resp/%s/+/#' % me, 1)])
        self.connected.set()

    def _on_message(self, c, u, msg):
        try:
            prim = json.loads(msg.payload)
        except ValueError:
            self.log('undecodable message on %s' % msg.topic)
            return
        parts = msg.topic.split('/')
        if parts[2] == 'resp':
            with self.lock:
                slot = self.pending.pop(prim.get('rqi'), None)
            if slot:
                slot[1].append(prim)
                slot[0].set()
            return
        # a request to us: a NOTIFY (op 5); answer 2000 on the response topic
        rsp = {'rsc': 2000, 'rqi': prim.get('rqi'), 'to': prim.get('fr'), 'fr': self.ae, 'rvi': '3'}
        c.publish('/oneM2M/resp/%s/%s/json' % (parts[3], parts[4]), json.dumps(rsp), qos=1)
        if prim.get('op') == 5:
            t = time.time()
            self.notifications.put((t, prim))
            if self.on_notify:
                self.on_notify(prim, t)

    def request(self, op, to, pc=None, ty=None, timeout=15, **extra):
        rqi = 'app-%d' % next(self.seq)
        prim = {'op': op, 'to': to, 'fr': self.ae, 'rqi': rqi, 'rvi': '3'}
        if ty is not None:
            prim['ty'] = ty
        if pc is not None:
            prim['pc'] = pc
        prim.update(extra)
        ev, box = threading.Event(), []
        with self.lock:
            self.pending[rqi] = (ev, box)
        self.c.publish('/oneM2M/req/%s/%s/json' % (topic_id(self.ae), topic_id(self.cse_id)), json.dumps(prim), qos=1)
        if not ev.wait(timeout):
            with self.lock:
                self.pending.pop(rqi, None)
            return {'rsc': 0, 'pc': {'m2m:dbg': 'no response within %d s' % timeout}}
        return box[0]

    # ---- the application's steps ----
    def register(self):
        r = self.request(1, self.base, ty=2, pc={'m2m:ae': {'rn': self.ae.lstrip('C') or 'app', 'api': 'Ncamgw-demo',
                                                            'rr': True, 'srv': ['3']}})
        if r['rsc'] not in (2001, 4105):
            raise RuntimeError('AE registration failed: %s' % json.dumps(r))
        return r['rsc']

    def devices(self):
        """{uuid: flexContainer attributes} of the bridged cameras."""
        r = self.request(2, '%s/camgw' % self.base, fc={'fu': 1, 'ty': [28], 'lvl': 1})
        out = {}
        for uri in (r.get('pc') or {}).get('m2m:uril', []):
            d = self.retrieve(uri)
            if d:
                out[uri.rsplit('/', 1)[-1]] = d
        return out

    def retrieve(self, to):
        r = self.request(2, to)
        if r['rsc'] != 2000:
            return None
        return next(iter(r['pc'].values()))

    def children(self, to, ty):
        r = self.request(2, to, fc={'fu': 1, 'ty': [ty], 'lvl': 1})
        return (r.get('pc') or {}).get('m2m:uril', [])

    def subscribe(self, to, net=(1,), rn='app-sub'):
        r = self.request(1, to, ty=23, pc={'m2m:sub': {'rn': rn, 'nu': [self.ae], 'enc': {'net': list(net)},
                                                       'nct': 1}})
        return r['rsc']

    def update(self, to, tag, attrs, timeout=15):
        return self.request(3, to, pc={tag: attrs}, timeout=timeout)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def describe(prim):
    """One line for a NOTIFY."""
    sgn = (prim.get('pc') or {}).get('m2m:sgn', {})
    sur = sgn.get('sur', '?')
    rep = (sgn.get('nev') or {}).get('rep', {})
    if 'm2m:cin' in rep:
        cin = rep['m2m:cin']
        return 'NOTIFY %s: new contentInstance %s con=%s' % (sur, (cin.get('lbl') or ['?'])[0], json.dumps(cin.get('con')))
    for tag, a in rep.items():
        keep = {k: v for k, v in a.items() if k not in ('ri', 'pi', 'ct', 'lt', 'ty', 'st', 'rn', 'cnd', 'lbl', 'cs',
                                                         'dvnm')}
        return 'NOTIFY %s: %s %s' % (sur, tag, json.dumps(keep))
    return 'NOTIFY %s' % json.dumps(sgn)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--broker', required=True, help='HOST:PORT of the MQTT broker the CSE uses')
    ap.add_argument('--cse-id', default='/id-mn')
    ap.add_argument('--cse-name', default='cse-mn')
    ap.add_argument('--ae', default='Cdemo-app', help='AE-ID (granted RETRIEVE, UPDATE and DISCOVER on the cameras by camera_access)')
    ap.add_argument('--expect', type=int, default=1, help='wait until this many cameras are bridged')
    ap.add_argument('--set-after', type=float, default=0, help='seconds after subscribing; 0 = never')
    ap.add_argument('--set', default='brightness.brightness=70', help='MODULE.ATTRIBUTE=VALUE (JSON value)')
    ap.add_argument('--duration', type=float, default=0, help='exit after S seconds (0 = until killed)')
    a = ap.parse_args()
    out = lambda s: print(s, flush=True)
    host, port = a.broker.rsplit(':', 1)
    t0 = time.time()
    app = App(host, int(port), a.ae, a.cse_id, a.cse_name, on_notify=lambda p, t: out(describe(p)), log=out)
    out('connected to the broker as A::%s; registering AE %s on %s (%s)' % (topic_id(a.ae), a.ae, a.cse_name, a.cse_id))
    out('AE registration: rsc %d' % app.register())
    devs = {}
    while len(devs) < a.expect:
        devs = app.devices()
        if len(devs) < a.expect:
            time.sleep(0.5)
    subs = 0
    for uuid, d in sorted(devs.items()):
        dev = '%s/camgw/%s' % (a.cse_name, uuid)
        out('camera %s %s (%s) online=%s' % (uuid, d.get('dvnm'), d.get('cnd'), d.get('online')))
        app.subscribe(dev, net=(1,), rn='app-online')
        for c in app.children(dev, 3):
            if app.subscribe(c, net=(3,), rn='app-events') == 2001:
                subs += 1
    out('subscribed to %d motion event container(s) and %d camera(s); waiting for NOTIFYs' % (subs, len(devs)))
    if a.set_after > 0:
        time.sleep(a.set_after)
        uuid = sorted(devs)[0]
        mod, rest = a.set.split('.', 1)
        attr, val = rest.split('=', 1)
        target = '%s/camgw/%s/%s' % (a.cse_name, uuid, mod)
        m = app.retrieve(target)
        tag = 'cod:' + (m or {}).get('cnd', 'x.' + mod).rsplit('.', 1)[-1]
        out('UPDATE %s %s=%s (the CSE asks the camera and answers when it confirmed)' % (target, attr, val))
        t = time.time()
        r = app.update(target, tag, {attr: json.loads(val)})
        out('UPDATE response: rsc %s in %.0f ms %s' % (r['rsc'], (time.time() - t) * 1000,
                                                      'setting flipped' if r['rsc'] == 2004 else json.dumps(r.get('pc'))))
    while a.duration <= 0 or time.time() - t0 < a.duration:
        time.sleep(0.2)
    app.close()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
