#!/usr/bin/python3
"""Upstream outage under load, and the journal's disk budget (issue 8).

Part A: cameras keep raising events while mosquitto (the broker the MN-CSE's oneM2M side lives on)
is stopped by PID for --outage-s seconds and restarted on the same port. Afterwards, per camera, the
CSE's motionEvents contentInstances are in event order (count = the camera's sequence), none of the
acknowledged events missing. Notifications to the subscribed AE during the outage are counted
(reported, not a pass criterion: see README.md).

Part B: gatewayd is restarted with a small journal budget (max_bytes 64 KiB, segment_bytes 8 KiB)
and a second journal consumer whose upstream never confirms (a loopback adapter "upstream" with
ack_journal false: an upstream that is down). Under load the oldest segments are evicted:
`gatewayctl status` journal.evicted > 0 and the gatewayd log says so; the oneM2M side still gets every
acknowledged event. Then gatewayd restarts with "upstream" confirming again: the records that were not
evicted are replayed to it in order, and evicted + replayed = every record journaled.

usage: outage_test.py [--build-dir DIR] [--cameras N] [--outage-s S] [--verbose]
       RELIABILITY_LONG=1 -> a 60 s outage
"""
import argparse
import collections
import json
import os
import re
import threading
import time

import rel_common as rc
from rel_common import check, log

ROUTES = '''route { name: "camera-uplink" from_adapter: "osap" kind: REPORT kind: EVENT to_adapter: "onem2m" to_adapter: "upstream" }
'''


def upstream_block(ack):
    return ('adapter {\n  name: "upstream"\n  module: "loopback"\n  config { [type.googleapis.com/gw.loopback.v1.LoopbackConfig] '
            '{ devices: 0 log_received: true ack_journal: %s } }\n}\n' % ('true' if ack else 'false'))


def budget_config(stack, base_cfg, ack):
    text = open(base_cfg).read()
    text, n = re.subn(r'journal \{[^}\n]*\}', 'journal { consumer: "onem2m" consumer: "upstream" max_bytes: 65536 '
                      'segment_bytes: 8192 fsync: FSYNC_BATCH group_commit_ms: 5 }', text, 1)
    if n != 1:
        raise RuntimeError('no journal line in the generated configuration')
    routes = stack.file('routes-budget.textproto')
    with open(routes, 'w') as f:
        f.write(ROUTES)
    text = re.sub(r'mapping_file: "[^"]*routes\.textproto"', 'mapping_file: "%s"' % routes, text, 1)
    text += upstream_block(ack)
    path = stack.file('gateway-budget-%s.textproto' % ('ack' if ack else 'down'))
    with open(path, 'w') as f:
        f.write(text)
    return path


class Raiser:
    """`event all` every interval through camsim's control socket (stoppable, unlike periodic events)."""

    def __init__(self, ctl, interval_ms):
        self.ctl, self.iv, self.stop_ev = ctl, interval_ms / 1000.0, threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stop_ev.is_set():
            rc.control(self.ctl, 'event all', 1.0)
            self.stop_ev.wait(self.iv)

    def stop(self):
        self.stop_ev.set()
        self.th.join(5)


def verify_order(m2m, acked, label):
    """Per camera: stored events in count order (first occurrences), every acked one present."""
    lost, disorder, dups, stored_n = 0, [], 0, 0
    for sn in sorted(m2m.event_cnt):
        evs = m2m.events(sn)
        seen, seq = set(), []
        for cnt, _, _, _ in evs:
            if cnt in seen:
                dups += 1
                continue
            seen.add(cnt)
            seq.append(cnt)
        stored_n += len(seq)
        if seq != sorted(seq):
            disorder.append(sn)
        lost += len(acked.get(sn, set()) - seen)
    check(lost == 0, '%s: lost = %d acknowledged events missing from the CSE' % (label, lost))
    check(not disorder, '%s: contentInstances in event order per camera (out of order: %s)' % (label, disorder))
    return lost, dups, stored_n


