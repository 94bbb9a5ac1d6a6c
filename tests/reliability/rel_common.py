"""Shared pieces of the reliability tests (issue 8): the stack, camsim's control socket and ack log,
the oneM2M side as an independent AE sees it, and process memory figures. See README.md here."""
import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import camgw_stack  # noqa: E402,F401
from camgw_stack import Stack  # noqa: E402,F401
from m2m_app import App  # noqa: E402,F401

GENERIC_IPC = os.path.join(ROOT, 'mappings', 'models', 'thing-models', 'generic-ipc.json')
T0 = time.time()
FAILS = []


def log(s):
    print('[%7.2f] %s' % (time.time() - T0, s), flush=True)


def check(cond, what):
    log(('PASS ' if cond else 'FAIL ') + what)
    if not cond:
        FAILS.append(what)
    return cond


def control(path, cmd, timeout=3.0):
    """One camsim control command over its Unix socket; returns the reply text (camsim writes each
    reply, one or several lines, with one write ending in a newline)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    buf = b''
    try:
        s.connect(path)
        s.sendall((cmd + '\n').encode())
        while not buf.endswith(b'\n'):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, OSError):
        pass
    finally:
        s.close()
    return buf.decode(errors='replace')


def stats(path):
    """camsim's `stats` line as a dict of integers."""
    out = {}
    for tok in control(path, 'stats').split():
        if '=' in tok:
            k, v = tok.split('=', 1)
            names = {'events': ('events_raised', 'events_sent', 'events_acked'),
                     'reports': ('reports_sent', 'reports_acked')}.get(k, (k,))
            try:
                for name, x in zip(names, v.split('/')):
                    out[name] = int(x)
            except ValueError:
                pass
    return out


def wait_until(pred, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def read_acks(path):
    """camsim --ack-log: [(serial, seq, count)] in PUBACK order (a retransmission may appear twice)."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 3:
                out.append((p[0], int(p[1]), int(p[2])))
    return out


class M2M:
    """The oneM2M side: an AE (the CSE's admin_originator) on the co-located broker."""

    def __init__(self, stack, ae):
        # the CSE answers once its subscriptions on the broker are acknowledged
        wait_until(lambda: '"subscribed":true' in stack.gatewayctl('status')[1].replace(' ', ''), 20, 0.1)
        self.app = App('127.0.0.1', stack.mqtt_port, ae)
        self.app.register()
        self.serial_of = {}   # device uuid -> serial
        self.event_cnt = {}   # serial -> container path

    def discover(self, want, timeout=30):
        def ok():
            for u, d in self.app.devices().items():
                sn = d.get('dvnm', '').split()[-1] if d.get('dvnm') else None
                if sn:
                    self.serial_of[u] = sn
            return len(self.serial_of) >= want
        wait_until(ok, timeout, 0.5)
        for u, sn in self.serial_of.items():
            self.event_cnt[sn] = '%s/camgw/%s/motionEvents' % (self.app.base, u)
        return len(self.serial_of)

    def raise_mni(self, mni=10000000):
        """Containers keep 100 instances by default; keep every instance for the count."""
        bad = 0
        for sn, c in self.event_cnt.items():
            r = self.app.update(c, 'm2m:cnt', {'mni': mni, 'mbs': 1 << 40})
            bad += r.get('rsc') != 2004
        return bad

    def events(self, serial, timeout=15):
        """[(count, basic.UUID)] of the camera's stored contentInstances, in creation order."""
        r = self.app.request(2, self.event_cnt[serial], rcn=4, timeout=timeout)
        if r.get('rsc') != 2000:
            raise RuntimeError('RETRIEVE rcn=4 %s -> %s' % (self.event_cnt[serial], json.dumps(r)[:200]))
        cnt = next(iter(r['pc'].values()))
        out = []
        for cin in cnt.get('m2m:cin', []):
            con = cin.get('con') or {}
            out.append((con.get('count'), (con.get('basic') or {}).get('UUID'), cin.get('ct'), cin.get('ri')))
        # creation order: resource ids / ct are monotonic in the CSE; keep the CSE's child order
        return out

    def close(self):
        self.app.close()


def proc_mem(pid):
    """(VmRSS, VmHWM) in KiB of a live process."""
    rss = hwm = 0
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    rss = int(line.split()[1])
                elif line.startswith('VmHWM:'):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def stop_all(stack):
    pids = [p.pid for p in stack.procs]
    st = stack.stop()
    log('exit status: %s' % ' '.join('%s=%s' % kv for kv in st.items()))
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
        except PermissionError:
            pass
    check(not alive, 'every process stopped by PID (%d started, alive: %s)' % (len(pids), alive))
    return st


def start_gateway(stack, devices):
    """mosquitto, the provisioned generic-ipc cameras (devices: [(serial prefix, count)]) and gatewayd
    with the shipped config (osap + onem2m, admin originator Crel-app). Returns (config path, process)."""
    stack.start_mosquitto()
    for prefix, n in devices:
        stack.add_devices(prefix, n, 'generic-ipc')
    cfg = stack.gateway_config(admin_originator='Crel-app', without_oic=True)
    return cfg, stack.start_gatewayd(config=cfg)


def start_cameras(stack, m2m, prefix, n, report_interval_ms, extra=()):
    """camsim with n cameras reporting every report_interval_ms and logging PUBACKs; checks that all
    are online and bridged by the CSE. Returns (camsim process, ack log path)."""
    acklog = stack.file('acks.log')
    cams = stack.start_camsim('camsim', prefix, n, GENERIC_IPC,
                              extra=['--report-interval-ms', str(report_interval_ms), '--event-interval-ms', '0',
                                     '--ack-log', acklog, '--quiet'] + list(extra))
    check(bool(wait_until(lambda: stats(cams.control).get('online', 0) >= n, 60)), 'all %d cameras online' % n)
    check(m2m.discover(n) >= n, 'the CSE bridges every camera (flexContainers)')
    return cams, acklog


def record_exception(e):
    """An unexpected exception in a test body: its traceback, and a failure."""
    import traceback
    traceback.print_exc()
    FAILS.append('exception: %r' % e)


def teardown(stack, m2m, lines, verbose, tail):
    """Closes the app, prints the last `tail` log lines on failure (unless verbose), stops the stack."""
    if m2m:
        m2m.close()
    if FAILS and not verbose:
        print('\n'.join(lines[-tail:]))
    stop_all(stack)


def finish(name):
    if FAILS:
        log('%s: %d FAILED: %s' % (name, len(FAILS), '; '.join(FAILS)))
        return 1
    log('%s: all checks passed in %.1f s' % (name, time.time() - T0))
    return 0


def stack_oic_online(stack):
    """Cameras the OIC adapter has logged into the XMPP server ("available" in gatewayctl status)."""
    try:
        st = json.loads(stack.gatewayctl('status')[1])
        return st['adapters']['oic']['status'].get('available', 0)
    except (ValueError, KeyError):
        return 0
