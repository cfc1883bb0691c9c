/*
 * proxy/http_write.c: serialisation of heads, chunks and short error
 * responses into evbuffers.
 *
 * corral always speaks HTTP/1.1 on both sides (RFC 9110 §2.5: a sender
 * uses its own highest version), and re-frames every body: the caller
 * picks the framing when it writes a head, and the message's own
 * Content-Length and Transfer-Encoding are never copied blindly.  A head
 * is measured, then copied once into space reserved in the evbuffer.
 * On -1 the evbuffer may hold part of what was being written; the
 * caller closes that connection.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "lib/log.h"
#include "proxy/http_priv.h"

#define HTTP_WRITE_CRLF		"\r\n"

static int	 http_write_skip(const struct http_hdr *h,
		    enum http_framing framing);
static size_t	 http_write_status(int status, char *buf);
static size_t	 http_write_u64(uint64_t v, char *buf);
static char	*http_write_mem(char *p, const void *src, size_t len);

/*
 * Whether a field of the message is left out of the head written with
 * <framing>: the framing fields are chosen again (see http.h).
 */
static int
http_write_skip(const struct http_hdr *h, enum http_framing framing)
{
	return (h->h_id == HTTP_F_TRANSFER_ENCODING ||
	    (h->h_id == HTTP_F_CONTENT_LENGTH && framing != HTTP_FRAMING_NONE));
}

/* "HTTP/1.1 NNN " into <buf> (32 bytes); returns its length. */
static size_t
http_write_status(int status, char *buf)
{
	int	 n;

	if (status >= 100 && status <= 999) {
		memcpy(buf, "HTTP/1.1 ", 9);
		buf[9] = (char)('0' + status / 100);
		buf[10] = (char)('0' + status / 10 % 10);
		buf[11] = (char)('0' + status % 10);
		buf[12] = ' ';
		return (13);
	}
	n = snprintf(buf, 32, "HTTP/1.1 %03d ", status);
	return (n > 0 && n < 32 ? (size_t)n : 0);
}

/* <v> in decimal into <buf> (24 bytes), not terminated; its length. */
static size_t
http_write_u64(uint64_t v, char *buf)
{
	char	 tmp[24];
	size_t	 n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return (n);
}

static char *
http_write_mem(char *p, const void *src, size_t len)
{
	memcpy(p, src, len);
	return (p + len);
}

int
http_write_head(struct evbuffer *out, const struct http_msg *msg,
    enum http_framing framing, uint64_t length)
{
	const struct http_hdr	*h;
	struct evbuffer_iovec	 v;
	char			 status[32], num[24];
	size_t			 i, len, slen = 0, nlen = 0;
	char			*p;

	/* The size first, then one copy into space reserved in <out>. */
	if (msg->m_status == 0)
		len = msg->m_method_len + 1 + msg->m_target_len + 11;
	else {
		slen = http_write_status(msg->m_status, status);
		len = slen + msg->m_reason_len + 2;
	}
	for (i = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		if (!http_write_skip(h, framing))
			len += h->h_namelen + 2 + h->h_valuelen + 2;
	}
	switch (framing) {
	case HTTP_FRAMING_LENGTH:
		nlen = http_write_u64(length, num);
		len += 16 + nlen + 2;
		break;
	case HTTP_FRAMING_CHUNKED:
		len += 28;
		break;
	case HTTP_FRAMING_NONE:
	case HTTP_FRAMING_CLOSE:
		break;
	}
	len += 2;
	if (evbuffer_reserve_space(out, (ev_ssize_t)len, &v, 1) != 1)
		return (-1);
	p = v.iov_base;
	if (msg->m_status == 0) {
		p = http_write_mem(p, msg->m_buf + msg->m_method_off,
		    msg->m_method_len);
		*p++ = ' ';
		p = http_write_mem(p, msg->m_buf + msg->m_target_off,
		    msg->m_target_len);
		p = http_write_mem(p, " HTTP/1.1\r\n", 11);
	} else {
		p = http_write_mem(p, status, slen);
		p = http_write_mem(p, msg->m_buf + msg->m_reason_off,
		    msg->m_reason_len);
		p = http_write_mem(p, HTTP_WRITE_CRLF, 2);
	}
	for (i = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		if (http_write_skip(h, framing))
			continue;
		p = http_write_mem(p, msg->m_buf + h->h_name, h->h_namelen);
		p = http_write_mem(p, ": ", 2);
		p = http_write_mem(p, msg->m_buf + h->h_value, h->h_valuelen);
		p = http_write_mem(p, HTTP_WRITE_CRLF, 2);
	}
	switch (framing) {
	case HTTP_FRAMING_LENGTH:
		p = http_write_mem(p, "Content-Length: ", 16);
		p = http_write_mem(p, num, nlen);
		p = http_write_mem(p, HTTP_WRITE_CRLF, 2);
		break;
	case HTTP_FRAMING_CHUNKED:
		p = http_write_mem(p, "Transfer-Encoding: chunked\r\n", 28);
		break;
	case HTTP_FRAMING_NONE:
	case HTTP_FRAMING_CLOSE:
		break;
	}
	p = http_write_mem(p, HTTP_WRITE_CRLF, 2);
	ASSERT((size_t)(p - (char *)v.iov_base) == len);
	v.iov_len = len;
	return (evbuffer_commit_space(out, &v, 1));
}

int
http_write_chunk(struct evbuffer *out, struct evbuffer *data)
{
	size_t	 len = evbuffer_get_length(data);

	/* An empty chunk would be the last-chunk. */
	if (len == 0)
		return (0);
	if (evbuffer_add_printf(out, "%zx\r\n", len) == -1 ||
	    evbuffer_add_buffer(out, data) == -1 ||
	    evbuffer_add(out, HTTP_WRITE_CRLF, 2) == -1)
		return (-1);
	return (0);
}

int
http_write_chunk_data(struct evbuffer *out, const void *data, size_t len)
{
	if (len == 0)
		return (0);
	if (evbuffer_add_printf(out, "%zx\r\n", len) == -1 ||
	    evbuffer_add(out, data, len) == -1 ||
	    evbuffer_add(out, HTTP_WRITE_CRLF, 2) == -1)
		return (-1);
	return (0);
}

int
http_write_last_chunk(struct evbuffer *out)
{
	return (evbuffer_add(out, "0\r\n\r\n", 5));
}

int
http_write_error(struct evbuffer *out, int status)
{
	const char	*reason = http_reason(status);

	/* The body is "<status> <reason>\n": 3 + 1 + reason + 1 bytes. */
	if (status < 100 || status > 999)
		status = 500, reason = http_reason(500);
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "%d %s\n", status, reason, strlen(reason) + 5, status,
	    reason) == -1)
		return (-1);
	return (0);
}
