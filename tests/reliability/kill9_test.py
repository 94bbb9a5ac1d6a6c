#!/usr/bin/python3
"""kill -9 under load (issue 8): camsim cameras report and raise motion events fast; gatewayd is
killed with SIGKILL at random moments (each after a random 0.3-1.5 s of running) and restarted on
the same ports and state directory. At the end every event the DAS acknowledged (camsim --ack-log:
one line per PUBACK of an event) must be stored by the oneM2M CSE as a contentInstance of the
camera's motionEvents container (con.basic.UUID = "{serial}-{count}"). lost must be 0; duplicates
(at-least-once) are counted and reported.

usage: kill9_test.py [--build-dir DIR] [--kills N] [--cameras N] [--event-interval-ms MS] [--verbose]
       RELIABILITY_LONG=1 -> 200 kills (the long version, by hand)
"""
import argparse
import collections
import os
import random
import signal
import time

import rel_common as rc
from rel_common import check, log


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build-dir', default=os.environ.get('GW_BUILD_DIR', os.path.join(rc.ROOT, 'build')))
    ap.add_argument('--kills', type=int, default=200 if os.environ.get('RELIABILITY_LONG') else 20)
    ap.add_argument('--cameras', type=int, default=20)
    ap.add_argument('--event-interval-ms', type=int, default=200)
    ap.add_argument('--report-interval-ms', type=int, default=500)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--verbose', action='store_true')
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    rnd = random.Random(seed)
    lines = []
    sink = rc.camgw_stack.default_sink if a.verbose else (lambda p, l: lines.append('[%-9s] %s' % (p, l)))
    stack = rc.Stack(build_dir=a.build_dir, sink=sink)
    m2m = None
    fig = {}
    try:
        log('seed %d, %d kills, %d cameras, an event every %d ms per camera' % (seed, a.kills, a.cameras,
                                                                               a.event_interval_ms))
        cfg, gw = rc.start_gateway(stack, [('KIL', a.cameras)])
        m2m = rc.M2M(stack, 'Crel-app')
        cams, acklog = rc.start_cameras(stack, m2m, 'KIL', a.cameras, a.report_interval_ms, ['--keepalive', '10'])
        cams.expect_alive = True
        check(m2m.raise_mni() == 0, 'motionEvents containers: mni raised so that no instance is evicted')
        # Events: one per camera every interval, raised through the control socket so the run can stop
        # them before the final count (camsim's periodic events cannot be paused).
        import threading
        stop_ev = threading.Event()

        def raiser():
            while not stop_ev.is_set():
                try:
                    rc.control(cams.control, 'event all', 2.0)
                except OSError:
                    pass
                stop_ev.wait(a.event_interval_ms / 1000.0)
        th = threading.Thread(target=raiser, daemon=True)
        th.start()
        time.sleep(1.0)
        kills = 0
        for i in range(a.kills):
            time.sleep(rnd.uniform(0.3, 1.5))
            before = len(rc.read_acks(acklog))
            os.kill(gw.pid, signal.SIGKILL)
            gw.p.wait()
            kills += 1
            gw = stack.start_gatewayd(config=cfg)
            if not cams.alive():
                check(False, 'camsim exited (status %s) after kill %d' % (cams.p.returncode, kills))
                break
            if a.verbose or i % 5 == 4:
                log('kill %d: %d event PUBACKs so far' % (kills, before))
        time.sleep(1.5)
        stop_ev.set()
        th.join(5)
        # Let every camera reconnect and deliver what it still holds, then count.
        rc.wait_until(lambda: (lambda s: s.get('online', 0) >= a.cameras and s.get('cached', 1) == 0)(
            rc.stats(cams.control)), 30, 0.5)
        time.sleep(1.0)
        s = rc.stats(cams.control)
        log('camsim: %s' % ' '.join('%s=%s' % kv for kv in sorted(s.items())))
        acks = rc.read_acks(acklog)
        acked = {(sn, cnt) for sn, _, cnt in acks}
        by_cam = collections.defaultdict(set)
        for sn, cnt in acked:
            by_cam[sn].add(cnt)

        def lost_now():
            stored, dups = set(), 0
            for sn in m2m.event_cnt:
                evs = m2m.events(sn)
                for cnt, uuid, _, _ in evs:
                    key = (sn, cnt)
                    if uuid != '%s-%s' % (sn, cnt):
                        log('WARN unexpected con.basic.UUID %s for %s count %s' % (uuid, sn, cnt))
                    if key in stored:
                        dups += 1
                    stored.add(key)
            return acked - stored, stored, dups
        missing, stored, dups = lost_now()
        deadline = time.time() + 20
        while missing and time.time() < deadline:
            time.sleep(1)
            missing, stored, dups = lost_now()
        fig = {'kills': kills, 'acked': len(acked), 'ack_lines': len(acks), 'stored_unique': len(stored),
               'duplicates': dups, 'lost': len(missing), 'raised': s.get('events_raised'), 'camsim_acked': s.get('events_acked'),
               'dropped_by_camsim_cache': s.get('dropped')}
        log('FIGURES kill9: ' + ' '.join('%s=%s' % kv for kv in fig.items()))
        check(s.get('cameras') == a.cameras and cams.alive(), 'camsim alive and answering at the end')
        check(kills >= a.kills, 'gatewayd killed with SIGKILL and restarted %d times' % kills)
        check(len(acked) >= a.cameras * 5, '%d events acknowledged (PUBACKed) by the DAS' % len(acked))
        check(not missing, 'lost = %d (acknowledged events not stored by the CSE)%s' % (
            len(missing), (': ' + ', '.join('%s#%d' % k for k in sorted(missing)[:20])) if missing else ''))
        log('duplicates (at-least-once, same camera event stored twice): %d; stored but never acked '
            '(delivered, PUBACK lost in a kill): %d' % (dups, len(stored - acked)))
        rcs, out = stack.gatewayctl('status')
        check(rcs == 0 and '"journal"' in out, 'gatewayctl status answers after the last restart')
    except Exception as e:
        rc.record_exception(e)
    finally:
        rc.teardown(stack, m2m, lines, a.verbose, 60)
    return rc.finish('kill9')


if __name__ == '__main__':
    raise SystemExit(main())
