/*
 * tests/unit/test_bufmem.c: libevent's allocator (lib/bufmem.c): blocks
 * keep their bytes, power-of-two blocks come back from the thread's
 * cache, the cache is bounded, a thread's cache goes back to malloc
 * when the thread ends (even if the thread frees more after that), and a
 * block freed twice stops the program.  Last, libevent runs on it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "lib/bufmem.h"

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static void
check(const unsigned char *p, size_t n, unsigned seed)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			fail_msg("byte %zu of %zu", i, n);
}

static void
test_bufmem_blocks_hold_their_bytes(void **state)
{
	static const size_t	 sizes[] = { 0, 1, 15, 511, 512, 513, 1024,
	    4096, 4097, 65536, 131072, 131073, 1 << 20 };
	unsigned char		*p[sizeof(sizes) / sizeof(sizes[0])];
	size_t			 i, before = bufmem_blocks();

	(void)state;
	bufmem_flush();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_non_null(p[i] = bufmem_malloc(sizes[i]));
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		fill(p[i], sizes[i], (unsigned)i);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check(p[i], sizes[i], (unsigned)i);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bufmem_free(p[i]);
	bufmem_free(NULL);
	/* 512, 1024, 4096, 65536 and 131072 are kept; the rest went back. */
	assert_int_equal(bufmem_cached(), 5);
	bufmem_flush();
	assert_int_equal(bufmem_cached(), 0);
	assert_int_equal(bufmem_blocks(), before);
	assert_null(bufmem_malloc(SIZE_MAX - 8));
}

static void
test_bufmem_reuses_and_bounds_its_cache(void **state)
{
	void	*p, *q, *many[200];
	size_t	 i, kept;

	(void)state;
	bufmem_flush();
	p = bufmem_malloc(4096);
	bufmem_free(p);
	assert_int_equal(bufmem_cached(), 1);
	q = bufmem_malloc(4096);
	assert_ptr_equal(p, q);
	assert_int_equal(bufmem_cached(), 0);
	/* Another size does not take it. */
	bufmem_free(q);
	assert_ptr_not_equal(p = bufmem_malloc(2048), q);
	bufmem_free(p);
	bufmem_flush();

	for (i = 0; i < 200; i++)
		assert_non_null(many[i] = bufmem_malloc(4096));
	for (i = 0; i < 200; i++)
		bufmem_free(many[i]);
	kept = bufmem_cached();
	assert_true(kept > 0 && kept < 200);
	for (i = 0; i < 200; i++)
		assert_non_null(many[i] = bufmem_malloc(131072));
	for (i = 0; i < 200; i++)
		bufmem_free(many[i]);
	/* 128 KiB blocks: one at most. */
	assert_int_equal(bufmem_cached(), kept + 1);
	bufmem_flush();
}

static void
test_bufmem_realloc_keeps_the_prefix(void **state)
{
	unsigned char	*p;
	size_t		 before = bufmem_blocks();

	(void)state;
	assert_non_null(p = bufmem_realloc(NULL, 100));
	fill(p, 100, 3);
	assert_non_null(p = bufmem_realloc(p, 300));	/* none to none */
	check(p, 100, 3);
	fill(p, 300, 4);
	assert_non_null(p = bufmem_realloc(p, 4096));	/* to a class */
	check(p, 300, 4);
	fill(p, 4096, 5);
	assert_non_null(p = bufmem_realloc(p, 1024));	/* class to class */
	check(p, 1024, 5);
	assert_non_null(p = bufmem_realloc(p, 5000));	/* class to none */
	check(p, 1024, 5);
	bufmem_free(p);
	bufmem_flush();
	assert_int_equal(bufmem_blocks(), before);
}

static void *
thread_main(void *arg)
{
	void	*p[8];
	size_t	 i;

	(void)arg;
	for (i = 0; i < 8; i++)
		p[i] = bufmem_malloc((size_t)512 << i);
	for (i = 0; i < 8; i++)
		bufmem_free(p[i]);
	return ((void *)bufmem_cached());
}

static void
test_bufmem_thread_end_gives_its_cache_back(void **state)
{
	pthread_t	 t;
	void		*cached;
	size_t		 before;

	(void)state;
	bufmem_flush();
	before = bufmem_blocks();
	assert_int_equal(pthread_create(&t, NULL, thread_main, NULL), 0);
	assert_int_equal(pthread_join(t, &cached), 0);
	assert_int_equal((size_t)cached, 8);
	assert_int_equal(bufmem_blocks(), before);
	assert_int_equal(bufmem_cached(), 0);
}

/* Another key's destructor, run after bufmem's: it frees one more. */
static pthread_key_t	 late_key;

static void
late_free(void *p)
{
	bufmem_free(p);
}

static void *
late_thread_main(void *arg)
{
	(void)arg;
	bufmem_free(bufmem_malloc(4096));	/* bufmem's key is set */
	pthread_setspecific(late_key, bufmem_malloc(4096));
	return (NULL);
}

static void
test_bufmem_frees_after_its_thread_end_are_not_lost(void **state)
{
	pthread_t	 t;
	size_t		 before;

	(void)state;
	bufmem_free(bufmem_malloc(512));	/* bufmem's key made first */
	bufmem_flush();
	assert_int_equal(pthread_key_create(&late_key, late_free), 0);
	before = bufmem_blocks();
	assert_int_equal(pthread_create(&t, NULL, late_thread_main, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(bufmem_blocks(), before);
	pthread_key_delete(late_key);
}

static void
test_bufmem_double_free_stops_the_program(void **state)
{
	pid_t	 pid;
	int	 st, fd;
	void	*p;

	(void)state;
	if ((pid = fork()) == 0) {
		/* The report (ours or ASan's) is expected: not on our output. */
		if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, STDERR_FILENO);
		p = bufmem_malloc(1024);
		bufmem_free(p);
		bufmem_free(p);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_bufmem_runs_libevent(void **state)
{
	struct evbuffer	*a, *b;
	unsigned char	 chunk[3000], out[3000];
	size_t		 i;

	(void)state;
	assert_non_null(a = evbuffer_new());
	assert_non_null(b = evbuffer_new());
	for (i = 0; i < 500; i++) {
		fill(chunk, sizeof(chunk), (unsigned)i);
		assert_int_equal(evbuffer_add(a, chunk, sizeof(chunk)), 0);
		assert_int_equal(evbuffer_remove_buffer(a, b, 1000), 1000);
		evbuffer_drain(a, sizeof(chunk) - 1000);
		assert_non_null(evbuffer_pullup(b, -1));
		assert_int_equal(evbuffer_remove(b, out, 1000), 1000);
		check(out, 1000, (unsigned)i);
	}
	evbuffer_free(a);
	evbuffer_free(b);
	assert_true(bufmem_cached() > 0);
	bufmem_flush();
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_bufmem_blocks_hold_their_bytes),
		cmocka_unit_test(test_bufmem_reuses_and_bounds_its_cache),
		cmocka_unit_test(test_bufmem_realloc_keeps_the_prefix),
		cmocka_unit_test(test_bufmem_thread_end_gives_its_cache_back),
		cmocka_unit_test(
		    test_bufmem_frees_after_its_thread_end_are_not_lost),
		cmocka_unit_test(test_bufmem_double_free_stops_the_program),
		cmocka_unit_test(test_bufmem_runs_libevent),
	};

	event_set_mem_functions(bufmem_malloc, bufmem_realloc, bufmem_free);
	return (cmocka_run_group_tests_name("bufmem", tests, NULL, NULL));
}
