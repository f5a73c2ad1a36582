#!/usr/bin/env python3
"""Differential test of the funnel family against an independent reference.

Generates a randomized mql_score.stage_history (re-entries, skips,
recycles, manual moves, demotions, merges that leave every stage, a
previous tool's stage names, rows at the same instant, ids in random order,
several models), inserts it, asks PostgreSQL for stage_episodes, funnel,
conversion (with and without `within`, every grain), stage_flow,
stage_times and lead_velocity, and recomputes every answer here, in plain
Python written from PRODUCT.md ("Interface contract (v2)"), not from the
SQL.  Every row must agree: counts exactly, floats to 1e-9 relative,
instants exactly, intervals to the microsecond.

Standard library only; drives psql (the environment of pg_virtualenv, or
PGHOST/PGPORT/... set by the caller).  The session's time zone is
Europe/Berlin, so periods cross DST changes.

usage: python3 test/funnel_reference.py [--leads N] [--seed S] [--keep DIR]
"""
import argparse
import bisect
import csv
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

TZ_NAME = 'Europe/Berlin'
TZ = ZoneInfo(TZ_NAME)
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
US = 1_000_000
DAY_US = 86400 * US

# model -> [(stage, position)]; positions need not be contiguous
MODELS = {
    'm_a': [('lead', 1), ('mql', 2), ('sql', 3), ('opportunity', 4), ('customer', 5)],
    'm_b': [('subscriber', 10), ('lead', 20), ('mql', 30), ('sql', 40)],
    'm_c': [('cold', 1), ('warm', 2), ('hot', 3)],
}
CAUSES = ['event', 'promote', 'manual', 'recycle', 'decay', 'rescore', 'import']


# ---------------------------------------------------------------------------
# time in the session's zone, as PostgreSQL computes it
# ---------------------------------------------------------------------------
def to_local(us):
    """Naive local wall time of an instant (µs since the epoch)."""
    return (EPOCH + dt.timedelta(microseconds=us)).astimezone(TZ).replace(tzinfo=None)


def localize(naive):
    """Instant of a local wall time.  PostgreSQL (DetermineTimeZoneOffset)
    reads a time skipped by a spring-forward change with the offset before
    the change, and an ambiguous one after a fall-back with the offset after
    it."""
    a = naive.replace(tzinfo=TZ, fold=0)
    b = naive.replace(tzinfo=TZ, fold=1)
    if a.utcoffset() != b.utcoffset():
        back = a.astimezone(UTC).astimezone(TZ).replace(tzinfo=None)
        chosen = b if back == naive else a      # ambiguous: after; skipped: before
    else:
        chosen = a
    delta = chosen.astimezone(UTC) - EPOCH
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


def add_months(naive, months):
    y, m = divmod(naive.month - 1 + months, 12)
    y += naive.year
    m += 1
    last = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28,
            31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return naive.replace(year=y, month=m, day=min(naive.day, last))


def add_interval(us, months, days, micros):
    """timestamptz + interval: months, then days, in local time; then the
    time part in absolute time."""
    if months:
        us = localize(add_months(to_local(us), months))
    if days:
        us = localize(to_local(us) + dt.timedelta(days=days))
    return us + micros


def trunc(grain, us):
    """date_trunc(grain, timestamptz) in the session's zone."""
    t = to_local(us)
    d = dt.datetime(t.year, t.month, t.day)
    if grain == 'day':
        pass
    elif grain == 'week':
        d -= dt.timedelta(days=d.weekday())
    elif grain == 'month':
        d = d.replace(day=1)
    elif grain == 'quarter':
        d = d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
    elif grain == 'year':
        d = d.replace(month=1, day=1)
    else:
        raise ValueError(grain)
    return localize(d)


def next_period(grain, us):
    t = to_local(us)
    if grain == 'day':
        t += dt.timedelta(days=1)
    elif grain == 'week':
        t += dt.timedelta(days=7)
    else:
        t = add_months(t, {'month': 1, 'quarter': 3, 'year': 12}[grain])
    return localize(t)


