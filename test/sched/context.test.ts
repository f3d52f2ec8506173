// context: cancelation trees, deadlines, values, causes, afterFunc and the
// AbortSignal bridges, after Go's context/context_test.go (TestWithCancel,
// TestParentFinishesChild, TestChildFinishesFirst, TestDeadline, TestTimeout,
// TestCanceledTimeout, TestValues, TestCause, TestAfterFunc...).

import assert from "node:assert/strict";
import { getEventListeners } from "node:events";

import {
  Canceled,
  CanceledError,
  DeadlineExceeded,
  DeadlineExceededError,
  after,
  background,
  cause,
  chan,
  contextAfterFunc,
  contextFromSignal,
  go,
  gosched,
  newKey,
  recv,
  run,
  schedStats,
  select,
  signalOf,
  sleep,
  todo,
  wait,
  withCancel,
  withCancelCause,
  withDeadline,
  withTimeout,
  withTimeoutCause,
  withValue,
  withoutCancel,
  type Chan,
  type Context,
  type Key,
  type Op,
} from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

function* settle(n = 20): Op<void> {
  for (let i = 0; i < n; i++) yield* gosched();
}

/** Whether a done channel is closed, without blocking. */
function isClosed(ch: Chan<void> | null): boolean {
  return ch !== null && ch.tryRecv() !== null;
}

/** White-box: how many cancelable children a context has linked (Go's TestCancelRemoves). */
function childCount(ctx: Context): number {
  const c = ctx as unknown as { children: Set<unknown> | null };
  return c.children === null ? 0 : c.children.size;
}

