/*
 * port.c: illumos event ports over Linux epoll, so that the event-port
 * backend of the runtime (and the use-after-close race of Go issue 7410) can
 * be exercised for real on Linux.
 *
 * Design.
 *
 * A port is an epoll instance plus user-space state. The port descriptor
 * handed out is the epoll descriptor itself. Each PORT_SOURCE_FD association
 * is an epoll registration with EPOLLONESHOT, which is illumos's one-shot
 * rule: once the registration fires it stays disabled until re-armed with
 * EPOLL_CTL_MOD, as an illumos fd stays dissociated until port_associate.
 * Both are level-triggered, so re-arming a ready fd fires at once.
 *
 * Events that have fired but are not yet retrieved live in a per-port queue
 * (illumos's port queue). Moving an event from epoll to the queue is
 * "harvesting"; every port_getn harvests without blocking first, and one
 * thread at a time (the leader) blocks in epoll_wait for the others, who
 * wait on a condition variable (leader/followers). port_send, port_alert and
 * close of the port wake the leader through an eventfd registered in the
 * epoll set, level-triggered.
 *
 * Every epoll registration carries (generation << 32 | fd) as its data. Each
 * port_associate bumps the generation, so an event harvested after the
 * association was replaced, dissociated or closed is recognised as stale and
 * dropped: that is how re-association "removes an already fired event" as
 * illumos does, even when the event is in flight in another thread.
 *
 * One mutex guards all state of all ports. It is never held while blocking
 * (epoll_wait, the condition wait) or while closing a non-port descriptor.
 *
 * Emulated (from port_create(3C), port_associate(3C), port_get(3C),
 * port_alert(3C), port_send(3C), and the kernel: usr/src/uts/common/fs/
 * portfs/port.c, port_fd.c; libc: usr/src/lib/libc/port/gen/event_port.c):
 *   - PORT_SOURCE_FD: one-shot, level-triggered; events 0 is allowed;
 *     re-associating replaces events and user and drops a fired but
 *     unretrieved event; portev_events = revents & (events|POLLHUP|POLLERR);
 *     port_dissociate returns 0 if the association was armed or its event
 *     still queued, ENOENT otherwise (its event was retrieved); closing an
 *     fd through close() here drops its associations and queued events.
 *   - port_getn: *nget in/out; blocks until *nget events or the timeout;
 *     NULL waits forever, a zeroed timespec polls (success even with fewer
 *     than *nget); on timeout -1/ETIME with *nget = events delivered (maybe
 *     0); on EINTR *nget keeps its input value; max == 0 stores the number
 *     of queued events in *nget; *nget == 0 returns at once; *nget > max > 0
 *     is EINVAL, a NULL list EFAULT (the kernel's code; the man page says
 *     EINVAL); waiters return EBADFD when another thread closes the port.
 *   - port_alert: events != 0 enters alert mode (PORT_ALERT_SET overwrites,
 *     PORT_ALERT_UPDATE fails with EBUSY if already alerted, both flags
 *     EINVAL); every thread blocked in port_getn returns the alert as it was
 *     when it was raised, and later port_getn calls return it at once, until
 *     events == 0 clears alert mode. Queued events stay queued meanwhile.
 *   - port_send: queues a PORT_SOURCE_USER event, portev_object 0.
 * Not emulated: other sources, port_get/port_sendn; fork sharing rules and
 * EACCES; resource controls (EAGAIN at process.port-max-events); the port fd
 * polling readable for user events and alerts; regular files (epoll refuses
 * them with EPERM, illumos reports them always ready); waking the waiter
 * that wants the fewest events first; descriptors closed behind the
 * library's back (epoll keeps a registration until the last reference to
 * the open file goes, so the runtime must close through close() here).
 * Closing a port with threads blocked in it: they return EBADFD, but the
 * descriptor number is released only when the last of them has left.
 *
 * Violation counter.
 *
 * In the runtime a cookie (portev_user) names one open file: a slot index
 * plus a generation that changes when the slot is freed (netpoll-protocol.md
 * section 9, item 3). So once the file behind a cookie has been closed, any
 * port_associate with that cookie is the use-after-close of Go issue 7410,
 * whether the fd number is still free (EBADFD on illumos: Go threw) or has
 * been reused (an unrelated file gets associated). To see it, each port
 * remembers per fd the cookie last associated with it, and keeps it through
 * retrieval and port_dissociate (Go dissociates just before closing, so the
 * race happens after the dissociate). close() moves that cookie to a
 * per-port set of dead cookies; port_associate with a dead cookie counts a
 * violation and takes the cookie out of the set (it now names the
 * association just made). A new file on the same fd number associated with a
 * new cookie is therefore not counted. The dead set is a direct-mapped cache
 * (DEAD_SLOTS entries): a later close hashing to the same slot can make it
 * miss a violation, but it never reports a false one. A NULL cookie carries
 * no identity (libuv associates everything with NULL) and is not tracked.
 * Calls naming a descriptor that is not open are counted too (kinds in
 * port.h).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "port.h"

/* illumos poll(2) bits (illumos-abi.json); some differ from Linux's. */
#define IL_POLLIN	0x0001
#define IL_POLLPRI	0x0002
#define IL_POLLOUT	0x0004	/* also POLLWRNORM */
#define IL_POLLERR	0x0008
#define IL_POLLHUP	0x0010
#define IL_POLLRDNORM	0x0040
#define IL_POLLRDBAND	0x0080
#define IL_POLLWRBAND	0x0100
#define IL_POLLRDHUP	0x4000