def percentile_cont(values, p):
    """percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    v = sorted(values)
    pos = p * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


# ---------------------------------------------------------------------------
# the randomized history
# ---------------------------------------------------------------------------
def generate(rng, n_leads, now_us):
    rows = []       # (model, lead, from_stage, to_stage, score, cause, at_us)
    start_min = now_us - 800 * DAY_US
    for i in range(n_leads):
        model = rng.choice(['m_a'] * 5 + ['m_b'] * 3 + ['m_c'] * 2)
        stages = [s for s, _ in MODELS[model]]
        lead = 'L%d' % rng.randrange(n_leads * 2)   # keys repeat across models
        at = rng.randrange(start_min, now_us - DAY_US)
        cur = None
        r = rng.random()
        if r < 0.75:
            first = stages[0]
        elif r < 0.93:
            first = rng.choice(stages[1:])      # imported, or a demo request
        else:
            first = 'legacy_' + rng.choice(['mql', 'sal'])   # a previous tool's stage
        moves = [first]
        n = 1 + int(rng.expovariate(1 / 6.5))
        for _ in range(n):
            idx = stages.index(moves[-1]) if moves[-1] in stages else 0
            r = rng.random()
            if r < 0.40:
                nxt = stages[min(idx + 1, len(stages) - 1)]
            elif r < 0.50:
                nxt = stages[min(idx + rng.randint(2, 3), len(stages) - 1)]     # skip
            elif r < 0.68:
                nxt = stages[max(idx - 1, 0)]                                   # demote / recycle
            elif r < 0.74:
                nxt = stages[0]                                                 # recycle to the start
            elif r < 0.80:
                nxt = moves[-1]                                                 # same stage again
            elif r < 0.83:
                nxt = None                                                      # merged away / out
            elif r < 0.85:
                nxt = 'legacy_sal'
            else:
                nxt = rng.choice(stages)                                        # manual move anywhere
            moves.append(nxt)
        for k, to_stage in enumerate(moves):
            if k > 0:
                r = rng.random()
                if r < 0.05:
                    gap = 0                                         # same instant: id decides
                elif r < 0.15:
                    gap = rng.randrange(1, 3600 * US)
                else:
                    gap = int(rng.expovariate(1 / (9 * DAY_US)))
                at += gap
                if rng.random() < 0.04:                             # exactly on a local midnight
                    at = next_period('day', trunc('day', at))
                if at >= now_us:
                    break
            rows.append((model, lead, cur, to_stage, round(rng.uniform(0, 200), 3),
                         rng.choice(CAUSES), at))
            cur = to_stage
    return rows


# ---------------------------------------------------------------------------
# the reference, from PRODUCT.md
# ---------------------------------------------------------------------------
class Reference:
    def __init__(self, rows, now_us):
        """rows: (id, model, lead, from, to, score, cause, at)"""
        self.now = now_us
        self.pos = {m: dict(st) for m, st in MODELS.items()}
        self.by_lead = {}
        for r in rows:
            self.by_lead.setdefault((r[1], r[2]), []).append(r)
        for k in self.by_lead:
            self.by_lead[k].sort(key=lambda r: (r[7], r[0]))
        self.episodes = []      # dicts
        for (model, lead), rs in sorted(self.by_lead.items()):
            counter = {}
            cur = None
            open_ep = None
            for r in rs:
                to = r[4]
                if to == cur:
                    continue            # still in the same stage (or still in none)
                if open_ep is not None:
                    open_ep.update(left_at=r[7], next_stage=to, cause_out=r[6])
                    open_ep = None
                if to is not None:
                    counter[to] = counter.get(to, 0) + 1
                    open_ep = dict(model=model, lead=lead, stage=to,
                                   position=self.pos.get(model, {}).get(to),
                                   episode=counter[to], entered_at=r[7], left_at=None,
                                   next_stage=None, cause_in=r[6], cause_out=None)
                    self.episodes.append(open_ep)
                cur = to
        self.leads_by_model = {}
        for (m, lead), rs in self.by_lead.items():
            self.leads_by_model.setdefault(m, []).append((lead, rs))
        self.eps_by_model = {}
        for e in self.episodes:
            self.eps_by_model.setdefault(e['model'], []).append(e)

    def leads_of(self, model):
        return self.leads_by_model.get(model, [])

    def stage_episodes(self):
        out = []
        for e in self.episodes:
            dur = None if e['left_at'] is None else e['left_at'] - e['entered_at']
            out.append((e['model'], e['lead'], e['stage'], e['position'], e['episode'],
                        e['entered_at'], e['left_at'], e['next_stage'], e['cause_in'],
                        e['cause_out'], dur))
        out.sort(key=lambda t: (t[0], t[1], t[5], t[4], t[2]))
        return out

    def funnel(self, model, since, until):
        pos = self.pos[model]
        cohort_tops = []
        for lead, rs in self.leads_of(model):
            known = [r for r in rs if r[4] in pos]
            if not known:
                continue
            first = known[0][7]
            if since <= first < until:
                cohort_tops.append(max(pos[r[4]] for r in known))
        out = []
        first_reached = None
        prev = None
        for stage, p in sorted(pos.items(), key=lambda kv: kv[1]):
            reached = sum(1 for t in cohort_tops if t >= p)
            if first_reached is None:
                first_reached = reached
            of_first = reached / first_reached if first_reached else None
            of_prev = (reached / prev if prev else None) if prev is not None else None
            out.append((stage, p, reached, of_first, of_prev))
            prev = reached
        return out

    def conversion(self, model, f, t, since, until, within, grain):
        pos = self.pos[model]
        pt = pos[t]
        groups = {}
        for lead, rs in self.leads_of(model):
            entry = next((r for r in rs if r[4] == f), None)
            if entry is None or not (since <= entry[7] < until):
                continue
            key = (entry[7], entry[0])
            reach = next((r for r in rs if (r[7], r[0]) > key and r[4] in pos and pos[r[4]] >= pt), None)
            if within is None:
                won = reach is not None
                young = False
            else:
                deadline = add_interval(entry[7], *within)
                won = reach is not None and reach[7] <= deadline
                young = deadline > self.now
            took = reach[7] - entry[7] if won else None
            groups.setdefault(trunc(grain, entry[7]), []).append((won, (not won) and young, took))
        out = []

        def row(cohort, items):
            entered = len(items)
            conv = sum(1 for w, _, _ in items if w)
            pend = sum(1 for _, p, _ in items if p)
            times = [x for w, _, x in items if w]
            rate = conv / (entered - pend) if entered - pend else None
            return (cohort, entered, conv, pend, rate, percentile_cont(times, 0.5),
                    percentile_cont(times, 0.9))
        everything = []
        for c in sorted(groups):
            out.append(row(c, groups[c]))
            everything += groups[c]
        out.append(row(None, everything))
        return out

    def stage_flow(self, model, since, until, grain):
        if since == until:
            return []
        pos = self.pos[model]
        ins = {s: sorted(e['entered_at'] for e in self.eps_by_model.get(model, []) if e['stage'] == s)
               for s in pos}
        outs = {s: sorted(e['left_at'] for e in self.eps_by_model.get(model, [])
                          if e['stage'] == s and e['left_at'] is not None) for s in pos}

        def open_before(s, t):      # entered before t, not left before t
            return bisect.bisect_left(ins[s], t) - bisect.bisect_left(outs[s], t)
        out = []
        ps = trunc(grain, since)
        while ps < until:
            pe = next_period(grain, ps)
            for s, p in sorted(pos.items(), key=lambda kv: kv[1]):
                at_start = open_before(s, ps)
                entered = bisect.bisect_left(ins[s], pe) - bisect.bisect_left(ins[s], ps)
                left = bisect.bisect_left(outs[s], pe) - bisect.bisect_left(outs[s], ps)
                at_end = open_before(s, pe)
                assert at_end == at_start + entered - left
                out.append((ps, s, p, at_start, entered, left, at_end))
            ps = pe
        return out

    def stage_times(self, model, since, until):
        pos = self.pos[model]
        out = []
        for s, p in sorted(pos.items(), key=lambda kv: kv[1]):
            eps = [e for e in self.eps_by_model.get(model, []) if e['stage'] == s]
            stays = [e for e in eps if e['left_at'] is not None and since <= e['left_at'] < until]
            took = [e['left_at'] - e['entered_at'] for e in stays]
            opened = [until - e['entered_at'] for e in eps
                      if e['entered_at'] < until and (e['left_at'] is None or e['left_at'] >= until)]
            fwd = sum(1 for e in stays if pos.get(e['next_stage']) is not None and pos[e['next_stage']] > p)
            back = sum(1 for e in stays if pos.get(e['next_stage']) is not None and pos[e['next_stage']] < p)
            out.append((s, p, len(stays), sum(took) / len(took) if took else None,
                        percentile_cont(took, 0.5), percentile_cont(took, 0.9), len(opened),
                        percentile_cont(opened, 0.5), fwd, back))
        return out

    def lead_velocity(self, model, stage, months):
        firsts = []
        for lead, rs in self.leads_of(model):
            e = next((r for r in rs if r[4] == stage), None)
            if e is not None:
                firsts.append(e[7])
        this_month = trunc('month', self.now)
        starts = [this_month]
        for _ in range(months):
            starts.insert(0, localize(add_months(to_local(starts[0]), -1)))
        count = {}
        for t in firsts:
            m = trunc('month', t)
            count[m] = count.get(m, 0) + 1
        out = []
        for k in range(1, len(starts)):
            e, p = count.get(starts[k], 0), count.get(starts[k - 1], 0)
            out.append((to_local(starts[k]).date().isoformat(), e, p,
                        100 * (e - p) / p if p else None))
        return out


# ---------------------------------------------------------------------------
# talking to PostgreSQL
# ---------------------------------------------------------------------------
def psql(sql, tmp, name):
    path = os.path.join(tmp, name + '.sql')
    with open(path, 'w') as fh:
        fh.write(sql)
    res = subprocess.run(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '|',
                          '-P', 'null=\\N', '-f', path], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit('psql failed (%s):\n%s' % (name, res.stderr[-4000:]))
    return res.stdout


def ts_sql(us):
    return "'%s'::timestamptz" % (EPOCH + dt.timedelta(microseconds=us)).isoformat()


def iv_sql(iv):
    if iv is None:
        return 'NULL::interval'
    return "'%d months %d days %d microseconds'::interval" % iv


US_OF_TS = "(extract(epoch from %s) * 1000000)::bigint"
US_OF_IV = "round(extract(epoch from %s) * 1000000)::bigint"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--leads', type=int, default=16000)
    ap.add_argument('--seed', type=int, default=20261208)
    ap.add_argument('--keep', help='keep the work files in this directory')
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = args.keep or tempfile.mkdtemp(prefix='funnel_ref.')
    os.makedirs(tmp, exist_ok=True)

    setup = ["SET client_min_messages = warning;",
             "DROP EXTENSION IF EXISTS mql_score CASCADE;",
             "CREATE EXTENSION mql_score;"]
    for m, st in MODELS.items():
        setup.append("INSERT INTO mql_score.models (name) VALUES ('%s');" % m)
        for s, p in st:
            setup.append("INSERT INTO mql_score.stages (model, name, position) VALUES ('%s', '%s', %d);"
                         % (m, s, p))
    setup.append("SELECT %s;" % (US_OF_TS % 'now()'))
    now_us = int(psql('\n'.join(setup), tmp, 'setup').split()[-1])
    # the queries run later, in one transaction whose now() is read there;
    # history ends before this instant
    raw = generate(rng, args.leads, now_us)
    ids = list(range(1, len(raw) + 1))
    rng.shuffle(ids)                    # ids do not follow time: (at, id) order is tested
    rows = [(ids[i],) + raw[i] for i in range(len(raw))]
    csv_path = os.path.join(tmp, 'history.csv')
    with open(csv_path, 'w', newline='') as fh:
        w = csv.writer(fh)
        for r in rows:
            w.writerow([r[0], r[1], r[2], '' if r[3] is None else r[3], '' if r[4] is None else r[4],
                        r[5], r[6], (EPOCH + dt.timedelta(microseconds=r[7])).isoformat()])
    psql("\\copy mql_score.stage_history (id, model, lead, from_stage, to_stage, score, cause, at) "
         "FROM '%s' WITH (FORMAT csv)\nANALYZE mql_score.stage_history;\n" % csv_path, tmp, 'load')
    print('stage_history: %d moves, %d leads-in-models, ids shuffled' %
          (len(rows), len({(r[1], r[2]) for r in rows})))

    # the calls: (id, kind, args)
    calls = []
    lo = now_us - 800 * DAY_US
    def some_instants(k):
        pts = []
        for _ in range(k):
            t = rng.randrange(lo, now_us)
            if rng.random() < 0.5:
                t = trunc(rng.choice(['day', 'week', 'month']), t)    # on a boundary
            pts.append(t)
        return pts
    dst_day = localize(dt.datetime(2025, 3, 30))       # a 23-hour day
    fall_day = localize(dt.datetime(2025, 10, 26))     # a 25-hour day
    windows = [(lo, now_us), (dst_day, fall_day + DAY_US), (fall_day, fall_day)]
    for _ in range(3):
        a, b = sorted(some_instants(2))
        windows.append((a, b))
    firsts = [r[7] for r in rows if r[3] is None]     # a walk's first move
    for _ in range(2):      # on instants of moves: [since, until) must be half-open
        a, b = sorted((rng.choice(rows)[7], rng.choice(firsts)))
        windows.append((a, b))
    withins = [None, (0, 0, 36 * 3600 * US), (1, 2, 0), (0, 7, 0), (0, 0, 0), (1200, 0, 0)]
    grains = ['day', 'week', 'month', 'quarter', 'year']
    for m, st in MODELS.items():
        names = [s for s, _ in st]
        for (a, b) in windows:
            calls.append(('funnel', (m, a, b)))
            calls.append(('stage_times', (m, a, b)))
        calls.append(('funnel', (m, lo, None)))                # until DEFAULT now()
        pairs = [(names[1], names[2]), (names[0], names[-1]), (names[2], names[1]), (names[1], names[1])]
        for f, t in pairs:
            for g in grains:            # every grain without `within`, and with one
                a, b = windows[0] if g != 'day' else windows[3]
                calls.append(('conversion', (m, f, t, a, b, None, g)))
                calls.append(('conversion', (m, f, t, a, b, rng.choice(withins[1:]), g)))
            for iv in withins[1:]:      # every `within` by month
                calls.append(('conversion', (m, f, t, windows[0][0], windows[0][1], iv, 'month')))
        for g in grains:
            for (a, b) in windows[:3] + windows[4:5]:
                if g == 'day' and b - a > 400 * DAY_US:
                    a = b - 400 * DAY_US
                calls.append(('stage_flow', (m, a, b, g)))
        for s in names:
            for k in (1, 12, 30):
                calls.append(('lead_velocity', (m, s, k)))

    q = ["SET TimeZone = '%s';" % TZ_NAME, "BEGIN ISOLATION LEVEL REPEATABLE READ;",
         "SELECT 'now', %s;" % (US_OF_TS % 'now()'),
         "SELECT 'ep', model, lead, stage, position, episode, %s, %s, next_stage, cause_in, cause_out, %s "
         "FROM mql_score.stage_episodes ORDER BY model COLLATE \"C\", lead COLLATE \"C\", entered_at, episode, stage COLLATE \"C\";"
         % (US_OF_TS % 'entered_at', US_OF_TS % 'left_at', US_OF_IV % 'duration')]
    for i, (kind, a) in enumerate(calls):
        if kind == 'funnel':
            m, s, u = a
            q.append("SELECT %d, stage, position, reached, of_first, of_previous FROM mql_score.funnel('%s', %s%s);"
                     % (i, m, ts_sql(s), '' if u is None else ', ' + ts_sql(u)))
        elif kind == 'conversion':
            m, f, t, s, u, iv, g = a
            q.append("SELECT %d, %s, entered, converted, pending, rate, %s, %s FROM mql_score.conversion("
                     "'%s', '%s', '%s', %s, %s, %s, '%s');"
                     % (i, US_OF_TS % 'cohort', US_OF_IV % 'median_time', US_OF_IV % 'p90_time',
                        m, f, t, ts_sql(s), ts_sql(u), iv_sql(iv), g))
        elif kind == 'stage_flow':
            m, s, u, g = a
            q.append("SELECT %d, %s, stage, position, at_start, entered, \"left\", at_end FROM "
                     "mql_score.stage_flow('%s', %s, %s, '%s');"
                     % (i, US_OF_TS % 'period', m, ts_sql(s), ts_sql(u), g))
        elif kind == 'stage_times':
            m, s, u = a
            q.append("SELECT %d, stage, position, stays, %s, %s, %s, open, %s, left_forward, left_back "
                     "FROM mql_score.stage_times('%s', %s, %s);"
                     % (i, US_OF_IV % 'avg_time', US_OF_IV % 'median_time', US_OF_IV % 'p90_time',
                        US_OF_IV % 'open_median_age', m, ts_sql(s), ts_sql(u)))
        elif kind == 'lead_velocity':
            m, s, k = a
            q.append("SELECT %d, month, entered, previous, lvr FROM mql_score.lead_velocity('%s', '%s', %d);"
                     % (i, m, s, k))
    q.append("COMMIT;")
    t0 = time.time()
    out = psql('\n'.join(q), tmp, 'queries')
    print('PostgreSQL answered %d calls in %.1f s' % (len(calls) + 1, time.time() - t0))
    t0 = time.time()

    got = {}
    now_tx = None
    for line in out.splitlines():
        if not line:
            continue
        f = line.split('|')
        if f[0] == 'now':
            now_tx = int(f[1])
            continue
        got.setdefault(f[0], []).append(f[1:])

    ref = Reference(rows, now_tx)
    mismatches = 0
    compared = 0
    bad_kinds = {}

    def same(g, r, kind):
        if r is None:
            return g == '\\N'
        if g == '\\N':
            return False
        if kind == 'f':
            x = float(g)
            return abs(x - r) <= 1e-9 * max(abs(x), abs(r)) or x == r
        if kind == 'iv':
            return abs(int(g) - r) <= 1
        if kind in ('i', 'ts'):
            return int(g) == r
        return g == str(r)

    def check(key, label, got_rows, ref_rows, kinds):
        nonlocal mismatches, compared
        got_rows = got_rows or []
        before = mismatches
        if len(got_rows) != len(ref_rows):
            mismatches += 1
            if mismatches <= 20:
                print('MISMATCH %s: %d rows, reference %d' % (label, len(got_rows), len(ref_rows)))
                for g_, r_ in zip(got_rows, ref_rows):
                    print('   got', g_, '\n   ref', r_)
        for g_, r_ in zip(got_rows, ref_rows):
            compared += 1
            if not all(same(gv, rv, k) for gv, rv, k in zip(g_, r_, kinds)) or len(g_) != len(r_):
                mismatches += 1
                if mismatches <= 20:
                    print('MISMATCH %s\n   got %s\n   ref %s' % (label, g_, r_))
        if mismatches > before:
            name = label.split('(')[0]
            bad_kinds[name] = bad_kinds.get(name, 0) + mismatches - before

    check('ep', 'stage_episodes', got.get('ep'), ref.stage_episodes(),
          ['s', 's', 's', 'i', 'i', 'ts', 'ts', 's', 's', 's', 'iv'])
    per_kind = {}
    for i, (kind, a) in enumerate(calls):
        per_kind[kind] = per_kind.get(kind, 0) + 1
        if kind == 'funnel':
            m, s, u = a
            check(str(i), 'funnel%r' % (a,), got.get(str(i)),
                  ref.funnel(m, s, now_tx if u is None else u), ['s', 'i', 'i', 'f', 'f'])
        elif kind == 'conversion':
            check(str(i), 'conversion%r' % (a,), got.get(str(i)), ref.conversion(*a),
                  ['ts', 'i', 'i', 'i', 'f', 'iv', 'iv'])
        elif kind == 'stage_flow':
            check(str(i), 'stage_flow%r' % (a,), got.get(str(i)), ref.stage_flow(*a),
                  ['ts', 's', 'i', 'i', 'i', 'i', 'i'])
            # the invariant, on PostgreSQL's own rows
            rows_ = got.get(str(i)) or []
            nxt = {}
            for r_ in rows_:
                if int(r_[6]) != int(r_[3]) + int(r_[4]) - int(r_[5]):
                    mismatches += 1
                    print('INVARIANT broken: stage_flow%r %s' % (a, r_))
                if r_[1] in nxt and nxt[r_[1]] != int(r_[3]):
                    mismatches += 1
                    print('CHAIN broken: stage_flow%r %s' % (a, r_))
                nxt[r_[1]] = int(r_[6])
        elif kind == 'stage_times':
            check(str(i), 'stage_times%r' % (a,), got.get(str(i)), ref.stage_times(*a),
                  ['s', 'i', 'i', 'iv', 'iv', 'iv', 'i', 'iv', 'i', 'i'])
        elif kind == 'lead_velocity':
            check(str(i), 'lead_velocity%r' % (a,), got.get(str(i)), ref.lead_velocity(*a),
                  ['s', 'i', 'i', 'f'])
    print('calls: %s; %d rows compared (%d episodes)' %
          (', '.join('%s %d' % kv for kv in sorted(per_kind.items())), compared, len(ref.episodes)))
    print('reference computed and compared in %.1f s' % (time.time() - t0))
    if mismatches:
        print('FAIL: %d mismatches (%s)' % (mismatches, ', '.join('%s %d' % kv for kv in sorted(bad_kinds.items()))))
        sys.exit(1)
    print('OK: 0 mismatches')


if __name__ == '__main__':
    main()
