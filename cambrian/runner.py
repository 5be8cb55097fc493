"""The loop: ask, propose, check, evaluate, record, tell, until a stop condition.

Proposals are asked in sequence order and told in sequence order, with up to
``workers`` candidates in flight between the two. A candidate's result is written
to the store the moment it exists; it is told to the strategy when every earlier
candidate has been told. So the search depends on the seed and on results, never on
which evaluation happened to finish first, and resuming is re-running the same
schedule with stored attempts answering instantly.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from dataclasses import replace
from pathlib import Path
from functools import partial
from typing import Any, Callable, Mapping

from . import history, snapshot, summary
from .config import Config
from .contributions import builtin
from .stats import Stats, failure_kind
from .evaluation import INFRASTRUCTURE, INVALID, OK, REJECTED, EvalResult
from .events import EventLog
from .executors import EXECUTOR_KEY, Executor
from .llm.budget import CallBudget
from .novelty import NoveltyIndex
from .operators import Candidate, Context, Operator, ProposalFailure
from .profiles import instructions
from .prompt import load_templates
from .program import Program, compile_error, outside_change, program_id
from .store import DUPLICATE, EQUIVALENT, FAILED, NEW, Attempt, Replayed, Store
from .strategy import OPERATOR_STREAM, Outcome, Proposal, Strategy, rng_for
from .operators.seeds import SEED
from .resume import missing_features

# Where a candidate's file sits while it is evaluated (a fresh work directory): replaced
# by the user's own path when the initial program's traceback is shown.
WORK_PROGRAM = re.compile(r"[^\s\"']*/cambrian-[^/\s\"']+/program\.py")


def one_line(text: str) -> str:
    return " ".join(text.split())

INITIAL = "initial"
STOP_GRACE = 10.0   # seconds in-flight candidates get after a stop before they are cancelled
POLL = 0.5          # how often stop conditions are checked while waiting on a candidate
REPLAY_PROGRESS_EVERY = 1000   # replayed candidates between progress updates
EXECUTOR_EVERY = 25 # candidates between records of the executor's in-flight counts


class Runner:
    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        strategy: Strategy,
        operators: Mapping[str, Operator],
        executor: Executor,
        context: Context,
        events: EventLog,
        on_progress: Callable[[Stats], None] | None = None,
        fingerprints: bool = False,
        clients: list | None = None,
        cost_bound: float = 0.0,
        templates: dict[str, Any] | None = None,
        seeds: int = 0,
        on_note: Callable[[str], None] | None = None,
        program_path: Path | None = None,
        calls: CallBudget | None = None,
    ):
        self.config = config
        self.store = store
        self.strategy = strategy
        self.operators = operators
        self.executor = executor
        self.context = context
        self.events = events
        self.on_progress = on_progress or (lambda stats: None)
        self.fingerprints = fingerprints
        self.clients = clients or []
        self.cost_bound = cost_bound
        self.calls = calls if calls is not None else CallBudget(None)
        self.novelty = NoveltyIndex(seed=config.seed) if config.novelty.enabled else None
        self.notes = ""
        self.templates = templates if templates is not None else load_templates()
        self.stats = Stats()
        self.seeds = seeds                  # candidates 1..seeds re-evaluate another run's programs
        self.note = on_note or (lambda text: None)
        self.program_path = program_path    # the user's initial_program.py, named in its tracebacks
        self.initial_id = ""
        self._stop: str | None = None
        self._stop_at: float | None = None
        self.stop_grace = STOP_GRACE
        self._in_flight: dict[str, asyncio.Future[EvalResult]] = {}
        self._stored = _StoredAttempts(store)
        # seq -> (stored attempt and program, reassignments when it was read), until told
        self._replayed: dict[int, tuple[tuple[Attempt, Replayed | None], int]] = {}
        self._reassigned = 0
        self.snapshot_every = snapshot.EVERY   # tells between resume snapshots (0: none)
        self._max_since = 0                    # the longest run without improvement so far
        self._saved = 0                        # the last candidate a snapshot was saved after

    # -- control -------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        if self._stop is None:
            self._stop = reason
            self._stop_at = time.monotonic()
            self.events.emit("stop_requested", reason=reason)

    async def run(self, initial_code: str, *, handle_signals: bool = False) -> Stats:
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        if handle_signals:
            # The first SIGINT or SIGTERM stops gracefully (no new candidates; in-flight
            # ones get the grace period); a second one cancels them now.
            def on_signal(name: str) -> None:
                if self._stop is None:
                    self.request_stop(f"interrupted ({name})")
                elif main is not None:
                    main.cancel()
            loop.add_signal_handler(signal.SIGINT, on_signal, "SIGINT")
            loop.add_signal_handler(signal.SIGTERM, on_signal, "SIGTERM")
        try:
            return await self._run(initial_code)
        finally:
            if handle_signals:
                loop.remove_signal_handler(signal.SIGINT)
                loop.remove_signal_handler(signal.SIGTERM)

    async def _run(self, initial_code: str) -> Stats:
        initial = await self._initial(initial_code)
        self.initial_id = initial.id
        missing = missing_features(self.strategy.shape, initial.metrics)
        if missing:
            from .errors import ConfigError

            raise ConfigError(f"config: archive.features: {', '.join(map(repr, missing))} not among the metrics "
                              f"evaluate() returns for the initial program ({', '.join(sorted(initial.metrics)) or 'none'})"
                              f"; fix the name, then run again in the same run directory")
        self.strategy.seed(initial.id, initial.score, self._features(initial))
        if self.novelty is not None:
            for island in range(self.strategy.island_count):
                self.novelty.add(island, initial.id, initial.code, 0)
        self.stats.best_score = self.stats.initial_score = initial.score
        self.stats.best_id = initial.id
        told = self._from_snapshot()
        self.events.emit("started", budget=self.config.budget, workers=self.config.workers,
                         islands=self.strategy.island_count)
        self._record_executor()
        budget, window = self.config.budget, self.config.workers
        # seq -> (proposal, its task, whether it was answered from the store)
        pending: dict[int, tuple[Proposal, asyncio.Future[None], bool]] = {}
        next_ask = next_tell = told + 1
        asked_all = False
        deadline = time.monotonic() + self.config.max_time if self.config.max_time else None
        try:
            while True:
                while self._stop is None and next_ask <= budget and next_ask < next_tell + window:
                    if self._stored.get(next_ask) is None and (self._over_cost(pending) or self._over_calls()):
                        break
                    pending[next_ask] = self._start(next_ask)
                    next_ask += 1
                if not asked_all and (self._stop is not None or next_ask > budget):
                    # The state every candidate after the last one asked would be asked from
                    # (on a resume with at most as many workers): the snapshot it starts at.
                    asked_all = True
                    self._save_snapshot(next_tell - 1)
                if next_tell >= next_ask:
                    break
                proposal, future, replayed = pending[next_tell]
                if not await self._wait(future, pending, deadline):
                    cut = await self._cut(pending)
                    self._stop = f"{self._stop}; {cut} in-flight candidate(s) cancelled after the " \
                                 f"{self.stop_grace:g} s grace (a resume runs them)"
                    break
                del pending[next_tell]
                await future
                self._tell(proposal, replayed=replayed)
                next_tell += 1
                if next_tell % EXECUTOR_EVERY == 0:
                    self._record_executor()
                every = self.config.llm.insights_every
                if every and self.clients and proposal.seq % every == 0:
                    await self._insights(proposal.seq)
                self._check_stop(deadline)
        except BaseException as exc:
            for _, future, _ in pending.values():
                future.cancel()
            await asyncio.gather(*(f for _, f, _ in pending.values()), return_exceptions=True)
            if isinstance(exc, asyncio.CancelledError):
                self.stats.stop_reason = "interrupted twice: in-flight candidates cancelled"
                self.events.emit("stopped", reason=self.stats.stop_reason)
            raise
        self.stats.stop_reason = self._stop or "budget"
        self.stats.calls = self.calls.used
        self._record_executor()
        # The whole search state is derivable from the attempts; this is a readable summary.
        # Randomness is counter-based: (seed, seq) determines every draw.
        self.store.set_meta("state", {"told": self.strategy.told, "next_seq": next_ask,
                                      "best_id": self.stats.best_id, "islands": self.strategy.island_count,
                                      "rng": {"seed": self.config.seed, "kind": "counter (seed, seq)"},
                                      "archive": self.strategy.elites()})
        self.events.emit("stopped", reason=self.stats.stop_reason, best=self.stats.best_score,
                         best_id=self.stats.best_id)
        return self.stats

    def _record_executor(self) -> None:
        """What runs the evaluations and how many were in flight, with the run (``cambrian status``)."""
        describe = getattr(self.executor, "describe", None)
        if describe is not None:
            self.store.set_meta(EXECUTOR_KEY, describe())

    async def _wait(self, future: asyncio.Future[None], pending: dict, deadline: float | None) -> bool:
        """Wait for ``future`` while watching the stop conditions, so a stalled proposal
        cannot delay a stop; False once a stop's grace period has run out first."""
        if not future.done():
            self.store.fold()  # the loop waits anyway: what it recorded goes to the database now
        while not future.done():
            timeout = POLL
            if self._stop_at is not None:
                timeout = min(POLL, max(0.0, self._stop_at + self.stop_grace - time.monotonic()))
            await asyncio.wait({future}, timeout=timeout)
            if future.done():
                break
            self._check_stop(deadline)
            self._check_in_flight(pending)
            if self._stop_at is not None and time.monotonic() >= self._stop_at + self.stop_grace:
                return False
        return True

    def _check_in_flight(self, pending: dict) -> None:
        """Stops that finished-but-untold candidates or spent money already call for."""
        cfg = self.config
        if cfg.max_cost is not None and self.clients and self.store.spent() >= cfg.max_cost:
            self.request_stop(f"max cost ${cfg.max_cost:g} reached (spent ${self.store.spent():.4f})")
        if cfg.target is not None:
            best = self._best_untold(pending)
            if best is not None and self.strategy.sign * (best.score - cfg.target) >= 0:
                self.request_stop(f"target {cfg.target:g} reached")

    def _best_untold(self, pending: dict) -> Program | None:
        best = None
        for seq, (_, future, replayed) in pending.items():
            if not future.done() or replayed:
                continue
            attempt = self.store.attempt(seq)
            program = self.store.program(attempt.program_id) if attempt and attempt.outcome == NEW \
                and attempt.program_id else None
            if program is not None and program.status == OK and program.score is not None and (
                    best is None or self.strategy.sign * (program.score - best.score) > 0):
                best = program
        return best

    async def _cut(self, pending: dict) -> int:
        """Cancel what is still in flight; what finished stays stored, told on resume."""
        best = self._best_untold(pending)
        if best is not None and (self.stats.best_score is None or
                                 self.strategy.sign * (best.score - self.stats.best_score) > 0):
            self.stats.best_score, self.stats.best_id = best.score, best.id
        running = [f for _, f, _ in pending.values() if not f.done()]
        for future in running:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        return len(running)

    def _over_cost(self, pending: dict) -> bool:
        """Stop before spent plus what is in flight plus one more proposal could pass max_cost."""
        limit = self.config.max_cost
        if limit is None or not self.clients:
            return False
        spent = self.store.spent()
        told = self.stats.llm_proposals
        estimate = self.stats.spent / told if told and self.stats.spent else self.cost_bound
        in_flight = sum(1 for p, f, _ in pending.values() if not f.done() and p.operator.startswith("llm:"))
        if spent + (in_flight + 1) * estimate > limit:
            self.request_stop(f"max cost ${limit:g} would be exceeded (spent ${spent:.4f}, "
                              f"{in_flight} proposals in flight at ~${estimate:.4f})")
            return True
        return False

    def _over_calls(self) -> bool:
        """Stop before a request would pass max_calls: sent ones and one reserved by each
        proposal in flight that has not sent its first yet count."""
        calls = self.calls
        if calls.limit is None or not self.clients or not calls.exhausted:
            return False
        self.request_stop(f"max calls {calls.limit} reached ({calls.used} sent, "
                          f"{calls.reserved} reserved by proposals in flight)")
        return True

    async def close(self) -> None:
        await self.executor.close()
        for client in self.clients:
            await client.close()

    def _check_stop(self, deadline: float | None) -> None:
        cfg, best = self.config, self.stats.best_score
        if cfg.target is not None and best is not None and self.strategy.sign * (best - cfg.target) >= 0:
            self.request_stop(f"target {cfg.target:g} reached")
        elif cfg.patience is not None and self.strategy.since_improvement >= cfg.patience:
            self.request_stop(f"no improvement for {cfg.patience} candidates")
        elif deadline is not None and time.monotonic() >= deadline:
            self.request_stop(f"max time {cfg.max_time:g} s reached")

    # -- one candidate -------------------------------------------------------
    def _start(self, seq: int) -> tuple[Proposal, asyncio.Future[None], bool]:
        row = self._stored.get(seq)
        if row is not None:
            self._replayed[seq] = (row, self._reassigned)
            stored = row[0]
            proposal = Proposal(seq, stored.island, stored.parent_id or "", stored.inspirations, stored.operator)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return proposal, done, True
        if seq <= self.seeds:  # another run's program, re-evaluated here, child of this run's initial
            proposal = Proposal(seq, seq % self.strategy.island_count, self.initial_id, (), SEED)
        else:
            proposal = self.strategy.ask(seq)
        # The operator's context is taken now, at ask time, not when the task first runs:
        # notes and history must not depend on how the event loop interleaves.
        parent = self.store.program(proposal.parent_id)
        assert parent is not None, "strategy proposed a parent that is not in the store"
        task = asyncio.ensure_future(self._guarded(proposal, parent, self._context(proposal, parent)))
        if proposal.operator.startswith("llm:"):
            self.calls.reserve(seq)  # its first request; freed when it is sent or the candidate ends
            task.add_done_callback(lambda _: self.calls.release(seq))
        return proposal, task, False

    async def _guarded(self, proposal: Proposal, parent: Program, context: Context) -> None:
        """``_candidate``, with whatever it raises recorded as this candidate's failure:
        nothing a candidate's text does can end the run."""
        try:
            await self._candidate(proposal, parent, context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            import traceback

            text = "".join(traceback.format_exception(exc))[-4000:]
            reason = f"internal error on this candidate: {type(exc).__name__}: {exc}"[:500]
            reason = reason.encode("utf-8", "replace").decode("utf-8")
            self.events.emit("candidate_error", seq=proposal.seq, traceback=text.encode("utf-8", "replace").decode())
            if self.store.attempt(proposal.seq) is None:
                self.store.record(Attempt(proposal.seq, proposal.island, parent.id, proposal.inspiration_ids,
                                          proposal.operator, None, FAILED, reason, 0.0, 0.0, None))

    @staticmethod
    def _outcome(attempt: Attempt, program: Replayed | None) -> Outcome:
        """What the strategy is told about a candidate: read from its stored attempt, the
        canonical record, whether it ran in this session or an earlier one."""
        if attempt.outcome != NEW or attempt.program_id is None:
            return Outcome(None, None, cost=attempt.cost)
        if program is None or program.status != OK:
            return Outcome(attempt.program_id, None, cost=attempt.cost)
        return Outcome(program.id, program.score, program.features, cost=attempt.cost)

    def _read(self, seq: int) -> tuple[Attempt, Replayed | None]:
        """A stored attempt and its program, read now (a candidate of this session)."""
        attempt = self.store.attempt(seq)
        assert attempt is not None, "a candidate finished without recording its attempt"
        program = self.store.program(attempt.program_id) if attempt.program_id else None
        return attempt, None if program is None else Replayed(program.id, program.seq, program.status, program.reason,
                                                              program.score, self._features(program))

    def _context(self, proposal: Proposal, parent: Program) -> Context:
        """The operator's view for this proposal. ``tried`` holds only candidates told
        before this proposal was asked, so a prompt never depends on timing."""
        context = replace(self.context, seq=proposal.seq, notes=self.notes, island=proposal.island,
                          inspiration_islands=proposal.inspiration_islands)
        if not proposal.operator.startswith("llm:"):
            return context
        note = instructions(self.config.islands.profiles, proposal.island)
        if note:  # heterogeneous islands: this island's own prompt setting
            context = replace(context, task=f"{context.task}\n\n{note}")
        horizon = proposal.seq - self.config.workers
        context = replace(context, island_bests=self.strategy.island_bests(), known=partial(self._known, horizon))
        if self.config.llm.history == 0:
            return context
        tried = history.tried(self.store, parent=parent, upto=proposal.seq - self.config.workers,
                              limit=self.config.llm.history)
        return replace(context, tried=tuple(tried))

    def _known(self, horizon: int, program_id: str) -> str | None:
        """A program stored by a candidate told before the proposal was asked (timing-free)."""
        program = self.store.known(program_id, max_seq=horizon)
        if program is None:
            return None
        how = f"scored {program.score:.10g}" if program.score is not None else program.status
        return f"a program already evaluated (candidate {program.seq}, {how})"

    async def _candidate(self, proposal: Proposal, parent: Program, context: Context) -> None:
        """Propose, check, evaluate and record one candidate (one transaction at the end)."""
        started = time.monotonic()
        inspirations = [p for i in proposal.inspiration_ids if (p := self.store.program(i)) is not None]
        made = await self._propose(proposal, parent, inspirations, context, 0)
        cost, novelty_note = made.cost, ""
        for resample in range(1, self.config.novelty.resamples + 1 if self.novelty else 1):
            if isinstance(made, ProposalFailure) or made.code == parent.code:
                break
            twin = self.novelty.similar(proposal.island, made.code, horizon=proposal.seq - self.config.workers,
                                        threshold=self.config.novelty.threshold)
            if twin is None:
                break
            novelty_note = f"novelty: resampled {resample}x (similarity {twin[1]:.2f} to {twin[0]})"
            made = await self._propose(proposal, parent, inspirations, replace(context, resample=resample),
                                       resample)
            cost += made.cost

        def attempt(outcome: str, pid: str | None = None, reason: str = "") -> Attempt:
            reason = "; ".join(r for r in (reason, novelty_note) if r)
            return Attempt(proposal.seq, proposal.island, parent.id, proposal.inspiration_ids,
                           proposal.operator, pid, outcome, reason, time.monotonic() - started,
                           cost, made.model)

        if isinstance(made, ProposalFailure):
            self.store.record(attempt(FAILED, reason=made.reason))
            return
        if made.code == parent.code:
            self.store.record(attempt(FAILED, reason="candidate is identical to its parent"))
            return
        pid = program_id(made.code)
        if pid in self._in_flight:
            await asyncio.shield(self._in_flight[pid])
        if self.store.has_program(pid):
            self.store.record(attempt(DUPLICATE, pid, "same code as a stored program"))
            return
        result, fingerprint, twin = await self._evaluate_once(pid, made.code, parent.code,
                                                              horizon=proposal.seq - self.config.workers)
        if result.status == INFRASTRUCTURE:
            # Not the program's result: no program row, so the same code is evaluated again later.
            self.store.record(attempt(FAILED, reason=result.reason))
            return
        missing = missing_features(self.strategy.shape, result.metrics) if result.status == OK else []
        if missing:
            result = replace(result, status=INVALID, score=None,
                             reason=f"metric {', '.join(map(repr, missing))} missing from evaluate()'s result "
                                    f"(a MAP-Elites feature, archive.features)")
        program = Program(
            id=pid, code=made.code, parent_id=parent.id, operator=proposal.operator,
            generation=parent.generation + 1, island=proposal.island, status=result.status,
            reason=result.reason, score=result.score, metrics=result.metrics,
            feedback=result.feedback, seq=proposal.seq, eval_seconds=result.seconds,
            fingerprint=fingerprint,
        )
        self.store.record(attempt(NEW if twin is None else EQUIVALENT, pid, program.reason), program)

    async def _propose(self, proposal: Proposal, parent: Program, inspirations: list[Program],
                       context: Context, resample: int) -> Candidate | ProposalFailure:
        """One call of the operator, under the proposal cap; its failures are data."""
        operator = self.operators[proposal.operator]
        rng = rng_for(self.config.seed, proposal.seq, OPERATOR_STREAM + 2 * resample)
        limit = self.config.llm.proposal_timeout
        try:
            made = await asyncio.wait_for(operator.propose(parent, inspirations, context, rng), limit)
            if isinstance(made, Candidate) and not _encodes(made.code):
                # Such text cannot be hashed, stored or written as a program file.
                return ProposalFailure(compile_error(made.code) or "not valid UTF-8 text", cost=made.cost,
                                       model=made.model)
            return made
        except asyncio.TimeoutError:
            return ProposalFailure(f"proposal took longer than the {limit:g} s cap")
        except Exception as exc:  # an operator bug must not end the run: it is data
            return ProposalFailure(f"operator raised {type(exc).__name__}: {exc}")

    async def _insights(self, at: int) -> None:
        """Condense the last candidates into notes for later prompts, at a fixed point of
        the schedule (so replay and resume see the same notes)."""
        best = self.store.program(self.stats.best_id) if self.stats.best_id else None
        if best is not None:
            self.notes = await history.insights(
                self.store, self.clients[0], self.events, at=at, every=self.config.llm.insights_every,
                best=best, context=self.context, notes=self.notes, seed=self.config.seed,
                templates=self.templates)

    async def _evaluate_once(self, pid: str, code: str, parent_code: str, *, horizon: int
                             ) -> tuple[EvalResult, str | None, Program | None]:
        """Check, fingerprint, then evaluate: (result, fingerprint, equivalent known program).

        Concurrent identical candidates share one evaluation; a candidate whose
        fingerprint matches a stored program takes that program's result unevaluated."""
        future: asyncio.Future[EvalResult] = asyncio.get_running_loop().create_future()
        self._in_flight[pid] = future
        fingerprint, twin = None, None
        try:
            result = self._precheck(code, parent_code)
            try:
                if result is None and self.fingerprints:
                    taken = await self.executor.fingerprint(code)
                    if isinstance(taken, EvalResult):
                        result = taken  # it failed on the probe inputs: that is its result
                    else:
                        # Only programs told before this proposal was asked: timing-free.
                        fingerprint, twin = taken, self.store.by_fingerprint(taken, max_seq=horizon)
                        if twin is not None:
                            result = EvalResult(twin.status, f"functionally equivalent to {twin.id}",
                                                score=twin.score, metrics=twin.metrics)
                if result is None:
                    result = await self.executor.run(code)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the executor failing is not this candidate's doing
                result = EvalResult(INFRASTRUCTURE, f"infrastructure: executor failed: {type(exc).__name__}: {exc}")
            future.set_result(result)
            return result, fingerprint, twin
        finally:
            if not future.done():
                future.cancel()
            del self._in_flight[pid]

    @staticmethod
    def _precheck(code: str, parent_code: str) -> EvalResult | None:
        reason = outside_change(parent_code, code) or compile_error(code)
        return None if reason is None else EvalResult(REJECTED, reason)

    def _features(self, program: Program) -> dict[str, float]:
        return {**program.metrics, "code_length": float(len(program.code))}

    # -- bookkeeping ---------------------------------------------------------
    def _tell(self, proposal: Proposal, *, replayed: bool) -> None:
        cached = self._replayed.pop(proposal.seq, None)
        # A replayed attempt was read once, with its program, when it was taken up; a
        # reassignment since may have changed it: then it is read again.
        attempt, program = cached[0] if cached is not None and cached[1] == self._reassigned \
            else self._read(proposal.seq)
        if attempt.outcome == DUPLICATE and attempt.program_id:
            owner = program
            if owner is not None and owner.seq > proposal.seq:
                parent = self.store.program(attempt.parent_id) if attempt.parent_id else None
                self.store.reassign(owner.id, attempt, generation=(parent.generation + 1) if parent else 0)
                self._reassigned += 1
                self._stored.forget()
                attempt, program = self._read(proposal.seq)
        outcome = self._outcome(attempt, program)
        told = self.strategy.tell(proposal, outcome)
        if self.novelty is not None and outcome.score is not None and outcome.program_id is not None:
            indexed = self.store.program(outcome.program_id)
            if indexed is not None:
                self.novelty.add(proposal.island, indexed.id, indexed.code, proposal.seq)
        stats = self.stats
        stats.candidates += 1
        stats.spent += attempt.cost
        stats.llm_proposals += attempt.model is not None
        stats.builtin_candidates += builtin(attempt.operator)
        stats.calls = self.calls.used
        if not replayed:
            stats.session_candidates += 1
            stats.session_spent += attempt.cost
        if attempt.outcome == DUPLICATE:
            stats.duplicates += 1
            stats.failures["duplicate"] += 1
        elif attempt.outcome == EQUIVALENT:
            stats.equivalent += 1
        elif attempt.outcome == FAILED:
            stats.failures[failure_kind("no candidate", attempt.reason)] += 1
        else:
            stats.evaluated += 1
            if program is not None and program.status == OK:
                stats.valid += 1
            elif program is not None:
                stats.failures[failure_kind(program.status, program.reason)] += 1
        if told.new_best:
            stats.best_score, stats.best_id = outcome.score, outcome.program_id
            if not replayed:
                self.events.emit("new_best", seq=proposal.seq, score=outcome.score,
                                 program_id=outcome.program_id, operator=proposal.operator)
        self._max_since = max(self._max_since, self.strategy.since_improvement)
        if self.snapshot_every and proposal.seq % self.snapshot_every == 0:
            self._save_snapshot(proposal.seq)
        if not replayed or proposal.seq % REPLAY_PROGRESS_EVERY == 0:
            self.on_progress(stats)

    # -- resume snapshots (snapshot.py) -----------------------------------------
    def _snapshots(self) -> bool:
        return bool(self.snapshot_every) and self.novelty is None

    def _save_snapshot(self, seq: int) -> None:
        """The state after the tell of ``seq``, every attempt up to which is stored."""
        if not self.snapshot_every or seq < 1 or self.strategy.told != seq or seq == self._saved:
            return
        if self._snapshots():
            state = snapshot.State(seq, self.strategy, self.stats, self.notes, self._max_since)
            self.store.save_snapshot(seq, snapshot.digest(self.config, self.strategy),
                                     snapshot.dump(state, self.config))
        summary.save(self.store, seq)  # what `cambrian status` shows, up to the same point
        self._saved = seq

    def _from_snapshot(self) -> int:
        """Take up the newest usable snapshot (see snapshot.py); the candidates it covers
        are not replayed. Returns the last candidate it covers (0: none, replay them all)."""
        rows = self.store.snapshots() if self._snapshots() else []
        if not rows:
            return 0
        cfg, digest, why = self.config, snapshot.digest(self.config, self.strategy), []
        for seq, saved_digest, blob in rows:
            last = min(seq + cfg.workers - 1, cfg.budget)
            if saved_digest != digest:
                why.append(f"{seq}: made by another version of Cambrian or under another configuration")
            elif seq > cfg.budget or self.store.scalar(
                    "SELECT COUNT(*) FROM attempts WHERE seq BETWEEN 1 AND ?", last) != last:
                why.append(f"{seq}: candidates up to {last} are not all stored")
            else:
                try:
                    state = snapshot.load(blob, cfg)
                except Exception as exc:  # a damaged snapshot is only a slower resume
                    why.append(f"{seq}: unreadable ({type(exc).__name__})")
                    continue
                best = state.stats.best_score
                if cfg.target is not None and best is not None and self.strategy.sign * (best - cfg.target) >= 0:
                    why.append(f"{seq}: the target was reached before it")
                elif cfg.patience is not None and state.max_since >= cfg.patience:
                    why.append(f"{seq}: the patience ran out before it")
                else:
                    self.strategy, self.notes, self._max_since = state.strategy, state.notes, state.max_since
                    self.stats = snapshot.fresh_session(state.stats)
                    self._saved = seq
                    self.events.emit("resumed_from_snapshot", seq=seq)
                    return seq
        self.events.emit("snapshot_ignored", reasons=why)
        return 0

    async def _initial(self, code: str) -> Program:
        from .errors import InitialProgramError

        pid = program_id(code)
        if self.store.attempt(0) is None:
            self.note("evaluating the initial program (the evaluation pool starts first)")
        stored = self.store.attempt(0)
        if stored is not None:
            program = self.store.program(stored.program_id) if stored.program_id else None
            if program is None or program.id != pid:
                raise InitialProgramError("initial_program.py changed since this run started; "
                                          "start a new run instead of resuming")
        else:
            fingerprint = await self.executor.fingerprint(code) if self.fingerprints else None
            result = fingerprint if isinstance(fingerprint, EvalResult) else await self.executor.run(code)
            if result.status == INFRASTRUCTURE:
                raise InitialProgramError(f"the initial program could not be evaluated: {result.reason}")
            program = Program(id=pid, code=code, parent_id=None, operator=INITIAL, generation=0, island=0,
                              status=result.status, reason=result.reason, score=result.score,
                              metrics=result.metrics, feedback=result.feedback, seq=0,
                              eval_seconds=result.seconds,
                              fingerprint=fingerprint if isinstance(fingerprint, str) else None)
            self.store.record(Attempt(0, 0, None, (), INITIAL, pid, NEW, result.reason, result.seconds),
                              program)
        if program.status != OK or program.score is None:
            feedback = program.feedback if isinstance(program.feedback, dict) else {}
            detail = "\n".join(str(feedback[k]).rstrip() for k in ("traceback", "stderr") if feedback.get(k))
            if self.program_path is not None:
                detail = WORK_PROGRAM.sub(str(self.program_path), detail)
            error = InitialProgramError(f"the initial program does not evaluate ({program.status}): "
                                        f"{one_line(program.reason)}; fix it, then run the same command again "
                                        f"(the run directory is reused)")
            error.detail = detail
            raise error
        self.note(f"initial program: score {program.score:.10g} ({program.eval_seconds:.1f} s)")
        return program


class _StoredAttempts:
    """The attempts stored before this session, each with its program, read in seq order
    a chunk at a time: a resume reads each once. Candidates are taken up in seq order and
    this session only records candidates it has taken up, so a chunk never misses one;
    a reassignment changes stored rows, and ``forget`` drops the chunk."""

    CHUNK = 2000

    def __init__(self, store: Store):
        self.store = store
        self._rows: dict[int, tuple[Attempt, Replayed | None]] = {}
        self._low, self._high = 0, -1.0

    def get(self, seq: int) -> tuple[Attempt, Replayed | None] | None:
        if not self._low <= seq <= self._high:
            rows = self.store.replay_rows(seq, self.CHUNK)
            self._rows = {row[0].seq: row for row in rows}
            self._low, self._high = seq, rows[-1][0].seq if len(rows) == self.CHUNK else float("inf")
        return self._rows.get(seq)

    def forget(self) -> None:
        self._high = -1.0


def _encodes(code: str) -> bool:
    try:
        code.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