#define NEVENTS		64	/* epoll_wait batch */
#define DEAD_SLOTS	4096	/* dead-cookie cache, a power of two */
#define KICK		UINT64_MAX /* epoll data of the wake-up eventfd */
#define MAX_WAIT_SEC	1000000000 /* longer timeouts wait forever */

/* illumos poll bit <-> epoll bit, for every bit an association can use. */
static const struct {
	int		illumos;
	uint32_t	epoll;
} pollbits[] = {
	{ IL_POLLIN, EPOLLIN },		{ IL_POLLPRI, EPOLLPRI },
	{ IL_POLLOUT, EPOLLOUT },	{ IL_POLLERR, EPOLLERR },
	{ IL_POLLHUP, EPOLLHUP },	{ IL_POLLRDNORM, EPOLLRDNORM },
	{ IL_POLLRDBAND, EPOLLRDBAND },	{ IL_POLLWRBAND, EPOLLWRBAND },
	{ IL_POLLRDHUP, EPOLLRDHUP },
};

/* A queued event; a circular list with a sentinel. */
struct qnode {
	struct qnode	*prev, *next;
	port_event_t	ev;
};

enum assoc_state {
	UNASSOCIATED,	/* not in the epoll set */
	ARMED,		/* in the epoll set, enabled */
	FIRED,		/* disabled; its event is queued in node */
	RETRIEVED,	/* disabled; its event was returned by port_getn */
};

/* Per (port, fd) state. Allocated on first use, freed with the port. */
struct assoc {
	struct qnode	node;	/* must be first; queued iff state == FIRED */
	enum assoc_state state;
	uint32_t	gen;	/* generation of the current epoll registration */
	int		events;	/* illumos bits asked for */
	void		*user;	/* cookie of the current association */
	void		*last_user; /* cookie last associated; survives
				       retrieval and dissociate, reset by close */
};

/* A thread blocked in port_getn; on the stack of that thread. */
struct waiter {
	struct waiter	*next;
	int		alerted;	/* set by port_alert; then events, user */
	int		events;
	void		*user;
};

