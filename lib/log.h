/*
 * lib/log.h: the logging API every program of corral shares, and ASSERT.
 *
 * Messages go to stderr, one line each, prefixed with the program's tag
 * (set once by log_init()).  log_warn() and fatal() append strerror(errno);
 * the x variants do not.  The log level and tag are the only file-scope
 * state: they are set before any thread starts and read-only afterwards.
 */
#ifndef LIB_LOG_H
#define LIB_LOG_H

enum log_level {
	LOG_LEVEL_WARN = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Sets the tag printed before every line ("corral-vmm vm-3") and the level. */
void	log_init(const char *tag, enum log_level level);
enum log_level	log_getlevel(void);

void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

void	log_assert_failed(const char *file, int line, const char *expr)
	    __attribute__((noreturn));

/*
 * Our own invariants only, never input: on in every build, cheap, and
 * fatal.  Bytes from clients, backends, guests and files are validated.
 */
#define ASSERT(expr)	do {						\
	if (__builtin_expect(!(expr), 0))				\
		log_assert_failed(__FILE__, __LINE__, #expr);		\
} while (0)

#endif /* LIB_LOG_H */
