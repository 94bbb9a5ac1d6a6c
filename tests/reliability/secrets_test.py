#!/usr/bin/python3
"""Secrets never appear in logs (issue 8). Runs the whole stack — mosquitto, prosody, gatewayd
(osap + onem2m + oic, every component at DEBUG), camsim cameras onboarding by F1 with a random
verification code, events and reports, a oneM2M AE — then greps every log the run produced (gatewayd,
camsim, mosquitto, prosody, and prosody's/mosquitto's own files if any) for every key and credential
the run used:
  - each camera's verification code (the gateway config and camsim --vcode),
  - every secret in the gateway's registry (registry.db read directly with sqlite3: gw.v1.Device
    .secrets — verification code, master key, session key, ...), raw when printable, and as hex
    (lower/upper), base64 and base64url,
  - the master keys camsim keeps in its state file,
  - the XMPP account password.
(MQTT: the co-located broker is anonymous and the DAS ignores the device password, so there is no
MQTT password in this run; camsim's fixed "test" password is not a secret.) Expect zero hits.

usage: secrets_test.py [--build-dir DIR] [--cameras N] [--verbose]
"""
import argparse
import base64
import glob
import os
import random
import sqlite3
import string
import time

import rel_common as rc
from rel_common import check, log


def varint(b, i):
    v = s = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7f) << s
        s += 7
        if not x & 0x80:
            return v, i