struct port {
	struct port	*next;		/* registry link */
	int		epfd;		/* the port descriptor */
	int		kickfd;		/* eventfd in the epoll set, level-triggered */
	int		closed;		/* close() was called; set once */
	int		refs;		/* threads blocked in port_getn; they keep a
					   closed port alive until they leave */
	int		polling;	/* a leader is in (or entering) epoll_wait */
	pthread_cond_t	cv;		/* followers wait here (CLOCK_MONOTONIC) */
	struct waiter	*waiters;	/* threads blocked in port_getn */
	struct qnode	queue;		/* sentinel; fired, unretrieved events */
	uint_t		nready;		/* length of queue */
	int		alerted;	/* alert mode; then alert_events, alert_user */
	int		alert_events;
	void		*alert_user;
	struct assoc	**assoc;	/* indexed by fd; NULL if never used */
	int		nassoc;		/* length of assoc */
	struct {
		void	*user;		/* NULL: empty slot */
		int	fd;
	} dead[DEAD_SLOTS];		/* cookies whose file was closed */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct port *ports;		/* registry, open and closing ports */
static int nviolations[PORTEMU_NKINDS];	/* index 0 unused */
static portemu_violation_t last_violation;
static int have_last_violation;

static int
fail(int err)
{
	errno = err;
	return (-1);
}

static int
result(int err)
{
	return (err ? fail(err) : 0);
}

/* close(2) itself: a call to close() here could bind to libc's. */
static int
sys_close(int fd)
{
	return ((int)syscall(SYS_close, fd));
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) >= 0);
}

static void
violation(int kind, int fd, int closed_fd, void *user)
{
	nviolations[kind]++;
	last_violation.user = (uintptr_t)user;
	last_violation.kind = kind;
	last_violation.fd = fd;
	last_violation.closed_fd = closed_fd;
	have_last_violation = 1;
}

static uint32_t
to_epoll(int events)
{
	uint32_t ep = 0;

	for (size_t i = 0; i < sizeof (pollbits) / sizeof (pollbits[0]); i++)
		if (events & pollbits[i].illumos)
			ep |= pollbits[i].epoll;
	return (ep);
}

static int
from_epoll(uint32_t ep)
{
	int events = 0;

	for (size_t i = 0; i < sizeof (pollbits) / sizeof (pollbits[0]); i++)
		if (ep & pollbits[i].epoll)
			events |= pollbits[i].illumos;
	return (events);
}

static void
enqueue(struct port *p, struct qnode *q)
{
	q->prev = p->queue.prev;
	q->next = &p->queue;
	q->prev->next = q;
	p->queue.prev = q;
	p->nready++;
}

static void
unqueue(struct port *p, struct qnode *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
	p->nready--;
}

/*
 * Wakes everything that waits on p: followers through the condition
 * variable, the leader through the eventfd.
 */
static void
wake_waiters(struct port *p)
{
	pthread_cond_broadcast(&p->cv);
	if (p->polling)
		(void) eventfd_write(p->kickfd, 1);
}

static void
drain_kick(struct port *p)
{
	eventfd_t n;

	(void) eventfd_read(p->kickfd, &n);
}

/* Returns the open, non-closed port for fd, or an illumos error. */
static int
lookup_port(int fd, struct port **pp)
{
	for (struct port *p = ports; p != NULL; p = p->next) {
		if (p->epfd == fd) {
			*pp = p;
			return (p->closed ? EBADF : 0);
		}
	}
	return (fd_is_open(fd) ? EBADFD : EBADF);
}

static struct assoc *
find_assoc(struct port *p, int fd)
{
	return (fd < p->nassoc ? p->assoc[fd] : NULL);
}

static struct assoc *
get_assoc(struct port *p, int fd)
{
	if (fd >= p->nassoc) {
		int n = p->nassoc ? p->nassoc : 64;
		struct assoc **a;

		while (n <= fd)
			n *= 2;
		if ((a = realloc(p->assoc, n * sizeof (*a))) == NULL)
			return (NULL);
		memset(a + p->nassoc, 0, (n - p->nassoc) * sizeof (*a));
		p->assoc = a;
		p->nassoc = n;
	}
	if (p->assoc[fd] == NULL)
		p->assoc[fd] = calloc(1, sizeof (struct assoc));
	return (p->assoc[fd]);
}

/* Removes fd from the epoll set and drops its queued event, if any. */
static void
unassociate(struct port *p, int fd, struct assoc *a)
{
	if (a->state == FIRED)
		unqueue(p, &a->node);
	if (a->state != UNASSOCIATED)
		(void) epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
	a->state = UNASSOCIATED;
}

