/*
 * port.h: illumos event ports, emulated on Linux (see port.c for the design).
 *
 * The prototypes are those of illumos <port.h> (usr/src/head/port.h) and the
 * constants and port_event_t those of <sys/port.h> on amd64, so that a program
 * written against libc.so.1 links or binds against libportemu.so unchanged.
 * Sources: ../../../shared/illumos-abi.json ("functions", "structs",
 * "constants" PORT_*).
 *
 * Two things differ from illumos, by necessity:
 *   - errno values are Linux's (the emulation runs on Linux): EBADFD is 77,
 *     not 81; ETIME, EBUSY, EBADF, ENOENT, EINVAL, EINTR agree.
 *   - nothing else, on purpose: the event bits taken by port_associate and
 *     returned in portev_events are illumos poll(2) bits. They equal Linux's
 *     for POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLRDNORM, POLLRDBAND,
 *     and differ for POLLWRBAND (0x100), POLLRDHUP (0x4000) and POLLWRNORM
 *     (== POLLOUT); port.c translates.
 */

#ifndef PORTEMU_PORT_H
#define PORTEMU_PORT_H

#include <stdint.h>
#include <time.h>

typedef unsigned int uint_t;

/* Event sources (<sys/port.h>). Only USER, FD and ALERT are produced here. */
#define PORT_SOURCE_AIO		1
#define PORT_SOURCE_TIMER	2
#define PORT_SOURCE_USER	3
#define PORT_SOURCE_FD		4
#define PORT_SOURCE_ALERT	5
#define PORT_SOURCE_MQ		6
#define PORT_SOURCE_FILE	7

/* port_alert() flags (<sys/port.h>). */
#define PORT_ALERT_SET		0x01
#define PORT_ALERT_UPDATE	0x02
#define PORT_ALERT_INVALID	(PORT_ALERT_SET | PORT_ALERT_UPDATE)

/* illumos amd64 layout: 24 bytes, portev_object at 8, portev_user at 16. */
typedef struct port_event {
	int		portev_events;	/* source specific; poll bits for FD */
	unsigned short	portev_source;	/* PORT_SOURCE_* */
	unsigned short	portev_pad;	/* port internal use; always 0 here */
	uintptr_t	portev_object;	/* fd for FD; 0 for USER and ALERT */
	void		*portev_user;	/* cookie of associate/send/alert */
} port_event_t;

_Static_assert(sizeof(port_event_t) == 24, "port_event_t must be 24 bytes");

int port_create(void);
int port_associate(int port, int source, uintptr_t object, int events,
    void *user);
int port_dissociate(int port, int source, uintptr_t object);
int port_send(int port, int events, void *user);
int port_getn(int port, port_event_t list[], uint_t max, uint_t *nget,
    struct timespec *timeout);
int port_alert(int port, int flags, int events, void *user);

/*
 * close(2) with event-port bookkeeping. The library exports it under both
 * names: portemu_close for callers that know the emulation, and close so that
 * binding "close" from this library gives the same symbol set as libc.so.1.
 */
int portemu_close(int fd);

/*
 * Protocol violations, counted since load or the last reset. All counts are
 * process-wide (all ports).
 */
enum portemu_violation_kind {
	/*
	 * port_associate with a cookie (user) whose descriptor was closed
	 * through close() since the cookie was last associated, whether or not
	 * the fd number has been reused: Go issue 7410.
	 */
	PORTEMU_ASSOCIATE_AFTER_CLOSE = 1,
	/* port_associate of a descriptor that is not open (no known cookie). */
	PORTEMU_ASSOCIATE_BADFD = 2,
	/* port_dissociate of a descriptor that is not open: close came first. */
	PORTEMU_DISSOCIATE_BADFD = 3,
	PORTEMU_NKINDS
};

typedef struct portemu_violation {
	uintptr_t	user;		/* cookie passed by the violating call */
	int		kind;		/* enum portemu_violation_kind */
	int		fd;		/* descriptor named by the violating call */
	int		closed_fd;	/* for ASSOCIATE_AFTER_CLOSE: fd the cookie
					   was closed with; else -1 */
} portemu_violation_t;

int portemu_violations(void);		/* total */
int portemu_violations_of(int kind);	/* one kind; -1/EINVAL if unknown */
int portemu_reset_violations(void);	/* zero all; returns the old total */
int portemu_last_violation(portemu_violation_t *out); /* 1 and *out, or 0 */

#endif /* PORTEMU_PORT_H */
