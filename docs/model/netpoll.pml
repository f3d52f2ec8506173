/*
 * netpoll.pml: the PollDesc arm / poll / close protocol of the event-port
 * backend (src/netpoll/eventport.ts, netpoll.ts, shm.ts, poller-worker.ts),
 * against the kernel's one-shot association, with an fd number and a
 * PollDesc slot that a second file reuses.
 *
 * Check one (variant, property) with, for example:
 *   spin -a -DVERSION=3 -DPROP=2 netpoll.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan -m100000
 *   spin -t -p -DVERSION=3 -DPROP=2 netpoll.pml      (print a counter-example)
 * npm run model runs every entry of verdicts.json; README.md maps this file to the code.
 *
 * Variants (-DVERSION=n), all with the code as built around them (pollOpen,
 * open, arm, pollUnblock, pollClose, freeSlot, sysClose are the same):
 *   0  Go before 199e7030 (50df1364), which is CTL_VARIANT = PROTO_PREFIX in
 *      eventport.ts (deliverPrefix): the poller re-associates with no lock,
 *      no closing check and no fdseq check. Go issue 7410.
 *   1  Go's fix 199e7030: the re-association under the PollDesc lock, after
 *      a closing check; readiness published after unlocking; no fdseq.
 *   2  Go today (edcde869 netpoll_solaris.go): V1 plus the fdseq check,
 *      made before taking the lock.
 *   3  this project (eventport.ts deliver): lock, fdseq check, closing
 *      check and re-association, readiness published, unlock.
 * Other knobs: -DREUSE=0 (no second file: owner B never runs), -DPOLLERS=2
 * (a second poller: the main thread's own non-blocking poll, pollNonBlocking
 * -> backend.poll(0), handles events with the same deliver code as the
 * worker), -DNOHUP (no hang-ups), -DARMS_A=n / -DARMS_B=n (arms per owner).
 *
 * Properties (-DPROP=n), assertions, each checked in a run of its own:
 *   1  no association after close: every port_associate names an open
 *      descriptor (on illumos EBADF, and Go threw "netpollupdate: failed
 *      to associate"). Section 6 A.1.
 *   2  no association of the wrong file: a port_associate made while
 *      handling an event names the file that event came from (not a file
 *      that reused the number). Section 6 A.2.
 *   3  no readiness delivered to the new owner from the old file's event:
 *      when the poller publishes readiness (publishReady) for an event, the
 *      slot serves that event's file, or nobody (free: pollOpen resets the
 *      semaphores before anyone can wait). Section 6 A.3.
 *   4  no change to the new owner's interest from the old file's event: when
 *      the poller writes pd.user (update) for an event, the slot serves that
 *      event's file, or nobody. Section 6 A.3 ("no change to B's interest set").
 *   8  sanity, must FAIL: "the poller never publishes an event of file B"
 *      (B's events do get through, so 3 is not vacuous).
 *   9  sanity, must FAIL: "the poller never calls port_associate" (the
 *      re-association happens, so 1, 2 and 4 are not vacuous).
 *   0  no property: explores the state space (state counts only).
 * Invalid end states are checked too (pan's default): the pollers and the
 * kernel wait in end-labelled states, the owners run to completion.
 *
 * Abstractions: one fd number, one PollDesc slot, two files (A, then B on
 * the same number and slot: pollOpen's free list is LIFO). Poll bits are
 * IN=1, OUT=2, HUP=4 (the real POLLOUT is 4, POLLHUP 0x10). Promela is
 * sequentially consistent, as Atomics on one SharedArrayBuffer are. Events
 * are batched one at a time (one fd: a batch holds at most one event of it).
 * The kernel is pessimistic: an event that fired but is not retrieved yet
 * stays queued across port_associate, port_dissociate and close(2) (illumos
 * drops it on re-association, and the emulation on close too; keeping it
 * only adds behaviours). The deadline timers and the semaphore states are in
 * netpoll_sema.pml.
 */

#define IN   1
#define OUT  2
#define HUP  4

#define NOFILE 0
#define FILE_A 1
#define FILE_B 2
#define FREE   0   /* pd_owner of a free slot */

#ifndef VERSION
#define VERSION 3
#endif
#ifndef REUSE
#define REUSE 1
#endif
#ifndef PROP
#define PROP 0
#endif
#ifndef POLLERS
#define POLLERS 1
#endif
#ifndef ARMS_A
#define ARMS_A 2
#endif
#ifndef ARMS_B
#define ARMS_B 2
#endif