static size_t
dead_slot(void *user)
{
	return ((size_t)(((uintptr_t)user * 0x9E3779B97F4A7C15ull) >> 52) &
	    (DEAD_SLOTS - 1));
}

static void
bury_cookie(struct port *p, void *user, int fd)
{
	size_t i = dead_slot(user);

	p->dead[i].user = user;
	p->dead[i].fd = fd;
}

/* If user is dead, revives it and returns the fd it was closed with. */
static int
revive_cookie(struct port *p, void *user)
{
	size_t i = dead_slot(user);

	if (user == NULL || p->dead[i].user != user)
		return (-1);
	p->dead[i].user = NULL;
	return (p->dead[i].fd);
}

/*
 * Arms fd with ev. A registration our table believes in can be missing from
 * the epoll set if the fd was closed and its number reused without going
 * through close() here; then it is added afresh.
 */
static int
epoll_arm(struct port *p, int fd, struct assoc *a, struct epoll_event *ev)
{
	if (a->state != UNASSOCIATED) {
		if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, ev) == 0)
			return (0);
		if (errno != ENOENT)
			return (errno);
	}
	return (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, ev) == 0 ? 0 : errno);
}

static int
associate_fd(struct port *p, int fd, int events, void *user)
{
	int closed_fd = revive_cookie(p, user);
	struct assoc *a;
	struct epoll_event ev;
	int err;

	if (closed_fd >= 0)
		violation(PORTEMU_ASSOCIATE_AFTER_CLOSE, fd, closed_fd, user);
	if ((a = get_assoc(p, fd)) == NULL)
		return (ENOMEM);
	if (a->state == FIRED) {	/* the new association replaces it */
		unqueue(p, &a->node);
		a->state = RETRIEVED;
	}
	ev.events = to_epoll(events) | EPOLLONESHOT;
	ev.data.u64 = (uint64_t)(a->gen + 1) << 32 | (uint32_t)fd;
	if ((err = epoll_arm(p, fd, a, &ev)) != 0) {
		unassociate(p, fd, a);	/* illumos drops it on failure too */
		if (err != EBADF)
			return (err);
		if (closed_fd < 0)
			violation(PORTEMU_ASSOCIATE_BADFD, fd, -1, user);
		return (EBADFD);	/* illumos: object is not an open fd */
	}
	a->gen++;
	a->state = ARMED;
	a->events = events;
	a->user = a->last_user = user;
	return (0);
}

/* Queues the events of a batch from epoll_wait, dropping stale ones. */
static void
queue_fired(struct port *p, const struct epoll_event *evs, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t data = evs[i].data.u64;
		int fd = (int)(uint32_t)data;
		struct assoc *a;

		if (data == KICK)
			continue;
		a = find_assoc(p, fd);
		if (a == NULL || a->state != ARMED ||
		    a->gen != (uint32_t)(data >> 32))
			continue;	/* replaced, dissociated or closed */
		a->node.ev.portev_events = from_epoll(evs[i].events) &
		    (a->events | IL_POLLHUP | IL_POLLERR);
		a->node.ev.portev_source = PORT_SOURCE_FD;
		a->node.ev.portev_pad = 0;
		a->node.ev.portev_object = (uintptr_t)fd;
		a->node.ev.portev_user = a->user;
		a->state = FIRED;
		enqueue(p, &a->node);
	}
}

/*
 * Moves every event epoll has ready into the queue, without blocking.
 * Returns the number of events queued.
 */
static uint_t
harvest(struct port *p)
{
	struct epoll_event evs[NEVENTS];
	uint_t before = p->nready;
	int n;

	do {
		n = epoll_wait(p->epfd, evs, NEVENTS, 0);
		if (n > 0)
			queue_fired(p, evs, n);
	} while (n == NEVENTS);
	return (p->nready - before);
}

