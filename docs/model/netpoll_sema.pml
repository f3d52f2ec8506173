/*
 * netpoll_sema.pml: the read semaphore of one PollDesc (PD_RG) as built:
 * SEM_NIL / SEM_READY / SEM_PARKED changed by compare-and-swap (shm.ts), the
 * main thread's pollReset / pollWait / netpollblock / park and its wake-ups
 * (netpoll.ts), the worker's deliver -> publishReady -> ring record
 * (eventport.ts, epoll.ts, ring.ts, poller-worker.ts), the hand-off of the
 * blocking wait between the threads (CTL_MODE / CTL_WAKE: idle, onWake,
 * pollNonBlocking), Close (fd.ts close -> pollUnblock -> wakeWithError; the
 * last reference -> destroy -> pollClose, close(2)) and a read deadline
 * (expire -> wakeWithError). The write semaphore is the same code.
 *
 *   spin -a -DPROP=1 netpoll_sema.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan -m100000
 *
 * The main thread is one thread: a goroutine runs until it parks or ends,
 * and timers, the scheduler's poll and the waitAsync callback run between
 * goroutines. That is the token `mtok': whoever runs on the main thread
 * holds it. The worker, the kernel and the peer run whenever they like.
 * Every Atomics operation is one Promela step.
 *
 * Knobs: -DEPOLL (the epoll backend: registered once, edge-triggered, no
 * arm; default: event ports, one-shot, armed on every wait), -DNMSG=n
 * (messages the peer writes, default 2), -DNREADS=n (reads of the reader,
 * default 2), -DNTICKS=n (unrelated host timers that run the scheduler loop,
 * default 1). A Close and a deadline may each happen, at any moment, or not.
 *
 * The hand-off as built: onWake clears CTL_WAKE before draining the ring,
 * and idle() does not clear it. -DWAKEBUG restores the hand-off this model
 * found broken (README.md): idle()'s Atomics.store(CTL_WAKE, 0) could erase
 * the worker's CTL_WAKE = 1 for a record it had just pushed, after a late
 * notify made onWake run early; properties 1, 2 and 3 fail with it.
 *
 * Properties (-DPROP=n). 1, 2, 3 and 5 are checked when the whole system is
 * stuck (Spin's timeout): no process can move any more.
 *   1  no lost wake-up: no goroutine stays parked while data is readable.
 *   2  Close wakes every waiter: no goroutine stays parked once closing is set.
 *   3  a deadline wakes every waiter: no goroutine stays parked once its
 *      deadline expired.
 *   4  at most one waiter: netpollblock never finds SEM_PARKED ("double
 *      wait") and never overwrites a parked goroutine.
 *   5  the waiter count (netpoll.ts waiters, Go's netpollWaiters) never
 *      goes below zero and, when stuck, equals the goroutines parked on I/O.
 *   6  the slot is freed only when nobody waits on it (pollClose's
 *      "blocked read on closing polldesc").
 *   7  no system call on a closed descriptor: read(2) and port_associate
 *      name an open descriptor (the fdMutex reference keeps it open).
 * Always checked: the ready ring never overflows (ring.ts throws); no
 * invalid end state (every process stops in an end-labelled state).
 *
 * Mutants (each must fail the property named; verdicts.json runs them on the fixed hand-off):
 *   -DNOREADY     publishReady forgets readiness when nobody is parked (SEM_NIL
 *                 stays SEM_NIL): a wake-up between EAGAIN and the park is lost (1)
 *   -DARMONCE     event ports: arm only before the first wait (1)
 *   -DYIELDGAP    the goroutine yields between pollCheckErr and netpollblock,
 *                 which the code does in one synchronous step: Close and the
 *                 deadline find SEM_NIL and wake nobody (2, 3)
 *   -DTWOREADERS  two readers on the PollDesc, no fdMutex (4)
 *   -DNOREFS      Close destroys at once, without waiting for the reader's
 *                 fdMutex reference: read(2) on a closed number, and the
 *                 slot freed while the reader still waits on it (6, 7)
 *   -DNOREIDLE    onWake does not go idle again when the ring was empty: the
 *                 worker stays in MODE_HOLD and nobody polls (1)
 */

#define SEM_NIL    0
#define SEM_READY  1
#define SEM_PARKED 2

#define ERR_NONE    0
#define ERR_CLOSING 1
#define ERR_TIMEOUT 2

