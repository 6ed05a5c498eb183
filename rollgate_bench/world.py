"""A Lambda function behind a weighted alias, in virtual time, seen through CloudWatch, SQS and Lambda.

The world is written from how AWS documents these services behave, not from what any judge
assumes; a policy only sees it through the same reads the real adapters make (see rollgate_bench/WORLD.md
for every number and where it comes from). In short:

- traffic: Poisson arrivals around a rate that wanders (an AR(1) factor per minute and a drift),
  with optional bursts (x3-8 for 1-3 minutes), a diurnal ramp through the release, or a quiet spell;
- the alias splits each request between the stable (index 0) and new (index 1) version by weight,
  per request (Lambda's weighted alias routing is per invocation);
- errors: each version's own rate, times a per-minute gamma factor shared by both versions
  (downstream errors cluster in time), plus bursts of bad requests from one caller (a caller's burst
  is split between versions request by request, so each version's count is lumpier than binomial),
  plus downstream incidents that hit both versions, plus the regression;
- Duration: lognormal per invocation; a shared AR(1) latency drift and forced drifts; cold starts of
  fresh execution environments (reclaimed when idle); JIT/cache warm-up by time since the version
  last took more traffic; rare noisy minutes of one version;
- throttles are function-level: with reserved concurrency, requests beyond it are throttled whatever
  version they were routed to (concurrency = arrival rate x mean duration, Little's law);
- asynchronous invocations: a failed event is retried twice (1 and 2 minutes later), through the
  alias, so a retry can land on either version; an event failing all three goes to the DLQ;
- SQS event source with ReportBatchItemFailures: failed items are not Errors; they come back after the
  visibility timeout and after maxReceiveCount receives move to the *source queue's* redrive DLQ;
- CloudWatch: 1-minute periods only; a minute without invocations has *no datapoint*; p95/p99 are
  statistics of that minute's samples; each 10-second slice is published 1-2 minutes after it ends
  with a tail to 5 minutes, and a minute's Errors can arrive minutes after its Invocations;
  GetMetricData can fail past its retries (an outage), which the adapter raises as a transient error;
- IteratorAge (Maximum, per minute, late like the rest), DLQ depth (read live from SQS), an
  alias-level `Errors > T` alarm evaluated as CloudWatch does (2 of 2 datapoints).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from rollgate_bench.corpus import Scenario

SLICE = 10  # seconds: the grain of the simulation and of data arrival
#: How the failures that are not a regression's own are spread over the log signatures both versions log.
SHARED_SIGNATURES = (0.6, 0.3, 0.1)
PERIOD = 60  # the CloudWatch period every policy uses
PER_PERIOD = PERIOD // SLICE
PRE_DEPLOY = 1800  # seconds of stable-only history before the canary (the watch-phase baseline)
HORIZON = 3600  # seconds after canary start over which user impact is counted
# the world runs this long past the horizon so that a policy still deciding (a canary extended, a
# watch held for a human) keeps reading real data, not the end of the simulation
SIMULATED_PAST_HORIZON = 2400
IDLE_RECLAIM_S = 420  # an execution environment idle this long is usually gone
OLD, NEW = 0, 1
# asynchronous invocation: the second attempt 1 minute after the first, the third 2 minutes after that
ASYNC_RETRY_SLICES = (60 // SLICE, 120 // SLICE)
SQS_BATCH = 5  # items per SQS batch


#: Duration p50, p95, p99 and Average (ms) of one published period.
Durations = tuple[float, float, float, float]
#: (period index, invocations, errors, throttles, durations) of one published period.
PeriodRow = tuple[int, float | None, float | None, float | None, Durations | None]


@dataclass
class Finish:
    decision: str  # rollback | promoted | undecided
    time_to_detect_s: float | None
    bad_invocations: int
    reason: str
    end_s: float
    evidence_invocations: float | None = None  # new-version invocations in the data the decision read
    conclusion: str = ""  # the policy's own word for how it ended (run_gates' conclusion for rollgate)
    decided_by: str | None = None  # the evidence kind of the deciding verdict, when the policy says
    synthetic_only: bool = False  # promoted with no organic canary invocation in the deciding verdict
    flagged: bool = False  # the policy said its promotion was unverified / synthetic-only


def _delays(rng: np.random.Generator, shape: tuple[int, ...], late: bool) -> np.ndarray:
    """Publishing delay of a minute's batch: mostly 1-2 minutes, a tail to 5 (longer more often when late)."""
    mix = (0.80, 0.14, 0.06) if not late else (0.50, 0.28, 0.22)
    pick = rng.choice(3, size=shape, p=mix)
    low = np.array([55.0, 120.0, 180.0])[pick]
    high = np.array([120.0, 180.0, 300.0])[pick]
    return rng.uniform(low, high)


