#!/usr/bin/python3
"""camgw_stack: start the whole product on loopback — mosquitto, prosody, gatewayd, camsim.

Used by scripts/demo.py (the README's demo), tests/e2e/ and tests/bench/. Everything lives in one
temporary directory; every port is chosen free at run time on 127.0.0.1; every process is started
in its own session (so a terminal's Ctrl-C reaches only the orchestrator) and stopped by its PID.

Each child's output is read line by line and handed to `sink(prefix, line)` (default: printed as
`[prefix] line`); lines are also kept so callers can wait for a pattern (`wait_line`).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

XMPP_DOMAIN = 'localhost'
XMPP_USER = 'camgw'         # the account every bridged camera logs into (OIC RA: one account per owner)
CSE_ID = '/id-mn'
CSE_NAME = 'cse-mn'


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(0.2)
        s.connect(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def prosody_filter(line):
    # prosody prints a multi-line banner about an optional DNS library; not relevant on loopback
    if not line.strip() or line.startswith('**') or 'lua-unbound' in line or 'luaunbound' in line or \
            line.startswith(('This package', '  Debian', '       luarocks', '         Source', 'Old DNS', 'More help')):
        return None
    return line


def default_sink(prefix, line):
    sys.stdout.write('[%-9s] %s\n' % (prefix, line))
    sys.stdout.flush()


class Proc:
    """One child process: started in its own session, output prefixed, stopped by PID."""

    def __init__(self, stack, prefix, argv, stdin=False, env=None, filt=None, logfile=None):
        self.prefix = prefix
        self.argv = argv
        self.stack = stack
        self.filt = filt
        self.log = open(logfile, 'a') if logfile else None
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                  env=env, bufsize=1, text=True, errors='replace')
        self.pid = self.p.pid
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip('\n')
            if self.log:
                self.log.write(line + '\n')
                self.log.flush()
            self.stack._line(self.prefix, line, self.filt)

    def send(self, text):
        self.p.stdin.write(text + '\n')
        self.p.stdin.flush()

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=8):
        if self.p.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
        self.t.join(2)
        if self.log:
            self.log.close()
            self.log = None
        return self.p.returncode


class Stack:
    def __init__(self, build_dir=None, sink=default_sink, keep=False, gw_log_level='INFO'):
        self.build = os.path.abspath(build_dir or os.environ.get('GW_BUILD_DIR') or os.path.join(ROOT, 'build'))
        self.dir = tempfile.mkdtemp(prefix='camgw-stack.', dir=os.environ.get('CAMGW_STACK_TMP'))
        os.chmod(self.dir, 0o700)
        self.sink = sink
        self.keep = keep
        self.gw_log_level = gw_log_level
        self.procs = []
        self.lines = []          # (prefix, line)
        self.cv = threading.Condition()
        self.mqtt_port = self.xmpp_port = self.lbs_port = self.das_port = 0
        self.xmpp_password = 'demo-' + os.urandom(6).hex()
        self.ca = os.path.join(self.dir, 'xmpp', 'ca.pem')
        self.devices = []        # (serial, vcode, model)
        self.gw = None

    # ---- output ----
    def _line(self, prefix, line, filt=None):
        with self.cv:
            self.lines.append((prefix, line))
            self.cv.notify_all()
        if filt:
            line = filt(line)
            if line is None:
                return
        self.sink(prefix, line)

    def say(self, prefix, line):
        self._line(prefix, line)

    def wait_line(self, prefix, pattern, timeout=20, start=0, count=1):
        """Waits until `count` lines of `prefix` from index `start` match `pattern`; returns the matches."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        with self.cv:
            while True:
                hits = [l for p, l in self.lines[start:] if p == prefix and rx.search(l)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cv.wait(min(left, 0.2))

    def mark(self):
        with self.cv:
            return len(self.lines)

    def bin(self, name):
        return os.path.join(self.build, 'bin', name)

    def file(self, *parts):
        return os.path.join(self.dir, *parts)

    # ---- mosquitto ----
    def start_mosquitto(self, port=None):
        """port: reuse a port (restart after an outage); default a free one."""
        self.mqtt_port = port or free_port()
        conf = self.file('mosquitto.conf')
        with open(conf, 'w') as f:
            f.write('listener %d 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n'
                    'max_inflight_messages 1000\nmax_queued_messages 100000\nlog_dest stdout\n'
                    'log_type error\nlog_type warning\n' % self.mqtt_port)
        mosq = shutil.which('mosquitto') or '/usr/sbin/mosquitto'
        self.mosquitto = self._start('mosquitto', [mosq, '-c', conf])
        self._wait_port(self.mqtt_port, self.mosquitto)
        return self.mqtt_port

    # ---- prosody ----
    def start_prosody(self):
        d = self.file('xmpp')
        os.makedirs(os.path.join(d, 'data'), exist_ok=True)
        os.makedirs(os.path.join(d, 'certs'), exist_ok=True)
        with open(os.path.join(d, 'server.ext'), 'w') as f:
            f.write('subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\n'
                    'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' % XMPP_DOMAIN)
        ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        for argv in (
            ['openssl', 'req', '-x509'] + ec + ['-keyout', d + '/ca.key', '-out', self.ca, '-days', '2', '-subj',
                                                '/CN=camgw demo CA', '-addext', 'basicConstraints=critical,CA:TRUE',
                                                '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
            ['openssl', 'req'] + ec + ['-keyout', d + '/server.key', '-out', d + '/server.csr', '-subj',
                                       '/CN=' + XMPP_DOMAIN],
            ['openssl', 'x509', '-req', '-in', d + '/server.csr', '-CA', self.ca, '-CAkey', d + '/ca.key',
             '-CAcreateserial', '-out', d + '/server.crt', '-days', '2', '-extfile', d + '/server.ext']):
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.xmpp_port = free_port()
        cfg = os.path.join(d, 'prosody.cfg.lua')
        ssl = 'ssl = { key = "%s/server.key", certificate = "%s/server.crt" }\n' % (d, d)
        with open(cfg, 'w') as f:
            f.write('pidfile = "%s/prosody.pid"\ndata_path = "%s/data"\nrun_as_root = true\ndaemonize = false\n'
                    'certificates = "%s/certs"\ninterfaces = { "127.0.0.1" }\nc2s_ports = { %d }\ns2s_ports = { }\n'
                    'c2s_require_encryption = true\nallow_registration = false\n'
                    'network_settings = { nagle = false }\n'
                    'authentication = "internal_hashed"\nstorage = "internal"\n'
                    'modules_enabled = { "roster", "saslauth", "tls", "disco", "private", "ping", "posix" }\n'
                    'modules_disabled = { "s2s" }\n'
                    'log = { { levels = { min = "warn" }, to = "console" } }\n'
                    '%sVirtualHost "%s"\n  %s' % (d, d, d, self.xmpp_port, ssl, XMPP_DOMAIN, ssl))
        self.prosody_cfg = cfg
        self.register_xmpp(XMPP_USER, self.xmpp_password)
        self.prosody = self._start('prosody', ['prosody', '--config', cfg, '-F'], filt=prosody_filter)
        self._wait_port(self.xmpp_port, self.prosody)
        return self.xmpp_port

    def register_xmpp(self, user, password):
        subprocess.run(['prosodyctl', '--config', self.prosody_cfg, 'register', user, XMPP_DOMAIN, password],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # ---- gatewayd ----
    def add_devices(self, prefix, count, model, vcode='ABCDEF', first=1):
        for i in range(first, first + count):
            self.devices.append(('%s%05d' % (prefix, i), vcode, model))

    def gateway_config(self, admin_originator=None, extra_osap='', extra_onem2m='', log_level=None, without_oic=False,
                       camera_app=None):
        """The shipped firmware/etc/camgw/gateway.textproto with this stack's ports, paths and devices.
        without_oic: drop the oic adapter (and route camera traffic to onem2m only), e.g. for a benchmark
        with 1,000 cameras that would otherwise log 1,000 XMPP sessions into one account.
        camera_app: the AE-ID the shipped camera_access rule grants (instead of Cdemo-app)."""
        src = os.path.join(ROOT, 'firmware', 'etc', 'camgw', 'gateway.textproto')
        text = open(src).read()
        if without_oic:
            text, n = re.subn(r'\n# --- OIC[^\n]*\nadapter \{\n  name: "oic".*?\n\}\n', '\n', text, 1, re.S)
            if n != 1:
                raise RuntimeError('shipped gateway.textproto: no oic adapter block')
            routes = self.file('routes.textproto')
            with open(routes, 'w') as f:
                f.write('route { name: "camera-uplink" from_adapter: "osap" kind: REPORT kind: EVENT to_adapter: "onem2m" }\n')
            text = text.replace('mapping_file: "mappings/routes.textproto"', 'mapping_file: "%s"' % routes)
        self.lbs_port = self.lbs_port or free_port()
        self.das_port = self.das_port or free_port()
        subs = [
            (r'state_dir: "[^"]*"', 'state_dir: "%s"' % self.file('state')),
            (r'log \{ level: \w+', 'log { level: %s' % (log_level or self.gw_log_level)),
            (r'mapping_file: "mappings/', 'mapping_file: "%s/mappings/' % ROOT),
            (r'lbs_port: \d+', 'lbs_port: %d' % self.lbs_port),
            (r'listen_port: \d+', 'listen_port: %d' % self.das_port),
            (r'url: "mqtt://127\.0\.0\.1:\d+"', 'url: "mqtt://127.0.0.1:%d"' % self.mqtt_port),
            (r'server_port: \d+', 'server_port: %d' % self.xmpp_port),
            (r'# ca_file: "[^"]*"', 'ca_file: "%s"' % self.ca),
            (r'lbs_address: "[^"]*"', 'lbs_address: "127.0.0.1"'),
            (r'listen_address: "[^"]*"', 'listen_address: "127.0.0.1"'),
            (r'password: "[^"]*"', 'password: "%s"' % self.xmpp_password),
        ]
        for rx, rep in subs:
            text, n = re.subn(rx, rep, text, count=0 if 'mapping_file' in rx else 1)
            if n < 1 and not (without_oic and ('server_port' in rx or 'ca_file' in rx or 'password' in rx)):
                raise RuntimeError('shipped gateway.textproto: pattern %r not found' % rx)
        if admin_originator:
            text, n = re.subn(r'admin_originator: "[^"]*"', 'admin_originator: "%s"' % admin_originator, text, 1)
            if n != 1:
                raise RuntimeError('shipped gateway.textproto: no admin_originator')
        if camera_app:
            text, n = re.subn(r'camera_access \{ originators: \["Cdemo-app"\]', 'camera_access { originators: ["%s"]' % camera_app,
                              text, 1)
            if n != 1:
                raise RuntimeError('shipped gateway.textproto: no camera_access rule for Cdemo-app')
        dev = ''.join('      device { serial: "%s" verification_code: "%s" model: "%s" }\n' % d for d in self.devices)
        text, n = re.subn(r'(# @devices@[^\n]*\n)', lambda m: m.group(1) + dev + extra_osap, text, 1)
        if n != 1:
            raise RuntimeError('shipped gateway.textproto: no "# @devices@" marker in the osap block')
        if extra_onem2m:
            text = re.sub(r'(\[type.googleapis.com/gw.onem2m.v1.OneM2MConfig\] \{\n)', lambda m: m.group(1) + extra_onem2m,
                          text, 1)
        path = self.file('gateway.textproto')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def start_gatewayd(self, config=None, filt=None, **kw):
        config = config or self.gateway_config(**kw)
        os.makedirs(self.file('state'), mode=0o700, exist_ok=True)
        self.gw = self._start('gatewayd', [self.bin('gatewayd'), '--config', config, '--module-dir',
                                           os.path.join(self.build, 'lib', 'camgw')], filt=filt,
                              logfile=self.file('gatewayd.log'))
        self._wait_port(self.lbs_port, self.gw)
        return self.gw

    def gatewayctl(self, *args):
        r = subprocess.run([self.bin('gatewayctl'), '--socket', self.file('state', 'control.sock')] + list(args),
                           capture_output=True, text=True, timeout=10)
        return r.returncode, r.stdout + r.stderr

    # ---- camsim ----
    def start_camsim(self, prefix, serial_prefix, count, model_file=None, channels=1, extra=(), filt=None):
        sock = self.file('camsim-%s.sock' % serial_prefix)
        argv = [self.bin('camsim'), '--lbs', '127.0.0.1:%d' % self.lbs_port, '--count', str(count),
                '--serial-prefix', serial_prefix, '--control-socket', sock, '--backoff-ms', '200',
                '--state-file', self.file('camsim-%s.state' % serial_prefix)]
        if model_file:
            argv += ['--model', model_file]
        if channels > 1:
            argv += ['--channels', str(channels)]
        argv += list(extra)
        p = self._start(prefix, argv, stdin=True, filt=filt)
        p.control = sock
        return p

    # ---- common ----
    def _start(self, prefix, argv, **kw):
        p = Proc(self, prefix, argv, **kw)
        self.procs.append(p)
        return p

    def _wait_port(self, port, proc, timeout=20):
        deadline = time.time() + timeout
        while not port_open(port):
            if not proc.alive():
                raise RuntimeError('%s exited during startup (status %s)' % (proc.prefix, proc.p.returncode))
            if time.time() > deadline:
                raise RuntimeError('%s does not listen on %d' % (proc.prefix, port))
            time.sleep(0.02)

    def stop(self):
        """Stops every process by PID: cameras first (they say goodbye), then the clients, then gatewayd,
        then the servers; returns {prefix: exit status}."""
        st = {}
        cams = [p for p in self.procs if getattr(p, 'control', None)]
        for p in cams:
            if p.alive():
                try:
                    p.send('quit')
                except Exception:
                    pass
        for p in cams:
            try:
                p.p.wait(3)
            except Exception:
                pass
            st[p.prefix] = p.stop()
        if cams:
            time.sleep(0.3)  # let the offline state reach the clients
        for p in reversed(self.procs):
            if p not in cams:
                st[p.prefix] = p.stop()
        self.procs = []
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return st

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
