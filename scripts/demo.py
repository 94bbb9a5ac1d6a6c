#!/usr/bin/python3
"""The camgw demo (run through scripts/demo.sh): the whole product on loopback.

mosquitto + prosody (generated config and certificates) + gatewayd (the shipped configuration with
this run's ports) + camsim (cameras and one NVR) + a oneM2M application + an OIC client. Every line is
prefixed by the component that printed it. Ctrl-C or SIGTERM stops everything by PID.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import camgw_stack  # noqa: E402
from camgw_stack import ROOT, Stack  # noqa: E402

BANNER = """\
================================================================================
 camgw demo: legacy cameras seen and controlled from oneM2M and from OIC
--------------------------------------------------------------------------------
 [camsim]    {ncam} simulated Hikvision-style IP cameras (model generic-ipc) and
 [nvrsim]    one 4-channel NVR (model nvr-4ch). They onboard through the
             gateway's LBS (ECDH, session keys), connect to its DAS (MQTT device
             dialect), report settings and raise motion events.
 [gatewayd]  the gateway, firmware/etc/camgw/gateway.textproto with this run's
             ports; three adapters: osap (cameras), onem2m (an MN-CSE on MQTT),
             oic (one XMPP session per camera, OIC Remote Access). Mappings
             (mappings/) decide how a camera looks in each world.
 [mosquitto] the MQTT broker the CSE and oneM2M applications use.
 [prosody]   the XMPP server of the owner's OIC account (TLS, SCRAM).
 [m2m-app]   a oneM2M application (scripts/m2m_app.py): registers an AE,
             subscribes to every camera's motionEvents container, prints each
             NOTIFY, then sets a camera's brightness with an UPDATE.
 [oic-app]   an OIC client (scripts/oic_client.py): logs into the account,
             discovers the cameras (presence, GET /oic/res), observes /motion/0,
             prints notifications, then POSTs a brightness to a camera.
 Watch for: "onboarded", "NOTIFY ... motionEvents", "NOTIFICATION ... /motion/0",
            "UPDATE response: rsc 2004", "POST ... 200 OK", "set 0/image/brightness".
 {stop}
 Everything lives in {dir} (removed at exit).