#if PROP == 1
#define P1(c) assert(c)
#else
#define P1(c) skip
#endif
#if PROP == 2
#define P2(c) assert(c)
#else
#define P2(c) skip
#endif
#if PROP == 3
#define P3(c) assert(c)
#else
#define P3(c) skip
#endif
#if PROP == 4
#define P4(c) assert(c)
#else
#define P4(c) skip
#endif
#if PROP == 8
#define P8(c) assert(c)
#else
#define P8(c) skip
#endif
#if PROP == 9
#define P9(c) assert(c)
#else
#define P9(c) skip
#endif

/* ---- the kernel: one descriptor number, the port ------------------------ */

bool fd_open = true;    /* file A is open on the number from the start */
byte fd_file = FILE_A;  /* ghost: which file the number names now */

bool k_assoc;           /* the number is associated with the port */
byte k_events;          /* ... for these bits */
byte k_tag;             /* ... with this cookie generation (cookieOf(pd, fdseq)) */
byte k_file;            /* ghost: ... and this file */

bool q_full;            /* an event fired and waits to be retrieved */
byte q_events, q_tag, q_file;

/* ---- the PollDesc slot (shm.ts PD_*) ------------------------------------- */

bool pd_lock;           /* PD_LOCK: lockPd / unlockPd */
bool pd_closing;        /* PD_CLOSING */
byte pd_user;           /* PD_USER: the bits currently associated */
byte pd_fdseq = 0;      /* PD_FDSEQ: 0 until the first pollOpen */
byte pd_owner = FREE;   /* ghost: the file the slot serves */

bool a_done;            /* owner A has closed the number (close(2) returned) */

inline lock()   { atomic { !pd_lock -> pd_lock = true } }   /* shm.ts lockPd: CAS 0 -> 1, spin */
inline unlock() { pd_lock = false }                        /* shm.ts unlockPd */

/*
 * port_associate(port, PORT_SOURCE_FD, fd, events, cookie(pd)): replaces the
 * association; EBADF on a closed number (the call then does nothing).
 * `file' is the file the caller means (the owner's, or the event's).
 */
inline port_associate(events, file) {
	atomic {
		P1(fd_open);
		P2(!fd_open || fd_file == file);
		if
		:: fd_open -> k_assoc = true; k_events = events; k_tag = pd_fdseq; k_file = fd_file
		:: else -> skip   /* EBADF */
		fi
	}
}

/* The kernel: a level-triggered, one-shot association fires once, then the
 * number is dissociated (port_associate(3C)). Which of the associated bits
 * are true is the file's business: any non-empty subset. A hang-up
 * (POLLHUP) is reported whatever the association asked for, even none. */
active proctype Kernel() {
end:
	do
	:: atomic {
		k_assoc && !q_full ->
		if
		:: (k_events & IN) -> q_events = IN
		:: (k_events & OUT) -> q_events = OUT
		:: (k_events & IN) && (k_events & OUT) -> q_events = IN | OUT
#ifndef NOHUP
		:: q_events = HUP
#endif
		fi;
		q_tag = k_tag; q_file = k_file; q_full = true; k_assoc = false
	   }
	od
}

/* ---- the poller (poller-worker.ts loop -> eventport.ts poll/handle) ------- */

/* eventport.ts update(pd, 0, clear, checkClosing) for an event: Go's
 * netpollupdate. Under the lock except in V0 (deliverPrefix). */
inline update_clear(clear, checkClosing) {
	if
	:: checkClosing && pd_closing -> skip                      /* closing: never associate again (199e7030) */
	:: else ->
		old = pd_user;                                          /* Atomics.load PD_USER */
		evs = old & ~clear;
		if
		:: old != evs ->
			if
			:: evs != 0 -> P9(false); port_associate(evs, e_file)   /* port_associate(fd, events, cookie) */
			:: else -> skip
			fi;
			P4(pd_owner == e_file || pd_owner == FREE);
			pd_user = evs                                       /* Atomics.store PD_USER */
		:: else -> skip
		fi
	fi
}

/* eventport.ts publish -> shm.ts publishReady per direction (netpollready).
 * The semaphores themselves are in netpoll_sema.pml; here the point of
 * delivery is checked. */
inline publish(mode) {
	if
	:: (mode & IN) -> P3(pd_owner == e_file || pd_owner == FREE); P8(e_file != FILE_B)
	:: else -> skip
	fi;
	if
	:: (mode & OUT) -> P3(pd_owner == e_file || pd_owner == FREE); P8(e_file != FILE_B)
	:: else -> skip
	fi
}

