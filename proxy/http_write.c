/*
 * proxy/http_write.c: serialisation of heads, chunks and short error
 * responses into evbuffers.
 *
 * corral always speaks HTTP/1.1 on both sides (RFC 9110 §2.5: a sender
 * uses its own highest version), and re-frames every body: the caller
 * picks the framing when it writes a head, and the message's own
 * Content-Length and Transfer-Encoding are never copied blindly.  On
 * -1 the evbuffer may hold part of what was being written; the caller
 * closes that connection.
 */
#include <inttypes.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/http_priv.h"

#define HTTP_WRITE_CRLF		"\r\n"

int
http_write_head(struct evbuffer *out, const struct http_msg *msg,
    enum http_framing framing, uint64_t length)
{
	const struct http_hdr	*h;
	const char		*name;
	size_t			 i;

	if (msg->m_status == 0) {
		if (evbuffer_add(out, msg->m_buf + msg->m_method_off,
		    msg->m_method_len) == -1 ||
		    evbuffer_add(out, " ", 1) == -1 ||
		    evbuffer_add(out, msg->m_buf + msg->m_target_off,
		    msg->m_target_len) == -1 ||
		    evbuffer_add(out, " HTTP/1.1\r\n", 11) == -1)
			return (-1);
	} else {
		if (evbuffer_add_printf(out, "HTTP/1.1 %03d ",
		    msg->m_status) == -1 ||
		    evbuffer_add(out, msg->m_buf + msg->m_reason_off,
		    msg->m_reason_len) == -1 ||
		    evbuffer_add(out, HTTP_WRITE_CRLF, 2) == -1)
			return (-1);
	}
	for (i = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		name = msg->m_buf + h->h_name;
		if (http_msg_name_eq(name, h->h_namelen, "transfer-encoding"))
			continue;
		if (framing != HTTP_FRAMING_NONE &&
		    http_msg_name_eq(name, h->h_namelen, "content-length"))
			continue;
		if (evbuffer_add(out, name, h->h_namelen) == -1 ||
		    evbuffer_add(out, ": ", 2) == -1 ||
		    evbuffer_add(out, msg->m_buf + h->h_value,
		    h->h_valuelen) == -1 ||
		    evbuffer_add(out, HTTP_WRITE_CRLF, 2) == -1)
			return (-1);
	}
	switch (framing) {
	case HTTP_FRAMING_LENGTH:
		if (evbuffer_add_printf(out, "Content-Length: %" PRIu64
		    "\r\n", length) == -1)
			return (-1);
		break;
	case HTTP_FRAMING_CHUNKED:
		if (evbuffer_add(out, "Transfer-Encoding: chunked\r\n",
		    28) == -1)
			return (-1);
		break;
	case HTTP_FRAMING_NONE:
	case HTTP_FRAMING_CLOSE:
		break;
	}
	return (evbuffer_add(out, HTTP_WRITE_CRLF, 2));
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