#define MODE_HOLD 0
#define MODE_POLL 1

#define G_WAITING  0  /* parked (I/O) or asleep */
#define G_RUNNABLE 1
#define G_RUNNING  2
#define G_DONE     3

/* main-thread token holders: goroutines 1..2, then the others */
#define T_FREE   0
#define T_CLOSER 3
#define T_TIMER  4
#define T_SCHED  5

#ifndef PROP
#define PROP 0
#endif
#ifndef NMSG
#define NMSG 2
#endif
#ifndef NREADS
#ifdef TWOREADERS
#define NREADS 1
#else
#define NREADS 2
#endif
#endif

#ifndef NTICKS
#define NTICKS 1
#endif

#define RING_CAP 2    /* ring.ts: two records per PollDesc (one per direction) */

#if PROP == 4
#define P4(c) assert(c)
#else
#define P4(c) skip
#endif
#if PROP == 5
#define P5(c) assert(c)
#else
#define P5(c) skip
#endif
#if PROP == 6
#define P6(c) assert(c)
#else
#define P6(c) skip
#endif
#if PROP == 7
#define P7(c) assert(c)
#else
#define P7(c) skip
#endif

/* ---- the main thread ------------------------------------------------------ */
byte mtok = T_FREE;
byte gst[3];                 /* goroutine states, [1] and [2] the readers */
byte nrunnable;
bool kick;                   /* the schedule loop is due to look for work (kick / after a park) */

/* ---- the PollDesc (shm.ts) and netpoll.ts's per-slot state ----------------- */
byte sem = SEM_NIL;          /* PD_RG */
bool pd_lock;
bool closing;                /* PD_CLOSING */
byte user;                   /* PD_USER (event ports): IN associated or not */
byte fdseq = 1;              /* PD_FDSEQ */
byte waitG;                  /* waitG[slot*2]: the parked reader, 0 none */
byte waiters;                /* netpoll.ts waiters */
bool expired;                /* expired[slot*2] */
bool timer_stopped;          /* stopDeadline ran (pollUnblock) */

/* ---- fd.ts: the fdMutex reference count and Close ------------------------- */
bool mu_closed;
byte refs;
bool destroyed;

/* ---- the ready ring (ring.ts) and the hand-off words (shm.ts CTL_*) -------- */
chan ring = [RING_CAP] of { byte };   /* records: the fdseq (pd and mode are fixed) */
byte cmode = MODE_HOLD;      /* CTL_MODE */
byte cwake;                  /* CTL_WAKE */
bool sleeping;               /* netpoll.ts Poller.sleeping */
bool wa_reg;                 /* a waitAsync on CTL_WAKE is registered, unresolved */
bool wa_resolved;            /* ... and was notified: onWake is due */
bool onwake_micro;           /* waitAsync returned synchronously: onWake queued as a microtask */

/* ---- the kernel and the peer ------------------------------------------------ */
bool fd_open = true;
byte data;                   /* messages readable */
bool k_in;                   /* event ports: associated for POLLIN / epoll: registered */
bool q_full;                 /* an event fired and waits to be retrieved */
byte q_tag;
byte k_tag = 1;

inline lock()   { atomic { !pd_lock -> pd_lock = true } }
inline unlock() { pd_lock = false }

/* netpoll.ts readyWaiter: takes the parked goroutine, goready, waiters-- */
inline readyWaiter() {
	if
	:: waitG != 0 ->
		d_step {
			g = waitG; waitG = 0;
			gst[g] = G_RUNNABLE; nrunnable++; kick = true;
		}
		P5(waiters > 0);
		waiters--;               /* 0: unrefPoller */
		g = 0
	:: else -> skip
	fi
}

/* netpoll.ts wakeWithError (netpollunblock(ioready=false)): CAS PARKED -> NIL */
inline wakeWithError() {
	if
	:: atomic { sem == SEM_PARKED -> sem = SEM_NIL } -> readyWaiter()
	:: else -> skip
	fi
}

/* netpoll.ts onParkedReady: a ring record, or the main thread's own poll */
inline onParkedReady(seq) {
	if
	:: fdseq == seq -> readyWaiter()
	:: else -> skip
	fi
}

/* shm.ts publishReady: exchange(sem, READY) in one atomic step (NIL and
 * PARKED become READY, READY stays); true if it was PARKED */