proctype Poller() {
	byte e_ev, e_tag, e_file, mode, clear, old, evs;
end:
	do
	:: atomic {                                     /* port_getn: retrieve one event */
		q_full -> e_ev = q_events; e_tag = q_tag; e_file = q_file; q_full = false;
		/* handle(): modeOf(ev, POLLIN, POLLOUT, POLLHUP|POLLERR), clear from mode */
		mode = ((e_ev & (IN | HUP)) -> IN : 0) | ((e_ev & (OUT | HUP)) -> OUT : 0);
		clear = mode
	   };
#if VERSION == 0
		/* deliverPrefix: no lock, no closing check, no fdseq check */
		update_clear(clear, false);
		publish(mode);
#elif VERSION == 1
		/* 199e7030: lock; netpollupdate (closing check); unlock; netpollready */
		lock();
		update_clear(clear, true);
		unlock();
		publish(mode);
#elif VERSION == 2
		/* edcde869: fdseq check without the lock, then as 199e7030 */
		if
		:: pd_fdseq != e_tag -> goto next                       /* stale: continue */
		:: else -> skip
		fi;
		lock();
		update_clear(clear, true);
		unlock();
		publish(mode);
#else
		/* eventport.ts deliver: all under the lock */
		lock();
		if
		:: pd_fdseq != e_tag -> unlock(); goto next            /* stale: slot freed since */
		:: else -> skip
		fi;
		update_clear(clear, true);
		publish(mode);                                          /* publish before unlocking */
		unlock();
#endif
next:
		skip;
		d_step { e_ev = 0; e_tag = 0; e_file = 0; mode = 0; clear = 0; old = 0; evs = 0 }
	od
}

/* ---- the owners (the main thread: fd.ts FD over netpoll.ts) -------------- */

/* netpoll.ts pollOpen(fd): a slot from the LIFO free list, reset under its
 * lock; then eventport.ts open: user = 0 and an association with no events,
 * under the lock. */
inline poll_open(me) {
	lock();
	d_step {
		if :: pd_fdseq == 0 -> pd_fdseq = 1 :: else -> skip fi;
		pd_closing = false; pd_user = 0;                /* rg = wg = SEM_NIL as well */
		pd_owner = me
	}
	unlock();
	lock();                                             /* eventport.ts open */
	pd_user = 0;
	port_associate(0, me);
	unlock()
}

/* pollWait -> eventport.ts arm(pd, mode): lock; update(pd, set, 0, true); unlock */
inline arm(me, set) {
	lock();
	if
	:: pd_closing -> skip
	:: else ->
		old = pd_user;
		evs = old | set;
		if
		:: old != evs -> port_associate(evs, me); pd_user = evs
		:: else -> skip
		fi
	fi;
	unlock()
}

/* Goroutines arm before every wait, for either direction, a few times. */
inline arms(me, n) {
	do
	:: narms < n ->
		if
		:: arm(me, IN)
		:: arm(me, OUT)
		fi;
		narms++;
		d_step { old = 0; evs = 0 }
	:: break
	od
}

active proctype OwnerA() {
	byte old, evs, narms;
	poll_open(FILE_A);
	arms(FILE_A, ARMS_A);
	/* fd.ts close -> netpoll.ts pollUnblock: closing = 1 under the lock
	 * (then wakeWithError for both directions: netpoll_sema.pml) */
	lock(); pd_closing = true; unlock();
	/* the last reference -> destroy -> pollClose: eventport.ts close, port_dissociate (ENOENT ignored) */
	k_assoc = false;
	/* freeSlot: fdseq++ under the lock; the slot goes back to the free list */
	lock();
	d_step { pd_fdseq = pd_fdseq + 1; pd_owner = FREE }
	unlock();
	/* sysClose: close(2); the kernel drops the number's association */
	atomic { fd_open = false; fd_file = NOFILE; k_assoc = false; a_done = true }
}

/* A second file gets the same number (socket(2), accept(2), on any thread),
 * and the main thread registers it: the same slot comes off the free list. */
proctype OwnerB() {
	byte old, evs, narms;
	atomic { a_done && !fd_open -> fd_open = true; fd_file = FILE_B }
	poll_open(FILE_B);
	arms(FILE_B, ARMS_B)
}

init {
	atomic {
		run Poller();
#if POLLERS > 1
		run Poller();
#endif
#if REUSE
		run OwnerB()
#endif
	}
}