/* Returns up to max queued events; FD associations become RETRIEVED. */
static uint_t
deliver(struct port *p, port_event_t *list, uint_t max)
{
	uint_t n = 0;

	while (n < max && p->nready > 0) {
		struct qnode *q = p->queue.next;

		unqueue(p, q);
		list[n++] = q->ev;
		if (q->ev.portev_source == PORT_SOURCE_USER)
			free(q);
		else
			((struct assoc *)q)->state = RETRIEVED;
	}
	return (n);
}

static void
put_alert(port_event_t *list, int events, void *user)
{
	list[0].portev_events = events;
	list[0].portev_source = PORT_SOURCE_ALERT;
	list[0].portev_pad = 0;
	list[0].portev_object = 0;
	list[0].portev_user = user;
}

static struct timespec
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t);
}

static int
expired(const struct timespec *deadline)
{
	struct timespec t = now();

	return (t.tv_sec > deadline->tv_sec || (t.tv_sec == deadline->tv_sec &&
	    t.tv_nsec >= deadline->tv_nsec));
}

/* Milliseconds until deadline, rounded up, for epoll_wait; -1: forever. */
static int
wait_ms(const struct timespec *deadline)
{
	struct timespec t;
	long long ms;

	if (deadline == NULL)
		return (-1);
	t = now();
	ms = (long long)(deadline->tv_sec - t.tv_sec) * 1000 +
	    (deadline->tv_nsec - t.tv_nsec + 999999) / 1000000;
	return (ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms);
}

/*
 * The leader blocks in epoll_wait for every waiter of p, with mu released.
 * Returns 0 or epoll_wait's errno (EINTR).
 */
static int
lead(struct port *p, const struct timespec *deadline)
{
	struct epoll_event evs[NEVENTS];
	int epfd = p->epfd, n, err;

	p->polling = 1;
	pthread_mutex_unlock(&mu);
	n = epoll_wait(epfd, evs, NEVENTS, wait_ms(deadline));
	err = n < 0 ? errno : 0;
	pthread_mutex_lock(&mu);
	p->polling = 0;
	drain_kick(p);
	if (n > 0)
		queue_fired(p, evs, n);
	if (n == NEVENTS)
		(void) harvest(p);
	pthread_cond_broadcast(&p->cv);	/* results, and a new leader */
	return (err);
}

static void
follow(struct port *p, const struct timespec *deadline)
{
	if (deadline != NULL)
		(void) pthread_cond_timedwait(&p->cv, &mu, deadline);
	else
		(void) pthread_cond_wait(&p->cv, &mu);
}

static void
destroy_port(struct port *p)
{
	struct port **pp;

	for (pp = &ports; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	while (p->nready > 0) {
		struct qnode *q = p->queue.next;

		unqueue(p, q);
		if (q->ev.portev_source == PORT_SOURCE_USER)
			free(q);
	}
	for (int fd = 0; fd < p->nassoc; fd++)
		free(p->assoc[fd]);
	free(p->assoc);
	pthread_cond_destroy(&p->cv);
	(void) sys_close(p->kickfd);
	(void) sys_close(p->epfd);
	free(p);
}

/*
 * Blocks until port_getn can return. Called with at least one event wanted
 * and fewer queued; deadline NULL means forever.
 */
static int
wait_events(struct port *p, port_event_t *list, uint_t max, uint_t *nget,
    const struct timespec *deadline)
{
	struct waiter w = { .next = p->waiters };
	struct waiter **wp;
	int err = 0;

	p->waiters = &w;
	p->refs++;
	for (;;) {
		if (w.alerted) {
			put_alert(list, w.events, w.user);
			*nget = 1;
			break;
		}
		if (p->closed) {
			err = EBADFD;
			break;
		}
		if (p->nready >= *nget) {
			*nget = deliver(p, list, max);
			break;
		}
		if (deadline != NULL && expired(deadline)) {
			*nget = deliver(p, list, max);
			err = ETIME;
			break;
		}
		if (p->polling)
			follow(p, deadline);
		else if ((err = lead(p, deadline)) != 0)
			break;		/* EINTR: *nget keeps its value */
	}
	for (wp = &p->waiters; *wp != &w; wp = &(*wp)->next)
		;
	*wp = w.next;
	if (--p->refs == 0 && p->closed)
		destroy_port(p);
	return (err);
}

static int
getn(int port, port_event_t *list, uint_t max, uint_t *nget,
    const struct timespec *timeout)
{
	struct port *p;
	struct timespec deadline;
	int err;

	if ((err = lookup_port(port, &p)) != 0)
		return (err);
	if (*nget > max && max > 0)
		return (EINVAL);
	/* Whoever adds to the queue wakes the waiters: the leader, asleep in
	   epoll_wait, cannot see events another thread harvested. */
	if (harvest(p) > 0 && p->waiters != NULL)
		wake_waiters(p);
	if (max == 0) {
		*nget = p->nready;
		return (0);
	}
	if (list == NULL)
		return (EFAULT);
	if (*nget == 0)
		return (0);
	if (p->alerted) {
		put_alert(list, p->alert_events, p->alert_user);
		*nget = 1;
		return (0);
	}
	if (p->nready >= *nget ||
	    (timeout != NULL && timeout->tv_sec == 0 && timeout->tv_nsec == 0)) {
		*nget = deliver(p, list, max);
		return (0);
	}
	if (timeout == NULL)
		return (wait_events(p, list, max, nget, NULL));
	if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
	    timeout->tv_nsec >= 1000000000)
		return (EINVAL);
	if (timeout->tv_sec > MAX_WAIT_SEC)
		return (wait_events(p, list, max, nget, NULL));
	deadline = now();
	deadline.tv_sec += timeout->tv_sec;
	deadline.tv_nsec += timeout->tv_nsec;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	return (wait_events(p, list, max, nget, &deadline));
}

