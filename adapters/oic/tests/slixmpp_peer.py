#!/usr/bin/python3
"""Independent OIC RA peer for oic_prosody_it: slixmpp 1.8 as the OIC Client.

1. Opens an IBB session (stanza='message', block-size 100) to the camera JID, sends a pretty-printed
   <rest> GET written from the spec (method spelled "Get"), reads the RESPONSE document back on the
   same session and prints "RESPONSE <base64 of the document>".
2. Accepts the session the camera opens next, forces use_messages=True on it (slixmpp ignores
   stanza='message' on the accepting side), echoes the first document back and prints "ECHOED".
Exit status 0 on success; anything else is a failure the C++ test reports with this output.
"""
import asyncio
import base64
import logging
import sys

import slixmpp

GET = (b'<rest xmlns="rest.oic.org">\n'
       b'  <url method="Get">coap://camera/oic/r/camera/1?if=oic.if.baseline</url>\n'
       b'  <headers>\n'
       b'    <header name="Accept">application/json</header>\n'
       b'    <header name="Accept-Charset">UTF-8</header>\n'
       b'    <header name="Date">Fri, 14 Aug 2015 08:49:37 GMT</header>\n'
       b'  </headers>\n'
       b'</rest>\n')


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password, camera, ca):
        super().__init__(jid, password)
        self.camera = camera
        self.ca_certs = ca
        self.register_plugin('xep_0047', {'auto_accept': True})
        self.buffers = {}
        self.docs = {}
        self.add_event_handler('session_start', self.start)
        self.add_event_handler('ibb_stream_start', self.stream_start)
        self.add_event_handler('ibb_stream_data', self.stream_data)
        self.result = 1

    def stream_start(self, stream):
        if stream.sid != 'py-1':
            stream.use_messages = True  # see module docstring
        self.buffers.setdefault(stream.sid, b'')
        self.docs.setdefault(stream.sid, asyncio.Queue())

    def stream_data(self, stream):
        buf = self.buffers.get(stream.sid, b'') + stream.read()
        while b'</rest>' in buf:
            end = buf.index(b'</rest>') + len(b'</rest>')
            self.docs.setdefault(stream.sid, asyncio.Queue()).put_nowait(buf[:end].strip())
            buf = buf[end:]
        self.buffers[stream.sid] = buf

    async def start(self, _):
        try:
            self.send_presence()
            stream = await self.plugin['xep_0047'].open_stream(
                self.camera, block_size=100, sid='py-1', use_messages=True)
            self.stream_start(stream)
            await stream.sendall(GET)
            doc = await asyncio.wait_for(self.docs['py-1'].get(), 15)
            print('RESPONSE ' + base64.b64encode(doc).decode(), flush=True)
            # Wait for the camera's own session and echo its first document.
            for _ in range(300):
                others = [s for s in self.docs if s != 'py-1']
                if others:
                    break
                await asyncio.sleep(0.05)
            sid = others[0]
            doc2 = await asyncio.wait_for(self.docs[sid].get(), 15)
            s2 = await self.plugin['xep_0047'].api['get_stream'](self.boundjid, sid, self.camera)
            await s2.sendall(doc2)
            print('ECHOED ' + sid, flush=True)
            await asyncio.sleep(0.5)
            self.result = 0
        except Exception as e:  # report, never hang
            print('ERROR %r' % (e,), flush=True)
        finally:
            self.disconnect()


def main():
    port, ca, jid, password, camera = sys.argv[1:6]
    logging.basicConfig(level=logging.ERROR)
    peer = Peer(jid, password, camera, ca)
    peer.connect(('127.0.0.1', int(port)))
    loop = asyncio.get_event_loop()
    loop.run_until_complete(asyncio.wait_for(peer.disconnected, 40))
    sys.exit(peer.result)


if __name__ == '__main__':
    main()