describe("sched: context", function () {
  this.timeout(5000);
  afterEach(checkNoLeaks);

  it("background and todo are never canceled, and done() is a nil channel in select", async function () {
    await run(function* () {
      for (const c of [background(), todo()]) {
        assert.equal(c.done(), null);
        assert.equal(c.err(), null);
        assert.equal(c.deadline(), null);
        assert.equal(cause(c), null);
      }
      assert.equal(String(background()), "context.Background");
      assert.equal(String(todo()), "context.TODO");
      const r = yield* select([recv(background().done()), recv(after(2))]);
      assert.equal(r.index, 1);
    });
  });

  it("withCancel: cancel closes done, sets Canceled, is idempotent (TestWithCancel)", async function () {
    await run(function* () {
      const [ctx, cancel] = withCancel(background());
      assert.equal(ctx.err(), null);
      const done = ctx.done()!;
      let woke = false;
      go(function* () {
        yield* recv(done);
        woke = true;
      });
      yield* settle();
      assert.equal(woke, false);
      cancel();
      cancel();
      yield* settle();
      assert.equal(woke, true);
      assert.equal(ctx.err(), Canceled);
      assert.ok(ctx.err() instanceof CanceledError);
      assert.equal(ctx.err()!.message, "context canceled");
      assert.equal(cause(ctx), Canceled);
      assert.equal(ctx.done(), done, "done() returns the same channel");
      assert.equal(isClosed(done), true);
    });
  });

  it("canceling a parent cancels its whole subtree, through value contexts", async function () {
    await run(function* () {
      const [root, cancelRoot] = withCancel(background());
      const k = newKey<string>("k");
      const [a, cancelA] = withCancel(withValue(root, k, "v"));
      const [b, cancelB] = withCancel(a);
      const [c, cancelC] = withTimeout(b, 60_000);
      assert.equal(schedStats().timers, 1);
      const dones = [a, b, c].map((x) => x.done()!);
      cancelRoot();
      for (const [i, x] of [a, b, c].entries()) {
        assert.equal(x.err(), Canceled, `descendant ${i}`);
        assert.equal(isClosed(dones[i]!), true);
      }
      assert.equal(c.value(k), "v");
      assert.equal(schedStats().timers, 0, "the descendant's deadline timer was stopped");
      cancelA();
      cancelB();
      cancelC();
      yield* settle(1);
    });
  });

  it("canceling a child leaves its parent and unlinks the child (TestChildFinishesFirst, TestCancelRemoves)", async function () {
    await run(function* () {
      const [parent, cancelParent] = withCancel(background());
      const [c1, cancel1] = withCancel(parent);
      const [c2, cancel2] = withTimeout(parent, 60_000);
      const [c3] = withCancel(withValue(parent, newKey<number>("n"), 1));
      assert.equal(childCount(parent), 3);
      cancel1();
      assert.equal(c1.err(), Canceled);
      assert.equal(parent.err(), null);
      assert.equal(isClosed(parent.done()), false);
      assert.equal(childCount(parent), 2);
      cancel2();
      assert.equal(childCount(parent), 1);
      assert.equal(schedStats().timers, 0);
      cancelParent();
      assert.equal(c2.err(), Canceled);
      assert.equal(c3.err(), Canceled);
      assert.equal(childCount(parent), 0);
      yield* settle(1);
    });
  });

  it("a child of a canceled parent is born canceled", async function () {
    await run(function* () {
      const [parent, cancel] = withCancelCause(background());
      const why = new Error("shutdown");
      cancel(why);
      const [child] = withCancel(parent);
      assert.equal(child.err(), Canceled);
      assert.equal(cause(child), why);
      assert.equal(isClosed(child.done()), true);
      const [timed] = withTimeout(parent, 60_000);
      assert.equal(timed.err(), Canceled);
      assert.equal(schedStats().timers, 0, "no timer for a context canceled at birth");
      yield* settle(1);
    });
  });

  it("withTimeout fires with DeadlineExceeded (TestTimeout) and leaves no timer", async function () {
    await run(function* () {
      const start = performance.now();
      const [ctx, cancel] = withTimeout(background(), 20);
      const [child] = withCancel(ctx);
      const d = ctx.deadline()!;
      assert.ok(Math.abs(d - (start + 20)) < 5, `deadline ${d - start}ms after start`);
      assert.equal(child.deadline(), d, "children inherit the deadline");
      assert.equal(schedStats().timers, 1);
      yield* recv(ctx.done());
      const waited = performance.now() - start;
      assert.ok(waited >= 19, `fired after ${waited}ms`);
      assert.ok(waited < 1000, `fired after ${waited}ms`);
      assert.equal(ctx.err(), DeadlineExceeded);
      const err = ctx.err();
      assert.ok(err instanceof DeadlineExceededError && err.timeout === true);
      assert.equal(err.message, "context deadline exceeded");
      assert.equal(child.err(), DeadlineExceeded);
      assert.equal(cause(child), DeadlineExceeded);
      assert.equal(schedStats().timers, 0);
      cancel(); // after the fact: a no-op
      assert.equal(ctx.err(), DeadlineExceeded);
    });
  });

  it("withTimeoutCause reports its cause; cancel before the deadline wins (TestCanceledTimeout)", async function () {
    await run(function* () {
      const slow = new Error("too slow");
      const [ctx] = withTimeoutCause(background(), 5, slow);
      yield* recv(ctx.done());
      assert.equal(ctx.err(), DeadlineExceeded);
      assert.equal(cause(ctx), slow);

      const [ctx2, cancel2] = withTimeout(background(), 50);
      yield* sleep(2);
      cancel2();
      assert.equal(ctx2.err(), Canceled);
      assert.equal(schedStats().timers, 0);
      yield* sleep(60);
      assert.equal(ctx2.err(), Canceled, "the stopped timer never fired");
    });
  });

  it("withDeadline in the past is done at once, without a timer; an earlier parent deadline wins", async function () {
    await run(function* () {
      const [ctx, cancel] = withDeadline(background(), performance.now() - 1);
      assert.equal(ctx.err(), DeadlineExceeded);
      assert.equal(isClosed(ctx.done()), true);
      assert.equal(schedStats().timers, 0);
      cancel();
      assert.equal(ctx.err(), DeadlineExceeded);

      const [parent, cancelParent] = withTimeout(background(), 30);
      const [child] = withDeadline(parent, performance.now() + 60_000);
      assert.equal(child.deadline(), parent.deadline());
      assert.equal(schedStats().timers, 1, "the child needs no timer of its own");
      yield* recv(child.done());
      assert.equal(child.err(), DeadlineExceeded);
      cancelParent();
    });
  });

  it("values: typed keys compare by identity, nearest binding wins (TestValues)", async function () {
    await run(function* () {
      const k1: Key<string> = newKey<string>("k1");
      const k2 = newKey<number>("k2");
      const k1b = newKey<string>("k1"); // same name, another key
      const c1 = withValue(background(), k1, "c1k1");
      const c2 = withValue(c1, k2, 2);
      const [c3, cancel] = withCancel(c2);
      const c4 = withValue(c3, k1, "c4k1");
      assert.equal(c4.value(k1), "c4k1");
      assert.equal(c3.value(k1), "c1k1");
      const n: number | undefined = c4.value(k2);
      assert.equal(n, 2);
      assert.equal(c4.value(k1b), undefined);
      assert.equal(background().value(k1), undefined);
      assert.equal(String(c2), "context.Background.WithValue(Key(k1)).WithValue(Key(k2))");
      cancel();
      assert.equal(c4.err(), Canceled, "value contexts report their parent's state");
      yield* settle(1);
    });
  });

  it("withCancelCause: cause(ctx) is the given error, children share it (TestCause)", async function () {
    await run(function* () {
      const [parent, cancel] = withCancelCause(background());
      const [child, cancelChild] = withCancel(parent);
      assert.equal(cause(parent), null);
      const why = new Error("lost the race");
      cancel(why);
      cancel(new Error("later causes are ignored"));
      assert.equal(parent.err(), Canceled);
      assert.equal(cause(parent), why);
      assert.equal(cause(child), why);
      cancelChild();
      const [other, cancelOther] = withCancelCause(background());
      cancelOther();
      assert.equal(cause(other), Canceled, "no cause given: err() is the cause");
      yield* settle(1);
    });
  });

  it("withoutCancel keeps values, not cancelation", async function () {
    await run(function* () {
      const k = newKey<string>("k");
      const [parent, cancel] = withCancel(withValue(background(), k, "v"));
      const detached = withoutCancel(parent);
      const [child, cancelChild] = withCancel(detached);
      cancel();
      assert.equal(detached.done(), null);
      assert.equal(detached.err(), null);
      assert.equal(detached.value(k), "v");
      assert.equal(child.err(), null);
      assert.equal(cause(detached), null);
      cancelChild();
      yield* settle(1);
    });
  });

  it("contextAfterFunc runs f in a goroutine on cancelation; stop prevents it (TestAfterFunc)", async function () {
    await run(function* () {
      const [ctx, cancel] = withCancel(background());
      const ran = chan<string>(1);
      contextAfterFunc(ctx, function* onCancel() {
        yield* ran.send(String(ctx.err()?.message));
      });
      const [ctx2, cancel2] = withCancel(background());
      const stop = contextAfterFunc(ctx2, function* () {
        yield* ran.send("stopped one ran");
      });
      assert.equal(stop(), true);
      assert.equal(stop(), false);
      cancel2();
      cancel();
      assert.equal(yield* ran.recv(), "context canceled");
      yield* settle();
      assert.equal(ran.tryRecv(), null);
      // Registered on an already-canceled context: runs at once.
      const stop3 = contextAfterFunc(ctx, function* () {
        yield* ran.send("late");
      });
      assert.equal(yield* ran.recv(), "late");
      assert.equal(stop3(), false);
    });
  });

  it("a foreign Context implementation as parent is watched by a goroutine", async function () {
    await run(function* () {
      const [inner, cancelInner] = withCancel(background());
      const foreign: Context = {
        deadline: () => null,
        done: () => inner.done(),
        err: () => inner.err(),
        value: () => undefined, // does not delegate: no CancelCtx to link to
      };
      const [child, cancelChild] = withCancel(foreign);
      assert.equal(schedStats().goroutines, 2, "main and the watcher");
      cancelInner();
      yield* settle();
      assert.equal(child.err(), Canceled);
      assert.equal(schedStats().goroutines, 1, "the watcher ended");
      // Canceling the child first also ends its watcher.
      const [inner2, cancelInner2] = withCancel(background());
      const [child2, cancel2] = withCancel({ ...foreign, done: () => inner2.done(), err: () => inner2.err() });
      cancel2();
      yield* settle();
      assert.equal(schedStats().goroutines, 1);
      assert.equal(inner2.err(), null);
      assert.equal(child2.err(), Canceled);
      cancelInner2();
      cancelChild();
    });
  });

  describe("AbortSignal bridges", function () {
    it("signalOf aborts with the cause when the context is canceled, and is cached", async function () {
      await run(function* () {
        const [ctx, cancel] = withCancel(background());
        const s = signalOf(ctx);
        assert.equal(signalOf(ctx), s);
        assert.equal(childCount(ctx), 1, "one hook, however many calls");
        let reason: unknown = null;
        s.addEventListener("abort", () => (reason = s.reason));
        assert.equal(s.aborted, false);
        cancel();
        assert.equal(s.aborted, true);
        assert.equal(reason, Canceled);

        const [timed] = withTimeout(background(), 5);
        const ts = signalOf(timed);
        yield* recv(timed.done());
        assert.equal(ts.reason, DeadlineExceeded);

        const [gone, cancelGone] = withCancelCause(background());
        const why = new Error("why");
        cancelGone(why);
        assert.equal(signalOf(gone).aborted, true);
        assert.equal(signalOf(gone).reason, why);
        assert.equal(signalOf(background()).aborted, false);
      });
    });

    it("signalOf feeds AbortSignal APIs: an aborted wait rejects into the goroutine", async function () {
      await run(function* () {
        const [ctx, cancel] = withTimeout(background(), 10);
        const s = signalOf(ctx);
        const p = new Promise<string>((resolve, reject) => {
          const t = setTimeout(() => resolve("too late"), 2000);
          s.addEventListener("abort", () => {
            clearTimeout(t);
            reject(s.reason);
          });
        });
        let got: unknown = null;
        try {
          yield* wait(p);
        } catch (e) {
          got = e;
        }
        assert.equal(got, DeadlineExceeded);
        cancel();
      });
    });

    it("contextFromSignal: an abort from async code cancels the context; the listener is then removed", async function () {
      const ac = new AbortController();
      const reason = new Error("client went away");
      await run(function* () {
        const [ctx, cancel] = withCancel(background());
        const [sctx, cancelS] = contextFromSignal(ctx, ac.signal);
        assert.equal(getEventListeners(ac.signal, "abort").length, 1);
        assert.equal(schedStats().externalRefs, 1, "the listener holds the program open");
        setTimeout(() => ac.abort(reason), 5);
        yield* recv(sctx.done()); // no deadlock: the signal may still fire
        assert.equal(sctx.err(), Canceled);
        assert.equal(cause(sctx), reason);
        assert.equal(getEventListeners(ac.signal, "abort").length, 0);
        assert.equal(schedStats().externalRefs, 0);
        assert.equal(ctx.err(), null, "the parent is not canceled");
        cancelS();
        cancel();
      });
    });

    it("contextFromSignal: cancel or a parent cancelation removes the listener; an aborted signal cancels at once", async function () {
      await run(function* () {
        const ac = new AbortController();
        const [c1, cancel1] = contextFromSignal(background(), ac.signal);
        const [parent, cancelParent] = withCancel(background());
        const [c2] = contextFromSignal(parent, ac.signal);
        assert.equal(getEventListeners(ac.signal, "abort").length, 2);
        cancel1();
        assert.equal(c1.err(), Canceled);
        assert.equal(cause(c1), Canceled);
        cancelParent();
        assert.equal(c2.err(), Canceled);
        assert.equal(getEventListeners(ac.signal, "abort").length, 0);
        assert.equal(schedStats().externalRefs, 0);

        const [c3, cancel3] = contextFromSignal(background(), AbortSignal.abort("nope"));
        assert.equal(c3.err(), Canceled);
        const why = cause(c3);
        assert.ok(why instanceof Error && why.cause === "nope", String(why));
        assert.equal(schedStats().externalRefs, 0);
        cancel3();
        yield* settle(1);
      });
    });

    it("round trip: signalOf(ctx) into contextFromSignal", async function () {
      await run(function* () {
        const [a, cancelA] = withCancelCause(background());
        const [b, cancelB] = contextFromSignal(background(), signalOf(a));
        const why = new Error("stop");
        cancelA(why);
        assert.equal(b.err(), Canceled);
        assert.equal(cause(b), why);
        cancelB();
        yield* settle(1);
      });
    });
  });
});
