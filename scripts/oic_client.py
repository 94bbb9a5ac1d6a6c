#!/usr/bin/python3
"""oic_client: a small OIC Remote Access client (OIC RA v1.0 over XMPP), written with slixmpp.

It is an independent peer of the gateway's XC-Proxy: it logs into the owner's XMPP account as
`{user}@{domain}/OIC/1.0/Client/{UUID}` (TLS + SCRAM, CA-verified), learns the bridged cameras from
their presence (`.../OIC/1.0/oic.d.camera/{uuid}`), and sends CRUDN as `<rest xmlns="rest.oic.org">`
documents over XEP-0047 In-Band Bytestreams carried in message stanzas (adapters/oic/PROTOCOL.md).
As a tool (used by scripts/demo.sh):

    oic_client.py --server 127.0.0.1:5222 --ca ca.pem --jid camgw@localhost --password PW
                  [--expect N] [--observe /motion/0] [--post-after S --post HREF JSON] [--duration S]

discovers the cameras (GET /oic/res), observes their motion resource, prints notifications and
presence changes as they arrive, and after S seconds POSTs a setting to the first camera.
As a library: `Client` (used by tests/e2e).
"""
import argparse
import asyncio
import itertools
import json
import logging
import sys
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import slixmpp

NS = '{rest.oic.org}'


def rest_request(method, url, headers=(), body=None):
    h = ''.join('<header name="%s">%s</header>' % (n, escape(v)) for n, v in headers)
    b = '' if body is None else '<body><json xmlns="urn:xmpp:json:0">%s</json></body>' % escape(json.dumps(body))
    return ('<rest xmlns="rest.oic.org"><url method="%s">%s</url><headers>%s</headers>%s</rest>'
            % (method, escape(url), h, b)).encode()


def parse_rest(doc):
    """(method, url/status line, {header: value}, body or None)."""
    root = ET.fromstring(doc)
    url = root.find(NS + 'url')
    headers = {}
    for h in root.iter(NS + 'header'):
        headers[h.get('name')] = (h.text or '').strip()
    body = None
    j = root.find(NS + 'body')
    if j is not None:
        for el in j:
            if el.text and el.text.strip():
                body = json.loads(el.text)
    return url.get('method').upper(), (url.text or '').strip(), headers, body


class Session:
    """One IBB session: requests answered in order; or an observation."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = b''
        self.docs = asyncio.Queue()
        self.lock = asyncio.Lock()


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, ca, out=None):
        self.client_uuid = str(uuidlib.uuid4()).upper()
        super().__init__('%s/OIC/1.0/Client/%s' % (jid, self.client_uuid), password)
        self.ca_certs = ca
        self.out = out or (lambda s: None)
        self.register_plugin('xep_0047', {'auto_accept': True})
        self.register_plugin('xep_0199')
        self.started = asyncio.Event()
        self.cameras = {}           # full JID -> available (bool)
        self.presence_changed = asyncio.Event()
        self.sessions = {}          # sid -> Session
        self.req_sessions = {}      # camera JID -> Session
        self.sid = itertools.count(1)
        self.add_event_handler('session_start', self._start)
        self.add_event_handler('ibb_stream_start', self._stream_start)
        self.add_event_handler('ibb_stream_data', self._stream_data)
        self.add_event_handler('presence_available', lambda p: self._presence(p, True))
        self.add_event_handler('presence_unavailable', lambda p: self._presence(p, False))
        self.presence_log = []      # (time, uuid, available)
        self.tasks = []

    async def _start(self, _):
        self.send_presence(ppriority=-10)  # OIC Client priority range -66..-1 (spec Table 4)
        await self.get_roster()
        self.started.set()

    def _presence(self, p, available):
        res = p['from'].resource
        if '/OIC/' not in '/' + res or '/Client/' in '/' + res:
            return
        full = str(p['from'])
        before = self.cameras.get(full)
        self.cameras[full] = available
        if before != available:
            self.presence_log.append((time.time(), full.rsplit('/', 1)[-1], available))
            self.out('presence: camera %s %s' % (full.rsplit('/', 1)[-1], 'available' if available else 'unavailable'))
        self.presence_changed.set()

    def _stream_start(self, stream):
        stream.use_messages = True  # slixmpp ignores stanza='message' when accepting (ENGINEERING-NOTES)
        self.sessions.setdefault(stream.sid, Session(stream))

    def _stream_data(self, stream):
        s = self.sessions.setdefault(stream.sid, Session(stream))
        s.buf += stream.read()
        while b'</rest>' in s.buf:
            end = s.buf.index(b'</rest>') + len(b'</rest>')
            s.docs.put_nowait(s.buf[:end].strip())
            s.buf = s.buf[end:]

    async def _open(self, camera):
        sid = 'cli-%s-%d' % (self.client_uuid[:8].lower(), next(self.sid))
        stream = await self.plugin['xep_0047'].open_stream(camera, block_size=65535, sid=sid, use_messages=True)
        s = Session(stream)
        self.sessions[sid] = s
        return s

    async def request(self, camera, method, href, body=None, headers=(), timeout=15):
        """One CRUDN request on the camera's request session: (status code, status line, headers, body)."""
        s = self.req_sessions.get(camera)
        if s is None:
            s = self.req_sessions[camera] = await self._open(camera)
        async with s.lock:
            url = 'coap://%s%s' % (camera.rsplit('/', 1)[-1], href)
            await s.stream.sendall(rest_request(method, url, [('Accept', 'application/json')] + list(headers), body))
            try:
                doc = await asyncio.wait_for(s.docs.get(), timeout)
            except asyncio.TimeoutError:
                return 0, 'no answer within %d s' % timeout, {}, None
        _, line, hdrs, rbody = parse_rest(doc)
        return int(line.split()[0]), line, hdrs, rbody

    async def observe(self, camera, href, callback, timeout=15):
        """Registers an observation on its own session; callback(camera, href, n, body, t) per notification."""
        s = await self._open(camera)
        url = 'coap://%s%s' % (camera.rsplit('/', 1)[-1], href)
        await s.stream.sendall(rest_request('GET', url, [('Accept', 'application/json'), ('Observe', '0')]))
        doc = await asyncio.wait_for(s.docs.get(), timeout)
        _, line, hdrs, body = parse_rest(doc)
        if not line.startswith('200') or 'Observe' not in hdrs:
            return line

        async def pump():
            while True:
                d = await s.docs.get()
                t = time.time()
                _, l2, h2, b2 = parse_rest(d)
                callback(camera, href, h2.get('Observe'), b2, t, l2)
        self.tasks.append(asyncio.ensure_future(pump()))
        return line

    def close(self):
        for t in self.tasks:
            t.cancel()
        self.disconnect()

    async def wait_cameras(self, n, timeout=60):
        deadline = time.time() + timeout
        while sum(1 for v in self.cameras.values() if v) < n:
            self.presence_changed.clear()
            left = deadline - time.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.presence_changed.wait(), left)
            except asyncio.TimeoutError:
                return False
        return True