================================================================================"""

GW_KEEP = re.compile(r'level=(warn|error)|onboard|online|offline|listening|started|loaded module|stopp|subscribed|'
                     r'bridg|logged in|provision|shutdown|CONNACK|reload', re.I)


def gw_filter(line):
    """gatewayd logs every envelope at INFO; the demo shows lifecycle lines, warnings and errors."""
    if not line[:4].isdigit():
        return line
    if not GW_KEEP.search(line):
        return None
    return re.sub(r'^\S+Z level=', '', line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--duration', type=float, default=0, help='stop after S seconds (0: until Ctrl-C)')
    ap.add_argument('--cameras', type=int, default=3)
    ap.add_argument('--event-interval-ms', type=int, default=5000)
    ap.add_argument('--set-after', type=float, default=4, help='seconds before each client flips a setting')
    ap.add_argument('--verbose', action='store_true', help='every gatewayd log line')
    a = ap.parse_args()

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (a background job)

    stack = Stack(build_dir=a.build)
    pids = []
    rc = 0
    try:
        print(BANNER.format(ncam=a.cameras, dir=stack.dir,
                            stop=('Stops by itself after %g s (Ctrl-C stops it earlier).' % a.duration) if a.duration
                            else 'Ctrl-C stops everything.'), flush=True)
        say = lambda s: stack.say('demo', s)
        say('starting mosquitto (MQTT broker) and prosody (XMPP server, fresh CA + certificate for "localhost")')
        stack.start_mosquitto()
        stack.start_prosody()
        say('mosquitto on 127.0.0.1:%d, prosody on 127.0.0.1:%d, account %s@%s' % (
            stack.mqtt_port, stack.xmpp_port, camgw_stack.XMPP_USER, camgw_stack.XMPP_DOMAIN))
        stack.add_devices('CAM', a.cameras, 'generic-ipc')
        stack.add_devices('NVR', 1, 'nvr-4ch')
        say('starting gatewayd with %d provisioned devices (3 x generic-ipc, 1 x nvr-4ch)' % len(stack.devices))
        stack.start_gatewayd(filt=None if a.verbose else gw_filter)
        say('gatewayd is up (LBS 127.0.0.1:%d, DAS 127.0.0.1:%d, CSE /id-mn on the broker)' % (stack.lbs_port, stack.das_port))
        models = os.path.join(ROOT, 'mappings', 'models', 'thing-models')
        stack.start_camsim('camsim', 'CAM', a.cameras, os.path.join(models, 'generic-ipc.json'),
                           extra=['--report-interval-ms', '15000', '--event-interval-ms', str(a.event_interval_ms)])
        stack.start_camsim('nvrsim', 'NVR', 1, os.path.join(models, 'nvr-4ch.json'), channels=4,
                           extra=['--report-interval-ms', '15000', '--event-interval-ms', str(a.event_interval_ms * 2)])
        stack.wait_line('camsim', r'online', 30, count=a.cameras)
        say('cameras online; starting the oneM2M application (AE Cdemo-app: the configuration\'s camera_access rule '
            'grants it RETRIEVE, UPDATE and DISCOVER on the cameras through the accessControlPolicy camgw-cameras) '
            'and the OIC client')
        py = ['/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable, '-u']
        here = os.path.dirname(os.path.abspath(__file__))
        quiet = lambda l: None if 'slower stringprep' in l else l
        stack._start('m2m-app', py + [os.path.join(here, 'm2m_app.py'), '--broker', '127.0.0.1:%d' % stack.mqtt_port,
                                      '--ae', 'Cdemo-app', '--expect', str(a.cameras + 1), '--set-after', str(a.set_after),
                                      '--set', 'brightness.brightness=70'])
        stack._start('oic-app', py + [os.path.join(here, 'oic_client.py'), '--server', '127.0.0.1:%d' % stack.xmpp_port,
                                      '--ca', stack.ca, '--jid', '%s@%s' % (camgw_stack.XMPP_USER, camgw_stack.XMPP_DOMAIN),
                                      '--password', stack.xmpp_password, '--expect', str(a.cameras + 1),
                                      '--observe', '/motion/0', '--post-after', str(a.set_after + 2),
                                      '--post', '/image/0/brightness', '{"brightness": 30}'], filt=quiet)
        t0 = time.time()
        while a.duration <= 0 or time.time() - t0 < a.duration:
            for p in stack.procs:
                if not p.alive() and p.prefix in ('gatewayd', 'mosquitto', 'prosody'):
                    raise RuntimeError('%s exited with status %s' % (p.prefix, p.p.returncode))
            time.sleep(0.2)
        say('--duration %g s reached' % a.duration)
    except KeyboardInterrupt:
        stack.say('demo', 'stopping (signal)')
    except Exception as e:  # a component failed: say so, stop the rest
        stack.say('demo', 'ERROR: %s' % e)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pids = [(p.prefix, p.pid) for p in stack.procs]
        st = stack.stop()
        for name, code in st.items():
            if code not in (0, None, -signal.SIGTERM) and name in ('gatewayd',):
                stack.say('demo', '%s exited with status %s' % (name, code))
                rc = 1
        ps = subprocess.run(['ps', '-eo', 'pid='], capture_output=True, text=True).stdout.split()
        left = [(n, pid) for n, pid in pids if str(pid) in ps]
        if left:
            stack.say('demo', 'still running: %s' % left)
            rc = 1
        else:
            stack.say('demo', 'stopped %d processes by PID (%s); ps shows none of them; gatewayd exit status %s' % (
                len(pids), ' '.join('%s=%d' % x for x in pids), st.get('gatewayd')))
    return rc


if __name__ == '__main__':
    sys.exit(main())