def acked_by_cam(acklog):
    out = collections.defaultdict(set)
    for sn, _, cnt in rc.read_acks(acklog):
        out[sn].add(cnt)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build-dir', default=os.environ.get('GW_BUILD_DIR', os.path.join(rc.ROOT, 'build')))
    ap.add_argument('--cameras', type=int, default=10)
    ap.add_argument('--outage-s', type=float, default=60 if os.environ.get('RELIABILITY_LONG') else 5)
    ap.add_argument('--event-interval-ms', type=int, default=200)
    ap.add_argument('--verbose', action='store_true')
    a = ap.parse_args()
    lines = []
    sink = rc.camgw_stack.default_sink if a.verbose else (lambda p, l: lines.append('[%-9s] %s' % (p, l)))
    stack = rc.Stack(build_dir=a.build_dir, sink=sink)
    m2m = None
    fig = {}
    try:
        cfg, _ = rc.start_gateway(stack, [('OUT', a.cameras)])
        m2m = rc.M2M(stack, 'Crel-app')
        cams, acklog = rc.start_cameras(stack, m2m, 'OUT', a.cameras, 500)
        check(m2m.raise_mni() == 0, 'motionEvents containers keep every instance (mni raised)')
        notes = collections.Counter()
        m2m.app.on_notify = lambda p, t: notes.update(
            ['cin'] if 'm2m:cin' in json.dumps(p.get('pc', {}).get('m2m:sgn', {}).get('nev', {}))[:40] else ['other'])
        for sn, c in m2m.event_cnt.items():
            m2m.app.subscribe(c, (3,), 'rel-ev')

        # ---- Part A: the broker down under load ----
        r = Raiser(cams.control, a.event_interval_ms)
        time.sleep(2)
        port = stack.mqtt_port
        acked_before = len(rc.read_acks(acklog))
        stack.mosquitto.stop()
        log('mosquitto stopped by PID (port %d); cameras keep raising events for %.0f s' % (port, a.outage_s))
        time.sleep(a.outage_s)
        acked_during = len(rc.read_acks(acklog)) - acked_before
        stack.start_mosquitto(port=port)
        log('mosquitto restarted on port %d; %d events acknowledged by the DAS during the outage' % (port, acked_during))
        check(acked_during > 0, 'the DAS kept acknowledging camera events during the broker outage (%d)' % acked_during)
        ok = rc.wait_until(lambda: '"connected":true' in stack.gatewayctl('status')[1].replace(' ', ''), 30, 0.3)
        check(bool(ok), 'the oneM2M adapter reconnected to the broker')
        m2m.app.connected.wait(10)
        time.sleep(2)
        r.stop()
        time.sleep(1.5)
        acked = acked_by_cam(acklog)
        n_acked = sum(len(v) for v in acked.values())
        lost, dups, stored_n = verify_order(m2m, acked, 'outage')
        fig.update({'outage_s': a.outage_s, 'acked': n_acked, 'acked_during_outage': acked_during, 'lost': lost,
                    'duplicates': dups, 'stored': stored_n, 'cin_notifications_to_ae': notes['cin']})
        log('NOTE notifications of new contentInstances received by the AE: %d of %d stored (those due while the '
            'broker was down depend on the CSE\'s notification retries)' % (notes['cin'], stored_n))

        # ---- Part B: small disk budget, an upstream that never confirms ----
        stack.gw.stop()
        stack.start_gatewayd(config=budget_config(stack, cfg, ack=False))
        check(bool(rc.wait_until(lambda: rc.stats(cams.control).get('online', 0) >= a.cameras, 30)),
              'cameras back online after the restart with the small budget')
        r = Raiser(cams.control, a.event_interval_ms / 2)
        rc.wait_until(lambda: json.loads(stack.gatewayctl('status')[1]).get('journal', {}).get('evicted', 0),
                      30, 0.5)
        time.sleep(1.5)
        r.stop()
        time.sleep(1.0)
        control_reply = rc.control(cams.control, 'offline all')  # nothing live during the replay below
        log('camsim: %s' % control_reply.strip())
        time.sleep(0.5)
        st = json.loads(stack.gatewayctl('status')[1])
        j = st.get('journal', {})
        log('journal status: %s' % json.dumps(j))
        check(j.get('evicted', 0) > 0, 'gatewayctl status: journal.evicted = %s (max_bytes 65536)' % j.get('evicted'))
        check(j.get('bytes', 1 << 30) <= 65536 + 8192 * 2,
              'journal stays within its budget (%s bytes)' % j.get('bytes'))
        glog = open(stack.file('gatewayd.log')).read()
        check('disk budget 65536 bytes exceeded: evicting segment' in glog, 'gatewayd logs the eviction (WARN line)')
        acked = acked_by_cam(acklog)
        lost_b, dups_b, _ = verify_order(m2m, acked, 'budget')
        stack.gw.stop()
        mark = stack.mark()
        stack.start_gatewayd(config=budget_config(stack, cfg, ack=True))
        rep = stack.wait_line('gatewayd', r'replaying seq (\d+)\.\.(\d+) to upstream', 10, mark)
        check(bool(rep), 'restart: the records still journaled are replayed to the upstream consumer')
        replay_first = replay_last = 0
        if rep:
            m = re.search(r'replaying seq (\d+)\.\.(\d+) to upstream', rep[0])
            replay_first, replay_last = int(m.group(1)), int(m.group(2))
        time.sleep(2.0)
        received = [l for p, l in stack.lines[mark:] if p == 'gatewayd' and 'received ' in l and 'from osap' in l]
        n_rep = len(received)
        st2 = json.loads(stack.gatewayctl('status')[1]).get('journal', {})
        check(n_rep > 0 and j.get('evicted', 0) + n_rep == j.get('last_seq'),
              'evicted %d + replayed %d = %d records journaled (last_seq)' % (j.get('evicted', 0), n_rep,
                                                                               j.get('last_seq', -1)))
        fig.update({'budget_evicted': j.get('evicted'), 'budget_replayed': n_rep, 'journal_last_seq': j.get('last_seq'),
                    'replay_range': '%d..%d' % (replay_first, replay_last), 'budget_lost_onem2m': lost_b,
                    'journal_bytes_after_replay': st2.get('bytes')})
        log('FIGURES outage: ' + ' '.join('%s=%s' % kv for kv in fig.items()))
    except Exception as e:
        rc.record_exception(e)
    finally:
        rc.teardown(stack, m2m, lines, a.verbose, 80)
    return rc.finish('outage')


if __name__ == '__main__':
    raise SystemExit(main())