int
port_create(void)
{
	struct port *p;
	pthread_condattr_t ca;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = KICK };
	int err;

	if ((p = calloc(1, sizeof (*p))) == NULL)
		return (fail(EAGAIN));
	p->queue.prev = p->queue.next = &p->queue;
	if ((p->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		err = errno;
		free(p);
		return (fail(err));
	}
	if ((p->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->kickfd, &ev) < 0) {
		err = errno;
		if (p->kickfd >= 0)
			(void) sys_close(p->kickfd);
		(void) sys_close(p->epfd);
		free(p);
		return (fail(err));
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&mu);
	p->next = ports;
	ports = p;
	pthread_mutex_unlock(&mu);
	return (p->epfd);
}

int
port_associate(int port, int source, uintptr_t object, int events, void *user)
{
	struct port *p;
	int err;

	pthread_mutex_lock(&mu);
	if ((err = lookup_port(port, &p)) == 0) {
		if (source != PORT_SOURCE_FD)
			err = EINVAL;
		else if (object > INT_MAX)
			err = EBADFD;
		else
			err = associate_fd(p, (int)object, events, user);
	}
	pthread_mutex_unlock(&mu);
	return (result(err));
}

int
port_dissociate(int port, int source, uintptr_t object)
{
	struct port *p;
	struct assoc *a;
	int err, fd = (int)object;

	pthread_mutex_lock(&mu);
	if ((err = lookup_port(port, &p)) != 0)
		goto out;
	if (source != PORT_SOURCE_FD) {
		err = EINVAL;
	} else if (object > INT_MAX || !fd_is_open(fd)) {
		violation(PORTEMU_DISSOCIATE_BADFD, fd, -1, NULL);
		err = EBADFD;
	} else if ((a = find_assoc(p, fd)) == NULL ||
	    a->state == UNASSOCIATED) {
		err = ENOENT;
	} else {
		/* Active: armed, or its event not yet retrieved. */
		err = a->state == ARMED || a->state == FIRED ? 0 : ENOENT;
		unassociate(p, fd, a);
	}
out:
	pthread_mutex_unlock(&mu);
	return (result(err));
}

int
port_send(int port, int events, void *user)
{
	struct port *p;
	struct qnode *q;
	int err;

	pthread_mutex_lock(&mu);
	if ((err = lookup_port(port, &p)) == 0) {
		if ((q = calloc(1, sizeof (*q))) == NULL) {
			err = EAGAIN;
		} else {
			q->ev.portev_events = events;
			q->ev.portev_source = PORT_SOURCE_USER;
			q->ev.portev_user = user;
			enqueue(p, q);
			wake_waiters(p);
		}
	}
	pthread_mutex_unlock(&mu);
	return (result(err));
}