def short(v, n=160):
    s = json.dumps(v)
    return s if len(s) <= n else s[:n] + '...'


async def run(a, cli, out):
    await asyncio.wait_for(cli.started.wait(), 30)
    out('logged in as %s (TLS, SCRAM-SHA-1, server certificate verified)' % cli.boundjid.full)
    if not await cli.wait_cameras(a.expect, 90):
        out('only %d camera(s) available' % sum(cli.cameras.values()))
    cams = sorted(j for j, v in cli.cameras.items() if v)
    for cam in cams:
        code, line, _, body = await cli.request(cam, 'GET', '/oic/res')
        links = body[0]['links'] if code == 200 and body else []
        out('GET /oic/res on %s -> %s: %d resources (%s ...)' % (cam.rsplit('/', 2)[-2] + '/' + cam.rsplit('/', 1)[-1][:8],
                                                                 line, len(links), ', '.join(l['href'] for l in links[4:8])))
        if a.observe and any(l['href'] == a.observe for l in links):
            line = await cli.observe(cam, a.observe, lambda c, h, n, b, t, l: out(
                'NOTIFICATION %s %s Observe:%s %s' % (c.rsplit('/', 1)[-1][:8], h, n, short(b))))
            out('OBSERVE %s on %s -> %s' % (a.observe, cam.rsplit('/', 1)[-1][:8], line))
    if a.post_after > 0 and cams:
        await asyncio.sleep(a.post_after)
        href, body = a.post
        cam = cams[-1]
        t = time.time()
        code, line, _, rbody = await cli.request(cam, 'POST', href, json.loads(body))
        out('POST %s %s on %s -> %s in %.0f ms %s%s' % (href, body, cam.rsplit('/', 1)[-1][:8], line, (time.time() - t) * 1000,
                                                 short(rbody), ' (setting flipped)' if code == 200 else ''))
    t0 = time.time()
    while a.duration <= 0 or time.time() - t0 < a.duration:
        await asyncio.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--server', required=True, help='HOST:PORT of the XMPP server')
    ap.add_argument('--ca', required=True, help='CA certificate (PEM) the server certificate must verify against')
    ap.add_argument('--jid', required=True, help='the owner account, user@domain')
    ap.add_argument('--password', required=True)
    ap.add_argument('--expect', type=int, default=1)
    ap.add_argument('--observe', default='/motion/0')
    ap.add_argument('--post-after', type=float, default=0)
    ap.add_argument('--post', nargs=2, default=['/image/0/brightness', '{"brightness": 30}'], metavar=('HREF', 'JSON'))
    ap.add_argument('--duration', type=float, default=0)
    a = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    out = lambda s: print(s, flush=True)
    cli = Client(a.jid, a.password, a.ca, out)
    host, port = a.server.rsplit(':', 1)
    cli.connect((host, int(port)))
    try:
        cli.loop.run_until_complete(run(a, cli, out))
    finally:
        cli.close()
        try:
            cli.loop.run_until_complete(asyncio.wait_for(cli.disconnected, 3))
        except Exception:
            pass


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
