/*
 * pool/member_fsm.c: the pure parts of a member: its state machine and
 * the crash-loop back-off.  No I/O, no clock, no libevent: member.c
 * acts on what these return, and tests/unit/test_member.c drives them
 * with tables.  Any thread (they touch only their arguments).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool/member.h"

enum member_state
member_step(enum member_state st, enum member_event ev,
    struct member_health *h, unsigned fall, unsigned rise)
{
	if (ev == MEMBER_EV_EXIT) {
		h->mh_ok = h->mh_fail = 0;
		h->mh_out = false;
		return (MEMBER_STOPPED);
	}
	switch (st) {
	case MEMBER_BOOTING:
		if (ev == MEMBER_EV_PROBE_OK) {
			h->mh_ok = 1;
			h->mh_fail = 0;
			h->mh_out = false;
			return (MEMBER_READY);
		}
		if (ev == MEMBER_EV_TIMEOUT)
			return (MEMBER_FAILED);
		if (ev == MEMBER_EV_DRAIN)
			return (MEMBER_FAILED);	/* not serving: just stop */
		return (MEMBER_BOOTING);	/* not up yet */
	case MEMBER_READY:
		switch (ev) {
		case MEMBER_EV_PROBE_OK:
			/*
			 * Failures count until it is back in rotation, so a
			 * VM flapping between pass and fail reaches fall.
			 */
			if (++h->mh_ok >= (rise > 0 ? rise : 1)) {
				h->mh_out = false;
				h->mh_fail = 0;
			}
			return (MEMBER_READY);
		case MEMBER_EV_PROBE_FAIL:
			h->mh_ok = 0;
			h->mh_out = true;
			if (++h->mh_fail >= (fall > 0 ? fall : 1))
				return (MEMBER_FAILED);
			return (MEMBER_READY);
		case MEMBER_EV_DRAIN:
			return (MEMBER_DRAINING);
		default:
			return (MEMBER_READY);
		}
	case MEMBER_DRAINING:
	case MEMBER_FAILED:
	case MEMBER_STOPPED:
		return (st);
	}
	return (st);
}

uint64_t
member_backoff_ms(unsigned crashes)
{
	uint64_t	 ms = MEMBER_BACKOFF_BASE_MS;
	unsigned	 i;

	if (crashes == 0)
		return (0);
	for (i = 1; i < crashes && ms < MEMBER_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return (ms < MEMBER_BACKOFF_MAX_MS ? ms : MEMBER_BACKOFF_MAX_MS);
}

const char *
member_state_name(enum member_state st)
{
	switch (st) {
	case MEMBER_STOPPED:
		return ("stopped");
	case MEMBER_BOOTING:
		return ("booting");
	case MEMBER_READY:
		return ("ready");
	case MEMBER_DRAINING:
		return ("draining");
	case MEMBER_FAILED:
		return ("failed");
	}
	return ("?");
}