def fields(b):
    """(field number, wire type, value) of a protobuf message (value: int or bytes)."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError('wire type %d' % wt)
        yield f, wt, v


def registry_secrets(db):
    """[(native_id, secret name, bytes)] from gw.v1.Device.secrets (field 9, map<string, bytes>)."""
    out = []
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        for native, rec in con.execute('SELECT native_id, record FROM device'):
            for f, wt, v in fields(bytes(rec)):
                if f == 9 and wt == 2:
                    k = val = b''
                    for f2, _, v2 in fields(v):
                        if f2 == 1:
                            k = v2
                        elif f2 == 2:
                            val = v2
                    out.append((native, k.decode(errors='replace'), val))
    finally:
        con.close()
    return out


def forms(secret):
    """The ways a secret could be printed."""
    if isinstance(secret, str):
        secret = secret.encode()
    out = set()
    try:
        t = secret.decode('ascii')
        if t.isprintable() and len(t) >= 6:
            out.add(t)
    except UnicodeDecodeError:
        pass
    if len(secret) >= 6:
        out.add(secret.hex())
        out.add(secret.hex().upper())
        b64 = base64.b64encode(secret).decode().rstrip('=')
        out.add(b64)
        out.add(base64.urlsafe_b64encode(secret).decode().rstrip('='))
    return {f for f in out if len(f) >= 6}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build-dir', default=os.environ.get('GW_BUILD_DIR', os.path.join(rc.ROOT, 'build')))
    ap.add_argument('--cameras', type=int, default=3)
    ap.add_argument('--verbose', action='store_true')
    a = ap.parse_args()
    logdir = None
    files = {}

    def sink(prefix, line):
        f = files.get(prefix)
        if f is None:
            f = files[prefix] = open(os.path.join(logdir, '%s.out.log' % prefix), 'a')
        f.write(line + '\n')
        f.flush()
        if a.verbose:
            rc.camgw_stack.default_sink(prefix, line)
    stack = rc.Stack(build_dir=a.build_dir, sink=sink, gw_log_level='DEBUG')
    logdir = stack.file('logs')
    os.makedirs(logdir)
    m2m = None
    try:
        vcode = ''.join(random.choice(string.ascii_uppercase) for _ in range(6))
        stack.start_mosquitto()
        stack.start_prosody()
        stack.add_devices('SEC', a.cameras, 'generic-ipc', vcode=vcode)
        cfg = stack.gateway_config(admin_originator='Crel-app')
        stack.start_gatewayd(config=cfg)
        m2m = rc.M2M(stack, 'Crel-app')
        cams = stack.start_camsim('camsim', 'SEC', a.cameras, rc.GENERIC_IPC,
                                  extra=['--vcode', vcode, '--report-interval-ms', '300', '--event-interval-ms', '500',
                                         '--flow', 'F1'])
        check(bool(rc.wait_until(lambda: rc.stats(cams.control).get('online', 0) >= a.cameras, 60)),
              'cameras onboarded (F1) and online')
        check(m2m.discover(a.cameras) >= a.cameras, 'the CSE bridges the cameras')
        ok = rc.wait_until(lambda: '"oic"' in stack.gatewayctl('status')[1], 10)
        check(bool(ok), 'the OIC adapter runs')
        ok = rc.wait_until(lambda: rc.stack_oic_online(stack) >= a.cameras, 20, 0.3)
        check(bool(ok), 'the OIC adapter logged the cameras into prosody (XMPP password used)')
        # a re-onboarding by F3 (stored master key) and a DAS reconnect, so more keys get used
        rc.control(cams.control, 'offline all')
        time.sleep(0.5)
        rc.control(cams.control, 'online all')
        rc.wait_until(lambda: rc.stats(cams.control).get('online', 0) >= a.cameras, 30)
        time.sleep(3)
        m2m.close()
        m2m = None
        reg = stack.file('state', 'registry.db')
        secrets = registry_secrets(reg)
        names = sorted({n for _, n, _ in secrets})
        check(len(secrets) >= 2 * a.cameras, 'registry.db holds %d secrets (%s)' % (len(secrets), ', '.join(names)))
        needles = {}
        for native, name, val in secrets:
            for f in forms(val):
                needles[f] = '%s %s' % (native, name)
        for f in forms(vcode):
            needles[f] = 'verification code'
        for f in forms(stack.xmpp_password):
            needles[f] = 'XMPP password'
        state = stack.file('camsim-SEC.state')
        if os.path.exists(state):
            for line in open(state):
                p = line.split()
                if len(p) == 3 and p[2] != '-':
                    for f in forms(p[2]):
                        needles[f] = '%s master key (camsim state)' % p[0]
        log('%d secret values, %d searched forms' % (len(secrets) + 2, len(needles)))
    except Exception as e:
        import traceback
        traceback.print_exc()
        rc.FAILS.append('exception: %r' % e)
        needles = {}
    finally:
        if m2m:
            m2m.close()
        keep = stack.keep
        stack.keep = True  # grep the logs after every process stopped (they flush on exit)
        rc.stop_all(stack)
        stack.keep = keep
    for f in files.values():
        f.close()
    logs = sorted(p for p in glob.glob(os.path.join(stack.dir, '**', '*.log'), recursive=True)
                  if os.sep + 'journal' + os.sep not in p)
    total = 0
    hits = []
    for path in logs:
        text = open(path, errors='replace').read()
        total += len(text)
        for needle, what in needles.items():
            if needle in text:
                line = next(l for l in text.splitlines() if needle in l)
                hits.append('%s: %s in %s' % (os.path.relpath(path, stack.dir), what, line[:160]))
    log('grepped %d log files (%d bytes): %s' % (len(logs), total, ', '.join(os.path.relpath(p, stack.dir) for p in logs)))
    cfgtext = open(stack.file('gateway.textproto')).read() if os.path.exists(stack.file('gateway.textproto')) else ''
    check(vcode in cfgtext and stack.xmpp_password in cfgtext,
          'control: the same search finds the verification code and XMPP password in the gateway config')
    check(total > 10000 and len(logs) >= 3, 'the logs are substantial (%d bytes in %d files)' % (total, len(logs)))
    check(not hits, 'secrets in logs: %d hits%s' % (len(hits), (': ' + ' | '.join(hits[:10])) if hits else ''))
    log('FIGURES secrets: secrets_searched=%d forms=%d log_files=%d log_bytes=%d hits=%d' % (
        len(set(needles.values())), len(needles), len(logs), total, len(hits)))
    import shutil
    shutil.rmtree(stack.dir, ignore_errors=True)
    return rc.finish('secrets')


if __name__ == '__main__':
    raise SystemExit(main())