inline publishReady(wasParked) {
	atomic {
		wasParked = (sem == SEM_PARKED);
#ifdef NOREADY
		if :: sem != SEM_NIL -> sem = SEM_READY :: else -> skip fi
#else
		sem = SEM_READY
#endif
	}
}

/* eventport.ts / epoll.ts deliver: under the lock, drop a stale event,
 * re-associate what is still wanted (event ports: update(pd, 0, POLLIN,
 * true); for one direction nothing is left, so user becomes 0 with no
 * system call), publish, and hand parked goroutines on: the worker pushes a
 * ring record (onParked in poller-worker.ts), the main thread readies them
 * at once (onParkedReady). */
inline deliver(tag, direct) {
	lock();
	if
	:: fdseq != tag -> skip
	:: else ->
#ifndef EPOLL
		if
		:: closing -> skip
		:: else -> user = 0
		fi;
#endif
		publishReady(was);
		if
		:: was && direct -> onParkedReady(tag)
		:: was && !direct -> assert(len(ring) < RING_CAP); ring!tag; pushed = true
		:: else -> skip
		fi
	fi;
	unlock();
	was = false
}

/* ---- the poller thread (poller-worker.ts loop) ------------------------------ */
active proctype Worker() {
	bool pushed, was;
	byte tag, old, g;
end:
	do
	:: atomic { cmode == MODE_POLL -> pushed = false }      /* MODE_HOLD: Atomics.wait(CTL_MODE) */
end_getn:
		atomic { q_full -> tag = q_tag; q_full = false };  /* backend.poll(-1): port_getn / epoll_wait */
		deliver(tag, false);
		tag = 0;
		if
		:: pushed ->
			cwake = 1;                                       /* Atomics.store(CTL_WAKE, 1) */
			atomic { if :: wa_reg -> wa_reg = false; wa_resolved = true :: else -> skip fi };  /* Atomics.notify */
			pushed = false
		:: else -> skip
		fi
	od
}

/* ---- the scheduler's hooks (netpoll.ts pollNonBlocking, idle, onWake) ------- */

/* ring.ts ringDrain: the records pushed before it read the tail */
inline ringDrain(n) {
	n = len(ring);
	k = n;
	do
	:: k > 0 -> ring?seq; onParkedReady(seq); seq = 0; k--
	:: else -> break
	od
}

inline pollNonBlocking() {
	if
	:: waiters == 0 -> skip
	:: else ->
		ringDrain(n);
		if
		:: waiters > 0 ->                                   /* backend.poll(0, onParkedReady) */
			if
			:: atomic { q_full -> tag = q_tag; q_full = false } -> deliver(tag, true); tag = 0
			:: else -> skip
			fi
		:: else -> skip
		fi
	fi
}

inline idle() {
	if
	:: waiters == 0 || sleeping -> skip
	:: else ->
#ifdef WAKEBUG
		cwake = 0;                                           /* Atomics.store(CTL_WAKE, 0) */
#endif
		atomic { if :: cmode == MODE_HOLD -> cmode = MODE_POLL :: else -> skip fi };  /* CAS + notify CTL_MODE */
		atomic {                                             /* Atomics.waitAsync(CTL_WAKE, 0) */
			if
			:: cwake != 0 -> onwake_micro = true
			:: else -> wa_reg = true; sleeping = true
			fi
		}
	fi
}

/* The main thread's side of the hand-off, one entry point per reason to run:
 *   W_LOOP  the schedule loop found nothing runnable (after a goroutine
 *           parked or ended, after a kick, or on an unrelated host timer):
 *           checkTimersAndPoller -> pollNonBlocking, then idle()
 *   W_TICK  checkTimersAndPoller between goroutines (every TICK_MASK ticks)
 *   W_WAKE  the waitAsync on CTL_WAKE resolved (or returned at once):
 *           onWake -> ringDrain, and idle() again if it found nothing */
#define W_LOOP 1
#define W_TICK 2
#define W_WAKE 3