int
port_alert(int port, int flags, int events, void *user)
{
	struct port *p;
	int err;

	pthread_mutex_lock(&mu);
	if ((err = lookup_port(port, &p)) != 0)
		goto out;
	if (events == 0) {		/* leave alert mode, whatever flags */
		p->alerted = 0;
		goto out;
	}
	if ((flags & PORT_ALERT_INVALID) == PORT_ALERT_INVALID) {
		err = EINVAL;
		goto out;
	}
	if (flags == PORT_ALERT_UPDATE && p->alerted) {
		err = EBUSY;
		goto out;
	}
	p->alerted = 1;
	p->alert_events = events;
	p->alert_user = user;
	for (struct waiter *w = p->waiters; w != NULL; w = w->next) {
		if (!w->alerted) {
			w->alerted = 1;
			w->events = events;
			w->user = user;
		}
	}
	wake_waiters(p);
out:
	pthread_mutex_unlock(&mu);
	return (result(err));
}

int
port_getn(int port, port_event_t list[], uint_t max, uint_t *nget,
    struct timespec *timeout)
{
	int err;

	if (nget == NULL)		/* checked by libc on illumos */
		return (fail(EINVAL));
	pthread_mutex_lock(&mu);
	err = getn(port, list, max, nget, timeout);
	pthread_mutex_unlock(&mu);
	if (err == ETIME)
		return (fail(ETIME));	/* *nget was updated */
	return (result(err));
}

/* Drops fd's association with p and buries the cookie last given for it. */
static void
forget_fd(struct port *p, int fd)
{
	struct assoc *a = find_assoc(p, fd);

	if (a == NULL)
		return;
	unassociate(p, fd, a);
	if (a->last_user != NULL)
		bury_cookie(p, a->last_user, fd);
	a->last_user = NULL;
}

int
portemu_close(int fd)
{
	struct port *port = NULL;
	int err = 0;

	pthread_mutex_lock(&mu);
	for (struct port *p = ports; p != NULL; p = p->next) {
		if (p->epfd == fd)
			port = p;
		else if (!p->closed)
			forget_fd(p, fd);	/* a port can watch a port */
	}
	if (port == NULL) {
		pthread_mutex_unlock(&mu);
		return (sys_close(fd));
	}
	if (port->closed) {		/* second close of a closing port */
		err = EBADF;
	} else {
		port->closed = 1;
		if (port->refs == 0)
			destroy_port(port);
		else
			wake_waiters(port); /* the last one out destroys it */
	}
	pthread_mutex_unlock(&mu);
	return (result(err));
}

int close(int fd) __attribute__((alias("portemu_close")));

int
portemu_violations(void)
{
	int n = 0;

	pthread_mutex_lock(&mu);
	for (int k = 1; k < PORTEMU_NKINDS; k++)
		n += nviolations[k];
	pthread_mutex_unlock(&mu);
	return (n);
}

int
portemu_violations_of(int kind)
{
	int n;

	if (kind < 1 || kind >= PORTEMU_NKINDS)
		return (fail(EINVAL));
	pthread_mutex_lock(&mu);
	n = nviolations[kind];
	pthread_mutex_unlock(&mu);
	return (n);
}

int
portemu_reset_violations(void)
{
	int n = 0;

	pthread_mutex_lock(&mu);
	for (int k = 1; k < PORTEMU_NKINDS; k++) {
		n += nviolations[k];
		nviolations[k] = 0;
	}
	have_last_violation = 0;
	pthread_mutex_unlock(&mu);
	return (n);
}

int
portemu_last_violation(portemu_violation_t *out)
{
	int have;

	pthread_mutex_lock(&mu);
	have = have_last_violation;
	if (have)
		*out = last_violation;
	pthread_mutex_unlock(&mu);
	return (have);
}
