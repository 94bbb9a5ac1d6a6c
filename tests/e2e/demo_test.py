#!/usr/bin/python3
"""Runs the README's demo (scripts/demo.sh) end to end for a short duration against an existing build
and checks that its output shows what a newcomer is told to watch for: cameras onboarded, a motion
event received by the oneM2M application and by the OIC client, a setting flipped from each side, and
a clean stop with nothing left running.

usage: demo_test.py --build-dir DIR [--duration S]
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHECKS = [
    ('3 cameras onboarded', r'^\[camsim\s*\] camsim: CAM\d+ onboarded by F\d', 3),
    ('the NVR onboarded', r'^\[nvrsim\s*\] camsim: NVR\d+ onboarded by F\d', 1),
    ('the oneM2M app found the 4 cameras', r'^\[m2m-app\s*\] camera \S+ OSAP camera', 4),
    ('a motion event NOTIFY at the oneM2M app', r'^\[m2m-app\s*\] NOTIFY \S+/motionEvents\S*: new contentInstance', 1),
    ('a motion notification at the OIC client', r'^\[oic-app\s*\] NOTIFICATION \S+ /motion/0 Observe:\d+ .*"event"', 1),
    ('oneM2M UPDATE flipped a setting', r'^\[m2m-app\s*\] UPDATE response: rsc 2004', 1),
    ('... and the camera applied it', r'^\[camsim\s*\] camsim: CAM\d+ set 0/image/brightness = 70 -> code 0', 1),
    ('OIC POST flipped a setting', r'^\[oic-app\s*\] POST /image/0/brightness .* 200 OK', 1),
    ('... and the camera applied it', r'^\[(camsim|nvrsim)\s*\] camsim: \w+ set 0/image/brightness = 30 -> code 0', 1),
    ('clean stop, nothing left running', r'^\[demo\s*\] stopped \d+ processes by PID .*ps shows none of them; gatewayd exit status 0', 1),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build-dir', required=True)
    ap.add_argument('--duration', type=float, default=12)
    a = ap.parse_args()
    t0 = time.time()
    p = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'demo.sh'), '--no-setup', '--build-dir', a.build_dir,
                        '--duration', str(a.duration), '--event-interval-ms', '1500', '--set-after', '1'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=a.duration + 90)
    out = p.stdout
    fails = []
    for what, rx, n in CHECKS:
        got = len(re.findall(rx, out, re.M))
        ok = got >= n
        print('%s %s (%d line(s))' % ('PASS' if ok else 'FAIL', what, got))
        if not ok:
            fails.append(what)
    if p.returncode != 0:
        fails.append('demo.sh exit status %d' % p.returncode)
    m = re.search(r'stopped \d+ processes by PID \(([^)]*)\)', out)
    pids = [int(x.split('=')[1]) for x in m.group(1).split()] if m else []
    alive = [pid for pid in pids if os.path.exists('/proc/%d' % pid)]
    if alive:
        fails.append('still running: %s' % alive)
    print('demo ran %.1f s, exit %d, %d processes stopped' % (time.time() - t0, p.returncode, len(pids)))
    if fails:
        print('---- demo output ----\n' + out)
        print('FAILED: ' + '; '.join(fails))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