active proctype Sched() {
	bool pushed, was, goidle;
	byte n, k, seq, tag, old, g, ticks, why;
end:
	do
	:: if
		:: atomic { mtok == T_FREE && kick && nrunnable == 0 -> mtok = T_SCHED; kick = false; why = W_LOOP }
		:: atomic { mtok == T_FREE && ticks < NTICKS -> mtok = T_SCHED; ticks++; why = W_LOOP }  /* an unrelated host timer */
		:: atomic { mtok == T_FREE && nrunnable > 0 && waiters > 0 && (len(ring) > 0 || q_full) -> mtok = T_SCHED; why = W_TICK }
		:: atomic { mtok == T_FREE && (wa_resolved || onwake_micro) -> mtok = T_SCHED; wa_resolved = false; onwake_micro = false; why = W_WAKE }
		fi;
		if
		:: why == W_WAKE ->                                  /* onWake */
			sleeping = false;
			atomic { if :: cmode == MODE_POLL -> cmode = MODE_HOLD :: else -> skip fi };  /* main polls for itself now */
#ifndef WAKEBUG
			cwake = 0;                                       /* reset before draining, not in idle */
#endif
			ringDrain(n);
#ifndef NOREIDLE
			goidle = (n == 0)
#endif
		:: else ->
			pollNonBlocking();
			goidle = (why == W_LOOP && nrunnable == 0)
		fi;
		if
		:: goidle -> idle()
		:: else -> skip
		fi;
		d_step { n = 0; why = 0; goidle = false };
		mtok = T_FREE
	od
}

/* ---- Close and destroy (fd.ts) ------------------------------------------------ */

/* fd.ts destroy: pollClose (checks, port_dissociate / EPOLL_CTL_DEL,
 * freeSlot: fdseq++ under the lock), then close(2) */
inline destroy() {
	if
	:: !destroyed ->
		destroyed = true;
		P6(waitG == 0);
		k_in = false;
		lock(); fdseq++; unlock();
		atomic { fd_open = false; k_in = false }
	:: else -> skip
	fi
}

proctype Closer() {
	byte g;
	if
	:: skip
	:: goto out                                   /* this run has no Close */
	fi;
end:
	atomic { mtok == T_FREE -> mtok = T_CLOSER }  /* the closing goroutine runs, at any moment */
	/* increfAndClose */
	if
	:: mu_closed -> goto done
	:: else -> mu_closed = true; refs++
	fi;
	/* pollUnblock: closing under the lock, stopDeadline, wakeWithError */
	lock(); closing = true; unlock();
	timer_stopped = true;
	wakeWithError();
	/* decref: the last reference destroys */
	refs--;
#ifdef NOREFS
	destroy();
#else
	if
	:: refs == 0 -> destroy()
	:: else -> skip
	fi;
#endif
done:
	atomic { mtok = T_FREE; kick = true }
out:
	skip
}

/* A read deadline set before the reads: its timer fires at any moment
 * (runTimers / a host timer), unless pollUnblock stopped it. */
proctype Deadline() {
	byte g;
	if
	:: skip
	:: goto out
	fi;
end:
	atomic { mtok == T_FREE && !timer_stopped -> mtok = T_TIMER }
	expired = true;                               /* onDeadline -> expire */
	wakeWithError();
	atomic { mtok = T_FREE; kick = true }
out:
	skip
}

/* ---- the reading goroutine (fd.ts read -> netpoll.ts) ------------------------- */

/* netpoll.ts pollCheckErr: closing beats an expired deadline */
inline checkErr() {
	if
	:: closing -> err = ERR_CLOSING
	:: !closing && expired -> err = ERR_TIMEOUT
	:: else -> err = ERR_NONE
	fi
}