@dataclass(frozen=True)
class LogCounts:
    """One version's log lines over one 10-s slice: invocations (REPORT lines), failed invocations,
    those with the regression's own signature, and where a page budget cut the read (None: not cut)."""

    start_s: float
    invocations: int
    failed: int
    own_signature: int
    cut_at_s: float | None
    shared: tuple[int, ...] = ()  # failures per shared signature (SHARED_SIGNATURES' order)


class World:
    """What every policy sees the same way for one scenario: the load, incidents, noise, and how
    late each slice of data arrives."""

    def __init__(self, scenario: Scenario) -> None:
        sc = self.scenario = scenario
        rng = np.random.default_rng([sc.seed, sc.idx, 1])
        self.t0 = PRE_DEPLOY + sc.offset_s  # canary start
        self.end = self.t0 + HORIZON
        self.harm_slices = math.ceil(self.end / SLICE)
        self.slices = math.ceil((self.end + SIMULATED_PAST_HORIZON) / SLICE)
        self.sim_end = self.slices * SLICE
        k = self.slices
        times = np.arange(k) * SLICE
        minutes = k // PER_PERIOD + 1
        wander = np.empty(minutes)
        wander[0] = rng.normal(0, 0.23)
        for m in range(1, minutes):
            wander[m] = 0.9 * wander[m - 1] + rng.normal(0, 0.1)
        drift = np.linspace(0, rng.uniform(-0.2, 0.2), minutes)
        factor = np.repeat(np.exp(wander + drift), PER_PERIOD)[:k]
        if sc.traffic_shape == "bursty":
            for _ in range(rng.poisson(sc.burst_per_hour * self.sim_end / 3600)):
                start, length = int(rng.uniform(0, k)), int(rng.integers(6, 19))
                factor[start : start + length] *= sc.burst_multiplier
        elif sc.traffic_shape == "diurnal":
            factor *= sc.diurnal_change ** ((times - self.t0) / 3600)
        if sc.quiet_after_s is not None:
            factor[times >= self.t0 + sc.quiet_after_s] *= sc.quiet_factor
        self.traffic_factor = factor
        self.requests = rng.poisson(sc.rate * factor * SLICE)
        # errors cluster in time (shared by both versions) and come in bursts from one caller
        if sc.error_dispersion > 0:
            gamma = rng.gamma(sc.error_dispersion, 1 / sc.error_dispersion, minutes)
            self.error_factor = np.repeat(gamma, PER_PERIOD)[:k]
        else:
            self.error_factor = np.ones(k)
        self.caller_bursts = np.zeros(k, dtype=np.int64)
        if sc.caller_burst_share > 0 and sc.normal_error > 0:
            mean_bursts = sc.caller_burst_share * sc.normal_error * sc.rate * factor * SLICE / sc.caller_burst_size
            counts = rng.poisson(mean_bursts)
            for i in np.nonzero(counts)[0]:
                self.caller_bursts[i] = int(rng.geometric(1 / sc.caller_burst_size, counts[i]).sum())
        # downstream incidents: about one a day at random, plus the scenario's placed one
        self.incident = np.zeros(k)
        self.incident_latency = np.ones(k)
        for _ in range(rng.poisson(self.sim_end / 86_400)):
            start, length = int(rng.uniform(0, k)), int(rng.uniform(6, 30))
            self.incident[start : start + length] = rng.uniform(0.05, 0.5)
        if sc.incident_phase != "none":
            at = self.t0 + (rng.uniform(0, 180) if sc.incident_phase == "canary" else rng.uniform(380, 700))
            hit = (times >= at) & (times < at + sc.incident_len_s)
            self.incident[hit] = np.maximum(self.incident[hit], sc.incident_error)
            self.incident_latency[hit] = sc.incident_latency
        # latency drift shared by both versions, a placed drift, and rare noisy periods per version
        periods = minutes
        lat = np.empty(periods)
        lat[0] = rng.normal(0, 0.05)
        for p in range(1, periods):
            lat[p] = 0.8 * lat[p - 1] + rng.normal(0, 0.03)
        self.latency_drift = np.exp(lat)
        self.shared_latency = self.incident_latency.copy()
        if sc.drift_phase == "watch":
            drift_start = self.t0 + rng.uniform(380, 600)
            drift_len = rng.uniform(300, 600)
            ramp = np.clip((times - drift_start) / 120, 0, 1) * (times < drift_start + drift_len)
            self.shared_latency *= 1 + (sc.drift_multiplier - 1) * ramp
        self.noisy = rng.random((2, periods)) < 0.01
        self.noisy_fraction = rng.uniform(0.05, 0.2, (2, periods))
        self.noisy_multiplier = rng.uniform(2, 5, (2, periods))
        # data arrival: a minute's batch per version and metric, plus a few seconds of jitter per slice
        late = sc.delay_profile == "late"
        batch = np.repeat(_delays(rng, (2, minutes), late), PER_PERIOD, axis=1)[:, :k]
        self.arrival = (times + SLICE)[None, :] + batch + rng.uniform(0, 8, (2, k))
        errors_lag = np.where(
            rng.random((2, minutes)) < sc.errors_lag_probability, rng.uniform(60, 240, (2, minutes)), 0
        )
        self.errors_arrival = (
            self.arrival + np.repeat(errors_lag, PER_PERIOD, axis=1)[:, :k] + rng.uniform(0, 3, (2, k))
        )
        # when each version's minute is published in full (every metric of every slice)
        whole = (k // PER_PERIOD) * PER_PERIOD
        last = np.maximum(self.arrival, self.errors_arrival)[:, :whole]
        self.final_at = last.reshape(2, -1, PER_PERIOD).max(axis=2)
        # log lines: ingested 1-5 s after their slice ends (seconds, where metrics take minutes); an
        # own stream, so the metric draws above stay as they were
        log_rng = np.random.default_rng([sc.seed, sc.idx, 21])
        self.log_arrival = (times + SLICE)[None, :] + log_rng.uniform(1, 5, (2, k))
        #: does the new build's regression fail with an error of its own (a new signature in its logs), or
        #: more often with one the old version also logs (a slower dependency timing out more)?
        self.regression_has_own_signature = bool(log_rng.random() < 0.5)
        # the old version's own fault, when it has one, may come and go in waves (a flapping alarm)
        self.old_fault_wave = np.ones(k)
        if sc.alarm_flap:
            wave = rng.uniform(120, 240)
            self.old_fault_wave = ((times // wave) % 2 == 0).astype(float)
        # poison messages the stable code dead-letters anyway (after ~3 receives)
        poison = rng.poisson(sc.dlq_poison_per_hour * self.sim_end / 3600) if sc.has_dlq else 0
        self.poison_arrivals = np.sort(rng.uniform(0, self.sim_end, poison) + rng.uniform(90, 150, poison))
        # stream backlog bursts: about two an hour, building over 20-40 s, 10-90 s of lag
        self.stream_bursts = np.zeros(k)
        self.stream_noise = rng.uniform(0.5, 1.5, k) * sc.stream_base_age_ms
        if sc.has_stream:
            for _ in range(rng.poisson(2 * self.sim_end / 3600)):
                start, rise = int(rng.uniform(0, k)), int(rng.integers(2, 5))
                self.stream_bursts[start : start + rise] += rng.uniform(10, 90) / rise

    def metrics_unavailable(self, now: float) -> bool:
        """Whether GetMetricData fails past the adapter's retries at `now` (an outage or sustained throttling)."""
        sc = self.scenario
        if sc.metric_outage_start_s is None:
            return False
        start = self.t0 + sc.metric_outage_start_s
        return start <= now < start + sc.metric_outage_len_s


class Run:
    """One policy's release of one scenario: traffic is split by the weights the policy sets, as
    it sets them, and the policy can only read what CloudWatch would have published by then."""

    def __init__(self, world: World, stream: int, *, latency: bool) -> None:
        self.world, self.sc = world, world.scenario
        self.rng = np.random.default_rng([self.sc.seed, self.sc.idx, 100 + stream])
        # the probes draw from their own stream: sending them must not change the organic traffic
        self.probe_rng = np.random.default_rng([self.sc.seed, self.sc.idx, 200 + stream])
        self.latency = latency
        k = world.slices
        self.invocations = np.zeros((2, k), dtype=np.int64)
        self.errors = np.zeros((2, k), dtype=np.int64)
        self.throttles = np.zeros((2, k), dtype=np.int64)
        self.harm = np.zeros(k, dtype=np.int64)
        self.synthetic = np.zeros(k, dtype=np.int64)
        self.probes = np.zeros(k, dtype=np.int64)  # invocations of the new version's qualifier, per slice
        # failures per shared log signature (rollgate_bench.gate.BenchLogs.SHARED), per version and slice
        self.log_split = [np.zeros((len(SHARED_SIGNATURES), k), dtype=np.int64) for _ in range(2)]
        self.log_rng = np.random.default_rng([self.sc.seed, self.sc.idx, 300 + stream])
        self.retries = np.zeros((2, k + 40), dtype=np.int64)  # async events due for attempt 2 / attempt 3
        self.sqs_due = np.zeros((8, k + 80), dtype=np.int64)  # SQS items due for receive n+2
        self.iterator_age_ms = np.zeros(k)
        self.durations: list[list[np.ndarray | None]] = [[None] * k, [None] * k]
        self.dlq_arrivals: list[np.ndarray] = []
        self.source_dlq_arrivals: list[np.ndarray] = []
        self.done = 0  # slices simulated
        self.weight = 0.0
        # JIT / cache warm-up of the new version: the share of its environments still cold-compiled at
        # `jit_at` (when it last took more traffic); it decays with the scenario's time constant
        self.jit_at, self.jit_level = 0.0, 0.0
        self.load_trigger_at: float | None = None
        self.warm = [0.0, 0.0]  # warm execution environments per version
        self.mean_duration_s = self.sc.latency_median_ms * math.exp(self.sc.latency_sigma**2 / 2) / 1000
        self.lag_s = 0.0
        self.direct_invocations = 0  # invocations of the new version's qualifier (not in the alias metrics)
        self._percentile_cache: dict[tuple[int, int, int], Durations] = {}
        # (version, period) -> its datapoint once published in full (it no longer changes)
        self._settled: dict[tuple[int, int], PeriodRow] = {}
        # slices simulated at once: an async retry or a returning SQS item never lands inside its own chunk
        self.chunk = k
        if self.sc.asynchronous:
            self.chunk = min(ASYNC_RETRY_SLICES)
        if self.sc.has_sqs_source:
            self.chunk = min(self.chunk, max(1, math.ceil(self.sc.sqs_visibility_s / SLICE)))

    # ------------------------------------------------------------------ driving
    def set_weight(self, t: float, weight: float) -> None:
        """From time t on (simulated from the next slice boundary), the new version gets `weight` of the traffic."""
        self.advance(t)
        sc = self.sc
        if sc.trigger == "load" and weight >= 0.5 and self.load_trigger_at is None:
            self.load_trigger_at = t + sc.trigger_delay_s
        if weight > self.weight and sc.jit_tau_s:
            fresh = 1 - self.weight / weight  # the environments added for the new share start cold
            still = self.jit_level * math.exp(-max(0.0, t - self.jit_at) / sc.jit_tau_s)
            self.jit_at, self.jit_level = t, fresh + (1 - fresh) * still
        self.weight = weight

    def add_synthetic(self, t: float, count: int) -> None:
        """Invocations of the alias with smoke payloads (split by weight like real ones; not users)."""
        k = max(int(t // SLICE), self.done)
        if k < self.world.slices:
            self.synthetic[k] += count

    def invoke_new_version(self, t: float) -> bool:
        """One synchronous invocation of the new version's qualifier with a smoke payload; True if it
        failed. Such invocations show under Resource=function:version, not in the alias's series."""
        sc, k = self.sc, min(int(t // SLICE), self.world.slices - 1)
        self.direct_invocations += 1
        p = self.world.incident[k]
        if sc.smoke_hits_regression and self._regression_on(np.array([k]))[0] and sc.kind == "error":
            p = max(p, self._regression_p(np.array([k]))[0])
        failed = bool(self.probe_rng.random() < p)
        # the probe runs in one of the new version's environments: its REPORT line is in that version's logs
        self.probes[k] += 1
        return failed

    def advance(self, t: float) -> None:
        """Simulate every slice that starts before t."""
        end = min(math.ceil(t / SLICE), self.world.slices)
        while self.done < end:
            stop = min(end, self.done + self.chunk)
            self._simulate(np.arange(self.done, stop))
            self.done = stop

    def _harm_on(self, ks: np.ndarray) -> np.ndarray:
        """Whether the regression harms users at these slices (a slow burn only once it is noticeable)."""
        on = self._regression_on(ks)
        if self.sc.kind == "burn":
            noticeable = self.world.t0 + 60 * math.log(1.3) / math.log(1 + self.sc.burn_per_min)
            on &= ks * SLICE >= noticeable
        return on

    def _regression_on(self, ks: np.ndarray) -> np.ndarray:
        sc, times = self.sc, ks * SLICE
        if sc.kind == "none":
            return np.zeros(len(ks), dtype=bool)
        if sc.trigger == "load":
            if self.load_trigger_at is None:
                return np.zeros(len(ks), dtype=bool)
            return times >= self.load_trigger_at
        return times >= self.world.t0

    def _regression_p(self, ks: np.ndarray) -> np.ndarray:
        sc = self.sc
        if sc.kind != "error":
            return np.zeros(len(ks))
        minutes = np.maximum(0, ks * SLICE - self.world.t0) / 60
        return np.where(
            self._regression_on(ks), np.minimum(1, sc.regression_error + sc.error_growth_per_min * minutes), 0
        )

    def _new_slowdown(self, ks: np.ndarray, on: np.ndarray) -> np.ndarray:
        """How much slower the new build runs than the old one at these slices (excluding cold starts)."""
        sc, times = self.sc, ks * SLICE
        slow = np.ones(len(ks))
        if sc.kind == "latency" and not sc.tail_fraction:
            slow = np.where(on, sc.latency_multiplier, 1.0)
        elif sc.kind == "burn":
            slow = np.where(on, (1 + sc.burn_per_min) ** (np.maximum(0, times - self.world.t0) / 60), 1.0)
        elif sc.kind == "stream":
            slow = np.where(on, sc.stream_slowdown, 1.0)
        if sc.jit_extra:
            decay = np.exp(-np.maximum(0, times - self.jit_at) / sc.jit_tau_s)
            slow = slow * (1 + sc.jit_extra * self.jit_level * decay)
        return slow

    def _draw(self, n: np.ndarray, p: np.ndarray | float) -> np.ndarray:
        """Binomial counts, skipping the generator when nothing is drawn (most slices of most mechanisms)."""
        if not n.any():
            return np.zeros_like(n)
        return self.rng.binomial(n, p)

    def _simulate(self, ks: np.ndarray) -> None:
        sc, world, w, rng = self.sc, self.world, self.weight, self.rng
        draw = self._draw
        on = self._regression_on(ks)
        slow = self._new_slowdown(ks, on)
        incident = world.incident[ks]
        real = world.requests[ks] + world.caller_bursts[ks]
        # function-level throttling: concurrency = arrivals x mean duration, whichever version serves
        if sc.reserved_concurrency:
            mean_s = self.mean_duration_s * world.shared_latency[ks] * ((1 - w) + w * slow)
            demand = 1.3 * real / SLICE * mean_s  # 1.3: arrivals within a slice are not even
            throttled_fraction = np.clip(1 - sc.reserved_concurrency / np.maximum(demand, 1e-9), 0, 1)
            throttled = draw(real, throttled_fraction)
            new_throttled = draw(throttled, w)
            self.throttles[NEW, ks] = new_throttled
            self.throttles[OLD, ks] = throttled - new_throttled
            served = real - throttled
            bursts = np.minimum(world.caller_bursts[ks], served)
        else:
            served, bursts = real, world.caller_bursts[ks]
        synthetic = self.synthetic[ks]
        # async retries due now: attempts 2 and 3, routed afresh by the alias
        retry2, retry3 = self.retries[0, ks], self.retries[1, ks]
        new_bursts = draw(bursts, w)
        plain = served - bursts
        new_plain = draw(plain, w)
        new_synthetic = draw(synthetic, w)
        new_retry2, new_retry3 = draw(retry2, w), draw(retry3, w)
        p_reg = self._regression_p(ks)
        share = sc.caller_burst_share if sc.normal_error > 0 else 0.0
        own_new = np.maximum(0.0, sc.new_error - sc.normal_error * share) * world.error_factor[ks]
        old_fault = (sc.old_error - sc.normal_error) * world.old_fault_wave[ks]
        own_old = (np.maximum(0.0, sc.normal_error * (1 - share)) * world.error_factor[ks]) + old_fault
        p_new = np.minimum(1, own_new + incident)
        p_old = np.minimum(1, own_old + incident)

        def fail_new(n: np.ndarray, *, users: bool) -> tuple[np.ndarray, np.ndarray]:
            regression = draw(n, p_reg)
            other = draw(n - regression, p_new if users else np.minimum(1, incident))
            return regression, regression + other

        reg_plain, err_plain = fail_new(new_plain, users=True)
        reg_r2, err_r2 = fail_new(new_retry2, users=True)
        reg_r3, err_r3 = fail_new(new_retry3, users=True)
        if sc.smoke_hits_regression:  # smoke payloads are valid input: only the regression or an incident fails them
            err_syn = fail_new(new_synthetic, users=False)[1]
        else:  # the smoke payloads' request type works in the new build
            err_syn = draw(new_synthetic, np.minimum(1, incident))
        # requests of a bad caller fail on either version (bad input)
        new_errors = err_plain + err_r2 + err_r3 + err_syn + new_bursts
        old_plain, old_r2, old_r3 = plain - new_plain, retry2 - new_retry2, retry3 - new_retry3
        old_err_plain = draw(old_plain, p_old)
        old_err_r2, old_err_r3 = draw(old_r2, p_old), draw(old_r3, p_old)
        old_errors = old_err_plain + old_err_r2 + old_err_r3 + draw(synthetic - new_synthetic, incident)
        old_errors += bursts - new_bursts
        self.errors[NEW, ks] = new_errors
        self.errors[OLD, ks] = old_errors
        self.invocations[NEW, ks] = new_plain + new_bursts + new_synthetic + new_retry2 + new_retry3
        self.invocations[OLD, ks] = (plain - new_plain) + (bursts - new_bursts) + (synthetic - new_synthetic)
        self.invocations[OLD, ks] += old_r2 + old_r3
        if sc.asynchronous:
            first_failures = err_plain + old_err_plain + bursts  # a bad caller's events fail every attempt
            second, third = ASYNC_RETRY_SLICES
            np.add.at(self.retries[0], ks + second, first_failures)
            np.add.at(self.retries[1], ks + third, err_r2 + old_err_r2)
            final = int((err_r3 + old_err_r3).sum())
            if final and sc.has_dlq:
                sent = np.repeat(ks * SLICE, err_r3 + old_err_r3) + rng.uniform(0, SLICE + 20, final)
                self.dlq_arrivals.append(sent)
        # user harm, and dead-lettered messages
        if sc.kind == "error":
            self.harm[ks] = reg_plain + reg_r2 + reg_r3
        elif sc.kind in ("latency", "stream", "burn", "business"):
            harm_on = self._harm_on(ks)
            self.harm[ks] = np.where(harm_on, draw(new_plain, sc.harm_per_new_invocation()), 0)
        elif sc.kind == "dlq":
            dropped = np.where(on, draw(new_plain, sc.dlq_drop_fraction), 0)
            self.harm[ks] = dropped
            total = int(dropped.sum())
            if total:
                sent = np.repeat(ks * SLICE, dropped) + rng.uniform(0, SLICE, total)
                self.dlq_arrivals.append(sent + rng.uniform(90, 150, total))  # maxReceiveCount x visibility
        # which shared signature each failure logs (its own draws: the metric series stay as they were)
        own = self.harm[ks] if sc.kind == "error" and self.world.regression_has_own_signature else 0
        for version, failures in ((NEW, self.errors[NEW, ks] - own), (OLD, self.errors[OLD, ks])):
            self.log_split[version][:, ks] = self.log_rng.multinomial(np.maximum(failures, 0), SHARED_SIGNATURES).T
        if sc.has_sqs_source:
            self._sqs(ks, on, new_plain)
        if sc.has_stream:
            self._stream(ks, on)
        if self.latency:
            decay = math.exp(-SLICE / IDLE_RECLAIM_S)
            old_n = self.invocations[OLD, ks]
            new_n = self.invocations[NEW, ks]
            for i, k in enumerate(ks):
                for version, n in ((OLD, old_n[i]), (NEW, new_n[i])):
                    self.warm[version] *= decay
                    if n:
                        self.durations[version][k] = self._durations(version, int(k), int(n), bool(on[i]), slow[i])

    def _sqs(self, ks: np.ndarray, on: np.ndarray, new_batches: np.ndarray) -> None:
        """Items failed by partial batch response come back after the visibility timeout; after
        maxReceiveCount receives SQS moves them to the source queue's DLQ. No Errors datapoint moves."""
        sc, rng, w = self.sc, self.rng, self.weight
        visibility = max(1, math.ceil(sc.sqs_visibility_s / SLICE))
        p = np.where(on, sc.sqs_fail_fraction, 0.0)
        failed_first = rng.binomial(new_batches * SQS_BATCH, p)
        harm = failed_first.copy()
        np.add.at(self.sqs_due[0], ks + visibility, failed_first)
        for receive in range(sc.sqs_max_receive - 1):  # receive index 2..max
            due = self.sqs_due[receive, ks]
            again = rng.binomial(rng.binomial(due, w), p)  # only a retry landing on the new build fails
            harm += again
            if receive + 1 < sc.sqs_max_receive - 1:
                np.add.at(self.sqs_due[receive + 1], ks + visibility, again)
            elif again.sum():
                sent = np.repeat(ks * SLICE, again) + rng.uniform(0, SLICE, int(again.sum()))
                self.source_dlq_arrivals.append(sent + sc.sqs_visibility_s)
        if sc.kind == "sqs_partial":
            self.harm[ks] = harm

    def _stream(self, ks: np.ndarray, on: np.ndarray) -> None:
        sc, w = self.sc, self.weight
        for i, k in enumerate(ks):
            slowdown = sc.stream_slowdown if (sc.kind == "stream" and on[i]) else 1.0
            if sc.stream_steps and (int(k * SLICE - self.world.t0) // PERIOD) % 2:
                slowdown = 1.0  # the build stalls every other minute: age flat, then a step up
            utilisation = sc.stream_utilisation * ((1 - w) + w * slowdown) if w else sc.stream_utilisation
            self.lag_s += self.world.stream_bursts[k]
            if utilisation > 1:
                self.lag_s += SLICE * (1 - 1 / utilisation)
            else:
                self.lag_s = max(0.0, self.lag_s - SLICE * (1 / utilisation - 1))
            self.iterator_age_ms[k] = self.world.stream_noise[k] + 1000 * self.lag_s

    def _durations(self, version: int, k: int, n: int, regression_on: bool, slowdown: float) -> np.ndarray:
        sc, world, rng = self.sc, self.world, self.rng
        period = k // PER_PERIOD
        d = rng.lognormal(math.log(sc.latency_median_ms), sc.latency_sigma, n)
        d *= world.latency_drift[period] * world.shared_latency[k]
        # environments needed at the slice's peak concurrency, against the warm ones left (idle
        # environments are reclaimed: the pool decays over IDLE_RECLAIM_S)
        needed = math.ceil(1.5 * n * self.mean_duration_s / SLICE)
        warm = math.floor(self.warm[version])
        cold = min(max(0, needed - warm), n)
        self.warm[version] = max(self.warm[version], float(needed))
        if cold:
            d[:cold] *= sc.warmup_multiplier
        if world.noisy[version, period]:
            hit = rng.binomial(n, world.noisy_fraction[version, period])
            d[n - hit :] *= world.noisy_multiplier[version, period]
        if version == NEW:
            d *= slowdown
            if regression_on and sc.kind == "latency" and sc.tail_fraction:
                hit = rng.binomial(n, sc.tail_fraction)
                d[n - hit :] += sc.tail_add_ms
        return d

    def finish(
        self,
        t: float,
        decision: str,
        *,
        weight_after: float,
        reason: str,
        detected: bool,
        evidence: float | None = None,
        **extra: object,
    ) -> Finish:
        """The policy is done at t; the new version keeps `weight_after` of the traffic until the
        horizon, and every harmful invocation until then counts."""
        self.set_weight(t, weight_after)
        served = int(self.harm[: min(self.done, self.world.harm_slices)].sum())
        rest = np.arange(self.done, self.world.harm_slices)
        if weight_after > 0 and len(rest) and self.sc.kind != "none":
            new_real = self.rng.binomial(self.world.requests[rest], weight_after)
            on = self._harm_on(rest)
            if self.sc.kind == "error":
                p = self._regression_p(rest)
            else:
                p = np.full(len(rest), self.sc.harm_per_new_invocation())
            served += int(np.where(on, self.rng.binomial(new_real, p), 0).sum())
        return Finish(
            decision=decision,
            time_to_detect_s=(t - self.world.t0) if detected else None,
            bad_invocations=served,
            reason=reason,
            end_s=t - self.world.t0,
            evidence_invocations=evidence,
            **extra,  # type: ignore[arg-type]
        )

    # ------------------------------------------------------------------ what CloudWatch shows at `now`
    def period_stats(self, version: int, first_period: int, end_period: int, now: float) -> list[PeriodRow]:
        """(period index, invocations, errors, throttles, (p50, p95, p99, average)) per minute in
        [first, end); None where CloudWatch has no datapoint (no invocation published yet; Errors
        not published yet). Duration's p50 and Average are published with its percentiles."""
        rows: list[PeriodRow] = []
        arrival, errors_arrival = self.world.arrival[version], self.world.errors_arrival[version]
        final = self.world.final_at[version]
        for p in range(first_period, end_period):
            settled = self._settled.get((version, p))
            if settled is not None:  # published in full: a datapoint no longer changes
                rows.append(settled)
                continue
            ks = np.arange(p * PER_PERIOD, min((p + 1) * PER_PERIOD, self.done))
            if len(ks) == 0:
                rows.append((p, None, None, None, None))
                continue
            visible = ks[arrival[ks] <= now]
            n = int(self.invocations[version, visible].sum())
            throttles_n = int(self.throttles[version, visible].sum())
            if n == 0 and throttles_n == 0:
                rows.append((p, None, None, None, None))
                continue
            errors_visible = ks[errors_arrival[ks] <= now]
            errors_published = int(self.invocations[version, errors_visible].sum()) > 0
            errors = float(self.errors[version, errors_visible].sum()) if errors_published else None
            durations = self._percentiles(version, p, visible) if self.latency and n else None
            row = (p, float(n) if n else None, errors if n else None, float(throttles_n), durations)
            if len(ks) == PER_PERIOD and 0 <= p < len(final) and now >= final[p]:
                self._settled[(version, p)] = row
            rows.append(row)
        return rows

    def _percentiles(self, version: int, period: int, visible: np.ndarray) -> Durations:
        key = (version, period, int(sum(1 << int(k - period * PER_PERIOD) for k in visible)))
        cached = self._percentile_cache.get(key)
        if cached is None:
            parts = [d for k in visible if (d := self.durations[version][k]) is not None]
            values = np.concatenate(parts)
            p50, p95, p99 = np.percentile(values, (50, 95, 99))
            cached = self._percentile_cache[key] = (float(p50), float(p95), float(p99), float(values.mean()))
        return cached

    def alias_errors(self, period: int, now: float) -> tuple[float, float] | None:
        """Alias-level (Resource=function:alias) Errors and Invocations for one minute, or None."""
        ks = np.arange(period * PER_PERIOD, min((period + 1) * PER_PERIOD, self.done))
        if len(ks) == 0:
            return None
        n = e = 0
        for version in (OLD, NEW):
            n += int(self.invocations[version, ks[self.world.arrival[version, ks] <= now]].sum())
            e += int(self.errors[version, ks[self.world.errors_arrival[version, ks] <= now]].sum())
        return (float(e), float(n)) if n else None

    def alarm_state(self, now: float, threshold: float | None = None, *, rate: bool = False) -> str:
        """`Errors > T` (or, with rate, Errors/Invocations > T) for 2 of 2 one-minute datapoints of the
        alias, evaluated on the minutes published in full by `now` (minutes without a datapoint are
        skipped, up to 5 back)."""
        limit = self.sc.alarm_threshold if threshold is None else threshold
        last = int(now // PERIOD) - 1
        while last >= 0 and self.world.errors_arrival[:, (last + 1) * PER_PERIOD - 1].max() > now:
            last -= 1
        points = []
        for p in range(last, last - 5, -1):
            value = self.alias_errors(p, now)
            if value is not None:
                points.append(value[0] / value[1] if rate else value[0])
            if len(points) == 2:
                break
        if len(points) < 2:
            return "INSUFFICIENT_DATA"
        return "ALARM" if all(v > limit for v in points) else "OK"

    def dlq_depth(self, now: float) -> int:
        """The function's (async on-failure) DLQ: ApproximateNumberOfMessages, read live from SQS."""
        depth = self.sc.dlq_backlog + int(np.searchsorted(self.world.poison_arrivals, now, side="right"))
        for arrivals in self.dlq_arrivals:
            depth += int((arrivals <= now).sum())
        return depth

    def source_dlq_depth(self, now: float) -> int:
        """The SQS source queue's redrive DLQ, read live."""
        return sum(int((arrivals <= now).sum()) for arrivals in self.source_dlq_arrivals)

    def iterator_age(self, first_period: int, end_period: int, now: float) -> list[tuple[int, float | None]]:
        """IteratorAge (Maximum) per minute, as published by `now`."""
        rows = []
        for p in range(first_period, end_period):
            ks = np.arange(p * PER_PERIOD, min((p + 1) * PER_PERIOD, self.done))
            visible = ks[self.world.arrival[OLD, ks] <= now] if len(ks) else ks
            rows.append((p, float(self.iterator_age_ms[visible].max()) if len(visible) else None))
        return rows

    def orders(self, version: int, first_period: int, end_period: int, now: float) -> list[tuple[int, float | None]]:
        """The team's business metric (orders placed, Sum per minute, by version) as published by
        `now`: published with the version's invocations, each a request placing an order with the
        period's rate (the scenario's, spread per period by campaigns and carts; the new build's times
        its factor). Seeded by the period, so a datapoint read twice reads alike."""
        sc = self.sc
        rows: list[tuple[int, float | None]] = []
        for p, n, *_ in self.period_stats(version, first_period, end_period, now):
            if not n:
                rows.append((p, None))
                continue
            rng = np.random.default_rng([sc.seed, sc.idx, 300 + version, p, int(n)])
            spread = float(np.random.default_rng([sc.seed, sc.idx, 400 + version, p]).lognormal(0, sc.business_noise))
            rate = sc.business_rate * (sc.business_factor if version == NEW else 1.0) * spread
            rows.append((p, float(rng.binomial(int(n), min(1.0, rate)))))
        return rows

    def logs(self, version: int, start_s: float, end_s: float, now: float, max_events: int) -> list[LogCounts]:
        """What FilterLogEvents shows of one version's log lines in [start, end) at `now`, per 10-s
        slice (the shipped summary's stretch): REPORT lines (one per invocation, probes of the new
        version's qualifier included), failed invocations, and those of the regression's own
        signature (when it has one). At most `max_events` REPORT lines are read: past that the read
        stops, and so does the count of error lines (the last row then says where: `cut_at_s`)."""
        first, stop = max(0, int(start_s // SLICE)), min(self.done, math.ceil(end_s / SLICE))
        if stop <= first:
            return []
        ks = np.arange(first, stop)
        visible = ks[self.world.log_arrival[version, ks] <= now]
        reports = self.invocations[version, visible] + (self.probes[visible] if version == NEW else 0)
        cut_at = None
        cumulative = np.cumsum(reports)
        if len(cumulative) and cumulative[-1] > max_events:
            keep = int(np.searchsorted(cumulative, max_events, side="right"))
            visible, reports = visible[:keep], reports[:keep]
            cut_at = float(visible[-1] + 1) * SLICE if keep else start_s
        own_signature = version == NEW and self.sc.kind == "error" and self.world.regression_has_own_signature
        rows = [
            LogCounts(
                start_s=float(k * SLICE),
                invocations=int(n),
                failed=int(self.errors[version, k]),
                own_signature=int(self.harm[k]) if own_signature else 0,
                cut_at_s=None,
                shared=tuple(int(x) for x in self.log_split[version][:, k]),
            )
            for k, n in zip(visible, reports, strict=True)
        ]
        if rows and cut_at is not None:
            rows[-1] = replace(rows[-1], cut_at_s=cut_at)
        return rows