proctype Reader(byte me) {
	byte err, old, nreads, g;
	bool armed;
	atomic { mtok == T_FREE && gst[me] == G_RUNNABLE -> mtok = me; gst[me] = G_RUNNING; nrunnable-- };
	do
	:: nreads < NREADS ->
		/* readLock (fdMutex): fails once Close has begun */
		if
		:: mu_closed -> err = ERR_CLOSING; goto opdone
		:: else -> refs++
		fi;
		/* pollReset */
		checkErr();
		if
		:: err != ERR_NONE -> goto unlockop
		:: else -> sem = SEM_NIL
		fi;
retry:
		/* read(2) */
		P7(fd_open);
		if
		:: data > 0 -> data--; err = ERR_NONE; goto unlockop
		:: else -> skip                           /* EAGAIN */
		fi;
wait:
		/* pollWait */
		checkErr();
		if
		:: err != ERR_NONE -> goto unlockop
		:: else -> skip
		fi;
#ifdef YIELDGAP
		atomic { gst[me] = G_RUNNABLE; nrunnable++; mtok = T_FREE; kick = true };
		atomic { mtok == T_FREE && gst[me] == G_RUNNABLE -> mtok = me; gst[me] = G_RUNNING; nrunnable-- };
#endif
#ifndef EPOLL
		/* backend.arm: lock; update(pd, POLLIN, 0, true); unlock */
#ifdef ARMONCE
		if
		:: armed -> goto block
		:: else -> armed = true
		fi;
#endif
		lock();
		if
		:: closing -> skip
		:: !closing && user == 0 ->
			atomic { P7(fd_open); if :: fd_open -> k_in = true; k_tag = fdseq :: else -> skip fi };
			user = 1
		:: else -> skip
		fi;
		unlock();
block:
#endif
		/* netpollblock */
		do
		:: atomic { sem == SEM_READY -> sem = SEM_NIL }; goto retry     /* readiness remembered */
		:: else ->
			atomic { old = sem; if :: sem == SEM_NIL -> sem = SEM_PARKED :: else -> skip fi };
			if
			:: old == SEM_NIL -> break
			:: old == SEM_PARKED -> P4(false); goto stuck              /* throw "double wait" */
			:: else -> skip                                            /* READY meanwhile: again */
			fi
		od;
		P4(waitG == 0);
		d_step { waitG = me; old = 0 };
		waiters++;                                                     /* 1: refPoller */
		/* gopark: the schedule loop goes on */
		atomic { gst[me] = G_WAITING; mtok = T_FREE; kick = true };
end_parked:
		atomic { mtok == T_FREE && gst[me] == G_RUNNABLE -> mtok = me; gst[me] = G_RUNNING; nrunnable-- };
		atomic { old = sem; sem = SEM_NIL };                            /* Atomics.exchange */
		if
		:: old == SEM_READY -> old = 0; goto retry
		:: else -> old = 0; goto wait
		fi;
unlockop:
		/* readUnlock: the last reference after Close destroys */
		refs--;
		if
		:: mu_closed && refs == 0 -> destroy()
		:: else -> skip
		fi;
opdone:
		assert(err != ERR_CLOSING || closing || mu_closed);
		assert(err != ERR_TIMEOUT || expired);
		err = ERR_NONE;
		nreads++
	:: else -> break
	od;
	atomic { gst[me] = G_DONE; mtok = T_FREE; kick = true };
	goto out;
stuck:
	/* after a fatal error (double wait): the program is dead */
end_stuck:
	false;
out:
	skip
}

/* ---- the kernel and the peer ----------------------------------------------- */

#ifndef EPOLL
/* event ports: one-shot, level-triggered POLLIN */
active proctype Kernel() {
end:
	do
	:: atomic { k_in && data > 0 && !q_full -> q_full = true; q_tag = k_tag; k_in = false }
	od
}
#endif

active proctype Peer() {
	byte n;
	do
	:: n < NMSG ->
		atomic {
			data++; n++;
#ifdef EPOLL
			/* edge-triggered: new data is an event (one per fd in the ready list) */
			if :: k_in -> q_full = true; q_tag = k_tag :: else -> skip fi
#endif
		}
	:: break
	od
}

/* ---- the properties checked when nothing can move ---------------------------- */

#define parkedIO(i) (gst[i] == G_WAITING && waitG == i)

active proctype Monitor() {
	timeout ->
#if PROP == 1
	assert(!(parkedIO(1) && data > 0) && !(parkedIO(2) && data > 0));
#elif PROP == 2
	assert(!(parkedIO(1) && closing) && !(parkedIO(2) && closing));
#elif PROP == 3
	assert(!(parkedIO(1) && expired) && !(parkedIO(2) && expired));
#elif PROP == 5
	assert(waiters == (waitG != 0 -> 1 : 0));
#else
	skip;
#endif
}

init {
	atomic {
#ifdef EPOLL
		k_in = true;                 /* open: EPOLL_CTL_ADD, EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET */
#endif
		gst[1] = G_RUNNABLE; nrunnable = 1;
		run Reader(1);
#ifdef TWOREADERS
		gst[2] = G_RUNNABLE; nrunnable = 2;
		run Reader(2);
#endif
		run Closer();
		run Deadline()
	}
}
